// Calendar values shared by the language and the engine: dates, datetimes and durations.
// All are UTC and time-zone free. Dates count days since 1970-01-01; datetimes count
// seconds since 1970-01-01T00:00:00.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

struct Date {
    int32_t days = 0;  // days since 1970-01-01
    auto operator<=>(const Date&) const = default;
};

struct DateTime {
    int64_t seconds = 0;  // seconds since 1970-01-01T00:00:00
    auto operator<=>(const DateTime&) const = default;
};

// A calendar duration: whole months (from mo and y) plus days (from d and w).
// Months are applied first, then days, so month steps follow the calendar.
struct Duration {
    int32_t months = 0;
    int32_t days = 0;
    bool operator==(const Duration&) const = default;
};

struct CivilDate {
    int year;
    int month;  // 1..12
    int day;    // 1..31
};

// Days since the epoch for a proleptic Gregorian date. REQUIRES: a valid date.
int32_t days_from_civil(int year, int month, int day);
CivilDate civil_from_days(int32_t days);
bool is_valid_civil(int year, int month, int day);
int days_in_month(int year, int month);

// Parses YYYY-MM-DD exactly; nullopt for anything else, including 2026-02-30.
std::optional<Date> parse_date(std::string_view text);
// Parses YYYY-MM-DDTHH:MM[:SS] (a space instead of T is accepted, as SQLite writes it).
std::optional<DateTime> parse_datetime(std::string_view text);
// Parses 30d, 12w, 6mo, 1y (at most 6 digits).
std::optional<Duration> parse_duration(std::string_view text);
// When `text`, given as `what` (e.g. "'cooldown'"), is shaped like a duration but has more
// digits than parse_duration takes: the error saying so.
std::optional<std::string> duration_too_long(std::string_view what, std::string_view text);
// The error for `text` that parse_duration refused: duration_too_long's, else what a duration
// looks like.
std::string duration_error(std::string_view what, std::string_view text);

std::string format_date(Date d);
std::string format_datetime(DateTime t);
std::string format_duration(Duration d);
// A duration as its rule file wrote it (`7d` stays `7d`): `written` when there is one, else
// format_duration(d), which writes whole weeks as `w` and whole years as `y`.
std::string shown_duration(Duration d, const std::string& written);

// date ± duration: months first (clamping the day to the month's end), then days.
// REQUIRES: the moved date within moved_date's range (a window or cooldown from as_of); the
// date is returned unmoved otherwise.
Date add_duration(Date d, Duration dur, int sign);
DateTime add_duration(DateTime t, Duration dur, int sign);

// The language's own arithmetic, which a result that does not fit makes null (nullopt), as
// integer overflow does: a date whose day number leaves 32 bits (about 5.8 million years from
// 1970) after its months move or after its days, and a duration whose months or days leave
// 32 bits.
std::optional<Date> moved_date(Date d, Duration dur, int sign);
std::optional<DateTime> moved_date(DateTime t, Duration dur, int sign);
// x + sign·y.
std::optional<Duration> combined_durations(Duration x, Duration y, int sign);

inline DateTime to_datetime(Date d) {
    return DateTime{int64_t{d.days} * 86400};
}
inline Date to_date(DateTime t) {
    int64_t s = t.seconds;
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    return Date{static_cast<int32_t>(days)};
}

// Today's UTC date from the wall clock; used only at the edge (the CLI), never deep inside.
Date today_utc();

}  // namespace strata
