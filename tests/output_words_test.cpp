// Small rules of what strata writes: the JSON writer's nulls, and counts of one said in the
// singular.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/json.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;

TEST_CASE("a base of one customer is \"1 customer\" in run's table and export's summary") {
    TempDir dir;
    const std::string db =
        dir.database("one.db",
                     "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY); INSERT INTO "
                     "customers VALUES (1);");
    const std::string rules =
        dir.write("one.yaml",
                  "ruleset: one\nversion: 1\ngeneral:\n  segments:\n    - id: all\n      "
                  "when: otherwise\n");
    const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(run.out.find("\n1 customer\n") != std::string::npos);
    CHECK(run.out.find("first run of this ruleset: 1 customer placed,") != std::string::npos);
    const Run diff = run_cli({"diff", rules, rules, "--db", db, "--as-of", "2026-11-01"});
    CHECK(diff.out.find("1 customer, 0 move (") != std::string::npos);
    const Run exported = run_cli({"export", rules, "--db", db});
    CHECK(exported.err.find("as_of 2026-11-01, 1 customer\n") != std::string::npos);
    // demo-data names its tables: "1 orders row", not "1 orders".
    const Run demo = run_cli(
        {"demo-data", "--kind", "retail", "--customers", "1", "--out", dir.file("demo.db")});
    REQUIRE_MESSAGE(demo.code == 0, demo.err);
    CHECK(demo.out.find("1 customer, 1 orders row\n") != std::string::npos);
}

TEST_CASE("JSON writer: an optional or an empty text is null, a present one its value") {
    strata::JsonWriter w;
    w.begin_object();
    w.key("none").value_or_null(std::optional<int64_t>());
    w.key("zero").value_or_null(std::optional<int64_t>(0));
    w.key("share").value_or_null(std::optional<double>(0.123456), 2);
    w.key("no_share").value_or_null(std::optional<double>(), 2);
    w.key("text").value_or_null(std::optional<std::string>("a\"b"));
    w.key("empty").text_or_null("").key("word").text_or_null("x");
    w.end_object();
    CHECK(w.str() == R"({"none":null,"zero":0,"share":0.12,"no_share":null,"text":"a\"b",)"
                     R"("empty":null,"word":"x"})");
}

// A command the machine cannot give the memory it needs says so, stores nothing and exits 2:
// here a run of 300 cv() aggregates per day over 400 days (about 1 GB for 2,000 customers) under
// a 600 MB address-space limit. Sanitizers reserve more address space than that at start, so
// the case is left to the plain build.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_CASE("out of memory is a clear error with exit 2, and nothing is stored") {
    TempDir dir;
    const std::string db = dir.file("retail.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "2000", "--out", db}).code ==
            0);
    std::string rules =
        "ruleset: cvm\nversion: 1\nsource:\n  facts:\n    orders: { table: orders, "
        "key: customer_id, time: order_date }\nlet:\n";
    std::string total = "  tot: 0";
    for (int i = 0; i < 300; ++i) {
        const std::string n = std::to_string(i);
        rules +=
            "  c" + n + ": \"cv(orders.amount where amount > " + n + ", per: day, over: 400d)\"\n";
        total += " + coalesce(c" + n + ", 0)";
    }
    rules += total +
             "\ngeneral:\n  segments:\n    - id: a\n      when: tot > 1\n    - id: b\n"
             "      when: tot > 0\n    - id: c\n      when: otherwise\n";
    const std::string file = dir.write("cvm.yaml", rules);
    const std::string state = dir.file("state.db");
    const std::string out = dir.file("out"), err = dir.file("err");
    const pid_t pid =
        start({"/usr/bin/prlimit", "--as=600000000", STRATA_BINARY, "run", file, "--db", db,
               "--state", state, "--as-of", "2026-11-01", "--format", "json"},
              out, err);
    const Ended ended = finish_or_kill(pid, Clock::now() + std::chrono::seconds(120));
    REQUIRE_FALSE(ended.killed);
    CHECK(ended.exit_code == 2);
    CHECK(slurp(err).find("strata: out of memory: the machine would not give the command the "
                          "memory it needed, and nothing was stored.") == 0);
    CHECK(json_at(slurp(out), "$.error.kind") == "memory");
    const bool stored = std::filesystem::exists(state) &&
                        scalar(state,
                               "SELECT count(*) FROM sqlite_schema WHERE name = "
                               "'strata_runs'") > 0 &&
                        scalar(state, "SELECT count(*) FROM strata_runs") > 0;
    CHECK_FALSE(stored);
}

