// `strata run --db clickhouse://...` (state/clickhouse_run.hpp) against the embedded run, on
// the two-shard ClickHouse: random rule files over random bases (tests/sql_generator.hpp),
// each base loaded into Distributed tables, run there and on SQLite, changed (customers leave,
// join and buy), reloaded and run again. The reports and every exported membership, the
// earlier run's included, must be the embedded engine's; a run that died is never read and
// its rows are removed by the next. STRATA_CH_RUN_PAIRS sets how many pairs (default 3; about 9 s
// each).
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <random>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/run_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/load/clickhouse_loader.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

TEST_CASE("clickhouse run: reports, moves and exports are the embedded run's (random pairs)") {
    const char* env = std::getenv("STRATA_CH_RUN_PAIRS");
    const int pairs = env ? std::atoi(env) : 3;
    Gen gen{std::mt19937(20261201), true};
    gen.datetimes = true;
    gen.datetimes_before_1970 = false;  // ClickHouse's DateTime holds none
    int both_stored = 0;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        const std::string embedded = dir.file("embedded.db");
        std::filesystem::copy_file(base, embedded);
        ClusterDatabase ch;
        ch.load(base);
        std::stringstream text;
        text << std::ifstream(rules).rdbuf();
        INFO("rules:\n" << text.str());
        CAPTURE(i);
        bool stored = true;
        for (const std::string as_of : {"2026-03-31", "2026-11-01"}) {
            CAPTURE(as_of);
            const Run lite =
                run_cli({"run", rules, "--db", embedded, "--as-of", as_of, "--format", "json"});
            const Run in_ch =
                run_cli({"run", rules, "--db", ch.url, "--as-of", as_of, "--format", "json"});
            INFO(lite.err);
            INFO(in_ch.err);
            REQUIRE(in_ch.code == lite.code);
            if (lite.code != 0) {
                CHECK(json_at(in_ch.out, "$.error.kind") == "rules");
                stored = false;
                break;
            }
            CHECK(comparable(in_ch.out) == comparable(lite.out));
            const Run lite_rows = run_cli({"export", rules, "--db", embedded});
            const Run ch_rows = run_cli({"export", rules, "--db", ch.url});
            INFO(ch_rows.err);
            REQUIRE(ch_rows.code == 0);
            CHECK(ch_rows.out == lite_rows.out);
            if (as_of != "2026-03-31") break;
            SQLite::Database(embedded, SQLite::OPEN_READWRITE).exec(kChange);
            SQLite::Database(base, SQLite::OPEN_READWRITE).exec(kChange);
            ch.load(base);
        }
        if (!stored) continue;
        ++both_stored;
        const Run lite_first = run_cli({"export", rules, "--db", embedded, "--run", "1"});
        const Run ch_first = run_cli({"export", rules, "--db", ch.url, "--run", "1"});
        CHECK(ch_first.out == lite_first.out);
    }
    CHECK(both_stored * 2 > pairs);
}

TEST_CASE("clickhouse run: shipped rule files give the embedded run's report and export") {
    for (const auto& [kind, name] : std::vector<std::pair<std::string, std::string>>{
             {"retail", "cosmetics-frequency"}, {"telecom", "telecom-arpu"}}) {
        CAPTURE(name);
        TempDir dir;
        const std::string base = dir.file("demo.db");
        REQUIRE(run_cli({"demo-data", "--kind", kind, "--customers", "300", "--out", base}).code ==
                0);
        std::vector<TableToLoad> tables;
        {
            SQLite::Database db(base, SQLite::OPEN_READONLY);
            SQLite::Statement q(db,
                                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                                "LIKE 'strata%' AND name NOT LIKE 'sqlite%'");
            while (q.executeStep())
                tables.push_back({q.getColumn(0).getString(), "customer_id"});
        }
        ClusterDatabase ch;
        ch.load(base, tables);
        const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/" + name + ".yaml";
        const Run lite =
            run_cli({"run", rules, "--db", base, "--as-of", "2026-11-01", "--format", "json"});
        const Run in_ch =
            run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01", "--format", "json"});
        INFO(in_ch.err);
        REQUIRE(lite.code == 0);
        REQUIRE(in_ch.code == 0);
        CHECK(json_at(in_ch.out, "$.value_total") != "0.0");
        CHECK(comparable(in_ch.out) == comparable(lite.out));
        CHECK(run_cli({"export", rules, "--db", ch.url}).out ==
              run_cli({"export", rules, "--db", base}).out);
    }
}

