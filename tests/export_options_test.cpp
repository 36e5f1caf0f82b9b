// `strata export` for a CRM import (issue 11): --delimiter, --encoding, --bom and --columns,
// on a base whose tables, columns, lets and segment ids are Cyrillic, as an imported CRM
// export gives them. Outputs are compared byte for byte.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include "test_support.hpp"
#include "text/encoding.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE клиенты (ид INTEGER PRIMARY KEY, компания TEXT, отрасль TEXT);
INSERT INTO клиенты VALUES (1, 'ООО "Ромашка"', 'ритейл'), (2, 'ИП Петров', 'опт'),
  (3, 'Omega', 'ритейл'), (4, 'Ёлка; и Ко', NULL);
CREATE TABLE заказы (ид_клиента INTEGER, сумма REAL, дата DATE);
INSERT INTO заказы VALUES (1, 120.5, '2026-10-01'), (1, 80, '2026-10-20'),
  (2, 40, '2026-09-01'), (3, 1000, '2026-06-01'), (3, 5, '2026-12-15');
)sql";

const char* kRules = R"yaml(ruleset: crm
version: 1
source:
  customers: клиенты
  key: ид
  facts:
    заказы: { table: заказы, key: ид_клиента, time: дата }
let:
  выручка: sum(заказы.сумма)
  покупок: count(заказы)
  последняя: max(заказы.дата)
  rfm: "rfm(recency: последняя, frequency: покупок, monetary: выручка, bins: 2)"
general:
  policy: first_match
  segments:
    - id: крупные
      when: выручка >= 150
      offer: "скидка 10%; подарок"
      channel: менеджер
      priority: 1
      tactical:
        - id: ритейл
          when: отрасль == 'ритейл'
    - id: остальные
      when: otherwise
      offer: "письмо, напоминание"
      channel: email
      priority: 3
)yaml";

struct Fixture {
    TempDir dir;
    std::string db = dir.database("crm.db", kBase);
    std::string rules = dir.write("crm.yaml", kRules);
    Fixture() {
        auto r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
    }
    Run do_export(std::vector<std::string> extra) const {
        std::vector<std::string> args{"export", rules, "--db", db};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    }
};

}  // namespace

TEST_CASE("export: the default CSV is unchanged, and --delimiter , writes the same bytes") {
    Fixture f;
    const std::string expected =
        "customer_key,segment,tactical,offer,channel,priority\n"
        "1,крупные,ритейл,скидка 10%; подарок,менеджер,1\n"
        "2,остальные,,\"письмо, напоминание\",email,3\n"
        "3,крупные,ритейл,скидка 10%; подарок,менеджер,1\n"
        "4,остальные,,\"письмо, напоминание\",email,3\n";
    auto plain = f.do_export({});
    REQUIRE_MESSAGE(plain.code == 0, plain.err);
    CHECK(plain.out == expected);
    // Spelling out the defaults goes through the options' writer: the same bytes.
    auto spelt = f.do_export({"--delimiter", ",", "--encoding", "utf-8", "--columns",
                              "customer_key,segment,tactical,offer,channel,priority"});
    REQUIRE_MESSAGE(spelt.code == 0, spelt.err);
    CHECK(spelt.out == expected);
    auto with_run = f.do_export({"--with-run"});
    auto with_run_spelt = f.do_export({"--with-run", "--delimiter", ","});
    CHECK(with_run.out.find(",run_id,as_of\n1,крупные,ритейл,") != std::string::npos);
    CHECK(with_run_spelt.out == with_run.out);
    // With --columns, --with-run still adds both at the end (once, when listed already).
    auto chosen = f.do_export({"--with-run", "--columns", "key,segment"});
    REQUIRE_MESSAGE(chosen.code == 0, chosen.err);
    CHECK(chosen.out.substr(0, chosen.out.find('\n')) == "key,segment,run_id,as_of");
    CHECK(chosen.out.find("\n1,крупные,1,") != std::string::npos);
    auto listed = f.do_export({"--with-run", "--columns", "as_of,key"});
    REQUIRE_MESSAGE(listed.code == 0, listed.err);
    CHECK(listed.out.substr(0, listed.out.find('\n')) == "as_of,key,run_id");
}

