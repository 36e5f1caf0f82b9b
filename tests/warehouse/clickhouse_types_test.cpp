// Tables made by hand inside ClickHouse, not by strata's loader: key columns of any integer
// width (and customers and facts of different widths), native types the loader never writes
// (UInt64, enums, LowCardinality, decimals read as integers), names outside the warehouse
// naming rule and types strata does not read. Each run is held to the embedded engine's run
// over the same values in SQLite, or must be refused with a reason, never a crash.
#include <doctest/doctest.h>

#include "tests/test_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/clickhouse_client.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// A database of its own on the first server, dropped at the end.
class HandMadeDatabase {
  public:
    HandMadeDatabase() : name_(unique_name("strata_ch_types")) {
        url_ = clickhouse_url();
        REQUIRE(ClickHouseClient(url_).query("CREATE DATABASE " + name_).ok());
        url_.database = name_;
    }
    ~HandMadeDatabase() {
        ClickHouseUrl admin = clickhouse_url();
        (void)ClickHouseClient(admin).query("DROP DATABASE IF EXISTS " + name_);
    }
    void must(const std::string& sql) {
        // LowCardinality is experimental in ClickHouse 18.16.
        auto done =
            ClickHouseClient(url_).query(sql, {{"allow_experimental_low_cardinality_type", "1"}});
        if (!done) FAIL(done.error().describe());
    }
    std::string url() const {
        return "clickhouse://" + url_.host + ":" + std::to_string(url_.port) + "/" + name_;
    }

  private:
    std::string name_;
    ClickHouseUrl url_;
};

std::string data_quality(const std::string& report) {
    const size_t at = report.find("data quality");
    const size_t end = report.find("run time", at);
    return at == std::string::npos ? "" : report.substr(at, end - at);
}

}  // namespace

TEST_CASE("clickhouse types: keys of different integer widths in customers and facts meet") {
    HandMadeDatabase ch;
    ch.must(
        "CREATE TABLE customers (customer_id Int32, city String) ENGINE = MergeTree "
        "ORDER BY customer_id");
    ch.must(
        "CREATE TABLE orders (customer_id Int16, order_date Date, amount Float64) "
        "ENGINE = MergeTree ORDER BY customer_id");
    ch.must("INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    ch.must(
        "INSERT INTO orders VALUES (1, '2026-01-01', 150), (2, '2026-01-01', 5), "
        "(9, '2026-01-01', 7)");
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: widths
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
    - id: big
      when: spent >= 100
    - id: rest
      when: otherwise
)");
    const Run run = run_cli({"run", rules, "--db", ch.url(), "--as-of", "2026-11-01"});
    INFO(run.err);
    REQUIRE(run.code == 0);
    // The order of customer 9, who is not in the base, is an orphan, as the engine counts it.
    CHECK(run.out.find("1 orders row matches no customer, left out") != std::string::npos);
    const Run exported = run_cli({"export", "widths", "--db", ch.url(), "--raw"});
    CHECK(exported.out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,big,,,,\n"
          "2,rest,,,,\n3,rest,,,,\n");
}

