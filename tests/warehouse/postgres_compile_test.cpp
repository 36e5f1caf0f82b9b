// strata compile --dialect postgres against the embedded engine, on the real PostgreSQL 15:
// random rule files over random bases (tests/sql_generator.hpp), each base copied into
// PostgreSQL with native types by the loader (warehouse/copy_from_sqlite.hpp, which converts
// each cell as the engine reads it), the query compiled against the server's catalog and run
// there; every customer's segment and tactical ids must be the engine's. STRATA_PG_PAIRS sets
// how many pairs (default 200; the pairs on all four backends, four_backends_test.cpp, run 100 more
// on PostgreSQL).
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <random>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/date_cases.hpp"
#include "tests/warehouse/text_cases.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/copy_from_sqlite.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/postgres_client.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// A database of its own for this binary's run, dropped at the end; its URL for --db.
struct ScratchDatabase {
    PostgresUrl url;
    std::string text;
    PostgresConnection connection;

    static ScratchDatabase create() {
        spdlog::set_level(spdlog::level::warn);  // the runs' timings are not the test's output
        PostgresUrl admin = postgres_url();
        auto server = PostgresConnection::connect(admin);
        if (!server) FAIL(server.error().describe());
        const std::string name = unique_name("strata_pg_compile");
        auto made =
            server.value().exec_script("CREATE DATABASE " + *quote_postgres_identifier(name));
        if (!made) FAIL(made.error().describe());
        PostgresUrl url = admin;
        url.database = name;
        auto connection = PostgresConnection::connect(url);
        if (!connection) FAIL(connection.error().describe());
        std::string text = "postgresql://" + url.user + "@" + url.host + ":" +
                           std::to_string(url.port) + "/" + name;
        return {url, text, std::move(connection.value())};
    }
};

std::string export_rows(const std::string& csv) {
    const size_t header = csv.find('\n');
    return header == std::string::npos ? "" : csv.substr(header + 1);
}

// The engine's placement on the SQLite base against the compiled query's on PostgreSQL.
void check_agrees(ScratchDatabase& pg, const TempDir& dir, const std::string& rules,
                  const std::string& db, const std::string& as_of,
                  const std::vector<std::string>& tables) {
    auto copied = copy_sqlite_tables(db, tables, pg.connection);
    if (!copied) FAIL(copied.error().describe());
    std::stringstream text;
    text << std::ifstream(rules).rdbuf();
    INFO("rules:\n" << text.str());
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "postgres", "--db", pg.text, "--as-of", as_of});
    INFO("as_of: " << as_of);
    INFO(compiled.err);
    CHECK(compiled.code == 0);
    if (compiled.code != 0) return keep_disagreement("pg", db, rules, as_of);
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh, std::filesystem::copy_options::overwrite_existing);
    const Run run = run_cli({"run", rules, "--db", fresh, "--as-of", as_of});
    auto result = pg.connection.exec(compiled.out);
    INFO(compiled.out);
    if (!result) {
        FAIL_CHECK(result.error().describe());
        return keep_disagreement("pg", db, rules, as_of);
    }
    const std::string sql_rows = placement_rows(result.value());
    bool agrees = true;
    if (run.code != 0) {
        INFO(run.err);
        agrees = sql_rows.find(",<none>,") != std::string::npos;
        CHECK(agrees);
    } else {
        const Run exported =
            run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
        REQUIRE(exported.code == 0);
        agrees = sql_rows == export_rows(exported.out);
        CHECK(sql_rows == export_rows(exported.out));
    }
    if (!agrees) keep_disagreement("pg", db, rules, as_of);
}

}  // namespace

TEST_CASE("postgres compile: the query places every customer as the engine does (random pairs)") {
    auto pg = ScratchDatabase::create();
    const char* env = std::getenv("STRATA_PG_PAIRS");
    const int pairs = env ? std::atoi(env) : 200;
    Gen gen{std::mt19937(pair_seed(20261102)), true};  // only what every backend compiles
    gen.datetimes = true;
    gen.text_numbers = true;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string db = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        CAPTURE(i);
        check_agrees(pg, dir, rules, db,
                     gen.one<std::string>({"2026-11-01", "2024-02-29", "2026-03-31"}),
                     {"customers", "orders"});
    }
}

