// Triggers (issue 9): what fires on which move, baselines and rule changes, exactly-once
// enqueueing, cooldowns and the frequency cap across runs, holdouts, and rendered payloads.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <set>
#include <sstream>
#include <string>

#include "engine/triggers.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, spend REAL, tv INTEGER);
INSERT INTO customers VALUES (1, 'Ann', 10, 1), (2, 'Bob "B" Jr', 500, 0), (3, 'Cy', 2000, 1),
  (4, 'Di', 50, 0);
)sql";

std::string rules(const std::string& triggers, int version = 1) {
    return "ruleset: tiers\nversion: " + std::to_string(version) + R"(
general:
  segments:
    - id: vip
      when: spend >= 1000
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
)" + triggers;
}

const char* kMoves = R"Y(
triggers:
  - id: welcome_vip
    on: enter vip
    actions:
      - task: { queue: managers, text: "Gift for {{name}} ({{spend}})" }
      - email: { template: vip_welcome }
  - id: left_vip
    on: exit vip
    actions:
      - tag: { name: ex_vip }
  - id: up
    on: move regular -> vip
    actions:
      - sms: { text: "up {{customer_id}}" }
  - id: newcomer
    on: move none -> any
    actions:
      - email: { template: hello }
  - id: tv_fan
    on: enter tv
    actions:
      - push: { text: tv }
)Y";

std::string outbox(const std::string& db, const std::string& where = "1") {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d,
                        "SELECT trigger_id, customer_key, action, type, payload, status, as_of "
                        "FROM strata_outbox WHERE " +
                            where + " ORDER BY id");
    std::string out;
    while (q.executeStep()) {
        out += q.getColumn(0).getString() + " " + q.getColumn(1).getString() + "/" +
               q.getColumn(2).getString() + " " + q.getColumn(3).getString() + " " +
               q.getColumn(4).getString() + " " + q.getColumn(5).getString() + " " +
               q.getColumn(6).getString() + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("a first run is a baseline: it fires nothing, unless --fire-initial") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(kMoves));
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-10-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.firing") == "initial");
    CHECK(json_at(r.out, "$.actions_enqueued") == "0");
    CHECK(json_at(r.out, "$.triggers[0].customers") == "0");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 0);

    TempDir other;
    const auto db2 = other.database("base.db", kBase);
    auto f = run_cli(
        {"run", file, "--db", db2, "--as-of", "2026-10-01", "--fire-initial", "--format", "json"});
    REQUIRE_MESSAGE(f.code == 0, f.err);
    // Everyone is new: welcome_vip and tv_fan for 3, newcomer for all four.
    CHECK(json_at(f.out, "$.triggers[0].customers") == "1");
    CHECK(json_at(f.out, "$.triggers[3].customers") == "4");
    CHECK(json_at(f.out, "$.triggers[4].customers") == "1");
    CHECK(json_at(f.out, "$.triggers[2].customers") == "0");  // a move needs a segment before
    CHECK(json_at(f.out, "$.actions_enqueued") == "7");
    CHECK(scalar(db2, "SELECT count(*) FROM strata_outbox WHERE status = 'pending'") == 7);
}

