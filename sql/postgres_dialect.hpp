// The PostgreSQL dialect (PostgreSQL 15). Columns have native types, read from the server's
// catalog (sql/postgres_catalog.hpp) into a Schema whose `declared` is the catalog's
// data_type. How each native type reads as each language type is in sql/README.md.
#pragma once

#include <memory>

#include "dsl/schema.hpp"
#include "sql/dialect.hpp"

namespace strata::sql {

// `catalog` gives the base's native column types; without it (no --db) every column is taken
// to have its language type's own native type (bigint, double precision, text, boolean, date,
// timestamp) and keys to be bigint. The catalog is copied.
std::unique_ptr<Dialect> make_postgres_dialect(const Schema* catalog);

// The language type of a PostgreSQL data_type (information_schema.columns.data_type):
// smallint, integer, bigint: integer; real, double precision, numeric: number; boolean: bool;
// date: date; timestamp with or without time zone: datetime; anything else: string.
Type type_of_postgres(const std::string& data_type);

}  // namespace strata::sql
