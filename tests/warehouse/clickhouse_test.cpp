// The ClickHouse client against two real ClickHouse 18.16 servers forming the cluster
// strata_two_shards (scripts/warehouse.sh): the literal escaper and TabSeparated bulk inserts
// with hostile strings, value round trips, a Distributed table over both shards, errors.
#include <doctest/doctest.h>

#include <map>

#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/clickhouse_text.hpp"
#include "warehouse/identifiers.hpp"

using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

ResultTable must(Outcome<ResultTable> outcome) {
    if (!outcome) FAIL(outcome.error().describe());
    return std::move(outcome.value());
}

void must(const Outcome<Done>& outcome) {
    if (!outcome) FAIL(outcome.error().describe());
}

std::string hex_of(const std::string& bytes) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// A database of its own on one server, dropped at the end of the test.
class ScratchDatabase {
  public:
    ScratchDatabase(ClickHouseUrl server, std::string name)
        : client_(server), name_(std::move(name)) {
        must(client_.query("CREATE DATABASE " + *quote_clickhouse_identifier(name_)));
        server.database = name_;
        client_ = ClickHouseClient(server);
    }
    ~ScratchDatabase() {
        (void)client_.query("DROP DATABASE IF EXISTS " + *quote_clickhouse_identifier(name_));
    }
    ClickHouseClient& client() { return client_; }

  private:
    ClickHouseClient client_;
    std::string name_;
};

// Every string of hostile_strings(), NUL bytes and every byte from 0 to 255 (not UTF-8).
std::vector<std::string> hostile_bytes() {
    std::vector<std::string> strings = hostile_strings();
    strings.push_back(std::string("nul\0inside", 10));
    strings.push_back(std::string("\0", 1));
    strings.push_back(std::string("\\\0'", 3));
    std::string every_byte;
    for (int b = 0; b < 256; ++b)
        every_byte += static_cast<char>(b);
    strings.push_back(every_byte);
    strings.push_back("\xFF\xFE invalid UTF-8 \xC3");
    return strings;
}

}  // namespace

TEST_CASE("clickhouse: the string-literal escaper gives the server back the same bytes") {
    ClickHouseClient client(clickhouse_url());
    for (const std::string& value : hostile_bytes()) {
        CAPTURE(hex_of(value));
        std::string literal = clickhouse_string_literal(value);
        auto result = client.query("SELECT " + literal + " AS s, hex(" + literal +
                                   ") AS h, length(" + literal + ") AS n");
        REQUIRE(result);
        REQUIRE(result.value().rows.size() == 1);
        const Row& row = result.value().rows[0];
        CHECK(row[0] == value);
        CHECK(row[1] == hex_of(value));
        CHECK(row[2] == std::to_string(value.size()));
        // And as a comparison: the literal equals the value and nothing else.
        auto compared = must(client.query("SELECT " + literal + " = unhex('" + hex_of(value) +
                                          "'), " + literal + " = 'x'"));
        CHECK(compared.rows.at(0) == Row{"1", value == "x" ? "1" : "0"});
    }
}