TEST_CASE("moves fire enter, exit, move and tactical triggers; leavers fire nothing") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(kMoves));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "UPDATE customers SET spend = 5000 WHERE customer_id = 2;"  // regular -> vip
            "UPDATE customers SET spend = 20 WHERE customer_id = 3;"    // vip -> small
            "DELETE FROM customers WHERE customer_id = 4;"              // leaves: nothing
            "INSERT INTO customers VALUES (5, 'Eve', 3000, 1);");       // new, vip, tv
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.firing") == "data");
    CHECK(outbox(db) ==
          "welcome_vip 2/0 task {\"queue\":\"managers\",\"text\":\"Gift for Bob \\\"B\\\" Jr "
          "(5000)\"} pending 2026-11-01\n"
          "welcome_vip 2/1 email {\"template\":\"vip_welcome\"} pending 2026-11-01\n"
          "up 2/0 sms {\"text\":\"up 2\"} pending 2026-11-01\n"
          "left_vip 3/0 tag {\"name\":\"ex_vip\"} pending 2026-11-01\n"
          "welcome_vip 5/0 task {\"queue\":\"managers\",\"text\":\"Gift for Eve (3000)\"} "
          "pending 2026-11-01\n"
          "welcome_vip 5/1 email {\"template\":\"vip_welcome\"} pending 2026-11-01\n"
          "newcomer 5/0 email {\"template\":\"hello\"} pending 2026-11-01\n"
          "tv_fan 5/0 push {\"text\":\"tv\"} pending 2026-11-01\n");
    // Payloads are JSON that SQLite reads back.
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox WHERE json_valid(payload)") == 8);
    CHECK(json_at(r.out, "$.actions_enqueued") == "8");
    CHECK(json_at(r.out, "$.triggers[0].enqueued") == "4");
}

TEST_CASE("re-running the same as_of never enqueues an action twice; a dry run enqueues nothing") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(
triggers:
  - id: every_run
    on: in any
    actions:
      - tag: { name: "{{customer_id}}" }
)"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto dry = run_cli(
        {"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    CHECK(json_at(dry.out, "$.triggers[0].enqueued") == "4");
    CHECK(json_at(dry.out, "$.would_enqueue[1].customer_key") == "2");
    CHECK(json_at(dry.out, "$.would_enqueue[1].payload.name") == "2");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 0);
    auto table = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    CHECK(table.out.find("WOULD ENQUEUE") != std::string::npos);
    CHECK(table.out.find("e.g. every_run → 1: tag {\"name\":\"1\"}") != std::string::npos);

    auto first = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(json_at(first.out, "$.triggers[0].enqueued") == "4");
    auto again = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(again.code == 0, again.err);
    CHECK(json_at(again.out, "$.triggers[0].enqueued") == "0");
    CHECK(json_at(again.out, "$.triggers[0].already_enqueued") == "4");
    CHECK(json_at(again.out, "$.actions_enqueued") == "0");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 4);
    CHECK(scalar(db, "SELECT count(DISTINCT idempotency_key) FROM strata_outbox") == 4);
}

