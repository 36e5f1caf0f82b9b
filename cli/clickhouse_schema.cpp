#include "cli/clickhouse_schema.hpp"

#include "sql/clickhouse_native.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/clickhouse_text.hpp"

namespace strata::cli {

Type clickhouse_column_type(const std::string& native) {
    return sql::clickhouse_native_kind(native);
}

std::optional<Schema> read_clickhouse_schema(const std::string& url, std::string& error) {
    auto location = warehouse::parse_database_argument(url, error);
    if (!location) return std::nullopt;
    const auto* ch = std::get_if<warehouse::ClickHouseUrl>(&*location);
    if (!ch) {
        error = "not a ClickHouse URL: " + warehouse::describe_location(*location);
        return std::nullopt;
    }
    warehouse::ClickHouseClient client(*ch);
    auto result = client.query("SELECT table, name, type FROM system.columns WHERE database = " +
                               warehouse::clickhouse_string_literal(ch->database));
    if (!result) {
        error = result.error().describe();
        return std::nullopt;
    }
    Schema schema;
    for (const auto& row : result.value().rows) {
        TableSchema& table = schema.tables[row.at(0).value_or("")];
        table.name = row.at(0).value_or("");
        const std::string native = row.at(2).value_or("");
        table.columns.push_back({row.at(1).value_or(""), native, clickhouse_column_type(native)});
    }
    return schema;
}

}  // namespace strata::cli