TEST_CASE(
    "postgres compile: the shipped rule files on the demo bases give the engine's placement") {
    auto pg = ScratchDatabase::create();
    const std::vector<std::pair<std::string, std::string>> files = {
        {"saas", "saas-firmographic"},
        {"saas", "b2b-crm"},
        {"retail", "cosmetics-frequency"},
        {"retail", "electronics-breadth"},
        {"telecom", "telecom-arpu"},
        {"carservice", "carservice-rfm"},
        {"auto", "auto-lifecycle"},
        {"retail", "retail-rfm"},
        {"cdnow", "cdnow-rfm"},
        {"streaming", "streaming-lifecycle"},
        // Russian column names, as `strata import` made them from the CRM's export.
        {"crm", "crm-export"}};
    for (const auto& [kind, name] : files) {
        TempDir dir;
        const std::string db = dir.file("demo.db");
        const Run made = make_shipped_base(kind, db);
        REQUIRE_MESSAGE(made.code == 0, made.err);
        std::vector<std::string> tables;
        {
            SQLite::Database base(db, SQLite::OPEN_READONLY);
            SQLite::Statement q(base,
                                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                                "LIKE 'strata%' AND name NOT LIKE 'sqlite%' ORDER BY name");
            while (q.executeStep())
                tables.push_back(q.getColumn(0).getString());
        }
        CAPTURE(name);
        // The shipped files pin no as_of: the demo bases' "today", or the day after the log.
        check_agrees(pg, dir, std::string(STRATA_SOURCE_DIR) + "/rules/" + name + ".yaml", db,
                     kind == "cdnow" ? "1998-07-01" : "2026-11-01", tables);
    }
}

TEST_CASE("postgres compile: averages of totals beyond nine million give the engine's value") {
    // The query used to stop for any average whose total reached 2^53 units.
    auto pg = ScratchDatabase::create();
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + kAveragesRows);
    const std::string rules = dir.write("r.yaml", kAveragesRules);
    check_agrees(pg, dir, rules, db, "2026-11-01", {"customers", "orders"});
}

// Texts read through source.types: each spelling as the engine reads it (before, '+12', '12.0'
// and '1e3' read as null integers, '.5' and '5.' as null numbers, and 0000-01-01 as a date).
TEST_CASE("postgres compile: texts given a type by source.types read as the engine reads them") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    const std::string db = dir.database("base.db", text_cases_sql(true));
    const std::string rules = dir.write("rules.yaml", kTextCasesRules);
    check_agrees(pg, dir, rules, db, "2026-11-26", {"customers", "orders"});
}

TEST_CASE("postgres compile: typed columns given another type read as the engine reads them") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    const std::string db = dir.database("base.db", kRetypedCasesSql);
    const std::string rules = dir.write("rules.yaml", kRetypedCasesRules);
    check_agrees(pg, dir, rules, db, "2026-11-26", {"customers", "orders"});
}

// Dates moved by months twice (each move keeping the day or taking its month's last) and by
// durations chosen per row (if() and coalesce() of durations).
TEST_CASE("postgres compile: dates moved by months twice and by durations chosen per row") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    const std::string db = dir.database("base.db", kMovedTwiceSql);
    const std::string rules = dir.write("rules.yaml", kMovedTwiceRules);
    check_agrees(pg, dir, rules, db, "2026-11-26", {"customers", "orders"});
}

// A table name strata does not write into warehouse SQL (a space in it): refused once, by
// strata's naming rule, not as something PostgreSQL could not quote.
TEST_CASE("postgres compile: a name strata does not quote is refused once, with the rule") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    for (const char* sql :
         {"CREATE TABLE \"my clients\" (customer_id bigint PRIMARY KEY, tier text)",
          "INSERT INTO \"my clients\" VALUES (1, 'gold'), (2, 'x')"}) {
        auto made = pg.connection.exec(sql);
        if (!made) FAIL(made.error().describe());
    }
    const std::string text = R"(ruleset: spaced
