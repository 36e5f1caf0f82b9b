// strata compile --dialect clickhouse held to the embedded engine on the real two-shard
// ClickHouse 18.16: random rule files and bases (tests/sql_generator.hpp), each base loaded
// into local MergeTree tables on both shards behind Distributed tables sharded by customer
// key (warehouse/load/clickhouse_loader.hpp), the compiled query run on the cluster, and every
// customer's segment and tactical ids compared with a run of the engine and its export.
// STRATA_CH_PAIRS sets how many pairs (default 100; the pairs on all four backends,
// four_backends_test.cpp, run 100 more on ClickHouse). Nearly all of a pair's time is ClickHouse
// 18.16 analysing the nested query (loading a base takes a few hundredths of a second), and
// that time grows with the query's levels (one per aggregate, let and population rank) times
// its size, since each level analyses the query below it again. So the pairs' rule files leave
// out the lets no condition needs (without_unused_lets), which halves it, and have at most two
// general segments besides `rest` (Gen::most_segments), which halves it again; and the plan
// keeps its large expressions high and its steps few (sql/nested_plan.cpp): about 1.1 s a pair
// on the 2-core machine, where files with up to four segments took 2.7 s.
// The shipped rule files run on their demo bases too.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdlib>
#include <map>
#include <optional>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/date_cases.hpp"
#include "tests/warehouse/text_cases.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/load/clickhouse_loader.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// The same database on both shards, dropped at the end.
class ShardedDatabase {
  public:
    ShardedDatabase() : name_(unique_name("strata_compile")) {
        for (ClickHouseUrl url : {clickhouse_url(), second_shard_url()}) {
            ClickHouseClient server(url);
            auto made = server.query("CREATE DATABASE " + *quote_clickhouse_identifier(name_));
            if (!made) FAIL(made.error().describe());
            url.database = name_;
            shards_.push_back(url);
        }
    }
    ~ShardedDatabase() {
        for (ClickHouseUrl url : shards_) {
            url.database = "default";
            (void)ClickHouseClient(url).query("DROP DATABASE IF EXISTS " +
                                              *quote_clickhouse_identifier(name_));
        }
    }
    const std::vector<ClickHouseUrl>& shards() const { return shards_; }

  private:
    std::string name_;
    std::vector<ClickHouseUrl> shards_;
};

// The query's rows as "key,segment,tactical" lines, or nullopt (the failure recorded) when
// the server refused it.
std::optional<std::string> clickhouse_rows(const ClickHouseUrl& url, const std::string& sql) {
    ClickHouseClient client(url);
    std::string query = sql;
    while (!query.empty() && (query.back() == '\n' || query.back() == ';'))
        query.pop_back();
    auto result = client.query(query);
    if (!result) {
        FAIL_CHECK(result.error().describe());
        return std::nullopt;
    }
    return placement_rows(result.value());
}

// `strata compile --dialect clickhouse` of `rules`, names and types bound against the
// server's system.columns (the Distributed tables of `sharded`).
Run compile_on(const ShardedDatabase& sharded, const std::string& rules, const std::string& as_of) {
    const ClickHouseUrl& first = sharded.shards()[0];
    const std::string url =
        "clickhouse://" + first.host + ":" + std::to_string(first.port) + "/" + first.database;
    return run_cli({"compile", rules, "--dialect", "clickhouse", "--db", url, "--as-of", as_of});
}

