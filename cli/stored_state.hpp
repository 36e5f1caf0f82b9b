// Opening the run state for the commands that only read it (runs, history, triggers).
#pragma once

#include <SQLiteCpp/Database.h>
#include <CLI/CLI.hpp>

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/state.hpp"

namespace strata::cli {

// How long the commands that only read the state wait for a run that holds it, unless their
// --wait says otherwise.
inline const char* const kReadWait = "30s";

// Adds --wait (default kReadWait) to a command that only reads the state.
void add_read_wait_option(CLI::App& cmd, std::string& wait);

// Whether the command's --wait is a duration; when not, says so on `err` (and as a JSON usage
// error on `json_out`) as `strata COMMAND: …`: exit 2. open_stored_state checks it too; this is
// for the warehouse branches, which take --wait but open no file.
bool wait_is_duration(const std::string& command, const std::string& wait, std::ostream& err,
                      std::ostream* json_out);

struct StoredState {
    std::unique_ptr<SQLite::Database> data;        // the customer database, read-only
    std::unique_ptr<SQLite::Database> state_file;  // the --state file, when given
    SQLite::Database* state = nullptr;             // where the runs are: one of the two
    StateTables tables;                            // tables.runs is always true
};

// Opens the customer database (but see `reads_customers`) and the --state file (when given)
// read-only, and checks that the state holds runs. On failure prints `strata COMMAND: …` on
// `err` (and, with `json_out`, a JSON error object of kind "database", or "usage" when neither
// --db nor --state is given) and returns nullopt: exit code 2. A file
// without strata tables fails with "no runs are stored in '…'".
// `reads_customers` false: the command reads the state alone (runs, history, versions, show,
// triggers), so with a --state the customer database is neither needed nor opened (`data`
// stays null), and `db` may be empty. Without a --state, `db` holds the runs and is required.
// `wait`: how long to wait while another process holds either file (a run writing), as the
// command's --wait is typed ("30s"); a wait that is no duration is a usage error.
std::optional<StoredState> open_stored_state(const std::string& command, const std::string& db,
                                             const std::optional<std::string>& state_path,
                                             std::ostream& err, std::ostream* json_out,
                                             bool reads_customers = true,
                                             const std::string& wait = kReadWait);

// For a note that found nothing of `ruleset`: when `state` stores runs, but none of that
// ruleset (a typo, say), "; the stored rulesets are 'a', 'b'" and, when one is close,
// " (did you mean 'a'?)". Empty otherwise: no ruleset given, it has runs, or the runs cannot
// be read (the note stands without the hint).
std::string other_rulesets_hint(SQLite::Database& state, const std::optional<std::string>& ruleset);
// The same from the stored runs' rulesets (a ruleset once per run, in any order).
std::string other_rulesets_hint(const std::vector<std::string>& stored,
                                const std::optional<std::string>& ruleset);

}  // namespace strata::cli
