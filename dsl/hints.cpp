#include "dsl/hints.hpp"

#include <cctype>

#include "dsl/calendar.hpp"
#include "dsl/functions.hpp"
#include "dsl/parser.hpp"

namespace strata::hints {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// The text with every run of whitespace as one space, and no space at either end.
std::string squeeze(std::string_view s) {
    std::string out;
    bool space = false;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

bool one_of(std::string_view word, std::initializer_list<std::string_view> words) {
    for (auto w : words) {
        if (w == word) return true;
    }
    return false;
}

// Names that mean "today" in SQL and spreadsheets.
bool means_today(std::string_view lowered) {
    return one_of(lowered, {"today", "now", "current_date", "current_timestamp", "getdate",
                            "sysdate", "curdate"});
}

// `2026-1-5` or `2026-01-5`: a year of four digits, then a month and a day of one or two
// digits. Returns the date written YYYY-MM-DD when it is one, else an empty string (still
// with `matched` set when the shape fits).
std::string padded_date(std::string_view s, bool& matched) {
    matched = false;
    auto digits = [&s](size_t& i, size_t min, size_t max) {
        const size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < max)
            ++i;
        return i - start >= min &&
               (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i])));
    };
    size_t i = 0;
    const size_t y = i;
    if (!digits(i, 4, 4) || i >= s.size() || s[i] != '-') return {};
    const size_t m = ++i;
    if (!digits(i, 1, 2) || i >= s.size() || s[i] != '-') return {};
    const size_t m_end = i;
    const size_t d = ++i;
    if (!digits(i, 1, 2) || i != s.size()) return {};
    matched = true;
    auto two = [](std::string_view part) {
        return part.size() == 1 ? "0" + std::string(part) : std::string(part);
    };
    const std::string date = std::string(s.substr(y, 4)) + "-" + two(s.substr(m, m_end - m)) + "-" +
                             two(s.substr(d, s.size() - d));
    return parse_date(date) ? date : std::string{};
}

}  // namespace

std::optional<TokenHint> for_token(std::string_view text, size_t offset) {
    if (offset >= text.size()) return std::nullopt;
    const std::string_view rest = text.substr(offset);
    if (rest.substr(0, 2) == "&&") return TokenHint{"; write `and`", 2};
    if (rest.substr(0, 2) == "||") return TokenHint{"; write `or`", 2};
    if (rest[0] == '&') return TokenHint{"; write `and`", 1};
    if (rest[0] == '|') return TokenHint{"; write `or`", 1};
    if (rest[0] == '!' && rest.substr(0, 2) != "!=") return TokenHint{"; write `not`", 1};
    size_t end = 0;
    while (end < rest.size() && is_word_char(rest[end]))
        ++end;
    if (end == 0) return std::nullopt;
    const std::string_view word = rest.substr(0, end);
    const std::string lowered = lower(word);
    if (lowered != word && is_keyword(lowered)) return TokenHint{"; write `" + lowered + "`", end};
    return std::nullopt;
}

namespace {

bool digit_at(std::string_view text, size_t i) {
    return i < text.size() && text[i] >= '0' && text[i] <= '9';
}

// How many bytes of `text` from `i` follow `shape`, where '9' is a digit and any other
// character itself; 0 when they do not.
size_t matches_shape(std::string_view text, size_t i, std::string_view shape) {
    for (size_t k = 0; k < shape.size(); ++k) {
        if (shape[k] == '9' ? !digit_at(text, i + k)
                            : i + k >= text.size() || text[i + k] != shape[k])
            return 0;
    }
    return shape.size();
}

}  // namespace

