// The senders' commands over the action outbox (issue 9): strata outbox list, claim, ack and
// fail, on state files filled with strata::enqueue; claims by several processes at once.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "outbox_fixture.hpp"
#include "test_support.hpp"
#include "text/encoding.hpp"

using namespace strata::testing;
using namespace strata::testing::outbox_fixture;

TEST_CASE("outbox claim prints up to --limit pending actions as JSON Lines, oldest first") {
    TempDir dir;
    const std::string db = outbox_state(dir, {{strata::Value(int64_t{41})},
                                              {strata::intern("00123")},
                                              {strata::Value(int64_t{43})},
                                              {strata::Value(int64_t{44})}});
    const Run r = outbox("claim", db, {"--limit", "2", "--consumer", "mailer-1"});
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    const auto claimed = lines(r.out);
    REQUIRE(claimed.size() == 2);
    // Every key, in order; the payload is the JSON object itself, the key as stored.
    CHECK(claimed[0] ==
          R"({"id":1,"idempotency_key":"6:retail/14:sleeping_email/3:i41/10:2026-11-01/0",)"
          R"("ruleset":"retail","version":3,"trigger":"sleeping_email","customer_key":41,)"
          R"("type":"email","payload":{"subject":"We miss you","discount":10},"run_id":7,)"
          R"("as_of":"2026-11-01","attempt":1})");
    CHECK(claimed[1].find(R"("id":2,)") == 1);
    CHECK(claimed[1].find(R"("customer_key":"00123",)") != std::string::npos);
    CHECK(json_at(claimed[1], "$.payload.discount") == "10");

    // The next claim goes on from there; a claim with nothing left prints nothing.
    CHECK(ids_of(outbox("claim", db, {"--limit", "5", "--consumer", "mailer-2"}).out) ==
          Ids{"3", "4"});
    const Run none = outbox("claim", db, {"--limit", "5", "--consumer", "mailer-2"});
    CHECK(none.code == 0);
    CHECK(none.out.empty());
    CHECK(column(db, 1, "consumer") == "mailer-1");
    CHECK(column(db, 3, "consumer") == "mailer-2");
    CHECK(column(db, 3, "status") == "in_flight");
}

TEST_CASE("outbox list shows every action or those of one status or trigger") {
    TempDir dir;
    const std::string db = outbox_state(dir, {{strata::Value(int64_t{1})},
                                              {strata::Value(int64_t{2}), "holdout"},
                                              {strata::Value(int64_t{3}), "capped"},
                                              {strata::Value(int64_t{4}), "pending", "vip_gift"}});
    REQUIRE(outbox("claim", db, {"--limit", "1", "--consumer", "crm"}).code == 0);

    const Run text = outbox("list", db);
    CHECK(text.code == 0);
    const auto table = lines(text.out);
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

    CHECK(lines(outbox("list", db, {"--status", "capped"}).out).back() == "1 action: 1 capped");
    CHECK(outbox("list", db, {"--status", "dead"}).out == "0 actions\n");

    const Run json = outbox("list", db, {"--trigger", "sleeping_email", "--format", "json"});
    CHECK(json.code == 0);
    CHECK(json_at(json.out, "$.format") == "1");
    CHECK(json_at(json.out, "$.actions[2].id") == "3");
    CHECK(json_at(json.out, "$.actions[3]") == "<none>");
    CHECK(json_at(json.out, "$.actions[0].status") == "in_flight");
    CHECK(json_at(json.out, "$.actions[0].consumer") == "crm");
    CHECK(json_at(json.out, "$.actions[0].lease_until").size() == 20);
    CHECK(json_at(json.out, "$.actions[0].payload.subject") == "We miss you");
    // Every key is there, null when empty.
    CHECK(json.out.find(R"("attempt":0,"status":"holdout","consumer":null,"lease_until":null,)"
                        R"("reason":null})") != std::string::npos);
    const Run empty = outbox("list", db, {"--trigger", "nobody", "--format", "json"});
    CHECK(empty.out == "{\"format\":1,\"actions\":[]}\n");
}