TEST_CASE("clickhouse types: UInt64, enums, LowCardinality and decimals read as the engine's") {
    HandMadeDatabase ch;
    ch.must(
        "CREATE TABLE customers (customer_id UInt64, visits UInt64, plan Enum8('free' = 1, "
        "'pro' = 2), plan_was Nullable(Enum8('free' = 1, 'pro' = 2)), region "
        "LowCardinality(Nullable(String)), seats Nullable(Decimal(10, 2))) "
        "ENGINE = MergeTree ORDER BY customer_id");
    ch.must(
        "INSERT INTO customers VALUES (1, 5, 'pro', NULL, 'eu', 3.00), "
        "(2, 18446744073709551615, 'free', 'pro', NULL, 12.50), "
        "(3, 1, 'free', NULL, 'us', 40.00), (4, 0, 'free', 'free', 'eu', NULL)");
    TempDir dir;
    const std::string base = dir.database(
        "base.db",
        "CREATE TABLE customers (customer_id INTEGER, visits INTEGER, plan TEXT, plan_was TEXT, "
        "region TEXT, seats DECIMAL(10, 2));"
        "INSERT INTO customers VALUES (1, 5, 'pro', NULL, 'eu', 3.00), "
        "(2, 18446744073709551615, 'free', 'pro', NULL, 12.50), (3, 1, 'free', NULL, 'us', "
        "40.00), (4, 0, 'free', 'free', 'eu', NULL);");
    const std::string rules = dir.write("r.yaml", R"(ruleset: natives
version: 1
source:
  customers: customers
  key: customer_id
  types: { seats: integer }
general:
  segments:
    - id: busy
      when: visits > 3
    - id: upgraded
      when: plan == 'pro' and plan_was is null
    - id: was_pro
      when: plan_was == 'pro'
    - id: big
      when: seats >= 10
    - id: eu
      when: region == 'eu'
    - id: rest
      when: otherwise
)");
    const Run inside = run_cli({"run", rules, "--db", ch.url(), "--as-of", "2026-11-01"});
    INFO(inside.err);
    REQUIRE(inside.code == 0);
    const Run embedded = run_cli({"run", rules, "--db", base, "--as-of", "2026-11-01"});
    INFO(embedded.err);
    REQUIRE(embedded.code == 0);
    const Run a = run_cli({"export", "natives", "--db", ch.url(), "--raw"});
    const Run b = run_cli({"export", "natives", "--db", base, "--raw"});
    CHECK(a.out == b.out);
    CHECK(a.out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,busy,,,,\n"
          "2,was_pro,,,,\n3,big,,,,\n4,eu,,,,\n");
    // The UInt64 beyond Int64 and the decimal with cents are not integers, on both.
    for (const std::string& quality : {data_quality(inside.out), data_quality(embedded.out)}) {
        INFO(quality);
        CHECK(quality.find("2 findings") != std::string::npos);
        CHECK(quality.find("1 value in customers.seats did not convert to integer") !=
              std::string::npos);
        CHECK(quality.find("1 value in customers.visits did not convert to integer") !=
              std::string::npos);
    }
}

TEST_CASE("clickhouse types: names outside the rule and unread types are refused where written") {
    HandMadeDatabase ch;
    ch.must(
        "CREATE TABLE customers (`cust id` Int64, tags Array(String), city String) "
        "ENGINE = MergeTree ORDER BY `cust id`");
    ch.must("INSERT INTO customers VALUES (1, ['a'], 'x'), (1, [], 'y')");
    TempDir dir;
    const std::string spaced = dir.write("s.yaml", R"(ruleset: names
version: 1
source:
  customers: customers
  key: "cust id"
general:
  segments:
    - id: x
      when: city == 'x'
    - id: rest
      when: otherwise
)");
    for (const char* command : {"run", "diff", "explain"}) {
        CAPTURE(command);
        std::vector<std::string> args = {command, spaced};
        if (std::string(command) == "diff") args.push_back(spaced);
        if (std::string(command) == "explain") args.insert(args.end(), {"--customer", "1"});
        args.insert(args.end(), {"--db", ch.url(), "--as-of", "2026-11-01"});
        const Run refused = run_cli(args);
        INFO(refused.err);
        CHECK(refused.code == 1);
        CHECK(refused.err.find("s.yaml:5:8: error: cannot compile to clickhouse: 'cust id' is "
                               "not a name strata writes into warehouse SQL") != std::string::npos);
    }
    ch.must(
        "CREATE TABLE plain (id Int64, tags Array(String), city String) "
        "ENGINE = MergeTree ORDER BY id");
    ch.must("INSERT INTO plain VALUES (1, ['a'], 'x'), (1, [], 'y'), (2, [], 'x')");
    const std::string arrays = dir.write("a.yaml", R"(ruleset: arrays
version: 1
source:
  customers: plain
  key: id
  types: { tags: string }
general:
  segments:
    - id: x
      when: tags == 'a'
    - id: rest
      when: otherwise
)");
    const Run check = run_cli({"check", arrays, "--db", ch.url()});
    INFO(check.out);
    CHECK(check.code == 1);
    CHECK(check.out.find("a.yaml:6:12: error: cannot compile to clickhouse: column 'plain.tags': "
                         "its ClickHouse type Array(String) is not one strata reads") !=
          std::string::npos);
    // Without `types:`, each use of the column is where it is refused: the table's line said
    // less, and the use was refused again as "the type of this value is not known".
    const std::string untyped = dir.write("u.yaml", R"(ruleset: arrays
version: 1
source:
  customers: plain
  key: id
general:
  segments:
    - id: x
      when: tags == 'a'
    - id: y
      when: tags is null
    - id: rest
      when: otherwise
)");
    const Run uses = run_cli({"check", untyped, "--db", ch.url()});
    INFO(uses.out);
    CHECK(uses.code == 1);
    for (const char* at : {"u.yaml:9:13: ", "u.yaml:11:13: "})
        CHECK(uses.out.find(std::string(at) +
                            "error: cannot compile to clickhouse: column 'plain.tags': its "
                            "ClickHouse type Array(String) is not one strata reads") !=
              std::string::npos);
    CHECK(uses.out.find("u.yaml:4:") == std::string::npos);
    CHECK(uses.out.find("the type of this value is not known") == std::string::npos);
    // A repeated key: explain refuses the base as run and diff do, rather than answer.
    const std::string cities = dir.write("c.yaml", R"(ruleset: cities
version: 1
source: { customers: plain, key: id }
general:
  segments:
    - id: x
      when: city == 'x'
    - id: rest
      when: otherwise
)");
    for (const char* command : {"run", "explain"}) {
        CAPTURE(command);
        std::vector<std::string> args = {command,  cities,    "--db",
                                         ch.url(), "--as-of", "2026-11-01"};
        if (std::string(command) == "explain") args.insert(args.end(), {"--customer", "2"});
        const Run refused = run_cli(args);
        CHECK(refused.code == 2);
        CHECK(refused.err.find("table 'plain' has 1 row whose key 'id' repeats another row's") !=
              std::string::npos);
    }
}

