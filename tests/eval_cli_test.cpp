// `strata eval` as a command (issue 12, one customer): exit codes and messages, the JSON
// document, the lookup indexes, and --apply's exactly-once rules against a batch run after it.
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
#include "include/strata/strata.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f');
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, day DATE, amount REAL);
INSERT INTO orders (customer_id, day, amount) VALUES (1, '2026-09-01', 10), (2, '2026-09-02', 20),
  (3, '2026-09-03', 300), (3, '2026-09-04', 300), (4, '2026-09-05', 40), (5, '2026-09-06', 50),
  (6, '2026-09-07', 600);
)sql";

std::string tiers(int top = 500) {
    return R"(ruleset: tiers
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: day }
let:
  spent: sum(orders.amount)
  third: ntile(spent, 3)
general:
  policy: first_match
  segments:
    - id: top
      when: spent >= )" +
           std::to_string(top) + R"(
    - id: mid
      when: third >= 2
    - id: low
      when: otherwise
triggers:
  - id: welcome_top
    on: enter top
    actions:
      - email: { template: top, spent: "{{spent}}" }
      - task: { queue: managers }
)";
}

// `strata eval` of one customer (with --apply when `apply`), as "SEGMENT TRANSITION".
std::string segment_and_transition(const std::string& rules, const std::string& db,
                                   const std::string& state, const char* key, bool apply) {
    std::vector<std::string> args{"eval", rules,        "--db", db,         "--state",
                                  state,  "--customer", key,    "--format", "json"};
    if (apply) args.push_back("--apply");
    const Run r = run_cli(args);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return json_at(r.out, "$.segment") + " " + json_at(r.out, "$.transition");
}

}  // namespace

TEST_CASE("eval: exit codes and messages") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    // No run yet: nothing to take thresholds from.
    auto none = run_cli({"eval", rules, "--db", db, "--customer", "1"});
    CHECK(none.code == 2);
    CHECK(none.err.find("ruleset 'tiers' has no stored run") != std::string::npos);
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // A key not in the base is not a rule problem.
    auto unknown = run_cli({"eval", rules, "--db", db, "--customer", "77", "--format", "json"});
    CHECK(unknown.code == 2);
    CHECK(unknown.err.find("strata eval: customer 77 is not in table customers\n") !=
          std::string::npos);
    auto padded = run_cli({"eval", rules, "--db", db, "--customer", "77 "});
    CHECK(padded.err.find("strata eval: customer '77 ' is not in table customers\n") !=
          std::string::npos);
    // Its own kind: a sender can tell it from a locked database, which is worth a retry.
    CHECK(json_at(unknown.out, "$.error.kind") == "not_found");
    // Another rule file than the latest run's: run it first.
    const auto changed = dir.write("tiers2.yaml", tiers(400));
    auto other = run_cli({"eval", changed, "--db", db, "--customer", "1"});
    CHECK(other.code == 1);
    CHECK(other.err.find("evaluated another rule file") != std::string::npos);
    CHECK(other.err.find("run this file first") != std::string::npos);
    // A malformed --as-of.
    auto bad = run_cli({"eval", rules, "--db", db, "--customer", "1", "--as-of", "2026-13-01"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("is not a date") != std::string::npos);
    // --apply before the run's as_of: runs move forward in time.
    auto back =
        run_cli({"eval", rules, "--db", db, "--customer", "1", "--apply", "--as-of", "2026-09-30"});
    CHECK(back.code == 2);
    CHECK(back.err.find("before the as_of of run 1") != std::string::npos);
    // --wait: a duration, and how long a read waits for a run that holds the lock.
    auto not_duration = run_cli(
        {"eval", rules, "--db", db, "--customer", "1", "--wait", "soon", "--format", "json"});
    CHECK(not_duration.code == 2);
    CHECK(not_duration.err.find("--wait soon is not a duration") != std::string::npos);
    CHECK(json_at(not_duration.out, "$.error.kind") == "usage");
    SQLite::Database writer(db, SQLite::OPEN_READWRITE);
    writer.exec("BEGIN EXCLUSIVE");
    const auto began = std::chrono::steady_clock::now();
    auto locked = run_cli({"eval", rules, "--db", db, "--customer", "1", "--wait", "0s"});
    CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds(2));  // not 5 s
    CHECK(locked.code == 2);
    CHECK(locked.err.find("locked by another process") != std::string::npos);
    CHECK(locked.err.find("--wait for strata eval") != std::string::npos);
    writer.exec("ROLLBACK");
    CHECK(run_cli({"eval", rules, "--db", db, "--customer", "1", "--wait", "0s"}).code == 0);
}

