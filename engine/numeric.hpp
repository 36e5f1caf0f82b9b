// Exact numeric helpers: comparing an integer with a fraction as the mathematical values they
// are, rounding to decimals the way a person rounds the number as written, and reading
// integers and numbers from text.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

// -1, 0 or 1 as the integer i is below, equal to or above the double d, compared exactly
// (no rounding of i to a double: 2^53 + 1 is above 2^53 as a fraction).
// REQUIRES: d is not NaN (infinities compare as expected).
inline int compare_int_double(int64_t i, double d) {
    constexpr double kTwo63 = 9223372036854775808.0;  // 2^63, just above every int64_t
    if (d >= kTwo63) return -1;
    if (d < -kTwo63) return 1;
    const double whole = std::trunc(d);  // in [-2^63, 2^63): exactly an int64_t
    const auto w = static_cast<int64_t>(whole);
    if (i != w) return i < w ? -1 : 1;
    return whole < d ? -1 : (d < whole ? 1 : 0);
}

// True when the integer converts to a double with no rounding (so comparing the double with
// other doubles is exact).
inline bool exact_as_double(int64_t i) {
    constexpr int64_t kTwo53 = int64_t{1} << 53;
    return i >= -kTwo53 && i <= kTwo53;
}

// x rounded to `digits` decimals, half away from zero, on the shortest decimal that reads
// back as x (so 2.675 rounds to 2.68 and 1.005 to 1.01, as written, though neither is exact
// in binary). Negative digits round to tens, hundreds, … The result is the double nearest to
// the rounded decimal; nullopt when that is not finite (a carry past the largest double).
// REQUIRES: x is finite.
std::optional<double> round_decimal(double x, int64_t digits);
// The same for an integer, rounded from its exact digits.
std::optional<double> round_decimal(int64_t x, int64_t digits);

// Text that means exactly one integer: optional surrounding whitespace, an optional sign,
// decimal digits with an optional fraction and exponent, whose value is whole and fits in 64
// bits ("12", " 12 ", "+12", "12.0", "1e3"). nullopt for anything else ("2.5", "0x10", "",
// "1e19", "12abc").
std::optional<int64_t> parse_integer_text(std::string_view text);

// Text that is a decimal number: optional surrounding whitespace, an optional sign, digits
// with an optional fraction and exponent, read as the nearest double. nullopt for anything
// else, including hexadecimal, "inf", "nan" and values too large for a double ("1e400").
std::optional<double> parse_number_text(std::string_view text);

// text without the whitespace (space, tab, CR, LF) around it.
std::string_view trim_spaces(std::string_view text);

// 1234567 as "1,234,567", for people.
std::string format_thousands(size_t n);

// A decimal text ("-1234567.89", "1234") with its whole part grouped by thousands
// ("-1,234,567.89").
std::string group_thousands(std::string_view number);

// v as printf's %.*f, however long it is (1e308 has 309 digits). REQUIRES: v is finite.
std::string format_fixed(double v, int decimals);

// A count and its noun, for people: "1 row", "12,345 rows" (`plural` when n is not 1).
std::string format_count(size_t n, const std::string& singular, const std::string& plural);

// A share (0.1234) as a percentage with one decimal ("12.3%"), for people.
std::string format_percent(long double share);

}  // namespace strata
