// State from older layouts moved forward, interning, cell conversion from every storage class,
// and tactical segments past 64.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "engine/reader.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::engine_fixture;

TEST_CASE("more than 64 tactical segments: every customer's tags, in rule-file order") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    std::string tactical;
    std::string all, even;
    for (int t = 0; t < 70; ++t) {
        const std::string id = "t" + std::to_string(t);
        tactical += "        - id: " + id +
                    "\n          when: " + (t % 2 == 0 ? "mrr >= 0" : "plan == 'paid'") + "\n";
        all += (all.empty() ? "" : ";") + id;
        if (t % 2 == 0) even += (even.empty() ? "" : ";") + id;
    }
    const auto file =
        dir.write("r.yaml", rules("  segments:\n    - id: everyone\n      when: otherwise\n"
                                  "      tactical:\n" +
                                  tactical));
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto e = run_cli({"export", file, "--db", db});
    REQUIRE(e.code == 0);
    // 6 is paid with mrr 250: all 70. 1 is a trial with mrr 0: the even ones. 5 has neither.
    CHECK(e.out.find("\n6,everyone," + all + ",") != std::string::npos);
    CHECK(e.out.find("\n1,everyone," + even + ",") != std::string::npos);
    CHECK(e.out.find("\n5,everyone,,") != std::string::npos);
}

