// The same random pairs on all four backends: for each rule file and base (tests/sql_generator.hpp,
// only what every dialect compiles), the embedded engine's run and export, the compiled query
// on the SQLite file, on PostgreSQL (the base copied with native types) and on the two-shard
// ClickHouse (the base loaded behind Distributed tables) must place every customer alike.
// Each backend also has pairs of its own (tests/sql_compile_test.cpp, postgres_compile_test.cpp,
// clickhouse_compile_test.cpp), drawn with what only it compiles (matches() on ClickHouse,
// round(x, digits) of numbers on the warehouses, datetimes before 1970 on SQLite and
// PostgreSQL). STRATA_FOUR_PAIRS sets how many pairs (default 100).
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/warehouse_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// The compiled query's rows on the SQLite file, as placement_rows writes a server's.
std::string sqlite_rows(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, sql);
    ResultTable table;
    while (q.executeStep()) {
        Row row;
        for (int i = 0; i < 3; ++i)
            row.push_back(q.getColumn(i).isNull() ? Cell{} : Cell{q.getColumn(i).getString()});
        table.rows.push_back(std::move(row));
    }
    return placement_rows(table);
}

// What the engine gives: the export's rows, or nullopt when the run could not place everyone
// (it then stores nothing, and each query must leave some customer without a segment).
std::optional<std::string> engine_rows(const TempDir& dir, const std::string& rules,
                                       const std::string& db, const std::string& as_of) {
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh, std::filesystem::copy_options::overwrite_existing);
    const Run run = run_cli({"run", rules, "--db", fresh, "--as-of", as_of});
    if (run.code != 0) {
        INFO(run.err);
        REQUIRE(run.code == 1);
        return std::nullopt;
    }
    const Run exported =
        run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
    REQUIRE(exported.code == 0);
    const size_t header = exported.out.find('\n');
    return exported.out.substr(header + 1);
}

// One backend's rows against the engine's. False when they differ.
bool agrees(const std::string& backend, const std::optional<std::string>& expected,
            const std::optional<std::string>& rows) {
    INFO("backend: " << backend);
    if (!rows) return false;  // the failure is already recorded
    if (!expected) {
        CHECK(rows->find(",<none>,") != std::string::npos);
        return rows->find(",<none>,") != std::string::npos;
    }
    CHECK(*rows == *expected);
    return *rows == *expected;
}

// The compiled query of one dialect, or nullopt (the failure recorded) when it was refused.
std::optional<std::string> compiled(const std::string& dialect, const std::string& rules,
                                    const std::string& db, const std::string& as_of) {
    const Run c = run_cli({"compile", rules, "--dialect", dialect, "--db", db, "--as-of", as_of});
    INFO("dialect: " << dialect);
    INFO(c.err);
    CHECK(c.code == 0);
    if (c.code != 0) return std::nullopt;
    std::string sql = c.out;
    while (!sql.empty() && (sql.back() == '\n' || sql.back() == ';'))
        sql.pop_back();
    return sql;
}

// The engine's placement of one base and rule file, against the compiled query's on the
// SQLite file, on PostgreSQL and on ClickHouse; a disagreement is recorded and, when `keep` is
// given, its base and rule file kept under that name. Returns whether the engine's run placed
// every customer.
bool placed_alike(RunDatabase& pg, ClusterDatabase& ch, const TempDir& dir,
                  const std::string& rules, const std::string& db, const std::string& as_of,
                  const char* keep = nullptr) {
    const std::optional<std::string> expected = engine_rows(dir, rules, db, as_of);
    auto record = [&](const char* backend, const std::optional<std::string>& rows) {
        if (!agrees(backend, expected, rows) && keep)
            keep_disagreement(std::string(keep) + "_" + backend, db, rules, as_of);
    };

    std::optional<std::string> lite;
    if (auto sql = compiled("sqlite", rules, db, as_of)) {
        try {
            lite = sqlite_rows(db, *sql);
        } catch (const SQLite::Exception& e) {
            FAIL_CHECK("SQLite refused the compiled query: " << std::string(e.what()));
        }
    }
    record("sqlite", lite);

    pg.load(db);
    std::optional<std::string> postgres;
    if (auto sql = compiled("postgres", rules, pg.url, as_of)) {
        auto result = pg.connection.exec(*sql);
        if (result)
            postgres = placement_rows(result.value());
        else
            FAIL_CHECK(result.error().describe());
    }
    record("pg", postgres);

    ch.load(db);
    std::optional<std::string> clickhouse;
    if (auto sql = compiled("clickhouse", rules, ch.url, as_of)) {
        auto result = ch.client().query(*sql);
        if (result)
            clickhouse = placement_rows(result.value());
        else
            FAIL_CHECK(result.error().describe());
    }
    record("ch", clickhouse);
    return expected.has_value();
}

}  // namespace

