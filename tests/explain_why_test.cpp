// `strata explain` (issue 10), what the first increment left out: how many fact rows fed each
// aggregate, why each segment tried before the winner did not hold, and `--run N`, the stored
// placement of a run beside the fresh evaluation.
#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Customer 1's orders, against as_of 2026-11-01: two of 50 or less, three over 100 (one in the
// last 30 days), one without an amount, one after as_of and one with an unknown date (both
// left out of every aggregate). Customer 2 has no orders; customer 3 spends no more than 20.
const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, region TEXT);
INSERT INTO customers VALUES (1, 'north'), (2, NULL), (3, 'south');
CREATE TABLE orders (customer_id INTEGER, order_date TEXT, amount REAL);
INSERT INTO orders VALUES
  (1, '2026-06-01', 40), (1, '2026-07-01', 50), (1, '2026-08-01', 120),
  (1, '2026-09-15', 300), (1, '2026-10-20', 150), (1, '2026-10-25', NULL),
  (1, '2026-11-15', 999), (1, NULL, 10),
  (3, '2026-10-30', 20);
)sql";

const char* kRules = R"(ruleset: shop
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  big_orders: count(orders where amount > 100)
  recent: count(orders where order_date > as_of - 30d)
general:
  segments:
    - id: vip
      when: revenue >= 1000 and big_orders >= 2
    - id: northern
      when: region == 'north' and recent >= 3
    - id: active
      when: recent >= 1 and not (region == 'south')
      tactical:
        - id: big
          when: big_orders >= 5
    - id: rest
      when: otherwise
)";

}  // namespace

TEST_CASE("explain counts the fact rows each aggregate took for the customer") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", kRules);
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "2026-11-01",
                      "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.segment") == "active");
    // vip: revenue >= 1000 and big_orders >= 2. The aggregate sits under the let.
    const std::string revenue = "$.tried[0].condition.children[0].children[0].children[0]";
    CHECK(json_at(r.out, revenue + ".kind") == "aggregate");
    CHECK(json_at(r.out, revenue + ".value") == "660");
    // Six orders on or before as_of with a known date; one of them without an amount.
    CHECK(json_at(r.out, revenue + ".rows") == "6");
    CHECK(json_at(r.out, revenue + ".rows_without_value") == "1");
    CHECK(json_at(r.out, revenue + ".fact") == "orders");
    // Filtered: the three over 100 (the 999 one is after as_of).
    const std::string big = "$.tried[0].condition.children[1].children[0].children[0]";
    CHECK(json_at(r.out, big + ".value") == "3");
    CHECK(json_at(r.out, big + ".rows") == "3");
    // Windowed, the last 30 days (after 2026-10-02): 2026-10-20 and 2026-10-25 (no amount,
    // but a row all the same).
    const std::string recent = "$.tried[1].condition.children[1].children[0].children[0]";
    CHECK(json_at(r.out, recent + ".rows") == "2");
    CHECK(json_at(r.out, recent + ".rows_without_value") == "0");  // count(fact) reads no value
    // Nodes that are not aggregates have no count.
    CHECK(json_at(r.out, "$.tried[0].condition.children[0].rows") == "<none>");

    // A customer without orders: no rows, and the sum is 0.
    auto none = run_cli({"explain", file, "--db", db, "--customer", "2", "--as-of", "2026-11-01",
                         "--format", "json"});
    CHECK(json_at(none.out, revenue + ".rows") == "0");
    CHECK(json_at(none.out, revenue + ".value") == "0");

    // The text says it beside the value.
    auto t = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "2026-11-01"});
    CHECK(t.out.find("sum(orders.amount) = 660   (aggregate, 7:12; 6 rows of orders, 1 without a "
                     "value)") != std::string::npos);
    CHECK(t.out.find("count(orders where amount > 100) = 3   (aggregate, 8:15; 3 rows of "
                     "orders)") != std::string::npos);
}

TEST_CASE("explain says why each segment before the winner did not hold") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", kRules);
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "2026-11-01"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    // A false `and` is decided by its false operand alone (big_orders >= 2 is true), through
    // the let to the comparison.
    CHECK(r.out.find("    vip: false   revenue >= 1000 and big_orders >= 2\n"
                     "      because revenue >= 1000 is false: revenue = 660\n") !=
          std::string::npos);
    CHECK(r.out.find("      because recent >= 3 is false: recent = 2\n") != std::string::npos);
    // The winner and later segments get no reason.
    CHECK(r.out.find("because recent >= 1") == std::string::npos);

    auto j = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "2026-11-01",
                      "--format", "json"});
    CHECK(json_at(j.out, "$.tried[0].reason") == "revenue >= 1000 is false: revenue = 660");
    CHECK(json_at(j.out, "$.tried[0].deciding[0].text") == "revenue >= 1000");
    CHECK(json_at(j.out, "$.tried[0].deciding[0].line") == "13");
    CHECK(json_at(j.out, "$.tried[0].deciding[0].result") == "0");
    CHECK(json_at(j.out, "$.tried[0].deciding[0].operands[0].text") == "revenue");
    CHECK(json_at(j.out, "$.tried[0].deciding[0].operands[0].value") == "660");
    CHECK(json_at(j.out, "$.tried[0].deciding[1].text") == "<none>");
    CHECK(json_at(j.out, "$.tried[2].reason") == "<none>");  // the winner: null
    // The tactical segment that did not hold says why too.
    CHECK(json_at(j.out, "$.tactical_tried[0].reason") ==
          "big_orders >= 5 is false: big_orders = 3");

    // Customer 2: no region, no orders. Both operands of vip's `and` are false: each decides.
    // northern is unknown: region is null and recent >= 3 is false, so the `and` is false by
    // the comparison; active's `not (region == 'south')` is unknown, and `recent >= 1` false.
    auto u = run_cli({"explain", file, "--db", db, "--customer", "2", "--as-of", "2026-11-01",
                      "--format", "json"});
    CHECK(json_at(u.out, "$.segment") == "rest");
    CHECK(json_at(u.out, "$.tried[0].reason") ==
          "revenue >= 1000 is false: revenue = 0; big_orders >= 2 is false: big_orders = 0");
    CHECK(json_at(u.out, "$.tried[1].reason") == "recent >= 3 is false: recent = 0");
    CHECK(json_at(u.out, "$.tried[2].reason") == "recent >= 1 is false: recent = 0");
}

