// Copies tables of a SQLite base into a PostgreSQL database with native column types, for the
// warehouse tests and the benchmark: the customer table and the fact tables of a base built
// for the embedded engine.
//
// Each column gets the native type of its language type (the declared type read as the engine
// reads it, docs/language.md): integer → bigint, number → double precision, string → text,
// bool → boolean, date → date, datetime → timestamp. Each cell is converted EXACTLY as the
// engine's cell readers convert it (engine/cell_readers.cpp, the definition) and written as
// that typed value, or NULL where the engine's reader gives null (junk text in an integer
// column, 'n/a' in a date column, an infinity in a number column, 'maybe' in a bool column).
// The warehouse then holds what the engine sees, so the two must place every customer alike.
// Dates are written as the day the engine reads (a datetime text in a date column is its day;
// the year 0 is PostgreSQL's 1 BC).
//
// Rows go through COPY FROM STDIN in its text format (every value escaped by
// postgres_copy_field), 500,000 rows per COPY, inside one transaction per table; an existing
// table of the same name is dropped first. Not a general import: keys must be integers (an
// integer column), as the generator's and the demo bases' are.
#pragma once

#include <string>
#include <vector>

#include "warehouse/postgres_client.hpp"

namespace strata::warehouse {

// Copies `tables` of the SQLite file `sqlite_path` into the connection's current schema.
// Returns the rows copied, or an error (a SQLite problem comes back as an error without a
// code).
Outcome<std::int64_t> copy_sqlite_tables(const std::string& sqlite_path,
                                         const std::vector<std::string>& tables,
                                         PostgresConnection& connection);

}  // namespace strata::warehouse
