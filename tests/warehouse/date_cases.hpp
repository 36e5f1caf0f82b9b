// Dates moved by months more than once, and by durations chosen per customer, for the
// warehouse dialects' fixed cases: each move keeps the day or takes its month's last, so a
// query that folds two moves into one, loses a day between them, or takes the other branch of
// an if() places some of these customers elsewhere than the engine. Moves before the year 1
// count months below zero, where the year rounds down.
#pragma once

namespace strata::warehouse::testing {

inline const char* kMovedTwiceSql = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signup DATE);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE);
INSERT INTO customers VALUES (1, '2024-01-31'), (2, '2024-02-29'), (3, '2023-12-31'),
  (4, '2025-01-30'), (5, '2020-02-29'), (6, NULL), (7, '2024-03-31'), (8, '1999-11-30');
)";

inline const char* kMovedTwiceRules = R"(ruleset: moved_twice
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  grace: if(signup > 2024-02-01, 1y, 3d)
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - id: month_then_year
          when: signup + 1mo + 1y == 2025-02-28
        - id: days_between_moves
          when: signup + 1mo + 3d + 1y == 2025-03-03
        - id: year_of_moved
          when: year(signup - 1mo + 1y) == 2024
        - id: month_of_moved
          when: month(signup + 1mo + 1mo) == 4
        - id: back_and_forth
          when: signup - 1y + 1mo < 2023-03-01
        - id: ordered
          when: signup + 1mo + 1y > as_of - 1y - 2mo
        - id: chosen_after_move
          when: signup + 1mo + grace > 2025-03-01
        - id: chosen_or_null
          when: signup - coalesce(if(signup < 2024-01-01, 1mo, null), 2d + 1mo) < 2024-01-28
        - id: before_year_one
          when: year(signup - 2030y) == -6 and month(signup - 2030y - 1mo) == 12
        - id: leap_before_year_one
          when: days_between(signup - 2028y, signup - 2028y + 1mo) == 29
        - id: round_trip_before_year_one
          when: signup - 2030y + 2030y == signup
)";

}  // namespace strata::warehouse::testing
