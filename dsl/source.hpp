// A rule file's text and the mapping from byte offsets to line:col.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

// A position in a source file. line and col are 1-based; col counts bytes, as clang and vim do
// (render_text places the caret by characters).
// length is how many bytes the underline covers (at least 1); it is drawn over the characters
// those bytes make.
struct Location {
    int line = 0;
    int col = 0;
    int length = 1;
    bool valid() const { return line > 0; }
};

// The largest file read_text_file reads.
inline constexpr size_t kMaxTextFileBytes = size_t{64} << 20;

// Reads a whole file (a rule file, its tests); on failure returns nullopt and sets `error` to a
// sentence naming it and saying why: "cannot read 'x': no such file", "…: it is a directory",
// "…: it is larger than 64 MiB" (a device such as /dev/zero stops there), or the system's
// reason.
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

class SourceFile {
  public:
    SourceFile() = default;
    SourceFile(std::string path, std::string text);

    const std::string& path() const { return path_; }
    // The file's bytes, as read (a byte-order mark included: what was run is stored so).
    const std::string& text() const { return text_; }
    // How many bytes of a UTF-8 byte-order mark open the text: 3, else 0. Editors and YAML
    // do not show it, so line 1 and its columns begin after it.
    size_t bom() const { return line_starts_.empty() ? 0 : line_starts_.front(); }

    // The 1-based line:col of a byte offset. Offsets past the end map to the end, and offsets
    // inside a byte-order mark to 1:1.
    Location locate(size_t offset, int length = 1) const;
    // The text of a 1-based line, without its newline; empty when out of range.
    std::string_view line(int line) const;
    // `at` as users read it: col and length in characters (code points) of its line, where
    // strata's own locations count bytes (what slicing the line needs). The same location on
    // a line of ASCII, or when `at` is not valid or not on a line of this file.
    Location shown(Location at) const;

  private:
    // Where a line's characters stand at some of its bytes: the character boundary at or
    // after every kMarkBytes-th byte, with the characters before it on the line. shown() counts
    // from the nearest one, so its cost does not grow with the column (explain shows every
    // part of a line of a hundred thousand list items).
    static constexpr size_t kMarkBytes = 256;
    struct CharMark {
        size_t byte = 0;
        size_t chars = 0;
    };
    // The characters before byte `col` of line `line` (1-based), as names::char_count counts
    // the line's first col bytes.
    size_t chars_before(int line, size_t col) const;

    std::string path_;
    std::string text_;
    std::vector<size_t> line_starts_;
    std::vector<std::vector<CharMark>> marks_;  // by line; none on a line of ASCII
};

}  // namespace strata
