// strata run --incremental: the changes that make a full run (columns, restored copies, views,
// read-only bases, a forgotten watch), runs at once, dry runs, and fits kept exactly.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/bytes.hpp"
#include "engine/population.hpp"
#include "engine/population_codec.hpp"
#include "engine/run_state.hpp"
#include "incremental_support.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::incremental_fixture;

TEST_CASE("incremental: a column renamed, dropped or added makes a full run") {
    // ALTER TABLE changes what the rows below the watermark read, and fires no trigger.
    Shop shop;
    shop.sql("ALTER TABLE orders ADD COLUMN discount REAL");
    REQUIRE(shop.run().code == 0);
    const std::string swap =
        "ALTER TABLE orders RENAME COLUMN amount TO x; ALTER TABLE orders RENAME COLUMN discount "
        "TO amount; ALTER TABLE orders RENAME COLUMN x TO discount";
    for (const std::string& change :
         {swap, std::string("ALTER TABLE orders DROP COLUMN amount; ALTER TABLE orders ADD COLUMN "
                            "amount REAL DEFAULT 7")}) {
        CAPTURE(change);
        shop.sql(change);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(json_at(r.out, "$.incremental.reason")
                  .find("the definition of table 'orders' "
                        "changed since run") == 0);
        // Its result is a full run's: the state kept from here on is of the new columns.
        const Run next = shop.run();
        REQUIRE_MESSAGE(next.code == 0, next.err);
        CHECK(mode(next) == "incremental");
        CHECK(json_at(next.out, "$.value_total") == json_at(r.out, "$.value_total"));
    }
    // `runs` says why a run asked to be incremental read everything; null for the others.
    const Run listed =
        run_cli({"runs", "--db", shop.db, "--state", shop.state, "--format", "json"});
    REQUIRE_MESSAGE(listed.code == 0, listed.err);
    CHECK(json_at(listed.out, "$.runs[1].mode") == "full");
    CHECK(json_at(listed.out, "$.runs[1].incremental_reason")
              .find("the definition of table 'orders' changed since run") == 0);
    CHECK(json_at(listed.out, "$.runs[2].mode") == "incremental");
    CHECK(json_at(listed.out, "$.runs[2].incremental_reason") == "<none>");
}

TEST_CASE("incremental: a customer database restored from an older copy makes a full run") {
    // The copy's watch covers fewer rows than the kept state read; rows added to the copy
    // since take the rowids the kept state read, as many as it read.
    Shop shop;
    restore_an_older_copy(shop);
    const Run r = shop.run();
    check_full_because(
        r,
        "the watch of table 'orders' covered rows up to rowid 200, the kept state read up to "
        "201: the database is not the one the kept state was read from (a copy restored "
        "since?)");
}

TEST_CASE(
    "incremental: a restored copy is found although another ruleset's run raised the watch since") {
    // The watch is shared by every ruleset reading the table. After the restore, another
    // ruleset's stored run raises it past the rows the kept state read: watermark, change
    // count and row count then all match, and only the raise the copy does not remember
    // tells the copies apart.
    Shop shop;
    restore_an_older_copy(shop);
    run_another_ruleset(shop);
    const Run r = shop.run();
    check_full_because(r,
                       "the watch of table 'orders' has no record of run 2's raise of it: the "
                       "database is not the one the kept state was read from (a copy restored "
                       "since?), its watch was installed again since (its row or triggers were "
                       "removed), or it was raised more than 10000 times since");
    // The full run's membership, customer by customer: customer 9's order counts, customer
    // 3's is gone.
    const Run fresh = run_cli({"run", shop.file, "--db", shop.db, "--state",
                               shop.dir.file("fresh.db"), "--format", "json"});
    REQUIRE(fresh.code == 0);
    CHECK(json_at(r.out, "$.populations") == json_at(fresh.out, "$.populations"));
    CHECK(
        run_cli({"export", shop.file, "--db", shop.db, "--state", shop.state}).out ==
        run_cli({"export", shop.file, "--db", shop.db, "--state", shop.dir.file("fresh.db")}).out);
    // The next run, on the copy as it now is, is incremental again.
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (4, '2026-10-31', 10)");
    CHECK(mode(shop.run()) == "incremental");
}