// The compiled query's placement on the cluster against the engine's run and export of the
// same rules on the SQLite base. A failure does not stop the test case, so that `make
// fuzz-sql` goes on to the next pair; with STRATA_SQL_KEEP the pair is kept in /tmp/ch_fail.*
// (keep_disagreement).
void compare_with_engine(const TempDir& dir, const ShardedDatabase& sharded,
                         const std::string& rules, const std::string& db, const std::string& as_of,
                         const Run& compiled) {
    INFO(compiled.err);
    CHECK(compiled.code == 0);
    if (compiled.code != 0) return keep_disagreement("ch", db, rules, as_of);
    INFO(compiled.out);
    const std::optional<std::string> sql_rows = clickhouse_rows(sharded.shards()[0], compiled.out);
    if (!sql_rows) return keep_disagreement("ch", db, rules, as_of);
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh, std::filesystem::copy_options::overwrite_existing);
    const Run run = run_cli({"run", rules, "--db", fresh, "--as-of", as_of});
    bool agrees = true;
    if (run.code != 0) {
        INFO(run.err);
        agrees = sql_rows->find(",<none>,") != std::string::npos;
        CHECK(agrees);
    } else {
        const Run exported =
            run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
        REQUIRE(exported.code == 0);
        const size_t header = exported.out.find('\n');
        const std::string expected = exported.out.substr(header + 1);
        agrees = *sql_rows == expected;
        CHECK(*sql_rows == expected);
    }
    if (!agrees) keep_disagreement("ch", db, rules, as_of);
}

std::string file_text(const std::string& path) {
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    return text.str();
}

// One generated pair: its base loaded on both shards, the query compiled and compared.
// `after_load`: statements run on each shard once the base is loaded (to change a column's
// native type in place, say).
void check_agrees(const TempDir& dir, const std::string& rules, const std::string& db,
                  const std::string& as_of, const std::vector<std::string>& after_load = {}) {
    INFO("rules:\n" << file_text(rules));
    INFO("as_of: " << as_of);
    ShardedDatabase sharded;
    const std::string loaded =
        load_sqlite_into_clickhouse(db, {{"customers", "customer_id"}, {"orders", "customer_id"}},
                                    sharded.shards(), cluster_name());
    REQUIRE(loaded == "");
    for (const ClickHouseUrl& shard : sharded.shards())
        for (const std::string& statement : after_load) {
            auto done = ClickHouseClient(shard).query(statement);
            REQUIRE_MESSAGE(done, done.error().describe());
        }
    compare_with_engine(dir, sharded, rules, db, as_of, compile_on(sharded, rules, as_of));
}

}  // namespace

TEST_CASE("clickhouse compile: the query on two shards places every customer as the engine") {
    const char* env = std::getenv("STRATA_CH_PAIRS");
    const int pairs = env ? std::atoi(env) : 100;
    // A seed of its own, so these pairs are others than PostgreSQL's; only what every backend
    // compiles, matches(), and datetimes from 1970 on (DateTime holds no earlier moment).
    Gen gen{std::mt19937(pair_seed(20261103)), true};
    gen.regex = true;
    gen.datetimes = true;
    gen.datetimes_before_1970 = false;
    gen.text_numbers = true;
    gen.most_segments = 2;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string db = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", without_unused_lets(gen.rules(i)));
        CAPTURE(i);
        check_agrees(dir, rules, db,
                     gen.one<std::string>({"2026-11-01", "2024-02-29", "2026-03-31"}));
    }
}

// Long `in` lists, long chains of `or` and `and`, and least()/greatest() of many values, with
// nulls: ClickHouse's form of each used to nest a level per item, so some 200 items made the
// server refuse the query ("AST is too deep") and some 500 ended the server.
TEST_CASE(
    "clickhouse compile: an in list of 250 items, chains of 250 terms and least() of 300 "
    "values, with nulls") {
    std::string base = R"(
CREATE TABLE customers (customer_id INTEGER, name TEXT, score INTEGER);
CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);
)";
    for (int i = 1; i <= 60; ++i) {
        const std::string name = i % 7 == 0 ? "NULL" : "'v" + std::to_string(i * 13 % 700) + "'";
        const std::string score = i % 5 == 0 ? "NULL" : std::to_string(i * 11 % 400);
        base += "INSERT INTO customers VALUES (" + std::to_string(i) + ", " + name + ", " + score +
                ");\n";
    }
    std::string listed, any_of, all_of, lows, highs, names;
    for (int i = 0; i < 300; ++i) {
        lows += ", " + std::to_string(100 + i);
        highs += ", " + (i % 9 == 0 ? std::string("null") : std::to_string(300 - i));
        names += ", 'v" + std::to_string(i * 3) + "'";
    }
    for (int i = 0; i < 250; ++i)
        listed += (i ? ", " : "") + ("'v" + std::to_string(i * 2) + "'");
    for (int i = 0; i < 250; ++i) {
        any_of += (i ? " or " : "") + ("score == " + std::to_string(i * 3));
        all_of += (i ? " and " : "") + ("score != " + std::to_string(i * 5 + 1));
    }
    const std::string rules = R"Y(ruleset: long_chains
