#include "dsl/diagnostics.hpp"

#include <algorithm>
#include <cstdio>

#include "dsl/names.hpp"

namespace strata {

const char* severity_name(Severity s) {
    switch (s) {
        case Severity::Error:
            return "error";
        case Severity::Warning:
            return "warning";
        case Severity::Note:
            return "note";
    }
    return "error";
}

const char* diagnostic_code_name(DiagnosticCode c) {
    switch (c) {
        case DiagnosticCode::Other:
            return "other";
        case DiagnosticCode::File:
            return "file";
        case DiagnosticCode::Yaml:
            return "yaml";
        case DiagnosticCode::Structure:
            return "structure";
        case DiagnosticCode::UnknownKey:
            return "unknown-key";
        case DiagnosticCode::MissingKey:
            return "missing-key";
        case DiagnosticCode::InvalidValue:
            return "invalid-value";
        case DiagnosticCode::DuplicateId:
            return "duplicate-id";
        case DiagnosticCode::Syntax:
            return "syntax";
        case DiagnosticCode::UnknownName:
            return "unknown-name";
        case DiagnosticCode::NotInDatabase:
            return "not-in-database";
        case DiagnosticCode::Scope:
            return "scope";
        case DiagnosticCode::TypeMismatch:
            return "type-mismatch";
        case DiagnosticCode::BadArgument:
            return "bad-argument";
        case DiagnosticCode::Cycle:
            return "cycle";
        case DiagnosticCode::Limit:
            return "limit";
        case DiagnosticCode::NullComparison:
            return "null-comparison";
        case DiagnosticCode::UnusedLet:
            return "unused-let";
        case DiagnosticCode::TestFile:
            return "test-file";
        case DiagnosticCode::FixtureData:
            return "fixture-data";
        case DiagnosticCode::SegmentCount:
            return "segment-count";
        case DiagnosticCode::SameCondition:
            return "same-condition";
        case DiagnosticCode::AsOfFixed:
            return "as-of-fixed";
        case DiagnosticCode::PartitionGap:
            return "partition-gap";
        case DiagnosticCode::PartitionOverlap:
            return "partition-overlap";
        case DiagnosticCode::NotProven:
            return "not-proven";
        case DiagnosticCode::ShadowedSegment:
            return "shadowed-segment";
        case DiagnosticCode::ImpossibleTactical:
            return "impossible-tactical";
        case DiagnosticCode::CompleteWithoutOtherwise:
            return "complete-without-otherwise";
        case DiagnosticCode::HiddenColumn:
            return "hidden-column";
    }
    return "other";
}

bool Diagnostics::add(Severity severity, std::string file, Location location, std::string message,
                      DiagnosticCode code) {
    std::string identity =
        std::to_string(static_cast<int>(severity)) + ' ' + std::to_string(static_cast<int>(code)) +
        ' ' + std::to_string(location.line) + ':' + std::to_string(location.col) + '+' +
        std::to_string(location.length) + ' ' + std::to_string(file.size()) + ' ' + file + message;
    if (!added_.insert(std::move(identity)).second) return false;
    items_.push_back(Diagnostic{severity, std::move(file), location, std::move(message), code});
    return true;
}

std::string Diagnostics::did_you_mean(std::string_view name,
                                      const std::vector<std::string>& candidates) {
    if (suggestions_ >= kMaxSuggestions) return {};
    ++suggestions_;
    return strata::did_you_mean(name, candidates);
}

size_t Diagnostics::error_count() const {
    return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
        return d.severity == Severity::Error;
    }));
}

size_t Diagnostics::warning_count() const {
    return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
        return d.severity == Severity::Warning;
    }));
}

bool Diagnostics::only_schema_errors() const {
    bool any = false;
    for (const auto& d : items_) {
        if (d.severity != Severity::Error) continue;
        if (!d.schema_mismatch) return false;
        any = true;
    }
    return any;
}

void Diagnostics::promote_warnings() {
    for (auto& d : items_) {
        if (d.severity == Severity::Warning) d.severity = Severity::Error;
    }
}

void Diagnostics::sort_by_location() {
    std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        if (a.file != b.file) return false;
        return std::pair(a.location.line, a.location.col) <
               std::pair(b.location.line, b.location.col);
    });
}

namespace {

// A display-safe copy of a source line: control bytes and invalid UTF-8 become '?'.
// `columns_before` receives the display width of the first `prefix_bytes` bytes.
std::string printable(std::string_view s, size_t prefix_bytes, size_t* columns_before) {
    std::string out;
    size_t columns = 0;
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_sequence_length(s, i);
        const auto c = static_cast<unsigned char>(s[i]);
        if (i < prefix_bytes) ++columns;
        if (n == 1 && (c >= 0x20 || c == '\t') && c != 0x7F) {
            out += static_cast<char>(c);
            ++i;
        } else if (n > 1) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += '?';
            ++i;
        }
    }
    if (columns_before) *columns_before = columns;
    return out;
}

}  // namespace

