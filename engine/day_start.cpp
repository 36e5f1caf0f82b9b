#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <limits>
#include <map>
#include <unordered_map>

#include "engine/state_common.hpp"
#include "engine/stay_rows.hpp"
#include "engine/stays.hpp"
#include "engine/table_scan.hpp"

namespace strata {

namespace {

struct KeyLess {
    bool operator()(const Value& a, const Value& b) const { return compare_keys(a, b) < 0; }
};

}  // namespace

std::vector<DayStartStay> day_start_changes(SQLite::Database& state, const std::string& ruleset,
                                            int64_t first, std::optional<int64_t> compared_before,
                                            const std::vector<OpenPlacement>& compared) {
    std::vector<DayStartStay> out;
    const auto id = state_common::ruleset_id(state, ruleset);
    if (!id) return out;
    const int64_t before = compared_before.value_or(std::numeric_limits<int64_t>::max());
    // Each customer whose day-start stay may differ, with the run that began that stay once
    // found (0: none, they were not in the base).
    struct Found {
        Str general;
        int64_t entered_run = 0;
    };
    std::map<Value, Found, KeyLess> changed;
    for (const OpenPlacement& p : compared) {
        if (p.general.p && p.general_since_run >= first) changed.try_emplace(p.key);
    }
    // The general stays that runs from `first` on ended (before `compared_before`), by the
    // primary key's range (ruleset, exited_run, …); the one begun before `first` is the one the
    // day began with. A customer has one general stay open at a time.
    const bool by_customer = stay_rows::open_stays_by_customer(state);
    RawStatement q(state, std::string("SELECT customer_key, segment, entered_run FROM ") +
                              (by_customer ? "strata_closed_stays" : "strata_stays") +
                              " WHERE ruleset = ?1 AND exited_run >= ?2 AND exited_run < ?3 AND "
                              "level = 0");
    sqlite3_bind_int64(q.get(), 1, *id);
    sqlite3_bind_int64(q.get(), 2, first);
    sqlite3_bind_int64(q.get(), 3, before);
    std::optional<std::unordered_map<int64_t, Str>> names;  // read once a stay needs them
    while (q.step()) {
        const Value key = stay_rows::stay_key(q.get(), 0);
        Found& f = changed[key];
        const int64_t entered = sqlite3_column_int64(q.get(), 2);
        if (entered >= first) continue;  // a stay begun and ended that day
        if (!names) names = state_common::segment_names(state, *id);
        f.general = stay_rows::stay_segment(*names, key, sqlite3_column_int64(q.get(), 1));
        f.entered_run = entered;
    }
    SQLite::Statement run_as_of(state, "SELECT as_of FROM strata_runs WHERE run_id = ?");
    std::unordered_map<int64_t, std::optional<Date>> as_of;  // by run, read once each
    out.reserve(changed.size());
    for (const auto& [key, f] : changed) {
        DayStartStay& d = out.emplace_back();
        d.key = key;
        if (!f.general.p) continue;
        d.general = f.general;
        auto [at, fresh] = as_of.try_emplace(f.entered_run);
        if (fresh) {
            run_as_of.reset();
            run_as_of.bind(1, f.entered_run);
            if (run_as_of.executeStep())
                at->second = parse_date(run_as_of.getColumn(0).getString());
        }
        d.since = at->second;
    }
    return out;
}

}  // namespace strata
