// `strata runs` and `strata history` (issue 9): the stored runs with their moves, and one
// customer's stays over time, read from the state without changing it.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "history_fixture.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::history;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// The line's cells, split at runs of spaces.
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string cell; in >> cell;)
        out.push_back(cell);
    return out;
}

// Rules for a base whose keys are spelled alike as integer and text (42 and '42').
const char* kKeyedRules = R"(ruleset: keyed
version: 1
general:
  segments:
    - id: vip
      when: spend >= 1000
    - id: small
      when: otherwise
)";

}  // namespace

TEST_CASE("runs lists the stored runs in run id order with customers and moves") {
    Stored s;
    auto text = run_cli({"runs", "--db", s.db});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    const auto lines = lines_of(text.out);
    REQUIRE(lines.size() == 4);
    CHECK(cells(lines[0]) == std::vector<std::string>{"RUN", "RULESET", "VERSION", "AS_OF", "RAN",
                                                      "AT", "(UTC)", "CUSTOMERS", "MOVED", "CAUSE",
                                                      "ACTIONS"});
    // The first run of a ruleset counts every customer as moved (new), with cause initial.
    auto run1 = cells(lines[1]);
    REQUIRE(run1.size() == 9);
    CHECK(run1[0] == "1");
    CHECK(run1[1] == "tiers");
    CHECK(run1[3] == "2026-10-01");
    CHECK(run1[5] == "1,502");
    CHECK(run1[6] == "1,502");
    CHECK(run1[7] == "initial");
    CHECK(run1[8] == "0");
    auto run2 = cells(lines[2]);
    REQUIRE(run2.size() == 9);
    CHECK(run2[0] == "2");
    CHECK(run2[3] == "2026-11-01");
    CHECK(run2[6] == "1,200");
    CHECK(run2[7] == "data");
    auto run3 = cells(lines[3]);
    REQUIRE(run3.size() == 9);
    CHECK(run3[0] == "3");
    CHECK(run3[1] == "spenders");
    CHECK(run3[2] == "4");
    // Columns line up: numbers end where their header ends.
    CHECK(lines[1].find("1,502") + 5 == lines[0].find("CUSTOMERS") + 9);

    auto json = run_cli({"runs", "--db", s.db, "--format", "json"});
    REQUIRE_MESSAGE(json.code == 0, json.err);
    CHECK(json.out.rfind("{\"format\":1,\"runs\":[{\"run_id\":1,\"ruleset\":\"tiers\",", 0) == 0);
    CHECK(json_at(json.out, "$.runs[0].version") == "1");
    CHECK(json_at(json.out, "$.runs[0].as_of") == "2026-10-01");
    CHECK(json_at(json.out, "$.runs[0].customers") == "1502");
    CHECK(json_at(json.out, "$.runs[0].moved") == "1502");
    CHECK(json_at(json.out, "$.runs[0].cause") == "initial");
    CHECK(json_at(json.out, "$.runs[0].actions_enqueued") == "0");
    CHECK(json_at(json.out, "$.runs[0].started_at").size() == 20);
    CHECK(json_at(json.out, "$.runs[0].finished_at").size() == 20);
    CHECK(json_at(json.out, "$.runs[1].run_id") == "2");
    CHECK(json_at(json.out, "$.runs[1].moved") == "1200");
    CHECK(json_at(json.out, "$.runs[1].cause") == "data");
    CHECK(json_at(json.out, "$.runs[2].ruleset") == "spenders");
    CHECK(json_at(json.out, "$.runs[3]") == "<none>");

    auto only = run_cli({"runs", "--db", s.db, "--ruleset", "spenders", "--format", "json"});
    REQUIRE_MESSAGE(only.code == 0, only.err);
    CHECK(json_at(only.out, "$.runs[0].run_id") == "3");
    CHECK(json_at(only.out, "$.runs[1]") == "<none>");
    auto only_text = run_cli({"runs", "--db", s.db, "--ruleset", "tiers"});
    CHECK(lines_of(only_text.out).size() == 3);
    CHECK(only_text.out.find("spenders") == std::string::npos);

    // A ruleset without runs is an empty answer, not an error.
    auto none = run_cli({"runs", "--db", s.db, "--ruleset", "nobody", "--format", "json"});
    CHECK(none.code == 0);
    CHECK(none.out == "{\"format\":1,\"runs\":[]}\n");
    CHECK(none.err.find("no runs of ruleset 'nobody'") != std::string::npos);
}

