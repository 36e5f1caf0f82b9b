#include "warehouse/identifiers.hpp"

namespace strata::warehouse {

namespace {

bool is_ascii_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}

// The code point of the UTF-8 sequence at name[i] (advancing i past it), or -1 when the bytes
// there are not a shortest, valid sequence of a code point that is not a surrogate.
long next_code_point(std::string_view name, size_t& i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(name[k]); };
    const unsigned char lead = byte(i);
    size_t length = lead < 0x80         ? 1
                    : (lead >> 5) == 6  ? 2
                    : (lead >> 4) == 14 ? 3
                    : (lead >> 3) == 30 ? 4
                                        : 0;
    if (length == 0 || i + length > name.size()) return -1;
    long cp = length == 1 ? lead : lead & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) >> 6) != 2) return -1;
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    }
    static const long shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < shortest[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    i += length;
    return cp;
}

// Beyond ASCII, a name may hold any character but those that do not show or that separate:
// C1 controls, spaces, zero-width and direction marks, line and paragraph separators, the
// byte-order mark and the specials block.
bool is_name_character(long cp) {
    if (cp < 0x80) return false;  // ASCII is checked apart
    return !(cp <= 0xa0 || cp == 0xad || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) ||
             (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 ||
             cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xffff));
}

}  // namespace

bool is_plain_identifier(std::string_view name) {
    if (name.empty() || name.size() > max_identifier_bytes) return false;
    if (is_ascii_digit(name[0])) return false;
    for (size_t i = 0; i < name.size();) {
        const char c = name[i];
        if (is_ascii_letter(c) || is_ascii_digit(c) || c == '_') {
            ++i;
            continue;
        }
        if (static_cast<unsigned char>(c) < 0x80 || !is_name_character(next_code_point(name, i)))
            return false;
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
           "' is not a name strata writes into warehouse SQL: names are 1 to 63 bytes of letters "
           "(of any alphabet, in UTF-8), digits and underscores, not starting with a digit";
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