TEST_CASE("held-out and capped actions are recorded but never claimed, acked or failed") {
    TempDir dir;
    const std::string db = outbox_state(
        dir, {{strata::Value(int64_t{1}), "holdout"}, {strata::Value(int64_t{2}), "capped"}});
    CHECK(outbox("claim", db, {"--limit", "10", "--consumer", "c"}).out.empty());
    const Run ack = outbox("ack", db, {"1", "2"});
    CHECK(ack.code == 2);
    CHECK(ack.err.find("strata outbox ack: action 1 is held out (the trigger's control group): "
                       "it is never sent\n") != std::string::npos);
    CHECK(ack.err.find("action 2 is over its frequency cap: it is never sent") !=
          std::string::npos);
    CHECK(outbox("fail", db, {"1", "--reason", "x"}).code == 2);
    CHECK(column(db, 1, "status") == "holdout");
    CHECK(column(db, 2, "status") == "capped");
    CHECK(column(db, 2, "attempt") == "0");
}

TEST_CASE(
    "outbox ack marks claimed actions done; a repeated ack is a note, an unknown id an "
    "error") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(3));
    REQUIRE(outbox("claim", db, {"--limit", "2", "--consumer", "c"}).code == 0);

    const Run ack = outbox("ack", db, {"1"});
    CHECK(ack.code == 0);
    CHECK(ack.err.empty());
    CHECK(column(db, 1, "status") == "done");
    CHECK(column(db, 1, "lease_until") == "<none>");
    CHECK(column(db, 1, "consumer") == "c");

    const Run again = outbox("ack", db, {"1"});
    CHECK(again.code == 0);
    CHECK(again.err == "strata outbox ack: note: action 1 was already done\n");

    // The valid ids are applied even when another is refused.
    const Run mixed = outbox("ack", db, {"99", "2", "3"});
    CHECK(mixed.code == 2);
    CHECK(mixed.err ==
          "strata outbox ack: action 99 is not in the outbox\n"
          "strata outbox ack: action 3 is pending and was never claimed\n");
    CHECK(column(db, 2, "status") == "done");
    CHECK(column(db, 3, "status") == "pending");
    CHECK(outbox("claim", db, {"--limit", "5", "--consumer", "c"}).out.find(R"("id":3,)") == 1);
}

TEST_CASE("outbox fail sends an action back to pending until --max-attempts, then it is dead") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(2));
    REQUIRE(ids_of(outbox("claim", db, {"--limit", "1", "--consumer", "c"}).out) == Ids{"1"});
    // An id given twice is one failure, with a note saying so (not that the action was pending
    // again).
    const Run first =
        outbox("fail", db, {"1", "1", "--reason", "SMTP 451: try later", "--max-attempts", "2"});
    CHECK(first.code == 0);
    CHECK(first.err ==
          "strata outbox fail: note: action 1 is given more than once; it is failed once\n");
    CHECK(column(db, 1, "status") == "pending");
    CHECK(column(db, 1, "reason") == "SMTP 451: try later");
    CHECK(column(db, 1, "consumer") == "<none>");
    CHECK(column(db, 1, "attempt") == "1");

    // Retried on the next claim (oldest first), its attempt count one higher.
    const auto retry = lines(outbox("claim", db, {"--limit", "1", "--consumer", "d"}).out);
    REQUIRE(retry.size() == 1);
    CHECK(json_at(retry[0], "$.id") == "1");
    CHECK(json_at(retry[0], "$.attempt") == "2");
    const Run last = outbox("fail", db, {"1", "--reason", "SMTP 550", "--max-attempts", "2"});
    CHECK(last.code == 0);
    CHECK(last.err ==
          "strata outbox fail: note: action 1 is dead after 2 attempt(s) "
          "(--max-attempts 2)\n");
    CHECK(column(db, 1, "status") == "dead");
    CHECK(column(db, 1, "reason") == "SMTP 550");
    CHECK(column(db, 1, "consumer") == "d");

    // Dead actions are never claimed again; failing them again changes nothing.
    CHECK(ids_of(outbox("claim", db, {"--limit", "5", "--consumer", "c"}).out) == Ids{"2"});
    CHECK(outbox("fail", db, {"1", "--reason", "x"}).err ==
          "strata outbox fail: note: action 1 was already dead\n");
    CHECK(column(db, 1, "reason") == "SMTP 550");
    // A fail after an ack (say by a consumer whose lease had run out) does not undo it.
    REQUIRE(outbox("ack", db, {"2"}).code == 0);
    const Run late = outbox("fail", db, {"2", "--reason", "timeout"});
    CHECK(late.code == 0);
    CHECK(late.err ==
          "strata outbox fail: note: action 2 is done (acked); the failure is not "
          "recorded\n");
    CHECK(column(db, 2, "status") == "done");
}

