#include "dsl/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <set>
#include <vector>

#include "dsl/hints.hpp"
#include "dsl/names.hpp"
#include "text/encoding.hpp"

namespace strata {

using Code = DiagnosticCode;

namespace {

// The stand-in for the space of a hidden ": " (see hide_inner_value_separators).
constexpr char kHiddenSpace = '\x01';

std::string unhide(std::string s) {
    for (char& c : s) {
        if (c == kHiddenSpace) c = ' ';
    }
    return s;
}

// A quoted or block scalar spanning lines takes its later lines as they are, hidden ": "
// included (`description: >` then `  Goal: upsell`): each colon's hidden space back, and only
// those, so that a control character the author wrote ("\x01") is still found.
std::string unhide_after_colons(std::string s) {
    for (size_t i = 1; i < s.size(); ++i) {
        if (s[i] == kHiddenSpace && s[i - 1] == ':') s[i] = ' ';
    }
    return s;
}

// An escape of a double-quoted YAML scalar, at raw[p] == '\\': how many raw bytes it takes
// and how many bytes of the value it makes (0 for an escaped line break; a code point's
// UTF-8 length for \x, \u and \U).
struct EscapeSpan {
    size_t raw = 1;
    size_t value = 0;
};

EscapeSpan escape_at(const std::string& raw, size_t p) {
    if (p + 1 >= raw.size()) return {};
    const char kind = raw[p + 1];
    const size_t digits = kind == 'x' ? 2 : kind == 'u' ? 4 : kind == 'U' ? 8 : 0;
    if (digits > 0) {
        uint32_t code = 0;
        size_t n = 0;
        while (n < digits && p + 2 + n < raw.size() &&
               std::isxdigit(static_cast<unsigned char>(raw[p + 2 + n]))) {
            const char h = raw[p + 2 + n];
            code = code * 16 + static_cast<uint32_t>(
                                   std::isdigit(static_cast<unsigned char>(h))
                                       ? h - '0'
                                       : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
            ++n;
        }
        const size_t bytes = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
        return {2 + n, bytes};
    }
    if (kind == '\n' || kind == '\r') return {2, 0};
    if (kind == 'N' || kind == '_') return {2, 2};  // U+0085, U+00A0
    if (kind == 'L' || kind == 'P') return {2, 3};  // U+2028, U+2029
    return {2, 1};
}

}  // namespace

std::string hide_inner_value_separators(const std::string& text) {
    std::string out = text;
    size_t line_start = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // after a byte-order mark
    while (line_start < out.size()) {
        size_t line_end = out.find('\n', line_start);
        if (line_end == std::string::npos) line_end = out.size();
        size_t i = line_start;
        while (i < line_end && (out[i] == ' ' || out[i] == '\t'))
            ++i;
        while (i + 1 < line_end && out[i] == '-' && out[i + 1] == ' ') {  // sequence entries
            i += 2;
            while (i < line_end && out[i] == ' ')
                ++i;
        }
        const bool plain_key = i < line_end && std::string_view("#'\"{[|>&*!%@`").find(out[i]) ==
                                                   std::string_view::npos;
        size_t sep = std::string::npos;
        if (plain_key) {
            for (size_t k = i; k + 1 < line_end; ++k) {
                if (out[k] == ':' && (out[k + 1] == ' ' || out[k + 1] == '\t')) {
                    sep = k;
                    break;
                }
                if (out[k] == ' ' && out[k + 1] == '#') break;
            }
        }
        if (sep != std::string::npos) {
            size_t v = sep + 1;
            while (v < line_end && (out[v] == ' ' || out[v] == '\t'))
                ++v;
            const bool plain_value =
                v < line_end &&
                std::string_view("#'\"{[|>&*!%@`").find(out[v]) == std::string_view::npos;
            if (plain_value) {
                for (size_t k = v; k + 1 < line_end; ++k) {
                    if ((out[k] == ' ' || out[k] == '\t') && out[k + 1] == '#') break;
                    if (out[k] == ':' && out[k + 1] == ' ') out[k + 1] = kHiddenSpace;
                }
            }
        }
        line_start = line_end + 1;
    }
    return out;
}

void YamlReader::error(Code code, Location loc, std::string msg) {
    diags_.error(code, file_.path(), loc, std::move(msg));
}

// An expression that starts with a quote (`when: 'a' == x`) ends the YAML scalar at the
// closing quote; say so when a YAML error lands on such a line.
std::string YamlReader::quote_hint(const YAML::Mark& mark) const {
    if (mark.line < 0) return {};
    const std::string_view line = file_.line(mark.line + 1);
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) return {};
    const size_t value = line.find_first_not_of(' ', colon + 1);
    if (value == std::string_view::npos || (line[value] != '\'' && line[value] != '"')) return {};
    const size_t close = line.find(line[value], value + 1);
    if (close == std::string_view::npos ||
        line.find_first_not_of(' ', close + 1) == std::string_view::npos) {
        return {};
    }
    return " (an expression that starts with a quote must be quoted as a whole, e.g. when: "
           "\"'a' == x\")";
}

Location YamlReader::mark_location(const YAML::Mark& m, int length) const {
    if (m.line < 0) return Location{1, 1, 1};
    return Location{m.line + 1, m.column + 1, std::max(1, length)};
}

Location YamlReader::node_location(const YAML::Node& n) const {
    const int length =
        n.IsScalar() ? static_cast<int>(std::min<size_t>(n.Scalar().size(), 200)) : 1;
    Location loc = mark_location(n.Mark(), length);
    // A quoted scalar's mark points at its quote: underline the quotes too.
    if (n.IsScalar() && n.Mark().pos >= 0) {
        const size_t pos = offset_of(n.Mark());
        if (pos < file_.text().size() && (file_.text()[pos] == '\'' || file_.text()[pos] == '"')) {
            loc.length += 2;
        }
    }
    return loc;
}

namespace {

bool is_supported_tag(const std::string& tag) {
    static constexpr const char* kCore[] = {"str", "int", "float", "bool", "null", "map", "seq"};
    if (tag.empty() || tag == "?" || tag == "!") return true;  // untagged, or non-specific
    const std::string prefix = "tag:yaml.org,2002:";
    if (tag.compare(0, prefix.size(), prefix) != 0) return false;
    const std::string name = tag.substr(prefix.size());
    return std::any_of(std::begin(kCore), std::end(kCore),
                       [&](const char* core) { return name == core; });
}

// Whether the quote at text[open] is closed: a double quote by the next one not escaped with
// '\\', a single quote by the next one not doubled ('it''s').
bool closing_quote_after(const std::string& text, size_t open) {
    const char quote = text[open];
    for (size_t i = open + 1; i < text.size(); ++i) {
        if (quote == '"' && text[i] == '\\') {
            ++i;
        } else if (text[i] == quote) {
            if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
                ++i;
            } else {
                return true;
            }
        }
    }
    return false;
}

// How the file spells a tag: yaml-cpp resolves `!!binary` to tag:yaml.org,2002:binary.
std::string written_tag(const std::string& tag) {
    const std::string prefix = "tag:yaml.org,2002:";
    if (tag.compare(0, prefix.size(), prefix) == 0) return "!!" + tag.substr(prefix.size());
    return tag;
}

}  // namespace

