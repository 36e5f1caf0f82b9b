#include "text/width.hpp"

#include "text/one_line.hpp"

namespace strata::text {

namespace {

// The code point of the valid UTF-8 sequence of `length` bytes at s[i].
char32_t code_point(std::string_view s, size_t i, size_t length) {
    const auto byte = [&](size_t k) {
        return static_cast<char32_t>(static_cast<unsigned char>(s[k]));
    };
    if (length == 1) return byte(i);
    char32_t cp = byte(i) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < length; ++k)
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    return cp;
}

bool in(char32_t cp, char32_t low, char32_t high) {
    return cp >= low && cp <= high;
}

// Marks drawn over the character before them, and the invisible joiners and marks.
bool zero_width(char32_t cp) {
    return in(cp, 0x0300, 0x036F) || in(cp, 0x0483, 0x0489) || in(cp, 0x1AB0, 0x1AFF) ||
           in(cp, 0x1DC0, 0x1DFF) || in(cp, 0x200B, 0x200F) || in(cp, 0x20D0, 0x20FF) ||
           in(cp, 0xFE00, 0xFE0F) || in(cp, 0xFE20, 0xFE2F) || cp == 0xFEFF;
}

// East Asian wide and fullwidth characters, and the emoji terminals draw two columns wide.
bool double_width(char32_t cp) {
    return in(cp, 0x1100, 0x115F) || in(cp, 0x2E80, 0x303E) || in(cp, 0x3041, 0x33FF) ||
           in(cp, 0x3400, 0x4DBF) || in(cp, 0x4E00, 0x9FFF) || in(cp, 0xA000, 0xA4CF) ||
           in(cp, 0xAC00, 0xD7A3) || in(cp, 0xF900, 0xFAFF) || in(cp, 0xFE30, 0xFE4F) ||
           in(cp, 0xFF00, 0xFF60) || in(cp, 0xFFE0, 0xFFE6) || in(cp, 0x1F300, 0x1F64F) ||
           in(cp, 0x1F900, 0x1F9FF) || in(cp, 0x20000, 0x2FFFD) || in(cp, 0x30000, 0x3FFFD);
}

}  // namespace

size_t display_width(std::string_view s) {
    size_t width = 0;
    for (size_t i = 0; i < s.size();) {
        const size_t length = utf8_sequence_length(s, i);
        if (length == 0) {  // not UTF-8: shown as U+FFFD
            ++width;
            ++i;
            continue;
        }
        const char32_t cp = code_point(s, i, length);
        width += zero_width(cp) ? 0 : double_width(cp) ? 2 : 1;
        i += length;
    }
    return width;
}

std::string pad(std::string_view s, size_t width, bool right) {
    const size_t w = display_width(s);
    if (w >= width) return std::string(s);
    const std::string fill(width - w, ' ');
    return right ? fill + std::string(s) : std::string(s) + fill;
}

}  // namespace strata::text