TEST_CASE("incremental: the watch forgets the oldest raises, and a state that old runs in full") {
    Shop shop;
    REQUIRE(shop.run().code == 0);
    // As if the watch had been raised 10,000 times since by other rulesets' runs.
    shop.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) "
        "INSERT INTO strata_fact_watch_raises (fact_table, token) SELECT 'orders', -i FROM n");
    run_another_ruleset(shop);
    CHECK(scalar(shop.db, "SELECT count(*) FROM strata_fact_watch_raises") == 10000);
    check_full_because(shop.run(),
                       "the watch of table 'orders' has no record of run 1's raise of it: the "
                       "database is not the one the kept state was read from (a copy restored "
                       "since?), its watch was installed again since (its row or triggers were "
                       "removed), or it was raised more than 10000 times since");
    CHECK(mode(shop.run()) == "incremental");
}

TEST_CASE(
    "incremental: mixed keys keep their states (prefixes shared, integers first); a customer who "
    "comes makes a full run") {
    TempDir dir;
    // Keys of both kinds in one untyped column, texts sharing prefixes, inserted out of order.
    const char* base = R"(
CREATE TABLE customers (customer_id, opt_in BOOLEAN);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id, order_date DATE, amount REAL);
INSERT INTO customers VALUES ('abc', 1), (7, 0), ('ab', 1), ('abd', 0), (-3, 1), ('b', 0),
  ('abcdefghij', 0), (12, 1), ('a', 1), ('Ab', 0), ('é', 1), ('abca', 1);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
INSERT INTO orders (customer_id, order_date, amount)
  SELECT c.customer_id, date('2026-10-01', '-' || i || ' days'), i * 0.75
  FROM n JOIN customers c ON c.rowid = 1 + i % 12;
)";
    const std::string inc_db = dir.database("inc.db", base);
    const std::string full_db = dir.database("full.db", base);
    const std::string file = dir.write("shop.yaml", rules());
    auto run = [&](const std::string& db, const std::string& state, bool incremental) {
        std::vector<std::string> args{"run",     file,  "--db",     db,
                                      "--state", state, "--format", "json"};
        if (incremental) args.push_back("--incremental");
        return run_cli(args);
    };
    for (int step = 0; step < 3; ++step) {
        CAPTURE(step);
        // Step 1 brings a customer: with keys of both kinds that makes a full run (a text key
        // spelling an integer would join that integer's rows). Step 2 only adds orders.
        const std::string more =
            std::string(
                "INSERT INTO orders (customer_id, order_date, amount) VALUES ('abd', "
                "'2026-10-20', 400), (7, '2026-10-21', 90), ('é', '2026-10-22', 55);") +
            (step == 1 ? "INSERT INTO customers VALUES ('abce', 1);" : "");
        if (step > 0) {
            SQLite::Database(inc_db, SQLite::OPEN_READWRITE).exec(more);
            SQLite::Database(full_db, SQLite::OPEN_READWRITE).exec(more);
        }
        const Run inc = run(inc_db, dir.file("inc-state.db"), true);
        const Run full = run(full_db, dir.file("full-state.db"), false);
        REQUIRE_MESSAGE(inc.code == 0, inc.err);
        REQUIRE_MESSAGE(full.code == 0, full.err);
        if (step == 1) {
            CHECK(mode(inc) == "full");
            CHECK(inc.err.find("integer and text keys") != std::string::npos);
        }
        if (step == 2) CHECK(mode(inc) == "incremental");
        CHECK(json_at(inc.out, "$.segments") == json_at(full.out, "$.segments"));
        CHECK(json_at(inc.out, "$.populations") == json_at(full.out, "$.populations"));
        CHECK(json_at(inc.out, "$.data_quality") == json_at(full.out, "$.data_quality"));
        const Run a =
            run_cli({"export", file, "--db", inc_db, "--state", dir.file("inc-state.db")});
        const Run b =
            run_cli({"export", file, "--db", full_db, "--state", dir.file("full-state.db")});
        CHECK(a.out == b.out);
    }
}

