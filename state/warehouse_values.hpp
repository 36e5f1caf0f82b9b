// The report's sections that need each customer's values (how each segment differs from the
// base, the Pareto curve, R × F) for a run stored inside a warehouse, computed there: the run's
// own rule version, compiled against the base's catalog, is evaluated by the server at the
// run's as_of (sql/compiler.hpp's compile_run_query, with a column for each numeric let and for
// r and f of the first rfm let) into a table of the session, which the server then sums per
// group, per Pareto point and per R × F cell. Only those sums come back, never a customer's
// row; report/value_sections.hpp shapes them as it shapes the SQLite store's sums.
//
// The sums are doubles added one customer at a time in the order SQLite's report adds them
// (key order; values from the largest for the Pareto curve): PostgreSQL with sum(x ORDER BY
// key) and a running window sum, ClickHouse with arrayCumSum over the values sorted by key.
// So the figures equal the SQLite report's bit for bit. The run's stored placement is compared
// with the new one on the server (counts only), for the note that the data has changed.
#pragma once

#include "dsl/compiler.hpp"
#include "dsl/schema.hpp"
#include "engine/state.hpp"
#include "report/report_model.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// Fills m.customer_values, m.pareto, m.rfm and each segment's `distinct` lets for `run`, whose
// version compiled (without errors) to `rules` against `catalog`, the base's; on a problem (the
// dialect refuses a construct, the server fails, customers left unplaced) adds a note saying
// why instead. Never throws.
void postgres_customer_values(warehouse::PostgresConnection& db, const CompiledRules& rules,
                              const Schema& catalog, const RunRecord& run, report::ReportModel& m);
void clickhouse_customer_values(warehouse::ClickHouseClient& client, const CompiledRules& rules,
                                const Schema& catalog, const RunRecord& run,
                                report::ReportModel& m);

}  // namespace strata::state
