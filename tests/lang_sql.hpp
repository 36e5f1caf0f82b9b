// The language's data-file cases (tests/lang/*.yaml) run a second way: through the SQLite
// query of `strata compile`, on a database holding the case's customers and facts. The
// value the query gives each customer must be the engine's, exactly.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dsl/calendar.hpp"
#include "engine/value.hpp"

namespace strata::testing {

// Rows of named values, with one type per name.
struct LangTable {
    std::vector<std::string> names;
    std::map<std::string, Type> types;
    std::vector<std::map<std::string, Value>> rows;
};

struct LangSqlCase {
    std::string expr;
    std::vector<std::pair<std::string, std::string>> lets;  // name, expression
    LangTable customers;
    std::vector<Value> keys;  // one per customer row
    std::map<std::string, LangTable> facts;
    std::map<std::string, std::string> fact_time;  // fact → its time column
    Date as_of;
    Column engine_values;  // the engine's value for each customer row
};

// Builds the database and rule file, compiles and runs the query, and CHECKs every
// customer's value against the engine's. Returns "" when the case ran, else why it could not
// run through SQL (the construct is refused, or the data has no SQLite form).
std::string check_through_sql(const LangSqlCase& c);

}  // namespace strata::testing
