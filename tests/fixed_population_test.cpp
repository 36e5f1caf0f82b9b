// `strata test` with a `population:` block (issue 10): a case fixes the cut points of its
// population calls, so a few customers are scored against them instead of ranking each other.
#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Scores come from rfm (dates, so r ranks ascending), an ntile and an abc; each segment is
// reachable only with a particular score.
const char* kRules = R"yaml(ruleset: scored
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  last_order: max(orders.order_date)
  n_orders: count(orders)
  score: "rfm(recency: last_order, frequency: n_orders, monetary: revenue, bins: 3)"
  decile: ntile(revenue, 4)
  class: abc(revenue)
  share: percent_rank(revenue)
general:
  segments:
    - id: champions
      when: score.code == '333'
    - id: recent_small
      when: score.r == 3 and score.m == 1
    - id: top_quarter
      when: decile == 4 and class == 'A'
    - id: class_b
      when: class == 'B'
    - id: rest
      when: otherwise
)yaml";

// Two customers alone would rank 1 and 3 whatever their values; the fixed cuts put both in
// the top bins, or the recent one in the small-money bin.
const char* kTests = R"(cases:
  - name: two strong customers
    as_of: 2026-10-01
    population:
      score:
        r: [2026-05-01, 2026-08-01]
        f: [2, 4]
        m: [100, 500]
      decile: [50, 200, 400]
      class: { A: 300, B: 100 }
    customers:
      - { customer_id: 1 }
      - { customer_id: 2 }
      - { customer_id: 3 }
      - { customer_id: 4 }
      - { customer_id: 5 }
    facts:
      orders:
        - { customer_id: 1, amount: 400, order_date: 2026-09-01 }
        - { customer_id: 1, amount: 400, order_date: 2026-09-05 }
        - { customer_id: 1, amount: 400, order_date: 2026-09-09 }
        - { customer_id: 1, amount: 400, order_date: 2026-09-10 }
        - { customer_id: 2, amount: 600, order_date: 2026-09-01 }
        - { customer_id: 2, amount: 20, order_date: 2026-09-02 }
        - { customer_id: 2, amount: 20, order_date: 2026-09-03 }
        - { customer_id: 2, amount: 20, order_date: 2026-09-04 }
        - { customer_id: 3, amount: 50, order_date: 2026-09-20 }
        - { customer_id: 4, amount: 150, order_date: 2026-01-20 }
        - { customer_id: 5, amount: 450, order_date: 2026-02-01 }
    expect:
      1: champions
      2: champions
      3: recent_small
      4: class_b
      5: top_quarter
)";

struct Files {
    TempDir dir;
    std::string rules = dir.write("scored.yaml", kRules);
    Run test(const std::string& tests) {
        dir.write("scored.test.yaml", tests);
        return run_cli({"test", rules});
    }
};

std::string with(std::string text, const std::string& from, const std::string& to) {
    REQUIRE(text.find(from) != std::string::npos);
    return text.replace(text.find(from), from.size(), to);
}

}  // namespace

TEST_CASE("a case's population block fixes the cut points its customers are scored against") {
    Files f;
    const Run r = f.test(kTests);
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("1 case, 1 passed, 0 failed") != std::string::npos);
    // Without the block the four customers rank one another: 1 and 2 are no longer both 333.
    const Run ranked = f.test(with(kTests, R"(    population:
      score:
        r: [2026-05-01, 2026-08-01]
        f: [2, 4]
        m: [100, 500]
      decile: [50, 200, 400]
      class: { A: 300, B: 100 }
)",
                                   ""));
    CHECK(ranked.code == 1);
    // A value equal to a cut is in the bin the cut begins: 5's revenue, 450, against a fourth
    // quarter beginning at 450 or at 451.
    const Run at_cut = f.test(with(kTests, "decile: [50, 200, 400]", "decile: [50, 200, 450]"));
    CHECK(at_cut.code == 0);
    const Run above = f.test(with(kTests, "decile: [50, 200, 400]", "decile: [50, 200, 451]"));
    CHECK(above.code == 1);
    CHECK(above.out.find("customer 5: expected segment top_quarter, got rest") !=
          std::string::npos);
    // abc: the value where a class begins is in it (4's revenue, 150, against B at 150 or 151).
    CHECK(f.test(with(kTests, "B: 100", "B: 150")).code == 0);
    const Run not_b = f.test(with(kTests, "B: 100", "B: 151"));
    CHECK(not_b.code == 1);
    CHECK(not_b.out.find("customer 4: expected segment class_b, got rest") != std::string::npos);
}

