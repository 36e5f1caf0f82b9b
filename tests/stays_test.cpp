// Membership as history (issue 9): stays, the transitions between runs, runs that move
// forward in time, and the strata_membership view over the stays.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "engine/state_common.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);
INSERT INTO customers VALUES (1, 10, 1), (2, 500, 0), (3, 2000, 1), (4, 50, 0);
)sql";

std::string rules(int version = 1) {
    return "ruleset: tiers\nversion: " + std::to_string(version) + R"(
general:
  segments:
    - id: vip
      when: spend >= 1000
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
      tactical:
        - id: small_tv
          when: tv == 1
)";
}

std::string membership(const std::string& db, int run) {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d,
                        "SELECT customer_key, segment, tactical FROM strata_membership WHERE "
                        "run_id = ? ORDER BY customer_key");
    q.bind(1, run);
    std::string out;
    while (q.executeStep())
        out += q.getColumn(0).getString() + ":" + q.getColumn(1).getString() + "[" +
               q.getColumn(2).getString() + "] ";
    return out;
}

}  // namespace

TEST_CASE("a second run over unchanged data writes no membership rows at all") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules());
    auto first = run_cli({"run", file, "--db", db, "--as-of", "2026-10-01", "--format", "json"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(json_at(first.out, "$.transitions.cause") == "initial");
    CHECK(json_at(first.out, "$.transitions.since_run") == "<none>");
    CHECK(json_at(first.out, "$.transitions.new") == "4");
    const int64_t stays = scalar(db, "SELECT count(*) FROM strata_stays");
    CHECK(stays == 6);  // 4 general, small_tv for customer 1 and tv for 3
    auto second = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(second.code == 0, second.err);
    CHECK(scalar(db, "SELECT count(*) FROM strata_stays") == stays);
    CHECK(json_at(second.out, "$.transitions.moved") == "0");
    CHECK(json_at(second.out, "$.transitions.stays_written") == "0");
    CHECK(json_at(second.out, "$.transitions.since_run") == "1");
    CHECK(membership(db, 1) == membership(db, 2));
    CHECK(membership(db, 2) == "1:small[small_tv] 2:regular[] 3:vip[tv] 4:small[] ");
}

TEST_CASE("a stay whose segment has lost its name is a database error, and nothing is stored") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules());
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE);
        d.exec("DELETE FROM strata_segments WHERE name = 'small_tv'");
    }
    auto second = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"});
    CHECK(second.code == 2);
    CHECK(second.err.find("names segment code") != std::string::npos);
    CHECK(second.err.find("strata_segments") != std::string::npos);
    CHECK(scalar(db, "SELECT count(*) FROM strata_runs") == 1);
}

TEST_CASE("moves between runs: the matrix, new customers, leavers and tactical entries") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules());
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "UPDATE customers SET spend = 5000 WHERE customer_id = 2;"  // regular -> vip
            "UPDATE customers SET tv = 0 WHERE customer_id = 3;"        // leaves tv
            "DELETE FROM customers WHERE customer_id = 4;"              // leaves the base
            "INSERT INTO customers VALUES (5, 150, 1);");               // new, regular
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.transitions.moved") == "3");
    CHECK(json_at(r.out, "$.transitions.new") == "1");
    CHECK(json_at(r.out, "$.transitions.left") == "1");
    CHECK(json_at(r.out, "$.transitions.tactical_left") == "1");
    CHECK(json_at(r.out, "$.transitions.tactical_entered") == "0");
    // Opened: 2 vip, 5 regular; closed: 2 regular, 3 tv, 4 small.
    CHECK(json_at(r.out, "$.transitions.stays_written") == "5");
    const std::string matrix = json_at(r.out, "$.transitions.matrix");
    CHECK(matrix.find("{\"from\":null,\"to\":\"regular\",\"count\":1}") != std::string::npos);
    CHECK(matrix.find("{\"from\":\"regular\",\"to\":\"vip\",\"count\":1}") != std::string::npos);
    CHECK(matrix.find("{\"from\":\"small\",\"to\":null,\"count\":1}") != std::string::npos);
    CHECK(matrix.find("{\"from\":\"vip\",\"to\":\"vip\",\"count\":1}") != std::string::npos);
    // Each run's membership stays readable in full.
    CHECK(membership(db, 1) == "1:small[small_tv] 2:regular[] 3:vip[tv] 4:small[] ");
    CHECK(membership(db, 2) == "1:small[small_tv] 2:vip[] 3:vip[] 5:regular[] ");
    auto table = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"});
    CHECK(table.out.find("moves since run 2 (as_of 2026-11-01): 0 customers moved") !=
          std::string::npos);
    auto e = run_cli({"export", file, "--db", db, "--run", "1"});
    CHECK(e.out.find("\n4,small,,") != std::string::npos);
}

