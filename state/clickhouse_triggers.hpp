// Firing a rule file's triggers in a run inside ClickHouse (state/clickhouse_run.hpp): the
// server finds the customers a trigger could fire for and computes their values, as in
// PostgreSQL (state/postgres_triggers.hpp); fire_triggers decides with the earlier actions of
// the state store given with --state (a SQLite file or a postgresql:// URL), and the actions
// are written there in one transaction, skipped where their idempotency key is there already.
#pragma once

#include <optional>
#include <string>

#include "engine/run.hpp"
#include "engine/state.hpp"
#include "state/warehouse_firing.hpp"
#include "warehouse/clickhouse_client.hpp"

namespace strata::state {

struct ClickHouseFiringInput {
    const CompiledRules* rules = nullptr;
    const TriggerColumns* columns = nullptr;
    std::string placed;   // the run's table (its query's columns)
    std::string open;     // SQL: the stays open before the run (customer_key, level, segment, ...)
    std::string changed;  // SQL: the keys (customer_key) whose stays change at this run
    const std::optional<RunRecord>* previous = nullptr;
    bool fire_initial = false;
    bool fire_on_rule_change = false;
    Date as_of;
    int64_t run_id = 0;  // 0 for a dry run: the store is only read
    std::string state;   // a SQLite path or a postgresql:// URL
};

// Why firing failed: a rule problem (exit 1) or another, and whether the actions may be in the
// state store all the same (a PostgreSQL commit whose answer was lost). When `may_be_stored`
// is false, nothing of this firing is in the store.
struct ClickHouseFiringError {
    std::string message;
    bool rule_problem = false;
    bool may_be_stored = false;
};

// Fills rep.triggers, rep.firing, rep.actions_enqueued (and rep.would_enqueue for a dry run).
// The actions are committed to the state store when this returns true; false with `error`.
bool fire_in_clickhouse(warehouse::ClickHouseClient& client, const ClickHouseFiringInput& in,
                        RunReport& rep, ClickHouseFiringError& error);

}  // namespace strata::state