TEST_CASE("incremental: a view cannot be watched; a read-only base says so and runs in full") {
    Shop shop;
    SUBCASE("facts from a view") {
        shop.sql("CREATE VIEW recent_orders AS SELECT * FROM orders");
        std::string text = rules();
        text.replace(text.find("table: orders"), 13, "table: recent_orders");
        shop.dir.write("shop.yaml", text);
        REQUIRE(shop.run().code == 0);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("has no rowid") != std::string::npos);
        // A plain run does not watch: it says nothing of the rowid.
        const Run plain = run_cli({"run", shop.file, "--db", shop.db, "--state", shop.state});
        REQUIRE_MESSAGE(plain.code == 0, plain.err);
        CHECK(plain.err.find("rowid") == std::string::npos);
    }
    SUBCASE("facts from a table whose own columns hide its rowid") {
        shop.sql(
            "CREATE TABLE hidden_orders (rowid, _rowid_, oid, order_id INTEGER, customer_id "
            "INTEGER, order_date DATE, amount REAL); INSERT INTO hidden_orders SELECT 0, 0, 0, * "
            "FROM orders");
        std::string text = rules();
        text.replace(text.find("table: orders"), 13, "table: hidden_orders");
        shop.dir.write("shop.yaml", text);
        const Run first = shop.run();
        REQUIRE_MESSAGE(first.code == 0, first.err);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("has no rowid strata can read (a view, a WITHOUT ROWID table, or a "
                         "table with columns of its own named rowid, _rowid_ and oid)") !=
              std::string::npos);
    }
    SUBCASE("a read-only customer database") {
        std::filesystem::permissions(shop.db, std::filesystem::perms::owner_read,
                                     std::filesystem::perm_options::replace);
        if (::access(shop.db.c_str(), W_OK) == 0) return;  // root can write anyway
        REQUIRE(shop.run().code == 0);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("not watched") != std::string::npos);
    }
}

TEST_CASE("incremental: an applied evaluation of one customer leaves the kept state in use") {
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 900)");
    const Run applied = run_cli({"eval", shop.file, "--db", shop.db, "--state", shop.state,
                                 "--customer", "3", "--apply", "--format", "json"});
    REQUIRE_MESSAGE(applied.code == 0, applied.err);
    CHECK(count_rows(shop.state, "strata_runs") == 2);
    const Run r = shop.run();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(mode(r) == "incremental");
    CHECK(json_at(r.out, "$.incremental.since_run") == "1");
    CHECK(json_at(r.out, "$.incremental.facts[0].rows_read") == "1");
    // Customer 3's move was stored by the evaluation: the batch run does not count it again.
    // (A dry run without --state reads the customer database as the state: it has no runs.)
    const Run full = run_cli({"run", shop.file, "--db", shop.db, "--dry-run", "--format", "json"});
    CHECK(json_at(r.out, "$.segments") == json_at(full.out, "$.segments"));
    // strata runs says how each ran.
    const Run runs = run_cli({"runs", "--db", shop.db, "--state", shop.state, "--format", "json"});
    CHECK(json_at(runs.out, "$.runs[0].mode") == "full");
    CHECK(json_at(runs.out, "$.runs[1].mode") == "eval");
    CHECK(json_at(runs.out, "$.runs[2].mode") == "incremental");
}

TEST_CASE("incremental: without --state the customer database holds the state and the watch") {
    Shop shop;
    auto run = [&shop] {
        return run_cli({"run", shop.file, "--db", shop.db, "--incremental", "--format", "json"});
    };
    const Run first = run();
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(first.err.find("cannot watch") == std::string::npos);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 500)");
    const Run second = run();
    REQUIRE_MESSAGE(second.code == 0, second.err);
    CHECK(second.err.find("cannot watch") == std::string::npos);
    CHECK(mode(second) == "incremental");
    CHECK(json_at(second.out, "$.incremental.facts[0].rows_read") == "1");
}

