// The editors' schema, docs/rules.schema.json (test files: docs/rules-test.schema.json):
// every shipped rule file and test file is valid against it and says so on its first line,
// the schema and the loader accept the same keys of every mapping, and the cases of
// tests/schema/cases.yaml get the same answer from the schema and from the loader.
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>
#include "analysis/rule_tests.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>

#include "dsl/loader.hpp"
#include "dsl/rule_keys.hpp"
#include "json_schema.hpp"

using strata::testing::json_type;
using strata::testing::JsonSchema;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = STRATA_SOURCE_DIR;
const std::string kRulesComment = "# yaml-language-server: $schema=../docs/rules.schema.json";
const std::string kTestsComment = "# yaml-language-server: $schema=../docs/rules-test.schema.json";

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += "\n  " + l;
    return out;
}

std::set<std::string> keys_of(const YAML::Node& map) {
    std::set<std::string> out;
    for (auto it = map.begin(); it != map.end(); ++it)
        out.insert(it->first.Scalar());
    return out;
}

std::set<std::string> items_of(const YAML::Node& list) {
    std::set<std::string> out;
    for (const auto& e : list)
        out.insert(e.Scalar());
    return out;
}

std::string listed(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "(none)" : out;
}

// Problems of a YAML text against a schema; a YAML syntax error is one problem. The text is
// read with plain yaml-cpp, as an editor reads it (without the loader's tolerance of ': '
// inside plain values).
std::vector<std::string> schema_problems(const JsonSchema& schema, const std::string& text) {
    YAML::Node doc;
    try {
        doc = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return {std::string("not plain YAML: ") + e.what()};
    }
    return schema.validate(doc);
}

std::vector<std::string> loader_errors(const std::string& text) {
    strata::Diagnostics diags;
    strata::load_rule_file(strata::SourceFile("case.yaml", text), diags);
    std::vector<std::string> out;
    for (const auto& d : diags.items()) {
        if (d.severity == strata::Severity::Error)
            out.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.col) +
                          ": " + d.message);
    }
    return out;
}

std::vector<std::string> test_loader_errors(const std::string& text) {
    strata::Diagnostics diags;
    strata::load_test_file(strata::SourceFile("case.test.yaml", text), diags);
    std::vector<std::string> out;
    for (const auto& d : diags.items()) {
        if (d.severity == strata::Severity::Error)
            out.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.col) +
                          ": " + d.message);
    }
    return out;
}

// Every node of a schema tree, with its path, for the checks that apply to all of them.
void walk(const YAML::Node& node, const std::string& path,
          const std::function<void(const YAML::Node&, const std::string&)>& visit) {
    if (node.IsMap()) {
        visit(node, path);
        for (auto it = node.begin(); it != node.end(); ++it)
            walk(it->second, path + "/" + it->first.Scalar(), visit);
    } else if (node.IsSequence()) {
        for (size_t i = 0; i < node.size(); ++i)
            walk(node[i], path + "/" + std::to_string(i), visit);
    }
}

}  // namespace

TEST_CASE("schema: YAML values take the types an editor gives them") {
    const YAML::Node doc = YAML::Load(
        "{a: 3, b: '3', c: 2026-11-01, d: 10%, e: 1.5, f: true, g: ~, h: on, i: 3.0, j: \"x\", "
        "k: , l: 1e3, m: 0x1F, n: yes}");
    CHECK(json_type(doc["a"]) == "integer");
    CHECK(json_type(doc["b"]) == "string");
    CHECK(json_type(doc["c"]) == "string");
    CHECK(json_type(doc["d"]) == "string");
    CHECK(json_type(doc["e"]) == "number");
    CHECK(json_type(doc["f"]) == "boolean");
    CHECK(json_type(doc["g"]) == "null");
    CHECK(json_type(doc["h"]) == "string");   // YAML 1.2: `on` is text, so a trigger's key is
    CHECK(json_type(doc["i"]) == "integer");  // JSON Schema: a number without a fraction
    CHECK(json_type(doc["j"]) == "string");
    CHECK(json_type(doc["k"]) == "null");
    CHECK(json_type(doc["l"]) == "integer");
    CHECK(json_type(doc["m"]) == "integer");
    CHECK(json_type(doc["n"]) == "string");
}

TEST_CASE("schema: every shipped rule file is valid against docs/rules.schema.json") {
    const JsonSchema schema(kSource / "docs/rules.schema.json");
    int files = 0;
    for (const auto& entry : fs::directory_iterator(kSource / "rules")) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".yaml" || name.ends_with(".test.yaml")) continue;
        ++files;
        CAPTURE(name);
        const std::string text = read_text(entry.path());
        CHECK_MESSAGE(first_line(text) == kRulesComment,
                      "the first line must be '" << kRulesComment << "'");
        const auto problems = schema_problems(schema, text);
        CHECK_MESSAGE(problems.empty(), name << ":" << joined(problems));
    }
    CHECK(files >= 10);
}

