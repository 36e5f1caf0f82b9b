// `strata explain --run N` (issue 10): the stored placement of a run beside the fresh
// evaluation, with the version behind the run; RULES may be the ruleset's name, to evaluate
// the source the run's version registered.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES (1, 50), (2, 500), (3, 2000);
)sql";

std::string tiers(int version, int top) {
    return "ruleset: tiers\nversion: " + std::to_string(version) +
           "\ngeneral:\n  segments:\n    - id: top\n      when: spend >= " + std::to_string(top) +
           "\n    - id: mid\n      when: spend >= 100\n    - id: low\n      when: otherwise\n";
}

}  // namespace

TEST_CASE("explain --run shows the run's placement beside the fresh evaluation") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("tiers.yaml", tiers(1, 1000));
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    // The same data and rules: they agree, at the run's as_of by default.
    auto r = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run",
                      "1", "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.as_of") == "2026-10-01");
    CHECK(json_at(r.out, "$.segment") == "mid");
    CHECK(json_at(r.out, "$.stored.run") == "1");
    CHECK(json_at(r.out, "$.stored.segment") == "mid");
    CHECK(json_at(r.out, "$.stored.version") == "1");
    CHECK(json_at(r.out, "$.stored.as_of") == "2026-10-01");
    CHECK(json_at(r.out, "$.stored.sha256").size() == 64);
    CHECK(json_at(r.out, "$.stored.same_rules") == "1");
    CHECK(json_at(r.out, "$.stored.notes") == "[]");
    CHECK(json_at(r.out, "$.matches_stored") == "1");
    auto t =
        run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run", "1"});
    CHECK(t.out.find("stored by run 1 (tiers v1, sha256 ") != std::string::npos);
    CHECK(t.out.find("as_of 2026-10-01): mid\nthe fresh evaluation agrees with run 1\n") !=
          std::string::npos);
    // Without --run there is nothing stored to compare with.
    auto plain = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2",
                          "--as-of", "2026-10-01", "--format", "json"});
    CHECK(json_at(plain.out, "$.stored") == "<none>");
    CHECK(json_at(plain.out, "$.matches_stored") == "<none>");
    CHECK(plain.err.find("note:") == std::string::npos);  // the run's own day
    // Without --as-of the day is today's: a note names the run and its day.
    auto today = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2"});
    CHECK(today.code == 0);
    CHECK(today.err.find("the latest run of ruleset 'tiers', run 1, is as of 2026-10-01: give "
                         "--run 1 to explain the placement it stored") != std::string::npos);

    // The data changes after the run: the fresh evaluation disagrees, and says so.
    {
        SQLite::Database base(db, SQLite::OPEN_READWRITE);
        base.exec("UPDATE customers SET spend = 5000 WHERE customer_id = 2");
    }
    auto moved = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run",
                          "1", "--format", "json"});
    CHECK(json_at(moved.out, "$.segment") == "top");
    CHECK(json_at(moved.out, "$.stored.segment") == "mid");
    CHECK(json_at(moved.out, "$.matches_stored") == "0");
    auto moved_text =
        run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run", "1"});
    CHECK(moved_text.out.find("the fresh evaluation DIFFERS from run 1: now top, stored mid") !=
          std::string::npos);
}

