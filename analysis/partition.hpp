// Static analysis of the general level, before any data: `strata check` proves that an
// `exclusive` level is a partition of every possible base (no customer in two segments, none
// in no segment), or gives a customer that breaks it, in the author's terms; and it warns
// about first_match segments that can never win, tactical segments that can never hold
// inside their parent, and an `otherwise` that can never get anyone.
//
// Conditions follow SQL's three-valued logic, as a run does: a segment holds a customer only
// when its condition is true, so a customer with an unknown value is in no segment whose
// condition needs that value. Every column may be null (a value that does not convert
// becomes null, whatever the schema says); count and count_distinct are never null and at
// least 0, sum is never null (it is 0 without rows; the analysis ignores totals beyond
// 10^29, which are null), ntile(x, n) and rfm scores lie in 1..n or are null, and a
// customer without rows of a fact has count 0, sum 0 and null for its other aggregates.
// domains.hpp describes the method.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"

namespace strata {

// One customer who breaks an exclusive level, or might.
struct PartitionFinding {
    enum class Kind { Gap, Overlap };
    Kind kind = Kind::Gap;
    // Certain: such a customer can exist, and the run would refuse the base that holds one.
    // Otherwise the analysis cannot tell whether such a customer can exist (`doubt` says
    // why), so it claims neither a proof nor a problem.
    bool certain = true;
    std::string doubt;
    std::vector<size_t> segments;  // indexes into the general segments: an overlap's two
    // The customer: each field the finding needs, shown in the author's terms and as a
    // plain value (nullopt where it depends on as_of); fields left out may hold anything.
    std::vector<std::string> shown;
    std::vector<std::pair<std::string, std::optional<ast::LiteralValue>>> values;
};

struct ExclusiveVerdict {
    bool proven = false;                     // no gap and no overlap for any base
    bool over_budget = false;                // too many combinations: neither proven nor refuted
    std::vector<PartitionFinding> findings;  // at most one gap and one overlap per pair
    // The predicate nodes the searches evaluated: at most partition::Model::kNodeBudget.
    size_t nodes_evaluated = 0;
};

// The nodes one question may visit before the analysis gives up on it.
constexpr size_t kPartitionBudget = 200000;

// Proves or refutes the general level of `rules` as a partition (whatever its policy says).
// REQUIRES: rules compiled without errors and no segment is `otherwise`.
ExclusiveVerdict prove_exclusive(const CompiledRules& rules, size_t budget = kPartitionBudget);

// Appends the analysis's findings to `diags`: under `exclusive`, an error per certain gap or
// overlap (PartitionGap, PartitionOverlap) and a note (NotProven; an error when `strict`)
// when no proof could be made; under either policy, warnings for segments that can never
// hold or never win (ShadowedSegment), tactical segments that can never hold inside their
// parent (ImpossibleTactical), and an `otherwise` that gets nobody (CompleteWithoutOtherwise).
// REQUIRES: rules compiled without errors.
void check_partition(const CompiledRules& rules, bool strict, Diagnostics& diags);

}  // namespace strata
