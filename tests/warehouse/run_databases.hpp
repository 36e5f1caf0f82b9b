// The databases the tests of runs inside the warehouses run in: a PostgreSQL database of its
// own, and the same ClickHouse database on both shards, each loaded from a SQLite base.
#pragma once

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/copy_from_sqlite.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/load/clickhouse_loader.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::warehouse::testing {

// A database of its own (each pair starts with no run state); its URL for --db.
struct RunDatabase {
    std::string url;
    PostgresConnection connection;

    static RunDatabase create() {
        spdlog::set_level(spdlog::level::warn);
        PostgresUrl admin = postgres_url();
        auto server = PostgresConnection::connect(admin);
        if (!server) FAIL(server.error().describe());
        const std::string name = unique_name("strata_pg_run");
        auto made =
            server.value().exec_script("CREATE DATABASE " + *quote_postgres_identifier(name));
        if (!made) FAIL(made.error().describe());
        PostgresUrl url = admin;
        url.database = name;
        auto connection = PostgresConnection::connect(url);
        if (!connection) FAIL(connection.error().describe());
        return {"postgresql://" + url.user + "@" + url.host + ":" + std::to_string(url.port) + "/" +
                    name,
                std::move(connection.value())};
    }

    void load(const std::string& sqlite_path) {
        auto copied = copy_sqlite_tables(sqlite_path, {"customers", "orders"}, connection);
        if (!copied) FAIL(copied.error().describe());
    }
};

// The same database on both shards, dropped at the end; its URL for --db.
class ClusterDatabase {
  public:
    ClusterDatabase() : name_(unique_name("strata_ch_run")) {
        spdlog::set_level(spdlog::level::warn);
        for (ClickHouseUrl url : {clickhouse_url(), second_shard_url()}) {
            auto made = ClickHouseClient(url).query("CREATE DATABASE " +
                                                    *quote_clickhouse_identifier(name_));
            if (!made) FAIL(made.error().describe());
            url.database = name_;
            shards_.push_back(url);
        }
        url = "clickhouse://" + shards_[0].host + ":" + std::to_string(shards_[0].port) + "/" +
              name_ + "?cluster=" + cluster_name();
    }
    ~ClusterDatabase() {
        for (ClickHouseUrl url : shards_) {
            url.database = "default";
            (void)ClickHouseClient(url).query("DROP DATABASE IF EXISTS " +
                                              *quote_clickhouse_identifier(name_));
        }
    }
    // The base's tables, replaced by those of the SQLite file.
    void load(const std::string& sqlite_path,
              const std::vector<TableToLoad>& tables = {{"customers", "customer_id"},
                                                        {"orders", "customer_id"}}) {
        for (const ClickHouseUrl& shard : shards_) {
            for (const auto& t : tables) {
                for (const std::string& table : {t.table, t.table + "_local"})
                    (void)ClickHouseClient(shard).query("DROP TABLE IF EXISTS " + table);
            }
        }
        const std::string loaded =
            load_sqlite_into_clickhouse(sqlite_path, tables, shards_, cluster_name());
        REQUIRE(loaded == "");
    }
    ClickHouseClient client() const { return ClickHouseClient(shards_[0]); }
    std::string url;

  private:
    std::string name_;
    std::vector<ClickHouseUrl> shards_;
};

}  // namespace strata::warehouse::testing
