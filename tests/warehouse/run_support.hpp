// What the tests of runs inside the warehouses share: the parts of a run's report both
// backends must agree on, a change to a generated base, a rule file with every kind of
// trigger event, and the outbox rows of a SQLite or PostgreSQL state as text.
#pragma once

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <random>
#include <string>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::warehouse::testing {

using strata::testing::Gen;
using strata::testing::json_at;
using strata::testing::Run;
using strata::testing::run_cli;
using strata::testing::TempDir;

// The parts of a run's JSON document that both backends must agree on.
inline std::string comparable(const std::string& doc) {
    std::string out;
    for (const char* path :
         {"$.ruleset", "$.customers", "$.value_total", "$.segments", "$.transitions.cause",
          "$.transitions.moved", "$.transitions.new", "$.transitions.left",
          "$.transitions.tactical_entered", "$.transitions.tactical_left", "$.transitions.matrix"})
        out += std::string(path) + " = " + json_at(doc, path) + "\n";
    return out;
}

// Customers leave, join, and buy more: the same change on both copies of the base.
inline constexpr const char* kChange = R"(
DELETE FROM customers WHERE customer_id % 5 = 1;
INSERT INTO customers (customer_id, tier, score, credit, opt_in, signup)
  SELECT customer_id + 100000, tier, score, credit, opt_in, signup FROM customers
  WHERE customer_id % 3 = 0;
UPDATE customers SET score = coalesce(score, 0) + 7, tier = 'gold' WHERE customer_id % 4 = 2;
INSERT INTO orders (customer_id, order_date, amount, items, category)
  SELECT customer_id, '2026-10-30', 120.5, 2, 'books' FROM customers WHERE customer_id % 2 = 0;
)";

// A later change: customers leave, gold customers lose the tier and others gain it, and
// a third buy more.
inline constexpr const char* kLater = R"(
DELETE FROM customers WHERE customer_id % 7 = 3;
UPDATE customers SET tier = CASE WHEN tier = 'gold' THEN NULL ELSE 'gold' END
  WHERE customer_id % 3 = 1;
INSERT INTO orders (customer_id, order_date, amount, items, category)
  SELECT customer_id, '2026-10-25', 75.25, 1, 'toys' FROM customers WHERE customer_id % 3 = 2;
)";

// Value totals at the edges (engine/exact_sum.hpp): a: 1 between 1e18 and -1e18, which doubles
// added in key order lose; b: tenths that add up to 0 exactly; c: two values of 9e18 (near the
// end of ClickHouse's 64-bit integer parts), or with `out_of_range` one of 1e308 too, which
// has no exact units; d: 1000000.004999999, whose units have 16 digits (a double cast to
// numeric keeps 15, which would give 1000000.005, written 1000000.01); rest: no value.
inline std::string value_totals_base(bool out_of_range) {
    return std::string(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, spend REAL);
INSERT INTO customers VALUES (1, 'a', 1e18), (2, 'a', 1), (3, 'a', -1e18), (4, 'a', -2.675),
  (5, 'b', 0.1), (6, 'b', 0.2), (7, 'b', -0.3), (8, 'c', 9e18), (9, 'c', 9e18), (10, 'r', NULL),
  (12, 'd', 1000000.004999999);
CREATE TABLE orders (customer_id INTEGER, order_date DATE);
)sql") + (out_of_range ? "INSERT INTO customers VALUES (11, 'c', 1e308);" : "");
}
inline constexpr const char* kValueTotalsRules = R"(ruleset: totals
version: 1
value: spend
general:
  segments:
    - id: a
      when: plan == 'a'
    - id: b
      when: plan == 'b'
      tactical:
        - id: small
          when: spend < 0.15
    - id: c
      when: plan == 'c'
    - id: d
      when: plan == 'd'
    - id: rest
      when: otherwise
)";

// A segment that holds its customers for a while after they drop out, through the stored state
// (previous_segment, segment_since, days_in_segment), over the generated bases.
inline const std::string kStickyRules = R"(ruleset: sticky
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
general:
  segments:
    - id: gold
      when: tier == 'gold' or (previous_segment == 'gold' and days_in_segment < 200)
      tactical:
        - id: kept
          when: tier is null or tier != 'gold'
        - id: since_spring
          when: segment_since <= 2026-04-30
    - id: spenders
      when: revenue > 100 or previous_segment == 'spenders'
      tactical:
        - id: fresh
          when: previous_segment is null
    - id: rest
      when: otherwise
      tactical:
        - id: fell
          when: previous_segment in ['gold', 'spenders']
        - id: long_here
          when: days_in_segment >= 150
)";

