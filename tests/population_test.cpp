// Population functions in two steps (issue 12's foundation): a run records the fit of every
// population call, and one customer evaluated alone with those fits gets exactly what the
// run gave them. Also the cut points `strata run` lists, and explain's `because`.
#include <doctest/doctest.h>

#include <random>
#include <sstream>
#include <string>

#include "dsl/compiler.hpp"
#include "engine/run.hpp"
#include "test_support.hpp"

using namespace strata;
using namespace strata::testing;

namespace {

// Generated customers with heavy ties and nulls: few distinct values, many repeats.
std::string generated_base(unsigned seed, int customers) {
    std::mt19937 gen(seed);
    auto pick = [&gen](int n) { return static_cast<int>(gen() % static_cast<unsigned>(n)); };
    std::ostringstream sql;
    sql << "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x REAL, n INTEGER, "
           "last DATE, age INTEGER, s TEXT);\n";
    for (int i = 0; i < customers; ++i) {
        auto maybe = [&](const std::string& v) { return pick(6) == 0 ? std::string("NULL") : v; };
        // Keys out of order, so the row order is not the key order.
        const int key = (i * 7919) % 100003;
        sql << "INSERT INTO customers VALUES (" << key << ", "
            << maybe(std::to_string(pick(4) * 25 - 10)) << ", " << maybe(std::to_string(pick(3)))
            << ", "
            << maybe("'2026-0" + std::to_string(1 + pick(3)) + "-1" + std::to_string(pick(2)) + "'")
            << ", " << maybe(std::to_string(pick(40))) << ", "
            << maybe("'" + std::string(1, static_cast<char>('a' + pick(3))) + "'") << ");\n";
    }
    return sql.str();
}

const char* kRules = R"(ruleset: fits
version: 1
source:
  customers: customers
  key: customer_id
let:
  tile: ntile(x, 4)
  fine: ntile(n, 7)
  text_tile: ntile(s, 5)
  pr: percent_rank(x)
  score: rfm(recency: last, frequency: n, monetary: x, bins: 5)
  aged: rfm(recency: age, frequency: n, monetary: x, bins: 3, best: low)
  tier: abc(x)
  tight: abc(x, a: 0.5, b: 0.6)
  top: ntile(x, 10) >= 9
general:
  segments:
    - id: all
      when: otherwise
)";

}  // namespace

TEST_CASE("a customer evaluated alone with the run's fits gets what the run gave them") {
    for (unsigned seed : {1u, 2u, 3u}) {
        TempDir dir;
        const std::string db_path = dir.database("base.db", generated_base(seed, 400));
        SQLite::Database db(db_path, SQLite::OPEN_READONLY);
        StoreError schema_error;
        const std::optional<Schema> schema = read_schema(db, schema_error);
        REQUIRE(schema);
        Diagnostics diags;
        auto rules = compile_rules(SourceFile("fits.yaml", kRules), &*schema, diags);
        REQUIRE(rules);
        REQUIRE_FALSE(diags.has_errors());
        RunOptions options;
        options.as_of = Date{20800};
        options.dry_run = true;
        size_t compared = 0, differ_without_fits = 0;
        options.on_placed = [&](const Frame& frame, const std::vector<uint32_t>&,
                                const RunReport& rep) {
            REQUIRE(frame.fits);
            // Every call with a fit is recorded (top's ntile sits inside a comparison).
            CHECK(frame.fits->size() == 9);
            CHECK(rep.populations.size() == 9);
            const PopulationFits given(*frame.fits);  // the run's fits, as a source
            for (size_t l = 0; l < rules->program.lets.size(); ++l) {
                const bound::Expr& e = *rules->program.lets[l].expr;
                const PackedColumn& run_values = *frame.lets[l];
                for (size_t row = 0; row < frame.rows; ++row) {
                    Frame alone = frame;
                    alone.offset = row;
                    alone.rows = 1;
                    alone.fits = const_cast<PopulationFits*>(&given);
                    const Value v = evaluate(e, alone)[0];
                    INFO("seed ", seed, " let ", rules->program.lets[l].name, " row ", row, " run ",
                         format_value(run_values[row]), " alone ", format_value(v));
                    CHECK(compare_values(v, run_values[row]) == 0);
                    CHECK(is_null(v) == is_null(run_values[row]));
                    ++compared;
                    // Without the fits, one row ranks only against itself: often different.
                    alone.fits = nullptr;
                    const Value own = evaluate(e, alone)[0];
                    differ_without_fits += !(is_null(own) == is_null(v) &&
                                             (is_null(v) || compare_values(own, v) == 0));
                }
            }
            // Applying the fits recorded nothing new.
            CHECK(given.size() == 9);
        };
        RunError error;
        REQUIRE(execute_run(*rules, db, nullptr, options, error));
        CHECK(compared == 9 * 400);
        CHECK(differ_without_fits > 400);
    }
}

