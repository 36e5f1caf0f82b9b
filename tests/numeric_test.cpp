// Exact numerics: an integer against a fraction, decimal rounding, and number texts, checked
// bit for bit where the language cases (which allow a relative 1e-9) cannot tell.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "engine/numeric.hpp"
#include "engine/value.hpp"

using strata::compare_int_double;
using strata::round_decimal;

TEST_CASE("an integer and a fraction compare as the values they are") {
    constexpr int64_t two53 = int64_t{1} << 53;
    constexpr double inf = std::numeric_limits<double>::infinity();
    CHECK(compare_int_double(two53 + 1, 9007199254740992.0) == 1);
    CHECK(compare_int_double(two53, 9007199254740992.0) == 0);
    CHECK(compare_int_double(two53 - 1, 9007199254740992.0) == -1);
    CHECK(compare_int_double(INT64_MAX, 9223372036854775808.0) == -1);
    CHECK(compare_int_double(INT64_MIN, -9223372036854775808.0) == 0);
    CHECK(compare_int_double(INT64_MIN, -9223372036854777856.0) == 1);
    CHECK(compare_int_double(0, -0.0) == 0);
    CHECK(compare_int_double(-1, -0.5) == -1);
    CHECK(compare_int_double(-1, -1.5) == 1);
    CHECK(compare_int_double(2, 2.5) == -1);
    CHECK(compare_int_double(INT64_MAX, inf) == -1);
    CHECK(compare_int_double(INT64_MIN, -inf) == 1);
    // compare_values takes the same path, in both orders.
    CHECK(strata::compare_values(strata::Value{two53 + 1}, strata::Value{9007199254740992.0}) == 1);
    CHECK(strata::compare_values(strata::Value{9007199254740992.0}, strata::Value{two53 + 1}) ==
          -1);
}

TEST_CASE("round(x, n) gives the double nearest to the rounded decimal") {
    CHECK(*round_decimal(2.675, 2) == 2.68);
    CHECK(*round_decimal(1.005, 2) == 1.01);
    CHECK(*round_decimal(-1.005, 2) == -1.01);
    CHECK(*round_decimal(0.125, 2) == 0.13);
    CHECK(*round_decimal(0.285, 2) == 0.29);
    CHECK(*round_decimal(1.45, 1) == 1.5);
    CHECK(*round_decimal(-2.5, 0) == -3.0);
    CHECK(*round_decimal(2.4999999999999996, 0) == 2.0);
    CHECK(*round_decimal(0.1 + 0.2, 2) == 0.3);
    CHECK(*round_decimal(1234.5, -2) == 1200.0);
    CHECK(*round_decimal(1250.0, -2) == 1300.0);
    CHECK(*round_decimal(5e-324, 400) == 5e-324);
    CHECK(*round_decimal(1e300, 2) == 1e300);
    CHECK(*round_decimal(1e300, -300) == 1e300);
    CHECK(*round_decimal(123.456, INT64_MAX) == 123.456);
    CHECK(*round_decimal(123.456, INT64_MIN) == 0.0);
    CHECK_FALSE(std::signbit(*round_decimal(-0.001, 2)));  // no negative zero
    CHECK_FALSE(round_decimal(1.7976931348623157e308, -307).has_value());
    // Integers round from their exact digits.
    CHECK(*round_decimal(int64_t{9007199254740993}, -1) == 9007199254740990.0);
    CHECK(*round_decimal(INT64_MIN, -18) == -9e18);
    CHECK(*round_decimal(int64_t{-1250}, -2) == -1300.0);
    CHECK(*round_decimal(int64_t{7}, 2) == 7.0);
}

TEST_CASE("number texts read as the nearest double, integer texts only when whole") {
    CHECK(*strata::parse_number_text("0.1") == 0.1);
    CHECK(*strata::parse_number_text("9007199254740993") == 9007199254740992.0);
    CHECK(*strata::parse_number_text("1e-400") == 0.0);
    CHECK(*strata::parse_number_text("-0") == 0.0);
    CHECK_FALSE(strata::parse_number_text("1e400").has_value());
    CHECK_FALSE(strata::parse_number_text("1e").has_value());
    CHECK_FALSE(strata::parse_number_text(".").has_value());
    CHECK_FALSE(strata::parse_number_text("--1").has_value());
    CHECK(*strata::parse_integer_text("00012") == 12);
    CHECK(*strata::parse_integer_text("0.000") == 0);
    CHECK(*strata::parse_integer_text("1200e-2") == 12);
    CHECK_FALSE(strata::parse_integer_text("1201e-2").has_value());
    CHECK_FALSE(strata::parse_integer_text("1e100000000000").has_value());
    CHECK(*strata::parse_integer_text("0e100000000000") == 0);
}

TEST_CASE("group_thousands and format_fixed: any length, sign and fraction kept") {
    CHECK(strata::group_thousands("0") == "0");
    CHECK(strata::group_thousands("999") == "999");
    CHECK(strata::group_thousands("1234") == "1,234");
    CHECK(strata::group_thousands("-1234567.891") == "-1,234,567.891");
    CHECK(strata::group_thousands("-123.45") == "-123.45");
    CHECK(strata::format_thousands(1000000) == "1,000,000");
    CHECK(strata::format_fixed(1234.5, 2) == "1234.50");
    CHECK(strata::format_fixed(-0.125, 2) == "-0.12");  // printf's rounding, to even
    const std::string huge = strata::format_fixed(1e308, 2);
    CHECK(huge.size() == 312);  // 309 digits, '.', 2 decimals: not cut at a buffer's end
    CHECK(huge.rfind("1000000000000000010979063629440455417404923096773118", 0) == 0);
    CHECK(strata::group_thousands(huge).size() == 312 + 102);
}

TEST_CASE("format_value writes a number that reads back as itself, short when 15 digits do") {
    using strata::format_value;
    using strata::Value;
    CHECK(format_value(Value{0.1}) == "0.1");
    CHECK(format_value(Value{0.5}) == "0.5");
    CHECK(format_value(Value{1e20}) == "1e+20");
    CHECK(format_value(Value{-0.0}) == "0");
    CHECK(format_value(Value{18600000000.0}) == "18600000000");
    CHECK(format_value(Value{0.1 + 0.2}) == "0.30000000000000004");
    CHECK(format_value(Value{0.123456789123}) == "0.123456789123");
    // Every text reads back as the very double it was made from.
    for (const double x : {0.1 + 0.2, 1.0 / 3, 2.0 / 3, 1e-300, 123456789.123456789,
                           std::nextafter(1.0, 2.0), 5e-324, 1.7976931348623157e308}) {
        CAPTURE(x);
        CHECK(std::strtod(format_value(Value{x}).c_str(), nullptr) == x);
    }
}
