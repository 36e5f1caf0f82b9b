// The engine's reading of SQLite: fact tables split by rowid and read in parts, rows stepped
// or read through the row function, dates checked, bases of many blocks, and population calls
// that rank the whole base.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "engine/reader.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "test_support.hpp"

using namespace strata::testing;

TEST_CASE("fact tables are split by rowid for side-by-side reading, or read whole") {
    TempDir dir;
    const auto path = dir.database("split.db", R"sql(
CREATE TABLE t (x INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO t SELECT i FROM n;
CREATE TABLE empty (x INTEGER);
CREATE VIEW v AS SELECT x FROM t;
CREATE TABLE wr (k INTEGER PRIMARY KEY, x) WITHOUT ROWID;
INSERT INTO wr VALUES (1, 1), (2, 2);
CREATE TABLE shadow (rowid INTEGER, x INTEGER);
INSERT INTO shadow VALUES (5, 1), (6, 2), (7, 3);
CREATE TABLE taken (rowid, _rowid_, oid);
INSERT INTO taken VALUES (1, 2, 3);
CREATE TABLE ends (x INTEGER);
INSERT INTO ends (rowid, x) VALUES (-9223372036854775808, 1), (0, 2), (9223372036854775807, 3);
)sql");
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    auto ranges = strata::split_by_rowid(db, "t", 2);
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].column == "rowid");
    CHECK(ranges[0].lo == 1);
    CHECK(ranges[0].hi == 5);
    CHECK(ranges[1].lo == 6);
    CHECK(ranges[1].hi == 10);
    // More parts than rows: empty ranges are dropped, the rest still cover every row.
    ranges = strata::split_by_rowid(db, "t", 16);
    CHECK(ranges.size() == 10);
    CHECK(ranges.front().lo == 1);
    CHECK(ranges.back().hi == 10);
    // A column named rowid hides the rowid; the next spelling takes over.
    ranges = strata::split_by_rowid(db, "shadow", 2);
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].column == "_rowid_");
    CHECK(ranges[0].lo == 1);
    CHECK(ranges[1].hi == 3);
    // Rowids at both ends of the 64-bit range are in the ranges, whole or bounded.
    ranges = strata::split_by_rowid(db, "ends", 2);
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].lo == INT64_MIN);
    CHECK(ranges[1].hi == INT64_MAX);
    CHECK(ranges[1].lo == ranges[0].hi + 1);
    ranges = strata::split_by_rowid(db, "ends", 1, std::nullopt, 0);
    REQUIRE(ranges.size() == 1);
    CHECK(ranges[0].lo == INT64_MIN);
    CHECK(ranges[0].hi == 0);
    ranges = strata::split_by_rowid(db, "ends", 1, 0);
    REQUIRE(ranges.size() == 1);
    CHECK(ranges[0].lo == 1);
    CHECK(ranges[0].hi == INT64_MAX);
    ranges = strata::split_by_rowid(db, "ends", 2, INT64_MAX);
    REQUIRE(ranges.size() == 1);
    CHECK(ranges[0].lo > ranges[0].hi);  // nothing above the highest rowid
    for (const char* whole : {"empty", "v", "wr", "taken"}) {
        CAPTURE(whole);
        ranges = strata::split_by_rowid(db, whole, 2);
        REQUIRE(ranges.size() == 1);
        CHECK(ranges[0].column.empty());
    }
}