TEST_CASE(
    "a --consumer or --reason that is not UTF-8 is stored as given and listed as valid JSON and "
    "text") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(2));
    const std::string consumer = "sender-\xff", reason = "SMTP 451 \xfe\xff, try later";
    REQUIRE(outbox("claim", db, {"--limit", "2", "--consumer", consumer}).code == 0);
    REQUIRE(outbox("fail", db, {"1", "--reason", reason}).code == 0);
    CHECK(column(db, 1, "reason") == reason);  // the bytes as given
    const Run json = outbox("list", db, {"--format", "json"});
    REQUIRE(json.code == 0);
    CHECK(strata::text::is_valid_utf8(json.out));
    CHECK(json_at(json.out, "$.actions[0].reason") ==
          "SMTP 451 \xEF\xBF\xBD\xEF\xBF\xBD, try later");
    CHECK(json_at(json.out, "$.actions[1].consumer") == "sender-\xEF\xBF\xBD");
    // The table writes the same U+FFFD, so that its columns line up.
    const Run table = outbox("list", db, {});
    REQUIRE(table.code == 0);
    CHECK(strata::text::is_valid_utf8(table.out));
    CHECK(table.out.find("SMTP 451 \xEF\xBF\xBD\xEF\xBF\xBD, try later") != std::string::npos);
}

TEST_CASE("outbox fail allows 5 attempts by default") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(1));
    for (int attempt = 1; attempt <= 5; ++attempt) {
        CAPTURE(attempt);
        REQUIRE(ids_of(outbox("claim", db, {"--limit", "1", "--consumer", "c"}).out) == Ids{"1"});
        REQUIRE(outbox("fail", db, {"1", "--reason", "down"}).code == 0);
        CHECK(column(db, 1, "status") == (attempt < 5 ? "pending" : "dead"));
    }
}

TEST_CASE("an expired lease makes the action claimable again, or dead on its last attempt") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(3));
    // Action 1 has been tried once already.
    REQUIRE(outbox("claim", db, {"--limit", "1", "--consumer", "a"}).code == 0);
    REQUIRE(outbox("fail", db, {"1", "--reason", "busy"}).code == 0);

    const Run held = outbox("claim", db, {"--limit", "3", "--consumer", "a", "--lease", "1s"});
    REQUIRE(ids_of(held.out) == Ids{"1", "2", "3"});
    // A running lease holds.
    CHECK(outbox("claim", db, {"--limit", "3", "--consumer", "b"}).out.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));

    const Run again =
        outbox("claim", db, {"--limit", "3", "--consumer", "b", "--max-attempts", "2"});
    CHECK(again.code == 0);
    const auto claimed = lines(again.out);
    REQUIRE(claimed.size() == 2);
    CHECK(json_at(claimed[0], "$.id") == "2");
    CHECK(json_at(claimed[0], "$.attempt") == "2");
    CHECK(json_at(claimed[1], "$.id") == "3");
    CHECK(column(db, 2, "consumer") == "b");
    CHECK(column(db, 2, "reason").rfind("lease of a expired at 20", 0) == 0);
    // Action 1 was on its second attempt of two.
    CHECK(column(db, 1, "status") == "dead");
    CHECK(column(db, 1, "consumer") == "a");
    CHECK(column(db, 1, "lease_until") == "<none>");

    // The late sender's ack still counts: the action was sent.
    const Run late = outbox("ack", db, {"1"});
    CHECK(late.code == 0);
    // It says whose claim it was, and why the action had died.
    CHECK(
        late.err.rfind("strata outbox ack: note: action 1 had been dead-lettered (last claimed by "
                       "a: lease of a expired at ",
                       0) == 0);
    CHECK(late.err.find("); now done\n") != std::string::npos);
    CHECK(column(db, 1, "status") == "done");
}

