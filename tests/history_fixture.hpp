// The base, rule files and stored runs that the `runs` and `history` tests share: a state
// with two runs of one ruleset and one of another.
#pragma once

#include <SQLiteCpp/Database.h>

#include <string>

#include "test_support.hpp"

namespace strata::testing::history {

// 1,500 integer customers, all small at first, and text keys beside integer ones: '00123'
// beside 123, and '42' beside 42.
inline const char* kBase = R"sql(
CREATE TABLE customers (customer_id, spend REAL, tv INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
  INSERT INTO customers SELECT i, 10, 0 FROM n;
INSERT INTO customers VALUES ('00123', 5000, 1), ('42', 5000, 0);
)sql";

inline const char* kRules = R"(ruleset: tiers
version: 1
general:
  segments:
    - id: vip
      when: spend >= 1000
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
)";

// Another ruleset over the same base, run once.
inline const char* kOtherRules = R"(ruleset: spenders
version: 4
general:
  segments:
    - id: high
      when: spend >= 100
    - id: mid
      when: spend >= 50
    - id: low
      when: otherwise
)";

// Runs tiers as of 2026-10-01 (run 1); then 1,200 customers move from small to regular, and
// customer 7 also enters tv; tiers again as of 2026-11-01 (run 2), then spenders (run 3).
struct Stored {
    TempDir dir;
    std::string db = dir.database("base.db", kBase);
    std::string rules = dir.write("tiers.yaml", kRules);
    std::string other = dir.write("spenders.yaml", kOtherRules);

    Stored() {
        auto first = run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"});
        REQUIRE_MESSAGE(first.code == 0, first.err);
        SQLite::Database(db, SQLite::OPEN_READWRITE)
            .exec(
                "UPDATE customers SET spend = 500 WHERE customer_id BETWEEN 1 AND 1200;"
                "UPDATE customers SET spend = 2000, tv = 1 WHERE customer_id = 7;");
        auto second = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(second.code == 0, second.err);
        auto third = run_cli({"run", other, "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(third.code == 0, third.err);
    }
};

}  // namespace strata::testing::history