TEST_CASE("schema: every shipped test file is valid against docs/rules-test.schema.json") {
    const JsonSchema schema(kSource / "docs/rules-test.schema.json");
    int files = 0;
    for (const auto& entry : fs::directory_iterator(kSource / "rules")) {
        const std::string name = entry.path().filename().string();
        if (!name.ends_with(".test.yaml")) continue;
        ++files;
        CAPTURE(name);
        const std::string text = read_text(entry.path());
        CHECK_MESSAGE(first_line(text) == kTestsComment,
                      "the first line must be '" << kTestsComment << "'");
        const auto problems = schema_problems(schema, text);
        CHECK_MESSAGE(problems.empty(), name << ":" << joined(problems));
    }
    if (files == 0) MESSAGE("no NAME.test.yaml in rules/ yet: no test file to validate");
}

TEST_CASE("schema: the schema and the loader accept the same keys") {
    const YAML::Node schema = YAML::LoadFile((kSource / "docs/rules.schema.json").string());
    const YAML::Node defs = schema["definitions"];
    REQUIRE(defs.IsMap());
    REQUIRE(schema["$ref"].Scalar() == "#/definitions/" + strata::rule_keys::top.definition);

    std::set<std::string> compared;
    std::vector<const strata::MappingKeys*> mappings = strata::rule_file_mappings();
    for (const strata::MappingKeys* m : strata::test_file_mappings())
        mappings.push_back(m);
    for (const strata::MappingKeys* m : mappings) {
        CAPTURE(m->where);
        const YAML::Node def = defs[m->definition];
        REQUIRE_MESSAGE(def.IsMap(), "the schema has no definition '" << m->definition << "'");
        compared.insert(m->definition);
        const std::set<std::string> in_schema = keys_of(def["properties"]);
        const std::set<std::string> in_loader(m->known.begin(), m->known.end());
        std::set<std::string> only_loader, only_schema;
        std::set_difference(in_loader.begin(), in_loader.end(), in_schema.begin(), in_schema.end(),
                            std::inserter(only_loader, only_loader.end()));
        std::set_difference(in_schema.begin(), in_schema.end(), in_loader.begin(), in_loader.end(),
                            std::inserter(only_schema, only_schema.end()));
        CHECK_MESSAGE(only_loader.empty(),
                      "keys the loader accepts in "
                          << m->where << " that the schema lacks: " << listed(only_loader));
        CHECK_MESSAGE(only_schema.empty(),
                      "keys the schema has in "
                          << m->where << " that the loader rejects: " << listed(only_schema));
        CHECK_MESSAGE(items_of(def["required"]) ==
                          std::set<std::string>(m->required.begin(), m->required.end()),
                      "required keys of " << m->where << ": schema "
                                          << listed(items_of(def["required"])) << ", loader "
                                          << listed({m->required.begin(), m->required.end()}));
        // The loader reports unknown keys, so the schema flags them too.
        CHECK_MESSAGE(def["additionalProperties"].Scalar() == "false",
                      m->definition << " needs \"additionalProperties\": false");
    }
    // Every other mapping with fixed keys would escape the comparison: the rule-file part of
    // the schema has none (its other objects map the author's names, such as lets).
    for (auto it = defs.begin(); it != defs.end(); ++it) {
        const std::string name = it->first.Scalar();

        walk(it->second, name, [&](const YAML::Node& node, const std::string& path) {
            if (node["properties"] && !(compared.count(name) && path == name))
                FAIL_CHECK(path << " has properties that no loader key list is compared with");
        });
    }
}

TEST_CASE("schema: every key has a description, and a $ref stands alone") {
    for (const std::string file : {"docs/rules.schema.json", "docs/rules-test.schema.json"}) {
        CAPTURE(file);
        const YAML::Node schema = YAML::LoadFile((kSource / file).string());
        int properties = 0;
        walk(schema, "", [&](const YAML::Node& node, const std::string& path) {
            if (const YAML::Node props = node["properties"]) {
                for (auto it = props.begin(); it != props.end(); ++it) {
                    ++properties;
                    if (!it->second["description"])
                        FAIL_CHECK(path << "/properties/" << it->first.Scalar()
                                        << " has no description");
                }
            }
            // Draft-07 ignores what stands beside a $ref; only a description may.
            if (node["$ref"] && path.find("/definitions/") != std::string::npos) {
                for (auto it = node.begin(); it != node.end(); ++it) {
                    const std::string k = it->first.Scalar();
                    if (k != "$ref" && k != "description")
                        FAIL_CHECK(path << ": '" << k << "' beside $ref is ignored");
                }
            }
        });
        if (file == "docs/rules.schema.json") CHECK(properties > 50);
    }
}

