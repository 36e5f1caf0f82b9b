// `strata explain RULES --db DB --customer KEY [--as-of DATE] [--state PATH]
// [--format text|json]`: why a customer is where they are.
#include <CLI/CLI.hpp>

#include <ostream>
#include <set>

#include "analysis/explain.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "engine/json.hpp"
#include "engine/reader.hpp"
#include "engine/store.hpp"

namespace strata::cli {

namespace {

struct ExplainOptions {
    std::string rules;
    std::string db;
    std::string customer;
    std::optional<std::string> as_of;
    std::optional<std::string> state;
    Format format = Format::Text;
};

std::string shown(const Value& v) {
    if (is_null(v)) return "null";
    if (const auto* s = std::get_if<Str>(&v)) return "'" + s->str() + "'";
    return format_value(v);
}

void write_value(JsonWriter& w, const Value& v) {
    if (is_null(v))
        w.null();
    else if (const auto* b = std::get_if<bool>(&v))
        w.value(*b);
    else if (const auto* i = std::get_if<int64_t>(&v))
        w.value(*i);
    else if (const auto* d = std::get_if<double>(&v))
        w.value(*d, 9);
    else if (const auto* s = std::get_if<Str>(&v))
        w.value(s->str());
    else
        w.value(format_value(v));
}

// One node and what it is made of; a let's definition is shown the first time only.
void print_node(std::ostream& out, const ExplainNode& n, int depth, std::set<std::string>& lets) {
    if (n.kind == "literal") return;  // literals speak for themselves
    out << std::string(static_cast<size_t>(6 + 2 * depth), ' ') << n.text << " = " << shown(n.value)
        << "   (" << n.kind << ", " << n.location.line << ':' << n.location.col << ")\n";
    if (!n.because.empty())
        out << std::string(static_cast<size_t>(8 + 2 * depth), ' ') << "because " << n.because
            << '\n';
    if (n.kind == "let" && !lets.insert(n.text).second) return;
    for (const auto& c : n.children)
        print_node(out, c, depth + 1, lets);
}

void print_text(std::ostream& out, const Explanation& e) {
    std::set<std::string> lets;
    out << "customer " << shown(e.customer) << " in " << e.ruleset << " v" << e.version
        << ", as_of " << format_date(e.as_of) << ": " << e.segment;
    if (!e.tactical.empty()) {
        out << " [";
        for (size_t i = 0; i < e.tactical.size(); ++i)
            out << (i ? ", " : "") << e.tactical[i];
        out << ']';
    }
    out << "\n\ngeneral segments, in order (the first that holds wins):\n";
    for (const auto& s : e.tried) {
        const bool winner = s.id == e.segment;
        out << (winner ? "  → " : "    ") << s.id << ": " << s.result;
        if (s.condition) out << "   " << s.condition->text;
        out << '\n';
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
        if (s.condition) out << "   " << s.condition->text;
        out << '\n';
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
    w.key("because");
    if (n.because.empty())
        w.null();
    else
        w.value(n.because);
    w.key("children").begin_array();
    for (const auto& c : n.children)
        write_node(w, c);
    w.end_array().end_object();
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
        w.end_object();
    }
    w.end_array();
}

void print_json(std::ostream& out, const Explanation& e) {
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
    w.end_object();
    out << w.str() << '\n';
}

int run_explain(const ExplainOptions& options, std::ostream& out, std::ostream& err) {
    int exit_code = kExitOk;
    const bool json = options.format == Format::Json;
    auto loaded = load_rules(options.rules, options.db, err, exit_code, json ? &out : nullptr);
    if (!loaded) return exit_code;
    auto as_of = resolve_as_of(options.as_of, loaded->rules->rules, err);
    if (!as_of) {
        if (json)
            write_json_error(out, "usage",
                             "--as-of '" + options.as_of.value_or("") + "' is not a date");
        return kExitEnvironment;
    }
    std::unique_ptr<SQLite::Database> state;
    if (options.state) {
        StoreError ignored;
        state = open_read_only(*options.state, ignored);
    }
    std::vector<Value> keys;
    if (auto i = integer_key_spelled(options.customer)) keys.push_back(Value{*i});
    keys.push_back(Value{intern(options.customer)});
    std::string error;
    auto e = explain_customer(*loaded->rules, *loaded->db, state ? state.get() : loaded->db.get(),
                              *as_of, keys, error);
    if (!e) {
        err << "strata explain: " << error << '\n';
        if (json) write_json_error(out, "database", error);
        return kExitEnvironment;
    }
    if (json)
        print_json(out, *e);
    else
        print_text(out, *e);
    return kExitOk;
}

}  // namespace

void add_explain(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<ExplainOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "explain", "Why a customer is in their segment: every condition tried, with its values");
    cmd->add_option("rules", options->rules, "Rule file (YAML)")->required();
    cmd->add_option("--db", options->db, "SQLite customer database")->required();
    cmd->add_option("--customer", options->customer, "The customer's key")->required();
    cmd->add_option("--as-of", options->as_of,
                    "Reference date YYYY-MM-DD (default: the rule file's, else today)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state, read for previous_segment and the like "
                    "(default: the customer database)");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = *format == "json" ? Format::Json : Format::Text;
        exit_code = run_explain(*options, out, err);
    });
}

}  // namespace strata::cli
