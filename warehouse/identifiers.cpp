#include "warehouse/identifiers.hpp"

namespace strata::warehouse {

namespace {

bool is_ascii_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

bool is_plain_identifier(std::string_view name) {
    if (name.empty() || name.size() > max_identifier_bytes) return false;
    if (!is_ascii_letter(name[0]) && name[0] != '_') return false;
    for (char c : name) {
        if (!is_ascii_letter(c) && !is_ascii_digit(c) && c != '_') return false;
    }
    return true;
}

std::string identifier_problem(std::string_view name) {
    if (is_plain_identifier(name)) return "";
    std::string shown;
    for (unsigned char c : name) {
        // Control bytes are shown as \xNN so the message stays one readable line.
        if (c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789abcdef";
            shown += "\\x";
            shown += hex[c >> 4];
            shown += hex[c & 15];
        } else {
            shown += static_cast<char>(c);
        }
    }
    return "'" + shown +
           "' is not a name strata writes into warehouse SQL: names are 1 to 63 ASCII letters, "
           "digits and underscores, not starting with a digit";
}

std::optional<std::string> quote_postgres_identifier(std::string_view name) {
    if (!is_plain_identifier(name)) return std::nullopt;
    return "\"" + std::string(name) + "\"";
}

std::optional<std::string> quote_clickhouse_identifier(std::string_view name) {
    if (!is_plain_identifier(name)) return std::nullopt;
    return "`" + std::string(name) + "`";
}

}  // namespace strata::warehouse
