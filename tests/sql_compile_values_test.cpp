// strata compile (sql/): values at the edges (empty and NUL texts, impossible days, durations,
// totals beyond 64 bits, number texts beyond the doubles, keys) give the engine's results, and
// what PostgreSQL cannot express is refused at its place.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "compile_support.hpp"
#include "sql_generator.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::compile_fixture;

// Found by the random pairs: SQLite's substr() of an empty blob is NULL, so starts_with('',
// 'G') was unknown in SQL and false in the engine; and a null text with an empty part must
// stay unknown.
TEST_CASE("compile: text tests on empty and null texts") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, tier) VALUES (1, ''), (2, NULL), (3, 'Gold'), (4, 'gold '), (5, 'ab');
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: not_g
      when: not starts_with(tier, 'G')
      tactical:
        - id: empty_part
          when: starts_with(tier, '') and ends_with(tier, '') and contains(tier, '')
        - id: spaced
          when: ends_with(tier, ' ')
    - id: rest
      when: otherwise
      tactical:
        - id: nothing
          when: ends_with(tier, '')
)");
    check_agrees(dir, rules, db, "2026-11-01");
}

// Found by a sweep: SQLite's length() and substr() of a text stop at a NUL, which the language
// counts as a character: texts are tested as bytes, and length() of such a text stops the query.
TEST_CASE("compile: text tests and length() on texts holding a NUL") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, tier) VALUES (1, 'a' || char(0) || 'b'), (2, 'abc'), (3, 'a'),
  (4, char(0) || 'b'), (5, 'b' || char(0));
)");
    check_agrees(dir, dir.write("r.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: ends_b
      when: ends_with(tier, 'b')
      tactical:
        - id: starts_a
          when: starts_with(tier, 'a')
    - id: has_b
      when: contains(tier, 'b')
    - id: rest
      when: otherwise
)"),
                 db, "2026-11-01");
    const std::string measured = dir.write("length.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: three
      when: length(tier) == 3
    - id: rest
      when: otherwise
)");
    const Run compiled = run_cli({"compile", measured, "--dialect", "sqlite", "--db", db});
    REQUIRE(compiled.code == 0);
    CHECK_THROWS_WITH(query_rows(db, compiled.out), "integer overflow");
}

// Found by the random pairs with datetimes: SQLite 3.40's date('2026-02-30') is
// '2026-02-30', so an impossible day read as a date; the engine reads no date there. And
// datetimes on SQLite: texts with and without seconds, a fraction, a Z, a date alone, moved
// by months and days, compared with dates.
TEST_CASE("compile: impossible days are no dates, and datetimes as the engine reads them") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
ALTER TABLE customers ADD COLUMN seen DATETIME;
INSERT INTO customers (customer_id, signup, seen) VALUES (1, '2026-02-30', '2026-02-30 10:00'),
  (2, '2026-01-01', '2026-01-31T23:59:59.9Z'), (3, '2024-02-28', '2024-02-29T00:00:01'),
  (4, '2024-02-29', '2024-02-29'), (5, '2026-10-31', ' 2026-10-31 08:00:30 '),
  (6, '2026-11-01', '2026-11-01T24:00'), (7, '1969-12-01', '1969-12-31T23:59:59'),
  (8, '2023-02-29', NULL), (9, '2026-04-31', '2026-11-01T00:00:00');
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: days
version: 1
general:
  segments:
    - id: no_signup
      when: signup is null
      tactical:
        - id: no_seen
          when: seen is null
    - id: rest
      when: otherwise
      tactical:
        - id: month_later
          when: seen + 1mo == 2026-02-28T23:59:59
        - id: leap_year_on
          when: seen + 1y < 2025-02-28T00:00:02
        - id: same_day
          when: days_between(signup, seen) == 0
        - id: after_signup
          when: seen > signup
        - id: second_past
          when: seen == 2024-02-29T00:00:01
        - id: before_1970
          when: year(seen) == 1969 and days_since(seen) > 20000
)");
    check_agrees(dir, rules, db, "2026-11-01");
}

