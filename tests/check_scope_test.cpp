// What `check` says about names inside an aggregate when it has no database to look them up.
#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

// Without --db, a name inside an aggregate may be a column of the fact or a let (which a run
// refuses there). A let named like the column it sums is common and right, so this is a note,
// never a warning that --strict would turn into an error.
TEST_CASE("check without --db notes a let's name read inside an aggregate, even with --strict") {
    TempDir dir;
    const std::string rules = dir.write("rules.yaml", R"(ruleset: scoped
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.revenue where revenue > 0)
general:
  segments:
    - id: big
      when: revenue >= 1000
    - id: some
      when: revenue > 0
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"check", rules, "--strict"});
    CHECK_MESSAGE(r.code == 0, r.out, r.err);
    CHECK(r.out.find("rules.yaml:7:37: note: 'revenue' is also a let, which an aggregate over "
                     "'orders' cannot read (only its columns and as_of): this is a column "
                     "'revenue' of 'orders'") != std::string::npos);
    // With the database the column is found, and nothing is said.
    const std::string db =
        dir.database("base.db",
                     "CREATE TABLE customers (customer_id INTEGER);"
                     "CREATE TABLE orders (customer_id INTEGER, revenue REAL, order_date DATE);");
    const Run with_db = run_cli({"check", rules, "--db", db, "--strict"});
    CHECK_MESSAGE(with_db.code == 0, with_db.out);
    CHECK(with_db.out.find("is also a let") == std::string::npos);
}

// Each suggestion measures a name against every candidate: after the first hundred unknown
// names check stops suggesting, so that thousands of them against thousands of lets take a
// second, not minutes. The errors themselves are all there.
TEST_CASE("check suggests names for the first hundred unknown names only") {
    TempDir dir;
    const std::string db =
        dir.database("base.db",
                     "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT);"
                     "CREATE TABLE orders (customer_id INTEGER, order_date DATE);");
    std::string lets;
    for (int i = 0; i < 150; ++i)
        lets += "  total" + std::to_string(i) + ": totl" + std::to_string(i) + " + 1\n";
    const std::string rules = dir.write("rules.yaml",
                                        "ruleset: typos\nversion: 1\nsource:\n"
                                        "  facts:\n    orders: { table: orders, "
                                        "key: customer_id, time: order_date }\n"
                                        "let:\n" +
                                            lets +
                                            "general:\n  segments:\n"
                                            "    - id: a\n      when: tier == 'a'\n"
                                            "    - id: b\n      when: otherwise\n");
    const Run check = run_cli({"check", rules, "--db", db});
    CHECK(check.code == 1);
    size_t unknown = 0, suggested = 0;
    for (size_t at = check.out.find("unknown field 'totl"); at != std::string::npos;
         at = check.out.find("unknown field 'totl", at + 1)) {
        ++unknown;
        const size_t end = check.out.find('\n', at);
        suggested +=
            check.out.substr(at, end - at).find("did you mean 'total") != std::string::npos;
    }
    CHECK(unknown == 150);
    CHECK(suggested == 100);
    CHECK(check.out.find("unknown field 'totl0' (did you mean 'total0'?)") != std::string::npos);
}