TEST_CASE("incremental: two runs at once: the second waits and reads the first's kept state") {
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 500)");
    const Run full = run_cli({"run", shop.file, "--db", shop.db, "--state",
                              shop.dir.file("full.db"), "--format", "json"});
    REQUIRE(full.code == 0);
    // The state's write lock is held while both read run 1's kept state and evaluate; then
    // one stores run 2, and the other finds run 2 stored after the state it read.
    std::vector<pid_t> runs;
    {
        SQLite::Database holder(shop.state, SQLite::OPEN_READWRITE);
        holder.exec("BEGIN IMMEDIATE");
        for (const char* name : {"a", "b"})
            runs.push_back(start({STRATA_BINARY, "run", shop.file, "--db", shop.db, "--state",
                                  shop.state, "--incremental", "--format", "json"},
                                 shop.dir.file(std::string(name) + ".out"),
                                 shop.dir.file(std::string(name) + ".err")));
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        holder.exec("ROLLBACK");
    }
    for (size_t i = 0; i < runs.size(); ++i) {
        const std::string name = i == 0 ? "a" : "b";
        const Ended ended = finish_or_kill(runs[i], kNever);
        INFO(slurp(shop.dir.file(name + ".err")));
        CHECK(ended.exit_code == 0);
        const std::string out = slurp(shop.dir.file(name + ".out"));
        CHECK(json_at(out, "$.populations") == json_at(full.out, "$.populations"));
    }
    CHECK(scalar(shop.state, "SELECT count(*) FROM strata_runs") == 3);
    CHECK(run_cli({"export", shop.file, "--db", shop.db, "--state", shop.state}).out ==
          run_cli({"export", shop.file, "--db", shop.db, "--state", shop.dir.file("full.db")}).out);
    // The later one was made again, from the earlier one's kept state.
    CHECK(scalar(shop.state,
                 "SELECT json_extract(summary, '$.incremental.since_run') FROM strata_runs WHERE "
                 "run_id = 3") == 2);
}

TEST_CASE("incremental: a dry run reads the kept state and stores nothing") {
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 500)");
    const Run dry = shop.run({"--dry-run"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    CHECK(mode(dry) == "incremental");
    CHECK(count_rows(shop.state, "strata_runs") == 1);
    const Run plain = run_cli({"run", shop.file, "--db", shop.db, "--state", shop.state,
                               "--dry-run", "--format", "json"});
    CHECK(json_at(plain.out, "$.incremental") == "<none>");
    CHECK(json_at(plain.out, "$.segments") == json_at(dry.out, "$.segments"));
}

TEST_CASE("incremental: a kept state that cannot be stored fails the run, which stores nothing") {
    // The customers' kept states are stored on a thread of their own while the lets are
    // evaluated: a failure there must still fail the run whole, naming the table.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
        .exec(
            "CREATE TRIGGER refuse BEFORE INSERT ON strata_aggregate_blocks "
            "BEGIN SELECT RAISE(ABORT, 'the disk says no'); END");
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 500)");
    const Run failed = shop.run();
    CHECK(failed.code == 2);
    CHECK(failed.err.find("cannot store the kept aggregate state (table "
                          "'strata_aggregate_blocks')") != std::string::npos);
    CHECK(failed.err.find("the disk says no") != std::string::npos);
    CHECK(count_rows(shop.state, "strata_runs") == 1);
    CHECK(count_rows(shop.state, "strata_aggregate_blocks") == 1);
    // Once the state can take it again, the next run reads from the first run's kept state.
    SQLite::Database(shop.state, SQLite::OPEN_READWRITE).exec("DROP TRIGGER refuse");
    const Run again = shop.run();
    REQUIRE_MESSAGE(again.code == 0, again.err);
    CHECK(mode(again) == "incremental");
    CHECK(json_at(again.out, "$.incremental.since_run") == "1");
}

TEST_CASE("population fits survive their encoding exactly") {
    strata::Column x;
    for (int i = 0; i < 50; ++i)
        x.push_back(i % 7 == 0 ? strata::Value{}
                               : strata::Value{static_cast<double>(i % 11) * 1.5});
    strata::Column keys;
    for (int i = 0; i < 50; ++i)
        keys.push_back(strata::Value{int64_t{i}});
    const std::vector<strata::PopulationFit> fits = {
        strata::fit_ntile(x, 4), strata::fit_percent_rank(x), strata::fit_abc(x, keys, 0.8, 0.95)};
    for (const auto& fit : fits) {
        const std::string bytes = strata::encode_fit(fit);
        const auto back = strata::decode_fit(bytes);
        REQUIRE(back.has_value());
        CHECK(strata::encode_fit(*back) == bytes);
        for (int i = 0; i < 50; ++i) {
            const strata::Value v = x[static_cast<size_t>(i)];
            if (const auto* f = std::get_if<strata::NtileFit>(&fit))
                CHECK(strata::format_value(strata::apply_ntile(*f, v)) ==
                      strata::format_value(
                          strata::apply_ntile(std::get<strata::NtileFit>(*back), v)));
        }
        // A truncated or longer buffer is refused, never read past its end.
        CHECK_FALSE(strata::decode_fit(bytes.substr(0, bytes.size() - 1)).has_value());
        CHECK_FALSE(strata::decode_fit(bytes + "x").has_value());
    }
}

