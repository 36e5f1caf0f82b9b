// The strata commands, each a function from parsed options to an exit code, writing to the
// given streams, so tests can run them in-process. Exit codes: 0 ok, 1 rule problems,
// 2 usage, I/O or database problems.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;  // <CLI/CLI.hpp>, included only where a command's options are declared
}

namespace strata::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRules = 1;
inline constexpr int kExitEnvironment = 2;

enum class Format { Text, Json };

struct CheckOptions {
    std::vector<std::string> rules;
    std::optional<std::string> db;
    bool strict = false;
    Format format = Format::Text;
};

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

enum class RunFormat { Table, Json, Csv };

struct RunCommandOptions {
    std::string rules;
    std::string db;
    std::optional<std::string> as_of;
    bool dry_run = false;
    bool fire_initial = false;
    bool fire_on_rule_change = false;
    bool allow_retyped_keys = false;
    bool allow_future_as_of = false;  // store a run more than a year after today
    bool incremental = false;         // read only the facts after the kept watermarks
    RunFormat format = RunFormat::Table;
    std::optional<std::string> state;  // default: the customer database itself
    std::string wait = "30s";          // how long to wait for another run's hold on the state
};

int run_run(const RunCommandOptions& options, std::ostream& out, std::ostream& err);

// Jsonl: one JSON object per line; Json: the same objects as one JSON array.
enum class ExportFormat { Csv, Jsonl, Json };

struct ExportOptions {
    std::string rules;
    std::string db;
    std::optional<int64_t> run;  // default: the run of the ruleset with the latest as_of
    std::optional<std::string> state;
    ExportFormat format = ExportFormat::Csv;
    bool with_run = false;  // CSV: add run_id and as_of columns
    bool raw = false;       // CSV: no guard against spreadsheet formulas
    char delimiter = ',';   // CSV: ',', ';' or '\t'
    bool cp1251 = false;    // CSV: Windows-1251 instead of UTF-8
    bool bom = false;       // CSV: start with the UTF-8 byte-order mark
    char decimal = '.';     // CSV: the decimal mark of numbers that are not whole: '.' or ','
    // CSV: the columns to write, in order (cli/export_csv.hpp); empty: the default ones.
    std::vector<std::string> columns;
    // The CSV-only options given on the command line (--with-run, --raw, --delimiter,
    // --encoding, --bom, --decimal, --columns), at their default value too: refused with JSON
    // output.
    std::vector<std::string> csv_only_given;
};

int run_export(const ExportOptions& options, std::ostream& out, std::ostream& err);

enum class GraphFormat { Text, Json, Dot };

struct GraphOptions {
    std::string rules;
    std::optional<std::string> db;
    GraphFormat format = GraphFormat::Text;
};

int run_graph(const GraphOptions& options, std::ostream& out, std::ostream& err);

struct DemoDataOptions {
    std::string kind;
    int64_t customers = 10000;
    uint64_t seed = 42;
    std::string out;
    std::optional<std::string> source;   // CDNOW_master.txt for kind cdnow
    std::optional<std::string> advance;  // a duration: make the base's state that much later
};

int run_demo_data(const DemoDataOptions& options, std::ostream& out, std::ostream& err);

struct TestOptions {
    std::string rules;
    std::optional<std::string> tests;  // default: NAME.test.yaml beside the rule file
    std::optional<double> min_coverage;
    Format format = Format::Text;
};

// Exit 0 when every case passes (and coverage is at least --min-coverage), 1 when a case
// fails, coverage is short or a file has errors, 2 for unreadable files and bad options.
int run_test(const TestOptions& options, std::ostream& out, std::ostream& err);

struct RunsOptions {
    std::string db;
    std::optional<std::string> state;    // default: the customer database itself
    std::optional<std::string> ruleset;  // default: every ruleset
    Format format = Format::Text;
    std::string wait = "30s";  // --wait, while a run holds the state
};

int run_runs(const RunsOptions& options, std::ostream& out, std::ostream& err);

struct HistoryOptions {
    std::string db;
    std::optional<std::string> state;  // default: the customer database itself
    std::string customer;              // as typed: finds an integer key and a text key
    std::optional<std::string> ruleset;
    Format format = Format::Text;
    std::string wait = "30s";  // --wait, while a run holds the state
};

int run_history(const HistoryOptions& options, std::ostream& out, std::ostream& err);

struct TriggersOptions {
    std::string db;
    std::optional<std::string> state;    // default: the customer database itself
    std::optional<std::string> ruleset;  // default: every ruleset
    Format format = Format::Text;
    std::string wait = "30s";  // --wait, while a run holds the state
};

