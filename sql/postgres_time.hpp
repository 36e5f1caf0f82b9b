// PostgreSQL dates and moments read as the engine reads them (sql/postgres_dialect.cpp uses
// these for every date and datetime cell): a day as its number since 1970-01-01, a moment as
// its seconds since 1970-01-01T00:00:00 UTC, null for what the engine would not read.
#pragma once

#include <functional>
#include <string>

#include "dsl/types.hpp"

namespace strata::sql {

// A trimmed text's date part as a day number, when it is YYYY-MM-DD (years 0001 to 9999) or
// such a date followed by a time (the forms the engine reads), else null. Integer arithmetic
// only (days from civil), so no text makes the query fail.
std::string postgres_text_day(const std::string& trimmed);

// Whether the date or timestamp `c` (of the native type `native`) lies in the engine's
// calendar, the years 0001 to 9999 (a timestamptz in UTC). 'infinity' and '-infinity' do not.
std::string postgres_in_calendar(const std::string& c, Type kind, const std::string& native);

// `c`, of the language kind `kind` and native type `native`, as a day number: a date itself,
// a timestamp's day (a timestamptz's in UTC), a text as the engine reads it; null outside the
// calendar, where subtracting or converting could be an error.
std::string postgres_day_of(const std::string& c, Type kind, const std::string& native);

// The dialect's binding of `value` to `name` for `body` (Dialect::bind).
using PostgresBind = std::function<std::string(const std::string& value, const std::string& name,
                                               const std::string& body)>;

// `c` as seconds since 1970-01-01T00:00:00 UTC: a timestamp's epoch (a timestamp without time
// zone read as UTC, as the engine reads every datetime), its fraction of a second left out; a
// date's midnight; a text as the engine reads it; null outside the calendar.
std::string postgres_seconds_of(const std::string& c, Type kind, const std::string& native,
                                const PostgresBind& bind);

}  // namespace strata::sql
