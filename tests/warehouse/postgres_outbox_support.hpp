// What the tests of the PostgreSQL outbox share: rows seeded alike into a PostgreSQL and a SQLite
// outbox, and the outbox command run on either.
#pragma once

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "dsl/diagnostics.hpp"
#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "engine/value_pool.hpp"
#include "state/postgres_outbox.hpp"
#include "state/postgres_state.hpp"
#include "tests/outbox_fixture.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::warehouse::testing::pg_outbox_fixture {

using namespace strata::testing;

// One row as a test writes it, in either store.
struct Seed {
    strata::Value key = strata::Value(int64_t{1});
    std::string status = "pending";
    std::string trigger = "sleeping_email";
    int64_t attempt = 0;
    std::optional<std::string> consumer = std::nullopt;
    std::optional<std::string> lease_until = std::nullopt;
    std::optional<std::string> reason = std::nullopt;
    std::string ruleset = "retail";
    std::string type = "email";
    std::string payload = R"({"subject": "We miss you", "discount": 10})";
};

inline std::vector<Seed> pending(int n) {
    std::vector<Seed> seeds;
    for (int i = 1; i <= n; ++i)
        seeds.push_back({strata::Value(int64_t{i})});
    return seeds;
}

inline bool integer_key(const Seed& s) {
    return std::holds_alternative<int64_t>(s.key);
}

inline std::string key_text(const Seed& s) {
    return integer_key(s) ? std::to_string(std::get<int64_t>(s.key))
                          : std::get<strata::Str>(s.key).str();
}

inline std::string idempotency_key_of(const Seed& s) {
    return strata::idempotency_key(s.ruleset, s.trigger, s.key, "2026-11-01", 0);
}

// A database of its own with the strata_* tables (ensure_postgres_state), dropped at the end;
// `url` is what --db takes.
struct OutboxDatabase {
    std::string name;
    std::string url;
    std::optional<PostgresConnection> connection;

    OutboxDatabase() {
        spdlog::set_level(spdlog::level::warn);
        const PostgresUrl admin = postgres_url();
        auto server = PostgresConnection::connect(admin);
        if (!server) FAIL(server.error().describe());
        name = unique_name("strata_pg_outbox");
        auto made =
            server.value().exec_script("CREATE DATABASE " + *quote_postgres_identifier(name));
        if (!made) FAIL(made.error().describe());
        url = "postgresql://" + admin.user + "@" + admin.host + ":" + std::to_string(admin.port) +
              "/" + name;
        connection.emplace(connect());
        auto state = strata::state::ensure_postgres_state(*connection);
        if (!state) FAIL(state.error().describe());
    }

    ~OutboxDatabase() {
        connection.reset();
        auto server = PostgresConnection::connect(postgres_url());
        if (server)
            server.value().exec_script("DROP DATABASE IF EXISTS " +
                                       *quote_postgres_identifier(name) + " WITH (FORCE)");
    }

    // Another connection to the same database.
    PostgresConnection connect() const {
        PostgresUrl other = postgres_url();
        other.database = name;
        auto c = PostgresConnection::connect(other);
        if (!c) FAIL(c.error().describe());
        return std::move(c.value());
    }

    ResultTable exec(const std::string& sql, const std::vector<Cell>& params = {}) {
        auto done = connection->exec(sql, params);
        if (!done) FAIL(done.error().describe() << "\n" << sql);
        return std::move(done.value());
    }

    // The rows in order, ids from 1.
    void insert(const std::vector<Seed>& seeds) {
        for (const Seed& s : seeds) {
            exec(
                "INSERT INTO strata_outbox (idempotency_key, ruleset, version, trigger_id, "
                "customer_key, key_is_integer, action, type, payload, run_id, as_of, status, "
                "attempt, consumer, lease_until, reason, created_at, updated_at) VALUES "
                "($1, $2, 3, $3, $4, $5::boolean, 0, $6, $7, 7, '2026-11-01', $8, "
                "$9::integer, $10, $11, $12, '2026-11-01T06:00:00Z', '2026-11-01T06:00:00Z')",
                {idempotency_key_of(s), s.ruleset, s.trigger, key_text(s),
                 integer_key(s) ? "true" : "false", s.type, s.payload, s.status,
                 std::to_string(s.attempt), s.consumer, s.lease_until, s.reason});
        }
    }

    // One column of one row as text, "<none>" for NULL.
    std::string column(int64_t id, const std::string& name) {
        const auto rows = exec("SELECT " + name + "::text FROM strata_outbox WHERE id = $1::bigint",
                               {std::to_string(id)});
        REQUIRE(rows.rows.size() == 1);
        return rows.rows[0][0].value_or("<none>");
    }

    int64_t count(const std::string& where) {
        const auto rows = exec("SELECT count(*) FROM strata_outbox WHERE " + where);
        return std::stoll(*rows.rows.at(0).at(0));
    }
};

// The same rows in a SQLite state file (ids from 1), for the differential checks.
inline std::string sqlite_outbox(const TempDir& dir, const std::vector<Seed>& seeds) {
    const std::string path = dir.file("state.db");
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE(db);
    SQLite::Statement insert(
        *db,
        "INSERT INTO strata_outbox (idempotency_key, ruleset, version, trigger_id, customer_key, "
        "action, type, payload, run_id, as_of, status, attempt, consumer, lease_until, reason, "
        "created_at, updated_at) VALUES (?, ?, 3, ?, ?, 0, ?, ?, 7, '2026-11-01', ?, ?, ?, ?, ?, "
        "'2026-11-01T06:00:00Z', '2026-11-01T06:00:00Z')");
    for (const Seed& s : seeds) {
        insert.reset();
        insert.bind(1, idempotency_key_of(s));
        insert.bind(2, s.ruleset);
        insert.bind(3, s.trigger);
        if (integer_key(s))
            insert.bind(4, std::get<int64_t>(s.key));
        else
            insert.bind(4, key_text(s));
        insert.bind(5, s.type);
        insert.bind(6, s.payload);
        insert.bind(7, s.status);
        insert.bind(8, s.attempt);
        for (int i = 0; i < 3; ++i) {
            const auto& text = i == 0 ? s.consumer : i == 1 ? s.lease_until : s.reason;
            if (text)
                insert.bind(9 + i, *text);
            else
                insert.bind(9 + i);
        }
        insert.exec();
    }
    return path;
}

// The outbox commands and their output, read as the SQLite outbox tests read them.
using strata::testing::outbox_fixture::Ids;
using strata::testing::outbox_fixture::ids_of;
using strata::testing::outbox_fixture::lines;
using strata::testing::outbox_fixture::outbox;

}  // namespace strata::warehouse::testing::pg_outbox_fixture
