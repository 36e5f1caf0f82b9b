// `strata run RULES --db DB [--as-of DATE] [--dry-run] [--incremental] [--format table|json|csv]
// [--state PATH]`
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/run_warehouse.hpp"
#include "engine/json.hpp"
#include "engine/numeric.hpp"
#include "engine/run.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"
#include "engine/versions.hpp"
#include "text/width.hpp"

namespace strata::cli {

namespace {

// A share with one decimal. A part that is not zero never shows as 0.0%: under 0.05% it
// shows as <0.1% (or >-0.1% for a negative part).
std::string percent(double part, double whole) {
    if (!std::isfinite(part) || !std::isfinite(whole)) return "-";
    const double p = whole != 0 ? 100.0 * part / whole : 0.0;
    if (part != 0 && p > 0 && p < 0.05) return "<0.1%";
    if (part != 0 && p < 0 && p > -0.05) return ">-0.1%";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", p);
    return buf;
}

// An amount with two decimals and its whole part grouped by thousands ("-1,234.50"); from 1e15
// on, six significant digits with an exponent ("1.9e+19"); "-" when not finite: a total out of
// range, not known.
std::string money(double v) {
    if (!std::isfinite(v)) return "-";
    if (std::fabs(v) >= 1e15) {  // past a thousand billion, digits stop being readable
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        return buf;
    }
    return group_thousands(format_fixed(v, 2));
}

// A segment's value total, and its average over the members with a value, as doubles; not a
// number (shown as "-" or an empty cell) when the total is out of range or nobody has a value.
double total_of(const ExactTotal& total) {
    const auto units = total.units();
    return units ? money_of_units(*units) : std::numeric_limits<double>::quiet_NaN();
}
// The same, not rounded to cents: what shares are computed from, as in the JSON's value_share.
double unrounded_total_of(const ExactTotal& total) {
    return total.as_double().value_or(std::numeric_limits<double>::quiet_NaN());
}
double average_of(const SegmentResult& s) {
    const auto total = s.value_total.units();
    if (!total || s.value_count == 0) return std::numeric_limits<double>::quiet_NaN();
    return money_average_of_units(*total, static_cast<int64_t>(s.value_count));
}

using text::display_width;
using text::pad;

// Pads to exactly `width` characters, cutting a longer text with an ellipsis so the columns
// after it stay aligned.
std::string fit(const std::string& s, size_t width) {
    size_t chars = 0, cut = s.size();
    for (size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
        if (chars == width - 1) cut = i;
        ++chars;
    }
    if (chars <= width) return pad(s, width);
    return s.substr(0, cut) + "…";
}

// How a segment shows in the SEGMENT column: indented under its parent.
std::string tree_name(const SegmentResult& s, int depth) {
    return std::string(static_cast<size_t>(depth) * 2, ' ') + (depth ? "└ " : "") + s.def->id;
}

// The SEGMENT column is as wide as its longest entry (at least kSegmentWidth): ids are what
// users type into SQL and filters, so they are never cut; the label column is cut instead.
constexpr size_t kSegmentWidth = 26;

size_t segment_width(const std::vector<SegmentResult>& segments, int depth) {
    size_t width = kSegmentWidth;
    for (const auto& s : segments) {
        width = std::max(width, display_width(tree_name(s, depth)));
        width = std::max(width, segment_width(s.tactical, depth + 1));
    }
    return width;
}

void table_rows(std::ostream& out, const SegmentResult& s, const RunReport& rep, int depth,
                size_t name_width) {
    const auto& m = s.def->meta;
    const std::string goal = one_line(m.goal), offer = one_line(m.offer);
    std::ostringstream row;
    row << pad(tree_name(s, depth), name_width) << ' ' << fit(one_line(m.label), 24) << ' '
        << pad(thousands(s.count), 10, true) << ' '
        << pad(percent(static_cast<double>(s.count), static_cast<double>(rep.customers)), 7, true);
    if (rep.has_value) {
        row << ' ' << pad(money(average_of(s)), 12, true) << ' '
            << pad(money(total_of(s.value_total)), 16, true) << ' '
            << pad(percent(unrounded_total_of(s.value_total), unrounded_total_of(rep.value_total)),
                   7, true);
    }
    row << "  " << pad(m.priority ? std::to_string(*m.priority) : "-", 3) << ' '
        << pad(m.contact_every ? shown_duration(*m.contact_every, m.contact_every_text) : "-", 7)
        << ' ' << fit(m.channel.empty() ? "-" : one_line(m.channel), 16) << ' ' << goal
        << (goal.empty() || offer.empty() ? "" : " — ") << offer;
    // No trailing blanks where a row ends in empty columns.
    std::string text = row.str();
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << '\n';
    for (const auto& t : s.tactical)
        table_rows(out, t, rep, depth + 1, name_width);
}

// Every segment whose condition was unknown for some of the customers it was tried on, as
// (its path from the general level, how many), depth first.
void collect_unknowns(const std::vector<SegmentResult>& segments, const std::string& prefix,
                      std::vector<std::pair<std::string, size_t>>& out) {
    for (const auto& s : segments) {
        const std::string path = prefix.empty() ? s.def->id : prefix + "/" + s.def->id;
        if (s.unknown > 0) out.emplace_back(path, s.unknown);
        collect_unknowns(s.tactical, path, out);
    }
}

// The customers each condition left out as unknown (null) rather than false: a note under the
// segment table, printed only when some condition did.
void print_unknowns(std::ostream& out, const RunReport& rep) {
    std::vector<std::pair<std::string, size_t>> unknowns;
    collect_unknowns(rep.segments, "", unknowns);
    if (unknowns.empty()) return;
    size_t width = 0;
    for (const auto& [path, n] : unknowns)
        width = std::max(width, display_width(path));
    out << "\nunknown: customers a condition left out because it was null for them, not false:\n";
    for (const auto& [path, n] : unknowns)
        out << "  " << pad(path, width) << ' ' << pad(thousands(n), 10, true) << '\n';
}

// The moves since the ruleset's latest run: a line of totals, then the moves between general
// segments, the largest first (at most kMoveLines of them).
void print_transitions(std::ostream& out, const RunTransitions& t) {
    constexpr size_t kMoveLines = 20;
    const Transitions& c = t.counts;
    if (!t.since_run) {
        out << "\nfirst run of this ruleset: " << thousands(c.entered)
            << (c.entered == 1 ? " customer" : " customers")
            << " placed, the baseline for later moves\n";
        return;
    }
    out << "\nmoves since run " << *t.since_run << " (as_of " << t.since_as_of
        << (t.cause == "rules" ? ", under a new version of the rules" : "")
        << "): " << thousands(c.moved) << " customer" << (c.moved == 1 ? "" : "s") << " moved ("
        << thousands(c.entered) << " new, " << thousands(c.left)
        << " left the base); tactical: " << thousands(c.tactical_entered) << " entered, "
        << thousands(c.tactical_left) << " left\n";
    std::vector<std::pair<size_t, std::pair<std::string, std::string>>> moves;
    for (const auto& [pair, count] : c.counts) {
        if (pair.first != pair.second) moves.push_back({count, pair});
    }
    std::stable_sort(moves.begin(), moves.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < moves.size() && i < kMoveLines; ++i) {
        const auto& [from, to] = moves[i].second;
        out << "  " << pad(from.empty() ? "(new)" : from, 24) << " → "
            << pad(to.empty() ? "(left)" : to, 24) << pad(thousands(moves[i].first), 10, true)
            << '\n';
    }
    if (moves.size() > kMoveLines)
        out << "  … and " << moves.size() - kMoveLines << " more (see --format json)\n";
}

// What each trigger did (or, in a dry run, would do), and why nothing fired when that is so
// (or that it fired because of --fire-initial or --fire-on-rule-change).
void print_triggers(std::ostream& out, const RunReport& rep, const RunCommandOptions& options) {
    if (rep.triggers.empty()) return;
    const bool dry = rep.run_id == 0;
    out << "\ntriggers";
    if (rep.firing == "initial" && options.fire_initial)
        out << ": the first run of this ruleset, fired because of --fire-initial";
    else if (rep.firing == "initial")
        out << ": the first run of this ruleset is a baseline and fires nothing"
            << " (--fire-initial fires it)";
    else if (rep.firing == "rules" && options.fire_on_rule_change)
        out << ": the rules changed version; moves fire because of --fire-on-rule-change";
    else if (rep.firing == "rules")
        out << ": the rules changed version, so moves fire nothing"
            << " (--fire-on-rule-change fires them); 'in' triggers fire for customers who stayed";
    out << '\n';
    size_t width = 7;
    size_t on_width = 2;
    for (const auto& t : rep.triggers) {
        width = std::max(width, t.id.size());
        on_width = std::max(on_width, t.on.size());
    }
    out << "  " << pad("TRIGGER", width) << ' ' << pad("ON", on_width) << ' '
        << pad("CUSTOMERS", 10, true) << ' ' << pad(dry ? "WOULD ENQUEUE" : "ENQUEUED", 13, true)
        << ' ' << pad("HELD OUT", 9, true) << ' ' << pad("CAPPED", 8, true) << ' '
        << pad("COOLDOWN", 9, true) << '\n';
    for (const auto& t : rep.triggers) {
        out << "  " << pad(t.id, width) << ' ' << pad(t.on, on_width) << ' '
            << pad(thousands(t.customers), 10, true) << ' ' << pad(thousands(t.enqueued), 13, true)
            << ' ' << pad(thousands(t.held_out), 9, true) << ' '
            << pad(thousands(t.capped), 8, true) << ' ' << pad(thousands(t.cooled_down), 9, true);
        if (t.duplicates) out << "  (" << thousands(t.duplicates) << " already enqueued)";
        if (t.payload_not_utf8)
            out << "  (" << thousands(t.payload_not_utf8)
                << " with text not UTF-8 in the payload, kept as U+FFFD)";
        out << '\n';
    }
    out << "  (action rows: one per action of each firing; customers skipped by a cooldown "
           "under COOLDOWN)\n";
    if (!dry) return;
    constexpr size_t kExamples = 3;
    std::map<std::string, size_t> shown;
    for (const OutboxRow& r : rep.would_enqueue) {
        if (r.status != "pending" || shown[r.trigger_id]++ >= kExamples) continue;
        out << "  e.g. " << r.trigger_id << " → " << format_value(r.customer_key) << ": " << r.type
            << ' ' << one_line(r.payload) << '\n';
    }
}

void print_table(std::ostream& out, const RunReport& rep, const RunCommandOptions& options) {
    out << rep.ruleset << " v" << rep.version << "  as_of " << format_date(rep.as_of) << "  "
        << (rep.run_id ? "run " + std::to_string(rep.run_id) : std::string("dry run (not stored)"))
        << "  rules " << rep.sha256.substr(0, 12) << "\n";
    out << thousands(rep.customers) << (rep.customers == 1 ? " customer" : " customers");
    if (rep.has_value) out << ", value total " << money(total_of(rep.value_total));
    out << "\n\n";
    const size_t name_width = segment_width(rep.segments, 0);
    out << pad("SEGMENT", name_width) << ' ' << pad("LABEL", 24) << ' ' << pad("COUNT", 10, true)
        << ' ' << pad("SHARE", 7, true);
    if (rep.has_value)
        out << ' ' << pad("AVG VALUE", 12, true) << ' ' << pad("TOTAL VALUE", 16, true) << ' '
            << pad("VALUE%", 7, true);
    out << "  PRI CONTACT CHANNEL          GOAL — OFFER\n";
    for (const auto& s : rep.segments)
        table_rows(out, s, rep, 0, name_width);
    print_unknowns(out, rep);
    print_populations(out, rep.populations);
    const auto& dq = rep.data_quality;
    if (rep.transitions) print_transitions(out, *rep.transitions);
    print_triggers(out, rep, options);
    if (!rep.not_computed.empty()) {
        out << "\ndata quality and population cut points: not computed: " << rep.not_computed
            << '\n';
        char took[32];
        std::snprintf(took, sizeof took, "%.0f ms", rep.elapsed_ms);
        out << "run time " << took << '\n';
        return;
    }
    out << "\ndata quality: " << thousands(dq.findings()) << " finding"
        << (dq.findings() == 1 ? "" : "s");
    if (dq.findings() == 0)
        out << '\n';
    else
        out << ":\n";
    for (const auto& u : dq.unconvertible) {
        out << "  " << thousands(u.count) << " value" << (u.count == 1 ? "" : "s") << " in "
            << u.table << '.' << u.column << " did not convert to " << type_name(u.type)
            << " (e.g. '" << one_line(u.sample) << "'); read as null\n";
    }
    // "1 row", "2 rows": every count below is of rows or customers.
    auto rows = [](size_t n, const char* one, const char* many) {
        return thousands(n) + " " + (n == 1 ? one : many);
    };
    if (dq.null_keys)
        out << "  " << rows(dq.null_keys, "customer row", "customer rows")
            << " without a key (null, empty or blank), left out\n";
    if (dq.duplicate_keys) {
        out << "  " << rows(dq.duplicate_keys, "customer row repeats", "customer rows repeat")
            << " an earlier key, left out (e.g. ";
        for (size_t i = 0; i < dq.duplicate_samples.size(); ++i)
            out << (i ? ", " : "") << one_line(dq.duplicate_samples[i]);
        out << ")\n";
    }
    for (const auto& [fact, count] : dq.orphan_fact_rows) {
        out << "  " << thousands(count) << " " << fact
            << (count == 1 ? " row matches" : " rows match") << " no customer, left out\n";
    }
    for (const auto& [fact, count] : dq.unknown_time_fact_rows) {
        out << "  " << rows(count, "row", "rows") << " of " << fact
            << " with unknown time left out\n";
    }
    if (dq.customers_after_as_of) {
        out << "point in time: " << rows(dq.customers_after_as_of, "customer who", "customers who")
            << " joined after as_of left out (source.since)\n";
    }
    for (const auto& [fact, count] : dq.left_out_fact_rows) {
        out << "point in time: " << thousands(count) << " " << fact
            << (count == 1 ? " row" : " rows") << " of those customers left out with them\n";
    }
    for (const auto& [fact, count] : dq.future_fact_rows) {
        out << "point in time: " << thousands(count) << " " << fact
            << (count == 1 ? " row" : " rows") << " after as_of left out\n";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f ms", rep.elapsed_ms);
    out << "run time " << buf << '\n';
}

void csv_rows(std::ostream& out, const SegmentResult& s, const RunReport& rep,
              const std::string& parent, int level) {
    const auto& m = s.def->meta;
    char share[32];
    std::snprintf(
        share, sizeof share, "%.6f",
        rep.customers ? static_cast<double>(s.count) / static_cast<double>(rep.customers) : 0.0);
    write_csv_field(out, s.path);
    out << ',' << level << ',';
    write_csv_field(out, parent);
    out << ',';
    // The rule file's texts are guarded against spreadsheet formulas, as export guards them.
    write_csv_field(out, m.label, true);
    out << ',' << s.count << ',' << share << ',';
    if (rep.has_value) {
        // Empty where the JSON has null: a total out of range, or no member with a value.
        // Two decimals, as the JSON writes them: a total below half a cent that is not zero
        // as it is (5e-08), not 0.00.
        auto amount = [](double v) {
            if (!std::isfinite(v)) return std::string();
            std::string text = format_fixed(v, 2);
            if (v != 0 && (text == "0.00" || text == "-0.00")) {
                JsonWriter exact;
                exact.exact(v);
                text = exact.str();
            }
            return text;
        };
        out << amount(total_of(s.value_total)) << ',' << amount(average_of(s));
    } else {
        out << ',';
    }
    out << ',';
    write_csv_field(out, m.goal, true);
    out << ',';
    write_csv_field(out, m.offer, true);
    out << ',';
    write_csv_field(out, m.channel, true);
    out << ',' << (m.contact_every ? shown_duration(*m.contact_every, m.contact_every_text) : "")
        << ',' << (m.priority ? std::to_string(*m.priority) : "") << '\n';
    for (const auto& t : s.tactical)
        csv_rows(out, t, rep, s.path, level + 1);
}

void print_report(const RunReport& report, const RunCommandOptions& options, std::ostream& out) {
    switch (options.format) {
        case RunFormat::Json:
            out << report_json(report) << '\n';
            break;
        case RunFormat::Csv:
            out << "segment,level,parent,label,count,share,value_total,value_avg,goal,offer,"
                   "channel,contact_every,"
                   "priority\n";
            for (const auto& s : report.segments)
                csv_rows(out, s, report, "", 0);
            break;
        case RunFormat::Table:
            print_table(out, report, options);
            break;
    }
}

}  // namespace

namespace {

// A state file this run makes (created here, exclusively: not one another process made first)
// is removed again when it is destroyed, if it holds no stored run. It is removed only while
// this process holds SQLite's exclusive lock on it, so never while another process is in a
// transaction on it (a run started at the same moment on the same new state).
struct RemoveUnusedState {
    std::string path;  // empty: the file was there before, or no file is made
    // Makes the file at `state` when there is none; it is then this run's to remove.
    void make(const std::string& state) {
        if (make_new_database_file(state)) path = state;
    }
    ~RemoveUnusedState() {
        if (path.empty()) return;
        try {
            SQLite::Database made(path, SQLite::OPEN_READWRITE);
            made.exec("BEGIN EXCLUSIVE");  // busy at once when another process uses it
            if (made.tableExists("strata_runs") &&
                made.execAndGet("SELECT count(*) FROM strata_runs").getInt64() > 0) {
                made.exec("ROLLBACK");
                return;
            }
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
            made.exec("ROLLBACK");
        } catch (const SQLite::Exception&) {
            // Not readable as a state, or in use: it is left as it is.
        }
    }
};

// A stored run whose report was lost still happened: say so, so that it is not made again in
// the belief that it failed (triggers would not fire twice, but the user would not know).
void say_run_stored_if_output_lost(const RunReport& report, std::ostream& out, std::ostream& err) {
    if (report.run_id == 0) return;  // a dry run stores nothing
    say_stored_if_output_lost(out, err, "run",
                              "run " + std::to_string(report.run_id) + " of ruleset '" +
                                  one_line(report.ruleset) +
                                  "' was stored (`strata runs` lists it)");
}

}  // namespace

int run_run(const RunCommandOptions& options, std::ostream& out, std::ostream& err) {
    int exit_code = kExitOk;
    std::ostream* json = options.format == RunFormat::Json ? &out : nullptr;
    if (is_postgres_url(options.db)) {
        std::optional<LoadedRules> loaded;
        auto report = run_postgres(options, loaded, out, err, exit_code);
        if (!report) return exit_code;
        print_report(*report, options, out);
        say_run_stored_if_output_lost(*report, out, err);
        return kExitOk;
    }
    if (is_clickhouse_url(options.db)) {
        std::optional<LoadedRules> loaded;
        auto report = run_clickhouse(options, loaded, out, err, exit_code);
        if (!report) return exit_code;
        print_report(*report, options, out);
        say_run_stored_if_output_lost(*report, out, err);
        return kExitOk;
    }
    // --wait first: it also bounds the wait for the customer database, read to bind the rules.
    const std::optional<int64_t> wait = parse_duration(options.wait);
    if (!wait) {
        const std::string message = wait_problem(options.wait);
        err << "strata run: " << message << '\n';
        if (json) write_json_error(out, "usage", message);
        return kExitEnvironment;
    }
    auto loaded = load_rules(options.rules, options.db, err, exit_code, json,
                             DatabaseWait{busy_timeout_ms(*wait), options.wait});
    if (!loaded) return exit_code;
    auto as_of = resolve_as_of(options.as_of, loaded->rules->rules, err, "run");
    if (!as_of) {
        if (json)
            write_json_error(out, "usage",
                             "--as-of '" + options.as_of.value_or("") + "' is not a date");
        return kExitEnvironment;
    }
    if (!options.dry_run && !options.allow_future_as_of) {
        if (auto refused = refuses_far_future_as_of(*as_of, today_utc(), "with --dry-run",
                                                    options.state.value_or(options.db),
                                                    loaded->rules->rules.ruleset)) {
            err << "strata run: " << *refused << '\n';
            if (json) write_json_error(out, "usage", *refused);
            return kExitEnvironment;
        }
    }
    // A --state file this run makes is removed again when the run stores nothing, so that a
    // failed first run leaves no file behind (declared before `state`, which it outlives).
    RemoveUnusedState made_here;
    if (!options.dry_run && options.state) made_here.make(*options.state);
    std::unique_ptr<SQLite::Database> state;
    if (!options.dry_run) {
        StoreError error;
        state = open_state(options.state.value_or(options.db), error, busy_timeout_ms(*wait));
        if (!state) {
            if (error.locked) error.message += " (waited " + options.wait + ", the --wait)";
            err << "strata run: " << error.message << '\n';
            if (json) write_json_error(out, "database", error.message);
            return kExitEnvironment;
        }
    } else if (options.state) {
        // A dry run only reads the state (for moves, cooldowns and the cap), and a state it
        // cannot read is an error as for every command that reads one: previewing the
        // ruleset's first run instead would look like a confident "nothing moves".
        StoreError error;
        state = open_read_only(*options.state, error, busy_timeout_ms(*wait));
        if (!state) {
            if (error.locked) error.message += " (waited " + options.wait + ", the --wait)";
            const std::string message = "--state: " + error.message +
                                        "; a dry run reads the stored state there and creates "
                                        "nothing (check the path)";
            err << "strata run: " << message << '\n';
            if (json) write_json_error(out, "database", message);
            return kExitEnvironment;
        }
    }
    RunOptions run_options;
    run_options.as_of = *as_of;
    run_options.dry_run = options.dry_run;
    run_options.incremental = options.incremental;
    run_options.watch_wait_ms = busy_timeout_ms(*wait);
    run_options.fire_initial = options.fire_initial;
    run_options.fire_on_rule_change = options.fire_on_rule_change;
    run_options.allow_retyped_keys = options.allow_retyped_keys;
    run_options.rules_path = options.rules;
    run_options.rules_sha256 = loaded->sha256;
    run_options.progress = terminal_progress();
    run_options.warnings = loaded->warnings;
    run_options.source = &loaded->rules->source;
    // A dry run is neither refused nor registered, but says when a stored run of the file
    // would be refused: for an unbumped version, or at a day before the ruleset's latest run.
    if (options.dry_run && (state || loaded->db)) {
        try {
            SQLite::Database& read = state ? *state : *loaded->db;
            const auto& file = loaded->rules->rules;
            std::optional<std::string> refused = refuses_unbumped_version(
                read, file.ruleset, file.version, loaded->sha256, loaded->rules->source.text());
            if (!refused) {
                StoreError ignored;
                const auto latest = find_run(read, file.ruleset, std::nullopt, ignored);
                if (auto back = refuses_going_back(latest, file.ruleset, format_date(*as_of)))
                    refused = back->substr(0, back->find(" Use --dry-run"));
            }
            if (refused)
                err << "strata run: warning: a stored run of this file would be refused: "
                    << *refused << '\n';
        } catch (const SQLite::Exception&) {
            // A state that cannot be read has no versions or runs to compare with.
        }
    }
    RunError error;
    // A dry run without --state reads the state from the customer database, where runs are
    // stored by default.
    SQLite::Database* state_db = state ? state.get() : options.dry_run ? loaded->db.get() : nullptr;
    // A stored run refuses strata_* tables strata did not make; a dry run, which reads them
    // for moves, cooldowns and the cap, refuses them too rather than read them as no runs.
    if (options.dry_run && state_db) {
        StoreError foreign;
        if (!state_tables(*state_db, foreign)) {
            err << "strata run: " << foreign.message << '\n';
            if (json) write_json_error(out, "database", foreign.message);
            return kExitEnvironment;
        }
    }
    auto report = execute_run(*loaded->rules, *loaded->db, state_db, run_options, error);
    if (run_options.progress) err << "\r\033[K";
    if (!report) {
        // Another run holding the state longer than --wait: say how long was waited.
        if (error.message.find("locked by another process") != std::string::npos)
            error.message += " (waited " + options.wait + ", the --wait)";
        err << "strata run: " << error.message << '\n';
        if (json) write_json_error(out, error.rule_problem ? "rules" : "database", error.message);
        return error.rule_problem ? kExitRules : kExitEnvironment;
    }
    if (report->incremental) {
        const IncrementalOutcome& inc = *report->incremental;
        if (!inc.used) {
            err << "strata run: --incremental: a full run instead, because " << one_line(inc.reason)
                << '\n';
        } else {
            spdlog::info("incremental: from run {}'s kept state: {} kept, {} new, {} left",
                         inc.since_run, format_count(inc.customers_kept, "customer", "customers"),
                         thousands(inc.customers_new), thousands(inc.customers_left));
        }
        for (const auto& f : inc.facts)
            spdlog::info("incremental: read {} of {}{}",
                         format_count(static_cast<size_t>(f.rows_read), "row", "rows"), f.fact,
                         f.after_rowid ? " (rowid above " + std::to_string(*f.after_rowid) + ")"
                                       : std::string(" (every row)"));
    }
    // A dry run is not refused for retyped keys either, but says so.
    if (options.dry_run && state_db && !options.allow_retyped_keys) {
        try {
            if (auto refused = retyped_keys_refusal(*state_db, *loaded->rules, report->membership))
                err << "strata run: warning: a stored run of this file would be refused: "
                    << *refused << '\n';
        } catch (const SQLite::Exception&) {
            // A state that cannot be read has no runs to compare with.
        }
    }
    print_report(*report, options, out);
    say_run_stored_if_output_lost(*report, out, err);
    return kExitOk;
}

}  // namespace strata::cli
