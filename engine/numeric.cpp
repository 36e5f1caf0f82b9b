#include "engine/numeric.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>

namespace strata {

namespace {

// A decimal written as sign, significant digits and the exponent of the first digit:
// -2.675 is {true, "2675", 0}, 1200 is {false, "12", 3} or {false, "1200", 3}.
struct Decimal {
    bool negative = false;
    std::string digits;  // no leading zeros; empty for zero
    int64_t exponent = 0;
};

// The nearest double to a Decimal; nullopt when it is beyond the largest double.
std::optional<double> to_double(const Decimal& d) {
    if (d.digits.empty()) return 0.0;
    // The digits as an integer mantissa times a power of ten.
    const std::string text =
        d.digits + "e" + std::to_string(d.exponent - static_cast<int64_t>(d.digits.size()) + 1);
    double out = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec == std::errc::result_out_of_range) {
        // Too small reads as zero (a decimal that rounds to nothing); too large does not read.
        if (d.exponent < 0) return 0.0;
        return std::nullopt;
    }
    if (ec != std::errc{} || !std::isfinite(out)) return std::nullopt;
    return d.negative ? -out : out;
}

std::optional<double> round_digits(Decimal d, int64_t places) {
    if (d.digits.empty()) return 0.0;
    places = std::clamp<int64_t>(places, -400, 400);
    // The digits kept are those worth at least 10^-places.
    const int64_t keep = d.exponent + places + 1;
    if (keep >= static_cast<int64_t>(d.digits.size())) return to_double(d);  // nothing to drop
    if (keep < 0) return 0.0;  // every digit is below half of the last place kept
    const bool up = d.digits[static_cast<size_t>(keep)] >= '5';  // half or more: away from 0
    d.digits.resize(static_cast<size_t>(keep));
    if (up) {
        size_t i = d.digits.size();
        while (i > 0 && d.digits[i - 1] == '9')
            d.digits[--i] = '0';
        if (i == 0) {  // 999 → 1000: one more digit in front
            d.digits.insert(d.digits.begin(), '1');
            d.exponent += 1;
        } else {
            d.digits[i - 1] = static_cast<char>(d.digits[i - 1] + 1);
        }
    }
    d.digits.erase(d.digits.find_last_not_of('0') + 1);
    if (d.digits.empty()) return 0.0;  // rounded to zero: no negative zero
    return to_double(d);
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Parses [sign] digits [. digits] [e [sign] digits] (at least one mantissa digit) into a
// Decimal; nullopt for anything else.
std::optional<Decimal> parse_decimal(std::string_view text) {
    Decimal d;
    size_t i = 0;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) d.negative = text[i++] == '-';
    int64_t point = -1;  // digits seen before the point
    int64_t seen = 0;    // mantissa digits seen, leading zeros included
    int64_t leading_zeros = 0;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.' && point < 0) {
            point = seen;
        } else if (is_digit(c)) {
            if (d.digits.empty() && c == '0')
                ++leading_zeros;
            else if (d.digits.size() < 800)  // far beyond any double's precision; the
                d.digits += c;               // place of the first digit still counts them all
            ++seen;
        } else {
            break;
        }
    }
    if (seen == 0) return std::nullopt;
    if (point < 0) point = seen;
    int64_t exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool negative = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
        const size_t start = i;
        for (; i < text.size() && is_digit(text[i]); ++i)
            exponent = std::min<int64_t>(exponent * 10 + (text[i] - '0'), 100000);
        if (i == start) return std::nullopt;
        if (negative) exponent = -exponent;
    }
    if (i != text.size()) return std::nullopt;
    // The first significant digit sits (point - leading_zeros - 1) places above the units.
    d.exponent = point - leading_zeros - 1 + exponent;
    d.digits.erase(d.digits.find_last_not_of('0') + 1);
    return d;
}

}  // namespace

std::optional<double> round_decimal(double x, int64_t digits) {
    if (x == 0) return 0.0;
    char buf[64];
    // The shortest text that reads back as x, as d.ddde±XX.
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    if (ec != std::errc{}) return std::nullopt;
    auto d = parse_decimal(std::string_view(buf, static_cast<size_t>(end - buf)));
    if (!d) return std::nullopt;
    return round_digits(std::move(*d), digits);
}

std::optional<double> round_decimal(int64_t x, int64_t digits) {
    if (x == 0) return 0.0;
    Decimal d;
    d.negative = x < 0;
    const uint64_t magnitude = d.negative ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
    d.digits = std::to_string(magnitude);
    d.exponent = static_cast<int64_t>(d.digits.size()) - 1;
    d.digits.erase(d.digits.find_last_not_of('0') + 1);
    return round_digits(std::move(d), digits);
}

std::string_view trim_spaces(std::string_view text) {
    constexpr std::string_view kSpaces = " \t\r\n";
    const size_t first = text.find_first_not_of(kSpaces);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(kSpaces) - first + 1);
}

std::optional<int64_t> parse_integer_text(std::string_view text) {
    const auto d = parse_decimal(trim_spaces(text));
    if (!d) return std::nullopt;
    if (d->digits.empty()) return 0;
    // Whole only when no significant digit sits below the units; 19 digits at most.
    const int64_t places = static_cast<int64_t>(d->digits.size());
    if (d->exponent < places - 1 || d->exponent > 18) return std::nullopt;
    unsigned __int128 magnitude = 0;
    for (char c : d->digits)
        magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
    for (int64_t k = places - 1; k < d->exponent; ++k)
        magnitude *= 10;
    const auto limit = static_cast<unsigned __int128>(1) << 63;  // |INT64_MIN|
    if (magnitude > limit || (magnitude == limit && !d->negative)) return std::nullopt;
    if (d->negative) return static_cast<int64_t>(0 - static_cast<uint64_t>(magnitude));
    return static_cast<int64_t>(magnitude);
}

std::optional<double> parse_number_text(std::string_view text) {
    const auto d = parse_decimal(trim_spaces(text));
    if (!d) return std::nullopt;
    return to_double(*d);
}

std::string format_count(size_t n, const std::string& singular, const std::string& plural) {
    return format_thousands(n) + " " + (n == 1 ? singular : plural);
}

std::string format_thousands(size_t n) {
    return group_thousands(std::to_string(n));
}

std::string group_thousands(std::string_view number) {
    const size_t sign = !number.empty() && number[0] == '-' ? 1 : 0;
    const size_t whole_end = std::min(number.find('.'), number.size());
    const size_t digits = whole_end - sign;
    std::string out(number.substr(0, sign));
    for (size_t i = 0; i < digits; ++i) {
        if (i > 0 && (digits - i) % 3 == 0) out += ',';
        out += number[sign + i];
    }
    out += number.substr(whole_end);
    return out;
}

std::string format_fixed(double v, int decimals) {
    const int length = std::snprintf(nullptr, 0, "%.*f", decimals, v);
    std::string text(static_cast<size_t>(length) + 1, '\0');
    std::snprintf(text.data(), text.size(), "%.*f", decimals, v);
    text.resize(static_cast<size_t>(length));
    return text;
}

std::string format_percent(long double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", static_cast<double>(share * 100));
    return buf;
}

}  // namespace strata
