// ClickHouse 18.16 spellings that bind values by name and work on a double's IEEE bits or a
// number's decimal digits, for the ClickHouse dialect (sql/clickhouse_dialect.cpp). Each
// returns an expression of the same meaning as the SQLite dialect's (sql/dialect.hpp says what
// each operation means); ClickHouse evaluates every branch of a conditional on every row, so
// none of them divides by a value that can be zero or throws on a row it does not keep.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace strata::sql::clickhouse {

// `body` with `value` bound to `name`: arrayElement(arrayMap(name -> body, [value]), 1).
std::string let(const std::string& value, const std::string& name, const std::string& body);

// `body` with each (name, value) bound in turn; a value may use the names bound before it.
std::string lets(const std::vector<std::pair<std::string, std::string>>& bindings,
                 const std::string& body);

// 10^0 … 10^last as a ClickHouse array of UInt64 (up to 10^19) or, with `floats`, Float64
// (exact up to 10^22), indexed from 1.
std::string powers_of_ten(int last, bool floats);

// Dialect::fraction_units: the Float64 x's fraction |x|·10^9, rounded half to even, with x's
// sign, in 64-bit integer pieces.
std::string fraction_units(const std::string& x);

// Dialect::number_remainder: C's fmod of two Float64 values, NULL when either is NULL or y is 0.
std::string number_remainder(const std::string& x, const std::string& y);

// Dialect::round_integer_digits and round_number_digits: round(x, digits) as engine/numeric
// rounds, NULL when either is NULL; a Float64 result no single correctly rounded step gives
// stops the query.
std::string round_integer_digits(const std::string& x, const std::string& digits);
std::string round_number_digits(const std::string& x, const std::string& digits);

}  // namespace strata::sql::clickhouse
