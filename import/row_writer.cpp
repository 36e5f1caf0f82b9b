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
    size_t i = 0, n = cell.size();
    while (i < n && cell[i] == ' ')
        ++i;
    while (n > i && cell[n - 1] == ' ')
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
}  // namespace strata::import
