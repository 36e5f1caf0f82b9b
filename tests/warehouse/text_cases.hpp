// Texts read through source.types, for the warehouse dialects' fixed cases: a base whose
// customers hold one edge spelling each of an integer, a number, a boolean, a date and a
// datetime in text columns, and rules whose tactical segments show how each was read. Every
// dialect must place the customers as the engine does (engine/value.cpp parse_value).
#pragma once

#include <iterator>
#include <string>

namespace strata::warehouse::testing {

// `numbers`: the number texts, or ones ClickHouse makes in one correctly rounded step.
inline std::string text_cases_sql(bool hard_numbers) {
    const char* rows[][5] = {
        // n (integer), x (number), vip (bool), signup (date), seen (datetime)
        {"'12'", "'5e-324'", "'yes'", "'2024-02-29'", "'2024-02-29 10:00:00'"},
        {"'12.0'", "'2.4703282292062328e-324'", "'no'", "'2024-02-30'", "'2024-02-29T10:00'"},
        {"'1e3'", "'2.4703282292062327e-324'", "'да'", "'2024-2-9'", "'2024-02-29T10:00Z'"},
        {"'x'", "'1e-310'", "'true'", "'junk'", "'2024-02-29 24:00'"},
        {"' 7 '", "'-0.0'", "'2'", "NULL", "'2024-02-29 10:00:00.5'"},
        {"'+12'", "'1.7976931348623158e308'", "'ДА'", "'2024-02-29T10:00Z'",
         "'2024-02-29 10:00:00.'"},
        {"'012'",
         "'1."
         "79769313486231580793728971405303415079934132710037826936173778980444968292764750946649"
         "01798e308'",
         "'Нет'", "'2024-02-29 10:00:00.5'", "' 2024-02-29 '"},
        {"'1.5e1'",
         "'1."
         "79769313486231580793728971405303415079934132710037826936173778980444968292764750946649"
         "0179775872070963302864166928879109465555478519404026306574886715058206819089020007083836"
         "762738548458177115317644757302700698555713669596228429148198608349364752927190741684443"
         "655107043427115596995080930428801779041744977920e308'",
         "'N'", "' 2024-02-29 '", "'0000-01-01 00:00'"},
        {"'0e99999999'", "'-1e-400'", "'y'", "'0000-01-01'", "'2024-02-29 10:60'"},
        {"'-9223372036854775808'", "'.5'", "'no'", "'2024-01-01T10:00:00.'", "'2024-02-29 9:00'"},
        {"'9223372036854775808'", "'5.'", "'yes'", "'9999-12-31'", "'9999-12-31T23:59:59Z'"},
        {"'1e18'", "'+1e0'", "'1'", "'1969-12-31'", "'1969-12-31 23:59:59'"},
        {"'1e19'", "'1e'", "'0'", "'1970-01-01'", "'1970-01-01'"},
        {"'.5'", "'1e-325'", "'0'", "'2026-11-26'", "'2026-11-26 00:00:01'"},
        {"'00000000000000000000000000000012e-1'",
         "'0.000000000000000000000000000000000000000012345e+40'", "NULL", "'2026-11-27'", "NULL"},
        {"'-0'", "'1e99999999999999'", "NULL", "'2024-02-29Z'", "'2024-02-29 10:00:00Z'"},
        {"'5e-0'", "'1e-99999999999999'", "'  yes  '", "'2024-02-29 10:00'", "'2024-02-2910:00'"},
        {"'-12'", "'0.10000000000000001'", "'No'", "'2024-12-31'", "'2024-12-31 23:59:59'"},
        {"'12e0'", "'33.333333333333336'", "'нет'", "'2025-01-01'", "'2025-01-01T00:00:00Z'"},
        {"'1200e-2'", "'0.30000000000000004'", "'YES'", "'2025-03-01'", "'2025-03-01 00:00'"},
    };
    const char* easy[] = {
        "'12.5'", "'+5'", "'.5'", "'5.'", "' 2.5 '", "'1e3'", "'-0.0'", "'0.1e-2'", "'1e400'",
        "'-1e-400'", "'12.5e-1'", "'--1'", "'123456789012345e-20'", "'7e30'", "'999999999999999e7'",
        "'1e23'", "'0.000000000000000000001'",
        // Shortest decimals of doubles that no one step makes.
        "'33.333333333333336'", "'-0.30000000000000004'", "'0.14285714285714285'"};
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, n TEXT, x TEXT, vip TEXT, "
        "signup TEXT, seen TEXT);\n"
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date "
        "TEXT, amount TEXT);\n";
    // Orders whose time and amount are texts too: a time that does not read is unknown (the row
    // counts in no aggregate), an amount that does not read is null.
    const char* orders[][3] = {{"1", "'2026-11-01'", "'12.5'"},
                               {"1", "' 2026-11-02T10:00Z '", "'+5'"},
                               {"2", "'2026-02-30'", "'5'"},
                               {"2", "'2026-11-03'", "'x'"},
                               {"3", "'2026-11-27'", "'7'"},
                               {"3", "'2026-11-26 23:59:59'", "'.5'"},
                               {"4", "NULL", "'1e3'"},
                               {"4", "'2026-1-5'", "'2'"},
                               {"5", "'2026-11-25'", "'1e400'"},
                               {"5", "'2026-11-25'", "'5.'"},
                               {"6", "'2026-11-25T10:00:00.5'", "'-0.0'"},
                               {"7", "'0000-01-01'", "'3'"}};
    for (size_t i = 0; i < std::size(orders); ++i)
        sql += "INSERT INTO orders VALUES (" + std::to_string(i + 1) + ", " + orders[i][0] + ", " +
               orders[i][1] + ", " + orders[i][2] + ");\n";
    for (size_t i = 0; i < std::size(rows); ++i) {
        const char* const* r = rows[i];
        sql += "INSERT INTO customers VALUES (" + std::to_string(i + 1) + ", " + r[0] + ", " +
               (hard_numbers ? r[1] : easy[i]) + ", " + r[2] + ", " + r[3] + ", " + r[4] + ");\n";
    }
    return sql;
}

inline const char* kTextCasesRules = R"(ruleset: texts
version: 1
source:
  customers: customers
  key: customer_id
  types: { n: integer, x: number, vip: bool, signup: date, seen: datetime }
  facts:
    orders: { table: orders, key: customer_id, time: order_date, types: { order_date: date, amount: number } }
let:
  triple: x * 3
  spent: sum(orders.amount)
  bought: count(orders)
  last_order: max(orders.order_date)
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - { id: n_null, when: n is null }
        - { id: n_zero, when: n == 0 }
        - { id: n_12, when: n == 12 }
        - { id: n_big, when: n > 100 }
        - { id: n_min, when: n < -9000000000000000000 }
        - { id: n_7, when: n == 7 or n == 5 or n == 15 }
        - { id: x_null, when: x is null }
        - { id: x_zero, when: x == 0 }
        - { id: x_tiny, when: x > 0 and x < 1e-300 }
        - { id: x_max, when: x == 1.7976931348623157e308 }
        - { id: x_half, when: x == 0.5 or x == 1 or x == 5 or x == 12.5 or x == 2.5 or x == 1000 }
        - { id: x_small, when: triple == 0.003 or triple == 3.75 or triple == 3e-21 or triple == 370370370370370e-20 }
        - { id: x_long, when: x == 33.333333333333336 or x == -0.30000000000000004 or x == 0.30000000000000004 or x == 0.1 or x == 0.14285714285714285 }
        - { id: x_large, when: triple == 2.1e31 or triple == 2.9999999999999997e22 or triple == 3e23 or x == 999999999999999e7 }
        - { id: v_null, when: vip is null }
        - { id: v_true, when: vip }
        - { id: v_false, when: not vip }
        - { id: s_null, when: signup is null }
        - { id: s_leap, when: signup == 2024-02-29 }
        - { id: s_early, when: signup < 1970-01-02 }
        - { id: s_late, when: signup > 2026-11-26 }
        - { id: t_null, when: seen is null }
        - { id: t_ten, when: seen == 2024-02-29T10:00:00 }
        - { id: t_day, when: seen == 2024-02-29T00:00:00 }
        - { id: t_early, when: seen < 1970-01-01T00:00:01 }
        - { id: t_late, when: seen > 2026-11-26T00:00:00 }
        - { id: o_none, when: bought == 0 }
        - { id: o_two, when: bought == 2 }
        - { id: o_spent, when: spent == 17.5 or spent == 5 or spent == 0.5 or spent == 1002 }
        - { id: o_zero, when: spent == 0 }
        - { id: o_recent, when: last_order >= 2026-11-02 }
        - { id: o_none_day, when: last_order is null }
)";

