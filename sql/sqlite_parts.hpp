// Internal to the SQLite dialect: the pieces SQLite has no function for, written with its
// integer arithmetic and text functions so that they give exactly what the engine computes.
#pragma once

#include <string>

namespace strata::sql::sqlite {

// " FROM (select)", with a subquery SQLite does not flatten into the query around it (it
// says LIMIT -1 OFFSET 0). The steps of these pieces refer to their inner columns several
// times, and flattening copies the inner expression into every reference, level after
// level: a rule file's query grew to 400,000 instructions that took seconds to prepare.
std::string from(const std::string& select);

// An expression that stops the query with SQLite's "integer overflow" error; `row` is any
// row-dependent integer expression.
std::string stop(const std::string& row);

// A trimmed text read as the engine reads number texts (engine/numeric.hpp): an optional
// sign, digits with an optional point and exponent. NULL when it does not convert.
// As an integer: whole values within 64 bits, exactly. As a number: the nearest double,
// computed exactly when the value is a whole number of up to 18 digits or has at most 15
// significant digits and a power of ten up to 10^22 (one correctly rounded division or
// product); any other number text stops the query, since SQLite 3.40's own conversion is
// not correctly rounded.
std::string text_integer(const std::string& trimmed);
std::string text_number(const std::string& trimmed);

// Calendar arithmetic on day numbers with the engine's formulas (dsl/calendar.cpp), for
// every day an int32 holds: the civil year and month of a day, and a day moved by whole
// months (the day of month kept, or the month's last day), before the year 1 too. A move
// whose day leaves the 32-bit days stops the query.
std::string year_of_day(const std::string& day);
std::string month_of_day(const std::string& day);
std::string add_months(const std::string& day, long long months);
// A day number kept only while it fits the engine's 32-bit days; beyond, the query stops.
std::string day_in_range(const std::string& day);

// C's fmod(x, y) for doubles, exactly (the remainder of truncating division, with x's
// sign): x reduced by y·2^k steps, each an exact subtraction. NULL when either is NULL or
// y is 0.
std::string fmod(const std::string& x, const std::string& y);

// round(x, digits) of an integer x, as engine/numeric round_decimal(int64_t, digits): the
// nearest double of x rounded half away from zero to 10^-digits.
std::string round_integer(const std::string& x, const std::string& digits);

}  // namespace strata::sql::sqlite
