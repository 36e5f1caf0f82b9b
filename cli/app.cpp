// The command line: one CLI11 app with a subcommand per command, and the exit-code contract.
#include <iostream>
#include <new>
#include <sstream>

#include <CLI/CLI.hpp>
#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/stored_state.hpp"
#include "cli/whole_number.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/value_pool.hpp"
#include "examples/demo_data.hpp"

namespace strata::cli {

namespace {

Format parse_format(const std::string& s) {
    return s == "json" ? Format::Json : Format::Text;
}

void add_check(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<CheckOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand("check", "Check rule files: syntax, structure, names and types");
    cmd->add_option("rules", options->rules, "Rule files (YAML)")->required();
    cmd->add_option("--db", options->db,
                    "The base to bind names and types against: a SQLite file, a postgresql:// or "
                    "a clickhouse:// URL");
    cmd->add_flag("--strict", options->strict, "Treat warnings as errors");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = parse_format(*format);
        exit_code = run_check(*options, out, err);
    });
}

void add_run(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<RunCommandOptions>();
    auto format = std::make_shared<std::string>("table");
    auto* cmd = app.add_subcommand(
        "run", "Evaluate a rule file against the customer database and store the run");
    cmd->add_option("rules", options->rules, "Rule file (YAML)")->required();
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or a postgresql:// or clickhouse:// URL: the run "
                    "then happens inside that warehouse and is stored there (docs/warehouse.md)")
        ->required();
    cmd->add_option("--as-of", options->as_of,
                    "Reference date YYYY-MM-DD (default: the rule file's, else today)");
    cmd->add_flag("--dry-run", options->dry_run,
                  "Evaluate and print, with the actions triggers would enqueue; store nothing");
    cmd->add_flag("--fire-initial", options->fire_initial,
                  "A ruleset's first run fires its triggers too (by default it is a baseline)");
    cmd->add_flag("--fire-on-rule-change", options->fire_on_rule_change,
                  "Moves caused by a new version of the rule file fire triggers too");
    cmd->add_flag("--allow-retyped-keys", options->allow_retyped_keys,
                  "Run even when new customers have the keys of customers who left as the "
                  "other kind (5 and '5': a key column whose type changed); they are new "
                  "customers and fire their triggers");
    cmd->add_flag("--allow-future-as-of", options->allow_future_as_of,
                  "Store a run whose as_of is more than a year after today (refused by default: "
                  "later runs could not be stored before that day)");
    cmd->add_flag("--incremental", options->incremental,
                  "Read only the fact rows added since the ruleset's latest run, on top of the "
                  "aggregate states it kept; a full run (saying why) when that cannot be shown to "
                  "give the same result");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"table", "json", "csv"}))
        ->capture_default_str();
    cmd->add_option("--state", options->state,
                    "SQLite file for run state (default: the customer database); for a run "
                    "inside ClickHouse, the SQLite file or postgresql:// URL that takes its "
                    "triggers' actions");
    cmd->add_option("--wait", options->wait,
                    "How long to wait while another process holds the state or the customer "
                    "database, like 30s or 2m, before giving up (exit 2)")
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = *format == "json"  ? RunFormat::Json
                          : *format == "csv" ? RunFormat::Csv
                                             : RunFormat::Table;
        exit_code = run_run(*options, out, err);
    });
}

