// What a run inside a warehouse (PostgreSQL, ClickHouse) shares to fire triggers by the
// engine's own rules (engine/triggers.hpp's fire_triggers): the trigger expressions the run's
// query computes, and the firing of the customers the server found could fire (candidates),
// from their rows alone.
#pragma once

#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/triggers.hpp"
#include "sql/compiler.hpp"
#include "warehouse/result.hpp"

namespace strata::state {

// The trigger expressions a run's query computes, as sql/compiler.hpp's RunColumns lists them.
struct TriggerColumns {
    std::vector<const bound::Expr*> conditions;  // each trigger's `when`, in file order
    std::vector<const bound::Expr*> values;      // each template expression, in file order
};
TriggerColumns trigger_columns(const CompiledRules& rules);

// The further columns of a run's query inside a warehouse: the trigger expressions and the
// population calls' inputs. A run, and `check` against a warehouse, lower the file with them.
sql::RunColumns run_columns(const CompiledRules& rules);

// A cell of the run's query in the dialect's representation (sql/compiler.hpp: a date as its
// day number, a bool as t/true/1), as the engine holds a value of `type`.
Value value_from_cell(const warehouse::Cell& cell, Type type);

// A key as the stays and the outboxes of the warehouses hold it: the integer's digits or the
// text.
std::string key_cell(const Value& key);

// Fires the triggers for the candidates. Each row, in key order: the key, the general segment
// and the tactical paths (';'-joined) of this run, the general segment before (null: none)
// and the tactical paths before (null or '': none), then one cell per condition of `columns`
// (1 where true) and one per value (the dialect's representation). `base` gives the cause,
// the flags, as_of, the run id and the history (other_history); the rest is filled here.
Firing fire_candidates(const CompiledRules& rules, const TriggerColumns& columns,
                       const std::vector<warehouse::Row>& rows, bool integer_keys,
                       FiringInput base);

}  // namespace strata::state
