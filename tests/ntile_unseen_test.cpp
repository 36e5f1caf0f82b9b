// A value the run never ranked (strata eval on newer data, explain with a stored run's fits):
// its ntile is still 1 + floor(n·L/N) with L counted in the run's base (docs/language.md),
// however it falls between the bins. The formula, counted by brute force, is the definition.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>

#include "analysis/population_story.hpp"
#include "engine/bytes.hpp"
#include "engine/population_codec.hpp"
#include "test_support.hpp"

using namespace strata;
using namespace strata::testing;

namespace {

// 1 + floor(n·L/N) with L the base's values strictly before x in ranking order; past every
// value (L = N) the top tile n.
int64_t tile_by_formula(const std::vector<int64_t>& base, int64_t n, bool descending, double x) {
    const auto less = std::count_if(base.begin(), base.end(), [&](int64_t v) {
        return descending ? static_cast<double>(v) > x : static_cast<double>(v) < x;
    });
    const auto total = static_cast<int64_t>(base.size());
    return std::min(n, 1 + n * static_cast<int64_t>(less) / total);
}

}  // namespace

TEST_CASE("an ntile of a value between the run's bins, or past them, follows the formula") {
    std::mt19937 gen(20261205);
    int gaps = 0;
    for (int round = 0; round < 300; ++round) {
        const auto size = 1 + gen() % 30;
        const auto spread = 2 + gen() % 12;
        std::vector<int64_t> base;
        Column column;
        for (unsigned i = 0; i < size; ++i) {
            // Even values only, so every odd one and every half is a value the base lacks.
            base.push_back(2 * static_cast<int64_t>(gen() % spread));
            column.push_back(Value{base.back()});
        }
        const auto n = static_cast<int64_t>(1 + gen() % 7);
        const bool descending = gen() % 2 == 1;
        const NtileFit fit = fit_ntile(column, n, descending);
        for (int step = -4; step <= 2 * static_cast<int>(spread) + 4; ++step) {
            const double x = step / 2.0;
            const int64_t want = tile_by_formula(base, n, descending, x);
            INFO("base size ", size, " n ", n, " descending ", descending, " x ", x);
            CHECK(std::get<int64_t>(apply_ntile(fit, Value{x})) == want);
            if (step % 4 != 0) ++gaps;  // an odd value or a half: not in the base
        }
    }
    CHECK(gaps > 1000);
}

TEST_CASE("between two bins, an unseen value ranks with the next bin's cut") {
    // 1, 1, 2, 2, 4, 4, 5, 5: tiles 1, 1, 2, 2, 3, 3, 4, 4; 3 has L = 4, tile 3 (not 2).
    const Column x{int64_t{1}, int64_t{1}, int64_t{2}, int64_t{2},
                   int64_t{4}, int64_t{4}, int64_t{5}, int64_t{5}};
    const NtileFit fit = fit_ntile(x, 4);
    CHECK(std::get<int64_t>(apply_ntile(fit, Value{int64_t{3}})) == 3);
    CHECK(std::get<int64_t>(apply_ntile(fit, Value{int64_t{9}})) == 4);
    CHECK(std::get<int64_t>(apply_ntile(fit, Value{int64_t{0}})) == 1);
    CHECK(compare_values(fit.bins[1].last, Value{int64_t{2}}) == 0);
    // As an age (descending), 3 ranks after 4 and 4, 5 and 5: L = 4 again, tile 3.
    const NtileFit age = fit_ntile(x, 4, true);
    CHECK(std::get<int64_t>(apply_ntile(age, Value{int64_t{3}})) == 3);

    bound::Call call;
    PopulationStoryInput in;
    in.args = {Value{int64_t{3}}};
    in.arg_texts = {"spend"};
    CHECK(population_story(call, fit, -1, in) ==
          "spend 3 lies between 2, the last value of bin 2, and the cut 4 of bin 3, so it ranks "
          "with the cut; 2 of 8 ranked customers are in the bin");
    // 1, 2, 2, 2 with 4 tiles: tiles 1, 2, 2, 2, bins 3 and 4 empty; 7 is past every value.
    const NtileFit top = fit_ntile(Column{int64_t{1}, int64_t{2}, int64_t{2}, int64_t{2}}, 4);
    in.args = {Value{int64_t{7}}};
    CHECK(population_story(call, top, -1, in) ==
          "spend 7 ranks after every ranked value (the last, 2, is in bin 2), so it is in bin "
          "4, the last in ranking order");
}