TEST_CASE("ntile's bins: empty bins when ties are large, the cut and the ties at it") {
    // ntile(x, 4) over 1, 1, 1, 2: L is 0 for the ones and 3 for the two, so tiles 1 and 4.
    const Column x{int64_t{1}, int64_t{1}, Value{}, int64_t{1}, int64_t{2}};
    const NtileFit fit = fit_ntile(x, 4);
    CHECK(fit.total == 4);
    CHECK(fit.nulls == 1);
    REQUIRE(fit.bins.size() == 4);
    CHECK(fit.bins[0].customers == 3);
    CHECK(fit.bins[0].ties_at_cut == 3);
    CHECK(compare_values(fit.bins[0].from, Value{int64_t{1}}) == 0);
    CHECK(fit.bins[1].customers == 0);
    CHECK(is_null(fit.bins[1].from));
    CHECK(fit.bins[2].customers == 0);
    CHECK(fit.bins[3].customers == 1);
    CHECK(compare_values(fit.bins[3].from, Value{int64_t{2}}) == 0);
    // A value the base never had ranks with the base's next value: 1.5 has L = 3, as 2 has.
    CHECK(std::get<int64_t>(apply_ntile(fit, Value{int64_t{0}})) == 1);
    CHECK(std::get<int64_t>(apply_ntile(fit, Value{1.5})) == 4);
    CHECK(std::get<int64_t>(apply_ntile(fit, Value{int64_t{9}})) == 4);
    CHECK(is_null(apply_ntile(fit, Value{})));
    // Ranked descending (a recency given as an age), the larger value's bin comes first.
    const NtileFit age = fit_ntile(x, 4, true);
    CHECK(age.bins[0].customers == 1);
    CHECK(compare_values(age.bins[0].from, Value{int64_t{2}}) == 0);
    CHECK(age.bins[1].customers == 3);
}

TEST_CASE("abc's fit keeps the last customer of A and of B, ties broken by key") {
    // x descending, key ascending: 100 (key 5), 100 (key 9), 50, 30, 20 of a total of 300.
    const Column x{int64_t{100}, int64_t{50}, int64_t{100}, int64_t{30}, int64_t{20}, int64_t{0}};
    const Column keys{int64_t{9}, int64_t{1}, int64_t{5}, int64_t{2}, int64_t{3}, int64_t{4}};
    const AbcFit fit = fit_abc(x, keys, 0.5, 0.9);
    // P before: key 5 → 0 (A), key 9 → 100 (A, 100 < 150), key 1 → 200 (B, < 270),
    // key 2 → 250 (B), key 3 → 280 (C); x = 0 → C.
    CHECK(fit.count_a == 2);
    CHECK(fit.count_b == 2);
    CHECK(fit.count_c == 2);
    CHECK(compare_values(fit.last_a.key, Value{int64_t{9}}) == 0);
    CHECK(compare_values(fit.last_b.key, Value{int64_t{2}}) == 0);
    CHECK(std::abs(static_cast<double>(fit.last_a.share_after) - 200.0 / 300.0) < 1e-12);
    // The key decides between equal values: 100 with key 10 ranks after key 9, A's last.
    CHECK(format_value(apply_abc(fit, Value{int64_t{100}}, Value{int64_t{10}})) == "B");
    CHECK(format_value(apply_abc(fit, Value{int64_t{100}}, Value{int64_t{7}})) == "A");
    const Column classes = abc_classes(x, keys, 0.5, 0.9);
    CHECK(format_value(classes[0]) == "A");
    CHECK(format_value(classes[1]) == "B");
    CHECK(format_value(classes[4]) == "C");
}

namespace {

const char* kTiersBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL, n INTEGER, last DATE);
INSERT INTO customers VALUES (1, 10, 1, '2026-01-05'), (2, 500, 1, '2026-03-01'),
  (3, 2000, 4, '2026-09-20'), (4, NULL, 1, NULL), (5, 500, 2, '2026-03-01'), (6, 10, 1, '2026-01-05');
)sql";

const char* kTiersRules = R"(ruleset: tiers
version: 1
let:
  quarter: ntile(spend, 4)
  score: rfm(recency: last, frequency: n, monetary: spend, bins: 3)
  tier: abc(spend)