TEST_CASE("state from before strata_placements moves to the stays, every run kept") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("old-state.db");
    const std::string text = rules(
        "  segments:\n    - id: paid\n      when: plan == 'paid'\n"
        "    - id: rest\n      when: otherwise\n");
    {
        // The layout earlier versions wrote: texts in a strata_membership table. Its run used
        // the same file (a changed one under the same version would be refused).
        SQLite::Database old(state, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        old.exec(R"sql(
CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, ruleset TEXT NOT NULL,
  version INTEGER NOT NULL, rules_sha256 TEXT NOT NULL, rules_path TEXT NOT NULL,
  as_of TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  status TEXT NOT NULL, customers INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE strata_membership (run_id INTEGER NOT NULL REFERENCES strata_runs(run_id),
  customer_key NOT NULL, segment TEXT NOT NULL, tactical TEXT NOT NULL,
  PRIMARY KEY (run_id, customer_key)) WITHOUT ROWID;
INSERT INTO strata_membership VALUES (1, 1, 'paid', ''), (1, 2, 'rest', 'a;b'),
  (1, 'k-3', 'paid', '');
)sql");
        SQLite::Statement run(old,
                              "INSERT INTO strata_runs VALUES (1, 'engine-test', 1, ?, 'r.yaml', "
                              "'2026-11-01', 't0', 't1', 'ok', 3, '{}')");
        run.bind(1, strata::sha256_hex(text));
        run.exec();
    }
    const auto file = dir.write("r.yaml", text);
    auto r = run_cli({"run", file, "--db", db, "--state", state});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    SQLite::Database check(state, SQLite::OPEN_READONLY);
    CHECK(check.execAndGet("SELECT type FROM sqlite_schema WHERE name = 'strata_membership'")
              .getString() == "view");
    auto rows = [&](const std::string& run) {
        std::string out;
        SQLite::Statement q(check,
                            "SELECT customer_key, segment, tactical FROM strata_membership "
                            "WHERE run_id = " +
                                run + " ORDER BY customer_key");
        while (q.executeStep())
            out += q.getColumn(0).getString() + "," + q.getColumn(1).getString() + "," +
                   q.getColumn(2).getString() + ";";
        return out;
    };
    CHECK(rows("1") == "1,paid,;2,rest,a;b;k-3,paid,;");
    CHECK(rows("2") == "1,rest,;2,paid,;3,paid,;4,rest,;5,rest,;6,paid,;");
    // Customer 2 moved from rest (with a and b) to paid; k-3 left the base; 1 moved to rest.
    auto stays = [&](const std::string& key) {
        std::string out;
        SQLite::Statement q(check,
                            "SELECT segment, entered_run, coalesce(exited_run, '-'), cause FROM "
                            "strata_stay_history WHERE customer_key = " +
                                key + " ORDER BY entered_run, level, segment");
        while (q.executeStep())
            out += q.getColumn(0).getString() + " " + q.getColumn(1).getString() + "-" +
                   q.getColumn(2).getString() + " " + q.getColumn(3).getString() + ";";
        return out;
    };
    CHECK(stays("2") == "rest 1-2 initial;a 1-2 initial;b 1-2 initial;paid 2-- data;");
    CHECK(stays("'k-3'") == "paid 1-2 initial;");
    CHECK(stays("3") == "paid 2-- data;");
    for (const char* gone : {"strata_members", "strata_placements"})
        CHECK(check
                  .execAndGet(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") +
                              gone + "'")
                  .getInt() == 0);
    // Export still reads the old run.
    auto e = run_cli({"export", file, "--db", db, "--state", state, "--run", "1"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK(e.out.find("\n2,rest,a;b,") != std::string::npos);
}

TEST_CASE("interning gives one text per spelling, whatever its length and where it differs") {
    // Texts of every length up to 40 bytes, differing from each other in a single byte at
    // every position: each must intern to its own text, and again to the same one.
    std::vector<std::string> texts;
    for (size_t n = 0; n <= 40; ++n) {
        const std::string base(n, 'a');
        texts.push_back(base);
        for (size_t at = 0; at < n; ++at) {
            std::string changed = base;
            changed[at] = 'b';
            texts.push_back(changed);
        }
    }
    std::vector<const std::string*> first;
    for (const auto& t : texts)
        first.push_back(&strata::intern(t).str());
    for (size_t i = 0; i < texts.size(); ++i) {
        CAPTURE(texts[i]);
        CHECK(*first[i] == texts[i]);
        CHECK(&strata::intern(std::string(texts[i])).str() == first[i]);
    }
    std::set<const std::string*> distinct(first.begin(), first.end());
    CHECK(distinct.size() == texts.size());
}

TEST_CASE("cells convert to their column's type from every storage class") {
    // Columns of no declared type keep each value's own storage class: integer, fraction,
    // text, blob or null. Each row below tries one storage class on every type.
    TempDir dir;
    const auto path =
        dir.database("cells.db",
                     "CREATE TABLE cells (id INTEGER PRIMARY KEY, i, n, b, d, t, s, a);"
                     "INSERT INTO cells VALUES"
                     " (1, 3, 3, 1, 20260102, 7, 12, 5),"
                     " (2, 3.0, 2.5, 1.0, 2.5, 2.5, 2.5, 2.5),"
                     " (3, 3.5, 1e300, 0, NULL, NULL, NULL, NULL),"
                     " (4, 9e15, '4.25', 'true', '2026-01-02', '2026-01-02T03:04:05', 'x', 'y'),"
                     " (5, '7', 'lots', 2, '2026-02-30', 'soon', '', ''),"
                     " (6, X'37', X'37', X'31', X'32', X'33', X'41', X'42');");
    strata::bound::Program program;
    program.columns = {{"i", strata::Type::Int},      {"n", strata::Type::Number},
                       {"b", strata::Type::Bool},     {"d", strata::Type::Date},
                       {"t", strata::Type::DateTime}, {"s", strata::Type::String},
                       {"a", strata::Type::Any}};
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    strata::KeyIndex index;
    strata::DataQuality dq;
    const auto read = strata::read_customers({&db}, "cells", "id", program, index, dq, nullptr);
    std::string got;
    for (size_t r = 0; r < read.rows; ++r) {
        got += strata::format_value(read.keys[r]);
        for (const auto& c : read.columns)
            got += "|" + strata::format_value(c[r]);
        got += "\n";
    }
    // Integers: whole fractions within 64 bits and integer texts convert. Numbers: integers and
    // numeric texts. Bools: 0 and 1, and the words the parser knows. Dates and datetimes:
    // only their texts. Strings: every value's text. Any: numbers stay numbers. Blobs
    // convert to nothing typed; as strings they read as their bytes.
    CHECK(got ==
          "1|3|3|true|null|null|12|5\n"
          "2|3|2.5|null|null|null|2.5|2.5\n"
          "3|null|1e+300|false|null|null|null|null\n"
          "4|9000000000000000|4.25|true|2026-01-02|2026-01-02T03:04:05|x|y\n"
          "5|7|null|null|null|null||\n"
          "6|null|null|null|null|null|A|B\n");
    std::string bad;
    for (const auto& u : dq.unconvertible)
        bad += u.column + "=" + std::to_string(u.count) + " ";
    CHECK(bad == "b=3 d=4 i=2 n=2 t=4 ");
}

TEST_CASE("state with a placement snapshot per run moves to the stays, every run kept") {
    TempDir dir;
    const auto state = dir.database("old-state.db", R"sql(
CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, ruleset TEXT NOT NULL,
  version INTEGER NOT NULL, rules_sha256 TEXT NOT NULL, rules_path TEXT NOT NULL,
  as_of TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  status TEXT NOT NULL, customers INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE strata_placements (run_id INTEGER NOT NULL, placement INTEGER NOT NULL,
  segment TEXT NOT NULL, tactical TEXT NOT NULL, PRIMARY KEY (run_id, placement)) WITHOUT ROWID;
CREATE TABLE strata_members (run_id INTEGER NOT NULL, customer_key NOT NULL,
  placement INTEGER NOT NULL, PRIMARY KEY (run_id, customer_key)) WITHOUT ROWID;
CREATE VIEW strata_membership (run_id, customer_key, segment, tactical) AS
  SELECT m.run_id, m.customer_key, p.segment, p.tactical FROM strata_members m
  JOIN strata_placements p ON p.run_id = m.run_id AND p.placement = m.placement;
INSERT INTO strata_runs VALUES (1, 'a', 1, 'x', 'a.yaml', '2026-09-01', 't', 't', 'complete', 3, '{}'),
  (2, 'b', 1, 'x', 'b.yaml', '2026-09-01', 't', 't', 'complete', 1, '{}'),
  (3, 'a', 2, 'x', 'a.yaml', '2026-10-01', 't', 't', 'complete', 3, '{}'),
  (4, 'a', 2, 'x', 'a.yaml', '2026-11-01', 't', 't', 'complete', 2, '{}');
INSERT INTO strata_placements VALUES (1, 0, 'gold', 'vip;vip/new'), (1, 1, 'rest', ''),
  (2, 0, 'x', ''), (3, 0, 'gold', 'vip'), (3, 1, 'rest', ''), (4, 0, 'rest', 'vip/new');
INSERT INTO strata_members VALUES (1, 1, 0), (1, 2, 1), (1, 'z', 0), (2, 1, 0),
  (3, 1, 0), (3, 2, 0), (3, 'z', 1), (4, 1, 0), (4, 'z', 0);
)sql");
    std::vector<std::string> before;
    auto snapshot = [&](const std::string& path) {
        std::vector<std::string> out;
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        SQLite::Statement q(db,
                            "SELECT run_id, customer_key, segment, tactical FROM "
                            "strata_membership ORDER BY run_id, customer_key");
        while (q.executeStep())
            out.push_back(q.getColumn(0).getString() + " " + q.getColumn(1).getString() + " " +
                          q.getColumn(2).getString() + " [" + q.getColumn(3).getString() + "]");
        return out;
    };
    before = snapshot(state);
    REQUIRE(before.size() == 9);
    strata::StoreError error;
    {
        // Read before any run has moved the file to the stays (export does this).
        SQLite::Database old(state, SQLite::OPEN_READONLY);
        CHECK(strata::load_membership(old, 1, error).size() == 3);
        CHECK(error.message.empty());
    }
    REQUIRE(strata::open_state(state, error));
    CHECK(snapshot(state) == before);
    SQLite::Database check(state, SQLite::OPEN_READONLY);
    // Run 4 used version 2 like run 3: its moves are the data's. Run 3's came with version 2.
    CHECK(check
              .execAndGet("SELECT group_concat(cause, ',') FROM (SELECT DISTINCT cause FROM "
                          "strata_stay_history WHERE entered_run = 3)")
              .getString() == "rules");
    CHECK(check
              .execAndGet(
                  "SELECT count(*) FROM strata_stay_history WHERE ruleset = 'a' AND exited_run "
                  "IS NULL")
              .getInt() == 4);  // 1 and z each in rest and vip/new; customer 2 left
}