std::optional<LiteralHint> for_literal(std::string_view text, size_t offset) {
    // A datetime that starts before the error (the parser read `2024-02-29T10…` as 2024 - 02
    // - 29T10), or at it.
    const size_t from = offset > 24 ? offset - 24 : 0;
    for (size_t start = from; start <= offset && start < text.size(); ++start) {
        if (start > 0 && (digit_at(text, start - 1) || is_word_char(text[start - 1]))) continue;
        size_t end = start + matches_shape(text, start, "9999-99-99T99:99");
        if (end == start) continue;
        end += matches_shape(text, end, ":99");
        const size_t literal_end = end;
        if (end < text.size() && text[end] == '.') {
            ++end;
            while (digit_at(text, end))
                ++end;
        }
        if (end < text.size() && (text[end] == 'Z' || text[end] == 'z')) {
            ++end;
        } else if (end < text.size() && (text[end] == '+' || text[end] == '-') &&
                   matches_shape(text, end + 1, "99")) {
            end += 3;
            end += matches_shape(text, end, ":99") ? 3 : matches_shape(text, end, "99");
        }
        if (end == literal_end || end < offset) continue;
        const bool offset_given = end > literal_end && text[literal_end] != '.' &&
                                  text[literal_end] != 'Z' && text[literal_end] != 'z';
        std::string hint =
            "; a datetime is written YYYY-MM-DDTHH:MM[:SS], without a time zone or fractions of a "
            "second, and compares with the data's datetimes as they are written";
        // Dropping a Z leaves the same time; dropping an offset would shift it.
        if (offset_given)
            hint += ": give the time as the data writes it";
        else
            hint += ": `" + std::string(text.substr(start, literal_end - start)) + "`";
        return LiteralHint{hint, start, end - start};
    }
    // A duration with a fraction: 0.5d, 1.5mo.
    size_t end = offset;
    while (digit_at(text, end))
        ++end;
    if (end == offset || end >= text.size() || text[end] != '.' || !digit_at(text, end + 1))
        return std::nullopt;
    ++end;
    while (digit_at(text, end))
        ++end;
    const std::string_view rest = text.substr(end);
    size_t unit = rest.starts_with("mo") ? 2
                  : !rest.empty() && std::string_view("dwy").find(rest[0]) != std::string_view::npos
                      ? 1
                      : 0;
    if (unit == 0 || (end + unit < text.size() && is_word_char(text[end + unit])))
        return std::nullopt;
    return LiteralHint{
        "; a duration is a whole number of days, weeks, months or years (7d, 2w, "
        "1mo, 1y)",
        offset, end + unit - offset};
}

std::string chained_comparison(std::string_view first, std::string_view op1,
                               std::string_view middle, std::string_view op2,
                               std::string_view last) {
    const std::string a = squeeze(first), x = squeeze(middle), b = squeeze(last);
    if (a.size() + x.size() + b.size() > 120) {  // too long to repeat: say it in words
        return "comparisons do not chain: write two comparisons joined by `and`, or `x between a "
               "and b` when both ends are included";
    }
    // `between` includes both ends, so it is the same only for <= … <= (or >= … >=).
    auto rising = [](std::string_view op) { return op == "<="; };
    auto falling = [](std::string_view op) { return op == ">="; };
    const std::string pair = "`" + a + " " + std::string(op1) + " " + x + " and " + x + " " +
                             std::string(op2) + " " + b + "`";
    std::string range;
    if (rising(op1) && rising(op2)) range = "`" + x + " between " + a + " and " + b + "`";
    if (falling(op1) && falling(op2)) range = "`" + x + " between " + b + " and " + a + "`";
    if (range.empty()) return "comparisons do not chain: write two comparisons, " + pair;
    return "comparisons do not chain: write " + range + ", or two comparisons: " + pair;
}

std::string for_unknown_function(const ast::Call& call, std::string_view expr_text) {
    const std::string& name = call.name;
    const size_t arg_count = call.args.size();
    const std::string lowered = lower(name);
    if (lowered != name && find_function(lowered)) return "; write `" + lowered + "`";
    if (one_of(lowered, {"datediff", "date_diff", "datedif"}))
        return "; use `days_between(from, to)`, the days from `from` to `to`";
    if (one_of(lowered, {"len", "char_length", "character_length", "strlen"}))
        return "; use `length`";
    if (means_today(lowered))
        return "; use `as_of`, the run's reference date (written without parentheses)";
    if (lowered == "isnull") {
        if (arg_count == 2) return "; use `coalesce` to replace a null";
        std::string x = "x";
        if (arg_count == 1 && call.args[0].value->span.end <= expr_text.size()) {
            const ast::Span s = call.args[0].value->span;
            const std::string written = squeeze(expr_text.substr(s.begin, s.end - s.begin));
            if (!written.empty() && written.size() <= 40) x = written;
        }
        return "; write `" + x + " is null`";
    }
    if (one_of(lowered, {"ifnull", "nvl", "nz"})) return "; use `coalesce`";
    // Other tools' names for the aggregates, too far from these for did-you-mean.
    if (one_of(lowered, {"cnt", "n", "num", "number_of"})) return "; use `count`";
    if (one_of(lowered, {"mean", "average"})) return "; use `avg`";
    if (one_of(lowered, {"total"})) return "; use `sum`";
    if (one_of(lowered, {"countd", "ndistinct", "distinct_count", "uniq", "uniqexact", "nunique"}))
        return "; use `count_distinct`";
    if (lowered == "iif") return "; use `if(condition, then, else)`";
    return {};
}

