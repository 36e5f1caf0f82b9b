// The keys each mapping of a rule file accepts, in one place. The loaders (loader.cpp,
// trigger_loader.cpp) check mappings against these lists, and the schema test compares them
// with docs/rules.schema.json both ways, so the editors' schema and the loader cannot drift
// apart: a key one accepts and the other does not fails the test.
#pragma once

#include <string>
#include <vector>

namespace strata {

struct MappingKeys {
    std::string where;       // the mapping, in words: "the rule file", "'source'", "a segment"
    std::string definition;  // the name of its definition in docs/rules.schema.json
    std::vector<std::string> known;
    std::vector<std::string> required;
};

namespace rule_keys {

inline const MappingKeys top{
    "the rule file",
    "rule_file",
    {"ruleset", "version", "description", "owner", "as_of", "source", "let", "general", "tactical",
     "value", "frequency_cap", "triggers", "report"},
    {"ruleset", "version", "general"}};
inline const MappingKeys source{
    "'source'", "source", {"customers", "key", "types", "facts", "since"}, {}};
inline const MappingKeys fact{"a fact", "fact", {"table", "key", "time", "types"}, {"key"}};
inline const MappingKeys general{"'general'", "general", {"policy", "segments"}, {"segments"}};
inline const MappingKeys segment{"a segment",
                                 "segment",
                                 {"id", "label", "when", "description", "goal", "offer", "channel",
                                  "contact_every", "priority", "tactical"},
                                 {"id", "when"}};
// A shared tactical segment (the top-level `tactical` list): a segment's keys for people,
// `within` instead of nested `tactical`.
inline const MappingKeys shared_tactical{"a shared tactical segment",
                                         "shared_tactical",
                                         {"id", "label", "when", "within", "description", "goal",
                                          "offer", "channel", "contact_every", "priority"},
                                         {"id", "when", "within"}};
// `report:`, the settings of `strata report` (docs/report.md).
inline const MappingKeys report{"'report'", "report", {"min_share"}, {}};
inline const MappingKeys trigger{
    "a trigger",
    "trigger",
    {"id", "on", "when", "priority", "cooldown", "holdout", "success", "actions", "description"},
    {"id", "on", "actions"}};

// NAME.test.yaml (analysis/rule_test_loader.cpp).
inline const MappingKeys test_file{"the test file", "test_file", {"rules", "cases"}, {"cases"}};
inline const MappingKeys test_case{
    "a case",
    "test_case",
    {"name", "description", "as_of", "customers", "facts", "population", "expect", "then"},
    {"name", "as_of", "customers", "expect"}};
inline const MappingKeys test_state{
    "a later state",
    "test_state",
    {"description", "as_of", "customers", "facts", "expect", "fires"},
    {"as_of"}};
// A case's `population:` entry for an rfm let and for an abc let.
inline const MappingKeys fixed_rfm{"rfm cut points", "fixed_rfm", {"r", "f", "m"}, {}};
inline const MappingKeys fixed_abc{"abc class starts", "fixed_abc", {"A", "B"}, {}};
// An abc class given by its last customer, as a run's JSON lists it (whose `customers` and
// `cumulative_share` may be copied with it, and are not read).
inline const MappingKeys abc_boundary{"an abc class's last customer",
                                      "abc_boundary",
                                      {"last_value", "last_key", "customers", "cumulative_share"},
                                      {"last_value"}};
inline const MappingKeys test_expectation{
    "an expectation", "test_expectation", {"segment", "tactical"}, {"segment"}};

}  // namespace rule_keys

// Every mapping of a rule file whose keys are fixed, in the order of the file's structure.
// (Mappings whose keys are the author's names, such as `let`, `facts` and `types`, are not
// listed.)
inline std::vector<const MappingKeys*> rule_file_mappings() {
    return {&rule_keys::top,     &rule_keys::source,  &rule_keys::fact,
            &rule_keys::general, &rule_keys::segment, &rule_keys::shared_tactical,
            &rule_keys::trigger, &rule_keys::report};
}

// The same for test files.
inline std::vector<const MappingKeys*> test_file_mappings() {
    return {&rule_keys::test_file,        &rule_keys::test_case, &rule_keys::test_state,
            &rule_keys::test_expectation, &rule_keys::fixed_rfm, &rule_keys::fixed_abc,
            &rule_keys::abc_boundary};
}

}  // namespace strata
