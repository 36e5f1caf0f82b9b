#include "cli/stored_state.hpp"

#include <algorithm>
#include <ostream>
#include <vector>

#include "cli/common.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/store.hpp"

namespace strata::cli {

void add_read_wait_option(CLI::App& cmd, std::string& wait) {
    cmd.add_option("--wait", wait,
                   "How long to wait while a run holds the state, like 30s or 2m, before giving "
                   "up (exit 2)")
        ->capture_default_str();
}

bool wait_is_duration(const std::string& command, const std::string& wait, std::ostream& err,
                      std::ostream* json_out) {
    if (parse_duration(wait)) return true;
    const std::string message = wait_problem(wait);
    err << "strata " << command << ": " << message << '\n';
    if (json_out) write_json_error(*json_out, "usage", message);
    return false;
}

std::optional<StoredState> open_stored_state(const std::string& command, const std::string& db,
                                             const std::optional<std::string>& state_path,
                                             std::ostream& err, std::ostream* json_out,
                                             bool reads_customers, const std::string& wait) {
    auto fail = [&](const std::string& message, const char* kind = "database") {
        err << "strata " << command << ": " << message << '\n';
        if (json_out) write_json_error(*json_out, kind, message);
        return std::nullopt;
    };
    if (db.empty() && !(state_path && !reads_customers))
        return fail(reads_customers ? "--db is required"
                                    : "--db or --state is required: the customer database, "
                                      "where runs are stored by default, or the file they are "
                                      "stored in",
                    "usage");
    // A warehouse URL as the state of a SQLite base: named without repeating it, so that a
    // password in it is not printed.
    if (state_path && state_path->find("://") != std::string::npos)
        return fail(db.empty() ? "--state is a database URL: runs stored in a warehouse are read "
                                 "with --db URL, and --state names a SQLite file"
                               : "--state is a database URL, but the customer database is a "
                                 "SQLite file, whose runs are kept in a SQLite file: give that "
                                 "file's path (a run stored in a warehouse is read with --db URL)",
                    db.empty() ? "usage" : "database");
    if (!wait_is_duration(command, wait, err, json_out)) return std::nullopt;
    const auto seconds = parse_duration(wait);
    auto open_failed = [&](const StoreError& error) {
        return fail(error.message + (error.locked ? " (waited " + wait + ", the --wait)" : ""));
    };
    StoredState s;
    StoreError error;
    if (reads_customers || !state_path) {
        s.data = open_read_only(db, error, busy_timeout_ms(*seconds));
        if (!s.data) return open_failed(error);
        s.state = s.data.get();
    }
    if (state_path) {
        s.state_file = open_read_only(*state_path, error, busy_timeout_ms(*seconds));
        if (!s.state_file) return open_failed(error);
        s.state = s.state_file.get();
    }
    auto tables = state_tables(*s.state, error);
    if (!tables) return open_failed(error);
    if (!tables->runs)
        return fail("no runs are stored in '" + s.state->getFilename() +
                    "'; run 'strata run' first" +
                    (state_path ? "" : " (or give --state PATH if the runs are kept elsewhere)"));
    s.tables = *tables;
    return s;
}

std::string other_rulesets_hint(SQLite::Database& state,
                                const std::optional<std::string>& ruleset) {
    if (!ruleset) return {};
    StoreError error;
    const auto runs = list_runs(state, std::nullopt, error);
    if (!runs) return {};
    std::vector<std::string> stored;
    for (const RunListing& run : *runs)
        stored.push_back(run.ruleset);
    return other_rulesets_hint(stored, ruleset);
}

std::string other_rulesets_hint(const std::vector<std::string>& stored,
                                const std::optional<std::string>& ruleset) {
    if (!ruleset || stored.empty()) return {};
    std::vector<std::string> names;
    for (const std::string& name : stored) {
        if (name == *ruleset) return {};
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    std::string hint = "; the stored ruleset" + std::string(names.size() == 1 ? " is" : "s are");
    for (size_t i = 0; i < names.size(); ++i)
        hint += (i == 0 ? " '" : ", '") + one_line(names[i]) + "'";
    return hint + did_you_mean(*ruleset, names);
}

}  // namespace strata::cli
