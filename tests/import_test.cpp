// strata import on real files: the shapes of real CRM exports (byte-order mark, ';' and ','
// decimals, Windows-1251, CRLF, quoted fields, thousands with spaces, empty cells, dates),
// type inference and what check --db binds, names, --types, keys, atomicity and the messages.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <unistd.h>

#include <algorithm>
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

TEST_CASE("import reads a Russian Excel export: BOM, ';', ',' decimals, CRLF, quotes, spaces") {
    TempDir dir;
    const auto csv = dir.write("crm.csv", kCrm);
    const auto db = dir.file("crm.db");
    auto r = run_cli({"import", csv, "--db", db, "--table", "customers", "--key", "ID"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(declared(db, "customers") ==
          "id INTEGER, компания TEXT, дата_регистрации DATE, сумма_ltv REAL, покупки INTEGER, "
          "vip BOOLEAN, телефон TEXT");
    // The header → column mapping, the types and the row count are printed.
    CHECK(r.out.find("Дата регистрации  дата_регистрации  date") != std::string::npos);
    CHECK(r.out.find("read as utf-8 with a byte-order mark") != std::string::npos);
    CHECK(r.out.find("separator ';', decimal mark ',', dates DD.MM.YYYY") != std::string::npos);
    CHECK(r.out.find("4 rows imported into table customers (created)") != std::string::npos);
    CHECK(cell(db, "SELECT компания FROM customers WHERE id = 1") ==
          "text:ООО \"Ромашка\"; филиал");
    CHECK(cell(db, "SELECT компания FROM customers WHERE id = 2") == "text:две\r\nстроки");
    CHECK(cell(db, "SELECT дата_регистрации FROM customers WHERE id = 1") == "text:2024-12-15");
    CHECK(cell(db, "SELECT дата_регистрации FROM customers WHERE id = 2") == "text:2023-02-01");
    CHECK(cell(db, "SELECT сумма_ltv FROM customers WHERE id = 1") == "real:150000.0");
    CHECK(cell(db, "SELECT сумма_ltv FROM customers WHERE id = 2") == "real:12.5");
    CHECK(cell(db, "SELECT сумма_ltv FROM customers WHERE id = 4") == "real:1234567.25");
    CHECK(cell(db, "SELECT vip FROM customers WHERE id = 1") == "int:1");
    CHECK(cell(db, "SELECT vip FROM customers WHERE id = 2") == "int:0");
    CHECK(cell(db, "SELECT vip FROM customers WHERE id = 4") == "int:1");
    // Leading zeros keep a code as text: 007 never becomes 7.
    CHECK(cell(db, "SELECT телефон FROM customers WHERE id = 1") == "text:007");
    // Empty cells are null, whatever the column's type.
    CHECK(cell(db, "SELECT компания FROM customers WHERE id = 3") == "NULL");
    CHECK(cell(db, "SELECT дата_регистрации FROM customers WHERE id = 3") == "NULL");
    CHECK(cell(db, "SELECT покупки FROM customers WHERE id = 3") == "NULL");
}

TEST_CASE("import reads Windows-1251 and says that it chose it") {
    TempDir dir;
    auto cp1251 = strata::text::utf8_to_cp1251(
        "Компания;Город;Сумма\r\nАльфа;Москва;1 500,75\r\nБета;Казань;20\r\n");
    REQUIRE(cp1251);
    const auto csv = dir.write("crm.csv", *cp1251);
    const auto db = dir.file("crm.db");
    auto r = run_cli({"import", csv, "--db", db, "--table", "customers"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("read as cp1251 (chosen: the file is not valid UTF-8 from line 1, byte "
                     "0xCA)") != std::string::npos);
    CHECK(declared(db, "customers") == "компания TEXT, город TEXT, сумма REAL");
    CHECK(cell(db, "SELECT город FROM customers WHERE компания = 'Альфа'") == "text:Москва");
    CHECK(cell(db, "SELECT сумма FROM customers WHERE компания = 'Альфа'") == "real:1500.75");

    // --encoding utf-8 on the same bytes names the line of the first byte that is not UTF-8.
    auto forced = run_cli({"import", csv, "--db", db, "--table", "other", "--encoding", "utf-8"});
    CHECK(forced.code == 2);
    CHECK(forced.err.find("line 1: byte 0xCA is not UTF-8; give --encoding cp1251 if the file "
                          "is Windows-1251 (Cyrillic), --encoding cp1252 if it is Windows-1252 "
                          "or Latin-1 (Western European), or --encoding auto") !=
          std::string::npos);

    // A file that turns out not to be UTF-8 on line 3, after lines of plain ASCII, is read as
    // Windows-1251 (the rule), and the summary says where it stopped being UTF-8.
    const auto late = dir.write("late.csv", "name;n\nAnna;1\n\xC1\xEE\xF0\xE8\xF1;2\n");
    auto json = run_cli({"import", late, "--db", db, "--table", "late", "--format", "json"});
    REQUIRE_MESSAGE(json.code == 0, json.err);
    CHECK(json_at(json.out, "$.encoding") == "cp1251");
    CHECK(json_at(json.out, "$.not_utf8_line") == "3");
    CHECK(cell(db, "SELECT name FROM late WHERE n = 2") == "text:Борис");
    auto text = run_cli({"import", late, "--db", db, "--table", "late2"});
    CHECK(text.out.find("(chosen: the file is not valid UTF-8 from line 3, byte 0xC1)") !=
          std::string::npos);
    // A UTF-8 file (its letters on lines 1 and 2 say so) with one stray byte on line 3 mixes
    // encodings: read in either, some letters would be stored misread. Refused, nothing made.
    const auto stray = dir.write("stray.csv", "имя;n\nАнна;1\nБорис\xA0;2\n");
    auto mixed = run_cli({"import", stray, "--db", db, "--table", "stray", "--format", "json"});
    CHECK(mixed.code == 2);
    CHECK(json_at(mixed.out, "$.error.message")
              .find("line 3: byte 0xA0 is not UTF-8, but line 1 holds UTF-8 characters of several "
                    "bytes: the file "
                    "mixes encodings") != std::string::npos);
    CHECK(strata::testing::scalar(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'stray'") ==
          0);
    // Read as one encoding because the user says so: the summary then names no line.
    auto utf8 = run_cli({"import", stray, "--db", db, "--table", "stray3", "--encoding", "cp1251",
                         "--format", "json"});
    REQUIRE_MESSAGE(utf8.code == 0, utf8.err);
    CHECK(utf8.out.find("\"not_utf8_line\":null") != std::string::npos);
    // A file that is not UTF-8 from its first letter has nothing misread that way.
    const auto latin = dir.write("latin.csv", "id;name\n1;Muller\n2;Z\xFCrich\n3;M\xFCller\n");
    auto plain = run_cli({"import", latin, "--db", db, "--table", "latin", "--format", "json"});
    REQUIRE_MESSAGE(plain.code == 0, plain.err);
    CHECK(json_at(plain.out, "$.encoding") == "cp1252");
    CHECK(json_at(plain.out, "$.notes[0]") == "<none>");
}

TEST_CASE("import infers integer, number, date, datetime, boolean and text from all rows") {
    TempDir dir;
    const auto csv = dir.write("t.csv",
                               "n,x,flag,yn,d,t,zip,mixed,bits\n"
                               "1,1.5,true,Y,2024-01-31,2024-01-31 10:00,007,1,1\n"
                               "150 000,2,False,n,2024-02-01,2024-02-01T11:30:15,123,a,0\n"
                               "-3,-0.25,TRUE,y,,2024-02-02,,2,1\n");
    const auto db = dir.file("t.db");
    auto r = run_cli({"import", csv, "--db", db, "--table", "t"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    // A column of only 0 and 1 stays an integer: a count can be 0 or 1 too (--types makes
    // it boolean).
    CHECK(declared(db, "t") ==
          "n INTEGER, x REAL, flag BOOLEAN, yn BOOLEAN, d DATE, t DATETIME, zip TEXT, mixed "
          "TEXT, bits INTEGER");
    CHECK(cell(db, "SELECT n FROM t WHERE rowid = 2") == "int:150000");
    CHECK(cell(db, "SELECT x FROM t WHERE rowid = 3") == "real:-0.25");
    CHECK(cell(db, "SELECT flag FROM t WHERE rowid = 2") == "int:0");
    CHECK(cell(db, "SELECT yn FROM t WHERE rowid = 3") == "int:1");
    CHECK(cell(db, "SELECT t FROM t WHERE rowid = 1") == "text:2024-01-31 10:00:00");
    CHECK(cell(db, "SELECT t FROM t WHERE rowid = 2") == "text:2024-02-01 11:30:15");
    // A date in a datetime column is its midnight.
    CHECK(cell(db, "SELECT t FROM t WHERE rowid = 3") == "text:2024-02-02 00:00:00");
    CHECK(cell(db, "SELECT zip FROM t WHERE rowid = 1") == "text:007");
    CHECK(cell(db, "SELECT mixed FROM t WHERE rowid = 1") == "text:1");
}

// A REAL keeps 15 significant digits (whole numbers to 2^53). Such cells made the column REAL
// and were rounded without a word: 123456789012345678 became 1.2345678901234568e+17.
TEST_CASE("import keeps numbers a REAL would round as text, and refuses them in a REAL column") {
    TempDir dir;
    const auto csv = dir.write("t.csv",
                               "id,long,short,whole,exact,more\n"
                               "1,123456789012345678,0.5,123456789012345678,9007199254740992,"
                               "0.1234567890123456\n"
                               "2,0.5,0.25,5,0.5,0.5\n"
                               "3,9007199254740993,1,7,1.25,1\n");
    const auto db = dir.file("t.db");
    auto r = run_cli({"import", csv, "--db", db, "--table", "t"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    // whole: 18 digits in an integer column are exact; exact: 2^53 beside fractions is too.
    CHECK(declared(db, "t") ==
          "id INTEGER, long TEXT, short REAL, whole INTEGER, exact REAL, more TEXT");
    CHECK(cell(db, "SELECT long FROM t WHERE id = 1") == "text:123456789012345678");
    CHECK(cell(db, "SELECT long FROM t WHERE id = 3") == "text:9007199254740993");
    CHECK(cell(db, "SELECT whole FROM t WHERE id = 1") == "int:123456789012345678");
    CHECK(cell(db, "SELECT exact = 9007199254740992 FROM t WHERE id = 1") == "int:1");
    CHECK(cell(db, "SELECT more FROM t WHERE id = 1") == "text:0.1234567890123456");
    CHECK(r.out.find("note: column 'long' is text: 2 cells have more digits than a number "
                     "column keeps exactly (such as '123456789012345678', which it would "
                     "round), so every cell is kept as written") != std::string::npos);
    // A column that is text for a cell that is no number at all: the long number is not why.
    const auto na = dir.write("na.csv", "id,acct\n1,123456789012345678\n2,n/a\n");
    auto text = run_cli({"import", na, "--db", db, "--table", "na"});
    REQUIRE(text.code == 0);
    CHECK(text.out.find("would round") == std::string::npos);
    // --append to a REAL column: refused, nothing imported.
    const auto more = dir.write("more.csv", "id,short\n4,9007199254740993\n");
    auto appended = run_cli({"import", more, "--db", db, "--table", "t", "--append"});
    CHECK(appended.code == 2);
    CHECK(appended.err.find("'9007199254740993' is not a number, the type the existing table "
                            "declares (it has more digits than a REAL keeps exactly, and would "
                            "be rounded)") != std::string::npos);
    CHECK(cell(db, "SELECT count(*) FROM t") == "int:3");
}

TEST_CASE("import asks for --date-format when no day above 12 settles the order") {
    TempDir dir;
    const auto csv = dir.write("t.csv", "id,reg\n1,01.02.2024\n2,03.04.2024\n3,05.06.2024\n");
    const auto db = dir.file("t.db");
    auto r = run_cli({"import", csv, "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err ==
          "strata import: " + csv +
              ": column 'reg' has dates such as '01.02.2024' and '03.04.2024' that read as "
              "DD.MM.YYYY and as MM/DD/YYYY, and no day above 12 settles it; give --date-format "
              "DD.MM.YYYY or --date-format MM/DD/YYYY\n");
    CHECK_FALSE(std::filesystem::exists(db));

    r = run_cli({"import", csv, "--db", db, "--table", "t", "--date-format", "MM/DD/YYYY"});
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT reg FROM t WHERE id = 1") == "text:2024-01-02");

    // Another column's day above 12 settles the order for the whole file.
    const auto two = dir.write("two.csv", "a,b\n13/01/2024,01/02/2024\n01/01/2024,02/03/2024\n");
    r = run_cli({"import", two, "--db", db, "--table", "two"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(cell(db, "SELECT b FROM two WHERE rowid = 1") == "text:2024-02-01");

    // Columns that settle different orders each keep their own; the summary names no one
    // order for the file, and a note names each column's.
    const auto own =
        dir.write("own.csv", "id,eu,us\n1,15.01.2024,01/15/2024\n2,03.02.2024,02/03/2024\n");
    r = run_cli({"import", own, "--db", db, "--table", "own", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.date_format") == "<none>");
    CHECK(json_at(r.out, "$.notes[0]") ==
          "columns read dates like 01.02.2024 in different orders, each as its own dates settle "
          "it: 'eu' as DD.MM.YYYY, 'us' as MM/DD/YYYY");
    CHECK(cell(db, "SELECT eu FROM own WHERE id = 2") == "text:2024-02-03");
    CHECK(cell(db, "SELECT us FROM own WHERE id = 2") == "text:2024-02-03");
    // A column nothing settles, beside columns that disagree: said so, not "no day above 12".
    const auto split = dir.write("split.csv", "id,a,b,c\n1,13.01.2024,01.13.2024,01.02.2024\n");
    r = run_cli({"import", split, "--db", db, "--table", "split"});
    CHECK(r.code == 2);
    CHECK(r.err.find("column 'c' has dates such as '01.02.2024' that read as DD.MM.YYYY and as "
                     "MM/DD/YYYY, and the file's other columns disagree") != std::string::npos);
}

TEST_CASE("import maps headers to names, prints the mapping, and refuses two alike") {
    CHECK(strata::import::column_name_for("Дата регистрации", 1, false) == "дата_регистрации");
    CHECK(strata::import::column_name_for("Дата регистрации", 1, true) == "data_registratsii");
    CHECK(strata::import::column_name_for("  Сумма, руб. (LTV) ", 1, false) == "сумма_руб_ltv");
    CHECK(strata::import::column_name_for("1C code", 1, false) == "_1c_code");
    CHECK(strata::import::column_name_for("Größe", 1, false) == "größe");
    CHECK(strata::import::column_name_for("Σύνολο", 1, false) == "σύνολο");
    // Latin letters beyond Latin-1 and Greek capitals with a tonos were left capital.
    CHECK(strata::import::column_name_for("ŁÓDŹ Miasto", 1, false) == "łódź_miasto");
    CHECK(strata::import::column_name_for("Číslo ŇŠŽ", 1, false) == "číslo_ňšž");
    CHECK(strata::import::column_name_for("Şehir İl ĞÜ", 1, false) == "şehir_il_ğü");
    CHECK(strata::import::column_name_for("ĀĶĻŅ ĲŸ", 1, false) == "āķļņ_ĳÿ");
    CHECK(strata::import::column_name_for("Έσοδα Ώρα Άλφα Ίδιο Όνομα Ύψος Ήλιος", 1, false) ==
          "έσοδα_ώρα_άλφα_ίδιο_όνομα_ύψος_ήλιος");
    CHECK(strata::import::column_name_for("in", 1, false) == "in_");
    // A built-in name would hide the column from every rule: as_of is the run's date.
    CHECK(strata::import::column_name_for("As Of", 1, false) == "as_of_");
    CHECK(strata::import::column_name_for("previous segment", 1, false) == "previous_segment_");
    CHECK(strata::import::column_name_for("segment_since", 1, false) == "segment_since_");
    CHECK(strata::import::column_name_for("Days in segment", 1, false) == "days_in_segment_");
    // A table may be so named: rules name tables in YAML, not in expressions.
    CHECK(strata::import::table_name_problem("as_of").empty());
    CHECK(strata::import::column_name_for("«—»", 4, false) == "column_4");

    TempDir dir;
    const auto csv = dir.write("t.csv", "Дата регистрации;дата-регистрации\n2024-01-01;x\n");
    auto r = run_cli({"import", csv, "--db", dir.file("t.db"), "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("headers 'Дата регистрации' (column 1) and 'дата-регистрации' (column 2) "
                     "both become the column name 'дата_регистрации'; rename one of them") !=
          std::string::npos);

    const auto ok = dir.write("ok.csv", "Дата регистрации;Сумма LTV\n2024-01-01;5\n");
    r = run_cli({"import", ok, "--db", dir.file("t.db"), "--table", "t", "--ascii-names"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("Дата регистрации  data_registratsii  date") != std::string::npos);
    CHECK(declared(dir.file("t.db"), "t") == "data_registratsii DATE, summa_ltv INTEGER");

    // A header's line breaks and control bytes (a terminal's escapes) are shown, not sent.
    const auto odd = dir.write("odd.csv", "\"a\r\nb\",\"c\x1b[31md\"\n1,2\n");
    r = run_cli({"import", odd, "--db", dir.file("odd.db"), "--table", "t"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("a⏎b") != std::string::npos);
    CHECK(r.out.find("c [31md") != std::string::npos);
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find('\r') == std::string::npos);
}

TEST_CASE("import --types: cells that do not fit become null, reported by line") {
    TempDir dir;
    std::string text = "id;due;amount\n";
    const char* dues[] = {"2024-01-05", "soon", "n/a", "2024-02-30", "?", "-", "later", "x"};
    for (int i = 0; i < 8; ++i)
        text += std::to_string(i + 1) + ";" + dues[i] + ";" + (i == 3 ? "abc" : "1,5") + "\n";
    const auto csv = dir.write("t.csv", text);
    const auto db = dir.file("t.db");
    auto r = run_cli(
        {"import", csv, "--db", db, "--table", "t", "--types", "due:date,amount:number,id:text"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(declared(db, "t") == "id TEXT, due DATE, amount REAL");
    CHECK(r.out.find("column 'due' (--types date): 7 cells did not fit and are null: lines 3, "
                     "4, 5, 6, 7, …") != std::string::npos);
    CHECK(r.out.find("column 'amount' (--types number): 1 cell did not fit and is null: line 5") !=
          std::string::npos);
    CHECK(cell(db, "SELECT due FROM t WHERE id = '1'") == "text:2024-01-05");
    CHECK(cell(db, "SELECT due FROM t WHERE id = '2'") == "NULL");
    CHECK(cell(db, "SELECT amount FROM t WHERE id = '1'") == "real:1.5");
    CHECK(cell(db, "SELECT id FROM t WHERE rowid = 1") == "text:1");

    auto json = run_cli({"import", csv, "--db", db, "--table", "t", "--replace", "--types",
                         "due:date", "--format", "json"});
    REQUIRE(json.code == 0);
    CHECK(json_at(json.out, "$.columns[1].unfit") == "7");
    CHECK(json_at(json.out, "$.columns[1].unfit_lines") == "[3,4,5,6,7]");
    CHECK(json_at(json.out, "$.columns[1].forced") == "1");
    CHECK(json_at(json.out, "$.action") == "replaced");
    CHECK(json_at(json.out, "$.rows") == "8");

    auto bad = run_cli({"import", csv, "--db", db, "--table", "u", "--types", "nope:date"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("--types names 'nope', which is not a column") != std::string::npos);
    bad = run_cli({"import", csv, "--db", db, "--table", "u", "--types", "due:money"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("is not COLUMN:TYPE") != std::string::npos);
    // One column by its column name and by its header is still one column named twice.
    const auto spaced = dir.write("s.csv", "id,Due Date\n1,2024-01-01\n");
    bad = run_cli({"import", spaced, "--db", db, "--table", "u", "--dry-run", "--types",
                   "due_date:date,Due Date:text"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("--types names column 'due_date' (header 'Due Date') twice") !=
          std::string::npos);
}

TEST_CASE("import keys: unique and non-empty, named by line") {
    TempDir dir;
    const auto db = dir.file("t.db");
    auto dup = dir.write("dup.csv", "id,name\n10,a\n11,b\n10,c\n");
    auto r = run_cli({"import", dup, "--db", db, "--table", "t", "--key", "id"});
    CHECK(r.code == 2);
    CHECK(r.err == "strata import: " + dup +
                       ": key '10' of column 'id' is on line 2 and again on line 4; keys must be "
                       "unique; nothing was imported\n");
    // Spelled otherwise, the same integer: the line of each.
    auto spaced = dir.write("spaced.csv", "id,name\n1000,a\n\"1 000\",b\n");
    r = run_cli({"import", spaced, "--db", db, "--table", "t", "--key", "id"});
    CHECK(r.err.find("key '1000' of column 'id' is on line 2 and again on line 3") !=
          std::string::npos);
    // A key that is not of the key's type is named as such, not as empty.
    auto typed = dir.write("typed.csv", "id,name\nA1,a\n");
    r = run_cli(
        {"import", typed, "--db", db, "--table", "t", "--key", "id", "--types", "id:integer"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2: the key column 'id' holds 'A1', which is not an integer") !=
          std::string::npos);
    // The database file the failed import created is gone again.
    CHECK_FALSE(std::filesystem::exists(db));
    auto empty = dir.write("empty.csv", "id,name\n10,a\n,b\n");
    r = run_cli({"import", empty, "--db", db, "--table", "t", "--key", "id"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 3: the key column 'id' is empty") != std::string::npos);
    r = run_cli({"import", empty, "--db", db, "--table", "t", "--key", "code"});
    CHECK(r.code == 2);
    CHECK(r.err.find("--key 'code' is not a column") != std::string::npos);
}

TEST_CASE("import --replace says when the old table's primary key is not kept") {
    TempDir dir;
    const auto db = dir.file("t.db");
    auto first = dir.write("a.csv", "id,name\n1,a\n2,b\n");
    REQUIRE(run_cli({"import", first, "--db", db, "--table", "t", "--key", "id"}).code == 0);
    auto again = dir.write("b.csv", "id,name\n1,a\n1,c\n");
    auto r = run_cli({"import", again, "--db", db, "--table", "t", "--replace"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK_MESSAGE(r.out.find("the old table's primary key (id) is not kept: the new table has "
                             "none; give --key id to keep it, checked unique and not empty") !=
                      std::string::npos,
                  r.out);
    // With --key, the key is checked and kept: no note.
    auto good = dir.write("c.csv", "id,name\n1,a\n3,c\n");
    REQUIRE(
        run_cli({"import", good, "--db", db, "--table", "t", "--replace", "--key", "id"}).code ==
        0);
    r = run_cli({"import", good, "--db", db, "--table", "t", "--replace", "--key", "id"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("primary key") == std::string::npos);
}

TEST_CASE("a failed import leaves the database as it was") {
    TempDir dir;
    const auto db = dir.database("t.db",
                                 "CREATE TABLE t (id INTEGER, name TEXT);"
                                 "INSERT INTO t VALUES (1, 'kept'), (2, 'also kept');");
    std::string text = "id,name\n";
    for (int i = 1; i <= 2000; ++i)
        text += std::to_string(i) + ",n" + std::to_string(i) + "\n";
    text += "1000,again\n";  // a repeated key after 2,000 good rows
    const auto csv = dir.write("t.csv", text);

    auto r = run_cli({"import", csv, "--db", db, "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("table 't' already exists in '" + db +
                     "'; give --replace to replace it, or --append to add the file's rows to "
                     "it") != std::string::npos);

    r = run_cli({"import", csv, "--db", db, "--table", "t", "--replace", "--key", "id"});
    CHECK(r.code == 2);
    CHECK(r.err.find("key '1000' of column 'id' is on line 1001 and again on line 2002") !=
          std::string::npos);
    CHECK(declared(db, "t") == "id INTEGER, name TEXT");
    CHECK(count_rows(db, "t") == 2);
    CHECK(cell(db, "SELECT name FROM t WHERE id = 1") == "text:kept");

    // A malformed record after good ones: also nothing.
    const auto broken = dir.write("broken.csv", "id,name\n5,a\n6,\"never closed\n");
    r = run_cli({"import", broken, "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 3: a quoted field opened here is never closed") != std::string::npos);
    CHECK(count_rows(db, "t") == 2);

    // A new database where none can be made: the folder is named, not SQLite's "unable to open
    // database file".
    const std::string missing = dir.file("no-such-folder");
    r = run_cli({"import", csv, "--db", missing + "/t.db", "--table", "t"});
    CHECK(r.code == 2);
    CHECK(r.err.find("cannot make the database '" + missing + "/t.db': folder '" + missing +
                     "' does not exist") != std::string::npos);
    if (::geteuid() != 0) {  // root may write anywhere
        const std::string locked = dir.file("locked");
        std::filesystem::create_directories(locked);
        std::filesystem::permissions(
            locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
        r = run_cli({"import", csv, "--db", locked + "/t.db", "--table", "t"});
        std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
        CHECK(r.code == 2);
        CHECK(r.err.find("folder '" + locked + "' is not writable (permission denied)") !=
              std::string::npos);
    }
}

TEST_CASE("import --append adds rows in the existing table's types") {
    TempDir dir;
    const auto db = dir.file("t.db");
    auto first = dir.write("a.csv", "id;amount;when\n1;1,5;15.12.2024\n");
    REQUIRE(run_cli({"import", first, "--db", db, "--table", "t", "--key", "id"}).code == 0);
    auto second = dir.write("b.csv", "id;amount;when\n2;7;2024-01-02\n");
    auto r = run_cli({"import", second, "--db", db, "--table", "t", "--append", "--key", "id"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("1 row imported into table t (appended)") != std::string::npos);
    // 7 alone would infer an integer; the table says number.
    CHECK(cell(db, "SELECT amount FROM t WHERE id = 2") == "real:7.0");

    auto again = run_cli({"import", second, "--db", db, "--table", "t", "--append", "--key", "id"});
    CHECK(again.code == 2);
    CHECK(again.err.find("key '2' of column 'id' is on line 2 and already in the table") !=
          std::string::npos);
    auto wrong = dir.write("c.csv", "id;amount;when\n3;lots;2024-01-02\n");
    r = run_cli({"import", wrong, "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2, column 'amount': 'lots' is not a number, the type the existing "
                     "table declares") != std::string::npos);
    // A time of day does not fit the DATE column: it would be dropped.
    auto timed = dir.write("e.csv", "id;amount;when\n5;1;2024-05-05 10:00\n");
    r = run_cli({"import", timed, "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2, column 'when': '2024-05-05 10:00' is not a date, the type the "
                     "existing table declares") != std::string::npos);
    auto extra = dir.write("d.csv", "id;bonus\n4;1\n");
    r = run_cli({"import", extra, "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("column 'bonus' (header 'bonus' of " + extra + ") is not in table 't'") !=
          std::string::npos);
    CHECK(count_rows(db, "t") == 2);
}

TEST_CASE("import --append: the table's own key, keys as values, names in any letter case") {
    TempDir dir;
    const auto db = dir.file("t.db");
    REQUIRE(run_cli({"import", dir.write("a.csv", "id,amount\n1000,1\n2,5\n"), "--db", db,
                     "--table", "t", "--key", "id"})
                .code == 0);
    // Without --key the table's PRIMARY KEY is the key: a row without one is refused, not
    // given one by SQLite.
    auto r = run_cli(
        {"import", dir.write("b.csv", "amount\n7\n"), "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("table 't' is keyed by column 'id', which") != std::string::npos);
    r = run_cli(
        {"import", dir.write("c.csv", "id,amount\n,7\n"), "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2: the key column 'id' is empty") != std::string::npos);
    // '1 000' is the key 1000, already in the table.
    r = run_cli({"import", dir.write("d.csv", "id,amount\n\"1 000\",7\n"), "--db", db, "--table",
                 "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("key '1000' of column 'id' is on line 2 and already in the table") !=
          std::string::npos);
    CHECK(count_rows(db, "t") == 2);
    // Column names in another letter case are the table's (SQLite compares them so).
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("CREATE TABLE people (ID INTEGER PRIMARY KEY, Email TEXT)");
    r = run_cli({"import", dir.write("e.csv", "ID,Email\n1,a@b\n"), "--db", db, "--table", "people",
                 "--append"});
    CHECK_MESSAGE(r.code == 0, r.err);
    CHECK(count_rows(db, "people") == 1);
    // A column strata reads as text that SQLite stores numbers in (declared STRING): '007'
    // would become 7, so it is refused; other texts go in.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("CREATE TABLE coded (id INTEGER PRIMARY KEY, code STRING, note TEXT)");
    r = run_cli({"import", dir.write("h.csv", "id,code,note\n1,007,007\n"), "--db", db, "--table",
                 "coded", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2, column 'code': '007' would be stored as a number: the table "
                     "declares the column STRING") != std::string::npos);
    // SQLite reads past tabs and line breaks around the number too: a quoted cell with one was
    // stored as 7.
    for (const char* cell : {"\t007", "007\t", "\"\n007\"", "\" 007\r\""}) {
        CAPTURE(cell);
        r = run_cli({"import", dir.write("t.csv", std::string("id,code,note\n1,") + cell + ",x\n"),
                     "--db", db, "--table", "coded", "--append"});
        CHECK(r.code == 2);
        CHECK(r.err.find("would be stored as a number") != std::string::npos);
    }
    r = run_cli({"import", dir.write("i.csv", "id,code,note\n1,A7,007\n"), "--db", db, "--table",
                 "coded", "--append"});
    CHECK(r.code == 0);
    CHECK(cell(db, "SELECT note FROM coded") == "text:007");
    // A table an earlier strata imported, when it lower-cased only Latin-1: its column
    // ŁódŹ_miasto is the header ŁÓDŹ Miasto, now named łódź_miasto.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("CREATE TABLE cities (id INTEGER PRIMARY KEY, \"ŁódŹ_miasto\" TEXT)");
    r = run_cli({"import", dir.write("l.csv", "id,ŁÓDŹ Miasto\n1,Łódź\n"), "--db", db, "--table",
                 "cities", "--append"});
    CHECK_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT \"ŁódŹ_miasto\" FROM cities") == "text:Łódź");
    // Numbers as keys: 2.0 and 2 are one key.
    REQUIRE(run_cli({"import", dir.write("f.csv", "code,v\n2.5,a\n2.0,b\n"), "--db", db, "--table",
                     "codes", "--key", "code"})
                .code == 0);
    r = run_cli({"import", dir.write("g.csv", "code,v\n2,c\n"), "--db", db, "--table", "codes",
                 "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("key '2.0' of column 'code' is on line 2 and already in the table") !=
          std::string::npos);
}

TEST_CASE(
    "import --replace makes the table's indexes and triggers again, and says what it could not") {
    TempDir dir;
    const auto db = dir.file("t.db");
    REQUIRE(run_cli({"import", dir.write("a.csv", "id,name,amt\n1,a,10\n"), "--db", db, "--table",
                     "c", "--key", "id"})
                .code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE INDEX by_name ON c (name); CREATE INDEX by_amount ON c (amt); "
            "CREATE VIEW amounts AS SELECT amt FROM c; "
            "CREATE TABLE log (n INTEGER); "
            "CREATE TRIGGER logged AFTER INSERT ON c BEGIN INSERT INTO log VALUES (1); END; "
            "CREATE TRIGGER strata_watch_c_insert AFTER INSERT ON c BEGIN SELECT 1; END;");
    auto r = run_cli({"import", dir.write("b.csv", "id,title,amt\n2,b,5\n"), "--db", db, "--table",
                      "c", "--replace", "--key", "id", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.notes[0]") ==
          "index 'by_name' of the old table could not be made again on the new one (no such "
          "column: name); it is dropped");
    CHECK(json_at(r.out, "$.notes[1]") == "<none>");
    auto schema = [&](const std::string& name) {
        SQLite::Database d(db, SQLite::OPEN_READONLY);
        SQLite::Statement q(d, "SELECT count(*) FROM sqlite_schema WHERE name = ?");
        q.bind(1, name);
        q.executeStep();
        return q.getColumn(0).getInt();
    };
    CHECK(schema("by_amount") == 1);
    CHECK(schema("by_name") == 0);
    CHECK(schema("logged") == 1);
    CHECK(schema("strata_watch_c_insert") == 0);  // the watch is of the old rows
    CHECK(count_rows(db, "log") == 0);            // made again after the import's rows
    // A trigger whose body reads a column gone is made, by SQLite, and then fails every change
    // it fires for: it is dropped and named.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TRIGGER kept_name AFTER DELETE ON c BEGIN INSERT INTO log VALUES "
            "(length(old.title)); END;");
    r = run_cli(
        {"import", dir.write("b2.csv", "id,amt\n2,5\n"), "--db", db, "--table", "c", "--replace"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("note: trigger 'kept_name' of the old table could not be made again on the "
                     "new one (no such column: old.title); it is dropped") != std::string::npos);
    CHECK(schema("kept_name") == 0);
    CHECK(schema("logged") == 1);
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("DELETE FROM c");  // deletes work
    // A view that reads a column gone is named.
    r = run_cli(
        {"import", dir.write("c.csv", "id,title\n3,c\n"), "--db", db, "--table", "c", "--replace"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("note: view 'amounts' no longer reads (no such column: amt)") !=
          std::string::npos);
    // A column named in double quotes, as strata's own CREATE TABLE names them: SQLite would
    // read a "title" it cannot find as the text 'title', so the index would be rebuilt on a
    // constant and the view would filter on one. Both are named as gone.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE INDEX by_quoted_title ON c(\"title\"); CREATE VIEW titled AS SELECT id FROM c "
            "WHERE \"title\" = 'c'");
    r = run_cli(
        {"import", dir.write("d.csv", "id,amt\n4,1\n"), "--db", db, "--table", "c", "--replace"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("note: index 'by_quoted_title' of the old table could not be made again on "
                     "the new one (no such column: title); it is dropped") != std::string::npos);
    CHECK(schema("by_quoted_title") == 0);
    CHECK(r.out.find("note: view 'titled' no longer reads (no such column: title)") !=
          std::string::npos);
}

TEST_CASE("import quotes a cell with a line break on one line") {
    TempDir dir;
    const auto db = dir.file("t.db");
    const auto first = dir.write("first.csv", "id;amount\n1;5\n");
    REQUIRE(run_cli({"import", first, "--db", db, "--table", "t"}).code == 0);
    // --append refuses a quoted cell over two lines: the message stays one line.
    const auto more = dir.write("more.csv", "id;amount\n2;\"x\r\ny\"\n");
    auto r = run_cli({"import", more, "--db", db, "--table", "t", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("column 'amount': 'x\u23CEy' is not an integer, the type the existing "
                     "table declares") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(cell(db, "SELECT count(*) FROM t") == "int:1");
    // The note on a nearly numeric column quotes its one text cell the same way.
    std::string text = "id;amount\n";
    for (int i = 1; i <= 200; ++i)
        text +=
            std::to_string(i) + ";" + (i == 7 ? std::string("\"n\na\"") : std::to_string(i)) + "\n";
    const auto nearly = dir.write("nearly.csv", text);
    r = run_cli({"import", nearly, "--db", db, "--table", "n"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("but 'n\u23CEa' is not; --types amount:integer") != std::string::npos);
    // The key column's refusals too: a key that is not of its type, a key given twice.
    const auto keys = dir.write("keys.csv", "id;amount\n\"a\nb\";5\n");
    r = run_cli(
        {"import", keys, "--db", db, "--table", "k", "--key", "id", "--types", "id:integer"});
    CHECK(r.code == 2);
    CHECK(r.err.find("the key column 'id' holds 'a\u23CEb', which is not an integer") !=
          std::string::npos);
    const auto twice = dir.write("twice.csv", "id;amount\n\"a\nb\";5\n\"a\nb\";6\n");
    r = run_cli({"import", twice, "--db", db, "--table", "k", "--key", "id"});
    CHECK(r.code == 2);
    CHECK(r.err.find("key 'a\u23CEb' of column 'id' is on line") != std::string::npos);
}
