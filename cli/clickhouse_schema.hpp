// The schema of a ClickHouse database, read from system.columns, as the binder's Schema
// (dsl/schema.hpp), so that `strata compile --dialect clickhouse --db clickhouse://...` binds
// names and types against the server. Native types map to the language's types:
//   Int8, Int16, Int32, Int64, UInt16, UInt32   integer
//   UInt8                                       boolean (0/1; other values read as null)
//   Float32, Float64, Decimal(P, S)             number
//   String, FixedString(N)                      string
//   Date                                        date (ClickHouse covers 1970 to 2105)
//   DateTime                                    datetime (fact times)
// Nullable(T) is T. Any other type (UInt64, arrays, enums...) is of no known type: a rule
// that uses such a column is refused when compiled.
#pragma once

#include <optional>
#include <string>

#include "dsl/schema.hpp"

namespace strata::cli {

Type clickhouse_column_type(const std::string& native);

// The tables of the URL's database, or nullopt with the reason in `error`.
std::optional<Schema> read_clickhouse_schema(const std::string& url, std::string& error);

}  // namespace strata::cli