TEST_CASE(
    "a state in WAL mode (docs/eval.md, serving beside batch runs) takes full and incremental "
    "runs and strata eval --apply as one in rollback-journal mode does") {
    Shop rollback;
    Shop wal;
    {
        SQLite::Database state(wal.state, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        REQUIRE(state.execAndGet("PRAGMA journal_mode = WAL").getString() == "wal");
    }
    auto dump = [](const Shop& shop) {
        SQLite::Database db(shop.state, SQLite::OPEN_READONLY);
        SQLite::Statement q(db,
                            "SELECT customer_key, level, segment, entered_run, exited_run FROM "
                            "strata_stays ORDER BY 1, 2, 3, 4");
        std::string out;
        while (q.executeStep()) {
            for (int c = 0; c < 5; ++c)
                out += q.getColumn(c).getString() + (c < 4 ? "," : "\n");
        }
        return out + db.execAndGet(
                           "SELECT group_concat(run_id || ':' || as_of, ' ') FROM "
                           "strata_runs")
                         .getString();
    };
    for (const Shop* shop : {&rollback, &wal}) {
        const Run first = shop->run();
        REQUIRE_MESSAGE(first.code == 0, first.err);
        shop->sql(
            "INSERT INTO orders (customer_id, order_date, amount) SELECT customer_id, "
            "'2026-10-30', amount * 40 FROM orders WHERE customer_id % 5 = 0");
        const Run second = shop->run();
        REQUIRE_MESSAGE(second.code == 0, second.err);
        CHECK(mode(second) == "incremental");
        const Run applied = run_cli({"eval", shop->file, "--db", shop->db, "--state", shop->state,
                                     "--customer", "3", "--apply"});
        REQUIRE_MESSAGE(applied.code == 0, applied.err);
        shop->sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-31', 900)");
        const Run third = shop->run();
        REQUIRE_MESSAGE(third.code == 0, third.err);
        CHECK(mode(third) == "incremental");
    }
    const std::string kept = dump(rollback);
    CHECK(kept.find(",0\n") != std::string::npos);  // open stays
    CHECK(kept.find(",2\n") != std::string::npos);  // stays closed by the incremental runs
    CHECK(kept.find(",4\n") != std::string::npos);
    CHECK(dump(wal) == kept);
    SQLite::Database state(wal.state, SQLite::OPEN_READONLY);
    CHECK(state.execAndGet("PRAGMA journal_mode").getString() == "wal");
}

TEST_CASE("--incremental from a kept state read before the table had its watch says so") {
    // Run 1 on this state reads the orders unwatched; another state's --incremental run then
    // installs the watch; this state's next --incremental run cannot trust its kept state.
    Shop shop;
    const Run plain = run_cli({"run", shop.file, "--db", shop.db, "--state", shop.state});
    REQUIRE_MESSAGE(plain.code == 0, plain.err);
    const Run other = run_cli(
        {"run", shop.file, "--db", shop.db, "--state", shop.dir.file("other.db"), "--incremental"});
    REQUIRE_MESSAGE(other.code == 0, other.err);
    check_full_because(shop.run(),
                       "the kept state of table 'orders' was read without the table's watch "
                       "raised: before the table was watched for changes, or by a run that could "
                       "not write to the customer database");
}

// Two facts over one table may read a column as two types: each type is a finding of its own
// (its own count and first bad value), and an incremental run lists them as a full one does.
TEST_CASE("incremental: a column read as two types is two data-quality findings, as in full") {
    Shop shop;
    shop.dir.write("shop.yaml",
                   "ruleset: shop\nversion: 1\nas_of: 2026-11-01\nsource:\n  customers: "
                   "customers\n  key: customer_id\n  facts:\n    orders: { table: orders, key: "
                   "customer_id, time: order_date }\n    whole: { table: orders, key: "
                   "customer_id, time: order_date, types: { amount: integer } }\n"
                   "let:\n  revenue: sum(orders.amount)\n  units: sum(whole.amount)\n"
                   "general:\n  policy: first_match\n  segments:\n"
                   "    - { id: big, when: revenue > 100 }\n    - { id: rest, when: otherwise }\n");
    const std::string full_db = shop.dir.file("full.db");
    std::filesystem::copy_file(shop.db, full_db);
    REQUIRE(shop.run().code == 0);
    const std::string bad =
        "INSERT INTO orders (customer_id, order_date, amount) VALUES (2, '2026-10-30', 'n/a')";
    shop.sql(bad);
    SQLite::Database(full_db, SQLite::OPEN_READWRITE).exec(bad);
    const Run incremental = shop.run();
    REQUIRE_MESSAGE(incremental.code == 0, incremental.err);
    CHECK(mode(incremental) == "incremental");
    const Run full = run_cli({"run", shop.file, "--db", full_db, "--format", "json"});
    REQUIRE_MESSAGE(full.code == 0, full.err);
    // 1.25 * i is whole for one order in four: the others are bad as integers, 'n/a' as both.
    CHECK(json_at(full.out, "$.data_quality.unconvertible[0].type") == "integer");
    CHECK(json_at(full.out, "$.data_quality.unconvertible[0].count") == "151");
    CHECK(json_at(full.out, "$.data_quality.unconvertible[0].sample") == "1.25");
    CHECK(json_at(full.out, "$.data_quality.unconvertible[1].type") == "number");
    CHECK(json_at(full.out, "$.data_quality.unconvertible[1].count") == "1");
    CHECK(json_at(full.out, "$.data_quality.unconvertible[1].sample") == "n/a");
    CHECK(json_at(incremental.out, "$.data_quality") == json_at(full.out, "$.data_quality"));
}

TEST_CASE("incremental: customers leaving after fact values did not convert makes a full run") {
    Shop shop;
    shop.sql(
        "INSERT INTO orders (customer_id, order_date, amount) VALUES (5, '2026-10-30', 'n/a')");
    REQUIRE(shop.run().code == 0);
    SUBCASE("the leaver had the bad value: it is no longer counted, as in a full run") {
        shop.sql("DELETE FROM customers WHERE customer_id = 5");
        const Run after = shop.run();
        check_full_because(after,
                           "1 customer left the base, and fact values below the watermark did "
                           "not convert at run 1: whether they were the leavers' (no longer "
                           "counted) takes a full read");
        CHECK(json_at(after.out, "$.data_quality.unconvertible") == "[]");
    }
    SUBCASE("no one left: the kept count stands, incrementally") {
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (6, '2026-10-30', 3)");
        const Run after = shop.run();
        REQUIRE_MESSAGE(after.code == 0, after.err);
        CHECK(mode(after) == "incremental");
        CHECK(json_at(after.out, "$.data_quality.unconvertible[0].count") == "1");
    }
}

TEST_CASE("incremental: a column named rowid added to a watched table makes the watch new") {
    // Triggers that say `rowid` would then compare that column, and count no change.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql("ALTER TABLE orders ADD COLUMN rowid TEXT");
    const Run r = shop.run();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(mode(r) == "full");
    {
        SQLite::Database db(shop.db);
        CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name "
                            "LIKE 'strata_watch_orders_%' AND sql LIKE '%._rowid_ <= %'")
                  .getInt() == 3);
    }
    // A change to an old row is seen again.
    shop.sql("UPDATE orders SET amount = 1000 WHERE order_id = 2");
    const Run changed = shop.run();
    REQUIRE_MESSAGE(changed.code == 0, changed.err);
    CHECK(mode(changed) == "full");
    CHECK(changed.err.find("to rows of table 'orders' at or below the watermark") !=
          std::string::npos);
    CHECK(mode(shop.run()) == "incremental");
}

