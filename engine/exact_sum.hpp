// Exact sums for `sum`, `avg` and `cv`: each number is taken as a decimal with
// kSumDecimals places (the nearest such decimal, ties to even), the decimals are added as
// integers, which is exact and so independent of the order of the rows and of how a scan is
// split, and the total is rounded to a double once, at the end.
//
// This is SQL's sum over DECIMAL(38, 9) of each value rounded to 9 places, which compiled
// SQL can reproduce on PostgreSQL (numeric) and ClickHouse (Decimal128).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace strata {

inline constexpr int kSumDecimals = 9;
inline constexpr int64_t kSumUnitsPerOne = 1'000'000'000;  // 10^kSumDecimals

// A value in units of 10^-kSumDecimals.
using SumUnits = __int128;

// x in units, rounded to the nearest unit (ties to even), computed from x's exact binary
// value: the definition. nullopt when x is not finite or |x| is 2^127 units (about 1.7e29)
// or more.
inline std::optional<SumUnits> to_sum_units_exact(double x) {
    const auto bits = std::bit_cast<uint64_t>(x);
    const bool negative = (bits >> 63) != 0;
    const int biased = static_cast<int>((bits >> 52) & 0x7FF);
    uint64_t mantissa = bits & ((uint64_t{1} << 52) - 1);
    if (biased == 0x7FF) return std::nullopt;  // infinite or not a number
    if (biased == 0 && mantissa == 0) return SumUnits{0};
    if (biased != 0) mantissa |= uint64_t{1} << 52;
    // x = mantissa · 2^e, so x · 10^9 = mantissa · 5^9 · 2^(e + 9), with mantissa · 5^9 < 2^74.
    const int e = (biased == 0 ? 1 : biased) - 1075;
    constexpr uint64_t kFiveToTheNine = 1'953'125;
    const unsigned __int128 scaled = static_cast<unsigned __int128>(mantissa) * kFiveToTheNine;
    const int shift = e + kSumDecimals;
    unsigned __int128 units = 0;
    if (shift >= 0) {
        if (shift >= 127 || (scaled >> (127 - shift)) != 0) return std::nullopt;
        units = scaled << shift;
    } else if (-shift < 75) {  // from 75 on, scaled / 2^-shift is below one half: 0 units
        const int drop = -shift;
        const unsigned __int128 one = 1;
        const unsigned __int128 rest = scaled & ((one << drop) - 1);
        const unsigned __int128 half = one << (drop - 1);
        units = scaled >> drop;
        if (rest > half || (rest == half && (units & 1) != 0)) ++units;
    }
    const auto value = static_cast<SumUnits>(units);
    return negative ? -value : value;
}

// The same as to_sum_units_exact (a test holds it to that), with a fast path for the usual
// values. Inline: it runs once per fact row and aggregate.
inline std::optional<SumUnits> to_sum_units(double x) {
    // The usual case first, in doubles. Below 2^51, p = x · 10^9 as a double is within an
    // eighth of the exact product (half its ulp), so when p is within a quarter of an integer
    // r, the exact product is within three eighths of r and r is the nearest unit. Adding and
    // taking away 1.5 · 2^52 rounds p to an integer for |p| < 2^51.
    const double p = x * static_cast<double>(kSumUnitsPerOne);
    if (std::fabs(p) < 0x1p51) {
        const double r = (p + 0x1.8p52) - 0x1.8p52;
        if (std::fabs(p - r) < 0.25) return static_cast<SumUnits>(static_cast<int64_t>(r));
    }
    return to_sum_units_exact(x);
}

// An integer in units: always exact (|i| · 10^9 < 2^127).
inline SumUnits int_to_sum_units(int64_t i) {
    return static_cast<SumUnits>(i) * kSumUnitsPerOne;
}

// A running total that cannot lose anything, kept in two parts: a low word of 64 bits in the
// hot per-customer state, and a high part that is almost always zero and so is kept aside by
// the caller (in a map, touched only when the low word wraps or a value is beyond 64 bits).
// The total is high · 2^64 + low, with `low` read as unsigned.
//
// Adds x to `low` and returns what must be added to the high part (usually 0).
inline SumUnits add_to_low_word(uint64_t& low, SumUnits x) {
    const auto x_low = static_cast<uint64_t>(static_cast<unsigned __int128>(x));
    const SumUnits x_high = x >> 64;  // arithmetic: -1 for a negative x below 2^64 in size
    const uint64_t sum = low + x_low;
    const SumUnits carry = sum < low ? 1 : 0;
    low = sum;
    return x_high + carry;
}

// Totals of up to kMaxSumDigits digits (in units) convert; larger ones are out of range.
inline constexpr int kMaxSumDigits = 38;

// The total of the two parts as one number of units, or nullopt when it is 10^38 units
// (10^29) or more in size: the range of DECIMAL(38, 9).
std::optional<SumUnits> join_total(uint64_t low, SumUnits high);

// A total in units as the nearest double.
double sum_units_to_double(SumUnits total);

// A money amount to show with two decimals: the total rounded to cents half away from zero on
// its exact decimal (2.675 is 2.68), as the nearest double, which prints with two decimals as
// that decimal. The double of 2.675 itself is 2.67499999…, which prints 2.67. A total of less
// than half a cent, not zero, is its own nearest double (JSON writes 5e-08, not 0).
double money_of_units(SumUnits total);

// The average of `count` values whose total is `total`, to show with two decimals: the exact
// quotient rounded to cents half away from zero, as the nearest double (money_of_units).
// REQUIRES: count > 0.
double money_average_of_units(SumUnits total, int64_t count);

// The units of a decimal text of an integer ("-1234", as SQL prints a numeric or Decimal
// sum of units; a fraction of zeros such as ".000" is allowed), or nullopt when it is not
// one or has more than kMaxSumDigits digits.
std::optional<SumUnits> parse_sum_units(const std::string& text);

// A total of doubles, each taken as to_sum_units gives it and added exactly, so that the total
// does not depend on the order of the additions (SQL's sum over DECIMAL(38, 9), as for `sum`).
// Out of range once a value has no units (not finite, or 2^127 units or more) or the total is
// 10^38 units or more.
class ExactTotal {
  public:
    void add(double x) {
        if (auto units = to_sum_units(x))
            high_ += add_to_low_word(low_, *units);
        else
            out_of_range_ = true;
    }
    void add(const ExactTotal& other) {
        out_of_range_ = out_of_range_ || other.out_of_range_;
        high_ += add_to_low_word(low_, static_cast<SumUnits>(other.low_)) + other.high_;
    }
    // The total as a number of units; nullopt when out of range.
    static ExactTotal of(std::optional<SumUnits> units) {
        ExactTotal t;
        if (units)
            t.high_ = add_to_low_word(t.low_, *units);
        else
            t.out_of_range_ = true;
        return t;
    }
    std::optional<SumUnits> units() const {
        if (out_of_range_) return std::nullopt;
        return join_total(low_, high_);
    }
    // The nearest double of the total; nullopt when out of range.
    std::optional<double> as_double() const;

  private:
    uint64_t low_ = 0;
    SumUnits high_ = 0;
    bool out_of_range_ = false;
};

// The average: the total in units and count·10^9, each rounded to the nearest double, then
// divided (so one rounding of the true quotient when both are below 2^53, which is every
// realistic case). REQUIRES: count > 0.
double average_of_units(SumUnits total, int64_t count);

}  // namespace strata
