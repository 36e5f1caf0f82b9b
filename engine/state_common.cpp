#include "engine/state_common.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

namespace strata::state_common {

bool has_stays(SQLite::Database& db) {
    return has_table(db, "strata_open_stays") || has_table(db, "strata_stays");
}

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
    if (e.getExtendedErrorCode() == SQLITE_READONLY_DBMOVED)
        return what +
               ": the file was removed or replaced while this command had it open (a first run "
               "that fails removes the state file it made, also while another run waits for "
               "it); run the command again";
    if (e.getExtendedErrorCode() == SQLITE_IOERR_WRITE)
        return what +
               ": a write to the file failed (disk I/O error: the file may have reached the size "
               "limit of this process, ulimit -f, or the disk is failing)";
    if (code == SQLITE_READONLY)
        return what +
               ": the database is read-only (make it writable, or keep the run state in another "
               "file with --state PATH)";
    if (code == SQLITE_NOTADB) return what + ": not a SQLite database";
    return what + ": " + e.what();
}

std::optional<int64_t> ruleset_id(SQLite::Database& state, const std::string& ruleset) {
    SQLite::Statement q(state, "SELECT ruleset_id FROM strata_rulesets WHERE name = ?");
    q.bind(1, ruleset);
    if (!q.executeStep()) return std::nullopt;
    return q.getColumn(0).getInt64();
}

// A ruleset's segment names by code: stays keep a small integer per row, not the text.
std::unordered_map<int64_t, Str> segment_names(SQLite::Database& state, int64_t ruleset) {
    std::unordered_map<int64_t, Str> names;
    SQLite::Statement q(state, "SELECT code, name FROM strata_segments WHERE ruleset = ?");
    q.bind(1, ruleset);
    while (q.executeStep())
        names[q.getColumn(0).getInt64()] = intern(q.getColumn(1).getText());
    return names;
}

}  // namespace strata::state_common
