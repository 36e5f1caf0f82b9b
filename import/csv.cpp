#include "import/csv.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "text/encoding.hpp"

namespace strata::import {

namespace {

// The line breaks in text[from, to): LF, CRLF, or a lone CR (old Mac files), each one.
size_t line_breaks(std::string_view text, size_t from, size_t to) {
    size_t breaks = 0;
    for (size_t i = from; i < to; ++i) {
        if (text[i] == '\n')
            ++breaks;
        else if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))
            ++breaks;
    }
    return breaks;
}

size_t line_of_offset(std::string_view text, size_t offset) {
    return 1 + line_breaks(text, 0, std::min(offset, text.size()));
}

bool is_ascii_letter(unsigned char b) {
    return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

// Whether bytes that are not UTF-8 read as Western European text rather than Cyrillic: in
// Latin-1 or Windows-1252 a byte from 0xC0 up is a letter inside a Latin word (Müller, Café,
// São), while a Cyrillic word in Windows-1251 is all such bytes (and Ё, ё). Counts those bytes
// beside an ASCII letter as Western votes and the others as Cyrillic ones. Of the bytes below,
// most are the same symbol in both (the en dash, «», the no-break space between thousands) and
// do not vote, since in Western files they stand apart from any letter; three are a common
// symbol in one and a rare letter or sign in the other: 0x80 (€ in Windows-1252), 0x88 and
// 0xB9 (€ and № in Windows-1251). A file with no vote at all is Western.
bool reads_as_western(std::string_view bytes) {
    size_t western = 0, cyrillic = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        if (b == 0x80) {
            ++western;
        } else if (b == 0x88 || b == 0xB9) {
            ++cyrillic;
        } else if (b >= 0xC0 || b == 0xA8 || b == 0xB8) {
            const bool before = i > 0 && is_ascii_letter(static_cast<unsigned char>(bytes[i - 1]));
            const bool after =
                i + 1 < bytes.size() && is_ascii_letter(static_cast<unsigned char>(bytes[i + 1]));
            ++(before || after ? western : cyrillic);
        }
    }
    return western > cyrillic || (western == 0 && cyrillic == 0);
}

}  // namespace

