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
    // Given string, an infinite date is the text SQLite holds.
    const std::string texts = dir.write("texts.yaml", R"yaml(ruleset: texts
version: 1
source:
  customers: customers
  key: customer_id
  types: { valid_day: string }
general:
  segments:
    - id: all
      when: otherwise
      tactical:
        - { id: later, when: valid_day == 'infinity' }
        - { id: earlier, when: valid_day == '-infinity' }
        - { id: day, when: valid_day == '2025-05-05' }
)yaml");
    REQUIRE(run_cli({"run", texts, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    REQUIRE(run_cli({"run", texts, "--db", pg.url, "--as-of", "2026-11-01"}).code == 0);
    const Run lite_texts = run_cli({"export", texts, "--db", db});
    CHECK(lite_texts.out.find("1,all,earlier,") != std::string::npos);
    CHECK(lite_texts.out.find("2,all,later,") != std::string::npos);
    CHECK(lite_texts.out.find("3,all,day,") != std::string::npos);
    CHECK(run_cli({"export", texts, "--db", pg.url}).out == lite_texts.out);
}

// A numeric nearer 0 than half the smallest double, or at the edge of the largest: SQLite
// reads the same texts as 0, the largest double, or no number. PostgreSQL's cast refused the
// first and the last, which stopped the whole query.
TEST_CASE("postgres: numeric values past the doubles' range read as the same texts in SQLite") {
    TempDir dir;
    const std::string values =
        "(1, '1e-400', '1e-400'), (2, '-1e-400', '5'), (3, '1e-310', '1'), "
        "(4, '1.7976931348623158e308', '2'), (5, '1.8e308', '3'), (6, '5', '-3e-330'), "
        "(7, NULL, '0.5')";
    const std::string db =
        dir.database("base.db",
                     "CREATE TABLE customers (customer_id INTEGER, v NUMERIC, w NUMERIC);\n"
                     "INSERT INTO customers VALUES " +
                         values +
                         ";\n"
                         "CREATE TABLE orders (customer_id INTEGER, amount NUMERIC);\n"
                         "INSERT INTO orders SELECT customer_id, w FROM customers;\n");
    auto pg = RunDatabase::create();
    must(pg,
         "CREATE TABLE customers (customer_id bigint, v numeric, w numeric);\n"
         "INSERT INTO customers VALUES " +
             values +
             ";\n"
             "CREATE TABLE orders (customer_id bigint, amount numeric);\n"
             "INSERT INTO orders SELECT customer_id, w FROM customers;\n");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: tiny
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id }
let:
  spent: sum(orders.amount)
general:
  policy: first_match
  segments:
    - id: zero
      when: v == 0
    - id: tiny
      when: v > 0 and v < 1
    - id: huge
      when: v > 1e308
    - id: rest
      when: otherwise
      tactical:
        - { id: no_v, when: v is null }
        - { id: spent_zero, when: spent == 0 }
)yaml");
    const Run lite = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(lite.code == 0, lite.err);
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    const Run lite_rows = run_cli({"export", rules, "--db", db});
    CHECK(lite_rows.out.find("1,zero,") != std::string::npos);
    CHECK(lite_rows.out.find("3,tiny,") != std::string::npos);
    CHECK(lite_rows.out.find("4,huge,") != std::string::npos);
    CHECK(run_cli({"export", rules, "--db", pg.url}).out == lite_rows.out);
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

TEST_CASE("postgres: numbers and moments given string are refused; a numeric 0 or 1 is a bool") {
    TempDir dir;
    auto pg = RunDatabase::create();
    must(pg, R"sql(
CREATE TABLE customers (customer_id bigint, price double precision, seen timestamptz,
  flag numeric(1,0), ratio double precision);
INSERT INTO customers VALUES (1, 100, NULL, 1, 1), (2, 1.5, NULL, 0, 0), (3, NULL, NULL, NULL, 1),
  (4, 2, NULL, 2, NULL);
CREATE TABLE orders (customer_id bigint, order_date date, amount double precision);
)sql");
    const std::string priced = dir.write("priced.yaml", R"yaml(ruleset: priced
version: 1
source:
  customers: customers
  key: customer_id
  types: { price: string, seen: string }
general:
  segments:
    - { id: hit, when: price == '100.0' or seen == 'x' }
    - { id: rest, when: otherwise }
)yaml");
    const Run refused = run_cli({"run", priced, "--db", pg.url, "--as-of", "2026-11-01"});
    INFO(refused.err);
    CHECK(refused.code == 1);
    CHECK(refused.err.find("priced.yaml:6:12: error:") != std::string::npos);
    CHECK(refused.err.find("column 'customers.price': PostgreSQL's text of its type double "
                           "precision is not the engine's: read it as number") !=
          std::string::npos);
    CHECK(refused.err.find("column 'customers.seen'") != std::string::npos);
    // numeric(1,0) holds what SQLite's numeric affinity stores as integers: 0 and 1 are
    // bools, 2 is not; a double precision 1 stays a fraction in SQLite, and is none.
    const std::string flagged = dir.write("flagged.yaml", R"yaml(ruleset: flagged
version: 1
source:
  customers: customers
  key: customer_id
  types: { flag: bool, ratio: bool }
general:
  segments:
    - { id: flagged, when: flag }
    - { id: unflagged, when: not flag }
    - id: rest
      when: otherwise
      tactical:
        - { id: ratio_known, when: ratio is not null }
)yaml");
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, price DOUBLE PRECISION, seen DATETIME,
  flag NUMERIC(1,0), ratio DOUBLE PRECISION);
INSERT INTO customers VALUES (1, 100, NULL, 1, 1), (2, 1.5, NULL, 0, 0), (3, NULL, NULL, NULL, 1),
  (4, 2, NULL, 2, NULL);
CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);
)sql");
    REQUIRE(run_cli({"run", flagged, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const Run there = run_cli({"run", flagged, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    const Run lite_rows = run_cli({"export", flagged, "--db", db});
    CHECK(lite_rows.out.find("1,flagged,,") != std::string::npos);
    CHECK(lite_rows.out.find("4,rest,,") != std::string::npos);
    CHECK(run_cli({"export", flagged, "--db", pg.url}).out == lite_rows.out);
}

TEST_CASE("postgres: tables named like the steps of strata's query are still the tables") {
    TempDir dir;
    // cust and f0 are names the compiled query gives its own steps, made before the second
    // and third tables are read.
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, seats INTEGER);
INSERT INTO customers VALUES (1, 3), (2, 5), (3, NULL), (4, 10);
CREATE TABLE cust (customer_id INTEGER, order_date DATE, amount REAL);
INSERT INTO cust VALUES (1, '2026-01-01', 50), (1, '2026-02-01', 60), (2, '2026-03-01', 20);
CREATE TABLE f0 (customer_id INTEGER, visit_date DATE);
INSERT INTO f0 VALUES (3, '2026-01-01'), (3, '2026-01-02'), (4, '2026-01-03');
)sql");
    auto pg = RunDatabase::create();
    auto copied = copy_sqlite_tables(db, {"customers", "cust", "f0"}, pg.connection);
    if (!copied) FAIL(copied.error().describe());
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: named
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: cust, key: customer_id, time: order_date }
    visits: { table: f0, key: customer_id, time: visit_date }
let:
  spent: sum(orders.amount)
general:
  policy: first_match
  segments:
    - { id: big, when: spent >= 100 }
    - { id: visitor, when: count(visits) >= 2 }
    - { id: mid, when: seats >= 5 }
    - { id: rest, when: otherwise }
)yaml");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    const Run lite_rows = run_cli({"export", rules, "--db", db});
    CHECK(lite_rows.out.find("1,big,") != std::string::npos);
    CHECK(lite_rows.out.find("3,visitor,") != std::string::npos);
    CHECK(run_cli({"export", rules, "--db", pg.url}).out == lite_rows.out);
}

