// strata import at its edges: database paths SQLite would not read as files, --append to
// columns that differ only in letter case beyond ASCII, 19-digit integers and STRICT tables,
// files that are not CSV, and a database another process holds.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "import_support.hpp"
#include "test_support.hpp"

using strata::testing::run_cli;
using strata::testing::TempDir;
using namespace strata::testing::import_fixture;

// An empty --db is a temporary database to SQLite, ':memory:' one in memory, and 'file:…' a
// URI: an import into any of them said "2 rows imported" and kept nothing, or wrote a file of
// another name.
TEST_CASE("import, run and demo-data refuse a --db SQLite would not read as that file") {
    TempDir dir;
    const auto csv = dir.write("t.csv", "id,v\n1,10\n2,20\n");
    for (const std::string db : {"", ":memory:", "file:t.db"}) {
        CAPTURE(db);
        auto r = run_cli({"import", csv, "--db", db, "--table", "c"});
        CHECK(r.code == 2);
        CHECK(r.out.find("imported") == std::string::npos);
        const std::string problem = db.empty()         ? "--db is empty"
                                    : db == ":memory:" ? "is SQLite's database in memory"
                                                       : "would be read by SQLite as a URI";
        CHECK_MESSAGE(r.err.find(problem) != std::string::npos, r.err);
        r = run_cli({"import", csv, "--db=" + db, "--table", "c", "--format", "json"});
        CHECK(r.code == 2);
        CHECK(r.out.find("\"kind\":\"usage\"") != std::string::npos);
    }
    auto r = run_cli({"run", dir.write("r.yaml", "ruleset: r\n"), "--db", "file:x.db"});
    CHECK(r.code == 2);
    CHECK(r.err.find("give the path without 'file:', or as ./file:x.db") != std::string::npos);
    r = run_cli({"runs", "--state", ":memory:"});
    CHECK(r.code == 2);
    CHECK(r.err.find("--state ':memory:'") != std::string::npos);
    // Named by the command's path; --help still helps; a command without --db says so.
    r = run_cli({"outbox", "claim", "--db", "", "--limit", "1", "--consumer", "c"});
    CHECK(r.err.find("strata outbox claim: --db is empty") == 0);
    CHECK(run_cli({"runs", "--db", "", "--help"}).code == 0);
    r = run_cli({"test", "x.test.yaml", "--db", ""});
    CHECK(r.code == 2);
    CHECK(r.err.find("--db is empty") == std::string::npos);
    const std::string uri = "file:" + dir.file("demo.db");
    r = run_cli({"demo-data", "--kind", "retail", "--customers", "5", "--out", uri});
    CHECK(r.code == 2);
    CHECK(r.err.find("--out '" + uri + "'") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("demo.db")));
}

// SQLite folds only ASCII letters: "имя" and "Имя" are two columns. The header Имя went into
// имя, the column strata would name it, though a column is written exactly as the header.
TEST_CASE("import --append puts a header into the column written exactly as it") {
    TempDir dir;
    const auto db = dir.file("t.db");
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        d.exec(R"(CREATE TABLE c (id INTEGER PRIMARY KEY, "имя" TEXT, "Имя" TEXT))");
    }
    auto r = run_cli(
        {"import", dir.write("t.csv", "id,Имя\n1,X\n"), "--db", db, "--table", "c", "--append"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, R"(SELECT coalesce("имя", 'none') || '/' || "Имя" FROM c)") == "text:none/X");
}

