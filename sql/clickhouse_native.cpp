#include "sql/clickhouse_native.hpp"

#include <cctype>

namespace strata::sql {

namespace {

// `t` without the wrapper `name(...)`, or nullopt when it is not so wrapped.
bool unwrap(std::string& t, const std::string& name) {
    const std::string open = name + "(";
    if (t.rfind(open, 0) != 0 || t.empty() || t.back() != ')') return false;
    t = t.substr(open.size(), t.size() - open.size() - 1);
    return true;
}

bool is_enum(const std::string& t) {
    return t.rfind("Enum8(", 0) == 0 || t.rfind("Enum16(", 0) == 0;
}

// The number of an enum's first element ('name' = number): a value the enum holds, so that
// a NULL can stand in as it while the name is looked up (ClickHouse 18.16 names the 0 that
// sits under a NULL, and stops when 0 is not one of the enum's values).
std::string first_enum_value(const std::string& t) {
    size_t i = t.find('(');
    if (i == std::string::npos || i + 1 >= t.size() || t[i + 1] != '\'') return "1";
    for (i += 2; i < t.size(); ++i) {
        if (t[i] == '\\') {
            ++i;
            continue;
        }
        if (t[i] == '\'') break;
    }
    size_t p = t.find('=', i);
    if (p == std::string::npos) return "1";
    ++p;
    while (p < t.size() && t[p] == ' ')
        ++p;
    std::string digits;
    if (p < t.size() && t[p] == '-') digits += t[p++];
    while (p < t.size() && std::isdigit(static_cast<unsigned char>(t[p])))
        digits += t[p++];
    return digits.empty() || digits == "-" ? "1" : digits;
}

}  // namespace

Type clickhouse_native_kind(const std::string& native) {
    std::string t = native;
    while (unwrap(t, "LowCardinality") || unwrap(t, "Nullable")) {
    }
    if (t == "Int8" || t == "Int16" || t == "Int32" || t == "Int64" || t == "UInt16" ||
        t == "UInt32" || t == "UInt64")
        return Type::Int;
    if (t == "UInt8") return Type::Bool;
    if (t == "Float32" || t == "Float64" || t.rfind("Decimal", 0) == 0) return Type::Number;
    if (t == "String" || t.rfind("FixedString(", 0) == 0 || is_enum(t)) return Type::String;
    if (t == "Date") return Type::Date;
    if (t == "DateTime" || t.rfind("DateTime(", 0) == 0) return Type::DateTime;
    return Type::Any;
}

std::string clickhouse_native_value(const std::string& native, const std::string& cell) {
    std::string t = native;
    bool low_cardinality = false, nullable = false;
    for (;;) {
        if (unwrap(t, "LowCardinality"))
            low_cardinality = true;
        else if (unwrap(t, "Nullable"))
            nullable = true;
        else
            break;
    }
    std::string v = cell;
    if (low_cardinality) v = "CAST(" + v + " AS " + (nullable ? "Nullable(" + t + ")" : t) + ")";
    if (t == "UInt64") return "if(" + v + " <= 9223372036854775807, toInt64(" + v + "), NULL)";
    // The language has no infinity and no NaN: such a float is no number (unconvertible), as
    // SQLite and PostgreSQL read it.
    if (t == "Float64" || t == "Float32") return "if(isFinite(" + v + "), " + v + ", NULL)";
    if (is_enum(t)) {
        if (!nullable) return "toString(" + v + ")";
        const std::string width = t.rfind("Enum8(", 0) == 0 ? "Int8" : "Int16";
        return "if(isNull(" + v + "), NULL, toString(CAST(ifNull(CAST(" + v + " AS Nullable(" +
               width + ")), " + first_enum_value(t) + ") AS " + t + ")))";
    }
    return v;
}

bool clickhouse_native_decimal(const std::string& native) {
    std::string t = native;
    while (unwrap(t, "LowCardinality") || unwrap(t, "Nullable")) {
    }
    return t.rfind("Decimal", 0) == 0;
}

}  // namespace strata::sql
