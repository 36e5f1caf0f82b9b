// PostgreSQL spellings of the exact sums (engine/exact_sum.hpp): a double's exact units of
// 10^-9 in numeric, and the per-customer steps of an exact sum, mean and cv, for the PostgreSQL
// dialect (sql/postgres_dialect.cpp). PostgreSQL's numeric arithmetic is exact, so the totals
// are added there and only the result is rounded to a double, once.
#pragma once

#include <string>

#include "sql/dialect.hpp"

namespace strata::sql::postgres {

// 2^e as a double precision literal (CAST(… AS double precision)).
std::string pow2(int e);

// Units of 2^127 and more: beyond the engine's units.
inline const std::string kUnitsLimit = "170141183460469231731687303715884105728";

// Over a relation with a double column f (|f| < 1): its 9-place units, as a bigint
// expression of nested subqueries.
std::string units_of_rows();

// The double expression x in exact numeric units (to_sum_units); NULL from 2^100 on.
std::string units(const std::string& x);

// Dialect::exact_sum_step and Dialect::cv_step for PostgreSQL. `dialect` names the subqueries
// (subquery_alias), so the aliases stay unique within its query.
std::string exact_sum_step(const Dialect& dialect, const std::string& rows, Type type,
                           bool average);
std::string cv_step(const Dialect& dialect, const std::string& rows, Type type, int periods);

}  // namespace strata::sql::postgres