TEST_CASE("clickhouse run: a run that died is never read, and the next run removes its rows") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, NULL), (3, 'x')");
    ClusterDatabase ch;
    ch.load(base);
    const std::string rules = dir.write("r.yaml", R"(ruleset: dying
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-10-01"}).code == 0);
    // A run that died after writing its rows and before its 'complete' row: run 2.
    auto client = ch.client();
    for (const char* sql :
         {"INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (2, 'dying', "
          "'running', '2026-10-15')",
          "INSERT INTO strata_stays (ruleset, customer_key, level, segment, entered_run) VALUES "
          "('dying', 2, 0, 'gold', 2)",
          "INSERT INTO strata_stay_exits (ruleset, customer_key, level, segment, entered_run, "
          "exited_run) VALUES ('dying', 2, 0, 'rest', 1, 2)"}) {
        auto done = client.query(sql);
        if (!done) FAIL(done.error().describe());
    }
    const std::string expected =
        "customer_key,segment,tactical,offer,channel,priority\n1,gold,,,,\n2,rest,,,,\n"
        "3,rest,,,,\n";
    const Run before = run_cli({"export", "dying", "--db", ch.url, "--raw"});
    CHECK(before.code == 0);
    CHECK(before.out == expected);
    CHECK(run_cli({"export", "dying", "--db", ch.url, "--run", "2"}).code == 2);
    // The next run: run 3, which sees run 1's stays and removes run 2's rows.
    const Run next =
        run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01", "--format", "json"});
    INFO(next.err);
    REQUIRE(next.code == 0);
    CHECK(json_at(next.out, "$.run_id") == "3");
    CHECK(json_at(next.out, "$.transitions.moved") == "0");
    const Run after = run_cli({"export", "dying", "--db", ch.url, "--raw"});
    CHECK(after.out == expected);
    // The deletions are mutations the server applies in the background.
    std::string left = "1";
    for (int tries = 0; tries < 100 && left != "0"; ++tries) {
        auto rows = client.query(
            "SELECT (SELECT count() FROM strata_stays WHERE entered_run = 2) + (SELECT count() "
            "FROM strata_stay_exits WHERE exited_run = 2)");
        if (!rows) FAIL(rows.error().describe());
        left = rows.value().rows.at(0).at(0).value_or("");
        if (left != "0") usleep(50000);
    }
    CHECK(left == "0");
}

TEST_CASE("clickhouse run: triggers fire the embedded run's actions into the --state store") {
    Gen gen{std::mt19937(20261202), true};
    size_t enqueued = 0;
    for (const bool postgres_state : {false, true}) {
        CAPTURE(postgres_state);
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", kFiringRules);
        const std::string lite_state = dir.file("lite-state.db");
        std::string ch_state = dir.file("ch-state.db");
        std::optional<PostgresConnection> pg;
        if (postgres_state) {
            PostgresUrl admin = postgres_url();
            auto server = PostgresConnection::connect(admin);
            if (!server) FAIL(server.error().describe());
            const std::string name = unique_name("strata_ch_actions");
            REQUIRE(server.value().exec_script("CREATE DATABASE " + name).ok());
            admin.database = name;
            auto connection = PostgresConnection::connect(admin);
            if (!connection) FAIL(connection.error().describe());
            pg.emplace(std::move(connection.value()));
            ch_state = "postgresql://" + admin.user + "@" + admin.host + ":" +
                       std::to_string(admin.port) + "/" + name;
        }
        ClusterDatabase ch;
        const std::vector<std::pair<const char*, const char*>> steps = {{"2026-10-01", ""},
                                                                        {"2026-10-20", kChange},
                                                                        {"2026-11-01", kLater},
                                                                        {"2026-11-01", ""}};
        for (const auto& [as_of, change] : steps) {
            INFO("as_of " << as_of);
            if (*change) SQLite::Database(base, SQLite::OPEN_READWRITE).exec(change);
            ch.load(base);
            std::vector<std::string> flags = {"--as-of", as_of, "--format", "json"};
            if (std::string(as_of) == "2026-10-01") flags.push_back("--fire-initial");
            std::vector<std::string> lite_args = {"run", rules,     "--db",
                                                  base,  "--state", lite_state};
            std::vector<std::string> ch_args = {"run", rules, "--db", ch.url, "--state", ch_state};
            lite_args.insert(lite_args.end(), flags.begin(), flags.end());
            ch_args.insert(ch_args.end(), flags.begin(), flags.end());
            const Run lite = run_cli(lite_args);
            const Run in_ch = run_cli(ch_args);
            INFO(lite.err);
            INFO(in_ch.err);
            REQUIRE(lite.code == 0);
            REQUIRE(in_ch.code == 0);
            CHECK(comparable(in_ch.out) == comparable(lite.out));
            CHECK((pg ? postgres_outbox(*pg) : sqlite_outbox(ch_state)) ==
                  sqlite_outbox(lite_state));
            enqueued += std::stoul(json_at(lite.out, "$.actions_enqueued"));
        }
    }
    CHECK(enqueued > 0);
}

