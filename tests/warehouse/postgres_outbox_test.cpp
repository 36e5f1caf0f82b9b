// The senders' commands on an outbox inside PostgreSQL (issue 13, state/postgres_outbox.hpp),
// on the real PostgreSQL 15: `strata outbox list|claim|ack|fail --db postgresql://...` follow
// the SQLite outbox's rules (tests/outbox_test.cpp checks the same behaviours there), claims on
// several connections at once never share a row and never wait for each other's rows, and the
// same rows give the same bytes from either store. Each test case has a database of its own,
// its rows written with INSERTs to set up each state.

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
    // A repeated id is acked once, with a note.
    REQUIRE(outbox("claim", pg.url, {"--limit", "1", "--consumer", "c"}).code == 0);
    CHECK(outbox("ack", pg.url, {"3", "3"}).err ==
          "strata outbox ack: note: action 3 is given more than once; it is acked once\n");
    CHECK(pg.column(3, "status") == "done");
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
