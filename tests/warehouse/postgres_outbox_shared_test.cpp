// The PostgreSQL outbox (state/postgres_outbox.hpp) under concurrent claims, and against the
// SQLite outbox: the same rows list and claim to the same bytes from either store.

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "tests/warehouse/postgres_outbox_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;
using namespace strata::warehouse::testing::pg_outbox_fixture;

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
