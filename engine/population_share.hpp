// abc's exact arithmetic (docs/language.md, "Population functions"), shared by the engine
// (engine/population.cpp) and the SQL compiler (sql/cv_and_abc.cpp) so that both read the
// thresholds alike. Each positive x counts as its exact-sum units (engine/exact_sum.hpp, the
// units `sum()` adds: x rounded to 9 decimal places); running totals and the total T are exact
// integers, and a customer whose positive total before them is P is in a class of threshold
// num/den when P·den < num·T, that is when P < ceil(num·T/den).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "engine/exact_sum.hpp"

namespace strata {

// A threshold written in the rule (0.8) as the decimal fraction num/den it was written as
// (8/10): den the smallest power of ten up to 10^9 that makes it whole (to within 10^-9), num
// the whole number. REQUIRES: 0 < t <= 1 (the binder's check), so 0 < num <= den.
struct ShareFraction {
    int64_t num = 0;
    int64_t den = 1;
};
inline ShareFraction share_fraction(double t) {
    int64_t den = 1;
    for (int k = 0; k < 9 && std::fabs(t * static_cast<double>(den) -
                                       std::round(t * static_cast<double>(den))) > 1e-9;
         ++k)
        den *= 10;
    return {static_cast<int64_t>(std::round(t * static_cast<double>(den))), den};
}

// Totals of positive units from this many units on are beyond abc's exact range (the range of
// `sum()`'s totals, 10^38 units): abc then gives null for every positive x.
inline constexpr SumUnits kAbcTotalLimit = [] {
    SumUnits p = 1;
    for (int i = 0; i < kMaxSumDigits; ++i)
        p *= 10;
    return p;
}();

// The smallest positive double without exact-sum units (about 1.7e29, 2^127 units): an x
// this large or larger (or infinite) puts abc beyond its exact range.
inline double abc_units_limit() {
    uint64_t low = std::bit_cast<uint64_t>(1e29), high = std::bit_cast<uint64_t>(1e30);
    while (high - low > 1) {  // to_sum_units_exact(low) has units, (high) has none
        const uint64_t mid = low + (high - low) / 2;
        (to_sum_units_exact(std::bit_cast<double>(mid)) ? low : high) = mid;
    }
    return std::bit_cast<double>(high);
}

// ceil(num·total/den), exactly, for 0 <= total < kAbcTotalLimit and 0 < num <= den: written as
// num·(total / den) + ceil(num·(total % den) / den), every part within 128 bits (and within
// 64 bits when total is).
inline SumUnits share_limit(SumUnits total, ShareFraction f) {
    const SumUnits whole = total / f.den, rest = total % f.den;
    return f.num * whole + (f.num * rest + f.den - 1) / f.den;
}

}  // namespace strata
