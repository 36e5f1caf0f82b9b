// Characters that show nothing: white space, and the invisible characters that copying from
// documents and spreadsheets brings along (no-break and other spaces, zero-width characters,
// direction marks, the soft hyphen, line and paragraph separators, the byte-order mark). A
// customer key written only with them is no key; inside a name they end the name
// (dsl/grammar.hpp's invisible_char is the same set outside ASCII, a test holds them equal).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace strata::text {

// Every blank character as a range of code points [first, last], in order: the ASCII spaces
// (space, tab, line feed, vertical tab, form feed, carriage return) and the invisible ones.
struct CodePointRange {
    uint32_t first;
    uint32_t last;
};
std::span<const CodePointRange> blank_ranges();

// Whether the code point is one of blank_ranges().
bool is_blank_code_point(uint32_t c);

// Whether `s` is empty or only blank characters. A byte that does not start well-formed UTF-8
// is not blank.
bool is_blank(std::string_view s);

}  // namespace strata::text