TEST_CASE("clickhouse: ints, big ints, decimals, dates, NULLs and hostile strings round-trip") {
    ScratchDatabase scratch(clickhouse_url(), unique_name("strata_values"));
    ClickHouseClient& client = scratch.client();
    must(client.query(
        "CREATE TABLE round_trip (id UInt32, small Nullable(Int32), big Int64, huge UInt64, "
        "amount Nullable(Decimal(38, 10)), day Nullable(Date), note Nullable(String)) "
        "ENGINE = MergeTree ORDER BY id"));
    std::vector<Row> rows = {
        {"0", "0", "0", "0", "0.0000000000", "2024-02-29", "plain"},
        {"1", "-2147483648", "-9223372036854775808", "18446744073709551615",
         "-12345678901234567890.0123456789", "1970-01-02", ""},
        {"2", "2147483647", "9223372036854775807", "9223372036854775808",
         "9999999999999999999999999999.9999999999", "2105-12-31", "\\N"},
        {"3", std::nullopt, "-1", "1", std::nullopt, std::nullopt, std::nullopt},
    };
    const auto strings = hostile_bytes();
    for (std::size_t i = 0; i < strings.size(); ++i) {
        rows.push_back(
            {std::to_string(100 + i), "1", "1", "1", "1.5000000000", "2000-01-31", strings[i]});
    }
    must(client.insert_rows("round_trip", {"id", "small", "big", "huge", "amount", "day", "note"},
                            rows));
    auto result = must(client.query("SELECT * FROM round_trip ORDER BY id"));
    CHECK(result.columns ==
          std::vector<std::string>{"id", "small", "big", "huge", "amount", "day", "note"});
    REQUIRE(result.rows.size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        CAPTURE(i);
        CHECK(result.rows[i] == rows[i]);
    }
    // ClickHouse 18.16 writes its first day, 1970-01-01, as 0000-00-00 (what readers of Date
    // columns must expect), and reads that text back as the same day.
    must(client.query("CREATE TABLE first_day (day Date) ENGINE = Memory"));
    must(client.insert_rows("first_day", {"day"}, {{"1970-01-01"}, {"0000-00-00"}}));
    auto first_day =
        must(client.query("SELECT day, toUInt16(day), day = toDate('1970-01-01') FROM first_day"));
    CHECK(first_day.rows == std::vector<Row>{{"0000-00-00", "0", "1"}, {"0000-00-00", "0", "1"}});
    // The text \N in a String column stays text; only a Nullable NULL is NULL.
    auto nulls = must(client.query("SELECT id FROM round_trip WHERE isNull(note) ORDER BY id"));
    CHECK(nulls.rows == std::vector<Row>{{"3"}});
    // Each hostile value is found by an escaped literal, and only that row.
    for (std::size_t i = 0; i < strings.size(); ++i) {
        auto found = must(client.query("SELECT id FROM round_trip WHERE note = " +
                                       clickhouse_string_literal(strings[i]) + " ORDER BY id"));
        std::vector<Row> expected;
        for (const Row& row : rows) {
            if (row[6] == strings[i]) expected.push_back({row[0]});
        }
        CHECK(found.rows == expected);
    }
}

TEST_CASE("clickhouse: a Distributed table over the two shards takes rows and reads them back") {
    std::string database = unique_name("strata_sharded");
    std::string cluster = cluster_name();
    ScratchDatabase shard1(clickhouse_url(), database);
    ScratchDatabase shard2(second_shard_url(), database);

    // The cluster as the servers know it: two shards, one server each.
    auto shards =
        must(shard1.client().query("SELECT shard_num, port FROM system.clusters WHERE cluster = " +
                                   clickhouse_string_literal(cluster) + " ORDER BY shard_num"));
    REQUIRE(shards.rows.size() == 2);
    CHECK(shards.rows[0][1] != shards.rows[1][1]);

    const std::string local_table =
        "CREATE TABLE customers_local (customer_id UInt64, name Nullable(String), spend "
        "Decimal(18, 2)) ENGINE = MergeTree ORDER BY customer_id";
    const std::string distributed =
        "CREATE TABLE customers AS customers_local ENGINE = "
        "Distributed(" +
        *quote_clickhouse_identifier(cluster) + ", " + *quote_clickhouse_identifier(database) +
        ", customers_local, customer_id)";
    for (ScratchDatabase* shard : {&shard1, &shard2}) {
        must(shard->client().query(local_table));
        must(shard->client().query(distributed));
    }
    std::vector<Row> rows;
    const auto& strings = hostile_strings();
    for (int id = 1; id <= 200; ++id) {
        Cell name = id % 10 == 0 ? Cell() : Cell(strings[id % strings.size()]);
        rows.push_back({std::to_string(id), name, std::to_string(id) + ".25"});
    }
    must(shard1.client().insert_rows("customers", {"customer_id", "name", "spend"}, rows,
                                     {{"insert_distributed_sync", "1"}}));

    // The rows are split by customer_id % 2 (one weight per shard): both shards hold some.
    auto on_shard1 =
        must(shard1.client().query("SELECT count(), sum(customer_id % 2) FROM customers_local"));
    auto on_shard2 =
        must(shard2.client().query("SELECT count(), sum(customer_id % 2) FROM customers_local"));
    CHECK(on_shard1.rows.at(0) == Row{"100", "0"});
    CHECK(on_shard2.rows.at(0) == Row{"100", "100"});

    // Read through the Distributed table from either server: every row, as inserted.
    for (ScratchDatabase* shard : {&shard1, &shard2}) {
        auto all = must(shard->client().query(
            "SELECT customer_id, name, spend FROM customers ORDER BY customer_id"));
        REQUIRE(all.rows.size() == rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            CAPTURE(i);
            CHECK(all.rows[i] == rows[i]);
        }
        auto totals = must(shard->client().query(
            "SELECT count(), countIf(isNull(name)), sum(spend) FROM customers"));
        CHECK(totals.rows.at(0) == Row{"200", "20", "20150.00"});
    }
}