TEST_CASE("a payload that takes text not UTF-8 from the data is counted, not lost unsaid") {
    TempDir dir;
    // Customer 2's name saved as cp1251 ('Müller' with 0xFC), 3's as a blob of such bytes.
    const auto db = dir.database(
        "base.db", std::string(kBase) +
                       "UPDATE customers SET name = CAST(X'4DFC6C6C6572' AS TEXT) WHERE "
                       "customer_id = 2; UPDATE customers SET name = X'FF' WHERE customer_id = 3;");
    const auto file = dir.write("r.yaml", rules(R"(
triggers:
  - id: hello
    on: in any
    actions:
      - email: { to: "{{name}}" }
      - tag: { name: "{{customer_id}}" }
)"));
    auto r = run_cli(
        {"run", file, "--db", db, "--as-of", "2026-10-01", "--fire-initial", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.triggers[0].enqueued") == "8");
    CHECK(json_at(r.out, "$.triggers[0].payload_not_utf8") == "2");  // the emails of 2 and 3
    CHECK(rows(db, "SELECT payload FROM strata_outbox WHERE customer_key = 2 AND action = 0") ==
          "{\"to\":\"M\\ufffdller\"}\n");
    auto table = run_cli({"run", file, "--db", db, "--as-of", "2026-10-02"});
    REQUIRE(table.code == 0);
    CHECK(table.out.find("(2 with text not UTF-8 in the payload, kept as U+FFFD)") !=
          std::string::npos);
}

TEST_CASE("a new version's moves fire nothing unless --fire-on-rule-change") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const char* triggers = R"(
triggers:
  - id: welcome_vip
    on: enter vip
    actions:
      - email: { template: vip }
  - id: stay_vip
    on: in vip
    actions:
      - email: { template: still_vip }
)";
    const auto file = dir.write("r.yaml", rules(triggers, 1));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // Version 2 lowers the vip threshold: customer 2 (500) becomes vip because of the rules.
    std::string v2 = rules(triggers, 2);
    v2.replace(v2.find("spend >= 1000"), 13, "spend >= 400");
    dir.write("r.yaml", v2);
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.firing") == "rules");
    CHECK(json_at(r.out, "$.transitions.moved") == "1");
    CHECK(outbox(db) == "stay_vip 3/0 email {\"template\":\"still_vip\"} pending 2026-11-01\n");
    auto table = run_cli({"run", file, "--db", db, "--as-of", "2026-11-02", "--dry-run"});
    CHECK(table.out.find("triggers\n") != std::string::npos);  // same version now: data

    TempDir other;
    const auto db2 = other.database("base.db", kBase);
    const auto file2 = other.write("r.yaml", rules(triggers, 1));
    REQUIRE(run_cli({"run", file2, "--db", db2, "--as-of", "2026-10-01"}).code == 0);
    other.write("r.yaml", v2);
    auto f = run_cli({"run", file2, "--db", db2, "--as-of", "2026-11-01", "--fire-on-rule-change"});
    REQUIRE_MESSAGE(f.code == 0, f.err);
    CHECK(outbox(db2) ==
          "welcome_vip 2/0 email {\"template\":\"vip\"} pending 2026-11-01\n"
          "stay_vip 2/0 email {\"template\":\"still_vip\"} pending 2026-11-01\n"
          "stay_vip 3/0 email {\"template\":\"still_vip\"} pending 2026-11-01\n");
}

TEST_CASE("cooldown and frequency cap hold across a sequence of runs, in priority order") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(
frequency_cap: 2 per 7d
triggers:
  - id: cadence
    on: in any
    cooldown: 10d
    actions:
      - email: { template: news }
  - id: vip_call
    on: in vip
    priority: 1
    actions:
      - task: { text: "call {{customer_id}}" }
  - id: vip_sms
    on: in vip
    priority: 2
    when: tv == 1
    actions:
      - sms: { text: hi }
)"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto status = [&](const std::string& as_of) {
        return outbox(db, "customer_key = 3 AND as_of = '" + as_of + "'");
    };
    // Day 2: customer 3 (vip, tv) matches all three; the cap lets vip_call (1) and vip_sms (2)
    // through and caps cadence (no priority: last). Others get cadence only.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-02"}).code == 0);
    CHECK(status("2026-10-02") ==
          "vip_call 3/0 task {\"text\":\"call 3\"} pending 2026-10-02\n"
          "vip_sms 3/0 sms {\"text\":\"hi\"} pending 2026-10-02\n"
          "cadence 3/0 email {\"template\":\"news\"} capped 2026-10-02\n");
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_outbox WHERE trigger_id = 'cadence' AND "
                 "status = 'pending'") == 3);
    // Day 5: within 7 days of two firings: everything for 3 is capped. cadence for the others
    // is in its cooldown (fired on day 2); for 3 it was capped, so it has no cooldown.
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-10-05", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(status("2026-10-05") ==
          "vip_call 3/0 task {\"text\":\"call 3\"} capped 2026-10-05\n"
          "vip_sms 3/0 sms {\"text\":\"hi\"} capped 2026-10-05\n"
          "cadence 3/0 email {\"template\":\"news\"} capped 2026-10-05\n");
    CHECK(json_at(r.out, "$.triggers[0].cooled_down") == "3");
    CHECK(json_at(r.out, "$.triggers[0].capped") == "1");
    // Day 9: the day-2 firings are 7 days back, out of the window: 3 gets two again.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-09"}).code == 0);
    CHECK(status("2026-10-09") ==
          "vip_call 3/0 task {\"text\":\"call 3\"} pending 2026-10-09\n"
          "vip_sms 3/0 sms {\"text\":\"hi\"} pending 2026-10-09\n"
          "cadence 3/0 email {\"template\":\"news\"} capped 2026-10-09\n");
    // Day 12: cadence's cooldown (10d from day 2) is over for the others.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-12"}).code == 0);
    CHECK(outbox(db, "trigger_id = 'cadence' AND as_of = '2026-10-12'") ==
          "cadence 1/0 email {\"template\":\"news\"} pending 2026-10-12\n"
          "cadence 2/0 email {\"template\":\"news\"} pending 2026-10-12\n"
          "cadence 3/0 email {\"template\":\"news\"} capped 2026-10-12\n"
          "cadence 4/0 email {\"template\":\"news\"} pending 2026-10-12\n");
}

