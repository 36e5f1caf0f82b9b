// `strata run --incremental` as a user meets it (docs/incremental.md): what it reads, the
// watch it adds, each reason it gives for a full run instead, and what a run keeps.
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

TEST_CASE(
    "incremental: the first run is a full one that watches the facts; the next reads only "
    "new rows") {
    Shop shop;
    const Run first = shop.run();
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(mode(first) == "full");
    CHECK(first.err.find("a full run instead, because no aggregate state is kept for ruleset "
                         "'shop'") != std::string::npos);
    CHECK(json_at(first.out, "$.incremental.facts[0].rows_read") == "200");
    CHECK(count_rows(shop.db, "strata_fact_watch") == 1);
    {
        SQLite::Database db(shop.db);
        CHECK(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name "
                            "LIKE 'strata_watch_orders_%'")
                  .getInt() == 3);
    }
    // What a run keeps: a state per ruleset, the blocks, one fit per population call.
    CHECK(count_rows(shop.state, "strata_aggregate_state") == 1);
    CHECK(count_rows(shop.state, "strata_aggregate_blocks") == 1);
    CHECK(count_rows(shop.state, "strata_population_fits") == 1);

    shop.sql(
        "INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 500), "
        "(4, '2026-10-31', 7.5), (99, '2026-10-31', 1)");
    const Run second = shop.run();
    REQUIRE_MESSAGE(second.code == 0, second.err);
    CHECK(mode(second) == "incremental");
    CHECK(json_at(second.out, "$.incremental.reason") == "<none>");
    CHECK(json_at(second.out, "$.incremental.since_run") == "1");
    CHECK(json_at(second.out, "$.incremental.facts[0].after_rowid") == "200");
    CHECK(json_at(second.out, "$.incremental.facts[0].rows_read") == "3");
    CHECK(json_at(second.out, "$.incremental.customers_kept") == "40");
    CHECK(json_at(second.out, "$.data_quality.orphan_fact_rows.orders") == "1");
    // The run record keeps it too.
    SQLite::Database state(shop.state);
    CHECK(state
              .execAndGet("SELECT json_extract(summary, '$.incremental.mode') FROM strata_runs "
                          "WHERE run_id = 2")
              .getString() == "incremental");
    // -v says what it read, in words.
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (5, '2026-10-31', 2)");
    // (The log goes to the process's stderr: the binary itself is run.)
    const std::string out = shop.dir.file("told.out"), err = shop.dir.file("told.err");
    const Ended told = finish_or_kill(start({STRATA_BINARY, "-v", "run", shop.file, "--db", shop.db,
                                             "--state", shop.state, "--incremental"},
                                            out, err),
                                      kNever);
    REQUIRE(told.exit_code == 0);
    const std::string log = slurp(err);
    CHECK(log.find("incremental: from run 2's kept state: 40 customers kept, 0 new, 0 left") !=
          std::string::npos);
    CHECK(log.find("incremental: read 1 row of orders (rowid above 203)") != std::string::npos);
}

TEST_CASE("incremental: a changed, deleted or slipped-in old row makes a full run, once") {
    Shop shop;
    REQUIRE(shop.run().code == 0);
    for (const char* change :
         {"UPDATE orders SET amount = 1 WHERE order_id = 5",
          "DELETE FROM orders WHERE order_id = 6",
          "INSERT INTO orders (order_id, customer_id, order_date, amount) VALUES (-7, 1, "
          "'2026-01-01', 3)"}) {
        CAPTURE(change);
        shop.sql(change);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("to rows of table 'orders' at or below the watermark") !=
              std::string::npos);
        CHECK(r.err.find("facts are not only appended") != std::string::npos);
        // The full run keeps a fresh state: the next one is incremental again.
        CHECK(mode(shop.run()) == "incremental");
    }
    // A change above the watermark is a new row like any other.
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (2, '2026-10-30', 5)");
    shop.sql("UPDATE orders SET amount = 6 WHERE order_id = (SELECT max(order_id) FROM orders)");
    CHECK(mode(shop.run()) == "incremental");
}