// Typed columns given another type: an integer as a boolean, a fraction as an integer, a date
// as a string, booleans as a string, an integer and a number (a null one stays null).
inline const char* kRetypedCasesSql = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, i INTEGER, r REAL, d DATE,
  bs BOOLEAN, bi BOOLEAN, bn BOOLEAN);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE);
INSERT INTO customers VALUES (1, 0, 2.0, '1970-01-01', 1, 1, 1),
  (2, 1, 2.5, '2026-11-26', 0, 0, 0), (3, 2, -0.0, NULL, NULL, NULL, NULL),
  (4, -1, 1e19, '2024-02-29', 1, 0, NULL), (5, NULL, 9.2e18, '1970-01-02', NULL, 1, 0),
  (6, 9223372036854775807, NULL, '2105-12-31', 0, NULL, 1), (7, 1, -9.2e18, '2026-11-26', 1, 1, 1);
)";

inline const char* kRetypedCasesRules = R"(ruleset: retyped
version: 1
source:
  customers: customers
  key: customer_id
  types: { i: bool, r: integer, d: string, bs: string, bi: integer, bn: number }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - { id: i_true, when: i }
        - { id: i_false, when: not i }
        - { id: i_null, when: i is null }
        - { id: r_two, when: r == 2 }
        - { id: r_zero, when: r == 0 }
        - { id: r_null, when: r is null }
        - { id: r_big, when: r > 9000000000000000000 or r < -9000000000000000000 }
        - { id: d_epoch, when: d == '1970-01-01' }
        - { id: d_leap, when: d == '2024-02-29' }
        - { id: d_null, when: d is null }
        - { id: d_2026, when: d > '2026' }
        - { id: bs_one, when: bs == '1' }
        - { id: bs_zero, when: bs == '0' }
        - { id: bs_null, when: bs is null }
        - { id: bi_one, when: bi == 1 }
        - { id: bi_zero, when: bi == 0 }
        - { id: bi_null, when: bi is null }
        - { id: bn_one, when: bn == 1.0 }
        - { id: bn_zero, when: bn == 0.0 }
        - { id: bn_null, when: bn is null }
)";

}  // namespace strata::warehouse::testing
