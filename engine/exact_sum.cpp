#include "engine/exact_sum.hpp"

#include <bit>
#include <cstdlib>
#include <string>

namespace strata {

namespace {

constexpr SumUnits kExactInDouble = SumUnits{1} << 53;

SumUnits power_of_ten(int n) {
    SumUnits p = 1;
    for (int i = 0; i < n; ++i)
        p *= 10;
    return p;
}

// The decimal text of total / 10^kSumDecimals, for strtod to round once.
std::string units_text(SumUnits total) {
    const bool negative = total < 0;
    auto magnitude = static_cast<unsigned __int128>(negative ? -total : total);
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
        magnitude /= 10;
    } while (magnitude != 0);
    if (digits.size() <= static_cast<size_t>(kSumDecimals))
        digits.insert(0, static_cast<size_t>(kSumDecimals) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<size_t>(kSumDecimals), 1, '.');
    return (negative ? "-" : "") + digits;
}

bool in_range(SumUnits total, int64_t wraps) {
    static const SumUnits limit = power_of_ten(kMaxSumDigits);
    return wraps == 0 && total < limit && total > -limit;
}

}  // namespace

std::optional<SumUnits> to_sum_units(double x) {
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

std::optional<double> sum_units_to_double(SumUnits total, int64_t wraps) {
    if (!in_range(total, wraps)) return std::nullopt;
    // Both operands exact in a double: IEEE division rounds the true quotient once.
    if (total < kExactInDouble && total > -kExactInDouble)
        return static_cast<double>(total) / static_cast<double>(kSumUnitsPerOne);
    return std::strtod(units_text(total).c_str(), nullptr);  // glibc rounds correctly
}

std::optional<double> average_of_units(SumUnits total, int64_t wraps, int64_t count) {
    if (count <= 0 || !in_range(total, wraps)) return std::nullopt;
    const SumUnits divisor = static_cast<SumUnits>(count) * kSumUnitsPerOne;
    if (total < kExactInDouble && total > -kExactInDouble && divisor < kExactInDouble)
        return static_cast<double>(total) / static_cast<double>(divisor);
    // Rare: totals above about nine million, or millions of rows. Not always the nearest
    // double, but the same bytes for the same total and count, whatever the row order.
    return static_cast<double>(static_cast<long double>(total) / static_cast<long double>(divisor));
}

}  // namespace strata