version: 1
source:
  customers: customers
  key: customer_id
general:
  policy: first_match
  segments:
    - id: listed
      when: "name in [)Y" + listed +
                              R"Y(]"
    - id: any_of
      when: ")Y" + any_of + R"Y("
    - id: all_of
      when: ")Y" + all_of + R"Y("
      tactical:
        - id: least_of
          when: "least(score)Y" +
                              lows + R"Y() < 150"
        - id: greatest_of
          when: "greatest(null)Y" +
                              highs + R"Y(, score) > 280"
        - id: names_of
          when: "least(name)Y" +
                              names + R"Y() == name"
    - id: not_listed
      when: "name not in [)Y" +
                              listed + R"Y(] and not (score < 100 or name == 'v13')"
    - id: rest
      when: otherwise
)Y";
    TempDir dir;
    const std::string db = dir.database("base.db", base);
    // Each segment holds someone, so each condition is tried both ways.
    const std::string file = dir.write("rules.yaml", rules);
    const Run run = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    for (const char* segment : {"listed", "any_of", "all_of", "not_listed", "rest", "least_of",
                                "greatest_of", "names_of"})
        CHECK_MESSAGE(run.out.find(std::string(segment) + " ") != std::string::npos, segment);
    check_agrees(dir, file, db, "2026-11-01");
}

// Dates moved by months twice (each move keeping the day or taking its month's last) and by
// durations chosen per row (if() and coalesce() of durations).
TEST_CASE("clickhouse compile: dates moved by months twice and by durations chosen per row") {
    TempDir dir;
    const std::string db = dir.database("base.db", kMovedTwiceSql);
    const std::string rules = dir.write("rules.yaml", kMovedTwiceRules);
    check_agrees(dir, rules, db, "2026-11-26");
}

// matches() is RE2 on both sides, but ClickHouse's match() turns on dot_nl and, before RE2,
// filters by a "required substring" its own scan of the pattern gets wrong for some patterns.
// Each tactical below gave another answer than the engine's with a plain match(text, pattern).
TEST_CASE("clickhouse compile: matches() as the engine's RE2, newlines, flags and brackets") {
    TempDir dir;
    const std::string db = dir.database(
        "base.db", std::string(kSchema) +
                       "INSERT INTO customers (customer_id, tier) VALUES (1, 'a' || char(10) || "
                       "'b'), (2, 'ABCD'), (3, ')abcd'), (4, 'xabcdy'), (5, NULL), (6, ''), (7, "
                       "')'), (8, 'zcd'), (9, 'b' || char(10)), (10, 'a' || char(10) || 'b' || "
                       "char(10) || 'b');\n");
    const std::string rules = dir.write("rules.yaml", R"x(ruleset: regex
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - id: dot
          when: matches(tier, 'a.b')
        - id: dot_nl
          when: matches(tier, '(?s)a.b')
        - id: caseless
          when: matches(tier, '(?i)abcd')
        - id: bracket
          when: matches(tier, '[])]abcd')
        - id: anchored
          when: matches(tier, '^b')
        - id: multiline
          when: matches(tier, '(?m)^b$')
        - id: alternation
          when: matches(tier, 'zz|cd$')
        - id: empty
          when: matches(tier, '')
        - id: quoted
          when: matches(tier, '\Q)\E(?:abcd)?')
        - id: not_matching
          when: not matches(tier, 'b')
)x");
    check_agrees(dir, rules, db, "2026-11-01");
}