TEST_CASE("a re-run of an as_of does not count its earlier firings twice under the cap") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(
frequency_cap: 2 per 7d
triggers:
  - id: digest
    on: in vip
    priority: 1
    actions:
      - email: { template: digest }
  - id: tv_offer
    on: enter tv
    priority: 2
    actions:
      - email: { template: tv_offer }
)"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // Customer 3 loses tv by mistake on day 2, then the data is fixed and the day run again:
    // digest is already in the outbox (one firing), so tv_offer is the second, under the cap.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET tv = 0 WHERE customer_id = 3");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-02"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET tv = 1 WHERE customer_id = 3");
    const auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-10-02", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(outbox(db, "customer_key = 3 AND as_of = '2026-10-02'") ==
          "digest 3/0 email {\"template\":\"digest\"} pending 2026-10-02\n"
          "tv_offer 3/0 email {\"template\":\"tv_offer\"} pending 2026-10-02\n");
    CHECK(json_at(r.out, "$.triggers[1].capped") == "0");
}

TEST_CASE("holdout: the same customers every time, within 1 point of the share on 100k") {
    for (int bp : {1000, 2500, 5000}) {
        size_t held = 0;
        for (int64_t k = 1; k <= 100000; ++k) {
            const strata::Value key{k};
            const bool in = strata::in_holdout("retail", "reactivate", key, bp);
            CHECK(in == strata::in_holdout("retail", "reactivate", key, bp));
            held += in;
        }
        const double share = static_cast<double>(held) / 1000.0;  // percent
        CHECK(share > bp / 100.0 - 1.0);
        CHECK(share < bp / 100.0 + 1.0);
    }
    // Another trigger holds out other customers.
    size_t both = 0;
    for (int64_t k = 1; k <= 100000; ++k) {
        const strata::Value key{k};
        both += strata::in_holdout("retail", "a", key, 5000) &&
                strata::in_holdout("retail", "b", key, 5000);
    }
    CHECK(both > 24000);
    CHECK(both < 26000);
    CHECK_FALSE(strata::in_holdout("retail", "a", strata::Value{int64_t{7}}, 0));
    CHECK(strata::in_holdout("retail", "a", strata::Value{int64_t{7}}, 10000));
}

TEST_CASE("held-out customers are recorded with status holdout, the same ones at every run") {
    TempDir dir;
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, spend "
        "REAL, tv INTEGER);";
    for (int k = 1; k <= 400; ++k)
        sql += "INSERT INTO customers VALUES (" + std::to_string(k) + ", 'c', 2000, 0);";
    const auto db = dir.database("base.db", sql);
    const auto file = dir.write("r.yaml", rules(R"(
triggers:
  - id: vip_note
    on: in vip
    holdout: 30%
    actions:
      - email: { template: a }
      - task: { text: b }
)"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-10-02", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-03"}).code == 0);
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d, "SELECT customer_key, status, action FROM strata_outbox");
    size_t held = 0;
    while (q.executeStep()) {
        const strata::Value key{q.getColumn(0).getInt64()};
        const bool expected = strata::in_holdout("tiers", "vip_note", key, 3000);
        CHECK(q.getColumn(1).getString() == (expected ? "holdout" : "pending"));
        held += expected;
    }
    CHECK(held > 0);
    CHECK(json_at(r.out, "$.triggers[0].held_out") == std::to_string(held / 2));
    CHECK(json_at(r.out, "$.triggers[0].holdout_percent") == "30");
    // Held-out rows are never claimed.
    auto claim = run_cli({"outbox", "claim", "--db", db, "--limit", "10000", "--consumer", "t"});
    REQUIRE(claim.code == 0);
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox WHERE status = 'in_flight'") ==
          scalar(db, "SELECT count(*) FROM strata_outbox WHERE status <> 'holdout'"));
}

