// `strata explain RULES --db postgresql://…|clickhouse://… --customer KEY`: why one customer
// of a warehouse base is where they are, computed inside the warehouse. The rule file is
// compiled to the run's query (sql/compiler.hpp's compile_run_query) with one more column for
// every node the explanation shows (analysis/explain.hpp's explained_nodes; a record as its
// fields), the columns a run counts its population cut points from, and the fact rows behind
// each aggregate. The server evaluates the whole base once, as a run does (population
// functions rank against everyone), into a table of the explanation's own (PostgreSQL: a
// temporary table in a transaction that is rolled back; ClickHouse: a Memory table, dropped
// after), and sends back one row, the customer's placement and values with the count of
// customers the rules leave unplaced, and the cut points, counted as a run inside the
// warehouse counts them (state/warehouse_populations.hpp). The explanation is then built by
// the same code as an embedded one (explain_placed, population_because), so both backends
// show the same tree, `because` lines and row counts included.
//
// Not computed inside the warehouse (the nodes say so): durations as values (a duration
// expression that is not a literal).
#pragma once

#include <optional>
#include <string>

#include "analysis/explain.hpp"
#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/schema.hpp"
#include "warehouse/database_url.hpp"

namespace strata::state {

struct WarehouseExplainError {
    std::string message;
    bool rule_problem = false;  // exit 1: the rules are at fault (refusals, unplaced customers)
    Diagnostics refusals;       // constructs the dialect refuses, at their place in the file
};

// REQUIRES: `rules` compiled without errors against `catalog`, the catalog of the database at
// `url`. `customer` is the key as the user wrote it: it matches an integer key when it spells
// an integer, else a text key. nullopt with `error` set when the query cannot be compiled or
// run, the rules leave customers unplaced, or the customer is not in the base.
std::optional<Explanation> explain_in_postgres(const CompiledRules& rules, const Schema& catalog,
                                               const warehouse::PostgresUrl& url, Date as_of,
                                               const std::string& customer,
                                               WarehouseExplainError& error);

// The same inside ClickHouse (whose customer keys are integers).
std::optional<Explanation> explain_in_clickhouse(const CompiledRules& rules, const Schema& catalog,
                                                 const warehouse::ClickHouseUrl& url, Date as_of,
                                                 const std::string& customer,
                                                 WarehouseExplainError& error);

}  // namespace strata::state