// ClickHouse 18.16's parser refuses subnormal number literals (`1e-310` is a syntax error):
// the query must still run and compare as the engine does, on both sides of zero.
TEST_CASE("clickhouse compile: subnormal number literals") {
    TempDir dir;
    const std::string db = dir.database(
        "base.db", std::string(kSchema) +
                       "INSERT INTO customers (customer_id, credit) VALUES (1, 0.0), (2, 1.0), "
                       "(3, NULL), (4, -1.0);\n");
    const std::string rules = dir.write("rules.yaml", R"x(ruleset: tiny
version: 1
general:
  policy: first_match
  segments:
    - id: above
      when: credit > 1e-310
    - id: zero
      when: credit > -4.9e-324
    - id: rest
      when: otherwise
)x");
    check_agrees(dir, rules, db, "2026-11-01");
    const std::string copy = dir.file("engine.db");
    std::filesystem::copy_file(db, copy);
    REQUIRE(run_cli({"run", rules, "--db", copy, "--as-of", "2026-11-01"}).code == 0);
    CHECK(
        run_cli({"export", rules, "--db", copy}).out ==
        "customer_key,segment,tactical,offer,channel,priority\n1,zero,,,,\n2,above,,,,\n3,rest,,,,"
        "\n4,rest,,,,\n");
}

// Datetimes on ClickHouse: seconds since 1970 in UTC whatever the DateTime column's time
// zone, days rounding down (before 1970 too), a fact whose time is a DateTime, the day edges
// and the end of ClickHouse's range. The base is loaded as DateTime, then again with both
// columns made DateTime('Asia/Kamchatka') (UTC+12): the same moments, so the same placement.
TEST_CASE("clickhouse compile: datetimes as seconds in UTC, whatever the column's time zone") {
    TempDir dir;
    const std::string db = dir.database(
        "base.db",
        std::string(kSchema) +
            "ALTER TABLE customers ADD COLUMN seen DATETIME;\n"
            "ALTER TABLE orders ADD COLUMN at DATETIME;\n"
            "INSERT INTO customers (customer_id, seen, signup) VALUES (1, '2026-10-31T23:30:00', "
            "'2026-10-31'), (2, '1970-01-01T00:00:00', '1970-01-01'), (3, NULL, NULL), (4, "
            "'2026-11-01', '2026-11-01'), (5, '2105-12-31T23:59:59', '2105-12-31'), (6, 'n/a', "
            "'2026-02-28'), (7, '2026-10-31T11:59:59', '2026-10-30');\n"
            "INSERT INTO orders (order_id, customer_id, at, amount) VALUES (1, 1, "
            "'2026-11-01T12:30:00', 5), (2, 1, '2026-10-01T00:00:00', 7), (3, 2, "
            "'2026-11-02T00:00:00', 1), (4, 4, '2026-10-31T23:59:59', 2), (5, 7, "
            "'2026-11-01T11:59:59', 3), (6, 7, 'n/a', 4);\n");
    const std::string rules = dir.write("rules.yaml", R"x(ruleset: moments
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: at }
let:
  n_orders: count(orders)
  last_at: max(orders.at)
  recent: count(orders where at > as_of - 1d)
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - id: yesterday
          when: days_since(seen) == 1
        - id: last_year
          when: year(seen) == 2105
        - id: month_on
          when: seen + 1mo > 2026-11-30T23:00:00
        - id: before_epoch
          when: seen - 1d < 1970-01-01T00:00:00 and month(seen - 1d) == 12
        - id: half_day_before_epoch
          when: days_between(greatest(seen - 1d, 1969-12-31T12:00:00), 1969-12-31) == 0
        - id: same_day
          when: days_between(seen, signup) == 0 and seen != signup
        - id: ordered_after
          when: last_at > seen
        - id: recent
          when: recent > 0
        - id: two_orders
          when: n_orders >= 2
        - id: midnight
          when: seen in [signup, 2026-10-31T11:59:59] or coalesce(seen, signup) == 2026-11-01
        - id: latest
          when: greatest(seen, last_at, signup) >= 2026-11-01T12:00:00
)x");
    SUBCASE("DateTime") {
        check_agrees(dir, rules, db, "2026-11-01");
    }
    SUBCASE("DateTime in another time zone") {
        std::vector<std::string> alter;
        for (const std::string table : {"customers_local", "customers", "orders_local", "orders"})
            alter.push_back("ALTER TABLE " + table + " MODIFY COLUMN " +
                            (table.starts_with("customers") ? "seen" : "at") +
                            " Nullable(DateTime('Asia/Kamchatka'))");
        check_agrees(dir, rules, db, "2026-11-01", alter);
    }
    // A DateTime column read as a date (source.types) is its UTC day, in any time zone.
    const std::string as_dates = dir.write("dates.yaml", R"x(ruleset: days
version: 1
source:
  customers: customers
  key: customer_id
  types: { seen: date }
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - id: halloween
          when: seen == 2026-10-31
        - id: later
          when: seen > signup
        - id: none
          when: seen is null
)x");
    SUBCASE("DateTime read as a date") {
        check_agrees(dir, as_dates, db, "2026-11-01");
    }
    SUBCASE("DateTime in another time zone read as a date") {
        check_agrees(dir, as_dates, db, "2026-11-01",
                     {"ALTER TABLE customers_local MODIFY COLUMN seen "
                      "Nullable(DateTime('Asia/Kamchatka'))",
                      "ALTER TABLE customers MODIFY COLUMN seen "
                      "Nullable(DateTime('Asia/Kamchatka'))"});
    }
}

