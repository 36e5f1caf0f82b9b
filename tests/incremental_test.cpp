// Incremental runs against full runs (docs/incremental.md): random rule files (every aggregate
// and population function, a state column, triggers) over random histories (new facts, changed
// customers, new and departed customers, facts without a customer, a moving as_of, a changed
// old row, customers that source.since leaves out and lets in). Two copies of the same base go
// through the same history; one is run with
// --incremental, the other in full, and after every step the two must agree byte for byte:
// membership (export), stays, outbox rows and data quality.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kSchema = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT, opt_in BOOLEAN, signup DATE);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE,
                     amount REAL, category TEXT, items INTEGER);
)";

struct Let {
    std::string name, expr;
    char kind;  // n number, d date, r rfm record, c class text
};

// Aggregates first (some depend on as_of), then population functions over them.
const std::vector<Let> kAggregates = {
    {"n_orders", "count(orders)", 'n'},
    {"revenue", "sum(orders.amount)", 'n'},
    {"avg_amount", "avg(orders.amount)", 'n'},
    {"last_order", "max(orders.order_date)", 'd'},
    {"first_order", "min(orders.order_date)", 'd'},
    {"big_orders", "count(orders where amount >= 100)", 'n'},
    {"categories", "count_distinct(orders.category)", 'n'},
    {"ab_spend", "sum(orders.amount where category in ['a', 'b'])", 'n'},
    {"largest", "max(orders.amount)", 'n'},
    {"items", "sum(orders.items)", 'n'},
    {"first_category", "min(orders.category)", 'c'},
    {"recent", "count(orders where order_date > as_of - 30d)", 'n'},
    {"variation", "cv(orders.amount, per: month, over: 6mo)", 'n'},
};

std::string rule_file(std::mt19937& rng, int index) {
    auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    std::vector<Let> lets;
    // Always the RFM inputs, and a random half of the other aggregates.
    for (const Let& a : kAggregates) {
        const bool needed = a.name == "n_orders" || a.name == "revenue" || a.name == "last_order";
        if (needed || pick(2) == 0) lets.push_back(a);
    }
    std::vector<std::string> conditions;
    for (const Let& l : lets) {
        if (l.kind == 'n') conditions.push_back(l.name + " >= " + std::to_string(pick(4) * 50));
        if (l.kind == 'd')
            conditions.push_back(l.name + " > as_of - " + std::to_string(30 + pick(300)) + "d");
        if (l.kind == 'c') conditions.push_back(l.name + " == 'b'");
    }
    const int population = pick(4);
    std::string text =
        "ruleset: inc" + std::to_string(index) +
        "\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
        "  facts:\n    orders: { table: orders, key: customer_id, time: order_date }\n";
    // Every other file leaves out the customers who signed up after as_of, and their rows.
    if (index % 2 == 0) text += "  since: signup\n";
    text += "let:\n";
    for (const Let& l : lets)
        text += "  " + l.name + ": " + l.expr + "\n";
    text +=
        "  tile: ntile(revenue, 4)\n  score: rfm(recency: last_order, frequency: n_orders, "
        "monetary: revenue, bins: 3)\n";
    const bool has_variation =
        std::any_of(lets.begin(), lets.end(), [](const Let& l) { return l.name == "variation"; });
    if (has_variation) {
        text += "  steadiness: xyz(variation, x: 0.5, y: 1)\n";
        conditions.push_back("steadiness == 'X'");
    }
    if (population == 1) text += "  rank: percent_rank(n_orders)\n";
    if (population == 2) text += "  class: abc(revenue)\n";
    text += "general:\n  policy: first_match\n  segments:\n";
    text += "    - id: empty\n      when: n_orders == 0\n";
    text += "    - id: best\n      when: score.r >= 3 and tile == 4\n";
    if (population == 1) text += "    - id: frequent\n      when: rank >= 0.8\n";
    if (population == 2) text += "    - id: class_a\n      when: class == 'A'\n";
    text += "    - id: middle\n      when: " +
            conditions[static_cast<size_t>(pick(static_cast<int>(conditions.size())))] + "\n";
    text += "      tactical:\n        - id: reachable\n          when: opt_in\n";
    text += "    - id: rest\n      when: otherwise\n      tactical:\n";
    text += "        - id: was_best\n          when: previous_segment == 'best'\n";
    text += "        - id: cond\n          when: " +
            conditions[static_cast<size_t>(pick(static_cast<int>(conditions.size())))] + "\n";
    text +=
        "triggers:\n  - id: to_best\n    on: enter best\n    actions:\n"
        "      - email: { template: welcome }\n"
        "  - id: from_best\n    on: exit best\n    actions:\n      - tag: { name: fell }\n";
    return text;
}

