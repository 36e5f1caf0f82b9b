// Reading rule-file YAML with exact positions: the helpers every part of the loader shares
// (mappings with known and required keys, scalars, expression texts mapped byte by byte to
// the file). Problems go to the diagnostics; nothing here throws on bad input.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dsl/diagnostics.hpp"
#include "dsl/ruleset.hpp"
#include "dsl/source.hpp"

namespace strata {

// Rule authors write named arguments inside plain scalars (`rfm(recency: last_order)`), which
// YAML would read as a nested mapping. Before YAML sees the text, every ": " after a line's
// key separator inside a plain value is hidden; scalar() shows it again. The rewrite keeps
// every byte offset, so marks and carets stay exact.
std::string hide_inner_value_separators(const std::string& text);

class YamlReader {
  public:
    YamlReader(const SourceFile& file, Diagnostics& diags) : file_(file), diags_(diags) {}

    void error(DiagnosticCode code, Location loc, std::string msg);
    // An expression that starts with a quote (`when: 'a' == x`) ends the YAML scalar at the
    // closing quote; says so when a YAML error lands on such a line ("" otherwise).
    std::string quote_hint(const YAML::Mark& mark) const;
    Location mark_location(const YAML::Mark& m, int length = 1) const;
    // A mark's offset in the file's text (yaml-cpp counts from after a byte-order mark); the
    // end of the text for a mark without a position.
    size_t offset_of(const YAML::Mark& m) const {
        return m.pos < 0 ? file_.text().size() : static_cast<size_t>(m.pos) + file_.bom();
    }
    // Where a node is; a scalar's whole text (quotes included) is underlined.
    Location node_location(const YAML::Node& n) const;

    using Handler = std::function<void(const YAML::Node& key, const YAML::Node& value)>;
    // Visits a mapping's keys, reporting unknown and duplicate keys, and missing required ones.
    void visit_map(const YAML::Node& map, const std::string& where,
                   const std::vector<std::string>& known, const std::vector<std::string>& required,
                   const Handler& handle);
    // A scalar's text, or nullopt (reported) when the node is a mapping, list or null.
    std::optional<std::string> scalar(const YAML::Node& n, const std::string& what);
    // A scalar as an expression text, each byte mapped to its byte in the file. The value is
    // what YAML made of the raw text (quotes removed, escapes resolved, lines folded), so the
    // walk matches value bytes against raw bytes in order and steps over what YAML dropped.
    ExprText expression(const YAML::Node& n, const std::string& what);
    // A name of letters (of any alphabet, as in dsl/names.hpp), digits, _ and -; reported with
    // `pattern_help` otherwise.
    std::string identifier_like(const YAML::Node& n, const std::string& what,
                                const char* pattern_help);

    // Reports every node with a YAML tag other than the core schema's (`!!str`, `!!int`, `!!map`,
    // …) or the non-specific `!`: a rule file's values are read as written, so `!!binary`,
    // `!!timestamp` or an application tag (`!secret`) would otherwise be ignored silently.
    // Also every quoted scalar whose quote is never closed, which yaml-cpp takes as running to
    // the end of the file. Returns whether there were none. A node an alias repeats is
    // visited once.
    // `what`: "rule file" or "test file".
    bool report_tags_and_unclosed_quotes(const YAML::Node& root, const std::string& what);
    // Reports what yaml-cpp could not parse, at its mark, with a hint where one is known: a
    // tab in the indentation, a '[' or '{' never closed, an expression starting with a quote.
    void report_yaml_error(const YAML::Exception& e);

    // Reports a line that ends with a carriage return alone (classic Mac OS line endings),
    // which YAML does not take for a line break: the file would read as one long line, and
    // the errors about it would point elsewhere. Returns whether there is none. `what`: "rule
    // file" or "test file".
    bool report_lone_carriage_return(const std::string& what);

    // Reports the first byte that does not start or continue a UTF-8 character (a file saved
    // as cp1251 or Latin-1), whose text would otherwise be read as other characters. Returns
    // whether there is none. `what`: "rule file" or "test file".
    bool report_invalid_utf8(const std::string& what);

    const SourceFile& file() const { return file_; }
    // "line:col" of `at` as users read it (col in characters), for a message that names another
    // place in the file.
    std::string place(Location at) const {
        const Location shown = file_.shown(at);
        return std::to_string(shown.line) + ":" + std::to_string(shown.col);
    }

  protected:
    const SourceFile& file_;
    Diagnostics& diags_;
};

}  // namespace strata