// A let that names a duration is its constant wherever it is added to a date, and has no column.
TEST_CASE("compile: a duration let is folded where it is added to a date") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, signup) VALUES (1, '2026-01-31'), (2, '2026-09-20'),
  (3, '2026-09-21'), (4, NULL), (5, '2025-12-31');
INSERT INTO orders (customer_id, order_date, amount) VALUES (1, '2026-10-01', 5),
  (2, '2026-01-01', 7);
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: windows
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  window: 1mo + 10d
  back: -window
  last_order: max(orders.order_date)
general:
  segments:
    - id: recent
      when: signup > as_of - window
      tactical:
        - id: ordered
          when: last_order + window > as_of
    - id: rest
      when: otherwise
      tactical:
        - id: month_end
          when: signup + window == 2026-03-10
        - id: negated
          when: as_of + back < signup + 1y
)");
    check_agrees(dir, rules, db, "2026-10-31");
    const Run column = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db});
    CHECK(column.code == 0);
}

// Found by reading the compiler against the engine (a review), each a case of its own.
TEST_CASE("compile: an integer total beyond 64 bits stays null, not the empty sum's 0") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id) VALUES (1), (2), (3), (4);
INSERT INTO orders (customer_id, order_date, items) VALUES
  (1, '2026-01-01', 9223372036854775807), (1, '2026-01-02', 1),
  (2, '2026-01-01', 5), (3, '2026-01-01', NULL);
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: totals
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  total: sum(orders.items)
general:
  segments:
    - id: unknown_total
      when: total is null
    - id: zero
      when: total == 0
    - id: rest
      when: otherwise
)");
    check_agrees(dir, rules, db, "2026-11-01");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE(compiled.code == 0);
    CHECK(query_rows(db, compiled.out) == "1,unknown_total,\n2,rest,\n3,zero,\n4,zero,\n");
}

TEST_CASE("compile: a number text beyond the doubles is no number") {
    TempDir dir;
    // A TEXT column: a REAL column would turn the texts into infinities on insert.
    const std::string db = dir.database("base.db", R"(
CREATE TABLE people (id INTEGER PRIMARY KEY, credit TEXT);
INSERT INTO people (id, credit) VALUES (1, '1e400'), (2, '-1e999'), (3, '2e6'), (4, '12');
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: huge
version: 1
source:
  customers: people
  key: id
  types: { credit: number }
general:
  segments:
    - id: big
      when: credit > 1000000
    - id: unknown
      when: credit is null
    - id: rest
      when: otherwise
)");
    check_agrees(dir, rules, db, "2026-11-01");
}

TEST_CASE("compile: a column that is not in the table is an error naming it, not a text") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, tier) VALUES (1, 'gold');
INSERT INTO orders (customer_id, order_date) VALUES (1, '2026-01-01');
)");
    // Compiled without --db (no schema to check against), then run on a base without the
    // column: SQLite must refuse the query, not read "order_dt" as a text.
    const std::string rules = dir.write("r.yaml", R"(ruleset: missing
version: 1
source:
  customers: customers
  key: customer_id
  types: { tier: string }
  facts:
    orders: { table: orders, key: customer_id, time: order_dt }
let:
  n: count(orders)
general:
  segments:
    - id: buyer
      when: n > 0
    - id: rest
      when: otherwise
)");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--as-of", "2026-11-01"});
    REQUIRE(compiled.code == 0);
    SQLite::Database base(db, SQLite::OPEN_READONLY);
    try {
        SQLite::Statement q(base, compiled.out);
        q.executeStep();
        FAIL("the query ran");
    } catch (const SQLite::Exception& e) {
        CHECK(std::string(e.what()).find("order_dt") != std::string::npos);
    }
}

TEST_CASE("compile: averages of totals beyond nine million give the engine's value") {
    // The query used to stop ("integer overflow") for any total above 2^53 units.
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + kAveragesRows);
    const std::string rules = dir.write("r.yaml", kAveragesRules);
    check_agrees(dir, rules, db, "2026-11-01");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE(compiled.code == 0);
    CHECK(query_rows(db, compiled.out) == "1,exact_half,\n2,big,\n3,negative,\n4,rest,\n");
}

