// `strata history`, `strata versions` and `strata show` with a postgresql:// or clickhouse://
// `--db` (state/warehouse_audit.hpp) against the same commands on SQLite, for the same runs: a
// rule file with tactical segments and triggers run on a SQLite base and on its copy in
// PostgreSQL and in the two-shard ClickHouse, the base changed the same way between runs
// (customers leave, join, change tier and buy) and the rule file's version raised before the
// last run. The outputs must be the SQLite ones byte for byte, text and JSON, but for the
// runs' clock times (each backend ran at its own time) and the name of the store in messages.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/run_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// 400 customers with every tier, 0 to 4 orders each through 2026.
const std::string kBase = std::string(kSchema) + R"sql(
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO customers (customer_id, tier, score, credit, opt_in, signup)
  SELECT i, CASE i % 4 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' WHEN 2 THEN NULL ELSE 'bronze' END,
         i % 50, (i % 17) * 10.5, i % 2, date('2025-01-01', '+' || (i % 300) || ' days') FROM n;
WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 4)
INSERT INTO orders (customer_id, order_date, amount, items, category)
  SELECT c.customer_id, date('2026-01-01', '+' || ((c.customer_id * 7 + j * 13) % 300) || ' days'),
         (c.customer_id % 23) * j + 0.25, j, CASE j % 2 WHEN 0 THEN 'books' ELSE 'toys' END
  FROM customers c, k WHERE j <= c.customer_id % 5;
)sql";

// Version 1, and version 2 with another threshold and one more tactical segment.
std::string rules(int version) {
    return "ruleset: wh_hist\nversion: " + std::to_string(version) + R"(
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  n_orders: count(orders)
general:
  segments:
    - id: buyers
      when: n_orders >= )" +
           (version == 1 ? "2" : "3") + R"(
      tactical:
        - id: big
          when: revenue > 100
          tactical:
            - id: huge
              when: revenue > 200)" +
           (version == 1 ? "" : R"(
        - id: bookish
          when: n_orders >= 4)") +
           R"(
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
triggers:
  - id: new_buyer
    on: enter buyers
    actions:
      - email: { template: "hello {{customer_id}}" }
  - id: big_in
    on: in big
    holdout: 50%
    actions:
      - tag: { name: big }
  - id: gone
    on: exit gold
    actions:
      - task: { text: "call {{customer_id}}" }
)";
}

struct Step {
    const char* as_of;
    int version;
    const char* change_after;  // applied to both copies of the base after the run
};
const Step kSteps[] = {
    {"2026-03-31", 1, kChange}, {"2026-11-01", 1, kLater}, {"2026-11-02", 2, nullptr}};

// The same runs on the SQLite base (its state inside it) and in a warehouse.
template <class RunThere, class Reload>
void run_steps(const std::string& base, const std::string& embedded, const TempDir& dir,
               RunThere run_there, Reload reload) {
    for (const Step& step : kSteps) {
        CAPTURE(step.as_of);
        const std::string file =
            dir.write("rules-v" + std::to_string(step.version) + ".yaml", rules(step.version));
        const Run lite = run_cli({"run", file, "--db", embedded, "--as-of", step.as_of});
        REQUIRE_MESSAGE(lite.code == 0, lite.err);
        const Run there = run_there(file, step.as_of);
        REQUIRE_MESSAGE(there.code == 0, there.err);
        if (!step.change_after) continue;
        // Orders of customers who left go too, on both copies.
        const std::string sql =
            std::string(step.change_after) +
            "; DELETE FROM orders WHERE customer_id NOT IN (SELECT customer_id FROM customers)";
        SQLite::Database(embedded, SQLite::OPEN_READWRITE).exec(sql);
        SQLite::Database(base, SQLite::OPEN_READWRITE).exec(sql);
        reload();
    }
}