std::string for_unknown_field(std::string_view name, const ExprText& text) {
    const std::string lowered = lower(name);
    if (means_today(lowered)) return "; use `as_of`, the run's reference date";
    if (lowered != name && is_keyword(lowered)) return "; write `" + lowered + "`";
    if (text.yaml_quote && squeeze(text.text) == name) {
        const std::string n(name);
        return "; to write the text '" + n + "', quote the whole expression: `\"'" + n + "'\"`";
    }
    return {};
}

std::string for_date_operand(const ast::Expr& operand, std::string_view expr_text) {
    bool matched = false;
    if (const auto* lit = std::get_if<ast::Literal>(&operand.node)) {
        const auto* s = std::get_if<std::string>(&lit->value);
        if (!s) return {};
        if (parse_date(*s) || parse_datetime(*s))
            return "; drop the quotes: dates are written bare, like `" + *s + "`";
        const std::string date = padded_date(*s, matched);
        if (!matched) return {};
        return "; drop the quotes: dates are written bare, as YYYY-MM-DD" +
               (date.empty() ? std::string{} : ": `" + date + "`");
    }
    if (operand.span.begin >= expr_text.size()) return {};
    const std::string written =
        squeeze(expr_text.substr(operand.span.begin, operand.span.end - operand.span.begin));
    const std::string date = padded_date(written, matched);
    if (!matched) return {};
    return "; dates are written YYYY-MM-DD" + (date.empty() ? std::string{} : ": `" + date + "`");
}

std::optional<Location> tab_in_indentation(const SourceFile& file, int line) {
    for (int l = line; l >= 1 && l >= line - 2; --l) {
        const std::string_view text = file.line(l);
        for (size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '\t') return Location{l, static_cast<int>(i + 1), 1};
            if (text[i] != ' ') break;
        }
    }
    return std::nullopt;
}

namespace {

// A YAML line's indentation, its content after it, and whether it holds anything (a comment
// or a blank line does not).
struct YamlLine {
    size_t indent = 0;
    std::string_view content;
    bool holds() const { return !content.empty() && content.front() != '#'; }
};

YamlLine yaml_line(std::string_view text) {
    YamlLine l;
    while (l.indent < text.size() && text[l.indent] == ' ')
        ++l.indent;
    l.content = text.substr(l.indent);
    return l;
}

// The key a line starts with (after `- ` for a list item), and its column (0-based).
std::pair<std::string_view, size_t> line_key(const YamlLine& l) {
    size_t at = 0;
    while (at + 1 < l.content.size() && l.content[at] == '-' && l.content[at + 1] == ' ') {
        at += 2;
        while (at < l.content.size() && l.content[at] == ' ')
            ++at;
    }
    const std::string_view rest = l.content.substr(at);
    const size_t colon = rest.find(':');
    const std::string_view key = rest.substr(0, colon == std::string_view::npos ? 0 : colon);
    return {key, l.indent + at};
}

}  // namespace