// A UInt64 key beyond the largest Int64 is read as no key, as a null is: the base is refused
// as one with a null key, by every command, rather than a run failing on the server's error
// (or a dry run counting a keyless customer, a compiled query giving a null key).
TEST_CASE("clickhouse types: a UInt64 key beyond Int64 is refused as a missing key") {
    HandMadeDatabase ch;
    ch.must("CREATE TABLE kc (id UInt64, nm String) ENGINE = MergeTree ORDER BY id");
    ch.must(
        "INSERT INTO kc VALUES (1, 'a'), (9223372036854775807, 'c'), (0, 'd'), "
        "(9223372036854775808, 'x')");
    TempDir dir;
    const std::string rules = dir.write("k.yaml", R"(ruleset: kk
version: 1
source: { customers: kc, key: id }
general:
  segments:
    - id: a
      when: nm == 'a'
    - id: b
      when: otherwise
)");
    const std::string refusal =
        "table 'kc' has 0 rows whose key 'id' repeats another row's and 1 with a null 'id' (or a "
        "UInt64 beyond the largest Int64, which reads as no key)";
    const std::vector<std::vector<std::string>> commands = {
        {"run", rules, "--db", ch.url(), "--as-of", "2026-11-01"},
        {"run", rules, "--db", ch.url(), "--as-of", "2026-11-01", "--dry-run"},
        {"compile", rules, "--dialect", "clickhouse", "--db", ch.url()},
        {"explain", rules, "--customer", "1", "--db", ch.url(), "--as-of", "2026-11-01"},
        {"diff", rules, rules, "--db", ch.url(), "--as-of", "2026-11-01"}};
    for (const auto& args : commands) {
        CAPTURE(args[0]);
        const Run refused = run_cli(args);
        INFO(refused.out << refused.err);
        CHECK(refused.code == 2);
        CHECK(refused.err.find(refusal) != std::string::npos);
    }
    // Without the row beyond Int64 the same rules run, the largest Int64 a key like any other.
    ch.must("RENAME TABLE kc TO kc_all");
    ch.must("CREATE TABLE kc (id UInt64, nm String) ENGINE = MergeTree ORDER BY id");
    ch.must("INSERT INTO kc SELECT * FROM kc_all WHERE id <= 9223372036854775807");
    const Run ran = run_cli({"run", rules, "--db", ch.url(), "--as-of", "2026-11-01"});
    INFO(ran.out << ran.err);
    CHECK(ran.code == 0);
    CHECK(ran.out.find("3 customers") != std::string::npos);
}
