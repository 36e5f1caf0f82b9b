#include "engine/state_common.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

namespace strata::state_common {

bool has_table(SQLite::Database& db, const char* name) {
    SQLite::Statement q(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
    q.bind(1, name);
    q.executeStep();
    return q.getColumn(0).getInt() > 0;
}

std::string describe(const SQLite::Exception& e, const std::string& what) {
    const int code = e.getErrorCode();
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return what + ": the database is locked by another process";
    if (code == SQLITE_READONLY)
        return what + ": the database is read-only (give --state PATH to keep run state elsewhere)";
    if (code == SQLITE_NOTADB) return what + ": not a SQLite database";
    return what + ": " + e.what();
}

}  // namespace strata::state_common
