// The scalar operations of the language on single values: arithmetic with SQL's nulls and
// overflow to null, date and duration arithmetic, comparison (three-valued), and the small
// text helpers of the built-in functions. Internal to engine/: the column evaluator
// (evaluator.cpp) applies them row by row; they are inline so that its loops can inline them.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "dsl/bound.hpp"
#include "engine/evaluator.hpp"
#include "engine/numeric.hpp"
#include "engine/value.hpp"

namespace strata::value_ops {

using ast::BinaryOp;

inline std::optional<bool> truth(const Value& v) {
    if (const auto* b = std::get_if<bool>(&v)) return *b;
    return std::nullopt;
}

inline Value literal_value(const ast::LiteralValue& v) {
    return std::visit(
        [](const auto& x) -> Value {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, ast::Null>)
                return Value{};
            else if constexpr (std::is_same_v<T, std::string>)
                return Value{intern(x)};
            else
                return Value{x};
        },
        v);
}

// The calendar day of a date or datetime; nullopt for anything else.
inline std::optional<int32_t> day_number(const Value& v) {
    if (const auto* d = std::get_if<Date>(&v)) return d->days;
    if (const auto* t = std::get_if<DateTime>(&v)) return to_date(*t).days;
    return std::nullopt;
}

// b − a in calendar days; null unless both are dates or datetimes.
inline Value date_difference(const Value& a, const Value& b) {
    const auto x = day_number(a), y = day_number(b);
    Value out;
    if (x && y) out = int64_t{*y} - *x;
    return out;
}

// A result of the calendar's arithmetic, or null where it does not fit.
template <class T>
Value or_null(const std::optional<T>& v) {
    return v ? Value{*v} : Value{};
}

inline Value arithmetic(BinaryOp op, const Value& l, const Value& r) {
    if (is_null(l) || is_null(r)) return {};
    const auto* li = std::get_if<int64_t>(&l);
    const auto* ri = std::get_if<int64_t>(&r);
    if (li && ri) {
        int64_t out = 0;
        switch (op) {
            // Integer overflow gives null, like any other value that cannot be computed.
            case BinaryOp::Add:
                if (!__builtin_add_overflow(*li, *ri, &out)) return out;
                return {};
            case BinaryOp::Sub:
                if (!__builtin_sub_overflow(*li, *ri, &out)) return out;
                return {};
            case BinaryOp::Mul:
                if (!__builtin_mul_overflow(*li, *ri, &out)) return out;
                return {};
            case BinaryOp::Div:
                if (*ri == 0) return {};
                return static_cast<double>(*li) / static_cast<double>(*ri);
            case BinaryOp::Mod:
                if (*ri == 0) return {};
                if (*ri == -1) return int64_t{0};  // also for INT64_MIN, where % would trap
                return *li % *ri;
            default:
                return {};
        }
    }
    const bool ln = li || std::holds_alternative<double>(l);
    const bool rn = ri || std::holds_alternative<double>(r);
    if (ln && rn) {
        const double x = as_double(l), y = as_double(r);
        double out = 0;
        switch (op) {
            case BinaryOp::Add:
                out = x + y;
                break;
            case BinaryOp::Sub:
                out = x - y;
                break;
            case BinaryOp::Mul:
                out = x * y;
                break;
            case BinaryOp::Div:
                if (y == 0) return {};
                out = x / y;
                break;
            case BinaryOp::Mod:
                if (y == 0) return {};
                out = std::fmod(x, y);
                break;
            default:
                return {};
        }
        return std::isfinite(out) ? Value{out} : Value{};
    }
    const int sign = op == BinaryOp::Sub ? -1 : 1;
    if (const auto* dur = std::get_if<Duration>(&r)) {
        if (const auto* d = std::get_if<Date>(&l)) return or_null(moved_date(*d, *dur, sign));
        if (const auto* t = std::get_if<DateTime>(&l)) return or_null(moved_date(*t, *dur, sign));
        if (const auto* d2 = std::get_if<Duration>(&l))
            return or_null(combined_durations(*d2, *dur, sign));
    }
    if (const auto* dur = std::get_if<Duration>(&l); dur && op == BinaryOp::Add) {
        if (const auto* d = std::get_if<Date>(&r)) return or_null(moved_date(*d, *dur, 1));
        if (const auto* t = std::get_if<DateTime>(&r)) return or_null(moved_date(*t, *dur, 1));
    }
    if (op == BinaryOp::Sub && std::holds_alternative<Date>(l) && std::holds_alternative<Date>(r)) {
        return date_difference(r, l);
    }
    if (op == BinaryOp::Add) {
        const auto* ls = std::get_if<Str>(&l);
        const auto* rs = std::get_if<Str>(&r);
        if (ls && rs) {
            if (ls->str().size() + rs->str().size() > kMaxTextBytes) return {};
            return intern(ls->str() + rs->str());
        }
    }
    return {};
}

