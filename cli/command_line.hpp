// Reading a command line before and after CLI11 parses it: which command it names, options
// given in the wrong place, and the words of its usage errors. Used by run_main (app.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace strata::cli {

// The command a command line names: its first word that is not an option (the top-level
// options take no values), or empty.
std::string command_word(const std::vector<std::string>& args);

// Whether `a` is one of strata's own options, given before the command: -v (-vv…), -h,
// --verbose, --help, --version, and short ones combined (-vh).
bool own_option(const std::string& a);

// Whether -h or --help is given anywhere before "--".
bool help_asked(const std::vector<std::string>& args);

// The first option before the command word that is not strata's own, or "": `strata
// --format json runs` would otherwise take `json` for the command.
std::string option_before_command(const std::vector<std::string>& args);

// The command called `name`, or null.
const CLI::App* find_command(const CLI::App& app, const std::string& name);

// "Commands:" and one line per command with its description.
void list_commands(std::ostream& err, const CLI::App& app);

// The command named at args[at], and its subcommand when it has them and the next word names
// one ("outbox claim"). Null when args[at] names no command.
const CLI::App* command_app_at(const CLI::App& app, const std::vector<std::string>& args,
                               size_t at);

// Where the subcommand word of the command at args[at] would be: the first word after it that
// is not one of strata's own options (`outbox -v claim`); args.size() when there is none.
size_t subcommand_word_at(const std::vector<std::string>& args, size_t at);

// The same for the command word: the command a usage error is about.
const CLI::App* command_app(const CLI::App& app, const std::vector<std::string>& args,
                            const std::string& command);

// Whether some command has an option `name` that takes a value (--db x.db), not a flag.
bool option_takes_value(const CLI::App& app, const std::string& name);

// Where the line names its command: the first word that names one and is not the value of an
// option before it (`strata --db report runs`: runs). REQUIRES: every command registered.
std::optional<size_t> named_command_at(const CLI::App& app, const std::vector<std::string>& args);

// Its name as typed: "outbox claim".
std::string command_path(const CLI::App& app, const std::vector<std::string>& args,
                         const std::string& command);

// The first --option on the line that the command (or a command it belongs to) does not have.
// CLI11 takes the word after such an option for the command's positional argument and blames
// that word (`outbox ack 1 --format json`: "'json' is not an action id"); the option is the
// mistake.
std::string option_not_had(const CLI::App& app, const std::vector<std::string>& args,
                           const std::string& command);

// Every command's name, in the order `strata --help` lists them.
std::vector<std::string> command_names(const CLI::App& app);

// The commands that take a warehouse URL in --db or --state (docs/warehouse.md); the others
// read SQLite files only.
bool takes_warehouse_url(const std::string& command);

// The scheme of a URL given to --db or --state ("postgresql"), or "" when none is.
std::string url_scheme_given(const std::vector<std::string>& args, std::string& option);

// What is wrong with a SQLite path given to --db or --state (or demo-data's --out), when
// SQLite would not read it as a file of that name: an empty one (a temporary database),
// ":memory:", or one starting "file:" (a URI). "" when each is a plain path.
// Only options the command has are looked at, and nothing when --help is asked.
std::string sqlite_path_problem(const CLI::App& app, const std::vector<std::string>& args,
                                const std::string& command);

// CLI11's message, with the arguments it did not expect in the order they were given: it is
// handed them last first (run_main), and lists them so ("1s --wait" for "--wait 1s").
std::string in_given_order(const CLI::ParseError& e);

// Whether the arguments ask for --format json (for errors found before they are parsed), of a
// command that takes --format (`report` has none: its mistakes are text only).
bool json_format_given(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace strata::cli
