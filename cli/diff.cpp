// `strata diff OLD NEW --db DB [--as-of DATE] [--sample N] [--state PATH] [--format text|json]`
#include <algorithm>
#include <cstdio>
#include <ostream>

#include <CLI/CLI.hpp>
#include "analysis/diff.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/run_warehouse.hpp"
#include "cli/whole_number.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"
#include "engine/versions.hpp"
#include "text/width.hpp"

namespace strata::cli {

namespace {

struct DiffCommandOptions {
    std::string old_rules;
    std::string new_rules;
    std::string db;
    std::optional<std::string> as_of;
    std::optional<std::string> state;  // default: the customer database itself
    size_t sample = 0;
    Format format = Format::Text;
};

using text::pad;

std::string signed_count(int64_t n) {
    if (n == 0) return "0";
    return (n > 0 ? "+" : "-") + thousands(static_cast<size_t>(n > 0 ? n : -n));
}

std::string optional_count(const std::optional<size_t>& n) {
    return n ? thousands(*n) : "-";
}

// Integers as they are, texts quoted ('00123'), as `strata history` names keys: in a base
// with both, 123 and '123' are different customers.
std::string keys_text(const std::vector<Value>& keys) {
    std::string s;
    for (const Value& k : keys) {
        const auto* text = std::get_if<Str>(&k);
        s += (s.empty() ? "" : ", ") + (text ? "'" + one_line(text->str()) + "'" : format_value(k));
    }
    return s;
}

size_t id_width(size_t at_least, const std::vector<std::string>& ids) {
    size_t w = at_least;
    for (const auto& id : ids)
        w = std::max(w, id.size());
    return w;
}

void print_moves(std::ostream& out, const RulesDiff& d) {
    constexpr size_t kMoveLines = 20;
    std::vector<const GeneralMove*> moves;
    for (const GeneralMove& m : d.matrix) {
        if (m.from != m.to) moves.push_back(&m);
    }
    if (moves.empty()) {
        out << "\nno customer changes general segment\n";
        return;
    }
    std::stable_sort(moves.begin(), moves.end(),
                     [](const auto* a, const auto* b) { return a->count > b->count; });
    out << "\nmoves (old → new segment):\n";
    for (size_t i = 0; i < moves.size() && i < kMoveLines; ++i) {
        const GeneralMove& m = *moves[i];
        out << "  " << pad(m.from.empty() ? "(not placed)" : m.from, 24) << " → "
            << pad(m.to.empty() ? "(not placed)" : m.to, 24) << pad(thousands(m.count), 10, true);
        if (!m.sample.empty()) out << "  e.g. " << keys_text(m.sample);
        out << '\n';
    }
    if (moves.size() > kMoveLines)
        out << "  … and " << moves.size() - kMoveLines << " more (see --format json)\n";
}

void print_segments(std::ostream& out, const RulesDiff& d) {
    std::vector<std::string> ids;
    for (const auto& s : d.segments)
        ids.push_back(s.id);
    const size_t w = id_width(7, ids);
    out << "\n"
        << pad("SEGMENT", w) << ' ' << pad("OLD", 10, true) << ' ' << pad("NEW", 10, true) << ' '
        << pad("CHANGE", 10, true) << '\n';
    for (const auto& s : d.segments) {
        const int64_t change = static_cast<int64_t>(s.new_count.value_or(0)) -
                               static_cast<int64_t>(s.old_count.value_or(0));
        out << pad(s.id, w) << ' ' << pad(optional_count(s.old_count), 10, true) << ' '
            << pad(optional_count(s.new_count), 10, true) << ' '
            << pad(signed_count(change), 10, true)
            << (!s.old_count   ? "  (added)"
                : !s.new_count ? "  (removed)"
                               : "")
            << '\n';
    }
    if (d.tactical.empty()) return;
    std::vector<std::string> paths;
    for (const auto& t : d.tactical)
        paths.push_back(t.path);
    const size_t tw = id_width(8, paths);
    out << "\n"
        << pad("TACTICAL", tw) << ' ' << pad("OLD", 10, true) << ' ' << pad("NEW", 10, true) << ' '
        << pad("ENTERED", 10, true) << ' ' << pad("LEFT", 10, true) << '\n';
    for (const auto& t : d.tactical) {
        out << pad(t.path, tw) << ' ' << pad(optional_count(t.old_count), 10, true) << ' '
            << pad(optional_count(t.new_count), 10, true) << ' '
            << pad(thousands(t.entered), 10, true) << ' ' << pad(thousands(t.left), 10, true)
            << (!t.old_count   ? "  (added)"
                : !t.new_count ? "  (removed)"
                               : "")
            << '\n';
    }
}

void print_triggers(std::ostream& out, const RulesDiff& d) {
    if (!d.triggers_computed) {
        out << "\ntriggers the change would fire: not computed: " << d.triggers_missing << '\n';
        return;
    }
    if (d.triggers.empty()) return;
    if (d.triggers_baseline) {
        out << "\ntriggers the change would fire: none: ruleset '" << d.new_ruleset
            << "' has no run stored in the state, so applying the new file makes its first run, "
               "a baseline, which fires nothing (unless --fire-initial)\n";
        return;
    }
    out << "\ntriggers the change would fire (applied with --fire-on-rule-change):\n";
    std::vector<std::string> ids, ons;
    for (const auto& t : d.triggers) {
        ids.push_back(t.id);
        ons.push_back(t.on);
    }
    const size_t w = id_width(7, ids), on_w = id_width(2, ons);
    out << "  " << pad("TRIGGER", w) << ' ' << pad("ON", on_w) << ' ' << pad("CUSTOMERS", 10, true)
        << ' ' << pad("WOULD SEND", 10, true) << ' ' << pad("HELD OUT", 9, true) << ' '
        << pad("CAPPED", 8, true) << ' ' << pad("COOLDOWN", 9, true) << '\n';
    for (const auto& t : d.triggers) {
        out << "  " << pad(t.id, w) << ' ' << pad(t.on, on_w) << ' '
            << pad(thousands(t.customers), 10, true) << ' '
            << pad(thousands(t.would_send), 10, true) << ' ' << pad(thousands(t.held_out), 9, true)
            << ' ' << pad(thousands(t.capped), 8, true) << ' '
            << pad(thousands(t.cooled_down), 9, true);
        if (!t.sample.empty()) out << "  e.g. " << keys_text(t.sample);
        out << '\n';
    }
    out << "  (customers; a new or changed trigger, or one whose `when` reads a changed let, "
           "counts "
           "every customer it fires for; of an "
           "unchanged one, every firing of 'enter', 'exit' and 'move' (a stored run fires them "
           "only with --fire-on-rule-change), and of 'in X' only the customers in X under the "
           "new file and not under the old; actions already in the outbox are not counted)\n";
}

void print_text(std::ostream& out, const RulesDiff& d, const std::string& old_path,
                const std::string& new_path) {
    out << "diff " << old_path << " (" << d.old_ruleset << " v" << d.old_version << ") → "
        << new_path << " (" << d.new_ruleset << " v" << d.new_version << ")  as_of "
        << format_date(d.as_of) << '\n';
    char share[32];
    const double percent =
        d.customers ? 100.0 * static_cast<double>(d.moved) / static_cast<double>(d.customers) : 0.0;
    // A share that is not zero never shows as 0.0%.
    if (d.moved > 0 && percent < 0.05)
        std::snprintf(share, sizeof share, "<0.1%%");
    else
        std::snprintf(share, sizeof share, "%.1f%%", percent);
    out << thousands(d.customers) << (d.customers == 1 ? " customer, " : " customers, ")
        << thousands(d.moved) << (d.moved == 1 ? " moves" : " move") << " (" << share
        << "); tactical: " << thousands(d.tactical_entered) << " entered, "
        << thousands(d.tactical_left) << " left\n";
    if (!d.computed_in.empty()) out << "computed inside " << d.computed_in << '\n';
    if (d.old_ruleset != d.new_ruleset) {
        out << "note: the files are different rulesets; the triggers are fired as '"
            << d.new_ruleset << "' (its cooldowns, cap and holdouts)\n";
    }
    if (d.old_customers != d.new_customers) {
        out << "the files read the base differently: " << thousands(d.old_customers)
            << (d.old_customers == 1 ? " customer" : " customers") << " under the old file, "
            << thousands(d.new_customers) << " under the new one\n";
    }
    out << "\ndefinitions:";
    if (d.definitions.empty()) out << " no change";
    out << '\n';
    for (const DefinitionLine& l : d.definitions)
        out << "  " << l.sign << ' ' << l.text << '\n';
    print_moves(out, d);
    print_segments(out, d);
    print_triggers(out, d);
}

// The JSON error of a diff whose old file, new file or both failed to load: both messages and
// both files' diagnostics, with the kind of the failure that sets the exit code (a file or
// database problem, exit 2, before rule errors, exit 1).
void write_failures(std::ostream& out, const RuleLoadFailure* old_failure,
                    const RuleLoadFailure* new_failure) {
    if (!old_failure || !new_failure) {
        const RuleLoadFailure& f = old_failure ? *old_failure : *new_failure;
        write_json_error(out, f.kind, f.message, f.diagnostics, f.source.get());
        return;
    }
    std::vector<Diagnostic> diagnostics = old_failure->diagnostics;
    diagnostics.insert(diagnostics.end(), new_failure->diagnostics.begin(),
                       new_failure->diagnostics.end());
    const std::string kind = old_failure->kind != "rules" ? old_failure->kind : new_failure->kind;
    write_json_error(out, kind, old_failure->message + "; " + new_failure->message, diagnostics,
                     old_failure->source.get(), new_failure->source.get());
}

// The as_of both files are evaluated at (old_file_as_of), and its note for the diff.
std::optional<Date> diff_as_of(const std::optional<std::string>& flag, const RuleFile& old_file,
                               const RuleFile& new_file, std::ostream& err,
                               std::optional<std::string>& note) {
    if (auto old_one = old_file_as_of(flag.has_value(), old_file, new_file, note)) return old_one;
    return resolve_as_of(flag, new_file, err, "diff");
}

int run_diff(const DiffCommandOptions& options, std::ostream& out, std::ostream& err) {
    std::ostream* json = options.format == Format::Json ? &out : nullptr;
    if (is_postgres_url(options.db) || is_clickhouse_url(options.db)) {
        if (options.state && is_postgres_url(options.db)) {
            const std::string message =
                "--state: inside PostgreSQL, diff reads the earlier actions from the server's own "
                "strata_outbox (--state is for ClickHouse, whose runs keep their actions there)";
            err << "strata diff: " << message << '\n';
            if (json) write_json_error(out, "usage", message);
            return kExitEnvironment;
        }
        int exit_code = kExitOk;
        const auto diff =
            diff_in_warehouse(options.old_rules, options.new_rules, options.db, options.as_of,
                              options.sample, options.state, out, err, json != nullptr, exit_code);
        if (!diff) return exit_code;
        for (const std::string& note : diff->notes)
            err << "strata diff: note: " << note << '\n';
        if (json)
            out << diff_json(*diff) << '\n';
        else
            print_text(out, *diff, options.old_rules, options.new_rules);
        return kExitOk;
    }
    int old_code = kExitOk, new_code = kExitOk;
    // Both files are compiled, so that the problems of both are shown at once, on stderr and
    // in one JSON error object.
    RuleLoadFailure old_failure, new_failure;
    auto old_loaded =
        load_rules(options.old_rules, options.db, err, old_code, nullptr, {}, &old_failure);
    // A database that cannot be opened is said once (the new file would say it again); rule
    // errors, and a table or column the database lacks, are said for both files.
    if (!old_loaded && old_failure.kind == "database" && old_failure.diagnostics.empty()) {
        if (json) write_json_error(out, old_failure.kind, old_failure.message);
        return old_code;
    }
    auto new_loaded =
        load_rules(options.new_rules, options.db, err, new_code, nullptr, {}, &new_failure);
    if (!old_loaded || !new_loaded) {
        if (json)
            write_failures(out, old_loaded ? nullptr : &old_failure,
                           new_loaded ? nullptr : &new_failure);
        return std::max(old_code, new_code);
    }
    std::optional<std::string> as_of_note;
    const auto as_of = diff_as_of(options.as_of, old_loaded->rules->rules, new_loaded->rules->rules,
                                  err, as_of_note);
    if (!as_of) {
        if (json)
            write_json_error(out, "usage",
                             "--as-of '" + options.as_of.value_or("") + "' is not a date");
        return kExitEnvironment;
    }
    std::unique_ptr<SQLite::Database> state;
    if (options.state) {
        StoreError error;
        state = open_read_only(*options.state, error);
        if (!state) {
            err << "strata diff: " << error.message << '\n';
            if (json) write_json_error(out, "database", error.message);
            return kExitEnvironment;
        }
    }
    // A strata_* table of someone else's is no state to read moves from (as for `runs`).
    {
        std::string foreign;
        try {
            foreign = foreign_state_tables(state ? *state : *old_loaded->db);
        } catch (const SQLite::Exception& e) {
            foreign = std::string("cannot read the state's tables: ") + e.what();
        }
        if (!foreign.empty()) {
            err << "strata diff: " << foreign << '\n';
            if (json) write_json_error(out, "database", foreign);
            return kExitEnvironment;
        }
    }
    // The plan before the apply: say when the apply would be refused for an unbumped version.
    {
        const auto& new_file = new_loaded->rules->rules;
        std::optional<std::string> refused = same_version_other_content(
            *old_loaded->rules, old_loaded->sha256, *new_loaded->rules, new_loaded->sha256);
        if (!refused) {
            try {
                SQLite::Database& read = state ? *state : *old_loaded->db;
                refused =
                    refuses_unbumped_version(read, new_file.ruleset, new_file.version,
                                             new_loaded->sha256, new_loaded->rules->source.text());
            } catch (const SQLite::Exception&) {
                // A state that cannot be read has no versions to compare with.
            }
        }
        // Nor can it be applied at a day before the ruleset's latest stored run.
        if (!refused) {
            try {
                StoreError ignored;
                SQLite::Database& read = state ? *state : *old_loaded->db;
                const auto latest = find_run(read, new_file.ruleset, std::nullopt, ignored);
                if (auto back = refuses_going_back(latest, new_file.ruleset, format_date(*as_of)))
                    refused = back->substr(0, back->find(" Use --dry-run"));
            } catch (const SQLite::Exception&) {
                // A state that cannot be read has no runs to compare with.
            }
        }
        if (refused)
            err << "strata diff: warning: a stored run of the new file would be refused: "
                << *refused << '\n';
    }
    DiffOptions diff_options;
    diff_options.as_of = *as_of;
    diff_options.sample = options.sample;
    diff_options.progress = terminal_progress();
    RunError error;
    // Both files are evaluated on one connection; the state is, as for a dry run, the customer
    // database itself unless --state names another file.
    SQLite::Database& data = *old_loaded->db;
    auto diff =
        diff_rules(*old_loaded->rules, old_loaded->sha256, *new_loaded->rules, new_loaded->sha256,
                   data, state ? state.get() : &data, diff_options, error);
    if (diff_options.progress) err << "\r\033[K";
    if (!diff) {
        if (as_of_note) err << "strata diff: note: " << *as_of_note << '\n';
        err << "strata diff: " << error.message << '\n';
        if (json) write_json_error(out, error.rule_problem ? "rules" : "database", error.message);
        return error.rule_problem ? kExitRules : kExitEnvironment;
    }
    if (diff->new_run_refused)
        err << "strata diff: warning: a stored run of the new file would be refused: "
            << *diff->new_run_refused << '\n';
    if (as_of_note) diff->notes.insert(diff->notes.begin(), *as_of_note);
    for (const std::string& note : diff->notes)
        err << "strata diff: note: " << note << '\n';
    if (json)
        out << diff_json(*diff) << '\n';
    else
        print_text(out, *diff, options.old_rules, options.new_rules);
    return kExitOk;
}

}  // namespace

void add_diff(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<DiffCommandOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "diff",
        "What a new version of a rule file would change: who moves where, segment counts, "
        "triggers that would fire, changed definitions (stores nothing)");
    cmd->add_option("old", options->old_rules, "The rule file as it is (YAML)")->required();
    cmd->add_option("new", options->new_rules, "The changed rule file (YAML)")->required();
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or a postgresql:// or clickhouse:// URL: both "
                    "files are then evaluated inside the warehouse (docs/warehouse.md)")
        ->required();
    cmd->add_option("--as-of", options->as_of,
                    "Reference date YYYY-MM-DD for both files (default: the new file's, else the "
                    "old file's, else today)");
    cmd->add_option("--sample", options->sample,
                    "List up to N example customer keys for each move and each trigger (default 0: "
                    "none)")
        ->check(whole_number("a sample size", 1000000));
    cmd->add_option("--state", options->state,
                    "SQLite file with run state, read for previous_segment and the like and for "
                    "the triggers' cooldowns and frequency cap (default: the customer database); "
                    "with a clickhouse:// --db, the store of the runs' actions (a SQLite file or "
                    "postgresql:// URL)");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = *format == "json" ? Format::Json : Format::Text;
        exit_code = run_diff(*options, out, err);
    });
}

}  // namespace strata::cli