TEST_CASE("incremental: rows replaced without a delete trigger, a table made again") {
    Shop shop;
    shop.sql("CREATE UNIQUE INDEX orders_day ON orders (customer_id, order_date)");
    REQUIRE(shop.run().code == 0);
    {
        SQLite::Database db(shop.db);
        CHECK(db.execAndGet("SELECT watermark FROM strata_fact_watch").getInt64() == 200);
    }
    SUBCASE("INSERT OR REPLACE deletes the old row without firing delete triggers") {
        shop.sql(
            "INSERT OR REPLACE INTO orders (customer_id, order_date, amount) SELECT "
            "customer_id, order_date, 5000 FROM orders WHERE order_id = 10");
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("rows were replaced or removed without the watch seeing it") !=
              std::string::npos);
    }
    SUBCASE("the table dropped and made again (as an import --replace does)") {
        shop.sql(
            "CREATE TABLE orders_copy AS SELECT * FROM orders; DROP TABLE orders; "
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, "
            "order_date DATE, amount REAL); INSERT INTO orders SELECT * FROM orders_copy; "
            "UPDATE orders SET amount = amount + 1;");
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(mode(shop.run()) == "incremental");  // watched again from that full run on
    }
    SUBCASE("a plain run raises the watermark of a watch that is there") {
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (4, '2026-10-30', 5)");
        REQUIRE(run_cli({"run", shop.file, "--db", shop.db, "--state", shop.state}).code == 0);
        SQLite::Database db(shop.db);
        CHECK(db.execAndGet("SELECT watermark FROM strata_fact_watch").getInt64() == 201);
        CHECK(mode(shop.run()) == "incremental");
    }
}

TEST_CASE("incremental: a read that falls back to a full one still sees the state columns") {
    // The rows below the watermark are counted beside the read; when they differ, the read is
    // made again in full, and its customers' previous segments must come from the open stays
    // again (they read as null, every customer new, before the fix).
    Shop shop;
    shop.sql("CREATE UNIQUE INDEX orders_day ON orders (customer_id, order_date)");
    std::string text = rules();
    text.replace(text.find("when: tile == 3"), 15, "when: tile == 3 or previous_segment == 'top'");
    shop.dir.write("shop.yaml", text);
    REQUIRE(shop.run().code == 0);
    shop.sql(
        "INSERT OR REPLACE INTO orders (customer_id, order_date, amount) SELECT customer_id, "
        "order_date, 5000 FROM orders WHERE order_id = 10");
    const std::string full_db = shop.dir.file("full.db");
    const std::string full_state = shop.dir.file("full-state.db");
    std::filesystem::copy_file(shop.db, full_db);
    std::filesystem::copy_file(shop.state, full_state);
    const Run r = shop.run();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(mode(r) == "full");
    CHECK(r.err.find("rows were replaced or removed without the watch seeing it") !=
          std::string::npos);
    const Run full = run_cli({"run", shop.file, "--db", full_db, "--state", full_state});
    REQUIRE_MESSAGE(full.code == 0, full.err);
    const Run a = run_cli({"export", shop.file, "--db", shop.db, "--state", shop.state});
    const Run b = run_cli({"export", shop.file, "--db", full_db, "--state", full_state});
    REQUIRE(a.code == 0);
    CHECK(a.out == b.out);
    CHECK(a.out.find(",top") != std::string::npos);
}

TEST_CASE("incremental: in WAL mode a writer adding rows meanwhile does not stop the watch") {
    // The watch is raised in one transaction that reads, then writes: begun deferred, it could
    // not write once the other writer had committed since its read, and the run lost its watch.
    Shop shop;
    shop.sql("PRAGMA journal_mode = WAL");
    REQUIRE(shop.run().code == 0);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        SQLite::Database db(shop.db, SQLite::OPEN_READWRITE);
        db.setBusyTimeout(5000);
        SQLite::Statement add(db,
                              "INSERT INTO orders (customer_id, order_date, amount) VALUES (?, "
                              "'2026-10-30', 1)");
        for (int i = 0; !stop; ++i) {
            add.bind(1, 1 + i % 40);
            add.exec();
            add.reset();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    for (int k = 0; k < 8; ++k) {
        const Run r = shop.run();
        CHECK_MESSAGE(r.code == 0, r.err);
        CHECK_MESSAGE(r.err.find("cannot watch") == std::string::npos, r.err);
        CHECK_MESSAGE(mode(r) == "incremental", r.err);
    }
    stop = true;
    writer.join();
}

TEST_CASE("incremental: in WAL mode the rows below the watermark are counted too") {
    // In WAL mode a second connection may read a later snapshot than the run's, so the count
    // is made on the run's own connection; rollback-journal mode counts beside the read.
    Shop shop;
    shop.sql("PRAGMA journal_mode = WAL");
    shop.sql("CREATE UNIQUE INDEX orders_day ON orders (customer_id, order_date)");
    REQUIRE(shop.run().code == 0);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 7)");
    CHECK(mode(shop.run()) == "incremental");
    shop.sql(
        "INSERT OR REPLACE INTO orders (customer_id, order_date, amount) SELECT customer_id, "
        "order_date, 5000 FROM orders WHERE order_id = 10");
    const Run r = shop.run();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(mode(r) == "full");
    CHECK(r.err.find("rows were replaced or removed without the watch seeing it") !=
          std::string::npos);
    CHECK(mode(shop.run()) == "incremental");
}

