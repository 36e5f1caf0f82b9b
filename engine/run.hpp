// One run: read the store, evaluate the compiled rules, place every customer in exactly
// one general segment plus its tactical subsegments, check the coverage invariant, and
// (unless dry) store the run atomically.
#pragma once

#include <SQLiteCpp/Database.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/exact_sum.hpp"
#include "engine/incremental.hpp"
#include "engine/population_report.hpp"
#include "engine/reader.hpp"
#include "engine/state.hpp"
#include "engine/triggers.hpp"

namespace strata {

struct SegmentResult {
    const SegmentDef* def = nullptr;
    std::string path;  // the id; nested tactical ones as parent/child
    size_t count = 0;
    ExactTotal value_total;  // the rule file's `value` over members, exactly (nulls count 0)
    size_t value_count = 0;  // members with a non-null value
    // Customers its condition was tried on and found unknown (null) rather than false: for a
    // general segment under first_match those that reached it (no earlier segment held them),
    // under exclusive every customer; for a tactical segment its parent's customers. Always 0
    // for `when: otherwise`.
    size_t unknown = 0;
    std::vector<SegmentResult> tactical;
};

// The moves of a stored run since the ruleset's latest run before it.
struct RunTransitions {
    std::optional<int64_t> since_run;  // none for a ruleset's first run (every customer is new)
    std::string since_as_of;           // "" for a first run
    std::string cause;                 // initial, data, or rules (the version changed)
    Transitions counts;
};

struct RunReport {
    std::string ruleset;
    int64_t version = 0;
    std::string sha256;
    Date as_of;
    int64_t run_id = 0;  // 0 when not stored (--dry-run)
    size_t customers = 0;
    bool has_value = false;
    ExactTotal value_total;  // of the general segments' totals
    std::vector<SegmentResult> segments;
    // Every population call's fit, in rule file order (lets first): the cut points.
    std::vector<PopulationSummary> populations;
    DataQuality data_quality;
    std::vector<MembershipRow> membership;      // in key order
    std::optional<RunTransitions> transitions;  // a stored run's; none for --dry-run
    // Triggers: what each did (a dry run: what each would do), in file order; empty when the
    // file has none. `firing`: initial (a first run fires nothing unless --fire-initial),
    // data, or rules (the version changed: moves fire nothing unless --fire-on-rule-change).
    std::vector<TriggerCounts> triggers;
    std::string firing;
    size_t actions_enqueued = 0;           // new pending rows in the outbox
    std::vector<OutboxRow> would_enqueue;  // a dry run's actions, every status; empty otherwise
    double elapsed_ms = 0;
    // The rule compiler's warnings (RunOptions::warnings); `source` (the rule file) gives
    // their source lines and may be null.
    std::vector<Diagnostic> warnings;
    const SourceFile* source = nullptr;
    // Set by a run inside a warehouse (state/): why its data-quality findings and population
    // cut points are not there (not computed there yet). Empty for an embedded run.
    std::string not_computed;
    // A run asked to be incremental: whether it was, or why it was a full run instead.
    std::optional<IncrementalOutcome> incremental;
};

struct RunOptions {
    Date as_of;
    bool dry_run = false;
    // Read only the fact rows after the kept watermarks (engine/incremental.hpp); a full run
    // when that cannot be shown to give the full run's result (report.incremental says why).
    bool incremental = false;
    std::string rules_path;
    std::string rules_sha256;
    ProgressFn progress;
    // A stored run loads the ruleset's open stays (about 84 bytes a customer) beside its reads,
    // where the load costs no time, when its latest run placed at most this many customers;
    // a larger base's are loaded when the first placements are written, so that they are not
    // held through the fact pass and the population fits. Such a run with no triggers reads
    // them a page of `open_stays_page_rows` stay rows at a time as its placements are written,
    // never all at once (triggers compare every customer's placement with them). Either way
    // the run stores the same.
    int64_t open_stays_beside_reads_up_to = 2'000'000;
    size_t open_stays_page_rows = 65'536;
    // How long a stored run waits for another writer of the customer database when it raises
    // the watches of the fact tables (engine/fact_watch.hpp); `strata run --wait`.
    int watch_wait_ms = 5000;
    bool fire_initial = false;         // a ruleset's first run fires its triggers too
    bool fire_on_rule_change = false;  // moves caused by a new version fire triggers too
    // A stored run whose new customers have, as the other kind, the keys of customers who
    // left (Transitions::retyped: a key column whose type changed) is refused unless this is
    // set: each would be a new customer and fire its triggers again.
    bool allow_retyped_keys = false;
    // The rule compiler's warnings on the file, carried into the report and the stored
    // summary; `source` must outlive the report. A stored run registers source->text() as
    // its version's source (engine/versions.hpp); with null, the source is not kept.
    std::vector<Diagnostic> warnings;
    const SourceFile* source = nullptr;
    // When set, the aggregates also count, per customer, the fact rows each took, into this
    // (filled before on_placed is called; by customer table row, as the frame's rows).
    AggregateRowCounts* aggregate_rows = nullptr;
    // A dry run with a state database reads the stored state (the open stays behind
    // previous_segment and the like, and the latest run) as stored run `state_before_run`
    // found it, not as it is now: explaining that run sees what it saw.
    std::optional<int64_t> state_before_run;
    // When set, population calls with a fit here are applied to it instead of ranking the
    // base (fixed cut points; engine/population.hpp). The pointer must outlive the run.
    const PopulationFits* population = nullptr;
    // Called once every customer is placed and the placement checks have passed, before the
    // triggers fire: the evaluation's frame (table rows), each key-order position's table row,
    // and the report, whose membership is complete. For analyses that look further at a dry
    // run's evaluation (strata diff fires the new file's triggers against the old file's
    // placement with it). May throw; the exception leaves execute_run.
    std::function<void(const Frame& frame, const std::vector<uint32_t>& order,
                       const RunReport& report)>
        on_placed;
};

// Why a run did not complete. `rule_problem` is true when the rules are at fault (an
// exclusive level with overlaps or gaps, a first_match level without a catch-all that
// leaves customers out); otherwise the database is (or the run would go back in time: a
// ruleset's stored runs move forward, so a run before its latest as_of is refused).
struct RunError {
    std::string message;
    bool rule_problem = false;
};

// REQUIRES: `rules` compiled against `data`'s schema without errors.
// Stores into `state` unless options.dry_run. A stored run whose ruleset version is registered
// with other content is refused before any evaluation (error.rule_problem). A dry run may be given
// a state database (or null): it is only read, for the columns that come from the stored state.
std::optional<RunReport> execute_run(const CompiledRules& rules, SQLite::Database& data,
                                     SQLite::Database* state, const RunOptions& options,
                                     RunError& error);

// The JSON document of a report (the `--format json` output and the stored summary), format 1
// of docs/running.md: every key is always there, null when it has no value.
std::string report_json(const RunReport& report);

// Why a stored run of `rules` placing `membership` (in key order) would be refused for
// retyped keys (RunOptions::allow_retyped_keys): new customers with the key of a customer who
// left, written as the other kind, against the ruleset's latest run in `state`. nullopt when
// it would not be, or the state holds no run of the ruleset. For a dry run and a diff, which
// store nothing. Throws SQLite::Exception.
std::optional<std::string> retyped_keys_refusal(SQLite::Database& state, const CompiledRules& rules,
                                                const std::vector<MembershipRow>& membership);

}  // namespace strata
