// What the state's schema, its run writer and its readers share. Internal to engine/.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <string>

namespace strata::state_common {

// Whether the database has a table called `name`.
bool has_table(SQLite::Database& db, const char* name);

// A SQLite error as a sentence that starts with `what`: a locked or read-only database, or a
// file that is not one, in words; anything else with SQLite's own message.
std::string describe(const SQLite::Exception& e, const std::string& what);

}  // namespace strata::state_common
