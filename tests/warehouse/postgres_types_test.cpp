// Tables made by hand inside PostgreSQL, not by strata's loader: values the loader never
// writes ('infinity' dates and timestamps) and key columns of types strata does not key by.
// Each run is held to the embedded engine's run over the same values in SQLite, or must be
// refused with a reason at the rule's line, never a raw server error.
#include <doctest/doctest.h>

#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

const char* const kExpiringRules = R"yaml(ruleset: expiring
version: 1
source:
  customers: customers
  key: customer_id
  types: { valid_to: datetime }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
  last: max(orders.order_date)
general:
  policy: first_match
  segments:
    - id: big
      when: spent >= 100
    - id: expired
      when: days_since(valid_to) > 100
    - id: ended
      when: valid_day is not null and valid_day < 2026-01-01
    - id: rest
      when: otherwise
      tactical:
        - { id: no_last, when: last is null }
)yaml";

void must(RunDatabase& pg, const std::string& sql) {
    auto done = pg.connection.exec_script(sql);
    if (!done) FAIL(done.error().describe());
}

}  // namespace

TEST_CASE("postgres: 'infinity' dates and timestamps read as null, as the same text in SQLite") {
    TempDir dir;
    // SQLite holds the texts; to the engine 'infinity' is no date (a data-quality finding).
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, valid_to DATETIME, valid_day DATE);
INSERT INTO customers VALUES (1, 'infinity', '-infinity'), (2, '2026-01-01T10:00:00', 'infinity'),
  (3, NULL, '2025-05-05'), (4, '-infinity', NULL);
CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);
INSERT INTO orders VALUES (1, '2026-01-01', 50), (2, 'infinity', 20), (3, '2026-02-01', 500),
  (4, '-infinity', 1);
)sql");
    auto pg = RunDatabase::create();
    must(pg, R"sql(
CREATE TABLE customers (customer_id bigint, valid_to timestamptz, valid_day date);
INSERT INTO customers VALUES (1, 'infinity', '-infinity'), (2, '2026-01-01 10:00:00+00', 'infinity'),
  (3, NULL, '2025-05-05'), (4, '-infinity', NULL);
CREATE TABLE orders (customer_id bigint, order_date timestamp, amount double precision);
INSERT INTO orders VALUES (1, '2026-01-01', 50), (2, 'infinity', 20), (3, '2026-02-01', 500),
  (4, '-infinity', 1);
)sql");
    const std::string rules = dir.write("rules.yaml", kExpiringRules);
    const Run lite = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(lite.code == 0, lite.err);
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    const Run lite_rows = run_cli({"export", rules, "--db", db});
    const Run pg_rows = run_cli({"export", rules, "--db", pg.url});
    REQUIRE(pg_rows.code == 0);
    CHECK(pg_rows.out == lite_rows.out);
    CHECK(lite_rows.out.find("4,rest,no_last") != std::string::npos);
    // The same findings, each with its count (the samples are the server's spelling).
    for (const char* finding : {"2 values in customers.valid_to did not convert to datetime",
                                "2 values in customers.valid_day did not convert to date",
                                "2 values in orders.order_date did not convert to date",
                                "2 rows of orders with unknown time left out"}) {
        CAPTURE(finding);
        CHECK(lite.out.find(finding) != std::string::npos);
        CHECK(there.out.find(finding) != std::string::npos);
    }
    const Run why =
        run_cli({"explain", rules, "--db", pg.url, "--customer", "2", "--as-of", "2026-11-01"});
    CHECK_MESSAGE(why.code == 0, why.err);
}

TEST_CASE("postgres: a numeric or floating key column is refused at the rule's line") {
    TempDir dir;
    auto pg = RunDatabase::create();
    must(pg, R"sql(
CREATE TABLE customers (customer_id numeric(12,2), seats integer);
INSERT INTO customers VALUES (1, 3), (2, 5);
CREATE TABLE orders (customer_id bigint, order_date date, amount double precision);
INSERT INTO orders VALUES (1, '2026-01-01', 50);
CREATE TABLE refunds (customer_id double precision, refund_date date, amount double precision);
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: keyed
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
general:
  segments:
    - { id: big, when: spent >= 100 }
    - { id: rest, when: otherwise }
)yaml");
    const Run run = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    INFO(run.err);
    CHECK(run.code == 1);
    CHECK(run.err.find("rules.yaml:5:8: error:") != std::string::npos);
    CHECK(run.err.find("key column 'customers.customer_id': its PostgreSQL type numeric is not "
                       "a key type strata reads") != std::string::npos);
    // A fact table's key too; an integer customer key of the same file is read.
    must(pg, "ALTER TABLE customers ALTER COLUMN customer_id TYPE bigint");
    const std::string refunds = dir.write("refunds.yaml", R"yaml(ruleset: refunds
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    refunds: { table: refunds, key: customer_id, time: refund_date }
general:
  segments:
    - { id: refunded, when: count(refunds) > 0 }
    - { id: rest, when: otherwise }
)yaml");
    const Run facts = run_cli({"run", refunds, "--db", pg.url, "--as-of", "2026-11-01"});
    CHECK(facts.code == 1);
    CHECK(facts.err.find("key column 'refunds.customer_id': its PostgreSQL type double "
                         "precision") != std::string::npos);
    CHECK(run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"}).code == 0);
}
