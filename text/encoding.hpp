// Text encodings at strata's edges (CSV files in, CSV files out): UTF-8 checks, the byte-order
// mark, Windows-1251 (Cyrillic; Bitrix24's default export encoding) both ways, and
// Windows-1252 (Western European) in. Inside
// strata all text is UTF-8.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata::text {

// The UTF-8 byte-order mark, EF BB BF.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Appends code point `c` to `out` as UTF-8. REQUIRES: c <= U+10FFFF and not a surrogate.
void append_utf8(std::string& out, char32_t c);

// `s` without a leading UTF-8 byte-order mark.
std::string_view strip_bom(std::string_view s);

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
// `bad_at`, when given, receives the offset of the first byte that is not.
bool is_valid_utf8(std::string_view s, size_t* bad_at = nullptr);

// Windows-1251 bytes as UTF-8. Every byte maps to a character except 0x98, which is undefined
// in Windows-1251: nullopt with `bad_at` set to its offset.
std::optional<std::string> cp1251_to_utf8(std::string_view s, size_t* bad_at = nullptr);

// Windows-1252 (Western European; Latin-1 with letters in 0x80-0x9F) bytes as UTF-8. The
// bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D are undefined: nullopt with `bad_at` set.
std::optional<std::string> cp1252_to_utf8(std::string_view s, size_t* bad_at = nullptr);

// UTF-8 text as Windows-1251. nullopt, with `bad_at` set to the byte offset of the first
// character Windows-1251 cannot write (or of malformed UTF-8), when there is one.
std::optional<std::string> utf8_to_cp1251(std::string_view s, size_t* bad_at = nullptr);

}  // namespace strata::text
