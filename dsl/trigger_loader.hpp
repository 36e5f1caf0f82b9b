// The triggers part of a rule file: `frequency_cap` and `triggers`, read into the RuleFile
// with every element's position. Structure and formats are checked here; segment ids and
// templates are checked when the file is compiled (compile_triggers), once the segments are
// known.
#pragma once

#include <yaml-cpp/yaml.h>

#include "dsl/ruleset.hpp"
#include "dsl/yaml_reader.hpp"

namespace strata {

// `triggers:` — a list of trigger mappings.
void read_triggers(YamlReader& reader, const YAML::Node& node, RuleFile& rf);

// `frequency_cap: N per D`.
void read_frequency_cap(YamlReader& reader, const YAML::Node& node, RuleFile& rf);

// `report: { min_share: P% }`: the settings of `strata report`.
void read_report_settings(YamlReader& reader, const YAML::Node& node, RuleFile& rf);

// Parses an event (`enter X`, `exit X`, `in X`, `move X -> Y`) from `text`; nullopt with a
// message in `problem` when it is not one. Locations are filled in from `text`'s offsets.
std::optional<EventDef> parse_event(const SourceFile& file, const ExprText& text, size_t begin,
                                    size_t end, std::string& problem);

}  // namespace strata
