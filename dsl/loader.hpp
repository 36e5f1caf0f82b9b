// YAML → RuleFile. Checks structure: required and unknown keys, scalar formats, duplicate
// segment ids, `otherwise` placement. Expressions are kept as text for the parser.
#pragma once

#include <optional>

#include "dsl/diagnostics.hpp"
#include "dsl/ruleset.hpp"
#include "dsl/source.hpp"

namespace strata {

// Loads a rule file. Never throws. Returns nullopt only when the file is not usable at all
// (bad YAML, not a mapping); otherwise returns what it could read, with every problem
// found appended to `diags`.
std::optional<RuleFile> load_rule_file(const SourceFile& file, Diagnostics& diags);

}  // namespace strata
