// Exact sums for `sum`, `avg` and `cv`: each number is taken as a decimal with
// kSumDecimals places (the nearest such decimal, ties to even), the decimals are added as
// integers, which is exact and so independent of the order of the rows and of how a scan is
// split, and the total is rounded to a double once, at the end.
//
// This is SQL's sum over DECIMAL(38, 9) of each value rounded to 9 places, which compiled
// SQL can reproduce on PostgreSQL (numeric) and ClickHouse (Decimal128).
#pragma once

#include <cstdint>
#include <optional>

namespace strata {

inline constexpr int kSumDecimals = 9;
inline constexpr int64_t kSumUnitsPerOne = 1'000'000'000;  // 10^kSumDecimals

// A value in units of 10^-kSumDecimals.
using SumUnits = __int128;

// x in units, rounded to the nearest unit (ties to even), computed from x's exact binary
// value. nullopt when x is not finite or |x| is 2^127 units (about 1.7e29) or more.
std::optional<SumUnits> to_sum_units(double x);

// An integer in units: always exact (|i| · 10^9 < 2^127).
inline SumUnits int_to_sum_units(int64_t i) {
    return static_cast<SumUnits>(i) * kSumUnitsPerOne;
}

// A running total that cannot lose anything: 128 bits, plus a count of the times it wrapped
// (kept by the caller, since wraps are rare). The true total is total + wraps · 2^128.
// Returns the wrap (+1, -1 or 0) that adding `x` to `total` caused.
inline int add_wrapping(SumUnits& total, SumUnits x) {
    SumUnits out;
    const bool wrapped = __builtin_add_overflow(total, x, &out);
    total = out;
    if (!wrapped) return 0;
    return x > 0 ? 1 : -1;
}

// Totals of up to kMaxSumDigits digits (in units) convert; larger ones are out of range.
inline constexpr int kMaxSumDigits = 38;

// A total in units as the nearest double, or nullopt when it has wrapped or |total| is
// 10^38 units (10^29) or more.
std::optional<double> sum_units_to_double(SumUnits total, int64_t wraps);

// The average: total / count as a double (one rounding when both are below 2^53, which is
// every realistic case), or nullopt as above, or when count is 0.
std::optional<double> average_of_units(SumUnits total, int64_t wraps, int64_t count);

}  // namespace strata
