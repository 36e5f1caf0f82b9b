#include "text/one_line.hpp"

namespace strata::text {

size_t utf8_sequence_length(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0 && c >= 0xC2)
        n = 2;
    else if ((c & 0xF0) == 0xE0)
        n = 3;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    }
    return n;
}

namespace {

// A character above ASCII that a terminal obeys rather than shows: the C1 controls (U+0080 to
// U+009F; U+009B starts an escape sequence on some terminals) and the bidirectional marks,
// embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to
// U+2069), which reorder the rest of the line. REQUIRES: `c` is one UTF-8 sequence.
bool hidden_control(std::string_view c) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(c[k]); };
    if (c.size() == 2)  // U+0080..U+009F, U+061C
        return (b(0) == 0xC2 && b(1) <= 0x9F) || (b(0) == 0xD8 && b(1) == 0x9C);
    if (c.size() != 3 || b(0) != 0xE2) return false;
    if (b(1) == 0x80) return b(2) == 0x8E || b(2) == 0x8F || (b(2) >= 0xAA && b(2) <= 0xAE);
    return b(1) == 0x81 && b(2) >= 0xA6 && b(2) <= 0xA9;  // U+2066..U+2069
}

}  // namespace

std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            out += "\u23CE";
        } else if (c < 0x20 || c == 0x7F) {
            out += ' ';
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (const size_t n = utf8_sequence_length(s, i); n > 0) {
            if (hidden_control(s.substr(i, n)))
                out += ' ';
            else
                out.append(s, i, n);
            i += n - 1;
        } else {
            out += "\uFFFD";
        }
    }
    return out;
}

}  // namespace strata::text