TEST_CASE("compile: keys meet as the engine's key index has them meet") {
    // engine/reader.hpp (KeyIndex) and engine/cell_readers.hpp: no key (null, blank) and a
    // repeated key leave the row out (the first in table order stays); a whole REAL is the
    // integer; a text that spells an integer finds it when there is no such text; an integer
    // finds its own kind first; a REAL fraction finds the text SQLite prints for it.
    TempDir dir;
    const std::string db = dir.database("base.db", R"(
CREATE TABLE people (customer_id, tier TEXT);
INSERT INTO people VALUES (1, 'a'), (NULL, 'b'), ('  ', 'c'), (3, 'first'), (3, 'second'),
  (5.0, 'x'), ('7', 't7'), (7, 'i7'), ('00123', 'z'), (2.5, 'frac');
CREATE TABLE buys (customer_id, day TEXT);
INSERT INTO buys VALUES ('1', '2026-01-01'), (1, '2026-01-02'), (3, '2026-01-01'),
  ('5', '2026-01-01'), (7, '2026-01-01'), (7, '2026-01-02'), ('7', '2026-01-01'),
  ('123', '2026-01-01'), ('00123', '2026-01-01'), (2.5, '2026-01-01'), (NULL, '2026-01-01'),
  ('  ', '2026-01-01');
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: keys
version: 1
source:
  customers: people
  key: customer_id
  facts:
    buys: { table: buys, key: customer_id, time: day }
let:
  n: count(buys)
general:
  segments:
    - id: two
      when: n == 2
    - id: one
      when: n == 1
      tactical:
        - id: first_row
          when: tier == 'first'
    - id: none
      when: otherwise
)");
    check_agrees(dir, rules, db, "2026-11-01");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE(compiled.code == 0);
    CHECK(query_rows(db, compiled.out) ==
          "1,two,\n3,one,first_row\n5,one,\n7,two,\n00123,one,\n2.5,one,\n7,one,\n");
}

TEST_CASE("compile: what PostgreSQL cannot express is refused at file:line:col") {
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: refused
version: 1
source:
  types: { tier: string }
general:
  segments:
    - id: g
      when: matches(tier, '^g')
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "postgres"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.substr(r.err.find(rules + ":8:13: error")) ==
          rules +
              ":8:13: error: cannot compile to postgres: matches() needs RE2 regular "
              "expressions, which postgres does not have\n"
              "    8 |       when: matches(tier, '^g')\n"
              "      |             ^~~~~~~~~~~~~~~~~~~\n"
              "strata compile: 1 construct cannot be compiled to postgres\n");
}

// A number text that SQLite 3.40 cannot read to the nearest double exactly (more than 15
// significant digits; its own conversion is not correctly rounded) stops the query rather
// than give a number the engine does not read. Shorter texts, signs, points and exponents
// read as the engine reads them.
TEST_CASE("compile: number texts beyond 15 significant digits stop the query") {
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: high
      when: credit > 18.6306019825
    - id: rest
      when: otherwise
)");
    const std::string short_texts = dir.database("short.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, raw_credit) VALUES (1, '18.6306019826'), (2, '+.5'), (3, ' 5. '), (4, '1e3'),
  (5, '1e309'), (6, '-10e308'), (7, '1e-400');
)");
    check_agrees(dir, dir.write("short.yaml", R"(ruleset: texts
version: 1
source:
  types: { raw_credit: number }
general:
  segments:
    - id: high
      when: raw_credit > 18.6306019826
    - id: rest
      when: otherwise
)"),
                 short_texts, "2026-11-01");
    // In a REAL column SQLite itself turns such a text into a number on insert; in a TEXT
    // column typed as a number it stays a text.
    const std::string long_text = dir.database("long.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, raw_credit) VALUES (1, '33.333333333333336');
)");
    const std::string typed = dir.write("typed.yaml", R"(ruleset: texts
version: 1
source:
  types: { raw_credit: number }
general:
  segments:
    - id: high
      when: raw_credit > 18.6306019825
    - id: rest
      when: otherwise
)");
    const Run compiled = run_cli({"compile", typed, "--dialect", "sqlite", "--db", long_text});
    REQUIRE(compiled.code == 0);
    CHECK_THROWS_WITH(query_rows(long_text, compiled.out), "integer overflow");
}
