// A run inside ClickHouse (issue 13, `strata run RULES --db clickhouse://...`): the rule file
// compiled to the nested plan (sql/compiler.hpp's compile_run_query) and evaluated by the
// server into a table of the run, the report's counts and the stay changes computed there, and
// the membership kept there as stays. Only counts come back.
//
// ClickHouse has no transactions, so a run is made visible by its last write:
//   0. the ruleset to itself, under a run id no other run has (state/clickhouse_claim.hpp):
//      a run waits up to --wait for another run of the ruleset, then gives up;
//   1. a row of strata_runs with status 'running' under that run id;
//   2. the run's rows, each under its run id: the stays it opens (strata_stays), the stays it
//      closes (strata_stay_exits), its tactical paths' levels (strata_run_levels);
//   3. a second row of strata_runs with status 'complete' and the run's summary.
// Readers (export, the next run) see only runs with a 'complete' row. The rows of a run that
// died before step 3 are never read, and the next run of any ruleset deletes them
// (ALTER TABLE ... DELETE, applied by the server in the background).
//
// The tables are MergeTree tables of the URL's database on the server the URL names (with a
// cluster, the one that coordinates the query); they are not sharded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/schema.hpp"
#include "engine/run.hpp"
#include "engine/state.hpp"
#include "warehouse/database_url.hpp"

namespace strata::state {

// Triggers: ClickHouse has no transactions to keep an outbox in, so the actions go to the state
// store given with --state (a SQLite file or a postgresql:// URL), in its own transaction,
// under the same idempotency keys, after the run's rows and before its 'complete' row. A run
// that dies before it is complete is done again by the next run at the same as_of, whose
// actions that are there already are skipped: no action is lost or sent twice.
struct ClickHouseRunOptions {
    Date as_of;
    bool dry_run = false;  // the run's table is made and dropped; no row of the run is kept
    bool fire_initial = false;
    bool fire_on_rule_change = false;
    std::optional<std::string> state;  // where actions go: a SQLite path or postgresql:// URL
    int wait_ms = 30000;  // for another run of the ruleset under way (state/clickhouse_claim.hpp)
    std::string rules_path;
    std::string rules_sha256;
    const SourceFile* source = nullptr;
    std::vector<Diagnostic> warnings;
};

struct ClickHouseRunError {
    std::string message;
    bool rule_problem = false;
    Diagnostics refusals;
};

// REQUIRES: `rules` compiled without errors against `catalog`, the schema of the database at
// `url`. The report points into `rules` and `options`.
std::optional<RunReport> run_in_clickhouse(const CompiledRules& rules, const Schema& catalog,
                                           const warehouse::ClickHouseUrl& url,
                                           const ClickHouseRunOptions& options,
                                           ClickHouseRunError& error);

// A complete run of `ruleset` (`run_id`, or the latest by as_of, then id) and its membership in
// key order, for `strata export`. nullopt with `error` set when there is none or the server
// fails.
struct ClickHouseStoredRun {
    RunRecord record;
    std::vector<MembershipRow> rows;
    std::map<std::string, SegmentActions> actions;
};
// With `only`: that customer's row alone (none when the run did not place them).
std::optional<ClickHouseStoredRun> load_clickhouse_run(const warehouse::ClickHouseUrl& url,
                                                       const std::string& ruleset,
                                                       std::optional<int64_t> run_id,
                                                       std::string& error,
                                                       std::optional<int64_t> only = std::nullopt);

}  // namespace strata::state