TEST_CASE(
    "four backends: each random pair placed alike by the engine, SQLite, PostgreSQL and "
    "ClickHouse (random pairs)") {
    const char* env = std::getenv("STRATA_FOUR_PAIRS");
    const int pairs = env ? std::atoi(env) : 100;
    RunDatabase pg = RunDatabase::create();
    ClusterDatabase ch;
    // Only what every dialect compiles; datetimes from 1970 on (ClickHouse's DateTime holds no
    // earlier moment) and few segments (ClickHouse's planning time grows with the query).
    Gen gen{std::mt19937(pair_seed(20261204)), true};
    gen.sqlite_too = true;
    gen.datetimes = true;
    gen.datetimes_before_1970 = false;
    gen.text_numbers = true;
    gen.most_segments = 2;
    int placed = 0;  // pairs whose run placed every customer
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string db = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", without_unused_lets(gen.rules(i)));
        const std::string as_of = gen.one<std::string>({"2026-11-01", "2024-02-29", "2026-03-31"});
        CAPTURE(i);
        std::stringstream text;
        text << std::ifstream(rules).rdbuf();
        INFO("rules:\n" << text.str());
        INFO("as_of: " << as_of);
        if (placed_alike(pg, ch, dir, rules, db, as_of, "four")) ++placed;
    }
    // Most pairs compare placements, not only a run that could not place everyone (83 of
    // the 100 of make test do).
    MESSAGE(placed << " of " << pairs << " pairs placed every customer");
    CHECK(placed * 3 >= pairs * 2);
}