void render_text(std::ostream& out, const Diagnostic& d, const SourceFile* source) {
    out << d.file;
    if (d.location.valid()) {
        const Location at = source ? source->shown(d.location) : d.location;
        out << ':' << at.line << ':' << at.col;
    }
    out << ": " << severity_name(d.severity) << ": " << d.message << '\n';
    if (!source || !d.location.valid()) return;
    std::string_view line = source->line(d.location.line);
    size_t col = static_cast<size_t>(d.location.col - 1);
    if (col > line.size()) col = line.size();
    // Show a window of a very long line around the column.
    constexpr size_t kBefore = 60, kAfter = 100;
    std::string lead, tail;
    if (line.size() > kBefore + kAfter) {
        size_t begin = col > kBefore ? col - kBefore : 0;
        size_t end = std::min(line.size(), col + kAfter);
        while (begin > 0 && (static_cast<unsigned char>(line[begin]) & 0xC0) == 0x80)
            --begin;
        while (end < line.size() && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80)
            ++end;
        if (begin > 0) lead = "...";
        if (end < line.size()) tail = "...";
        line = line.substr(begin, end - begin);
        col -= begin;
    }
    size_t caret_column = 0;
    const std::string shown = printable(line, col, &caret_column);
    char gutter[16];
    std::snprintf(gutter, sizeof gutter, "%5d", d.location.line);
    out << gutter << " | " << lead << shown << tail << '\n';
    out << "      | " << std::string(lead.size(), ' ');
    // Keep tabs so the caret lines up under tab-indented text.
    size_t shown_columns = 0;
    for (size_t i = 0; i < shown.size() && shown_columns < caret_column;) {
        const size_t n = std::max<size_t>(1, utf8_sequence_length(shown, i));
        out << (shown[i] == '\t' ? '\t' : ' ');
        i += n;
        ++shown_columns;
    }
    // The location's length counts bytes; the underline covers the characters they make.
    const size_t room = line.size() > col ? line.size() - col : 1;
    const size_t underline_bytes = std::min<size_t>(static_cast<size_t>(d.location.length), room);
    const size_t underline = std::min<size_t>(
        std::max<size_t>(
            1, names::char_count(line.substr(std::min(col, line.size()), underline_bytes))),
        200);
    out << '^' << std::string(underline > 1 ? underline - 1 : 0, '~') << '\n';
}

void write_json_string(std::ostream& out, std::string_view s) {
    out << '"';
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t n = utf8_sequence_length(s, i);
        if (n == 0) {
            out << "\\ufffd";
            ++i;
            continue;
        }
        if (n > 1) {
            out << s.substr(i, n);
            i += n;
            continue;
        }
        switch (c) {
            case '"':
                out << "\\\"";
                break;
            case '\\':
                out << "\\\\";
                break;
            case '\n':
                out << "\\n";
                break;
            case '\r':
                out << "\\r";
                break;
            case '\t':
                out << "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out << buf;
                } else {
                    out << static_cast<char>(c);
                }
        }
        ++i;
    }
    out << '"';
}

void render_json(std::ostream& out, const Diagnostic& d, const SourceFile* source) {
    out << "{\"file\":";
    write_json_string(out, d.file);
    if (d.location.valid()) {
        const Location at = source ? source->shown(d.location) : d.location;
        out << ",\"line\":" << at.line << ",\"col\":" << at.col << ",\"length\":" << at.length;
    } else {
        out << ",\"line\":null,\"col\":null,\"length\":null";
    }
    out << ",\"severity\":\"" << severity_name(d.severity) << "\",\"code\":\""
        << diagnostic_code_name(d.code) << "\",\"message\":";
    write_json_string(out, d.message);
    out << ",\"source_line\":";
    if (source && d.location.valid()) {
        std::string_view line = source->line(d.location.line);
        if (line.size() > 1000) line = line.substr(0, 1000);
        write_json_string(out, line);
    } else {
        out << "null";
    }
    out << '}';
}

namespace {

// The characters of s, each as the bytes that encode it.
std::vector<std::string_view> characters(std::string_view s) {
    std::vector<std::string_view> out;
    for (size_t i = 0; i < s.size();) {
        const size_t n = names::char_length(s, i);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

}  // namespace

size_t edit_distance(std::string_view a_text, std::string_view b_text) {
    const auto a = characters(a_text), b = characters(b_text);
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t substitution = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitution});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string closest_match(std::string_view name, const std::vector<std::string>& candidates) {
    // The same name in other letter case first, however long (`ORDERS` for `orders`: SQLite
    // takes them for one table, and strata does not).
    auto same_but_case = [&name](const std::string& c) {
        return c.size() == name.size() &&
               std::equal(c.begin(), c.end(), name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) ==
                          std::tolower(static_cast<unsigned char>(b));
               });
    };
    for (const auto& c : candidates)
        if (c != name && same_but_case(c)) return c;
    const size_t length = names::char_count(name);
    if (length > 64) return {};
    const size_t limit = length <= 3 ? 1 : length <= 6 ? 2 : 3;
    std::string best;
    size_t best_distance = limit + 1;
    for (const auto& c : candidates) {
        const size_t dist = edit_distance(name, c);
        if (dist < best_distance) {
            best_distance = dist;
            best = c;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
    const std::string best = closest_match(name, candidates);
    return best.empty() ? std::string{} : " (did you mean '" + best + "'?)";
}

}  // namespace strata
