// text/encoding: Windows-1251 both ways, UTF-8 checks and the byte-order mark, as CRM exports
// (issue 11) need them; text/blank: which characters show nothing; text/one_line: a value on
// one line of a message or a table; text/width: the columns a terminal gives it.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "cli/common.hpp"
#include "dsl/names.hpp"
#include "dsl/source.hpp"
#include "test_support.hpp"
#include "text/blank.hpp"
#include "text/encoding.hpp"
#include "text/one_line.hpp"
#include "text/width.hpp"

using namespace strata::text;

namespace {

// The terminal columns before byte `at` of a line.
size_t display_columns_before(const std::string& line, size_t at) {
    return display_width(std::string_view(line).substr(0, at));
}

}  // namespace

TEST_CASE("encoding: Windows-1251 Cyrillic becomes UTF-8 and back") {
    // "Дата регистрации" and "ёЁ№" in Windows-1251.
    const std::string cp =
        "\xC4\xE0\xF2\xE0 \xF0\xE5\xE3\xE8\xF1\xF2\xF0\xE0\xF6\xE8\xE8 \xB8\xA8\xB9";
    const auto utf8 = cp1251_to_utf8(cp);
    REQUIRE(utf8);
    CHECK(*utf8 == "Дата регистрации ёЁ№");
    const auto back = utf8_to_cp1251(*utf8);
    REQUIRE(back);
    CHECK(*back == cp);
    // Every defined byte survives the round trip; 0x98 is undefined.
    std::string all;
    for (int b = 1; b < 256; ++b) {
        if (b != 0x98) all += static_cast<char>(b);
    }
    const auto all_utf8 = cp1251_to_utf8(all);
    REQUIRE(all_utf8);
    CHECK(is_valid_utf8(*all_utf8));
    CHECK(utf8_to_cp1251(*all_utf8) == all);
    size_t at = 0;
    CHECK(!cp1251_to_utf8("ab\x98", &at));
    CHECK(at == 2);
}