// The holdout readout: per trigger, firings, held out, and the share of each group that met
// the trigger's success, with the difference and its 95% confidence interval.
int run_triggers(const TriggersOptions& options, std::ostream& out, std::ostream& err);
// `strata outbox list|claim|ack|fail`: the senders' side of the action outbox
// (docs/outbox.md). Durations are texts like 30s, 5m, 1h or 2d.
struct OutboxTarget {
    std::string db;
    std::optional<std::string> state;  // default: the customer database itself
    std::string wait = "30s";          // how long to wait for another process's write lock
};

struct OutboxListOptions {
    OutboxTarget target;
    std::optional<std::string> status;
    std::optional<std::string> trigger;
    Format format = Format::Text;
};

struct OutboxClaimOptions {
    OutboxTarget target;
    int64_t limit = 0;
    std::string consumer;
    std::string lease = "5m";
    int64_t max_attempts = 5;  // an expired lease on the last attempt dead-letters the row
};

struct OutboxAckOptions {
    OutboxTarget target;
    std::vector<int64_t> ids;
    std::optional<std::string> consumer;  // the sender acking: the row's consumer once done
};

struct OutboxFailOptions {
    OutboxTarget target;
    std::vector<int64_t> ids;
    std::optional<std::string> consumer;  // the sender failing: another's claim is left alone
    std::string reason;
    int64_t max_attempts = 5;
};

int run_outbox_list(const OutboxListOptions& options, std::ostream& out, std::ostream& err);
int run_outbox_claim(const OutboxClaimOptions& options, std::ostream& out, std::ostream& err);
int run_outbox_ack(const OutboxAckOptions& options, std::ostream& out, std::ostream& err);
int run_outbox_fail(const OutboxFailOptions& options, std::ostream& out, std::ostream& err);

// Adds `outbox` and its four subcommands to the app (cli/outbox.cpp).
void add_outbox(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

// Adds `eval`: one customer now, with the latest run's thresholds (cli/eval.cpp).
void add_eval(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

// Adds `explain`: why a customer is where they are (cli/explain.cpp).
void add_explain(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

// Adds `import`: a CSV file into a typed table (cli/import.cpp, import/).
void add_import(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

// Adds `diff`: what a new version of a rule file would change (cli/diff.cpp).
void add_diff(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);
struct VersionsOptions {
    std::string db;
    std::optional<std::string> state;    // default: the customer database itself
    std::optional<std::string> ruleset;  // default: every ruleset
    Format format = Format::Text;
    std::string wait = "30s";  // --wait, while a run holds the state
};

// The registered versions of the rule files, each with the runs made with it.
int run_versions(const VersionsOptions& options, std::ostream& out, std::ostream& err);

struct ShowOptions {
    std::string db;
    std::optional<std::string> state;   // default: the customer database itself
    std::string version;                // RULESET@VERSION
    std::optional<std::string> sha256;  // a prefix, when the version has several contents
    std::string wait = "30s";           // --wait, while a run holds the state
};

// Prints a registered version's stored source, byte for byte.
int run_show(const ShowOptions& options, std::ostream& out, std::ostream& err);

// Adds `versions` and `show` to the app (cli/versions.cpp).
void add_versions(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

struct ReportOptions {
    std::string db;
    std::optional<std::string> state;    // default: the customer database itself
    std::optional<std::string> ruleset;  // default: that of `run`, else of the latest run
    std::optional<int64_t> run;          // default: the ruleset's latest run
    std::optional<int64_t> compare;      // default: the ruleset's run before `run`
    std::string out;                     // the HTML file
    std::string wait = "30s";            // how long to wait while a run holds the state
};

// Writes the HTML report of a stored run (report/, docs/report.md) and prints its path. Exit 2
// for no runs, an unknown ruleset or run, --compare equal to --run or of another ruleset, a
// missing charting library, and file or database problems.
int run_report(const ReportOptions& options, std::ostream& out, std::ostream& err);

// Adds `report` to the app (cli/report.cpp).
void add_report(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);
// strata compile (cli/compile.cpp): the rule file as one SQL query.
void add_compile(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

// Registers the commands on the app: only the one named `only` when there is one by that
// name, otherwise all of them. `exit_code` receives the chosen command's result.
void register_commands(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err,
                       const std::string& only = {});

// Runs the whole command line (what main does), for tests: never throws. The command runs
// in a value pool of its own (engine/value_pool.hpp), freed when it returns.
int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
