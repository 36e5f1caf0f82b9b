#include "text/blank.hpp"

#include <array>
#include <utility>

namespace strata::text {

namespace {

constexpr std::array<CodePointRange, 12> kBlank = {{
    {0x09, 0x0D},      // tab, line feed, vertical tab, form feed, carriage return
    {0x20, 0x20},      // space
    {0x85, 0x85},      // next line
    {0xA0, 0xA0},      // no-break space
    {0xAD, 0xAD},      // soft hyphen
    {0x1680, 0x1680},  // ogham space mark
    {0x180E, 0x180E},  // Mongolian vowel separator
    {0x2000, 0x200F},  // the spaces of typesetting, zero-width characters, direction marks
    {0x2028, 0x202F},  // line and paragraph separators, embeddings, narrow no-break space
    {0x205F, 0x2064},  // medium mathematical space, word joiner, invisible operators
    {0x3000, 0x3000},  // ideographic space
    {0xFEFF, 0xFEFF},  // zero-width no-break space (the byte-order mark)
}};

// The code point of the well-formed UTF-8 character at s[i] and its length, or length 0.
std::pair<uint32_t, size_t> decode(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char lead = b(0);
    size_t n = 0;
    uint32_t c = 0;
    if (lead < 0x80) return {lead, 1};
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
        c = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        c = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        c = lead & 0x07;
    } else {
        return {0, 0};
    }
    if (i + n > s.size()) return {0, 0};
    for (size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xC0) != 0x80) return {0, 0};
        c = (c << 6) | (b(k) & 0x3F);
    }
    const bool overlong = (n == 3 && c < 0x800) || (n == 4 && c < 0x10000);
    if (overlong || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return {0, 0};
    return {c, n};
}

}  // namespace

std::span<const CodePointRange> blank_ranges() {
    return kBlank;
}

bool is_blank_code_point(uint32_t c) {
    for (const CodePointRange& r : blank_ranges())
        if (c >= r.first && c <= r.last) return true;
    return false;
}

bool is_blank(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const auto [c, n] = decode(s, i);
        if (n == 0 || !is_blank_code_point(c)) return false;
        i += n;
    }
    return true;
}

}  // namespace strata::text
