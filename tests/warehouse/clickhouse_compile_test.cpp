// strata compile --dialect clickhouse held to the embedded engine on the real two-shard
// ClickHouse 18.16: random rule files and bases (tests/sql_generator.hpp), each base loaded
// into local MergeTree tables on both shards behind Distributed tables sharded by customer
// key (warehouse/load/clickhouse_loader.hpp), the compiled query run on the cluster, and every
// customer's segment and tactical ids compared with a run of the engine and its export.
// STRATA_CH_PAIRS sets how many pairs (default 25, about a minute: ClickHouse takes about 2 s per
// pair).
#include <doctest/doctest.h>

#include <cstdlib>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
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

std::string clickhouse_rows(const ClickHouseUrl& url, const std::string& sql) {
    ClickHouseClient client(url);
    std::string query = sql;
    while (!query.empty() && (query.back() == '\n' || query.back() == ';'))
        query.pop_back();
    auto result = client.query(query);
    if (!result) FAIL(result.error().describe());
    std::string out;
    for (const Row& row : result.value().rows)
        out += row.at(0).value_or("") + "," + row.at(1).value_or("<none>") + "," +
               row.at(2).value_or("") + "\n";
    return out;
}

// The engine's placement against the compiled ClickHouse query's, on one base.
void check_agrees(const TempDir& dir, const std::string& rules, const std::string& db,
                  const std::string& as_of) {
    std::stringstream text;
    text << std::ifstream(rules).rdbuf();
    INFO("rules:\n" << text.str());
    ShardedDatabase sharded;
    const std::string loaded =
        load_sqlite_into_clickhouse(db, {{"customers", "customer_id"}, {"orders", "customer_id"}},
                                    sharded.shards(), cluster_name());
    REQUIRE(loaded == "");
    // Names and types bound against the server's system.columns (the Distributed tables).
    const ClickHouseUrl& first = sharded.shards()[0];
    const std::string url =
        "clickhouse://" + first.host + ":" + std::to_string(first.port) + "/" + first.database;
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "clickhouse", "--db", url, "--as-of", as_of});
    INFO(compiled.err);
    REQUIRE(compiled.code == 0);
    const std::string sql_rows = clickhouse_rows(sharded.shards()[0], compiled.out);
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh, std::filesystem::copy_options::overwrite_existing);
    const Run run = run_cli({"run", rules, "--db", fresh, "--as-of", as_of});
    if (run.code != 0) {
        INFO(run.err);
        CHECK(sql_rows.find(",<none>,") != std::string::npos);
        return;
    }
    const Run exported =
        run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
    REQUIRE(exported.code == 0);
    const size_t header = exported.out.find('\n');
    INFO(compiled.out);
    CHECK(sql_rows == exported.out.substr(header + 1));
}

}  // namespace

TEST_CASE("clickhouse compile: the query on two shards places every customer as the engine") {
    const char* env = std::getenv("STRATA_CH_PAIRS");
    const int pairs = env ? std::atoi(env) : 25;
    Gen gen{std::mt19937(20261102), true};  // only what every backend compiles
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string db = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        CAPTURE(i);
        check_agrees(dir, rules, db,
                     gen.one<std::string>({"2026-11-01", "2024-02-29", "2026-03-31"}));
    }
}
