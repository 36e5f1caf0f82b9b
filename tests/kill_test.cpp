// Atomicity under SIGKILL (issue 9, "Guarantees: atomic"). The strata binary is killed at
// random points of runs and of outbox consumption on a base of over 100,000 customers; after
// every kill the state file must pass PRAGMA integrity_check and hold exactly what it held
// before the killed process started or exactly what an uninterrupted one leaves, and every
// action in the outbox must be there once, in one status, never lost and never doubled.
//
// Kill points come from a fixed-seed generator spread over the length of an uninterrupted run
// of the same work, measured first. Where a kill lands still depends on the machine, so every
// assertion holds wherever it lands.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

constexpr uint64_t kSeed = 20261101;
// Processes actually killed (a delay past the end of the work lets one finish: that attempt
// does not count). Together over the 100 the issue asks.
constexpr int kRunKills = 60;
constexpr int kConsumerKills = 45;
constexpr int kMaxAttempts = 4;  // per kill asked for: a guard, never reached in practice
// The base keeps at least 100,000 customers while up to 1,000 are parked out of it.
constexpr int kCustomers = 101000;

// A delay drawn uniformly from [0, 1.2 × `typical`): most kills land inside the work, some
// after it ended.
Clock::duration kill_delay(std::mt19937_64& rng, Clock::duration typical) {
    const auto span = std::chrono::duration_cast<std::chrono::microseconds>(typical) * 6 / 5;
    return std::chrono::microseconds(rng() % static_cast<uint64_t>(span.count() + 1));
}

// --- what a state file holds -----------------------------------------------------------------

// PRAGMA integrity_check, read-write so that a hot journal left by a killed writer is rolled
// back first, as the next strata command would.
std::string integrity(const std::string& path) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, "PRAGMA integrity_check");
    std::string result;
    while (q.executeStep())
        result += (result.empty() ? "" : "\n") + q.getColumn(0).getString();
    return result;
}

// Everything a run or a sender stores, in key order, without the clock times that differ
// between two runs of the same work (a run's start, finish and elapsed time; an action's
// creation, update and lease times). The outbox is part of it, so that runs whose rule file
// has triggers are held to the same all-or-nothing rule as their membership.
struct StateQuery {
    const char* name;
    const char* sql;
};
constexpr StateQuery kStateQueries[] = {
    {"runs",
     "SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, status, customers, "
     "json_remove(summary, '$.elapsed_ms') FROM strata_runs ORDER BY run_id"},
    {"rulesets", "SELECT ruleset_id, name FROM strata_rulesets ORDER BY ruleset_id"},
    {"segments", "SELECT ruleset, code, name FROM strata_segments ORDER BY ruleset, code"},
    {"stays",
     "SELECT ruleset, exited_run, customer_key, level, segment, entered_run FROM strata_stays "
     "ORDER BY ruleset, exited_run, customer_key, level, segment, entered_run"},
    {"outbox",
     "SELECT id, idempotency_key, ruleset, version, trigger_id, customer_key, action, type, "
     "payload, run_id, as_of, status, attempt, consumer, reason FROM strata_outbox ORDER BY id"},
    {"sequences", "SELECT name, seq FROM sqlite_sequence ORDER BY name"},
};

// One line per query above: its row count and an FNV-1a hash of every value with its type.
using Snapshot = std::vector<std::string>;

Snapshot snapshot(const std::string& path) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    Snapshot lines;
    for (const StateQuery& query : kStateQueries) {
        uint64_t hash = 14695981039346656037ull;
        auto mix = [&hash](const void* data, size_t size) {
            for (size_t i = 0; i < size; ++i) {
                hash ^= static_cast<const unsigned char*>(data)[i];
                hash *= 1099511628211ull;
            }
        };
        SQLite::Statement q(db, query.sql);
        int64_t rows = 0;
        while (q.executeStep()) {
            ++rows;
            for (int c = 0; c < q.getColumnCount(); ++c) {
                const SQLite::Column v = q.getColumn(c);
                const int type = v.getType();
                mix(&type, sizeof type);
                if (type == SQLITE_INTEGER) {
                    const int64_t i = v.getInt64();
                    mix(&i, sizeof i);
                } else if (type == SQLITE_FLOAT) {
                    const double d = v.getDouble();
                    mix(&d, sizeof d);
                } else if (type != SQLITE_NULL) {
                    mix(v.getBlob(), static_cast<size_t>(v.getBytes()));
                }
            }
        }
        lines.push_back(std::string(query.name) + ": " + std::to_string(rows) + " rows, hash " +
                        std::to_string(hash));
    }
    return lines;
}