void add_export(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<ExportOptions>();
    auto format = std::make_shared<std::string>("csv");
    auto* cmd =
        app.add_subcommand("export", "Write one row per customer of a stored run, for CRM import");
    cmd->add_option("rules", options->rules,
                    "Rule file (YAML), or the ruleset's name (when no file of that path exists)")
        ->required();
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or the postgresql:// or clickhouse:// URL a run "
                    "was stored in")
        ->required();
    cmd->add_option("--run", options->run,
                    "Run id (default: the run of this ruleset with the latest as_of)")
        ->check(whole_number("a run id", INT64_MAX));
    cmd->add_flag("--with-run", options->with_run, "CSV: add run_id and as_of columns");
    cmd->add_flag("--raw", options->raw,
                  "CSV: write cells as they are, without the ' that keeps a cell starting with "
                  "= + - @ from running as a spreadsheet formula (for machine consumers)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database)");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"csv", "jsonl", "json"}))
        ->capture_default_str();
    auto delimiter = std::make_shared<std::string>(",");
    auto encoding = std::make_shared<std::string>("utf-8");
    auto columns = std::make_shared<std::string>();
    auto decimal = std::make_shared<std::string>(".");
    // Not CLI::IsMember, whose {,,;,tab} reads as a puzzle in --help and its error.
    cmd->add_option("--delimiter", *delimiter, "CSV: the field separator: , ; or tab")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                if (value == "," || value == ";" || value == "tab") return {};
                return "'" + value + "' is not a delimiter: give ',' ';' or tab";
            },
            "',' ';' tab"))
        ->capture_default_str();
    cmd->add_option("--encoding", *encoding, "CSV: utf-8 or cp1251 (Windows-1251)")
        ->check(CLI::IsMember({"utf-8", "cp1251"}))
        ->capture_default_str();
    cmd->add_flag("--bom", options->bom,
                  "CSV: start with the UTF-8 byte-order mark (Excel then reads the file as UTF-8)");
    cmd->add_option("--decimal", *decimal,
                    "CSV: the decimal mark of numbers: . or , (Excel in Russian and most European "
                    "locales reads 12,5 as a number; goes with --delimiter ';' or tab)")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                if (value == "." || value == ",") return {};
                return "'" + value + "' is not a decimal mark: give . or ,";
            },
            "'.' ','"))
        ->capture_default_str();
    auto* columns_given = cmd->add_option(
        "--columns", *columns,
        "CSV: the columns to write, in order, comma-separated: key, segment, "
        "tactical, offer, channel, priority, run_id, as_of, a customer column or a "
        "let of the run's rule file, or an rfm let's field such as score.code (LET.code, "
        "LET.r, LET.f, LET.m)");
    cmd->callback([cmd, options, format, delimiter, encoding, decimal, columns, columns_given,
                   &exit_code, &out, &err] {
        options->format = *format == "jsonl"  ? ExportFormat::Jsonl
                          : *format == "json" ? ExportFormat::Json
                                              : ExportFormat::Csv;
        options->delimiter = *delimiter == "tab" ? '\t' : (*delimiter)[0];
        options->cp1251 = *encoding == "cp1251";
        options->decimal = (*decimal)[0];
        options->csv_only_given.clear();
        for (const char* name : {"--with-run", "--raw", "--delimiter", "--encoding", "--bom",
                                 "--decimal", "--columns"}) {
            if (cmd->count(name) > 0) options->csv_only_given.push_back(name);
        }
        options->columns.clear();
        std::stringstream names(*columns);
        for (std::string name; std::getline(names, name, ',');) {
            const size_t begin = name.find_first_not_of(' ');
            const size_t end = name.find_last_not_of(' ');
            options->columns.push_back(
                begin == std::string::npos ? std::string() : name.substr(begin, end - begin + 1));
        }
        // `--columns ''` names one empty column, refused as in `--columns key,,segment`, not
        // taken for the default columns.
        if (columns_given->count() > 0 && options->columns.empty()) options->columns.push_back("");
        // getline drops a last empty place (`key,segment,`): it is refused as any other.
        if (!columns->empty() && columns->back() == ',') options->columns.push_back("");
        exit_code = run_export(*options, out, err);
    });
}

void add_test(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<TestOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "test", "Run a rule file's test cases (NAME.test.yaml beside it) and report coverage");
    cmd->add_option("rules", options->rules, "Rule file (YAML)")->required();
    cmd->add_option("--tests", options->tests,
                    "Test file (default: NAME.test.yaml beside the rule file)");
    cmd->add_option("--min-coverage", options->min_coverage,
                    "Fail when fewer than this percentage of segments, tactical segments and "
                    "triggers are reached");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = parse_format(*format);
        exit_code = run_test(*options, out, err);
    });
}