// Columns of the base named as the query's own names (k, t, c0, f0; strata_src_0, the prefix
// the query renames the base's columns with; strata_g_k, the key's alias where an aggregate
// groups its fact's table): ClickHouse resolves a name to an alias of the same SELECT before a
// column, so each must still read its own column.
TEST_CASE("clickhouse compile: columns named as the query's own names read their own values") {
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, k INTEGER, t TEXT, c0 REAL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, t DATE, k INTEGER,
                     f0 REAL, strata_src_0 INTEGER, strata_g_k INTEGER);
INSERT INTO customers VALUES (1, 20, 'x', 1.0), (2, NULL, 'x', 3.5), (3, 5, NULL, NULL),
                             (4, 4, 'y', 0.5), (5, NULL, NULL, NULL), (6, 1, 'x', 2.0);
INSERT INTO orders VALUES (1, 3, '2026-10-01', 3, 2.5, 1, 1), (2, 3, '2026-10-02', 1, 9.0, 7, 2),
                          (3, 4, '2026-12-01', 9, 5.0, 9, 9), (4, 5, '2026-09-30', 2, 0.5, 2, 1),
                          (5, 5, '2026-10-30', 7, 1.5, 3, 3), (6, 6, '2026-10-10', 0, 4.0, 8, 9);
)sql");
    const std::string rules = dir.write("rules.yaml", R"x(ruleset: names
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: t }
let:
  n: count(orders)
  top_k: max(orders.k)
  total: sum(orders.f0 where k > 1)
  odd: sum(orders.strata_src_0)
  gk: max(orders.strata_g_k where strata_g_k > k)
general:
  policy: first_match
  segments:
    - id: by_k
      when: k > 10
    - id: by_c0
      when: c0 >= 2.5
    - id: by_facts
      when: top_k >= 3 and total > 1
    - id: rest
      when: otherwise
      tactical:
        - id: lettered
          when: t == 'x'
        - id: odd
          when: odd > 4 or n > 1
        - id: gk_high
          when: gk > 6
)x");
    check_agrees(dir, rules, db, "2026-11-01");
    // The engine's own placement, so that the comparison above is not of two wrong answers.
    const std::string copy = dir.file("engine.db");
    std::filesystem::copy_file(db, copy);
    REQUIRE(run_cli({"run", rules, "--db", copy, "--as-of", "2026-11-01"}).code == 0);
    CHECK(run_cli({"export", rules, "--db", copy}).out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,by_k,,,,\n2,by_c0,,,,\n3,"
          "by_facts,,,,\n4,rest,,,,\n5,by_facts,,,,\n6,rest,lettered;odd;gk_high,,,\n");
}

