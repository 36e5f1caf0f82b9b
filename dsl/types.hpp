// The language's value types, and the mapping from SQLite's declared column types.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

enum class Type {
    Any,   // not known until the schema is (a column checked without --db)
    Null,  // the literal null: fits every type
    Bool,
    Int,
    Number,
    String,
    Date,
    DateTime,
    Duration,
    Record,  // rfm(...): fields r, f, m (integers) and code (string)
};

// The longest text the language makes, in bytes: a `+` whose result would be longer gives
// null, as an integer overflow does. It keeps a rule file's cost linear in its size (doubling
// lets, `s: s + s`, would otherwise grow a text exponentially). The engine and every SQL
// dialect share this definition.
inline constexpr size_t kMaxTextBytes = 65536;

const char* type_name(Type t);
// "an integer", "a string": the type name with its article, for messages.
std::string with_article(Type t);

inline bool is_numeric(Type t) {
    return t == Type::Int || t == Type::Number;
}
inline bool is_temporal(Type t) {
    return t == Type::Date || t == Type::DateTime;
}
// Any and Null fit wherever a specific type is expected.
inline bool is_open(Type t) {
    return t == Type::Any || t == Type::Null;
}

// The common type of two branches (coalesce, if, lists): Int+Number → Number,
// Date+DateTime → DateTime, Null/Any take the other side. nullopt when they don't mix.
std::optional<Type> unify(Type a, Type b);

// True when values of a and b can be compared with == and <.
bool comparable(Type a, Type b);

// SQLite declared type → language type. The declared type is searched, in any letter case,
// for these parts in this order, and the first found decides: DATETIME or TIMESTAMP →
// DateTime, DATE → Date, BOOL → Bool, INT → Int, REAL, FLOA, DOUB, NUMERIC or DECIMAL →
// Number; anything else (TEXT, VARCHAR, none at all) → String. docs/language.md has the table.
Type type_from_declared(std::string_view declared);

// A type name in a rule file's `types:` map, in any letter case: integer|int,
// number|real|float, string|text, date, datetime|timestamp, bool|boolean.
std::optional<Type> type_from_name(std::string_view name);

}  // namespace strata
