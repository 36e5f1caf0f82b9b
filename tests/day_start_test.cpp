// The general stays a day began with, as a run of a day already run reads them for
// previous_segment and the like: day_start_changes lays the few that differ over the stays
// the run compares with, instead of reading the base's stays a second time. The definition is
// load_open_placements(…, first): over a random history of days run again, moves, customers
// who leave and come back and one-customer applies, the two must agree for every pair of runs.
#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Each customer's general stay as one line: key, segment and as_of of its run.
std::string general_lines(const std::vector<strata::OpenPlacement>& open,
                          const std::vector<strata::DayStartStay>& day_start) {
    std::string out;
    size_t next = 0;
    auto line = [&out](const strata::Value& key, strata::Str general,
                       const std::optional<strata::Date>& since) {
        if (!general.p) return;
        out += strata::format_value(key) + " " + general.str() + " " +
               (since ? strata::format_value(*since) : "-") + "\n";
    };
    for (const auto& p : open) {
        while (next < day_start.size() && strata::compare_keys(day_start[next].key, p.key) < 0) {
            line(day_start[next].key, day_start[next].general, day_start[next].since);
            ++next;
        }
        if (next < day_start.size() && strata::compare_keys(day_start[next].key, p.key) == 0) {
            line(day_start[next].key, day_start[next].general, day_start[next].since);
            ++next;
        } else {
            line(p.key, p.general, p.since);
        }
    }
    for (; next < day_start.size(); ++next)
        line(day_start[next].key, day_start[next].general, day_start[next].since);
    return out;
}

}  // namespace

TEST_CASE("the stays a day began with are the compared ones with the day's changes laid over") {
    TempDir dir;
    // Keys of both kinds: integers and texts, some of which spell integers.
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id, seg TEXT);
)sql");
    const auto rules = dir.write("r.yaml", R"(ruleset: days
version: 1
source:
  customers: customers
  key: id
general:
  segments:
    - id: a
      when: seg == 'a'
      tactical:
        - id: a_t
          when: previous_segment == 'b'
    - id: b
      when: seg == 'b'
    - id: c
      when: otherwise
)");
    std::mt19937 random(20261205);
    auto pick = [&random](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    const char* segments[] = {"a", "b", "c"};
    auto key_sql = [](int k) {
        return k % 3 == 0   ? "'t" + std::to_string(k) + "'"
               : k % 7 == 0 ? "'" + std::to_string(k) + "'"
                            : std::to_string(k);
    };
    {
        SQLite::Database d(db, SQLite::OPEN_READWRITE);
        for (int k = 1; k <= 40; ++k)
            d.exec("INSERT INTO customers VALUES (" + key_sql(k) + ", '" + segments[pick(3)] +
                   "')");
    }
    const char* days[] = {"2026-10-01", "2026-10-01", "2026-10-02", "2026-10-02", "2026-10-02",
                          "2026-10-03", "2026-10-05", "2026-10-05", "2026-10-06", "2026-10-06"};
    for (const char* day : days) {
        {
            SQLite::Database d(db, SQLite::OPEN_READWRITE);
            for (int k = 1; k <= 40; ++k) {
                const int roll = pick(10);
                if (roll < 3)
                    d.exec("UPDATE customers SET seg = '" + std::string(segments[pick(3)]) +
                           "' WHERE id = " + key_sql(k));
                else if (roll == 3)
                    d.exec("DELETE FROM customers WHERE id = " + key_sql(k));
                else if (roll == 4 &&
                         !d.execAndGet("SELECT count(*) FROM customers WHERE id = " + key_sql(k))
                              .getInt())
                    d.exec("INSERT INTO customers VALUES (" + key_sql(k) + ", 'b')");
            }
        }
        auto r = run_cli({"run", rules, "--db", db, "--as-of", day});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        // Now and then one customer changed and applied alone, a run of its own.
        if (pick(2) == 0) {
            const int k = 1 + pick(40);
            {
                SQLite::Database d(db, SQLite::OPEN_READWRITE);
                d.exec("UPDATE customers SET seg = '" + std::string(segments[pick(3)]) +
                       "' WHERE id = " + key_sql(k));
            }
            auto e = run_cli({"eval", rules, "--db", db, "--customer",
                              k % 3 == 0 ? "t" + std::to_string(k) : std::to_string(k), "--as-of",
                              day, "--apply"});
            // A customer deleted above is not there to apply: exit 2, nothing stored.
            REQUIRE_MESSAGE(e.code != 1, e.err);
        }
    }
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    strata::StoreError error;
    auto state = strata::open_state(db, error);
    REQUIRE(state);
    const int64_t last = state->execAndGet("SELECT max(run_id) FROM strata_runs").getInt64();
    REQUIRE(last >= 10);
    // The history has one-customer applies and customers who left.
    CHECK(state
              ->execAndGet("SELECT count(*) FROM strata_runs WHERE json_extract(summary, "
                           "'$.mode') = 'eval'")
              .getInt() > 0);
    CHECK(state
              ->execAndGet("SELECT count(*) FROM strata_closed_stays c WHERE level = 0 AND NOT "
                           "EXISTS (SELECT 1 FROM strata_stays s WHERE s.customer_key = "
                           "c.customer_key AND s.level = 0 AND s.entered_run = c.exited_run)")
              .getInt() > 0);
    size_t smaller = 0;  // pairs whose changes are fewer than the compared placements
    for (int64_t first = 1; first <= last; ++first) {
        const std::string expected =
            general_lines(strata::load_open_placements(*state, "days", nullptr, first), {});
        for (int64_t before = first + 1; before <= last + 1; ++before) {
            CAPTURE(first);
            CAPTURE(before);
            const std::optional<int64_t> compared_before =
                before <= last ? std::optional<int64_t>(before) : std::nullopt;
            const auto compared =
                strata::load_open_placements(*state, "days", nullptr, compared_before);
            const auto changes =
                strata::day_start_changes(*state, "days", first, compared_before, compared);
            CHECK(general_lines(compared, changes) == expected);
            if (changes.size() < compared.size()) ++smaller;
        }
    }
    CHECK(smaller > 0);
}