TEST_CASE("incremental: a watch installed again since the kept state makes a full run") {
    // The watch's row and triggers removed by hand, an old order changed unseen, and the watch
    // installed again by another ruleset's run: its change count starts again at the kept one,
    // so only the raises it forgot tell that changes went unseen.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql(
        "DROP TABLE strata_fact_watch; DROP TRIGGER strata_watch_orders_update; DROP TRIGGER "
        "strata_watch_orders_delete; DROP TRIGGER strata_watch_orders_insert");
    shop.sql("UPDATE orders SET amount = amount + 1000 WHERE order_id = 1");
    std::string other = rules();
    other.replace(other.find("ruleset: shop"), 13, "ruleset: other");
    const Run installed = run_cli({"run", shop.dir.write("other.yaml", other), "--db", shop.db,
                                   "--state", shop.state, "--incremental"});
    REQUIRE_MESSAGE(installed.code == 0, installed.err);
    const Run r = shop.run();
    check_full_because(r,
                       "the watch of table 'orders' has no record of run 1's raise of it: the "
                       "database is not the one the kept state was read from (a copy restored "
                       "since?), its watch was installed again since (its row or triggers were "
                       "removed), or it was raised more than 10000 times since");
    const Run fresh = run_cli({"run", shop.file, "--db", shop.db, "--state",
                               shop.dir.file("fresh.db"), "--format", "json"});
    REQUIRE(fresh.code == 0);
    CHECK(json_at(r.out, "$.value_total") == json_at(fresh.out, "$.value_total"));
}

