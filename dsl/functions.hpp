// The function catalogue: every function a rule may call, its kind and its parameters.
// The binder matches calls against it; `strata check` suggests names from it.
#pragma once

#include <string>
#include <vector>

#include "dsl/bound.hpp"

namespace strata {

// A function's parameters, for matching positional and named arguments in one way for all.
struct Param {
    const char* name;
    bool required;
};

enum class FnKind { Scalar, Population, Aggregate };

struct FunctionSpec {
    const char* name;
    FnKind kind;
    int id;                     // bound::Fn or bound::AggFn
    std::vector<Param> params;  // for variadic functions: one param, repeated
    bool variadic = false;
};

// Every function: the scalar ones, then the population ones, then the aggregates.
const std::vector<FunctionSpec>& functions();

// The function called `name`, or null.
const FunctionSpec* find_function(const std::string& name);

// The name a rule writes for a scalar or population function ("ntile", "round").
const char* function_name(bound::Fn fn);

// Every function's name (for "did you mean").
std::vector<std::string> function_names();

}  // namespace strata