// The runs' clock times (UTC, to the second) as one mark: each backend ran at its own time.
std::string without_times(const std::string& text) {
    static const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    return std::regex_replace(text, time, "<time>");
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// A command on SQLite and on the warehouse: the same exit code and bytes, the store named in
// messages apart. Returns the SQLite run.
Run same_output(std::vector<std::string> args, const std::string& embedded, const std::string& db,
                const std::vector<std::string>& extra_there = {}, bool times = false) {
    CAPTURE(args);
    std::vector<std::string> lite_args = args, there_args = args;
    lite_args.insert(lite_args.begin() + 1, {"--db", embedded});
    there_args.insert(there_args.begin() + 1, {"--db", db});
    there_args.insert(there_args.end(), extra_there.begin(), extra_there.end());
    const Run lite = run_cli(lite_args);
    const Run there = run_cli(there_args);
    CHECK(there.code == lite.code);
    if (times) {
        CHECK(without_times(there.out) == without_times(lite.out));
    } else {
        CHECK(there.out == lite.out);
    }
    // A URL with a `?` is quoted for a shell in a command a message suggests.
    CHECK(replaced(replaced(there.err, "\"" + db + "\"", "DB"), db, "DB") ==
          replaced(lite.err, embedded, "DB"));
    return lite;
}

// Keys that moved, joined, left, entered tactical segments and got actions, and one unknown.
std::vector<std::string> compared_keys() {
    std::vector<std::string> keys;
    for (int k = 1; k <= 40; ++k)
        keys.push_back(std::to_string(k));
    for (const char* k : {"100003", "100006", "100012", "999999", "007", "-4"})
        keys.push_back(k);
    return keys;
}

// history of every compared key, text and JSON, of every ruleset and of one; checks that the
// comparison saw moves, tactical stays, the second version and actions.
void check_same_history(const std::string& embedded, const std::string& db,
                        const std::vector<std::string>& extra_there = {}) {
    bool moved = false, tactical = false, second = false, actions = false, unknown = false;
    for (const std::string& key : compared_keys()) {
        const Run text = same_output({"history", "--customer", key}, embedded, db, extra_there);
        same_output({"history", "--customer", key, "--format", "json"}, embedded, db, extra_there);
        same_output({"history", "--customer", key, "--ruleset", "wh_hist"}, embedded, db,
                    extra_there);
        moved = moved || text.out.find("(run 2)  2026-11-02 (run 3)") != std::string::npos;
        tactical = tactical || text.out.find("      big/huge") != std::string::npos;
        second = second || text.out.find("  2  rules") != std::string::npos;
        actions = actions || text.out.find("\nactions\n") != std::string::npos;
        unknown = unknown || text.err.find("has no stays") != std::string::npos;
    }
    CHECK(moved);
    CHECK(tactical);
    CHECK(second);
    CHECK(actions);
    CHECK(unknown);
    same_output({"history", "--customer", "2", "--ruleset", "nope"}, embedded, db, extra_there);
}

// versions and show: the same listing (clock times apart) and the same sources, byte for byte.
void check_same_versions(const TempDir& dir, const std::string& embedded, const std::string& db) {
    const Run listed = same_output({"versions"}, embedded, db, {}, true);
    CHECK(listed.out.find("wh_hist v2") != std::string::npos);
    same_output({"versions", "--format", "json"}, embedded, db, {}, true);
    same_output({"versions", "wh_hist"}, embedded, db, {}, true);
    same_output({"versions", "nope"}, embedded, db, {}, true);
    same_output({"versions", "nope", "--format", "json"}, embedded, db, {}, true);
    CHECK(same_output({"show", "wh_hist@1"}, embedded, db).out == rules(1));
    CHECK(same_output({"show", "wh_hist@2"}, embedded, db).out == rules(2));
    CHECK(same_output({"show", "wh_hist@3"}, embedded, db).code == 2);
    CHECK(same_output({"show", "nope@1"}, embedded, db).code == 2);
    CHECK(same_output({"show", "wh_hist@2", "--sha256", "abc"}, embedded, db).code == 2);
    // export given the file of an older version than the run's: said, as on SQLite.
    const std::string v1 = dir.write("wh_hist_v1.yaml", rules(1));
    const Run exported = same_output({"export", v1}, embedded, db);
    CHECK(exported.err.find(" is wh_hist v1, not the v2 run ") != std::string::npos);
}

// A database without runs, and a server that is not there: exit 2 with the reason.
void check_errors(const std::string& empty, const std::string& down) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"history", "--db", empty, "--customer", "1"},
          std::vector<std::string>{"versions", "--db", empty},
          std::vector<std::string>{"show", "--db", empty, "wh_hist@1"}}) {
        CAPTURE(args);
        const Run none = run_cli(args);
        CHECK(none.code == 2);
        CHECK(none.out.empty());
        CHECK(none.err.find(": no runs are stored in '" + empty + "'; run 'strata run' first") !=
              std::string::npos);
    }
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"history", "--db", down, "--customer", "1"},
          std::vector<std::string>{"history", "--db", down, "--customer", "1", "--format", "json"},
          std::vector<std::string>{"versions", "--db", down},
          std::vector<std::string>{"show", "--db", down, "wh_hist@1"}}) {
        CAPTURE(args);
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK(r.err.find("strata " + args[0] + ": ") == 0);
        CHECK(r.err.find("secret") == std::string::npos);
        CHECK(r.out.find("secret") == std::string::npos);
    }
    const Run json = run_cli({"versions", "--db", down, "--format", "json"});
    CHECK(json_at(json.out, "$.error.kind") == "database");
}

}  // namespace

