// `strata run --db postgresql://...` (state/postgres_run.hpp) against the embedded run, on the
// real PostgreSQL 15: random rule files over random bases (tests/sql_generator.hpp), each base
// copied into a database of its own, run there and on SQLite, then changed (customers leave,
// join and buy) and run again. The reports (counts, unknowns, values, moves) and every
// exported membership, the earlier run's included, must be the embedded engine's.
// STRATA_PG_RUN_PAIRS sets how many pairs (default 40).
#include <doctest/doctest.h>

#include <spdlog/spdlog.h>
#include <sstream>

#include <cstdlib>
#include <random>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/run_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/copy_from_sqlite.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/postgres_client.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

TEST_CASE("postgres run: reports, moves and exports are the embedded run's (random pairs)") {
    const char* env = std::getenv("STRATA_PG_RUN_PAIRS");
    const int pairs = env ? std::atoi(env) : 40;
    Gen gen{std::mt19937(20261130), true};
    int both_stored = 0;
    gen.datetimes = true;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        const std::string embedded = dir.file("embedded.db");
        std::filesystem::copy_file(base, embedded);
        auto pg = RunDatabase::create();
        pg.load(base);
        std::stringstream text;
        text << std::ifstream(rules).rdbuf();
        INFO("rules:\n" << text.str());
        CAPTURE(i);
        bool stored = true;
        for (const char* as_of : {"2026-03-31", "2026-11-01"}) {
            CAPTURE(as_of);
            const Run lite =
                run_cli({"run", rules, "--db", embedded, "--as-of", as_of, "--format", "json"});
            const Run in_pg =
                run_cli({"run", rules, "--db", pg.url, "--as-of", as_of, "--format", "json"});
            INFO(lite.err);
            INFO(in_pg.err);
            REQUIRE(in_pg.code == lite.code);
            if (lite.code != 0) {
                // The rules could not place everyone: neither stores anything.
                CHECK(json_at(in_pg.out, "$.error.kind") == "rules");
                stored = false;
                break;
            }
            CHECK(comparable(in_pg.out) == comparable(lite.out));
            const Run lite_rows = run_cli({"export", rules, "--db", embedded});
            const Run pg_rows = run_cli({"export", rules, "--db", pg.url});
            REQUIRE(pg_rows.code == 0);
            CHECK(pg_rows.out == lite_rows.out);
            if (std::string(as_of) != "2026-03-31") break;
            {
                SQLite::Database changed(embedded, SQLite::OPEN_READWRITE);
                changed.exec(kChange);
                SQLite::Database source(base, SQLite::OPEN_READWRITE);
                source.exec(kChange);
            }
            pg.load(base);
        }
        if (!stored) continue;
        ++both_stored;
        // The first run's membership, read back from the stays after the second run.
        const Run lite_first = run_cli({"export", rules, "--db", embedded, "--run", "1"});
        const Run pg_first = run_cli({"export", rules, "--db", pg.url, "--run", "1"});
        CHECK(pg_first.out == lite_first.out);
    }
    // Most generated rule files place everyone; the comparison above must have happened.
    CHECK(both_stored * 2 > pairs);
}

TEST_CASE("postgres run: the shipped rule files without triggers give the embedded run") {
    const std::vector<std::pair<std::string, std::string>> files = {
        {"saas", "b2b-crm"},
        {"retail", "cosmetics-frequency"},
        {"retail", "electronics-breadth"},
        {"telecom", "telecom-arpu"}};
    for (const auto& [kind, name] : files) {
        CAPTURE(name);
        TempDir dir;
        const std::string base = dir.file("demo.db");
        REQUIRE(run_cli({"demo-data", "--kind", kind, "--customers", "300", "--out", base}).code ==
                0);
        std::vector<std::string> tables;
        {
            SQLite::Database db(base, SQLite::OPEN_READONLY);
            SQLite::Statement q(db,
                                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                                "LIKE 'strata%' AND name NOT LIKE 'sqlite%' ORDER BY name");
            while (q.executeStep())
                tables.push_back(q.getColumn(0).getString());
        }
        auto pg = RunDatabase::create();
        auto copied = copy_sqlite_tables(base, tables, pg.connection);
        if (!copied) FAIL(copied.error().describe());
        const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/" + name + ".yaml";
        for (const char* as_of : {"2026-09-01", "2026-11-01"}) {
            CAPTURE(as_of);
            const Run lite =
                run_cli({"run", rules, "--db", base, "--as-of", as_of, "--format", "json"});
            const Run in_pg =
                run_cli({"run", rules, "--db", pg.url, "--as-of", as_of, "--format", "json"});
            INFO(in_pg.err);
            REQUIRE(lite.code == 0);
            REQUIRE(in_pg.code == 0);
            CHECK(json_at(in_pg.out, "$.value_total") != "0.0");
            CHECK(comparable(in_pg.out) == comparable(lite.out));
            for (const char* format : {"csv", "json"}) {
                const Run a = run_cli({"export", rules, "--db", base, "--format", format});
                const Run b = run_cli({"export", rules, "--db", pg.url, "--format", format});
                CHECK(b.code == 0);
                CHECK(b.out == a.out);
            }
        }
        // The table a person reads: the same segments, counts and moves.
        const Run table = run_cli({"run", rules, "--db", pg.url, "--dry-run"});
        CHECK(table.code == 0);
        CHECK(table.out.find("dry run (not stored)") != std::string::npos);
    }
}

