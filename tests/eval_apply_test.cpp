// strata eval --apply and the Engine's apply: the latest run found by an index, actions enqueued
// once from several threads, keys and as_of refused as a batch run refuses them, and the stay a
// day began with.
#include <doctest/doctest.h>

#include <chrono>

#include <SQLiteCpp/Database.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli/common.hpp"
#include "engine/run_state.hpp"
#include "eval_support.hpp"
#include "include/strata/strata.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::eval_fixture;

TEST_CASE("eval --apply: the latest batch run is found by an index, not by reading every run") {
    // A service may store thousands of evaluations between batch runs; each apply looks up the
    // latest batch run, which must not read every stored run's summary.
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    REQUIRE(run_cli({"eval", rules, "--db", db, "--customer", "2", "--apply"}).code == 0);
    SQLite::Database state(db);
    std::string plan;
    SQLite::Statement q(state, std::string("EXPLAIN QUERY PLAN ") + strata::kLatestBatchRunQuery);
    while (q.executeStep())
        plan += q.getColumn(3).getString() + "\n";
    CHECK(plan ==
          "SEARCH strata_runs USING INDEX strata_runs_latest_batch (ruleset=? AND "
          "<expr>=?)\n");
}

TEST_CASE(
    "eval --apply: stores the move and its actions once; a batch run after it does not "
    "count or fire them again") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // Customer 2 places a large order.
    {
        SQLite::Database base(db, SQLite::OPEN_READWRITE);
        base.exec("INSERT INTO orders (customer_id, day, amount) VALUES (2, '2026-09-30', 900)");
    }
    auto preview = run_cli({"eval", rules, "--db", db, "--customer", "2", "--format", "json"});
    REQUIRE(preview.code == 0);
    CHECK(json_at(preview.out, "$.transition") == "moves");
    CHECK(json_at(preview.out, "$.previous_segment") == "low");
    CHECK(json_at(preview.out, "$.segment") == "top");
    CHECK(json_at(preview.out, "$.actions[0].trigger") == "welcome_top");
    CHECK(json_at(preview.out, "$.actions[0].type") == "email");
    CHECK(json_at(preview.out, "$.actions[0].status") == "pending");
    CHECK(json_at(preview.out, "$.actions[0].payload.spent") == "920");
    CHECK(json_at(preview.out, "$.actions[1].type") == "task");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 0);  // a preview stores nothing

    auto applied =
        run_cli({"eval", rules, "--db", db, "--customer", "2", "--apply", "--format", "json"});
    INFO(applied.out, applied.err);
    REQUIRE(applied.code == 0);
    CHECK(json_at(applied.out, "$.applied") == "1");
    CHECK(json_at(applied.out, "$.applied_run") == "2");
    CHECK(json_at(applied.out, "$.actions[0].idempotency_key") ==
          json_at(preview.out, "$.actions[0].idempotency_key"));
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox WHERE status = 'pending'") == 2);
    CHECK(scalar(db, "SELECT run_id FROM strata_outbox LIMIT 1") == 2);
    // The run record: an eval run, the base's count, the customer; its fits kept.
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_runs WHERE run_id = 2 AND status = 'complete' "
                 "AND customers = 6 AND json_extract(summary, '$.mode') = 'eval' AND "
                 "json_extract(summary, '$.customer') = 2 AND "
                 "json_extract(summary, '$.thresholds_run') = 1") == 1);
    // Its transitions have a run's matrix, of the one customer: from their stored segment.
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_runs WHERE run_id = 2 AND "
                 "json_array_length(summary, '$.transitions.matrix') = 1 AND "
                 "json_extract(summary, '$.transitions.matrix[0].to') = 'top' AND "
                 "json_extract(summary, '$.transitions.matrix[0].from') = "
                 "(SELECT segment FROM strata_membership WHERE run_id = 1 AND customer_key = 2) "
                 "AND json_extract(summary, '$.transitions.matrix[0].count') = 1") == 1);
    // It keeps no copy of run 1's fits (a percent_rank's is megabytes at 1M customers, and
    // every apply made one): explain --run 2 reads run 1's, named by thresholds_run.
    CHECK(scalar(db, "SELECT count(*) FROM strata_population_fits WHERE run_id = 2") == 0);
    CHECK(scalar(db, "SELECT count(*) FROM strata_population_fits WHERE run_id = 1") > 0);
    auto explained = run_cli(
        {"explain", rules, "--db", db, "--run", "2", "--customer", "2", "--format", "json"});
    INFO(explained.err);
    CHECK(explained.code == 0);
    CHECK(json_at(explained.out, "$.segment") == "top");
    // The membership of the eval run is the whole base, customer 2 moved.
    CHECK(scalar(db, "SELECT count(*) FROM strata_membership WHERE run_id = 2") == 6);
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_membership WHERE run_id = 2 AND customer_key = "
                 "2 AND segment = 'top'") == 1);

    // Again: nothing new.
    auto again =
        run_cli({"eval", rules, "--db", db, "--customer", "2", "--apply", "--format", "json"});
    REQUIRE(again.code == 0);
    CHECK(json_at(again.out, "$.transition") == "stays");
    CHECK(json_at(again.out, "$.actions") == "[]");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 2);
    // Run 3 used run 2's thresholds, which are run 1's: the chain is followed, so a later
    // eval and explain --run 3 read run 1's fits (one step was followed, and they failed).
    auto third = run_cli({"eval", rules, "--db", db, "--customer", "3", "--format", "json"});
    INFO(third.err);
    CHECK(third.code == 0);
    // Each names run 1, the run that kept the fits, never an eval run that kept none: the
    // summary's thresholds_run joins strata_population_fits.
    CHECK(json_at(third.out, "$.run_id") == "1");
    CHECK(json_at(again.out, "$.run_id") == "1");
    CHECK(scalar(db,
                 "SELECT count(*) FROM strata_runs WHERE run_id = 3 AND "
                 "json_extract(summary, '$.thresholds_run') = 1") == 1);
    CHECK(
        run_cli({"eval", rules, "--db", db, "--customer", "3"}).out.find("(thresholds of run 1)") !=
        std::string::npos);
    auto explained3 = run_cli(
        {"explain", rules, "--db", db, "--run", "3", "--customer", "2", "--format", "json"});
    INFO(explained3.err);
    CHECK(explained3.code == 0);
    CHECK(explained3.err.find("kept") == std::string::npos);

    // A batch run at the same as_of: the customer's move is stored already.
    auto batch = run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01", "--format", "json"});
    INFO(batch.out);
    REQUIRE(batch.code == 0);
    CHECK(json_at(batch.out, "$.actions_enqueued") == "0");
    CHECK(json_at(batch.out, "$.transitions.since_run") == "3");
    // (Customer 2's spend moved the ntile's cuts, so others may move; no one enters top.)
    const std::string matrix = json_at(batch.out, "$.transitions.matrix");
    INFO(matrix);
    CHECK(matrix.find("\"from\":\"low\",\"to\":\"top\"") == std::string::npos);
    CHECK(matrix.find("{\"from\":\"top\",\"to\":\"top\",\"count\":3}") != std::string::npos);
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 2);
}