TEST_CASE("clickhouse run: triggers need --state") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold')");
    ClusterDatabase ch;
    ch.load(base);
    const std::string rules = dir.write("r.yaml", kFiringRules);
    const Run run = run_cli({"run", rules, "--db", ch.url});
    CHECK(run.code == 2);
    CHECK(run.err.find("give --state") != std::string::npos);
}

TEST_CASE("clickhouse run: a re-run whose trigger got an action at another's place is refused") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, 'x'), (3, NULL)");
    ClusterDatabase ch;
    ch.load(base);
    auto rules = [&](int version, const std::string& actions) {
        return dir.write("v" + std::to_string(version) + ".yaml",
                         "ruleset: places\nversion: " + std::to_string(version) +
                             "\ngeneral:\n  segments:\n    - id: gold\n      when: tier == 'gold'\n"
                             "    - id: rest\n      when: otherwise\n"
                             "triggers:\n  - id: ping\n    on: in any\n    actions:\n" +
                             actions);
    };
    const std::string email = "      - email: { template: welcome }\n";
    const std::string sms = "      - sms: { text: hello }\n";
    const std::string state = dir.file("state.db");
    auto run = [&](const std::string& file, const char* as_of) {
        return run_cli({"run", file, "--db", ch.url, "--state", state, "--as-of", as_of});
    };
    REQUIRE(run(rules(1, email), "2026-10-01").code == 0);
    REQUIRE(run(rules(1, email), "2026-11-01").code == 0);
    const std::string before = sqlite_outbox(state);
    const Run refused = run(rules(2, sms + email), "2026-11-01");
    CHECK(refused.code == 1);
    CHECK_MESSAGE(
        refused.err.find(
            "trigger 'ping': the outbox already holds its action 0 "
            "(counted from 0) at as_of 2026-11-01 as 'email' (enqueued by version 1), and "
            "version 2 has a 'sms' there") != std::string::npos,
        refused.err);
    CHECK(sqlite_outbox(state) == before);
    // The refused run is not a run: the latest is still run 2, and the next run may take the
    // message's advice of a later as_of.
    const Run runs = run_cli({"runs", "--ruleset", "places", "--db", ch.url, "--format", "json"});
    CHECK(json_at(runs.out, "$.runs[1].as_of") == "2026-11-01");
    CHECK(json_at(runs.out, "$.runs[2].run_id") == "<none>");
    const Run later = run(rules(2, sms + email), "2026-11-02");
    INFO(later.err);
    CHECK(later.code == 0);
    CHECK(sqlite_outbox(state).find("sms") != std::string::npos);
    CHECK(run_cli({"export", "places", "--db", ch.url, "--raw"}).out ==
          "customer_key,segment,tactical,offer,channel,priority\n1,gold,,,,\n2,rest,,,,\n"
          "3,rest,,,,\n");
}