TEST_CASE("history, versions and show on PostgreSQL give the SQLite output") {
    TempDir dir;
    const std::string base = dir.database("base.db", kBase);
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    auto pg = RunDatabase::create();
    pg.load(base);
    run_steps(
        base, embedded, dir,
        [&](const std::string& file, const char* as_of) {
            return run_cli({"run", file, "--db", pg.url, "--as-of", as_of});
        },
        [&] { pg.load(base); });
    check_same_history(embedded, pg.url);
    check_same_versions(dir, embedded, pg.url);

    // The outbox is in the same database: --state has no meaning there.
    const Run state =
        run_cli({"history", "--db", pg.url, "--customer", "2", "--state", dir.file("s.db")});
    CHECK(state.code == 2);
    CHECK(state.err.find("--state: a run inside PostgreSQL") != std::string::npos);
    const Run versions_state = run_cli({"versions", "--db", pg.url, "--state", dir.file("s.db")});
    CHECK(versions_state.code == 2);
    CHECK(versions_state.err.find("give --db only") != std::string::npos);

    auto empty = RunDatabase::create();
    check_errors(empty.url,
                 "postgresql://me:secret@127.0.0.1:" + std::to_string(closed_port()) + "/shop");
}

TEST_CASE("history on PostgreSQL finds text keys exactly, as on SQLite") {
    TempDir dir;
    // Text keys that spell integers, with leading zeros, quotes, backslashes, spaces and
    // non-ASCII bytes; keys that differ by case or by a trailing space.
    const std::string base = dir.database("base.db", R"(
CREATE TABLE customers (customer_id TEXT PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES ('123', 50), ('00123', 500), ('o''hara', 300), ('ä', 800),
  ('a b', 20), ('A b', 700), ('a b ', 90), ('back\slash', 5), ('%', 600), ('_', 10),
  ('x''); DROP TABLE strata_runs; --', 450);
)");
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    const std::string head = R"(ruleset: keys
source:
  customers: customers
  key: customer_id
general:
  segments:
    - id: high
      when: spend >= )";
    const std::string tail = R"(
    - id: low
      when: otherwise
)";
    auto pg = RunDatabase::create();
    auto copied = copy_sqlite_tables(base, {"customers"}, pg.connection);
    REQUIRE(copied);
    int step = 0;
    for (const char* threshold : {"400", "60"}) {
        ++step;
        const std::string file =
            dir.write("keys" + std::to_string(step) + ".yaml",
                      "version: " + std::to_string(step) + "\n" + head + threshold + tail);
        const std::string as_of = step == 1 ? "2026-10-01" : "2026-11-01";
        const Run lite = run_cli({"run", file, "--db", embedded, "--as-of", as_of});
        REQUIRE_MESSAGE(lite.code == 0, lite.err);
        const Run there = run_cli({"run", file, "--db", pg.url, "--as-of", as_of});
        REQUIRE_MESSAGE(there.code == 0, there.err);
    }
    int found = 0;
    for (const std::string key :
         {"123", "00123", "0123", "o'hara", "ä", "a b", "A b", "a b ", "back\\slash", "%", "_",
          "a%", "x'); DROP TABLE strata_runs; --", "x"}) {
        const Run text = same_output({"history", "--customer", key}, embedded, pg.url);
        same_output({"history", "--customer", key, "--format", "json"}, embedded, pg.url);
        if (text.out.find("customer '" + key + "' in ruleset keys") != std::string::npos) ++found;
    }
    CHECK(found == 11);
    // `%` and `_` are not patterns: each finds itself alone.
    const Run percent = run_cli({"history", "--db", pg.url, "--customer", "%"});
    CHECK(percent.out.find("customer '%' in ruleset keys\n") == 0);
    CHECK(percent.out.find("'_'") == std::string::npos);
}