TEST_CASE("runs counts each run's enqueued actions; history shows a customer's actions") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(kMoves));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET spend = 5000 WHERE customer_id = 2;");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    auto runs = run_cli({"runs", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(runs.code == 0, runs.err);
    CHECK(json_at(runs.out, "$.runs[0].actions_enqueued") == "0");
    CHECK(json_at(runs.out, "$.runs[1].actions_enqueued") == "3");  // 2 of welcome_vip, 1 of up
    auto h = run_cli({"history", "--db", db, "--customer", "2", "--format", "json"});
    REQUIRE_MESSAGE(h.code == 0, h.err);
    CHECK(json_at(h.out, "$.actions[0].trigger") == "welcome_vip");
    CHECK(json_at(h.out, "$.actions[0].payload.text") == "Gift for Bob \"B\" Jr (5000)");
    CHECK(json_at(h.out, "$.actions[2].trigger") == "up");
    CHECK(json_at(h.out, "$.actions[3]") == "<none>");
    auto none = run_cli({"history", "--db", db, "--customer", "1", "--format", "json"});
    CHECK(json_at(none.out, "$.actions[0]") == "<none>");
    auto text = run_cli({"history", "--db", db, "--customer", "2"});
    CHECK(text.out.find("welcome_vip  task   pending") != std::string::npos);
}