TEST_CASE("a new version's moves are marked as caused by the rules") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(1));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // Version 2 raises the vip threshold: customer 3 moves because of the rules.
    std::string v2 = rules(2);
    v2.replace(v2.find("spend >= 1000"), 13, "spend >= 9000");
    dir.write("r.yaml", v2);
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-10-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.transitions.cause") == "rules");
    CHECK(json_at(r.out, "$.transitions.moved") == "1");
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_stay_history WHERE cause = 'rules' AND version = 2 "
                 "AND customer_key = 3 AND segment = 'regular'") == 1);
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_stay_history WHERE customer_key = 3 AND segment = "
                 "'vip' AND exited_run = 2") == 1);
}

TEST_CASE("previous_segment, segment_since and days_in_segment read the latest stored run") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    // vip is sticky for 60 days: a segment's own condition may read the stored state.
    const auto file = dir.write("r.yaml", R"(ruleset: sticky
version: 1
let:
  days: days_in_segment
general:
  segments:
    - id: vip
      when: spend >= 1000 or (previous_segment == 'vip' and days < 60)
    - id: fallen
      when: previous_segment == 'vip'
    - id: known
      when: segment_since is not null and segment_since <= as_of - 30d
    - id: rest
      when: otherwise
)");
    auto first = run_cli({"run", file, "--db", db, "--as-of", "2026-10-01", "--format", "json"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(json_at(first.out, "$.segments[0].count") == "1");  // 3
    CHECK(json_at(first.out, "$.segments[3].count") == "3");  // nobody has a past yet
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET spend = 500 WHERE customer_id = 3");
    // 30 days on, 3 is still vip (sticky); the others have been known for 30 days.
    auto dry = run_cli(
        {"run", file, "--db", db, "--as-of", "2026-10-31", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    CHECK(json_at(dry.out, "$.segments[0].count") == "1");
    CHECK(json_at(dry.out, "$.segments[2].count") == "3");
    // 61 days on, 3 falls out of vip.
    auto later = run_cli({"run", file, "--db", db, "--as-of", "2026-12-01", "--format", "json"});
    REQUIRE_MESSAGE(later.code == 0, later.err);
    CHECK(json_at(later.out, "$.segments[0].count") == "0");
    CHECK(json_at(later.out, "$.segments[1].count") == "1");
    auto e = run_cli({"export", file, "--db", db});
    CHECK(e.out.find("\n3,fallen,") != std::string::npos);
    // The names are typed like any other.
    const auto bad = dir.write("bad.yaml", R"(ruleset: sticky
version: 1
general:
  segments:
    - id: a
      when: previous_segment > 3
    - id: b
      when: otherwise
)");
    auto check = run_cli({"check", bad});
    CHECK(check.code == 1);
    CHECK(check.out.find("cannot compare a string with an integer") != std::string::npos);
}

TEST_CASE("a day run again on the same data reads the state the day began with") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    // Each run flips every customer between a and b: previous_segment decides alone.
    const auto file = dir.write("r.yaml", R"(ruleset: flip
version: 1
general:
  segments:
    - id: a
      when: previous_segment is null or previous_segment == 'b'
    - id: b
      when: otherwise
)");
    auto run = [&](const char* as_of, std::vector<std::string> more = {}) {
        std::vector<std::string> args{"run",     file,  "--db",     db,
                                      "--as-of", as_of, "--format", "json"};
        args.insert(args.end(), more.begin(), more.end());
        auto r = run_cli(args);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        return r.out;
    };
    auto counts = [](const std::string& out) {
        return json_at(out, "$.segments[0].count") + "/" + json_at(out, "$.segments[1].count");
    };
    CHECK(counts(run("2026-10-01")) == "4/0");
    // Run 2 repeats the day: run 1's placements do not feed it, so nobody flips.
    const auto again = run("2026-10-01");
    CHECK(counts(again) == "4/0");
    CHECK(json_at(again, "$.transitions.moved") == "0");
    CHECK(json_at(again, "$.transitions.stays_written") == "0");
    CHECK(counts(run("2026-10-01", {"--dry-run"})) == "4/0");
    // The next day flips everyone; that day again, a dry run of it, and a third run of it too.
    CHECK(counts(run("2026-10-02")) == "0/4");
    CHECK(counts(run("2026-10-02")) == "0/4");
    CHECK(counts(run("2026-10-02", {"--dry-run"})) == "0/4");
    CHECK(counts(run("2026-10-02")) == "0/4");
    CHECK(membership(db, 5) == "1:b[] 2:b[] 3:b[] 4:b[] ");
    {
        // A stay the day began with that names no segment: an error of the state file, for
        // the run and the dry run, and nothing is stored.
        const auto state = dir.file("broken.db");
        std::filesystem::copy_file(db, state);
        SQLite::Database(state, SQLite::OPEN_READWRITE)
            .exec("UPDATE strata_closed_stays SET segment = 99 WHERE customer_key = 1");
        for (const char* dry : {"--format=table", "--dry-run"}) {
            auto broken =
                run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-02", dry});
            CHECK(broken.code == 2);
            INFO(dry, broken.err);
            CHECK(broken.err.find("cannot read the stored state behind previous_segment and the "
                                  "like from '" +
                                  state + "'") != std::string::npos);
            CHECK(broken.err.find("names segment code 99") != std::string::npos);
        }
        CHECK(scalar(state, "SELECT count(*) FROM strata_runs") == 5);
    }
    // explain and export of a repeat show what it placed, the customer's previous_segment as
    // the day began.
    auto explain = run_cli({"explain", file, "--db", db, "--customer", "2", "--run", "4"});
    REQUIRE_MESSAGE(explain.code == 0, explain.err);
    CHECK(explain.out.find("the fresh evaluation agrees with run 4") != std::string::npos);
    CHECK(explain.out.find("previous_segment = 'a'") != std::string::npos);
    // days_in_segment counts from the stay the day began with, not one begun that day.
    const auto days = dir.write("days.yaml", R"(ruleset: flip
version: 2
general:
  segments:
    - id: a
      when: days_in_segment is null or days_in_segment == 1
    - id: b
      when: otherwise
)");
    auto d = run_cli(
        {"run", days, "--db", db, "--as-of", "2026-10-02", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(d.code == 0, d.err);
    CHECK(counts(d.out) == "4/0");  // 2026-10-02 began with a, entered on 2026-10-01
}

TEST_CASE("source.since leaves out customers who did not exist yet on the as_of day") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signup DATE, spend REAL);
INSERT INTO customers VALUES (1, '2026-01-10', 10), (2, '2026-06-01', 20), (3, '2026-10-15', 30),
  (4, NULL, 40);
)sql");
    auto file = [&](const std::string& since) {
        return dir.write("r.yaml", "ruleset: joined\nversion: 1\nsource:\n  since: " + since +
                                       "\nlet:\n  tile: ntile(spend, 2)\ngeneral:\n  segments:\n"
                                       "    - id: top\n      when: tile == 2\n"
                                       "    - id: rest\n      when: otherwise\n");
    };
    const auto rules = file("signup");
    auto r = run_cli(
        {"run", rules, "--db", db, "--as-of", "2026-07-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // 3 joined after as_of; 4's day is unknown and stays. The ranking sees 1, 2 and 4 only.
    CHECK(json_at(r.out, "$.customers") == "3");
    CHECK(json_at(r.out, "$.data_quality.customers_after_as_of") == "1");
    CHECK(json_at(r.out, "$.data_quality.findings") == "0");
    CHECK(json_at(r.out, "$.segments[0].count") == "1");  // 4 alone (with 3 it would be 3 and 4)
    auto later = run_cli(
        {"run", rules, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    CHECK(json_at(later.out, "$.customers") == "4");
    auto table = run_cli({"run", rules, "--db", db, "--as-of", "2026-07-01", "--dry-run"});
    CHECK(table.out.find("point in time: 1 customer who joined after as_of left out") !=
          std::string::npos);
    // It names a date column of the customer table, and nothing else.
    for (const char* bad : {"spend", "signup_dat", "days_in_segment", "signup + 1d"}) {
        CAPTURE(bad);
        auto check = run_cli({"check", file(bad), "--db", db});
        CHECK(check.code == 1);
        CHECK(check.out.find("since") != std::string::npos);
    }
}

TEST_CASE("fact rows of customers source.since leaves out are theirs, not orphans") {
    TempDir dir;
    // Customer 3 joined after the as_of day; key 5 is nobody's at first.
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signup DATE, spend REAL);
INSERT INTO customers VALUES (1, '2026-01-10', 10), (2, '2026-06-01', 20), (3, '2026-10-15', 30);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, day DATE, amount REAL);
INSERT INTO orders (customer_id, day, amount) VALUES (1, '2026-02-01', 5), (3, '2026-06-20', 7),
  (3, '2026-10-20', 8), (5, '2026-03-01', 9), (NULL, '2026-03-02', 1);
)sql");
    const auto rules = dir.write("r.yaml", R"(ruleset: joined
version: 1
source:
  since: signup
  facts:
    orders: { table: orders, key: customer_id, time: day }
let:
  spent: sum(orders.amount)
general:
  segments:
    - id: buyers
      when: spent > 0
    - id: rest
      when: otherwise
)");
    auto run = [&](const char* as_of) {
        const Run r = run_cli(
            {"run", rules, "--db", db, "--as-of", as_of, "--incremental", "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        return r.out;
    };
    const std::string first = run("2026-07-01");
    // Customer 3's two rows are left out with them; key 5's and the keyless row are orphans.
    CHECK(json_at(first, "$.data_quality.facts_of_customers_after_as_of") == R"({"orders":2})");
    CHECK(json_at(first, "$.data_quality.orphan_fact_rows") == R"({"orders":2})");
    CHECK(json_at(first, "$.data_quality.findings") == "2");
    const Run table = run_cli({"run", rules, "--db", db, "--as-of", "2026-07-01", "--dry-run"});
    CHECK_MESSAGE(table.out.find("point in time: 2 orders rows of those customers left out with "
                                 "them") != std::string::npos,
                  table.out);
    CHECK(table.out.find("2 orders rows match no customer") != std::string::npos);

    // The same customers left out: an incremental run counts as the full one did.
    const std::string again = run("2026-07-01");
    CHECK(json_at(again, "$.incremental.mode") == "incremental");
    CHECK(json_at(again, "$.data_quality") == json_at(first, "$.data_quality"));

    // Customer 5 comes, joining after as_of too: the row of 5 read as an orphan is theirs now.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers VALUES (5, '2026-12-01', 1)");
    const std::string later = run("2026-07-01");
    CHECK(json_at(later, "$.incremental.mode") == "full");
    CHECK(json_at(later, "$.incremental.reason").find("source.since leaves out") !=
          std::string::npos);
    CHECK(json_at(later, "$.data_quality.facts_of_customers_after_as_of") == R"({"orders":3})");
    CHECK(json_at(later, "$.data_quality.orphan_fact_rows") == R"({"orders":1})");
    CHECK(json_at(later, "$.data_quality.customers_after_as_of") == "2");

    // Once they have joined, their rows are theirs in the ordinary way.
    const std::string joined = run("2026-12-31");
    CHECK(json_at(joined, "$.data_quality.facts_of_customers_after_as_of") == "{}");
    CHECK(json_at(joined, "$.data_quality.orphan_fact_rows") == R"({"orders":1})");
    CHECK(json_at(joined, "$.customers") == "4");
}

TEST_CASE("stays keep the rule file's tactical order when a new version reorders it") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    auto version = [&](int v, const char* first, const char* second) {
        return dir.write("r.yaml", "ruleset: order\nversion: " + std::to_string(v) +
                                       "\ngeneral:\n  segments:\n    - id: all\n      when: true\n"
                                       "      tactical:\n" +
                                       std::string(first) + std::string(second));
    };
    const char* a = "        - id: a\n          when: spend >= 100\n";
    const char* b = "        - id: b\n          when: tv == 1\n";
    const auto file = version(1, a, b);
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    CHECK(membership(db, 1) == "1:all[b] 2:all[a] 3:all[a;b] 4:all[] ");
    version(2, b, a);
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.transitions.moved") == "0");
    // Run 2 places 3 as b;a, and that is what its membership says; run 1's stays as it was
    // read after the change too (the levels are the file's now).
    CHECK(membership(db, 2) == "1:all[b] 2:all[a] 3:all[b;a] 4:all[] ");
    auto e = run_cli({"export", file, "--db", db});
    CHECK(e.out.find("\n3,all,b;a,") != std::string::npos);
}

TEST_CASE("a run waits up to --wait while another holds the state, then fails with exit 2") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("r.yaml", rules());
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    {
        SQLite::Database holder(state, SQLite::OPEN_READWRITE);
        holder.exec("BEGIN IMMEDIATE");
        const auto started = std::chrono::steady_clock::now();
        auto r = run_cli(
            {"run", file, "--db", db, "--state", state, "--as-of", "2026-11-01", "--wait", "1s"});
        const double waited =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find("locked by another process (waited 1s") != std::string::npos,
                      r.err);
        CHECK(waited >= 0.9);
        CHECK(waited < 10);
        holder.exec("ROLLBACK");
    }
    CHECK(scalar(state, "SELECT count(*) FROM strata_runs") == 1);
    // A hold that ends within the wait only delays the run.
    auto run_through_a_hold = [&](const std::string& wait) {
        std::thread release([&state] {
            SQLite::Database holder(state, SQLite::OPEN_READWRITE);
            holder.exec("BEGIN IMMEDIATE");
            std::this_thread::sleep_for(std::chrono::milliseconds(700));
            holder.exec("COMMIT");
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        Run r = run_cli(
            {"run", file, "--db", db, "--state", state, "--as-of", "2026-11-01", "--wait", wait});
        release.join();
        return r;
    };
    const Run delayed = run_through_a_hold("10s");
    CHECK_MESSAGE(delayed.code == 0, delayed.err);
    // The longest waits too: 25 days in milliseconds do not fit in SQLite's int, and must not
    // turn into no wait at all.
    const Run patient = run_through_a_hold("25d");
    CHECK_MESSAGE(patient.code == 0, patient.err);
    CHECK(run_cli({"run", file, "--db", db, "--wait", "soon"}).code == 2);
}

TEST_CASE("run --wait also bounds the wait for a locked customer database") {
    // The customer database is read (to bind the rules) before any state is opened; a writer
    // holding it must be waited for as long as --wait says, not a fixed 5 seconds.
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("r.yaml", rules());
    SQLite::Database holder(db, SQLite::OPEN_READWRITE);
    holder.exec("BEGIN EXCLUSIVE");
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{}, {"--state", state}, {"--dry-run"}}) {
        std::vector<std::string> args = {"run",     file,         "--db",   db,
                                         "--as-of", "2026-10-01", "--wait", "1s"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto started = std::chrono::steady_clock::now();
        const Run r = run_cli(args);
        const double waited =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        CHECK(r.code == 2);
        CHECK_MESSAGE(
            r.err.find("locked by another process (waited 1s, the --wait)") != std::string::npos,
            r.err);
        CHECK(waited >= 0.9);
        CHECK(waited < 3.5);
    }
    // A hold longer than the default 5 seconds but shorter than --wait only delays the run.
    std::thread release([&holder] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5600));
        holder.exec("ROLLBACK");
    });
    const Run patient = run_cli(
        {"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01", "--wait", "20s"});
    release.join();
    CHECK_MESSAGE(patient.code == 0, patient.err);
}

