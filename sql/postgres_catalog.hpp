// The base's schema from a PostgreSQL server's catalog, for binding a rule file's names and
// types against it (`strata check|compile --db postgresql://...`).
#pragma once

#include <optional>
#include <string>

#include "dsl/schema.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::sql {

// The tables, partitioned tables, views, materialized views and foreign tables of the
// connection's current schema (the first of its search_path, usually `public`) with their
// columns in order: `declared` is the column's type as format_type names it without its
// modifier (bigint, double precision, text, date, a domain's base type, ...) and `type` its
// language type (type_of_postgres); `ordered` is false for views and foreign tables. On failure
// nullopt, with the server's message in `error`.
std::optional<Schema> read_postgres_schema(warehouse::PostgresConnection& connection,
                                           std::string& error);

// The same from a --db text that is a postgresql:// URL: connects, reads, disconnects.
std::optional<Schema> read_postgres_schema(const warehouse::PostgresUrl& url, std::string& error);

}  // namespace strata::sql
