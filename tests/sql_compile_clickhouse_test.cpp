// strata compile --dialect clickhouse: where each aggregate groups, and how deep the query is.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "sql_generator.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Each SELECT of `sql` that reads `table` (the text from `FROM table` to the end of its own
// subquery): what follows the table at that SELECT's own depth.
std::vector<std::string> reads_of(const std::string& sql, const std::string& table) {
    std::vector<std::string> out;
    const std::string from = "FROM " + table;
    for (size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at + 1)) {
        std::string level;
        int depth = 0;
        for (size_t i = at + from.size(); i < sql.size() && depth >= 0; ++i) {
            if (sql[i] == '(') ++depth;
            if (sql[i] == ')') --depth;
            if (depth == 0 && sql[i] != ')') level += sql[i];
        }
        out.push_back(level);
    }
    return out;
}

}  // namespace

// ClickHouse runs a GROUP BY over a Distributed table on the shards, each sending its groups,
// but only when the grouping SELECT reads the table itself: grouping a subquery of the table
// brings every row to the server that received the query. So each aggregate but cv groups
// where its fact's table is read.
TEST_CASE("compile: on ClickHouse each aggregate groups in the SELECT that reads its table") {
    TempDir dir;
    const std::string db = dir.database("base.db", kSchema);
    const std::string rules = dir.write("r.yaml", R"(ruleset: shards
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n: count(orders)
  spend: sum(orders.amount where category == 'a')
  items: sum(orders.items)
  mean: avg(orders.amount)
  kinds: count_distinct(orders.category)
  first: min(orders.order_date)
  most: max(orders.items where amount > 2)
  swing: cv(orders.amount, per: month, over: 6mo)
general:
  segments:
    - id: busy
      when: n > 3 and spend > 10 and items > 1 and mean > 1 and kinds > 1 and most > 0
    - id: steady
      when: swing < 0.5 or first < as_of - 1y
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "clickhouse", "--db", db});
    REQUIRE(r.code == 0);
    const std::vector<std::string> reads = reads_of(r.out, "`orders`");
    // Seven aggregates group where they read; cv reads its rows in a SELECT of their own
    // (once: each customer's periods are their totals, gathered).
    size_t grouped = 0;
    for (const std::string& level : reads)
        if (level.find(" GROUP BY strata_g_k") != std::string::npos) ++grouped;
    CHECK(grouped == 7);
    CHECK(reads.size() == 8);
}

// ClickHouse 18.16 analyses each subquery again for every SELECT above it, so the time it takes
// to plan the nested query grows with the sum, over its subqueries, of their length: the work
// counted here. The plan keeps the large expressions high (the cells' readers after the
// aggregates' joins, an exact total in one SELECT) and the steps few (columns that do not read
// one another share one, a rank sorts where it gathers, cv looks its periods up instead of
// joining them). This file's query counted 336,414 before those changes and 190,401 after;
// an exact total in five SELECTs again takes it to 212,163, and columns in a step each to
// 202,635. (Without a ClickHouse catalog the cells' readers are small here: the warehouse
// pairs time the rest.)
TEST_CASE("compile: the ClickHouse query keeps its large expressions high and its steps few") {
    TempDir dir;
    const std::string db = dir.database("base.db", kSchema);
    const std::string rules = dir.write("r.yaml", R"x(ruleset: analysed
version: 1
source:
  customers: customers
  key: customer_id
  types: { raw_score: integer, raw_credit: number }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n: count(orders)
  spend: sum(orders.amount)
  mean: avg(orders.amount)
  last: max(orders.order_date)
  swing: cv(orders.amount, per: month, over: 6mo)
  doubled: raw_credit * 2
  value: "rfm(recency: days_since(last), frequency: n, monetary: spend, bins: 3)"
general:
  segments:
    - id: busy
      when: n > 3 and spend > 10 and mean > 1 and raw_score > 2 and value.f == 3
    - id: steady
      when: swing < 0.5 or doubled > 1
    - id: rest
      when: otherwise
)x");
    const Run r = run_cli({"compile", rules, "--dialect", "clickhouse", "--db", db});
    INFO(r.err);
    REQUIRE(r.code == 0);
    size_t work = 0;
    std::vector<std::pair<size_t, bool>> open;  // each '(' and whether it starts a SELECT
    for (size_t i = 0; i < r.out.size(); ++i) {
        if (r.out[i] == '(') open.emplace_back(i, r.out.compare(i, 7, "(SELECT") == 0);
        if (r.out[i] == ')' && !open.empty()) {
            if (open.back().second) work += i - open.back().first;
            open.pop_back();
        }
    }
    MESSAGE("analysis work: " << work);
    CHECK(work > 10000);
    CHECK(work < 200000);
}

// Without --db the ClickHouse dialect has no catalog: a fact column of unknown type was looked
// up in it anyway, and compile of every shipped rule file died of a segmentation fault (review
// AA6). Each is now refused where the column is named, as on the other dialects.
TEST_CASE("compile: without --db an untyped column is refused on every dialect, never a crash") {
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/telecom-arpu.yaml";
    for (const char* dialect : {"sqlite", "postgres", "clickhouse"}) {
        CAPTURE(dialect);
        const Run r = run_cli({"compile", rules, "--dialect", dialect});
        CHECK(r.code == 1);
        CHECK(r.out.empty());
    }
    const Run ch = run_cli({"compile", rules, "--dialect", "clickhouse"});
    CHECK(ch.err.find("telecom-arpu.yaml:13:5: error: cannot compile to clickhouse: the type of "
                      "column 'amount' of table 'bills' is not known: give --db") !=
          std::string::npos);
}
