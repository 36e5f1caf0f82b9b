// The cut points of a run inside a warehouse (PostgreSQL, ClickHouse): the `populations` of
// its report, counted on the server from the table the run's query filled, so that they equal
// what a run of the same file on SQLite lists (docs/running.md, "Population cut points").
//
// The run's query carries, for each population call, its argument values and the tile (or
// class) the placement gave each customer (sql/compiler.hpp, RunColumns::populations). Only
// aggregates come back: per tile its customers, its first value in ranking order and the
// customers holding that value; per call its nulls and, for percent_rank, its distinct values;
// for abc each class's customers, exact-sum units and last customer. The fits are assembled by
// engine/population_report.hpp's builders and written by the embedded run's code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/population_report.hpp"
#include "warehouse/result.hpp"

namespace strata::state {

// How a summary query is spelled: the two servers' SQL differ in a few aggregates.
enum class WarehouseSql { Postgres, ClickHouse };

// Runs one statement on the server the run uses; false when it failed (the caller keeps why).
using WarehouseQuery = std::function<bool(const std::string& sql, warehouse::ResultTable& out)>;

// The population calls of `rules` in the order a run lists them, as the expressions
// RunColumns::populations takes (the i-th call's columns are strata_pop_<i>_...).
std::vector<const bound::Expr*> population_exprs(const CompiledRules& rules);

// The `populations` of the run whose query (with RunColumns::populations set from
// population_exprs) filled `placed`. False when a query failed. `integer_keys`: the keys of
// `placed` are integers (else text), for abc's last customer of a class.
bool count_populations(const CompiledRules& rules, const std::string& placed, bool integer_keys,
                       WarehouseSql sql, const WarehouseQuery& query,
                       std::vector<PopulationSummary>& out);

}  // namespace strata::state
