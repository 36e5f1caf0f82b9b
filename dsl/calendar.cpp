#include "dsl/calendar.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace strata {

namespace {

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool all_digits(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return !s.empty();
}

int to_int(std::string_view s) {
    int v = 0;
    for (char c : s)
        v = v * 10 + (c - '0');
    return v;
}

}  // namespace

int days_in_month(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap(year)) return 29;
    return kDays[month - 1];
}

bool is_valid_civil(int year, int month, int day) {
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month);
}

// Era-based conversion: 400-year eras of 146097 days, with years starting in March so
// that the leap day falls at the end of the year.
namespace {

// days_from_civil in 64 bits, for years whose days pass 32 bits.
int64_t wide_days_from_civil(int64_t year, int month, int day) {
    const int64_t y = year - (month <= 2 ? 1 : 0);
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t year_of_era = y - era * 400;
    const int shifted_month = month > 2 ? month - 3 : month + 9;
    const int day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    const int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

bool fits_32_bits(int64_t v) {
    return v >= INT32_MIN && v <= INT32_MAX;
}

}  // namespace

int32_t days_from_civil(int year, int month, int day) {
    return static_cast<int32_t>(wide_days_from_civil(year, month, day));
}

CivilDate civil_from_days(int32_t days) {
    // In 64 bits, for the days near the ends of 32 bits; the year fits an int again.
    const int64_t z = int64_t{days} + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int day_of_era = static_cast<int>(z - era * 146097);
    const int year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const int day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const int shifted_month = (5 * day_of_year + 2) / 153;
    const int day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    const int month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
    const int year = static_cast<int>(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
    return {year, month, day};
}

std::optional<Date> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    auto ys = text.substr(0, 4), ms = text.substr(5, 2), ds = text.substr(8, 2);
    if (!all_digits(ys) || !all_digits(ms) || !all_digits(ds)) return std::nullopt;
    int y = to_int(ys), m = to_int(ms), d = to_int(ds);
    if (!is_valid_civil(y, m, d)) return std::nullopt;
    return Date{days_from_civil(y, m, d)};
}

std::optional<DateTime> parse_datetime(std::string_view text) {
    if (text.size() < 16 || (text[10] != 'T' && text[10] != ' ')) return std::nullopt;
    auto date = parse_date(text.substr(0, 10));
    if (!date) return std::nullopt;
    auto rest = text.substr(11);
    // Accept fractional seconds and a trailing Z, which SQLite and ISO writers produce.
    if (!rest.empty() && rest.back() == 'Z') rest.remove_suffix(1);
    if (rest.size() < 5 || rest[2] != ':') return std::nullopt;
    auto hs = rest.substr(0, 2), mins = rest.substr(3, 2);
    if (!all_digits(hs) || !all_digits(mins)) return std::nullopt;
    int h = to_int(hs), mi = to_int(mins), s = 0;
    rest = rest.substr(5);
    if (!rest.empty()) {
        if (rest.size() < 3 || rest[0] != ':' || !all_digits(rest.substr(1, 2)))
            return std::nullopt;
        s = to_int(rest.substr(1, 2));
        rest = rest.substr(3);
        if (!rest.empty()) {
            if (rest[0] != '.' || !all_digits(rest.substr(1))) return std::nullopt;
        }
    }
    if (h > 23 || mi > 59 || s > 59) return std::nullopt;
    return DateTime{int64_t{date->days} * 86400 + int64_t{h} * 3600 + int64_t{mi} * 60 + s};
}

std::optional<Duration> parse_duration(std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0 || digits > 6) return std::nullopt;
    const int n = to_int(text.substr(0, digits));
    const auto unit = text.substr(digits);
    if (unit == "d") return Duration{0, n};
    if (unit == "w") return Duration{0, n * 7};
    if (unit == "mo") return Duration{n, 0};
    if (unit == "y") return Duration{n * 12, 0};
    return std::nullopt;
}

