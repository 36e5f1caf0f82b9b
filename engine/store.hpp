// The SQLite customer store: opening the database, reading its schema. Customer tables are
// only ever read. SQLiteCpp exceptions stop here and become StoreError values.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dsl/schema.hpp"

namespace strata {

struct StoreError {
    std::string message;  // names the file, and the table and column where known
    // The rule file, not the database, is at fault: its version is registered with other
    // content (engine/versions.hpp).
    bool rule_problem = false;
    // Another process held the database's lock past the busy timeout.
    bool locked = false;
};

// Opens a database file read-only. Fails (without creating anything) when the file does not
// exist, is not SQLite, or is locked beyond the busy timeout (`wait_ms`, kept for the
// connection's later statements). A hot journal (a writer stopped mid-transaction), which a
// read-only connection cannot roll back, is rolled back first on a connection that may write:
// the one case in which this changes the file (back to its last committed state).
std::unique_ptr<SQLite::Database> open_read_only(const std::string& path, StoreError& error,
                                                 int wait_ms = 5000);

// Turns off SQLite's old leniency that reads a double-quoted name no column has as a string:
// in statements and in CREATE statements of this connection. A long-lived prepared statement
// whose column was renamed or dropped since is then an error when SQLite prepares it again,
// not the column's name as a constant text. (Schemas written so are still read.)
void refuse_double_quoted_strings(SQLite::Database& db);

// Which file a path names now (its device and inode): a file replaced (`mv new.db db.db`) or
// removed under a connection that stays open is told from the one it opened.
struct FileIdentity {
    uint64_t device = 0;
    uint64_t inode = 0;
    bool operator==(const FileIdentity&) const = default;
};
// nullopt when nothing is at `path` (or it cannot be read).
std::optional<FileIdentity> file_identity(const std::string& path);

// Makes an empty file at `path` when there is none, in one step (O_EXCL): true when this call
// made it, so that the caller may remove it again on failure without removing a file another
// process made meanwhile. False when a file is there, the folder is missing or not writable,
// and for SQLite's in-memory names (":memory:" and the empty path), which are no files.
bool make_new_database_file(const std::string& path);

// Every user table and its columns, from sqlite_schema and PRAGMA table_info.
std::optional<Schema> read_schema(SQLite::Database& db, StoreError& error);

// Quotes an identifier for SQL: "name" with inner quotes doubled. Only identifiers that the
// schema check accepted ever reach SQL.
std::string quote_identifier(const std::string& name);

// Whether SQLite takes two names (of tables, columns, indexes) for one: equal but for the
// letter case of ASCII letters, as SQLite compares them.
bool same_sql_name(std::string_view a, std::string_view b);

}  // namespace strata
