// Placement: the general level's policy as one function (engine/policy.hpp), and the
// unknowns that fall through: for each segment, `strata run` counts the customers its
// condition was tried on and found unknown (null) rather than false (docs/running.md).
#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "engine/policy.hpp"
#include "test_support.hpp"

using strata::Policy;

using namespace strata::testing;

namespace {

// As of 2026-11-01: 3, 4 and 6 never ordered; 2 and 6 have no plan; 2, 4 and 6 no mrr.
const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, mrr REAL);
INSERT INTO customers VALUES (1, 'basic', 10), (2, NULL, NULL), (3, 'basic', 5),
  (4, 'vip', NULL), (5, 'basic', 80), (6, NULL, NULL), (7, 'vip', 1);
CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);
INSERT INTO orders VALUES (1, 10, '2026-10-25'), (2, 20, '2026-08-01'), (5, 30, '2026-09-01'),
  (7, 40, '2026-01-01');
)sql";

std::string rules(const std::string& policy, const std::string& segments) {
    return "ruleset: fall-through\nversion: 1\nas_of: 2026-11-01\nsource:\n  facts:\n"
           "    orders: { table: orders, key: customer_id, time: order_date }\n"
           "let:\n  last_order: max(orders.order_date)\n"
           "general:\n  policy: " +
           policy + "\n  segments:\n" + segments;
}

}  // namespace

TEST_CASE("policy: first_match takes the first segment that holds and asks no further") {
    const std::vector<bool> truths = {false, true, true};
    std::vector<size_t> asked;
    std::vector<std::pair<size_t, size_t>> overlaps;
    const int32_t winner = strata::pick_general_segment(
        Policy::FirstMatch, truths.size(),
        [&](size_t g) {
            asked.push_back(g);
            return truths[g];
        },
        [&](size_t a, size_t b) { overlaps.emplace_back(a, b); });
    CHECK(winner == 1);
    CHECK(asked == std::vector<size_t>{0, 1});
    CHECK(overlaps.empty());
    CHECK(strata::segment_tried(Policy::FirstMatch, 1, winner));
    CHECK_FALSE(strata::segment_tried(Policy::FirstMatch, 2, winner));
    CHECK(strata::segment_tried(Policy::FirstMatch, 2, -1));
    CHECK(strata::earlier_segments_decide(Policy::FirstMatch));
}

TEST_CASE("policy: exclusive asks every segment and reports each overlap with the first") {
    const std::vector<bool> truths = {false, true, false, true, true};
    std::vector<std::pair<size_t, size_t>> overlaps;
    const int32_t winner = strata::pick_general_segment(
        Policy::Exclusive, truths.size(), [&](size_t g) { return truths[g]; },
        [&](size_t a, size_t b) { overlaps.emplace_back(a, b); });
    CHECK(winner == 1);
    CHECK(overlaps == std::vector<std::pair<size_t, size_t>>{{1, 3}, {1, 4}});
    CHECK(strata::segment_tried(Policy::Exclusive, 4, winner));
    CHECK_FALSE(strata::earlier_segments_decide(Policy::Exclusive));
    const int32_t none = strata::pick_general_segment(
        Policy::Exclusive, 3, [](size_t) { return false; }, [](size_t, size_t) {});
    CHECK(none == -1);
}

TEST_CASE("unknown: under first_match, among the customers that reached the segment") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules("first_match", R"(    - id: vip
      when: plan == 'vip'
    - id: sleeping
      when: days_since(last_order) >= 30
      tactical:
        - id: big
          when: mrr > 50
    - id: rest
      when: otherwise
)"));
    const auto r = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // vip is tried on everyone: 2 and 6 have no plan.
    CHECK(json_at(r.out, "$.segments[0].id") == "vip");
    CHECK(json_at(r.out, "$.segments[0].unknown") == "2");
    // sleeping is tried on 1, 2, 3, 5 and 6 (4 and 7 went to vip): 3 and 6 never ordered.
    // 4 never ordered either, but vip took it first.
    CHECK(json_at(r.out, "$.segments[1].count") == "2");
    CHECK(json_at(r.out, "$.segments[1].unknown") == "2");
    // big is tried on sleeping's customers, 2 and 5: 2 has no mrr (4 and 6 are elsewhere).
    CHECK(json_at(r.out, "$.segments[1].tactical[0].id") == "big");
    CHECK(json_at(r.out, "$.segments[1].tactical[0].unknown") == "1");
    // An otherwise segment has no condition to be unknown.
    CHECK(json_at(r.out, "$.segments[2].unknown") == "<none>");
    CHECK(r.out.find("\"unknown\":null") != std::string::npos);

    // The table lists them under the segments, tactical ones by path.
    const auto t = run_cli({"run", file, "--db", db, "--dry-run"});
    REQUIRE(t.code == 0);
    CHECK(t.out.find("unknown: customers a condition left out because it was null for them, "
                     "not false:\n"
                     "  vip                   2\n"
                     "  sleeping              2\n"
                     "  sleeping/big          1\n") != std::string::npos);
}

TEST_CASE("unknown: under exclusive, among all customers; the table says nothing when none") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const std::string segments = R"(    - id: never
      when: last_order is null
    - id: sleeping
      when: days_since(last_order) >= 30
    - id: recent
      when: days_since(last_order) < 30
)";
    // Under exclusive every condition is tried on every customer: 3, 4 and 6 never ordered.
    const auto file = dir.write("x.yaml", rules("exclusive", segments));
    const auto x = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(x.code == 0, x.err);
    CHECK(json_at(x.out, "$.segments[0].unknown") == "0");
    CHECK(json_at(x.out, "$.segments[1].unknown") == "3");
    CHECK(json_at(x.out, "$.segments[2].unknown") == "3");

    // The same segments under first_match: `never` takes them before the others are tried.
    const auto first = dir.write("f.yaml", rules("first_match", segments));
    const auto f = run_cli({"run", first, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(f.code == 0, f.err);
    CHECK(json_at(f.out, "$.segments[1].unknown") == "0");
    CHECK(json_at(f.out, "$.segments[2].unknown") == "0");
    const auto t = run_cli({"run", first, "--db", db, "--dry-run"});
    REQUIRE(t.code == 0);
    CHECK(t.out.find("\nunknown:") == std::string::npos);
}

TEST_CASE("unknown: a nested tactical segment counts among its own parent's customers") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules("first_match", R"(    - id: everyone
      when: otherwise
      tactical:
        - id: has_plan
          when: plan is not null
          tactical:
            - id: paying
              when: mrr >= 5
)"));
    const auto r = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // has_plan is never unknown; paying is tried on 1, 3, 4, 5 and 7: 4 has no mrr (2 and 6
    // have none either, but they are not in has_plan).
    CHECK(json_at(r.out, "$.segments[0].tactical[0].unknown") == "0");
    CHECK(json_at(r.out, "$.segments[0].tactical[0].tactical[0].unknown") == "1");
    CHECK(json_at(r.out, "$.segments[0].tactical[0].tactical[0].count") == "3");
}
