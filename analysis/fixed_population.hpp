// Fixed cut points for rule tests: a case's `population:` block gives, per let, where each
// bin of its population call begins, so that a case with a handful of customers is scored
// against realistic cut points instead of being ranked against itself. The fits built here
// are applied by the run exactly as a run's own fits are (engine/population.hpp).
#pragma once

#include <string>
#include <vector>

#include "analysis/rule_tests.hpp"
#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/population.hpp"

namespace strata {

// Builds the fits of `fixed` for the population calls of `rules`, into `fits`. Each entry
// names a let holding exactly one ntile, rfm or abc call (percent_rank cannot be fixed: its
// value is a share of the base). The cut points:
// - ntile(x, n): n − 1 values, where bins 2..n begin, in ranking order (ascending);
// - rfm: `r`, `f` and `m`, each bins − 1 values in ranking order: ascending, but for a recency
//   given as an age in days descending (an older customer ranks first). The score a rule
//   reads is the bin, or bins + 1 − bin with `best: low`;
// - abc: `A` and `B`, the values at which each class begins: x ≥ A is A, x ≥ B is B, the rest
//   (and x ≤ 0) C.
// Values must have the ranked argument's type and be in order (equal ones leave a bin empty).
// False when an entry is not usable; each problem goes to `diags` at `test_path`:line:col.
bool fix_population(const CompiledRules& rules, const std::vector<FixedPopulation>& fixed,
                    const std::string& test_path, PopulationFits& fits, Diagnostics& diags);

}  // namespace strata