TEST_CASE("Engine::apply from several threads: each customer's actions are enqueued once") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    {
        SQLite::Database base(db, SQLite::OPEN_READWRITE);
        base.exec(
            "INSERT INTO orders (customer_id, day, amount) VALUES (1, '2026-09-30', 900), "
            "(4, '2026-09-30', 900)");
    }
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    auto engine = strata::Engine::open(options);
    REQUIRE(engine.ok());
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&engine, &ok, t] { ok[t] = engine->apply(t % 2 ? "1" : "4").ok(); });
    for (auto& t : threads)
        t.join();
    CHECK(ok == std::vector<int>{1, 1, 1, 1});
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 4);
    CHECK(scalar(db, "SELECT count(DISTINCT customer_key) FROM strata_outbox") == 2);
}

TEST_CASE("eval --apply refuses a key whose column changed kind, as a batch run does") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // A re-import made the key column TEXT: '3' is not the customer 3, who still has stays.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE retyped (customer_id TEXT PRIMARY KEY, name TEXT);"
            "INSERT INTO retyped SELECT CAST(customer_id AS TEXT), name FROM customers;"
            "INSERT INTO retyped VALUES ('07', 'g');"
            "DROP TABLE customers; ALTER TABLE retyped RENAME TO customers;");
    const int64_t stays = scalar(db, "SELECT count(*) FROM strata_stays");
    const Run refused = run_cli({"eval", rules, "--db", db, "--customer", "3", "--apply"});
    CHECK(refused.code == 2);
    CHECK(refused.err.find("the customer keys changed kind since run 1: customer '3' has no "
                           "stored placement, and its key written as the other kind ('3' was "
                           "3) is the key of a placed customer who is no longer in table "
                           "customers") != std::string::npos);
    CHECK(refused.err.find("nothing was stored") != std::string::npos);
    CHECK(refused.err.find("CAST(customer_id AS INTEGER)") != std::string::npos);
    CHECK(scalar(db, "SELECT count(*) FROM strata_runs") == 1);
    CHECK(scalar(db, "SELECT count(*) FROM strata_stays") == stays);
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox") == 0);
    // The preview says what it sees and stores nothing.
    const Run preview = run_cli({"eval", rules, "--db", db, "--customer", "3", "--format", "json"});
    CHECK(preview.code == 0);
    CHECK(json_at(preview.out, "$.transition") == "new");

    // A text that spells no integer is a new customer like any other.
    const Run fresh =
        run_cli({"eval", rules, "--db", db, "--customer", "07", "--apply", "--format", "json"});
    CHECK_MESSAGE(fresh.code == 0, fresh.err);
    CHECK(json_at(fresh.out, "$.transition") == "new");

    // The flag means nothing without --apply: a usage error, not a preview that looks allowed.
    const Run without_apply = run_cli(
        {"eval", rules, "--db", db, "--customer", "3", "--allow-retyped-keys", "--format", "json"});
    CHECK(without_apply.code == 2);
    CHECK(without_apply.err.find("--allow-retyped-keys requires --apply") != std::string::npos);

    // Asked for: '3' is a new customer, and the welcome fires for them.
    const Run allowed = run_cli({"eval", rules, "--db", db, "--customer", "3", "--apply",
                                 "--allow-retyped-keys", "--format", "json"});
    REQUIRE_MESSAGE(allowed.code == 0, allowed.err);
    CHECK(json_at(allowed.out, "$.transition") == "new");
    CHECK(json_at(allowed.out, "$.segment") == "top");
    CHECK(scalar(db, "SELECT count(*) FROM strata_outbox WHERE customer_key = '3'") == 2);

    // And back, in a base first run with text keys: integer keys where the stays hold texts.
    TempDir other;
    const auto texts = other.database(
        "texts.db", std::string(kBase) +
                        "CREATE TABLE t (customer_id TEXT PRIMARY KEY, name TEXT);"
                        "INSERT INTO t SELECT CAST(customer_id AS TEXT), name FROM customers;"
                        "DROP TABLE customers; ALTER TABLE t RENAME TO customers;");
    REQUIRE(run_cli({"run", rules, "--db", texts, "--as-of", "2026-10-01"}).code == 0);
    SQLite::Database(texts, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TABLE back (customer_id INTEGER PRIMARY KEY, name TEXT);"
            "INSERT INTO back SELECT CAST(customer_id AS INTEGER), name FROM customers;"
            "DROP TABLE customers; ALTER TABLE back RENAME TO customers;");
    const Run back = run_cli({"eval", rules, "--db", texts, "--customer", "3", "--apply"});
    CHECK(back.code == 2);
    CHECK(back.err.find("customer 3 has no stored placement, and its key written as the other "
                        "kind (3 was '3')") != std::string::npos);
    CHECK(back.err.find("CAST(customer_id AS TEXT)") != std::string::npos);
}

