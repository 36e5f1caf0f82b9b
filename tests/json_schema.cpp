#include "json_schema.hpp"

#include <cmath>
#include <set>
#include <stdexcept>

namespace strata::testing {

namespace {

namespace fs = std::filesystem;

bool full_match(const std::string& text, const char* pattern) {
    return std::regex_match(text, std::regex(pattern));
}

bool is_quoted_or_str(const YAML::Node& n) {
    const std::string& tag = n.Tag();
    return tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "!!str";
}

// The value of a number scalar (core schema forms: decimal, 0o, 0x, .inf, .nan).
double number_value(const std::string& s) {
    if (s.rfind("0o", 0) == 0) return static_cast<double>(std::stoll(s.substr(2), nullptr, 8));
    if (s.rfind("0x", 0) == 0) return static_cast<double>(std::stoull(s.substr(2), nullptr, 16));
    if (s.find(".inf") != std::string::npos || s.find(".Inf") != std::string::npos ||
        s.find(".INF") != std::string::npos)
        return s[0] == '-' ? -INFINITY : INFINITY;
    if (s.find(".nan") != std::string::npos || s.find(".NaN") != std::string::npos ||
        s.find(".NAN") != std::string::npos)
        return NAN;
    return std::stod(s);
}

std::string where(const YAML::Node& n, const std::string& path) {
    const YAML::Mark m = n.Mark();
    return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " +
           (path.empty() ? "(the file)" : path) + ": ";
}

// Equality of a YAML value with an enum entry of the schema, as JSON values.
bool json_equal(const YAML::Node& value, const YAML::Node& entry) {
    const std::string a = json_type(value);
    const std::string b = json_type(entry);
    const bool a_number = a == "integer" || a == "number";
    const bool b_number = b == "integer" || b == "number";
    if (a_number && b_number) return number_value(value.Scalar()) == number_value(entry.Scalar());
    if (a != b) return false;
    if (a == "null") return true;
    if (a == "boolean") return (value.Scalar()[0] | 0x20) == (entry.Scalar()[0] | 0x20);
    if (a == "string") return value.Scalar() == entry.Scalar();
    throw std::logic_error("enum entries must be scalars");
}

size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

const std::set<std::string> kAnnotations{"$schema",  "title",   "description", "examples",
                                         "$comment", "default", "definitions"};
const std::set<std::string> kKeywords{
    "$ref",          "type",          "properties",    "required",  "additionalProperties",
    "propertyNames", "minProperties", "maxProperties", "items",     "minItems",
    "enum",          "pattern",       "minLength",     "maxLength", "minimum",
    "maximum",       "anyOf",         "oneOf"};

}  // namespace

std::string json_type(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return "null";
    if (n.IsMap()) return "object";
    if (n.IsSequence()) return "array";
    const std::string& s = n.Scalar();
    if (is_quoted_or_str(n)) return "string";
    if (full_match(s, "true|True|TRUE|false|False|FALSE")) return "boolean";
    if (full_match(s, "[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")) return "integer";
    if (full_match(s, R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)")) {
        const double v = std::stod(s);
        return std::isfinite(v) && v == std::floor(v) ? "integer" : "number";
    }
    if (full_match(s, R"([-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN)")) return "number";
    return "string";
}

JsonSchema::JsonSchema(const fs::path& file) : file_(file) {
    try {
        root_ = YAML::LoadFile(file.string());
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(file.string() + ": " + e.what());
    }
    documents_[fs::weakly_canonical(file).string()] = root_;
}

const std::regex& JsonSchema::regex(const std::string& pattern) const {
    auto& slot = regexes_[pattern];
    if (!slot) slot = std::make_shared<std::regex>(pattern, std::regex::ECMAScript);
    return *slot;
}

std::pair<YAML::Node, fs::path> JsonSchema::resolve(const std::string& ref,
                                                    const fs::path& from) const {
    const size_t hash = ref.find('#');
    if (hash == std::string::npos) throw std::logic_error("$ref without '#': " + ref);
    fs::path file = from;
    if (hash > 0) file = fs::weakly_canonical(from.parent_path() / ref.substr(0, hash));
    const std::string key = fs::weakly_canonical(file).string();
    if (!documents_.count(key)) {
        try {
            documents_[key] = YAML::LoadFile(file.string());
        } catch (const YAML::Exception& e) {
            throw std::logic_error("$ref " + ref + ": cannot read " + file.string());
        }
    }
    YAML::Node node = YAML::Clone(documents_[key]);
    const std::string pointer = ref.substr(hash + 1);
    size_t at = 0;
    while (at < pointer.size()) {
        if (pointer[at] != '/') throw std::logic_error("bad $ref pointer: " + ref);
        const size_t next = std::min(pointer.find('/', at + 1), pointer.size());
        const std::string part = pointer.substr(at + 1, next - at - 1);
        if (!node.IsMap() || !node[part]) throw std::logic_error("$ref to nothing: " + ref);
        node = node[part];
        at = next;
    }
    return {node, file};
}

std::vector<std::string> JsonSchema::validate(const YAML::Node& doc) const {
    std::vector<std::string> problems;
    check(root_, fs::weakly_canonical(file_), doc, "", problems);
    return problems;
}

void JsonSchema::check(const YAML::Node& schema, const fs::path& schema_file,
                       const YAML::Node& value, const std::string& path,
                       std::vector<std::string>& problems) const {
    if (!schema.IsMap()) throw std::logic_error("a schema must be an object at " + path);
    for (auto it = schema.begin(); it != schema.end(); ++it) {
        const std::string k = it->first.Scalar();
        if (!kAnnotations.count(k) && !kKeywords.count(k))
            throw std::logic_error("the validator does not support the keyword '" + k + "'");
    }
    if (schema["$ref"]) {
        // Draft-07: a $ref replaces its siblings, which may only be annotations.
        const auto [target, file] = resolve(schema["$ref"].Scalar(), schema_file);
        check(target, file, value, path, problems);
        return;
    }
    const std::string type = json_type(value);
    auto fail = [&](const std::string& message) {
        problems.push_back(where(value, path) + message);
    };
    auto number = [&](const char* keyword) { return number_value(schema[keyword].Scalar()); };

    if (const YAML::Node t = schema["type"]) {
        std::vector<std::string> allowed;
        if (t.IsSequence()) {
            for (const auto& e : t)
                allowed.push_back(e.Scalar());
        } else {
            allowed.push_back(t.Scalar());
        }
        bool ok = false;
        std::string list;
        for (const auto& a : allowed) {
            ok = ok || a == type || (a == "number" && type == "integer");
            list += (list.empty() ? "" : " or ") + a;
        }
        if (!ok) {
            fail("must be " + list + ", not " + type);
            return;
        }
    }
    if (const YAML::Node e = schema["enum"]) {
        bool found = false;
        std::string list;
        for (const auto& entry : e) {
            found = found || json_equal(value, entry);
            list += (list.empty() ? "" : ", ") + entry.Scalar();
        }
        if (!found)
            fail("'" + (value.IsScalar() ? value.Scalar() : type) + "' is not one of " + list);
    }
    if (type == "string") {
        const std::string& s = value.Scalar();
        if (schema["pattern"] && !std::regex_search(s, regex(schema["pattern"].Scalar())))
            fail("'" + s + "' does not match the pattern " + schema["pattern"].Scalar());
        if (schema["minLength"] && utf8_length(s) < number("minLength"))
            fail("is shorter than " + schema["minLength"].Scalar() + " characters");
        if (schema["maxLength"] && utf8_length(s) > number("maxLength"))
            fail("is longer than " + schema["maxLength"].Scalar() + " characters");
    }
    if (type == "integer" || type == "number") {
        const double v = number_value(value.Scalar());
        if (schema["minimum"] && !(v >= number("minimum")))
            fail(value.Scalar() + " is less than " + schema["minimum"].Scalar());
        if (schema["maximum"] && !(v <= number("maximum")))
            fail(value.Scalar() + " is more than " + schema["maximum"].Scalar());
    }
    if (type == "array") {
        if (schema["minItems"] && value.size() < number("minItems"))
            fail("needs at least " + schema["minItems"].Scalar() + " item(s)");
        if (const YAML::Node items = schema["items"]) {
            for (size_t i = 0; i < value.size(); ++i)
                check(items, schema_file, value[i], path + "[" + std::to_string(i) + "]", problems);
        }
    }
    if (type == "object") {
        const YAML::Node props = schema["properties"];
        const YAML::Node additional = schema["additionalProperties"];
        std::set<std::string> seen;
        for (auto it = value.begin(); it != value.end(); ++it) {
            const std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
            seen.insert(name);
            const std::string sub = path.empty() ? name : path + "." + name;
            if (const YAML::Node names = schema["propertyNames"]) {
                std::vector<std::string> bad;
                YAML::Node as_string(name);
                as_string.SetTag("!");
                check(names, schema_file, as_string, "", bad);
                if (!bad.empty())
                    problems.push_back(where(it->first, sub) + "'" + name +
                                       "' is not a valid name here");
            }
            if (props && props[name]) {
                check(props[name], schema_file, it->second, sub, problems);
            } else if (additional && additional.IsScalar()) {
                if (additional.Scalar() == "false")
                    problems.push_back(where(it->first, sub) + "unknown key '" + name + "'");
            } else if (additional) {
                check(additional, schema_file, it->second, sub, problems);
            }
        }
        if (const YAML::Node required = schema["required"]) {
            for (const auto& r : required) {
                if (!seen.count(r.Scalar()))
                    fail("is missing the required key '" + r.Scalar() + "'");
            }
        }
        if (schema["minProperties"] && value.size() < number("minProperties"))
            fail("needs at least " + schema["minProperties"].Scalar() + " key(s)");
        if (schema["maxProperties"] && value.size() > number("maxProperties"))
            fail("has more than " + schema["maxProperties"].Scalar() + " key(s)");
    }
    for (const char* combinator : {"anyOf", "oneOf"}) {
        const YAML::Node branches = schema[combinator];
        if (!branches) continue;
        size_t matched = 0;
        std::vector<std::string> first_problems;
        for (size_t i = 0; i < branches.size(); ++i) {
            std::vector<std::string> branch;
            check(branches[i], schema_file, value, path, branch);
            if (branch.empty()) ++matched;
            if (i == 0) first_problems = branch;
        }
        const bool one_of = std::string(combinator) == "oneOf";
        if (matched == 0) {
            fail("matches none of the allowed forms" +
                 (first_problems.empty() ? std::string()
                                         : " (the first: " + first_problems[0] + ")"));
        } else if (one_of && matched > 1) {
            fail("matches more than one of the allowed forms");
        }
    }
}

}  // namespace strata::testing