TEST_CASE("clickhouse: errors carry the server's message, its code and the HTTP status") {
    ClickHouseClient client(clickhouse_url());
    auto missing = client.query("SELECT * FROM no_such_table_here");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == "60");
    CHECK(missing.error().http_status == 404);
    CHECK(missing.error().message.find("no_such_table_here") != std::string::npos);
    CHECK(missing.error().message.find("DB::Exception") == std::string::npos);
    CHECK_FALSE(missing.error().unreachable);
    CHECK(missing.error().describe().rfind("ClickHouse: ", 0) == 0);

    auto syntax = client.query("SELEC 1");
    REQUIRE_FALSE(syntax);
    CHECK(syntax.error().code == "62");
    CHECK(syntax.error().http_status == 400);

    auto missing_column = client.query("SELECT absent_column FROM system.one");
    REQUIRE_FALSE(missing_column);
    CHECK(missing_column.error().message.find("absent_column") != std::string::npos);

    auto unknown_setting = client.query("SELECT 1", {{"no_such_setting", "1"}});
    REQUIRE_FALSE(unknown_setting);
    CHECK(unknown_setting.error().code == "115");
    // A setting's value is escaped by curl: it cannot add URL parameters of its own.
    // (Unescaped, `database=nope` would be a parameter of its own and fail with code 81.)
    auto smuggled = client.query("SELECT value FROM system.settings WHERE name = 'max_threads'",
                                 {{"max_threads", "3&database=nope"}});
    REQUIRE(smuggled);
    CHECK(smuggled.value().rows == std::vector<Row>{{"3"}});
    // Bad names never reach the server.
    auto bad_name = client.query("SELECT 1", {{"max threads", "1"}});
    REQUIRE_FALSE(bad_name);
    CHECK(bad_name.error().http_status == 0);
    CHECK_FALSE(client.insert_rows("t`; DROP TABLE x", {"a"}, {{"1"}}).ok());
    CHECK_FALSE(client.insert_rows("t", {"a", "b"}, {{"1"}}).ok());

    // The client still works after errors.
    CHECK(must(client.query("SELECT 1 AS one")).rows == std::vector<Row>{{"1"}});
}

TEST_CASE("clickhouse: a refused connection and an unknown database are clear errors") {
    ClickHouseUrl url = clickhouse_url();
    SUBCASE("nothing listens on the port") {
        url.port = closed_port();
        ClickHouseClient client(url);
        auto result = client.query("SELECT 1");
        REQUIRE_FALSE(result);
        CHECK(result.error().unreachable);
        CHECK(result.error().http_status == 0);
        CHECK(result.error().message.find("cannot reach ClickHouse at http://127.0.0.1:" +
                                          std::to_string(url.port) + "/") == 0);
    }
    SUBCASE("the database does not exist") {
        url.database = "no_such_database";
        ClickHouseClient client(url);
        auto result = client.query("SELECT 1");
        REQUIRE_FALSE(result);
        CHECK_FALSE(result.error().unreachable);
        CHECK(result.error().code == "81");
        CHECK(result.error().message.find("no_such_database") != std::string::npos);
    }
    SUBCASE("an unknown user is refused") {
        url.user = "nobody_here";
        ClickHouseClient client(url);
        auto result = client.query("SELECT 1");
        REQUIRE_FALSE(result);
        CHECK(result.error().code == "192");
    }
}