TEST_CASE("the run table says when --fire-initial or --fire-on-rule-change made triggers fire") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(kMoves, 1));
    auto first = run_cli({"run", file, "--db", db, "--as-of", "2026-10-01", "--fire-initial"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(first.out.find("triggers: the first run of this ruleset, fired because of "
                         "--fire-initial\n") != std::string::npos);
    CHECK(first.out.find("fires nothing") == std::string::npos);
    dir.write("r.yaml", rules(kMoves, 2));
    auto changed =
        run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--fire-on-rule-change"});
    REQUIRE_MESSAGE(changed.code == 0, changed.err);
    CHECK(changed.out.find("triggers: the rules changed version; moves fire because of "
                           "--fire-on-rule-change\n") != std::string::npos);
    CHECK(changed.out.find("fire nothing") == std::string::npos);
}

TEST_CASE("a dry run of an as_of already run lists only the actions not yet in the outbox") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(
triggers:
  - id: every_run
    on: in any
    actions:
      - tag: { name: "{{customer_id}}" }
)"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    // A new customer since: the only action a stored run at 2026-11-01 would add.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers VALUES (5, 'Eve', 3000, 1);");
    auto dry = run_cli(
        {"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    CHECK(json_at(dry.out, "$.triggers[0].customers") == "5");
    CHECK(json_at(dry.out, "$.triggers[0].enqueued") == "1");
    CHECK(json_at(dry.out, "$.triggers[0].already_enqueued") == "4");
    CHECK(json_at(dry.out, "$.actions_enqueued") == "1");
    CHECK(json_at(dry.out, "$.would_enqueue[0].customer_key") == "5");
    CHECK(json_at(dry.out, "$.would_enqueue[1]") == "<none>");
    auto stored = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(stored.code == 0, stored.err);
    CHECK(json_at(stored.out, "$.triggers[0].enqueued") == "1");
    CHECK(json_at(stored.out, "$.triggers[0].already_enqueued") == "4");
}

// A dry run is the "what would be sent" check before a stored run. A --state it cannot read (a
// typo, a folder, a file that is not SQLite) made it preview the ruleset's first run, reading
// the customer database as the state: "nothing moves, nothing to send", exit 0.
TEST_CASE("a dry run refuses a --state it cannot read, instead of previewing a first run") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("r.yaml", rules(R"(
triggers:
  - id: every_run
    on: in any
    actions:
      - tag: { name: "{{customer_id}}" }
)"));
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    // Runs stored in the customer database too: the fallback read them as the state.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const auto good = run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-11-01",
                               "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(good.code == 0, good.err);
    CHECK(json_at(good.out, "$.triggers[0].firing") != "initial");
    std::filesystem::create_directory(dir.file("folder"));
    for (const std::string& bad : {dir.file("stat.db"), file, dir.file("folder")}) {
        INFO(bad);
        const auto r = run_cli({"run", file, "--db", db, "--state", bad, "--as-of", "2026-11-01",
                                "--dry-run", "--format", "json"});
        CHECK(r.code == 2);
        CHECK(r.err.find("strata run: --state: ") != std::string::npos);
        CHECK(r.err.find("'" + bad + "'") != std::string::npos);
        CHECK(r.err.find("a dry run reads the stored state there") != std::string::npos);
        CHECK(json_at(r.out, "$.error.kind") == "database");
    }
    CHECK_FALSE(std::filesystem::exists(dir.file("stat.db")));
}

TEST_CASE("customers whose text keys are not UTF-8 keep idempotency keys of their own") {
    // müller and möller in Latin-1 (0xFC, 0xF6), as a legacy CRM export stores them. A JSON
    // reader sees each such byte as U+FFFD, so their keys are spelt in hex.
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id TEXT, name TEXT, spend REAL, tv INTEGER);
INSERT INTO customers VALUES (CAST(x'6dfc6c6c6572' AS TEXT), 'a', 10, 0),
  (CAST(x'6df66c6c6572' AS TEXT), 'b', 10, 0), ('m' || char(252) || 'ller', 'c', 10, 0);
)sql");
    const auto file = dir.write("r.yaml", rules(kMoves));
    const auto state = dir.file("state.db");
    auto r = run_cli(
        {"run", file, "--db", db, "--state", state, "--as-of", "2026-11-01", "--fire-initial"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    auto claim = run_cli({"outbox", "claim", "--state", state, "--limit", "10", "--consumer", "t"});
    REQUIRE(claim.code == 0);
    // Three newcomer actions, one per customer, each key its own and valid UTF-8 (the third
    // customer's key is UTF-8 müller, 7 bytes, and is written as it is).
    std::set<std::string> keys;
    std::istringstream lines(claim.out);
    for (std::string line; std::getline(lines, line);) {
        if (json_at(line, "$.trigger") != "newcomer") continue;
        keys.insert(json_at(line, "$.idempotency_key"));
    }
    CHECK(keys == std::set<std::string>{"5:tiers/8:newcomer/13:x6dfc6c6c6572/10:2026-11-01/0",
                                        "5:tiers/8:newcomer/13:x6df66c6c6572/10:2026-11-01/0",
                                        "5:tiers/8:newcomer/8:tm\xc3\xbcller/10:2026-11-01/0"});
    // Their customer_key both read m\ufffdller: claim and list say so, as export does.
    const std::string note =
        "note: 2 actions have customer keys that are not UTF-8 text; JSON "
        "writes each byte that is not as \\ufffd";
    CHECK_MESSAGE(claim.err.find("strata outbox claim: " + note) != std::string::npos, claim.err);
    auto list = run_cli({"outbox", "list", "--state", state, "--format", "json"});
    REQUIRE(list.code == 0);
    CHECK(list.err.find("strata outbox list: " + note) != std::string::npos);
    // So does the table of list, which prints the bytes as they are.
    auto table = run_cli({"outbox", "list", "--state", state});
    REQUIRE(table.code == 0);
    CHECK(table.err.find("strata outbox list: " + note) != std::string::npos);
    // Keys that are all UTF-8 (müller as UTF-8, alone in a base) get no note.
    const auto utf8_db = dir.database("utf8.db", R"sql(
CREATE TABLE customers (customer_id TEXT, name TEXT, spend REAL, tv INTEGER);
INSERT INTO customers VALUES ('m' || char(252) || 'ller', 'c', 10, 0);
)sql");
    const auto utf8_state = dir.file("utf8-state.db");
    REQUIRE(run_cli({"run", file, "--db", utf8_db, "--state", utf8_state, "--as-of", "2026-11-01",
                     "--fire-initial"})
                .code == 0);
    auto utf8_list = run_cli({"outbox", "list", "--state", utf8_state, "--format", "json"});
    REQUIRE(utf8_list.code == 0);
    CHECK(json_at(utf8_list.out, "$.actions[0].customer_key") == "m\xc3\xbcller");
    CHECK(utf8_list.err.find("not UTF-8") == std::string::npos);
    auto utf8_claim =
        run_cli({"outbox", "claim", "--state", utf8_state, "--limit", "10", "--consumer", "t"});
    REQUIRE(utf8_claim.code == 0);
    CHECK(!utf8_claim.out.empty());
    CHECK(utf8_claim.err.find("not UTF-8") == std::string::npos);
}

TEST_CASE("a re-run of an as_of whose trigger got an action at another's place is refused") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    auto trigger = [](const std::string& actions) {
        return "\ntriggers:\n  - id: ping\n    on: in any\n    actions:\n" + actions;
    };
    const std::string email = "      - email: { template: welcome }\n";
    const std::string sms = "      - sms: { text: \"hello {{customer_id}}\" }\n";
    const auto v1 = dir.write("v1.yaml", rules(trigger(email), 1));
    REQUIRE(run_cli({"run", v1, "--db", db, "--as-of", "2026-10-01"}).code == 0);  // a baseline
    REQUIRE(run_cli({"run", v1, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string before = outbox(db);
    REQUIRE(scalar(db, "SELECT count(*) FROM strata_outbox") == 4);
    // Version 2 puts an SMS first: by place, its key is the email's. Taken as enqueued, the
    // SMS would be lost, and the email enqueued again as action 2.
    const auto v2 = dir.write("v2.yaml", rules(trigger(sms + email), 2));
    for (const char* extra : {"--dry-run", "--format"}) {
        std::vector<std::string> args = {"run", v2, "--db", db, "--as-of", "2026-11-01", extra};
        if (std::string(extra) == "--format") args.push_back("json");
        auto refused = run_cli(args);
        CHECK(refused.code == 1);
        CHECK_MESSAGE(
            refused.err.find(
                "trigger 'ping': the outbox already holds its action 0 "
                "(counted from 0) at as_of 2026-11-01 as 'email' (enqueued by version 1), "
                "and version 2 has a 'sms' there") != std::string::npos,
            refused.err);
    }
    CHECK(outbox(db) == before);
    CHECK(scalar(db, "SELECT count(*) FROM strata_runs") == 2);
    // One customer's eval takes only the rule file of the latest run: never the refused one.
    auto one = run_cli({"eval", v2, "--db", db, "--customer", "3"});
    CHECK(one.code == 1);
    CHECK_MESSAGE(one.err.find("run this file first") != std::string::npos, one.err);
    // Added at the end, the SMS is a new action and the email is found enqueued.
    const auto v3 = dir.write("v3.yaml", rules(trigger(email + sms), 3));
    auto added = run_cli({"run", v3, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(added.code == 0, added.err);
    CHECK(json_at(added.out, "$.triggers[0].enqueued") == "4");
    CHECK(json_at(added.out, "$.triggers[0].already_enqueued") == "4");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox WHERE type = 'email'") == 4);
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox WHERE type = 'sms'") == 4);
    // At a later as_of the keys are new: the changed list is no problem there.
    auto later = run_cli({"run", v2, "--db", db, "--as-of", "2026-11-02"});
    CHECK_MESSAGE(later.code == 0, later.err);
}
