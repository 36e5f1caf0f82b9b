#include "import/cells.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

#include "dsl/calendar.hpp"
#include "engine/value.hpp"

namespace strata::import {

const char* type_label(ColumnType type) {
    switch (type) {
        case ColumnType::Boolean:
            return "boolean";
        case ColumnType::Integer:
            return "integer";
        case ColumnType::Number:
            return "number";
        case ColumnType::Date:
            return "date";
        case ColumnType::DateTime:
            return "datetime";
        case ColumnType::Text:
            return "text";
    }
    return "text";
}

const char* declared_type(ColumnType type) {
    switch (type) {
        case ColumnType::Boolean:
            return "BOOLEAN";
        case ColumnType::Integer:
            return "INTEGER";
        case ColumnType::Number:
            return "REAL";
        case ColumnType::Date:
            return "DATE";
        case ColumnType::DateTime:
            return "DATETIME";
        case ColumnType::Text:
            return "TEXT";
    }
    return "TEXT";
}

std::optional<ColumnType> type_from_label(std::string_view name) {
    if (name == "boolean" || name == "bool") return ColumnType::Boolean;
    if (name == "integer" || name == "int") return ColumnType::Integer;
    if (name == "number" || name == "real") return ColumnType::Number;
    if (name == "date") return ColumnType::Date;
    if (name == "datetime") return ColumnType::DateTime;
    if (name == "text" || name == "string") return ColumnType::Text;
    return std::nullopt;
}

const char* date_order_label(DateOrder order) {
    switch (order) {
        case DateOrder::YearFirst:
            return "YYYY-MM-DD";
        case DateOrder::DayFirst:
            return "DD.MM.YYYY";
        case DateOrder::MonthFirst:
            return "MM/DD/YYYY";
    }
    return "YYYY-MM-DD";
}

namespace {

// The length of the space at `s[i]`: an ASCII space or tab, a no-break space (C2 A0) or a
// narrow no-break space (E2 80 AF); 0 when there is none.
size_t space_at(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t') return 1;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0) return 2;
    if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        static_cast<unsigned char>(s[i + 2]) == 0xAF)
        return 3;
    return 0;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// A number cell taken apart: the integer digits without separators, the fraction's digits,
// and which mark came before the fraction (0 for none).
struct NumberParts {
    bool negative = false;
    char digits[20] = {};
    size_t digit_count = 0;
    std::string_view fraction;
    char mark = 0;
    // Commas grouped the integer's thousands (1,234,567 or 1,500.25): a number only where the
    // decimal mark is '.'.
    bool comma_groups = false;
    // One comma or point before the last three digits of 1 to 3 more, and nothing else (1,500
    // or 1.500): a fraction where the decimal mark is that one, thousands where it is the other.
    bool mark_ambiguous = false;
};

// Whether s[i] is ',' followed by exactly three digits and then the end, another such group
// or a '.' (a thousands separator in 1,234,567.5).
bool comma_group_at(std::string_view s, size_t i) {
    if (i + 3 >= s.size() || s[i] != ',') return false;
    for (size_t k = 1; k <= 3; ++k)
        if (!is_digit(s[i + k])) return false;
    return i + 4 == s.size() || s[i + 4] == ',' || s[i + 4] == '.';
}

std::optional<NumberParts> split_number(std::string_view s) {
    NumberParts parts;
    size_t i = 0;
    if (i < s.size() && s[i] == '-') {
        parts.negative = true;
        ++i;
    }
    size_t group = 0;  // digits in the current group
    bool grouped = false;
    bool first_group = true;
    while (i < s.size()) {
        if (is_digit(s[i])) {
            if (parts.digit_count == 18) return std::nullopt;
            parts.digits[parts.digit_count++] = s[i];
            ++group;
            ++i;
            continue;
        }
        // A comma before three digits and more groups or a '.' fraction groups thousands.
        if (s[i] == ',' && !grouped && comma_group_at(s, i) && i + 4 < s.size() && group >= 1 &&
            group <= 3) {
            size_t j = i;
            while (j < s.size() && s[j] == ',' && comma_group_at(s, j)) {
                for (size_t k = 1; k <= 3; ++k) {
                    if (parts.digit_count == 18) return std::nullopt;
                    parts.digits[parts.digit_count++] = s[j + k];
                }
                j += 4;
            }
            if (j < s.size() && s[j] != '.') return std::nullopt;
            parts.comma_groups = true;
            group = 3;
            i = j;
            break;
        }
        const size_t space = space_at(s, i);
        if (space == 0) break;
        // A thousands separator: the group before it has 1-3 digits (the first) or exactly 3.
        if (group == 0 || group > 3 || (!first_group && group != 3)) return std::nullopt;
        if (i + space >= s.size() || !is_digit(s[i + space])) return std::nullopt;
        grouped = true;
        first_group = false;
        group = 0;
        i += space;
    }
    if (parts.digit_count == 0) return std::nullopt;
    if (grouped && group != 3) return std::nullopt;
    // 007 is a code, not 7; 0 and 0,5 are numbers.
    if (parts.digits[0] == '0' && parts.digit_count > 1) return std::nullopt;
    if (i < s.size()) {
        if (s[i] != '.' && s[i] != ',') return std::nullopt;
        parts.mark = s[i];
        parts.fraction = s.substr(i + 1);
        if (parts.fraction.empty() || parts.fraction.size() > 30) return std::nullopt;
        for (char c : parts.fraction)
            if (!is_digit(c)) return std::nullopt;
        if (parts.mark == ',' && parts.comma_groups) return std::nullopt;
        parts.mark_ambiguous = !grouped && parts.fraction.size() == 3 && parts.digit_count <= 3 &&
                               parts.digits[0] != '0';
    }
    return parts;
}

// Whether a REAL holds the number exactly as written, as SQLite prints it back: at most 15
// significant digits, or a whole number no larger than 2^53. Beyond that a REAL would round
// it silently (9007199254740993 becomes 9007199254740992), so such a cell is no number.
bool exact_as_real(const NumberParts& parts) {
    std::string digits(parts.digits, parts.digit_count);
    digits.append(parts.fraction);
    const size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) return true;  // zero
    const size_t last = digits.find_last_not_of('0');
    if (last - first + 1 <= 15) return true;
    const bool whole =
        parts.mark == 0 || parts.fraction.find_first_not_of('0') == std::string::npos;
    if (!whole) return false;
    uint64_t value = 0;
    for (size_t k = 0; k < parts.digit_count; ++k)
        value = value * 10 + static_cast<uint64_t>(parts.digits[k] - '0');
    return value <= (uint64_t{1} << 53);
}

// A plain decimal number longer than split_number reads (more than 18 digits before the mark,
// or more than 30 after it): an optional '-', digits without a leading zero, and an optional
// '.' or ',' fraction. No REAL keeps it exactly.
bool long_plain_number(std::string_view s) {
    size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
    const size_t start = i;
    while (i < s.size() && is_digit(s[i]))
        ++i;
    const size_t whole = i - start;
    if (whole == 0 || (s[start] == '0' && whole > 1)) return false;
    size_t fraction = 0;
    if (i < s.size()) {
        if (s[i] != '.' && s[i] != ',') return false;
        for (++i; i < s.size() && is_digit(s[i]); ++i)
            ++fraction;
        if (fraction == 0 || i != s.size()) return false;
    }
    return whole > 18 || fraction > 30;
}

}  // namespace