TEST_CASE("a stored run more than a year after today is refused: its day is a year off at most") {
    const strata::Date today = *strata::parse_date("2026-12-04");
    CHECK_FALSE(strata::cli::refuses_far_future_as_of(*strata::parse_date("2027-12-05"), today,
                                                      "with --dry-run"));
    const auto refused = strata::cli::refuses_far_future_as_of(*strata::parse_date("2027-12-06"),
                                                               today, "with --dry-run");
    REQUIRE(refused);
    CHECK(*refused ==
          "as_of 2027-12-06 is 367 days after today (2026-12-04), and a ruleset's runs move "
          "forward in time: once stored, no run before that day could be. Check the date, look "
          "at that day with --dry-run, or pass --allow-future-as-of to store it");
}

TEST_CASE("run and eval --apply refuse an as_of decades ahead unless --allow-future-as-of") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    const auto state = (std::filesystem::path(db).parent_path() / "state.db").string();
    // A typo: 2062 for 2026. Refused before the state file is even made.
    auto typo = run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2062-10-01"});
    CHECK(typo.code == 2);
    CHECK(typo.err.find("strata run: as_of 2062-10-01 is ") == 0);
    CHECK(typo.err.find("--allow-future-as-of") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(state));
    auto json = run_cli(
        {"run", rules, "--db", db, "--state", state, "--as-of", "2062-10-01", "--format", "json"});
    CHECK(json.code == 2);
    CHECK(json.out.find("{\"format\":1,\"error\":{\"kind\":\"usage\"") == 0);
    // Looking at that day stores nothing and is allowed.
    CHECK(run_cli({"run", rules, "--db", db, "--as-of", "2062-10-01", "--dry-run"}).code == 0);
    // The right day is stored; after it, eval --apply refuses the typo too.
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    auto apply = run_cli({"eval", rules, "--db", db, "--state", state, "--customer", "1", "--apply",
                          "--as-of", "2062-10-01"});
    CHECK(apply.code == 2);
    CHECK(apply.err.find("strata eval: as_of 2062-10-01 is ") != std::string::npos);
    CHECK(apply.err.find("look at that day without --apply") != std::string::npos);
    CHECK(run_cli({"eval", rules, "--db", db, "--state", state, "--customer", "1", "--as-of",
                   "2062-10-01"})
              .code == 0);
    // Asked for, it is stored.
    auto allowed = run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2062-10-01",
                            "--allow-future-as-of"});
    CHECK(allowed.code == 0);
    {
        SQLite::Database runs(state);
        CHECK(runs.execAndGet("SELECT max(as_of) FROM strata_runs").getString() == "2062-10-01");
    }
    // That day, once stored, may be stored again without the flag (no earlier day is kept
    // out by it), by run and by eval --apply; the day after it may not.
    auto again = run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2062-10-01"});
    CHECK(again.code == 0);
    CHECK(again.err.empty());
    auto applied = run_cli({"eval", rules, "--db", db, "--state", state, "--customer", "1",
                            "--apply", "--as-of", "2062-10-01"});
    CHECK(applied.code == 0);
    CHECK(applied.err.empty());
    auto next_day = run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2062-10-02"});
    CHECK(next_day.code == 2);
    CHECK(next_day.err.find("strata run: as_of 2062-10-02 is ") == 0);
    auto next_apply = run_cli({"eval", rules, "--db", db, "--state", state, "--customer", "1",
                               "--apply", "--as-of", "2062-10-02"});
    CHECK(next_apply.code == 2);
    CHECK(next_apply.err.find("look at that day without --apply") != std::string::npos);
    // The day stored for another ruleset does not count for this one.
    SQLite::Database runs(state, SQLite::OPEN_READWRITE);
    runs.exec("UPDATE strata_runs SET ruleset = 'elsewhere'");
    auto other = run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2062-10-01"});
    CHECK(other.code == 2);
}