// Cases the random pairs do not draw, each found by a review: a base and a rule file, placed
// alike by the engine and the three compiled queries.
TEST_CASE(
    "four backends: edge cases placed alike by the engine, SQLite, PostgreSQL and ClickHouse") {
    struct EdgeCase {
        const char* name;
        const char* base;
        const char* rules;
    };
    const char* orders_by_day =
        "source:\n  facts:\n    orders: { table: orders, key: customer_id, time: order_date }\n";
    const std::vector<EdgeCase> cases = {
        // An integer total beyond 64 bits is null, not the 0 of a customer without orders.
        {"integer sum overflow",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, s TEXT);"
         "INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c');"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE, qty INTEGER);"
         "INSERT INTO orders VALUES (1, '2026-10-01', 9223372036854775807),"
         " (1, '2026-10-02', 1), (2, '2026-10-01', 5), (3, '2026-10-01', NULL);",
         "let:\n  total: sum(orders.qty)\ngeneral:\n  segments:\n"
         "    - id: overflow\n      when: total is null\n"
         "    - id: none\n      when: total == 0\n"
         "    - id: other\n      when: otherwise\n"},
        // A quotient far from the ends of the doubles, of operands near one end.
        {"division of tiny numbers",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x REAL, y REAL);"
         "INSERT INTO customers VALUES (1, 1e-300, 1e-100), (2, 1.0, 2.0), (3, 1e-300, 1e-300),"
         " (4, -1e-300, 1e-200), (5, 1e300, 1e-300), (6, 5e-324, 3.0);"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE);",
         "let:\n  q: x / y\ngeneral:\n  segments:\n"
         "    - id: unknown\n      when: q is null\n"
         "    - id: zero\n      when: q == 0\n"
         "    - id: tiny\n      when: q < 1e-150 and q > -1e-150\n"
         "    - id: other\n      when: otherwise\n"},
        // least and greatest of texts compare them as texts (bytes).
        {"least and greatest of texts",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, s TEXT);"
         "INSERT INTO customers VALUES (1, 'a'), (2, 'c'), (3, NULL), (4, 'B'), (5, 'b');"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE);",
         "let:\n  hi: greatest(s, 'b')\n  lo: least(s, 'b')\ngeneral:\n  segments:\n"
         "    - id: above\n      when: hi == s and lo == 'b'\n"
         "    - id: below\n      when: lo == s\n"
         "    - id: other\n      when: otherwise\n"},
        // An integer and a number compare by their exact values: PostgreSQL made the integer a
        // double, so 2^53 + 1 equalled 2^53, and 2^63 - 1 equalled 2^63.
        {"integers against numbers beyond 2^53",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x REAL, i INTEGER);"
         "INSERT INTO customers VALUES (1, 9007199254740992.0, 9007199254740993),"
         " (2, 9223372036854775808.0, 9223372036854775807), (3, 1.5, 1), (4, NULL, 5),"
         " (5, 3.0, 3), (6, -9007199254740992.0, -9007199254740993);"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE);",
         "general:\n  segments:\n"
         "    - id: same\n      when: x == i\n"
         "    - id: above\n      when: x > 9223372036854775807 or i < x\n"
         "    - id: least_is_i\n      when: least(x, i) == i\n"
         "    - id: listed\n      when: x in [9007199254740993, 7] or x between "
         "9007199254740993 and 9007199254740995 or x not in [9007199254740992.0, 1.5, 3.0, "
         "-9007199254740992.0]\n"
         "    - id: other\n      when: otherwise\n"},
        // A date meets a datetime at its midnight, in seconds: past 2038-01-19 those overflowed
        // PostgreSQL's 32-bit day difference and stopped the run ("integer out of range").
        // (ClickHouse's Date ends in 2105: no 9999-12-31 here.)
        {"dates past 2038 against datetimes",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, d DATE, t DATETIME);"
         "INSERT INTO customers VALUES (1, '2038-01-20', '2026-11-01 10:00:00'),"
         " (2, '2105-12-31', '2026-11-01 10:00:00'), (3, '2026-10-01', '2026-11-01 10:00:00'),"
         " (4, '2026-11-02', NULL), (5, '2026-10-01', '2026-11-01 10:00:00');"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE, ends DATE);"
         "INSERT INTO orders VALUES (5, '2026-01-01', '2100-12-31'),"
         " (3, '2026-01-01', '2026-02-01');",
         "let:\n  last_end: max(orders.ends)\ngeneral:\n  segments:\n"
         "    - id: open_ended\n      when: last_end > t\n"
         "    - id: later\n      when: d > t and greatest(d, t) > t and coalesce(d, t) > t\n"
         "    - id: listed\n      when: d in [t] or d < 2026-11-01T10:00\n"
         "    - id: other\n      when: otherwise\n"},
        // -0 and 0 rank as one value: ClickHouse counted them as two where it numbers the
        // equal values, and put customer 4 in tile 2.
        {"ranks of -0 and 0",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x REAL, s REAL);"
         "INSERT INTO customers VALUES (1, 0, 1), (2, 0, -1), (3, 0, 1), (4, 0, -1),"
         " (5, 1, 1), (6, 2, 1), (7, 3, 1), (8, 4, 1);"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE);",
         "let:\n  v: x * s\n  q: ntile(v, 4)\n  pr: percent_rank(v)\n"
         "  score: \"rfm(recency: v, frequency: v, monetary: v, bins: 4)\"\n"
         "general:\n  segments:\n"
         "    - id: first\n      when: q == 1 and pr == 0 and score.r == 3 and score.f == 1\n"
         "    - id: other\n      when: otherwise\n"},
        // least and greatest skip nulls, and are null only when every value is (ClickHouse
        // computes them with arrayReduce over an array that holds the nulls).
        {"least and greatest of nulls",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x REAL, y REAL);"
         "INSERT INTO customers VALUES (1, NULL, NULL), (2, NULL, 3.0), (3, -1.0, NULL),"
         " (4, 0.0, -0.0), (5, 2, 1);"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE);",
         "let:\n  lo: least(x, y)\n  hi: greatest(x, y, null)\ngeneral:\n  segments:\n"
         "    - id: both_null\n      when: lo is null and hi is null\n"
         "    - id: one_null\n      when: lo is null or hi is null\n"
         "    - id: negative\n      when: lo < 0\n"
         "    - id: same\n      when: lo == hi\n"
         "    - id: other\n      when: otherwise\n"},
        // A text longer than kMaxTextBytes (65,536 bytes) is null: 'ab' doubled 15 times is
        // just that long, 'abc' and 'Привет' (12 bytes) are over it; d12 + d12 of 'Привет' is
        // 98,304 bytes in 49,152 characters. Joins inside a fact's filter are capped too, and
        // so is a join of a call (upper(s) + d15: in a subquery, where names alone are summed).
        {"texts past the length limit",
         "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, s TEXT);"
         "INSERT INTO customers VALUES (1, 'ab'), (2, 'abc'), (3, NULL), (4, 'Привет'), (5, ''),"
         " (6, 'x');"
         "CREATE TABLE orders (customer_id INTEGER, order_date DATE, note TEXT);"
         "INSERT INTO orders VALUES (6, '2026-10-01', 'x'), (5, '2026-10-01', NULL);",
         "let:\n  d1: s + s\n"
         "  d2: d1 + d1\n"
         "  d3: d2 + d2\n"
         "  d4: d3 + d3\n"
         "  d5: d4 + d4\n"
         "  d6: d5 + d5\n"
         "  d7: d6 + d6\n"
         "  d8: d7 + d7\n"
         "  d9: d8 + d8\n"
         "  d10: d9 + d9\n"
         "  d11: d10 + d10\n"
         "  d12: d11 + d11\n"
         "  d13: d12 + d12\n"
         "  d14: d13 + d13\n"
         "  d15: d14 + d14\n"
         "  noted: count(orders where orders.note + orders.note == 'xx')\n"
         "general:\n  segments:\n"
         "    - id: noted\n      when: noted > 0\n"
         "    - id: mixed\n      when: upper(s) + d15 is null and d15 is not null\n"
         "    - id: bytes\n      when: d12 + d12 is null and length(d12) == 24576\n"
         "    - id: over\n      when: d15 is null and s is not null\n"
         "    - id: exact\n      when: length(d15) == 65536 and (d15 + 'x') is null\n"
         "    - id: empty\n      when: d15 == ''\n"
         "    - id: other\n      when: otherwise\n"},
    };
    RunDatabase pg = RunDatabase::create();
    ClusterDatabase ch;
    for (const EdgeCase& c : cases) {
        const std::string name = c.name;
        CAPTURE(name);
        TempDir dir;
        const std::string db = dir.database("base.db", c.base);
        const std::string rules = dir.write(
            "rules.yaml", std::string("ruleset: edge\nversion: 1\n") + orders_by_day + c.rules);
        const std::string as_of = "2026-11-01";
        CHECK(placed_alike(pg, ch, dir, rules, db, as_of));
    }
}

// A rule file with an error in it reads the same on every backend: the same exit code and the
// same JSON error object (a review found ClickHouse's message worded apart).
TEST_CASE("three backends: a rule file naming an unknown column is the same JSON error") {
    TempDir dir;
    const std::string db =
        dir.database("base.db",
                     "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT);"
                     "INSERT INTO customers VALUES (1, 'a'), (2, 'b');"
                     "CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);");
    const std::string rules =
        dir.write("typo.yaml",
                  "ruleset: typo\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
                  "general:\n  segments:\n    - id: a\n      when: tierr == 'a'\n"
                  "    - id: rest\n      when: otherwise\n");
    RunDatabase pg = RunDatabase::create();
    pg.load(db);
    ClusterDatabase ch;
    ch.load(db);
    for (const std::string& url : {db, pg.url, ch.url}) {
        CAPTURE(url);
        const Run r = run_cli({"run", rules, "--db", url, "--format", "json"});
        CHECK(r.code == 1);
        CHECK(json_at(r.out, "$.error.kind") == "rules");
        CHECK(json_at(r.out, "$.error.message") == "1 error in " + rules);
    }
}
