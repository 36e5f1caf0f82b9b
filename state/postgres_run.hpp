// A run inside PostgreSQL (issue 13, `strata run RULES --db postgresql://...`): the rule file
// compiled to one query (sql/compiler.hpp's compile_run_query) that the server evaluates into
// a temporary table, the membership compared there with the ruleset's open stays and stored
// as stays (state/postgres_state.hpp), and the run record, all in one transaction. No customer
// row leaves the server: only the counts of the run's report come back.
//
// What the report holds, compared with an embedded run's (engine/run.hpp):
// the same customers, segment and tactical counts, unknowns, values, population cut points
// (state/warehouse_populations.hpp), data-quality findings (state/warehouse_quality.hpp), moves
// since the latest run (transitions), run id and stored summary document.
// Triggers fire as in an embedded run (state/postgres_triggers.hpp), into the strata_outbox
// table inside PostgreSQL, in the same transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/schema.hpp"
#include "engine/run.hpp"
#include "warehouse/database_url.hpp"

namespace strata::state {

struct PostgresRunOptions {
    Date as_of;
    bool dry_run = false;              // everything is done, then rolled back; the run id stays 0
    bool fire_initial = false;         // a ruleset's first run fires its triggers too
    bool fire_on_rule_change = false;  // moves caused by a new version fire triggers too
    std::string rules_path;
    std::string rules_sha256;
    const SourceFile* source = nullptr;  // registered as the version's source when set
    std::vector<Diagnostic> warnings;    // the compiler's, carried into the report
    int wait_ms = 5000;                  // how long to wait for another run of the same database
};

struct PostgresRunError {
    std::string message;
    bool rule_problem = false;  // exit 1: the rules (or their placement) are at fault
    // Constructs the PostgreSQL dialect refuses, at their place in the rule file.
    Diagnostics refusals;
};

// REQUIRES: `rules` compiled without errors against `catalog`, the catalog of the database
// at `url` (sql/postgres_catalog.hpp). The report's `source` and `def` pointers point into
// `rules` and `options`; they must outlive it.
std::optional<RunReport> run_in_postgres(const CompiledRules& rules, const Schema& catalog,
                                         const warehouse::PostgresUrl& url,
                                         const PostgresRunOptions& options,
                                         PostgresRunError& error);

}  // namespace strata::state