std::optional<YamlSlip> yaml_layout_slip(const SourceFile& file, int line,
                                         const std::string& yaml_message) {
    const YamlLine here = yaml_line(file.line(line));
    int above_line = line - 1;
    while (above_line >= 1 && !yaml_line(file.line(above_line)).holds())
        --above_line;
    if (above_line < 1) return std::nullopt;
    const YamlLine above = yaml_line(file.line(above_line));
    const int here_col = static_cast<int>(here.indent) + 1;
    if (yaml_message == "illegal map value") {
        // `general` alone on a line, its mapping below: yaml-cpp stops at the next ':'. Only
        // a line where a key could stand: not deeper than the line before it (a continuation
        // of a long value is), and less deep than the line after it.
        int before_line = above_line - 1;
        while (before_line >= 1 && !yaml_line(file.line(before_line)).holds())
            --before_line;
        const bool continues_a_value =
            before_line >= 1 && yaml_line(file.line(before_line)).indent < above.indent;
        const std::string_view a = above.content;
        if (!continues_a_value && above.indent < here.indent &&
            a.find(':') == std::string_view::npos && a.front() != '-' && a.front() != '[' &&
            a.front() != '{' && a.front() != '"' && a.front() != '\'')
            return YamlSlip{Location{above_line, static_cast<int>(above.indent) + 1,
                                     static_cast<int>(a.size())},
                            "invalid YAML: '" + std::string(a) + "' on line " +
                                std::to_string(above_line) + " has no ':' after it; write `" +
                                std::string(a) + ":`"};
        return std::nullopt;
    }
    if (yaml_message != "end of map not found" && yaml_message != "end of sequence not found")
        return std::nullopt;
    if (!here.holds()) return std::nullopt;
    const std::string_view c = here.content;
    if (c.size() > 1 && c[0] == '-' && c[1] != ' ' && c[1] != '-') {
        const size_t end = c.find_first_of(": ");
        const std::string word(c.substr(0, end == std::string_view::npos ? c.size() : end));
        return YamlSlip{Location{line, here_col, 1},
                        "invalid YAML: a list item needs a space after its '-': write `- " +
                            word.substr(1) + "`, not `" + word + "`"};
    }
    const auto [key, key_col] = line_key(here);
    const auto [above_key, above_col] = line_key(above);
    if (key.empty() || above_key.empty() || key_col == above_col) return std::nullopt;
    // Deeper than the key above, which has a value on its line: no mapping can start there.
    const bool deeper_under_value =
        key_col > above_col && above.content.size() > above_key.size() + 1;
    if (key_col > above_col && !deeper_under_value) return std::nullopt;
    return YamlSlip{Location{line, here_col, static_cast<int>(key.size())},
                    "invalid YAML: '" + std::string(key) + "' starts at column " +
                        std::to_string(key_col + 1) + ", but '" + std::string(above_key) +
                        "' on line " + std::to_string(above_line) + " at column " +
                        std::to_string(above_col + 1) +
                        "; the keys of one mapping start in the same column"};
}

std::optional<size_t> unclosed_flow(std::string_view all, size_t end) {
    const std::string_view text = all.substr(0, std::min(end, all.size()));
    std::vector<size_t> open;  // offsets of the flow brackets still open
    bool node_start = true;    // whether a node may begin here (after indentation, ': ', '- ', …)
    auto space_at = [&](size_t i) {
        return i >= text.size() || text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
               text[i] == '\r';
    };
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            if (open.empty()) node_start = true;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') continue;
        if (c == '#' && (i == 0 || space_at(i - 1))) {  // a comment, to the line's end
            while (i + 1 < text.size() && text[i + 1] != '\n')
                ++i;
            continue;
        }
        if (node_start && (c == '\'' || c == '"')) {  // a quoted value
            for (++i; i < text.size(); ++i) {
                if (c == '"' && text[i] == '\\') {
                    ++i;
                } else if (text[i] == c) {
                    if (c == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
                        ++i;  // '' is a quote inside single quotes
                        continue;
                    }
                    break;
                }
            }
            node_start = false;
            continue;
        }
        if (node_start && (c == '[' || c == '{')) {
            open.push_back(i);
            continue;  // a node may begin right after it
        }
        if (!open.empty() && (c == ']' || c == '}')) {
            open.pop_back();
            node_start = false;
            continue;
        }
        if (!open.empty() && c == ',') {
            node_start = true;
            continue;
        }
        if ((c == ':' || c == '-' || c == '?') && space_at(i + 1) && (c == ':' || node_start)) {
            node_start = true;
            continue;
        }
        node_start = false;
    }
    if (open.empty()) return std::nullopt;
    return open.back();
}

}  // namespace strata::hints
