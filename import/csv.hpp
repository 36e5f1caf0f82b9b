// Reading a CSV file as a CRM writes it: the encoding (UTF-8 with or without a byte-order
// mark, or Windows-1251), the separator, and RFC 4180 records (quoted fields with doubled
// quotes, separators and line breaks inside; CRLF or LF line ends).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::import {

enum class Encoding { Auto, Utf8, Cp1251, Cp1252 };

// A file's text as UTF-8, and how it was read.
struct DecodedText {
    std::string text;      // UTF-8, without the byte-order mark
    std::string encoding;  // "utf-8" or "cp1251"
    bool had_bom = false;
    bool chosen = false;  // picked by --encoding auto
    // Read as Windows-1251 by --encoding auto: where the bytes first stopped being UTF-8 (the
    // line, from 1, and the byte), so that a UTF-8 file with one stray byte is seen for what
    // it is.
    size_t not_utf8_line = 0;
    unsigned char not_utf8_byte = 0;
};

// Decodes a file's bytes. Auto: UTF-8 when the bytes are valid UTF-8 (a byte-order mark
// means UTF-8), else Windows-1251; a file whose lines before the first byte that is not UTF-8
// hold UTF-8 letters mixes encodings, and is refused (no one reading keeps every letter). False
// with `error` set (naming the line) when the bytes are not in the encoding asked for.
bool decode_text(std::string bytes, Encoding encoding, DecodedText& out, std::string& error);

// The separator of the header line: whichever of ';', ',' and tab occurs most often outside
// quotes (';' first on a tie, as Excel in most European locales writes it); ',' when none
// does (a file of one column).
char detect_delimiter(std::string_view text);

// What a file that is not CSV text looks like, from its first bytes, as the end of "the file
// looks like ...": a zip (an Excel or OpenDocument workbook), an old .xls, or JSON. "" when it
// may be CSV.
std::string not_csv_text(std::string_view bytes);

// Walks the records of CSV text one at a time. Empty lines, and lines of only spaces and tabs
// (other than the separator), are skipped.
class CsvCursor {
  public:
    // Reads from byte `start` of `text`, which is on line `line` (after a line skipped, say).
    CsvCursor(std::string_view text, char delimiter, size_t start = 0, size_t line = 1)
        : text_(text), delimiter_(delimiter), pos_(start), line_(line) {}

    // Reads the next record's fields; the views are valid until the next call. False at the
    // end of the text, or with `error` set on a malformed record (a quote never closed, text
    // after a closing quote).
    bool next(std::vector<std::string_view>& fields, std::string& error);

    // The line the record just read began on (1-based, counting the header).
    size_t line() const { return record_line_; }
    // How far through the text the cursor is, in bytes.
    size_t offset() const { return pos_; }

  private:
    std::string_view text_;
    char delimiter_;
    size_t pos_ = 0;
    size_t line_ = 1;
    size_t record_line_ = 0;
    std::string scratch_;  // quoted fields with doubled quotes, unescaped
    // Per field: where it is (offset, length) and whether in scratch_ rather than the text.
    std::vector<std::pair<size_t, size_t>> spans_;
    std::vector<bool> in_scratch_;
};

}  // namespace strata::import
