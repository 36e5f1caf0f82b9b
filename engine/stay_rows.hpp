// The rows the state keeps stays in, read back: what open_stays.cpp and a run's membership
// share. Internal to engine/.
#pragma once

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/value.hpp"

namespace strata::stay_rows {

// Whether the state keeps open stays a customer a row (strata_open_stays). State of an older
// layout that no run has moved yet (read by a command that only reads) has strata_stays as a
// table of every stay.
bool open_stays_by_customer(SQLite::Database& state);

// The columns of strata_open_stays a reader selects, in this order.
inline constexpr const char* kOpenRowColumns = "customer_key, general, general_since, tactical";

// The customer key in `column` of a stay row: an integer, or a text (interned into the pool in
// scope); the state stores keys only so.
inline Value stay_key(sqlite3_stmt* stmt, int column) {
    if (sqlite3_column_type(stmt, column) == SQLITE_INTEGER)
        return static_cast<int64_t>(sqlite3_column_int64(stmt, column));
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return intern(std::string_view(text ? text : "",
                                   static_cast<size_t>(sqlite3_column_bytes(stmt, column))));
}

// The integers of a customer's strata_open_stays.tactical text, [level, code, entered_run]
// each, appended to `out`; false when the text is not such an array.
bool parse_tactical(std::string_view text, std::vector<int64_t>& out);

// One stay of a customer as for_each_stays_at hands it over.
struct StayAt {
    int64_t level;
    int64_t code;
    int64_t entered_run;
    bool operator<(const StayAt& o) const {
        return level != o.level ? level < o.level : code < o.code;
    }
};

// Calls visit(key, stays) for each customer of `ruleset` in key order with the stays that
// cover run `at` (entered at or before it, and open or ended after it), sorted by level, then
// segment code: strata_open_stays and strata_closed_stays read in key order and merged, which
// is what the view strata_stays gives, without unpacking every customer's JSON in SQL.
// REQUIRES: open_stays_by_customer(state). Throws SQLite::Exception.
void for_each_stays_at(SQLite::Database& state, int64_t ruleset, int64_t at,
                       const std::function<void(const Value&, const std::vector<StayAt>&)>& visit);

// Throws the SQLite::Exception for a stay of customer `key` whose segment code `code` table
// strata_segments does not hold.
[[noreturn]] void unknown_segment(const Value& key, int64_t code);

// A segment's name by code; throws SQLite::Exception naming the stay when the ruleset has no
// segment of that code.
Str stay_segment(const std::unordered_map<int64_t, Str>& names, const Value& key, int64_t code);

}  // namespace strata::stay_rows