TEST_CASE(
    "explain --run with a changed file says so, and the ruleset's name evaluates the run's "
    "own version") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("tiers.yaml", tiers(1, 1000));
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    dir.write("tiers.yaml", tiers(2, 400));  // customer 2 (500) would be top now
    auto f = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run",
                      "1", "--format", "json"});
    INFO(f.out, f.err);
    REQUIRE(f.code == 0);
    CHECK(json_at(f.out, "$.version") == "2");
    CHECK(json_at(f.out, "$.segment") == "top");
    CHECK(json_at(f.out, "$.stored.same_rules") == "0");
    CHECK(json_at(f.out, "$.matches_stored") == "0");
    CHECK(json_at(f.out, "$.stored.notes[0]")
              .find("is not the rule file run 1 used: it is tiers v2") != std::string::npos);
    auto ft =
        run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run", "1"});
    CHECK(ft.out.find("note: " + file + " is not the rule file run 1 used") != std::string::npos);
    CHECK(ft.out.find("line 2: stored: 'version: 1' / now: 'version: 2'") != std::string::npos);

    // By the ruleset's name: the source registered for run 1's version, which agrees with it.
    auto n = run_cli({"explain", "tiers", "--db", db, "--state", state, "--customer", "2", "--run",
                      "1", "--format", "json"});
    INFO(n.out, n.err);
    REQUIRE(n.code == 0);
    CHECK(json_at(n.out, "$.version") == "1");
    CHECK(json_at(n.out, "$.segment") == "mid");
    CHECK(json_at(n.out, "$.stored.same_rules") == "1");
    CHECK(json_at(n.out, "$.matches_stored") == "1");
    // The name without --run: the ruleset's latest run.
    auto latest = run_cli(
        {"explain", "tiers", "--db", db, "--state", state, "--customer", "3", "--format", "json"});
    CHECK(latest.code == 0);
    CHECK(json_at(latest.out, "$.stored.run") == "1");
    CHECK(json_at(latest.out, "$.segment") == "top");

    // A file named like the ruleset, in the folder explain runs in, is read as the rule file:
    // the note does not advise giving that same name.
    dir.write("tiers", tiers(2, 400));
    const auto here = std::filesystem::current_path();
    std::filesystem::current_path(dir.file(""));
    auto named = run_cli({"explain", "tiers", "--db", db, "--state", state, "--customer", "2",
                          "--run", "1", "--format", "json"});
    std::filesystem::current_path(here);
    REQUIRE_MESSAGE(named.code == 0, named.err);
    const std::string note = json_at(named.out, "$.stored.notes[0]");
    CHECK(note.find("a file named 'tiers' is in this folder, so it was read instead of the "
                    "ruleset") != std::string::npos);
    CHECK(note.find("give 'tiers' instead") == std::string::npos);
}

TEST_CASE("explain --run refuses what it cannot answer, with exit code 2") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("tiers.yaml", tiers(1, 1000));
    const auto other = dir.write("other.yaml",
                                 "ruleset: other\nversion: 1\ngeneral:\n  segments:\n    - id: "
                                 "all\n      when: otherwise\n");
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    REQUIRE(run_cli({"run", other, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    auto missing =
        run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run", "9"});
    CHECK(missing.code == 2);
    CHECK(missing.err.find("run 9 does not exist in '") != std::string::npos);
    auto wrong =
        run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2", "--run", "2"});
    CHECK(wrong.code == 2);
    CHECK(wrong.err.find("run 2 is a run of ruleset 'other', not of 'tiers'") != std::string::npos);
    // A customer who came after the run.
    {
        SQLite::Database base(db, SQLite::OPEN_READWRITE);
        base.exec("INSERT INTO customers VALUES (4, 10)");
    }
    auto later = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "4", "--run",
                          "1", "--format", "json"});
    CHECK(later.code == 2);
    CHECK(later.err.find("customer 4 was not placed by run 1 of tiers (as_of 2026-10-01)") !=
          std::string::npos);
    CHECK(json_at(later.out, "$.error.kind") == "not_found");  // as eval says it
    // A name that is no stored ruleset names those there are, and a state without runs.
    auto typo = run_cli({"explain", "tier", "--db", db, "--state", state, "--customer", "2"});
    CHECK(typo.code == 2);
    CHECK(typo.err ==
          "strata explain: no stored run of ruleset 'tier'; the stored rulesets are "
          "'other', 'tiers' (did you mean 'tiers'?); there is no file 'tier', so it "
          "was taken for a ruleset's name\n");
    // A folder of that name, beside: the name is still taken for a ruleset's, and the message
    // says why.
    std::filesystem::create_directory(dir.file("tier"));
    const auto was = std::filesystem::current_path();
    std::filesystem::current_path(std::filesystem::path(dir.file("tier")).parent_path());
    auto in_folder = run_cli({"explain", "tier", "--db", db, "--state", state, "--customer", "2"});
    std::filesystem::current_path(was);
    CHECK(in_folder.code == 2);
    CHECK(in_folder.err.find("; 'tier' is a folder, not a rule file, so it was taken for a "
                             "ruleset's name\n") != std::string::npos);
    // A key with a line break stays on one line.
    auto broken_key = run_cli(
        {"explain", file, "--db", db, "--state", state, "--customer", "no\nbody", "--run", "1"});
    CHECK(broken_key.code == 2);
    CHECK(broken_key.err.find("customer 'no\u23CEbody'") != std::string::npos);
    CHECK(run_cli({"explain", file, "--db", db, "--customer", "2", "--run", "1"}).code == 2);
    // A rule file with errors is a rule problem, as everywhere.
    const auto broken =
        dir.write("broken.yaml", tiers(1, 1000) + "    - id: x\n      when: spend >\n");
    CHECK(
        run_cli({"explain", broken, "--db", db, "--state", state, "--customer", "2", "--run", "1"})
            .code == 1);
}