void add_runs(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<RunsOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "runs", "List the stored runs: ruleset, version, as_of, customers and moves");
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or the postgresql:// or clickhouse:// URL the runs "
                    "were stored in (not needed with --state)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database)");
    cmd->add_option("--ruleset", options->ruleset, "Only this ruleset's runs (default: all)");
    add_read_wait_option(*cmd, options->wait);
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = parse_format(*format);
        exit_code = run_runs(*options, out, err);
    });
}

void add_history(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<HistoryOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "history", "Show one customer's segments over time, with the run and version of each");
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or a postgresql:// or clickhouse:// URL (not "
                    "needed with --state)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database); with a "
                    "clickhouse:// --db, the store its runs wrote their actions to");
    cmd->add_option("--customer", options->customer,
                    "Customer key (42 finds the integer key 42 and the text key '42'; "
                    "00123 only the text key '00123')")
        ->required();
    cmd->add_option("--ruleset", options->ruleset, "Only this ruleset's stays (default: all)");
    add_read_wait_option(*cmd, options->wait);
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = parse_format(*format);
        exit_code = run_history(*options, out, err);
    });
}

void add_triggers(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<TriggersOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "triggers",
        "Did the triggers work? Fired, held out, and the share of each group that met success");
    cmd->add_option("--db", options->db, "SQLite customer database (not needed with --state)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database)");
    cmd->add_option("--ruleset", options->ruleset, "Only this ruleset's triggers (default: all)");
    add_read_wait_option(*cmd, options->wait);
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = parse_format(*format);
        exit_code = run_triggers(*options, out, err);
    });
}

void add_graph(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<GraphOptions>();
    auto format = std::make_shared<std::string>("text");
    auto* cmd = app.add_subcommand(
        "graph", "Show the rule graph: lets, aggregates, population functions, segments");
    cmd->add_option("rules", options->rules, "Rule file (YAML)")->required();
    cmd->add_option("--db", options->db, "SQLite database to bind names and types against");
    cmd->add_option("--format", *format, "Output format")
        ->check(CLI::IsMember({"text", "json", "dot"}))
        ->capture_default_str();
    cmd->callback([options, format, &exit_code, &out, &err] {
        options->format = *format == "json"  ? GraphFormat::Json
                          : *format == "dot" ? GraphFormat::Dot
                                             : GraphFormat::Text;
        exit_code = run_graph(*options, out, err);
    });
}

void add_demo_data(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<DemoDataOptions>();
    auto* cmd = app.add_subcommand(
        "demo-data", "Write a realistic demo customer database (fixed seed), or load CDNOW");
    cmd->add_option("--kind", options->kind,
                    "saas, retail, streaming, telecom, carservice, auto or cdnow (the real log)")
        ->required()
        ->check(CLI::IsMember(examples::demo_kinds()));
    cmd->add_option("--customers", options->customers, "Number of customers (ignored for cdnow)")
        ->capture_default_str();
    cmd->add_option("--seed", options->seed, "Random seed: the same seed gives the same file")
        ->check(whole_number("a seed", UINT64_MAX))
        ->capture_default_str();
    cmd->add_option("--out", options->out,
                    "SQLite file to write; a file there is replaced when the new one is complete, "
                    "and only if it is a demo base with no stored runs")
        ->required();
    cmd->add_option("--source", options->source,
                    "CDNOW_master.txt to load (default: examples/data/cdnow/)");
    cmd->add_option("--advance", options->advance,
                    "A duration (30d, 2w, 1mo): the same base, plus what happened in that period "
                    "after 2026-11-01 (its own fixed seed); run it with --as-of 2026-11-01 plus "
                    "the duration. Not for cdnow")
        ->type_name("DURATION");
    cmd->callback(
        [options, &exit_code, &out, &err] { exit_code = run_demo_data(*options, out, err); });
}

}  // namespace

