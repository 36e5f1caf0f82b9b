// The indexes a one-customer evaluation needs: one on the customer table's key and one on
// each fact table's key, so that a customer's rows are found by lookups, never by a scan.
// Internal to live/.
#pragma once

#include <SQLiteCpp/Database.h>

#include <string>
#include <vector>

#include "dsl/compiler.hpp"

namespace strata::live {

struct LookupIndex {
    std::string table;
    std::string column;
    bool present = false;  // SQLite would search `column` with an index it has already
    bool view = false;     // `table` is a view: no index can be made on it, only under it
    // When not present: the index to create, strata_eval_<table>_<column> (with _2, _3, … after
    // it when another object has that name), and its CREATE INDEX IF NOT EXISTS statement.
    std::string name;
    std::string create_sql;
};

// The lookups of `rules`, each table and column once: the customer table first, then the
// facts in program order. Throws SQLite::Exception.
std::vector<LookupIndex> lookup_indexes(SQLite::Database& data, const CompiledRules& rules);

// Creates the missing indexes of `lookups` in the database at `path` (opened read-write for
// that alone, then closed). False when a view's lookup is not searched (no index can be made
// on a view; `error` stays empty), or with `error` set when it cannot; `read_only` tells whether
// the database refused to be written (read-only, no permission, or locked past `wait_ms`), as
// against a database that failed (a damaged file, a full disk). `wait_ms`: how long it waits for
// another process's lock. `created` gets the statements of the indexes it made, not those of
// one another process made since `lookups` were found.
bool create_lookup_indexes(const std::string& path, const std::vector<LookupIndex>& lookups,
                           std::vector<std::string>& created, std::string& error, bool& read_only,
                           int wait_ms);

}  // namespace strata::live
