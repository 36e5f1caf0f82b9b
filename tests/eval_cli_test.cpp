// `strata eval` as a command (issue 12, one customer): exit codes and messages, the JSON
// document, the lookup indexes, and --apply's exactly-once rules against a batch run after it.
#include <doctest/doctest.h>

#include <chrono>

#include <SQLiteCpp/Database.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/common.hpp"
#include "engine/run_state.hpp"
#include "eval_support.hpp"
#include "include/strata/strata.hpp"
#include "live/indexes.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::eval_fixture;

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
    // A blank key is nobody's, as in a run.
    for (const char* blank : {" ", "\u2028", "\u00a0\ufeff"}) {
        auto nobody = run_cli({"eval", rules, "--db", db, "--customer", blank, "--format", "json"});
        CHECK(nobody.code == 2);
        CHECK(json_at(nobody.out, "$.error.kind") == "not_found");
        CHECK(nobody.err.find("a key of only white space or invisible characters is no "
                              "customer's key") != std::string::npos);
    }
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
    // An empty --as-of (an unset variable in a script) is no date either, as for `strata run`:
    // it does not stand for the latest run's as_of, and --apply stores nothing.
    const int64_t runs_before = scalar(db, "SELECT count(*) FROM strata_runs");
    auto empty = run_cli({"eval", rules, "--db", db, "--customer", "1", "--apply", "--as-of", "",
                          "--format", "json"});
    CHECK(empty.code == 2);
    CHECK(empty.err.find("--as-of '' is not a date") != std::string::npos);
    CHECK(json_at(empty.out, "$.error.kind") == "usage");
    CHECK(scalar(db, "SELECT count(*) FROM strata_runs") == runs_before);
    // --apply before the run's as_of: runs move forward in time.
    auto back =
        run_cli({"eval", rules, "--db", db, "--customer", "1", "--apply", "--as-of", "2026-09-30"});
    CHECK(back.code == 2);
    CHECK(back.err.find("before the as_of of run 1") != std::string::npos);
    // --wait: a duration, and how long a read waits for a run that holds the lock.
    auto not_duration = run_cli(
        {"eval", rules, "--db", db, "--customer", "1", "--wait", "soon", "--format", "json"});
    CHECK(not_duration.code == 2);
    CHECK(not_duration.err.find("--wait 'soon' is not a duration") != std::string::npos);
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
    // Two missing indexes are named together, not one run at a time.
    std::string plain_base = kBase;
    plain_base.replace(plain_base.find("customer_id INTEGER PRIMARY KEY"), 31,
                       "customer_id INTEGER");
    const auto plain = dir.database("plain.db", plain_base);
    REQUIRE(run_cli({"run", rules, "--db", plain, "--as-of", "2026-10-01"}).code == 0);
    options.db_path = plain;
    auto both = strata::Engine::open(options);
    REQUIRE_FALSE(both.ok());
    CHECK(both.error().message ==
          "no index on column customer_id of table customers and column customer_id of table "
          "orders, which looking up one customer needs; create them with: CREATE INDEX IF NOT "
          "EXISTS \"strata_eval_customers_customer_id\" ON \"customers\" (\"customer_id\"); " +
              create);
    options.db_path = db;
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
    // A damaged file is the database's problem, not an index to create by hand.
    const auto damaged = dir.database("damaged.db", kBase);
    REQUIRE(run_cli({"run", rules, "--db", damaged, "--state", dir.file("state2.db"), "--as-of",
                     "2026-10-01"})
                .code == 0);
    const int64_t page_size = scalar(damaged, "PRAGMA page_size");
    const int64_t root =
        scalar(damaged, "SELECT rootpage FROM sqlite_schema WHERE name = 'orders'");
    {
        std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp((root - 1) * page_size);
        const std::string garbage(static_cast<size_t>(page_size), '\xff');
        f.write(garbage.data(), page_size);
    }
    auto broken = run_cli({"eval", rules, "--db", damaged, "--state", dir.file("state2.db"),
                           "--customer", "1", "--format", "json"});
    CHECK(broken.code == 2);
    CHECK(json_at(broken.out, "$.error.kind") == "database");
    CHECK(json_at(broken.out, "$.error.message") ==
          "cannot create the index on column customer_id of table orders that looking up one "
          "customer needs, in '" +
              damaged + "': database disk image is malformed");
}