TEST_CASE("postgres run: what is refused, and a failed or dry run stores nothing") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    {
        SQLite::Database db(base, SQLite::OPEN_READWRITE);
        db.exec(
            "INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, NULL), (3, 'x');"
            "INSERT INTO orders (customer_id, order_date, amount) VALUES "
            "(1, '2026-10-01', 10), (3, '2026-09-01', 5)");
    }
    auto pg = RunDatabase::create();
    pg.load(base);
    const std::string rules = dir.write("r.yaml", R"(ruleset: refusals
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)");
    SUBCASE("a dry run stores nothing") {
        const Run dry =
            run_cli({"run", rules, "--db", pg.url, "--dry-run", "--as-of", "2026-11-01"});
        INFO(dry.err);
        CHECK(dry.code == 0);
        const Run exported = run_cli({"export", rules, "--db", pg.url});
        CHECK(exported.code == 2);
        CHECK(exported.err.find("no runs are stored") != std::string::npos);
    }
    SUBCASE("runs move forward in time; a changed file needs a new version") {
        REQUIRE(run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"}).code == 0);
        const Run back = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-10-01"});
        CHECK(back.code == 2);
        CHECK(back.err.find("runs move forward in time") != std::string::npos);
        const std::string edited = dir.write("r.yaml", R"(ruleset: refusals
version: 1
general:
  segments:
    - id: gold
      when: tier == 'silver'
    - id: rest
      when: otherwise
)");
        const Run unbumped = run_cli({"run", edited, "--db", pg.url, "--as-of", "2026-11-02"});
        CHECK(unbumped.code == 1);
        CHECK(unbumped.err.find("the version was not bumped") != std::string::npos);
        CHECK(unbumped.err.find("line 3: stored:") != std::string::npos);
        // The command it suggests runs as written: with the server's URL.
        const size_t show = unbumped.err.find("'strata show refusals@1 --db ");
        REQUIRE(show != std::string::npos);
        const size_t show_end = unbumped.err.find('\'', show + 1);
        std::vector<std::string> words;
        std::istringstream command(unbumped.err.substr(show + 8, show_end - show - 8));
        for (std::string word; command >> word;)
            words.push_back(word);
        CHECK(words == std::vector<std::string>{"show", "refusals@1", "--db", pg.url});
        const Run shown = run_cli(words);
        CHECK(shown.code == 0);
        CHECK(shown.out.find("when: tier == 'gold'") != std::string::npos);
        // Nothing of the refused runs was kept: one run, as the first stored it.
        const Run listed = run_cli({"export", "refusals", "--db", pg.url, "--run", "2"});
        CHECK(listed.code == 2);
        const Run first = run_cli({"export", "refusals", "--db", pg.url, "--raw"});
        CHECK(first.code == 0);
        CHECK(first.out ==
              "customer_key,segment,tactical,offer,channel,priority\n1,gold,,,,\n2,rest,,,,\n"
              "3,rest,,,,\n");
    }
    SUBCASE("an as_of more than a year ahead is a typo until --allow-future-as-of says not") {
        const Run typo = run_cli({"run", rules, "--db", pg.url, "--as-of", "2062-11-01"});
        CHECK(typo.code == 2);
        CHECK(typo.err.find("strata run: as_of 2062-11-01 is ") != std::string::npos);
        CHECK(run_cli({"export", rules, "--db", pg.url}).code == 2);
        CHECK(run_cli({"run", rules, "--db", pg.url, "--as-of", "2062-11-01", "--dry-run"}).code ==
              0);
        CHECK(
            run_cli({"run", rules, "--db", pg.url, "--as-of", "2062-11-01", "--allow-future-as-of"})
                .code == 0);
        const Run stored = run_cli({"export", rules, "--db", pg.url, "--with-run"});
        CHECK(stored.code == 0);
        CHECK(stored.out.find(",2062-11-01\n") != std::string::npos);
        // That day, once stored, is stored again without the flag; the next day is not.
        const Run again = run_cli({"run", rules, "--db", pg.url, "--as-of", "2062-11-01"});
        INFO(again.err);
        CHECK(again.code == 0);
        CHECK(run_cli({"run", rules, "--db", pg.url, "--as-of", "2062-11-02"}).code == 2);
    }
    SUBCASE("rules that leave customers unplaced store nothing") {
        const std::string partial = dir.write("p.yaml", R"(ruleset: partial
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
)");
        const Run run = run_cli({"run", partial, "--db", pg.url, "--as-of", "2026-11-01"});
        CHECK(run.code == 1);
        CHECK(run.err.find("2 customers match no general segment (e.g. 2, 3)") !=
              std::string::npos);
        CHECK(run_cli({"export", "partial", "--db", pg.url}).code == 2);
    }
    SUBCASE("options that have no meaning inside PostgreSQL, and columns it cannot give") {
        CHECK(run_cli({"run", rules, "--db", pg.url, "--incremental"}).code == 2);
        CHECK(run_cli({"run", rules, "--db", pg.url, "--state", dir.file("s.db")}).code == 2);
        REQUIRE(run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"}).code == 0);
        const Run own = run_cli(
            {"export", rules, "--db", pg.url, "--columns", "key,segment", "--delimiter", ";"});
        CHECK(own.code == 0);
        CHECK(own.out == "key;segment\n1;gold\n2;rest\n3;rest\n");
        const Run let = run_cli({"export", rules, "--db", pg.url, "--columns", "key,revenue"});
        CHECK(let.code == 2);
        CHECK(let.err.find("column 'revenue' is not the run's own") != std::string::npos);
    }
    SUBCASE("an unreachable server is a database problem") {
        PostgresUrl url = postgres_url();
        const std::string closed =
            "postgresql://" + url.user + "@127.0.0.1:" + std::to_string(closed_port()) + "/nowhere";
        const Run run = run_cli({"run", rules, "--db", closed, "--format", "json"});
        CHECK(run.code == 2);
        CHECK(json_at(run.out, "$.error.kind") == "database");
    }
}

TEST_CASE("postgres run: triggers fire the embedded run's actions into the outbox there") {
    const std::vector<std::pair<std::string, std::string>> files = {
        {"saas", "saas-firmographic"},
        {"carservice", "carservice-rfm"},
        {"auto", "auto-lifecycle"}};
    for (const auto& [kind, name] : files) {
        CAPTURE(name);
        TempDir dir;
        const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/" + name + ".yaml";
        const std::string state = dir.file("state.db");
        auto pg = RunDatabase::create();
        // Each step: the base as it was on that day, run on both with the same flags.
        const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> steps = {
            {"", "2026-11-01", {"--fire-initial"}},
            {"30d", "2026-12-01", {}},
            {"30d", "2026-12-01", {}},  // the same day again: every action is there already
            {"60d", "2026-12-31", {"--dry-run"}},
            {"60d", "2026-12-31", {}}};
        size_t fired = 0;
        for (const auto& [advance, as_of, flags] : steps) {
            CAPTURE(as_of);
            const std::string base = dir.file("base-" + advance + ".db");
            if (!std::filesystem::exists(base)) {
                std::vector<std::string> args = {"demo-data", "--kind", kind, "--customers",
                                                 "300",       "--out",  base};
                if (!advance.empty()) args.insert(args.end(), {"--advance", advance});
                REQUIRE(run_cli(args).code == 0);
            }
            std::vector<std::string> tables;
            {
                SQLite::Database db(base, SQLite::OPEN_READONLY);
                SQLite::Statement q(db,
                                    "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                    "name NOT LIKE 'strata%' AND name NOT LIKE 'sqlite%'");
                while (q.executeStep())
                    tables.push_back(q.getColumn(0).getString());
            }
            auto copied = copy_sqlite_tables(base, tables, pg.connection);
            if (!copied) FAIL(copied.error().describe());
            std::vector<std::string> lite_args = {"run", rules,     "--db", base,       "--state",
                                                  state, "--as-of", as_of,  "--format", "json"};
            std::vector<std::string> pg_args = {"run",     rules, "--db",     pg.url,
                                                "--as-of", as_of, "--format", "json"};
            lite_args.insert(lite_args.end(), flags.begin(), flags.end());
            pg_args.insert(pg_args.end(), flags.begin(), flags.end());
            const Run lite = run_cli(lite_args);
            const Run in_pg = run_cli(pg_args);
            INFO(lite.err);
            INFO(in_pg.err);
            REQUIRE(lite.code == 0);
            REQUIRE(in_pg.code == 0);
            CHECK(comparable(in_pg.out) == comparable(lite.out));
            fired += std::stoul(json_at(lite.out, "$.actions_enqueued"));
            CHECK(postgres_outbox(pg.connection) == sqlite_outbox(state));
        }
        // The comparison means something only when actions were enqueued.
        CHECK(fired > 0);
    }
}

TEST_CASE("postgres run: every kind of event, the cap, cooldowns, holdouts and templates") {
    Gen gen{std::mt19937(20261131), true};
    size_t enqueued = 0, capped = 0, held_out = 0, cooled = 0;
    for (int i = 0; i < 6; ++i) {
        CAPTURE(i);
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", kFiringRules);
        const std::string state = dir.file("state.db");
        auto pg = RunDatabase::create();
        const std::vector<std::pair<const char*, const char*>> steps = {{"2026-10-01", ""},
                                                                        {"2026-10-20", kChange},
                                                                        {"2026-11-01", kLater},
                                                                        {"2026-11-01", ""}};
        for (const auto& [as_of, change] : steps) {
            INFO("as_of " << as_of);
            if (*change) SQLite::Database(base, SQLite::OPEN_READWRITE).exec(change);
            pg.load(base);
            std::vector<std::string> flags = {"--as-of", as_of, "--format", "json"};
            if (std::string(as_of) == "2026-10-01") flags.push_back("--fire-initial");
            std::vector<std::string> lite_args = {"run", rules, "--db", base, "--state", state};
            std::vector<std::string> pg_args = {"run", rules, "--db", pg.url};
            lite_args.insert(lite_args.end(), flags.begin(), flags.end());
            pg_args.insert(pg_args.end(), flags.begin(), flags.end());
            const Run lite = run_cli(lite_args);
            const Run in_pg = run_cli(pg_args);
            INFO(lite.err);
            INFO(in_pg.err);
            REQUIRE(lite.code == 0);
            REQUIRE(in_pg.code == 0);
            CHECK(comparable(in_pg.out) == comparable(lite.out));
            CHECK(postgres_outbox(pg.connection) == sqlite_outbox(state));
            for (size_t t = 0; t < 6; ++t) {
                const std::string at = "$.triggers[" + std::to_string(t) + "].";
                enqueued += std::stoul(json_at(lite.out, at + "enqueued"));
                capped += std::stoul(json_at(lite.out, at + "capped"));
                held_out += std::stoul(json_at(lite.out, at + "held_out"));
                cooled += std::stoul(json_at(lite.out, at + "cooled_down"));
            }
        }
    }
    // Each rule of firing was exercised, not just compared on empty outboxes.
    CHECK(enqueued > 0);
    CHECK(capped > 0);
    CHECK(held_out > 0);
    CHECK(cooled > 0);
}

TEST_CASE("postgres run: a sender claims the run's actions from the outbox there") {
    TempDir dir;
    const std::string base = dir.database("base.db", kSchema);
    SQLite::Database(base, SQLite::OPEN_READWRITE)
        .exec(
            "INSERT INTO customers (customer_id, tier) VALUES (1, 'gold'), (2, NULL), (3, "
            "'gold')");
    auto pg = RunDatabase::create();
    pg.load(base);
    const std::string rules = dir.write("r.yaml", R"(ruleset: senders
version: 1
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
triggers:
  - id: welcome
    on: in gold
    actions:
      - email: { template: "hello {{customer_id}}" }
)");
    const Run run =
        run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01", "--fire-initial"});
    INFO(run.err);
    REQUIRE(run.code == 0);
    CHECK(run.out.find("welcome") != std::string::npos);
    const Run claimed =
        run_cli({"outbox", "claim", "--db", pg.url, "--consumer", "mailer", "--limit", "10"});
    INFO(claimed.err);
    REQUIRE(claimed.code == 0);
    CHECK(claimed.out.find(R"("payload":{"template":"hello 1"})") != std::string::npos);
    CHECK(claimed.out.find(R"("payload":{"template":"hello 3"})") != std::string::npos);
    CHECK(claimed.out.find(R"("customer_key":2)") == std::string::npos);
    // Nothing is left to claim.
    const Run again =
        run_cli({"outbox", "claim", "--db", pg.url, "--consumer", "other", "--limit", "10"});
    CHECK(again.code == 0);
    CHECK(again.out.find("payload") == std::string::npos);
}

// previous_segment, segment_since and days_in_segment read the server's stays: a segment that
// holds its customers for a while after they drop out (the language's example), over three
// runs with changes between them, placed as the embedded runs place them. The SQLite query
// refuses them, saying why.
TEST_CASE("postgres run: the stored state (previous_segment, days_in_segment) as the engine's") {
    check_stored_state([] { return RunDatabase::create(); });
    // SQLite's compiled query refuses it: the stored state can be in another file (--state).
    TempDir dir;
    const std::string rules = dir.write("sticky.yaml", kStickyRules);
    const std::string base = dir.database("base.db", Gen{std::mt19937(77), true}.base_sql());
    for (const char* dialect : {"sqlite"}) {
        const Run refused = run_cli({"compile", rules, "--dialect", dialect, "--db", base});
        CHECK(refused.code == 1);
        CHECK(refused.err.find("sticky.yaml:13:32: error: cannot compile to " +
                               std::string(dialect) +
                               ": 'previous_segment' reads the ruleset's "
                               "stored state") != std::string::npos);
    }
}

TEST_CASE("postgres run: value totals exact and out of range as the engine's") {
    for (const bool out_of_range : {false, true}) {
        CAPTURE(out_of_range);
        TempDir dir;
        const std::string base = dir.database("base.db", value_totals_base(out_of_range));
        const std::string rules = dir.write("totals.yaml", kValueTotalsRules);
        auto pg = RunDatabase::create();
        pg.load(base);
        const Run lite = run_cli(
            {"run", rules, "--db", base, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
        const Run in_pg = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01",
                                   "--dry-run", "--format", "json"});
        INFO(in_pg.err);
        REQUIRE(lite.code == 0);
        REQUIRE(in_pg.code == 0);
        CHECK(json_at(lite.out, "$.segments[0].value_total") == "-1.68");
        CHECK(json_at(lite.out, "$.segments[1].value_total") == "0");
        CHECK(json_at(lite.out, "$.segments[3].value_total") == "1000000");
        CHECK(json_at(lite.out, "$.value_total") ==
              (out_of_range ? "<none>" : "1.8000000000001e+19"));
        CHECK(comparable(in_pg.out) == comparable(lite.out));
    }
}

TEST_CASE("postgres run: a re-run whose trigger got an action at another's place is refused") {
    TempDir dir;
    const std::string base = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 500), (3, 2000);
)sql");
    auto pg = RunDatabase::create();
    auto copied = copy_sqlite_tables(base, {"customers"}, pg.connection);
    if (!copied) FAIL(copied.error().describe());
    auto rules = [&](int version, const std::string& actions) {
        return dir.write("v" + std::to_string(version) + ".yaml",
                         "ruleset: tiers\nversion: " + std::to_string(version) +
                             "\ngeneral:\n  segments:\n    - id: big\n      when: spend >= 100\n"
                             "    - id: small\n      when: otherwise\n"
                             "triggers:\n  - id: ping\n    on: in any\n    actions:\n" +
                             actions);
    };
    const std::string email = "      - email: { template: welcome }\n";
    const std::string sms = "      - sms: { text: hello }\n";
    const std::string v1 = rules(1, email);
    const std::string state = dir.file("state.db");
    // The same steps on PostgreSQL and on SQLite, which must agree.
    auto both = [&](const std::string& file, const char* as_of) {
        const Run lite = run_cli({"run", file, "--db", base, "--state", state, "--as-of", as_of});
        const Run in_pg = run_cli({"run", file, "--db", pg.url, "--as-of", as_of});
        CHECK(lite.code == in_pg.code);
        return in_pg;
    };
    REQUIRE(both(v1, "2026-10-01").code == 0);
    REQUIRE(both(v1, "2026-11-01").code == 0);
    const std::string before = postgres_outbox(pg.connection);
    const Run refused = both(rules(2, sms + email), "2026-11-01");
    CHECK(refused.code == 1);
    CHECK_MESSAGE(
        refused.err.find(
            "trigger 'ping': the outbox already holds its action 0 "
            "(counted from 0) at as_of 2026-11-01 as 'email' (enqueued by version 1), and "
            "version 2 has a 'sms' there") != std::string::npos,
        refused.err);
    CHECK(postgres_outbox(pg.connection) == before);
    REQUIRE(both(rules(3, email + sms), "2026-11-01").code == 0);
    CHECK(postgres_outbox(pg.connection) == sqlite_outbox(state));
    auto sms_rows = pg.connection.exec("SELECT count(*) FROM strata_outbox WHERE type = 'sms'");
    REQUIRE(sms_rows);
    CHECK(sms_rows.value().rows[0][0] == "3");
}
