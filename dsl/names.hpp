// Names in rule files: columns, lets, facts and their columns, record fields, function and
// argument names. A name is letters of any alphabet, digits and _, and does not start with a
// digit (`дата_регистрации`, `revenue_2024`); dsl/grammar.hpp says which characters are
// letters. These helpers answer the grammar's question for code outside the parser, and
// measure names in characters (code points) rather than bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace strata::names {

// The length in bytes of the name character (letter, digit or _) at s[i], or 0 when s[i]
// does not start one (punctuation, a space, malformed UTF-8, or i past the end).
size_t name_char_length(std::string_view s, size_t i);

// The length in bytes of the character at s[i]: 1 for ASCII and for a byte that does not
// start well-formed UTF-8, else the UTF-8 sequence's length. 0 when i is past the end.
size_t char_length(std::string_view s, size_t i);

// How many characters s holds, counting a byte of malformed UTF-8 as one character.
size_t char_count(std::string_view s);

// Whether every byte of s is ASCII.
bool is_ascii(std::string_view s);

}  // namespace strata::names
