#include "import/row_writer.hpp"

#include <cctype>

namespace strata::import {

std::string with_article(ColumnType type) {
    const std::string label = type_label(type);
    return (label[0] == 'i' ? "an " : "a ") + label;
}

std::string real_text(double v) {
    char buffer[64];
    sqlite3_snprintf(sizeof buffer, buffer, "%!.15g", v);
    return buffer;
}

bool converts_numeric_texts(std::string declared) {
    for (char& c : declared)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto has = [&](const char* part) { return declared.find(part) != std::string::npos; };
    if (has("INT")) return true;
    if (has("CHAR") || has("CLOB") || has("TEXT")) return false;
    if (has("BLOB") || declared.empty()) return false;
    return true;  // REAL, FLOA, DOUB, or anything else: NUMERIC
}

bool spells_a_number(std::string_view cell) {
    // SQLite skips the same white space as C's isspace in the "C" locale around a number.
    auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
    };
    size_t i = 0, n = cell.size();
    while (i < n && space(cell[i]))
        ++i;
    while (n > i && space(cell[n - 1]))
        --n;
    if (i < n && (cell[i] == '+' || cell[i] == '-')) ++i;
    size_t digits = 0;
    while (i < n && std::isdigit(static_cast<unsigned char>(cell[i])))
        ++i, ++digits;
    if (i < n && cell[i] == '.') {
        ++i;
        while (i < n && std::isdigit(static_cast<unsigned char>(cell[i])))
            ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < n && (cell[i] == 'e' || cell[i] == 'E')) {
        ++i;
        if (i < n && (cell[i] == '+' || cell[i] == '-')) ++i;
        size_t exponent = 0;
        while (i < n && std::isdigit(static_cast<unsigned char>(cell[i])))
            ++i, ++exponent;
        if (exponent == 0) return false;
    }
    return i == n;
}

std::string bind_text_within_limit(sqlite3_stmt* stmt, int slot, std::string_view text) {
    const int limit = sqlite3_limit(sqlite3_db_handle(stmt), SQLITE_LIMIT_LENGTH, -1);
    if (text.size() > static_cast<size_t>(limit))
        return "a value of " + std::to_string(text.size()) + " bytes is longer than the " +
               std::to_string(limit) +
               " bytes SQLite stores in one value (its SQLITE_LIMIT_LENGTH)";
    const int rc =
        sqlite3_bind_text64(stmt, slot, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) return std::string("SQLite cannot take the value: ") + sqlite3_errstr(rc);
    return "";
}

}  // namespace strata::import
