#include "report/html.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/json.hpp"
#include "engine/numeric.hpp"

namespace strata::report {

namespace {

std::string escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string fixed(double v, int decimals) {
    std::string s = format_fixed(v, decimals);
    if (s == "-0" || s.find_first_not_of("-0.") == std::string::npos) {
        if (!s.empty() && s[0] == '-') s.erase(0, 1);
    }
    return s;
}

// 1234567.891 with 2 decimals as 1,234,567.89.
std::string grouped(double v, int decimals) {
    return group_thousands(fixed(v, decimals));
}

// A share the rule file set (in basis points) as a percentage with the decimals it was written
// with: 0.07 as 7, 0.005 as 0.5, 0.0125 as 1.25 (a double's 7.000000000000001 is still 7).
std::string share_setting(double share) {
    const double basis_points = std::round(share * 10000);
    const int decimals = std::fmod(basis_points, 100) == 0  ? 0
                         : std::fmod(basis_points, 10) == 0 ? 1
                                                            : 2;
    return fixed(basis_points / 100, decimals);
}

std::string count_text(int64_t n) {
    return grouped(static_cast<double>(n), 0);
}

std::string percent(double share) {
    if (share > 0 && share < 0.0005) return "&lt;0.1%";
    return fixed(100 * share, 1) + "%";
}

std::string attr(const char* name, const std::string& value) {
    return std::string(" ") + name + "=\"" + escape(value) + "\"";
}

std::string or_dash(const std::string& s) {
    return s.empty() ? "<span class=\"none\">–</span>" : escape(s);
}

const char* kStyle = R"css(
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --band:#f8fafc; --accent:#2563eb; --warn:#b45309; --bad:#b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--ink); background: #f3f4f6; }
main { max-width: 1240px; margin: 0 auto; padding: 24px; }
header, section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; margin-bottom: 18px; }
h1 { font-size: 22px; margin: 0 0 4px; } h1 .version { color: var(--muted); font-weight: 500; }
h2 { font-size: 17px; margin: 0 0 4px; } .lead { color: var(--muted); margin: 0 0 12px; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 14px 0 6px; }
.fact { background: var(--band); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.fact .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.fact .v { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.note { background: #fffbeb; border: 1px solid #fde68a; border-radius: 8px; padding: 8px 12px; margin: 8px 0 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.n, th.n { text-align: right; white-space: nowrap; }
tr.tactical td { background: var(--band); font-size: 13px; } tr.tactical td.name { padding-left: 26px; }
td.name b { display: block; } td.name code, code { color: var(--muted); font-size: 12px; }
.none { color: #c0c4cc; }
.badge { display: inline-block; font-size: 11px; border-radius: 999px; padding: 1px 7px; margin: 2px 2px 0 0; white-space: nowrap; }
.badge.too_small { background: #fef3c7; color: var(--warn); } .badge.not_actionable { background: #fee2e2; color: var(--bad); }
.let { display: inline-block; font-size: 12px; margin-right: 8px; white-space: nowrap; }
.let.up { color: #047857; } .let.down { color: #b91c1c; }
.scroll { overflow-x: auto; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.chart { width: 100%; height: 360px; } .chart.tall { height: 440px; }
.charts.one { grid-template-columns: 1fr; }
ul.flags { margin: 6px 0 0; padding-left: 18px; } ul.flags li { margin: 2px 0; }
.counts { display: flex; gap: 10px; flex-wrap: wrap; margin: 8px 0 12px; }
.counts span { background: var(--band); border: 1px solid var(--line); border-radius: 8px; padding: 4px 10px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding-bottom: 18px; }
@media (max-width: 860px) { .charts { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } header, section { break-inside: avoid; border: none; } }
)css";

void fact(std::ostream& o, const char* id, const char* label, const std::string& shown,
          const std::string& value) {
    o << "<div class=\"fact\"><div class=\"k\">" << label << "</div><div class=\"v\" id=\"" << id
      << "\" data-value=\"" << escape(value) << "\">" << shown << "</div></div>\n";
}

void write_header(std::ostream& o, const ReportModel& m) {
    o << "<header id=\"report-header\"" << attr("data-ruleset", m.ruleset)
      << attr("data-version", std::to_string(m.version))
      << attr("data-run", std::to_string(m.run_id)) << attr("data-as-of", m.as_of) << ">\n";
    o << "<h1>" << escape(m.ruleset) << " <span class=\"version\">v" << m.version
      << "</span></h1>\n<p class=\"lead\">Segmentation report of run " << m.run_id << ", as of "
      << escape(m.as_of) << " (ran " << escape(m.ran_at) << ", rules sha256 <code>"
      << escape(m.sha256.substr(0, 12)) << "</code>)</p>\n<div class=\"facts\">\n";
    fact(o, "fact-ruleset", "Ruleset", escape(m.ruleset), m.ruleset);
    fact(o, "fact-version", "Version", std::to_string(m.version), std::to_string(m.version));
    fact(o, "fact-as-of", "As of", escape(m.as_of), m.as_of);
    fact(o, "fact-run", "Run", std::to_string(m.run_id), std::to_string(m.run_id));
    fact(o, "fact-customers", "Customers", count_text(m.customers), std::to_string(m.customers));
    if (m.value_total)
        fact(o, "fact-value-total",
             ("Total value" + (m.value_name.empty() ? "" : " (" + escape(m.value_name) + ")"))
                 .c_str(),
             grouped(*m.value_total, 2), fixed(*m.value_total, 2));
    fact(o, "fact-findings", "Data-quality findings", count_text(m.data_quality_findings),
         std::to_string(m.data_quality_findings));
    o << "</div>\n";
    if (!m.data_quality_lines.empty()) {
        o << "<ul class=\"flags\" id=\"data-quality\">\n";
        for (const auto& line : m.data_quality_lines)
            o << "<li>" << escape(line) << "</li>\n";
        o << "</ul>\n";
    }
    for (const auto& note : m.notes)
        o << "<p class=\"note\">" << escape(note) << "</p>\n";
    o << "</header>\n";
}

void write_segments(std::ostream& o, const ReportModel& m) {
    const bool value = m.value_total.has_value();
    o << "<section id=\"segments\"><h2>Segments</h2>\n<p class=\"lead\">Every customer is in "
         "exactly one general segment; tactical segments (indented) nest inside them. "
         "<em>Differs from the base</em>: the lets whose average in the segment is furthest from "
         "the whole base's, in standard deviations of the base.</p>\n<div class=\"scroll\"><table "
         "id=\"segment-table\"><thead><tr><th>Segment</th><th class=\"n\">Customers</th><th "
         "class=\"n\">Share</th>";
    if (value)
        o << "<th class=\"n\">Avg value</th><th class=\"n\">Total value</th><th "
             "class=\"n\">Value share</th>";
    o << "<th>Goal</th><th>Offer</th><th>Channel</th><th>Contact</th><th "
         "class=\"n\">Priority</th><th>Differs from the base</th></tr></thead>\n<tbody>\n";
    for (const SegmentRow& s : m.segments) {
        o << "<tr class=\"" << (s.depth == 0 ? "general" : "tactical") << "\""
          << attr("data-segment", s.id) << attr("data-path", s.path)
          << attr("data-level", std::to_string(s.depth))
          << attr("data-customers", std::to_string(s.count))
          << attr("data-share", fixed(s.share, 4));
        if (s.value_total) o << attr("data-value-total", fixed(*s.value_total, 2));
        if (s.value_avg) o << attr("data-value-avg", fixed(*s.value_avg, 2));
        if (s.value_share) o << attr("data-value-share", fixed(*s.value_share, 4));
        // A shared tactical segment has a row under each general segment, with one path.
        if (s.depth > 0) o << attr("data-within", s.parent);
        o << ">\n<td class=\"name\"><b>" << escape(s.label.empty() ? s.id : s.label) << "</b><code>"
          << escape(s.path) << "</code>";
        for (const QualityFlag& f : m.flags) {
            if (f.segment == s.path && !f.segment.empty())
                o << "<br><span class=\"badge " << f.kind << "\">"
                  << (f.kind == "too_small" ? "too small" : "not actionable") << "</span>";
        }
        o << "</td><td class=\"n\">" << count_text(s.count) << "</td><td class=\"n\">"
          << percent(s.share) << "</td>";
        if (value) {
            o << "<td class=\"n\">" << (s.value_avg ? grouped(*s.value_avg, 2) : "–")
              << "</td><td class=\"n\">" << (s.value_total ? grouped(*s.value_total, 2) : "–")
              << "</td><td class=\"n\">" << (s.value_share ? percent(*s.value_share) : "–")
              << "</td>";
        }
        o << "<td>" << or_dash(s.goal) << "</td><td>" << or_dash(s.offer) << "</td><td>"
          << or_dash(s.channel) << "</td><td>" << or_dash(s.contact_every)
          << "</td><td class=\"n\">" << (s.priority ? std::to_string(*s.priority) : "–")
          << "</td><td>";
        for (const LetDistance& d : s.distinct) {
            o << "<span class=\"let " << (d.z >= 0 ? "up" : "down") << "\""
              << attr("data-let", d.let) << attr("data-z", fixed(d.z, 2)) << " title=\"average "
              << escape(grouped(d.segment_mean, 2)) << " against "
              << escape(grouped(d.base_mean, 2)) << " in the base\">" << escape(d.let) << ' '
              << (d.z >= 0 ? "▲ +" : "▼ ") << fixed(d.z, 1) << " SD</span>";
        }
        if (s.distinct.empty()) o << "<span class=\"none\">–</span>";
        o << "</td></tr>\n";
    }
    o << "</tbody></table></div></section>\n";
}

void write_workload(std::ostream& o, const ReportModel& m) {
    o << "<section id=\"workload\"><h2>Workload and quality</h2>\n<p class=\"lead\">Contacts per "
         "month per channel: each segment's customers times its contact cadence "
         "(<code>contact_every</code>; a month is 365.25 / 12 = 30.4375 days, so 2w is 2.17 "
         "contacts a month). "
         "Segments without a cadence are not counted. Each figure is rounded on its own, so "
         "the rows may not add up to the total exactly.</p>\n";
    o << "<div class=\"charts\"><div><table id=\"workload-table\"><thead><tr><th>Channel</th><th "
         "class=\"n\">Contacts per month</th></tr></thead><tbody>\n";
    double total = 0;
    for (const auto& [channel, contacts] : m.contacts_by_channel) {
        o << "<tr" << attr("data-channel", channel) << attr("data-contacts", fixed(contacts, 1))
          << "><td>" << escape(channel) << "</td><td class=\"n\">" << grouped(contacts, 0)
          << "</td></tr>\n";
        total += contacts;
    }
    o << "<tr><td><b>All channels</b></td><td class=\"n\" id=\"workload-total\" data-value=\""
      << fixed(total, 1) << "\"><b>" << grouped(total, 0) << "</b></td></tr>\n</tbody></table>\n";
    o << "<h3>Quality checks</h3>\n<p class=\"lead\">A general segment below "
      << share_setting(m.min_share)
      << "% of the base is too small to act on (the rule file's <code>report: min_share</code>, "
         "1% by default); one without an offer or a channel is not actionable.</p>\n"
         "<ul class=\"flags\" id=\"quality-flags\" data-min-share=\""
      << fixed(m.min_share, 4) << "\">\n";
    for (const QualityFlag& f : m.flags)
        o << "<li" << attr("data-flag", f.kind) << attr("data-segment", f.segment) << ">"
          << (f.segment.empty() ? "" : "<b>" + escape(f.segment) + "</b> ") << escape(f.text)
          << "</li>\n";
    if (m.flags.empty()) o << "<li>No segment fails a check.</li>\n";
    o << "</ul></div>";
    if (m.customers > 0)
        o << "<div class=\"chart\" id=\"chart-workload\" data-chart=\"workload\"></div>";
    o << "</div></section>\n";
}

void write_moves(std::ostream& o, const ReportModel& m) {
    o << "<section id=\"moves\"><h2>Moves</h2>\n";
    if (m.moves) {
        const Moves& v = *m.moves;
        o << "<p class=\"lead\">Customers between the general segments of run " << v.from_run
          << " (" << escape(v.from_as_of) << ") and run " << v.to_run << " (" << escape(v.to_as_of)
          << "). Up: to a segment listed earlier in the rule file (by convention more valuable); "
             "down: to one listed later.</p>\n<div class=\"counts\" id=\"move-counts\""
          << attr("data-from-run", std::to_string(v.from_run))
          << attr("data-to-run", std::to_string(v.to_run)) << ">";
        for (const auto& [id, label, n] : {std::tuple{"moves-up", "up", v.up},
                                           {"moves-down", "down", v.down},
                                           {"moves-new", "new", v.entered},
                                           {"moves-left", "left", v.left},
                                           {"moves-stayed", "stayed", v.stayed}})
            o << "<span id=\"" << id << "\" data-value=\"" << n << "\"><b>" << count_text(n)
              << "</b> " << label << "</span>";
        o << "</div>\n";
        // A flow diagram of nobody is an empty frame.
        if (v.up + v.down + v.entered + v.left + v.stayed > 0)
            o << "<div class=\"charts one\"><div class=\"chart tall\" id=\"chart-moves\" "
                 "data-chart=\"moves\"></div></div>\n";
    } else {
        o << "<p class=\"lead\" id=\"moves-none\">Run " << m.run_id
          << " is the ruleset's first run: there is no earlier run to compare it with.</p>\n";
    }
    o << "<h3>Segment sizes across runs</h3>\n<div class=\"charts one\"><div class=\"chart\" "
         "id=\"chart-history\" data-chart=\"history\"></div></div></section>\n";
}

void write_triggers(std::ostream& o, const ReportModel& m) {
    o << "<section id=\"triggers\"><h2>Triggers</h2>\n";
    if (m.triggers.empty() && m.outbox.empty()) {
        o << "<p class=\"lead\">The rule file of run " << m.run_id << " has no triggers.</p>";
        o << "</section>\n";
        return;
    }
    o << "<p class=\"lead\">What run " << m.run_id << "'s triggers did"
      << (m.firing == "initial" ? " (a ruleset's first run is a baseline and fires nothing)"
                                : std::string())
      << ", what is in the outbox for the ruleset, and the holdout readout: the share of each "
         "group that met the trigger's success.</p>\n<table id=\"trigger-table\"><thead><tr><th>"
         "Trigger</th><th>On</th><th class=\"n\">Customers</th><th class=\"n\">Enqueued</th><th "
         "class=\"n\">Held out</th><th class=\"n\">Capped</th><th class=\"n\">Cooldown</th></tr>"
         "</thead><tbody>\n";
    for (const TriggerRow& t : m.triggers)
        o << "<tr" << attr("data-trigger", t.id)
          << attr("data-enqueued", std::to_string(t.enqueued)) << "><td>" << escape(t.id)
          << "</td><td>" << escape(t.on) << "</td><td class=\"n\">" << count_text(t.customers)
          << "</td><td class=\"n\">" << count_text(t.enqueued) << "</td><td class=\"n\">"
          << count_text(t.held_out) << "</td><td class=\"n\">" << count_text(t.capped)
          << "</td><td class=\"n\">" << count_text(t.cooled_down) << "</td></tr>\n";
    o << "</tbody></table>\n<h3>Outbox (all runs)</h3>\n<table id=\"outbox-table\"><thead><tr>"
         "<th>Trigger</th><th>Status</th><th class=\"n\">Actions</th></tr></thead><tbody>\n";
    for (const OutboxCount& c : m.outbox)
        o << "<tr" << attr("data-trigger", c.trigger) << attr("data-status", c.status)
          << attr("data-count", std::to_string(c.count)) << "><td>" << escape(c.trigger)
          << "</td><td>" << escape(c.status) << "</td><td class=\"n\">" << count_text(c.count)
          << "</td></tr>\n";
    o << "</tbody></table>\n<h3>Holdout readout</h3>\n";
    if (!m.readout.empty() && m.readout_run != 0 && m.readout_run != m.run_id)
        o << "<p class=\"note\" id=\"readout-scope\">Every firing of the ruleset up to its latest "
             "run (run "
          << m.readout_run << ", as of " << escape(m.readout_as_of)
          << "), later runs than this one included: success windows that ended by "
          << escape(m.readout_as_of) << " are counted.</p>\n";
    o << "<table id=\"readout-table\"><thead><tr><th>"
         "Trigger</th><th>Success</th><th class=\"n\">Fired</th><th class=\"n\">Held out</th><th "
         "class=\"n\">Treated met</th><th class=\"n\">Held out met</th><th "
         "class=\"n\">Difference (95% CI)</th></tr></thead><tbody>\n";
    auto share = [](const std::optional<double>& s) {
        return s ? fixed(100 * *s, 1) + "%" : std::string("n/a");
    };
    for (const ReadoutRow& r : m.readout) {
        o << "<tr" << attr("data-trigger", r.trigger) << "><td>" << escape(r.trigger) << "</td><td>"
          << or_dash(r.success) << "</td><td class=\"n\">" << count_text(r.fired)
          << "</td><td class=\"n\">" << count_text(r.held_out) << "</td><td class=\"n\">"
          << share(r.treated_share) << "</td><td class=\"n\">" << share(r.held_out_share)
          << "</td><td class=\"n\">";
        if (r.difference_pp)
            o << (*r.difference_pp >= 0 ? "+" : "") << fixed(*r.difference_pp, 1) << " pp ("
              << fixed(*r.low_pp, 1) << " to " << fixed(*r.high_pp, 1) << ")";
        else
            o << "n/a";
        o << "</td></tr>\n";
    }
    o << "</tbody></table></section>\n";
}

// The numbers the charts draw, as one JSON document.
std::string chart_data(const ReportModel& m) {
    JsonWriter w;
    w.begin_object();
    w.key("value_name").value(m.value_name);
    w.key("segments").begin_array();
    for (const SegmentRow& s : m.segments) {
        if (s.depth != 0) continue;
        w.begin_object().key("id").value(s.id).key("label").value(s.label.empty() ? s.id : s.label);
        w.key("count").value(s.count).key("share").value(s.share, 4);
        w.key("value_share").value_or_null(s.value_share, 4);
        w.key("contacts").value(s.contacts_per_month.value_or(0.0), 1);
        w.key("channel").value(s.channel);
        w.end_object();
    }
    w.end_array();
    w.key("pareto").begin_array();
    for (const auto& [c, v] : m.pareto)
        w.begin_array().value(c, 2).value(v, 4).end_array();
    w.end_array();
    w.key("rfm");
    if (m.rfm) {
        w.begin_object().key("let").value(m.rfm->let).key("bins").value(m.rfm->bins);
        w.key("unscored").value(m.rfm->unscored);
        w.key("cells").begin_array();
        for (size_t r = 0; r < m.rfm->customers.size(); ++r) {
            for (size_t f = 0; f < m.rfm->customers[r].size(); ++f) {
                const int64_t n = m.rfm->customers[r][f];
                w.begin_array()
                    .value(static_cast<int64_t>(f + 1))
                    .value(static_cast<int64_t>(r + 1));
                w.value(n).value(n > 0 ? m.rfm->value[r][f] / static_cast<double>(n) : 0.0, 2);
                w.end_array();
            }
        }
        w.end_array().end_object();
    } else {
        w.null();
    }
    w.key("moves");
    if (m.moves) {
        w.begin_object()
            .key("from_run")
            .value(m.moves->from_run)
            .key("to_run")
            .value(m.moves->to_run);
        w.key("flows").begin_array();
        for (const Flow& f : m.moves->flows)
            w.begin_object()
                .key("from")
                .value(f.from)
                .key("to")
                .value(f.to)
                .key("count")
                .value(f.count)
                .end_object();
        w.end_array().end_object();
    } else {
        w.null();
    }
    w.key("history").begin_object().key("runs").begin_array();
    for (size_t i = 0; i < m.history.runs.size(); ++i)
        w.value("run " + std::to_string(m.history.runs[i]) + " · " + m.history.as_of[i]);
    w.end_array().key("series").begin_array();
    for (const std::string& id : m.history.segments) {
        w.begin_object().key("id").value(id).key("counts").begin_array();
        for (int64_t n : m.history.counts.at(id))
            w.value(n);
        w.end_array().end_object();
    }
    w.end_array().end_object();
    w.end_object();
    // Inside a <script> element: no '<' may close it early.
    std::string json = w.str(), out;
    for (char c : json) {
        if (c == '<')
            out += "\\u003c";
        else
            out += c;
    }
    return out;
}

}  // namespace

std::string render_report_html(const ReportModel& m, const std::string& chart_library) {
    std::ostringstream o;
    o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta "
         "name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
      << escape(m.ruleset) << " v" << m.version << ", run " << m.run_id << " as of "
      << escape(m.as_of) << " · strata report</title>\n<style>" << kStyle << "</style>\n</head>\n"
      << "<body>\n<main>\n";
    write_header(o, m);
    write_segments(o, m);
    o << "<section id=\"value\"><h2>Where the value is</h2>\n<p class=\"lead\">Each general "
         "segment's share of the customers against its share of the value"
      << (m.value_name.empty() ? "" : " (<code>" + escape(m.value_name) + "</code>)")
      << ": a segment whose value bar stands far above its customer bar is worth effort, one "
         "far below may not be. The Pareto curve: customers ordered by value, the most valuable "
         "first, against the share of all value they hold."
         "</p>\n";
    if (!m.value_total && !m.value_name.empty()) {
        // The run stored no total: it was past the range a total is kept in (running.md).
        o << "<p class=\"note\">The run's total of <code>" << escape(m.value_name)
          << "</code> is out of the range a total is kept in (a value of 1.7e29 or more in size, "
             "or a total of 10^29 or more), so there is no value to share out.</p>";
    } else if (!m.value_total) {
        o << "<p class=\"note\">The rule file has no <code>value</code>, so there is no value to "
             "share out.</p>";
    } else if (m.customers == 0) {
        o << "<p class=\"note\">The run placed no customers, so there is no value to share "
             "out.</p>";
    } else {
        o << "<div class=\"charts\"><div class=\"chart\" id=\"chart-value-share\" "
             "data-chart=\"value-share\"></div>";
        if (!m.pareto.empty())
            o << "<div class=\"chart\" id=\"chart-pareto\" data-chart=\"pareto\"></div>";
        o << "</div>\n";
    }
    o << "</section>\n";
    if (m.rfm)
        o << "<section id=\"rfm\"><h2>R × F</h2>\n<p class=\"lead\">Customers per recency and "
             "frequency score of the rfm let <code>"
          << escape(m.rfm->let)
          << (m.rfm->best_low ? "</code> (with <code>best: low</code>, 1 is the most recent and "
                                "the most frequent); the tooltip shows their average "
                              : "</code> (higher is more recent, more frequent); the tooltip shows "
                                "their average ")
          << "value.</p>\n"
          << (m.rfm->unscored > 0
                  ? "<p class=\"note\">" + group_thousands(std::to_string(m.rfm->unscored)) +
                        (m.rfm->unscored == 1 ? " customer has" : " customers have") +
                        " no score (null: no rows to score, say) and " +
                        (m.rfm->unscored == 1 ? "is" : "are") + " not in the grid.</p>\n"
                  : std::string())
          << "<div class=\"charts one\"><div class=\"chart tall\" id=\"chart-rfm\" "
             "data-chart=\"rfm\"></div></div></section>\n";
    write_workload(o, m);
    write_moves(o, m);
    write_triggers(o, m);
    o << "<footer>strata report · " << escape(m.ruleset) << " v" << m.version << " · run "
      << m.run_id << " · as of " << escape(m.as_of) << "</footer>\n</main>\n";
    o << "<script type=\"application/json\" id=\"report-data\">" << chart_data(m) << "</script>\n";
    o << "<script>\n" << chart_library << "\n</script>\n";
    o << "<script>\n" << charts_script() << "</script>\n</body>\n</html>\n";
    return o.str();
}

std::optional<std::string> read_chart_library(const std::string& exe_dir, std::string& error) {
    namespace fs = std::filesystem;
    std::vector<std::string> places;
    // A path given in the environment is the only place looked in.
    if (const char* env = std::getenv("STRATA_ECHARTS_JS"); env && *env) {
        places.push_back(env);
    } else {
        if (!exe_dir.empty()) places.push_back((fs::path(exe_dir) / "echarts.min.js").string());
#ifdef STRATA_SOURCE_DIR
        places.push_back(std::string(STRATA_SOURCE_DIR) +
                         "/report/node_modules/echarts/dist/echarts.min.js");
#endif
    }
    for (const std::string& p : places) {
        std::error_code ec;
        if (!fs::is_regular_file(p, ec)) continue;
        std::ifstream in(p, std::ios::binary);
        if (!in) continue;
        std::ostringstream text;
        text << in.rdbuf();
        std::string js = text.str();
        // An HTML parser ends the script at '</script' in any letter case.
        std::string lower = js;
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.find("</script") != std::string::npos) {
            error = "the charting library '" + p + "' contains '</script' and cannot be inlined";
            return std::nullopt;
        }
        // What the page calls: a file without it is not the library (empty, or another file).
        if (js.find("echarts") == std::string::npos) {
            error = "'" + p + "' is not the ECharts library (echarts.min.js): it does not " +
                    (js.empty() ? std::string("hold anything") : "define echarts");
            return std::nullopt;
        }
        return js;
    }
    error = "the charting library echarts.min.js was not found (looked in:";
    for (const std::string& p : places)
        error += " " + p;
    error +=
        "); install it with scripts/install-deps.sh (npm ci in report/), or set "
        "STRATA_ECHARTS_JS to its path";
    return std::nullopt;
}

}  // namespace strata::report
