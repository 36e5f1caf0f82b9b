// A table of the user's own named like one of strata's state tables (strata_runs) in a
// warehouse: every command that reads or writes the run state refuses the database with one
// message naming the table and the columns it lacks (state/foreign_tables.hpp), exit 2, and
// leaves the database as it was. Before, a run failed on the server's "column ruleset does
// not exist" from inside strata's own DDL.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/warehouse_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

const char* kRules = R"(ruleset: own
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)";

const std::string kRefusal =
    "has a table strata_runs that strata did not make (it has no columns run_id, ruleset, "
    "version, rules_sha256, rules_path, as_of, started_at, finished_at, status, customers, "
    "summary): strata keeps its run state in tables named strata_*";

}  // namespace

TEST_CASE("postgres: a strata_runs table of the user's own is refused, and left as it was") {
    TempDir dir;
    const std::string base = dir.database("base.db", strata::testing::kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, NULL)");
    auto pg = RunDatabase::create();
    pg.load(base);
    REQUIRE(
        pg.connection.exec_script("CREATE TABLE strata_runs (x integer); INSERT INTO "
                                  "strata_runs VALUES (7)"));
    const std::string rules = dir.write("own.yaml", kRules);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"run", rules, "--db", pg.url, "--as-of", "2026-11-01"},
             {"export", rules, "--db", pg.url},
             {"runs", "--db", pg.url},
             {"history", "--db", pg.url, "--customer", "1"},
             {"versions", "--db", pg.url},
             {"diff", rules, rules, "--db", pg.url},
             {"report", "--db", pg.url, "--out", dir.file("r.html")},
             {"outbox", "list", "--db", pg.url},
             {"explain", rules, "--db", pg.url, "--customer", "1", "--run", "1"}}) {
        CAPTURE(args[0]);
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find(kRefusal) != std::string::npos, r.err);
    }
    auto tables = pg.connection.exec(
        "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace "
        "n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname LIKE 'strata%'");
    REQUIRE(tables);
    CHECK(tables.value().rows.at(0).at(0).value_or("") == "strata_runs");
    auto kept = pg.connection.exec("SELECT x FROM strata_runs");
    REQUIRE(kept);
    CHECK(kept.value().rows.at(0).at(0).value_or("") == "7");
    // Without the table, the same database runs.
    REQUIRE(pg.connection.exec_script("DROP TABLE strata_runs"));
    CHECK(run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"}).code == 0);
    CHECK(run_cli({"runs", "--db", pg.url}).code == 0);
}

TEST_CASE("clickhouse: a strata_runs table of the user's own is refused, and left as it was") {
    TempDir dir;
    const std::string base = dir.database("base.db", strata::testing::kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, NULL)");
    ClusterDatabase ch;
    ch.load(base);
    auto client = ch.client();
    REQUIRE(client.query("CREATE TABLE strata_runs (x Int64) ENGINE = MergeTree ORDER BY x"));
    REQUIRE(client.query("INSERT INTO strata_runs VALUES (7)"));
    const std::string rules = dir.write("own.yaml", kRules);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"run", rules, "--db", ch.url, "--as-of", "2026-11-01"},
             {"export", rules, "--db", ch.url},
             {"runs", "--db", ch.url},
             {"history", "--db", ch.url, "--customer", "1"},
             {"explain", rules, "--db", ch.url, "--customer", "1", "--run", "1"}}) {
        CAPTURE(args[0]);
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find(kRefusal) != std::string::npos, r.err);
    }
    // A diff of files that read no stored state does not look at it.
    CHECK(run_cli({"diff", rules, rules, "--db", ch.url}).code == 0);
    auto tables = client.query(
        "SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables "
        "WHERE database = currentDatabase() AND name LIKE 'strata%' ORDER BY name)");
    REQUIRE(tables);
    CHECK(tables.value().rows.at(0).at(0).value_or("") == "strata_runs");
    auto kept = client.query("SELECT x FROM strata_runs");
    REQUIRE(kept);
    CHECK(kept.value().rows.at(0).at(0).value_or("") == "7");
}