TEST_CASE("postgres: of a key repeated across partitions, the partition made first keeps it") {
    TempDir dir;
    auto pg = RunDatabase::create();
    // Partition b is made second but holds the smaller ctids of keys 1 and 2's repeats.
    must(pg, R"sql(
CREATE TABLE customers (customer_id bigint, region text, seats integer) PARTITION BY LIST (region);
CREATE TABLE customers_a PARTITION OF customers FOR VALUES IN ('a');
CREATE TABLE customers_b PARTITION OF customers FOR VALUES IN ('b');
INSERT INTO customers VALUES (7, 'a', 1), (8, 'a', 1), (2, 'a', 1), (1, 'a', 1);
INSERT INTO customers VALUES (2, 'b', 10), (1, 'b', 10);
CREATE TABLE orders (customer_id bigint, order_date date, amount double precision);
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: parts
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - { id: mid, when: seats >= 5 }
    - { id: rest, when: otherwise }
)yaml");
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    CHECK(there.out.find("2 customer rows repeat an earlier key, left out (e.g. 2, 1)") !=
          std::string::npos);
    CHECK(run_cli({"export", rules, "--db", pg.url})
              .out.find("customer_key,segment,tactical,"
                        "offer,channel,priority\n1,rest,,,,"
                        "\n2,rest,,,,\n7,rest") != std::string::npos);
}

TEST_CASE("postgres: dates and timestamps outside the years 0001 to 9999 are no value") {
    TempDir dir;
    // The engine's calendar runs from 0001-01-01 to 9999-12-31; year 0 is PostgreSQL's 1 BC.
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, renew DATE, seen DATETIME);
INSERT INTO customers VALUES (1, '20000-01-01', '9999-12-31T23:59:59'),
  (2, '2026-01-01', '10000-01-01T00:00:00'), (3, '-0043-03-15', '0000-01-01T00:00:00'),
  (4, '0001-01-01', '0000-12-31T23:59:59'), (5, '9999-12-31', '-0001-12-31T23:59:59');
CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);
)sql");
    auto pg = RunDatabase::create();
    must(pg, R"sql(
CREATE TABLE customers (customer_id bigint, renew date, seen timestamp);
INSERT INTO customers VALUES (1, '20000-01-01', '9999-12-31 23:59:59'),
  (2, '2026-01-01', '10000-01-01 00:00:00'), (3, '0044-03-15 BC', '0001-01-01 00:00:00 BC'),
  (4, '0001-01-01', '0001-12-31 23:59:59 BC'), (5, '9999-12-31', '0002-12-31 23:59:59 BC');
CREATE TABLE orders (customer_id bigint, order_date date, amount double precision);
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: calendar
version: 1
source:
  customers: customers
  key: customer_id
  types: { seen: datetime }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - { id: renew_known, when: renew is not null }
        - { id: renew_late, when: renew + 1mo > 2026-11-01 }
        - { id: seen_known, when: seen is not null }
        - { id: renew_early, when: renew < 1000-01-01 }
)yaml");
    const Run lite = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(lite.code == 0, lite.err);
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    const Run lite_rows = run_cli({"export", rules, "--db", db});
    CHECK(lite_rows.out.find("4,everyone,renew_known;renew_early,") != std::string::npos);
    CHECK(lite_rows.out.find("5,everyone,renew_known;renew_late") != std::string::npos);
    CHECK(run_cli({"export", rules, "--db", pg.url}).out == lite_rows.out);
    for (const char* finding : {"2 values in customers.renew did not convert to date",
                                "4 values in customers.seen did not convert to datetime"}) {
        CAPTURE(finding);
        CHECK(lite.out.find(finding) != std::string::npos);
        CHECK(there.out.find(finding) != std::string::npos);
    }
}

TEST_CASE("postgres: a domain over a domain has the type under both") {
    TempDir dir;
    auto pg = RunDatabase::create();
    must(pg, R"sql(
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE DOMAIN seat_count AS positive;
CREATE DOMAIN customer_number AS bigint;
CREATE DOMAIN account AS customer_number;
CREATE TABLE customers (customer_id account, seats seat_count);
INSERT INTO customers VALUES (1, 3), (2, 5), (10, NULL), (4, 10);
CREATE TABLE orders (customer_id bigint, order_date date, amount double precision);
INSERT INTO orders VALUES (10, '2026-01-01', 500);
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: seats
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - { id: big, when: sum(orders.amount) >= 100 }
    - { id: mid, when: seats >= 5 }
    - { id: rest, when: otherwise }
)yaml");
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    // Integer keys, in integer order.
    CHECK(run_cli({"export", rules, "--db", pg.url}).out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,rest,,,,\n2,mid,,,,\n"
          "4,mid,,,,\n10,big,,,,\n");
}

TEST_CASE("postgres: a bytea column read as text, or keying customers, is refused") {
    TempDir dir;
    auto pg = RunDatabase::create();
    must(pg, R"sql(
CREATE TABLE customers (customer_id bigint, code bytea, tag bytea);
INSERT INTO customers VALUES (1, '\x41', NULL), (2, '\x42', NULL);
CREATE TABLE orders (customer_id bytea, order_date date, amount double precision);
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: coded
version: 1
source:
  customers: customers
  key: customer_id
general:
  segments:
    - { id: hit, when: code == 'A' }
    - { id: rest, when: otherwise }
)yaml");
    const Run run = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    INFO(run.err);
    CHECK(run.code == 1);
    CHECK(run.err.find("column 'customers.code': a bytea's bytes cannot all be a PostgreSQL "
                       "text") != std::string::npos);
    const std::string facts = dir.write("facts.yaml", R"yaml(ruleset: facts
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  segments:
    - { id: buyer, when: count(orders) > 0 }
    - { id: rest, when: otherwise }
)yaml");
    const Run keyed = run_cli({"run", facts, "--db", pg.url, "--as-of", "2026-11-01"});
    INFO(keyed.err);
    CHECK(keyed.code == 1);
    CHECK(keyed.err.find("key column 'orders.customer_id': a bytea's bytes") != std::string::npos);
}

// A base in another schema than the connection's default: named with the schema searched when
// not found, and read through PGOPTIONS' search_path (which strata's own options used to drop).
TEST_CASE("postgres: a base in another schema is read through PGOPTIONS' search_path") {
    TempDir dir;
    auto pg = RunDatabase::create();
    must(pg,
         "CREATE SCHEMA sales; CREATE TABLE sales.customers (customer_id bigint, x integer); "
         "INSERT INTO sales.customers VALUES (1, 2), (2, 3);");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: schema
version: 1
general:
  segments:
    - id: two
      when: x == 2
    - id: other
      when: otherwise
)yaml");
    const Run missing =
        run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01", "--dry-run"});
    CHECK(missing.code == 2);
    CHECK(missing.err.find("table 'customers' does not exist in the database (tables in schema "
                           "'public': none)") != std::string::npos);
    ::setenv("PGOPTIONS", "-c search_path=sales", 1);
    const Run found = run_cli(
        {"run", rules, "--db", pg.url, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    ::unsetenv("PGOPTIONS");
    REQUIRE_MESSAGE(found.code == 0, found.err);
    CHECK(json_at(found.out, "$.customers") == "2");
}
