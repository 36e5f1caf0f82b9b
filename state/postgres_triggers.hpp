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
#include "state/warehouse_firing.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// The earlier actions in a PostgreSQL strata_outbox. A failed read is kept in `error` (the
// firing must then be thrown away) and reads as no earlier actions.
class PostgresHistory : public FiringHistory {
  public:
    explicit PostgresHistory(warehouse::PostgresConnection& db) : db_(db) {}
    std::unordered_set<std::string> recent_firings(const std::string& ruleset,
                                                   const std::string& trigger_id,
                                                   const std::string& from,
                                                   const std::string& to) override;
    std::unordered_map<std::string, int64_t> firings_per_customer(const std::string& ruleset,
                                                                  const std::string& from,
                                                                  const std::string& to) override;
    std::optional<warehouse::WarehouseError> error;

  private:
    bool keep(const warehouse::Outcome<warehouse::ResultTable>& rows);
    static std::string name(const warehouse::Row& row);
    warehouse::PostgresConnection& db_;
};

// Which of `rows` are new to a PostgreSQL strata_outbox: with `store`, inserts them (a row
// whose idempotency key is there already is skipped); without, only looks their keys up (a
// dry run). One flag per row. The caller holds the transaction.
warehouse::Outcome<std::vector<char>> enqueue_in_postgres(warehouse::PostgresConnection& db,
                                                          const std::vector<OutboxRow>& rows,
                                                          bool store, bool integer_keys);

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

// engine/outbox.hpp's changed_action_place, in a PostgreSQL strata_outbox: the first of
// `places` whose key names, in the outbox, an action of another type; nullopt when none.
warehouse::Outcome<std::optional<ChangedActionPlace>> changed_action_place_in_postgres(
    warehouse::PostgresConnection& db, const std::string& ruleset, const std::string& as_of,
    std::vector<ChangedActionPlace> places);

// REQUIRES: inside the run's transaction, after the temporary tables strata_placed (the
// run's query) and strata_new_stays exist and before the stays change. Fills rep.triggers,
// rep.firing, rep.actions_enqueued and, for a dry run, rep.would_enqueue. The value is a
// message when the rules are at fault (engine/outbox.hpp's changed_action_message): the run
// must then store nothing.
warehouse::Outcome<std::optional<std::string>> fire_in_postgres(warehouse::PostgresConnection& db,
                                                                const PostgresFiringInput& in,
                                                                RunReport& rep);

}  // namespace strata::state
