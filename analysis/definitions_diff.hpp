// The textual diff of two rule files' definitions, for `strata diff`: what an author changed,
// element by element, with conditions compared by meaning (their canonical text), so that
// spacing and redundant parentheses do not count as changes.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "dsl/ruleset.hpp"

namespace strata {

// One line of the diff: '-' for the old file's definition, '+' for the new one's, '~' for a
// definition renamed with nothing else changed (`segment vip renamed to gold (same
// definition)`).
// `text` reads like `segment vip: when spend >= 1000` (conditions as written, on one line).
struct DefinitionLine {
    char sign = '+';
    std::string text;
};

// The definitions that differ between `old_file` and `new_file`, in this order: as_of, the
// file's description and owner, the source (customer table, key, since, types), facts, lets,
// policy, value, the general
// segments (by id, in the new file's order, then the removed ones; a changed order of the
// segments both files have shows as one `order:` pair), their tactical segments (by path),
// triggers (a changed order as one `trigger order:` pair, then by id) and the frequency cap. A
// changed element gives a '-' line and a '+' line per changed part; an added one a '+' line, a
// removed one a '-' line; a removed and an added one of the same kind whose parts are all the same
// (and no other removed or added one is) a
// '~' line where the new file has it. Same definitions give
// nothing. The ruleset name and version are not compared.
std::vector<DefinitionLine> diff_definitions(const RuleFile& old_file, const RuleFile& new_file);

// Whether two triggers are the same definition, part by part as diff_definitions compares
// them (the id aside).
bool same_trigger_definition(const TriggerDef& a, const TriggerDef& b);

// The names of the lets, or the facts, whose definitions differ between the files as
// diff_definitions compares them, or that only one of the files has.
std::set<std::string> changed_lets(const RuleFile& a, const RuleFile& b);
std::set<std::string> changed_facts(const RuleFile& a, const RuleFile& b);
// Whether the customer source is the same in both files for what reads `columns`: the same
// table, key and since, and the same type given (or none) to each of `columns`.
bool same_source_definition(const RuleFile& a, const RuleFile& b,
                            const std::set<std::string>& columns);

}  // namespace strata
