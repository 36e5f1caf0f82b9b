// What the tests of strata run --incremental share: a shop whose orders are watched, its rule file,
// and the changes that make a run a full one.
#pragma once

#include <doctest/doctest.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include "engine/bytes.hpp"
#include "engine/population.hpp"
#include "engine/population_codec.hpp"
#include "engine/run_state.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

namespace strata::testing::incremental_fixture {

inline const char* kBase = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, opt_in BOOLEAN);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE,
                     amount REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO customers SELECT i, i % 2 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO orders (customer_id, order_date, amount)
  SELECT 1 + i % 40, date('2026-10-01', '-' || (i * 3) || ' days'), i * 1.25 FROM n;
)";

inline std::string rules(const std::string& extra_let = "", int version = 1) {
    return "ruleset: shop\nversion: " + std::to_string(version) +
           "\nas_of: 2026-11-01\nsource:\n  customers: customers\n  key: customer_id\n"
           "  facts:\n    orders: { table: orders, key: customer_id, time: order_date }\n"
           "let:\n  n_orders: count(orders)\n  revenue: sum(orders.amount)\n"
           "  tile: ntile(revenue, 3)\n" +
           extra_let +
           "general:\n  policy: first_match\n  segments:\n"
           "    - id: top\n      when: tile == 3\n    - id: rest\n      when: otherwise\n";
}

struct Shop {
    TempDir dir;
    std::string db = dir.database("shop.db", kBase);
    std::string state = dir.file("state.db");
    std::string file = dir.write("shop.yaml", rules());

    Run run(std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"run",           file,       "--db", db, "--state", state,
                                      "--incremental", "--format", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    }
    void sql(const std::string& text) const {
        SQLite::Database(db, SQLite::OPEN_READWRITE).exec(text);
    }
};

inline std::string mode(const Run& r) {
    return json_at(r.out, "$.incremental.mode");
}

// A run that was a full one instead, for exactly `reason`.
inline void check_full_because(const Run& r, const std::string& reason) {
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(mode(r) == "full");
    CHECK(json_at(r.out, "$.incremental.reason") == reason);
}

// Makes the kept state's block count and checksum those of its blocks as they are now: for
// the tests of blocks that pass those checks and still do not decode.
inline void reseal(const std::string& state_path) {
    SQLite::Database db(state_path, SQLite::OPEN_READWRITE);
    std::string unusable;
    std::optional<strata::KeptState> kept = strata::load_kept_state(db, "shop", unusable);
    REQUIRE_MESSAGE(kept, unusable);
    const std::vector<std::string> blocks = strata::load_aggregate_blocks(db, "shop");
    kept->blocks = blocks.size();
    kept->blocks_checksum = strata::blocks_checksum(blocks);
    strata::store_kept_state(db, "shop", *kept);
}

// A run, a backup of the customer database, another run after one more order, then the
// backup restored and another order added to it: the copy is older than the kept state, and
// its new row took the rowid of the row the kept state read last.
inline void restore_an_older_copy(const Shop& shop) {
    REQUIRE(shop.run().code == 0);
    const std::string copy = shop.dir.file("copy.db");
    SQLite::Database(shop.db).backup(copy.c_str(), SQLite::Database::Save);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (3, '2026-10-30', 500)");
    REQUIRE(shop.run().code == 0);
    SQLite::Database(copy).backup(shop.db.c_str(), SQLite::Database::Save);
    shop.sql("INSERT INTO orders (customer_id, order_date, amount) VALUES (9, '2026-10-30', 900)");
}

// A stored run of another ruleset over the same orders: it raises the shared watch.
inline void run_another_ruleset(const Shop& shop) {
    std::string other = rules();
    other.replace(other.find("ruleset: shop"), 13, "ruleset: other");
    const Run raised = run_cli(
        {"run", shop.dir.write("other.yaml", other), "--db", shop.db, "--state", shop.state});
    REQUIRE_MESSAGE(raised.code == 0, raised.err);
}

}  // namespace strata::testing::incremental_fixture