// Review AI2: an action whose lease ran out went back to pending; the late sender's ack said
// so without saying whose claim it was, as outbox.md promises.
TEST_CASE("a late ack or fail of an action pending again says why: whose lease, or the failure") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(3));
    REQUIRE(outbox("claim", db, {"--limit", "2", "--consumer", "c1", "--lease", "1s"}).code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    // c2's claim releases both expired leases and takes the oldest, action 1.
    REQUIRE(ids_of(outbox("claim", db, {"--limit", "1", "--consumer", "c2"}).out) == Ids{"1"});
    CHECK(column(db, 2, "status") == "pending");
    const Run late = outbox("ack", db, {"2"});
    CHECK(late.code == 0);
    CHECK_MESSAGE(late.err.rfind("strata outbox ack: note: action 2 was pending again (lease of "
                                 "c1 expired at 20",
                                 0) == 0,
                  late.err);
    CHECK(late.err.find("); now done\n") != std::string::npos);
    CHECK(column(db, 2, "status") == "done");
    // A failure makes it pending too: a late fail names that claim and its reason.
    REQUIRE(ids_of(outbox("claim", db, {"--limit", "1", "--consumer", "c3"}).out) == Ids{"3"});
    REQUIRE(outbox("fail", db, {"3", "--reason", "smtp timeout"}).code == 0);
    const Run again = outbox("fail", db, {"3", "--reason", "late"});
    CHECK_MESSAGE(again.err.find("action 3 was pending again (it had failed: smtp timeout); "
                                 "failure recorded") != std::string::npos,
                  again.err);
}

TEST_CASE("outbox commands read the outbox from --state when given") {
    TempDir dir;
    const std::string state = outbox_state(dir, pending(1), "runs.db");
    const std::string customers = dir.file("customers.db");
    const Run claim = run_cli({"outbox", "claim", "--db", customers, "--state", state, "--limit",
                               "1", "--consumer", "c"});
    CHECK(claim.code == 0);
    CHECK(ids_of(claim.out) == Ids{"1"});
    CHECK(run_cli({"outbox", "ack", "--db", customers, "--state", state, "1"}).code == 0);
    CHECK(run_cli({"outbox", "list", "--db", customers, "--state", state}).out.find("1 done") !=
          std::string::npos);
    CHECK(!std::filesystem::exists(customers));
    // --state alone is enough: the outbox does not need the customer database.
    const Run alone = run_cli({"outbox", "list", "--state", state});
    CHECK(alone.code == 0);
    CHECK(alone.out.find("1 done") != std::string::npos);
    const Run neither = run_cli({"outbox", "list"});
    CHECK(neither.code == 2);
    CHECK(neither.err ==
          "strata outbox list: give --db (the customer database holding the run "
          "state) or --state\n");
}