// The same change, applied to both copies.
struct History {
    std::mt19937 rng;
    int64_t next_customer = 1;
    std::string as_of = "2026-06-01";
    int day = 0;

    int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }

    std::string date_before(int within_days, int ahead = 0) {
        // Days counted from 2026-06-01 plus the history's days, some after as_of.
        const int offset = day + ahead - pick(within_days);
        char buf[64];
        std::snprintf(buf, sizeof buf, "date('2026-06-01', '%+d days')", offset);
        return buf;
    }

    std::string orders_for(int64_t customer, int count) {
        std::string sql;
        const char* categories[] = {"'a'", "'b'", "'c'", "'d'", "NULL"};
        for (int i = 0; i < count; ++i) {
            const std::string amount = pick(15) == 0 ? "NULL" : std::to_string(pick(30000) / 100.0);
            const std::string when =
                pick(30) == 0 ? "NULL" : date_before(500, pick(8) == 0 ? 5 : 0);
            sql +=
                "INSERT INTO orders (customer_id, order_date, amount, category, items) VALUES (" +
                std::to_string(customer) + ", " + when + ", " + amount + ", " +
                categories[pick(5)] + ", " + std::to_string(pick(4)) + ");\n";
        }
        return sql;
    }

    std::string new_customers(int count) {
        std::string sql;
        const char* tiers[] = {"'gold'", "'silver'", "NULL"};
        for (int i = 0; i < count; ++i) {
            const int64_t id = next_customer++;
            sql += "INSERT INTO customers VALUES (" + std::to_string(id) + ", " + tiers[pick(3)] +
                   ", " + std::to_string(pick(2)) + ", " +
                   (pick(12) == 0 ? date_before(10, 12) : date_before(400)) + ");\n";
            sql += orders_for(id, pick(6));
        }
        return sql;
    }

    // One step of history; `what` says which kinds of change it made.
    std::string step(std::string& what) {
        std::string sql;
        const int64_t known = next_customer - 1;
        for (int i = 0, n = 5 + pick(20); i < n; ++i)
            sql += orders_for(1 + pick(static_cast<int>(known)), 1);
        what = "orders";
        if (pick(2) == 0) {
            sql += "UPDATE customers SET opt_in = 1 - opt_in WHERE customer_id % " +
                   std::to_string(3 + pick(7)) + " = 0;\n";
            what += ", customers changed";
        }
        if (pick(3) == 0) {
            sql += new_customers(1 + pick(4));
            what += ", new customers";
        }
        if (pick(6) == 0) {
            sql += "DELETE FROM customers WHERE customer_id = " +
                   std::to_string(1 + pick(static_cast<int>(known))) + ";\n";
            what += ", a customer left";
        }
        if (pick(8) == 0) {  // facts of a customer who is not (yet) in the base
            sql += orders_for(next_customer, 2);
            what += ", orphan orders";
        }
        if (pick(9) == 0) {  // signed up later (after as_of, for a while), or earlier
            sql += "UPDATE customers SET signup = " + date_before(20, 10 * pick(3)) +
                   " WHERE customer_id % " + std::to_string(5 + pick(9)) + " = " +
                   std::to_string(pick(5)) + ";\n";
            what += ", signups moved";
        }
        if (pick(10) == 0) {
            sql += "UPDATE orders SET amount = 1 WHERE order_id = " + std::to_string(1 + pick(20)) +
                   ";\n";
            what += ", an old order changed";
        }
        if (pick(4) == 0) {
            day += 1 + pick(20);
            what += ", as_of moved";
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%d", day);
        SQLite::Database db(":memory:");
        as_of = db.execAndGet("SELECT date('2026-06-01', '+" + std::string(buf) + " days')")
                    .getString();
        return sql;
    }
};