namespace {

using AddCommand = void (*)(CLI::App&, int&, std::ostream&, std::ostream&);
struct CommandEntry {
    const char* name;
    AddCommand add;
};
// Every command, in the order `strata --help` lists them.
constexpr CommandEntry kCommands[] = {
    {"check", add_check},       {"run", add_run},         {"diff", add_diff},
    {"export", add_export},     {"runs", add_runs},       {"test", add_test},
    {"explain", add_explain},   {"eval", add_eval},       {"history", add_history},
    {"triggers", add_triggers}, {"graph", add_graph},     {"demo-data", add_demo_data},
    {"import", add_import},     {"outbox", add_outbox},   {"versions", add_versions},
    {"report", add_report},     {"compile", add_compile},
};

}  // namespace

void register_commands(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err,
                       const std::string& only) {
    for (const CommandEntry& entry : kCommands) {
        if (only == entry.name) {
            entry.add(app, exit_code, out, err);
            return;
        }
    }
    for (const CommandEntry& entry : kCommands)
        entry.add(app, exit_code, out, err);
}

int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    // The command's texts and records: every value the command makes lives until it ends,
    // and is freed then (a test calling run_main many times does not accumulate them).
    ValuePool values;
    ValuePoolScope values_scope(values);
    CLI::App app{"strata: customer segmentation as versioned, checkable policy", "strata"};
    app.get_formatter()->label("SUBCOMMAND", "COMMAND");
    app.set_version_flag("--version", "strata 0.1.0");
    app.require_subcommand(1);
    app.fallthrough();  // -v works after the command name too
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity, "More log output (repeat for more)");
    int exit_code = kExitOk;
    // Only the named command's options are built when the command word names one (process
    // start counts for `strata eval`); every command for --help and usage errors.
    const std::string command = command_word(args);
    // An option before the command: its value may look like the command word, so every
    // command is built to tell which word names the command.
    const bool option_first = !option_before_command(args).empty();
    register_commands(app, exit_code, out, err, option_first ? std::string() : command);
    for (CLI::App* cmd : app.get_subcommands({}))
        cmd->group("Commands");
    // Help asked for with a command's option before the command (`strata --db x.db runs
    // --help`): the help of the command the line names, or strata's own when it names none.
    // The options before the command and their values are dropped; CLI11 answers the rest.
    if (help_asked(args) && option_first) {
        std::vector<std::string> asked;
        for (const auto& a : args) {
            if (a.empty() || a[0] != '-' || !own_option(a)) break;
            if (a != "-h" && a != "--help") asked.push_back(a);
        }
        if (const auto at = named_command_at(app, args))
            asked.insert(asked.end(), args.begin() + static_cast<std::ptrdiff_t>(*at), args.end());
        if (!help_asked(asked)) asked.emplace_back("--help");
        return run_main(asked, out, err);
    }
    if (const std::string stray = option_before_command(args); !stray.empty()) {
        const auto at = named_command_at(app, args);
        const CLI::App* named = at ? find_command(app, args[*at]) : nullptr;
        std::string message;
        if (named && named->get_option_no_throw(stray)) {
            message = "option " + stray +
                      " comes before the command: give the command first, then its options "
                      "(strata " +
                      named->get_name() + " " + stray + " …)";
        } else {
            message = "unknown option " + stray +
                      did_you_mean(stray, {"--verbose", "--version", "--help"}) +
                      "; strata's own options are -v (--verbose), --help and --version, and a "
                      "command's options go after the command";
        }
        err << "strata: " << message << '\n';
        if (json_format_given(app, args)) write_json_error(out, "usage", message);
        return kExitEnvironment;
    }
    if (!command.empty() && !find_command(app, command)) {
        err << "strata: unknown command '" << command << "'"
            << did_you_mean(command, command_names(app)) << '\n';
        list_commands(err, app);
        err << "Run 'strata --help' for usage.\n";
        return kExitEnvironment;
    }
    // A command of subcommands (outbox) followed by a word that names none of them.
    if (const auto at = named_command_at(app, args);
        at && subcommand_word_at(args, *at) < args.size()) {
        const CLI::App* cmd = find_command(app, args[*at]);
        const std::string& word = args[subcommand_word_at(args, *at)];
        if (!cmd->get_subcommands({}).empty() && !word.empty() && word[0] != '-' &&
            command_app_at(app, args, *at) == cmd) {
            std::vector<std::string> names;
            std::string listed;
            for (const CLI::App* sub : cmd->get_subcommands({})) {
                listed += (names.empty() ? "" : ", ") + sub->get_name();
                names.push_back(sub->get_name());
            }
            const std::string message = "unknown subcommand '" + word + "'" +
                                        did_you_mean(word, names) + "; its subcommands are " +
                                        listed;
            err << "strata " << cmd->get_name() << ": " << message << "\nRun 'strata "
                << cmd->get_name() << " --help' for usage.\n";
            if (json_format_given(app, args)) write_json_error(out, "usage", message);
            return kExitEnvironment;
        }
    }
    std::string option;
    if (const std::string scheme = url_scheme_given(args, option);
        !scheme.empty() && !command.empty() && !takes_warehouse_url(command)) {
        const std::string message =
            option + " is a " + scheme + ":// URL, but '" + command +
            "' reads SQLite files only so far (docs/warehouse.md lists the commands that work "
            "on a warehouse: check, compile, run, export, outbox, explain, diff, report, "
            "runs, history, versions, show)";
        err << "strata " << command << ": " << message << '\n';
        if (json_format_given(app, args)) write_json_error(out, "usage", message);
        return kExitEnvironment;
    }
    if (const std::string problem = sqlite_path_problem(app, args, command);
        !problem.empty() && !command.empty()) {
        err << "strata " << command_path(app, args, command) << ": " << problem << '\n';
        if (json_format_given(app, args)) write_json_error(out, "usage", problem);
        return kExitEnvironment;
    }
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help and --version
            app.exit(e, out, err);
            return kExitOk;
        }
        if (command.empty()) {
            err << "strata: a command is required\n";
            list_commands(err, app);
            err << "Run 'strata --help' for usage.\n";
            return kExitEnvironment;
        }
        const std::string path = command_path(app, args, command);
        const std::string stray = dynamic_cast<const CLI::ValidationError*>(&e)
                                      ? option_not_had(app, args, command)
                                      : std::string();
        std::string message = stray.empty() ? in_given_order(e)
                                            : "The following argument was not expected: " + stray +
                                                  " ('strata " + path + "' has no such option)";
        // A command of subcommands given none: which there are.
        const CLI::App* named = find_command(app, command);
        if (dynamic_cast<const CLI::RequiredError*>(&e) && named &&
            !named->get_subcommands({}).empty() && command_app(app, args, command) == named) {
            message = "a subcommand is required; its subcommands are";
            for (const CLI::App* sub : named->get_subcommands({}))
                message +=
                    (sub == named->get_subcommands({}).front() ? " " : ", ") + sub->get_name();
        }
        err << "strata " << path << ": " << message << "\nRun 'strata " << path
            << " --help' for usage.\n";
        // A program reading --format json gets the mistake too, not an empty stdout.
        if (json_format_given(app, args)) write_json_error(out, "usage", message);
        return kExitEnvironment;
    } catch (const std::bad_alloc&) {
        // Whatever was being stored is rolled back with its transaction. Only the commands
        // that evaluate a base hold its aggregates; graph and check hold the rule file alone.
        const bool rules_only = command == "graph" || command == "check" || command == "compile";
        const std::string message =
            std::string(
                "out of memory: the machine would not give the command the memory it "
                "needed") +
            (rules_only ? ". The rule file's own size is what needs it: a file of thousands of "
                          "segments (under first_match each depends on every one before it)"
                        : ", and nothing was stored. A rule file's values keep memory for "
                          "every customer: a cv() per day over a long window keeps a number per "
                          "day and customer, and each let that joins texts up to 64 KB per "
                          "customer");
        err << "strata: " << message << '\n';
        if (json_format_given(app, args)) write_json_error(out, "memory", message);
        return kExitEnvironment;
    } catch (const std::exception& e) {
        err << "strata: internal error: " << e.what() << '\n';
        return kExitEnvironment;
    }
    return exit_code;
}

}  // namespace strata::cli
