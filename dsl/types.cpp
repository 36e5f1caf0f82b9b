#include "dsl/types.hpp"

#include <algorithm>
#include <cctype>

namespace strata {

const char* type_name(Type t) {
    switch (t) {
        case Type::Any:
            return "any";
        case Type::Null:
            return "null";
        case Type::Bool:
            return "bool";
        case Type::Int:
            return "integer";
        case Type::Number:
            return "number";
        case Type::String:
            return "string";
        case Type::Date:
            return "date";
        case Type::DateTime:
            return "datetime";
        case Type::Duration:
            return "duration";
        case Type::Record:
            return "record";
    }
    return "?";
}

std::string with_article(Type t) {
    const std::string name = type_name(t);
    const bool vowel = name[0] == 'a' || name[0] == 'i';
    return (vowel ? "an " : "a ") + name;
}

std::optional<Type> unify(Type a, Type b) {
    if (a == b) return a;
    if (a == Type::Null) return b;
    if (b == Type::Null) return a;
    if (a == Type::Any) return b;
    if (b == Type::Any) return a;
    if (is_numeric(a) && is_numeric(b)) return Type::Number;
    if (is_temporal(a) && is_temporal(b)) return Type::DateTime;
    return std::nullopt;
}

bool comparable(Type a, Type b) {
    if (a == Type::Record || b == Type::Record) return false;
    return unify(a, b).has_value();
}

Type type_from_declared(std::string_view declared) {
    std::string upper(declared);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    auto has = [&upper](const char* word) { return upper.find(word) != std::string::npos; };
    if (has("DATETIME") || has("TIMESTAMP")) return Type::DateTime;
    if (has("DATE")) return Type::Date;
    if (has("BOOL")) return Type::Bool;
    if (has("INT")) return Type::Int;
    if (has("REAL") || has("FLOA") || has("DOUB") || has("NUMERIC") || has("DECIMAL")) {
        return Type::Number;
    }
    return Type::String;
}

std::optional<Type> type_from_name(std::string_view written) {
    std::string name(written);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "integer" || name == "int") return Type::Int;
    if (name == "number" || name == "real" || name == "float") return Type::Number;
    if (name == "string" || name == "text") return Type::String;
    if (name == "date") return Type::Date;
    if (name == "datetime" || name == "timestamp") return Type::DateTime;
    if (name == "bool" || name == "boolean") return Type::Bool;
    return std::nullopt;
}

}  // namespace strata
