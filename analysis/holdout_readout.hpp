// The holdout readout: did a trigger work? For each trigger of a ruleset, the firings its
// runs recorded in strata_outbox, split into the treated group (pending, in_flight, done,
// dead) and the held-out one (holdout), with capped firings apart; and, when the trigger has
// a `success`, the share of each group's matured firings that met it, as later runs saw the
// customers' stays, the difference in percentage points and its 95% confidence interval.
//
// Everything is read from the stored state: the triggers and their `success` from the runs'
// summaries (`$.triggers[]`, written by engine/run_json.cpp), never from a rule file.
//
// Definitions (docs/running.md, "strata triggers"):
// - a firing is one (trigger, customer, as_of): the outbox row of the trigger's first action;
// - each firing is measured by the `success` stored by the run that fired it; the window of a
//   firing at t0 is (t0, t1] with t1 = t0 + within; it has matured when t1 is on or before the
//   as_of of the ruleset's latest run, and is still open otherwise;
// - `enter X` is met by a stay of X entered in the window, `exit X` by one exited in it,
//   `in X` by one open at a run of the ruleset whose as_of is in the window, and `move X -> Y`
//   by a stay of X exited and one of Y entered at the same run, in the window. `any` is any
//   general segment; a move from `none` is one where the customer had no general stay open
//   just before that run (new to the base, or back in it).
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/calendar.hpp"
#include "dsl/compiler.hpp"
#include "engine/store.hpp"

namespace strata {

// A trigger's `success` as a run stored it.
struct SuccessDefinition {
    std::string text;  // as the summary has it: "enter loyal within 30d"
    TriggerEvent event = TriggerEvent::Enter;
    SegmentRef segment;
    SegmentRef to;  // a move's Y
    Duration within;
    std::string within_text;  // "30d"
};

// One group's firings, as far as `success` goes.
struct GroupOutcome {
    size_t matured = 0;     // firings whose window has ended by the latest run's as_of
    size_t succeeded = 0;   // of those, the ones that met success
    size_t still_open = 0;  // firings whose window has not ended yet (not counted)
    // succeeded / matured; nullopt without a matured firing.
    std::optional<double> share() const;
};

// Treated minus held out, in percentage points, with the 95% confidence interval of the
// normal approximation for a difference of two proportions:
// d ± 1.96·sqrt(p1(1−p1)/n1 + p2(1−p2)/n2).
struct ShareDifference {
    double points = 0;
    double low = 0;
    double high = 0;
};

// nullopt when either group has no matured firing.
std::optional<ShareDifference> share_difference(const GroupOutcome& treated,
                                                const GroupOutcome& held_out);

struct TriggerReadout {
    std::string ruleset;
    std::string trigger;
    std::optional<std::string> on;  // as the latest run that listed the trigger stored it
    // The success shown: that of the latest run that fired the trigger with one stored, else
    // that of the latest run that listed the trigger. nullopt: the trigger has none.
    std::optional<SuccessDefinition> success;
    // Firings were measured against more than one success (the rule file changed its event,
    // segments or window; `within 14d` and `within 2w` are one); each firing is measured by
    // its own run's.
    bool success_changed = false;
    size_t fired = 0;     // firings with status pending, in_flight, done or dead
    size_t held_out = 0;  // firings with status holdout
    size_t capped = 0;    // firings with status capped: in neither group
    GroupOutcome treated;
    GroupOutcome held_out_group;
    std::optional<ShareDifference> difference;
};

struct RulesetReadout {
    std::string ruleset;
    int64_t latest_run = 0;
    std::string latest_as_of;  // the windows that ended by this day are counted
    // The triggers of the ruleset's latest run that had any, in file order, then older
    // trigger ids that still have outbox rows, in the order they first fired.
    std::vector<TriggerReadout> triggers;
};

// The readout of every ruleset with stored runs (or only `ruleset`), by ruleset name.
// REQUIRES: strata_runs and strata_stays exist (cli's open_stored_state checks the first);
// a state without strata_outbox reads as one where nothing fired. nullopt with `error` set on
// a database error.
std::optional<std::vector<RulesetReadout>> holdout_readout(
    SQLite::Database& state, const std::optional<std::string>& ruleset, StoreError& error);

}  // namespace strata