// A moment ClickHouse's DateTime cannot hold is refused by the loader, never changed.
TEST_CASE("clickhouse loader: datetimes outside 1970 to 2105 are refused") {
    for (const std::string moment : {"1969-12-31T23:59:59", "2106-01-01T00:00:00"}) {
        CAPTURE(moment);
        TempDir dir;
        const std::string db = dir.database(
            "base.db", std::string(kSchema) +
                           "ALTER TABLE customers ADD COLUMN seen DATETIME;\n"
                           "INSERT INTO customers (customer_id, seen) VALUES (1, '2026-01-01'), "
                           "(2, '" +
                           moment + "');\n");
        ShardedDatabase sharded;
        CHECK(load_sqlite_into_clickhouse(db, {{"customers", "customer_id"}}, sharded.shards(),
                                          cluster_name()) ==
              "customers: the datetime " + moment +
                  " is outside ClickHouse's DateTime range (1970 to 2105)");
    }
}

namespace {

// Each shipped rule file and the demo base it is written for (as tests/rules_test.cpp has
// them): `strata demo-data --kind KIND`, or "crm" for examples/crm/crm-export.csv imported.
const std::map<std::string, std::string> kShippedFiles{
    {"saas-firmographic", "saas"},
    {"b2b-crm", "saas"},
    {"retail-rfm", "retail"},
    {"cosmetics-frequency", "retail"},
    {"electronics-breadth", "retail"},
    {"streaming-lifecycle", "streaming"},
    {"telecom-arpu", "telecom"},
    {"carservice-rfm", "carservice"},
    {"auto-lifecycle", "auto"},
    {"cdnow-rfm", "cdnow"},
    {"crm-export", "crm"},
};

// Every table of a base but strata's own, each with its customer key column (customer_id,
// or the customers table's key named in the rules).
std::vector<TableToLoad> base_tables(const std::string& db, const std::string& customers_key) {
    std::vector<TableToLoad> tables;
    SQLite::Database base(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(base,
                        "SELECT m.name, max(c.name = 'customer_id') FROM sqlite_master m, "
                        "pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE "
                        "'strata%' AND m.name NOT LIKE 'sqlite%' GROUP BY m.name ORDER BY m.name");
    while (q.executeStep())
        tables.push_back(
            {q.getColumn(0).getString(), q.getColumn(1).getInt() ? "customer_id" : customers_key});
    return tables;
}

}  // namespace

TEST_CASE(
    "clickhouse compile: the shipped rule files on the demo bases give the engine's "
    "placement, or are refused for a stated reason") {
    // The files that do not run on ClickHouse, each with the first reason: what the dialect
    // refuses, or what the loader cannot copy into ClickHouse. None since names of any
    // alphabet are quoted (crm-export's Russian column names were refused before).
    const std::map<std::string, std::string> refused = {};
    std::map<std::string, std::string> refusals;
    size_t files = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(STRATA_SOURCE_DIR) + "/rules")) {
        const std::string file = entry.path().filename().string();
        if (entry.path().extension() != ".yaml" || file.ends_with(".test.yaml")) continue;
        ++files;
        const std::string name = entry.path().stem().string();
        CAPTURE(name);
        REQUIRE_MESSAGE(kShippedFiles.count(name), "add " << name << " to kShippedFiles");
        const std::string kind = kShippedFiles.at(name);
        TempDir dir;
        const std::string db = dir.file("demo.db");
        const Run made = make_shipped_base(kind, db);
        REQUIRE_MESSAGE(made.code == 0, made.err);
        ShardedDatabase sharded;
        std::string not_loaded;
        for (const TableToLoad& table : base_tables(db, kind == "crm" ? "id" : "customer_id")) {
            const std::string loaded =
                load_sqlite_into_clickhouse(db, {table}, sharded.shards(), cluster_name());
            if (!loaded.empty() && not_loaded.empty()) not_loaded = loaded;
        }
        if (!not_loaded.empty()) {
            refusals[name] = "not loaded: " + not_loaded;
            continue;
        }
        // The shipped files pin no as_of: the demo bases' "today", or the day after the log.
        const std::string as_of = kind == "cdnow" ? "1998-07-01" : "2026-11-01";
        const Run compiled = compile_on(sharded, entry.path().string(), as_of);
        if (compiled.code == 1) {
            const std::string error = compiled.err.substr(0, compiled.err.find('\n'));
            refusals[name] = error.substr(error.find("error: ") + 7);
            continue;
        }
        compare_with_engine(dir, sharded, entry.path().string(), db, as_of, compiled);
    }
    CHECK(files == kShippedFiles.size());
    CHECK(refusals == refused);
}

