// What several commands share: loading and compiling a rule file against a database,
// printing diagnostics, and progress on a terminal.
#pragma once

#include <SQLiteCpp/Database.h>

#include <algorithm>
#include <cstdint>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/reader.hpp"
#include "engine/state.hpp"
#include "text/one_line.hpp"

namespace strata::cli {

struct LoadedRules {
    std::unique_ptr<CompiledRules> rules;
    std::unique_ptr<SQLite::Database> db;  // read-only; null when no database was asked for
    std::string sha256;                    // of the rule file's bytes
    std::vector<Diagnostic> warnings;      // the compiler's warnings, in file order
};

// How long opening the customer database waits while another process holds its lock, and
// the command's --wait as typed ("" for commands without one), which the message names when
// the wait runs out.
struct DatabaseWait {
    int ms = 5000;
    std::string flag;
};

// Why load_rules failed, for a command that reports two files' failures as one JSON error
// (diff): the JSON error's kind and message, and the rule file's diagnostics with its source.
// NAME.test.yaml: the test cases `strata test` finds beside a rule file.
bool is_test_file_name(const std::string& path);
// For a test file given where a rule file goes, what to say (a usage error: exit 2); "" for
// any other path. A test file read as a rule file gave its keys as errors (unknown key
// 'cases', …).
std::string test_file_problem(const std::string& path);

struct RuleLoadFailure {
    std::string kind, message;
    std::vector<Diagnostic> diagnostics;
    std::shared_ptr<const SourceFile> source;
};

// Reads and compiles a rule file (against the database's schema when db_path is given),
// printing diagnostics to `err`. On failure returns nullopt and sets exit_code: 2 for
// file and database problems and schema mismatches, 1 for rule errors; with `json_out`,
// the failure is also written there as a JSON error object (see write_json_error).
std::optional<LoadedRules> load_rules(const std::string& rules_path,
                                      const std::optional<std::string>& db_path, std::ostream& err,
                                      int& exit_code, std::ostream* json_out = nullptr,
                                      const DatabaseWait& wait = {},
                                      RuleLoadFailure* failure = nullptr);

// The same for a rule file's text already read (a registered version's source, say);
// `rules_path` names it in diagnostics. With `out_catalog` (commands that only bind names:
// check, compile), db_path may also be a postgresql:// URL: the server's catalog is the
// schema, returned there, and `db` stays null.
std::optional<LoadedRules> load_rules_text(const std::string& rules_path, std::string text,
                                           const std::optional<std::string>& db_path,
                                           std::ostream& err, int& exit_code,
                                           std::ostream* json_out = nullptr,
                                           std::optional<Schema>* out_catalog = nullptr,
                                           const DatabaseWait& wait = {},
                                           RuleLoadFailure* failure = nullptr);

// The kind of a failure to open the database given as `db`: "usage" when it is a URL that does
// not parse (a mistake in the command line itself, as running.md's error objects say), else
// "database".
const char* open_failure_kind(const std::string& db);

// The last message a command printed as `prefix…` ("strata export: "), without the prefix and
// the line break: the JSON error's message of a failure reported on stderr first.
std::string last_message(const std::string& printed, const std::string& prefix);

// {"format":1,"error":{"kind":…,"message":"…","diagnostics":[…]}} and a newline: what
// --format json commands print on stdout when they fail, beside the text on stderr. `kind` is
// "rules", "database", "file" or "usage" (docs/running.md). A diagnostic is shown against
// `source`, or against `other` when it names that file (a rule file's tests beside it).
void write_json_error(std::ostream& out, const std::string& kind, const std::string& message,
                      const std::vector<Diagnostic>& diagnostics = {},
                      const SourceFile* source = nullptr, const SourceFile* other = nullptr);

// After a command stored something and printed its report: when the report could not be
// written (stdout on a full disk, a reader that went away), says on `err` what was stored
// anyway (`stored`, such as "run 12 was stored"), so that a user who sees the failure does not
// take it for a failed run and make it again. main() still fails the command with exit 2.
void say_stored_if_output_lost(std::ostream& out, std::ostream& err, const std::string& command,
                               const std::string& stored);

// Reports progress on stderr while stderr is a terminal; silent otherwise.
ProgressFn terminal_progress();

// Formats 1234567 as 1,234,567.
std::string thousands(size_t n);
// The same for a count read back from a stored state, which an edit may have made negative:
// -5 stays -5 (a cast to size_t would show 18,446,744,073,709,551,611).
std::string signed_thousands(int64_t n);

// Text from the rule file or the data made safe for one line of text output
// (text/one_line.hpp); JSON output escapes such characters instead.
using text::one_line;

// A text table: each line is `indent`, then the cells joined by two spaces, each column as
// wide as its widest cell in characters, not bytes (those marked in `right_aligned` aligned right),
// trailing spaces trimmed. The first row is usually the header.
void write_text_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
                      const std::vector<bool>& right_aligned, const std::string& indent = "");

// Resolves the run's reference date: --as-of, else the rule file's as_of, else today (UTC).
// Returns nullopt after printing an error (`strata COMMAND: --as-of …`) when --as-of is not a
// date.
std::optional<Date> resolve_as_of(const std::optional<std::string>& flag, const RuleFile& rules,
                                  std::ostream& err, const std::string& command);

// Refuses to store a run whose as_of is more than kMaxDaysAheadOfToday after `today`: almost
// always a typo (2062 for 2026), and since a ruleset's runs move forward in time it would keep
// every later run from being stored until that day. Returns the message, or nullopt.
// `look_without_storing` says how the command shows that day without storing it.
std::optional<std::string> refuses_far_future_as_of(Date as_of, Date today,
                                                    const std::string& look_without_storing);

// The same refusal, except on the day of ruleset `ruleset`'s latest run (or run `run_id`)
// stored in the SQLite file `state_path`: that day was stored once already (with
// --allow-future-as-of), so storing it again keeps no earlier run out. Reads the file only
// when it exists; a file it cannot read refuses as above (the command then reports the file).
std::optional<std::string> refuses_far_future_as_of(Date as_of, Date today,
                                                    const std::string& look_without_storing,
                                                    const std::string& state_path,
                                                    const std::string& ruleset,
                                                    std::optional<int64_t> run_id = std::nullopt);

// The longest lease or wait accepted.
inline constexpr int64_t kMaxDurationSeconds = 30 * 86400;

// A whole number followed by s, m, h or d ("30s", "5m", "1h", "2d") as seconds; nullopt for
// anything else, or beyond 30 days.
std::optional<int64_t> parse_duration(const std::string& text);

// What is wrong with `text` given as --wait, parse_duration having refused it: "--wait 'soon'
// is not a duration like 30s, 2m, 1h or 2d (at most 30d)".
std::string wait_problem(const std::string& text);

// Seconds as SQLite's busy timeout, in milliseconds (an int: 30 days do not fit, so the
// longest wait it takes is about 24 days).
inline int busy_timeout_ms(int64_t seconds) {
    return static_cast<int>(std::min<int64_t>(seconds * 1000, std::numeric_limits<int>::max()));
}

// Writes s as one CSV field (quoted when it holds a comma, quote or line break). With
// `guard_formulas`, a text that a spreadsheet would run as a formula (it starts with =, +, -,
// @, a tab or a carriage return) is written with a leading ' so that it stays text (OWASP's
// advice against CSV injection).
void write_csv_field(std::ostream& out, const std::string& s, bool guard_formulas = false);
// Whether a spreadsheet would run `s` as a formula: it starts with =, +, -, @, a tab or a CR.
bool starts_formula(std::string_view s);

}  // namespace strata::cli