TEST_CASE("import --append: 19-digit integers into INTEGER, '007' into a STRICT table's ANY") {
    TempDir dir;
    const auto db = dir.file("t.db");
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        d.exec(
            "CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER);"
            "CREATE TABLE s (id INTEGER PRIMARY KEY, a ANY) STRICT;");
    }
    auto r = run_cli({"import",
                      dir.write("n.csv", "id,n\n3,9223372036854775807\n4,-1234567890123456789\n"),
                      "--db", db, "--table", "c", "--append"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT n FROM c WHERE id = 3") == "int:9223372036854775807");
    CHECK(cell(db, "SELECT n FROM c WHERE id = 4") == "int:-1234567890123456789");
    // One past the largest 64-bit integer is no integer.
    r = run_cli({"import", dir.write("o.csv", "id,n\n5,9223372036854775808\n"), "--db", db,
                 "--table", "c", "--append"});
    CHECK(r.code == 2);
    CHECK(r.err.find("'9223372036854775808' is not an integer") != std::string::npos);
    // A STRICT table's ANY column keeps a text as written; a plain table's would make it 7.
    r = run_cli(
        {"import", dir.write("s.csv", "id,a\n2,007\n"), "--db", db, "--table", "s", "--append"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT a FROM s") == "text:007");
}

TEST_CASE("import names what a file that is not CSV looks like, and why a table name is refused") {
    TempDir dir;
    const auto db = dir.file("t.db");
    auto refused = [&](const std::string& name, const std::string& bytes) {
        const auto r = run_cli({"import", dir.write(name, bytes), "--db", db, "--table", "c"});
        CHECK(r.code == 2);
        return r.err;
    };
    CHECK(refused("a.json", "[{\"id\": 1}]\n").find("looks like JSON, not CSV text") !=
          std::string::npos);
    CHECK(refused("b.jsonl", "{\"id\": 1}\n").find("looks like JSON") != std::string::npos);
    CHECK(refused("c.xlsx", std::string("PK\x03\x04", 4) + "rest")
              .find("a zip file (an Excel or OpenDocument workbook?)") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(db));
    // A header in brackets is CSV.
    auto r =
        run_cli({"import", dir.write("d.csv", "[id],name\n1,a\n"), "--db", db, "--table", "c"});
    CHECK_MESSAGE(r.code == 0, r.err);
    r = run_cli({"import", dir.write("e.csv", "id\n1\n"), "--db", db, "--table", "and"});
    CHECK(r.code == 2);
    CHECK(r.err.find("--table 'and' is a word of the rule language") != std::string::npos);
}

TEST_CASE("import into a database another process holds says it is locked") {
    TempDir dir;
    const auto db = dir.file("t.db");
    SQLite::Database holder(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    holder.exec("CREATE TABLE other (x); BEGIN EXCLUSIVE; INSERT INTO other VALUES (1);");
    const auto r = run_cli({"import", dir.write("t.csv", "id\n1\n"), "--db", db, "--table", "c"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("is locked by another process") != std::string::npos, r.err);
    holder.exec("ROLLBACK");
}

// Old DOS exporters end the file with Ctrl-Z (0x1A), which was kept in the last cell.
TEST_CASE("import drops a DOS end-of-file mark after the last row") {
    TempDir dir;
    const auto db = dir.file("t.db");
    const auto r =
        run_cli({"import", dir.write("t.csv", "id,v\n1,x\n2,y\x1a"), "--db", db, "--table", "c"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(cell(db, "SELECT v FROM c WHERE id = 2") == "text:y");
}

// A run matches keys exactly: ' A1 ' and 'A1' would be two customers, and the facts of 'A1'
// one's alone. Import refused only keys that were the same to the byte.
TEST_CASE("import refuses text keys that differ only by the spaces around them") {
    TempDir dir;
    const auto db = dir.file("t.db");
    for (const auto& [rows, said] : std::vector<std::pair<std::string, std::string>>{
             {"A1,x\n A1 ,y\n", "key ' A1 ' of column 'id' on line 3 is key 'A1' of line 2"},
             {"\"A1 \",x\nA1,y\n", "key 'A1' of column 'id' on line 3 is key 'A1 ' of line 2"},
             // (A tab is shown as a space on a message's one line.)
             {" A1,x\nA1\t,y\n", "key 'A1 ' of column 'id' on line 3 is key ' A1' of line 2"}}) {
        CAPTURE(rows);
        auto r = run_cli({"import", dir.write("t.csv", "id,name\n" + rows), "--db", db, "--table",
                          "c", "--key", "id"});
        CHECK(r.code == 2);
        CHECK_MESSAGE(
            r.err.find(said + " but for the spaces around it; a run matches keys "
                              "exactly, so they would be two customers") != std::string::npos,
            r.err);
        CHECK_FALSE(std::filesystem::exists(db));
    }
    // Against the keys already in the table, with --append.
    auto r = run_cli({"import", dir.write("a.csv", "id,name\nA1,x\nB2,y\n"), "--db", db, "--table",
                      "c", "--key", "id"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    r = run_cli({"import", dir.write("b.csv", "id,name\nC3,z\nB2 ,w\n"), "--db", db, "--table", "c",
                 "--append", "--key", "id"});
    CHECK(r.code == 2);
    CHECK(r.err.find("key 'B2 ' of column 'id' on line 3 is key 'B2' already in the table but "
                     "for the spaces around it") != std::string::npos);
    CHECK(strata::testing::count_rows(db, "c") == 2);
    // The spaces in the table's key: the file has none to remove.
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("UPDATE c SET id = ' B2' WHERE id = 'B2'");
    r = run_cli({"import", dir.write("d.csv", "id,name\nB2,w\n"), "--db", db, "--table", "c",
                 "--append", "--key", "id"});
    CHECK(r.code == 2);
    CHECK(r.err.find("is key ' B2' already in the table but for the spaces around it; a run "
                     "matches keys exactly, so they would be two customers: trim the table's "
                     "key") != std::string::npos);
    // Spaces inside a key, and numbers (read without their spaces), are as before.
    r = run_cli({"import", dir.write("c.csv", "id,name\nA 1,z\n"), "--db", db, "--table", "c",
                 "--append", "--key", "id"});
    CHECK_MESSAGE(r.code == 0, r.err);
}

// An old Mac file ends its lines with a lone CR. A line break inside a quoted field was
// counted only as LF, so every line after it was named one line early.
TEST_CASE("import counts a lone CR inside quotes as a line, as between records") {
    TempDir dir;
    for (const std::string eol : {"\r", "\n", "\r\n"}) {
        CAPTURE(eol.size());
        const std::string text =
            "id,note" + eol + "1,\"a" + eol + "b\"" + eol + "2,x" + eol + "2,y" + eol;
        auto r = run_cli({"import", dir.write("t.csv", text), "--db", dir.file("t.db"), "--table",
                          "c", "--key", "id"});
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find("key '2' of column 'id' is on line 4 and again on line 5") !=
                          std::string::npos,
                      r.err);
    }
    // And in the line an encoding finding names.
    auto r = run_cli({"import", dir.write("m.csv", "id,note\r1,\"a\r\rb\"\r2,\xff\r"), "--db",
                      dir.file("m.db"), "--table", "c", "--key", "id"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK_MESSAGE(r.out.find("not valid UTF-8 from line 5, byte 0xFF") != std::string::npos, r.out);
}

// A number longer than the 18 digits a number is read with (19 digits and more before the mark,
// 31 and more after it) made its column text with no note, beside numbers; review AF1. A column
// of long whole numbers alone is one of identifiers, text with no note, as before.
TEST_CASE("import notes a column made text by a number of more than 18 digits beside numbers") {
    TempDir dir;
    const auto csv =
        dir.write("n.csv",
                  "id,a,b,c,account\n"
                  "1,12345678901234567.5,1234567890123456789.5,1.5,12345678901234567890\n"
                  "2,1.5,1.5,12345678901234567890,98765432109876543210\n"
                  "3,2.5,0.1234567890123456789012345678901,2.5,12345678901234567891\n");
    auto r = run_cli({"import", csv, "--db", dir.file("n.db"), "--table", "c", "--key", "id"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    for (const std::string column : {"a", "b", "c"})
        CHECK_MESSAGE(r.out.find("note: column '" + column + "' is text: ") != std::string::npos,
                      column, r.out);
    CHECK(r.out.find("(such as '1234567890123456789.5', which it would round)") !=
          std::string::npos);
    CHECK(r.out.find("2 cells have more digits than a number column keeps exactly (such as "
                     "'1234567890123456789.5'") != std::string::npos);
    CHECK(r.out.find("(such as '12345678901234567890', which it would round)") !=
          std::string::npos);
    CHECK(r.out.find("column 'account'") == std::string::npos);
    // Every cell kept as written.
    SQLite::Database db(dir.file("n.db"));
    CHECK(db.execAndGet("SELECT b FROM c WHERE id = 3").getString() ==
          "0.1234567890123456789012345678901");
    CHECK(db.execAndGet("SELECT typeof(account) || account FROM c WHERE id = 2").getString() ==
          "text98765432109876543210");

    // Whole numbers alone are no REAL's (review AG2): identifiers of 18 and 19 digits get no
    // note, and whole numbers with one of 19 digits keep the --types integer hint.
    const auto ids = dir.write("ids.csv",
                               "id,code,qty\n1,123456789012345678,1\n2,1234567890123456789,2\n"
                               "3,9999999999999999999,3\n");
    std::string whole = "id,qty\n";
    for (int i = 1; i <= 150; ++i)
        whole += std::to_string(i) + "," + std::to_string(i * 3) + "\n";
    whole += "151,1234567890123456789\n";
    for (const auto& file : {ids, dir.write("whole.csv", whole)}) {
        auto w = run_cli(
            {"import", file, "--db", dir.file("w.db"), "--table", "w", "--key", "id", "--replace"});
        REQUIRE_MESSAGE(w.code == 0, w.err);
        CHECK_MESSAGE(w.out.find("which it would round") == std::string::npos, w.out);
    }
    // The 19-digit one is no "not a whole number" that --types integer would empty: it keeps it.
    auto hinted = run_cli(
        {"import", dir.file("whole.csv"), "--db", dir.file("h.db"), "--table", "h", "--key", "id"});
    CHECK_MESSAGE(
        hinted.out.find("note: column 'qty' is text: every cell is a whole number, but "
                        "'1234567890123456789' has 19 digits, which makes a column "
                        "text unless it is declared one of integers; --types "
                        "qty:integer keeps every cell, as an integer") != std::string::npos,
        hinted.out);
    auto typed = run_cli({"import", dir.file("whole.csv"), "--db", dir.file("t.db"), "--table", "t",
                          "--key", "id", "--types", "qty:integer"});
    REQUIRE_MESSAGE(typed.code == 0, typed.err);
    SQLite::Database t(dir.file("t.db"));
    CHECK(t.execAndGet("SELECT typeof(qty) || qty FROM t WHERE id = 151").getString() ==
          "integer1234567890123456789");
    CHECK(t.execAndGet("SELECT count(*) FROM t WHERE qty IS NULL").getInt64() == 0);
}