TEST_CASE("a fact table read in parts gives the same aggregates and findings as read whole") {
    TempDir dir;
    // The same 40 orders as a table (read in two rowid ranges) and as a view (read whole),
    // with unconvertible amounts and orphans in both halves.
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);"
        "INSERT INTO customers VALUES (1), (2), (3);"
        "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);";
    for (int i = 1; i <= 40; ++i) {
        const int customer = i % 7 == 0 ? 99 : 1 + i % 3;
        const std::string amount = i == 4 ? "'four'" : i == 33 ? "'x33'" : std::to_string(i);
        sql += "INSERT INTO orders VALUES (" + std::to_string(customer) + ", " + amount +
               ", '2026-0" + std::to_string(1 + i % 9) + "-1" + std::to_string(i % 10) + "');";
    }
    sql += "CREATE VIEW orders_view AS SELECT * FROM orders;";
    const auto db = dir.database("parts.db", sql);
    std::string outputs[2];
    for (int k = 0; k < 2; ++k) {
        const auto file = dir.write(
            "r.yaml",  // one name, so the two documents' warnings name the same file
            std::string("ruleset: parts\nversion: 1\nas_of: 2026-11-01\nsource:\n  facts:\n"
                        "    orders: { table: ") +
                (k == 0 ? "orders" : "orders_view") +
                ", key: customer_id, time: order_date }\n"
                "let:\n  n: count(orders)\n  total: sum(orders.amount)\n"
                "  last: max(orders.order_date)\n  big: count(orders where amount > 20)\n"
                "value: total\ngeneral:\n  segments:\n    - id: many\n      when: total > 225\n"
                "    - id: rest\n      when: otherwise\n");
        auto r = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        outputs[k] = r.out.substr(r.out.find("\"customers\""));
        outputs[k] = outputs[k].substr(0, outputs[k].find("\"elapsed_ms\""));
        if (k == 1) outputs[k].replace(outputs[k].find("orders_view"), 11, "orders");
    }
    CHECK(outputs[0] == outputs[1]);
    // By hand: customer 2's convertible amounts are 1, 10, 13, …, 40 = 248; 1 has 219, 3 has 211.
    CHECK(outputs[0].find(
              "{\"id\":\"many\",\"label\":null,\"count\":1,\"share\":0.3333,\"unknown\":0,"
              "\"value_total\":248,") != std::string::npos);
    CHECK(outputs[0].find("\"value_total\":678") != std::string::npos);
    // 2 amounts did not convert; the sample is the first in table order.
    CHECK(outputs[0].find("\"count\":2,\"sample\":\"four\"") != std::string::npos);
    CHECK(outputs[0].find("\"orphan_fact_rows\":{\"orders\":5}") != std::string::npos);
}

TEST_CASE("count_distinct adds up across parts, beyond 64 distinct values") {
    TempDir dir;
    // 150 categories: customer 1 buys each of them twice (once in each half of the table),
    // customer 2 buys categories 0-9 in the first half and 5-79 in the second.
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);"
        "INSERT INTO customers VALUES (1), (2), (3);"
        "CREATE TABLE orders (customer_id INTEGER, category TEXT);";
    auto add = [&sql](int customer, int category) {
        sql += "INSERT INTO orders VALUES (" + std::to_string(customer) + ", 'c" +
               std::to_string(category) + "');";
    };
    for (int c = 0; c < 150; ++c)
        add(1, 149 - c);
    for (int c = 0; c < 10; ++c)
        add(2, c);
    for (int c = 5; c < 80; ++c)
        add(2, c);
    for (int c = 0; c < 150; ++c)
        add(1, c);
    const auto db = dir.database("distinct.db", sql);
    const auto file = dir.write(
        "r.yaml",
        "ruleset: distinct\nversion: 1\nsource:\n  facts:\n"
        "    orders: { table: orders, key: customer_id }\n"
        "let:\n  kinds: count_distinct(orders.category)\ngeneral:\n  segments:\n"
        "    - id: all150\n      when: kinds == 150\n    - id: eighty\n      when: kinds == 80\n"
        "    - id: none\n      when: kinds == 0\n    - id: other\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto e = run_cli({"export", file, "--db", db});
    CHECK(e.out.find("\n1,all150,") != std::string::npos);
    CHECK(e.out.find("\n2,eighty,") != std::string::npos);
    CHECK(e.out.find("\n3,none,") != std::string::npos);
}