TEST_CASE("runs shows a run stored before transitions existed without a move count") {
    Stored s;
    SQLite::Database(s.db, SQLite::OPEN_READWRITE)
        .exec(
            "UPDATE strata_runs SET summary = json_remove(summary, '$.transitions') "
            "WHERE run_id = 2");
    auto json = run_cli({"runs", "--db", s.db, "--format", "json"});
    REQUIRE_MESSAGE(json.code == 0, json.err);
    CHECK(json.out.find("\"run_id\":2,") != std::string::npos);
    CHECK(json.out.find("\"moved\":null,\"cause\":null,\"actions_enqueued\":0") !=
          std::string::npos);
    auto text = run_cli({"runs", "--db", s.db});
    const auto run2 = cells(lines_of(text.out).at(2));
    REQUIRE(run2.size() == 9);
    CHECK(run2[6] == "-");
    CHECK(run2[7] == "-");
}

TEST_CASE("runs and history read the state from --state, and refuse a file without runs") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto rules = dir.write("tiers.yaml", kRules);
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    auto runs = run_cli({"runs", "--db", db, "--state", state, "--format", "json"});
    REQUIRE_MESSAGE(runs.code == 0, runs.err);
    CHECK(json_at(runs.out, "$.runs[0].customers") == "1502");
    auto history = run_cli({"history", "--db", db, "--state", state, "--customer", "5"});
    REQUIRE_MESSAGE(history.code == 0, history.err);
    CHECK(history.out.find("small    2026-10-01 (run 1)  now") != std::string::npos);

    // The customer database holds no strata tables: nothing is stored there.
    for (const std::string command : {"runs", "history"}) {
        CAPTURE(command);
        auto run = [&](std::vector<std::string> args) {
            args.insert(args.begin(), command);
            if (command == "history") args.insert(args.end(), {"--customer", "5"});
            return run_cli(args);
        };
        auto bare = run({"--db", db});
        CHECK(bare.code == 2);
        CHECK(bare.err.find("no runs are stored in '" + db + "'") != std::string::npos);
        CHECK(bare.out.empty());
        auto json = run({"--db", db, "--format", "json"});
        CHECK(json.code == 2);
        CHECK(json_at(json.out, "$.error.kind") == "database");
        auto missing = run({"--db", db, "--state", dir.file("nope.db")});
        CHECK(missing.code == 2);
        CHECK(missing.err.find("nope.db") != std::string::npos);
    }
    CHECK(!std::filesystem::exists(dir.file("nope.db")));
}

