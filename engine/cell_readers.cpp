#include "engine/cell_readers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <tuple>

#include "dsl/calendar.hpp"

namespace strata {

void sort_unconvertible(std::vector<DataQuality::Unconvertible>& findings) {
    std::sort(findings.begin(), findings.end(), [](const auto& a, const auto& b) {
        return std::tie(a.table, a.column, a.type) < std::tie(b.table, b.column, b.type);
    });
}

void ConversionLog::bad(const std::string& column, Type type, sqlite3_value* cell) {
    for (auto& u : dq_.unconvertible) {
        if (u.table == table_ && u.column == column && u.type == type) {
            ++u.count;
            return;
        }
    }
    std::string sample(cell_text(cell).substr(0, 40));
    dq_.unconvertible.push_back({table_, column, type, 1, sample});
    sort_unconvertible(dq_.unconvertible);
}

std::string_view cell_text(sqlite3_value* cell) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(cell));
    return {p ? p : "", static_cast<size_t>(sqlite3_value_bytes(cell))};
}

bool read_text_cell(sqlite3_value* cell, Value& out) {
    // Every non-null value reads as its text; SQLite gives no text for NULL.
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(cell));
    if (p)
        out = intern(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(cell))));
    else
        out = Value{};
    return true;
}

namespace {

// YYYY-MM-DD straight from SQLite's text, without building a string: the common case of a
// date column. Anything else goes through parse_value.
std::optional<Date> fast_date(const unsigned char* p, int n) {
    if (n != 10 || p[4] != '-' || p[7] != '-') return std::nullopt;
    auto digit = [p](int i) { return static_cast<int>(p[i]) - '0'; };
    for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (digit(i) < 0 || digit(i) > 9) return std::nullopt;
    }
    const int y = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
    const int m = digit(5) * 10 + digit(6);
    const int d = digit(8) * 10 + digit(9);
    // Each month's first day and length, worked out once per thread for the years 1900 to
    // 2155 (the rows of a column jump between months, so one remembered month is not enough).
    struct Month {
        int32_t first = 0;
        int32_t length = 0;  // 0: not worked out yet
    };
    constexpr int kFirstYear = 1900, kYears = 256;
    thread_local std::array<Month, size_t{kYears} * 12> months{};
    Month here;
    const bool in_table = y >= kFirstYear && y < kFirstYear + kYears && m >= 1 && m <= 12;
    Month* slot = in_table ? &months[static_cast<size_t>((y - kFirstYear) * 12 + m - 1)] : &here;
    if (slot->length == 0) {
        if (!is_valid_civil(y, m, 1)) return std::nullopt;
        slot->first = days_from_civil(y, m, 1);
        slot->length = m == 12 ? 31 : days_from_civil(y, m + 1, 1) - slot->first;
    }
    if (d < 1 || d > slot->length) return std::nullopt;
    return Date{slot->first + d - 1};
}

// Text that did not take the fast path, through the general parser.
bool parse_cell_text(sqlite3_value* cell, Type type, Value& out) {
    if (auto v = parse_value(cell_text(cell), type)) {
        out = *v;
        return true;
    }
    out = Value{};
    return false;
}

// The switch every typed reader shares: a null cell reads as null, a blob does not convert,
// and integers, fractions and texts go to the type's own hooks, which set `out` and say
// whether the value converted.
template <typename FromInteger, typename FromFraction, typename FromText>
bool read_by_storage(sqlite3_value* cell, Value& out, FromInteger from_integer,
                     FromFraction from_fraction, FromText from_text) {
    switch (sqlite3_value_type(cell)) {
        case SQLITE_NULL:
            out = Value{};
            return true;
        case SQLITE_INTEGER:
            return from_integer(static_cast<int64_t>(sqlite3_value_int64(cell)));
        case SQLITE_FLOAT:
            return from_fraction(sqlite3_value_double(cell));
        case SQLITE_TEXT:
            return from_text();
        default:
            out = Value{};
            return false;
    }
}

// A hook for the storage classes a type takes none of.
struct Refuse {
    Value& out;
    template <typename T>
    bool operator()(T) const {
        out = Value{};
        return false;
    }
};

bool read_int_cell(sqlite3_value* cell, Value& out) {
    return read_by_storage(
        cell, out,
        [&](int64_t i) {
            out = i;
            return true;
        },
        [&](double d) {
            // A whole fraction is the integer it equals (12.0 is 12); 2.5 and values beyond
            // 64 bits are not integers.
            constexpr double kTwo63 = 9223372036854775808.0;
            if (std::trunc(d) != d || d >= kTwo63 || d < -kTwo63) return Refuse{out}(d);
            out = static_cast<int64_t>(d);
            return true;
        },
        [&] { return parse_cell_text(cell, Type::Int, out); });
}

bool read_number_cell(sqlite3_value* cell, Value& out) {
    auto number = [&](auto x) {
        out = static_cast<double>(x);
        return true;
    };
    // SQLite can store an infinity; the language has none (overflow gives null), so it does
    // not convert.
    auto fraction = [&](double d) { return std::isfinite(d) ? number(d) : Refuse{out}(d); };
    return read_by_storage(cell, out, number, fraction,
                           [&] { return parse_cell_text(cell, Type::Number, out); });
}

bool read_bool_cell(sqlite3_value* cell, Value& out) {
    return read_by_storage(
        cell, out,
        [&](int64_t i) {
            if (i != 0 && i != 1) return Refuse{out}(i);
            out = i == 1;
            return true;
        },
        Refuse{out}, [&] { return parse_cell_text(cell, Type::Bool, out); });
}

bool read_date_cell(sqlite3_value* cell, Value& out) {
    return read_by_storage(cell, out, Refuse{out}, Refuse{out}, [&] {
        if (auto d = fast_date(sqlite3_value_text(cell), sqlite3_value_bytes(cell))) {
            out = *d;
            return true;
        }
        return parse_cell_text(cell, Type::Date, out);
    });
}

bool read_datetime_cell(sqlite3_value* cell, Value& out) {
    return read_by_storage(cell, out, Refuse{out}, Refuse{out},
                           [&] { return parse_cell_text(cell, Type::DateTime, out); });
}

// A column of no declared type keeps numbers as numbers and reads the rest as text.
bool read_any_cell(sqlite3_value* cell, Value& out) {
    switch (sqlite3_value_type(cell)) {
        case SQLITE_INTEGER:
            out = static_cast<int64_t>(sqlite3_value_int64(cell));
            return true;
        case SQLITE_FLOAT:
            out = sqlite3_value_double(cell);
            return true;
        case SQLITE_NULL:
            out = Value{};
            return true;
        default:
            out = intern(cell_text(cell));
            return true;
    }
}

}  // namespace

CellReader reader_for(Type type) {
    switch (type) {
        case Type::String:
            return read_text_cell;
        case Type::Int:
            return read_int_cell;
        case Type::Number:
            return read_number_cell;
        case Type::Bool:
            return read_bool_cell;
        case Type::Date:
            return read_date_cell;
        case Type::DateTime:
            return read_datetime_cell;
        default:
            return read_any_cell;
    }
}

std::vector<CellReader> readers_for(const std::vector<bound::ColumnUse>& columns) {
    std::vector<CellReader> out;
    for (const auto& c : columns)
        out.push_back(reader_for(c.type));
    return out;
}

}  // namespace strata
