// A small JSON Schema validator for the tests: the part of draft-07 that
// docs/rules.schema.json uses, applied to YAML documents as an editor's YAML language server
// reads them (YAML 1.2 core schema: `3` is an integer, `2026-11-01` and `10%` are strings,
// a quoted value is always a string).
//
// Supported keywords: type, properties, required, additionalProperties, propertyNames,
// minProperties, maxProperties, items, minItems, enum, pattern (ECMAScript, unanchored),
// minLength, maxLength, minimum, maximum, anyOf, oneOf and $ref (to `#/pointer` or to
// `file.json#/pointer` beside the schema file). Annotations ($schema, title, description,
// examples, definitions, $comment, default) are skipped. Any other keyword throws
// std::logic_error, so the schema cannot come to rely on something this validator ignores.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace strata::testing {

class JsonSchema {
  public:
    // Reads a schema file (JSON is YAML). Throws std::runtime_error when it cannot be read.
    explicit JsonSchema(const std::filesystem::path& file);

    // The problems of `doc` against the schema, each as "line:col: path: message" (line and
    // col of the offending YAML node); empty when the document is valid.
    std::vector<std::string> validate(const YAML::Node& doc) const;

    // The schema document as read.
    const YAML::Node& root() const { return root_; }

  private:
    std::filesystem::path file_;
    YAML::Node root_;
    // Other schema files reached through $ref, by path; regexes by pattern.
    mutable std::map<std::string, YAML::Node> documents_;
    mutable std::map<std::string, std::shared_ptr<std::regex>> regexes_;

    void check(const YAML::Node& schema, const std::filesystem::path& schema_file,
               const YAML::Node& value, const std::string& path,
               std::vector<std::string>& problems) const;
    const std::regex& regex(const std::string& pattern) const;
    // The schema node a $ref points at, and the file it is in.
    std::pair<YAML::Node, std::filesystem::path> resolve(const std::string& ref,
                                                         const std::filesystem::path& from) const;
};

// The JSON type of a YAML node under YAML 1.2's core schema: "null", "boolean", "integer",
// "number", "string", "object" or "array". ("integer" is a number with no fraction.)
std::string json_type(const YAML::Node& n);

}  // namespace strata::testing