TEST_CASE("export: ';', Windows-1251 and chosen columns, with a let and rfm.code") {
    Fixture f;
    auto e = f.do_export({"--delimiter", ";", "--encoding", "cp1251", "--columns",
                          "key,segment,tactical,rfm.code,выручка,отрасль,priority,offer"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    // Customer 3's order of 2026-12-15 is after as_of, so its revenue is 1000. Null cells
    // (customer 4's industry) are empty; ';' inside a cell quotes it, ',' no longer does.
    const std::string utf8 =
        "key;segment;tactical;rfm.code;выручка;отрасль;priority;offer\n"
        "1;крупные;ритейл;222;200.5;ритейл;1;\"скидка 10%; подарок\"\n"
        "2;остальные;;111;40;опт;3;письмо, напоминание\n"
        "3;крупные;ритейл;112;1000;ритейл;1;\"скидка 10%; подарок\"\n"
        "4;остальные;;;0;;3;письмо, напоминание\n";
    const auto cp1251 = strata::text::utf8_to_cp1251(utf8);
    REQUIRE(cp1251);
    CHECK(e.out == *cp1251);
    // The encoding itself, byte for byte: "key;segment;tactical;rfm.code;выручка" then ';'.
    CHECK(e.out.substr(0, 38) == "key;segment;tactical;rfm.code;\xE2\xFB\xF0\xF3\xF7\xEA\xE0;");
    CHECK(e.err.find("run 1 of crm v1") != std::string::npos);
}

// Excel in Russian and most European locales reads 200,5 as a number and 200.5 as text.
TEST_CASE("export: --decimal , writes numbers that are not whole with a decimal comma") {
    Fixture f;
    auto e = f.do_export(
        {"--delimiter", ";", "--decimal", ",", "--columns", "key,выручка,последняя,rfm.code"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    // Only numbers: keys, dates and texts are as before.
    CHECK(e.out ==
          "key;выручка;последняя;rfm.code\n"
          "1;200,5;2026-10-20;222\n"
          "2;40;2026-09-01;111\n"
          "3;1000;2026-06-01;112\n"
          "4;0;;\n");
    auto tab = f.do_export({"--delimiter", "tab", "--decimal", ",", "--columns", "key,выручка"});
    REQUIRE_MESSAGE(tab.code == 0, tab.err);
    CHECK(tab.out.find("\n1\t200,5\n") != std::string::npos);
    // With ',' between cells every such number would be quoted: refused, naming the way out.
    auto comma = f.do_export({"--decimal", ",", "--columns", "key,выручка"});
    CHECK(comma.code == 2);
    CHECK(comma.out.empty());
    CHECK(comma.err.find("give --delimiter ';' (or tab) with --decimal ,") != std::string::npos);
    CHECK(comma.err.find("run 1 of") == std::string::npos);  // said before the run is read
    CHECK(f.do_export({"--decimal", ";"}).code == 2);
    auto json = f.do_export({"--format", "jsonl", "--decimal", ","});
    CHECK(json.code == 2);
    CHECK(json.err.find("(given: --decimal)") != std::string::npos);
    // --decimal . is the default: the same bytes as without it.
    CHECK(f.do_export({"--decimal", ".", "--columns", "key,выручка"}).out ==
          f.do_export({"--columns", "key,выручка"}).out);
}

TEST_CASE(
    "export: --bom starts a UTF-8 file with EF BB BF, tab separates, and the key's own name") {
    Fixture f;
    auto e = f.do_export({"--bom", "--delimiter", "tab", "--columns", "ид,покупок,последняя"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    // Another delimiter is a usage error that lists the three, readably.
    auto pipe = f.do_export({"--delimiter", "|"});
    CHECK(pipe.code == 2);
    CHECK(pipe.err.find("--delimiter: '|' is not a delimiter: give ',' ';' or tab") !=
          std::string::npos);
    CHECK(e.out ==
          "\xEF\xBB\xBFид\tпокупок\tпоследняя\n"
          "1\t2\t2026-10-20\n2\t1\t2026-09-01\n3\t1\t2026-06-01\n4\t0\t\n");
    // A BOM has no place in a Windows-1251 file.
    auto both = f.do_export({"--bom", "--encoding", "cp1251"});
    CHECK(both.code == 2);
    CHECK(both.out.empty());
    CHECK(both.err.find("--bom") != std::string::npos);
    // The options shape CSV only.
    auto jsonl = f.do_export({"--format", "jsonl", "--columns", "key"});
    CHECK(jsonl.code == 2);
    CHECK(jsonl.out.empty());
    CHECK(jsonl.err.find("shape CSV files") != std::string::npos);
    // --format json prints the error object in place of the rows: a usage mistake, by kind.
    auto json = f.do_export({"--format", "json", "--columns", "key"});
    CHECK(json.code == 2);
    CHECK(json_at(json.out, "$.error.kind") == "usage");
    CHECK(json_at(json.out, "$.error.message").find("shape CSV files") != std::string::npos);
    CHECK(json.err.find("strata export: --with-run") != std::string::npos);
    // Each CSV option given, at its default value too, is refused with JSON and named.
    for (const std::vector<std::string>& given : std::vector<std::vector<std::string>>{
             {"--delimiter", ","}, {"--encoding", "utf-8"}, {"--raw"}, {"--with-run"}}) {
        CAPTURE(given[0]);
        std::vector<std::string> args{"--format", "json"};
        args.insert(args.end(), given.begin(), given.end());
        auto r = f.do_export(args);
        CHECK(r.code == 2);
        CHECK(json_at(r.out, "$.error.message").find("(given: " + given[0] + ")") !=
              std::string::npos);
    }
    // A run id past the largest there can be is refused as such, not read as that largest.
    for (const char* run : {"99999999999999999999", "-5", "1e3"}) {
        auto far = f.do_export({"--run", run});
        CHECK(far.code == 2);
        CHECK(far.err.find(std::string("--run: a run id is a whole number from 0 to "
                                       "9223372036854775807, not ") +
                           run) != std::string::npos);
    }
}

TEST_CASE("export: an unknown column exits 2 with 'did you mean' and every column it can write") {
    Fixture f;
    auto e = f.do_export({"--columns", "key,segment,вырчка"});
    CHECK(e.code == 2);
    CHECK(e.out.empty());
    CHECK(e.err.find("unknown column 'вырчка' (did you mean 'выручка'?) in --columns") !=
          std::string::npos);
    CHECK(e.err.find("are: customer_key, key, segment, tactical, offer, channel, priority, "
                     "run_id, as_of, ид, отрасль, выручка, покупок, последняя, rfm.r, rfm.f, "
                     "rfm.m, rfm.code") != std::string::npos);
    // A record let is written by its fields.
    auto record = f.do_export({"--columns", "key,rfm"});
    CHECK(record.code == 2);
    CHECK(record.err.find("unknown column 'rfm'") != std::string::npos);
    // An rfm field under another let's name (a doc's `score.code`) names this file's fields.
    auto field = f.do_export({"--columns", "key,score.code"});
    CHECK(field.code == 2);
    CHECK(field.err.find("unknown column 'score.code' (the rfm fields of this rule file: "
                         "rfm.code) in --columns") != std::string::npos);
    // A column of the customer table that no rule reads: why it is not there.
    auto unread = f.do_export({"--columns", "key,компания"});
    CHECK(unread.code == 2);
    CHECK(unread.err.find("unknown column 'компания' (a column of table 'клиенты' that the rule "
                          "file does not read: export gives the columns the run's rules bind, "
                          "and the key to join others by) in --columns") != std::string::npos);
    for (const char* spelled : {"клиенты.компания"})
        CHECK(f.do_export({"--columns", std::string("key,") + spelled})
                  .err.find("(a column of table 'клиенты' that the rule file does not read") !=
              std::string::npos);
    // An empty list names an empty column, as an empty place in a list does: not the defaults.
    // It is refused before the run is read (no "run 1 of …" line that looks like success).
    for (const auto& [list, place] :
         std::vector<std::pair<const char*, const char*>>{{"", "place 1 of 1"},
                                                          {" ", "place 1 of 1"},
                                                          {"key,,segment", "place 2 of 3"},
                                                          {"key,segment,", "place 3 of 3"},
                                                          {",key", "place 1 of 2"}}) {
        INFO("--columns '" << list << "'");
        auto empty = f.do_export({"--columns", list});
        CHECK(empty.code == 2);
        CHECK(empty.out.empty());
        CHECK(empty.err == std::string("strata export: --columns has no name in ") + place +
                               " (two commas together, or a comma at an end); give the columns' "
                               "names separated by single commas\n");
    }
    // A column named twice would give a header a CRM import refuses.
    auto twice = f.do_export({"--columns", "key,segment,key"});
    CHECK(twice.code == 2);
    CHECK(twice.out.empty());
    CHECK(twice.err.find("column 'key' is given twice in --columns") != std::string::npos);
}

TEST_CASE("export: a character Windows-1251 cannot write exits 2 naming its row and column") {
    Fixture f;
    // Ω is Greek: Windows-1251 has Cyrillic letters only. The rules compare the industry
    // with 'ритейл' only, so customer 2 stays where the run put them.
    SQLite::Database(f.db, SQLite::OPEN_READWRITE)
        .exec("UPDATE клиенты SET отрасль = 'ритейл Ω' WHERE ид = 2");
    auto e = f.do_export({"--encoding", "cp1251", "--columns", "key,segment,отрасль"});
    CHECK(e.code == 2);
    CHECK(e.out.empty());
    CHECK(e.err.find("row 3 (customer 2), column 'отрасль': the character 'Ω' cannot be "
                     "written in Windows-1251; nothing was written") != std::string::npos);
    // In UTF-8 the same export is fine.
    auto utf8 = f.do_export({"--columns", "key,segment,отрасль"});
    REQUIRE_MESSAGE(utf8.code == 0, utf8.err);
    CHECK(utf8.out.find("\n2,остальные,ритейл Ω\n") != std::string::npos);
}

TEST_CASE("export: columns and lets are refused once today's data no longer gives the run") {
    Fixture f;
    // An order after the run's as_of changes nothing at that as_of: still exact.
    SQLite::Database(f.db, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO заказы VALUES (2, 500, '2026-11-20')");
    auto later = f.do_export({"--columns", "key,выручка"});
    REQUIRE_MESSAGE(later.code == 0, later.err);
    CHECK(later.out == "key,выручка\n1,200.5\n2,40\n3,1000\n4,0\n");
    // An order before as_of moves customer 2 into крупные: the lets would not be the run's.
    SQLite::Database(f.db, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO заказы VALUES (2, 500, '2026-10-30')");
    auto changed = f.do_export({"--columns", "key,выручка"});
    CHECK(changed.code == 2);
    CHECK(changed.out.empty());
    CHECK(changed.err.find("the data has changed since run 1") != std::string::npos);
    CHECK(changed.err.find("places 1 customer differently (customer 2: the run placed them in "
                           "'остальные', today's data in 'крупные')") != std::string::npos);
    // The run's own columns need no evaluation and are still exported.
    auto own = f.do_export({"--columns", "key,segment", "--delimiter", ";"});
    REQUIRE_MESSAGE(own.code == 0, own.err);
    CHECK(own.out == "key;segment\n1;крупные\n2;остальные\n3;крупные\n4;остальные\n");
}

// The rules ran, so they were right: a column dropped since is the database's change (exit 2),
// said with the version's error only, not its warnings again.
TEST_CASE("export: --columns after a column the rules read was dropped exits 2 and says why") {
    Fixture f;
    SQLite::Database(f.db, SQLite::OPEN_READWRITE).exec("ALTER TABLE клиенты DROP COLUMN отрасль");
    for (const char* format : {"csv", "jsonl"}) {
        INFO(std::string(format));
        const bool csv = std::string(format) == "csv";
        auto dropped = f.do_export(csv ? std::vector<std::string>{"--columns", "key,выручка"}
                                       : std::vector<std::string>{"--format", format});
        if (!csv) {
            // Without --columns nothing is evaluated: the run's rows are still there.
            CHECK(dropped.code == 0);
            continue;
        }
        CHECK(dropped.code == 2);
        CHECK(dropped.out.empty());
        INFO(dropped.err);
        CHECK(dropped.err.find("crm@1:23:17: error: unknown field 'отрасль'") != std::string::npos);
        CHECK(dropped.err.find("warning") == std::string::npos);
        CHECK(dropped.err.find("--columns evaluates crm v1 (run 1) again, and it no longer "
                               "compiles against '" +
                               f.db + "': the database has changed since the run") !=
              std::string::npos);
    }
    auto own = f.do_export({"--columns", "key,segment"});
    CHECK(own.code == 0);
}

TEST_CASE("export: a customer gone from the base or new to it is one difference, not a shift") {
    Fixture f;
    // Customer 1 leaves: the three after them are placed as the run placed them.
    SQLite::Database(f.db, SQLite::OPEN_READWRITE).exec("DELETE FROM клиенты WHERE ид = 1");
    auto gone = f.do_export({"--columns", "key,выручка"});
    CHECK(gone.code == 2);
    CHECK(gone.out.empty());
    CHECK_MESSAGE(
        gone.err.find("places 1 customer differently (customer 1: the run placed them "
                      "in 'крупные', today's data has no such customer; 0 placed "
                      "elsewhere, 1 no longer in the base, 0 new to it)") != std::string::npos,
        gone.err);
    // And customer 5 comes, between nobody and the end.
    SQLite::Database(f.db, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO клиенты VALUES (5, 'Новые', NULL)");
    auto both = f.do_export({"--columns", "key,выручка"});
    CHECK(both.code == 2);
    CHECK_MESSAGE(
        both.err.find("places 2 customers differently (customer 1: the run placed them "
                      "in 'крупные', today's data has no such customer; 0 placed "
                      "elsewhere, 1 no longer in the base, 1 new to it)") != std::string::npos,
        both.err);
    // Only a newcomer: named first.
    SQLite::Database(f.db, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO клиенты VALUES (1, 'ООО \"Ромашка\"', 'ритейл')");
    auto added = f.do_export({"--columns", "key,выручка"});
    CHECK(added.code == 2);
    CHECK_MESSAGE(added.err.find("places 1 customer differently (customer 5: not in the run, "
                                 "today's data places them in 'остальные'; 0 placed elsewhere, 0 "
                                 "no longer in the base, 1 new to it)") != std::string::npos,
                  added.err);
}

TEST_CASE("export and explain write a negative zero as 0") {
    TempDir dir;
    const auto db = dir.database("base.db",
                                 "CREATE TABLE customers (customer_id INTEGER, spend REAL);"
                                 "INSERT INTO customers VALUES (1, 0), (2, -2.5);");
    const auto rules = dir.write("z.yaml", R"(ruleset: z
version: 1
let:
  z: spend * -1.0
general:
  segments:
    - id: a
      when: z >= 0
    - id: rest
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const Run e = run_cli({"export", rules, "--db", db, "--columns", "key,z"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK(e.out == "key,z\n1,0\n2,2.5\n");
    const Run x =
        run_cli({"explain", rules, "--db", db, "--customer", "1", "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(x.code == 0, x.err);
    CHECK(x.out.find("z = 0 ") != std::string::npos);
    CHECK(x.out.find("= -0") == std::string::npos);
}

// A CRM table with its own `segment` and `priority`, and lets named like export's columns:
// the plain names stay export's own, the qualified ones reach the rule file's, and a note says
// which is which.
TEST_CASE("export: --columns reaches a column or let named like export's own, qualified") {
    TempDir dir;
    const auto db = dir.database("c.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, segment TEXT, priority INTEGER, amt REAL);
INSERT INTO customers VALUES (1, 'VIP', 9, 3), (2, 'Mass', 8, 0);
)sql");
    const auto rules = dir.write("c.yaml", R"yaml(ruleset: c
version: 1
let:
  channel: "lower(segment)"
  offer: amt * 10
general:
  policy: first_match
  segments:
    - id: big
      when: amt > 1 and priority > 0
      channel: email
    - id: small
      when: otherwise
)yaml");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    auto r = run_cli({"export", rules, "--db", db, "--columns",
                      "key,segment,customers.segment,priority,customers.priority,channel,"
                      "let.channel,let.offer,amt"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out ==
          "key,segment,customers.segment,priority,customers.priority,channel,let.channel,"
          "let.offer,amt\n1,big,VIP,,9,email,vip,30,3\n2,small,Mass,,8,,mass,0,0\n");
    CHECK(r.err.find("note: --columns 'segment' is the run's own segment; the rule file's "
                     "customer column 'segment' is 'customers.segment'") != std::string::npos);
    CHECK(r.err.find("note: --columns 'channel' is the run's own channel; the rule file's let "
                     "'channel' is 'let.channel'") != std::string::npos);
    // let. is said once: let.let.offer is no name.
    CHECK(run_cli({"export", rules, "--db", db, "--columns", "key,let.let.offer"}).code == 2);
    // The list of names offers each once, the clashing ones qualified.
    r = run_cli({"export", rules, "--db", db, "--columns", "key,nope"});
    CHECK(r.code == 2);
    CHECK(r.err.find("are: customer_key, key, segment, tactical, offer, channel, priority, "
                     "run_id, as_of, customer_id, amt, customers.priority, customers.segment, "
                     "let.channel, let.offer\n") != std::string::npos);
}

// The rule file at the path is another version of the ruleset than the run's (the file moved
// on), or an edit of the run's version: export says which.
TEST_CASE("export: a note tells another version of the rule file from an edited one") {
    TempDir dir;
    const auto db = dir.database("c.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, amt REAL);
INSERT INTO customers VALUES (1, 3), (2, 0);
)sql");
    const std::string v1 = R"yaml(ruleset: c
version: 1
general:
  segments:
    - id: big
      when: amt > 1
    - id: small
      when: otherwise
)yaml";
    const auto rules = dir.write("c.yaml", v1);
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    std::string v2 = v1;
    v2.replace(v2.find("version: 1"), 10, "version: 2");
    v2.replace(v2.find("amt > 1"), 7, "amt > 2");
    dir.write("c.yaml", v2);
    auto r = run_cli({"export", rules, "--db", db});
    REQUIRE(r.code == 0);
    CHECK(r.out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,big,,,,\n2,small,,,,\n");
    CHECK(r.err ==
          "strata export: run 1 of c v1, as_of 2026-11-01, 2 customers\n"
          "strata export: note: " +
              rules + " is c v2, not the v1 run 1 used; 'strata show c@1 --db " + db +
              "' prints that one. "
              "Segments, offers, channels and priorities are the run's own\n");
    // The same version, edited: the older note, with the first line that differs.
    std::string edited = v1;
    edited.replace(edited.find("amt > 1"), 7, "amt > 2");
    dir.write("c.yaml", edited);
    r = run_cli({"export", rules, "--db", db});
    REQUIRE(r.code == 0);
    CHECK(r.err.find("has changed since run 1 used it as c v1") != std::string::npos);
}

// A run of another ruleset is named as such, as explain names it, not "does not exist".
TEST_CASE("export --run of another ruleset's run says whose run it is") {
    TempDir dir;
    const std::string db = dir.database("base.db",
                                        "CREATE TABLE customers (customer_id INTEGER);"
                                        "INSERT INTO customers VALUES (1);");
    auto rules = [&](const std::string& name) {
        return dir.write(name + ".yaml", "ruleset: " + name +
                                             "\nversion: 1\ngeneral:\n  segments:\n    - id: all\n"
                                             "      when: otherwise\n");
    };
    REQUIRE(run_cli({"run", rules("first"), "--db", db, "--as-of", "2026-11-01"}).code == 0);
    REQUIRE(run_cli({"run", rules("second"), "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const Run other = run_cli({"export", "first", "--db", db, "--run", "2"});
    CHECK(other.code == 2);
    CHECK(other.err == "strata export: run 2 is a run of ruleset 'second', not of 'first'\n");
    const Run missing = run_cli({"export", "first", "--db", db, "--run", "9"});
    CHECK(missing.err == "strata export: run 9 of ruleset 'first' does not exist\n");
}

// A rule file whose YAML is broken does name its ruleset; what stops the export is its errors,
// and the message says so rather than "does not name a ruleset" (review AM3).
TEST_CASE("export of a rule file with errors says they are what stops it") {
    Fixture f;
    const std::string broken =
        f.dir.write("broken.yaml", "ruleset: crm\nversion: 1\nlet:\n  x: 'B' < 'a'\n");
    const Run r = run_cli({"export", broken, "--db", f.db});
    CHECK(r.code == 1);
    CHECK(r.err.find("broken.yaml:4:") != std::string::npos);
    CHECK(r.err.find("cannot be read for the ruleset it names (its errors are above") !=
          std::string::npos);
    CHECK(r.err.find("does not name a ruleset") == std::string::npos);
    const std::string nameless = f.dir.write("nameless.yaml", "version: 1\n");
    CHECK(run_cli({"export", nameless, "--db", f.db}).err.find("does not name a ruleset") !=
          std::string::npos);
}

// Keys and ids are what a CRM matches on: the formula guard's leading ' on a text key such as
// a phone number changed it silently.
TEST_CASE("export: keys and ids the formula guard changes are named on stderr; --raw keeps them") {
    TempDir dir;
    const std::string db =
        dir.database("base.db",
                     "CREATE TABLE customers (phone TEXT, name TEXT);"
                     "INSERT INTO customers VALUES ('+79161234567', 'Ivan'), ('-100', 'Neg'), "
                     "('42', 'Plain'), (CAST(X'626164FF6B6579' AS TEXT), 'Bytes');");
    const std::string rules = dir.write("phones.yaml", R"(ruleset: phones
version: 1
source: {customers: customers, key: phone}
general:
  segments:
    - id: -named
      when: name is not null and name != 'Bytes'
    - id: bytes
      when: name == 'Bytes'
    - id: other
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-12-01"}).code == 0);
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{}, {"--delimiter", ";"}}) {
        std::vector<std::string> args{"export", "phones", "--db", db};
        args.insert(args.end(), extra.begin(), extra.end());
        const Run guarded = run_cli(args);
        REQUIRE_MESSAGE(guarded.code == 0, guarded.err);
        CHECK(guarded.out.find("'+79161234567") != std::string::npos);
        CHECK(guarded.err.find("note: 2 customer keys and the id '-named' start with =, +, -, @, "
                               "a tab or a carriage return, and are written with a leading '") !=
              std::string::npos);
        args.push_back("--raw");
        const Run raw = run_cli(args);
        REQUIRE_MESSAGE(raw.code == 0, raw.err);
        CHECK(raw.out.find("\n+79161234567") != std::string::npos);
        CHECK(raw.err.find("leading '") == std::string::npos);
    }
    // A byte that is not UTF-8 is not a character Windows-1251 lacks.
    const Run cp1251 = run_cli({"export", "phones", "--db", db, "--encoding", "cp1251", "--raw"});
    CHECK(cp1251.code == 2);
    CHECK_MESSAGE(cp1251.err.find("column 'customer_key': the byte 0xFF is not UTF-8 text, so it "
                                  "cannot be written in Windows-1251") != std::string::npos,
                  cp1251.err);
}
