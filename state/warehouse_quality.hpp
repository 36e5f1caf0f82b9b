// The data-quality findings of a run inside a warehouse (PostgreSQL, ClickHouse), counted on
// the server as a run on SQLite counts them (docs/running.md, "Data quality"): each cell read
// with the dialect's own reading of it (sql/dialect.hpp's read_column, read_column_key), the
// one the run's query uses, so a value counts as `unconvertible` exactly when the query read
// it as null. Only counts and a few samples come back.
//
// - null_keys: customer rows whose key the dialect reads as no key (null; on PostgreSQL also
//   an empty or blank text); duplicate_keys: the other rows with a key already seen, and the
//   first five of them in the table's order (PostgreSQL: its physical order, ctid) as samples.
//   ClickHouse refuses a base with either before it runs, so there they are 0.
// - unconvertible: per column the rules read, the rows with a key whose cell is not null and
//   reads as null; the sample is the first such cell in the table's order (ClickHouse has no
//   row order: the row with the smallest key, then the smallest text).
// - customers_after_as_of: the customers with a key that the run left out, which only
//   `source.since` does: distinct keys minus the customers the run placed.
// - per fact: rows whose key is in no placed customer; of those, the rows of a customer
//   source.since left out (left_out_fact_rows) and the others (orphans); of the placed
//   customers' rows, those whose time is unknown or after as_of, and the cells that do not
//   convert.
#pragma once

#include <string>

#include "dsl/compiler.hpp"
#include "engine/reader.hpp"
#include "sql/dialect.hpp"
#include "state/warehouse_populations.hpp"

namespace strata::state {

// The findings of the run whose query filled `placed` (one row per placed customer, its key in
// `customer_key`) with `customers` rows, into `dq`. False when a query failed.
bool count_data_quality(const CompiledRules& rules, Date as_of, const sql::Dialect& dialect,
                        const std::string& placed, size_t customers, WarehouseSql sql,
                        const WarehouseQuery& query, DataQuality& dq);

}  // namespace strata::state
