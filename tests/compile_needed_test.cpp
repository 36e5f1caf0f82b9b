// strata compile lowers only what its query reads: the lets, aggregates and customer columns
// that the segment conditions and --lets columns need (sql/needed.cpp). A let nothing reads,
// which `check` only warns of, does not make compile refuse the file.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>

#include "sql_generator.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
INSERT INTO customers (customer_id, tier, credit) VALUES (1, 'gold', 5), (2, 'silver', 50),
  (3, NULL, 500), (4, 'gold', NULL);
INSERT INTO orders (customer_id, order_date, amount, category) VALUES
  (1, '2026-10-01', 80, 'gift'), (1, '2026-10-02', 30, 'toys'), (2, '2026-09-01', 5, 'gift'),
  (3, '2026-10-20', 400, NULL);
)sql";

// `gold` and `gifts` use matches(), which SQLite lacks; `gold_spender` reads both and the
// needed `spent`; nothing reads any of the three.
const char* kRules = R"(ruleset: needed
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
  gold: matches(tier, '^g')
  gifts: count(orders where matches(category, 'gift'))
  gold_spender: gold and gifts > 0 and spent > 10
general:
  segments:
    - id: big
      when: spent >= 100
    - id: rest
      when: otherwise
)";

}  // namespace

TEST_CASE("compile: lets nothing reads are not lowered, so they cannot refuse the file") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + kBase);
    const std::string rules = dir.write("r.yaml", kRules);
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    INFO(compiled.err);
    REQUIRE(compiled.code == 0);
    // The binder warns of gold_spender alone: gold and gifts are read, but only by it.
    CHECK(compiled.err.find("let 'gold_spender' is never used") != std::string::npos);
    CHECK(compiled.err.find("let 'gold' is never used") == std::string::npos);
    // Neither the unused aggregate's filter nor the column only an unused let reads is in it.
    CHECK(compiled.out.find("gift") == std::string::npos);
    CHECK(compiled.out.find("\"tier\"") == std::string::npos);
    // It places every customer as a run of the engine does.
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh);
    REQUIRE(run_cli({"run", rules, "--db", fresh, "--as-of", "2026-11-01"}).code == 0);
    const Run exported =
        run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
    REQUIRE(exported.code == 0);
    const std::string placed = rows(db, compiled.out);
    CHECK(placed == "1|big|\n2|rest|\n3|big|\n4|rest|\n");
    std::string expected = exported.out.substr(exported.out.find('\n') + 1);
    std::replace(expected.begin(), expected.end(), ',', '|');
    CHECK(placed == expected);
}

TEST_CASE("compile --lets: a let asked for is lowered with all it reads, and refused as ever") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + kBase);
    const std::string rules = dir.write("r.yaml", kRules);
    // gold_spender reads gold and gifts: both are lowered, and SQLite has no matches().
    const Run r = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of",
                           "2026-11-01", "--lets", "gold_spender"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(rules + ":8:9: error: cannot compile to sqlite: matches()") !=
          std::string::npos);
    CHECK(r.err.find(rules + ":9:29: error: cannot compile to sqlite: matches()") !=
          std::string::npos);
    // A let that reads only what SQLite has comes out as its column.
    const Run spent = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of",
                               "2026-11-01", "--lets", "spent"});
    INFO(spent.err);
    REQUIRE(spent.code == 0);
    SQLite::Database base(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(base, spent.out);
    std::string values;
    while (q.executeStep())
        values += q.getColumn("spent").getString() + ";";
    CHECK(values == "110.0;5.0;400.0;0.0;");
}

TEST_CASE("compile without --db: a column of no known type that only an unused let reads") {
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: typed
version: 1
source:
  types: { credit: number }
let:
  odd: nickname == 'x'
general:
  segments:
    - id: high
      when: credit > 100
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "sqlite", "--as-of", "2026-11-01"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("nickname") == std::string::npos);
    // Read by a segment, the same column is refused for its unknown type.
    const std::string used = dir.write("used.yaml", R"(ruleset: typed
version: 1
source:
  types: { credit: number }
general:
  segments:
    - id: high
      when: credit > 100 or nickname == 'x'
    - id: rest
      when: otherwise
)");
    const Run refused = run_cli({"compile", used, "--dialect", "sqlite", "--as-of", "2026-11-01"});
    CHECK(refused.code == 1);
    CHECK(refused.err.find("nickname") != std::string::npos);
}

namespace {

// Without --db: amount and the time column have their types in the fact's types; category has
// none, and `gifts` reads it. `big` is the condition of the segment big.
std::string fact_needed_rules(const std::string& big) {
    return R"(ruleset: fact_needed
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date, types: { amount: number, order_date: date } }
let:
  spent: sum(orders.amount)
  gifts: count(orders where category == 'gift')
general:
  segments:
    - id: big
      when: )" +
           big + R"(
    - id: rest
      when: otherwise
)";
}

}  // namespace

TEST_CASE("compile: a fact column only an unused aggregate reads needs no type, and reads NULL") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + kBase);
    // Only the unused `gifts` reads category.
    const std::string rules = dir.write("r.yaml", fact_needed_rules("spent >= 100"));
    const Run r = run_cli({"compile", rules, "--dialect", "sqlite", "--as-of", "2026-11-01"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("\"category\"") == std::string::npos);
    CHECK(rows(db, r.out) == "1|big|\n2|rest|\n3|big|\n4|rest|\n");
    // ClickHouse's nested plan leaves it out as well (the warehouse suite runs that plan).
    const Run nested =
        run_cli({"compile", rules, "--dialect", "clickhouse", "--as-of", "2026-11-01"});
    INFO(nested.err);
    CHECK(nested.code == 0);
    CHECK(nested.out.find("category") == std::string::npos);
    // Read by a segment, the same column is refused for its unknown type.
    const std::string used = dir.write("used.yaml", fact_needed_rules("spent >= 100 or gifts > 1"));
    const Run refused = run_cli({"compile", used, "--dialect", "sqlite", "--as-of", "2026-11-01"});
    CHECK(refused.code == 1);
    CHECK(refused.err.find("column 'category' of table 'orders' is not known") !=
          std::string::npos);
}
