// How wide text is on a terminal, for tables whose columns must line up whatever the script:
// Latin and Cyrillic letters take one column, CJK ideographs, kana, Hangul and emoji two, and
// combining marks none.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::text {

// The columns `s` takes on a terminal. A byte that is not UTF-8 counts one (it shows as
// U+FFFD).
size_t display_width(std::string_view s);

// `s` followed (or, `right`, preceded) by spaces up to `width` columns; as it is when wider.
std::string pad(std::string_view s, size_t width, bool right = false);

}  // namespace strata::text
