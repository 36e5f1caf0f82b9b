// `strata explain --run N` (issue 10): the stored placement of a run beside the fresh
// evaluation, with the version behind the run; RULES may be the ruleset's name, to evaluate
// the source the run's version registered.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

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
    CHECK(json_at(later.out, "$.error.kind") == "database");
    // A name that is no stored ruleset, and a state without runs.
    CHECK(run_cli({"explain", "nosuch", "--db", db, "--state", state, "--customer", "2"}).code ==
          2);
    CHECK(run_cli({"explain", file, "--db", db, "--customer", "2", "--run", "1"}).code == 2);
    // A rule file with errors is a rule problem, as everywhere.
    const auto broken =
        dir.write("broken.yaml", tiers(1, 1000) + "    - id: x\n      when: spend >\n");
    CHECK(
        run_cli({"explain", broken, "--db", db, "--state", state, "--customer", "2", "--run", "1"})
            .code == 1);
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