TEST_CASE("outbox usage, file and lock problems exit 2 with the command's name") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(1));
    const Run no_limit = outbox("claim", db, {"--consumer", "c"});
    CHECK(no_limit.code == 2);
    CHECK(no_limit.err ==
          "strata outbox claim: --limit is required\n"
          "Run 'strata outbox claim --help' for usage.\n");
    const Run lease = outbox("claim", db, {"--limit", "1", "--consumer", "c", "--lease", "5min"});
    CHECK(lease.code == 2);
    CHECK(lease.err.find("'5min' is not a duration like 30s, 5m, 1h or 2d") != std::string::npos);
    CHECK(outbox("claim", db, {"--limit", "0", "--consumer", "c"}).code == 2);
    // A word is not a number out of range.
    const Run word = outbox("claim", db, {"--limit", "abc", "--consumer", "c"});
    CHECK(word.code == 2);
    CHECK(word.err.find("the limit is a whole number from 1 to 1000000, not abc") !=
          std::string::npos);
    CHECK(outbox("fail", db, {"1", "--reason", "r", "--max-attempts", "many"})
              .err.find("the number of attempts is a whole number from 1 to 1000000, not many") !=
          std::string::npos);
    CHECK(outbox("claim", db, {"--limit", "1", "--consumer", ""}).code == 2);
    CHECK(outbox("list", db, {"--status", "sent"}).code == 2);
    CHECK(outbox("ack", db, {"one"}).code == 2);
    CHECK(outbox("fail", db, {"1"}).err.find("--reason is required") != std::string::npos);
    CHECK(run_cli({"outbox"}).code == 2);

    // A mistyped path is an error, never a new empty outbox.
    const std::string missing = dir.file("typo.db");
    const Run gone = outbox("claim", missing, {"--limit", "1", "--consumer", "c"});
    CHECK(gone.code == 2);
    CHECK(gone.err == "strata outbox claim: database '" + missing + "' does not exist\n");
    CHECK(outbox("list", missing).code == 2);
    CHECK(!std::filesystem::exists(missing));

    // Another process holding the write lock past --wait.
    SQLite::Database other(db, SQLite::OPEN_READWRITE);
    other.exec("BEGIN IMMEDIATE");
    const Run locked = outbox("claim", db, {"--limit", "1", "--consumer", "c", "--wait", "0s"});
    CHECK(locked.code == 2);
    CHECK(locked.err == "strata outbox claim: '" + db +
                            "' stayed locked by another process for longer than --wait 0s\n");
    other.exec("ROLLBACK");
    CHECK(column(db, 1, "status") == "pending");
}

TEST_CASE("outbox --help shows the defaults") {
    const Run claim = run_cli({"outbox", "claim", "--help"});
    CHECK(claim.code == 0);
    CHECK(claim.out.find("--lease DURATION=5m") != std::string::npos);
    CHECK(claim.out.find("--wait DURATION=30s") != std::string::npos);
    CHECK(claim.out.find("--max-attempts N=5") != std::string::npos);
    CHECK(run_cli({"outbox", "fail", "--help"}).out.find("--max-attempts N=5") !=
          std::string::npos);
    CHECK(run_cli({"outbox", "list", "--help"}).out.find("{text,json}=text") != std::string::npos);
}

TEST_CASE("processes claiming at once never get the same action and miss none") {
    TempDir dir;
    constexpr int kActions = 400;
    const std::string db = outbox_state(dir, pending(kActions));
    constexpr int kProcesses = 5;
    const std::string strata = std::string("'") + STRATA_BINARY + "' outbox ";
    const std::string errors = " 2>> '" + dir.file("err") + "'";
    std::vector<std::thread> senders;
    std::vector<int> failures(kProcesses, 0);
    for (int p = 0; p < kProcesses; ++p) {
        senders.emplace_back([&, p] {
            // Each claims 7 at a time and acks every other batch, until a claim comes back
            // empty: claims and acks of several processes interleave.
            for (int n = 0; n < kActions; ++n) {
                const std::string out =
                    dir.file("claim-" + std::to_string(p) + "-" + std::to_string(n) + ".jsonl");
                const std::string claim = strata + "claim --db '" + db +
                                          "' --limit 7 --consumer sender-" + std::to_string(p) +
                                          " > '" + out + "'" + errors;
                if (std::system(claim.c_str()) != 0) ++failures[p];
                if (std::filesystem::file_size(out) == 0) break;
                if (n % 2 == 1) continue;
                std::string ack = strata + "ack --db '" + db + "'";
                std::ifstream in(out);
                for (std::string line; std::getline(in, line);)
                    ack += " " + json_at(line, "$.id");
                if (std::system((ack + errors).c_str()) != 0) ++failures[p];
            }
        });
    }
    for (auto& t : senders)
        t.join();
    for (int p = 0; p < kProcesses; ++p)
        CHECK(failures[p] == 0);
    std::multiset<int64_t> claimed;
    for (const auto& entry : std::filesystem::directory_iterator(dir.file(""))) {
        if (entry.path().extension() != ".jsonl") continue;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) {
            claimed.insert(std::stoll(json_at(line, "$.id")));
            CHECK(json_at(line, "$.attempt") == "1");
        }
    }
    CHECK(claimed.size() == kActions);
    CHECK(std::set<int64_t>(claimed.begin(), claimed.end()).size() == kActions);
    CHECK(*claimed.begin() == 1);
    CHECK(*claimed.rbegin() == kActions);
    std::ifstream err(dir.file("err"));
    CHECK(std::string(std::istreambuf_iterator<char>(err), {}).empty());
    const int64_t done = count_rows(db, "strata_outbox WHERE status = 'done'");
    CHECK(done > 0);
    CHECK(done + count_rows(db, "strata_outbox WHERE status = 'in_flight'") == kActions);
}