bool decode_text(std::string bytes, Encoding encoding, DecodedText& out, std::string& error) {
    // UTF-16 (Excel's "Unicode Text", some CRMs): not read, but named, rather than taken
    // for Windows-1251 with a NUL between every two letters.
    if (bytes.size() >= 2 && ((bytes[0] == '\xFF' && bytes[1] == '\xFE') ||
                              (bytes[0] == '\xFE' && bytes[1] == '\xFF'))) {
        error = std::string("the file is UTF-16 (it starts with a UTF-16 ") +
                (bytes[0] == '\xFF' ? "little" : "big") +
                "-endian byte-order mark), which strata does not read: save it as UTF-8 (in Excel, "
                "\"CSV UTF-8\") or convert it (iconv -f UTF-16 -t UTF-8)";
        return false;
    }
    if (const size_t nul = bytes.find('\0'); nul != std::string::npos) {
        error = "line " + std::to_string(line_of_offset(bytes, nul)) +
                ": a NUL byte, which text has none of: the file is not a CSV text (UTF-16 "
                "without a byte-order mark?)";
        return false;
    }
    const bool bom = bytes.compare(0, text::kUtf8Bom.size(), text::kUtf8Bom) == 0;
    out.had_bom = bom;
    out.chosen = encoding == Encoding::Auto;
    if (bom) {
        if (encoding == Encoding::Cp1251 || encoding == Encoding::Cp1252) {
            error = std::string("the file starts with a UTF-8 byte-order mark, but --encoding ") +
                    (encoding == Encoding::Cp1251 ? "cp1251" : "cp1252") +
                    " was given; leave --encoding auto or give --encoding utf-8";
            return false;
        }
        bytes.erase(0, text::kUtf8Bom.size());
    }
    size_t bad_at = 0;
    if (encoding != Encoding::Cp1251 && encoding != Encoding::Cp1252) {
        if (text::is_valid_utf8(bytes, &bad_at)) {
            out.encoding = "utf-8";
            out.text = std::move(bytes);
            return true;
        }
        if (encoding == Encoding::Utf8 || bom) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(bytes[bad_at]));
            error = "line " + std::to_string(line_of_offset(bytes, bad_at)) + ": byte " + hex +
                    " is not UTF-8" +
                    (bom ? " although the file starts with a UTF-8 byte-order mark"
                         : "; give --encoding cp1251 if the file is Windows-1251 (Cyrillic), "
                           "--encoding cp1252 if it is Windows-1252 or Latin-1 (Western "
                           "European), or --encoding auto to have the file tell");
            return false;
        }
    }
    const size_t not_utf8_at = bad_at;
    if (encoding == Encoding::Auto) {
        // The bytes before the line that is not UTF-8 are UTF-8: letters of several bytes among
        // them were written in UTF-8, so the file mixes encodings, and no one reading of it
        // keeps every letter. Said, and nothing stored.
        const size_t line_start = bytes.rfind('\n', not_utf8_at) == std::string::npos
                                      ? 0
                                      : bytes.rfind('\n', not_utf8_at) + 1;
        for (size_t i = 0; i < line_start; ++i) {
            if (static_cast<unsigned char>(bytes[i]) < 0x80) continue;
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X",
                          static_cast<unsigned char>(bytes[not_utf8_at]));
            const std::string utf8_line = std::to_string(line_of_offset(bytes, i));
            const std::string bad_line = std::to_string(line_of_offset(bytes, not_utf8_at));
            error = "line " + bad_line + ": byte " + hex + " is not UTF-8, but line " + utf8_line +
                    " holds UTF-8 characters of several bytes: the file mixes encodings (or is "
                    "cut off inside a character), and read in one encoding it would store the "
                    "other's characters misread; fix line " +
                    bad_line +
                    " or convert the file to one encoding (--encoding cp1251 or cp1252 reads all "
                    "of it in one, line " +
                    utf8_line + "'s characters misread)";
            return false;
        }
    }
    // The text read in a single-byte code page, and where UTF-8 failed when auto chose it.
    auto read_as = [&](const char* name, std::string text) {
        out.encoding = name;
        if (encoding == Encoding::Auto) {
            out.not_utf8_line = line_of_offset(bytes, not_utf8_at);
            out.not_utf8_byte = static_cast<unsigned char>(bytes[not_utf8_at]);
        }
        out.text = std::move(text);
        return true;
    };
    if (encoding == Encoding::Cp1252 || (encoding == Encoding::Auto && reads_as_western(bytes))) {
        size_t undefined_at = 0;
        if (auto western = text::cp1252_to_utf8(bytes, &undefined_at))
            return read_as("cp1252", std::move(*western));
        if (encoding == Encoding::Cp1252) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X",
                          static_cast<unsigned char>(bytes[undefined_at]));
            error = "line " + std::to_string(line_of_offset(bytes, undefined_at)) + ": byte " +
                    hex + ", which Windows-1252 does not use";
            return false;
        }
        // Not Windows-1252 after all: Windows-1251 may still read it.
    }
    auto decoded = text::cp1251_to_utf8(bytes, &bad_at);
    if (!decoded && encoding == Encoding::Cp1251) {
        error = "line " + std::to_string(line_of_offset(bytes, bad_at)) +
                ": byte 0x98, which Windows-1251 does not use";
        return false;
    }
    if (!decoded) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X",
                      static_cast<unsigned char>(bytes[std::min(not_utf8_at, bytes.size() - 1)]));
        error = "the file is neither UTF-8 (line " +
                std::to_string(line_of_offset(bytes, not_utf8_at)) + " has byte " + hex +
                ", which UTF-8 does not allow there) nor Windows-1251 (line " +
                std::to_string(line_of_offset(bytes, bad_at)) +
                " has byte 0x98, which Windows-1251 does not use); fix the line that is wrong, "
                "or give --encoding";
        return false;
    }
    return read_as("cp1251", std::move(*decoded));
}

char detect_delimiter(std::string_view text) {
    size_t semicolons = 0, commas = 0, tabs = 0;
    bool quoted = false;
    for (char c : text) {
        if (c == '"') quoted = !quoted;
        if (quoted) continue;
        if (c == '\n' || c == '\r') break;
        semicolons += c == ';';
        commas += c == ',';
        tabs += c == '\t';
    }
    // A tie, 0/0/0 included (a file of one column, whose cells may hold 1,5), is ';'.
    if (semicolons >= commas && semicolons >= tabs) return ';';
    return tabs > commas ? '\t' : ',';
}

