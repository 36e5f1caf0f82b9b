// Text that must stay on one line of a terminal or a message: a cell of a CSV file, a label
// written over several lines, a key with a tab.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strata::text {

// The length of the UTF-8 sequence that starts at s[i] (1 for ASCII), or 0 when the bytes
// there are not one. REQUIRES: i < s.size().
size_t utf8_sequence_length(std::string_view s, size_t i);

// `s` on one line: a line break (CR, LF or CRLF) becomes "⏎" and every other control
// character a space, so that a value cannot break a table, a one-line message, or recolour
// the terminal; so do the C1 controls and the bidirectional marks and overrides (U+202E),
// which would reorder what follows them on the line. A byte that is not UTF-8 becomes U+FFFD, one
// column, as JSON output writes it.
std::string one_line(std::string_view s);

}  // namespace strata::text