TEST_CASE("eval and eval --apply read previous_segment as the day began, as a run of it does") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    // Each run flips every customer between a and b: previous_segment decides alone.
    const auto rules = dir.write("flip.yaml", R"(ruleset: flip
version: 1
general:
  segments:
    - id: a
      when: previous_segment is null or previous_segment == 'b'
    - id: b
      when: otherwise
)");
    for (const char* day : {"2026-10-01", "2026-10-02"})
        REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", day}).code == 0);
    auto eval = [&](const char* key, bool apply) {
        return segment_and_transition(rules, db, state, key, apply);
    };
    // Run 2 flipped everyone to b as 2026-10-02 began with a: evaluated as of that day, each
    // customer gets b again, whether their stay began that day (read back from run 2) or not.
    CHECK(eval("1", false) == "b stays");
    CHECK(eval("1", true) == "b stays");
    CHECK(eval("2", true) == "b stays");
    // A customer new that day is new however often it is applied.
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("INSERT INTO customers VALUES (7, 'g')");
    CHECK(eval("7", false) == "a new");
    CHECK(eval("7", true) == "a new");
    CHECK(eval("7", true) == "a stays");
    CHECK(eval("7", false) == "a stays");
    // A batch run of that day again agrees with all of it.
    auto again = run_cli(
        {"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-02", "--format", "json"});
    REQUIRE_MESSAGE(again.code == 0, again.err);
    CHECK(json_at(again.out, "$.transitions.moved") == "0");
    CHECK(json_at(again.out, "$.segments[0].count") == "1");
    // The next day flips them all, the one placed by eval included.
    CHECK(eval("7", false) == "a stays");  // still as of 2026-10-02, the latest run's day
    auto next = run_cli({"eval", rules, "--db", db, "--state", state, "--customer", "7", "--as-of",
                         "2026-10-03", "--format", "json"});
    REQUIRE_MESSAGE(next.code == 0, next.err);
    CHECK(json_at(next.out, "$.segment") == "b");
}