TEST_CASE("a key column whose type changed is refused: its customers would all be new") {
    // A re-import that made the key column TEXT: '1' is not the customer 1 (the key rule), so
    // the run would close every stay and take the whole base as new customers, whose triggers
    // fire again. It is refused, with nothing stored, unless --allow-retyped-keys.
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules() + R"(triggers:
  - id: welcome
    on: enter any
    actions:
      - email: { template: welcome }
)");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE retyped (customer_id TEXT PRIMARY KEY, spend REAL, tv INTEGER);"
            "INSERT INTO retyped SELECT CAST(customer_id AS TEXT), spend, tv FROM customers;"
            "DROP TABLE customers; ALTER TABLE retyped RENAME TO customers;");
    auto count = [&](const char* sql) {
        SQLite::Database d(db, SQLite::OPEN_READONLY);
        return d.execAndGet(sql).getInt64();
    };
    const int64_t stays = count("SELECT count(*) FROM strata_stays");
    for (const char* mode : {"full", "incremental"}) {
        CAPTURE(mode);
        std::vector<std::string> args{"run", file, "--db", db, "--as-of", "2026-11-01"};
        if (std::string(mode) == "incremental") args.push_back("--incremental");
        const Run refused = run_cli(args);
        CHECK(refused.code == 2);
        CHECK(refused.err.find("the customer keys changed kind since run 1: 4 customers new to "
                               "the base have the key of a customer who left, written as the "
                               "other kind ('1' was 1;") != std::string::npos);
        CHECK(refused.err.find("nothing was stored") != std::string::npos);
        CHECK(refused.err.find("--allow-retyped-keys") != std::string::npos);
        CHECK(refused.err.find("CAST(customer_id AS INTEGER)") != std::string::npos);
        CHECK(count("SELECT count(*) FROM strata_runs WHERE status = 'complete'") == 1);
        CHECK(count("SELECT count(*) FROM strata_stays") == stays);
        CHECK(count("SELECT count(*) FROM strata_outbox") == 0);
    }
    // A dry run and a diff store nothing, so they are not refused, but say that the run would
    // be (review Z2: both gave a full plan, silently).
    const std::string plan =
        "would be refused: the customer keys changed kind since run 1: 4 customers new to the "
        "base have the key of a customer who left, written as the other kind ('1' was 1;";
    const Run dry = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    CHECK(dry.code == 0);
    CHECK_MESSAGE(
        dry.err.find("strata run: warning: a stored run of this file " + plan) != std::string::npos,
        dry.err);
    CHECK(dry.err.find("nothing was stored") == std::string::npos);
    CHECK(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run",
                   "--allow-retyped-keys"})
              .err.find("would be refused") == std::string::npos);
    const Run planned = run_cli({"diff", file, file, "--db", db, "--as-of", "2026-11-01"});
    CHECK(planned.code == 0);
    CHECK_MESSAGE(planned.err.find("strata diff: warning: a stored run of the new file " + plan) !=
                      std::string::npos,
                  planned.err);
    CHECK(count("SELECT count(*) FROM strata_runs") == 1);
    // Asked for: they are new customers, and the welcome fires for each.
    const Run allowed = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01",
                                 "--allow-retyped-keys", "--format", "json"});
    REQUIRE_MESSAGE(allowed.code == 0, allowed.err);
    CHECK(json_at(allowed.out, "$.transitions.new") == "4");
    CHECK(json_at(allowed.out, "$.transitions.left") == "4");
    CHECK(count("SELECT count(*) FROM strata_outbox") == 4);
    // And back: integer keys where the stays hold texts. One customer only, the others gone.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE back (customer_id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);"
            "INSERT INTO back SELECT CAST(customer_id AS INTEGER), spend, tv FROM customers "
            "WHERE customer_id = '3';"
            "DROP TABLE customers; ALTER TABLE back RENAME TO customers;");
    // The dry run reads the stays only when their keys and the placed ones are of both kinds;
    // here the placed are integers and the stays texts.
    const Run dry_back = run_cli({"run", file, "--db", db, "--as-of", "2026-12-01", "--dry-run"});
    CHECK(dry_back.err.find("would be refused: the customer keys changed kind since run 2: 1 "
                            "customer new to the base has the key of a customer who left, "
                            "written as the other kind (3 was '3';") != std::string::npos);
    const Run back = run_cli({"run", file, "--db", db, "--as-of", "2026-12-01"});
    CHECK(back.code == 2);
    CHECK(back.err.find("CAST(customer_id AS TEXT)") != std::string::npos);
    CHECK(back.err.find("since run 2: 1 customer new to the base has the key of a customer who "
                        "left, written as the other kind (3 was '3';") != std::string::npos);
}

