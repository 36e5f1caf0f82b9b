// Shared tactical segments (the top-level `tactical:` list), once the whole rule file is read:
// each one's id is unique in the whole file, and its `within` names general segments, each
// once, resolved to their indexes.
#pragma once

#include "dsl/ruleset.hpp"
#include "dsl/yaml_reader.hpp"

namespace strata {

// REQUIRES: rf.segments and rf.shared_tactical are read. Fills each shared tactical's
// `parents` (sorted general segment indexes) and reports what is wrong through `reader`.
void resolve_shared_tactical(YamlReader& reader, RuleFile& rf);

}  // namespace strata