// A customer's actions without a ruleset named: every ruleset the outbox holds rows of, also
// those with no run in the file (a run inside ClickHouse writes its actions to a --state file
// that holds none of its runs). Before, only the rulesets with runs in the file were searched.
TEST_CASE("outbox rows of a customer are found without a ruleset, runs in the file or not") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(4));
    SQLite::Database state(db, SQLite::OPEN_READONLY);
    strata::OutboxFilter filter;
    filter.customer_keys = {strata::Value(int64_t{2}), strata::Value(int64_t{4})};
    auto rows = strata::list_outbox(state, filter);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].id == 2);
    CHECK(rows[1].id == 4);
    CHECK(rows[0].row.ruleset == "retail");
    filter.ruleset = "retail";
    CHECK(strata::list_outbox(state, filter).size() == 2);
    filter.ruleset = "other";
    CHECK(strata::list_outbox(state, filter).empty());
    filter.ruleset.reset();
    filter.customer_keys = {strata::Value(int64_t{9})};
    CHECK(strata::list_outbox(state, filter).empty());
}

TEST_CASE("a late fail leaves an action another consumer has claimed since; ack names the sender") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(2));
    REQUIRE(ids_of(outbox("claim", db, {"--limit", "1", "--consumer", "a", "--lease", "1s"}).out) ==
            Ids{"1"});
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    REQUIRE(ids_of(outbox("claim", db, {"--limit", "1", "--consumer", "b"}).out) == Ids{"1"});

    // A failure without a reason is refused, and changes nothing.
    for (const char* blank : {"", "  "}) {
        const Run empty = outbox("fail", db, {"1", "--reason", blank, "--consumer", "b"});
        CHECK(empty.code == 2);
        CHECK(empty.err.find("--reason is empty") != std::string::npos);
    }
    CHECK(column(db, 1, "status") == "in_flight");
    // z never held action 1: the note does not say its lease expired.
    const Run stranger = outbox("fail", db, {"1", "--reason", "typo", "--consumer", "z"});
    CHECK(stranger.code == 0);
    CHECK(stranger.err ==
          "strata outbox fail: note: action 1 is in flight for b, not for z; the failure is not "
          "recorded\n");
    CHECK(column(db, 1, "consumer") == "b");

    // a's fail comes late: b holds the action now, and keeps it.
    const Run late = outbox("fail", db, {"1", "--reason", "smtp timeout", "--consumer", "a"});
    CHECK(late.code == 0);
    CHECK(late.err ==
          "strata outbox fail: note: action 1 is in flight for b (your lease had expired and it "
          "claimed the action); the failure is not recorded\n");
    CHECK(column(db, 1, "status") == "in_flight");
    CHECK(column(db, 1, "consumer") == "b");
    CHECK(column(db, 1, "reason").rfind("lease of a expired", 0) == 0);
    CHECK(outbox("claim", db, {"--limit", "2", "--consumer", "c"}).out.find("\"id\":1,") ==
          std::string::npos);

    // a's late ack still counts (the send happened), with a note, and names a.
    const Run acked = outbox("ack", db, {"1", "--consumer", "a"});
    CHECK(acked.code == 0);
    CHECK(acked.err ==
          "strata outbox ack: note: action 1 was in flight for b (your lease had expired and it "
          "claimed the action); now done\n");
    CHECK(column(db, 1, "status") == "done");
    CHECK(column(db, 1, "consumer") == "a");

    // The holder's own fail applies.
    const Run own = outbox("fail", db, {"2", "--reason", "busy", "--consumer", "c"});
    CHECK(own.code == 0);
    CHECK(own.err.empty());
    CHECK(column(db, 2, "status") == "pending");
    // An ack after it went back to pending records who sent it.
    REQUIRE(outbox("ack", db, {"2", "--consumer", "c"}).code == 0);
    CHECK(column(db, 2, "consumer") == "c");
}

