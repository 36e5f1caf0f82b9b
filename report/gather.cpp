// The report's model from the stored state: which run, its summary, the runs before it, the
// moves between two runs, the triggers and the outbox. Summaries are read with SQLite's JSON
// functions, as engine/state.cpp reads them.
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cmath>

#include "analysis/holdout_readout.hpp"
#include "dsl/calendar.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "report/customer_values.hpp"
#include "report/report_model.hpp"

namespace strata::report {

namespace {

std::string text_or_empty(const SQLite::Column& c) {
    return c.isNull() ? std::string() : c.getString();
}

std::optional<double> number_or_none(const SQLite::Column& c) {
    if (c.isNull()) return std::nullopt;
    return c.getDouble();
}

// The segments of a summary's JSON array `array` (a general level or a segment's tactical
// list), each followed by its tactical segments, depth first.
void read_segments(SQLite::Database& db, const std::string& array, int depth,
                   const std::string& parent, std::vector<SegmentRow>& out) {
    SQLite::Statement q(db,
                        "SELECT json_extract(value, '$.id'), json_extract(value, '$.label'), "
                        "json_extract(value, '$.count'), json_extract(value, '$.share'), "
                        "json_extract(value, '$.value_total'), json_extract(value, '$.value_avg'), "
                        "json_extract(value, '$.value_share'), json_extract(value, '$.goal'), "
                        "json_extract(value, '$.offer'), json_extract(value, '$.channel'), "
                        "json_extract(value, '$.contact_every'), json_extract(value, "
                        "'$.priority'), json_extract(value, '$.path'), json_extract(value, "
                        "'$.tactical') FROM json_each(?) ORDER BY key");
    q.bind(1, array);
    std::vector<std::pair<SegmentRow, std::string>> rows;
    while (q.executeStep()) {
        SegmentRow s;
        s.id = text_or_empty(q.getColumn(0));
        s.label = text_or_empty(q.getColumn(1));
        s.count = q.getColumn(2).getInt64();
        s.share = q.getColumn(3).getDouble();
        s.value_total = number_or_none(q.getColumn(4));
        s.value_avg = number_or_none(q.getColumn(5));
        s.value_share = number_or_none(q.getColumn(6));
        s.goal = text_or_empty(q.getColumn(7));
        s.offer = text_or_empty(q.getColumn(8));
        s.channel = text_or_empty(q.getColumn(9));
        s.contact_every = text_or_empty(q.getColumn(10));
        if (!q.getColumn(11).isNull()) s.priority = q.getColumn(11).getInt64();
        s.path = text_or_empty(q.getColumn(12));
        if (s.path.empty()) s.path = s.id;
        s.depth = depth;
        s.parent = parent;
        s.contacts_per_month = contacts_per_month(s.contact_every);
        if (s.contacts_per_month) *s.contacts_per_month *= static_cast<double>(s.count);
        rows.emplace_back(std::move(s), text_or_empty(q.getColumn(13)));
    }
    for (auto& [row, tactical] : rows) {
        const std::string general = depth == 0 ? row.id : parent;
        out.push_back(std::move(row));
        if (!tactical.empty() && tactical != "[]")
            read_segments(db, tactical, depth + 1, general, out);
    }
}

std::string summary_text(SQLite::Database& db, const std::string& summary, const char* path) {
    SQLite::Statement q(db, "SELECT json_extract(?, ?)");
    q.bind(1, summary);
    q.bind(2, path);
    if (!q.executeStep() || q.getColumn(0).isNull()) return {};
    return q.getColumn(0).getString();
}

std::string with_thousands(int64_t n) {
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

// The data-quality findings of a summary, in words.
void read_data_quality(SQLite::Database& db, const std::string& summary, ReportModel& m) {
    SQLite::Statement q(db,
                        "SELECT json_extract(?1, '$.data_quality.findings'), "
                        "json_extract(?1, '$.data_quality.null_keys'), "
                        "json_extract(?1, '$.data_quality.duplicate_keys')");
    q.bind(1, summary);
    if (!q.executeStep()) return;
    m.data_quality_findings = q.getColumn(0).getInt64();
    if (const int64_t n = q.getColumn(1).getInt64(); n > 0)
        m.data_quality_lines.push_back(with_thousands(n) +
                                       " customer rows without a key, left out");
    if (const int64_t n = q.getColumn(2).getInt64(); n > 0)
        m.data_quality_lines.push_back(with_thousands(n) +
                                       " customer rows whose key repeats an earlier row, left out");
    SQLite::Statement u(db,
                        "SELECT json_extract(value, '$.table'), json_extract(value, '$.column'), "
                        "json_extract(value, '$.type'), json_extract(value, '$.count'), "
                        "json_extract(value, '$.sample') FROM "
                        "json_each(?, '$.data_quality.unconvertible') ORDER BY key");
    u.bind(1, summary);
    while (u.executeStep())
        m.data_quality_lines.push_back(
            with_thousands(u.getColumn(3).getInt64()) + " values of " + u.getColumn(0).getString() +
            "." + u.getColumn(1).getString() + " are not " + u.getColumn(2).getString() +
            " (first: '" + text_or_empty(u.getColumn(4)) + "'), read as null");
    for (const auto& [path, words] :
         {std::pair{"$.data_quality.orphan_fact_rows", " rows match no customer"},
          {"$.data_quality.unknown_time_fact_rows", " rows have no readable time, left out"}}) {
        SQLite::Statement f(db, "SELECT key, value FROM json_each(?, ?) ORDER BY key");
        f.bind(1, summary);
        f.bind(2, path);
        while (f.executeStep()) {
            if (f.getColumn(1).getInt64() > 0)
                m.data_quality_lines.push_back(with_thousands(f.getColumn(1).getInt64()) + " " +
                                               f.getColumn(0).getString() + words);
        }
    }
}

std::optional<std::string> ruleset_of_run(SQLite::Database& state, int64_t run_id) {
    SQLite::Statement q(state, "SELECT ruleset FROM strata_runs WHERE run_id = ?");
    q.bind(1, run_id);
    if (q.executeStep()) return q.getColumn(0).getString();
    return std::nullopt;
}

// Finds run `run_id` of `ruleset`, or explains why not.
std::optional<RunRecord> find_ruleset_run(SQLite::Database& state, const std::string& ruleset,
                                          int64_t run_id, const char* what, std::string& error) {
    StoreError store_error;
    auto record = find_run(state, ruleset, run_id, store_error);
    if (record) return record;
    const std::string run =
        (*what ? std::string(what) + " run " : std::string("run ")) + std::to_string(run_id);
    if (!store_error.message.empty())
        error = store_error.message;
    else if (auto other = ruleset_of_run(state, run_id))
        error = run + " is a run of ruleset '" + *other + "', not of '" + ruleset + "'";
    else
        error = run + " does not exist in '" + state.getFilename() +
                "' ('strata runs' lists the stored runs)";
    return std::nullopt;
}

void read_moves(SQLite::Database& state, const RunRecord& from, const RunRecord& to,
                const std::vector<SegmentRow>& order, ReportModel& m) {
    StoreError error;
    const auto before = load_membership(state, from.run_id, error);
    const auto after = load_membership(state, to.run_id, error);
    if (!error.message.empty()) throw SQLite::Exception(error.message);
    Moves moves;
    moves.from_run = from.run_id;
    moves.from_as_of = from.as_of;
    moves.to_run = to.run_id;
    moves.to_as_of = to.as_of;
    // Listed earlier in the file = more valuable: the run's order, then segments only the
    // earlier run had, in the order they first appear.
    std::map<std::string, size_t> rank;
    for (const SegmentRow& s : order) {
        if (s.depth == 0) rank.emplace(s.id, rank.size());
    }
    std::map<std::pair<std::string, std::string>, int64_t> counts;
    size_t i = 0, j = 0;
    while (i < before.size() || j < after.size()) {
        int c = 0;
        if (i == before.size())
            c = 1;
        else if (j == after.size())
            c = -1;
        else
            c = compare_keys(before[i].key, after[j].key);
        if (c < 0) {
            ++counts[{before[i].segment.str(), "(left)"}];
            ++moves.left;
            ++i;
        } else if (c > 0) {
            ++counts[{"(new)", after[j].segment.str()}];
            ++moves.entered;
            ++j;
        } else {
            const std::string a = before[i].segment.str(), b = after[j].segment.str();
            ++counts[{a, b}];
            if (a == b) {
                ++moves.stayed;
            } else {
                const size_t ra = rank.emplace(a, rank.size()).first->second;
                const size_t rb = rank.emplace(b, rank.size()).first->second;
                ++(rb < ra ? moves.up : moves.down);
            }
            ++i;
            ++j;
        }
    }
    for (const auto& [pair, count] : counts)
        moves.flows.push_back({pair.first, pair.second, count});
    m.moves = std::move(moves);
}

void read_history(SQLite::Database& state, ReportModel& m) {
    SQLite::Statement q(state,
                        "SELECT r.run_id, r.as_of, json_extract(s.value, '$.id'), "
                        "json_extract(s.value, '$.count') FROM strata_runs r, "
                        "json_each(CASE WHEN json_valid(r.summary) THEN r.summary ELSE '{}' END, "
                        "'$.segments') s WHERE r.ruleset = ? AND r.run_id <= ? "
                        "ORDER BY r.run_id, s.key");
    q.bind(1, m.ruleset);
    q.bind(2, m.run_id);
    SizeHistory& h = m.history;
    for (const SegmentRow& s : m.segments) {
        if (s.depth == 0) h.segments.push_back(s.id);
    }
    std::vector<std::tuple<size_t, std::string, int64_t>> cells;
    while (q.executeStep()) {
        const int64_t run = q.getColumn(0).getInt64();
        if (h.runs.empty() || h.runs.back() != run) {
            h.runs.push_back(run);
            h.as_of.push_back(q.getColumn(1).getString());
        }
        const std::string id = q.getColumn(2).getString();
        if (std::find(h.segments.begin(), h.segments.end(), id) == h.segments.end())
            h.segments.push_back(id);
        cells.emplace_back(h.runs.size() - 1, id, q.getColumn(3).getInt64());
    }
    for (const std::string& id : h.segments)
        h.counts[id].assign(h.runs.size(), 0);
    for (const auto& [run, id, count] : cells)
        h.counts[id][run] = count;
}

void read_triggers(SQLite::Database& state, const std::string& summary, const StateTables& tables,
                   ReportModel& m) {
    m.firing = summary_text(state, summary, "$.firing");
    SQLite::Statement q(state,
                        "SELECT json_extract(value, '$.id'), json_extract(value, '$.on'), "
                        "json_extract(value, '$.customers'), json_extract(value, '$.enqueued'), "
                        "json_extract(value, '$.held_out'), json_extract(value, '$.capped'), "
                        "json_extract(value, '$.cooled_down') FROM json_each(?, '$.triggers') "
                        "ORDER BY key");
    q.bind(1, summary);
    while (q.executeStep()) {
        TriggerRow t;
        t.id = text_or_empty(q.getColumn(0));
        t.on = text_or_empty(q.getColumn(1));
        t.customers = q.getColumn(2).getInt64();
        t.enqueued = q.getColumn(3).getInt64();
        t.held_out = q.getColumn(4).getInt64();
        t.capped = q.getColumn(5).getInt64();
        t.cooled_down = q.getColumn(6).getInt64();
        m.triggers.push_back(std::move(t));
    }
    if (state.tableExists("strata_outbox")) {
        SQLite::Statement o(state,
                            "SELECT trigger_id, status, count(*) FROM strata_outbox "
                            "WHERE ruleset = ? GROUP BY trigger_id, status "
                            "ORDER BY trigger_id, status");
        o.bind(1, m.ruleset);
        while (o.executeStep())
            m.outbox.push_back({o.getColumn(0).getString(), o.getColumn(1).getString(),
                                o.getColumn(2).getInt64()});
    }
    if (!tables.stays) return;
    StoreError error;
    auto readout = holdout_readout(state, m.ruleset, error);
    if (!readout) throw SQLite::Exception(error.message);
    for (const RulesetReadout& r : *readout) {
        for (const TriggerReadout& t : r.triggers) {
            ReadoutRow row;
            row.trigger = t.trigger;
            row.success = t.success ? t.success->text : std::string();
            row.fired = static_cast<int64_t>(t.fired);
            row.held_out = static_cast<int64_t>(t.held_out);
            row.treated_share = t.treated.share();
            row.held_out_share = t.held_out_group.share();
            if (t.difference) {
                row.difference_pp = t.difference->points;
                row.low_pp = t.difference->low;
                row.high_pp = t.difference->high;
            }
            m.readout.push_back(std::move(row));
        }
    }
}

void add_quality_flags(ReportModel& m) {
    size_t general = 0;
    for (const SegmentRow& s : m.segments) {
        if (s.depth > 0) continue;
        ++general;
        if (s.share < m.min_share)
            m.flags.push_back({s.path, "too_small",
                               "holds " + std::to_string(s.count) +
                                   " customers, below the smallest share worth acting on"});
        if (s.offer.empty() || s.channel.empty())
            m.flags.push_back({s.path, "not_actionable",
                               std::string("has no ") +
                                   (s.offer.empty() && s.channel.empty() ? "offer and no channel"
                                    : s.offer.empty()                    ? "offer"
                                                                         : "channel") +
                                   ", so nobody knows what to do with it"});
    }
    if (general > 10)
        m.flags.push_back(
            {"", "too_many_segments",
             std::to_string(general) +
                 " general segments: more than 10 confuse the people who act on them"});
    if (m.data_quality_findings > 0)
        m.flags.push_back({"", "data_quality",
                           std::to_string(m.data_quality_findings) +
                               " data-quality findings in the run (listed in the header)"});
    for (const SegmentRow& s : m.segments) {
        if (s.contacts_per_month && !s.channel.empty())
            m.contacts_by_channel[s.channel] += *s.contacts_per_month;
    }
}

}  // namespace

std::optional<double> contacts_per_month(const std::string& contact_every) {
    if (contact_every.empty()) return std::nullopt;
    const auto d = parse_duration(contact_every);
    if (!d || (d->months <= 0 && d->days <= 0)) return std::nullopt;
    // An average month is 30.44 days (365.25 / 12).
    const double days = d->months * 30.44 + d->days;
    return 30.44 / days;
}

std::optional<ReportModel> gather_report(SQLite::Database& data, SQLite::Database& state,
                                         const ReportRequest& request, std::string& error) {
    try {
        StoreError store_error;
        const auto tables = state_tables(state, store_error);
        if (!tables) {
            error = store_error.message;
            return std::nullopt;
        }
        const std::string file = state.getFilename();
        const std::string no_runs = "no runs are stored in '" + file + "'; run 'strata run' first";
        if (!tables->runs) {
            error = no_runs;
            return std::nullopt;
        }
        std::string ruleset;
        if (request.ruleset) {
            ruleset = *request.ruleset;
        } else if (auto of_run = request.run ? ruleset_of_run(state, *request.run)
                                             : std::optional<std::string>()) {
            ruleset = *of_run;  // --run alone: that run's ruleset
        } else {
            SQLite::Statement q(state,
                                "SELECT ruleset FROM strata_runs ORDER BY run_id DESC LIMIT 1");
            if (!q.executeStep()) {
                error = no_runs;
                return std::nullopt;
            }
            ruleset = q.getColumn(0).getString();
        }
        auto runs = list_runs(state, ruleset, store_error);
        if (!runs) {
            error = store_error.message;
            return std::nullopt;
        }
        if (runs->empty()) {
            error = "no stored run of ruleset '" + ruleset + "' in '" + file +
                    "' ('strata runs' lists the stored runs)";
            return std::nullopt;
        }
        std::optional<RunRecord> run;
        if (request.run) {
            run = find_ruleset_run(state, ruleset, *request.run, "", error);
        } else {
            run = find_run(state, ruleset, std::nullopt, store_error);
            error = store_error.message;
        }
        if (!run) return std::nullopt;
        std::optional<RunRecord> compare;
        if (request.compare) {
            if (*request.compare == run->run_id) {
                error = "--compare " + std::to_string(*request.compare) +
                        " is the run reported; give an earlier run of " + ruleset;
                return std::nullopt;
            }
            compare = find_ruleset_run(state, ruleset, *request.compare, "--compare", error);
            if (!compare) return std::nullopt;
        } else {
            // The ruleset's run before the reported one.
            std::optional<int64_t> before;
            for (const RunListing& r : *runs) {
                if (r.run_id < run->run_id) before = r.run_id;
            }
            if (before) compare = find_run(state, ruleset, *before, store_error);
        }

        ReportModel m;
        m.ruleset = run->ruleset;
        m.version = run->version;
        m.sha256 = run->rules_sha256;
        m.as_of = run->as_of;
        m.run_id = run->run_id;
        m.ran_at = run->started_at;
        m.customers = run->customers;
        const std::string& summary = run->summary_json;
        {
            SQLite::Statement q(state, "SELECT json_valid(?1), json_extract(?1, '$.value_total')");
            q.bind(1, summary);
            q.executeStep();
            if (q.getColumn(0).getInt() != 1) {
                error = "the summary of run " + std::to_string(run->run_id) + " is not JSON";
                return std::nullopt;
            }
            m.value_total = number_or_none(q.getColumn(1));
        }
        SQLite::Statement segments(state, "SELECT json_extract(?, '$.segments')");
        segments.bind(1, summary);
        if (segments.executeStep() && !segments.getColumn(0).isNull())
            read_segments(state, segments.getColumn(0).getString(), 0, "", m.segments);
        read_data_quality(state, summary, m);
        add_customer_values(data, state, *run, m);
        add_quality_flags(m);
        if (compare && tables->stays) read_moves(state, *compare, *run, m.segments, m);
        read_history(state, m);
        read_triggers(state, summary, *tables, m);
        return m;
    } catch (const SQLite::Exception& e) {
        error = std::string("database error: ") + e.what();
        return std::nullopt;
    }
}

}  // namespace strata::report
