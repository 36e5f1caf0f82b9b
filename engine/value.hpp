// Runtime values and columns. Evaluation works a column at a time: each bound expression
// becomes one Column with a Value per row.
//
// A Value is 16 bytes and trivially copyable: strings are interned (equal texts share one
// pointer, so equality is a pointer compare) and records live in an arena. Both belong to a
// ValuePool (engine/value_pool.hpp), the calling thread's current one, set by a
// ValuePoolScope; nothing is process-wide. A value lives as long as its pool, and values of
// different pools are never compared (two pools give the same text different pointers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dsl/calendar.hpp"
#include "dsl/types.hpp"

namespace strata {

// An interned string.
struct Str {
    const std::string* p = nullptr;
    const std::string& str() const { return *p; }
    bool operator==(const Str& o) const { return p == o.p; }
};

// Returns the current pool's one copy of `text`. Throws std::logic_error when the calling
// thread has no pool in scope (engine/value_pool.hpp).
Str intern(std::string_view text);

struct RecordValue;
using RecordPtr = const RecordValue*;

using Value =
    std::variant<std::monostate, bool, int64_t, double, Str, Date, DateTime, Duration, RecordPtr>;

struct RecordValue {
    static constexpr size_t kMaxFields = 4;
    Value fields[kMaxFields];
    size_t size = 0;  // the fields made; any of them may be null ({null, 1, 1, null})
};

// A record in the current pool, with the given fields (at most kMaxFields). Throws
// std::logic_error when the calling thread has no pool in scope.
RecordPtr make_record(std::initializer_list<Value> fields);

using Column = std::vector<Value>;

inline bool is_null(const Value& v) {
    return std::holds_alternative<std::monostate>(v);
}

// Numeric view of an Int or Number. REQUIRES: v holds one of them.
double as_double(const Value& v);

// Total order for comparable values: Int and Number compare exactly as the values they are
// (not through a rounded double), Date and DateTime
// on one time line, strings bytewise, bools false < true.
// REQUIRES: both non-null and of comparable kinds.
int compare_values_slow(const Value& a, const Value& b);
inline int compare_values(const Value& a, const Value& b) {
    // The common cases first, without a visit: same kind of number, date or string.
    if (a.index() == b.index()) {
        switch (a.index()) {
            case 2: {
                const int64_t x = *std::get_if<int64_t>(&a), y = *std::get_if<int64_t>(&b);
                return x < y ? -1 : (y < x ? 1 : 0);
            }
            case 3: {
                const double x = *std::get_if<double>(&a), y = *std::get_if<double>(&b);
                return x < y ? -1 : (y < x ? 1 : 0);
            }
            case 4:
                if (*std::get_if<Str>(&a) == *std::get_if<Str>(&b)) return 0;
                break;
            case 5: {
                const int32_t x = std::get_if<Date>(&a)->days, y = std::get_if<Date>(&b)->days;
                return x < y ? -1 : (y < x ? 1 : 0);
            }
            default:
                break;
        }
    }
    return compare_values_slow(a, b);
}
inline bool values_equal(const Value& a, const Value& b) {
    return compare_values(a, b) == 0;
}

// Converts a value to the static type of its expression (Int → Number, Date → DateTime).
Value coerce(Value v, Type to);

// Text as a person reads it: 12, 3.5, 'x' → x, 2026-01-01, null. A number is written with 15
// significant digits when they read back as it, and otherwise with as many as it takes
// (0.1 + 0.2 is 0.30000000000000004): two different numbers never read alike.
std::string format_value(const Value& v);

// A customer key as given, for a message: as it is, or in quotes when it is empty or begins or
// ends with a space; a long one cut after 64 characters, with "…"; on one line (a line break
// shown as ⏎, another control character as a space: text/one_line.hpp).
std::string key_in_message(std::string_view key);
// A customer key of the base, for a message: an integer as it is; a text as key_in_message
// has it, and in quotes when it reads as a number, so that the text '42' is not taken for
// the integer 42 (a base may hold both).
std::string key_value_in_message(const Value& key);

// Converts text (as stored in SQLite or written in a test) to a type; nullopt when the text
// does not convert (the caller counts that as a data-quality finding). Strings keep the text
// as it is; other types ignore surrounding whitespace and take only a text that means exactly
// one value: integers whole decimals within 64 bits, numbers finite decimals, bools the
// spellings parse_bool_spelling takes, dates YYYY-MM-DD or a datetime's day. docs/running.md
// has the table ("How values convert").
std::optional<Value> parse_value(std::string_view text, Type type);

// The boolean spellings CRM exports write, in any letter case (Cyrillic included): true, yes,
// y, 1, да → true; false, no, n, 0, нет → false. nullopt for anything else; `text` is taken
// as it is (trim it first).
std::optional<bool> parse_bool_spelling(std::string_view text);

}  // namespace strata