TEST_CASE("encoding: what Windows-1251 cannot write, and malformed UTF-8, are found") {
    size_t at = 0;
    CHECK(!utf8_to_cp1251("ok 漢", &at));
    CHECK(at == 3);
    CHECK(!utf8_to_cp1251("a\xC3", &at));
    CHECK(at == 1);
    CHECK(is_valid_utf8("plain, Дата, €"));
    CHECK(!is_valid_utf8("\xC0\xAF", &at));  // an overlong '/'
    CHECK(at == 0);
    CHECK(!is_valid_utf8("x\xED\xA0\x80", &at));  // a surrogate
    CHECK(at == 1);
    CHECK(!is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST_CASE("encoding: the byte-order mark is stripped only at the start") {
    CHECK(strip_bom("\xEF\xBB\xBFid;name") == "id;name");
    CHECK(strip_bom("id;\xEF\xBB\xBF") == "id;\xEF\xBB\xBF");
    CHECK(strip_bom("") == "");
}

TEST_CASE("text tables line up Cyrillic cells by characters, not bytes") {
    std::ostringstream out;
    strata::cli::write_text_table(out, {{"SEGMENT", "N"}, {"новые", "12"}, {"vip", "3"}},
                                  {false, true});
    CHECK(out.str() ==
          "SEGMENT   N\n"
          "новые    12\n"
          "vip       3\n");
}

namespace {

std::string utf8_of(uint32_t c) {
    std::string s;
    strata::text::append_utf8(s, c);
    return s;
}

}  // namespace

TEST_CASE("blank characters: white space and exactly the characters names leave out") {
    using strata::text::is_blank;
    using strata::text::is_blank_code_point;
    // ASCII: the six spaces, nothing else.
    for (uint32_t c = 0; c < 0x80; ++c) {
        CAPTURE(c);
        CHECK(is_blank_code_point(c) == (c == ' ' || (c >= '\t' && c <= '\r')));
    }
    // Beyond ASCII, one definition: a character is blank exactly when the rule grammar does not
    // take it as a letter of a name.
    for (uint32_t c = 0x80; c <= 0x10FFFF; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        const std::string s = utf8_of(c);
        if (is_blank_code_point(c) != (strata::names::name_char_length(s, 0) == 0)) {
            FAIL_CHECK("U+" << std::hex << c << " is blank: " << is_blank_code_point(c));
            break;
        }
    }
    CHECK(is_blank(""));
    CHECK(is_blank(" \t\r\n"));
    CHECK(is_blank("\u00a0\u2028\ufeff\u200b\u3000\u0085"));
    CHECK_FALSE(is_blank("\u00a0x"));
    CHECK_FALSE(is_blank("\xC2"));          // cut short
    CHECK_FALSE(is_blank("\xE2\x80"));      // cut short
    CHECK_FALSE(is_blank("\xC0\xA0"));      // overlong
    CHECK_FALSE(is_blank("\xED\xA0\x80"));  // a surrogate
}

TEST_CASE("one_line keeps a value on one line, and its UTF-8 as it is") {
    using strata::text::one_line;
    CHECK(one_line("plain") == "plain");
    CHECK(one_line("two\nlines") == "two\u23CElines");
    CHECK(one_line("crlf\r\nend") == "crlf\u23CEend");  // one break, one mark
    CHECK(one_line("cr\rlf\n\n") == "cr\u23CElf\u23CE\u23CE");
    CHECK(one_line("tab\there\x1b[31m") == "tab here [31m");
    CHECK(one_line("M\xC3\xBCller \xD0\x81") == "M\xC3\xBCller \xD0\x81");
    CHECK(one_line("bad\xFF"
                   "byte") == "bad\uFFFDbyte");
    CHECK(one_line("cut\xE2\x82") == "cut\uFFFD\uFFFD");
    // What a terminal obeys rather than shows: a right-to-left override would turn the rest
    // of the line around, and U+009B starts an escape sequence (review AP7).
    CHECK(one_line("\u202Eabc") == " abc");
    CHECK(one_line("a\u2066b\u2069c\u200Fd\u061Ce") == "a b c d e");
    CHECK(one_line("x\u009B31my\u0085z") == "x 31my z");
    // Their neighbours stay: U+00A0, U+2010, U+2065 (unassigned) and U+20AC.
    CHECK(one_line("\u00A0\u2010\u20AC") == "\u00A0\u2010\u20AC");
}

TEST_CASE("text width: the columns a terminal gives each script, so tables line up") {
    CHECK(display_width("plan") == 4);
    CHECK(display_width("Москва") == 6);   // two bytes a letter, one column
    CHECK(display_width("日本") == 4);     // ideographs take two columns
    CHECK(display_width("서울") == 4);     // Hangul too
    CHECK(display_width("ｶﾞ") == 2);       // halfwidth katakana: one each
    CHECK(display_width("e\u0301") == 1);  // a combining accent takes none
    CHECK(display_width("\xff") == 1);     // not UTF-8: shown as U+FFFD
    CHECK(strata::text::pad("日本", 6) == "日本  ");
    CHECK(strata::text::pad("7", 3, true) == "  7");
    CHECK(strata::text::pad("Москва", 3) == "Москва");
}

TEST_CASE("import's table lines up a header of wide characters") {
    strata::testing::TempDir dir;
    const auto csv = dir.write("w.csv", "日本,id\n東京,1\n");
    const auto r =
        strata::testing::run_cli({"import", csv, "--db", dir.file("w.db"), "--table", "w"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // Each row's TYPE column starts where the header's does.
    std::istringstream lines(r.out);
    size_t type_column = std::string::npos;
    for (std::string line; std::getline(lines, line);) {
        const size_t header = line.find("TYPE");
        if (header != std::string::npos) {
            type_column = display_columns_before(line, header);
            continue;
        }
        if (type_column == std::string::npos || line.find("text") == std::string::npos) continue;
        CHECK(display_columns_before(line, line.find("text")) == type_column);
    }
    CHECK(type_column != std::string::npos);
}

// SourceFile::shown counts a line's characters from the nearest of its marks, not from the
// line's start (explain shows every part of a long line); it must give what counting from the
// start gives, at every byte of lines of Cyrillic, ASCII, bytes that are no UTF-8, and
// columns inside a character.
TEST_CASE("shown() gives the characters counted from the line's start, at every column") {
    std::string long_line;
    for (int i = 0; i < 400; ++i)
        long_line += i % 7 == 0 ? "сумма, " : i % 11 == 0 ? "\xFF\xC3 " : "x1, ";
    const std::string text = "ascii: 1\n" + long_line + "\r\n\xEF\xBB\xBF tail é\nlast";
    const strata::SourceFile file("f.yaml", text);
    for (int line = 1; line <= 4; ++line) {
        const std::string_view l = file.line(line);
        for (size_t col = 0; col <= l.size() + 2; ++col) {
            const strata::Location at{line, static_cast<int>(col + 1), 3};
            const strata::Location got = file.shown(at);
            const size_t c = std::min(col, l.size());
            const size_t e = std::min(c + 3, l.size());
            INFO("line " << line << " col " << col);
            REQUIRE(got.col == static_cast<int>(strata::names::char_count(l.substr(0, c)) + 1));
            REQUIRE(got.length ==
                    (e > c ? static_cast<int>(strata::names::char_count(l.substr(c, e - c)) +
                                              (c + 3 - e))
                           : 3));
        }
    }
}
