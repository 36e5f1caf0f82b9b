// Why a population call gave one customer its value, in a sentence made from the call's fit
// (the cut points of the run): what `strata explain` shows as `because`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dsl/bound.hpp"
#include "dsl/compiler.hpp"
#include "engine/evaluator.hpp"
#include "engine/population.hpp"

namespace strata {

// The call's inputs for one customer: each argument's value and its text as written.
struct PopulationStoryInput {
    std::vector<Value> args;
    std::vector<std::string> arg_texts;
    Value key;  // the customer's key (abc breaks ties by it)
};

// Why `call` (fitted as `fit`) gives the customer its value; `field` is the rfm field read
// (0 r, 1 f, 2 m, 3 code) or -1 for the call itself. Empty when there is nothing to say.
std::string population_story(const bound::Call& call, const PopulationFit& fit, int field,
                             const PopulationStoryInput& in);

// The `because` of explain's node `e` for the customer at `row` of `frame` (the run's whole
// base, whose fits it reads): a sentence when `e` is a population call with a fit, a field
// of one (`rfm.r`), or a let naming one's field; empty otherwise.
std::string population_because(const CompiledRules& rules, const bound::Expr& e, const Frame& frame,
                               size_t row);

// The same from any source of one customer's values (a warehouse's columns): `fits` holds
// the run's fits, `value` gives the customer's value of a node (it is asked for the call's
// arguments), `key` is the customer's key.
std::string population_because(const CompiledRules& rules, const bound::Expr& e,
                               const PopulationFits& fits,
                               const std::function<Value(const bound::Expr&)>& value,
                               const Value& key);

}  // namespace strata