bool CsvCursor::next(std::vector<std::string_view>& fields, std::string& error) {
    fields.clear();
    const size_t n = text_.size();
    // Empty lines between records are skipped, and so are lines of nothing but spaces (and
    // tabs, when they do not separate fields): a trailing "   " line of a hand-edited file.
    auto blank_until = [&](size_t at) {
        while (at < n && ((text_[at] == ' ' && delimiter_ != ' ') ||
                          (text_[at] == '\t' && delimiter_ != '\t')))
            ++at;
        return at;
    };
    while (pos_ < n) {
        const size_t end = blank_until(pos_);
        if (end < n && text_[end] != '\n' && text_[end] != '\r') break;
        pos_ = end;
        if (pos_ >= n) break;
        if (text_[pos_] == '\n' || pos_ + 1 >= n || text_[pos_ + 1] != '\n') ++line_;
        ++pos_;
    }
    if (pos_ >= n) return false;
    record_line_ = line_;
    scratch_.clear();
    spans_.clear();
    in_scratch_.clear();
    const char* data = text_.data();
    while (true) {
        if (pos_ < n && data[pos_] == '"') {
            const size_t opened_line = line_;
            size_t start = ++pos_;
            bool doubled = false;
            size_t close = 0;
            while (true) {
                const void* q = std::memchr(data + pos_, '"', n - pos_);
                if (!q) {
                    error = "line " + std::to_string(opened_line) +
                            ": a quoted field opened here is never closed";
                    return false;
                }
                const size_t at = static_cast<size_t>(static_cast<const char*>(q) - data);
                line_ += line_breaks(text_, pos_, at);
                if (at + 1 < n && data[at + 1] == '"') {
                    doubled = true;
                    pos_ = at + 2;
                    continue;
                }
                close = at;
                pos_ = at + 1;
                break;
            }
            if (doubled) {
                const size_t from = scratch_.size();
                for (size_t i = start; i < close; ++i) {
                    scratch_ += data[i];
                    if (data[i] == '"') ++i;  // the second of a doubled quote
                }
                spans_.emplace_back(from, scratch_.size() - from);
                in_scratch_.push_back(true);
            } else {
                spans_.emplace_back(start, close - start);
                in_scratch_.push_back(false);
            }
            if (pos_ < n && data[pos_] != delimiter_ && data[pos_] != '\n' && data[pos_] != '\r') {
                error = "line " + std::to_string(line_) +
                        ": text after a closing quote; a quote inside a quoted field is written "
                        "twice (\"\")";
                return false;
            }
        } else {
            const size_t start = pos_;
            while (pos_ < n) {
                const char c = data[pos_];
                if (c == delimiter_ || c == '\n' || c == '\r') break;
                ++pos_;
            }
            spans_.emplace_back(start, pos_ - start);
            in_scratch_.push_back(false);
        }
        if (pos_ < n && data[pos_] == delimiter_) {
            ++pos_;
            continue;
        }
        // The end of the record: CRLF, LF, a lone CR, or the end of the text.
        if (pos_ < n && data[pos_] == '\r') ++pos_;
        if (pos_ < n && data[pos_] == '\n') ++pos_;
        ++line_;
        break;
    }
    for (size_t i = 0; i < spans_.size(); ++i) {
        const auto [at, length] = spans_[i];
        fields.emplace_back(in_scratch_[i] ? std::string_view(scratch_).substr(at, length)
                                           : text_.substr(at, length));
    }
    return true;
}

std::string not_csv_text(std::string_view bytes) {
    if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4))
        return "a zip file (an Excel or OpenDocument workbook?), not CSV text; save the sheet "
               "as CSV (UTF-8) and import that";
    if (bytes.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
        return "an old Excel workbook (.xls), not CSV text; save the sheet as CSV (UTF-8) and "
               "import that";
    size_t i = bytes.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
    while (i < bytes.size() &&
           (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n'))
        ++i;
    // { then a name or }, [ then a value or ]: not a header such as [id],name.
    if (i + 1 < bytes.size() && (bytes[i] == '{' || bytes[i] == '[')) {
        size_t j = i + 1;
        while (j < bytes.size() &&
               (bytes[j] == ' ' || bytes[j] == '\t' || bytes[j] == '\r' || bytes[j] == '\n'))
            ++j;
        const char next = j < bytes.size() ? bytes[j] : 0;
        const bool json = bytes[i] == '{'
                              ? next == '"' || next == '}'
                              : next == '{' || next == '[' || next == '"' || next == ']' ||
                                    next == '-' || (next >= '0' && next <= '9');
        if (json) return "JSON, not CSV text: import takes CSV with a header line";
    }
    return "";
}

}  // namespace strata::import
