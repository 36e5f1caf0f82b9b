// ClickHouse's text formats (warehouse/clickhouse_text.hpp) without a server: the escapes
// written, and TabSeparatedWithNames read back, including what the escapers wrote. The same
// escapers against a real server are in warehouse/clickhouse_test.cpp.
#include <doctest/doctest.h>

#include "warehouse/clickhouse_text.hpp"
#include "warehouse/postgres_client.hpp"

using namespace strata::warehouse;

TEST_CASE("clickhouse text: string literals escape backslash, quote and control bytes") {
    CHECK(clickhouse_string_literal("") == "''");
    CHECK(clickhouse_string_literal("plain") == "'plain'");
    CHECK(clickhouse_string_literal("it's") == "'it\\'s'");
    CHECK(clickhouse_string_literal("a\\b") == "'a\\\\b'");
    CHECK(clickhouse_string_literal("\\'") == "'\\\\\\''");
    CHECK(clickhouse_string_literal("end\\") == "'end\\\\'");
    CHECK(clickhouse_string_literal(std::string("a\0b", 3)) == "'a\\0b'");
    CHECK(clickhouse_string_literal("t\tn\nr\r") == "'t\\tn\\nr\\r'");
    CHECK(clickhouse_string_literal("\\N") == "'\\\\N'");
    // UTF-8 and other bytes pass through.
    CHECK(clickhouse_string_literal("Привет \xFF") == "'Привет \xFF'");
    // The literal never ends early: no unescaped quote inside.
    std::string literal = clickhouse_string_literal("''; DROP TABLE x; --'");
    for (std::size_t i = 1; i + 1 < literal.size(); ++i) {
        if (literal[i] == '\'') {
            std::size_t backslashes = 0;
            for (std::size_t j = i; j > 0 && literal[j - 1] == '\\'; --j)
                ++backslashes;
            CHECK(backslashes % 2 == 1);
        }
    }
}

TEST_CASE("clickhouse text: TabSeparated fields") {
    CHECK(clickhouse_tsv_field(std::nullopt) == "\\N");
    CHECK(clickhouse_tsv_field(std::string("\\N")) == "\\\\N");
    CHECK(clickhouse_tsv_field(std::string("")) == "");
    CHECK(clickhouse_tsv_field(std::string("a\tb\nc\rd\\e'f")) == "a\\tb\\nc\\rd\\\\e'f");
    CHECK(clickhouse_tsv_field(std::string("\0", 1)) == "\\0");
}

TEST_CASE("clickhouse text: TabSeparatedWithNames answers") {
    std::string error;
    auto empty = parse_tab_separated_with_names("", error);
    REQUIRE(empty);
    CHECK(empty->columns.empty());
    CHECK(empty->rows.empty());

    auto no_rows = parse_tab_separated_with_names("a\tb\n", error);
    REQUIRE(no_rows);
    CHECK(no_rows->columns == std::vector<std::string>{"a", "b"});
    CHECK(no_rows->rows.empty());

    auto table = parse_tab_separated_with_names(
        "id\tnote\\tname\n1\t\\N\n2\t\\\\N\n3\t\n4\ta\\tb\\nc\\\\d\\'e\\0f\\rg\\bh\\fi\n", error);
    REQUIRE(table);
    CHECK(table->columns == std::vector<std::string>{"id", "note\tname"});
    REQUIRE(table->rows.size() == 4);
    CHECK(table->rows[0] == Row{"1", std::nullopt});
    CHECK(table->rows[1] == Row{"2", "\\N"});
    CHECK(table->rows[2] == Row{"3", ""});
    CHECK(table->rows[3] == Row{"4", std::string("a\tb\nc\\d'e\0f\rg\bh\fi", 17)});
    CHECK(table->column_index("note\tname") == 1);
    CHECK_FALSE(table->column_index("missing").has_value());

    // What the field escaper writes, the reader reads back.
    std::string every_byte;
    for (int b = 0; b < 256; ++b)
        every_byte += static_cast<char>(b);
    auto round = parse_tab_separated_with_names(
        "v\n" + clickhouse_tsv_field(every_byte) + "\n" + clickhouse_tsv_field(std::nullopt) + "\n",
        error);
    REQUIRE(round);
    CHECK(round->rows == std::vector<Row>{{every_byte}, {std::nullopt}});

    CHECK_FALSE(parse_tab_separated_with_names("a\tb\n1\n", error));
    CHECK(error.find("line 2") != std::string::npos);
    CHECK_FALSE(parse_tab_separated_with_names("a\n1", error));
    CHECK(error.find("line feed") != std::string::npos);
    CHECK_FALSE(parse_tab_separated_with_names("a\nx\\\n", error));
    CHECK(error.find("lone backslash") != std::string::npos);
}

// The loader's COPY input (warehouse/copy_from_sqlite.cpp); the loaded values are compared
// with the engine's on a real server by the differential tests and bench/warehouse_bench.py.
TEST_CASE("postgres copy: text-format fields escape what would end a field or a row") {
    CHECK(postgres_copy_field(std::nullopt) == "\\N");
    CHECK(postgres_copy_field(std::string("\\N")) == "\\\\N");
    CHECK(postgres_copy_field(std::string("")) == "");
    CHECK(postgres_copy_field(std::string("\\.")) == "\\\\.");
    CHECK(postgres_copy_field(std::string("a\tb\nc\rd\\e'f\"g")) == "a\\tb\\nc\\rd\\\\e'f\"g");
    // Every other byte goes as it is (UTF-8 included): COPY's text format reads it back so.
    std::string others;
    for (int b = 1; b < 256; ++b)
        if (b != '\t' && b != '\n' && b != '\r' && b != '\\') others += static_cast<char>(b);
    CHECK(postgres_copy_field(others) == others);
}

TEST_CASE("warehouse errors: a ClickHouse throwIf stop says it is an exactness stop") {
    WarehouseError stop;
    stop.backend = Backend::clickhouse;
    stop.code = "395";
    stop.message = "Value passed to 'throwIf' function is non zero";
    stop.http_status = 500;
    CHECK(stop.stopped_for_exactness());
    const std::string text = stop.describe();
    CHECK(text.rfind("ClickHouse: Value passed to 'throwIf' function is non zero (code 395)", 0) ==
          0);
    CHECK(text.find("cannot compute exactly inside ClickHouse") != std::string::npos);
    CHECK(text.find("docs/warehouse.md") != std::string::npos);
    // Another ClickHouse error, and PostgreSQL's own stops (which carry their message), are
    // not given the hint.
    WarehouseError missing = stop;
    missing.code = "60";
    missing.message = "Table default.x doesn't exist.";
    CHECK(!missing.stopped_for_exactness());
    CHECK(missing.describe().find("exactly") == std::string::npos);
    WarehouseError postgres;
    postgres.code = "22P02";
    postgres.message = "invalid input syntax for type bigint: \"strata: a total beyond ...\"";
    CHECK(!postgres.stopped_for_exactness());
}