TEST_CASE("eval: a key with a line break stays on one line, in the output and in messages") {
    TempDir dir;
    const auto db = dir.database("keys.db", R"sql(
CREATE TABLE customers (customer_id TEXT, name TEXT);
INSERT INTO customers VALUES ('new' || char(10) || 'line', 'nl'), ('x', 'other');
)sql");
    const auto rules = dir.write("k.yaml", R"(ruleset: k
version: 1
general:
  segments:
    - id: a
      when: name == "nl"
    - id: b
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    auto found = run_cli({"eval", rules, "--db", db, "--customer", "new\nline"});
    REQUIRE_MESSAGE(found.code == 0, found.err);
    CHECK(found.out.find("customer new\u23CEline in k as of 2026-11-01") == 0);
    auto missing =
        run_cli({"eval", rules, "--db", db, "--customer", "no\nsuch", "--format", "json"});
    CHECK(missing.code == 2);
    CHECK(missing.err.find("strata eval: customer no\u23CEsuch is not in table customers\n") !=
          std::string::npos);
    CHECK(json_at(missing.out, "$.error.message") ==
          "customer no\u23CEsuch is not in table customers");
}

TEST_CASE("eval: an index another process made since the check is not said to be created") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    strata::live::LookupIndex lookup;
    lookup.table = "orders";
    lookup.column = "customer_id";
    lookup.name = "strata_eval_orders_customer_id";
    lookup.create_sql =
        "CREATE INDEX IF NOT EXISTS strata_eval_orders_customer_id ON orders "
        "(customer_id)";
    std::vector<std::string> created;
    std::string error;
    bool read_only = false;
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec(lookup.create_sql);
    REQUIRE(strata::live::create_lookup_indexes(db, {lookup}, created, error, read_only, 100));
    CHECK(error.empty());
    CHECK(created.empty());
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("DROP INDEX strata_eval_orders_customer_id");
    REQUIRE(strata::live::create_lookup_indexes(db, {lookup}, created, error, read_only, 100));
    CHECK(created == std::vector<std::string>{lookup.create_sql});
    CHECK(scalar(db,
                 "SELECT count(*) FROM sqlite_schema WHERE name = "
                 "'strata_eval_orders_customer_id'") == 1);
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

TEST_CASE("eval and explain --text-key: the text key '42' of a base that also has 42") {
    // Digits find the integer key first, so without --text-key the text customer '42' could
    // not be evaluated or explained alone; a run places both.
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id, name TEXT);
INSERT INTO customers VALUES (42, 'integer'), ('42', 'text'), (7, 'other');
CREATE TABLE orders (customer_id, day DATE, amount REAL);
INSERT INTO orders VALUES (42, '2026-09-01', 600), ('42', '2026-09-02', 20), (7, '2026-09-02', 100);
)sql");
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    auto eval = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{"eval",       rules, "--db",     db,
                                      "--customer", "42",  "--format", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    };
    const Run integer = eval({});
    REQUIRE_MESSAGE(integer.code == 0, integer.err);
    CHECK(json_at(integer.out, "$.customer") == "42");
    CHECK(json_at(integer.out, "$.segment") == "top");
    const Run text = eval({"--text-key"});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    CHECK(text.out.find("\"customer\":\"42\"") != std::string::npos);
    CHECK(json_at(text.out, "$.segment") == "low");
    CHECK(json_at(text.out, "$.transition") == "stays");
    // In text, the text key is quoted, so the two customers do not read alike.
    const Run text_lines = run_cli({"eval", rules, "--db", db, "--customer", "42", "--text-key"});
    CHECK(text_lines.out.find("customer '42' in tiers as of") == 0);
    CHECK(run_cli({"eval", rules, "--db", db, "--customer", "42"})
              .out.find("customer 42 in tiers as of") == 0);
    const Run applied = eval({"--text-key", "--apply", "--as-of", "2026-10-02"});
    REQUIRE_MESSAGE(applied.code == 0, applied.err);
    CHECK(json_at(applied.out, "$.segment") == "low");

    // Only a text key: the integer 7 is not found as the text '7'.
    const Run missing = run_cli({"eval", rules, "--db", db, "--customer", "7", "--text-key"});
    CHECK(missing.code == 2);
    CHECK(missing.err.find("customer '7' is not in table customers") != std::string::npos);

    const Run explained = run_cli({"explain", rules, "--db", db, "--customer", "42", "--text-key",
                                   "--as-of", "2026-10-01", "--format", "json"});
    REQUIRE_MESSAGE(explained.code == 0, explained.err);
    CHECK(explained.out.find("\"customer\":\"42\"") != std::string::npos);
    CHECK(json_at(explained.out, "$.segment") == "low");
    const Run unexplained =
        run_cli({"explain", rules, "--db", db, "--customer", "7", "--text-key"});
    CHECK(unexplained.code == 2);
    CHECK(unexplained.err.find("customer '7' is not in the base") != std::string::npos);

    // The library, as the command.
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    auto engine = strata::Engine::open(options);
    REQUIRE(engine.ok());
    auto r = engine->evaluate("42", strata::KeyLookup::Text);
    REQUIRE(r.ok());
    CHECK(r.value().key_is_text);
    CHECK(r.value().segment == "low");
    CHECK_FALSE(engine->evaluate("42").value().key_is_text);
}
