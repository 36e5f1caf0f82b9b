// The commands' side of a warehouse base (PostgreSQL or ClickHouse): `strata run RULES --db
// postgresql://...` (the run inside PostgreSQL, state/postgres_run.hpp; run.cpp prints its report
// as an embedded run's), and reading a stored run back for `strata export`.
#pragma once

#include <optional>
#include <ostream>

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
