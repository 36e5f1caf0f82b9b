// The run state of runs inside ClickHouse (state/clickhouse_run.hpp describes the protocol):
// the strata_* tables, the queries that read complete runs only, and the removal of runs that
// died before they were complete.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/state.hpp"
#include "warehouse/clickhouse_client.hpp"

namespace strata::state {

// A value as a ClickHouse string literal.
std::string lit(const std::string& s);

// Runs `sql` (its rows into `out`, when given); false with `error` set when the server
// refuses.
bool run_statement(warehouse::ClickHouseClient& client, const std::string& sql,
                   warehouse::ResultTable* out, std::string& error);

// A row of strata_runs (of either warehouse) read as run_id, ruleset, version, rules_sha256,
// rules_path, as_of, started_at, finished_at, status, customers, summary.
RunRecord run_record_from_row(const warehouse::Row& row);

// Creates the strata_* tables where they are missing. False with `error` set.
bool ensure_clickhouse_state(warehouse::ClickHouseClient& client, std::string& error);

// Before a query of `rules` that reads the ruleset's stored state (previous_segment and the
// like) from a command that stores nothing (explain, diff): the strata_* tables, made where they
// are missing (ClickHouse has no transaction to undo it in), so that a base without a stored
// run reads as one without stored state. Nothing when the rules read no stored state.
bool ensure_clickhouse_state_for_reads(warehouse::ClickHouseClient& client,
                                       const CompiledRules& rules, std::string& error);

// Whether the customer table has one row per customer: no key repeated and none missing.
// ClickHouse has no row order to keep the first of repeated keys by, as the embedded engine
// does, so a run or diff inside it refuses such a base. False with `error` naming the table,
// how many rows repeat a key and how many have none, and `what` ("a run", "a diff").
bool clickhouse_keys_unique(warehouse::ClickHouseClient& client, const std::string& table,
                            const std::string& key, const std::string& what, std::string& error);

// The ids of a ruleset's complete runs, as a subquery.
std::string complete_runs(const std::string& ruleset);

// The stays of `ruleset` that were open at run `at` (complete runs only), as a query of
// customer_key, level, segment, entered_run.
std::string open_stays(const std::string& ruleset, const std::string& at);

// A complete run of the ruleset: `run_id`, or the latest (latest as_of, then id).
bool find_clickhouse_run(warehouse::ClickHouseClient& client, const std::string& ruleset,
                         std::optional<int64_t> run_id, std::optional<RunRecord>& out,
                         std::string& error);

// The source registered for a run's version and content (nullopt when it was not kept).
bool clickhouse_version_source(warehouse::ClickHouseClient& client, const RunRecord& run,
                               std::optional<std::string>& out, std::string& error);

// A run of the ruleset with only its 'running' row and no heartbeat for
// ClickHouseRunClaim::kLeaseSeconds (state/clickhouse_claim.hpp): it died.
struct DeadRun {
    std::string run_id;
    std::string as_of;
};
bool dead_clickhouse_runs(warehouse::ClickHouseClient& client, const std::string& ruleset,
                          std::vector<DeadRun>& out, std::string& error);

// Deletes a dead run's rows (mutations the server applies in the background), drops its
// table, and marks it 'abandoned' (its id is never given again).
bool remove_dead_clickhouse_run(warehouse::ClickHouseClient& client, const std::string& ruleset,
                                const DeadRun& dead, std::string& error);

}  // namespace strata::state