TEST_CASE("retyped keys: keys that only look alike are new customers; a file without triggers") {
    // '01' spells no integer as it prints, and 5 was never a key: no twins, so the run stores.
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules());  // no triggers: the open stays in pages
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE other (customer_id TEXT PRIMARY KEY, spend REAL, tv INTEGER);"
            "INSERT INTO other SELECT '0' || customer_id, spend, tv FROM customers;"
            "INSERT INTO other VALUES ('5', 10, 0);"
            "DROP TABLE customers; ALTER TABLE other RENAME TO customers;");
    const Run alike =
        run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(alike.code == 0, alike.err);
    CHECK(json_at(alike.out, "$.transitions.new") == "5");
    CHECK(json_at(alike.out, "$.transitions.left") == "4");
    // The same file refuses real twins, and names the rule file's own key column.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE back (id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);"
            "INSERT INTO back SELECT CAST(customer_id AS INTEGER), spend, tv FROM customers;"
            "DROP TABLE customers; ALTER TABLE back RENAME TO customers;");
    std::string keyed = rules(2);
    keyed.replace(keyed.find("general:"), 0, "source:\n  key: id\n");
    const auto keyed_file = dir.write("k.yaml", keyed);
    const Run twins = run_cli({"run", keyed_file, "--db", db, "--as-of", "2026-12-01"});
    CHECK(twins.code == 2);
    CHECK(twins.err.find("1 customer new to the base has the key of a customer who left, written "
                         "as the other kind (5 was '5';") != std::string::npos);
    CHECK(twins.err.find("CAST(id AS TEXT)") != std::string::npos);
}

