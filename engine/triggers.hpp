// Firing a rule file's triggers at a run: which customers' moves (or stays) each trigger's
// `on` matches, filtered by `when`, cooldown, frequency cap and holdout, and the outbox rows
// their actions become, with {{templates}} rendered into JSON payloads.
//
// The rules of firing (docs/triggers.md):
// - a ruleset's first run is a baseline and fires nothing, unless fire_initial;
// - when the rule file's version changed since the latest run, moves fire nothing unless
//   fire_on_rule_change; `in X` still fires for customers who were in X before the change too;
// - customers who left the base fire nothing;
// - cooldown: a trigger does not fire again for a customer within `cooldown` of its latest
//   firing for them (held-out firings count; capped ones do not);
// - frequency cap: at most N firings per customer within D across the ruleset's triggers,
//   taken in priority order (lower first; none after all numbered; ties by file order); the
//   rest are recorded as `capped`. Held-out firings take their place under the cap, as the
//   action would have, so the control group sees the same caps as the treated one;
// - holdout: a customer is held out of a trigger when a hash of (ruleset, trigger id, key)
//   falls below the holdout share; the action rows are recorded as `holdout` and never sent.
#pragma once

#include <SQLiteCpp/Database.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/evaluator.hpp"
#include "engine/outbox.hpp"
#include "engine/stays.hpp"

namespace strata {

// What one trigger did at a run. Action counts are outbox rows (one per action of a firing).
struct TriggerCounts {
    std::string id;
    std::string on;          // the event as written
    size_t customers = 0;    // customers it fired for (after cooldown), whatever the status
    size_t enqueued = 0;     // action rows written as pending (new rows only)
    size_t held_out = 0;     // action rows written as holdout
    size_t capped = 0;       // action rows written as capped
    size_t cooled_down = 0;  // customers it matched but did not fire for (cooldown)
    size_t duplicates = 0;   // action rows already in the outbox (the same as_of again)
    // The definition as the run saw it, stored with the run for the holdout readout.
    int holdout_basis_points = 0;
    const CompiledTrigger* trigger = nullptr;  // valid while the compiled rules are
    // Action rows (as made) whose payload took text that is not UTF-8 from the data (a
    // customer column written in cp1251): JSON holds each such byte as U+FFFD, for good.
    size_t payload_not_utf8 = 0;
};

// Earlier actions of a ruleset, for cooldowns and the frequency cap. The SQLite state's outbox
// is read by fire_triggers itself (FiringInput::history); another store implements this
// (state/ for PostgreSQL). Customers are named by history_key.
class FiringHistory {
  public:
    virtual ~FiringHistory() = default;
    // Customers with a firing of `trigger_id` that was not capped, with as_of in (from, to].
    virtual std::unordered_set<std::string> recent_firings(const std::string& ruleset,
                                                           const std::string& trigger_id,
                                                           const std::string& from,
                                                           const std::string& to) = 0;
    // Firings (a trigger's first action, not capped) per customer, with as_of in (from, to],
    // across the ruleset's triggers.
    virtual std::unordered_map<std::string, int64_t> firings_per_customer(
        const std::string& ruleset, const std::string& from, const std::string& to) = 0;
};

// The earlier actions in a SQLite state's outbox (all customers'); null when the state has no
// outbox yet. Its reads throw SQLite::Exception.
std::unique_ptr<FiringHistory> sqlite_firing_history(SQLite::Database& state);

// A customer key as FiringHistory names it: "i" and the integer, or "t" and the text.
std::string history_key(const Value& key);

enum class FiringCause {
    Baseline,    // the ruleset's first run: nothing fires unless fire_initial
    Data,        // the rule file is the same version as at the latest run
    RuleChange,  // the version changed: moves fire only with fire_on_rule_change
};

struct FiringInput {
    const CompiledRules* rules = nullptr;
    const Frame* frame = nullptr;                            // table rows
    const std::vector<uint32_t>* order = nullptr;            // key order → table row
    const std::vector<MembershipRow>* membership = nullptr;  // in key order
    const std::vector<OpenPlacement>* before = nullptr;      // the latest run's, in key order
    FiringCause cause = FiringCause::Data;
    bool fire_initial = false;
    bool fire_on_rule_change = false;
    Date as_of;
    int64_t run_id = 0;
    // Earlier actions, for cooldowns and the cap: the state database (read only here), or
    // null when there is none.
    SQLite::Database* history = nullptr;
    // When set, the earlier actions are read for this customer only (one customer's
    // evaluation: the membership holds only them).
    const Value* history_customer = nullptr;
    // Earlier actions from another store; used instead of `history` when set.
    FiringHistory* other_history = nullptr;
    // When set, the values of `when` conditions and template expressions come from here
    // instead of being evaluated over `frame` (a run inside a warehouse evaluates them there):
    // `condition` gives, per frame row, whether the condition is true; `value` the
    // expression's value per frame row. `frame` then only gives the row count.
    std::function<std::vector<char>(const bound::Expr&)> condition;
    std::function<Column(const bound::Expr&)> value;
};

struct Firing {
    std::vector<OutboxRow> rows;        // in key order, then trigger priority, then action
    std::vector<size_t> row_trigger;    // each row's trigger (index into counts)
    std::vector<TriggerCounts> counts;  // per trigger, in file order; enqueued, held_out,
                                        // capped count the rows as made (before duplicates)
};

// REQUIRES: the inputs set, membership and before in key order. Throws SQLite::Exception
// when the history cannot be read.
Firing fire_triggers(const FiringInput& input);

// Whether `key` is in the holdout of a trigger holding out `basis_points` of 10000: a hash of
// ruleset, trigger id and key, the same on every machine and run.
bool in_holdout(const std::string& ruleset, const std::string& trigger_id, const Value& key,
                int basis_points);

// A value as a template renders it: numbers and dates as format_value writes them, texts
// as they are, null as nothing.
std::string render_value(const Value& v);

}  // namespace strata
