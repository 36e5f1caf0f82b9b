#include "analysis/stay_index.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <climits>
#include <functional>

#include "engine/stays.hpp"

namespace strata {

size_t StayIndex::KeyHash::operator()(const Value& key) const {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::hash<int64_t>()(*i);
    // Texts are interned: equal texts share one pointer.
    return std::hash<const void*>()(std::get<Str>(key).p) ^ 0x9e3779b97f4a7c15ULL;
}

bool StayIndex::KeyEqual::operator()(const Value& a, const Value& b) const {
    return a.index() == b.index() && compare_keys(a, b) == 0;
}

bool StayIndex::Match::operator()(const Stay& s) const {
    switch (kind) {
        case SegmentRef::Kind::Any:
            return s.level == 0;
        case SegmentRef::Kind::None:
            return false;
        case SegmentRef::Kind::General:
            return s.level == 0 && s.segment == code;
        case SegmentRef::Kind::Tactical:
            return s.level > 0 && s.segment == code;
    }
    return false;
}

StayIndex::StayIndex(SQLite::Database& state, const std::string& ruleset,
                     const std::vector<std::string>& segments, bool every_general) {
    {
        SQLite::Statement q(state, "SELECT run_id, as_of FROM strata_runs WHERE ruleset = ?");
        q.bind(1, ruleset);
        while (q.executeStep()) {
            // A run whose as_of is not a date (never written so) is no point in time.
            if (auto day = parse_date(q.getColumn(1).getString())) {
                run_days_[q.getColumn(0).getInt64()] = day->days;
                runs_.emplace_back(day->days, q.getColumn(0).getInt64());
            }
        }
        std::sort(runs_.begin(), runs_.end());
    }
    {
        SQLite::Statement q(state,
                            "SELECT g.code, g.name FROM strata_segments g JOIN strata_rulesets n "
                            "ON n.ruleset_id = g.ruleset WHERE n.name = ?");
        q.bind(1, ruleset);
        while (q.executeStep())
            codes_[q.getColumn(1).getString()] = q.getColumn(0).getInt64();
    }
    // Only the stays of the segments asked for: their codes are integers from the table.
    std::string wanted;
    for (const std::string& name : segments) {
        auto it = codes_.find(name);
        if (it == codes_.end()) continue;
        wanted += (wanted.empty() ? "" : ",") + std::to_string(it->second);
    }
    if (wanted.empty() && !every_general) return;
    std::string filter;
    if (every_general) filter = "s.level = 0";
    if (!wanted.empty())
        filter += (filter.empty() ? "" : " OR ") + ("s.segment IN (" + wanted + ")");
    SQLite::Statement q(state,
                        "SELECT s.customer_key, s.level, s.segment, s.entered_run, s.exited_run "
                        "FROM strata_stays s JOIN strata_rulesets n ON n.ruleset_id = s.ruleset "
                        "WHERE n.name = ? AND (" +
                            filter + ")");
    q.bind(1, ruleset);
    auto day_of = [&](int64_t run, int32_t otherwise) {
        auto it = run_days_.find(run);
        return it == run_days_.end() ? otherwise : it->second;
    };
    while (q.executeStep()) {
        Stay s;
        s.level = q.getColumn(1).getInt64();
        s.segment = q.getColumn(2).getInt64();
        s.entered_run = q.getColumn(3).getInt64();
        s.exited_run = q.getColumn(4).getInt64();
        // A stay whose run is missing (an edited file) enters at no day in any window.
        s.entered_day = day_of(s.entered_run, INT32_MAX);
        s.exited_day = s.exited_run == 0 ? INT32_MAX : day_of(s.exited_run, INT32_MIN);
        by_key_[key_from_column(q.getColumn(0))].push_back(s);
        ++stays_read_;
    }
}

StayIndex::Match StayIndex::resolve(const SegmentRef& ref) const {
    if (ref.kind != SegmentRef::Kind::General && ref.kind != SegmentRef::Kind::Tactical)
        return {ref.kind, -1};
    auto it = codes_.find(ref.path);
    return {ref.kind, it == codes_.end() ? -1 : it->second};
}

bool StayIndex::covered_run_in(const Stay& s, Date t0, Date t1) const {
    // Only the window's runs are looked at, however long the stay or the history.
    auto it = std::lower_bound(runs_.begin(), runs_.end(), std::pair{t0.days + 1, INT64_MIN});
    for (; it != runs_.end() && it->first <= t1.days; ++it) {
        if (it->second >= s.entered_run && (s.exited_run == 0 || it->second < s.exited_run))
            return true;
    }
    return false;
}

bool StayIndex::met(const SuccessDefinition& success, const Value& key, Date t0, Date t1) const {
    auto found = by_key_.find(key);
    if (found == by_key_.end()) return false;
    const std::vector<Stay>& stays = found->second;
    const Match x = resolve(success.segment);
    auto in_window = [&](int32_t day) { return day > t0.days && day <= t1.days; };
    auto any_stay = [&](auto&& test) { return std::any_of(stays.begin(), stays.end(), test); };
    switch (success.event) {
        case TriggerEvent::Enter:
            return any_stay([&](const Stay& s) { return x(s) && in_window(s.entered_day); });
        case TriggerEvent::Exit:
            return any_stay([&](const Stay& s) {
                return x(s) && s.exited_run != 0 && in_window(s.exited_day);
            });
        case TriggerEvent::In:
            return any_stay([&](const Stay& s) { return x(s) && covered_run_in(s, t0, t1); });
        case TriggerEvent::Move: {
            const Match y = resolve(success.to);
            return any_stay([&](const Stay& entered) {
                if (!y(entered) || !in_window(entered.entered_day)) return false;
                const int64_t run = entered.entered_run;
                if (x.kind == SegmentRef::Kind::None) {
                    // No general stay open just before that run: new to the base (or back).
                    return !any_stay([&](const Stay& s) {
                        return s.level == 0 && s.entered_run < run &&
                               (s.exited_run == 0 || s.exited_run >= run);
                    });
                }
                return any_stay([&](const Stay& s) { return x(s) && s.exited_run == run; });
            });
        }
    }
    return false;
}

}  // namespace strata