TEST_CASE("outbox ids are decimal: 010 is action 10, 0x11 is refused") {
    TempDir dir;
    const std::string db = outbox_state(dir, pending(20));
    REQUIRE(outbox("claim", db, {"--limit", "20", "--consumer", "a"}).code == 0);
    CHECK(outbox("ack", db, {"010"}).code == 0);
    CHECK(column(db, 10, "status") == "done");
    CHECK(column(db, 8, "status") == "in_flight");
    const Run hex = outbox("fail", db, {"0x11", "--reason", "x"});
    CHECK(hex.code == 2);
    CHECK(hex.err.find("'0x11' is not an action id") != std::string::npos);
    CHECK(column(db, 17, "status") == "in_flight");
    CHECK(outbox("ack", db, {"99999999999999999999"}).code == 2);
    // The largest id SQLite stores is an id, not found here; one more is no id at all.
    const Run largest = outbox("ack", db, {"9223372036854775807"});
    CHECK(largest.code == 2);
    CHECK(largest.err.find("action 9223372036854775807 is not in the outbox") != std::string::npos);
    const Run beyond = outbox("ack", db, {"9223372036854775808"});
    CHECK(beyond.code == 2);
    CHECK(beyond.err.find("is not an action id (too large)") != std::string::npos);
}

TEST_CASE("outbox commands refuse a file that holds no run state, and create nothing in it") {
    TempDir dir;
    const std::string other = dir.file("photos.db");
    {
        SQLite::Database d(other, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        d.exec("CREATE TABLE photos(id INTEGER)");
    }
    for (const std::string command : {"claim", "ack", "list"}) {
        std::vector<std::string> more;
        if (command == "claim") more = {"--limit", "1", "--consumer", "c"};
        if (command == "ack") more = {"1"};
        const Run r = outbox(command, other, more);
        CHECK(r.code == 2);
        CHECK(r.err == "strata outbox " + command + ": '" + other +
                           "' holds no strata run state (no strata_runs table): the first run of "
                           "a rule file creates it; give --state when the runs are stored "
                           "elsewhere\n");
    }
    SQLite::Database d(other, SQLite::OPEN_READONLY);
    CHECK(d.execAndGet("SELECT count(*) FROM sqlite_schema").getInt() == 1);
    // strata's tables without a run (a first run killed after making them): listed as an
    // empty outbox before, which a sender given that file would poll forever (review AN4).
    const std::string stopped = dir.file("stopped.db");
    {
        SQLite::Database made(stopped, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        made.exec("CREATE TABLE customers (customer_id INTEGER PRIMARY KEY)");
    }
    const std::string rules =
        dir.write("one.yaml",
                  "ruleset: one\nversion: 1\ngeneral:\n  segments:\n    - id: all\n"
                  "      when: otherwise\n");
    REQUIRE(run_cli({"run", rules, "--db", stopped, "--as-of", "2026-11-01"}).code == 0);
    SQLite::Database(stopped, SQLite::OPEN_READWRITE).exec("DELETE FROM strata_runs");
    const Run none = outbox("list", stopped, {});
    CHECK(none.code == 2);
    CHECK(none.err.find("' holds no stored run (a first run that stopped before storing") !=
          std::string::npos);
}
