// What the tests of strata eval share: a small shop and a rule file of tiers with triggers, and one
// customer's segment and move as eval gives them.
#pragma once

#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>
#include <unistd.h>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>
#include "cli/common.hpp"
#include "engine/run_state.hpp"
#include "include/strata/strata.hpp"
#include "test_support.hpp"

namespace strata::testing::eval_fixture {

inline const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO customers VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f');
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, day DATE, amount REAL);
INSERT INTO orders (customer_id, day, amount) VALUES (1, '2026-09-01', 10), (2, '2026-09-02', 20),
  (3, '2026-09-03', 300), (3, '2026-09-04', 300), (4, '2026-09-05', 40), (5, '2026-09-06', 50),
  (6, '2026-09-07', 600);
)sql";

inline std::string tiers(int top = 500) {
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
inline std::string segment_and_transition(const std::string& rules, const std::string& db,
                                          const std::string& state, const char* key, bool apply) {
    std::vector<std::string> args{"eval", rules,        "--db", db,         "--state",
                                  state,  "--customer", key,    "--format", "json"};
    if (apply) args.push_back("--apply");
    const Run r = run_cli(args);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return json_at(r.out, "$.segment") + " " + json_at(r.out, "$.transition");
}

}  // namespace strata::testing::eval_fixture
