#include <doctest/doctest.h>

#include "dsl/calendar.hpp"

using namespace strata;

TEST_CASE("civil dates round-trip through day numbers") {
    for (int days = -800000; days <= 800000; days += 997) {
        const auto c = civil_from_days(days);
        CHECK(days_from_civil(c.year, c.month, c.day) == days);
    }
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(format_date(Date{days_from_civil(2024, 2, 29)}) == "2024-02-29");
}

TEST_CASE("date parsing rejects impossible dates") {
    CHECK(parse_date("2026-02-28"));
    CHECK_FALSE(parse_date("2026-02-29"));
    CHECK(parse_date("2024-02-29"));
    CHECK_FALSE(parse_date("2026-13-01"));
    CHECK_FALSE(parse_date("2026-1-01"));
    CHECK_FALSE(parse_date("n/a"));
    CHECK(parse_datetime("2026-11-22T10:00:00"));
    CHECK(parse_datetime("2026-11-22 10:00"));
    CHECK_FALSE(parse_datetime("2026-11-22T25:00:00"));
}

TEST_CASE("month steps follow the calendar and clamp to the month's end") {
    const Date jan31 = *parse_date("2026-01-31");
    CHECK(format_date(add_duration(jan31, Duration{1, 0}, 1)) == "2026-02-28");
    CHECK(format_date(add_duration(*parse_date("2024-01-31"), Duration{1, 0}, 1)) == "2024-02-29");
    CHECK(format_date(add_duration(*parse_date("2026-03-31"), Duration{1, 0}, -1)) == "2026-02-28");
    CHECK(format_date(add_duration(*parse_date("2026-11-22"), Duration{12, 0}, -1)) ==
          "2025-11-22");
    CHECK(format_date(add_duration(*parse_date("2026-12-31"), Duration{0, 1}, 1)) == "2027-01-01");
    // Before the year 1 (proleptic Gregorian, year 0 before it): the month moves by floor
    // division, and the year keeps four digits after its sign.
    const Date first = *parse_date("0001-01-01");
    CHECK(format_date(add_duration(first, Duration{1, 0}, -1)) == "0000-12-01");
    CHECK(format_date(add_duration(first, Duration{13, 0}, -1)) == "-0001-12-01");
    CHECK(format_date(add_duration(first, Duration{24, 0}, -1)) == "-0001-01-01");
    CHECK(add_duration(first, Duration{13, 0}, -1).days == first.days - 397);
    CHECK(format_date(add_duration(add_duration(first, Duration{0, 1}, -1), Duration{1, 0}, -1)) ==
          "0000-11-30");
    CHECK(format_duration(*parse_duration("6mo")) == "6mo");
    CHECK(format_duration(*parse_duration("1y")) == "1y");
    CHECK(format_duration(*parse_duration("12w")) == "12w");
    CHECK_FALSE(parse_duration("5x"));
}
