// `strata eval RULES --db DB --customer KEY [--as-of DATE] [--state PATH] [--apply]
// [--wait DURATION] [--format text|json]`: one customer evaluated now, from their own rows, with
// the thresholds of the ruleset's latest run. A thin front of the library
// (include/strata/strata.hpp).
#include <ostream>

#include <CLI/CLI.hpp>
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/customer_key_options.hpp"
#include "engine/json.hpp"
#include "include/strata/strata.hpp"

namespace strata::cli {

namespace {

struct EvalOptions {
    std::string rules;
    std::string db;
    std::string customer;
    std::optional<std::string> as_of;
    std::optional<std::string> state;
    bool apply = false;
    bool text_key = false;
    bool allow_retyped_keys = false;
    bool allow_future_as_of = false;
    std::string wait = "5s";  // how long a read waits for another process's lock
    Format format = Format::Text;
};

std::string joined(const std::vector<std::string>& paths) {
    std::string out;
    for (const auto& p : paths)
        out += (out.empty() ? "" : ", ") + p;
    return out.empty() ? "-" : out;
}

void print_json(std::ostream& out, const Engine& engine, const CustomerResult& r) {
    JsonWriter w;
    w.begin_object().key("format").value(1).key("ruleset").value(engine.ruleset());
    w.key("customer");
    if (r.key_is_text)
        w.value(r.customer_key);
    else
        w.raw(r.customer_key);
    w.key("previous_segment").value_or_null(r.previous_segment);
    w.key("previous_tactical").begin_array();
    for (const auto& t : r.previous_tactical)
        w.value(t);
    w.end_array().key("segment").value(r.segment).key("tactical").begin_array();
    for (const auto& t : r.tactical)
        w.value(t);
    w.end_array().key("transition").value(r.transition).key("actions").begin_array();
    for (const PlannedAction& a : r.actions) {
        w.begin_object().key("trigger").value(a.trigger).key("action").value(a.action);
        w.key("type").value(a.type).key("status").value(a.status);
        w.key("idempotency_key").value(a.idempotency_key).key("payload").raw(a.payload);
        w.end_object();
    }
    w.end_array().key("as_of").value(r.as_of).key("run_id").value(r.run_id);
    w.key("applied").value(r.applied).key("applied_run");
    if (r.applied)
        w.value(r.applied_run);
    else
        w.null();
    w.end_object();
    out << w.str() << '\n';
}

void print_text(std::ostream& out, const Engine& engine, const CustomerResult& r) {
    // A text key in quotes when it reads as a number: the base may hold the integer 42 too.
    const std::string key =
        r.key_is_text ? key_value_in_message(Value{Str{&r.customer_key}}) : r.customer_key;
    out << "customer " << key << " in " << engine.ruleset() << " as of " << r.as_of
        << " (thresholds of run " << r.run_id << ")\n";
    out << "  segment   " << r.segment << "  tactical: " << joined(r.tactical) << '\n';
    if (r.previous_segment)
        out << "  stored    " << *r.previous_segment
            << "  tactical: " << joined(r.previous_tactical) << '\n';
    else
        out << "  stored    - (never placed)\n";
    out << "  "
        << (r.transition == "moves"   ? "moves     " + *r.previous_segment + " → " + r.segment
            : r.transition == "stays" ? std::string("stays     in ") + r.segment
                                      : std::string("new       → ") + r.segment)
        << '\n';
    if (r.actions.empty()) {
        out << (r.applied ? "  no action enqueued\n" : "  no action to enqueue\n");
    } else {
        out << (r.applied ? "  enqueued:\n" : "  would enqueue:\n");
        for (const PlannedAction& a : r.actions)
            out << "    " << a.trigger << "  " << a.type << "  " << a.status << "  " << a.payload
                << '\n';
    }
    if (r.applied)
        out << "  applied as run " << r.applied_run << '\n';
    else
        out << "  not stored (--apply stores it)\n";
}

int run_eval(const EvalOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    EngineOptions engine_options;
    engine_options.rules_path = options.rules;
    engine_options.db_path = options.db;
    engine_options.state_path = options.state.value_or("");
    engine_options.as_of = options.as_of.value_or("");
    engine_options.allow_retyped_keys = options.allow_retyped_keys;
    engine_options.allow_future_as_of = options.allow_future_as_of;
    const std::optional<int64_t> wait = parse_duration(options.wait);
    auto report = [&](const EngineError& e) {
        err << "strata eval: " << e.message << '\n';
        if (json)
            write_json_error(out,
                             e.kind == EngineError::Kind::Rules      ? "rules"
                             : e.kind == EngineError::Kind::Usage    ? "usage"
                             : e.kind == EngineError::Kind::NotFound ? "not_found"
                             : e.kind == EngineError::Kind::Stale    ? "stale"
                                                                     : "database",
                             e.message);
        return e.exit_code();
    };
    if (!wait) return report(EngineError{EngineError::Kind::Usage, wait_problem(options.wait)});
    // The library takes an empty as_of for the latest run's; an empty --as-of (an unset
    // variable in a script) is refused as `strata run` refuses it.
    if (options.as_of && !parse_date(*options.as_of))
        return report(
            EngineError{EngineError::Kind::Usage,
                        "--as-of '" + *options.as_of + "' is not a date such as 2026-11-01"});
    engine_options.busy_timeout_ms = busy_timeout_ms(*wait);
    auto engine = Engine::open(engine_options);
    if (!engine && engine.error().in_rule_file) {
        // Reported as every command reports a rule file it cannot read or bind: one line and
        // every diagnostic, in text and in the JSON error object.
        int code = kExitEnvironment;
        if (!load_rules(options.rules, options.db, err, code, json ? &out : nullptr)) return code;
    }
    if (!engine) return report(engine.error());
    for (const std::string& created : engine->created_indexes())
        err << "strata eval: created an index for lookups: " << created << '\n';
    // Refused here, as the library would, but with the command's own advice: a day past the
    // thresholds' run and more than a year after today.
    if (options.apply && options.as_of && !options.allow_future_as_of) {
        if (const std::optional<Date> as_of = parse_date(*options.as_of)) {
            if (auto refused = refuses_far_future_as_of(
                    *as_of, today_utc(), "without --apply", options.state.value_or(options.db),
                    engine->ruleset(), engine->thresholds_run()))
                return report(EngineError{EngineError::Kind::Usage, *refused});
        }
    }
    const KeyLookup lookup = options.text_key ? KeyLookup::Text : KeyLookup::Spelled;
    auto result = options.apply ? engine->apply(options.customer, lookup)
                                : engine->evaluate(options.customer, lookup);
    if (!result) return report(result.error());
    if (json)
        print_json(out, engine.value(), result.value());
    else
        print_text(out, engine.value(), result.value());
    if (options.apply)
        say_stored_if_output_lost(
            out, err, "eval",
            "the evaluation of customer " + one_line(options.customer) + " was applied and stored");
    return kExitOk;
}

}  // namespace

void add_eval(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<EvalOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "eval",
        "One customer now: their segment from their own rows with the latest run's thresholds, "
        "the move against their stored placement and the actions it would enqueue");
    cmd->add_option("rules", options->rules, "Rule file (YAML): the file of the latest run")
        ->required();
    cmd->add_option("--db", options->db, "SQLite customer database")->required();
    add_customer_key_options(cmd, options->customer, options->text_key);
    cmd->add_option(
        "--as-of", options->as_of,
        "Reference date YYYY-MM-DD (default: the latest run's; --apply: not before it)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database)");
    CLI::Option* apply =
        cmd->add_flag("--apply", options->apply,
                      "Store the outcome (a run of its own, the customer's stays) and enqueue the "
                      "actions, exactly once");
    cmd->add_flag("--allow-retyped-keys", options->allow_retyped_keys,
                  "With --apply: store a customer never placed whose key, as the other kind (41 "
                  "for '41'), is a placed customer no longer in the base, as a new customer")
        ->needs(apply);
    cmd->add_flag("--allow-future-as-of", options->allow_future_as_of,
                  "With --apply: store it even when --as-of is more than a year after today")
        ->needs(apply);
    cmd->add_option("--wait", options->wait,
                    "How long to wait while another process holds a database's lock (a run "
                    "storing into the state), like 5s or 1m, before giving up (exit 2)")
        ->type_name("DURATION")
        ->capture_default_str();
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = *format == "json" ? Format::Json : Format::Text;
        exit_code = run_eval(*options, out, err);
    });
}

}  // namespace strata::cli
