// The functions of the language that map each row's arguments to one value (coalesce, if,
// round, lower, matches, days_since, ...): every bound::Fn but the population functions,
// which fit over the whole base (engine/population.hpp).
#pragma once

#include "dsl/bound.hpp"
#include "engine/evaluator.hpp"

#include <vector>

namespace strata {

// n applied to its evaluated arguments, row by row: a column of `rows` rows of type t, or a
// constant when every argument is one. `today` is as_of, for days_since. Null in, null out,
// and never a throw on data (as evaluate()).
// REQUIRES: n.fn is not a population function (ntile, percent_rank, rfm, abc); args holds
// one column per n.args, null ones included, each of `rows` rows or constant.
ColumnRef call_scalar(const bound::Call& n, Type t, const std::vector<ColumnRef>& args, size_t rows,
                      Date today);

}  // namespace strata
