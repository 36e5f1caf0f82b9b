// `strata diff OLD NEW --db postgresql://…|clickhouse://…` (state/warehouse_diff.hpp) against
// the embedded diff: pairs of random rule files over random bases (tests/sql_generator.hpp),
// loaded into PostgreSQL and the two-shard ClickHouse. The JSON documents must be the same
// but for `computed_in`: moves with their sample keys, segment and tactical counts, entered
// and left, definitions. STRATA_DIFF_PAIRS sets how many pairs (default 8 on PostgreSQL, a
// third of them on ClickHouse).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/run_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// The diff document without the line that says where it was computed.
std::string without_place(const std::string& doc) {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, "SELECT json_remove(?, '$.computed_in')");
    q.bind(1, doc);
    q.executeStep();
    return q.getColumn(0).getString();
}

// Diffs the two files on SQLite and at `url`; true when both computed a diff.
bool compare_diffs(const std::string& old_rules, const std::string& new_rules,
                   const std::string& sqlite, const std::string& url) {
    const std::vector<std::string> args = {
        "diff", old_rules, new_rules, "--as-of", "2026-11-01", "--sample", "3", "--format", "json"};
    std::vector<std::string> lite_args = args, there_args = args;
    for (auto* a : {&lite_args, &there_args})
        a->push_back("--db");
    lite_args.push_back(sqlite);
    there_args.push_back(url);
    const Run lite = run_cli(lite_args);
    const Run there = run_cli(there_args);
    INFO(lite.err);
    INFO(there.err);
    REQUIRE(there.code == lite.code);
    if (lite.code != 0) {
        // A file leaves customers unplaced: the same sentence, except that under `exclusive`
        // the warehouse does not name the overlapping pairs.
        const std::string message = json_at(lite.out, "$.error.message");
        if (message.find("policy 'exclusive'") != std::string::npos)
            CHECK(json_at(there.out, "$.error.message").find("policy 'exclusive'") !=
                  std::string::npos);
        else
            CHECK(json_at(there.out, "$.error.message") == message);
        return false;
    }
    CHECK(json_at(there.out, "$.computed_in") ==
          url.substr(0, url.find('?')) +
              (url.find('?') == std::string::npos ? "" : url.substr(url.find('?'))));
    CHECK(without_place(there.out) == without_place(lite.out));
    return true;
}

}  // namespace

TEST_CASE("diff inside the warehouse: the embedded diff, move by move") {
    const char* env = std::getenv("STRATA_DIFF_PAIRS");
    const int pairs = env ? std::atoi(env) : 8;
    Gen gen{std::mt19937(20261202), true};
    int compared_pg = 0, compared_ch = 0;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string old_rules = dir.write("old.yaml", gen.rules(i));
        const std::string new_rules = dir.write("new.yaml", gen.rules(i + 1));
        CAPTURE(i);
        auto pg = RunDatabase::create();
        pg.load(base);
        compared_pg += compare_diffs(old_rules, new_rules, base, pg.url);
        if (i % 3 != 0) continue;
        ClusterDatabase ch;
        ch.load(base);
        compared_ch += compare_diffs(old_rules, new_rules, base, ch.url);
    }
    CHECK(compared_pg * 2 > pairs);
    CHECK(compared_ch > 0);
}

// Null, empty and blank keys are no keys, on both sides (the engine's key rule, in the
// PostgreSQL dialect's key reading).
TEST_CASE("diff inside PostgreSQL: text keys are sampled in byte order") {
    TempDir dir;
    const std::string base = dir.database("base.db", R"(
CREATE TABLE customers (customer_id TEXT PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES ('b,1', 50), ('a', 500), ('Z', 300), ('ä', 800), ('a b', 20),
  ('', 700), ('é''x', 90), (NULL, 999), (' ', 998), (char(160), 997);
)");
    const std::string head = R"(ruleset: keys
version: 1
source:
  customers: customers
  key: customer_id
general:
  policy: first_match
  segments:
)";
    const std::string old_rules = dir.write("old.yaml", head + R"(    - id: high
      when: spend >= 400
    - id: low
      when: otherwise
)");
    const std::string new_rules = dir.write("new.yaml", head + R"(    - id: high
      when: spend >= 60
    - id: low
      when: otherwise
)");
    auto pg = RunDatabase::create();
    auto copied = copy_sqlite_tables(base, {"customers"}, pg.connection);
    REQUIRE(copied);
    REQUIRE(compare_diffs(old_rules, new_rules, base, pg.url));
    const Run r = run_cli(
        {"diff", old_rules, new_rules, "--db", pg.url, "--sample", "2", "--format", "json"});
    CHECK(json_at(r.out, "$.matrix[1].sample") == R"(["Z","é'x"])");
}

TEST_CASE("diff inside the warehouse: refusals and usage errors") {
    TempDir dir;
    Gen gen{std::mt19937(5), true};
    const std::string base = dir.database("base.db", gen.base_sql());
    auto pg = RunDatabase::create();
    pg.load(base);
    const std::string head = R"(ruleset: refused
version: 1
source:
  customers: customers
  key: customer_id
general:
  policy: first_match
  segments:
)";
    const std::string old_rules = dir.write("old.yaml", head + R"(    - id: all
      when: otherwise
)");
    const std::string new_rules = dir.write("new.yaml", head + R"(    - id: gold
      when: matches(tier, '^g\d')
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"diff", old_rules, new_rules, "--db", pg.url});
    CHECK(r.code == 1);
    CHECK(r.err.find("new.yaml:10:13") != std::string::npos);
    const Run state =
        run_cli({"diff", old_rules, old_rules, "--db", pg.url, "--state", dir.file("s.db")});
    CHECK(state.code == 2);
    CHECK(state.err.find("--state") != std::string::npos);
    // The new file leaves customers unplaced: exit 1 with the embedded diff's sentence.
    const std::string unplaced = dir.write("unplaced.yaml", head + R"(    - id: some
      when: customer_id <= 2
)");
    const Run lite = run_cli({"diff", old_rules, unplaced, "--db", base});
    const Run there = run_cli({"diff", old_rules, unplaced, "--db", pg.url});
    CHECK(lite.code == 1);
    CHECK(there.code == 1);
    CHECK(there.err == lite.err);
}
