#include "sql/postgres_catalog.hpp"

#include "sql/postgres_dialect.hpp"

namespace strata::sql {

std::optional<Schema> read_postgres_schema(warehouse::PostgresConnection& connection,
                                           std::string& error) {
    // pg_catalog rather than information_schema.columns, which leaves materialized views out.
    // A domain's column has the type under all its domains (a domain over a domain over
    // integer is an integer).
    auto columns = connection.exec(
        "WITH RECURSIVE base(oid, root) AS (SELECT oid, oid FROM pg_catalog.pg_type WHERE "
        "typtype <> 'd' UNION ALL SELECT t.oid, b.root FROM pg_catalog.pg_type t JOIN base b ON "
        "t.typbasetype = b.oid WHERE t.typtype = 'd') "
        "SELECT c.relname, a.attname, format_type(t.root, NULL), c.relkind "
        "FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
        "AND NOT a.attisdropped "
        "JOIN base t ON t.oid = a.atttypid "
        "WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace "
        "WHERE nspname = current_schema()) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "ORDER BY c.relname, a.attnum");
    if (!columns) {
        error = columns.error().describe();
        return std::nullopt;
    }
    Schema schema;
    auto current = connection.exec("SELECT current_schema()");
    if (current && !current.value().rows.empty() && !current.value().rows[0].empty() &&
        current.value().rows[0][0])
        schema.qualifier = *current.value().rows[0][0];
    for (const auto& row : columns.value().rows) {
        if (row.size() != 4 || !row[0] || !row[1] || !row[2] || !row[3]) continue;
        TableSchema& table = schema.tables[*row[0]];
        table.name = *row[0];
        // Views and foreign tables have no physical row order (ctid).
        table.ordered = *row[3] != "v" && *row[3] != "f";
        table.partitioned = *row[3] == "p";
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