TEST_CASE("explain names the null behind an unknown condition") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, region TEXT, spend REAL);
INSERT INTO customers VALUES (1, NULL, 500), (2, 'north', NULL);
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: nulls
version: 1
let:
  northern: region == 'north'
general:
  segments:
    - id: north_big
      when: northern and spend * 2 >= 100
    - id: south
      when: not northern
    - id: rest
      when: otherwise
)");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1", "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    // Through the boolean let to the comparison whose operand is null.
    CHECK(json_at(r.out, "$.tried[0].result") == "<none>");
    CHECK(json_at(r.out, "$.tried[0].reason") ==
          "in let northern, region == 'north' is unknown: region is null");
    CHECK(json_at(r.out, "$.tried[0].deciding[0].let") == "northern");
    CHECK(json_at(r.out, "$.tried[0].deciding[0].result") == "<none>");
    CHECK(json_at(r.out, "$.tried[1].reason") ==
          "in let northern, region == 'north' is unknown: region is null");
    // The root of the null under an operand: spend * 2 is null because spend is.
    auto s = run_cli({"explain", file, "--db", db, "--customer", "2", "--format", "json"});
    CHECK(json_at(s.out, "$.tried[0].reason") == "spend * 2 >= 100 is unknown: spend is null");
    // `not northern` is false because northern is true.
    CHECK(json_at(s.out, "$.tried[1].reason") ==
          "in let northern, region == 'north' is true: region = 'north'");
}

// An unknown `or` is not true because none of its operands is: its false operands decide it
// as much as its unknown ones (review AE3: the reason named the null alone). Under `not`, the
// roles swap: an unknown `and` is then decided by its true operands too, and an unknown `or`
// by its unknown operands alone.
TEST_CASE("explain gives an unknown or's false operands as reasons, and swaps them under not") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, region TEXT, spend REAL);
INSERT INTO customers VALUES (1, NULL, 50);
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: unknown_or
version: 1
general:
  segments:
    - id: either
      when: spend >= 100 or region == 'north'
    - id: neither
      when: not (spend >= 100 or region == 'north')
    - id: not_both
      when: not (spend < 100 and region == 'north')
    - id: both
      when: spend < 100 and region == 'north'
    - id: rest
      when: otherwise
)");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1", "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.segment") == "rest");
    CHECK(json_at(r.out, "$.tried[0].reason") ==
          "spend >= 100 is false: spend = 50; region == 'north' is unknown: region is null");
    CHECK(json_at(r.out, "$.tried[0].deciding[0].result") == "0");
    CHECK(json_at(r.out, "$.tried[0].deciding[1].result") == "<none>");
    // not (false or unknown): had spend >= 100 been true, the not would be false all the same.
    CHECK(json_at(r.out, "$.tried[1].reason") == "region == 'north' is unknown: region is null");
    // not (true and unknown): had spend < 100 been false, the not would hold.
    CHECK(json_at(r.out, "$.tried[2].reason") ==
          "spend < 100 is true: spend = 50; region == 'north' is unknown: region is null");
    // An unknown `and` is decided by its unknown operand alone.
    CHECK(json_at(r.out, "$.tried[3].reason") == "region == 'north' is unknown: region is null");
}

TEST_CASE("explain counts only the rows inside a cv window") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("cv.yaml", R"(ruleset: swings
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  segments:
    - id: steady
      when: cv(orders.amount, per: month, over: 3mo) < 0.5
    - id: rest
      when: otherwise
)");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "2026-11-01",
                      "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    // The window is (2026-08-01, 2026-11-01]: 2026-09-15, 2026-10-20 and 2026-10-25 (no
    // amount); 2026-08-01 itself and the earlier orders are outside it.
    const std::string cv = "$.tried[0].condition.children[0]";
    CHECK(json_at(r.out, cv + ".kind") == "aggregate");
    CHECK(json_at(r.out, cv + ".rows") == "3");
    CHECK(json_at(r.out, cv + ".rows_without_value") == "1");
}

// A text in a reason is on one line and cut short: a line break or NUL in it would break the
// reason's line, and a long text was repeated whole in the reason of every condition.
TEST_CASE("explain's reasons show a text on one line, cut after 120 characters") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, region TEXT);
INSERT INTO customers VALUES (1, 'tab	and' || char(10) || 'newline' || char(13)),
  (2, 'ж' || replace(hex(zeroblob(100)), '0', 'я'));
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: north
      when: region == 'north'
    - id: rest
      when: otherwise
)");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("because region == 'north' is false: region = 'tab and⏎newline⏎'\n") !=
          std::string::npos);
    auto s = run_cli({"explain", file, "--db", db, "--customer", "2", "--format", "json"});
    REQUIRE_MESSAGE(s.code == 0, s.err);
    // 'ж' and 119 of the 200 'я': the node's own value keeps them all.
    std::string shown = "ж";
    for (int i = 0; i < 119; ++i)
        shown += "я";
    CHECK(json_at(s.out, "$.tried[0].reason") ==
          "region == 'north' is false: region = '" + shown + "…'");
}