TEST_CASE("incremental: a table replaced since the kept state is said to be unwatched") {
    // Its triggers went with it; installing them again is not a change to a row.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql(
        "ALTER TABLE orders RENAME TO orders_old; CREATE TABLE orders (order_id INTEGER PRIMARY "
        "KEY, customer_id INTEGER, order_date DATE, amount REAL); INSERT INTO orders SELECT * "
        "FROM orders_old; DROP TABLE orders_old");
    check_full_because(shop.run(),
                       "table 'orders' was not watched before this run: changes below the "
                       "watermark since run 1 may have gone unseen");
}

TEST_CASE("incremental: a watch installed again counts fewer changes, and says so") {
    // The kept state was read after two changes; the watch removed by hand and installed
    // again by another ruleset's run starts its count afresh, below the kept one.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql("UPDATE orders SET amount = amount + 1 WHERE order_id IN (1, 2)");
    REQUIRE(mode(shop.run()) == "full");
    shop.sql(
        "DROP TABLE strata_fact_watch; DROP TRIGGER strata_watch_orders_update; DROP TRIGGER "
        "strata_watch_orders_delete; DROP TRIGGER strata_watch_orders_insert");
    std::string other = rules();
    other.replace(other.find("ruleset: shop"), 13, "ruleset: other");
    const Run installed = run_cli({"run", shop.dir.write("other.yaml", other), "--db", shop.db,
                                   "--state", shop.state, "--incremental"});
    REQUIRE_MESSAGE(installed.code == 0, installed.err);
    check_full_because(shop.run(),
                       "the watch of table 'orders' counts 0 changes, fewer than the 2 it counted "
                       "for run 2: it was installed again since (its row or triggers were "
                       "removed), or the database is not the one the kept state was read from "
                       "(a copy?), so changes below the watermark may have gone unseen");
}

TEST_CASE("incremental: a change counted under the watch another ruleset raised says so") {
    // The watch is shared: another ruleset's run raises it past this one's watermark, and a
    // change to a row between the two counts. The reason names both watermarks.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql(
        "INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 5), "
        "(4, '2026-10-30', 6)");
    run_another_ruleset(shop);
    shop.sql("UPDATE orders SET amount = 999 WHERE order_id = 202");
    check_full_because(shop.run(),
                       "1 change to rows of table 'orders' at or below the watermark (rowid 200) "
                       "or the watch's, raised to rowid 202 by another run since, since run 1: "
                       "facts are not only appended");
}

TEST_CASE("incremental: after the newest fact rows are deleted, appends are incremental again") {
    // Rows added after a delete at the top take rowids at or below the old watermark. The
    // watermark was only ever raised, so their inserts counted as changes and every run was a
    // full one, until the rowids passed it again (review AK2). The full run after the delete
    // lowers it; lowering counts as a change, so a state another ruleset kept up to the old
    // watermark is not taken for current.
    Shop shop;
    REQUIRE(shop.run().code == 0);
    shop.sql("DELETE FROM orders WHERE order_id > 190");
    const Run after_delete = shop.run();
    REQUIRE_MESSAGE(after_delete.code == 0, after_delete.err);
    CHECK(mode(after_delete) == "full");
    for (int day = 0; day < 3; ++day) {
        CAPTURE(day);
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', "
            "5), (4, '2026-10-31', 6)");
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "incremental");
        const Run full = run_cli({"run", shop.file, "--db", shop.db, "--state", shop.state,
                                  "--dry-run", "--format", "json"});
        REQUIRE_MESSAGE(full.code == 0, full.err);
        CHECK(json_at(r.out, "$.value_total") == json_at(full.out, "$.value_total"));
        CHECK(json_at(r.out, "$.segments") == json_at(full.out, "$.segments"));
    }
    SQLite::Database db(shop.db, SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT watermark FROM strata_fact_watch").getInt64() == 196);
}
