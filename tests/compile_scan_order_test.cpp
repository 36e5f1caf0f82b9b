// Of customer rows with a repeated key the first stays (engine/reader.hpp). The compiled SQLite
// query orders a table's rows by rowid; a view and a WITHOUT ROWID table have none, so their
// rows are numbered in the order a scan of them gives, the order the engine reads them in.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kRules = R"(ruleset: order
version: 1
source:
  customers: customers
  key: customer_id
  types: { tier: string }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n: count(orders)
general:
  policy: first_match
  segments:
    - { id: first, when: tier == 'first' }
    - { id: later, when: otherwise }
)";

// key,segment lines of the compiled query run on the base.
std::string placed_by_query(const std::string& db, const std::string& sql) {
    SQLite::Database base(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(base, sql);
    std::string out;
    while (q.executeStep())
        out += q.getColumn(0).getString() + "," + q.getColumn(1).getString() + "\n";
    return out;
}

}  // namespace

TEST_CASE("compile: a view's or a WITHOUT ROWID table's repeated keys keep the first row read") {
    TempDir dir;
    const std::string orders =
        "CREATE TABLE orders (customer_id INTEGER, order_date DATE);\n"
        "INSERT INTO orders VALUES (1, '2026-01-01'), (2, '2026-01-02');\n";
    // Each key's first row in scan order is tier 'first'; by the key column it would not be.
    const std::string view_base = dir.database(
        "view.db", orders +
                       "CREATE TABLE c0 (customer_id INTEGER, tier TEXT);\n"
                       "INSERT INTO c0 VALUES (2, 'first'), (1, 'first'), (2, 'second'), "
                       "(1, 'second'), (3, 'first');\n"
                       "CREATE VIEW customers AS SELECT * FROM c0;\n");
    const std::string without_rowid = dir.database(
        "norowid.db", orders +
                          "CREATE TABLE customers (pk INTEGER PRIMARY KEY, customer_id INTEGER, "
                          "tier TEXT) WITHOUT ROWID;\n"
                          "INSERT INTO customers VALUES (10, 2, 'first'), (20, 1, 'first'), "
                          "(30, 2, 'second'), (40, 1, 'second'), (50, 3, 'first');\n");
    const std::string rules = dir.write("rules.yaml", kRules);
    for (const std::string& db : {view_base, without_rowid}) {
        CAPTURE(db);
        const Run compiled =
            run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(compiled.code == 0, compiled.err);
        CHECK(compiled.out.find("row_number() OVER () AS rid") != std::string::npos);
        CHECK(placed_by_query(db, compiled.out) == "1,first\n2,first\n3,first\n");
        const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(run.code == 0, run.err);
        const Run exported = run_cli({"export", rules, "--db", db, "--columns", "key,segment"});
        REQUIRE(exported.code == 0);
        CHECK(exported.out == "key,segment\n1,first\n2,first\n3,first\n");
    }
    // A table keeps its rowid order, without a catalog as with one.
    const std::string table_base =
        dir.database("table.db", orders +
                                     "CREATE TABLE customers (customer_id INTEGER, tier TEXT);\n"
                                     "INSERT INTO customers VALUES (2, 'first'), (2, 'second');\n");
    for (const bool with_db : {true, false}) {
        std::vector<std::string> args{"compile", rules,     "--dialect",
                                      "sqlite",  "--as-of", "2026-11-01"};
        if (with_db) args.insert(args.end(), {"--db", table_base});
        const Run compiled = run_cli(args);
        REQUIRE_MESSAGE(compiled.code == 0, compiled.err);
        CHECK(compiled.out.find("\"customers\".rowid AS rid") != std::string::npos);
        CHECK(placed_by_query(table_base, compiled.out) == "2,first\n");
    }
}

TEST_CASE("compile: a column named rowid is not the row order; the rows' own order is") {
    TempDir dir;
    // The column `rowid` counts down while the rows go up: ordered by it, key 2's first row
    // would be 'second'.
    const std::string db = dir.database(
        "named.db",
        "CREATE TABLE orders (customer_id INTEGER, order_date DATE);\n"
        "CREATE TABLE customers (rowid INTEGER, customer_id INTEGER, tier TEXT);\n"
        "INSERT INTO customers VALUES (9, 2, 'first'), (8, 1, 'first'), (7, 2, 'second');\n");
    const std::string rules = dir.write("rules.yaml", kRules);
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(compiled.code == 0, compiled.err);
    CHECK(placed_by_query(db, compiled.out) == "1,first\n2,first\n");
    const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    const Run exported = run_cli({"export", rules, "--db", db, "--columns", "key,segment"});
    CHECK(exported.out == "key,segment\n1,first\n2,first\n");
}

TEST_CASE("compile: tables named like the steps of the query are still the tables") {
    TempDir dir;
    // cust and f0 are names the compiled query gives its own steps, made before the second
    // and third tables are read.
    const std::string db = dir.database("named.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, tier TEXT);
INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c');
CREATE TABLE cust (customer_id INTEGER, order_date DATE);
INSERT INTO cust VALUES (1, '2026-01-01'), (1, '2026-01-02'), (2, '2026-01-03');
CREATE TABLE f0 (customer_id INTEGER, visit_date DATE);
INSERT INTO f0 VALUES (3, '2026-01-01'), (3, '2026-01-02');
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: named
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: cust, key: customer_id, time: order_date }
    visits: { table: f0, key: customer_id, time: visit_date }
general:
  policy: first_match
  segments:
    - { id: first, when: count(orders) >= 2 }
    - { id: visitor, when: count(visits) >= 2 }
    - { id: later, when: otherwise }
)yaml");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(compiled.code == 0, compiled.err);
    CHECK(placed_by_query(db, compiled.out) == "1,first\n2,later\n3,visitor\n");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    CHECK(run_cli({"export", rules, "--db", db, "--columns", "key,segment"}).out ==
          "key,segment\n1,first\n2,later\n3,visitor\n");
}