TEST_CASE("incremental: another version, a moving window, new customers owning old rows") {
    Shop shop;
    REQUIRE(shop.run().code == 0);

    SUBCASE("another version of the rule file") {
        shop.dir.write("shop.yaml", rules("  big: count(orders where amount > 100)\n", 2));
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("the kept aggregate state is of version 1") != std::string::npos);
    }
    SUBCASE("as_of moves: fine for plain aggregates, not for a window") {
        Run r = shop.run({"--as-of", "2026-11-05"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "incremental");
        shop.dir.write("shop.yaml",
                       rules("  recent: count(orders where order_date > as_of - 30d)\n", 2));
        REQUIRE(shop.run({"--as-of", "2026-11-05"}).code == 0);  // the new version: full
        r = shop.run({"--as-of", "2026-11-05"});
        CHECK(mode(r) == "incremental");  // the same as_of again
        r = shop.run({"--as-of", "2026-11-09"});
        CHECK(mode(r) == "full");
        CHECK(r.err.find("depends on as_of") != std::string::npos);
    }
    SUBCASE("rows after the kept as_of below the watermark") {
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (2, '2026-11-03', 5)");
        REQUIRE(mode(shop.run()) == "incremental");  // the row is after as_of: left out
        const Run r = shop.run({"--as-of", "2026-11-04"});
        CHECK(mode(r) == "full");
        CHECK(r.err.find("and 1 row of orders below the watermark was after the kept as_of, "
                         "dated 2026-11-03: it counts now") != std::string::npos);
        CHECK(json_at(r.out, "$.segments") != "<none>");
    }
    SUBCASE("as_of moves to a day before the earliest row after the kept as_of") {
        // A row dated ahead (a pre-order) stays left out while as_of is before its day, so
        // moving as_of up to then is no reason for a full run.
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (2, '2026-11-09', 5000), "
            "(6, '2026-11-05', 4000)");
        REQUIRE(mode(shop.run()) == "incremental");
        const std::string full_db = shop.dir.file("full.db");
        const std::string full_state = shop.dir.file("full-state.db");
        for (const char* as_of : {"2026-11-02", "2026-11-04"}) {
            shop.sql(
                "INSERT INTO orders (customer_id, order_date, amount) VALUES (7, '2026-11-01', "
                "30)");
            // Byte for byte what a full run on a copy gives.
            std::filesystem::remove(full_db);
            std::filesystem::remove(full_state);
            std::filesystem::copy_file(shop.db, full_db);
            std::filesystem::copy_file(shop.state, full_state);
            const Run r = shop.run({"--as-of", as_of});
            REQUIRE_MESSAGE(r.code == 0, r.err);
            CHECK_MESSAGE(mode(r) == "incremental", r.err);
            CHECK(json_at(r.out, "$.data_quality.facts_after_as_of.orders") == "2");
            const Run full = run_cli({"run", shop.file, "--db", full_db, "--state", full_state,
                                      "--as-of", as_of, "--format", "json"});
            REQUIRE_MESSAGE(full.code == 0, full.err);
            CHECK(json_at(full.out, "$.segments") == json_at(r.out, "$.segments"));
            CHECK(json_at(full.out, "$.data_quality") == json_at(r.out, "$.data_quality"));
            const Run a = run_cli({"export", shop.file, "--db", shop.db, "--state", shop.state});
            const Run b = run_cli({"export", shop.file, "--db", full_db, "--state", full_state});
            REQUIRE(a.code == 0);
            CHECK(a.out == b.out);
        }
        // 2026-11-05 is the earliest row's day: it counts now.
        const Run r = shop.run({"--as-of", "2026-11-05"});
        CHECK(mode(r) == "full");
        CHECK(r.err.find("2 rows of orders below the watermark were after the kept as_of, the "
                         "earliest dated 2026-11-05: it counts now") != std::string::npos);
        CHECK(json_at(r.out, "$.data_quality.facts_after_as_of.orders") == "1");
    }
    SUBCASE("a state kept before strata kept the earliest day: as_of moving is a full run") {
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (2, '2026-11-09', 5)");
        REQUIRE(mode(shop.run()) == "incremental");
        // Older states end before the earliest day: a flag (1 byte) and the day (zigzag
        // varint, 3 bytes for a day in 2026) for the one fact.
        SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
            .exec("UPDATE strata_aggregate_state SET facts = substr(facts, 1, length(facts) - 4)");
        // A later row read by an incremental run does not make the earliest day known.
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-11-20', 5)");
        REQUIRE(mode(shop.run()) == "incremental");
        const Run r = shop.run({"--as-of", "2026-11-10"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("2 rows of orders below the watermark were after the kept as_of: they "
                         "may count now (the kept state does not say when the earliest is "
                         "dated)") != std::string::npos);
        CHECK(mode(shop.run({"--as-of", "2026-11-11"})) == "incremental");
    }
    SUBCASE("a kept state damaged by hand is told on stderr as text, not as its bytes") {
        // The fact's name in the kept state ('orders', after its count and length) gets a
        // byte that is not UTF-8: the reason quotes it, as the terminal can show it.
        SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
            .exec(
                "UPDATE strata_aggregate_state SET facts = substr(facts, 1, 5) || x'ff' || "
                "substr(facts, 7)");
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("the kept state read fact 'ord\uFFFDrs'") != std::string::npos);
        CHECK(r.err.find('\xff') == std::string::npos);
    }
    SUBCASE("rows without a customer, then the customer arrives") {
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (77, '2026-10-30', "
            "900)");
        REQUIRE(mode(shop.run()) == "incremental");
        shop.sql("INSERT INTO customers VALUES (77, 1)");
        const Run r = shop.run();
        CHECK(mode(r) == "full");
        CHECK(r.err.find("matched no customer") != std::string::npos);
        // The full run gave customer 77 the row: their revenue puts them in the top tile.
        const Run exported = run_cli({"export", shop.file, "--db", shop.db, "--state", shop.state});
        CHECK(exported.out.find("77,top") != std::string::npos);
    }
    SUBCASE("rows without a key are nobody's: new customers do not make a full run") {
        // Guest orders (a null or blank key) match no customer now and never will.
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (NULL, '2026-10-30', "
            "900), ('  ', '2026-10-30', 800)");
        Run r = shop.run();
        REQUIRE(mode(r) == "incremental");
        CHECK(json_at(r.out, "$.data_quality.orphan_fact_rows.orders") == "2");
        shop.sql("INSERT INTO customers VALUES (78, 1)");
        r = shop.run();
        CHECK_MESSAGE(mode(r) == "incremental", r.err);
        CHECK(json_at(r.out, "$.incremental.customers_new") == "1");
        CHECK(json_at(r.out, "$.data_quality.orphan_fact_rows.orders") == "2");
        // A row with a key nobody has yet still makes one: the key may be the next customer's.
        shop.sql(
            "INSERT INTO orders (customer_id, order_date, amount) VALUES (79, '2026-10-30', 1)");
        REQUIRE(mode(shop.run()) == "incremental");
        shop.sql("INSERT INTO customers VALUES (80, 1)");
        r = shop.run();
        CHECK(mode(r) == "full");
        CHECK(json_at(r.out, "$.incremental.reason")
                  .find("1 row of orders below the watermark matched no customer at run ") == 0);
        CHECK(json_at(r.out, "$.incremental.reason")
                  .find(", and 1 customer is new: the rows may be theirs") != std::string::npos);
    }
    SUBCASE("a customer who leaves: their rows become rows without a customer") {
        shop.sql("DELETE FROM customers WHERE customer_id = 5");
        const Run r = shop.run();
        CHECK(mode(r) == "incremental");
        CHECK(json_at(r.out, "$.incremental.customers_left") == "1");
        CHECK(json_at(r.out, "$.data_quality.orphan_fact_rows.orders") == "5");
    }
    SUBCASE("one customer's kept state that does not decode") {
        // Blocks that read as blocks (one customer, key 3) whose state bytes are not a state:
        // found only while the rows are added, and then a full run is made instead.
        strata::ByteWriter block;
        block.u64(1);
        block.u128(static_cast<unsigned __int128>(3 << 1) << 1);  // zigzag(3), an integer key
        block.text("\xff\xff\xff");
        SQLite::Database state(shop.state, SQLite::OPEN_READWRITE);
        SQLite::Statement set(state, "UPDATE strata_aggregate_blocks SET states = ?");
        set.bind(1, block.bytes().data(), static_cast<int>(block.bytes().size()));
        set.exec();
        reseal(shop.state);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("the kept aggregate state of customer 3") != std::string::npos);
        CHECK(json_at(r.out, "$.incremental.reason").find("customer 3") != std::string::npos);
        // The full run is the run: the same export as a run without any kept state.
        const Run again = shop.run();
        CHECK(mode(again) == "incremental");
    }
    SUBCASE("kept states that do not decode") {
        SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
            .exec("UPDATE strata_aggregate_blocks SET states = x'05ff'");
        reseal(shop.state);
        const Run r = shop.run();
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(mode(r) == "full");
        CHECK(r.err.find("do not decode") != std::string::npos);
    }
    SUBCASE("kept states damaged or missing since they were stored") {
        // One bit of a state flipped still decodes, to other aggregates: the checksum tells.
        {
            SQLite::Database state(shop.state, SQLite::OPEN_READWRITE);
            std::string bytes =
                state.execAndGet("SELECT states FROM strata_aggregate_blocks").getString();
            REQUIRE(bytes.size() > 40);
            bytes[40] = static_cast<char>(bytes[40] ^ 1);
            SQLite::Statement set(state, "UPDATE strata_aggregate_blocks SET states = ?");
            set.bind(1, bytes.data(), static_cast<int>(bytes.size()));
            set.exec();
        }
        Run r = shop.run();
        check_full_because(
            r,
            "the customers' kept states (table 'strata_aggregate_blocks') are not the ones run "
            "1 stored: their checksum differs");
        // A block deleted: its customers would start again from nothing.
        SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
            .exec("DELETE FROM strata_aggregate_blocks");
        r = shop.run();
        check_full_because(
            r,
            "the customers' kept states (table 'strata_aggregate_blocks') are not the ones run "
            "2 stored: 0 blocks, it stored 1");
        // The table dropped: the same, not a failed run.
        SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
            .exec("DROP TABLE strata_aggregate_blocks");
        r = shop.run();
        check_full_because(
            r,
            "the customers' kept states (table 'strata_aggregate_blocks') are not the ones run "
            "3 stored: 0 blocks, it stored 1");
        CHECK(mode(shop.run()) == "incremental");
    }
    SUBCASE("a kept state stored in another layout says so") {
        SQLite::Database(shop.state, SQLite::OPEN_READWRITE)
            .exec("UPDATE strata_aggregate_state SET layout = 2");
        const Run r = shop.run();
        check_full_because(
            r,
            "the aggregate state kept for ruleset 'shop' by run 1 (table "
            "'strata_aggregate_state') is in layout 2, this strata reads 5 (another version of "
            "strata stored it)");
    }
}