inline bool compare_holds(BinaryOp op, int c) {
    switch (op) {
        case BinaryOp::Eq:
            return c == 0;
        case BinaryOp::Ne:
            return c != 0;
        case BinaryOp::Lt:
            return c < 0;
        case BinaryOp::Le:
            return c <= 0;
        case BinaryOp::Gt:
            return c > 0;
        case BinaryOp::Ge:
            return c >= 0;
        default:
            return false;
    }
}

// Values are comparable when the binder allowed it; Any-typed columns can still meet a
// mismatch at run time (a column checked without a schema), which gives null.
inline bool runtime_comparable(const Value& a, const Value& b) {
    auto kind = [](const Value& v) {
        switch (v.index()) {
            case 2:
            case 3:
                return 2;  // numbers
            case 5:
            case 6:
                return 5;  // times
            default:
                return static_cast<int>(v.index());
        }
    };
    return kind(a) == kind(b) && !std::holds_alternative<RecordPtr>(a);
}

// Three-valued truth, one byte a row, for conditions evaluated without building values: the
// bytes of the public Truth.
enum TruthByte : uint8_t { kFalse = 0, kTrue = 1, kUnknown = 2 };
static_assert(kFalse == static_cast<uint8_t>(Truth::False) &&
              kTrue == static_cast<uint8_t>(Truth::True) &&
              kUnknown == static_cast<uint8_t>(Truth::Unknown));

inline TruthByte truth_of(bool b) {
    return b ? kTrue : kFalse;
}

// `l op r` for a comparison op: unknown when either is null or they cannot be compared.
inline TruthByte compare_truth(BinaryOp op, const Value& l, const Value& r) {
    // The common cases first: two values of one kind.
    if (l.index() == r.index()) {
        switch (l.index()) {
            case 2: {
                const int64_t x = *std::get_if<int64_t>(&l), y = *std::get_if<int64_t>(&r);
                return truth_of(compare_holds(op, x < y ? -1 : (y < x ? 1 : 0)));
            }
            case 3: {
                const double x = *std::get_if<double>(&l), y = *std::get_if<double>(&r);
                return truth_of(compare_holds(op, x < y ? -1 : (y < x ? 1 : 0)));
            }
            case 4:
                // Interned strings are equal exactly when they are the same pointer.
                if (op == BinaryOp::Eq || op == BinaryOp::Ne)
                    return truth_of((*std::get_if<Str>(&l) == *std::get_if<Str>(&r)) ==
                                    (op == BinaryOp::Eq));
                break;
            case 5: {
                const int32_t x = std::get_if<Date>(&l)->days, y = std::get_if<Date>(&r)->days;
                return truth_of(compare_holds(op, x < y ? -1 : (y < x ? 1 : 0)));
            }
            default:
                break;
        }
    }
    if (is_null(l) || is_null(r) || !runtime_comparable(l, r)) return kUnknown;
    return truth_of(compare_holds(op, compare_values(l, r)));
}

inline Value compare(BinaryOp op, const Value& l, const Value& r) {
    const TruthByte t = compare_truth(op, l, r);
    return t == kUnknown ? Value{} : Value{t == kTrue};
}

inline size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

inline std::string map_ascii(std::string s, int (*f)(int)) {
    for (char& c : s) {
        if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(c));
    }
    return s;
}

inline Value to_int(double d) {
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return {};  // ±2^63
    return static_cast<int64_t>(d);
}

}  // namespace strata::value_ops