TEST_CASE("clickhouse run: check --db binds names and types against the server") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    ClusterDatabase ch;
    ch.load(base);
    const std::string good = dir.write("good.yaml", R"(ruleset: names
version: 1
general:
  segments:
    - id: high
      when: score > 3
    - id: rest
      when: otherwise
)");
    const std::string bad = dir.write("bad.yaml", R"(ruleset: names
version: 1
general:
  segments:
    - id: high
      when: scor > 3
    - id: rest
      when: otherwise
)");
    const Run ok = run_cli({"check", good, "--db", ch.url});
    INFO(ok.err);
    CHECK(ok.code == 0);
    const Run wrong = run_cli({"check", bad, "--db", ch.url});
    CHECK(wrong.code != 0);
    CHECK(wrong.out.find("scor") != std::string::npos);
    const Run typo = run_cli({"check", good, "--db", "clickhouse://127.0.0.1:notaport/x"});
    CHECK(typo.code == 2);
    // A cluster the server does not have is refused by name, with the ones it has, before any
    // statement: a typo in ?cluster= was taken silently.
    std::string other_cluster = ch.url;
    other_cluster.replace(other_cluster.find("?cluster="), std::string::npos, "?cluster=nope");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"check", good, "--db", other_cluster},
          std::vector<std::string>{"run", good, "--db", other_cluster, "--as-of", "2026-11-01"},
          std::vector<std::string>{"export", good, "--db", other_cluster}}) {
        CAPTURE(args[0]);
        const Run refused = run_cli(args);
        CHECK(refused.code == 2);
        CHECK(refused.err.find("the URL's cluster 'nope' is not a cluster of 127.0.0.1:") !=
              std::string::npos);
        CHECK(refused.err.find("(its clusters: ") != std::string::npos);
        CHECK(refused.err.find(cluster_name()) != std::string::npos);
    }
    auto runs = ch.client().query(
        "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = "
        "'strata_runs'");
    REQUIRE(runs);
    CHECK(runs.value().rows.at(0).at(0).value_or("") == "0");
}