bool YamlReader::report_lone_carriage_return(const std::string& what) {
    const std::string& text = file_.text();
    for (size_t at = text.find('\r'); at != std::string::npos; at = text.find('\r', at + 1)) {
        if (at + 1 < text.size() && text[at + 1] == '\n') continue;
        error(DiagnosticCode::Yaml, file_.locate(at),
              "this line ends with a carriage return alone (classic Mac OS line endings), "
              "which YAML does not read as a line break; save the " +
                  what + " with LF (or CRLF) line endings");
        return false;
    }
    return true;
}

bool YamlReader::report_invalid_utf8(const std::string& what) {
    size_t bad = 0;
    if (text::is_valid_utf8(file_.text(), &bad)) return true;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X",
                  static_cast<unsigned>(static_cast<unsigned char>(file_.text()[bad])));
    error(DiagnosticCode::Yaml, file_.locate(bad),
          what + " is not valid UTF-8: the byte " + byte +
              " here does not start or continue a UTF-8 character; save the file as UTF-8 (an "
              "editor's \"Save with encoding\" or iconv -f cp1251 -t utf-8)");
    return false;
}

void YamlReader::report_yaml_error(const YAML::Exception& e) {
    // yaml-cpp reports its nesting limit as "bad file" at 1:1.
    if (e.msg == "bad file") {
        error(Code::Yaml, mark_location(e.mark), "invalid YAML: nested too deeply or unreadable");
    } else if (auto tab = hints::tab_in_indentation(file_, e.mark.line + 1)) {
        error(Code::Yaml, *tab,
              "invalid YAML: a tab in the indentation; YAML indents with spaces only");
    } else if (auto opened = (e.msg == YAML::ErrorMsg::END_OF_SEQ_FLOW ||
                              e.msg == YAML::ErrorMsg::END_OF_MAP_FLOW)
                                 ? hints::unclosed_flow(file_.text(), offset_of(e.mark))
                                 : std::nullopt) {
        const bool list = file_.text()[*opened] == '[';
        error(Code::Yaml, file_.locate(*opened),
              std::string("invalid YAML: this ") + (list ? "'[' is" : "'{' is") +
                  " never closed: add its '" + (list ? "]" : "}") +
                  "' (or quote the value if the bracket is part of it)");
    } else if (auto slip = hints::yaml_layout_slip(file_, e.mark.line + 1, e.msg)) {
        error(Code::Yaml, slip->at, slip->message);
    } else {
        error(Code::Yaml, mark_location(e.mark), "invalid YAML: " + e.msg + quote_hint(e.mark));
    }
}