TEST_CASE("eval finds the stay a day began with behind the day's moves and a customer's return") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    // was_vip needs a vip stay from before the day: one begun that day does not count.
    const auto rules = dir.write("vip.yaml", R"(ruleset: vip
version: 1
general:
  segments:
    - id: vip
      when: name == 'vip'
    - id: was_vip
      when: previous_segment == 'vip' and segment_since < as_of
    - id: rest
      when: otherwise
)");
    SQLite::Database base(db, SQLite::OPEN_READWRITE);
    base.exec("UPDATE customers SET name = 'vip' WHERE customer_id IN (1, 2)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    // Customer 2 leaves the base at the next day's run and comes back after it.
    base.exec("DELETE FROM customers WHERE customer_id = 2");
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-02"}).code ==
            0);
    base.exec("INSERT INTO customers VALUES (2, 'back')");
    auto eval = [&](const char* key, bool apply) {
        return segment_and_transition(rules, db, state, key, apply);
    };
    CHECK(eval("2", false) == "was_vip new");
    CHECK(eval("2", true) == "was_vip new");
    CHECK(eval("2", false) == "was_vip stays");
    // Customer 1 moves twice that day by --apply, then is evaluated again: the vip stay from
    // before the day is two of the day's stays back.
    base.exec("UPDATE customers SET name = 'y' WHERE customer_id = 1");
    CHECK(eval("1", true) == "was_vip moves");
    base.exec("UPDATE customers SET name = 'vip' WHERE customer_id = 1");
    CHECK(eval("1", true) == "vip moves");
    base.exec("UPDATE customers SET name = 'z' WHERE customer_id = 1");
    CHECK(eval("1", false) == "was_vip moves");
    // A batch run of the day again agrees: both are was_vip.
    auto again = run_cli(
        {"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-02", "--format", "json"});
    REQUIRE_MESSAGE(again.code == 0, again.err);
    CHECK(json_at(again.out, "$.segments[1].count") == "2");
}

