#include "engine/exact_sum.hpp"

#include <cstdlib>
#include <string>

namespace strata {

namespace {

constexpr SumUnits kExactInDouble = SumUnits{1} << 53;

constexpr SumUnits power_of_ten(int n) {
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

}  // namespace

std::optional<SumUnits> join_total(uint64_t low, SumUnits high) {
    constexpr SumUnits limit = power_of_ten(kMaxSumDigits);
    // high within [-2^63, 2^63) keeps high · 2^64 + low within 128 bits; then the 10^38
    // limit decides.
    constexpr SumUnits kMostHigh = SumUnits{1} << 63;
    if (high >= kMostHigh || high < -kMostHigh) return std::nullopt;
    const SumUnits total = high * (SumUnits{1} << 64) + static_cast<SumUnits>(low);
    if (total >= limit || total <= -limit) return std::nullopt;
    return total;
}

double sum_units_to_double(SumUnits total) {
    // Both operands exact in a double: IEEE division rounds the true quotient once.
    if (total < kExactInDouble && total > -kExactInDouble)
        return static_cast<double>(total) / static_cast<double>(kSumUnitsPerOne);
    return std::strtod(units_text(total).c_str(), nullptr);  // glibc rounds correctly
}

namespace {

// total / divisor rounded half away from zero. REQUIRES: divisor > 0.
SumUnits rounded_quotient(SumUnits total, SumUnits divisor) {
    const SumUnits quotient = total / divisor;  // toward zero
    const SumUnits rest = total % divisor;      // the sign of total
    const SumUnits twice = 2 * (rest < 0 ? -rest : rest);
    if (twice >= divisor) return quotient + (total < 0 ? -1 : 1);
    return quotient;
}

constexpr SumUnits kCent = kSumUnitsPerOne / 100;

}  // namespace

double money_of_units(SumUnits total) {
    const SumUnits cents = rounded_quotient(total, kCent);
    // Less than half a cent, but not zero: kept, so that JSON can say it is not zero.
    if (cents == 0) return sum_units_to_double(total);
    return sum_units_to_double(cents * kCent);
}

double money_average_of_units(SumUnits total, int64_t count) {
    const SumUnits cents = rounded_quotient(total, kCent * count);
    if (cents == 0) return average_of_units(total, count);
    return sum_units_to_double(cents * kCent);
}

std::optional<SumUnits> parse_sum_units(const std::string& text) {
    size_t at = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) ++at;
    const size_t digits_start = at;
    SumUnits magnitude = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
        if (at - digits_start >= static_cast<size_t>(kMaxSumDigits)) return std::nullopt;
        magnitude = magnitude * 10 + (text[at] - '0');
        ++at;
    }
    if (at == digits_start) return std::nullopt;
    if (at < text.size() && text[at] == '.') {
        for (++at; at < text.size(); ++at) {
            if (text[at] != '0') return std::nullopt;
        }
    }
    if (at != text.size()) return std::nullopt;
    return negative ? -magnitude : magnitude;
}

std::optional<double> ExactTotal::as_double() const {
    const auto total = units();
    if (!total) return std::nullopt;
    return sum_units_to_double(*total);
}

double average_of_units(SumUnits total, int64_t count) {
    // The total and the divisor each as their nearest double, then one IEEE division: exact
    // operands (every total below about nine million) give the nearest double of the true
    // quotient, and any SQL dialect with 64-bit integers and doubles can say the same.
    const SumUnits divisor = static_cast<SumUnits>(count) * kSumUnitsPerOne;
    return static_cast<double>(total) / static_cast<double>(divisor);
}

}  // namespace strata
