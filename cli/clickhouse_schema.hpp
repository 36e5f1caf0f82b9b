// The schema of a ClickHouse database, read from system.columns, as the binder's Schema
// (dsl/schema.hpp), so that `strata compile --dialect clickhouse --db clickhouse://...` binds
// names and types against the server. Native types map to the language's types as
// sql/clickhouse_native.hpp says; a column of no language type (arrays, UUID...) is refused
// when a rule that uses it is compiled.
#pragma once

#include <optional>
#include <string>

#include "dsl/schema.hpp"

namespace strata::cli {

Type clickhouse_column_type(const std::string& native);

// The tables of the URL's database, or nullopt with the reason in `error`.
std::optional<Schema> read_clickhouse_schema(const std::string& url, std::string& error);

}  // namespace strata::cli