TEST_CASE("history shows a customer's stays with the runs, days and causes that bound them") {
    Stored s;
    auto json = run_cli(
        {"history", "--db", s.db, "--customer", "7", "--ruleset", "tiers", "--format", "json"});
    REQUIRE_MESSAGE(json.code == 0, json.err);
    CHECK(json.out.rfind("{\"format\":1,\"customer\":7,\"stays\":[", 0) == 0);
    CHECK(json_at(json.out, "$.stays[0].ruleset") == "tiers");
    CHECK(json_at(json.out, "$.stays[0].segment") == "small");
    CHECK(json_at(json.out, "$.stays[0].level") == "0");
    CHECK(json_at(json.out, "$.stays[0].entered_run") == "1");
    CHECK(json_at(json.out, "$.stays[0].entered_as_of") == "2026-10-01");
    CHECK(json_at(json.out, "$.stays[0].exited_run") == "2");
    CHECK(json_at(json.out, "$.stays[0].exited_as_of") == "2026-11-01");
    CHECK(json_at(json.out, "$.stays[0].version") == "1");
    CHECK(json_at(json.out, "$.stays[0].cause") == "initial");
    CHECK(json_at(json.out, "$.stays[1].segment") == "vip");
    CHECK(json_at(json.out, "$.stays[1].entered_run") == "2");
    CHECK(json_at(json.out, "$.stays[1].exited_run") == "<none>");
    CHECK(json_at(json.out, "$.stays[1].exited_as_of") == "<none>");
    CHECK(json_at(json.out, "$.stays[1].cause") == "data");
    CHECK(json_at(json.out, "$.stays[2].segment") == "tv");
    CHECK(json_at(json.out, "$.stays[2].level") == "1");
    CHECK(json_at(json.out, "$.stays[3]") == "<none>");
    CHECK(json.out.find("\"exited_run\":null,\"exited_as_of\":null") != std::string::npos);
    CHECK(json.out.find("],\"actions\":[],\"left_base\":[]}\n") != std::string::npos);

    auto text = run_cli({"history", "--db", s.db, "--customer", "7", "--ruleset", "tiers"});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    CHECK(text.out ==
          "customer 7 in ruleset tiers\n"
          "  SEGMENT  FROM                TO                  VERSION  CAUSE\n"
          "  small    2026-10-01 (run 1)  2026-11-01 (run 2)        1  initial\n"
          "  vip      2026-11-01 (run 2)  now                       1  data\n"
          "    tv     2026-11-01 (run 2)  now                       1  data\n"
          "\n"
          "no actions\n");

    // Without --ruleset, every ruleset's stays, by ruleset name.
    auto all = run_cli({"history", "--db", s.db, "--customer", "7", "--format", "json"});
    CHECK(json_at(all.out, "$.stays[0].ruleset") == "spenders");
    CHECK(json_at(all.out, "$.stays[0].segment") == "high");
    CHECK(json_at(all.out, "$.stays[0].version") == "4");
    CHECK(json_at(all.out, "$.stays[1].ruleset") == "tiers");
    CHECK(json_at(all.out, "$.stays[4]") == "<none>");
    auto all_text = run_cli({"history", "--db", s.db, "--customer", "7"});
    CHECK(all_text.out.find("customer 7 in ruleset spenders\n") == 0);
    CHECK(all_text.out.find("\n\ncustomer 7 in ruleset tiers\n") != std::string::npos);
    CHECK(all_text.out.find("left the base") == std::string::npos);

    // A customer no longer in the base: their last stay ended with the run that left them out.
    SQLite::Database(s.db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE away AS SELECT * FROM customers WHERE customer_id = 8; "
            "DELETE FROM customers WHERE customer_id = 8");
    REQUIRE(run_cli({"run", s.rules, "--db", s.db, "--as-of", "2026-12-01"}).code == 0);
    auto left = run_cli({"history", "--db", s.db, "--customer", "8", "--ruleset", "tiers"});
    CHECK(left.out ==
          "customer 8 in ruleset tiers\n"
          "  SEGMENT  FROM                TO                  VERSION  CAUSE\n"
          "  small    2026-10-01 (run 1)  2026-11-01 (run 2)        1  initial\n"
          "  regular  2026-11-01 (run 2)  2026-12-01 (run 4)        1  data\n"
          "  left the base at 2026-12-01 (run 4): that run did not place them, nor has any "
          "since\n"
          "\n"
          "no actions\n");
    auto left_json = run_cli(
        {"history", "--db", s.db, "--customer", "8", "--ruleset", "tiers", "--format", "json"});
    CHECK(left_json.out.find(",\"left_base\":[{\"ruleset\":\"tiers\",\"run\":4,\"as_of\":"
                             "\"2026-12-01\",\"returned_run\":null,\"returned_as_of\":null,"
                             "\"customer_key\":8}]}\n") != std::string::npos);

    // Back in the base: the time away is a row between the two stays, and no longer "since".
    SQLite::Database(s.db, SQLite::OPEN_READWRITE).exec("INSERT INTO customers SELECT * FROM away");
    REQUIRE(run_cli({"run", s.rules, "--db", s.db, "--as-of", "2027-01-01"}).code == 0);
    auto back = run_cli({"history", "--db", s.db, "--customer", "8", "--ruleset", "tiers"});
    CHECK(back.out ==
          "customer 8 in ruleset tiers\n"
          "  SEGMENT            FROM                TO                  VERSION  CAUSE\n"
          "  small              2026-10-01 (run 1)  2026-11-01 (run 2)        1  initial\n"
          "  regular            2026-11-01 (run 2)  2026-12-01 (run 4)        1  data\n"
          "  (not in the base)  2026-12-01 (run 4)  2027-01-01 (run 5)\n"
          "  regular            2027-01-01 (run 5)  now                       1  data\n"
          "\n"
          "no actions\n");
    auto back_json = run_cli(
        {"history", "--db", s.db, "--customer", "8", "--ruleset", "tiers", "--format", "json"});
    CHECK(json_at(back_json.out, "$.left_base[0].run") == "4");
    CHECK(json_at(back_json.out, "$.left_base[0].returned_run") == "5");
    CHECK(json_at(back_json.out, "$.left_base[0].returned_as_of") == "2027-01-01");
    CHECK(json_at(back_json.out, "$.left_base[1]") == "<none>");
}

