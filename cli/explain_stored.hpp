// `strata explain --run N`: a stored run's placement of one customer, to show beside the fresh
// evaluation, and the rules to evaluate: the file given, or, when RULES is a ruleset's name,
// the source registered for the run's version (so a past placement can be explained after
// the file changed).
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/stored_state.hpp"
#include "engine/population.hpp"
#include "engine/state.hpp"

namespace strata::cli {

struct StoredPlacement {
    RunRecord run;                      // ruleset, version, sha256, as_of of the run
    Value customer;                     // the key as the run stored it
    std::string segment;                // the general segment the run placed them in
    std::vector<std::string> tactical;  // the tactical paths, in rule-file order
    bool same_rules = true;             // the rules evaluated are the bytes the run used
    // Sentences for the reader: rules other than the run's, state fields read from a later run.
    std::vector<std::string> notes;
};

struct StoredRunExplain {
    LoadedRules rules;  // what to evaluate
    StoredState state;  // the customer database and the run state, read-only
    StoredPlacement stored;
    // The run's population fits, when it kept them and the rules are the run's own: the
    // evaluation applies the run's cut points instead of ranking the base again.
    std::unique_ptr<PopulationFits> fits;
};

// Whether `rules` names a ruleset rather than a file: no file (a folder does not count)
// exists at that path and it is spelled as a ruleset's name (a-z, 0-9, _ and -), as
// `strata export` takes it.
bool names_ruleset(const std::string& rules);
// Why `rules`, which names_ruleset() accepted, was taken for a ruleset's name, for the end of
// a message: "; 'x' is a folder, not a rule file, so …" or "; there is no file 'x', so …".
std::string taken_for_ruleset_name(const std::string& rules);
// A stored customer key for a message: an integer as it is, a text in quotes, on one line.
std::string stored_key_text(const Value& key);

// The ruleset of run `run_id` when it is stored under any ruleset in `state`, else nullopt.
std::optional<std::string> ruleset_of_run(SQLite::Database& state, int64_t run_id);

// When `loaded` (the file `rules`) is not the rule file of stored.run: stored.same_rules false
// and a note saying which version each is and where they differ (`source`: the run version's
// registered source, when kept).
void note_other_rules(const std::string& rules, const LoadedRules& loaded,
                      const std::optional<std::string>& source, StoredPlacement& stored);

// Finds run `run` (with none: the ruleset's latest, by as_of) of the ruleset that `rules`
// (a file, or a ruleset's name) names, and the customer's placement in it; loads the rules
// to evaluate. When that run is an evaluation of another customer alone (strata eval
// --apply), the customer's placement in it is an earlier run's: that run is the one
// explained, with a note. On failure prints `strata explain: …` on `err` (and a JSON error object
// on `json_out` when given) and returns nullopt with `exit_code` set: 1 for errors in the rules, 2
// for a missing run, a run of another ruleset, a customer the run did not place, a version whose
// source was not kept, and file or database problems.
std::optional<StoredRunExplain> load_stored_run_explain(
    const std::string& rules, std::optional<int64_t> run, const std::string& db,
    const std::optional<std::string>& state_path, const std::vector<Value>& keys, std::ostream& err,
    std::ostream* json_out, int& exit_code, const std::string& wait = kReadWait);

}  // namespace strata::cli
