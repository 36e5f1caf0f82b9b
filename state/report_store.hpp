// `strata report` on a run stored inside a warehouse (issue 13): the report's RunStore
// (report/run_store.hpp) reading the strata_* tables of PostgreSQL (state/postgres_state.hpp)
// or ClickHouse (state/clickhouse_state.hpp, complete runs only). Only what the report shows
// leaves the server: the runs' records and summaries, the customers per pair of segments
// between two runs (counted there), the outbox rows per trigger and status, and the run
// version's source. No customer rows.
//
// The sections that need each customer's values (how each segment differs from the base, the
// Pareto curve, R × F) are computed on the server from the run's version
// (state/warehouse_values.hpp), and the holdout readout by the SQLite readout's code over a
// copy of what it reads (state/warehouse_readout.hpp).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dsl/schema.hpp"
#include "report/run_store.hpp"

namespace strata::state {

// Reads the catalog of the ClickHouse base the store reads (cli/clickhouse_schema.hpp gives it):
// nullopt with `error` set when it cannot.
using ClickHouseCatalogReader = std::function<std::optional<Schema>(std::string& error)>;

// The store of a postgresql:// or clickhouse:// `--db` URL. `actions`: for ClickHouse, the
// --state store that holds its runs' actions (a SQLite path or a postgresql:// URL; none: the
// outbox section is empty and a note says why); refused for PostgreSQL, which keeps its outbox
// beside its runs. `clickhouse_catalog`: for ClickHouse, how to read the base's catalog, against
// which the run's version is compiled for the customer-value sections (none: a note says they
// are left out). nullptr with `error` set when the URL does not parse, the server cannot be
// reached, or `actions` is given where it has no meaning.
std::unique_ptr<report::RunStore> open_warehouse_report_store(
    const std::string& db, const std::optional<std::string>& actions, std::string& error,
    ClickHouseCatalogReader clickhouse_catalog = nullptr);

}  // namespace strata::state