std::string_view trim_cell(std::string_view cell) {
    while (size_t n = space_at(cell, 0))
        cell.remove_prefix(n);
    while (!cell.empty()) {
        if (cell.back() == ' ' || cell.back() == '\t') {
            cell.remove_suffix(1);
        } else if (cell.size() >= 2 && cell.substr(cell.size() - 2) == "\xC2\xA0") {
            cell.remove_suffix(2);
        } else if (cell.size() >= 3 && cell.substr(cell.size() - 3) == "\xE2\x80\xAF") {
            cell.remove_suffix(3);
        } else {
            break;
        }
    }
    return cell;
}

uint32_t number_shape(std::string_view s) {
    uint32_t shape = 0;
    if (s == "0" || s == "1")
        shape |= kBooleanDigit;
    else if (s.size() <= 6 && parse_bool_spelling(s))
        shape |= kBooleanWord;
    if (s.empty() || (s[0] != '-' && !is_digit(s[0]))) return shape;
    auto parts = split_number(s);
    if (!parts) return long_plain_number(s) ? shape | kBeyondReal : shape;
    if (!exact_as_real(*parts))  // an integer column may still hold it exactly
        return shape | kBeyondReal |
               (parts->mark == 0 && !parts->comma_groups ? uint32_t{kWholeNumber} : 0u);
    if (parts->comma_groups) return shape | kDotFraction | kCommaThousands;
    if (parts->mark_ambiguous) return shape | kDotFraction | kCommaFraction | kMarkAmbiguous;
    if (parts->mark == 0) return shape | kWholeNumber | kDotFraction | kCommaFraction;
    return shape | (parts->mark == '.' ? kDotFraction : kCommaFraction);
}