TEST_CASE("history names a run deleted by hand, or a summary that is not JSON: exit 2") {
    Stored s;
    const std::string copy = s.dir.file("copy.db");
    std::filesystem::copy_file(s.db, copy);
    // Run 2 ended customer 7's small stay and began their vip one: without it the view shows
    // a stay ended on no day, and leaves the vip stay out.
    SQLite::Database(s.db, SQLite::OPEN_READWRITE).exec("DELETE FROM strata_runs WHERE run_id = 2");
    auto r = run_cli({"history", "--db", s.db, "--customer", "7", "--ruleset", "tiers"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(
        r.err.find("is damaged: a stay of customer 7 in 'small' (ruleset 'tiers') ended "
                   "at run 2, which table 'strata_runs' does not have") != std::string::npos,
        r.err);
    auto json = run_cli({"history", "--db", s.db, "--customer", "7", "--format", "json"});
    CHECK(json.code == 2);
    CHECK(json_at(json.out, "$.error.kind") == "database");
    // Customer 1500 never moved: their one stay is whole, and shown.
    CHECK(run_cli({"history", "--db", s.db, "--customer", "1500", "--ruleset", "tiers"}).code == 0);

    SQLite::Database(copy, SQLite::OPEN_READWRITE)
        .exec("UPDATE strata_runs SET summary = '{x' WHERE run_id = 1");
    // `runs` shows a count an edit made negative as it is stored, not wrapped around 2^64.
    SQLite::Database(copy, SQLite::OPEN_READWRITE)
        .exec("UPDATE strata_runs SET customers = -2 WHERE run_id = 3");
    const Run runs = run_cli({"runs", "--db", copy});
    CHECK(runs.code == 0);
    CHECK(runs.out.find("18,446,744") == std::string::npos);
    CHECK(runs.out.find("  -2  ") != std::string::npos);
    auto bad = run_cli({"history", "--db", copy, "--customer", "7", "--ruleset", "tiers"});
    CHECK(bad.code == 2);
    CHECK_MESSAGE(bad.err.find("column 'summary' of run 1 in table 'strata_runs' is not JSON") !=
                      std::string::npos,
                  bad.err);
}

TEST_CASE("history's text output shows a key's control characters as spaces and ⏎") {
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id TEXT, spend REAL, tv INTEGER);
INSERT INTO customers VALUES ('a' || char(27) || '[31mb', 5000, 0), ('c' || char(10) || 'd', 5, 0);
)sql");
    const std::string rules = dir.write("tiers.yaml", kRules);
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const Run esc = run_cli({"history", "--db", db, "--customer", "a\x1b[31mb"});
    REQUIRE_MESSAGE(esc.code == 0, esc.err);
    CHECK(esc.out.find("customer 'a [31mb' in ruleset tiers") != std::string::npos);
    CHECK(esc.out.find('\x1b') == std::string::npos);
    const Run line = run_cli({"history", "--db", db, "--customer", "c\nd"});
    CHECK(line.out.find("customer 'c⏎d' in ruleset tiers") != std::string::npos);
    const Run nobody = run_cli({"history", "--db", db, "--customer", "x\x1b[2Jy"});
    CHECK(nobody.err.find("customer 'x [2Jy' has no stays") != std::string::npos);
    // JSON keeps the key as stored, escaped.
    const Run json = run_cli({"history", "--db", db, "--customer", "c\nd", "--format", "json"});
    CHECK(json.out.find(R"("customer":"c\nd")") != std::string::npos);
}

