// strata compile --dialect clickhouse held to the embedded engine on the real two-shard
// ClickHouse 18.16: random rule files and bases (tests/sql_generator.hpp), each base loaded
// into local MergeTree tables on both shards behind Distributed tables sharded by customer
// key (warehouse/load/clickhouse_loader.hpp), the compiled query run on the cluster, and every
// customer's segment and tactical ids compared with a run of the engine and its export.
// STRATA_CH_PAIRS sets how many pairs (default 25, about a minute: ClickHouse takes about 2 s per
// pair).
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>

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
    std::string out;
    for (const Row& row : result.value().rows)
        out += row.at(0).value_or("") + "," + row.at(1).value_or("<none>") + "," +
               row.at(2).value_or("") + "\n";
    return out;
}

// The engine's placement against the compiled ClickHouse query's, on one base. A failure
// does not stop the test case, so that `make fuzz-sql` goes on to the next pair; with
// STRATA_SQL_KEEP the pair is kept in /tmp/ch_fail.* (keep_disagreement).
void check_agrees(const TempDir& dir, const std::string& rules, const std::string& db,
                  const std::string& as_of) {
    std::stringstream text;
    text << std::ifstream(rules).rdbuf();
    INFO("rules:\n" << text.str());
    INFO("as_of: " << as_of);
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
    CHECK(compiled.code == 0);
    if (compiled.code != 0) return keep_disagreement("ch", db, rules, as_of);
    INFO(compiled.out);
    const std::optional<std::string> sql_rows = clickhouse_rows(first, compiled.out);
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
