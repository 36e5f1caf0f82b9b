// text/encoding: Windows-1251 both ways, UTF-8 checks and the byte-order mark, as CRM exports
// (issue 11) need them.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "cli/common.hpp"
#include "text/encoding.hpp"

using namespace strata::text;

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
