// What the engine's tests share: a small base with nulls and odd values, and a rule file around a
// general section.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include "engine/reader.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "test_support.hpp"

namespace strata::testing::engine_fixture {

inline const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, status TEXT, industry TEXT,
                        device TEXT, signup DATE, mrr REAL);
INSERT INTO customers VALUES
  (1, 'trial', 'active', 'IT', 'smart_tv', '2026-01-10', 0),
  (2, 'paid', 'active', NULL, 'phone', '2025-05-01', 99.5),
  (3, 'paid', 'cancelled', 'retail', 'smart_tv', '2024-02-02', 10),
  (4, 'trial', 'expired', NULL, NULL, 'n/a', NULL),
  (5, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, 'paid', 'active', 'IT', 'smart_tv', '2023-12-31', 250);
CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);
INSERT INTO orders VALUES (1, 10, '2026-01-15'), (2, 100, '2026-02-01'), (2, 50, '2026-10-01'),
  (6, 500, '2026-09-09'), (6, 20, '2027-01-01'), (99, 5, '2026-01-01');
)sql";

inline std::string rules(const std::string& general, const std::string& extra = "") {
    return "ruleset: engine-test\nversion: 1\nas_of: 2026-11-01\nsource:\n  facts:\n"
           "    orders: { table: orders, key: customer_id, time: order_date }\n" +
           extra + "general:\n" + general;
}

}  // namespace strata::testing::engine_fixture