bool YamlReader::report_tags_and_unclosed_quotes(const YAML::Node& root, const std::string& what) {
    bool none = true;
    std::set<int> visited;  // by position in the file: an alias's node is its anchor's
    std::vector<YAML::Node> pending{root};
    while (!pending.empty()) {
        const YAML::Node n = pending.back();
        pending.pop_back();
        if (!n.IsDefined()) continue;
        // (An empty value may have no position; it has no children either.)
        if (n.Mark().pos >= 0 && !visited.insert(n.Mark().pos).second) continue;
        if (!is_supported_tag(n.Tag())) {
            none = false;
            // The mark is at the tag when the node has one written: underline the tag.
            Location where = node_location(n);
            const auto& text = file_.text();
            if (const size_t pos = n.Mark().pos >= 0 ? offset_of(n.Mark()) : text.size();
                pos < text.size() && text[pos] == '!') {
                size_t end = pos;
                while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])))
                    ++end;
                where = mark_location(n.Mark(), static_cast<int>(end - pos));
            }
            error(Code::Yaml, where,
                  "the YAML tag '" + written_tag(n.Tag()) + "' is not supported in a " + what +
                      ": values are read as they are written, "
                      "so the tag would be ignored; remove it");
        }
        if (n.IsScalar() && n.Mark().pos >= 0) {
            const auto& text = file_.text();
            const size_t pos = offset_of(n.Mark());
            if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'') &&
                !closing_quote_after(text, pos)) {
                none = false;
                error(Code::Yaml, file_.locate(pos),
                      std::string("invalid YAML: this ") + (text[pos] == '"' ? "'\"'" : "\"'\"") +
                          " is never closed, so the value would run to the end of the file: "
                          "close it where the value ends");
            }
        }
        if (n.IsSequence()) {
            for (size_t i = n.size(); i-- > 0;)
                pending.push_back(n[i]);
        } else if (n.IsMap()) {
            std::vector<YAML::Node> entries;
            for (auto it = n.begin(); it != n.end(); ++it) {
                entries.push_back(it->first);
                entries.push_back(it->second);
            }
            pending.insert(pending.end(), entries.rbegin(), entries.rend());
        }
    }
    return none;
}