// Two engines loaded the same run; one stores an evaluation at a later day, so the other's day
// is now before the latest run's: a usage error that says so, not a database error advising a
// --dry-run that apply() does not have.
TEST_CASE("Engine: apply() at a day before an evaluation stored since it loaded is a usage error") {
    TempDir dir;
    struct {
        std::string db, rules, state;
    } base{dir.file("retail.db"), std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml",
           dir.file("state.db")};
    REQUIRE(
        run_cli({"demo-data", "--kind", "retail", "--customers", "200", "--out", base.db}).code ==
        0);
    REQUIRE(run_cli({"run", base.rules, "--db", base.db, "--state", base.state, "--as-of",
                     "2026-11-01"})
                .code == 0);
    auto open_at = [&](const char* as_of) {
        strata::EngineOptions options;
        options.rules_path = base.rules;
        options.db_path = base.db;
        options.state_path = base.state;
        options.as_of = as_of;
        auto engine = strata::Engine::open(options);
        REQUIRE(engine.ok());
        return std::move(engine.value());
    };
    strata::Engine earlier = open_at("2026-11-05");
    strata::Engine later = open_at("2026-11-06");
    auto stored = later.apply("8");
    REQUIRE_MESSAGE(stored.ok(), (stored.ok() ? std::string() : stored.error().message));
    auto refused = earlier.apply("7");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == strata::EngineError::Kind::Usage);
    CHECK(refused.error().message ==
          "--apply as of 2026-11-05 is before the as_of of run 2 (2026-11-06), stored since the "
          "thresholds were loaded: runs move forward in time; nothing was stored");
    SQLite::Database state(base.state, SQLite::OPEN_READONLY);
    CHECK(state.execAndGet("SELECT count(*) FROM strata_runs").getInt64() == 2);
}

// A state file replaced while an Engine holds thresholds: apply() added strata's tables to a
// file that held no runs, and called an older copy's run "stored after the thresholds" (review
// AL1). Neither file is changed now, and each refusal says what happened.
TEST_CASE("Engine: apply() after the state file was replaced stores nothing and says why") {
    TempDir dir;
    const std::string db = dir.file("retail.db"), state = dir.file("state.db");
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "200", "--out", db}).code ==
            0);
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    const std::string older = dir.file("older.db");
    std::filesystem::copy_file(state, older);
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-02"}).code ==
            0);
    auto open = [&] {
        strata::EngineOptions options;
        options.rules_path = rules;
        options.db_path = db;
        options.state_path = state;
        options.as_of = "2026-11-03";
        auto engine = strata::Engine::open(options);
        REQUIRE(engine.ok());
        return std::move(engine.value());
    };
    const std::string not_a_state = dir.file("copy.db");
    std::filesystem::copy_file(db, not_a_state);
    const auto strata_tables = [](const std::string& path) {
        SQLite::Database read(path, SQLite::OPEN_READONLY);
        return read.execAndGet("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'strata%'")
            .getInt64();
    };
    {
        strata::Engine engine = open();
        std::filesystem::copy_file(not_a_state, state,
                                   std::filesystem::copy_options::overwrite_existing);
        auto refused = engine.apply("8");
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().kind == strata::EngineError::Kind::NoRun);
        CHECK(refused.error().message.find("no runs are stored in '" + state + "' any longer") ==
              0);
        CHECK(strata_tables(state) == 0);
    }
    std::filesystem::copy_file(older, state, std::filesystem::copy_options::overwrite_existing);
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-02"}).code ==
            0);
    {
        strata::Engine engine = open();  // run 2's thresholds
        std::filesystem::copy_file(older, state, std::filesystem::copy_options::overwrite_existing);
        auto refused = engine.apply("8");
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().kind == strata::EngineError::Kind::Stale);
        CHECK(refused.error().message.find("the state no longer holds run 2 of ruleset "
                                           "'retail-rfm', whose thresholds are in use (its latest "
                                           "batch run is 1)") == 0);
        SQLite::Database read(state, SQLite::OPEN_READONLY);
        CHECK(read.execAndGet("SELECT count(*) FROM strata_runs").getInt64() == 1);
    }
}