std::optional<int64_t> parse_integer_cell(std::string_view s) {
    auto parts = split_number(s);
    if (!parts) {
        // 19 digits, ungrouped, that a 64-bit integer holds (split_number stops at 18, the
        // most a column is taken for numbers by).
        const size_t sign = !s.empty() && s[0] == '-' ? 1 : 0;
        if (s.size() != sign + 19 || s[sign] == '0' ||
            !std::all_of(s.begin() + static_cast<std::ptrdiff_t>(sign), s.end(), is_digit))
            return std::nullopt;
        int64_t value = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
        return value;
    }
    if (parts->mark != 0) return std::nullopt;
    int64_t value = 0;
    std::from_chars(parts->digits, parts->digits + parts->digit_count, value);
    return parts->negative ? -value : value;
}

std::optional<double> parse_number_cell(std::string_view s, DecimalMark mark) {
    auto parts = split_number(s);
    if (!parts || !exact_as_real(*parts)) return std::nullopt;
    if (parts->comma_groups && mark != DecimalMark::Dot) return std::nullopt;
    // 1,500 with the decimal mark '.', or 1.500 with ',': the other mark grouped thousands.
    const bool thousands =
        parts->mark_ambiguous && parts->mark != (mark == DecimalMark::Dot ? '.' : ',');
    if (parts->mark != 0 && !thousands && parts->mark != (mark == DecimalMark::Dot ? '.' : ',')) {
        return std::nullopt;
    }
    char text[64];
    size_t n = 0;
    if (parts->negative) text[n++] = '-';
    std::memcpy(text + n, parts->digits, parts->digit_count);
    n += parts->digit_count;
    if (thousands) {
        std::memcpy(text + n, parts->fraction.data(), parts->fraction.size());
        n += parts->fraction.size();
    } else if (!parts->fraction.empty()) {
        text[n++] = '.';
        std::memcpy(text + n, parts->fraction.data(), parts->fraction.size());
        n += parts->fraction.size();
    }
    double value = 0;
    std::from_chars(text, text + n, value);
    return value;
}