TEST_CASE("history finds a text key only by its own spelling, and an integer's spelling both") {
    Stored s;
    // '00123' is a text key: 123, the integer, is another customer.
    auto text_key = run_cli(
        {"history", "--db", s.db, "--customer", "00123", "--ruleset", "tiers", "--format", "json"});
    REQUIRE_MESSAGE(text_key.code == 0, text_key.err);
    CHECK(json_at(text_key.out, "$.customer") == "00123");
    CHECK(text_key.out.find("\"customer\":\"00123\"") != std::string::npos);
    CHECK(json_at(text_key.out, "$.stays[0].segment") == "vip");
    CHECK(json_at(text_key.out, "$.stays[0].customer_key") == "00123");
    CHECK(json_at(text_key.out, "$.stays[1].segment") == "tv");
    CHECK(json_at(text_key.out, "$.stays[2]") == "<none>");
    auto integer = run_cli(
        {"history", "--db", s.db, "--customer", "123", "--ruleset", "tiers", "--format", "json"});
    CHECK(integer.out.find("\"customer\":123,") != std::string::npos);
    CHECK(json_at(integer.out, "$.stays[0].segment") == "small");
    CHECK(json_at(integer.out, "$.stays[1].segment") == "regular");
    CHECK(json_at(integer.out, "$.stays[2]") == "<none>");
    CHECK(integer.out.find("\"customer_key\":123}") != std::string::npos);
    CHECK(integer.out.find("vip") == std::string::npos);

    // 42 spells an integer: it finds the integer key 42 first, and the text key '42' too.
    auto both = run_cli(
        {"history", "--db", s.db, "--customer", "42", "--ruleset", "tiers", "--format", "json"});
    CHECK(both.out.find("\"customer\":42,") != std::string::npos);
    CHECK(json_at(both.out, "$.stays[0].segment") == "small");
    CHECK(both.out.find("\"cause\":\"initial\",\"customer_key\":42}") != std::string::npos);
    CHECK(json_at(both.out, "$.stays[2].segment") == "vip");
    CHECK(both.out.find("\"customer_key\":\"42\"}") != std::string::npos);
    auto both_text = run_cli({"history", "--db", s.db, "--customer", "42", "--ruleset", "tiers"});
    CHECK(both_text.out.find("customer 42 in ruleset tiers\n") == 0);
    CHECK(both_text.out.find("\n\ncustomer '42' in ruleset tiers\n") != std::string::npos);
    // Spellings of 42 that are not how it prints find nobody.
    for (const char* typed : {"042", "+42", "42.0", " 42"}) {
        CAPTURE(typed);
        auto r = run_cli({"history", "--db", s.db, "--customer", typed, "--format", "json"});
        CHECK(r.code == 0);
        CHECK(json_at(r.out, "$.stays") == "[]");
    }
}

TEST_CASE("history of a customer with no stays is an empty answer, not an error") {
    Stored s;
    auto json = run_cli({"history", "--db", s.db, "--customer", "99999", "--format", "json"});
    CHECK(json.code == 0);
    CHECK(json.out ==
          "{\"format\":1,\"customer\":99999,\"stays\":[],\"actions\":[],\"left_base\":[]}\n");
    CHECK(json.err.find("customer '99999' has no stays in '" + s.db + "'") != std::string::npos);
    auto text = run_cli({"history", "--db", s.db, "--customer", "C-1"});
    CHECK(text.code == 0);
    CHECK(text.out.empty());
    CHECK(text.err.find("customer 'C-1' has no stays") != std::string::npos);
    // A customer who exists, in a ruleset that never placed them.
    auto other = run_cli(
        {"history", "--db", s.db, "--customer", "7", "--ruleset", "nobody", "--format", "json"});
    CHECK(other.code == 0);
    CHECK(json_at(other.out, "$.stays") == "[]");
    CHECK(other.err.find("in ruleset 'nobody'") != std::string::npos);
}

TEST_CASE("history explains a state file whose runs predate stays") {
    TempDir dir;
    const auto db = dir.database(
        "old.db",
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);"
        "CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY, ruleset TEXT, version INTEGER,"
        " rules_sha256 TEXT, rules_path TEXT, as_of TEXT, started_at TEXT, finished_at TEXT,"
        " status TEXT, customers INTEGER, summary TEXT);"
        "INSERT INTO strata_runs VALUES (1, 'tiers', 1, '', 'r.yaml', '2026-10-01', "
        "'2026-10-01T00:00:00Z', '2026-10-01T00:00:01Z', 'complete', 3, '{}');"
        "CREATE TABLE strata_membership (run_id INTEGER, customer_key, segment TEXT,"
        " tactical TEXT);");
    auto history = run_cli({"history", "--db", db, "--customer", "1"});
    CHECK(history.code == 2);
    CHECK(history.err.find("the next 'strata run' on it moves them to stays") != std::string::npos);
    // runs reads such a file as it is.
    auto runs = run_cli({"runs", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(runs.code == 0, runs.err);
    CHECK(json_at(runs.out, "$.runs[0].customers") == "3");
    CHECK(runs.out.find("\"moved\":null,\"cause\":null") != std::string::npos);
}

TEST_CASE("history's JSON names the customer as stored: --customer 42 that finds only '42'") {
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id, spend REAL);
INSERT INTO customers VALUES ('42', 10), (7, 10);
)sql");
    const std::string rules = dir.write("r.yaml", kKeyedRules);
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto text = run_cli({"history", "--db", db, "--customer", "42", "--format", "json"});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    CHECK(text.out.find("{\"format\":1,\"customer\":\"42\",") == 0);
    CHECK(text.out.find("\"customer_key\":\"42\"}") != std::string::npos);
    // Nobody found: the customer as given.
    auto nobody = run_cli({"history", "--db", db, "--customer", "8", "--format", "json"});
    CHECK(nobody.out.find("{\"format\":1,\"customer\":8,") == 0);
}