general:
  segments:
    - id: top
      when: score.r == 3 and percent_rank(spend) > 0.5
    - id: rest
      when: otherwise
)";

}  // namespace

TEST_CASE("a run lists every population call's cut points, in JSON and in the table") {
    TempDir dir;
    const auto db = dir.database("base.db", kTiersBase);
    const auto file = dir.write("r.yaml", kTiersRules);
    auto r = run_cli(
        {"run", file, "--db", db, "--dry-run", "--as-of", "2026-10-01", "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    // ntile(spend, 4) over 10, 10, 500, 500, 2000 (one null): L 0, 2, 4 → tiles 1, 2, 4.
    CHECK(json_at(r.out, "$.populations[0].let") == "quarter");
    CHECK(json_at(r.out, "$.populations[0].function") == "ntile");
    CHECK(json_at(r.out, "$.populations[0].location").find("r.yaml:4:12") != std::string::npos);
    CHECK(json_at(r.out, "$.populations[0].text") == "ntile(spend, 4)");
    CHECK(json_at(r.out, "$.populations[0].fields[0].ranked") == "5");
    CHECK(json_at(r.out, "$.populations[0].fields[0].nulls") == "1");
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[0].customers") == "2");
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[0].ties_at_cut") == "2");
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[1].from") == "500");
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[2].from") == "<none>");  // empty
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[2].customers") == "0");
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[3].bin") == "4");
    CHECK(json_at(r.out, "$.populations[0].fields[0].bins[3].from") == "2000");
    // rfm: r ranks dates, later higher: 2026-01-05 ×2, 2026-03-01 ×2, 2026-09-20.
    CHECK(json_at(r.out, "$.populations[1].function") == "rfm");
    CHECK(json_at(r.out, "$.populations[1].fields[0].field") == "r");
    CHECK(json_at(r.out, "$.populations[1].fields[0].bins[2].from") == "2026-09-20");
    CHECK(json_at(r.out, "$.populations[1].fields[0].bins[1].ties_at_cut") == "2");
    // abc over 2000, 500, 500, 10, 10 (T = 3020): 2000 is A (P 0), 500 of key 2 too (P 2000 <
    // 2416), 500 of key 5 B (P 2500 < 2869), the 10s C.
    CHECK(json_at(r.out, "$.populations[2].classes.A.customers") == "2");
    CHECK(json_at(r.out, "$.populations[2].classes.A.last_key") == "2");
    CHECK(json_at(r.out, "$.populations[2].classes.B.last_key") == "5");
    CHECK(json_at(r.out, "$.populations[2].classes.C.customers") == "2");
    CHECK(json_at(r.out, "$.populations[2].fields") == "[]");
    // A call in a condition has no let.
    CHECK(json_at(r.out, "$.populations[3].let") == "<none>");
    CHECK(json_at(r.out, "$.populations[3].function") == "percent_rank");
    CHECK(json_at(r.out, "$.populations[3].ranks.distinct_values") == "3");

    auto t = run_cli({"run", file, "--db", db, "--dry-run", "--as-of", "2026-10-01"});
    INFO(t.out);
    CHECK(t.out.find("quarter  ntile at 4:12\n  tile   1: >= 10 2 (2 at cut)  2: >= 500 2 (2 "
                     "at cut)  3: empty  4: >= 2000 1 (1 at cut)  null: 1\n") != std::string::npos);
    CHECK(t.out.find("  class  A: 2 down to 500 (customer 2, 82.8% of the total)") !=
          std::string::npos);
}

TEST_CASE("explain says why a population score is what it is, from the run's cut points") {
    TempDir dir;
    const auto db = dir.database("base.db", kTiersBase);
    const auto file = dir.write("r.yaml", kTiersRules);
    auto r = run_cli({"explain", file, "--db", db, "--customer", "2", "--as-of", "2026-10-01",
                      "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    // top's condition: score.r == 3 and percent_rank(spend) > 0.5.
    const std::string field = "$.tried[0].condition.children[0].children[0]";
    CHECK(json_at(r.out, field + ".text") == "score.r");
    CHECK(json_at(r.out, field + ".value") == "2");
    CHECK(json_at(r.out, field + ".because") ==
          "last 2026-03-01 is at or above the cut 2026-03-01 of bin 2 (and below 2026-09-20 of "
          "bin 3); 2 of 5 ranked customers are in the bin");
    const std::string rank = "$.tried[0].condition.children[1].children[0]";
    CHECK(json_at(r.out, rank + ".because") ==
          "2 of the 5 ranked customers have a smaller spend than 500");
    CHECK(json_at(r.out, "$.tried[0].condition.children[1].because") == "<none>");
}
