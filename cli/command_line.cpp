#include "cli/command_line.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "dsl/diagnostics.hpp"

namespace strata::cli {

// The command a command line names: its first word that is not an option (the top-level
// options take no values), or empty.
std::string command_word(const std::vector<std::string>& args) {
    for (const auto& a : args) {
        if (a == "--") break;
        if (!a.empty() && a[0] != '-') return a;
    }
    return {};
}

// Whether `a` is one of strata's own options, given before the command: -v (-vv…), -h,
// --verbose, --help, --version, and short ones combined (-vh).
bool own_option(const std::string& a) {
    if (a == "--verbose" || a == "--help" || a == "--version") return true;
    return a.size() > 1 && a[0] == '-' && a[1] != '-' &&
           a.find_first_not_of("vh", 1) == std::string::npos;
}

// Whether -h or --help is given anywhere before "--".
bool help_asked(const std::vector<std::string>& args) {
    for (const auto& a : args) {
        if (a == "--") break;
        if (a == "-h" || a == "--help") return true;
    }
    return false;
}

// The first option before the command word that is not strata's own, or "": `strata
// --format json runs` would otherwise take `json` for the command.
std::string option_before_command(const std::vector<std::string>& args) {
    for (const auto& a : args) {
        if (a == "--" || a.empty() || a[0] != '-') break;
        if (!own_option(a)) return a.substr(0, a.find('='));
    }
    return {};
}

const CLI::App* find_command(const CLI::App& app, const std::string& name) {
    for (const CLI::App* cmd : app.get_subcommands({})) {
        if (cmd->get_name() == name) return cmd;
    }
    return nullptr;
}

// "Commands:" and one line per command with its description.
void list_commands(std::ostream& err, const CLI::App& app) {
    err << "Commands:\n";
    for (const CLI::App* cmd : app.get_subcommands({})) {
        std::string name = cmd->get_name();
        name.resize(std::max<size_t>(name.size() + 2, 12), ' ');
        err << "  " << name << cmd->get_description() << '\n';
    }
}

// The command named at args[at], and its subcommand when it has them and the next word names
// one ("outbox claim"). Null when args[at] names no command.
const CLI::App* command_app_at(const CLI::App& app, const std::vector<std::string>& args,
                               size_t at) {
    const CLI::App* cmd = find_command(app, args[at]);
    if (!cmd || cmd->get_subcommands({}).empty()) return cmd;
    const size_t word = subcommand_word_at(args, at);
    if (word >= args.size()) return cmd;
    for (const CLI::App* sub : cmd->get_subcommands({}))
        if (sub->get_name() == args[word]) return sub;
    return cmd;
}

size_t subcommand_word_at(const std::vector<std::string>& args, size_t at) {
    size_t i = at + 1;
    while (i < args.size() && args[i] != "--" && own_option(args[i]))
        ++i;  // -v works between the command and its subcommand too
    return i;
}

// The same for the command word: the command a usage error is about.
const CLI::App* command_app(const CLI::App& app, const std::vector<std::string>& args,
                            const std::string& command) {
    const auto it = std::find(args.begin(), args.end(), command);
    if (it == args.end()) return nullptr;
    return command_app_at(app, args, static_cast<size_t>(it - args.begin()));
}

// Whether some command has an option `name` that takes a value (--db x.db), not a flag.
bool option_takes_value(const CLI::App& app, const std::string& name) {
    for (const CLI::App* cmd : app.get_subcommands({})) {
        std::vector<const CLI::App*> apps{cmd};
        for (const CLI::App* sub : cmd->get_subcommands({}))
            apps.push_back(sub);
        for (const CLI::App* a : apps)
            if (const CLI::Option* o = a->get_option_no_throw(name);
                o && o->get_items_expected_min() > 0)
                return true;
    }
    return false;
}

// Where the line names its command: the first word that names one and is not the value of an
// option before it (`strata --db report runs`: runs). REQUIRES: every command registered.
std::optional<size_t> named_command_at(const CLI::App& app, const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") break;
        if (!a.empty() && a[0] == '-') {
            if (!own_option(a) && a.find('=') == std::string::npos && option_takes_value(app, a))
                ++i;  // its value
            continue;
        }
        if (find_command(app, a)) return i;
    }
    return std::nullopt;
}

// Its name as typed: "outbox claim".
std::string command_path(const CLI::App& app, const std::vector<std::string>& args,
                         const std::string& command) {
    const CLI::App* cmd = command_app(app, args, command);
    if (!cmd || cmd->get_parent() == &app || !cmd->get_parent()) return command;
    return command + " " + cmd->get_name();
}

