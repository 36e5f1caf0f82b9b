// strata import: encodings, separators, decimal commas and thousands, blank lines, long values,
// and what a failed import leaves behind.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <string>

#include "import/cells.hpp"
#include "import/importer.hpp"
#include "import/names.hpp"
#include "import/row_writer.hpp"
#include "import_support.hpp"
#include "test_support.hpp"
#include "text/encoding.hpp"

using strata::testing::count_rows;
using strata::testing::json_at;
using strata::testing::run_cli;
using strata::testing::TempDir;
using namespace strata::testing::import_fixture;

TEST_CASE("import: UTF-16 and NUL bytes are refused by name; Excel's sep= line; yes/no with 1/0") {
    TempDir dir;
    const auto db = dir.file("t.db");
    const std::string text = "id,name\n1,Ivan\n";
    std::string utf16 = "\xFF\xFE";
    for (char c : text) {
        utf16 += c;
        utf16 += '\0';
    }
    auto r = run_cli({"import", dir.write("u.csv", utf16), "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(
        r.err.find("the file is UTF-16 (it starts with a UTF-16 little-endian byte-order mark)") !=
        std::string::npos);
    r = run_cli({"import", dir.write("n.csv", utf16.substr(2)), "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 1: a NUL byte") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));
    // A UTF-8 file with one stray Windows byte: it mixes encodings, both lines named.
    r = run_cli({"import", dir.write("s.csv", "id,name\n1,\xD0\x98\n2,Caf\xE9\n"), "--db", db,
                 "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 3: byte 0xE9 is not UTF-8, but line 2 holds UTF-8 characters") !=
          std::string::npos);
    // Bytes no encoding strata reads has: not UTF-8, and 0x98 is not Windows-1251.
    r = run_cli(
        {"import", dir.write("s2.csv", "id,name\n1,\x98\n2,\x81\n"), "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("neither UTF-8 (line 2 has byte 0x98") != std::string::npos);
    CHECK(r.err.find("nor Windows-1251 (line 2 has byte 0x98") != std::string::npos);
    // Excel's first line naming the separator; line numbers still count it.
    r = run_cli({"import", dir.write("h.csv", "sep=;\r\nid;name\r\n1;x,y\r\n2;z\r\n3\r\n"), "--db",
                 db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 5 has 1 field; the header has 2") != std::string::npos);
    r = run_cli({"import", dir.write("h2.csv", "sep=;\r\nid;name\r\n1;x,y\r\n"), "--db", db,
                 "--table", "t"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT name FROM t WHERE id = 1") == "text:x,y");
    // A yes/no column that also writes 1 and 0.
    r = run_cli({"import", dir.write("b.csv", "id,flag\n1,yes\n2,1\n3,no\n4,0\n5,да\n"), "--db", db,
                 "--table", "flags"});
    REQUIRE(r.code == 0);
    CHECK(declared(db, "flags") == "id INTEGER, flag BOOLEAN");
    CHECK(cell(db, "SELECT sum(flag) FROM flags") == "int:3");
}

TEST_CASE("import --dry-run writes nothing; separators, decimals and usage errors") {
    TempDir dir;
    const auto db = dir.file("t.db");
    auto tabs = dir.write("t.tsv", "a\tb\n1\tx,y\n");
    auto r = run_cli({"import", tabs, "--db", db, "--table", "t", "--dry-run"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("separator 'tab'") != std::string::npos);
    CHECK(r.out.find("CREATE TABLE \"t\" (\"a\" INTEGER, \"b\" TEXT)") != std::string::npos);
    CHECK(r.out.find("dry run: 1 row would be imported; nothing was written") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));
    // JSON says what the text does: the statement too.
    r = run_cli({"import", tabs, "--db", db, "--table", "t", "--dry-run", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.create_sql") == "CREATE TABLE \"t\" (\"a\" INTEGER, \"b\" TEXT)");
    CHECK_FALSE(std::filesystem::exists(db));
    // A dry run checks every row as the import would: a repeated key, a cell that does not fit.
    auto repeated = dir.write("k.csv", "id,v\n1,a\n2,b\n1,c\n");
    r = run_cli({"import", repeated, "--db", db, "--table", "t", "--key", "id", "--dry-run"});
    CHECK(r.code == 2);
    CHECK(
        r.err.find("key '1' of column 'id' is on line 2 and again on line 4; keys must be unique; "
                   "nothing would be imported") != std::string::npos);
    auto unfit = dir.write("u.csv", "id,n\n1,5\n2,x\n");
    r = run_cli({"import", unfit, "--db", db, "--table", "t", "--types", "n:integer", "--dry-run"});
    CHECK(r.code == 0);
    CHECK(r.out.find("1 cell did not fit and is null: line 3") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));

    // Quoted decimal commas in a ',' file; --decimal settles a file with both marks.
    auto both = dir.write("both.csv", "a,b\n\"1,5\",2.5\n");
    r = run_cli({"import", both, "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("column 'b' has numbers with a decimal point and 'a' numbers with a decimal "
                     "comma; give --decimal . or --decimal ,") != std::string::npos);
    r = run_cli({"import", both, "--db", db, "--table", "t", "--decimal", ","});
    REQUIRE(r.code == 0);
    CHECK(declared(db, "t") == "a REAL, b TEXT");

    auto ragged = dir.write("ragged.csv", "a;b;c\n1;2;3\n4;5\n");
    r = run_cli({"import", ragged, "--db", db, "--table", "r"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 3 has 2 fields; the header has 3") != std::string::npos);
    r = run_cli({"import", ragged, "--db", db, "--table", "strata_x"});
    CHECK(r.code == 2);
    CHECK(r.err.find("is not a table name a rule file can use") != std::string::npos);
    // In any letter case: SQLite takes Strata_Runs for strata_runs, the run state's table.
    for (const char* own : {"Strata_Runs", "SQLITE_x"}) {
        r = run_cli({"import", ragged, "--db", db, "--table", own, "--format", "json"});
        CHECK(r.code == 2);
        CHECK(json_at(r.out, "$.error.kind") == "usage");
        CHECK(r.err.find("is not a table name a rule file can use") != std::string::npos);
    }
    r = run_cli({"import", ragged, "--db", db, "--table", "a b", "--format", "json"});
    CHECK(json_at(r.out, "$.error.kind") == "usage");
    r = run_cli({"import", ragged, "--db", db, "--table", "r2", "--types", "a:integer,A:text"});
    CHECK(r.code == 2);
    CHECK(r.err.find("--types names column 'A' twice") != std::string::npos);
    // A view of that name is not a table to replace.
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("CREATE VIEW v2 AS SELECT 1 AS one");
    r = run_cli({"import", ragged, "--db", db, "--table", "v2", "--replace"});
    CHECK(r.code == 2);
    CHECK(r.err.find("has a view 'v2': import writes tables, and does not replace a view") !=
          std::string::npos);
    r = run_cli({"import", ragged, "--db", db, "--table", "r", "--replace", "--append"});
    CHECK(r.code == 2);
    r = run_cli({"import", dir.file("missing.csv"), "--db", db, "--table", "r"});
    CHECK(r.code == 2);
    CHECK(r.err.find("cannot read") != std::string::npos);
    r = run_cli({"import", ragged, "--db", db, "--table", "r", "--delimiter", "|"});
    CHECK(r.code == 2);
}

TEST_CASE("import skips lines of only spaces as it skips empty ones, and counts lines past them") {
    TempDir dir;
    const auto db = dir.file("t.db");
    // A trailing "   " line (and one of a space and a tab) in a hand-edited export.
    auto spaced = dir.write("s.csv", "id;name\r\n1;a\r\n   \r\n2;b\r\n \t\n3;c\n   ");
    auto r = run_cli({"import", spaced, "--db", db, "--table", "t"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("3 rows imported") != std::string::npos);
    CHECK(cell(db, "SELECT group_concat(id || name, ' ') FROM t") == "text:1a 2b 3c");
    // A bad line after them is named by its own line number.
    auto bad = dir.write("b.csv", "id;name\n1;a\n  \n\n2;b;c\n");
    r = run_cli({"import", bad, "--db", dir.file("b.db"), "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 5 has 3 fields; the header has 2") != std::string::npos);
    // A file of blank lines only, or of a sep= line only, has content but no header line.
    r = run_cli({"import", dir.write("blank.csv", "\n\n  \n"), "--db", db, "--table", "u"});
    CHECK(r.code == 2);
    CHECK(r.err.find("blank.csv: the file holds no header line, only blank lines") !=
          std::string::npos);
    r = run_cli({"import", dir.write("sep.csv", "sep=;\n"), "--db", db, "--table", "u"});
    CHECK(r.err.find("sep.csv: the file holds no header line after its sep= line") !=
          std::string::npos);
    r = run_cli({"import", dir.write("none.csv", ""), "--db", db, "--table", "u"});
    CHECK(r.err.find("none.csv: the file is empty; a header line is expected") !=
          std::string::npos);
    // With tabs separating fields, a line of tabs is a row of empty cells, not a blank line.
    auto tabs = dir.write("t.tsv", "id\tname\n1\ta\n\t\n");
    r = run_cli({"import", tabs, "--db", dir.file("tabs.db"), "--table", "t", "--dry-run"});
    CHECK(r.code == 0);
    CHECK(r.out.find("2 rows would be imported") != std::string::npos);
    // A --db that is a folder is said so, not as SQLite's "disk I/O error".
    std::filesystem::create_directory(dir.file("folder"));
    r = run_cli({"import", spaced, "--db", dir.file("folder"), "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("database '" + dir.file("folder") + "' is a directory, not a SQLite file") !=
          std::string::npos);
    // With spaces separating fields (Excel's `sep= ` line), a line of spaces is a row.
    auto spaces = dir.write("sp.csv", "sep= \nid name\n1 a\n \n");
    r = run_cli({"import", spaces, "--db", dir.file("sp.db"), "--table", "t", "--dry-run"});
    CHECK(r.code == 0);
    CHECK(r.out.find("2 rows would be imported") != std::string::npos);
    // Spaces before a value are the value's line, not a blank one.
    auto lead = dir.write("l.csv", "id;name\n  1;a\n");
    r = run_cli({"import", lead, "--db", dir.file("l.db"), "--table", "t"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("1 row imported") != std::string::npos);
}

TEST_CASE("import: 1,500 is a fraction or thousands only as the file settles it") {
    TempDir dir;
    const auto db = dir.file("t.db");
    // A US export: quoted amounts with commas grouping thousands. Nothing else in the file
    // says which mark is the decimal one, so 1,500 is a question, not 1.5.
    auto us = dir.write("us.csv", "id,amount\n1,\"1,500\"\n2,\"12,000\"\n3,7\n");
    auto r = run_cli({"import", us, "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("column 'amount' has numbers such as '1,500' that read as a fraction with a "
                     "decimal comma and as thousands with a decimal point, and no other number "
                     "in the file settles it; give --decimal , or --decimal .") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));
    r = run_cli({"import", us, "--db", db, "--table", "t", "--decimal", "."});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT sum(amount) FROM t") == "real:13507.0");
    r = run_cli({"import", us, "--db", db, "--table", "t", "--decimal", ",", "--replace"});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT sum(amount) FROM t") == "real:20.5");

    // Another number settles it: 1,234,567 and 2.50 are written with a decimal point, so
    // 1,500 is 1500; 12,5 is written with a decimal comma, so 1,500 is 1.5.
    auto dotted = dir.write("dot.csv", "id,amount,big\n1,\"1,500\",\"1,234,567.5\"\n2,2.50,3\n");
    r = run_cli({"import", dotted, "--db", db, "--table", "d"});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT sum(amount) FROM d") == "real:1502.5");
    CHECK(cell(db, "SELECT sum(big) FROM d") == "real:1234570.5");
    auto comma = dir.write("comma.csv", "id;amount;rate\n1;1,500;12,5\n");
    r = run_cli({"import", comma, "--db", db, "--table", "c"});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT amount + rate FROM c") == "real:14.0");
    // Commas grouping thousands say the decimal mark is '.', against 12,5; with --decimal ,
    // they are no number, and that column is text, kept as written.
    auto mixed = dir.write("mixed.csv", "id;big;rate\n1;1,234,567;12,5\n");
    r = run_cli({"import", mixed, "--db", db, "--table", "m"});
    CHECK(r.code == 2);
    CHECK(r.err.find("give --decimal . or --decimal ,") != std::string::npos);
    r = run_cli({"import", mixed, "--db", db, "--table", "m", "--decimal", ","});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT big FROM m") == "text:1,234,567");
    // 0,500 and 1 500,250 are no thousands: a fraction, settled as such.
    auto plain = dir.write("plain.csv", "id;a;b\n1;0,500;1 500,250\n");
    r = run_cli({"import", plain, "--db", db, "--table", "p"});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT a + b FROM p") == "real:1500.75");
}

TEST_CASE("check --db binds the inferred types of an imported customer and fact table") {
    TempDir dir;
    const auto db = dir.file("crm.db");
    auto customers = dir.write("customers.csv",
                               "Customer ID;Registered;Last contact;LTV;VIP;Segment code\n"
                               "1;15.12.2024;2025-01-10 12:00;150 000,50;да;007\n"
                               "2;01.02.2023;2025-02-11 09:30;20 000;нет;010\n");
    auto orders = dir.write("orders.csv",
                            "order;customer id;paid;amount\n"
                            "1;1;14.01.2025;1 000,00\n"
                            "2;2;15.01.2025;250,5\n");
    REQUIRE(
        run_cli({"import", customers, "--db", db, "--table", "customers", "--key", "customer_id"})
            .code == 0);
    REQUIRE(run_cli({"import", orders, "--db", db, "--table", "orders", "--key", "order"}).code ==
            0);
    const std::string head =
        "ruleset: imported\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
        "  facts:\n    orders: { table: orders, key: customer_id, time: paid }\n"
        "let:\n  spent: sum(orders.amount)\nvalue: ltv\ngeneral:\n  policy: first_match\n"
        "  segments:\n";
    auto good = dir.write(
        "good.yaml",
        head +
            "    - id: vip\n      when: vip and registered < 2024-06-01 and ltv > 100.5 and "
            "last_contact > 2025-01-01T00:00 and spent > 100 and segment_code == '007'\n"
            "    - id: rest\n      when: otherwise\n");
    auto r = run_cli({"check", good, "--db", db});
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    // A bool compared with a number: the column really is bool to the binder.
    auto bad = dir.write("bad.yaml", head +
                                         "    - id: vip\n      when: vip > 3\n"
                                         "    - id: rest\n      when: otherwise\n");
    r = run_cli({"check", bad, "--db", db});
    CHECK(r.code == 1);
    auto text_code = dir.write("text.yaml", head +
                                                "    - id: vip\n      when: segment_code > 3\n"
                                                "    - id: rest\n      when: otherwise\n");
    r = run_cli({"check", text_code, "--db", db});
    CHECK(r.code == 1);
}

TEST_CASE("cells: integers, numbers and dates as exports write them") {
    using namespace strata::import;
    CHECK(parse_integer_cell("150 000") == 150000);
    CHECK(parse_integer_cell("1\xC2\xA0"
                             "000\xC2\xA0"
                             "000") == 1000000);
    CHECK(parse_integer_cell("1\xE2\x80\xAF"
                             "000") == 1000);
    CHECK_FALSE(parse_integer_cell("007"));
    CHECK_FALSE(parse_integer_cell("15 00"));
    CHECK_FALSE(parse_integer_cell("1 5000"));
    CHECK_FALSE(parse_integer_cell("+7"));
    // 19 digits only ungrouped and within a 64-bit integer (a column declared INTEGER).
    CHECK(parse_integer_cell("1234567890123456789") == 1234567890123456789);
    CHECK(parse_integer_cell("-9223372036854775808") == INT64_MIN);
    CHECK_FALSE(parse_integer_cell("9223372036854775808"));
    CHECK_FALSE(parse_integer_cell("1 234 567 890 123 456 789"));
    CHECK_FALSE(parse_integer_cell("12345678901234567890"));
    CHECK(parse_number_cell("12,5", DecimalMark::Comma) == 12.5);
    CHECK_FALSE(parse_number_cell("12,5", DecimalMark::Dot));
    CHECK(parse_number_cell("-0,25", DecimalMark::Comma) == -0.25);
    CHECK(trim_cell("\xC2\xA0 x \xC2\xA0") == "x");
    char buffer[24];
    CHECK(std::string(buffer, write_temporal("5.1.2024", DateOrder::DayFirst, false, buffer)) ==
          "2024-01-05");
    CHECK(write_temporal("31.02.2024", DateOrder::DayFirst, false, buffer) == 0);
    // A date keeps no time of day: only midnight fits it; a datetime keeps the time.
    CHECK(std::string(buffer, write_temporal("2024-05-05 00:00", DateOrder::DayFirst, false,
                                             buffer)) == "2024-05-05");
    CHECK(write_temporal("2024-05-05 10:00", DateOrder::DayFirst, false, buffer) == 0);
    CHECK(write_temporal("2024-05-05T00:00:01Z", DateOrder::DayFirst, false, buffer) == 0);
    CHECK(std::string(buffer, write_temporal("2024-05-05 10:00", DateOrder::DayFirst, true,
                                             buffer)) == "2024-05-05 10:00:00");
    CHECK(temporal_shape("13.01.2024").kind == TemporalShape::DayFirstOnly);
    CHECK(temporal_shape("01/13/2024").kind == TemporalShape::MonthFirstOnly);
    CHECK(temporal_shape("01.01.2024 25:00").kind == TemporalShape::None);
}

TEST_CASE("import: a value longer than SQLite stores in one value is refused, not stored as null") {
    // The limit is a billion bytes; a connection's lowered limit stands in for it here.
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    sqlite3_limit(db.getHandle(), SQLITE_LIMIT_LENGTH, 1000);
    sqlite3_stmt* raw = nullptr;
    REQUIRE(sqlite3_prepare_v2(db.getHandle(), "SELECT length(?1)", -1, &raw, nullptr) ==
            SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> select(raw, sqlite3_finalize);
    const std::string fits(1000, 'x'), too_long(1001, 'x');
    CHECK(strata::import::bind_text_within_limit(raw, 1, fits).empty());
    REQUIRE(sqlite3_step(raw) == SQLITE_ROW);
    CHECK(sqlite3_column_int(raw, 0) == 1000);
    sqlite3_reset(raw);
    const std::string why = strata::import::bind_text_within_limit(raw, 1, too_long);
    CHECK(why.find("a value of 1001 bytes is longer than the 1000 bytes SQLite stores") !=
          std::string::npos);
}

// One impossible date among 200 made the column text without a word: the user found out from
// `check` ("cannot compare a string with a date"). A column that is dates, or numbers, but for
// at most 1% of its cells is still text (nothing is guessed), with a note naming a cell that is
// not and the --types that reads the rest.
TEST_CASE("import notes a column that is text only because of a few cells") {
    TempDir dir;
    std::string text = "id;Дата;amount;code;Visits Count\n";
    for (int i = 1; i <= 200; ++i) {
        const std::string day =
            i == 200 ? "29.02.2023"
                     : (i % 28 + 1 < 10 ? "0" : "") + std::to_string(i % 28 + 1) + ".03.2024";
        const std::string amount = i == 7 ? "n/a" : i == 9 ? "-" : std::to_string(i) + ".5";
        text += std::to_string(i) + ";" + day + ";" + amount + ";" + (i % 2 ? "A1" : "7") + ";" +
                (i == 50 ? "?" : std::to_string(i % 13)) + "\n";
    }
    const auto csv = dir.write("t.csv", text);
    const auto db = dir.file("t.db");
    const auto r = run_cli({"import", csv, "--db", db, "--table", "t", "--key", "id"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(declared(db, "t") == "id INTEGER, дата TEXT, amount TEXT, code TEXT, visits_count TEXT");
    CHECK(r.out.find("note: column 'дата' is text: 199 of 200 cells are dates, but '29.02.2023' "
                     "is not; --types дата:date reads the column as dates") != std::string::npos);
    CHECK(r.out.find("note: column 'amount' is text: 198 of 200 cells are numbers, but 2 are not, "
                     "such as 'n/a'; --types amount:number") != std::string::npos);
    // Whole numbers but for one cell: the note says so and suggests integer, not number.
    CHECK(r.out.find("note: column 'visits_count' is text: 199 of 200 cells are whole numbers, "
                     "but '?' is not; --types visits_count:integer reads the column as whole "
                     "numbers") != std::string::npos);
    // Half the cells are not numbers: a text column, nothing to say.
    CHECK(r.out.find("column 'code'") == std::string::npos);
    const auto fixed = run_cli({"import", csv, "--db", db, "--table", "t", "--key", "id",
                                "--replace", "--types", "дата:date", "--format", "json"});
    REQUIRE(fixed.code == 0);
    CHECK(json_at(fixed.out, "$.columns[1].unfit_lines") == "[201]");
    CHECK(json_at(fixed.out, "$.notes[0]").find("column 'amount' is text") == 0);
}

TEST_CASE("a failed import removes only a database file it made, not one made while it read") {
    TempDir dir;
    const std::string db = dir.file("race.db");
    std::string text = "id,name\n";
    for (int i = 1; i <= 70'000; ++i)
        text += std::to_string(i) + ",n" + std::to_string(i) + "\n";
    text += "7,again\n";  // a repeated key: the import fails as it writes
    strata::import::ImportOptions options;
    options.file = dir.write("t.csv", text);
    options.db = db;
    options.table = "t";
    options.key = "id";
    strata::import::ImportReport report;
    std::string error;
    // While the file is read, another process makes the database and commits a table to it.
    bool made = false;
    options.progress = [&](int pass, size_t) {
        if (pass != 1 || made) return;
        made = true;
        SQLite::Database other(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        other.exec("CREATE TABLE theirs (x); INSERT INTO theirs VALUES (42);");
    };
    CHECK_FALSE(strata::import::run_import(options, report, error));
    CHECK(made);
    CHECK(error.find("key '7' of column 'id'") != std::string::npos);
    REQUIRE(std::filesystem::exists(db));
    CHECK(cell(db, "SELECT x FROM theirs") == "int:42");
    CHECK(cell(db, "SELECT count(*) FROM sqlite_schema WHERE name = 't'") == "int:0");

    // Without anyone else, the file the failed import made is removed again.
    const std::string own = dir.file("own.db");
    options.db = own;
    options.progress = nullptr;
    CHECK_FALSE(strata::import::run_import(options, report, error));
    CHECK_FALSE(std::filesystem::exists(own));
    CHECK_FALSE(std::filesystem::exists(own + "-journal"));
}

// SQLite folds only ASCII letters in names, and strata's name for the header Имя is имя: a
// table made elsewhere with the columns "Имя" and "First Name" refused its own headers.
TEST_CASE("import --append finds a column spelt as the file's header") {
    TempDir dir;
    const auto db = dir.file("t.db");
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        d.exec(R"(CREATE TABLE c (id INTEGER PRIMARY KEY, "Имя" TEXT, "First Name" TEXT))");
    }
    const auto csv = dir.write("t.csv", "id;Имя;First Name\n1;Анна;Ann\n");
    auto r = run_cli({"import", csv, "--db", db, "--table", "c", "--append"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(cell(db, R"(SELECT "Имя" || '/' || "First Name" FROM c WHERE id = 1)") ==
          "text:Анна/Ann");
}

// A header with no separator at all (one column) took ',' though a tie is ';', so a column of
// decimal commas split in two; and LibreOffice's quoted "sep=;" line was read as the header.
TEST_CASE("import: one column of decimal commas, and a quoted sep= line") {
    TempDir dir;
    const auto one = dir.write("one.csv", "amount\n1,5\n2,25\n");
    const auto db = dir.file("t.db");
    auto r = run_cli({"import", one, "--db", db, "--table", "one"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT sum(amount) FROM one") == "real:3.75");
    const auto quoted = dir.write("quoted.csv", "\"sep=;\"\r\nid;v\r\n1;2,5\r\n");
    r = run_cli({"import", quoted, "--db", db, "--table", "q"});
    REQUIRE(r.code == 0);
    CHECK(declared(db, "q") == "id INTEGER, v REAL");
    CHECK(cell(db, "SELECT v FROM q WHERE id = 1") == "real:2.5");
}

// A Western European export in Latin-1 / Windows-1252 was read as Windows-1251: Müller became
// Mьller, with no more than the summary's "read as cp1251" to say so.
TEST_CASE("import reads a Latin-1 file as Windows-1252, and Cyrillic still as Windows-1251") {
    TempDir dir;
    const auto db = dir.file("t.db");
    const auto western = dir.write("west.csv",
                                   "id;name;city\n1;M\xFCller;K\xF6ln\n"
                                   "2;Caf\xE9 Ren\xE9;S\xE3o Paulo \x80\n");
    auto r = run_cli({"import", western, "--db", db, "--table", "w", "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1252");
    CHECK(json_at(r.out, "$.not_utf8_line") == "2");
    CHECK(cell(db, "SELECT name || '/' || city FROM w WHERE id = 1") == "text:Müller/Köln");
    CHECK(cell(db, "SELECT name || '/' || city FROM w WHERE id = 2") ==
          "text:Café René/São Paulo €");
    // Иванов, Москва in Windows-1251: every high byte is inside a Cyrillic word.
    const auto cyrillic =
        dir.write("cyr.csv", "id;name;city\n1;\xC8\xE2\xE0\xED\xEE\xE2;\xCC\xEE\xF1\xEA\xE2\xE0\n");
    r = run_cli({"import", cyrillic, "--db", db, "--table", "c", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1251");
    CHECK(cell(db, "SELECT name || '/' || city FROM c") == "text:Иванов/Москва");
    // Symbols do not vote: a German file with euro signs and en dashes apart from any word,
    // and a French one with no-break spaces between thousands, were read as Cyrillic
    // (Mьller, Ђ, Lefиvre).
    const auto german = dir.write("de.csv",
                                  "name;price;note\nM\xFCller GmbH;1.234,50 \x80;Lieferung \x96 "
                                  "Express\nSchmidt AG;99,00 \x80;\x96\nB\xE4"
                                  "cker KG;12,00 \x80;ok\n");
    r = run_cli({"import", german, "--db", db, "--table", "de", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1252");
    CHECK(cell(db, "SELECT name || '/' || note FROM de WHERE name LIKE 'M%'") ==
          "text:Müller GmbH/Lieferung – Express");
    std::string french = "client;ca 2024\n";
    for (const char* name : {"Dupont", "Martin", "Bernard", "Lef\xE8vre", "Petit", "Durand"})
        french += std::string(name) +
                  ";12\xA0"
                  "345,00\n";
    r = run_cli(
        {"import", dir.write("fr.csv", french), "--db", db, "--table", "fr", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1252");
    CHECK(cell(db, "SELECT client FROM fr WHERE client LIKE 'Lef%'") == "text:Lefèvre");
    // A Cyrillic file with the same symbols is still Windows-1251.
    r = run_cli({"import",
                 dir.write("ru.csv",
                           "name;price\n\xC8\xE2\xE0\xED\xEE\xE2;12\xA0"
                           "345 \x88\n"),
                 "--db", db, "--table", "ru", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1251");
    CHECK(cell(db, "SELECT name FROM ru") == "text:Иванов");
    // A Windows-1251 file without Cyrillic letters, but with № and its € (0x88), is still
    // Windows-1251; so is one whose only letters are Ё and ё.
    r = run_cli({"import",
                 dir.write("sym.csv",
                           "\xB9;email;amount\n1;user@mail.ru;12\xA0"
                           "345,00 \x88\n"
                           "2;x@y.ru;5,00 \x88\n"),
                 "--db", db, "--table", "sym", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1251");
    CHECK(json_at(r.out, "$.columns[0].header") == "№");
    r = run_cli({"import", dir.write("yo.csv", "id;name\n1;\xA8\n2;\xB8\xB8\n"), "--db", db,
                 "--table", "yo", "--format", "json"});
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.encoding") == "cp1251");
    // Named: the bytes Windows-1252 leaves undefined are refused at their line.
    const auto undefined = dir.write("undef.csv", "id;name\n1;ok\n2;a\x81z\n");
    r = run_cli({"import", undefined, "--db", db, "--table", "u", "--encoding", "cp1252"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 3: byte 0x81, which Windows-1252 does not use") != std::string::npos);
}

// One column written with both marks (a hand-typed 12.5 among 12,5) became text with nothing
// said, while the same mix across two columns stops the import.
TEST_CASE("import notes a column of numbers written with both decimal marks") {
    TempDir dir;
    const auto db = dir.file("t.db");
    const auto r = run_cli({"import", dir.write("mx.csv", "id;amt\n1;12,5\n2;12.5\n3;7\n"), "--db",
                            db, "--table", "t", "--format", "json"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(declared(db, "t") == "id INTEGER, amt TEXT");
    CHECK(json_at(r.out, "$.notes[0]") ==
          "column 'amt' is text: every cell is a number, but some read as one only with a decimal "
          "point (such as '12.5') and some only with a decimal comma (such as '12,5'); write them "
          "with one mark to import them as numbers");
    // A comma grouping thousands and a comma before decimals: said in the same words.
    const auto commas = run_cli({"import", dir.write("c.csv", "id;amt\n1;1,234,567\n2;12,5\n"),
                                 "--db", db, "--table", "c", "--format", "json"});
    REQUIRE(commas.code == 0);
    CHECK(json_at(commas.out, "$.notes[0]")
              .find("only with a decimal point (such as "
                    "'1,234,567') and some only with a decimal comma "
                    "(such as '12,5')") != std::string::npos);
    // Commas grouping thousands beside a decimal point are one way of writing: a number column.
    const auto ok = run_cli({"import", dir.write("ok.csv", "id;amt\n1;1,234,567\n2;12.5\n"), "--db",
                             db, "--table", "u", "--format", "json"});
    REQUIRE(ok.code == 0);
    CHECK(declared(db, "u") == "id INTEGER, amt REAL");
    CHECK(json_at(ok.out, "$.notes") == "[]");
}

TEST_CASE("import: 1.500 is a fraction or thousands only as the file settles it, as 1,500 is") {
    TempDir dir;
    const auto db = dir.file("t.db");
    // A European export (';', a point grouping thousands): 12.000 is twelve thousand there,
    // twelve in a file with decimal points. Nothing else settles it: a question, not 12.
    auto eu = dir.write("eu.csv", "id;betrag\n1;1.500\n2;2.750\n3;12.000\n");
    auto r = run_cli({"import", eu, "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("column 'betrag' has numbers such as '1.500' that read as a fraction with "
                     "a decimal point and as thousands with a decimal comma, and no other "
                     "number in the file settles it; give --decimal , or --decimal .") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));
    r = run_cli({"import", eu, "--db", db, "--table", "t", "--decimal", ","});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT sum(betrag) FROM t") == "real:16250.0");
    r = run_cli({"import", eu, "--db", db, "--table", "t", "--decimal", ".", "--replace"});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT sum(betrag) FROM t") == "real:16.25");
    // Another number settles it: 2,5 says the decimal mark is ',', so 1.500 is 1500; 0.125
    // and 2.5 say it is '.'.
    auto comma = dir.write("comma.csv", "id;betrag;rate\n1;1.500;2,5\n");
    r = run_cli({"import", comma, "--db", db, "--table", "c"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT betrag + rate FROM c") == "real:1502.5");
    auto dot = dir.write("dot.csv", "id,weight,rate\n1,1.500,0.125\n2,2.000,2.5\n");
    r = run_cli({"import", dot, "--db", db, "--table", "d"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT sum(weight) FROM d") == "real:3.5");
}