TEST_CASE("clickhouse run: what is refused, and what a dry run leaves alone") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec("INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, NULL), (3, 'x')");
    ClusterDatabase ch;
    ch.load(base);
    auto client = ch.client();
    auto must = [&](const std::string& sql) {
        auto done = client.query(sql);
        if (!done) FAIL(done.error().describe());
    };
    const std::string rules = dir.write("r.yaml", R"(ruleset: guarded
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)");
    SUBCASE("a refused run registers nothing: the file may change under the same version") {
        const std::string partial = dir.write("p.yaml", R"(ruleset: guarded
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
)");
        const Run refused = run_cli({"run", partial, "--db", ch.url, "--as-of", "2026-11-01"});
        CHECK(refused.code == 1);
        CHECK(refused.err.find("2 customers match no general segment (e.g. 2, 3)") !=
              std::string::npos);
        const Run fixed = run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01"});
        INFO(fixed.err);
        CHECK(fixed.code == 0);
    }
    SUBCASE("a changed file under a stored version is refused, with a show command that runs") {
        REQUIRE(run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01"}).code == 0);
        const std::string edited = dir.write("e.yaml", R"(ruleset: guarded
version: 1
general:
  segments:
    - id: gold
      when: tier == 'x'
    - id: rest
      when: otherwise
)");
        const Run unbumped = run_cli({"run", edited, "--db", ch.url, "--as-of", "2026-11-02"});
        CHECK(unbumped.code == 1);
        CHECK(unbumped.err.find("the version was not bumped") != std::string::npos);
        // The command it suggests names the server (quoted for a shell: the URL has a '?').
        const std::string command = "strata show guarded@1 --db \"" + ch.url + "\"";
        CHECK_MESSAGE(
            unbumped.err.find("'" + command + "' prints the stored one") != std::string::npos,
            unbumped.err);
        const Run shown = run_cli({"show", "guarded@1", "--db", ch.url});
        CHECK(shown.code == 0);
        CHECK(shown.out.find("when: tier == 'gold'") != std::string::npos);
    }
    SUBCASE("an as_of more than a year ahead is stored only with --allow-future-as-of") {
        const Run typo = run_cli({"run", rules, "--db", ch.url, "--as-of", "2062-11-01"});
        CHECK(typo.code == 2);
        CHECK(typo.err.find("strata run: as_of 2062-11-01 is ") != std::string::npos);
        const Run allowed = run_cli(
            {"run", rules, "--db", ch.url, "--as-of", "2062-11-01", "--allow-future-as-of"});
        INFO(allowed.err);
        CHECK(allowed.code == 0);
        auto runs = client.query("SELECT toString(max(as_of)) FROM strata_runs");
        REQUIRE(runs.ok());
        CHECK(runs.value().rows.at(0).at(0).value_or("") == "2062-11-01");
        // That day, once stored, is stored again without the flag; the next day is not.
        const Run again = run_cli({"run", rules, "--db", ch.url, "--as-of", "2062-11-01"});
        INFO(again.err);
        CHECK(again.code == 0);
        CHECK(run_cli({"run", rules, "--db", ch.url, "--as-of", "2062-11-02"}).code == 2);
    }
    SUBCASE("a dry run does not take a run still going for a dead one") {
        REQUIRE(run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-10-01"}).code == 0);
        must(
            "INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (2, 'guarded', "
            "'running', '2026-10-15')");
        CHECK(run_cli({"run", rules, "--db", ch.url, "--dry-run", "--as-of", "2026-11-01"}).code ==
              0);
        auto abandoned = client.query("SELECT count() FROM strata_runs WHERE status = 'abandoned'");
        REQUIRE(abandoned.ok());
        CHECK(abandoned.value().rows.at(0).at(0).value_or("") == "0");
    }
    SUBCASE("with triggers, a dead run at another as_of must be done again first") {
        const std::string firing = dir.write("f.yaml", R"(ruleset: guarded
version: 2
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
triggers:
  - id: hello
    on: enter gold
    actions:
      - email: { template: hi }
)");
        const std::string state = dir.file("actions.db");
        // (A dry run makes the state tables.)
        REQUIRE(run_cli({"run", rules, "--db", ch.url, "--dry-run"}).code == 0);
        must(
            "INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (1, 'guarded', "
            "'running', '2026-10-15')");
        const Run later =
            run_cli({"run", firing, "--db", ch.url, "--state", state, "--as-of", "2026-11-01"});
        CHECK(later.code == 2);
        CHECK(later.err.find("run again as of 2026-10-15 first") != std::string::npos);
        const Run redo =
            run_cli({"run", firing, "--db", ch.url, "--state", state, "--as-of", "2026-10-15"});
        INFO(redo.err);
        CHECK(redo.code == 0);
    }
    SUBCASE("repeated keys are refused") {
        TempDir other;
        const std::string dup =
            other.database("dup.db",
                           "CREATE TABLE customers (customer_id INTEGER, tier TEXT);"
                           "CREATE TABLE orders (order_id INTEGER, customer_id INTEGER);"
                           "INSERT INTO customers VALUES (1, 'gold'), (1, 'x'), (2, NULL);");
        ch.load(dup);
        const Run run = run_cli({"run", rules, "--db", ch.url});
        CHECK(run.code == 2);
        CHECK(run.err.find("1 row whose key 'customer_id' repeats another row's") !=
              std::string::npos);
        // So is a query compiled against the base: it would place key 1 twice.
        const Run compiled = run_cli({"compile", rules, "--dialect", "clickhouse", "--db", ch.url});
        CHECK(compiled.code == 2);
        CHECK(compiled.out.empty());
        CHECK(compiled.err.find("1 row whose key 'customer_id' repeats another row's and 0 with "
                                "a null 'customer_id': a compiled query inside ClickHouse needs "
                                "one row per customer") != std::string::npos);
    }
}

TEST_CASE("clickhouse run: keys of any integer type, on one server") {
    ClickHouseUrl url = clickhouse_url();
    const std::string name = unique_name("strata_ch_keys");
    REQUIRE(ClickHouseClient(url).query("CREATE DATABASE " + name).ok());
    url.database = name;
    ClickHouseClient client(url);
    REQUIRE(client
                .query("CREATE TABLE customers (customer_id UInt32, tier Nullable(String)) "
                       "ENGINE = MergeTree ORDER BY customer_id")
                .ok());
    REQUIRE(client.query("INSERT INTO customers VALUES (7, 'gold'), (40000, NULL)").ok());
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: keys
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)");
    const std::string db = "clickhouse://" + url.host + ":" + std::to_string(url.port) + "/" + name;
    const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    INFO(run.err);
    CHECK(run.code == 0);
    const Run exported = run_cli({"export", "keys", "--db", db, "--raw"});
    CHECK(exported.out ==
          "customer_key,segment,tactical,offer,channel,priority\n7,gold,,,,\n40000,rest,,,,\n");
    ClickHouseUrl admin = clickhouse_url();
    (void)ClickHouseClient(admin).query("DROP DATABASE IF EXISTS " + name);
}

