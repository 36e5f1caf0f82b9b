// Why a condition did not hold for one customer: the smallest parts of it that decided its
// value, found in the traced tree of `strata explain`.
#pragma once

#include <string>
#include <vector>

#include "analysis/explain.hpp"
#include "dsl/bound.hpp"

namespace strata {

// The parts of `condition` (traced as `traced`, its node for node) that decide its value:
// through `and`, `or`, `not` and boolean lets, down to the comparisons (or other boolean
// parts) whose values settle it. A false `and` is decided by each of its false operands, an
// unknown one by its unknown operands (true ones do not matter); a false `or` by all of its
// operands, an unknown one by its unknown operands; `not` by what decides its operand.
std::vector<DecidingPart> deciding_parts(const bound::Program& program,
                                         const bound::Expr& condition, const ExplainNode& traced);

// The parts as one line for people: `revenue >= 1000 is false: revenue = 340.5`, or
// `days_since(last_order) <= 30 is unknown: last_order is null`; several joined by "; ".
std::string reason_text(const std::vector<DecidingPart>& parts);

// A value as explain shows it: texts in quotes, null as `null`.
std::string shown_value(const Value& v);

}  // namespace strata