// Every kind of event, a frequency cap, cooldowns, a holdout, `when`, and templates of every
// type, over the generated bases of tests/sql_generator.hpp.
inline const std::string kFiringRules = R"(ruleset: firing
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  n_orders: count(orders)
  last_order: max(orders.order_date)
general:
  segments:
    - id: buyers
      when: n_orders >= 2
      tactical:
        - id: big
          when: revenue > 100
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
frequency_cap: 2 per 30d
triggers:
  - id: stay_gold
    on: in gold
    priority: 2
    cooldown: 15d
    actions:
      - email: { template: "gold {{customer_id}} {{score}} {{credit}} {{opt_in}} {{signup}} {{revenue}}" }
  - id: big_in
    on: in big
    when: revenue > 150
    holdout: 50%
    actions:
      - tag: { name: "big {{last_order}} {{n_orders * 2}}" }
  - id: new_buyer
    on: enter buyers
    priority: 1
    actions:
      - task: { text: "{{n_orders}} orders, tier {{tier}}" }
      - sms: { to: "{{customer_id}}" }
  - id: leaves
    on: move buyers -> any
    actions:
      - webhook: { body: "{{coalesce(tier, 'none')}} {{revenue / n_orders}}" }
  - id: gone
    on: exit gold
    when: score > 0 or score is null
    actions:
      - email: { template: bye }
  - id: newcomer
    on: move none -> rest
    actions:
      - email: { template: "hello {{as_of}}" }
)";

