// ClickHouse's native column types as the language reads them (the catalog's `declared` text,
// as system.columns writes it):
//   Int8, Int16, Int32, Int64, UInt16, UInt32, UInt64   integer (a UInt64 beyond the largest
//                                                       Int64 reads as no value, as the engine
//                                                       finds no integer in such a cell)
//   UInt8                                               boolean (0/1; others read as null)
//   Float32, Float64, Decimal(P, S)                     number
//   String, FixedString(N), Enum8(...), Enum16(...)     string (an enum as its name; a
//                                                       FixedString keeps its NUL padding)
//   Date                                                date
//   DateTime, DateTime('zone')                          datetime
// Nullable(T) and LowCardinality(T) read as T. Any other type (arrays, tuples, UUID...) has no
// language type: a rule that uses such a column is refused when compiled.
#pragma once

#include <string>

#include "dsl/schema.hpp"

namespace strata::sql {

Type clickhouse_native_kind(const std::string& native);

// `cell`, a column of native type `native`, as a plain value of its kind's ClickHouse
// representation (Int64 for integers, String for enums, LowCardinality taken off); `cell`
// itself when the type needs nothing.
std::string clickhouse_native_value(const std::string& native, const std::string& cell);

// Whether `native` is a Decimal (under Nullable): read as an integer through its text, exactly.
bool clickhouse_native_decimal(const std::string& native);

}  // namespace strata::sql
