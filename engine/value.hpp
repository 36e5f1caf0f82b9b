// Runtime values and columns. Evaluation works a column at a time: each bound expression
// becomes one Column with a Value per row.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dsl/calendar.hpp"
#include "dsl/types.hpp"

namespace strata {

struct RecordValue;
using RecordPtr = std::shared_ptr<const RecordValue>;

using Value = std::variant<std::monostate, bool, int64_t, double, std::string, Date, DateTime,
                           Duration, RecordPtr>;

struct RecordValue {
    std::vector<Value> fields;
};

using Column = std::vector<Value>;

inline bool is_null(const Value& v) {
    return std::holds_alternative<std::monostate>(v);
}

// Numeric view of an Int or Number. REQUIRES: v holds one of them.
double as_double(const Value& v);

// Total order for comparable values: Int and Number compare numerically, Date and DateTime
// on one time line, strings bytewise, bools false < true.
// REQUIRES: both non-null and of comparable kinds.
int compare_values(const Value& a, const Value& b);
bool values_equal(const Value& a, const Value& b);

// Converts a value to the static type of its expression (Int → Number, Date → DateTime).
Value coerce(Value v, Type to);

// Text as a person reads it: 12, 3.5, 'x' → x, 2026-01-01, null.
std::string format_value(const Value& v);

// Converts text (as stored in SQLite or written in a test) to a type; nullopt when the text
// does not convert (the caller counts that as a data-quality finding).
std::optional<Value> parse_value(const std::string& text, Type type);

}  // namespace strata