TEST_CASE("history, versions and show on the two-shard ClickHouse give the SQLite output") {
    TempDir dir;
    const std::string base = dir.database("base.db", kBase);
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    const std::string actions = dir.file("actions.db");
    ClusterDatabase ch;
    ch.load(base);
    run_steps(
        base, embedded, dir,
        [&](const std::string& file, const char* as_of) {
            return run_cli({"run", file, "--db", ch.url, "--as-of", as_of, "--state", actions});
        },
        [&] { ch.load(base); });
    // The actions are in the --state store the runs wrote them to.
    check_same_history(embedded, ch.url, {"--state", actions});
    check_same_versions(dir, embedded, ch.url);

    {  // Without --state the stays are shown and the actions are said not to be read.
        const Run text = run_cli({"history", "--db", ch.url, "--customer", "2"});
        CHECK(text.code == 0);
        CHECK(text.out.find("customer 2 in ruleset wh_hist") == 0);
        CHECK(text.out.find("\nactions not read: ") != std::string::npos);
        CHECK(text.err.find("give the same --state to see them") != std::string::npos);
        const Run json =
            run_cli({"history", "--db", ch.url, "--customer", "2", "--format", "json"});
        CHECK(json.code == 0);
        CHECK(json.out.find(R"("actions":null,"left_base":[)") != std::string::npos);
        CHECK(json_at(json.out, "$.stays[0].customer_key") == "2");
        // A ClickHouse URL holds no outbox.
        const Run refused =
            run_cli({"history", "--db", ch.url, "--customer", "2", "--state", ch.url});
        CHECK(refused.code == 2);
        CHECK(refused.err.find("holds no outbox") != std::string::npos);
    }
    {  // A run that died is invisible: its stays, its exits and the version it registered.
        auto client = ch.client();
        const std::string before = run_cli({"history", "--db", ch.url, "--customer", "2", "--state",
                                            actions, "--format", "json"})
                                       .out;
        const std::string versions_before = run_cli({"versions", "--db", ch.url}).out;
        for (const std::string sql :
             {"INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (4, 'wh_hist', "
              "'running', '2026-12-01')",
              "INSERT INTO strata_stays (ruleset, customer_key, level, segment, entered_run) "
              "VALUES ('wh_hist', 2, 0, 'dead_segment', 4)",
              "INSERT INTO strata_stay_exits (ruleset, customer_key, level, segment, entered_run, "
              "exited_run) SELECT ruleset, customer_key, level, segment, entered_run, 4 FROM "
              "strata_stays WHERE ruleset = 'wh_hist' AND customer_key = 2",
              "INSERT INTO strata_versions (ruleset, version, sha256, source, first_seen) VALUES "
              "('wh_hist', 3, 'abc', 'x', '2026-12-01T00:00:00Z')"}) {
            auto done = client.query(sql);
            REQUIRE_MESSAGE(done, done.error().describe());
        }
        CHECK(run_cli({"history", "--db", ch.url, "--customer", "2", "--state", actions, "--format",
                       "json"})
                  .out == before);
        CHECK(run_cli({"versions", "--db", ch.url}).out == versions_before);
        CHECK(run_cli({"show", "--db", ch.url, "wh_hist@3"}).code == 2);
    }
    {  // Text keys are never stored in ClickHouse: nobody is found, as on SQLite.
        const Run text =
            same_output({"history", "--customer", "002"}, embedded, ch.url, {"--state", actions});
        CHECK(text.err.find("has no stays") != std::string::npos);
    }
    ClusterDatabase empty;
    check_errors(empty.url,
                 "clickhouse://me:secret@127.0.0.1:" + std::to_string(closed_port()) + "/shop");
}
