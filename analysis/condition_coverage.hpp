// Condition coverage for `strata test`, as MC/DC counts it: every operand of every `and` and
// `or` in a segment's condition must, in some case, decide the outcome of its `and`/`or`
// (the other operand true for an `and`, false for an `or`) once as true and once as false.
// An operand that never did is listed: no case shows that it matters.
#pragma once

#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/evaluator.hpp"

namespace strata {

struct ConditionOperand {
    std::string segment;  // the segment's path
    Location location;    // of the operand in the rule file
    std::string text;     // the operand, in canonical form
    const bound::Expr* expr = nullptr;
    const bound::Expr* other = nullptr;  // the other operand of its and/or
    bool is_and = true;
    bool decided_true = false;
    bool decided_false = false;
    bool covered() const { return decided_true && decided_false; }
};

// Collects the operands of every and/or of every segment condition, general and tactical, in
// rule-file order; a shared tactical segment's once (under the first general segment it
// applies inside), since its condition is one text whichever parent it decides in.
std::vector<ConditionOperand> condition_operands(const CompiledRules& rules);

// Marks which operands decided their and/or, and how, for the customers of `frame`.
void record_decisions(std::vector<ConditionOperand>& operands, const Frame& frame);

}  // namespace strata
