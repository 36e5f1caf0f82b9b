#include "engine/value.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/numeric.hpp"
#include "text/one_line.hpp"

namespace strata {

double as_double(const Value& v) {
    if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    return std::get<double>(v);
}

namespace {

template <typename T>
int three_way(const T& a, const T& b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

int64_t time_line(const Value& v) {
    if (const auto* d = std::get_if<Date>(&v)) return int64_t{d->days} * 86400;
    return std::get<DateTime>(v).seconds;
}

}  // namespace

int compare_values_slow(const Value& a, const Value& b) {
    if (a.index() == b.index()) {
        return std::visit(
            [&b](const auto& x) -> int {
                using T = std::decay_t<decltype(x)>;
                const T& y = std::get<T>(b);
                if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, RecordPtr>) {
                    return 0;
                } else if constexpr (std::is_same_v<T, Duration>) {
                    return three_way(std::pair(x.months, x.days), std::pair(y.months, y.days));
                } else if constexpr (std::is_same_v<T, Str>) {
                    if (x == y) return 0;
                    const int c = x.str().compare(y.str());
                    return c < 0 ? -1 : (c > 0 ? 1 : 0);
                } else {
                    return three_way(x, y);
                }
            },
            a);
    }
    const bool numeric_a = std::holds_alternative<int64_t>(a) || std::holds_alternative<double>(a);
    const bool numeric_b = std::holds_alternative<int64_t>(b) || std::holds_alternative<double>(b);
    if (numeric_a && numeric_b) {
        // One integer, one fraction: compared exactly, not through a rounded double.
        if (const auto* i = std::get_if<int64_t>(&a))
            return compare_int_double(*i, std::get<double>(b));
        return -compare_int_double(std::get<int64_t>(b), std::get<double>(a));
    }
    return three_way(time_line(a), time_line(b));
}

Value coerce(Value v, Type to) {
    if (to == Type::Number) {
        if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    } else if (to == Type::DateTime) {
        if (const auto* d = std::get_if<Date>(&v)) return to_datetime(*d);
    }
    return v;
}

namespace {

// The key cut to 64 bytes (whole characters), on one line (text::one_line), in quotes when
// `quoted`.
std::string shown_key(std::string_view key, bool quoted) {
    constexpr size_t kShown = 64;
    std::string shown(key.substr(0, kShown));
    // Not within a UTF-8 sequence: back off to the start of the last character cut.
    if (key.size() > kShown) {
        while (!shown.empty() && (static_cast<unsigned char>(shown.back()) & 0xC0) == 0x80)
            shown.pop_back();
        if (!shown.empty() && (static_cast<unsigned char>(shown.back()) & 0x80) != 0)
            shown.pop_back();
        shown = text::one_line(shown) + "…";
    } else {
        shown = text::one_line(shown);
    }
    return quoted ? "'" + shown + "'" : shown;
}

bool blank_edged(std::string_view key) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    return key.empty() || space(key.front()) || space(key.back());
}

bool reads_as_number(const std::string& key) {
    char* end = nullptr;
    (void)std::strtod(key.c_str(), &end);
    return end == key.c_str() + key.size();
}

}  // namespace

std::string key_in_message(std::string_view key) {
    return shown_key(key, blank_edged(key));
}

std::string key_value_in_message(const Value& key) {
    const auto* text = std::get_if<Str>(&key);
    if (!text) return format_value(key);
    const std::string& s = text->str();
    return shown_key(s, blank_edged(s) || reads_as_number(s));
}

std::string format_value(const Value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                return "null";
            } else if constexpr (std::is_same_v<T, bool>) {
                return x ? "true" : "false";
            } else if constexpr (std::is_same_v<T, int64_t>) {
                return std::to_string(x);
            } else if constexpr (std::is_same_v<T, double>) {
                if (x == 0) return "0";  // -0 too: a sign on nothing only puzzles a reader
                char buf[40];
                std::snprintf(buf, sizeof buf, "%.15g", x);
                // 15 digits read best, but a value they do not give back exactly (0.1 + 0.2) is
                // written in full, so that no two different values look alike.
                if (std::isfinite(x) && std::strtod(buf, nullptr) != x) {
                    const auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;
                    return std::string(buf, end);
                }
                return buf;
            } else if constexpr (std::is_same_v<T, Str>) {
                return x.str();
            } else if constexpr (std::is_same_v<T, Date>) {
                return format_date(x);
            } else if constexpr (std::is_same_v<T, DateTime>) {
                return format_datetime(x);
            } else if constexpr (std::is_same_v<T, Duration>) {
                return format_duration(x);
            } else {
                std::string out = "{";
                for (size_t i = 0; i < x->size; ++i) {
                    if (i) out += ", ";
                    out += format_value(x->fields[i]);
                }
                return out + "}";
            }
        },
        v);
}

std::optional<bool> parse_bool_spelling(std::string_view text) {
    if (text.empty() || text.size() > 6) return std::nullopt;
    // Lower-cases ASCII letters and the Cyrillic capitals А..Я (D0 90..D0 AF in UTF-8), which
    // is all the spellings need.
    char buffer[6];
    size_t n = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 'A' && c <= 'Z') {
            buffer[n++] = static_cast<char>(c + 32);
        } else if (c == 0xD0 && i + 1 < text.size()) {
            const auto next = static_cast<unsigned char>(text[++i]);
            const bool capital = next >= 0x90 && next <= 0xAF;
            buffer[n++] = capital && next >= 0xA0 ? '\xD1' : '\xD0';
            buffer[n++] = static_cast<char>(!capital       ? next
                                            : next >= 0xA0 ? next - 0x20
                                                           : next + 0x20);
        } else {
            buffer[n++] = static_cast<char>(c);
        }
    }
    const std::string_view lower(buffer, n);
    if (lower == "true" || lower == "yes" || lower == "y" || lower == "1" || lower == "да")
        return true;
    if (lower == "false" || lower == "no" || lower == "n" || lower == "0" || lower == "нет")
        return false;
    return std::nullopt;
}

std::optional<Value> parse_value(std::string_view raw, Type type) {
    if (type == Type::String || type == Type::Any || type == Type::Null) return Value{intern(raw)};
    // Every other type ignores the whitespace around a value, as SQLite's own conversions do.
    const std::string_view text = trim_spaces(raw);
    switch (type) {
        case Type::Int:
            if (auto i = parse_integer_text(text)) return Value{*i};
            return std::nullopt;
        case Type::Number:
            if (auto d = parse_number_text(text)) return Value{*d};
            return std::nullopt;
        case Type::Bool:
            if (auto b = parse_bool_spelling(text)) return Value{*b};
            return std::nullopt;
        case Type::Date:
            // A date, or a date and time: the day it falls on (a fact's `time` is often one).
            if (auto d = parse_date(text)) return Value{*d};
            if (auto t = parse_datetime(text)) return Value{to_date(*t)};
            return std::nullopt;
        case Type::DateTime:
            if (auto t = parse_datetime(text)) return Value{*t};
            if (auto d = parse_date(text)) return Value{to_datetime(*d)};
            return std::nullopt;
        case Type::Duration:
            if (auto d = parse_duration(text)) return Value{*d};
            return std::nullopt;
        default:
            return std::nullopt;
    }
}

}  // namespace strata
