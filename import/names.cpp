#include "import/names.hpp"

#include "text/encoding.hpp"

#include <array>
#include <map>

namespace strata::import {

namespace {

// Decodes the code point at s[i] (s is valid UTF-8), advancing i.
char32_t next_code_point(std::string_view s, size_t& i) {
    const auto c = static_cast<unsigned char>(s[i]);
    auto cont = [&](size_t k) {
        return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F);
    };
    char32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
        cp = ((c & 0x07u) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
        len = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
        cp = ((c & 0x0Fu) << 12) | (cont(1) << 6) | cont(2);
        len = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
        cp = ((c & 0x1Fu) << 6) | cont(1);
        len = 2;
    }
    i += len;
    return cp;
}

// Spaces, punctuation and symbols outside ASCII: the Latin-1 signs, general punctuation,
// currency, letterlike and number forms, arrows, mathematical and technical symbols, boxes,
// dingbats, CJK punctuation, variation selectors, the byte-order mark and full-width signs.
bool is_separator(char32_t cp) {
    return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
           (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || (cp >= 0xFF00 && cp <= 0xFF0F) ||
           (cp >= 0xFF1A && cp <= 0xFF20);
}

char32_t lower(char32_t cp) {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;        // Latin-1
    if (cp >= 0x0410 && cp <= 0x042F) return cp + 32;                  // А..Я
    if (cp >= 0x0400 && cp <= 0x040F) return cp + 80;                  // Ѐ..Џ (Ё, Є, І, Ї)
    if (cp >= 0x0391 && cp <= 0x03AB && cp != 0x03A2) return cp + 32;  // Greek
    if (cp == 0x0490) return 0x0491;                                   // Ґ
    // Latin Extended-A (Polish, Czech, Turkish, Baltic, ...): capitals and small letters
    // alternate, the capital first, on even code points but for the two odd-first runs.
    const bool even_first = (cp >= 0x0100 && cp <= 0x012F) || (cp >= 0x0132 && cp <= 0x0137) ||
                            (cp >= 0x014A && cp <= 0x0177);
    const bool odd_first = (cp >= 0x0139 && cp <= 0x0148) || (cp >= 0x0179 && cp <= 0x017E);
    if ((even_first && cp % 2 == 0) || (odd_first && cp % 2 == 1)) return cp + 1;
    if (cp == 0x0130) return 'i';   // İ
    if (cp == 0x0178) return 0xFF;  // Ÿ
    // Greek capitals with a tonos.
    if (cp == 0x0386) return 0x03AC;
    if (cp >= 0x0388 && cp <= 0x038A) return cp + 37;
    if (cp == 0x038C) return 0x03CC;
    if (cp == 0x038E || cp == 0x038F) return cp + 63;
    return cp;
}

// Cyrillic lower-case letters in Latin letters (the common passport-style spelling).
const char* transliterate(char32_t cp) {
    static const std::array<const char*, 32> kBasic = {
        "a", "b", "v", "g", "d", "e",  "zh", "z",  "i",  "y",    "k", "l", "m", "n", "o",  "p",
        "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "",  "y", "",  "e", "yu", "ya"};
    if (cp >= 0x0430 && cp <= 0x044F) return kBasic[cp - 0x0430];
    switch (cp) {
        case 0x0451:
            return "e";  // ё
        case 0x0454:
            return "ye";  // є
        case 0x0456:
            return "i";  // і
        case 0x0457:
            return "yi";  // ї
        case 0x0491:
            return "g";  // ґ
        default:
            return nullptr;
    }
}

// The built-in names a rule reads instead of a column so named (a table may be so named: a
// rule names tables in YAML, never in an expression).
bool is_builtin_name(std::string_view name) {
    for (const char* word : {"as_of", "previous_segment", "segment_since", "days_in_segment"}) {
        if (name == word) return true;
    }
    return false;
}

}  // namespace

bool is_language_word(std::string_view name) {
    for (const char* word :
         {"and", "or", "not", "in", "between", "is", "null", "true", "false", "where"}) {
        if (name == word) return true;
    }
    return false;
}

std::string column_name_for(std::string_view header, size_t position, bool ascii) {
    std::string name;
    bool pending_separator = false;
    auto put = [&](std::string_view piece) {
        if (piece.empty()) return;
        if (pending_separator && !name.empty()) name += '_';
        pending_separator = false;
        name += piece;
    };
    for (size_t i = 0; i < header.size();) {
        const char32_t cp = lower(next_code_point(header, i));
        if (cp < 0x80) {
            const bool word = (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9');
            if (word) {
                const char c = static_cast<char>(cp);
                put(std::string_view(&c, 1));
            } else {
                pending_separator = true;  // '_' included: runs of them become one
            }
        } else if (is_separator(cp)) {
            pending_separator = true;
        } else if (ascii) {
            if (const char* latin = transliterate(cp)) {
                put(latin);
            } else {
                pending_separator = true;
            }
        } else {
            std::string piece;
            text::append_utf8(piece, cp);
            put(piece);
        }
    }
    if (name.empty()) return "column_" + std::to_string(position);
    if (name[0] >= '0' && name[0] <= '9') name = "_" + name;
    if (is_language_word(name) || is_builtin_name(name)) name += '_';
    return name;
}

bool map_headers(const std::vector<std::string>& headers, bool ascii,
                 std::vector<std::string>& names, std::string& error) {
    names.clear();
    std::map<std::string, size_t> seen;
    for (size_t i = 0; i < headers.size(); ++i) {
        names.push_back(column_name_for(headers[i], i + 1, ascii));
        auto [it, fresh] = seen.emplace(names.back(), i);
        if (!fresh) {
            error = "headers '" + headers[it->second] + "' (column " +
                    std::to_string(it->second + 1) + ") and '" + headers[i] + "' (column " +
                    std::to_string(i + 1) + ") both become the column name '" + names.back() +
                    "'; rename one of them in the file";
            return false;
        }
    }
    return true;
}

bool is_plain_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9') || is_language_word(name)) {
        return false;
    }
    for (size_t i = 0; i < name.size();) {
        const char32_t cp = next_code_point(name, i);
        if (cp < 0x80) {
            const bool ok = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                            (cp >= '0' && cp <= '9') || cp == '_';
            if (!ok) return false;
        } else if (is_separator(cp)) {
            return false;
        }
    }
    return true;
}

}  // namespace strata::import