version: 1
source:
  customers: "my clients"
  key: customer_id
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)";
    const std::string rules = dir.write("rules.yaml", text);
    const Run r = run_cli({"compile", rules, "--dialect", "postgres", "--db", pg.text});
    CHECK(r.code == 1);
    const std::string message = "'my clients' is not a name strata writes into warehouse SQL";
    const size_t first = r.err.find(message);
    CHECK(first != std::string::npos);
    CHECK(r.err.find(message, first + 1) == std::string::npos);
    CHECK(r.err.find("cannot be quoted") == std::string::npos);
    // `check` against the same base says what `compile` and `run` will refuse, at its place.
    const Run checked = run_cli({"check", rules, "--db", pg.text});
    CHECK(checked.code == 1);
    CHECK(checked.out.find("rules.yaml:4:14: error: cannot compile to postgres: " + message) !=
          std::string::npos);
    CHECK(checked.out.find("1 error") != std::string::npos);
    // A base whose names strata writes passes.
    for (const char* sql : {"CREATE TABLE clients (customer_id bigint PRIMARY KEY, tier text)"}) {
        auto made = pg.connection.exec(sql);
        if (!made) FAIL(made.error().describe());
    }
    std::string plain = text;
    plain.replace(plain.find("\"my clients\""), 12, "clients");
    const Run fine = run_cli({"check", dir.write("plain.yaml", plain), "--db", pg.text});
    CHECK_MESSAGE(fine.code == 0, fine.out);
}

// A datetime moved by months after 2038-01-19: the day number times 86400 is past int4, which
// a date difference is in PostgreSQL ("integer out of range" before).
TEST_CASE("postgres compile: datetimes after 2038 moved by months") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    const std::string db = dir.database("base.db", R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, last_seen DATETIME);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE);
INSERT INTO customers VALUES (1, '2040-06-01 10:00:00'), (2, '2026-01-01 00:00:00'),
  (3, '2038-01-19 03:14:08'), (4, '2099-12-31 23:59:59'), (5, NULL);
)");
    const std::string rules = dir.write("rules.yaml", R"(ruleset: far
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - id: later
      when: last_seen + 1mo > 2040-06-15T00:00:00
    - id: back
      when: last_seen - 2y < 2036-02-01T00:00:00
    - id: rest
      when: otherwise
)");
    check_agrees(pg, dir, rules, db, "2026-11-26", {"customers", "orders"});
}

// Of customer rows with the same key the first stays, as in the engine: on PostgreSQL the first
// in the table's physical order (ctid), the order the rows were loaded in. Before, the query
// kept whichever its sort left first.
TEST_CASE("postgres compile: of rows with a repeated key the first in the table stays") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER, tier TEXT);\n"
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date "
        "DATE);\n";
    for (int row = 0; row < 600; ++row)
        sql += "INSERT INTO customers VALUES (" + std::to_string(1 + row % 12) + ", '" +
               std::to_string(row / 12 % 4) + "');\n";
    const std::string db = dir.database("base.db", sql);
    const std::string rules = dir.write("rules.yaml", R"(ruleset: repeated
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - { id: first, when: tier == '0' }
    - { id: later, when: otherwise }
)");
    check_agrees(pg, dir, rules, db, "2026-11-26", {"customers", "orders"});
}