TEST_CASE("dates read from SQLite: month lengths and leap years are checked") {
    TempDir dir;
    const auto db = dir.database("dates.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signup DATE);
INSERT INTO customers VALUES (1, '2024-02-29'), (2, '2023-02-29'), (3, '2026-02-30'),
  (4, '2026-13-01'), (5, '2026-04-31'), (6, '2026-04-30'), (7, '2026-02-28'), (8, '2026-00-10'),
  (9, '2026-12-31'), (10, '2026-12-32'), (11, '2026-01-00'),
  (12, '1899-12-31'), (13, '2400-02-29'), (14, '2100-02-29'), (15, '1800-02-29'),
  (16, '2156-01-01'), (17, '1900-01-01'), (18, '2155-12-31');
)sql");
    // Months of the years 1900 to 2155 are looked up in a table, others worked out each time:
    // both must read exactly the date written.
    const auto file = dir.write(
        "r.yaml",
        "ruleset: dates\nversion: 1\nas_of: 2026-11-01\ngeneral:\n  segments:\n"
        "    - id: exact\n      when: signup in [2024-02-29, 1899-12-31, 2400-02-29, 2156-01-01, "
        "1900-01-01, 2155-12-31]\n"
        "    - id: known\n      when: signup is not null\n"
        "    - id: unknown\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("9 values in customers.signup did not convert to date") != std::string::npos);
    auto e = run_cli({"export", file, "--db", db});
    for (const char* exact :
         {"\n1,exact,", "\n12,exact,", "\n13,exact,", "\n16,exact,", "\n17,exact,", "\n18,exact,"})
        CHECK(e.out.find(exact) != std::string::npos);
    for (const char* known : {"\n6,known,", "\n7,known,", "\n9,known,"})
        CHECK(e.out.find(known) != std::string::npos);
    for (const char* unknown : {"\n2,unknown,", "\n3,unknown,", "\n5,unknown,", "\n10,unknown,",
                                "\n14,unknown,", "\n15,unknown,"})
        CHECK(e.out.find(unknown) != std::string::npos);
}

TEST_CASE("a base of many blocks is placed and stored whole, the same as a dry run reports") {
    TempDir dir;
    // 140,000 customers: more than two placement blocks, stored while later blocks are placed.
    const auto db = dir.database("many.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, score INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 140000)
INSERT INTO customers SELECT i, (i * 7919) % 100 FROM n;
)sql");
    const auto file =
        dir.write("r.yaml",
                  "ruleset: many\nversion: 1\ngeneral:\n  segments:\n    - id: high\n"
                  "      when: score >= 50\n      tactical:\n        - id: even\n"
                  "          when: score % 2 == 0\n    - id: rest\n      when: otherwise\n");
    auto dry = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    auto r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("\"run_id\":1") != std::string::npos);
    // The same segments as the dry run, and the counts SQL finds.
    auto segments = [](const std::string& json) {
        return json.substr(json.find("\"segments\""),
                           json.find("\"data_quality\"") - json.find("\"segments\""));
    };
    CHECK(segments(r.out) == segments(dry.out));
    SQLite::Database check(db, SQLite::OPEN_READONLY);
    const int high = check.execAndGet("SELECT count(*) FROM customers WHERE score >= 50").getInt();
    const int even =
        check.execAndGet("SELECT count(*) FROM customers WHERE score >= 50 AND score % 2 = 0")
            .getInt();
    CHECK(r.out.find("{\"id\":\"high\",\"label\":null,\"count\":" + std::to_string(high) + ",") !=
          std::string::npos);
    CHECK(r.out.find("{\"id\":\"even\",\"label\":null,\"count\":" + std::to_string(even) + ",") !=
          std::string::npos);
    CHECK(check.execAndGet("SELECT count(*) FROM strata_membership").getInt() == 140000);
    CHECK(check
              .execAndGet("SELECT count(*) FROM strata_membership WHERE segment = 'high' AND "
                          "tactical = 'even'")
              .getInt() == even);
    // Rows from the first, a middle and the last block, checked against their scores.
    for (int key : {1, 70001, 140000}) {
        const int score = (key * 7919) % 100;
        CAPTURE(key);
        const std::string expected = score >= 50 ? "high" : "rest";
        CHECK(check
                  .execAndGet("SELECT segment FROM strata_membership WHERE customer_key = " +
                              std::to_string(key))
                  .getString() == expected);
    }
    // The stored summary is the report, run id included.
    CHECK(check.execAndGet("SELECT summary FROM strata_runs").getString().find("\"run_id\":1") !=
          std::string::npos);
}

TEST_CASE("a population call inside an expression ranks the whole base, not a block of it") {
    TempDir dir;
    // 20,000 customers with distinct scores: several of the evaluator's blocks of rows. Each
    // quarter of the base is a tile; fitted block by block, every block would have its own.
    const auto db = dir.database("ranked.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, score INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO customers SELECT i, (i * 7919) % 20011 FROM n;
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: ranked
version: 1
let:
  tens: ntile(score, 4) * 10
general:
  segments:
    - id: top
      when: tens == 40
    - id: bottom
      when: ntile(score, 4) + 0 == 1
    - id: middle
      when: otherwise
)");
    auto r = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("{\"id\":\"top\",\"label\":null,\"count\":5000,") != std::string::npos);
    CHECK(r.out.find("{\"id\":\"bottom\",\"label\":null,\"count\":5000,") != std::string::npos);
    CHECK(r.out.find("{\"id\":\"middle\",\"label\":null,\"count\":10000,") != std::string::npos);
}

