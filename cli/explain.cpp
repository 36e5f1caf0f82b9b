// `strata explain RULES --db DB --customer KEY [--as-of DATE] [--state PATH]
// [--format text|json]`: why a customer is where they are.
#include <CLI/CLI.hpp>

#include <cmath>
#include <ostream>
#include <set>

#include "analysis/explain.hpp"
#include "analysis/explain_reasons.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/customer_key_options.hpp"
#include "cli/explain_stored.hpp"
#include "cli/explain_warehouse.hpp"
#include "cli/run_warehouse.hpp"
#include "cli/whole_number.hpp"
#include "dsl/calendar.hpp"
#include "engine/json.hpp"
#include "engine/reader.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"

namespace strata::cli {

namespace {

struct ExplainOptions {
    std::string rules;
    std::string db;
    std::string customer;
    std::optional<std::string> as_of;
    std::optional<std::string> state;
    std::optional<int64_t> run;
    bool text_key = false;
    Format format = Format::Text;
    std::string wait = kReadWait;  // how long to wait while a run holds a database
};

// A text longer than kShownTextBytes is shown by its first kShownStartBytes (whole
// characters) and its size: a let may build a text of up to 64 KiB, which would fill the
// screen. JSON gives every text whole.
constexpr size_t kShownTextBytes = 240;
constexpr size_t kShownStartBytes = 160;

// The first kShownStartBytes of `text`, in whole characters.
std::string_view start_of(const std::string& text) {
    size_t start = 0;
    while (start < kShownStartBytes && start < text.size())
        start += std::max<size_t>(1, text::utf8_sequence_length(text, start));
    return std::string_view(text).substr(0, start);
}

std::string shown(const Value& v) {
    if (is_null(v)) return "null";
    // On one line, as history shows it: a key or value's line break would read as a line of
    // the explanation.
    if (const auto* s = std::get_if<Str>(&v)) {
        const std::string& text = s->str();
        if (text.size() <= kShownTextBytes) return "'" + one_line(text) + "'";
        return "'" + one_line(start_of(text)) + "…' (" + thousands(text.size()) + " bytes)";
    }
    return format_value(v);
}

// An expression as the file writes it, shortened as a long text is (a list of thousands of
// items, a long literal).
std::string shown_source(const std::string& source) {
    if (source.size() <= kShownTextBytes) return source;
    return std::string(start_of(source)) + "…";
}

void write_value(JsonWriter& w, const Value& v) {
    if (is_null(v))
        w.null();
    else if (const auto* b = std::get_if<bool>(&v))
        w.value(*b);
    else if (const auto* i = std::get_if<int64_t>(&v))
        w.value(*i);
    else if (const auto* d = std::get_if<double>(&v))
        // As the text says it: every digit the value needs, so that a condition's two sides
        // never read alike when they differ.
        std::isfinite(*d) ? w.raw(format_value(v)) : w.null();
    else if (const auto* s = std::get_if<Str>(&v))
        w.value(s->str());
    else
        w.value(format_value(v));
}

// How many fact rows fed an aggregate: `4 rows of orders`, `4 rows of orders, 1 without a value`.
std::string rows_text(const ExplainNode& n) {
    std::string text = thousands(static_cast<size_t>(*n.rows)) + (*n.rows == 1 ? " row" : " rows") +
                       " of " + n.fact;
    if (n.rows_without_value > 0)
        text += ", " + thousands(static_cast<size_t>(n.rows_without_value)) + " without a value";
    return text;
}

// One node and what it is made of; a let's definition is shown the first time only.
void print_node(std::ostream& out, const ExplainNode& n, int depth, std::set<std::string>& lets) {
    if (n.kind == "literal") return;  // literals speak for themselves
    out << std::string(static_cast<size_t>(6 + 2 * depth), ' ') << shown_source(n.text) << " = "
        << (n.computed ? shown(n.value) : "(not computed inside the warehouse)") << "   (" << n.kind
        << ", " << n.location.line << ':' << n.location.col;
    if (n.rows) out << "; " << rows_text(n);
    out << ")\n";
    if (!n.because.empty())
        out << std::string(static_cast<size_t>(8 + 2 * depth), ' ') << "because " << n.because
            << '\n';
    if (n.kind == "let" && !lets.insert(n.text).second) return;
    for (const auto& c : n.children)
        print_node(out, c, depth + 1, lets);
}

// Whether the fresh evaluation placed the customer as the stored run did.
bool matches(const Explanation& e, const StoredPlacement& stored) {
    return e.segment == stored.segment && e.tactical == stored.tactical;
}

std::string placement_text(const std::string& segment, const std::vector<std::string>& tactical) {
    std::string text = segment;
    for (size_t i = 0; i < tactical.size(); ++i)
        text += (i ? ", " : " [") + tactical[i];
    return tactical.empty() ? text : text + "]";
}

// The stored run beside the fresh evaluation, said plainly.
void print_stored(std::ostream& out, const Explanation& e, const StoredPlacement& stored) {
    const RunRecord& r = stored.run;
    out << "stored by run " << r.run_id << " (" << r.ruleset << " v" << r.version << ", sha256 "
        << r.rules_sha256.substr(0, 12) << ", as_of " << r.as_of
        << "): " << placement_text(stored.segment, stored.tactical) << '\n';
    for (const auto& note : stored.notes)
        out << "note: " << note << '\n';
    if (format_date(e.as_of) != r.as_of)
        out << "note: evaluated as_of " << format_date(e.as_of) << ", not the run's " << r.as_of
            << '\n';
    if (matches(e, stored))
        out << "the fresh evaluation agrees with run " << r.run_id << '\n';
    else
        out << "the fresh evaluation DIFFERS from run " << r.run_id << ": now "
            << placement_text(e.segment, e.tactical) << ", stored "
            << placement_text(stored.segment, stored.tactical)
            << (stored.same_rules && format_date(e.as_of) == r.as_of
                    ? " (same rules, same as_of: the data changed since the run)"
                    : "")
            << '\n';
}

void print_text(std::ostream& out, const Explanation& e, const StoredPlacement* stored) {
    std::set<std::string> lets;
    out << "customer " << shown(e.customer) << " in " << e.ruleset << " v" << e.version
        << ", as_of " << format_date(e.as_of) << ": " << e.segment;
    if (!e.tactical.empty()) {
        out << " [";
        for (size_t i = 0; i < e.tactical.size(); ++i)
            out << (i ? ", " : "") << e.tactical[i];
        out << ']';
    }
    out << '\n';
    if (!e.computed_in.empty()) out << "computed inside " << e.computed_in << '\n';
    if (stored) print_stored(out, e, *stored);
    out << "\ngeneral segments, in order (the first that holds wins):\n";
    for (const auto& s : e.tried) {
        const bool winner = s.id == e.segment;
        out << (winner ? "  → " : "    ") << s.id << ": " << s.result;
        if (s.condition) out << "   " << shown_source(s.condition->text);
        out << '\n';
        if (!s.deciding.empty()) out << "      because " << reason_text(s.deciding) << '\n';
        if (s.condition) {
            for (const auto& c : s.condition->children)
                print_node(out, c, 0, lets);
        }
        if (winner) break;
    }
    if (e.tactical_tried.empty()) return;
    out << "\ntactical segments of " << e.segment << ":\n";
    for (const auto& s : e.tactical_tried) {
        out << "    " << s.id << ": " << s.result;
        if (s.condition) out << "   " << shown_source(s.condition->text);
        out << '\n';
        if (!s.deciding.empty()) out << "      because " << reason_text(s.deciding) << '\n';
        if (s.condition) {
            for (const auto& c : s.condition->children)
                print_node(out, c, 0, lets);
        }
    }
}

void write_node(JsonWriter& w, const ExplainNode& n) {
    w.begin_object().key("text").value(n.text).key("kind").value(n.kind);
    w.key("line").value(n.location.line).key("col").value(n.location.col).key("value");
    write_value(w, n.value);
    if (!n.computed) w.key("computed").value(false);
    if (n.rows) {
        w.key("rows").value(*n.rows).key("rows_without_value").value(n.rows_without_value);
        w.key("fact").value(n.fact);
    }
    w.key("because").text_or_null(n.because);
    w.key("children").begin_array();
    for (const auto& c : n.children)
        write_node(w, c);
    w.end_array().end_object();
}

// Why a segment did not hold: `reason` as the text shows it, and `deciding`, the parts that
// decided it; null and [] for one that held or the catch-all.
void write_reason(JsonWriter& w, const ExplainedSegment& s) {
    w.key("reason");
    if (s.deciding.empty())
        w.null();
    else
        w.value(reason_text(s.deciding));
    w.key("deciding").begin_array();
    for (const DecidingPart& p : s.deciding) {
        w.begin_object().key("text").value(p.text).key("line").value(p.location.line);
        w.key("col").value(p.location.col).key("result");
        if (p.result == "null")
            w.null();
        else
            w.value(p.result == "true");
        w.key("let").text_or_null(p.let);
        w.key("operands").begin_array();
        for (const auto& [text, value] : p.operands) {
            w.begin_object().key("text").value(text).key("value");
            write_value(w, value);
            w.end_object();
        }
        w.end_array().end_object();
    }
    w.end_array();
}

void write_segments(JsonWriter& w, const char* key, const std::vector<ExplainedSegment>& list) {
    w.key(key).begin_array();
    for (const auto& s : list) {
        w.begin_object().key("id").value(s.id).key("result");
        if (s.result == "true" || s.result == "false")
            w.value(s.result == "true");
        else if (s.result == "otherwise")
            w.value("otherwise");
        else
            w.null();
        w.key("condition");
        if (s.condition)
            write_node(w, *s.condition);
        else
            w.null();
        write_reason(w, s);
        w.end_object();
    }
    w.end_array();
}

// `stored` (the run's placement, its version and whether the rules evaluated are that
// version) and `matches_stored`; both null without --run.
void write_stored(JsonWriter& w, const Explanation& e, const StoredPlacement* stored) {
    w.key("stored");
    if (!stored) {
        w.null().key("matches_stored").null();
        return;
    }
    const RunRecord& r = stored->run;
    w.begin_object().key("run").value(r.run_id).key("ruleset").value(r.ruleset);
    w.key("version").value(r.version).key("sha256").value(r.rules_sha256);
    w.key("as_of").value(r.as_of).key("segment").value(stored->segment);
    w.key("tactical").begin_array();
    for (const auto& t : stored->tactical)
        w.value(t);
    w.end_array().key("same_rules").value(stored->same_rules).key("notes").begin_array();
    for (const auto& note : stored->notes)
        w.value(note);
    w.end_array().end_object();
    w.key("matches_stored").value(matches(e, *stored));
}

void print_json(std::ostream& out, const Explanation& e, const StoredPlacement* stored) {
    JsonWriter w;
    w.begin_object().key("format").value(1).key("customer");
    write_value(w, e.customer);
    w.key("segment").value(e.segment).key("tactical").begin_array();
    for (const auto& t : e.tactical)
        w.value(t);
    w.end_array();
    w.key("ruleset").value(e.ruleset).key("version").value(e.version);
    w.key("as_of").value(format_date(e.as_of));
    write_segments(w, "tried", e.tried);
    write_segments(w, "tactical_tried", e.tactical_tried);
    write_stored(w, e, stored);
    w.key("computed_in").text_or_null(e.computed_in);
    w.end_object();
    out << w.str() << '\n';
}

int run_explain(const ExplainOptions& options, std::ostream& out, std::ostream& err) {
    int exit_code = kExitOk;
    const bool json = options.format == Format::Json;
    if (!wait_is_duration("explain", options.wait, err, json ? &out : nullptr))
        return kExitEnvironment;
    if (is_postgres_url(options.db) || is_clickhouse_url(options.db)) {
        auto usage = [&](const std::string& message) {
            err << "strata explain: " << message << '\n';
            if (json) write_json_error(out, "usage", message);
            return kExitEnvironment;
        };
        if (options.state)
            return usage("--state: inside the warehouse, explain reads no stored state");
        if (options.text_key)
            return usage(
                "--text-key: inside the warehouse the key column has one type, so 42 and '42' "
                "cannot both be keys; drop --text-key");
        if (options.run || names_ruleset(options.rules)) {
            std::vector<Value> keys;
            if (auto i = integer_key_spelled(options.customer)) keys.push_back(Value{*i});
            keys.push_back(Value{intern(options.customer)});
            auto both =
                explain_stored_in_warehouse(options.rules, options.run, options.db, options.as_of,
                                            keys, options.customer, out, err, json, exit_code);
            if (!both) return exit_code;
            if (json)
                print_json(out, both->explanation, &both->stored);
            else
                print_text(out, both->explanation, &both->stored);
            return kExitOk;
        }
        auto e = explain_in_warehouse(options.rules, options.db, options.as_of, options.customer,
                                      out, err, json, exit_code);
        if (!e) return exit_code;
        if (json)
            print_json(out, *e, nullptr);
        else
            print_text(out, *e, nullptr);
        return kExitOk;
    }
    std::vector<Value> keys;
    if (!options.text_key)
        if (auto i = integer_key_spelled(options.customer)) keys.push_back(Value{*i});
    keys.push_back(Value{intern(options.customer)});
    // With --run N, or a ruleset's name for RULES: the stored run's placement beside the fresh
    // evaluation, at the run's as_of unless --as-of says otherwise.
    std::optional<StoredRunExplain> stored;
    std::optional<LoadedRules> loaded;
    std::unique_ptr<SQLite::Database> state_file;
    SQLite::Database* state = nullptr;
    if (options.run || names_ruleset(options.rules)) {
        stored = load_stored_run_explain(options.rules, options.run, options.db, options.state,
                                         keys, err, json ? &out : nullptr, exit_code, options.wait);
        if (!stored) return exit_code;
        state = stored->state.state;
    } else {
        const int wait_ms = busy_timeout_ms(*parse_duration(options.wait));
        loaded = load_rules(options.rules, options.db, err, exit_code, json ? &out : nullptr,
                            DatabaseWait{wait_ms, options.wait});
        if (!loaded) return exit_code;
        if (options.state) {
            StoreError state_error;
            state_file = open_read_only(*options.state, state_error, wait_ms);
            if (state_error.locked)
                state_error.message += " (waited " + options.wait + ", the --wait)";
            if (!state_file) {
                err << "strata explain: " << state_error.message << '\n';
                if (json) write_json_error(out, "database", state_error.message);
                return kExitEnvironment;
            }
        }
        state = state_file ? state_file.get() : loaded->db.get();
    }
    const LoadedRules& rules = stored ? stored->rules : *loaded;
    const std::optional<std::string> as_of_text =
        options.as_of ? options.as_of
        : stored      ? std::optional<std::string>(stored->stored.run.as_of)
                      : std::nullopt;
    auto as_of = resolve_as_of(as_of_text, rules.rules->rules, err, "explain");
    if (!as_of) {
        if (json)
            write_json_error(out, "usage",
                             "--as-of '" + as_of_text.value_or("") + "' is not a date");
        return kExitEnvironment;
    }
    std::string error;
    bool rule_problem = false;
    bool not_found = false;
    std::optional<AsStoredRun> as_stored;
    if (stored) as_stored = AsStoredRun{stored->stored.run.run_id, stored->fits.get()};
    auto e = explain_customer(*rules.rules, *rules.db, state, *as_of, keys, error, &rule_problem,
                              as_stored ? &*as_stored : nullptr, &not_found);
    if (!e && rule_problem) {
        err << "strata explain: " << error << '\n';
        if (json) write_json_error(out, "rules", error);
        return kExitRules;
    }
    if (!e) {
        if (stored)
            error += " (run " + std::to_string(stored->stored.run.run_id) + " placed them in " +
                     stored->stored.segment + ")";
        err << "strata explain: " << error << '\n';
        if (json) write_json_error(out, not_found ? "not_found" : "database", error);
        return kExitEnvironment;
    }
    // A rule file explained as of today (no --as-of, none in the file) while its latest run
    // stored another day: the placement differs from the run's for reasons of the day alone.
    if (!stored && !options.as_of && !rules.rules->rules.as_of && state) {
        StoreError ignored;
        const std::optional<RunRecord> latest =
            find_run(*state, rules.rules->rules.ruleset, std::nullopt, ignored);
        if (latest && latest->as_of != format_date(*as_of))
            err << "strata explain: note: evaluated as of " << format_date(*as_of)
                << " (today: neither --as-of nor the rule file names a day); the latest run of "
                   "ruleset '"
                << rules.rules->rules.ruleset << "', run " << latest->run_id << ", is as of "
                << latest->as_of << ": give --run " << latest->run_id
                << " to explain the placement it stored\n";
    }
    // Another day with the run's cut points: the customer's values are that day's, the cut
    // points are still the run's, which a run on that day would fit again.
    if (stored && stored->fits && stored->fits->size() > 0 &&
        format_date(*as_of) != stored->stored.run.as_of)
        stored->stored.notes.push_back(
            "population calls (ntile, rfm, abc and the like) use run " +
            std::to_string(stored->stored.run.run_id) +
            "'s cut points, fitted over the base as of " + stored->stored.run.as_of +
            ", not fitted again as of " + format_date(*as_of) +
            " as a run on that day would: the placement may be neither the run's nor that day's");
    const StoredPlacement* placement = stored ? &stored->stored : nullptr;
    if (json)
        print_json(out, *e, placement);
    else
        print_text(out, *e, placement);
    return kExitOk;
}

}  // namespace

void add_explain(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<ExplainOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "explain", "Why a customer is in their segment: every condition tried, with its values");
    cmd->add_option("rules", options->rules,
                    "Rule file (YAML), or the name of a stored ruleset: the customer is then "
                    "explained as its latest run (or --run) placed them, by that run's version")
        ->required();
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or a postgresql:// or clickhouse:// URL: the "
                    "customer is then explained inside the warehouse (docs/warehouse.md)")
        ->required();
    add_customer_key_options(cmd, options->customer, options->text_key);
    cmd->add_option("--as-of", options->as_of,
                    "Reference date YYYY-MM-DD (default: the rule file's, else today)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state, read for previous_segment and the like "
                    "(default: the customer database)");
    cmd->add_option("--run", options->run,
                    "A stored run: show its placement of the customer beside the fresh evaluation "
                    "(as_of defaults to the run's; RULES may be the ruleset's name, to evaluate "
                    "the run's own version)")
        ->check(whole_number("a run id", INT64_MAX));
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    add_read_wait_option(*cmd, options->wait);
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = *format == "json" ? Format::Json : Format::Text;
        exit_code = run_explain(*options, out, err);
    });
}

}  // namespace strata::cli