TEST_CASE("history's actions name the customer when two keys spelled alike both have some") {
    // 42 and '42' both enter vip, each with its own welcome: the text table says whose is whose.
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id, spend REAL);
INSERT INTO customers VALUES (42, 10), ('42', 10), (7, 10);
)sql");
    const std::string rules = dir.write("r.yaml", std::string(kKeyedRules) + R"(triggers:
  - id: welcome_vip
    on: enter vip
    actions:
      - email: { template: vip_welcome }
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET spend = 5000 WHERE customer_id IN (42, '42')");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const Run both = run_cli({"history", "--db", db, "--customer", "42"});
    REQUIRE_MESSAGE(both.code == 0, both.err);
    const std::string actions = both.out.substr(both.out.find("\nactions\n"));
    const std::vector<std::string> lines = lines_of(actions);
    REQUIRE(lines.size() == 5);
    CHECK(cells(lines[2]).front() == "CUSTOMER");
    CHECK(cells(lines[3]).front() == "42");
    CHECK(cells(lines[4]).front() == "'42'");
    // One customer's actions need no such column.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET spend = 5000 WHERE customer_id = 7");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-02"}).code == 0);
    const Run one = run_cli({"history", "--db", db, "--customer", "7"});
    REQUIRE_MESSAGE(one.code == 0, one.err);
    CHECK(cells(lines_of(one.out.substr(one.out.find("\nactions\n")))[2]).front() == "AS_OF");
    // Two customers shown, the actions of one of them only: the column still says whose.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "DELETE FROM customers WHERE customer_id = '42'; INSERT INTO customers VALUES "
            "('7', 10)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-03"}).code == 0);
    const Run seven = run_cli({"history", "--db", db, "--customer", "7"});
    REQUIRE_MESSAGE(seven.code == 0, seven.err);
    REQUIRE(seven.out.find("customer '7' in ruleset keyed") != std::string::npos);
    const std::vector<std::string> only = lines_of(seven.out.substr(seven.out.find("\nactions\n")));
    REQUIRE(only.size() == 4);
    CHECK(cells(only[2]).front() == "CUSTOMER");
    CHECK(cells(only[3]).front() == "7");
}

TEST_CASE("history shows a tactical stay again under the general stay it carried on into") {
    TempDir dir;
    const auto db = dir.database("b.db",
                                 "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend "
                                 "REAL, device TEXT); INSERT INTO customers VALUES (1, 500, 'tv'), "
                                 "(2, 10, 'phone');");
    const std::string v1 = R"(ruleset: shop
version: 1
as_of: 2026-10-01
general:
  segments:
    - id: big
      when: spend >= 100
      tactical:
        - id: tv
          when: device == 'tv'
    - id: rest
      when: otherwise
)";
    // Version 2 renames the general segment; its tactical segment keeps its id, and its stay.
    std::string v2 = v1;
    v2.replace(v2.find("version: 1"), 10, "version: 2");
    v2.replace(v2.find("id: big"), 7, "id: vip");
    REQUIRE(run_cli({"run", dir.write("v1.yaml", v1), "--db", db}).code == 0);
    REQUIRE(run_cli({"run", dir.write("v2.yaml", v2), "--db", db, "--as-of", "2026-11-01"}).code ==
            0);
    auto text = run_cli({"history", "--db", db, "--customer", "1"});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    CHECK(text.out ==
          "customer 1 in ruleset shop\n"
          "  SEGMENT           FROM                TO                  VERSION  CAUSE\n"
          "  big               2026-10-01 (run 1)  2026-11-01 (run 2)        1  initial\n"
          "    tv              2026-10-01 (run 1)  now                       1  initial\n"
          "  vip               2026-11-01 (run 2)  now                       2  rules\n"
          "    tv (continued)  2026-10-01 (run 1)  now                       1  initial\n"
          "\n"
          "no actions\n");
    // The JSON lists each stay once.
    auto json = run_cli({"history", "--db", db, "--customer", "1", "--format", "json"});
    CHECK(json_at(json.out, "$.stays[1].segment") == "tv");
    CHECK(json_at(json.out, "$.stays[2].segment") == "vip");
    CHECK(json_at(json.out, "$.stays[3]") == "<none>");
}
