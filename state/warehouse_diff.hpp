// `strata diff OLD NEW --db postgresql://…|clickhouse://…`: what a new version of a rule file
// would change, computed inside the warehouse. Each file is compiled to its query
// (sql/compiler.hpp); the server evaluates both over the whole base, joins them by customer
// key and sends back only groups: the customers each pair of placements (old general segment
// and tactical paths, new ones) holds, with the first keys of each group. The diff is then
// counted by analysis/diff.hpp's diff_placements, the counting an embedded diff uses.
//
// The triggers the change would fire are counted by the embedded rules too (analysis/diff.hpp's
// trigger_impacts over engine/triggers.hpp's firing): the server sends back, for the customers
// whose placement differs between the files only, both placements and the new file's trigger
// values (sql/compiler.hpp's RunColumns), and the earlier actions come from the store that
// holds them: the server's own strata_outbox for PostgreSQL, the store given with --state for
// ClickHouse (without one they are not computed, and the diff says so).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/diff.hpp"
#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/schema.hpp"
#include "warehouse/database_url.hpp"

namespace strata::state {

struct WarehouseDiffError {
    std::string message;
    bool rule_problem = false;  // exit 1: a file cannot be compiled, or leaves customers unplaced
    Diagnostics old_refusals, new_refusals;  // constructs the dialect refuses, per file
};

// One of the two files, as diff_in_* takes it.
struct DiffedRules {
    const CompiledRules* rules = nullptr;
    std::string sha256;
};

// REQUIRES: both files compiled without errors against `catalog`, the catalog of the
// database at `url`. `sample`: keys listed per move.
std::optional<RulesDiff> diff_in_postgres(const DiffedRules& old_rules,
                                          const DiffedRules& new_rules, const Schema& catalog,
                                          const warehouse::PostgresUrl& url, Date as_of,
                                          size_t sample, WarehouseDiffError& error);

// The same inside ClickHouse (whose customer keys are integers).
// `state`: the SQLite file or postgresql:// URL that takes the ruleset's actions (a ClickHouse
// run's --state), read for the triggers' cooldowns and cap; none: the triggers are not counted.
std::optional<RulesDiff> diff_in_clickhouse(const DiffedRules& old_rules,
                                            const DiffedRules& new_rules, const Schema& catalog,
                                            const warehouse::ClickHouseUrl& url, Date as_of,
                                            size_t sample, const std::optional<std::string>& state,
                                            WarehouseDiffError& error);

}  // namespace strata::state