TEST_CASE("a fit stored before bins kept their last value still decodes and applies") {
    // Layout 2: an ntile of 1, 1, 2, 2, 4, 4, 5, 5 in 4 tiles, each bin without its last value.
    ByteWriter w;
    w.u64(2);  // layout
    w.u64(0);  // an ntile
    w.i64(4);
    w.u64(0);  // ascending
    w.u64(8);  // total
    w.u64(0);  // nulls
    w.u64(4);
    for (int64_t cut : {1, 2, 4, 5}) {
        w.value(Value{cut});
        w.u64(2);
        w.u64(2);
    }
    w.u64(4);
    for (uint64_t b = 0; b < 4; ++b)
        w.u64(b);
    const auto fit = decode_fit(w.take());
    REQUIRE(fit.has_value());
    const auto& ntile = std::get<NtileFit>(*fit);
    CHECK(is_null(ntile.bins[1].last));
    // Without the last value, a value after a cut counts as in that cut's bin.
    CHECK(std::get<int64_t>(apply_ntile(ntile, Value{int64_t{3}})) == 2);
    CHECK(std::get<int64_t>(apply_ntile(ntile, Value{int64_t{5}})) == 4);
    // A layout newer than this build's is refused, not misread.
    ByteWriter later;
    later.u64(4);
    later.u64(0);
    CHECK_FALSE(decode_fit(later.take()).has_value());
}

TEST_CASE("strata eval scores a changed value as the next run does while the cuts hold") {
    TempDir dir;
    const auto db = dir.database("d.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY, x REAL, last DATE, f INTEGER);
INSERT INTO customers VALUES (1, 1, '2026-01-01', 1), (2, 1, '2026-01-01', 1),
  (3, 2, '2026-02-01', 2), (4, 2, '2026-02-01', 2), (5, 4, '2026-04-01', 4),
  (6, 4, '2026-04-01', 4), (7, 5, '2026-05-01', 5), (8, 5, '2026-05-01', 5);
)sql");
    const auto rules = dir.write("r.yaml", R"yaml(ruleset: nt
version: 1
source:
  customers: customers
  key: id
let:
  t: ntile(x, 4)
  s: "rfm(recency: last, frequency: f, monetary: x, bins: 4)"
general:
  policy: first_match
  segments:
    - id: t4
      when: t == 4
    - id: t3
      when: t == 3
    - id: t2
      when: t == 2
    - id: t1
      when: otherwise
triggers:
  - id: show
    on: in any
    actions:
      - log: { text: "t={{t}} rfm={{s.code}}" }
)yaml");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE);
        d.exec("UPDATE customers SET x = 3, f = 3 WHERE id = 8");
    }
    const auto eval = run_cli({"eval", rules, "--db", db, "--customer", "8", "--format", "json"});
    INFO(eval.out, eval.err);
    REQUIRE(eval.code == 0);
    CHECK(json_at(eval.out, "$.segment") == "t3");
    CHECK(json_at(eval.out, "$.actions[0].payload.text") == "t=3 rfm=433");
    // The next run ranks everyone again; these cuts hold, so it agrees.
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    CHECK(rows(db,
               "SELECT payload FROM strata_outbox WHERE customer_key = 8 ORDER BY id DESC "
               "LIMIT 1") == "{\"text\":\"t=3 rfm=433\"}\n");
}