TEST_CASE("explain --state names a state it cannot open, with exit code 2") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("tiers.yaml", tiers(1, 1000));
    const auto not_sqlite = dir.write("notes.txt", "not a database\n");
    for (const std::string& state : {dir.file("missing.db"), not_sqlite}) {
        CAPTURE(state);
        auto r = run_cli({"explain", file, "--db", db, "--state", state, "--customer", "2",
                          "--as-of", "2026-10-01", "--format", "json"});
        CHECK(r.code == 2);
        CHECK(json_at(r.out, "$.error.kind") == "database");
        CHECK(r.err.find(state) != std::string::npos);
    }
}

TEST_CASE("explain and export of a stored run see previous_segment as that run saw it") {
    // Run 2 reads previous_segment from run 1; explaining run 2 (the latest) must not read it
    // from run 2 itself.
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 20), (3, 30), (4, 40), (5, 50), (6, 60);
)sql");
    const auto state = dir.file("state.db");
    const auto file = dir.write("up.yaml",
                                "ruleset: up\nversion: 1\nsource: { customers: customers, key: "
                                "id }\nlet:\n  tile: ntile(spend, 3)\ngeneral:\n  segments:\n"
                                "    - id: upgraded\n      when: tile == 3 and previous_segment "
                                "== 'mid'\n    - id: vip\n      when: tile == 3\n"
                                "    - id: mid\n      when: tile == 2\n"
                                "    - id: rest\n      when: otherwise\n");
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-04-01"}).code ==
            0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET spend = 90 WHERE id = 3");
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-05-01"}).code ==
            0);
    // By the ruleset's name (its latest run), or the file with --run 2.
    for (const std::string& rules : {std::string("up"), file}) {
        CAPTURE(rules);
        std::vector<std::string> args{"explain", rules,        "--db", db,         "--state",
                                      state,     "--customer", "3",    "--format", "json"};
        if (rules == file) args.insert(args.end(), {"--run", "2"});
        auto r = run_cli(args);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(json_at(r.out, "$.stored.run") == "2");
        CHECK(json_at(r.out, "$.stored.segment") == "upgraded");
        CHECK(json_at(r.out, "$.segment") == "upgraded");
        CHECK(json_at(r.out, "$.matches_stored") == "1");
        CHECK(json_at(r.out, "$.stored.notes") == "[]");
    }
    // Run 1 found no stays: customer 3 was new to it.
    auto first = run_cli({"explain", "up", "--db", db, "--state", state, "--customer", "3", "--run",
                          "1", "--format", "json"});
    REQUIRE(first.code == 0);
    CHECK(json_at(first.out, "$.matches_stored") == "0");  // its data changed since
    CHECK(json_at(first.out, "$.stored.segment") == "mid");
    CHECK(json_at(first.out, "$.segment") == "vip");  // 90 is in the top tile, not upgraded
    CHECK(json_at(first.out, "$.stored.notes") == "[]");
    // Run 1 explained on another day: its cut points, not that day's, and a note says so.
    auto moved = run_cli({"explain", "up", "--db", db, "--state", state, "--customer", "3", "--run",
                          "1", "--as-of", "2026-05-01", "--format", "json"});
    REQUIRE(moved.code == 0);
    CHECK(json_at(moved.out, "$.stored.notes[0]") ==
          "population calls (ntile, rfm, abc and the like) use run 1's cut points, fitted over "
          "the base as of 2026-04-01, not fitted again as of 2026-05-01 as a run on that day "
          "would: the placement may be neither the run's nor that day's");
    auto exported =
        run_cli({"export", "up", "--db", db, "--state", state, "--columns", "key,segment,tile"});
    CHECK(exported.code == 0);
    CHECK(exported.out ==
          "key,segment,tile\n1,rest,1\n2,rest,1\n3,upgraded,3\n4,mid,2\n"
          "5,mid,2\n6,vip,3\n");
}