std::string describe(const Snapshot& s) {
    std::string text;
    for (const std::string& line : s)
        text += "\n  " + line;
    return text;
}

// Whether a writer left its rollback journal behind with something in it: it was killed
// inside a write transaction, which the next connection rolls back.
bool has_journal(const std::string& path) {
    std::error_code ec;
    return std::filesystem::file_size(path + "-journal", ec) > 0 && !ec;
}

// --- runs ----------------------------------------------------------------------------------

// YYYY-MM-DD, `days` after 2025-06-01.
std::string day(int days) {
    using namespace std::chrono;
    const year_month_day d{sys_days{year{2025} / June / 1} + std::chrono::days{days}};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return text;
}

// Step k of the history the runs go through: two shipped rule files for retail take turns
// (the first step is cosmetics-frequency's first run, which writes a stay for every
// customer), each a week after the step before, on a base where a different 1% of the
// customers is away from the base at each step (they leave it, and come back the step after).
// The rule files are used as shipped: once they carry triggers, these runs also enqueue
// actions, which the snapshot already covers (to test a trigger the shipped files lack, point
// `file` at a rule file of the test's own).
struct Step {
    std::string rules;
    std::string as_of;
};

Step step(int k) {
    const char* file = k % 2 == 1 ? "cosmetics-frequency.yaml" : "retail-rfm.yaml";
    return {std::string(STRATA_SOURCE_DIR) + "/rules/" + file, day(7 * k)};
}

void change_base(const std::string& base, int k) {
    SQLite::Database db(base, SQLite::OPEN_READWRITE);
    SQLite::Transaction tx(db);
    const std::string away = "customer_id % 101 = " + std::to_string(k % 101);
    db.exec("INSERT INTO customers SELECT * FROM parked; DELETE FROM parked;");
    db.exec("INSERT INTO parked SELECT * FROM customers WHERE " + away + ";");
    db.exec("DELETE FROM customers WHERE " + away + ";");
    tx.commit();
}

std::vector<std::string> run_command(const Step& s, const std::string& base,
                                     const std::string& state) {
    return {STRATA_BINARY, "run",     s.rules, "--db",   base, "--state",
            state,         "--as-of", s.as_of, "--wait", "30s"};
}

}  // namespace

