// `strata report`'s sections from each customer's values, at their edges: lets whose values
// are large and close together, and an R × F grid of more than 20 bins.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

// The page `strata report` writes for the latest run in `db` (runs kept in `state` when
// given); REQUIRES: the report succeeds.
std::string report_page(TempDir& dir, const std::string& db, const std::string& state = "") {
    const std::string out = dir.file("report.html");
    std::vector<std::string> args{"report", "--db", db, "--out", out};
    if (!state.empty()) args.insert(args.end(), {"--state", state});
    const Run r = run_cli(args);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return file_text(out);
}

// Each data-z of `let` on the page, in page order, as written.
std::vector<std::string> z_scores(const std::string& html, const std::string& let) {
    std::vector<std::string> out;
    const std::regex z("data-let=\"" + let + "\" data-z=\"([-0-9.]+)\"");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), z); it != std::sregex_iterator();
         ++it)
        out.push_back((*it)[1]);
    return out;
}

}  // namespace

TEST_CASE("report: a let of large values close together differs from the base as its spread says") {
    TempDir dir;
    // big is exactly small + 10^9: the same spread, so the same z-scores. The sum of squares
    // less n·mean² gave big a z of 0.05 where small has 0.87.
    std::string sql = "CREATE TABLE customers (id INTEGER, spend REAL, orders INTEGER);\n";
    for (int i = 1; i <= 1000; ++i)
        sql += "INSERT INTO customers VALUES (" + std::to_string(i) + ", " +
               std::to_string(1000000000 + i % 10) + ", " + std::to_string(i % 10) + ");\n";
    const std::string db = dir.database("base.db", sql);
    const std::string rules = dir.write("rules.yaml", R"(ruleset: spread
version: 1
source: {customers: customers, key: id}
let:
  big: spend
  small: orders
general:
  segments:
    - {id: hi, when: small >= 5}
    - {id: lo, when: otherwise}
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string html = report_page(dir, db);
    const auto big = z_scores(html, "big");
    REQUIRE(big.size() == 2);
    CHECK(big == z_scores(html, "small"));
    CHECK(big[0] == "0.87");
}

TEST_CASE("report: R x F of 30 bins holds every scored customer") {
    TempDir dir;
    // 900 customers, one to 30 orders each, on one of 30 days: every (r, f) of 30 bins.
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER);\n"
        "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);\n"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900)\n"
        "  INSERT INTO customers SELECT i FROM n;\n"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)\n"
        "  INSERT INTO orders SELECT c.customer_id, 10, date('2026-10-01', '+' || "
        "  (c.customer_id % 30) || ' days') FROM customers c JOIN n ON n.i <= 1 + "
        "  (c.customer_id / 30) % 30;\n"
        "INSERT INTO customers VALUES (901);\n";
    const std::string db = dir.database("base.db", sql);
    const std::string rules = dir.write("rules.yaml", R"(ruleset: fine
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  score: rfm(max(orders.order_date), count(orders), sum(orders.amount), bins: 30)
general:
  segments:
    - id: top
      when: score.r >= 29
    - id: rest
      when: otherwise
)");
    const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    const std::string html = report_page(dir, db);
    // The grid in the page's data: "rfm":{"let":"score","bins":30,..."cells":[[r,f,n,v],...]}.
    const size_t rfm = html.find("\"rfm\":{\"let\":\"score\",\"bins\":30");
    REQUIRE(rfm != std::string::npos);
    const size_t cells = html.find("\"cells\":[", rfm);
    REQUIRE(cells != std::string::npos);
    const std::string list = html.substr(cells, html.find("]]", cells) - cells);
    int64_t customers = 0, highest = 0;
    const std::regex cell("\\[([0-9]+),([0-9]+),([0-9]+),");
    for (auto it = std::sregex_iterator(list.begin(), list.end(), cell);
         it != std::sregex_iterator(); ++it) {
        customers += std::atoll((*it)[3].str().c_str());
        highest = std::max<int64_t>(
            {highest, std::atoll((*it)[1].str().c_str()), std::atoll((*it)[2].str().c_str())});
    }
    // Customer 901 has no orders, so no score: said under the grid.
    CHECK(customers == 900);
    CHECK(highest == 30);
    CHECK(html.find("<p class=\"note\">1 customer has no score (null: no rows to score, say) and "
                    "is not in the grid.</p>") != std::string::npos);
}

TEST_CASE("report: a state file given as --db, and a value total out of range, are said as such") {
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (id TEXT, spend REAL);
INSERT INTO customers VALUES ('a', 1.7e308), ('b', 1.7e308), ('c', 5), ('d', 1.7e308);
)sql");
    const std::string rules = dir.write("rules.yaml", R"(ruleset: huge
version: 1
source: {customers: customers, key: id}
let:
  s: coalesce(spend, 0)
value: s
general:
  segments:
    - {id: big, when: s > 100}
    - {id: small, when: s > 1}
    - {id: rest, when: otherwise}
)");
    const std::string state = dir.file("state.db");
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    std::string html = report_page(dir, db, state);
    CHECK(html.find("The run's total of <code>s</code> is out of the range a total is kept in") !=
          std::string::npos);
    CHECK(html.find("The rule file has no <code>value</code>") == std::string::npos);
    // The state file as the customer database: its runs are there, its customers are not.
    html = report_page(dir, state);
    CHECK(html.find("holds only strata&#39;s run state, no customers: give the customer database "
                    "as --db, and this file as --state") != std::string::npos);
    CHECK(html.find("no longer compiles") == std::string::npos);
    // The rule file's settings still hold: its value is named.
    CHECK(html.find("The run's total of <code>s</code> is out of the range a total is kept in") !=
          std::string::npos);
}
