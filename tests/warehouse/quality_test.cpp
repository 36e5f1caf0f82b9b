// The data-quality findings and population cut points of runs inside the warehouses
// (state/warehouse_quality.hpp, state/warehouse_populations.hpp) against a run on SQLite: the
// whole `data_quality` and `populations` of `strata run --format json` must be the same, field
// by field, on PostgreSQL and on the two-shard ClickHouse.
//
// Random pairs (tests/sql_generator.hpp) are loaded into the servers by the loaders, which
// convert each cell as the engine reads it (junk becomes NULL); the SQLite run they are held to
// reads a copy of what PostgreSQL then holds, so both see the same cells. The fixed cases put
// every kind of finding into the servers directly: text keys that are null, empty, blank or
// repeated, texts read as integers that do not convert, facts of no customer, of unknown time
// and after as_of, customers after as_of; on ClickHouse, booleans that are neither 0 nor 1.
// STRATA_QUALITY_PAIRS sets how many random pairs (default 6 on PostgreSQL, 4 on ClickHouse).
#include <doctest/doctest.h>

#include <sstream>

#include <cstdlib>
#include <random>

#include "dsl/compiler.hpp"
#include "sql/postgres_catalog.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/warehouse_quality.hpp"
#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/warehouse_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// What must be the same: the findings and the cut points.
std::string quality_of(const std::string& doc) {
    return "data_quality = " + json_at(doc, "$.data_quality") +
           "\npopulations = " + json_at(doc, "$.populations") + "\n";
}

int pairs(int fallback) {
    const char* env = std::getenv("STRATA_QUALITY_PAIRS");
    return env && *env ? std::atoi(env) : fallback;
}

// A SQLite base of kSchema holding what the loader put into PostgreSQL: each cell as the
// server holds it (a bool 0/1, a date as YYYY-MM-DD), rows in key order (the source's rowids).
std::string server_copy(PostgresConnection& pg, TempDir& dir, const std::string& name) {
    const std::string path = dir.database(name, kSchema);
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    // Per column: i integer, n number, t text, b bool, d date.
    auto copy = [&](const std::string& table, const std::vector<std::string>& columns,
                    const std::string& kinds) {
        std::string select, names, marks;
        for (size_t c = 0; c < columns.size(); ++c) {
            const std::string& col = columns[c];
            select += std::string(c ? ", " : "") +
                      (kinds[c] == 'b'   ? "CASE WHEN " + col + " THEN 1 ELSE 0 END"
                       : kinds[c] == 'd' ? "to_char(" + col + ", 'YYYY-MM-DD')"
                                         : col + "::text");
            names += std::string(c ? ", " : "") + col;
            marks += std::string(c ? ", " : "") + "?";
        }
        auto rows = pg.exec("SELECT " + select + " FROM " + table + " ORDER BY 1");
        if (!rows) FAIL(rows.error().describe());
        SQLite::Statement insert(
            db, "INSERT INTO " + table + " (" + names + ") VALUES (" + marks + ")");
        for (const auto& row : rows.value().rows) {
            for (size_t c = 0; c < columns.size(); ++c) {
                const int at = static_cast<int>(c) + 1;
                if (!row[c])
                    insert.bind(at);
                else if (kinds[c] == 'i' || kinds[c] == 'b')
                    insert.bind(at,
                                static_cast<int64_t>(std::strtoll(row[c]->c_str(), nullptr, 10)));
                else if (kinds[c] == 'n')
                    insert.bind(at, std::strtod(row[c]->c_str(), nullptr));
                else
                    insert.bind(at, *row[c]);
            }
            insert.exec();
            insert.reset();
        }
    };
    copy("customers",
         {"customer_id", "tier", "score", "credit", "opt_in", "signup", "raw_score", "raw_credit"},
         "itinbdtt");
    copy("orders", {"order_id", "customer_id", "order_date", "amount", "items", "category"},
         "iidnit");
    return path;
}

}  // namespace