TEST_CASE("schema: the schema and the loader agree on each case of tests/schema/cases.yaml") {
    const JsonSchema rules_schema(kSource / "docs/rules.schema.json");
    const JsonSchema tests_schema(kSource / "docs/rules-test.schema.json");
    const YAML::Node data = YAML::LoadFile((kSource / "tests/schema/cases.yaml").string());
    int rule_cases = 0, test_cases = 0, invalid = 0;
    for (const auto& c : data["cases"]) {
        const std::string name = c["name"].as<std::string>();
        const bool test_file = c["file"] && c["file"].as<std::string>() == "test";
        const bool valid = c["valid"].as<bool>();
        CAPTURE(name);
        std::string text = data[test_file ? "test_base" : "rule_base"].as<std::string>();
        const auto from = c["replace"][0].as<std::string>();
        const auto to = c["replace"][1].as<std::string>();
        if (!from.empty()) {
            const size_t at = text.find(from);
            REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' is not in the base");
            REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos,
                            "'" << from << "' occurs more than once in the base");
            text.replace(at, from.size(), to);
        }
        const auto problems = schema_problems(test_file ? tests_schema : rules_schema, text);
        CHECK_MESSAGE(problems.empty() == valid,
                      (valid ? "the schema rejects it:" : "the schema accepts it")
                          << joined(problems));
        {
            const auto errors = test_file ? test_loader_errors(text) : loader_errors(text);
            CHECK_MESSAGE(errors.empty() == valid,
                          (valid ? "the loader rejects it:" : "the loader accepts it")
                              << joined(errors));
        }
        ++(test_file ? test_cases : rule_cases);
        invalid += !valid;
    }
    CHECK(rule_cases > 40);
    CHECK(test_cases > 5);
    CHECK(invalid > 30);
}

TEST_CASE("schema: the examples of docs/language.md that name a schema are valid against it") {
    const std::string doc = read_text(kSource / "docs/language.md");
    const std::string prefix = "# yaml-language-server: $schema=../docs/";
    int examples = 0;
    for (size_t at = doc.find("```yaml\n"); at != std::string::npos;
         at = doc.find("```yaml\n", at + 1)) {
        const size_t begin = at + 8;
        const size_t end = doc.find("\n```", begin);
        REQUIRE(end != std::string::npos);
        const std::string example = doc.substr(begin, end - begin + 1);
        if (example.rfind(prefix, 0) != 0) continue;
        const std::string schema_file = first_line(example).substr(prefix.size());
        CAPTURE(schema_file);
        CAPTURE(first_line(example.substr(example.find('\n') + 1)));
        const JsonSchema schema(kSource / "docs" / schema_file);
        const auto problems = schema_problems(schema, example);
        CHECK_MESSAGE(problems.empty(), joined(problems));
        ++examples;
    }
    CHECK(examples >= 2);  // the rule file of section 1 and the test file of section 5
}

// YAML aliases of aliases repeat a segment exponentially many times: a file of a few hundred
// bytes held 59,049 copies at five levels (a second and 120 MB to check; seven levels ran out
// of memory). Each segment node is read once; its repeats are refused as duplicates without
// being walked again (review AP1).
TEST_CASE("loader: an alias of nested tactical segments is refused without walking its copies") {
    std::string text =
        "ruleset: t\nversion: 1\ngeneral:\n  segments:\n    - id: a\n      when: true\n"
        "      tactical:\n        - &t0 { id: x0, when: true }\n";
    for (int level = 1; level <= 5; ++level) {
        const std::string prev = "*t" + std::to_string(level - 1);
        text += "        - &t" + std::to_string(level) + " { id: x" + std::to_string(level) +
                ", when: true, tactical: [";
        for (int k = 0; k < 9; ++k)
            text += (k ? "," : "") + prev;
        text += "] }\n";
    }
    text += "    - id: b\n      when: otherwise\n";
    strata::Diagnostics diags;
    const auto file = strata::load_rule_file(strata::SourceFile("aliases.yaml", text), diags);
    REQUIRE(file);
    std::function<size_t(const std::vector<strata::SegmentDef>&)> count =
        [&](const std::vector<strata::SegmentDef>& segments) {
            size_t n = segments.size();
            for (const auto& s : segments)
                n += count(s.tactical);
            return n;
        };
    CHECK(count(file->segments) < 100);  // 2 general, 6 tactical, 5 × 9 refused copies
    size_t refused = 0;
    for (const auto& d : diags.items())
        refused += d.message.find("a YAML alias (*name) repeats the segment") != std::string::npos;
    CHECK(refused == 5);  // one per aliased segment, x0 … x4
}
