#include "text/encoding.hpp"

#include <array>
#include <cstdint>

namespace strata::text {

namespace {

// The characters of bytes 0x80..0xFF in Windows-1251; 0 for the one undefined byte, 0x98.
constexpr std::array<char32_t, 128> kCp1251High = {
    0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039,
    0x040A, 0x040C, 0x040B, 0x040F, 0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x0000, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F, 0x00A0, 0x040E, 0x045E, 0x0408,
    0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
    0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB,
    0x0458, 0x0405, 0x0455, 0x0457, 0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F, 0x0420, 0x0421, 0x0422, 0x0423,
    0x0424, 0x0425, 0x0426, 0x0427, 0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437, 0x0438, 0x0439, 0x043A, 0x043B,
    0x043C, 0x043D, 0x043E, 0x043F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
};

// Decodes the UTF-8 character at s[i]; its length in `len`. nullopt when malformed.
std::optional<char32_t> next_utf8(std::string_view s, size_t i, size_t& len) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        len = 1;
        return b0;
    }
    size_t n = 0;
    char32_t c = 0, min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        n = 2, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 3, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 4, c = b0 & 0x07, min = 0x10000;
    } else {
        return std::nullopt;
    }
    if (i + n > s.size()) return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return std::nullopt;
        c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
    len = n;
    return c;
}

}  // namespace

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

std::string_view strip_bom(std::string_view s) {
    return s.substr(0, kUtf8Bom.size()) == kUtf8Bom ? s.substr(kUtf8Bom.size()) : s;
}

bool is_valid_utf8(std::string_view s, size_t* bad_at) {
    for (size_t i = 0; i < s.size();) {
        size_t len = 0;
        if (!next_utf8(s, i, len)) {
            if (bad_at) *bad_at = i;
            return false;
        }
        i += len;
    }
    return true;
}

// A single-byte code page as UTF-8: ASCII as it is, and each byte from 0x80 on as the
// character `high(byte)` gives (0 where the code page leaves the byte undefined).
template <class HighHalf>
std::optional<std::string> single_byte_to_utf8(std::string_view s, size_t* bad_at, HighHalf high) {
    std::string out;
    out.reserve(s.size() + s.size() / 2);
    for (size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            out += static_cast<char>(b);
            continue;
        }
        const char32_t c = high(b);
        if (c == 0) {
            if (bad_at) *bad_at = i;
            return std::nullopt;
        }
        append_utf8(out, c);
    }
    return out;
}

std::optional<std::string> cp1251_to_utf8(std::string_view s, size_t* bad_at) {
    return single_byte_to_utf8(s, bad_at, [](unsigned char b) { return kCp1251High[b - 0x80]; });
}

std::optional<std::string> cp1252_to_utf8(std::string_view s, size_t* bad_at) {
    // 0x80 to 0x9F; from 0xA0 on, each byte is the code point of its value (as in Latin-1).
    static constexpr char32_t kLow[32] = {
        0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};
    return single_byte_to_utf8(
        s, bad_at, [](unsigned char b) { return b < 0xA0 ? kLow[b - 0x80] : char32_t{b}; });
}

std::optional<std::string> utf8_to_cp1251(std::string_view s, size_t* bad_at) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        size_t len = 0;
        const auto c = next_utf8(s, i, len);
        if (!c) {
            if (bad_at) *bad_at = i;
            return std::nullopt;
        }
        if (*c < 0x80) {
            out += static_cast<char>(*c);
        } else {
            size_t k = 0;
            while (k < kCp1251High.size() && kCp1251High[k] != *c)
                ++k;
            if (k == kCp1251High.size()) {
                if (bad_at) *bad_at = i;
                return std::nullopt;
            }
            out += static_cast<char>(0x80 + k);
        }
        i += len;
    }
    return out;
}

}  // namespace strata::text
