// `strata diff`: what applying a new version of a rule file would do, before it is applied.
// Both files are evaluated as dry runs (nothing is stored) on one snapshot of the customer
// database at one as_of, and their placements are compared customer by customer: who moves
// between general segments, how every segment's count changes, which tactical segments
// customers enter and leave, which triggers of the new file the change would fire, and what
// changed in the definitions.
#pragma once

#include <SQLiteCpp/Database.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analysis/definitions_diff.hpp"
#include "dsl/compiler.hpp"
#include "engine/run.hpp"

namespace strata {

// Customers who are in `from` under the old file and in `to` under the new one. An empty id
// stands for a customer that file does not place (only when the two files read the base
// differently: another table, key or source.since).
struct GeneralMove {
    std::string from;
    std::string to;
    size_t count = 0;
    std::vector<Value> sample;  // the first keys in key order (moves only, up to the sample)
};

// A general segment's count under each file; none where the file has no such segment.
struct SegmentCountChange {
    std::string id;
    std::optional<size_t> old_count;
    std::optional<size_t> new_count;
};

// A tactical path's counts, and the customers who enter and leave it with the change.
struct TacticalChange {
    std::string path;  // as membership and exports name it: id, or parent/child when nested
    std::optional<size_t> old_count;
    std::optional<size_t> new_count;
    size_t entered = 0;
    size_t left = 0;
};

// A trigger of the new file and the firings the change itself would cause if the new file were
// applied with --fire-on-rule-change: those that would not happen without that flag (every
// firing of `enter`, `exit` and `move`; for `in X`, the customers who are in X only under the
// new file). Counted in customers; `would_send` + `held_out` + `capped` = `customers`.
struct TriggerImpact {
    std::string id;
    std::string on;
    size_t customers = 0;
    size_t would_send = 0;      // pending: the actions would go out
    size_t held_out = 0;        // the trigger's holdout
    size_t capped = 0;          // stopped by the frequency cap
    size_t cooled_down = 0;     // matched, but within the trigger's cooldown (from the state)
    std::vector<Value> sample;  // the first keys in key order of those it fires for
};

struct RulesDiff {
    std::string old_ruleset, new_ruleset;
    int64_t old_version = 0, new_version = 0;
    std::string old_sha256, new_sha256;
    Date as_of;
    size_t old_customers = 0, new_customers = 0;
    size_t customers = 0;  // placed by either file (the same customers when both read the base
                           // the same way)
    size_t moved = 0;      // customers whose general segment differs
    // Every (from, to) pair with customers, staying ones included: by the old file's segment
    // order, then the new file's (a customer a file does not place comes last).
    std::vector<GeneralMove> matrix;
    // The new file's general segments in its order, then the ones it removed.
    std::vector<SegmentCountChange> segments;
    // The new file's tactical paths depth first, then the ones it removed.
    std::vector<TacticalChange> tactical;
    size_t tactical_entered = 0;  // over every path
    size_t tactical_left = 0;
    std::vector<DefinitionLine> definitions;
    std::vector<TriggerImpact> triggers;  // the new file's, in file order
    // Where both files were evaluated when not by the embedded engine ("postgresql://…").
    std::string computed_in;
    // False when the new file has triggers and they could not be counted (a diff inside
    // ClickHouse without the store of its actions); `triggers_missing` then says why.
    bool triggers_computed = true;
    std::string triggers_missing;
    // The new file's ruleset has no run in the state: applying it makes the ruleset's first
    // run, a baseline, which fires nothing (without --fire-initial); `triggers` count nothing.
    bool triggers_baseline = false;
    // What a reader should know to trust the counts (a file reads previous_segment and the
    // like, and the state has no run of its ruleset), for stderr and JSON's "notes".
    std::vector<std::string> notes;
    // Why a stored run of the new file would be refused for what it places (retyped keys:
    // engine/run.hpp, retyped_keys_refusal), for a warning on stderr; nullopt when it would not.
    std::optional<std::string> new_run_refused;
};

// The notes of a diff whose files read the stored state (previous_segment, segment_since,
// days_in_segment) where `where` ("the state") holds no run of their ruleset: they are null
// for every customer then, so the diff's moves say nothing of them. One note per ruleset,
// ending with `advice`.
std::vector<std::string> stored_state_notes(const CompiledRules& old_rules, bool old_has_run,
                                            const CompiledRules& new_rules, bool new_has_run,
                                            const std::string& where, const std::string& advice);

struct DiffOptions {
    Date as_of;
    size_t sample = 0;  // keys listed per move and per trigger
    ProgressFn progress;
    // For tests: called after the old file is evaluated and before the new one is.
    std::function<void()> between_evaluations;
};

// REQUIRES: both rules compiled against `data`'s schema without errors.
// `state` (may be null) is only read: the state columns (previous_segment, ...) of both
// evaluations, and the earlier actions that cooldowns and the frequency cap count. Fails with
// `error.rule_problem` when a file cannot place everyone (its message names the file), and
// without it when the database cannot be read or changed between the two evaluations.
std::optional<RulesDiff> diff_rules(const CompiledRules& old_rules, const std::string& old_sha256,
                                    const CompiledRules& new_rules, const std::string& new_sha256,
                                    SQLite::Database& data, SQLite::Database* state,
                                    const DiffOptions& options, RunError& error);

// A group of customers that the two files place alike, as a warehouse counts them.
struct PlacementGroup {
    // The general segment under each file; nullopt: that file does not place them (they are
    // not in its base).
    std::optional<std::string> old_segment, new_segment;
    std::string old_tactical, new_tactical;  // the tactical paths, ';'-joined
    size_t customers = 0;
    std::vector<Value> sample;  // the group's first keys in key order (up to the diff's sample)
};

// The diff of two placements evaluated elsewhere (inside a warehouse), by the same counting as
// diff_rules: `before` and `after` hold each file's segment counts (a run report's segments
// and customers), `groups` every customer once. The triggers are not computed here (the caller
// sets `triggers` and `triggers_computed` when it can: trigger_impacts).
RulesDiff diff_placements(const CompiledRules& old_rules, const std::string& old_sha256,
                          const CompiledRules& new_rules, const std::string& new_sha256, Date as_of,
                          size_t sample, const RunReport& before, const RunReport& after,
                          const std::vector<PlacementGroup>& groups);

// Per trigger of `new_rules`, whether `old_rules` has the same trigger (same id, same
// definition) whose `when` means the same: each let it reads in either file, directly or
// through other lets, has the same definition in both files, and so have the facts their
// aggregates and its own read, and the customer source for the columns they read. Only such
// a trigger fires without the change.
std::vector<char> unchanged_triggers(const CompiledRules& old_rules,
                                     const CompiledRules& new_rules);

// The firings a change of version causes, counted per trigger of the new file: `with_flag` and
// `without_flag` are the new file's triggers fired (cause RuleChange) against the old file's
// placement with and without fire_on_rule_change, over the same customers (every customer, or
// at least every one whose placement differs between the files, in key order). A firing of an
// unchanged trigger (`unchanged`, from unchanged_triggers) that happens without the flag is
// not the change's; every firing of a new or changed trigger is. A firing whose action is
// already in the outbox (`already_enqueued`, when given: a run of the same as_of enqueued it)
// is not counted, as the run would not enqueue it again. `sample`: keys listed per trigger.
std::vector<TriggerImpact> trigger_impacts(
    const CompiledRules& rules, const Firing& with_flag, const Firing& without_flag, size_t sample,
    const std::vector<char>& unchanged,
    const std::function<bool(const OutboxRow&)>& already_enqueued = {});

// A diff evaluates both files at --as-of, else the new file's as_of, else the old file's, else
// today. The old file's as_of when that is the one (`flag`: --as-of was given), with `note`
// saying that a run of the new file without --as-of would evaluate at today instead; nullopt
// (and no note) otherwise.
std::optional<Date> old_file_as_of(bool flag, const RuleFile& old_file, const RuleFile& new_file,
                                   std::optional<std::string>& note);

// Why a stored run of the new file would be refused next to the old one: both are the same
// ruleset and version with other content. nullopt when they are not.
std::optional<std::string> same_version_other_content(const CompiledRules& old_rules,
                                                      const std::string& old_sha256,
                                                      const CompiledRules& new_rules,
                                                      const std::string& new_sha256);

// Marks the diff's triggers as those of a ruleset without a stored run: its first run is a
// baseline and fires nothing, so every trigger counts nothing (triggers_baseline).
void mark_triggers_baseline(RulesDiff& diff);

// The `strata diff --format json` document (docs/running.md).
std::string diff_json(const RulesDiff& diff);

}  // namespace strata