// The sticky rules (kStickyRules) run three times on the embedded engine and on a server made
// by `make_server` (a RunDatabase or a ClusterDatabase), with changes to the base in between:
// the runs and exports must agree, the hysteresis must have held some customers in gold and let
// others go, and `explain` and `diff` there must read the same stored state as on SQLite,
// on a base without any stored run too.
template <class MakeServer>
void check_stored_state(const MakeServer& make_server) {
    Gen gen{std::mt19937(77), true};
    TempDir dir;
    const std::string base = dir.database("base.db", gen.base_sql());
    const std::string rules = dir.write("sticky.yaml", kStickyRules);
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    auto server = make_server();
    server.load(base);
    int kept = 0;
    // Before the third run, gold customers lose the tier: one who entered gold at the second
    // run is kept (61 days), one in gold since the first is not (215 days).
    const std::string later =
        std::string(kLater) + "UPDATE customers SET tier = NULL WHERE customer_id % 3 = 2;";
    const char* changes[] = {kChange, later.c_str(), ""};
    int step = 0;
    for (const char* as_of : {"2026-03-31", "2026-09-01", "2026-11-01"}) {
        CAPTURE(as_of);
        const Run lite =
            run_cli({"run", rules, "--db", embedded, "--as-of", as_of, "--format", "json"});
        const Run there =
            run_cli({"run", rules, "--db", server.url, "--as-of", as_of, "--format", "json"});
        INFO(lite.err, there.err);
        REQUIRE(lite.code == 0);
        REQUIRE(there.code == 0);
        CHECK(comparable(there.out) == comparable(lite.out));
        const Run lite_rows = run_cli({"export", rules, "--db", embedded});
        const Run rows_there = run_cli({"export", rules, "--db", server.url});
        REQUIRE(rows_there.code == 0);
        CHECK(rows_there.out == lite_rows.out);
        if (lite_rows.out.find("kept") != std::string::npos) ++kept;
        {
            SQLite::Database changed(embedded, SQLite::OPEN_READWRITE);
            changed.exec(changes[step]);
            SQLite::Database source(base, SQLite::OPEN_READWRITE);
            source.exec(changes[step]);
        }
        ++step;
        server.load(base);
    }
    // The last day again on the same data: previous_segment and the like read the placement
    // the day began with, not the day's first run's, so nobody moves, in or out of a segment or
    // a tactical one, on either.
    {
        const Run lite =
            run_cli({"run", rules, "--db", embedded, "--as-of", "2026-11-01", "--format", "json"});
        const Run there = run_cli(
            {"run", rules, "--db", server.url, "--as-of", "2026-11-01", "--format", "json"});
        INFO(lite.err, there.err);
        REQUIRE(lite.code == 0);
        REQUIRE(there.code == 0);
        CHECK(comparable(there.out) == comparable(lite.out));
        for (const Run* r : {&lite, &there}) {
            CHECK(json_at(r->out, "$.transitions.moved") == "0");
            CHECK(json_at(r->out, "$.transitions.tactical_entered") == "0");
            CHECK(json_at(r->out, "$.transitions.tactical_left") == "0");
        }
        CHECK(run_cli({"export", rules, "--db", server.url}).out ==
              run_cli({"export", rules, "--db", embedded}).out);
    }
    // The hysteresis held some customers in gold after they lost the tier, and let others go.
    CHECK(kept >= 1);
    const Run last = run_cli({"export", rules, "--db", embedded});
    CHECK(last.out.find("gold,kept") != std::string::npos);
    CHECK(last.out.find("\n8,") != std::string::npos);  // in gold since the first run: let go
    CHECK(last.out.find("\n8,gold") == std::string::npos);
    // explain and diff read the same stored state inside the server.
    // On a day of its own, and on the stored runs' last day (whose runs do not feed it), for
    // two customers and the first few in the base.
    std::vector<std::string> customers{"2", "8"};
    for (size_t at = last.out.find('\n'); at != std::string::npos && customers.size() < 8;
         at = last.out.find('\n', at + 1))
        if (at + 1 < last.out.size())
            customers.push_back(last.out.substr(at + 1, last.out.find(',', at) - at - 1));
    for (const char* as_of : {"2026-11-20", "2026-11-01"})
        for (const std::string& customer : customers) {
            CAPTURE(customer);
            CAPTURE(as_of);
            const Run lite = run_cli({"explain", rules, "--db", embedded, "--customer", customer,
                                      "--as-of", as_of, "--format", "json"});
            const Run there = run_cli({"explain", rules, "--db", server.url, "--customer", customer,
                                       "--as-of", as_of, "--format", "json"});
            INFO(lite.err, there.err);
            REQUIRE(there.code == 0);
            for (const char* path : {"$.segment", "$.tactical", "$.tried[0]"})
                CHECK(json_at(there.out, path) == json_at(lite.out, path));
        }
    std::string v2_text = kStickyRules;
    v2_text.replace(v2_text.find("version: 1"), 10, "version: 2");
    v2_text.replace(v2_text.find("days_in_segment < 200"), 21, "days_in_segment < 30");
    const std::string v2 = dir.write("sticky-v2.yaml", v2_text);
    auto diff_doc = [&](const std::string& db) {
        const Run r =
            run_cli({"diff", rules, v2, "--db", db, "--as-of", "2026-11-20", "--format", "json"});
        INFO(r.err);
        CHECK(r.code == 0);
        return json_at(r.out, "$.matrix") + json_at(r.out, "$.tactical");
    };
    CHECK(diff_doc(server.url) == diff_doc(embedded));
    // A base without any stored run: every customer is new to the ruleset, on both.
    auto fresh = make_server();
    fresh.load(base);
    const std::string fresh_lite = dir.file("fresh.db");
    std::filesystem::copy_file(base, fresh_lite);
    CHECK(diff_doc(fresh.url) == diff_doc(fresh_lite));
}

// The outbox rows, as both stores hold them, in idempotency-key order.
inline std::string sqlite_outbox(const std::string& path) {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT idempotency_key, ruleset, version, trigger_id, customer_key, "
                        "action, type, payload, run_id, as_of, status FROM strata_outbox "
                        "ORDER BY idempotency_key");
    std::string out;
    while (q.executeStep()) {
        for (int c = 0; c < 11; ++c)
            out += q.getColumn(c).getString() + (c < 10 ? "|" : "\n");
    }
    return out;
}

inline std::string postgres_outbox(PostgresConnection& db) {
    auto rows = db.exec(
        "SELECT idempotency_key, ruleset, version, trigger_id, customer_key, action, type, "
        "payload, run_id, as_of, status FROM strata_outbox ORDER BY idempotency_key COLLATE \"C\"");
    if (!rows) FAIL(rows.error().describe());
    std::string out;
    for (const auto& row : rows.value().rows) {
        for (size_t c = 0; c < row.size(); ++c)
            out += row[c].value_or("") + (c + 1 < row.size() ? "|" : "\n");
    }
    return out;
}

}  // namespace strata::warehouse::testing