// Visits a mapping's keys, reporting unknown and duplicate keys, and missing required ones.
void YamlReader::visit_map(const YAML::Node& map, const std::string& where,
                           const std::vector<std::string>& known,
                           const std::vector<std::string>& required, const Handler& handle) {
    std::set<std::string> seen;
    std::set<std::string> suggested;  // required keys an unknown key was probably meant as
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node key = it->first;  // a copy: the iterator yields a temporary pair
        if (!key.IsScalar()) {
            error(Code::Structure, node_location(key), "keys in " + where + " must be plain names");
            continue;
        }
        const std::string& name = key.Scalar();
        if (!seen.insert(name).second) {
            error(Code::DuplicateId, node_location(key),
                  "duplicate key '" + name + "' in " + where);
            continue;
        }
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            error(Code::UnknownKey, node_location(key),
                  "unknown key '" + name + "' in " + where + did_you_mean(name, known));
            suggested.insert(closest_match(name, known));
            continue;
        }
        const YAML::Node value = it->second;  // a copy, like the key: the pair is a temporary
        handle(key, value);
    }
    for (const auto& r : required) {
        if (!seen.count(r) && !suggested.count(r))
            error(Code::MissingKey, node_location(map),
                  where + " is missing the required key '" + r + "'");
    }
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
        error(Code::Structure, node_location(n),
              what + " must be a single value, not a " +
                  (n.IsMap()        ? "mapping"
                   : n.IsSequence() ? "list"
                                    : "null"));
        return std::nullopt;
    }
    // A plain scalar's hidden ": " are all the hiding's; in a quoted or block scalar, the lines
    // after its first were hidden as if they were keys and values.
    std::string value = n.Tag() == "?" ? unhide(n.Scalar()) : unhide_after_colons(n.Scalar());
    // Put there by the byte itself or by a double-quoted escape (\0, \x07, \u001b), or a C1
    // control (U+0080 to U+009F, C2 80 to C2 9F in UTF-8: \x85, \u009b, which a terminal
    // may read as an escape).
    for (size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        const auto byte = static_cast<unsigned char>(c);
        const auto next = i + 1 < value.size() ? static_cast<unsigned char>(value[i + 1]) : 0;
        const bool c1 = byte == 0xc2 && next >= 0x80 && next <= 0x9f;
        if ((byte < 0x20 && c != '\t' && c != '\n' && c != '\r') || byte == 0x7f || c1) {
            char code[8];
            std::snprintf(code, sizeof code, "U+%04X", c1 ? next : byte);
            error(Code::InvalidValue, node_location(n),
                  what + " holds the control character " + code +
                      ": a rule file's values are stored and shown as text, and may hold tabs "
                      "and line breaks but no other control character");
            break;
        }
    }
    return value;
}

// Maps each byte of a scalar's value to its byte in the file. The value is what YAML made
// of the raw text (quotes removed, escapes resolved, lines folded), so the walk matches
// value bytes against raw bytes in order and steps over what YAML dropped.
ExprText YamlReader::expression(const YAML::Node& n, const std::string& what) {
    ExprText out;
    auto text = scalar(n, what);
    if (!text) return out;
    out.text = *text;
    out.location = node_location(n);
    const std::string& raw = file_.text();
    size_t p = n.Mark().pos >= 0 ? offset_of(n.Mark()) : file_.bom();
    if (p < raw.size() && (raw[p] == '\'' || raw[p] == '"')) out.yaml_quote = raw[p];
    if (p < raw.size() && (raw[p] == '|' || raw[p] == '>')) {
        while (p < raw.size() && raw[p] != '\n')
            ++p;
    }
    // In a double-quoted scalar every backslash starts an escape, whose value bytes need not
    // appear in the raw text (\u00e9, \x41): they map to the backslash, and the walk goes on
    // after the escape instead of searching the rest of the file for them.
    const bool escapes = out.yaml_quote == '"';
    out.file_offsets.reserve(out.text.size() + 1);
    if (escapes) ++p;  // the opening quote
    for (size_t i = 0; i < out.text.size();) {
        while (p < raw.size() && raw[p] != out.text[i] && !(escapes && raw[p] == '\\'))
            ++p;
        if (escapes && p < raw.size() && raw[p] == '\\') {
            const EscapeSpan span = escape_at(raw, p);
            for (size_t k = 0; k < span.value && i < out.text.size(); ++k, ++i)
                out.file_offsets.push_back(p);
            p += span.raw;
            continue;
        }
        out.file_offsets.push_back(std::min(p, raw.size()));
        if (p < raw.size()) ++p;
        ++i;
    }
    out.file_offsets.push_back(std::min(p, raw.size()));
    if (out.text.empty()) error(Code::Structure, out.location, what + " is empty");
    return out;
}

std::string YamlReader::identifier_like(const YAML::Node& n, const std::string& what,
                                        const char* pattern_help) {
    auto s = scalar(n, what);
    if (!s) return {};
    bool ok = !s->empty();
    for (size_t i = 0; ok && i < s->size();) {
        const size_t n = (*s)[i] == '-' ? 1 : names::name_char_length(*s, i);
        ok = n > 0;
        i += n;
    }
    if (!ok) error(Code::InvalidValue, node_location(n), what + " '" + *s + "' " + pattern_help);
    return *s;
}

}  // namespace strata
