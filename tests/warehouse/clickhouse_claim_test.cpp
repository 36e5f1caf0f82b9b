// Runs inside ClickHouse one run of a ruleset at a time, under run ids no two runs share
// (state/clickhouse_claim.hpp), on the real two-shard ClickHouse: a live run of the ruleset
// (a fresh heartbeat) holds the next one off until --wait is over; a run whose heartbeat is
// stale, or that stepped back, does not; another ruleset's run does not; and runs started
// together, as separate processes, go one after the other with ids of their own.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <set>

#include "tests/process_support.hpp"
#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/warehouse_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

const char* kRules = R"(ruleset: claimed
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)";

void exec(ClickHouseClient& client, const std::string& sql) {
    auto done = client.query(sql);
    if (!done) FAIL(done.error().describe());
}

std::string scalar(ClickHouseClient& client, const std::string& sql) {
    auto done = client.query(sql);
    if (!done) FAIL(done.error().describe());
    return done.value().rows.at(0).at(0).value_or("");
}

// Another run's heartbeat, `age` seconds old, stepped back or not.
std::string heartbeat_of(const std::string& ruleset, int run_id, int beat, int age,
                         bool stepped_back) {
    return "INSERT INTO strata_run_heartbeats (ruleset, run_id, token, beat, at, stepped_back) "
           "SELECT '" +
           ruleset + "', " + std::to_string(run_id) + ", 'elsewhere', " + std::to_string(beat) +
           ", now() - " + std::to_string(age) + ", " + (stepped_back ? "1" : "0");
}

struct Setup {
    TempDir dir;
    ClusterDatabase ch;
    std::string rules;
    Setup() {
        const std::string base = dir.database("base.db", kSchema);
        SQLite::Database(base, SQLite::OPEN_READWRITE)
            .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, 'x')");
        ch.load(base);
        rules = dir.write("r.yaml", kRules);
        // The state tables, made by a first run.
        REQUIRE(run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-10-01"}).code == 0);
    }
    int complete_runs() {
        auto client = ch.client();
        return std::stoi(
            scalar(client, "SELECT count() FROM strata_runs WHERE status = 'complete'"));
    }
};

}  // namespace