TEST_CASE("eval: the JSON document and the text") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto r = run_cli({"eval", rules, "--db", db, "--customer", "3", "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.format") == "1");
    CHECK(json_at(r.out, "$.ruleset") == "tiers");
    CHECK(json_at(r.out, "$.customer") == "3");
    CHECK(json_at(r.out, "$.previous_segment") == "top");
    CHECK(json_at(r.out, "$.previous_tactical") == "[]");
    CHECK(json_at(r.out, "$.segment") == "top");
    CHECK(json_at(r.out, "$.tactical") == "[]");
    CHECK(json_at(r.out, "$.transition") == "stays");
    CHECK(json_at(r.out, "$.actions") == "[]");
    CHECK(json_at(r.out, "$.as_of") == "2026-10-01");
    CHECK(json_at(r.out, "$.run_id") == "1");
    CHECK(json_at(r.out, "$.applied") == "0");
    CHECK(json_at(r.out, "$.applied_run") == "<none>");
    auto t = run_cli({"eval", rules, "--db", db, "--customer", "3"});
    CHECK(t.out ==
          "customer 3 in tiers as of 2026-10-01 (thresholds of run 1)\n"
          "  segment   top  tactical: -\n"
          "  stored    top  tactical: -\n"
          "  stays     in top\n"
          "  no action to enqueue\n"
          "  not stored (--apply stores it)\n");
}

TEST_CASE("eval: a missing lookup index is created once, or named when it cannot be") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const std::string create =
        "CREATE INDEX IF NOT EXISTS \"strata_eval_orders_customer_id\" ON \"orders\" "
        "(\"customer_id\")";
    // Without creating: the engine names the table, the column and the statement.
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    options.create_indexes = false;
    auto refused = strata::Engine::open(options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == strata::EngineError::Kind::MissingIndex);
    CHECK(refused.error().message ==
          "table orders has no index on column customer_id, which looking up one customer "
          "needs; create it with: " +
              create);
    CHECK(refused.error().exit_code() == 2);
    // The customer table's INTEGER PRIMARY KEY serves; the orders' key gets an index, once.
    auto first = run_cli({"eval", rules, "--db", db, "--customer", "1"});
    CHECK(first.code == 0);
    CHECK(first.err == "strata eval: created an index for lookups: " + create + "\n");
    CHECK(scalar(db,
                 "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE "
                 "'strata_eval_%'") == 1);
    auto second = run_cli({"eval", rules, "--db", db, "--customer", "1"});
    CHECK(second.code == 0);
    CHECK(second.err.empty());
    // A database that cannot be written (not testable as root, who writes anyway).
    if (::geteuid() != 0) {
        const auto ro = dir.database("ro.db", kBase);
        REQUIRE(run_cli({"run", rules, "--db", ro, "--state", dir.file("state.db"), "--as-of",
                         "2026-10-01"})
                    .code == 0);
        std::filesystem::permissions(ro, std::filesystem::perms::owner_read);
        auto r = run_cli(
            {"eval", rules, "--db", ro, "--state", dir.file("state.db"), "--customer", "1"});
        CHECK(r.code == 2);
        CHECK(r.err.find("table orders has no index on column customer_id") != std::string::npos);
        CHECK(r.err.find(create) != std::string::npos);
    }
}

TEST_CASE("eval: an engine's refresh() makes again a lookup index dropped since it opened") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    auto engine = strata::Engine::open(options);
    REQUIRE(engine.ok());
    CHECK(engine->created_indexes().size() == 1);
    const std::string has_index =
        "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = "
        "'strata_eval_orders_customer_id'";
    // As strata import --replace leaves it: the table made again, without the index.
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("DROP INDEX strata_eval_orders_customer_id");
    REQUIRE(scalar(db, has_index) == 0);
    const auto before = engine->evaluate("1");
    REQUIRE(before.ok());
    auto refreshed = engine->refresh();
    REQUIRE_MESSAGE(refreshed.ok(), refreshed.error().message);
    CHECK_FALSE(refreshed.value());  // no run stored since: the same thresholds
    CHECK(scalar(db, has_index) == 1);
    const auto after = engine->evaluate("1");
    REQUIRE(after.ok());
    CHECK(after->segment == before->segment);
    // An engine that may not create indexes says which one is missing.
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("DROP INDEX strata_eval_orders_customer_id");
    options.create_indexes = false;
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("CREATE INDEX keep_open ON orders (customer_id)");
    auto strict = strata::Engine::open(options);
    REQUIRE(strict.ok());
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("DROP INDEX keep_open");
    auto refused = strict->refresh();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == strata::EngineError::Kind::MissingIndex);
    CHECK(refused.error().message.find("table orders has no index on column customer_id") !=
          std::string::npos);
}