// Texts read through source.types in String columns: each spelling as the engine reads it
// (before, the query failed on the server: ClickHouse compared a String with numbers).
TEST_CASE("clickhouse compile: texts given a type by source.types read as the engine reads them") {
    TempDir dir;
    const std::string db = dir.database("base.db", text_cases_sql(false));
    const std::string rules = dir.write("rules.yaml", kTextCasesRules);
    check_agrees(dir, rules, db, "2026-11-26");
}

// A number text that one correctly rounded step cannot make (ClickHouse 18.16 reads decimal
// texts without correct rounding) stops the query rather than give another double; a column
// whose values ClickHouse cannot write as the engine's texts is refused where it is typed.
TEST_CASE("clickhouse compile: a number text it cannot read exactly stops the query") {
    TempDir dir;
    const std::string db = dir.database("base.db", text_cases_sql(true));
    const std::string rules = dir.write("rules.yaml", kTextCasesRules);
    ShardedDatabase sharded;
    REQUIRE(load_sqlite_into_clickhouse(db,
                                        {{"customers", "customer_id"}, {"orders", "customer_id"}},
                                        sharded.shards(), cluster_name()) == "");
    const Run compiled = compile_on(sharded, rules, "2026-11-26");
    REQUIRE(compiled.code == 0);
    auto result = ClickHouseClient(sharded.shards()[0]).query(compiled.out);
    REQUIRE(!result);
    CHECK(result.error().describe().find("throwIf") != std::string::npos);
    CHECK(result.error().stopped_for_exactness());

    const std::string as_text = dir.write("as_text.yaml", R"(ruleset: as_text
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date, types: { amount: string } }
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - id: any
          when: count(orders where amount == '2.5') > 0
)");
    const std::string reals = dir.database(
        "reals.db",
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date "
        "DATE, amount REAL);\nINSERT INTO customers VALUES (1);\n"
        "INSERT INTO orders VALUES (1, 1, '2026-11-01', 2.5);\n");
    ShardedDatabase with_reals;
    REQUIRE(load_sqlite_into_clickhouse(reals,
                                        {{"customers", "customer_id"}, {"orders", "customer_id"}},
                                        with_reals.shards(), cluster_name()) == "");
    const Run refused = compile_on(with_reals, as_text, "2026-11-26");
    INFO(refused.err);
    CHECK(refused.code == 1);
    CHECK(refused.err.find("as_text.yaml:7:75: error") != std::string::npos);
    CHECK(refused.err.find("not compiled yet") == std::string::npos);
    CHECK(refused.err.find("cannot write a number column's values as the engine's texts") !=
          std::string::npos);
}

TEST_CASE("clickhouse compile: typed columns given another type read as the engine reads them") {
    TempDir dir;
    const std::string db = dir.database("base.db", kRetypedCasesSql);
    const std::string rules = dir.write("rules.yaml", kRetypedCasesRules);
    check_agrees(dir, rules, db, "2026-11-26");
}
