// The bound program lowered to one SQL query (issue 13): for every customer, in the order
// `strata export` writes them, the columns customer_key, segment and tactical with exactly the
// values a run of the same rule file stores. The compiler reads the bound program only
// (dsl/compiler.hpp's CompiledRules), never the rule text, and builds the query as explicit
// steps, each a CTE: the customers and their cells, each fact's rows up to as_of, one step
// per aggregate, per let, per population function (a window over the whole base), the
// segment conditions, and the placement. A dialect (sql/dialect.hpp) spells each step.
//
// What a dialect cannot express with the language's meaning is refused: a diagnostic at the
// construct's place in the rule file with the reason, never a query that computes something
// close. docs/warehouse.md lists the refusals.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dsl/calendar.hpp"
#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "sql/dialect.hpp"

namespace strata::sql {

// The query for `rules` at `as_of`, or nullopt with the refusals in `diags`. The rules must
// have compiled without errors against the database's schema (column types known).
// A customer the engine could not place (no segment under first_match without `otherwise`,
// none or two under exclusive, where a run stores nothing) gets a NULL segment.
// `lets` names lets whose values follow as further columns, each named as its let, in the
// dialect's representation (a bool 0/1, a date its day number since 1970-01-01); a name that
// is not a let, or a record let, is refused.
std::optional<std::string> compile_query(const CompiledRules& rules, Date as_of,
                                         const Dialect& dialect, Diagnostics& diags,
                                         const std::vector<std::string>& lets = {});

// What a run inside the warehouse reports beside each customer's placement (state/): the
// query of compile_query with further columns after any lets.
// - `strata_value` when the rule file has a `value`: its value as a number (null stays null).
// - `strata_unknown_0` … `strata_unknown_<N-1>`: 1 where the segment's condition was tried on
//   the customer and was unknown (null), else 0, one per segment in the run report's order
//   (each general segment, then its tactical segments depth first, as
//   engine/placement.hpp's plan_segments makes the results). Tried, as the engine counts a
//   segment's `unknown`: a general segment under first_match by the customers no earlier
//   segment held, under exclusive by every customer; a tactical one by its parent's customers.
// - `strata_cond_<i>`: 1 where `conditions[i]` is true, else 0 (false or unknown).
// - `strata_expr_<i>`: the value of `values[i]`, in the dialect's representation as for lets
//   (a date its day number, a bool true/false or 1/0); only bool, integer, number, text and
//   date values, durations, and records (others are refused). A duration comes as the text
//   "<months> <days>" (null for a null duration). A record (an rfm call or let) comes as
//   its fields instead: `strata_expr_<i>_r`, `_f`, `_m` and `_code`.
// - for the i-th of `populations` (calls with a fit: ntile, percent_rank, rfm, abc), what a
//   run's cut points are counted from (state/warehouse_populations.hpp):
//   `strata_pop_<i>_x<k>`: each argument's value (one; three for rfm), as for lets;
//   `strata_pop_<i>_t<k>`: ntile and rfm, the tile the argument's value ranks in (1..n, in the
//   ranking's own order: before `best: low` turns it into a score), null for a null value;
//   `strata_pop_<i>_class`: abc, the class ('A', 'B', 'C' or null), and `strata_pop_<i>_units`:
//   a positive x's exact-sum units (null for the others and where the engine has none).
//   Each column is the one the placement reads, so the cut points are those it ranked by.
// - when `aggregate_rows`, for each aggregate j of the program: `strata_rows_<j>`, the fact
//   rows it took for the customer (on or before as_of, its `where` true, cv's inside its
//   window), and `strata_rows_null_<j>`, those of them without a value (0 for count(fact)):
//   what engine/aggregates.hpp's AggregateRowCounts holds (sql/aggregate_rows.cpp).
struct RunColumns {
    std::vector<const bound::Expr*> conditions;   // set by the caller
    std::vector<const bound::Expr*> values;       // set by the caller
    std::vector<const bound::Expr*> populations;  // set by the caller
    bool aggregate_rows = false;                  // set by the caller
    bool value = false;
    size_t unknowns = 0;  // N, set by compile_run_query
};
std::optional<std::string> compile_run_query(const CompiledRules& rules, Date as_of,
                                             const Dialect& dialect, Diagnostics& diags,
                                             RunColumns& columns);

}  // namespace strata::sql