TEST_CASE("incremental: rows at either end of the 64-bit rowids are read, once") {
    Shop shop;
    // Customer 1's order at the lowest rowid makes them the top customer.
    shop.sql(
        "INSERT INTO orders (order_id, customer_id, order_date, amount) VALUES "
        "(-9223372036854775808, 1, '2026-01-01', 100000)");
    auto segment_of_1 = [&] {
        const Run exported = run_cli({"export", shop.file, "--db", shop.db, "--state", shop.state,
                                      "--raw", "--columns", "key,segment"});
        REQUIRE_MESSAGE(exported.code == 0, exported.err);
        const size_t at = exported.out.find("\n1,");
        REQUIRE(at != std::string::npos);
        return exported.out.substr(at + 3, exported.out.find('\n', at + 1) - at - 3);
    };
    const Run first = shop.run();
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(json_at(first.out, "$.incremental.facts[0].rows_read") == "201");
    CHECK(segment_of_1() == "top");
    // The next run counts the same rows at or below the watermark: no full run for it.
    shop.sql(
        "INSERT INTO orders (order_id, customer_id, order_date, amount) VALUES "
        "(9223372036854775807, 2, '2026-10-30', 200000)");
    const Run second = shop.run();
    REQUIRE_MESSAGE(second.code == 0, second.err);
    CHECK(mode(second) == "incremental");
    CHECK(json_at(second.out, "$.incremental.facts[0].rows_read") == "1");
    CHECK(segment_of_1() == "top");
    // A plain run of the watched base reads them too.
    const Run plain = run_cli({"run", shop.file, "--db", shop.db, "--state", shop.state});
    REQUIRE_MESSAGE(plain.code == 0, plain.err);
    CHECK(segment_of_1() == "top");
    const Run third = shop.run();
    CHECK(mode(third) == "incremental");
    CHECK(json_at(third.out, "$.incremental.facts[0].rows_read") == "0");
}
