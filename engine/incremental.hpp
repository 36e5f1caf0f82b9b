// Incremental runs (`strata run --incremental`, docs/incremental.md): a run that reads only the
// fact rows after the watermarks its ruleset's latest run kept, adds them to the customers'
// kept aggregate states (engine/run_state.hpp), and otherwise runs as a full run does: the
// customer table read whole, population functions fitted again over every customer, every
// customer placed, only what changed written. Its result is the full run's, byte for byte.
// When that cannot be shown, the run is a full one and says why.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/fact_watch.hpp"
#include "engine/run_state.hpp"

namespace strata {

// What an incremental run did, for its report and record.
struct IncrementalOutcome {
    bool used = false;          // false: a full run was made instead, for `reason`
    std::string reason;         // why not incremental (empty when used)
    int64_t since_run = 0;      // the run whose kept state it started from (when used)
    size_t customers_kept = 0;  // customers whose kept state was used
    size_t customers_new = 0;   // customers without one (their aggregates start empty)
    size_t customers_left = 0;  // customers the kept state had and the base no longer has
    struct FactRead {
        std::string fact;
        std::optional<int64_t> after_rowid;  // rows read have a rowid above it; none: every row
        int64_t rows_read = 0;
    };
    std::vector<FactRead> facts;
};

// Whether an aggregate's result depends on as_of beyond the point-in-time rule: cv's periods, or
// an as_of (days_since, …) in its value or `where`. Such a state is kept for one as_of only.
bool aggregate_depends_on_as_of(const bound::Aggregate& aggregate);

// What the run reads of one fact table at the start of an incremental run.
struct FactNow {
    bool has_rowid = false;
    std::optional<int64_t> max_rowid;  // the highest rowid this run reads up to (none: no row)
    std::optional<WatchReading> watch;
    // When this run raised the watch just before it read: the watch as it was before that.
    bool raised = false;
    std::optional<WatchReading> watch_before;
    std::string definition;  // the table's definition now (table_definition)
    // Whether the watch remembers the raise the kept state read up to (watch_remembers); true
    // when the kept state has no such raise.
    bool remembers_kept_raise = true;
    // Rows at or below the kept watermark now: a replaced row (INSERT OR REPLACE deletes without
    // firing delete triggers) changes it although the watch counted nothing.
    std::optional<int64_t> rows_at_or_below_kept;
};

// Why `kept` cannot be the start of an incremental run of `rules` (whose SHA-256 is
// `rules_sha256`) as of `as_of`, given the ruleset's latest stored run (its id, or 0) and each
// fact table as it is now (program order); nullopt when it can. The reasons are sentences for
// people.
// `kept_unusable`: why a kept state that is there could not be loaded (when `kept` is none).
std::optional<std::string> why_not_incremental(const CompiledRules& rules,
                                               const std::optional<KeptState>& kept,
                                               const std::string& kept_unusable,
                                               int64_t latest_run_id,
                                               const std::string& rules_sha256, Date as_of,
                                               const std::vector<FactNow>& facts);

// Why the rows at or below the kept watermarks (FactNow::rows_at_or_below_kept, where
// counted) are not the rows the kept state read; nullopt when they are. why_not_incremental
// asks this too; a read that counts beside its other work asks it once the counts are in.
std::optional<std::string> why_rows_below_differ(const CompiledRules& rules, const KeptState& kept,
                                                 const std::vector<FactNow>& facts);

}  // namespace strata
