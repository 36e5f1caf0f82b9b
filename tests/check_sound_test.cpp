// `check` warns and proves only what holds for every base (docs/check.md). Two ways it did not,
// found by review AJ: a count of a column's values was taken for the count of the rows (a
// customer whose rows all lack the value has rows and a count of 0), and a column checked
// without --db that is compared with dates was taken to hold whole days (a datetime column
// holds the times between them).
#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kOrders = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, seen DATETIME);
INSERT INTO customers VALUES (1, '2026-01-01 10:00:00');
CREATE TABLE orders (customer_id INTEGER, order_date DATETIME, amount REAL);
INSERT INTO orders VALUES (1, '2026-10-31 12:00:00', NULL);
)sql";

std::string rules(const std::string& policy, const std::string& segments) {
    return "ruleset: sound\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
           "  facts:\n    orders: { table: orders, key: customer_id, time: order_date }\n"
           "let:\n  valued: count(orders.amount)\n  rows: count(orders)\n"
           "  last: max(orders.order_date)\ngeneral:\n  policy: " +
           policy + "\n  segments:\n" + segments;
}

}  // namespace

TEST_CASE("check: a count of a column's values may be 0 for a customer with rows") {
    TempDir dir;
    const auto db = dir.database("base.db", kOrders);
    const auto shadow = dir.write("shadow.yaml", rules("first_match", R"(    - id: nulls_only
      when: valued == 0 and rows > 0
    - id: rest
      when: otherwise
)"));
    for (const bool with_db : {false, true}) {
        CAPTURE(with_db);
        std::vector<std::string> args{"check", shadow};
        if (with_db) args.insert(args.end(), {"--db", db});
        const auto r = run_cli(args);
        CHECK_MESSAGE(r.out.find("can never hold") == std::string::npos, r.out);
    }
    const auto ran = run_cli(
        {"run", shadow, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(ran.code == 0, ran.err);
    CHECK(json_at(ran.out, "$.segments[0].count") == "1");
    // Under exclusive, that customer is in no segment: no proof may be claimed.
    const auto gap = dir.write("gap.yaml", rules("exclusive", R"(    - id: valued
      when: valued > 0
    - id: none
      when: rows == 0
)"));
    const auto checked = run_cli({"check", gap, "--db", db});
    CHECK_MESSAGE(checked.out.find("not proven: a customer with valued = 0 and rows = 1 may be in "
                                   "no segment") != std::string::npos,
                  checked.out);
    CHECK(run_cli({"run", gap, "--db", db, "--as-of", "2026-11-01", "--dry-run"}).code != 0);
}

TEST_CASE("check without --db: a column compared with dates may hold times of day") {
    TempDir dir;
    const auto db = dir.database("base.db", kOrders);
    const auto between = dir.write("between.yaml", rules("first_match", R"(    - id: jan1
      when: seen > 2026-01-01 and seen < 2026-01-02
    - id: yesterday
      when: last > as_of - 1d and last < as_of
    - id: rest
      when: otherwise
)"));
    const auto r = run_cli({"check", between});
    CHECK_MESSAGE(r.out.find("can never hold") == std::string::npos, r.out);
    const auto ran = run_cli(
        {"run", between, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(ran.code == 0, ran.err);
    CHECK(json_at(ran.out, "$.segments[0].count") == "1");
    // Under exclusive, a datetime of 2026-01-01 after midnight is in neither segment: a note
    // (an error with --strict), not a proof.
    const auto gap = dir.write("gap.yaml", rules("exclusive", R"(    - id: before
      when: seen <= 2026-01-01
    - id: after
      when: seen >= 2026-01-02
    - id: unknown
      when: seen is null
)"));
    const auto checked = run_cli({"check", gap, "--strict"});
    CHECK_MESSAGE(checked.code == 1, checked.out);
    CHECK_MESSAGE(checked.out.find("2026-01-01 after midnight") != std::string::npos, checked.out);
    CHECK(run_cli({"run", gap, "--db", db, "--as-of", "2026-11-01", "--dry-run"}).code != 0);
}

TEST_CASE("check: a date moved past the calendar's range is null, as a run has it") {
    // Since dates past 32-bit day numbers are null in a run, `check` took such a moved date
    // for a value and warned that "is null" could never hold (review AQ1): by a literal, a
    // duration let, and as_of.
    TempDir dir;
    const auto db = dir.database("base.db", kOrders);
    std::string far = "999999y";
    for (int k = 1; k < 6; ++k)
        far += " + 999999y";
    const auto file =
        dir.write("far.yaml",
                  "ruleset: far\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
                  "let:\n  fixed: 2026-01-01 + " +
                      far + "\n  moved: as_of + " + far + "\n  big: " + far +
                      "\n  by_let: as_of + big\ngeneral:\n  segments:\n"
                      "    - id: a\n      when: fixed is null and customer_id > 2\n"
                      "    - id: b\n      when: moved is null and customer_id > 1\n"
                      "    - id: c\n      when: by_let is null\n"
                      "    - id: rest\n      when: otherwise\n");
    for (const bool with_db : {false, true}) {
        CAPTURE(with_db);
        std::vector<std::string> args{"check", file};
        if (with_db) args.insert(args.end(), {"--db", db});
        const auto r = run_cli(args);
        CHECK_MESSAGE(r.out.find("can never hold") == std::string::npos, r.out);
    }
    const auto ran = run_cli(
        {"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(ran.code == 0, ran.err);
    CHECK(json_at(ran.out, "$.segments[2].count") == "1");  // c: by_let is null
}