TEST_CASE("eval: the library says why a rule file cannot be read, as the command does") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const std::string folder = dir.file("folder.yaml");
    std::filesystem::create_directory(folder);
    strata::EngineOptions options;
    options.db_path = db;
    for (const std::string& path : {dir.file("missing.yaml"), folder}) {
        CAPTURE(path);
        options.rules_path = path;
        auto refused = strata::Engine::open(options);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().kind == strata::EngineError::Kind::Usage);
        CHECK(refused.error().in_rule_file);
        CHECK(refused.error().exit_code() == 2);
        CHECK(refused.error().message ==
              "cannot read '" + path +
                  "': " + (path == folder ? "it is a directory" : "no such file"));
        auto cli = run_cli({"eval", path, "--db", db, "--customer", "1", "--format", "json"});
        CHECK(cli.code == 2);
        CHECK(json_at(cli.out, "$.error.message") == refused.error().message);
    }
}

TEST_CASE("eval --format json: a rule file with errors, or none, as every command reports it") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    std::string text = tiers();
    text.replace(text.find("sum(orders.amount)"), 18, "sum(orderz.amount)");
    const auto bad = dir.write("bad.yaml", text);
    auto r = run_cli({"eval", bad, "--db", db, "--customer", "1", "--format", "json"});
    CHECK(r.code == 1);
    CHECK(json_at(r.out, "$.error.kind") == "rules");
    CHECK(json_at(r.out, "$.error.message") == "1 error in " + bad);
    CHECK(json_at(r.out, "$.error.diagnostics[0].severity") == "error");
    CHECK(json_at(r.out, "$.error.diagnostics[0].line") == "9");
    CHECK(r.err.find("orderz") != std::string::npos);
    // The same object as strata run gives for the file.
    auto run = run_cli({"run", bad, "--db", db, "--format", "json"});
    CHECK(run.code == 1);
    CHECK(run.out == r.out);
    r = run_cli({"eval", dir.file("none.yaml"), "--db", db, "--customer", "1", "--format", "json"});
    CHECK(r.code == 2);
    CHECK(json_at(r.out, "$.error.kind") == "file");
    CHECK(json_at(r.out, "$.error.diagnostics") == "[]");
}

