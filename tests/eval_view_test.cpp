// `strata eval` with a view as the customer table: the lookup needs an index under the view,
// which strata cannot make (SQLite indexes no view), so it says where one goes instead of
// offering a CREATE INDEX the database would refuse.
#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

TEST_CASE("eval: a view whose key no index serves is named, with where the index goes") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE c0 (id, name TEXT);
CREATE VIEW customers AS SELECT CAST(id AS INTEGER) AS customer_id, name FROM c0;
CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);
INSERT INTO c0 VALUES ('1', 'a'), ('2', 'b');
INSERT INTO orders VALUES (1, '2026-01-01', 5), (2, '2026-01-01', 50);
)sql");
    const auto rules = dir.write("r.yaml", R"yaml(ruleset: v
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  rev: sum(orders.amount)
general:
  policy: first_match
  segments:
    - { id: a, when: rev >= 20 }
    - { id: b, when: otherwise }
)yaml");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const auto refused = run_cli({"eval", rules, "--db", db, "--customer", "2"});
    INFO(refused.err);
    CHECK(refused.code == 2);
    CHECK(refused.err.find("view customers has no index SQLite can search its column "
                           "customer_id with") != std::string::npos);
    CHECK(refused.err.find("ON \"customers\"") == std::string::npos);
    // The orders' index was made all the same; one on the expression under the view serves.
    CHECK(scalar(db,
                 "SELECT count(*) FROM sqlite_schema WHERE name = "
                 "'strata_eval_orders_customer_id'") == 1);
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE);
        d.exec("CREATE INDEX c0_id ON c0 (CAST(id AS INTEGER))");
    }
    const auto evaluated =
        run_cli({"eval", rules, "--db", db, "--customer", "2", "--format", "json"});
    INFO(evaluated.err);
    CHECK(evaluated.code == 0);
    CHECK(json_at(evaluated.out, "$.segment") == "a");
}

// A view has no rowid to order a lookup by. Of rows repeating a key, a run keeps the first the
// view gives; the lookup through an index on (customer_id, city) gave them in the index's
// order, so eval placed customers 1 and 3 by another row than the run and called it a move.
TEST_CASE("eval: a view repeating a key gives the row a run keeps, not the index's first") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE ct (customer_id INTEGER, city TEXT);
CREATE INDEX cti ON ct (customer_id, city);
CREATE VIEW customers AS SELECT customer_id, city FROM ct;
CREATE TABLE orders (customer_id INTEGER, order_date DATE);
INSERT INTO ct VALUES (1, 'Paris'), (1, 'Moscow'), (2, 'Moscow'), (3, 'Rome'), (3, 'Moscow');
)sql");
    const auto rules = dir.write("r.yaml", R"yaml(ruleset: v
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - { id: msk, when: city == 'Moscow' }
    - { id: par, when: city == 'Paris' }
    - { id: other, when: otherwise }
)yaml");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    for (const auto& [key, segment] : std::vector<std::pair<std::string, std::string>>{
             {"1", "par"}, {"2", "msk"}, {"3", "other"}}) {
        CAPTURE(key);
        const auto evaluated =
            run_cli({"eval", rules, "--db", db, "--customer", key, "--format", "json"});
        REQUIRE_MESSAGE(evaluated.code == 0, evaluated.err);
        CHECK(json_at(evaluated.out, "$.segment") == segment);
        CHECK(json_at(evaluated.out, "$.transition") == "stays");
    }
}