TEST_CASE("clickhouse claim: a live run of the ruleset holds the next off until --wait is over") {
    Setup s;
    auto client = s.ch.client();
    // Run 7 of the same ruleset is under way elsewhere: its 'running' row and a fresh heartbeat.
    exec(client,
         "INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (7, 'claimed', "
         "'running', '2026-10-15')");
    exec(client, heartbeat_of("claimed", 7, 1, 0, false));
    const auto started = std::chrono::steady_clock::now();
    const Run held =
        run_cli({"run", s.rules, "--db", s.ch.url, "--as-of", "2026-11-01", "--wait", "2s"});
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CHECK(held.code == 2);
    CHECK(held.err.find("another run of ruleset 'claimed' (run 7, its latest heartbeat at ") !=
          std::string::npos);
    CHECK(held.err.find("nothing was stored") != std::string::npos);
    CHECK(waited >= 2.0);
    CHECK(s.complete_runs() == 1);
    // Run 7 is alive, so it was not taken for a dead run.
    CHECK(scalar(client, "SELECT count() FROM strata_runs WHERE status = 'abandoned'") == "0");

    SUBCASE("a run of another ruleset goes on") {
        const std::string other = s.dir.write(
            "other.yaml", std::string(kRules).replace(9, 7, "unclaimed"));  // ruleset: unclaimed
        const Run free =
            run_cli({"run", other, "--db", s.ch.url, "--as-of", "2026-11-01", "--wait", "0s"});
        INFO(free.err);
        CHECK(free.code == 0);
    }
    SUBCASE("once its heartbeat is older than the lease, it is a dead run and is removed") {
        exec(client, heartbeat_of("claimed", 7, 2, 121, false));
        exec(client, "ALTER TABLE strata_run_heartbeats DELETE WHERE run_id = 7 AND beat = 1");
        // The deletion is a mutation the server applies in the background.
        for (int tries = 0; tries < 100; ++tries) {
            if (scalar(client,
                       "SELECT count() FROM strata_run_heartbeats WHERE beat = 1 AND "
                       "run_id = 7") == "0")
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        const Run next =
            run_cli({"run", s.rules, "--db", s.ch.url, "--as-of", "2026-11-01", "--wait", "0s"});
        INFO(next.err);
        CHECK(next.code == 0);
        CHECK(scalar(client, "SELECT count() FROM strata_runs WHERE status = 'abandoned'") == "1");
    }
    SUBCASE("once it stepped back, the ruleset is free") {
        exec(client, heartbeat_of("claimed", 7, 2, 0, true));
        const Run next =
            run_cli({"run", s.rules, "--db", s.ch.url, "--as-of", "2026-11-01", "--wait", "0s"});
        INFO(next.err);
        CHECK(next.code == 0);
    }
}

TEST_CASE("clickhouse claim: a finished run steps back, and claimed ids are given to nobody else") {
    Setup s;
    auto client = s.ch.client();
    // The first run (Setup's) is over: its latest heartbeat says it stepped back.
    CHECK(scalar(client,
                 "SELECT argMax(stepped_back, beat) FROM strata_run_heartbeats WHERE run_id = 1") ==
          "1");
    // Two claims of id 2 (two runs that read the same highest id; neither holds it) and no run
    // row: the next run's id is still above them.
    exec(client,
         "INSERT INTO strata_run_claims (run_id, ruleset, token, claimed_at) SELECT 2, 'x', 'a', "
         "now()");
    exec(client,
         "INSERT INTO strata_run_claims (run_id, ruleset, token, claimed_at) SELECT 2, 'y', 'b', "
         "now()");
    const Run next =
        run_cli({"run", s.rules, "--db", s.ch.url, "--as-of", "2026-11-01", "--format", "json"});
    INFO(next.err);
    REQUIRE(next.code == 0);
    CHECK(json_at(next.out, "$.run_id") == "3");
}

TEST_CASE("clickhouse claim: runs of one ruleset started together go one after the other") {
    Setup s;
    const std::string other = s.dir.write(
        "other.yaml", std::string(kRules).replace(9, 7, "unclaimed"));  // ruleset: unclaimed
    // Five processes at once: three of one ruleset, two of another.
    std::vector<pid_t> pids;
    std::vector<std::string> outs, errs;
    for (int i = 0; i < 5; ++i) {
        outs.push_back(s.dir.file("out" + std::to_string(i)));
        errs.push_back(s.dir.file("err" + std::to_string(i)));
        pids.push_back(start({STRATA_BINARY, "run", i < 3 ? s.rules : other, "--db", s.ch.url,
                              "--as-of", "2026-11-01", "--wait", "60s", "--format", "json"},
                             outs.back(), errs.back()));
    }
    std::set<std::string> ids;
    for (size_t i = 0; i < pids.size(); ++i) {
        const Ended ended = finish_or_kill(pids[i], Clock::now() + std::chrono::seconds(120));
        INFO(slurp(errs[i]));
        CHECK(!ended.killed);
        CHECK(ended.exit_code == 0);
        ids.insert(json_at(slurp(outs[i]), "$.run_id"));
    }
    // Six runs (Setup's first one too) under six ids, all complete, none taken for dead.
    CHECK(ids.size() == 5);
    CHECK(ids.count("1") == 0);
    CHECK(s.complete_runs() == 6);
    auto client = s.ch.client();
    CHECK(scalar(client, "SELECT count() FROM strata_runs WHERE status = 'abandoned'") == "0");
    CHECK(run_cli({"export", "claimed", "--db", s.ch.url, "--raw"}).out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,gold,,,,\n2,rest,,,,\n");
}