// previous_segment, segment_since and days_in_segment read the stays of complete runs on the
// server, over three runs with changes between them, as the embedded runs place them.
TEST_CASE("clickhouse run: the stored state (previous_segment, days_in_segment) as the engine's") {
    check_stored_state([] { return ClusterDatabase(); });
}

// The plan names its own columns v, si, rn, a0, k, t and the like: tables of the base named so
// (and the ruleset's state read beside them) are read as any other, as the embedded run does.
TEST_CASE("clickhouse run: tables named like the query's own names are read as any other") {
    Gen gen{std::mt19937(4242), true};
    gen.datetimes_before_1970 = false;
    for (const auto& [customers, orders] :
         std::vector<std::pair<std::string, std::string>>{{"v", "si"}, {"rn", "a0"}, {"k", "t"}}) {
        CAPTURE(customers);
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        SQLite::Database(base, SQLite::OPEN_READWRITE)
            .exec("ALTER TABLE customers RENAME TO " + customers +
                  "; ALTER TABLE orders RENAME TO " + orders);
        std::string text = gen.rules(1);
        text.replace(text.find("customers: customers"), 20, "customers: " + customers);
        text.replace(text.find("table: orders"), 13, "table: " + orders);
        INFO("rules:\n" << text);
        const std::string rules = dir.write("rules.yaml", text);
        const std::string embedded = dir.file("embedded.db");
        std::filesystem::copy_file(base, embedded);
        ClusterDatabase ch;
        ch.load(base, {{customers, "customer_id"}, {orders, "customer_id"}});
        const Run lite =
            run_cli({"run", rules, "--db", embedded, "--as-of", "2026-11-01", "--format", "json"});
        const Run in_ch =
            run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01", "--format", "json"});
        INFO(lite.err, in_ch.err);
        REQUIRE(lite.code == 0);
        REQUIRE(in_ch.code == 0);
        CHECK(comparable(in_ch.out) == comparable(lite.out));
        CHECK(run_cli({"export", rules, "--db", ch.url}).out ==
              run_cli({"export", rules, "--db", embedded}).out);
    }
}

TEST_CASE("clickhouse run: value totals exact as the engine's; a value of 2^63 stops the run") {
    TempDir dir;
    const std::string rules = dir.write("totals.yaml", kValueTotalsRules);
    for (const bool out_of_range : {false, true}) {
        CAPTURE(out_of_range);
        const std::string base =
            dir.database(out_of_range ? "huge.db" : "base.db", value_totals_base(out_of_range));
        ClusterDatabase ch;
        ch.load(base);
        const Run lite = run_cli(
            {"run", rules, "--db", base, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
        const Run in_ch = run_cli({"run", rules, "--db", ch.url, "--as-of", "2026-11-01",
                                   "--dry-run", "--format", "json"});
        INFO(in_ch.err);
        REQUIRE(lite.code == 0);
        if (out_of_range) {
            // ClickHouse cannot take 1e308's integer part exactly: the run stops, storing nothing.
            CHECK(in_ch.code == 2);
            continue;
        }
        REQUIRE(in_ch.code == 0);
        CHECK(json_at(in_ch.out, "$.segments[0].value_total") == "-1.68");
        CHECK(comparable(in_ch.out) == comparable(lite.out));
    }
}