// graph stores nothing and holds no customers: its message said "nothing was stored" and
// blamed cv(). 6,001 segments under first_match make about 18 million edges.
TEST_CASE("graph out of memory says what needs it: the rule file's size") {
    TempDir dir;
    std::string rules = "ruleset: big\nversion: 1\ngeneral:\n  segments:\n";
    for (int i = 0; i < 6000; ++i)
        rules += "    - { id: s" + std::to_string(i) + ", when: x >= " + std::to_string(i) + " }\n";
    rules += "    - { id: rest, when: otherwise }\n";
    const std::string file = dir.write("big.yaml", rules);
    const std::string out = dir.file("out"), err = dir.file("err");
    const pid_t pid = start(
        {"/usr/bin/prlimit", "--as=300000000", STRATA_BINARY, "graph", file, "--format", "json"},
        out, err);
    const Ended ended = finish_or_kill(pid, Clock::now() + std::chrono::seconds(60));
    REQUIRE_FALSE(ended.killed);
    CHECK(ended.exit_code == 2);
    CHECK(slurp(err).find("strata: out of memory: the machine would not give the command the "
                          "memory it needed. The rule file's own size is what needs it") !=
          std::string::npos);
    CHECK(slurp(err).find("cv()") == std::string::npos);
    CHECK(json_at(slurp(out), "$.error.kind") == "memory");
}
#endif

// run --format csv wrote a value total below half a cent as 0.00, where the JSON has 3e-08.
TEST_CASE("run --format csv writes a tiny value total as the JSON does, not as 0.00") {
    TempDir dir;
    const std::string db = dir.database("n.db",
                                        "CREATE TABLE customers (id INTEGER PRIMARY KEY, x INT);"
                                        "INSERT INTO customers VALUES (1, 1), (2, 0);");
    const std::string rules = dir.write("tiny.yaml", R"(ruleset: tiny
version: 1
source: {customers: customers, key: id}
let:
  v: if(id == 1, 0.00000003, null)
value: v
general:
  segments:
    - {id: a, when: id == 1}
    - {id: b, when: id == 2}
    - {id: c, when: otherwise}
)");
    const Run csv = run_cli(
        {"run", rules, "--db", db, "--as-of", "2026-12-01", "--dry-run", "--format", "csv"});
    REQUIRE_MESSAGE(csv.code == 0, csv.err);
    CHECK(csv.out.find("\na,0,,,1,0.500000,3e-08,3e-08,") != std::string::npos);
    CHECK(csv.out.find("\nb,0,,,1,0.500000,0.00,,") != std::string::npos);
}

// A database URL that does not parse is a mistake in the command line: its JSON error is of
// kind "usage" from every command that takes --db, as it was from run and check (review AO3);
// a file that is not there is still "database".
TEST_CASE("a --db URL that does not parse is a usage error in every command's JSON") {
    const std::string url = "postgresql://127.0.0.1:1/x";  // no user
    const std::vector<std::vector<std::string>> commands{
        {"runs", "--db", url},           {"history", "--db", url, "--customer", "1"},
        {"versions", "--db", url},       {"export", "b2b-crm", "--db", url},
        {"outbox", "list", "--db", url}, {"outbox", "list"},
        {"run", "x.yaml", "--db", url}};
    for (auto args : commands) {
        args.insert(args.end(), {"--format", "json"});
        CAPTURE(args[0]);
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK(json_at(r.out, "$.error.kind") == "usage");
    }
    TempDir dir;
    const std::string missing = dir.file("missing.db");
    for (auto args : std::vector<std::vector<std::string>>{{"runs", "--db", missing},
                                                           {"outbox", "list", "--db", missing}}) {
        args.insert(args.end(), {"--format", "json"});
        CHECK(json_at(run_cli(args).out, "$.error.kind") == "database");
    }
}