TEST_CASE("two runs started together on a new state both wait their turn and are both stored") {
    // A state made by the first of two runs started at once: the other used to fail at once
    // with "locked (waited …)" (its schema transaction read before it asked for the write lock),
    // and the failed one then removed the file the other was writing. Rounds make the race
    // likely; before the fix most rounds lost a run.
    TempDir dir;
    const std::string db = dir.file("base.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "5000", "--out", db}).code ==
            0);
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    for (int round = 0; round < 8; ++round) {
        const std::string state = dir.file("state-" + std::to_string(round) + ".db");
        std::vector<pid_t> runs;
        for (const char* name : {"a", "b"})
            runs.push_back(start({STRATA_BINARY, "run", rules, "--db", db, "--state", state,
                                  "--as-of", "2026-11-01", "--wait", "60s"},
                                 dir.file(std::string(name) + ".out"),
                                 dir.file(std::string(name) + ".err")));
        for (size_t i = 0; i < runs.size(); ++i) {
            const Ended ended = finish_or_kill(runs[i], kNever);
            INFO("round " << round << ": " << slurp(dir.file(i == 0 ? "a.err" : "b.err")));
            CHECK(ended.exit_code == 0);
        }
        REQUIRE(std::filesystem::exists(state));
        CHECK(scalar(state, "SELECT count(*) FROM strata_runs") == 2);
    }
}

