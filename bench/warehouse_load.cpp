// Loads a SQLite base into PostgreSQL or a sharded ClickHouse with the warehouse loaders the
// tests use (warehouse/copy_from_sqlite.hpp, warehouse/load/clickhouse_loader.hpp), and prints
// how long that took as one JSON object. Not run by the tests; bench/warehouse_bench.py drives
// it. The CMake target is strata_warehouse_load_bench.
//
//   strata_warehouse_load_bench DB postgresql://USER@HOST:PORT/DATABASE
//   strata_warehouse_load_bench DB clickhouse://HOST:PORT/DATABASE?cluster=NAME
//                                  clickhouse://HOST:PORT2/DATABASE ...
//
// For ClickHouse every URL names one shard's server (the first receives the rows); the
// database is created on each shard when missing, and earlier tables of the same names are
// dropped, so a second load replaces the first (PostgreSQL's loader drops its tables itself).
// PostgreSQL's tables are analysed after the copy (inside the load time), as anyone would do
// after a bulk load before querying.
//
// Tables: `customers` and `orders`, keyed by `customer_id` (the bench base's), or
// `--tables NAME:KEY,NAME:KEY`. Output: {"backend":..., "rows":..., "seconds":...}; the rows
// are those the loader wrote (ClickHouse: counted on the cluster after the load). Exit codes:
// 0 loaded, 2 anything else, with the reason on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "warehouse/copy_from_sqlite.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/load/clickhouse_loader.hpp"

using namespace strata::warehouse;

namespace {

int fail(const std::string& message) {
    std::fprintf(stderr, "strata_warehouse_load_bench: %s\n", message.c_str());
    return 2;
}

// "customers:customer_id,orders:customer_id" as tables with their keys; empty on a bad list.
std::vector<TableToLoad> parse_tables(const std::string& text) {
    std::vector<TableToLoad> tables;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        const size_t colon = item.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) return {};
        tables.push_back({item.substr(0, colon), item.substr(colon + 1)});
        start = comma + 1;
    }
    return tables;
}

int load_postgres(const std::string& db, const PostgresUrl& url,
                  const std::vector<TableToLoad>& tables) {
    auto connection = PostgresConnection::connect(url);
    if (!connection) return fail(connection.error().describe());
    std::vector<std::string> names;
    std::string analyse = "ANALYZE ";
    for (const auto& t : tables) {
        auto quoted = quote_postgres_identifier(t.table);
        if (!quoted) return fail(identifier_problem(t.table));
        analyse += (names.empty() ? "" : ", ") + *quoted;
        names.push_back(t.table);
    }
    const auto start = std::chrono::steady_clock::now();
    auto copied = copy_sqlite_tables(db, names, connection.value());
    if (!copied) return fail(copied.error().describe());
    auto analysed = connection.value().exec_script(analyse);
    if (!analysed) return fail(analysed.error().describe());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"backend\":\"postgres\",\"rows\":%lld,\"seconds\":%.3f}\n",
                static_cast<long long>(copied.value()), seconds);
    return 0;
}

int load_clickhouse(const std::string& db, const std::vector<ClickHouseUrl>& shards,
                    const std::vector<TableToLoad>& tables) {
    if (!shards[0].cluster) return fail("the first ClickHouse URL needs ?cluster=NAME");
    const std::string cluster = *shards[0].cluster;
    for (const ClickHouseUrl& shard : shards) {
        ClickHouseUrl server = shard;
        server.database = "default";
        auto name = quote_clickhouse_identifier(shard.database);
        if (!name) return fail(identifier_problem(shard.database));
        auto made = ClickHouseClient(server).query("CREATE DATABASE IF NOT EXISTS " + *name);
        if (!made) return fail(made.error().describe());
        ClickHouseClient client(shard);
        for (const auto& t : tables) {
            for (const std::string& table : {t.table, t.table + "_local"}) {
                auto quoted = quote_clickhouse_identifier(table);
                if (!quoted) return fail(identifier_problem(table));
                auto dropped = client.query("DROP TABLE IF EXISTS " + *quoted);
                if (!dropped) return fail(dropped.error().describe());
            }
        }
    }
    const auto start = std::chrono::steady_clock::now();
    const std::string problem = load_sqlite_into_clickhouse(db, tables, shards, cluster);
    if (!problem.empty()) return fail(problem);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    long long rows = 0;
    ClickHouseClient first(shards[0]);
    for (const auto& t : tables) {
        auto counted = first.query("SELECT count() FROM " + *quote_clickhouse_identifier(t.table));
        if (!counted) return fail(counted.error().describe());
        rows += std::stoll(counted.value().rows.at(0).at(0).value_or("0"));
    }
    std::printf("{\"backend\":\"clickhouse\",\"shards\":%zu,\"rows\":%lld,\"seconds\":%.3f}\n",
                shards.size(), rows, seconds);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<TableToLoad> tables = {{"customers", "customer_id"}, {"orders", "customer_id"}};
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--tables" && i + 1 < args.size()) {
            tables = parse_tables(args[i + 1]);
            if (tables.empty()) return fail("--tables takes NAME:KEY,NAME:KEY");
            args.erase(args.begin() + static_cast<long>(i),
                       args.begin() + static_cast<long>(i) + 2);
            break;
        }
    }
    if (args.size() < 2) {
        std::fprintf(stderr,
                     "usage: strata_warehouse_load_bench DB postgresql://... | "
                     "clickhouse://HOST:PORT/DB?cluster=NAME [clickhouse://... per other shard] "
                     "[--tables NAME:KEY,...]\n");
        return 2;
    }
    const std::string db = args[0];
    std::vector<DatabaseLocation> locations;
    for (size_t i = 1; i < args.size(); ++i) {
        std::string error;
        auto location = parse_database_argument(args[i], error);
        if (!location) return fail(error);
        locations.push_back(*location);
    }
    if (const auto* pg = std::get_if<PostgresUrl>(&locations[0])) {
        if (locations.size() != 1) return fail("PostgreSQL takes one URL");
        return load_postgres(db, *pg, tables);
    }
    std::vector<ClickHouseUrl> shards;
    for (const auto& location : locations) {
        const auto* ch = std::get_if<ClickHouseUrl>(&location);
        if (!ch) return fail("give one postgresql:// URL, or one clickhouse:// URL per shard");
        shards.push_back(*ch);
    }
    return load_clickhouse(db, shards, tables);
}
