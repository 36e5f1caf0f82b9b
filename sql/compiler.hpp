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

}  // namespace strata::sql
