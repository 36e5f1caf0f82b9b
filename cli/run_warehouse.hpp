// The commands' side of a warehouse base (PostgreSQL or ClickHouse): `strata run RULES --db
// postgresql://...` (the run inside PostgreSQL, state/postgres_run.hpp; run.cpp prints its report
// as an embedded run's), and reading a stored run back for `strata export`.
#pragma once

#include <optional>
#include <ostream>

#include "analysis/diff.hpp"
#include "analysis/explain.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/export_csv.hpp"
#include "engine/run.hpp"

namespace strata::cli {

// Whether a --db argument names a PostgreSQL or a ClickHouse database (a URL), not a file.
bool is_postgres_url(const std::string& db);
bool is_clickhouse_url(const std::string& db);

// Runs the rule file inside PostgreSQL. `loaded` keeps the compiled rules the report points
// into. On failure prints why on `err` (and as a JSON error on `out` with --format json) and
// returns nullopt with `exit_code` set.
std::optional<RunReport> run_postgres(const RunCommandOptions& options,
                                      std::optional<LoadedRules>& loaded, std::ostream& out,
                                      std::ostream& err, int& exit_code);

// Runs the rule file inside ClickHouse, as run_postgres.
std::optional<RunReport> run_clickhouse(const RunCommandOptions& options,
                                        std::optional<LoadedRules>& loaded, std::ostream& out,
                                        std::ostream& err, int& exit_code);

// The rule file bound against the catalog of the warehouse at `db` (a PostgreSQL or ClickHouse
// URL), which is returned in `catalog`. On failure prints why (as `strata COMMAND: …`, and as a
// JSON error on `out` when `json` is set) and returns nullopt with `exit_code` set.
std::optional<LoadedRules> load_warehouse_rules(const std::string& command,
                                                const std::string& rules, const std::string& db,
                                                std::ostream& out, std::ostream& err,
                                                std::ostream* json, int& exit_code,
                                                std::optional<Schema>& catalog);

// The same for a rule file's text already read (a registered version's source), named `name`.
std::optional<LoadedRules> load_warehouse_rules_text(const std::string& command,
                                                     const std::string& name, std::string text,
                                                     const std::string& db, std::ostream& out,
                                                     std::ostream& err, std::ostream* json,
                                                     int& exit_code,
                                                     std::optional<Schema>& catalog);

// explain_in_warehouse for rules already loaded against `catalog`, the warehouse's at `db`.
std::optional<Explanation> explain_loaded_in_warehouse(const LoadedRules& loaded,
                                                       const Schema& catalog, const std::string& db,
                                                       const std::optional<std::string>& as_of,
                                                       const std::string& customer,
                                                       std::ostream& out, std::ostream& err,
                                                       bool json, int& exit_code);

// `strata explain RULES --db URL --customer KEY`: the explanation computed inside the
// warehouse (state/warehouse_explain.hpp), `computed_in` set. On failure prints why and
// returns nullopt with `exit_code` set (1: the rules; 2: usage, the server, no such customer).
std::optional<Explanation> explain_in_warehouse(const std::string& rules, const std::string& db,
                                                const std::optional<std::string>& as_of,
                                                const std::string& customer, std::ostream& out,
                                                std::ostream& err, bool json, int& exit_code);

// `strata diff OLD NEW --db URL`: the diff computed inside the warehouse
// (state/warehouse_diff.hpp), `computed_in` set. `state`: inside ClickHouse, the store of the
// runs' actions (--state), read for the triggers' cooldowns and cap. On failure prints why and
// returns nullopt with `exit_code` set.
std::optional<RulesDiff> diff_in_warehouse(const std::string& old_path, const std::string& new_path,
                                           const std::string& db,
                                           const std::optional<std::string>& as_of, size_t sample,
                                           const std::optional<std::string>& state,
                                           std::ostream& out, std::ostream& err, bool json,
                                           int& exit_code);

// A run stored in ClickHouse, as load_postgres_run.
std::optional<StoredRun> load_clickhouse_stored_run(const std::string& db,
                                                    const std::string& ruleset,
                                                    std::optional<int64_t> run_id,
                                                    std::ostream& err);

// A run stored in PostgreSQL (`run_id`, or the ruleset's latest), for `strata export`. On
// failure prints why on `err` and returns nullopt (exit 2).
std::optional<StoredRun> load_postgres_run(const std::string& db, const std::string& ruleset,
                                           std::optional<int64_t> run_id, std::ostream& err);

}  // namespace strata::cli