TEST_CASE("eval: a key stored as a fraction in a column without a type is found as a run keys it") {
    // A run keys the REAL 5.5 as the text SQLite prints for it, "5.5": eval finds it by that.
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id, name TEXT);
INSERT INTO customers VALUES (5.5, 'a'), (7, 'b'), (2.5e20, 'c');
CREATE TABLE orders (customer_id, day DATE, amount REAL);
INSERT INTO orders VALUES (5.5, '2026-09-01', 600), (7, '2026-09-02', 20), (2.5e20, '2026-09-03', 5);
)sql");
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    for (const auto& [key, segment] :
         std::vector<std::pair<std::string, std::string>>{{"5.5", "top"}, {"2.5e+20", "low"}}) {
        CAPTURE(key);
        auto r = run_cli({"eval", rules, "--db", db, "--customer", key, "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(json_at(r.out, "$.segment") == segment);
        CHECK(json_at(r.out, "$.transition") == "stays");
    }
    // Another spelling of the number is not the key.
    auto other = run_cli({"eval", rules, "--db", db, "--customer", "5.50"});
    CHECK(other.code == 2);
    CHECK(other.err.find("customer 5.50 is not in table customers") != std::string::npos);
}

TEST_CASE("eval: a fraction that prints rounded (0.1 + 0.2 as 0.3) is found as a run keys it") {
    // The run keys 0.1 + 0.2 as "0.3", the text SQLite prints for it, though the stored number
    // is not the number 0.3; with REAL affinity the text 0.3 even turns into that other number.
    // Fact rows keyed by either number print as 0.3 and join it; of two customer rows that
    // print as 0.3, the first in table order is the customer, as in a run.
    for (const char* type : {"", "REAL", "INTEGER", "TEXT"}) {
        CAPTURE(type);
        TempDir dir;
        const std::string t = type;
        const auto db = dir.database(
            "base.db", "CREATE TABLE customers (customer_id " + t +
                           ", name TEXT);\n"
                           "INSERT INTO customers VALUES (0.1 + 0.2, 'a'), (0.3, 'b'), (7, 'c');\n"
                           "CREATE TABLE orders (customer_id " +
                           t +
                           ", day DATE, amount REAL);\n"
                           "INSERT INTO orders VALUES (0.1 + 0.2, '2026-09-01', 300), (0.3, "
                           "'2026-09-02', 300), (7, '2026-09-02', 20);\n");
        const auto rules = dir.write("tiers.yaml", tiers());
        REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
        {
            SQLite::Database d(db, SQLite::OPEN_READONLY);
            CHECK(d.execAndGet("SELECT segment FROM strata_membership WHERE customer_key = '0.3'")
                      .getString() == "top");
        }
        // Both orders join it (600 spent: top), and nothing moves.
        auto r = run_cli({"eval", rules, "--db", db, "--customer", "0.3", "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(json_at(r.out, "$.segment") == "top");
        CHECK(json_at(r.out, "$.transition") == "stays");
        // Its full spelling is not how the run keys it.
        CHECK(run_cli({"eval", rules, "--db", db, "--customer", "0.30000000000000004"}).code == 2);
    }
    // The first row in table order: a rule that reads the name tells the two rows apart.
    TempDir dir;
    const auto db = dir.database("names.db", R"sql(
CREATE TABLE customers (customer_id, name TEXT);
INSERT INTO customers VALUES (0.1 + 0.2, 'a'), (0.3, 'b'), (7, 'c');
)sql");
    const auto rules = dir.write("names.yaml", R"(ruleset: names
version: 1
general:
  segments:
    - id: first
      when: name == 'a'
    - id: second
      when: name == 'b'
    - id: other
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto r = run_cli({"eval", rules, "--db", db, "--customer", "0.3", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.segment") == "first");
    CHECK(json_at(r.out, "$.transition") == "stays");
}

TEST_CASE("eval: a hot journal left by a writer that stopped mid-transaction is rolled back") {
    // A read-only connection cannot roll a hot journal back (SQLITE_READONLY_ROLLBACK): the
    // open does it on a connection that may write, and the evaluation reads the data as it was.
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const std::string crashed = dir.file("crashed.db");
    {
        // A writer part-way through a transaction whose pages went to the file: a copy of the
        // file and its journal taken now is what a crash would leave.
        SQLite::Database writer(db, SQLite::OPEN_READWRITE);
        writer.exec("PRAGMA cache_size = 2");
        writer.exec("BEGIN");
        writer.exec("UPDATE orders SET amount = 0");
        writer.exec(
            "CREATE TABLE pad AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 500) SELECT randomblob(2000) AS b FROM n");
        std::filesystem::copy_file(db, crashed);
        std::filesystem::copy_file(db + "-journal", crashed + "-journal");
    }
    auto r = run_cli({"eval", rules, "--db", crashed, "--customer", "3", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.segment") == "top");  // its orders as they were: 600
    CHECK(json_at(r.out, "$.transition") == "stays");
    CHECK_FALSE(std::filesystem::exists(crashed + "-journal"));
}

TEST_CASE("eval: two lookups whose index names would be the same each get an index") {
    // visit_log.customer_id and visit.log_customer_id both spell strata_eval_visit_log_customer_id.
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO customers VALUES (1, 'a'), (2, 'b');
CREATE TABLE visit_log (customer_id INTEGER, d DATE);
CREATE TABLE visit (log_customer_id INTEGER, d DATE);
INSERT INTO visit_log VALUES (1, '2026-09-01'), (2, '2026-09-02');
INSERT INTO visit VALUES (1, '2026-09-03');
)sql");
    const auto rules = dir.write("visits.yaml", R"(ruleset: visits
version: 1
source:
  customers: customers
  key: id
  facts:
    logged: { table: visit_log, key: customer_id, time: d }
    seen: { table: visit, key: log_customer_id, time: d }
let:
  n: count(logged) + count(seen)
general:
  policy: first_match
  segments:
    - id: twice
      when: n >= 2
    - id: other
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto first = run_cli({"eval", rules, "--db", db, "--customer", "1"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(first.err ==
          "strata eval: created an index for lookups: CREATE INDEX IF NOT EXISTS "
          "\"strata_eval_visit_log_customer_id\" ON \"visit_log\" (\"customer_id\")\n"
          "strata eval: created an index for lookups: CREATE INDEX IF NOT EXISTS "
          "\"strata_eval_visit_log_customer_id_2\" ON \"visit\" (\"log_customer_id\")\n");
    for (const std::string table : {"visit_log", "visit"}) {
        CAPTURE(table);
        CHECK(
            scalar(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = '" +
                           table + "'") == 1);
    }
    auto second = run_cli({"eval", rules, "--db", db, "--customer", "1"});
    CHECK(second.code == 0);
    CHECK(second.err.empty());
}

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
    CHECK(scalar(db, "SELECT count(*) FROM strata_population_fits WHERE run_id = 2") ==
          scalar(db, "SELECT count(*) FROM strata_population_fits WHERE run_id = 1"));
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