// The first --option on the line that the command (or a command it belongs to) does not have.
// CLI11 takes the word after such an option for the command's positional argument and blames
// that word (`outbox ack 1 --format json`: "'json' is not an action id"); the option is the
// mistake.
std::string option_not_had(const CLI::App& app, const std::vector<std::string>& args,
                           const std::string& command) {
    const CLI::App* cmd = command_app(app, args, command);
    if (!cmd) return "";
    std::vector<std::string> names;
    auto add = [&names](const CLI::App* a) {
        for (const CLI::Option* o : a->get_options())
            for (const std::string& l : o->get_lnames())
                names.push_back("--" + l);
    };
    for (const CLI::App* a = cmd; a; a = a->get_parent())
        add(a);
    // An option of a subcommand given before it is misplaced, not unknown: CLI11 says so.
    for (const CLI::App* sub : cmd->get_subcommands({}))
        add(sub);
    for (const std::string& a : args) {
        if (a == "--") break;
        if (a.size() < 3 || a.rfind("--", 0) != 0) continue;
        const std::string name = a.substr(0, a.find('='));
        if (std::find(names.begin(), names.end(), name) == names.end()) return name;
    }
    return "";
}

std::vector<std::string> command_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::App* cmd : app.get_subcommands({}))
        names.push_back(cmd->get_name());
    return names;
}

// The commands that take a warehouse URL in --db or --state (docs/warehouse.md); the others
// read SQLite files only.
bool takes_warehouse_url(const std::string& command) {
    for (const char* name : {"check", "compile", "run", "export", "outbox", "explain", "diff",
                             "report", "runs", "history", "versions", "show"}) {
        if (command == name) return true;
    }
    return false;
}

// The scheme of a URL given to --db or --state ("postgresql"), or "" when none is.
std::string url_scheme_given(const std::vector<std::string>& args, std::string& option) {
    for (size_t i = 0; i < args.size(); ++i) {
        for (const char* name : {"--db", "--state"}) {
            std::string value;
            if (args[i] == name && i + 1 < args.size())
                value = args[i + 1];
            else if (args[i].rfind(std::string(name) + "=", 0) == 0)
                value = args[i].substr(std::string(name).size() + 1);
            const size_t at = value.find("://");
            if (at == std::string::npos || at == 0) continue;
            if (!std::all_of(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(at),
                             [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
                continue;
            option = name;
            return value.substr(0, at);
        }
    }
    return {};
}

std::string sqlite_path_problem(const CLI::App& app, const std::vector<std::string>& args,
                                const std::string& command) {
    if (help_asked(args)) return {};
    const CLI::App* cmd = command_app(app, args, command);
    if (!cmd) return {};
    std::vector<std::string> names;
    for (const char* name : {"--db", "--state"})
        if (cmd->get_option_no_throw(name)) names.push_back(name);
    if (command == "demo-data") names.push_back("--out");
    for (size_t i = 0; i < args.size(); ++i) {
        // Past "--", every word is a positional argument.
        if (args[i] == "--") break;
        for (const std::string& name : names) {
            std::string value;
            if (args[i] == name && i + 1 < args.size())
                value = args[i + 1];
            else if (args[i].rfind(name + "=", 0) == 0)
                value = args[i].substr(name.size() + 1);
            else
                continue;
            if (value.empty())
                return name + " is empty; give a SQLite file's path" +
                       (name == "--db" && takes_warehouse_url(command) ? " (or a warehouse URL)"
                                                                       : "");
            if (value == ":memory:")
                return name +
                       " ':memory:' is SQLite's database in memory, which keeps nothing; "
                       "give a file's path";
            if (value.rfind("file:", 0) == 0)
                return name + " '" + value +
                       "' would be read by SQLite as a URI, not as a file of that name; give "
                       "the path without 'file:', or as ./" +
                       value;
        }
    }
    return {};
}

// CLI11's message, with the arguments it did not expect in the order they were given: it is
// handed them last first (run_main), and lists them so ("1s --wait" for "--wait 1s").
std::string in_given_order(const CLI::ParseError& e) {
    const std::string message = e.what();
    if (!dynamic_cast<const CLI::ExtrasError*>(&e)) return message;
    const size_t colon = message.find(": ");
    if (colon == std::string::npos) return message;
    std::vector<std::string> words;
    std::istringstream listed(message.substr(colon + 2));
    for (std::string word; listed >> word;)
        words.push_back(word);
    std::string out = message.substr(0, colon + 2);
    for (auto it = words.rbegin(); it != words.rend(); ++it)
        out += (it == words.rbegin() ? "" : " ") + *it;
    return out;
}

// Whether the arguments ask for --format json (for errors found before they are parsed), of a
// command that takes --format (`report` has none: its mistakes are text only).
bool json_format_given(const CLI::App& app, const std::vector<std::string>& args) {
    // The command the line names, or its subcommand: neither it nor any of its subcommands
    // takes --format (report), or it does (outbox, whose list does: a mistyped subcommand).
    if (const auto at = named_command_at(app, args)) {
        const CLI::App* cmd = command_app_at(app, args, *at);
        bool takes = cmd->get_option_no_throw("--format") != nullptr;
        for (const CLI::App* sub : cmd->get_subcommands({}))
            takes = takes || sub->get_option_no_throw("--format") != nullptr;
        if (!takes) return false;
    }
    for (size_t i = 0; i < args.size(); ++i)
        if ((args[i] == "--format" && i + 1 < args.size() && args[i + 1] == "json") ||
            args[i] == "--format=json")
            return true;
    return false;
}

}  // namespace strata::cli
