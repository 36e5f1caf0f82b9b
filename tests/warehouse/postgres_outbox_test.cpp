// The senders' commands on an outbox inside PostgreSQL (issue 13, state/postgres_outbox.hpp),
// on the real PostgreSQL 15: `strata outbox list|claim|ack|fail --db postgresql://...` follow
// the SQLite outbox's rules (tests/outbox_test.cpp checks the same behaviours there), claims on
// several connections at once never share a row and never wait for each other's rows, and the
// same rows give the same bytes from either store. Each test case has a database of its own,
// its rows written with INSERTs to set up each state.
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
#include "tests/test_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/postgres_client.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

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

std::vector<Seed> pending(int n) {
    std::vector<Seed> seeds;
    for (int i = 1; i <= n; ++i)
        seeds.push_back({strata::Value(int64_t{i})});
    return seeds;
}

bool integer_key(const Seed& s) {
    return std::holds_alternative<int64_t>(s.key);
}

std::string key_text(const Seed& s) {
    return integer_key(s) ? std::to_string(std::get<int64_t>(s.key))
                          : std::get<strata::Str>(s.key).str();
}

std::string idempotency_key_of(const Seed& s) {
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
std::string sqlite_outbox(const TempDir& dir, const std::vector<Seed>& seeds) {
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

Run outbox(const std::string& command, const std::string& db, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"outbox", command, "--db", db};
    args.insert(args.end(), more.begin(), more.end());
    return run_cli(args);
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

using Ids = std::vector<std::string>;

Ids ids_of(const std::string& jsonl) {
    Ids ids;
    for (const auto& line : lines(jsonl))
        ids.push_back(json_at(line, "$.id"));
    return ids;
}

}  // namespace

TEST_CASE("postgres outbox claim prints up to --limit pending actions as JSON Lines") {
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    OutboxDatabase pg;
    pg.insert({{strata::Value(int64_t{41})},
               {strata::intern("00123")},
               {strata::Value(int64_t{43})},
               {strata::Value(int64_t{44})}});
    const Run r = outbox("claim", pg.url, {"--limit", "2", "--consumer", "mailer-1"});
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    const auto claimed = lines(r.out);
    REQUIRE(claimed.size() == 2);
    CHECK(claimed[0] ==
          R"({"id":1,"idempotency_key":"6:retail/14:sleeping_email/3:i41/10:2026-11-01/0",)"
          R"("ruleset":"retail","version":3,"trigger":"sleeping_email","customer_key":41,)"
          R"("type":"email","payload":{"subject":"We miss you","discount":10},"run_id":7,)"
          R"("as_of":"2026-11-01","attempt":1})");
    // A text key stays text, leading zeros and all.
    CHECK(claimed[1].find(R"("id":2,)") == 1);
    CHECK(claimed[1].find(R"("customer_key":"00123",)") != std::string::npos);

    CHECK(ids_of(outbox("claim", pg.url, {"--limit", "5", "--consumer", "mailer-2"}).out) ==
          Ids{"3", "4"});
    const Run none = outbox("claim", pg.url, {"--limit", "5", "--consumer", "mailer-2"});
    CHECK(none.code == 0);
    CHECK(none.out.empty());
    CHECK(pg.column(1, "consumer") == "mailer-1");
    CHECK(pg.column(3, "consumer") == "mailer-2");
    CHECK(pg.column(3, "status") == "in_flight");
    CHECK(pg.column(3, "attempt") == "1");
    CHECK(pg.column(3, "lease_until").size() == 20);
}

TEST_CASE("postgres outbox list shows every action or those of one status or trigger") {
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    OutboxDatabase pg;
    pg.insert({{strata::Value(int64_t{1})},
               {strata::Value(int64_t{2}), "holdout"},
               {strata::Value(int64_t{3}), "capped"},
               {strata::Value(int64_t{4}), "pending", "vip_gift"}});
    REQUIRE(outbox("claim", pg.url, {"--limit", "1", "--consumer", "crm"}).code == 0);

    const auto table = lines(outbox("list", pg.url).out);
    REQUIRE(table.size() == 6);
    CHECK(table[0].rfind("ID  STATUS     ATTEMPT  RULESET  TRIGGER         CUSTOMER  TYPE   "
                         "AS_OF       CONSUMER  LEASE_UNTIL           REASON",
                         0) == 0);
    CHECK(table[1].rfind("1   in_flight  1        retail   sleeping_email  1         email  "
                         "2026-11-01  crm       20",
                         0) == 0);
    CHECK(table[2].rfind("2   holdout    0", 0) == 0);
    CHECK(table[4].find("vip_gift") != std::string::npos);
    CHECK(table[5] == "4 actions: 1 pending, 1 in_flight, 1 holdout, 1 capped");
    CHECK(lines(outbox("list", pg.url, {"--status", "capped"}).out).back() == "1 action: 1 capped");
    CHECK(outbox("list", pg.url, {"--status", "dead"}).out == "0 actions\n");

    const Run json = outbox("list", pg.url, {"--trigger", "sleeping_email", "--format", "json"});
    CHECK(json.code == 0);
    CHECK(json_at(json.out, "$.actions[2].id") == "3");
    CHECK(json_at(json.out, "$.actions[3]") == "<none>");
    CHECK(json_at(json.out, "$.actions[0].consumer") == "crm");
    CHECK(json.out.find(R"("attempt":0,"status":"holdout","consumer":null,"lease_until":null,)"
                        R"("reason":null})") != std::string::npos);

    // The library's filters: ruleset and customers (an integer key matches integer keys only).
    pg.insert({{strata::intern("4"), "pending", "vip_gift"}});
    strata::OutboxFilter filter;
    filter.ruleset = "retail";
    filter.customer_keys = {strata::Value(int64_t{4}), strata::Value(int64_t{2})};
    auto found = strata::state::list_postgres_outbox(*pg.connection, filter);
    REQUIRE(found.ok());
    REQUIRE(found.value().size() == 2);
    CHECK(found.value()[0].id == 2);
    CHECK(found.value()[1].id == 4);
    filter.customer_keys = {strata::intern("4")};
    REQUIRE(strata::state::list_postgres_outbox(*pg.connection, filter).value().size() == 1);
    CHECK(strata::state::list_postgres_outbox(*pg.connection, filter).value()[0].id == 5);
    filter.ruleset = "other";
    CHECK(strata::state::list_postgres_outbox(*pg.connection, filter).value().empty());
}

TEST_CASE("postgres outbox: held-out and capped actions are never claimed, acked or failed") {
    OutboxDatabase pg;
    pg.insert({{strata::Value(int64_t{1}), "holdout"}, {strata::Value(int64_t{2}), "capped"}});
    CHECK(outbox("claim", pg.url, {"--limit", "10", "--consumer", "c"}).out.empty());
    const Run ack = outbox("ack", pg.url, {"1", "2"});
    CHECK(ack.code == 2);
    CHECK(ack.err ==
          "strata outbox ack: action 1 is held out (the trigger's control group): it is never "
          "sent\nstrata outbox ack: action 2 is over its frequency cap: it is never sent\n");
    CHECK(outbox("fail", pg.url, {"1", "--reason", "x"}).code == 2);
    CHECK(pg.column(1, "status") == "holdout");
    CHECK(pg.column(2, "status") == "capped");
    CHECK(pg.column(2, "attempt") == "0");
}

TEST_CASE("postgres outbox ack marks claimed actions done; repeated is a note, unknown an error") {
    OutboxDatabase pg;
    pg.insert(pending(3));
    REQUIRE(outbox("claim", pg.url, {"--limit", "2", "--consumer", "c"}).code == 0);
    const Run ack = outbox("ack", pg.url, {"1"});
    CHECK(ack.code == 0);
    CHECK(ack.err.empty());
    CHECK(pg.column(1, "status") == "done");
    CHECK(pg.column(1, "lease_until") == "<none>");
    CHECK(pg.column(1, "consumer") == "c");
    CHECK(outbox("ack", pg.url, {"1"}).err ==
          "strata outbox ack: note: action 1 was already done\n");

    const Run mixed = outbox("ack", pg.url, {"99", "2", "3"});
    CHECK(mixed.code == 2);
    CHECK(mixed.err ==
          "strata outbox ack: action 99 is not in the outbox\n"
          "strata outbox ack: action 3 is pending and was never claimed\n");
    CHECK(pg.column(2, "status") == "done");
    CHECK(pg.column(3, "status") == "pending");
    // A repeated id sees what the first did.
    REQUIRE(outbox("claim", pg.url, {"--limit", "1", "--consumer", "c"}).code == 0);
    CHECK(outbox("ack", pg.url, {"3", "3"}).err ==
          "strata outbox ack: note: action 3 was already done\n");
}

TEST_CASE("postgres outbox fail retries until --max-attempts, then dead; a late fail keeps done") {
    OutboxDatabase pg;
    pg.insert(pending(2));
    REQUIRE(ids_of(outbox("claim", pg.url, {"--limit", "1", "--consumer", "c"}).out) == Ids{"1"});
    const Run first =
        outbox("fail", pg.url, {"1", "--reason", "SMTP 451: try later", "--max-attempts", "2"});
    CHECK(first.code == 0);
    CHECK(first.err.empty());
    CHECK(pg.column(1, "status") == "pending");
    CHECK(pg.column(1, "reason") == "SMTP 451: try later");
    CHECK(pg.column(1, "consumer") == "<none>");

    const auto retry = lines(outbox("claim", pg.url, {"--limit", "1", "--consumer", "d"}).out);
    REQUIRE(retry.size() == 1);
    CHECK(json_at(retry[0], "$.id") == "1");
    CHECK(json_at(retry[0], "$.attempt") == "2");
    const Run last = outbox("fail", pg.url, {"1", "--reason", "SMTP 550", "--max-attempts", "2"});
    CHECK(last.err ==
          "strata outbox fail: note: action 1 is dead after 2 attempt(s) (--max-attempts 2)\n");
    CHECK(pg.column(1, "status") == "dead");
    CHECK(pg.column(1, "reason") == "SMTP 550");
    CHECK(pg.column(1, "consumer") == "d");

    CHECK(ids_of(outbox("claim", pg.url, {"--limit", "5", "--consumer", "c"}).out) == Ids{"2"});
    CHECK(outbox("fail", pg.url, {"1", "--reason", "x"}).err ==
          "strata outbox fail: note: action 1 was already dead\n");
    CHECK(pg.column(1, "reason") == "SMTP 550");
    REQUIRE(outbox("ack", pg.url, {"2"}).code == 0);
    const Run late = outbox("fail", pg.url, {"2", "--reason", "timeout"});
    CHECK(late.code == 0);
    CHECK(late.err ==
          "strata outbox fail: note: action 2 is done (acked); the failure is not recorded\n");
    CHECK(pg.column(2, "status") == "done");

    // Five attempts by default.
    pg.insert({{strata::Value(int64_t{3})}});
    for (int attempt = 1; attempt <= 5; ++attempt) {
        CAPTURE(attempt);
        REQUIRE(ids_of(outbox("claim", pg.url, {"--limit", "1", "--consumer", "c"}).out) ==
                Ids{"3"});
        REQUIRE(outbox("fail", pg.url, {"3", "--reason", "down"}).code == 0);
        CHECK(pg.column(3, "status") == (attempt < 5 ? "pending" : "dead"));
    }
}

TEST_CASE("postgres outbox: an expired lease is released by the next claim, or dead-lettered") {
    OutboxDatabase pg;
    const std::string past = "2020-01-01T00:00:00Z";
    const std::string future = "2999-01-01T00:00:00Z";
    pg.insert({{strata::Value(int64_t{1}), "in_flight", "t", 2, "a", past},
               {strata::Value(int64_t{2}), "in_flight", "t", 1, "a", past},
               {strata::Value(int64_t{3}), "in_flight", "t", 1, "a", future},
               {strata::Value(int64_t{4})}});
    const Run again =
        outbox("claim", pg.url, {"--limit", "3", "--consumer", "b", "--max-attempts", "2"});
    CHECK(again.code == 0);
    const auto claimed = lines(again.out);
    REQUIRE(claimed.size() == 2);
    CHECK(json_at(claimed[0], "$.id") == "2");
    CHECK(json_at(claimed[0], "$.attempt") == "2");
    CHECK(json_at(claimed[1], "$.id") == "4");
    CHECK(pg.column(2, "consumer") == "b");
    CHECK(pg.column(2, "reason") == "lease of a expired at " + past);
    // Action 1 was on its second attempt of two; action 3's lease still runs.
    CHECK(pg.column(1, "status") == "dead");
    CHECK(pg.column(1, "consumer") == "a");
    CHECK(pg.column(1, "lease_until") == "<none>");
    CHECK(pg.column(1, "reason") == "lease of a expired at " + past);
    CHECK(pg.column(3, "status") == "in_flight");
    CHECK(pg.column(3, "consumer") == "a");
    // Action 2 is b's now: a late fail of a says its lease expired; one of z, which never held
    // it, does not. Neither is recorded.
    const Run late_fail = outbox("fail", pg.url, {"2", "--reason", "x", "--consumer", "a"});
    CHECK(late_fail.err ==
          "strata outbox fail: note: action 2 is in flight for b (your lease had expired and it "
          "claimed the action); the failure is not recorded\n");
    const Run stranger = outbox("fail", pg.url, {"2", "--reason", "x", "--consumer", "z"});
    CHECK(stranger.err ==
          "strata outbox fail: note: action 2 is in flight for b, not for z; the failure is not "
          "recorded\n");
    CHECK(pg.column(2, "consumer") == "b");

    // The counts the claim reports.
    // (`now` in the past, so that the leases of the claim above still run.)
    const std::string long_ago = "1999-01-01T00:00:00Z";
    pg.insert({{strata::Value(int64_t{5}), "in_flight", "t", 1, "x", long_ago},
               {strata::Value(int64_t{6}), "in_flight", "t", 5, "x", long_ago}});
    strata::ClaimRequest request{10, "lib", "2000-01-01T00:00:00Z", "2000-01-01T00:05:00Z", 5};
    auto result = strata::state::claim_postgres_outbox(*pg.connection, request);
    REQUIRE(result.ok());
    CHECK(result.value().leases_expired == 2);
    CHECK(result.value().dead_lettered == 1);
    REQUIRE(result.value().claimed.size() == 1);
    CHECK(result.value().claimed[0].id == 5);

    // The late sender's ack still counts.
    const Run late = outbox("ack", pg.url, {"1"});
    CHECK(late.code == 0);
    // It says whose claim it was, and why the action had died.
    CHECK(
        late.err.rfind("strata outbox ack: note: action 1 had been dead-lettered (last claimed by "
                       "a: lease of a expired at ",
                       0) == 0);
    CHECK(late.err.find("); now done\n") != std::string::npos);
    CHECK(pg.column(1, "status") == "done");
}

TEST_CASE("postgres outbox: --state takes the URL; ClickHouse, bad URLs and servers exit 2") {
    OutboxDatabase pg;
    pg.insert(pending(1));
    TempDir dir;
    // A run on ClickHouse keeps its actions in the --state store.
    const std::string clickhouse = "clickhouse://127.0.0.1:8123/shop";
    const Run claim = run_cli({"outbox", "claim", "--db", clickhouse, "--state", pg.url, "--limit",
                               "1", "--consumer", "c"});
    CHECK(claim.code == 0);
    CHECK(ids_of(claim.out) == Ids{"1"});
    CHECK(run_cli({"outbox", "ack", "--state", pg.url, "1"}).code == 0);
    CHECK(run_cli({"outbox", "list", "--state", pg.url}).out.find("1 action: 1 done") !=
          std::string::npos);

    const Run refused = outbox("list", clickhouse);
    CHECK(refused.code == 2);
    CHECK(refused.err.rfind("strata outbox list: --db names a ClickHouse database, which holds "
                            "no outbox",
                            0) == 0);
    CHECK(refused.err.find("give that store as --state") != std::string::npos);
    CHECK(run_cli({"outbox", "claim", "--state", clickhouse, "--limit", "1", "--consumer", "c"})
              .err.rfind("strata outbox claim: --state names a ClickHouse database", 0) == 0);
    CHECK(outbox("ack", "mysql://host/db", {"1"}).code == 2);

    const std::string closed =
        "postgresql://postgres@127.0.0.1:" + std::to_string(closed_port()) + "/nothing";
    const Run unreachable = outbox("claim", closed, {"--limit", "1", "--consumer", "c"});
    CHECK(unreachable.code == 2);
    CHECK(unreachable.err.rfind("strata outbox claim: PostgreSQL", 0) == 0);

    // A database without the strata_* tables is an empty outbox, and stays without them.
    pg.exec("DROP TABLE strata_outbox");
    CHECK(outbox("list", pg.url).out == "0 actions\n");
    const Run nothing = outbox("claim", pg.url, {"--limit", "1", "--consumer", "c"});
    CHECK(nothing.code == 0);
    CHECK(nothing.out.empty());
    CHECK(outbox("ack", pg.url, {"1"}).err == "strata outbox ack: action 1 is not in the outbox\n");
    CHECK(pg.exec("SELECT to_regclass('strata_outbox') IS NULL").rows[0][0] == "t");
}

TEST_CASE("postgres outbox: connections claiming at once never share a row and miss none") {
    OutboxDatabase pg;
    constexpr int kActions = 600;
    pg.insert(pending(kActions));
    constexpr int kClaimers = 4;
    std::vector<std::vector<int64_t>> got(kClaimers);
    std::vector<std::string> errors(kClaimers);
    std::atomic<int> ready = 0;
    std::vector<std::thread> claimers;
    for (int c = 0; c < kClaimers; ++c) {
        claimers.emplace_back([&, c] {
            PostgresConnection db = pg.connect();
            ++ready;
            while (ready < kClaimers)
                std::this_thread::yield();
            // 7 at a time, acking every other batch, until a claim comes back empty.
            for (int n = 0; n < kActions; ++n) {
                strata::ClaimRequest request{7, "sender-" + std::to_string(c),
                                             "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z", 5};
                auto claimed = strata::state::claim_postgres_outbox(db, request);
                if (!claimed) {
                    errors[c] = claimed.error().describe();
                    return;
                }
                if (claimed.value().claimed.empty()) return;
                std::vector<int64_t> ids;
                for (const auto& e : claimed.value().claimed)
                    ids.push_back(e.id);
                got[c].insert(got[c].end(), ids.begin(), ids.end());
                if (n % 2 == 1) continue;
                auto acked = strata::state::ack_postgres_outbox(db, ids, "2026-11-01T07:00:01Z");
                if (!acked) {
                    errors[c] = acked.error().describe();
                    return;
                }
            }
        });
    }
    for (auto& t : claimers)
        t.join();
    std::multiset<int64_t> claimed;
    for (int c = 0; c < kClaimers; ++c) {
        CHECK(errors[c] == "");
        claimed.insert(got[c].begin(), got[c].end());
    }
    CHECK(claimed.size() == kActions);
    CHECK(std::set<int64_t>(claimed.begin(), claimed.end()).size() == kActions);
    CHECK(pg.count("attempt = 1") == kActions);
    CHECK(pg.count("status = 'done'") + pg.count("status = 'in_flight'") == kActions);
    // More than one claimer took part (each batch is one transaction).
    int took_part = 0;
    for (const auto& ids : got)
        took_part += !ids.empty();
    CHECK(took_part > 1);
}

TEST_CASE("postgres outbox: a claim skips rows another transaction holds instead of waiting") {
    OutboxDatabase pg;
    pg.insert(pending(8));
    pg.exec(
        "UPDATE strata_outbox SET status = 'in_flight', attempt = 1, consumer = 'gone', "
        "lease_until = '2020-01-01T00:00:00Z' WHERE id = 8");
    // Another transaction (a claim or an ack in progress) holds rows 1 to 3 and the expired 8.
    PostgresConnection other = pg.connect();
    auto tx = PostgresTransaction::begin(other);
    REQUIRE(tx.ok());
    REQUIRE(other.exec("SELECT id FROM strata_outbox WHERE id <= 3 OR id = 8 FOR UPDATE").ok());

    // Waiting for them would run into --wait and fail; the claim takes the next rows at once.
    const auto start = std::chrono::steady_clock::now();
    const Run claim = outbox("claim", pg.url, {"--limit", "2", "--consumer", "c", "--wait", "5s"});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
    CHECK(claim.code == 0);
    CHECK(claim.err.empty());
    CHECK(ids_of(claim.out) == Ids{"4", "5"});
    // The expired lease of row 8 is left to the transaction holding it.
    CHECK(pg.column(8, "status") == "in_flight");

    // An ack must not skip a row: it waits for the holder, up to --wait.
    REQUIRE(outbox("claim", pg.url, {"--limit", "2", "--consumer", "c"}).code == 0);
    const Run ack = outbox("ack", pg.url, {"8", "6", "--wait", "1s"});
    CHECK(ack.code == 2);
    CHECK(ack.err == "strata outbox ack: actions in '" + pg.url +
                         "' stayed locked by another transaction for longer than --wait 1s\n");
    CHECK(pg.column(6, "status") == "in_flight");

    REQUIRE(tx.value().rollback().ok());
    // 1, 2, 3, and 8 released now that nobody holds it.
    CHECK(ids_of(outbox("claim", pg.url, {"--limit", "5", "--consumer", "c"}).out) ==
          Ids{"1", "2", "3", "8"});
    CHECK(outbox("list", pg.url, {"--status", "pending"}).out == "0 actions\n");
    CHECK(pg.column(8, "reason") == "lease of gone expired at 2020-01-01T00:00:00Z");
    CHECK(outbox("ack", pg.url, {"8", "6"}).code == 0);
}

TEST_CASE("postgres outbox: the same rows list and claim as they do in a SQLite outbox") {
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    // Every kind of row and text: keys of both kinds, statuses, leases, reasons, hostile
    // strings in every text column, payloads with whitespace, escapes, nesting, numbers as
    // written, and one that is not JSON.
    std::vector<Seed> seeds = {
        {strata::Value(int64_t{-9223372036854775807 - 1})},
        {strata::intern("007"), "holdout"},
        {strata::Value(int64_t{3}), "capped"},
        {strata::Value(int64_t{4}), "done", "t", 1, "mailer \"1\"", std::nullopt, "slow\nSMTP"},
        {strata::Value(int64_t{5}), "dead", "t", 5, "m", std::nullopt, "lease of m expired"},
        {strata::Value(int64_t{6}), "in_flight", "t", 2, "m", "2999-01-01T00:00:00Z"},
    };
    const std::vector<std::string> payloads = {
        "{}",
        " { \"a\" : [ 1 , -0.50e+3 , true , null , { } ] ,\r\n\t\"b\":\"\\u00e9\\/\\\"\" } ",
        "[\"x\"]",
        "{\"subject\": \"Привет\\n\"}",
        "{\"a\":01}",
        "not json at all",
        "",
        "{\"open\": ",
        std::string(1999, '[') + std::string(1999, ']'),
        std::string(2001, '[') + std::string(2001, ']'),
    };
    for (size_t i = 0; i < payloads.size(); ++i) {
        Seed s{strata::Value(int64_t{100 + static_cast<int64_t>(i)})};
        s.payload = payloads[i];
        seeds.push_back(s);
    }
    int64_t next_key = 1000;
    for (const std::string& text : hostile_strings()) {
        Seed s{strata::intern(text)};
        s.trigger = text;
        s.ruleset = text;
        s.type = text;
        s.reason = text;
        s.payload = text;
        seeds.push_back(s);
        seeds.push_back({strata::Value(next_key++), "pending", text});
    }

    OutboxDatabase pg;
    pg.insert(seeds);
    TempDir dir;
    const std::string lite = sqlite_outbox(dir, seeds);

    const Run pg_json = outbox("list", pg.url, {"--format", "json"});
    const Run lite_json = outbox("list", lite, {"--format", "json"});
    REQUIRE(pg_json.code == 0);
    CHECK(pg_json.out == lite_json.out);
    // (Too deep for json_at: one payload nests 1999 levels.)
    CHECK(pg_json.out.find(R"("customer_key":-9223372036854775808,)") != std::string::npos);
    CHECK(outbox("list", pg.url).out == outbox("list", lite).out);
    CHECK(outbox("list", pg.url, {"--status", "pending", "--trigger", "'"}).out ==
          outbox("list", lite, {"--status", "pending", "--trigger", "'"}).out);

    // Claims in batches: the same lines; then acks and fails the same notes.
    for (int batch = 0; batch < 3; ++batch) {
        CAPTURE(batch);
        const Run a = outbox("claim", pg.url, {"--limit", "17", "--consumer", "c"});
        const Run b = outbox("claim", lite, {"--limit", "17", "--consumer", "c"});
        CHECK(a.code == b.code);
        CHECK(a.out == b.out);
    }
    const std::vector<std::string> ids = {"1", "2", "4", "5", "6", "7", "30", "31", "999"};
    for (const char* command : {"fail", "ack", "fail"}) {
        std::vector<std::string> args = ids;
        if (std::string(command) == "fail")
            args.insert(args.end(), {"--reason", "it's down", "--max-attempts", "2"});
        const Run a = outbox(command, pg.url, args);
        const Run b = outbox(command, lite, args);
        CHECK(a.code == b.code);
        CHECK(a.err == b.err);
    }
    // Leases end at the second each claim ran: the rest must agree.
    pg.exec("UPDATE strata_outbox SET lease_until = 'L' WHERE lease_until IS NOT NULL");
    SQLite::Database(lite, SQLite::OPEN_READWRITE)
        .exec("UPDATE strata_outbox SET lease_until = 'L' WHERE lease_until IS NOT NULL");
    CHECK(outbox("list", pg.url, {"--format", "json"}).out ==
          outbox("list", lite, {"--format", "json"}).out);
}

TEST_CASE(
    "postgres outbox records: the one definition gives SQLite json_object's bytes, with bytes that "
    "are not UTF-8 as \\ufffd") {
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    // The records were built by SQLite's JSON functions before; senders may compare bytes.
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    std::vector<std::string> texts = hostile_strings();
    std::string every_byte;
    for (int c = 1; c < 256; ++c)
        every_byte += static_cast<char>(c);
    texts.push_back(every_byte);
    texts.push_back("{\"a\" : [1, 2.50, \"\\u0041\\/\"]}");
    for (const std::string& text : texts) {
        strata::OutboxEntry e;
        e.id = 7;
        e.row = {"key " + text, text, 3, text, strata::intern(text), 0, text, text, 9, text, text};
        e.attempt = 2;
        e.consumer = text;
        e.reason = text;
        SQLite::Statement q(
            db,
            "SELECT json_object('id', 7, 'idempotency_key', 'key ' || ?1, 'ruleset', ?1, "
            "'version', 3, 'trigger', ?1, 'customer_key', ?1, 'type', ?1, "
            "'payload', CASE WHEN json_valid(?1) THEN json(?1) ELSE ?1 END, "
            "'run_id', 9, 'as_of', ?1, 'attempt', 2, 'status', ?1, 'consumer', ?1, "
            "'lease_until', NULL, 'reason', ?1)");
        q.bind(1, text);
        REQUIRE(q.executeStep());
        // SQLite copies bytes that are not UTF-8 into its JSON, which makes it invalid; the
        // records write each such byte as \ufffd instead, and are SQLite's bytes otherwise.
        const std::string sqlite_json = q.getColumn(0).getString();
        std::string expected;
        for (size_t i = 0; i < sqlite_json.size();) {
            const size_t n = strata::utf8_sequence_length(sqlite_json, i);
            expected += n == 0 ? std::string("\\ufffd") : sqlite_json.substr(i, n);
            i += n == 0 ? 1 : n;
        }
        CHECK(strata::outbox_record_json(e, true) == expected);
    }
}