TEST_CASE("quality: a run inside PostgreSQL finds and cuts what SQLite does (random pairs)") {
    Gen gen{std::mt19937(pair_seed(20261201)), true};
    const int n = pairs(6);
    int compared = 0;
    for (int i = 0; i < n; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        auto pg = RunDatabase::create();
        pg.load(base);
        const std::string copy = server_copy(pg.connection, dir, "copy.db");
        INFO("rules:\n" << gen.rules(i));
        CAPTURE(i);
        for (const char* as_of : {"2026-03-31", "2026-11-01"}) {
            CAPTURE(as_of);
            const Run lite = run_cli(
                {"run", rules, "--db", copy, "--as-of", as_of, "--format", "json", "--dry-run"});
            const Run in_pg = run_cli(
                {"run", rules, "--db", pg.url, "--as-of", as_of, "--format", "json", "--dry-run"});
            INFO(in_pg.err);
            REQUIRE(in_pg.code == lite.code);
            if (lite.code != 0) break;
            CHECK(json_at(in_pg.out, "$.not_computed") == "<none>");
            CHECK(quality_of(in_pg.out) == quality_of(lite.out));
            ++compared;
        }
    }
    CHECK(compared >= n);
}

TEST_CASE("quality: a run inside ClickHouse finds and cuts what SQLite does (random pairs)") {
    Gen gen{std::mt19937(pair_seed(20261202)), true};
    const int n = pairs(4);
    int compared = 0;
    ClusterDatabase ch;
    for (int i = 0; i < n; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string text = without_unused_lets(gen.rules(i));
        const std::string rules = dir.write("rules.yaml", text);
        auto pg = RunDatabase::create();
        pg.load(base);
        const std::string copy = server_copy(pg.connection, dir, "copy.db");
        ch.load(base);
        INFO("rules:\n" << text);
        CAPTURE(i);
        const Run lite = run_cli(
            {"run", rules, "--db", copy, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
        const Run in_ch = run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01",
                                   "--format", "json", "--dry-run"});
        INFO(in_ch.err);
        REQUIRE(in_ch.code == lite.code);
        if (lite.code != 0) continue;
        CHECK(quality_of(in_ch.out) == quality_of(lite.out));
        ++compared;
    }
    CHECK(compared * 2 >= n);
}

namespace {

// Every kind of finding, in tables both PostgreSQL and SQLite take as written: text keys.
const char* kFindings = R"text(
CREATE TABLE customers (customer_id TEXT, tier TEXT, raw_score TEXT, signup DATE);
CREATE TABLE orders (customer_id TEXT, order_date TEXT, amount DOUBLE PRECISION);
INSERT INTO customers VALUES ('1', 'gold', '7', '2026-01-01');
INSERT INTO customers VALUES ('2', 'silver', 'n/a', '2026-02-01');
INSERT INTO customers VALUES ('', 'gold', '3', '2026-01-01');
INSERT INTO customers VALUES (NULL, 'gold', '5', '2026-01-01');
INSERT INTO customers VALUES ('  ', 'gold', 'x', '2026-01-01');
INSERT INTO customers VALUES ('1', 'gold', '7', '2026-01-01');
INSERT INTO customers VALUES ('3', 'gold', '12', '2026-12-01');
INSERT INTO customers VALUES ('4', NULL, '-3', '2026-03-01');
INSERT INTO customers VALUES ('2', 'silver', 'n/a', '2026-02-01');
INSERT INTO customers VALUES ('5', 'gold', 'abc', '2026-04-01');
INSERT INTO customers VALUES ('6', 'silver', '7', NULL);
INSERT INTO customers VALUES ('7', 'gold', '9', '2026-05-01');
INSERT INTO customers VALUES ('8', 'gold', '9', '2026-05-01');
INSERT INTO orders VALUES ('1', '2026-10-01', 10);
INSERT INTO orders VALUES ('1', '2026-12-01', 5);
INSERT INTO orders VALUES ('9', '2026-10-01', 1);
INSERT INTO orders VALUES (NULL, '2026-10-01', 1);
INSERT INTO orders VALUES ('2', NULL, 3);
INSERT INTO orders VALUES ('2', 'n/a', 4);
INSERT INTO orders VALUES ('3', '2026-10-01', 2);
INSERT INTO orders VALUES ('05', '2026-10-01', 7);
INSERT INTO orders VALUES (' ', '2026-10-01', 7);
INSERT INTO orders VALUES ('4', '2026-09-15', 7);
INSERT INTO orders VALUES ('5', '2026-08-01', 20);
INSERT INTO orders VALUES ('6', '2026-10-01', 7);
INSERT INTO orders VALUES ('7', '2026-10-01', 7);
INSERT INTO orders VALUES ('7', '2026-10-02', 0.5);
)text";

