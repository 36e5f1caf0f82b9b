// Firing a rule file's triggers in a run inside PostgreSQL, by the engine's own rules
// (engine/triggers.hpp's fire_triggers is the one definition of firing):
// - the server finds the customers a trigger could fire for (those whose stays change at
//   this run, new ones included, and those inside a segment an `in` trigger names) and gives,
//   for them only, their placement before and after the run and the values of the triggers'
//   `when` conditions and template expressions (computed by the run's query, sql/compiler.hpp's
//   RunColumns);
// - fire_triggers decides, with the earlier actions read from the server's strata_outbox for
//   cooldowns and the frequency cap, and renders the payloads;
// - the actions go into strata_outbox in the run's transaction, skipped where their
//   idempotency key is there already.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/run.hpp"
#include "engine/state.hpp"
#include "engine/triggers.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// The trigger expressions a run's query computes, as RunColumns lists them.
struct TriggerColumns {
    std::vector<const bound::Expr*> conditions;  // each trigger's `when`, in file order
    std::vector<const bound::Expr*> values;      // each template expression, in file order
};
TriggerColumns trigger_columns(const CompiledRules& rules);

struct PostgresFiringInput {
    const CompiledRules* rules = nullptr;
    const TriggerColumns* columns = nullptr;
    std::string ruleset_id;  // strata_rulesets.ruleset_id
    bool integer_keys = false;
    const std::optional<RunRecord>* previous = nullptr;  // the ruleset's latest run before
    bool fire_initial = false;
    bool fire_on_rule_change = false;
    Date as_of;
    int64_t run_id = 0;  // 0 for a dry run: nothing is written
};

// REQUIRES: inside the run's transaction, after the temporary tables strata_placed (the
// run's query) and strata_new_stays exist and before the stays change. Fills rep.triggers,
// rep.firing, rep.actions_enqueued and, for a dry run, rep.would_enqueue.
warehouse::Outcome<warehouse::Done> fire_in_postgres(warehouse::PostgresConnection& db,
                                                     const PostgresFiringInput& in, RunReport& rep);

}  // namespace strata::state
