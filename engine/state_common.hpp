// What the state's schema, its run writer and its readers share. Internal to engine/.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "engine/value.hpp"

namespace strata::state_common {

// Whether the database has a table called `name`.
bool has_table(SQLite::Database& db, const char* name);

// Whether the database holds stays: strata_open_stays and strata_closed_stays (read through the
// view strata_stays), or strata_stays as a table (the layout before open stays were kept a
// customer a row, still readable as it is).
bool has_stays(SQLite::Database& db);

// A SQLite error as a sentence that starts with `what`: a locked or read-only database, or a
// file that is not one, in words; anything else with SQLite's own message.
std::string describe(const SQLite::Exception& e, const std::string& what);

// The id of `ruleset` in strata_rulesets; none before its first stored run. Throws
// SQLite::Exception.
std::optional<int64_t> ruleset_id(SQLite::Database& state, const std::string& ruleset);

// A ruleset's segment names by code (stays keep a small integer a row, not the text), interned
// into the pool in scope. Throws SQLite::Exception.
std::unordered_map<int64_t, Str> segment_names(SQLite::Database& state, int64_t ruleset);

}  // namespace strata::state_common