TEST_CASE("a population block that does not fit the rules is a rule problem at file:line:col") {
    Files f;
    auto expect_error = [&](const std::string& tests, const std::string& message) {
        const Run r = f.test(tests);
        INFO(r.out, r.err);
        CHECK(r.code == 1);
        CHECK(r.err.find(message) != std::string::npos);
    };
    expect_error(with(kTests, "decile: [50, 200, 400]", "decile: [50, 200]"),
                 "scored.test.yaml:9:7: error: 'decile' needs 3 cut points (where bins 2 to 4 "
                 "begin), not 2");
    expect_error(with(kTests, "decile: [50, 200, 400]", "decile: [50, 400, 200]"),
                 "'decile': cut points must be in ranking order (ascending), but 400 comes before "
                 "200");
    expect_error(with(kTests, "r: [2026-05-01, 2026-08-01]", "r: [5, 8]"),
                 "scored.test.yaml:6:9: error: 'score'.r: cut point 5 is not a date");
    expect_error(with(kTests, "        m: [100, 500]\n", ""), "'score' needs 'm' cut points too");
    expect_error(with(kTests, "decile: [50", "nothing: [50"),
                 "no let 'nothing' holds a population function in the rules (these do: score, "
                 "decile, class, share)");
    expect_error(with(kTests, "decile: [50, 200, 400]", "share: [0.5]"),
                 "'share' holds percent_rank, which has no cut points to fix");
    expect_error(with(kTests, "{ A: 300, B: 100 }", "{ A: 100, B: 300 }"),
                 "'class': B must begin at or below where A begins");
    expect_error(with(kTests, "{ A: 300, B: 100 }", "{ A: 300, C: 100 }"),
                 "'C' is neither an rfm field (r, f, m) nor an abc class (A, B)");
}

// A run breaks abc's ties by key, so A can end inside ten equal values (8 of them in A). Its
// JSON names each class's last customer; a case given those scores its customers as the run
// did, where the values alone (A: 10) put all ten in A.
TEST_CASE("an abc class given by the run's last customer splits equal values as the run did") {
    TempDir dir;
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER);\n"
        "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);\n";
    std::string customers, orders, expect;
    for (int i = 1; i <= 10; ++i) {
        sql += "INSERT INTO customers VALUES (" + std::to_string(i) + ");\n";
        sql += "INSERT INTO orders VALUES (" + std::to_string(i) + ", 10, '2026-10-01');\n";
        customers += "      - { customer_id: " + std::to_string(i) + " }\n";
        orders += "        - { customer_id: " + std::to_string(i) +
                  ", order_date: 2026-10-01, amount: 10 }\n";
        expect += "      " + std::to_string(i) + (i <= 8 ? ": a\n" : ": other\n");
    }
    const std::string db = dir.database("base.db", sql);
    const std::string rules = dir.write("abc.yaml", R"(ruleset: abcfix
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  rev: sum(orders.amount)
  c: abc(rev)
general:
  segments:
    - id: a
      when: c == 'A'
    - id: other
      when: otherwise
)");
    const Run run =
        run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    // The run's classes, as it lists them.
    CHECK(run.out.find("\"A\":{\"customers\":8,\"last_value\":10,\"last_key\":8") !=
          std::string::npos);
    auto test_file = [&](const std::string& population) {
        dir.write("abc.test.yaml",
                  "cases:\n  - name: as the run\n    as_of: 2026-11-01\n"
                  "    customers:\n" +
                      customers + "    facts:\n      orders:\n" + orders +
                      "    population:\n      c: " + population + "\n    expect:\n" + expect);
        return run_cli({"test", rules});
    };
    const Run copied = test_file(
        "{ A: {customers: 8, last_value: 10, last_key: 8, cumulative_share: 0.8}, "
        "B: {last_value: 10, last_key: 10} }");
    CHECK_MESSAGE(copied.code == 0, copied.out, copied.err);
    const Run values = test_file("{ A: 10, B: 10 }");
    CHECK(values.code == 1);
    CHECK(values.out.find("customer 9: expected segment other, got a") != std::string::npos);
    const Run wrong = test_file("{ A: {last_value: 10, last_key: [8]}, B: 10 }");
    CHECK(wrong.code == 1);
    CHECK(wrong.err.find("class A's last_key must be a single value") != std::string::npos);
    const Run crossed =
        test_file("{ A: {last_value: 10, last_key: 8}, B: {last_value: 10, last_key: 7} }");
    CHECK(crossed.code == 1);
    CHECK(crossed.err.find("'c': B's last customer comes before A's") != std::string::npos);
    // An empty class, as a run lists it: B without customers leaves 9 and 10 in C.
    const Run empty_b =
        test_file("{ A: {last_value: 10, last_key: 8}, B: {customers: 0, last_value: null} }");
    CHECK_MESSAGE(empty_b.code == 0, empty_b.out, empty_b.err);
}

// Cut points are written exactly, so a test copies them back without losing digits: 100/3
// taken to nine places is 33.333333333, not the 33.333333 of six decimals.
TEST_CASE("a run's JSON writes population cut points exactly") {
    TempDir dir;
    const std::string db = dir.database(
        "base.db",
        "CREATE TABLE customers (customer_id INTEGER);"
        "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
        "INSERT INTO customers SELECT i FROM n;"
        "INSERT INTO orders SELECT customer_id, 100.0 / 3, '2026-10-01' FROM customers;");
    const std::string rules = dir.write("rules.yaml", kRules);
    const Run run = run_cli(
        {"run", rules, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(run.out.find("\"last_value\":33.333333333,") != std::string::npos);
}