// A view (no ctid) or a materialized view (in pg_catalog, not information_schema) as the
// customer table: the query numbers a view's rows in the order the view gives them, and of
// repeated keys the first stays, as the engine reads the same view on SQLite; `run` there too.
TEST_CASE("postgres compile and run: a view or a materialized view as the customer table") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    std::string sql =
        "CREATE TABLE c0 (customer_id INTEGER, tier TEXT);\n"
        "CREATE VIEW customers AS SELECT * FROM c0;\n"
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date "
        "DATE, amount REAL);\n";
    for (int row = 0; row < 60; ++row) {
        sql += "INSERT INTO c0 VALUES (" + std::to_string(1 + row % 12) + ", '" +
               std::to_string(row / 12 % 4) + "');\n";
        sql += "INSERT INTO orders (customer_id, order_date, amount) VALUES (" +
               std::to_string(1 + row % 15) + ", '2026-10-0" + std::to_string(1 + row % 9) + "', " +
               std::to_string(row) + ".5);\n";
    }
    const std::string db = dir.database("base.db", sql);
    const std::string rules = dir.write("rules.yaml", R"(ruleset: viewed
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
general:
  policy: first_match
  segments:
    - { id: first, when: tier == '0' and spent > 40 }
    - { id: zero, when: tier == '0' }
    - { id: later, when: otherwise }
)");
    auto copied = copy_sqlite_tables(db, {"c0", "orders"}, pg.connection);
    if (!copied) FAIL(copied.error().describe());
    const std::string fresh = dir.file("embedded.db");
    std::filesystem::copy_file(db, fresh);
    const Run lite = run_cli({"run", rules, "--db", fresh, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(lite.code == 0, lite.err);
    const Run lite_rows = run_cli({"export", rules, "--db", fresh});
    REQUIRE(lite_rows.code == 0);
    for (const char* kind : {"VIEW", "MATERIALIZED VIEW"}) {
        CAPTURE(kind);
        auto made = pg.connection.exec_script(std::string("DROP VIEW IF EXISTS customers; ") +
                                              "DROP MATERIALIZED VIEW IF EXISTS customers; " +
                                              "CREATE " + kind + " customers AS SELECT * FROM c0");
        if (!made) FAIL(made.error().describe());
        check_agrees(pg, dir, rules, db, "2026-11-01", {});
        const Run checked = run_cli({"check", rules, "--db", pg.text});
        CHECK_MESSAGE(checked.code == 0, checked.err);
        const Run in_pg = run_cli({"run", rules, "--db", pg.text, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(in_pg.code == 0, in_pg.err);
        // 48 of the 60 rows repeat a key; the samples are the first repeats in the view's order.
        CHECK(in_pg.out.find("48 customer rows repeat an earlier key, left out (e.g. 1, 2, 3, "
                             "4, 5)") != std::string::npos);
        const Run pg_rows = run_cli({"export", rules, "--db", pg.text});
        REQUIRE_MESSAGE(pg_rows.code == 0, pg_rows.err);
        CHECK(pg_rows.out == lite_rows.out);
        const Run why = run_cli({"explain", rules, "--db", pg.text, "--customer", "1"});
        CHECK_MESSAGE(why.code == 0, why.err);
    }
}

// Doubling lets (`d2: d1 + d1`, ...): PostgreSQL pulled each step of the plan up into the next
// and wrote a let's expression at each of its uses, so the expression tree doubled with every
// let; eight took two minutes to plan, twelve took all the server's memory. Each step is a
// fence now, and the query plans at once.
TEST_CASE("postgres compile: doubling lets plan in linear time") {
    auto pg = ScratchDatabase::create();
    TempDir dir;
    const std::string db = dir.database(
        "base.db",
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, i INTEGER, s TEXT);"
        "INSERT INTO customers VALUES (1, 1, 'ab'), (2, 18014398509481984, 'abc'), (3, NULL, ''),"
        " (4, -3, 'Привет');"
        "CREATE TABLE orders (customer_id INTEGER, order_date DATE);");
    std::string lets = "let:\n  d1: i + i\n  t1: s + s\n";
    for (int k = 2; k <= 10; ++k) {
        lets += "  d" + std::to_string(k) + ": d" + std::to_string(k - 1) + " + d" +
                std::to_string(k - 1) + "\n";
        lets += "  t" + std::to_string(k) + ": t" + std::to_string(k - 1) + " + t" +
                std::to_string(k - 1) + "\n";
    }
    const std::string rules =
        dir.write("rules.yaml",
                  "ruleset: doubling\nversion: 1\nsource:\n  facts:\n"
                  "    orders: { table: orders, key: customer_id, time: order_date }\n" +
                      lets +
                      "general:\n  segments:\n"
                      "    - { id: overflow, when: d10 is null and i is not null }\n"
                      "    - { id: long, when: length(t10 + t10 + t10) > 10000 }\n"
                      "    - { id: other, when: otherwise }\n");
    // Without the fence the first query would take minutes; with it, milliseconds.
    REQUIRE(pg.connection.exec("SET statement_timeout = '30s'"));
    check_agrees(pg, dir, rules, db, "2026-11-26", {"customers", "orders"});
}