std::optional<std::string> duration_too_long(std::string_view what, std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    const auto unit = text.substr(digits);
    if (digits <= 6 || (unit != "d" && unit != "w" && unit != "mo" && unit != "y"))
        return std::nullopt;
    return std::string(what) + " '" + std::string(text) +
           "' is too long a duration: at most 6 digits, such as 999999d";
}

std::string duration_error(std::string_view what, std::string_view text) {
    return duration_too_long(what, text)
        .value_or(std::string(what) + " must be a duration such as 7d, 2w, 1mo or 1y");
}

std::string format_date(Date d) {
    const auto c = civil_from_days(d.days);
    char buf[32];
    // A year before 0 keeps its four digits after the sign (ISO 8601's -0001, not -001).
    std::snprintf(buf, sizeof buf, "%s%04d-%02d-%02d", c.year < 0 ? "-" : "",
                  c.year < 0 ? -c.year : c.year, c.month, c.day);
    return buf;
}

std::string format_datetime(DateTime t) {
    const Date d = to_date(t);
    const int64_t secs = t.seconds - int64_t{d.days} * 86400;
    char buf[32];
    std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(secs / 3600),
                  static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
    return format_date(d) + buf;
}

std::string format_duration(Duration d) {
    std::string out;
    if (d.months != 0)
        out += d.months % 12 == 0 ? std::to_string(d.months / 12) + "y"
                                  : std::to_string(d.months) + "mo";
    if (d.days != 0 || out.empty()) {
        if (!out.empty()) out += " ";
        out += d.days % 7 == 0 && d.days != 0 ? std::to_string(d.days / 7) + "w"
                                              : std::to_string(d.days) + "d";
    }
    return out;
}

std::string shown_duration(Duration d, const std::string& written) {
    return written.empty() ? format_duration(d) : written;
}

std::optional<Date> moved_date(Date d, Duration dur, int sign) {
    if (dur.months != 0) {
        const auto c = civil_from_days(d.days);
        // In 64 bits: a month count of 32 bits times a sign, plus the years', does not fit 32.
        const int64_t total = int64_t{c.year} * 12 + (c.month - 1) + int64_t{sign} * dur.months;
        // Floor division: before the year 1 the total is negative (0001-01 - 13mo is
        // -0001-12), and truncation would give month 0 of the wrong year.
        const int64_t year = total >= 0 ? total / 12 : -((-total + 11) / 12);
        const int month = static_cast<int>(total - year * 12 + 1);
        // Leap years repeat every 400, so the year's place in 400 decides February.
        const int day = std::min(c.day, days_in_month(static_cast<int>(year % 400), month));
        const int64_t moved = wide_days_from_civil(year, month, day);
        if (!fits_32_bits(moved)) return std::nullopt;
        d = Date{static_cast<int32_t>(moved)};
    }
    const int64_t days = int64_t{d.days} + int64_t{sign} * dur.days;
    if (!fits_32_bits(days)) return std::nullopt;
    return Date{static_cast<int32_t>(days)};
}

std::optional<DateTime> moved_date(DateTime t, Duration dur, int sign) {
    const Date day = to_date(t);
    const int64_t time_of_day = t.seconds - int64_t{day.days} * 86400;
    const auto moved = moved_date(day, dur, sign);
    if (!moved) return std::nullopt;
    return DateTime{int64_t{moved->days} * 86400 + time_of_day};
}

Date add_duration(Date d, Duration dur, int sign) {
    return moved_date(d, dur, sign).value_or(d);
}

DateTime add_duration(DateTime t, Duration dur, int sign) {
    return moved_date(t, dur, sign).value_or(t);
}

std::optional<Duration> combined_durations(Duration x, Duration y, int sign) {
    const int64_t months = int64_t{x.months} + int64_t{sign} * y.months;
    const int64_t days = int64_t{x.days} + int64_t{sign} * y.days;
    if (!fits_32_bits(months) || !fits_32_bits(days)) return std::nullopt;
    return Duration{static_cast<int32_t>(months), static_cast<int32_t>(days)};
}

Date today_utc() {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
    return to_date(DateTime{secs.count()});
}

}  // namespace strata