TEST_CASE("explain of an evaluation stored by eval --apply: its fits, and earlier runs' others") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 20), (3, 30), (4, 40);
)sql");
    const auto state = dir.file("state.db");
    const auto file = dir.write("halves.yaml",
                                "ruleset: halves\nversion: 1\nsource: { customers: customers, "
                                "key: id }\nlet:\n  half: ntile(spend, 2)\ngeneral:\n"
                                "  segments:\n    - id: top\n      when: half == 2\n"
                                "    - id: low\n      when: half == 1\n");
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-01-01"}).code ==
            0);
    // Run 1's halves are 10, 20 and 30, 40: 25 has L = 2 there, so the top half. Customers 1
    // and 2 spend more since, so ranked again 25 would be the lowest.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "UPDATE customers SET spend = 25 WHERE id = 3;"
            "UPDATE customers SET spend = spend + 100 WHERE id IN (1, 2)");
    REQUIRE(
        run_cli({"eval", file, "--db", db, "--state", state, "--customer", "3", "--apply"}).code ==
        0);
    auto evaluated = run_cli(
        {"explain", "halves", "--db", db, "--state", state, "--customer", "3", "--format", "json"});
    REQUIRE_MESSAGE(evaluated.code == 0, evaluated.err);
    CHECK(json_at(evaluated.out, "$.stored.run") == "2");
    CHECK(json_at(evaluated.out, "$.stored.segment") == "top");
    CHECK(json_at(evaluated.out, "$.segment") == "top");  // ranked again, 25 would be low
    CHECK(json_at(evaluated.out, "$.matches_stored") == "1");
    auto text = run_cli({"explain", "halves", "--db", db, "--state", state, "--customer", "3"});
    INFO(text.out);
    CHECK(text.out.find("25 lies between 20, the last value of bin 1, and the cut 30 of bin 2") !=
          std::string::npos);
    // Customer 4's placement in run 2 is run 1's.
    auto other = run_cli(
        {"explain", "halves", "--db", db, "--state", state, "--customer", "4", "--format", "json"});
    REQUIRE(other.code == 0);
    CHECK(json_at(other.out, "$.stored.run") == "1");
    CHECK(json_at(other.out, "$.stored.notes[0]") ==
          "run 2 is an evaluation of customer 3 alone (strata eval --apply); this customer's "
          "placement in it is run 1's, explained here");
    // Its columns are no one evaluation of the base: export says so.
    auto exported =
        run_cli({"export", "halves", "--db", db, "--state", state, "--columns", "key,half"});
    CHECK(exported.code == 2);
    CHECK(exported.err.find("run 2 is an evaluation of customer 3 alone") != std::string::npos);
    CHECK(run_cli({"export", "halves", "--db", db, "--state", state}).code == 0);
}

TEST_CASE("explain of rules that cannot place the base is a rule problem: exit 1") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    // Exclusive, with a gap: customer 1 (50) is in no segment.
    const auto file = dir.write("gap.yaml",
                                "ruleset: gap\nversion: 1\ngeneral:\n  policy: exclusive\n"
                                "  segments:\n    - id: big\n      when: spend >= 100\n");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "2", "--format", "json"});
    CHECK(r.code == 1);
    CHECK(json_at(r.out, "$.error.kind") == "rules");
}

// A run whose population fits cannot be read (stored before they were kept, or removed) is
// explained with today's ranks: said in a note, where it was silent.
TEST_CASE("explain --run of a run without its population fits says its ranks are today's") {
    TempDir dir;
    const std::string db = dir.file("shop.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "300", "--out", db}).code ==
            0);
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::vector<std::string> explain{"explain",    "retail-rfm", "--db",  db,
                                           "--customer", "5",          "--run", "1"};
    CHECK(run_cli(explain).out.find("population fits") == std::string::npos);
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("DELETE FROM strata_population_fits");
    const Run text = run_cli(explain);
    CHECK(text.code == 0);
    CHECK(text.out.find("note: run 1 kept 0 population fits in table 'strata_population_fits', "
                        "the rules have 2: its population calls rank the base as it is now") !=
          std::string::npos);
    auto json_args = explain;
    json_args.insert(json_args.end(), {"--format", "json"});
    const Run json = run_cli(json_args);
    CHECK(json_at(json.out, "$.stored.notes[0]").find("rank the base as it is now") !=
          std::string::npos);
}
