#include "analysis/holdout_readout.hpp"

#include <SQLiteCpp/Statement.h>

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "analysis/stay_index.hpp"
#include "engine/stays.hpp"

namespace strata {

namespace {

// 1.96: the two-sided 95% point of the standard normal distribution.
constexpr double kZ95 = 1.96;

std::optional<TriggerEvent> event_named(const std::string& name) {
    if (name == "enter") return TriggerEvent::Enter;
    if (name == "exit") return TriggerEvent::Exit;
    if (name == "in") return TriggerEvent::In;
    if (name == "move") return TriggerEvent::Move;
    return std::nullopt;
}

std::optional<SegmentRef> segment_ref(const SQLite::Column& path, const SQLite::Column& kind) {
    const std::string k = kind.isText() ? kind.getString() : "";
    if (k == "any") return SegmentRef{SegmentRef::Kind::Any, ""};
    if (k == "none") return SegmentRef{SegmentRef::Kind::None, ""};
    if (!path.isText()) return std::nullopt;
    if (k == "general") return SegmentRef{SegmentRef::Kind::General, path.getString()};
    if (k == "tactical") return SegmentRef{SegmentRef::Kind::Tactical, path.getString()};
    return std::nullopt;
}

// The columns of the summary query from `first` on: text, event, segment, segment_kind, to,
// to_kind, within. nullopt for a trigger without success, or one this version cannot read.
std::optional<SuccessDefinition> read_success(SQLite::Statement& q, int first) {
    if (!q.getColumn(first).isText()) return std::nullopt;
    SuccessDefinition s;
    s.text = q.getColumn(first).getString();
    auto event = event_named(q.getColumn(first + 1).getString());
    auto segment = segment_ref(q.getColumn(first + 2), q.getColumn(first + 3));
    s.within_text = q.getColumn(first + 6).getString();
    auto within = parse_duration(s.within_text);
    if (!event || !segment || !within) return std::nullopt;
    s.event = *event;
    s.segment = *segment;
    s.within = *within;
    if (s.event == TriggerEvent::Move) {
        auto to = segment_ref(q.getColumn(first + 4), q.getColumn(first + 5));
        if (!to) return std::nullopt;
        s.to = *to;
    }
    return s;
}

// What a success means, whatever its spelling: the event, its segments and the window's
// length (`within 14d` and `within 2w` are one success, as are texts spaced otherwise).
std::string success_meaning(const SuccessDefinition& s) {
    auto ref = [](const SegmentRef& r) {
        return std::to_string(static_cast<int>(r.kind)) + ":" + r.path;
    };
    std::string key = std::to_string(static_cast<int>(s.event)) + "|" + ref(s.segment);
    if (s.event == TriggerEvent::Move) key += "|" + ref(s.to);
    return key + "|" + std::to_string(s.within.months) + "mo" + std::to_string(s.within.days) + "d";
}

// A point in a ruleset's sequence of runs: later as_of first, then higher run id.
struct RunPoint {
    std::string as_of;
    int64_t run_id = 0;
    bool operator<(const RunPoint& o) const {
        return as_of != o.as_of ? as_of < o.as_of : run_id < o.run_id;
    }
};

// What the runs' summaries say about the triggers.
struct StoredTriggers {
    // Per run, per trigger id: its success (nullopt: none).
    std::unordered_map<int64_t, std::unordered_map<std::string, std::optional<SuccessDefinition>>>
        by_run;
    struct Latest {
        RunPoint at;
        std::optional<std::string> on;
        std::optional<SuccessDefinition> success;
    };
    std::map<std::string, Latest> latest;  // per trigger id: the latest run that listed it
    std::vector<std::string> listed;       // the ids of the latest run that had triggers
};

StoredTriggers read_stored_triggers(SQLite::Database& state, const std::string& ruleset) {
    StoredTriggers out;
    // SQLite's JSON functions read each run's $.triggers[]; a summary that is not JSON (never
    // written so) lists none.
    SQLite::Statement q(
        state,
        "SELECT r.run_id, r.as_of, json_extract(t.value, '$.id'), json_extract(t.value, '$.on'), "
        "json_extract(t.value, '$.success.text'), json_extract(t.value, '$.success.event'), "
        "json_extract(t.value, '$.success.segment'), "
        "json_extract(t.value, '$.success.segment_kind'), json_extract(t.value, '$.success.to'), "
        "json_extract(t.value, '$.success.to_kind'), json_extract(t.value, '$.success.within') "
        "FROM strata_runs r, json_each(CASE WHEN json_valid(r.summary) THEN r.summary ELSE '{}' "
        "END, '$.triggers') t WHERE r.ruleset = ? AND t.type = 'object' "
        "ORDER BY r.as_of, r.run_id, t.key");
    q.bind(1, ruleset);
    RunPoint listing;
    while (q.executeStep()) {
        if (!q.getColumn(2).isText()) continue;
        const RunPoint at{q.getColumn(1).getString(), q.getColumn(0).getInt64()};
        const std::string id = q.getColumn(2).getString();
        auto success = read_success(q, 4);
        out.by_run[at.run_id][id] = success;
        auto& latest = out.latest[id];
        latest.at = at;
        latest.on =
            q.getColumn(3).isText() ? std::optional(q.getColumn(3).getString()) : std::nullopt;
        latest.success = success;
        // Rows come in run order, so a new run's first trigger starts a new list.
        if (out.listed.empty() || listing.run_id != at.run_id) out.listed.clear();
        listing = at;
        out.listed.push_back(id);
    }
    return out;
}

// One firing whose run stored a success for its trigger.
struct MeasuredFiring {
    size_t trigger;  // index into the readout's triggers
    bool held_out;
    Value key;
    Date fired_on;
    const SuccessDefinition* success;
};

bool has_table(SQLite::Database& state, const char* name) {
    SQLite::Statement q(state,
                        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
    q.bind(1, name);
    q.executeStep();
    return q.getColumn(0).getInt() > 0;
}

RulesetReadout readout_of(SQLite::Database& state, const std::string& ruleset) {
    RulesetReadout out;
    out.ruleset = ruleset;
    {
        SQLite::Statement q(state,
                            "SELECT run_id, as_of FROM strata_runs WHERE ruleset = ? "
                            "ORDER BY as_of DESC, run_id DESC LIMIT 1");
        q.bind(1, ruleset);
        if (!q.executeStep()) return out;
        out.latest_run = q.getColumn(0).getInt64();
        out.latest_as_of = q.getColumn(1).getString();
        // Every window is counted up to this day: a run row edited outside strata stops here.
        if (!parse_date(out.latest_as_of))
            throw std::runtime_error("run " + std::to_string(out.latest_run) + " of ruleset '" +
                                     ruleset + "' has the as_of '" + out.latest_as_of +
                                     "', which is not a date (strata_runs was changed outside "
                                     "strata)");
    }
    const StoredTriggers stored = read_stored_triggers(state, ruleset);
    std::unordered_map<std::string, size_t> index;
    auto trigger_named = [&](const std::string& id) -> size_t {
        auto [it, added] = index.emplace(id, out.triggers.size());
        if (added) {
            TriggerReadout t;
            t.ruleset = ruleset;
            t.trigger = id;
            if (auto latest = stored.latest.find(id); latest != stored.latest.end()) {
                t.on = latest->second.on;
                t.success = latest->second.success;
            }
            out.triggers.push_back(std::move(t));
        }
        return it->second;
    };
    for (const std::string& id : stored.listed)
        trigger_named(id);

    std::vector<MeasuredFiring> measured;
    std::vector<RunPoint> shown_from(out.triggers.size());  // the run each shown success is from
    std::vector<std::set<std::string>> texts;               // successes (by meaning) measured by
    if (has_table(state, "strata_outbox")) {
        // A firing is the row of its trigger's first action: one per (trigger, customer, as_of).
        SQLite::Statement q(state,
                            "SELECT trigger_id, customer_key, as_of, run_id, status "
                            "FROM strata_outbox WHERE ruleset = ? AND action = 0 ORDER BY id");
        q.bind(1, ruleset);
        while (q.executeStep()) {
            const size_t t = trigger_named(q.getColumn(0).getString());
            shown_from.resize(out.triggers.size());
            texts.resize(out.triggers.size());
            TriggerReadout& readout = out.triggers[t];
            const std::string status = q.getColumn(4).getString();
            if (status == "capped") {
                ++readout.capped;
                continue;
            }
            const bool held_out = status == "holdout";
            ++(held_out ? readout.held_out : readout.fired);
            const int64_t run = q.getColumn(3).getInt64();
            auto of_run = stored.by_run.find(run);
            if (of_run == stored.by_run.end()) continue;
            auto def = of_run->second.find(readout.trigger);
            if (def == of_run->second.end() || !def->second) continue;
            auto fired_on = parse_date(q.getColumn(2).getString());
            if (!fired_on) continue;
            measured.push_back(
                {t, held_out, key_from_column(q.getColumn(1)), *fired_on, &*def->second});
            // The success shown is the latest firing run's.
            const RunPoint at{q.getColumn(2).getString(), run};
            if (texts[t].empty() || shown_from[t] < at) {
                shown_from[t] = at;
                readout.success = *def->second;
            }
            texts[t].insert(success_meaning(*def->second));
        }
    }
    for (size_t t = 0; t < texts.size(); ++t)
        out.triggers[t].success_changed = texts[t].size() > 1;
    if (measured.empty()) return out;

    // The stays of every segment a measured success names, read once.
    std::vector<std::string> segments;
    bool every_general = false;
    auto wanted = [&](const SegmentRef& ref) {
        if (ref.kind == SegmentRef::Kind::Any || ref.kind == SegmentRef::Kind::None)
            every_general = true;
        else
            segments.push_back(ref.path);
    };
    std::set<const SuccessDefinition*> seen;
    for (const MeasuredFiring& f : measured) {
        if (!seen.insert(f.success).second) continue;
        wanted(f.success->segment);
        if (f.success->event == TriggerEvent::Move) wanted(f.success->to);
    }
    const StayIndex stays(state, ruleset, segments, every_general);
    const Date latest = parse_date(out.latest_as_of).value_or(Date{INT32_MIN});
    for (const MeasuredFiring& f : measured) {
        TriggerReadout& readout = out.triggers[f.trigger];
        GroupOutcome& group = f.held_out ? readout.held_out_group : readout.treated;
        const Date window_end = add_duration(f.fired_on, f.success->within, 1);
        if (window_end > latest) {
            ++group.still_open;
            continue;
        }
        ++group.matured;
        group.succeeded += stays.met(*f.success, f.key, f.fired_on, window_end);
    }
    for (TriggerReadout& t : out.triggers)
        t.difference = share_difference(t.treated, t.held_out_group);
    return out;
}

}  // namespace

std::optional<double> GroupOutcome::share() const {
    if (matured == 0) return std::nullopt;
    return static_cast<double>(succeeded) / static_cast<double>(matured);
}

std::optional<ShareDifference> share_difference(const GroupOutcome& treated,
                                                const GroupOutcome& held_out) {
    const auto p1 = treated.share();
    const auto p2 = held_out.share();
    if (!p1 || !p2) return std::nullopt;
    const double n1 = static_cast<double>(treated.matured);
    const double n2 = static_cast<double>(held_out.matured);
    const double d = *p1 - *p2;
    const double se = std::sqrt(*p1 * (1 - *p1) / n1 + *p2 * (1 - *p2) / n2);
    return ShareDifference{100 * d, 100 * (d - kZ95 * se), 100 * (d + kZ95 * se)};
}

std::optional<std::vector<RulesetReadout>> holdout_readout(
    SQLite::Database& state, const std::optional<std::string>& ruleset, StoreError& error) {
    std::vector<RulesetReadout> out;
    try {
        SQLite::Statement q(state, std::string("SELECT DISTINCT ruleset FROM strata_runs ") +
                                       (ruleset ? "WHERE ruleset = ? " : "") + "ORDER BY ruleset");
        if (ruleset) q.bind(1, *ruleset);
        std::vector<std::string> names;
        while (q.executeStep())
            names.push_back(q.getColumn(0).getString());
        for (const std::string& name : names)
            out.push_back(readout_of(state, name));
    } catch (const std::runtime_error& e) {  // SQLite::Exception, or a damaged run row
        error.message =
            "cannot read the triggers' readout from '" + state.getFilename() + "': " + e.what();
        return std::nullopt;
    }
    return out;
}

}  // namespace strata