// Every population function, with ties, empty bins, best: low and an age as recency.
const char* kFindingsRules = R"text(ruleset: findings
version: 1
source:
  customers: customers
  key: customer_id
  since: signup
  types: { raw_score: integer }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  n_orders: count(orders)
  last_order: max(orders.order_date)
  tile: ntile(revenue, 4)
  rank: percent_rank(raw_score)
  score: "rfm(recency: days_since(last_order), frequency: n_orders, monetary: revenue, bins: 3, best: low)"
  dated: "rfm(recency: last_order, frequency: n_orders, monetary: raw_score, bins: 2)"
  cls: abc(revenue, a: 0.5)
  tier_tile: ntile(tier, 3)
general:
  segments:
    - id: top
      when: tile == 4 or cls == 'A' or dated.m == 2
    - id: scored
      when: score.r == 1 or rank > 0.5 or tier_tile == 1
    - id: rest
      when: otherwise
)text";

}  // namespace

TEST_CASE("quality: every kind of finding, inside PostgreSQL as on SQLite") {
    TempDir dir;
    const std::string base = dir.database("findings.db", kFindings);
    const std::string rules = dir.write("findings.yaml", kFindingsRules);
    auto pg = RunDatabase::create();
    auto made = pg.connection.exec_script(kFindings);
    if (!made) FAIL(made.error().describe());
    // A key of invisible characters only (a line separator and a byte-order mark) is no key.
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers VALUES (char(8232, 65279), 'gold', '7', '2026-01-01')");
    made = pg.connection.exec_script(
        "INSERT INTO customers VALUES (E'\\u2028\\uFEFF', 'gold', '7', '2026-01-01');");
    if (!made) FAIL(made.error().describe());
    const Run lite = run_cli(
        {"run", rules, "--db", base, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    REQUIRE(lite.code == 0);
    // The case holds what it says it holds.
    CHECK(json_at(lite.out, "$.data_quality.findings") == "16");
    CHECK(json_at(lite.out, "$.data_quality.null_keys") == "4");
    CHECK(json_at(lite.out, "$.data_quality.duplicate_key_samples") == R"(["1","2"])");
    CHECK(
        json_at(lite.out, "$.data_quality.unconvertible") ==
        R"([{"table":"customers","column":"raw_score","type":"integer","count":3,"sample":"n/a"},)"
        R"({"table":"orders","column":"order_date","type":"date","count":1,"sample":"n/a"}])");
    CHECK(json_at(lite.out, "$.data_quality.orphan_fact_rows") == R"({"orders":4})");
    CHECK(json_at(lite.out, "$.data_quality.customers_after_as_of") == "1");
    // Customer 3 joined after as_of: their row is left out with them, not an orphan.
    CHECK(json_at(lite.out, "$.data_quality.facts_of_customers_after_as_of") == R"({"orders":1})");
    CHECK(json_at(lite.out, "$.data_quality.facts_after_as_of") == R"({"orders":1})");
    CHECK(json_at(lite.out, "$.data_quality.unknown_time_fact_rows") == R"({"orders":2})");
    const Run in_pg = run_cli(
        {"run", rules, "--db", pg.url, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    INFO(in_pg.err);
    REQUIRE(in_pg.code == 0);
    CHECK(quality_of(in_pg.out) == quality_of(lite.out));
    // The segments too: the findings are about the data the placement read.
    CHECK(json_at(in_pg.out, "$.segments") == json_at(lite.out, "$.segments"));
    // The table a person reads lists them, as for SQLite.
    const Run table = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01", "--dry-run"});
    CHECK(table.out.find("data quality: 16 findings:") != std::string::npos);
    CHECK(table.out.find("not computed") == std::string::npos);
    CHECK(table.out.find("populations: each bin's lower cut") != std::string::npos);

    // Infinite amounts are no numbers, and their sample is written as SQLite writes it.
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO orders VALUES ('7', '2026-10-01', 1e999), ('8', '2026-10-01', -1e999)");
    auto added = pg.connection.exec_script(
        "INSERT INTO orders VALUES ('7', '2026-10-01', 'Infinity'), ('8', '2026-10-01', "
        "'-Infinity');");
    if (!added) FAIL(added.error().describe());
    const Run lite_inf = run_cli(
        {"run", rules, "--db", base, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    const Run pg_inf = run_cli(
        {"run", rules, "--db", pg.url, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    REQUIRE(pg_inf.code == 0);
    CHECK(json_at(lite_inf.out, "$.data_quality.unconvertible[1]") ==
          R"({"table":"orders","column":"amount","type":"number","count":2,"sample":"Inf"})");
    CHECK(quality_of(pg_inf.out) == quality_of(lite_inf.out));
    CHECK(json_at(pg_inf.out, "$.segments") == json_at(lite_inf.out, "$.segments"));
}

// `k IN (SELECT key FROM placed)` beside a row's columns is, once the placed keys outgrow
// PostgreSQL's work_mem, a subplan that reads every key again for every fact row: a run of
// 1M customers and 9M orders did not finish in minutes. No query of the counts may read a
// table in a subplan (the keys are joined), whatever the sizes. A subplan that only computes
// (a `Result` node: a text read through source.types names its parts that way) reads nothing.
TEST_CASE("quality: the counts inside PostgreSQL join the placed keys, never a per-row subplan") {
    auto pg = RunDatabase::create();
    auto made = pg.connection.exec_script(
        std::string(kFindings) +
        "CREATE TABLE placed AS SELECT DISTINCT customer_id AS customer_key FROM customers "
        "WHERE customer_id IN ('1', '2', '4', '5', '6', '7', '8');");  // as the run places them
    if (!made) FAIL(made.error().describe());
    std::string error;
    const auto schema = strata::sql::read_postgres_schema(pg.connection, error);
    REQUIRE_MESSAGE(schema, error);
    strata::Diagnostics diags;
    auto rules =
        strata::compile_rules(strata::SourceFile("findings.yaml", kFindingsRules), &*schema, diags);
    REQUIRE(rules);
    const auto dialect = strata::sql::make_postgres_dialect(&*schema);
    std::vector<std::string> plans;
    const strata::state::WarehouseQuery ask = [&](const std::string& sql, ResultTable& out) {
        auto plan = pg.connection.exec("EXPLAIN " + sql);
        if (!plan) FAIL(plan.error().describe());
        std::string text;
        for (const auto& row : plan.value().rows)
            text += row.at(0).value_or("") + "\n";
        plans.push_back(text);
        auto rows = pg.connection.exec(sql);
        if (!rows) FAIL(rows.error().describe());
        out = std::move(rows.value());
        return true;
    };
    strata::DataQuality dq;
    REQUIRE(strata::state::count_data_quality(*rules, strata::parse_date("2026-11-01").value(),
                                              *dialect, "placed", 7,
                                              strata::state::WarehouseSql::Postgres, ask, dq));
    CHECK(dq.orphan_fact_rows["orders"] == 4);
    CHECK(dq.left_out_fact_rows["orders"] == 1);  // customer 3's, who joined after as_of
    REQUIRE(plans.size() >= 2);
    // The lines of each subplan: those below its "SubPlan" line that are indented deeper.
    auto subplan_reads_a_table = [](const std::string& plan) {
        std::istringstream lines(plan);
        std::string line;
        size_t subplan_depth = std::string::npos;
        while (std::getline(lines, line)) {
            const size_t depth = line.find_first_not_of(' ');
            if (subplan_depth != std::string::npos && depth <= subplan_depth)
                subplan_depth = std::string::npos;
            if (line.find("SubPlan") != std::string::npos && subplan_depth == std::string::npos)
                subplan_depth = depth;
            else if (subplan_depth != std::string::npos && line.find("Scan") != std::string::npos)
                return true;
        }
        return false;
    };
    for (const std::string& plan : plans) {
        INFO(plan);
        CHECK_FALSE(subplan_reads_a_table(plan));
    }
    CHECK(subplan_reads_a_table("Seq Scan on orders\n  SubPlan 1\n    ->  Seq Scan on placed\n"));
    CHECK_FALSE(subplan_reads_a_table("Seq Scan on orders\n  SubPlan 1\n    ->  Result\n"));
}

namespace {

// ClickHouse takes integer keys, one row per customer: the findings it can hold.
const char* kClusterBase = R"text(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, opt_in BOOLEAN, signup DATE, tier TEXT);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE,
                     amount REAL, gift BOOLEAN);
INSERT INTO customers VALUES (1, 1, '2026-01-01', 'gold'), (2, 0, '2026-02-01', 'silver'),
  (3, 1, '2026-12-01', 'gold'), (4, NULL, NULL, 'gold'), (5, 0, '2026-05-01', 'bronze'),
  (6, 1, '2026-06-01', 'gold'), (7, 1, '2026-06-01', NULL);
INSERT INTO orders VALUES (1, 1, '2026-10-01', 10, 0), (2, 1, '2026-12-01', 5, 1),
  (3, 99, '2026-10-01', 1, 0), (4, 2, NULL, 3, 0), (5, 3, '2026-10-01', 2, 1),
  (6, 4, '2026-09-15', 7, 0), (7, 5, '2026-08-01', 20, 1), (8, 6, '2026-10-01', 7, 0),
  (9, 7, '2026-10-01', 7, 0);
)text";
// Booleans that are neither 0 nor 1 (the loader would have made them NULL), added to both.
const char* kClusterOdd[] = {
    "INSERT INTO customers (customer_id, opt_in, signup, tier) VALUES (8, 2, '2026-01-01', "
    "'gold')",
    "INSERT INTO customers (customer_id, opt_in, signup, tier) VALUES (9, 3, '2026-01-01', "
    "'gold')",
    "INSERT INTO orders (order_id, customer_id, order_date, amount, gift) VALUES (10, 8, "
    "'2026-10-01', 4, 2)"};

const char* kClusterRules = R"text(ruleset: cluster_findings
version: 1
source:
  customers: customers
  key: customer_id
  since: signup
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  gifts: count(orders where gift)
  last_order: max(orders.order_date)
  tile: ntile(revenue, 3)
  rank: percent_rank(last_order)
  score: "rfm(recency: last_order, frequency: gifts, monetary: revenue, bins: 2)"
  cls: abc(revenue)
general:
  segments:
    - id: top
      when: tile == 3 or cls == 'A' or score.m == 2
    - id: keen
      when: opt_in or rank > 0.5
    - id: rest
      when: otherwise
)text";

}  // namespace

TEST_CASE("quality: the findings ClickHouse can hold, inside ClickHouse as on SQLite") {
    TempDir dir;
    const std::string base = dir.database("cluster.db", kClusterBase);
    const std::string rules = dir.write("cluster.yaml", kClusterRules);
    ClusterDatabase ch;
    ch.load(base, {{"customers", "customer_id"}, {"orders", "customer_id"}});
    {
        SQLite::Database db(base, SQLite::OPEN_READWRITE);
        for (const char* sql : kClusterOdd) {
            db.exec(sql);
            auto added = ch.client().query(sql, {{"insert_distributed_sync", "1"}});
            if (!added) FAIL(added.error().describe());
        }
    }
    const Run lite = run_cli(
        {"run", rules, "--db", base, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    REQUIRE(lite.code == 0);
    CHECK(json_at(lite.out, "$.data_quality.unconvertible") ==
          R"([{"table":"customers","column":"opt_in","type":"bool","count":2,"sample":"2"},)"
          R"({"table":"orders","column":"gift","type":"bool","count":1,"sample":"2"}])");
    CHECK(json_at(lite.out, "$.data_quality.orphan_fact_rows") == R"({"orders":1})");
    CHECK(json_at(lite.out, "$.data_quality.customers_after_as_of") == "1");
    CHECK(json_at(lite.out, "$.data_quality.facts_of_customers_after_as_of") == R"({"orders":1})");
    const Run in_ch = run_cli(
        {"run", rules, "--db", ch.url, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    INFO(in_ch.err);
    REQUIRE(in_ch.code == 0);
    CHECK(quality_of(in_ch.out) == quality_of(lite.out));
    CHECK(json_at(in_ch.out, "$.segments") == json_at(lite.out, "$.segments"));

    // Infinite amounts are no numbers (the language has no infinity), as SQLite reads them:
    // not the largest revenues.
    for (const char* sql :
         {"INSERT INTO orders (order_id, customer_id, order_date, amount, gift) VALUES (11, 5, "
          "'2026-10-01', 1e999, 0)",
          "INSERT INTO orders (order_id, customer_id, order_date, amount, gift) VALUES (12, 6, "
          "'2026-10-01', -1e999, 0)"}) {
        SQLite::Database(base, SQLite::OPEN_READWRITE).exec(sql);
        auto added = ch.client().query(sql, {{"insert_distributed_sync", "1"}});
        if (!added) FAIL(added.error().describe());
    }
    const Run lite_inf = run_cli(
        {"run", rules, "--db", base, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    const Run ch_inf = run_cli(
        {"run", rules, "--db", ch.url, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
    INFO(ch_inf.err);
    REQUIRE(ch_inf.code == 0);
    CHECK(json_at(lite_inf.out, "$.data_quality.unconvertible") ==
          R"([{"table":"customers","column":"opt_in","type":"bool","count":2,"sample":"2"},)"
          R"({"table":"orders","column":"amount","type":"number","count":2,"sample":"Inf"},)"
          R"({"table":"orders","column":"gift","type":"bool","count":1,"sample":"2"}])");
    CHECK(quality_of(ch_inf.out) == quality_of(lite_inf.out));
    CHECK(json_at(ch_inf.out, "$.segments") == json_at(lite_inf.out, "$.segments"));
}