namespace {

// A date or date-and-time cell taken apart: the three numbers of the date in the order
// written, whether the year came first, and the time.
struct TemporalParts {
    int a = 0, b = 0, year = 0;
    bool year_first = false;
    bool has_time = false;
    int hour = 0, minute = 0, second = 0;
};

// Reads 1 to `max` digits at s[i], advancing i.
bool read_digits(std::string_view s, size_t& i, size_t min, size_t max, int& out) {
    size_t n = 0;
    out = 0;
    while (i < s.size() && n < max && is_digit(s[i])) {
        out = out * 10 + (s[i] - '0');
        ++i;
        ++n;
    }
    return n >= min;
}

std::optional<TemporalParts> split_temporal(std::string_view s) {
    if (s.size() < 8) return std::nullopt;
    TemporalParts p;
    size_t i = 0;
    if (s.size() >= 10 && is_digit(s[0]) && is_digit(s[3]) && s[4] == '-') {
        p.year_first = true;
        if (!read_digits(s, i, 4, 4, p.year) || s[i++] != '-') return std::nullopt;
        if (!read_digits(s, i, 2, 2, p.a) || i >= s.size() || s[i++] != '-') return std::nullopt;
        if (!read_digits(s, i, 2, 2, p.b)) return std::nullopt;
    } else {
        if (!read_digits(s, i, 1, 2, p.a) || i >= s.size()) return std::nullopt;
        const char sep = s[i++];
        if (sep != '.' && sep != '/' && sep != '-') return std::nullopt;
        if (!read_digits(s, i, 1, 2, p.b) || i >= s.size() || s[i++] != sep) return std::nullopt;
        if (!read_digits(s, i, 4, 4, p.year)) return std::nullopt;
    }
    if (i == s.size()) return p;
    if (s[i] != ' ' && s[i] != 'T') return std::nullopt;
    ++i;
    p.has_time = true;
    if (!read_digits(s, i, 1, 2, p.hour) || i >= s.size() || s[i++] != ':') return std::nullopt;
    if (!read_digits(s, i, 2, 2, p.minute)) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
        ++i;
        if (!read_digits(s, i, 2, 2, p.second)) return std::nullopt;
        if (i < s.size() && s[i] == '.') {
            ++i;
            int ignored = 0;
            if (!read_digits(s, i, 1, 9, ignored)) return std::nullopt;
        }
    }
    if (i < s.size() && s[i] == 'Z') ++i;
    if (i != s.size() || p.hour > 23 || p.minute > 59 || p.second > 59) return std::nullopt;
    return p;
}

}  // namespace

TemporalShape temporal_shape(std::string_view s) {
    TemporalShape shape;
    if (s.empty() || !is_digit(s[0])) return shape;
    auto p = split_temporal(s);
    if (!p) return shape;
    shape.has_time = p->has_time;
    if (p->year_first) {
        if (is_valid_civil(p->year, p->a, p->b)) shape.kind = TemporalShape::YearFirst;
        return shape;
    }
    const bool day_first = is_valid_civil(p->year, p->b, p->a);
    const bool month_first = is_valid_civil(p->year, p->a, p->b);
    if (day_first && month_first)
        shape.kind = TemporalShape::Either;
    else if (day_first)
        shape.kind = TemporalShape::DayFirstOnly;
    else if (month_first)
        shape.kind = TemporalShape::MonthFirstOnly;
    return shape;
}

size_t write_temporal(std::string_view s, DateOrder order, bool with_time, char* out) {
    auto p = split_temporal(s);
    if (!p) return 0;
    int month = 0, day = 0;
    if (p->year_first) {
        month = p->a;
        day = p->b;
    } else if (order == DateOrder::DayFirst) {
        day = p->a;
        month = p->b;
    } else if (order == DateOrder::MonthFirst) {
        month = p->a;
        day = p->b;
    } else {
        return 0;  // 01.02.2024 where only YYYY-MM-DD was asked for
    }
    if (!is_valid_civil(p->year, month, day)) return 0;
    // A date column holds no time of day: a cell with one other than midnight does not fit.
    if (!with_time && (p->hour != 0 || p->minute != 0 || p->second != 0)) return 0;
    auto two = [](char* at, int v) {
        at[0] = static_cast<char>('0' + v / 10);
        at[1] = static_cast<char>('0' + v % 10);
    };
    two(out, p->year / 100);
    two(out + 2, p->year % 100);
    out[4] = '-';
    two(out + 5, month);
    out[7] = '-';
    two(out + 8, day);
    if (!with_time) return 10;
    out[10] = ' ';
    two(out + 11, p->hour);
    out[13] = ':';
    two(out + 14, p->minute);
    out[16] = ':';
    two(out + 17, p->second);
    return 19;
}

}  // namespace strata::import