TEST_CASE("rows read through the row function and stepped one by one are the same") {
    // SQLite hands a scan's rows to strata through an application-defined function; a table
    // read through more columns than a function may take is stepped row by row instead.
    // Lowering the connection's function-argument limit forces the second path.
    TempDir dir;
    const auto path = dir.database(
        "rows.db",
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, born DATE, vip BOOLEAN, name TEXT);"
        "INSERT INTO customers VALUES (1, '2001-02-03', 1, 'a'), (2, 'bad', 0, NULL),"
        "  (3, NULL, 'maybe', 'c'), (5, '2020-02-29', 1, 'e');"
        "CREATE TABLE orders (customer_id, amount REAL, day DATE);"
        "INSERT INTO orders VALUES (1, 10.5, '2026-01-01'), (2, 'x', '2026-01-02'),"
        "  ('3', 7, NULL), (9, 1, '2026-01-03'), (NULL, 2, '2026-01-04'), (5, 3, '2026-13-01');");
    strata::bound::Program program;
    program.columns = {
        {"born", strata::Type::Date}, {"vip", strata::Type::Bool}, {"name", strata::Type::String}};
    strata::bound::FactUse orders;
    orders.name = "orders";
    orders.table = "orders";
    orders.key = "customer_id";
    orders.columns = {{"amount", strata::Type::Number}, {"day", strata::Type::Date}};
    auto read_all = [&](int function_args, std::string& out) {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        sqlite3_limit(db.getHandle(), SQLITE_LIMIT_FUNCTION_ARG, function_args);
        strata::KeyIndex index;
        strata::DataQuality dq;
        const auto customers =
            strata::read_customers({&db}, "customers", "id", program, index, dq, nullptr);
        for (size_t r = 0; r < customers.rows; ++r) {
            out += strata::format_value(customers.keys[r]);
            for (const auto& c : customers.columns)
                out += "|" + strata::format_value(c[r]);
            out += "\n";
        }
        strata::SqliteFactSource source(db, orders, index, dq, nullptr, {}, nullptr, 2);
        size_t chunks = 0;
        source.read([&](strata::FactChunk& chunk) {
            ++chunks;
            for (size_t r = 0; r < chunk.rows; ++r) {
                out += "owner " + std::to_string(chunk.owner[r]);
                for (const auto& c : chunk.columns)
                    out += "|" + strata::format_value(c[r]);
                out += "\n";
            }
        });
        out += "chunks " + std::to_string(chunks) + ", unconvertible";
        for (const auto& u : dq.unconvertible)
            out += " " + u.table + "." + u.column + "=" + std::to_string(u.count) + ":" + u.sample;
        out += ", orphans " + std::to_string(dq.orphan_fact_rows["orders"]);
    };
    std::string through_function, stepped;
    read_all(100, through_function);
    read_all(1, stepped);
    CHECK(through_function == stepped);
    // Four rows kept of six (an unknown key and a null key are orphans), in chunks of two; the
    // text key '3' finds the integer key 3 (the keys 1…5 are looked up in a dense table).
    CHECK(through_function.find("owner 0|10.5|2026-01-01\nowner 1|null|2026-01-02\n"
                                "owner 2|7|null\nowner 3|3|null\nchunks 2") != std::string::npos);
    CHECK(through_function.find("customers.born=1:bad") != std::string::npos);
    CHECK(through_function.find("customers.vip=1:maybe") != std::string::npos);
    CHECK(through_function.find("orders.amount=1:x orders.day=1:2026-13-01, orphans 2") !=
          std::string::npos);
}

TEST_CASE("what the chunk consumer throws ends the read and comes out whole") {
    TempDir dir;
    std::string sql =
        "CREATE TABLE customers (id INTEGER PRIMARY KEY);"
        "INSERT INTO customers VALUES (1);"
        "CREATE TABLE orders (customer_id, amount);";
    for (int i = 0; i < 100; ++i)
        sql += "INSERT INTO orders VALUES (1, " + std::to_string(i) + ");";
    const auto path = dir.database("throw.db", sql);
    strata::bound::Program program;
    strata::bound::FactUse orders;
    orders.name = orders.table = "orders";
    orders.key = "customer_id";
    orders.columns = {{"amount", strata::Type::Number}};
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    strata::KeyIndex index;
    strata::DataQuality dq;
    strata::read_customers({&db}, "customers", "id", program, index, dq, nullptr);
    strata::SqliteFactSource source(db, orders, index, dq, nullptr, {}, nullptr, 10);
    size_t chunks = 0;
    CHECK_THROWS_WITH_AS(source.read([&](strata::FactChunk&) {
        if (++chunks == 3) throw std::runtime_error("enough");
    }),
                         "enough", std::runtime_error);
    CHECK(chunks == 3);
    // The connection is usable afterwards: the scan's statement and function are gone.
    SQLite::Statement count(db, "SELECT count(*) FROM orders");
    REQUIRE(count.executeStep());
    CHECK(count.getColumn(0).getInt() == 100);
}
