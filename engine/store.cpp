#include "engine/store.hpp"

#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/reader.hpp"
#include "files/folder.hpp"

namespace strata {

namespace {

// Lets SQLite roll back a hot journal of the database at `path` on a connection that may
// write (its first read does it, under an exclusive lock). False with `why` when it cannot, and
// `locked` when another process held the lock past the wait.
bool roll_back_hot_journal(const std::string& path, int wait_ms, std::string& why, bool& locked) {
    try {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
        db.setBusyTimeout(wait_ms);
        db.execAndGet("SELECT count(*) FROM sqlite_schema");
        return true;
    } catch (const SQLite::Exception& e) {
        why = e.what();
        locked = e.getErrorCode() == SQLITE_BUSY || e.getErrorCode() == SQLITE_LOCKED;
        return false;
    }
}

}  // namespace

void refuse_double_quoted_strings(SQLite::Database& db) {
    sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
    sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
}

std::optional<FileIdentity> file_identity(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool make_new_database_file(const std::string& path) {
    if (path.empty() || path == ":memory:") return false;
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

namespace {

// Whether the SQLite file at `path` says it is in WAL mode (its header's read and write
// versions, bytes 18 and 19, are 2).
bool in_wal_mode(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char header[20] = {};
    if (!in.read(header, sizeof header)) return false;
    return header[18] == 2 && header[19] == 2;
}

bool folder_writable(const std::string& path) {
    const std::filesystem::path file(path);
    const std::string folder = file.has_parent_path() ? file.parent_path().string() : ".";
    return ::access(folder.c_str(), W_OK) == 0;
}

}  // namespace

std::unique_ptr<SQLite::Database> open_read_only(const std::string& path, StoreError& error,
                                                 int wait_ms) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        error.message = "database '" + path + "' does not exist";
        return nullptr;
    }
    if (std::filesystem::is_directory(path, ec)) {
        error.message = "database '" + path + "' is a directory, not a SQLite file";
        return nullptr;
    }
    if (const std::string kind = files::special_file_kind(path); !kind.empty()) {
        error.message = "database '" + path + "' is " + kind + ", not a SQLite file";
        return nullptr;
    }
    for (int attempt = 1;; ++attempt)
        try {
            auto db = std::make_unique<SQLite::Database>(
                path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX);
            db->setBusyTimeout(wait_ms);
            // Touch the schema now so that "not a database" shows up here, not mid-run.
            db->execAndGet("SELECT count(*) FROM sqlite_schema");
            return db;
        } catch (const SQLite::Exception& e) {
            // A read-only connection cannot roll back a hot journal (left by a writer that
            // stopped mid-transaction, or seen for a moment while a writer rolled back): a
            // connection that may write does it, or finds it gone, and the open is tried again.
            if (e.getExtendedErrorCode() == SQLITE_READONLY_ROLLBACK && attempt == 1) {
                std::string why;
                bool locked = false;
                if (roll_back_hot_journal(path, wait_ms, why, locked)) continue;
                if (locked) {
                    error.message = "database '" + path + "' is locked by another process";
                    error.locked = true;
                    return nullptr;
                }
                error.message = "database '" + path + "' has a hot journal ('" + path +
                                "-journal', left by a writer that stopped mid-transaction), "
                                "which a read-only connection cannot roll back, and it cannot "
                                "be opened to write: " +
                                why + "; open it once with write access (any stored strata run)";
                return nullptr;
            }
            const int code = e.getErrorCode();
            if (code == SQLITE_NOTADB)
                error.message = "'" + path + "' is not a SQLite database";
            else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
                error.message = "database '" + path + "' is locked by another process";
            else if ((code == SQLITE_READONLY || code == SQLITE_CANTOPEN) && in_wal_mode(path) &&
                     !folder_writable(path))
                error.message = "cannot open database '" + path +
                                "': it is in WAL mode, whose readers must make its '-shm' file "
                                "beside it, and its folder is not writable by this user; make "
                                "the folder writable, or turn WAL off once with write access "
                                "(PRAGMA journal_mode = DELETE)";
            else if (code == SQLITE_CANTOPEN && ::access(path.c_str(), R_OK) != 0)
                error.message = "cannot open database '" + path + "': " + std::strerror(errno) +
                                " (reading it needs read permission on the file)";
            else
                error.message = "cannot open database '" + path + "': " + e.what();
            error.locked = code == SQLITE_BUSY || code == SQLITE_LOCKED;
            return nullptr;
        }
}

std::optional<Schema> read_schema(SQLite::Database& db, StoreError& error) {
    Schema schema;
    try {
        SQLite::Statement tables(db,
                                 "SELECT name FROM sqlite_schema WHERE type IN ('table','view') "
                                 "AND name NOT LIKE 'sqlite_%' ORDER BY name");
        while (tables.executeStep()) {
            TableSchema t;
            t.name = tables.getColumn(0).getString();
            SQLite::Statement info(db, "SELECT name, type FROM pragma_table_info(?)");
            info.bind(1, t.name);
            while (info.executeStep()) {
                ColumnSchema c;
                c.name = info.getColumn(0).getString();
                c.declared = info.getColumn(1).getString();
                c.type = type_from_declared(c.declared);
                t.columns.push_back(std::move(c));
            }
            // A view, a WITHOUT ROWID table, or a table whose column took the name rowid:
            // its rows are in no order a query can name as rowid.
            t.ordered = rowid_alias(db, t.name) == std::optional<std::string>("rowid");
            schema.tables.emplace(t.name, std::move(t));
        }
    } catch (const SQLite::Exception& e) {
        const int code = e.getErrorCode();
        if (code == SQLITE_NOTADB)
            error.message = "'" + db.getFilename() + "' is not a SQLite database";
        else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
            error.message = "database '" + db.getFilename() + "' is locked by another process";
        else
            error.message = "cannot read the schema of '" + db.getFilename() + "': " + e.what();
        error.locked = code == SQLITE_BUSY || code == SQLITE_LOCKED;
        return std::nullopt;
    }
    return schema;
}

bool same_sql_name(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::string quote_identifier(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace strata