TEST_CASE("two runs at once of a file reading the stored state, in the customer database") {
    // previous_segment needs the open stays while the customers are read. Each run used to
    // take its read lock first, then wait for the write lock that the other held, while the
    // other waited for that read lock to go before it could commit: both waited out --wait.
    // Rounds make the race likely; before the fix most rounds lost a run.
    TempDir dir;
    const std::string db = dir.file("base.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "3000", "--out", db}).code ==
            0);
    const auto file = dir.write("r.yaml", R"(ruleset: sticky
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n: count(orders)
general:
  segments:
    - id: many
      when: n > 5
    - id: was_many
      when: previous_segment == 'many'
    - id: rest
      when: otherwise
)");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    for (int round = 0; round < 6; ++round) {
        std::vector<pid_t> runs;
        for (const char* name : {"a", "b"})
            runs.push_back(start(
                {STRATA_BINARY, "run", file, "--db", db, "--as-of", "2026-11-01", "--wait", "3s"},
                dir.file(std::string(name) + ".out"), dir.file(std::string(name) + ".err")));
        for (size_t i = 0; i < runs.size(); ++i) {
            const Ended ended = finish_or_kill(runs[i], kNever);
            INFO("round " << round << ": " << slurp(dir.file(i == 0 ? "a.err" : "b.err")));
            CHECK(ended.exit_code == 0);
        }
    }
    CHECK(scalar(db, "SELECT count(*) FROM strata_runs") == 13);
}

TEST_CASE("a read-only state is named with advice that holds with or without --state") {
    // The same words whether the runs are kept in the customer database or in a --state file
    // (it said "give --state PATH" to users who had given it).
    const SQLite::Exception read_only("attempt to write a readonly database", SQLITE_READONLY);
    CHECK(strata::state_common::describe(read_only, "cannot store the run in 's.db'") ==
          "cannot store the run in 's.db': the database is read-only (make it writable, or keep "
          "the run state in another file with --state PATH)");
    const SQLite::Exception busy("database is locked", SQLITE_BUSY);
    CHECK(strata::state_common::describe(busy, "cannot store the run in 's.db'") ==
          "cannot store the run in 's.db': the database is locked by another process");
}