TEST_CASE("SIGKILL at random points of runs leaves the previous run or the new one, whole") {
    TempDir dir;
    const std::string base = dir.file("base.db");
    const std::string state = dir.file("state.db");
    const std::string reference = dir.file("reference.db");
    const std::string out = dir.file("out");
    const std::string err = dir.file("err");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", std::to_string(kCustomers),
                     "--out", base, "--seed", "7"})
                .code == 0);
    {
        // Three orders in four go, so that reading facts does not take most of a run and more
        // kills land while membership is written.
        SQLite::Database db(base, SQLite::OPEN_READWRITE);
        db.exec("DELETE FROM orders WHERE order_id % 4 != 0");
        db.exec("CREATE TABLE parked AS SELECT * FROM customers WHERE 0");
        REQUIRE(db.execAndGet("SELECT count(*) FROM customers").getInt() == kCustomers);
    }
    // The first run, whole: the history starts from it.
    const Ended first = finish_or_kill(start(run_command(step(0), base, state), out, err), kNever);
    REQUIRE_MESSAGE(first.exit_code == 0, slurp(err));

    std::mt19937_64 rng(kSeed);
    Snapshot before = snapshot(state);
    Snapshot after;
    Clock::duration typical{};
    int k = 0;
    bool step_done = true;
    int killed = 0, kept_before = 0, kept_after = 0, killed_in_transaction = 0;
    // Whether a committed run has enqueued actions: until one has, the kills have not yet
    // landed on runs that write the outbox (on a loaded machine few runs finish, so the steps,
    // and retail-rfm's first firings, come later), and the loop goes on.
    auto has_actions = [&] {
        SQLite::Database db(state, SQLite::OPEN_READONLY);
        return db.tableExists("strata_outbox") &&
               db.execAndGet("SELECT count(*) FROM strata_outbox").getInt64() > 0;
    };
    bool actions = false;
    for (int attempt = 0; killed < kRunKills || !actions; ++attempt) {
        REQUIRE(attempt < kMaxAttempts * kRunKills);
        if (step_done) {
            // The next step: change the data, then learn what an uninterrupted run of it
            // leaves (on a copy of the state) and how long it takes.
            change_base(base, ++k);
            std::filesystem::copy_file(state, reference,
                                       std::filesystem::copy_options::overwrite_existing);
            const auto began = Clock::now();
            const Ended whole =
                finish_or_kill(start(run_command(step(k), base, reference), out, err), kNever);
            typical = Clock::now() - began;
            REQUIRE_MESSAGE(whole.exit_code == 0, slurp(err));
            after = snapshot(reference);
            REQUIRE(after != before);
            step_done = false;
        }
        const Clock::duration delay = kill_delay(rng, typical);
        const Ended ended = finish_or_kill(start(run_command(step(k), base, state), out, err),
                                           Clock::now() + delay);
        if (!ended.killed) REQUIRE_MESSAGE(ended.exit_code == 0, slurp(err));
        killed += ended.killed;
        const bool in_transaction = has_journal(state);

        INFO("attempt ", attempt, ", step ", k, " (", step(k).as_of, "), killed after ",
             std::chrono::duration_cast<std::chrono::microseconds>(delay).count(), " µs");
        REQUIRE(integrity(state) == "ok");
        const Snapshot now = snapshot(state);
        INFO("state after the kill:", describe(now), "\nbefore the attempt:", describe(before),
             "\nafter a whole run:", describe(after));
        REQUIRE((now == before || now == after));
        if (now == after) {
            ++kept_after;
            before = now;
            step_done = true;
            actions = actions || has_actions();
        } else {
            ++kept_before;
            if (in_transaction) ++killed_in_transaction;
        }
    }
    MESSAGE((kept_before + kept_after), " runs, ", killed, " of them killed: ", kept_before,
            " left the previous run (", killed_in_transaction,
            " killed inside the run's transaction), ", kept_after, " the new one; ", k, " steps");
    // The writer's transaction spans nearly the whole run, so many kills land inside it; if
    // none did, the test would prove nothing.
    CHECK(killed_in_transaction > 0);

    // The state is usable afterwards: a run to the end, whose membership covers the base.
    const Ended last =
        finish_or_kill(start(run_command(step(k + 1), base, state), out, err), kNever);
    REQUIRE_MESSAGE(last.exit_code == 0, slurp(err));
    CHECK(integrity(state) == "ok");
    SQLite::Database db(state, SQLite::OPEN_READONLY);
    SQLite::Database customers(base, SQLite::OPEN_READONLY);
    // retail-rfm's triggers fired at the steps after its first run, so the snapshots held
    // actions too: each enqueued exactly once, by a run that committed.
    CHECK(db.execAndGet("SELECT count(*) FROM strata_outbox").getInt64() > 0);
    CHECK(db.execAndGet("SELECT count(*) FROM strata_outbox WHERE run_id NOT IN "
                        "(SELECT run_id FROM strata_runs)")
              .getInt64() == 0);
    CHECK(db.execAndGet("SELECT count(*) FROM strata_membership WHERE run_id = "
                        "(SELECT max(run_id) FROM strata_runs)")
              .getInt64() == customers.execAndGet("SELECT count(*) FROM customers").getInt64());
}

