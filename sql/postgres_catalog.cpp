#include "sql/postgres_catalog.hpp"

#include "sql/postgres_dialect.hpp"

namespace strata::sql {

std::optional<Schema> read_postgres_schema(warehouse::PostgresConnection& connection,
                                           std::string& error) {
    auto columns = connection.exec(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position");
    if (!columns) {
        error = columns.error().describe();
        return std::nullopt;
    }
    Schema schema;
    for (const auto& row : columns.value().rows) {
        if (row.size() != 3 || !row[0] || !row[1] || !row[2]) continue;
        TableSchema& table = schema.tables[*row[0]];
        table.name = *row[0];
        table.columns.push_back({*row[1], *row[2], type_of_postgres(*row[2])});
    }
    return schema;
}

std::optional<Schema> read_postgres_schema(const warehouse::PostgresUrl& url, std::string& error) {
    auto connection = warehouse::PostgresConnection::connect(url);
    if (!connection) {
        error = connection.error().describe();
        return std::nullopt;
    }
    return read_postgres_schema(connection.value(), error);
}

}  // namespace strata::sql
