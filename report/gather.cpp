// The report's model from the rows a RunStore reads (report/run_store.hpp), the same for every
// store: which run, its summary, the runs before it, the moves between two runs, the triggers
// and the outbox. Summaries are read with SQLite's JSON functions (in a database of their own,
// whatever the store), as engine/state.cpp reads them.
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "dsl/calendar.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/state.hpp"
#include "report/report_model.hpp"
#include "report/run_store.hpp"

namespace strata::report {

namespace {

std::string text_or_empty(const SQLite::Column& c) {
    return c.isNull() ? std::string() : c.getString();
}

std::optional<double> number_or_none(const SQLite::Column& c) {
    if (c.isNull()) return std::nullopt;
    return c.getDouble();
}

// The shares again from the counts and value totals the summary keeps: the summary rounds each
// share to four places, and a percentage of that rounded share (75.75% of 0.7575) can differ
// from the run's own table (75.7% of 0.75748). A share the summary leaves null stays null.
void shares_from_totals(ReportModel& m) {
    for (SegmentRow& s : m.segments) {
        if (m.customers > 0)
            s.share = static_cast<double>(s.count) / static_cast<double>(m.customers);
        if (s.value_share && s.value_total && m.value_total && std::isfinite(*m.value_total) &&
            *m.value_total != 0)
            s.value_share = *s.value_total / *m.value_total;
    }
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
    SQLite::Statement q(db, "SELECT CASE WHEN json_valid(?1) THEN json_extract(?1, ?2) END");
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

// "1 customer row" or "2 customer rows": `n` with the noun for one or for more.
std::string counted(int64_t n, const std::string& one, const std::string& more) {
    return with_thousands(n) + " " + (n == 1 ? one : more);
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
    // A run inside a warehouse says why it has no findings (engine/run.hpp's not_computed).
    if (const std::string why = summary_text(db, summary, "$.not_computed"); !why.empty())
        m.notes.push_back("The run's data-quality findings are not known: " + why + ".");
    if (const int64_t n = q.getColumn(1).getInt64(); n > 0)
        m.data_quality_lines.push_back(counted(n, "customer row", "customer rows") +
                                       " without a key, left out");
    if (const int64_t n = q.getColumn(2).getInt64(); n > 0)
        m.data_quality_lines.push_back(counted(n, "customer row", "customer rows") +
                                       " whose key repeats an earlier row, left out");
    SQLite::Statement u(db,
                        "SELECT json_extract(value, '$.table'), json_extract(value, '$.column'), "
                        "json_extract(value, '$.type'), json_extract(value, '$.count'), "
                        "json_extract(value, '$.sample') FROM "
                        "json_each(?, '$.data_quality.unconvertible') ORDER BY key");
    u.bind(1, summary);
    while (u.executeStep()) {
        const int64_t n = u.getColumn(3).getInt64();
        m.data_quality_lines.push_back(
            counted(n, "value", "values") + " of " + u.getColumn(0).getString() + "." +
            u.getColumn(1).getString() + (n == 1 ? " is not " : " are not ") +
            u.getColumn(2).getString() + " (first: '" + text_or_empty(u.getColumn(4)) +
            "'), read as null");
    }
    for (const auto& [path, one, more] :
         {std::tuple{"$.data_quality.orphan_fact_rows", " row matches no customer",
                     " rows match no customer"},
          {"$.data_quality.unknown_time_fact_rows", " row has no readable time, left out",
           " rows have no readable time, left out"}}) {
        SQLite::Statement f(db, "SELECT key, value FROM json_each(?, ?) ORDER BY key");
        f.bind(1, summary);
        f.bind(2, path);
        while (f.executeStep()) {
            if (const int64_t n = f.getColumn(1).getInt64(); n > 0)
                m.data_quality_lines.push_back(with_thousands(n) + " " +
                                               f.getColumn(0).getString() + (n == 1 ? one : more));
        }
    }
}

// Turns the customers per pair of general segments between two runs into the moves section.
void add_moves(const FlowCounts& flows, const RunRecord& from, const RunRecord& to,
               const std::vector<SegmentRow>& order, ReportModel& m) {
    Moves moves;
    moves.from_run = from.run_id;
    moves.from_as_of = from.as_of;
    moves.to_run = to.run_id;
    moves.to_as_of = to.as_of;
    // Listed earlier in the file = more valuable: the run's order; segments only the earlier
    // run had rank after all of them.
    std::map<std::string, size_t> rank;
    for (const SegmentRow& s : order) {
        if (s.depth == 0) rank.emplace(s.id, rank.size());
    }
    auto rank_of = [&](const std::string& id) {
        auto it = rank.find(id);
        return it == rank.end() ? rank.size() : it->second;
    };
    std::map<std::pair<std::string, std::string>, int64_t> counts;
    for (const auto& [pair, count] : flows) {
        const auto& [a, b] = pair;
        if (a.empty() && b.empty()) continue;
        if (a.empty()) {
            counts[{"(new)", b}] += count;
            moves.entered += count;
        } else if (b.empty()) {
            counts[{a, "(left)"}] += count;
            moves.left += count;
        } else {
            counts[{a, b}] += count;
            if (a == b)
                moves.stayed += count;
            else
                (rank_of(b) < rank_of(a) ? moves.up : moves.down) += count;
        }
    }
    for (const auto& [pair, count] : counts)
        moves.flows.push_back({pair.first, pair.second, count});
    m.moves = std::move(moves);
}

// Each general segment's size at every run of the ruleset up to the reported one (`runs`: the
// store's runs, in run id order). A run whose summary has no segments is left out, and so is
// one customer's evaluation (strata eval --apply): its summary repeats another run's counts.
void read_history(SQLite::Database& json, const std::vector<RunRecord>& runs, ReportModel& m) {
    SQLite::Statement q(json,
                        "SELECT json_extract(s.value, '$.id'), json_extract(s.value, '$.count') "
                        "FROM json_each(CASE WHEN json_valid(?1) THEN ?1 ELSE '{}' END, "
                        "'$.segments') s ORDER BY s.key");
    SizeHistory& h = m.history;
    for (const SegmentRow& s : m.segments) {
        if (s.depth == 0) h.segments.push_back(s.id);
    }
    std::vector<std::tuple<size_t, std::string, int64_t>> cells;
    for (const RunRecord& run : runs) {
        if (run.ruleset != m.ruleset || run.run_id > m.run_id) continue;
        if (summary_text(json, run.summary_json, "$.mode") == "eval") continue;
        q.reset();
        q.bind(1, run.summary_json);
        while (q.executeStep()) {
            if (h.runs.empty() || h.runs.back() != run.run_id) {
                h.runs.push_back(run.run_id);
                h.as_of.push_back(run.as_of);
            }
            const std::string id = q.getColumn(0).getString();
            if (std::find(h.segments.begin(), h.segments.end(), id) == h.segments.end())
                h.segments.push_back(id);
            cells.emplace_back(h.runs.size() - 1, id, q.getColumn(1).getInt64());
        }
    }
    for (const std::string& id : h.segments)
        h.counts[id].assign(h.runs.size(), 0);
    for (const auto& [run, id, count] : cells)
        h.counts[id][run] = count;
}

// What the run's triggers did, from its summary.
void read_triggers(SQLite::Database& json, const std::string& summary, ReportModel& m) {
    m.firing = summary_text(json, summary, "$.firing");
    SQLite::Statement q(json,
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
}

void add_quality_flags(ReportModel& m) {
    size_t general = 0;
    for (const SegmentRow& s : m.segments) {
        if (s.depth > 0) continue;
        ++general;
        // The count against the base, not the stored share (rounded to 4 decimals): 51 of
        // 5,125 is below 1% although its share is stored as 0.0100. In whole numbers, so that
        // a count exactly at the share (252 of 3,000 at 8.4%) is not below it.
        const bool too_small =
            m.customers > 0 ? static_cast<int64_t>(s.count) * 10000 <
                                  m.min_share_basis_points * static_cast<int64_t>(m.customers)
                            : s.share < m.min_share;
        if (too_small)
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
    // The workload of the general segments: a tactical segment's customers are contacted as
    // its general segment's (docs/report.md).
    for (const SegmentRow& s : m.segments) {
        if (s.depth == 0 && s.contacts_per_month && !s.channel.empty())
            m.contacts_by_channel[s.channel] += *s.contacts_per_month;
    }
}

}  // namespace

std::optional<double> contacts_per_month(const std::string& contact_every) {
    if (contact_every.empty()) return std::nullopt;
    const auto d = parse_duration(contact_every);
    if (!d || (d->months <= 0 && d->days <= 0)) return std::nullopt;
    // An average month is 365.25 / 12 = 30.4375 days.
    constexpr double kDaysPerMonth = 365.25 / 12;
    const double days = d->months * kDaysPerMonth + d->days;
    return kDaysPerMonth / days;
}

void apply_rule_settings(const CompiledRules& rules, ReportModel& m) {
    if (rules.rules.report_min_share_basis_points) {
        m.min_share_basis_points = *rules.rules.report_min_share_basis_points;
        m.min_share = static_cast<double>(m.min_share_basis_points) / 10000.0;
    }
    m.value_name = rules.rules.value.present() ? rules.rules.value.text : std::string();
}

std::optional<ReportModel> gather_from_store(RunStore& store, const ReportRequest& request,
                                             std::string& error) {
    try {
        const auto all = store.runs();
        const std::string where = store.where();
        const std::string no_runs = "no runs are stored in '" + where + "'; run 'strata run' first";
        if (!all || all->empty()) {
            error = no_runs;
            return std::nullopt;
        }
        auto ruleset_of_run = [&](int64_t id) -> std::optional<std::string> {
            for (const RunRecord& r : *all) {
                if (r.run_id == id) return r.ruleset;
            }
            return std::nullopt;
        };
        std::string ruleset;
        if (request.ruleset)
            ruleset = *request.ruleset;
        else if (auto of_run = request.run ? ruleset_of_run(*request.run) : std::nullopt)
            ruleset = *of_run;  // --run alone: that run's ruleset
        else
            ruleset = all->back().ruleset;
        std::vector<const RunRecord*> runs;
        for (const RunRecord& r : *all) {
            if (r.ruleset == ruleset) runs.push_back(&r);
        }
        std::string hint = store.listing_hint();
        if (hint.empty() && !runs.empty()) {
            hint = " (the stored runs of ruleset '" + ruleset + "':";
            for (const RunRecord* r : runs)
                hint += " " + std::to_string(r->run_id);
            hint += ")";
        }
        if (runs.empty()) {
            // --run of another ruleset's run: that is the mistake, not the ruleset's name.
            if (request.run)
                if (auto other = ruleset_of_run(*request.run); other && *other != ruleset) {
                    error = "run " + std::to_string(*request.run) + " is a run of ruleset '" +
                            *other + "', not of '" + ruleset + "'";
                    return std::nullopt;
                }
            std::vector<std::string> stored_rulesets;
            for (const RunRecord& r : *all)
                stored_rulesets.push_back(r.ruleset);
            const std::string listing = store.listing_hint();
            error = "no stored run of ruleset '" + ruleset + "' in '" + where + "'" +
                    did_you_mean(ruleset, stored_rulesets) +
                    (listing.empty() ? " ('strata runs --db URL' lists the stored runs)" : listing);
            return std::nullopt;
        }
        // Run `id` of the ruleset, or why not.
        auto find = [&](int64_t id, const std::string& what) -> const RunRecord* {
            for (const RunRecord* r : runs) {
                if (r->run_id == id) return r;
            }
            const std::string run = what + "run " + std::to_string(id);
            if (auto other = ruleset_of_run(id))
                error = run + " is a run of ruleset '" + *other + "', not of '" + ruleset + "'";
            else
                error = run + " does not exist in '" + where + "'" + hint;
            return nullptr;
        };
        // One customer's evaluation stored by `strata eval --apply` is a run too, but its
        // summary counts the segments as the run whose thresholds it used: a report is of a
        // run of the whole base.
        SQLite::Database json(":memory:", SQLite::OPEN_READWRITE);
        auto is_evaluation = [&](const RunRecord& r) {
            return summary_text(json, r.summary_json, "$.mode") == "eval";
        };
        std::vector<const RunRecord*> batch;
        for (const RunRecord* r : runs) {
            if (!is_evaluation(*r)) batch.push_back(r);
        }
        const RunRecord* run = nullptr;
        if (request.run) {
            run = find(*request.run, "");
            if (run && is_evaluation(*run)) {
                error = "run " + std::to_string(run->run_id) +
                        " is one customer's evaluation (strata eval --apply), not a run of the "
                        "whole base; report a run of 'strata run'" +
                        (batch.empty()
                             ? std::string()
                             : " (the latest is run " + std::to_string(batch.back()->run_id) + ")");
                return std::nullopt;
            }
        } else {
            // The latest: the latest as_of, and of those the highest run id.
            for (const RunRecord* r : batch) {
                if (!run || std::tie(r->as_of, r->run_id) > std::tie(run->as_of, run->run_id))
                    run = r;
            }
            if (!run)
                error = "ruleset '" + ruleset +
                        "' has only evaluations of single customers "
                        "stored (strata eval --apply); run 'strata run' first";
        }
        if (!run) return std::nullopt;
        const RunRecord* compare = nullptr;
        if (request.compare) {
            if (*request.compare == run->run_id) {
                error = "--compare " + std::to_string(*request.compare) +
                        " is the run reported; give another run of " + ruleset;
                return std::nullopt;
            }
            compare = find(*request.compare, "--compare ");
            if (!compare) return std::nullopt;
        } else {
            // The ruleset's run of the whole base before the reported one.
            for (const RunRecord* r : batch) {
                if (r->run_id < run->run_id) compare = r;
            }
        }

        ReportModel m;
        size_t evaluations_after = 0;
        for (const RunRecord* r : runs) {
            if (r->run_id > run->run_id && is_evaluation(*r)) ++evaluations_after;
        }
        if (evaluations_after > 0)
            m.notes.push_back(std::to_string(evaluations_after) +
                              (evaluations_after == 1 ? " evaluation of one customer was"
                                                      : " evaluations of single customers were") +
                              " stored after run " + std::to_string(run->run_id) +
                              " (strata eval --apply): the report shows the run without them.");
        m.ruleset = run->ruleset;
        m.version = run->version;
        m.sha256 = run->rules_sha256;
        m.as_of = run->as_of;
        m.run_id = run->run_id;
        m.ran_at = run->started_at;
        m.customers = run->customers;
        if (m.customers == 0)
            m.notes.push_back("Run " + std::to_string(run->run_id) + " placed no customers: the " +
                              "customer table had none at its as_of " + run->as_of +
                              ". The charts that share out customers are left out.");
        const std::string& summary = run->summary_json;
        {
            SQLite::Statement q(json,
                                "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN "
                                "json_extract(?1, '$.value_total') END");
            q.bind(1, summary);
            q.executeStep();
            if (q.getColumn(0).getInt() != 1) {
                error = "column 'summary' of run " + std::to_string(run->run_id) +
                        " in table 'strata_runs' of '" + where + "' is not JSON";
                return std::nullopt;
            }
            m.value_total = number_or_none(q.getColumn(1));
        }
        SQLite::Statement segments(json, "SELECT json_extract(?, '$.segments')");
        segments.bind(1, summary);
        if (segments.executeStep() && !segments.getColumn(0).isNull())
            read_segments(json, segments.getColumn(0).getString(), 0, "", m.segments);
        shares_from_totals(m);
        read_data_quality(json, summary, m);
        store.add_customer_values(*run, m);
        add_quality_flags(m);
        if (compare && store.has_membership())
            add_moves(store.flows(*compare, *run), *compare, *run, m.segments, m);
        read_history(json, *all, m);
        read_triggers(json, summary, m);
        m.outbox = store.outbox(m.ruleset);
        store.add_readout(m);
        return m;
    } catch (const StoreReadError& e) {
        error = e.message;  // it names the server or the table already
        return std::nullopt;
    } catch (const SQLite::Exception& e) {
        error = std::string("database error: ") + e.what();
        return std::nullopt;
    }
}

}  // namespace strata::report