std::string table_dump(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path);
    SQLite::Statement q(db, sql);
    std::string out;
    while (q.executeStep()) {
        for (int c = 0; c < q.getColumnCount(); ++c)
            out += q.getColumn(c).getString() + (c + 1 < q.getColumnCount() ? "|" : "\n");
    }
    return out;
}

}  // namespace

TEST_CASE("incremental runs give the full runs' membership, stays, outbox and data quality") {
    int incremental_steps = 0, steps = 0;
    for (int seed = 1; seed <= 12; ++seed) {
        std::mt19937 rng(static_cast<unsigned>(seed));
        TempDir dir;
        const std::string rules = dir.write("rules.yaml", rule_file(rng, seed));
        const std::string inc_db = dir.database("inc.db", kSchema);
        const std::string full_db = dir.database("full.db", kSchema);
        History history{std::mt19937(static_cast<unsigned>(seed * 7919))};
        const std::string first = history.new_customers(60);
        for (const auto& db : {inc_db, full_db})
            SQLite::Database(db, SQLite::OPEN_READWRITE).exec("BEGIN;" + first + "COMMIT;");
        const std::string inc_state = dir.file("inc-state.db");
        const std::string full_state = dir.file("full-state.db");
        for (int step = 0; step < 10; ++step) {
            std::string what = "the first run";
            if (step > 0) {
                const std::string sql = history.step(what);
                for (const auto& db : {inc_db, full_db})
                    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("BEGIN;" + sql + "COMMIT;");
            }
            CAPTURE(seed);
            CAPTURE(step);
            CAPTURE(what);
            const Run inc =
                run_cli({"run", rules, "--db", inc_db, "--state", inc_state, "--as-of",
                         history.as_of, "--incremental", "--fire-initial", "--format", "json"});
            const Run full =
                run_cli({"run", rules, "--db", full_db, "--state", full_state, "--as-of",
                         history.as_of, "--fire-initial", "--format", "json"});
            REQUIRE_MESSAGE(inc.code == 0, inc.err);
            REQUIRE_MESSAGE(full.code == 0, full.err);
            ++steps;
            if (json_at(inc.out, "$.incremental.mode") == "incremental") ++incremental_steps;
            if (step > 0 && what.find("changed") != std::string::npos &&
                what.find("old order") != std::string::npos)
                CHECK(json_at(inc.out, "$.incremental.mode") == "full");
            CHECK(json_at(inc.out, "$.segments") == json_at(full.out, "$.segments"));
            CHECK(json_at(inc.out, "$.data_quality") == json_at(full.out, "$.data_quality"));
            CHECK(json_at(inc.out, "$.transitions") == json_at(full.out, "$.transitions"));
            CHECK(json_at(inc.out, "$.populations") == json_at(full.out, "$.populations"));
            const Run inc_export =
                run_cli({"export", rules, "--db", inc_db, "--state", inc_state, "--format", "csv"});
            const Run full_export = run_cli(
                {"export", rules, "--db", full_db, "--state", full_state, "--format", "csv"});
            CHECK(inc_export.out == full_export.out);
            const char* stays =
                "SELECT * FROM strata_stays ORDER BY ruleset, exited_run, customer_key, level, "
                "segment, entered_run";
            CHECK(table_dump(inc_state, stays) == table_dump(full_state, stays));
            const char* outbox =
                "SELECT idempotency_key, trigger_id, customer_key, action, type, payload, run_id, "
                "as_of, status FROM strata_outbox ORDER BY idempotency_key";
            CHECK(table_dump(inc_state, outbox) == table_dump(full_state, outbox));
        }
    }
    // Most steps must really have been incremental, or the comparison shows little.
    MESSAGE("incremental steps: " << incremental_steps << " of " << steps);
    CHECK(incremental_steps * 2 >= steps);
}
