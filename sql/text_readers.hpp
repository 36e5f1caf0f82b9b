// Text cells read as the engine reads them, in PostgreSQL's and ClickHouse's SQL: a column of
// text that `source.types` gives another type. The definition is the engine's
// (engine/value.hpp parse_value: engine/numeric.cpp's decimal texts, dsl/calendar.hpp's
// dates and datetimes, the boolean spellings); each function here writes the same reading as
// one SQL expression that never raises an error on any text.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsl/types.hpp"

namespace strata::sql {

// (name, value) pairs bound in turn, each value seeing the names before it, around `body`:
// each dialect's way of naming a value inside an expression.
using TextBindings = std::vector<std::pair<std::string, std::string>>;
using BindAll = std::function<std::string(const TextBindings&, const std::string& body)>;

// The digits of 2^-1075 (half of the smallest double) from the first that is not 0, at
// 10^-324: a decimal at or below it reads as 0. And those of 2^1024 - 2^970 (half a unit past
// the largest double) at 10^308: a decimal at or above it does not read (it would round to
// infinity). Both are exact.
extern const char* const kHalfSmallestDigits;
extern const char* const kPastLargestDigits;

// PostgreSQL: `text` (a text expression, trimmed already) as an integer (bigint), a number
// (double precision), or a day (an integer, days since 1970-01-01) / seconds since 1970.
std::string postgres_text_integer(const std::string& text, const BindAll& bind);
std::string postgres_text_number(const std::string& text, const BindAll& bind);

// ClickHouse: `cell` (a Nullable(String) or String expression, not trimmed) as the engine
// reads its text: Int64, Float64, UInt8 (0/1), a day (Int64 since 1970-01-01) or seconds
// since 1970 (Int64), each Nullable. ClickHouse 18.16 reads decimal texts without correct
// rounding, so a number is made where one correctly rounded step gives it (at most 15
// significant digits times or divided by an exact power of ten), or where the text is the
// shortest decimal of ClickHouse's own reading of it (that reading is then the correctly rounded
// one); any other number text stops the query (throwIf) rather than give another double.
std::string clickhouse_text_integer(const std::string& cell, const BindAll& bind);
std::string clickhouse_text_number(const std::string& cell, const BindAll& bind,
                                   const std::string& powers_of_ten_u64,
                                   const std::string& powers_of_ten_f64);
std::string clickhouse_text_bool(const std::string& cell, const BindAll& bind);
std::string clickhouse_text_day(const std::string& cell, const BindAll& bind);
std::string clickhouse_text_seconds(const std::string& cell, const BindAll& bind);

// ClickHouse: `c`, a column whose native type reads as `kind`, as a value of `type` the way
// the engine converts a cell of that kind (texts above; an integer 0/1 as a boolean, a whole
// Float64 as an integer, an integer as its text...). nullopt where ClickHouse cannot write the
// engine's value (a Float64 or DateTime as text). REQUIRES: kind != type, and not a Date and
// DateTime read as each other (the dialect's own cell readers do those).
std::optional<std::string> clickhouse_converted(const std::string& c, Type kind, Type type,
                                                const BindAll& bind, const std::string& u10,
                                                const std::string& f10);

}  // namespace strata::sql
