#include "dsl/source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dsl/names.hpp"

namespace strata {

std::optional<std::string> read_text_file(const std::string& path, std::string& error) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        error = "cannot read '" + path + "': no such file";
        return std::nullopt;
    }
    if (std::filesystem::is_directory(path, ec)) {
        error = "cannot read '" + path + "': it is a directory";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read '" + path + "': " + std::strerror(errno);
        return std::nullopt;
    }
    // Read in pieces up to the limit: a device such as /dev/zero, or a data file given by
    // mistake, would otherwise be read until memory runs out.
    std::string text;
    char piece[1 << 16];
    while (in.read(piece, sizeof piece) || in.gcount() > 0) {
        text.append(piece, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxTextFileBytes) {
            error = "cannot read '" + path + "': it is larger than " +
                    std::to_string(kMaxTextFileBytes >> 20) +
                    " MiB, more than any rule or test file; is it the right file?";
            return std::nullopt;
        }
    }
    if (in.bad()) {
        error = "cannot read '" + path + "': read failed";
        return std::nullopt;
    }
    return text;
}

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
    line_starts_.push_back(text_.starts_with("\xEF\xBB\xBF") ? 3 : 0);
    for (size_t i = 0; i < text_.size(); ++i) {
        if (text_[i] == '\n') line_starts_.push_back(i + 1);
    }
    marks_.resize(line_starts_.size());
    for (size_t l = 0; l < line_starts_.size(); ++l) {
        const std::string_view text = line(static_cast<int>(l + 1));
        if (names::is_ascii(text)) continue;
        std::vector<CharMark>& marks = marks_[l];
        size_t chars = 0;
        for (size_t i = 0; i < text.size(); i += names::char_length(text, i), ++chars) {
            if (marks.empty() || i >= marks.back().byte + kMarkBytes) marks.push_back({i, chars});
        }
    }
}

size_t SourceFile::chars_before(int line_number, size_t col) const {
    const std::vector<CharMark>& marks = marks_[static_cast<size_t>(line_number - 1)];
    if (marks.empty()) return col;
    auto after = std::upper_bound(marks.begin(), marks.end(), col,
                                  [](size_t c, const CharMark& m) { return c < m.byte; });
    const CharMark& from = *std::prev(after);  // marks[0] is byte 0
    return from.chars + names::char_count(line(line_number).substr(from.byte, col - from.byte));
}

Location SourceFile::locate(size_t offset, int length) const {
    offset = std::clamp(offset, bom(), text_.size());
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line_index = static_cast<size_t>(it - line_starts_.begin()) - 1;
    return Location{static_cast<int>(line_index + 1),
                    static_cast<int>(offset - line_starts_[line_index] + 1), std::max(1, length)};
}

std::string_view SourceFile::line(int line) const {
    if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
    const size_t begin = line_starts_[line - 1];
    size_t end =
        static_cast<size_t>(line) < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
    if (end > begin && text_[end - 1] == '\r') --end;
    return std::string_view(text_).substr(begin, end - begin);
}

Location SourceFile::shown(Location at) const {
    if (!at.valid() || at.col < 1 || static_cast<size_t>(at.line) > line_starts_.size()) return at;
    const std::string_view text = line(at.line);
    const size_t col = std::min(static_cast<size_t>(at.col - 1), text.size());
    const size_t end = std::min(col + static_cast<size_t>(std::max(at.length, 0)), text.size());
    at.col = static_cast<int>(chars_before(at.line, col) + 1);
    // A location past the line's end (the end of the file, say) keeps its bytes there.
    at.length = end > col ? static_cast<int>(names::char_count(text.substr(col, end - col)) +
                                             (col + static_cast<size_t>(at.length) - end))
                          : at.length;
    return at;
}

}  // namespace strata