namespace {

// --- outbox consumption ----------------------------------------------------------------------

constexpr int kActions = 4000;
constexpr int kSenderBatch = 20;  // a killed sender's --limit
constexpr int kSenderBatches = 4;

// Fills the outbox with kActions pending actions for customers spread over a 100,000-customer
// base, ids 1 to kActions; returns their idempotency keys in id order.
std::vector<std::string> seed_outbox(const std::string& path) {
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE_MESSAGE(db, error.message);
    std::vector<strata::OutboxRow> rows;
    std::vector<std::string> keys;
    for (int i = 1; i <= kActions; ++i) {
        strata::OutboxRow r;
        r.ruleset = "retail-rfm";
        r.version = 1;
        r.trigger_id = i % 3 == 0 ? "vip_gift" : "reactivate_sleeping";
        r.customer_key = strata::Value(int64_t{i} * 33);
        r.type = i % 3 == 0 ? "task" : "email";
        r.payload = R"({"template": "reactivation_new_arrivals"})";
        r.run_id = 2;
        r.as_of = "2026-11-01";
        r.status = "pending";
        r.idempotency_key =
            strata::idempotency_key(r.ruleset, r.trigger_id, r.customer_key, r.as_of, r.action);
        keys.push_back(r.idempotency_key);
        rows.push_back(std::move(r));
    }
    SQLite::Transaction tx(*db);
    REQUIRE(strata::enqueue(*db, rows, "2026-11-01T06:00:00Z") == rows.size());
    tx.commit();
    return keys;
}

// The ids of the complete lines of a claim's JSON Lines output.
std::vector<int64_t> claimed_ids(const std::string& jsonl) {
    std::vector<int64_t> ids;
    size_t begin = 0;
    for (size_t end; (end = jsonl.find('\n', begin)) != std::string::npos; begin = end + 1) {
        const std::string line = jsonl.substr(begin, end - begin);
        REQUIRE(line.rfind("{\"id\":", 0) == 0);
        ids.push_back(std::stoll(line.substr(6)));
    }
    return ids;
}

// A sender: claims `limit` actions at a time and acks them (or, every `fail_every`th batch,
// fails them for a retry), up to `batches` batches or until a claim comes back empty.
struct Sender {
    std::string consumer;
    int limit = kSenderBatch;
    int batches = kSenderBatches;
    int fail_every = 3;  // 0: never
};

// What a sender got done before its deadline, batch by batch in the order claimed.
struct Batch {
    std::vector<int64_t> ids;  // as the claim printed them
    bool ack = true;           // acked, or failed for a retry
    bool ended = true;         // false: the ack or fail was killed
};
struct SenderLog {
    bool killed = false;
    bool drained = false;       // a claim came back empty
    bool claim_killed = false;  // the last claim was killed: it may have taken a batch or not
    std::vector<Batch> batches;
};

// Runs the sender's commands one after the other as child processes; the one running at
// `deadline` is killed (SIGKILL), and the sender stops there, as if it had died.
SenderLog send(const Sender& s, const std::string& state, const TempDir& dir,
               Clock::time_point deadline) {
    SenderLog log;
    const std::string out = dir.file("claim.jsonl");
    const std::string err = dir.file("sender.err");
    const std::string wait = "30s";
    for (int b = 0; b < s.batches; ++b) {
        const Ended claim =
            finish_or_kill(start({STRATA_BINARY, "outbox", "claim", "--db", state, "--limit",
                                  std::to_string(s.limit), "--consumer", s.consumer, "--lease",
                                  "1s", "--max-attempts", "1000", "--wait", wait},
                                 out, err),
                           deadline);
        if (claim.killed) return log.killed = log.claim_killed = true, log;
        REQUIRE_MESSAGE(claim.exit_code == 0, slurp(err));
        const std::vector<int64_t> ids = claimed_ids(slurp(out));
        if (ids.empty()) return log.drained = true, log;
        const bool ack = s.fail_every == 0 || (b + 1) % s.fail_every != 0;
        std::vector<std::string> args = {
            STRATA_BINARY, "outbox", ack ? "ack" : "fail", "--db", state, "--wait", wait};
        if (!ack)
            args.insert(args.end(), {"--reason", "mail server busy", "--max-attempts", "1000"});
        for (const int64_t id : ids)
            args.push_back(std::to_string(id));
        const Ended change = finish_or_kill(start(args, dir.file("change.out"), err), deadline);
        log.batches.push_back({ids, ack, !change.killed});
        if (change.killed) return log.killed = true, log;
        REQUIRE_MESSAGE(change.exit_code == 0, slurp(err));
    }
    return log;
}

struct Action {
    std::string key;
    std::string status;
    int64_t attempt = 0;
    std::string consumer;
    std::string lease_until;
};

// Every action in id order, checking on the way that the ids run from 1 to kActions without
// a gap and that each holds the idempotency key it was seeded with.
std::vector<Action> outbox_actions(const std::string& path, const std::vector<std::string>& keys) {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement q(db,
                        "SELECT id, idempotency_key, status, attempt, coalesce(consumer, ''), "
                        "coalesce(lease_until, '') FROM strata_outbox ORDER BY id");
    std::vector<Action> actions;
    size_t out_of_place = 0;
    while (q.executeStep()) {
        const size_t i = actions.size();
        out_of_place += q.getColumn(0).getInt64() != static_cast<int64_t>(i) + 1 ||
                        i >= keys.size() || q.getColumn(1).getString() != keys[i];
        actions.push_back({q.getColumn(1).getString(), q.getColumn(2).getString(),
                           q.getColumn(3).getInt64(), q.getColumn(4).getString(),
                           q.getColumn(5).getString()});
    }
    REQUIRE(out_of_place == 0);
    REQUIRE(actions.size() == keys.size());
    return actions;
}

// What is wrong with the outbox after a sender was stopped, given what it held before
// (`before`), what it holds now and what the sender got done: one line per problem.
std::vector<std::string> sender_problems(const std::vector<Action>& before,
                                         const std::vector<Action>& now, const SenderLog& log,
                                         const Sender& sender) {
    std::vector<std::string> problems;
    auto problem = [&](int64_t id, const std::string& what) {
        problems.push_back("action " + std::to_string(id) + " (" + before[id - 1].status +
                           " before, " + now[id - 1].status + " now): " + what);
    };
    int64_t pending = 0, mine_in_flight = 0;
    for (size_t i = 0; i < now.size(); ++i) {
        const int64_t id = static_cast<int64_t>(i) + 1;
        const std::string& status = now[i].status;
        if (status != "pending" && status != "in_flight" && status != "done")
            problem(id, "a status no sender leaves");
        // An ack stays: done is never undone, nor handed to another sender.
        if (before[i].status == "done" &&
            (status != "done" || now[i].consumer != before[i].consumer))
            problem(id, "an ack was undone");
        if (now[i].attempt < before[i].attempt) problem(id, "its attempt count went down");
        pending += status == "pending";
        mine_in_flight += status == "in_flight" && now[i].consumer == sender.consumer;
    }
    // What ended stays done (an action failed, then claimed again, counts from its last
    // batch); a killed ack or fail took effect for its whole batch or not at all.
    std::map<int64_t, const Batch*> last;
    for (const Batch& batch : log.batches)
        for (const int64_t id : batch.ids)
            last[id] = &batch;
    for (const auto& [id, batch] : last) {
        const std::string& status = now[id - 1].status;
        const std::string ended_as = batch->ack ? "done" : "pending";
        // A failed action may be in the batch of a killed claim after it.
        const bool claimed_again = !batch->ack && log.claim_killed && status == "in_flight" &&
                                   now[id - 1].consumer == sender.consumer;
        if (status != ended_as && !claimed_again && (batch->ended || status != "in_flight"))
            problem(id, std::string(batch->ended ? "" : "killed ") + (batch->ack ? "ack" : "fail") +
                            " left it so");
    }
    if (!log.batches.empty() && !log.batches.back().ended) {
        const Batch& cut = log.batches.back();
        size_t changed = 0;
        for (const int64_t id : cut.ids)
            changed += now[id - 1].status != "in_flight";
        if (changed != 0 && changed != cut.ids.size())
            problems.push_back("a killed " + std::string(cut.ack ? "ack" : "fail") + " changed " +
                               std::to_string(changed) + " of its " +
                               std::to_string(cut.ids.size()) + " actions");
    }
    // A claim took a whole batch or none (fewer only when no pending action is left).
    if (mine_in_flight > kSenderBatch ||
        (mine_in_flight != 0 && mine_in_flight != kSenderBatch && pending != 0))
        problems.push_back(sender.consumer + " holds " + std::to_string(mine_in_flight) +
                           " actions in flight; a claim takes " + std::to_string(kSenderBatch));
    return problems;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

}  // namespace

TEST_CASE("SIGKILL at random points of outbox consumption loses no action and doubles none") {
    TempDir dir;
    const std::string state = dir.file("state.db");
    const std::string copy = dir.file("measure.db");
    const std::vector<std::string> keys = seed_outbox(state);
    REQUIRE(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());

    // How long one sender takes when nothing stops it, on a copy of the outbox.
    std::filesystem::copy_file(state, copy);
    const auto began = Clock::now();
    const SenderLog measured = send({"measure"}, copy, dir, kNever);
    Clock::duration typical = Clock::now() - began;
    REQUIRE(measured.batches.size() == kSenderBatches);

    std::mt19937_64 rng(kSeed);
    std::vector<Action> before = outbox_actions(state, keys);
    int killed = 0, killed_during_change = 0;
    for (int attempt = 0; killed < kConsumerKills; ++attempt) {
        REQUIRE(attempt < kMaxAttempts * kConsumerKills);
        const Sender sender{"sender-" + std::to_string(attempt)};
        const Clock::duration delay = kill_delay(rng, typical);
        const auto sent = Clock::now();
        const SenderLog log = send(sender, state, dir, sent + delay);
        killed += log.killed;
        // A sender that ended on its own measured the work again (the machine's load moves).
        if (!log.killed && !log.drained) typical = Clock::now() - sent;

        INFO("attempt ", attempt, ", killed after ",
             std::chrono::duration_cast<std::chrono::microseconds>(delay).count(), " µs");
        REQUIRE(integrity(state) == "ok");
        // Every seeded action is there once, with its key (outbox_actions checks ids and keys).
        const std::vector<Action> now = outbox_actions(state, keys);
        const std::vector<std::string> problems = sender_problems(before, now, log, sender);
        std::string listed;
        for (size_t i = 0; i < problems.size() && i < 10; ++i)
            listed += "\n  " + problems[i];
        CHECK_MESSAGE(problems.empty(), problems.size(), " problems:", listed);
        killed_during_change += !log.batches.empty() && !log.batches.back().ended;
        before = now;
    }
    int64_t done_before_drain = 0;
    for (const Action& a : before)
        done_before_drain += a.status == "done";
    MESSAGE(killed, " senders killed (", killed_during_change,
            " during an ack or fail), others ended first; ", done_before_drain, " of ", kActions,
            " actions done by them");

    // Once every lease has run out, a sender that is not killed takes what is left: then every
    // seeded action is done, once.
    std::string last_lease;
    for (const Action& a : before)
        if (a.status == "in_flight") last_lease = std::max(last_lease, a.lease_until);
    while (utc_now() <= last_lease)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const SenderLog drain = send({"drain", 500, kActions, 0}, state, dir, kNever);
    CHECK(drain.drained);
    CHECK(integrity(state) == "ok");
    std::set<std::string> done;
    for (const Action& a : outbox_actions(state, keys)) {
        CHECK(a.status == "done");
        CHECK(done.insert(a.key).second);
    }
    CHECK(done == std::set<std::string>(keys.begin(), keys.end()));
}
