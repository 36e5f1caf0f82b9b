#include "cli/explain_stored.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <filesystem>
#include <ostream>

#include "cli/commands.hpp"
#include "engine/run_state.hpp"
#include "engine/stays.hpp"
#include "engine/versions.hpp"

namespace strata::cli {

bool names_ruleset(const std::string& rules) {
    std::error_code ec;
    // A folder of that name (a checkout's rules/retail-rfm/) is no rule file.
    if (std::filesystem::exists(rules, ec) && !std::filesystem::is_directory(rules, ec))
        return false;
    return !rules.empty() && std::all_of(rules.begin(), rules.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string taken_for_ruleset_name(const std::string& rules) {
    std::error_code ec;
    const std::string shown = "'" + one_line(rules) + "'";
    return std::filesystem::is_directory(rules, ec)
               ? "; " + shown +
                     " is a folder, not a rule file, so it was taken for a ruleset's name"
               : "; there is no file " + shown + ", so it was taken for a ruleset's name";
}

std::string stored_key_text(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::to_string(*i);
    return "'" + one_line(std::get<Str>(key).str()) + "'";
}

std::optional<std::string> ruleset_of_run(SQLite::Database& state, int64_t run_id) {
    try {
        SQLite::Statement q(state, "SELECT ruleset FROM strata_runs WHERE run_id = ?");
        q.bind(1, run_id);
        if (q.executeStep()) return q.getColumn(0).getString();
    } catch (const SQLite::Exception&) {
    }
    return std::nullopt;
}

namespace {

// The source registered for the run's version and content, when it was kept.
std::optional<std::string> stored_source(SQLite::Database& state, const RunRecord& run) {
    try {
        return registered_source(state, run.ruleset, run.version, run.rules_sha256);
    } catch (const SQLite::Exception&) {
        return std::nullopt;
    }
}

// When `run` is an evaluation of one customer alone (strata eval --apply) and that customer
// is not `key`: the key of the customer it evaluated, as text.
std::optional<std::string> evaluated_other(const RunRecord& run, const Value& key) {
    const std::optional<Value> evaluated = evaluated_customer(run);
    if (!evaluated) return std::nullopt;
    if (evaluated->index() == key.index() && compare_keys(*evaluated, key) == 0)
        return std::nullopt;
    return stored_key_text(*evaluated);
}

}  // namespace

void note_other_rules(const std::string& rules, const LoadedRules& loaded,
                      const std::optional<std::string>& source, StoredPlacement& stored) {
    const RunRecord& record = stored.run;
    if (loaded.sha256 == record.rules_sha256) return;
    stored.same_rules = false;
    const RuleFile& now = loaded.rules->rules;
    std::string note = rules + " is not the rule file run " + std::to_string(record.run_id) +
                       " used: it is " + now.ruleset + " v" + std::to_string(now.version) +
                       " (sha256 " + loaded.sha256.substr(0, 12) + "), the run used " +
                       record.ruleset + " v" + std::to_string(record.version) + " (sha256 " +
                       record.rules_sha256.substr(0, 12) + ")";
    if (source) note += "; " + first_differing_line(*source, loaded.rules->source.text());
    // A file named like the ruleset is read before the ruleset's name: asking for that name
    // again would read the same file.
    const std::string instead =
        rules == record.ruleset
            ? "a file named '" + rules +
                  "' is in this folder, so it was read instead of the "
                  "ruleset; give the ruleset's name from another folder to evaluate the run's own "
                  "version"
            : "give '" + record.ruleset + "' instead of the file to evaluate the run's own version";
    stored.notes.push_back(note + ". The fresh evaluation below is the file's; " + instead);
}

std::optional<StoredRunExplain> load_stored_run_explain(
    const std::string& rules, std::optional<int64_t> run, const std::string& db,
    const std::optional<std::string>& state_path, const std::vector<Value>& keys, std::ostream& err,
    std::ostream* json_out, int& exit_code, const std::string& wait) {
    // kind: the JSON error's (running.md); not_found for a customer the run did not place.
    auto fail = [&](const std::string& message,
                    const char* kind = "database") -> std::optional<StoredRunExplain> {
        err << "strata explain: " << message << '\n';
        if (json_out) write_json_error(*json_out, kind, message);
        exit_code = kExitEnvironment;
        return std::nullopt;
    };
    const bool by_name = names_ruleset(rules);
    std::optional<LoadedRules> file;
    if (!by_name) {
        file = load_rules(rules, db, err, exit_code, json_out,
                          DatabaseWait{busy_timeout_ms(*parse_duration(wait)), wait});
        if (!file) return std::nullopt;
    }
    const std::string ruleset = by_name ? rules : file->rules->rules.ruleset;
    auto state = open_stored_state("explain", db, state_path, err, json_out, true, wait);
    if (!state) {
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    StoreError error;
    auto record = find_run(*state->state, ruleset, run, error);
    if (!error.message.empty()) return fail(error.message);
    if (!record) {
        if (!run) {
            const std::string others = other_rulesets_hint(*state->state, ruleset);
            return fail("no stored run of ruleset '" + one_line(ruleset) + "'" +
                        (others.empty() ? "; run 'strata run' first" : others) +
                        (by_name ? taken_for_ruleset_name(rules) : ""));
        }
        if (auto other = ruleset_of_run(*state->state, *run))
            return fail("run " + std::to_string(*run) + " is a run of ruleset '" + *other +
                        "', not of '" + ruleset + "'");
        return fail("run " + std::to_string(*run) + " does not exist in '" +
                    state->state->getFilename() + "' ('strata runs' lists the stored runs)");
    }
    StoredPlacement stored;
    // An evaluation of another customer alone placed nobody else: their placement in it is
    // the one an earlier run made, at that run's as_of.
    while (record) {
        std::optional<std::string> other;
        for (const Value& k : keys) {
            other = evaluated_other(*record, k);
            if (!other) break;
        }
        if (!other) break;
        auto earlier = find_run_before(*state->state, ruleset, record->run_id, error);
        if (!error.message.empty()) return fail(error.message);
        if (!earlier) break;
        stored.notes.push_back("run " + std::to_string(record->run_id) +
                               " is an evaluation of customer " + *other +
                               " alone (strata eval --apply); this customer's placement in it "
                               "is run " +
                               std::to_string(earlier->run_id) + "'s, explained here");
        record = std::move(earlier);
    }
    stored.run = *record;
    const auto rows = load_membership(*state->state, record->run_id, error);
    if (!error.message.empty()) return fail(error.message);
    for (const MembershipRow& row : rows) {
        const bool match = std::any_of(keys.begin(), keys.end(), [&](const Value& k) {
            return k.index() == row.key.index() && compare_keys(k, row.key) == 0;
        });
        if (!match || !stored.segment.empty()) continue;
        stored.customer = row.key;
        stored.segment = row.segment.str();
        stored.tactical = split_tactical(row.tactical.str());
    }
    if (stored.segment.empty())
        return fail("customer " + stored_key_text(keys.front()) + " was not placed by run " +
                        std::to_string(record->run_id) + " of " + ruleset + " (as_of " +
                        record->as_of + ")",
                    "not_found");
    const std::string version = ruleset + " v" + std::to_string(record->version);
    const auto source = stored_source(*state->state, *record);
    std::optional<LoadedRules> loaded;
    if (by_name) {
        if (!source)
            return fail("the source of " + version + " (run " + std::to_string(record->run_id) +
                        ") is not kept in '" + state->state->getFilename() +
                        "'; give the rule file instead of the ruleset's name");
        loaded = load_rules_text(ruleset + "@" + std::to_string(record->version), *source, db, err,
                                 exit_code, json_out);
        if (!loaded) return std::nullopt;
    } else {
        loaded = std::move(file);
        note_other_rules(rules, *loaded, source, stored);
    }
    // The run's own cut points, when it kept them and these are its rules.
    std::unique_ptr<PopulationFits> fits;
    if (stored.same_rules) {
        StoreError no_fits;  // runs stored before fits were kept rank the base again
        if (auto kept =
                load_population_fits(*state->state, record->run_id, *loaded->rules, no_fits))
            fits = std::make_unique<PopulationFits>(*kept);
        else
            // Said, not silent: the ranks below are today's base's, not the run's.
            stored.notes.push_back(no_fits.message +
                                   ": its population calls rank the base as it is now, so "
                                   "their cut points may not be the run's");
    }
    return StoredRunExplain{std::move(*loaded), std::move(*state), std::move(stored),
                            std::move(fits)};
}

}  // namespace strata::cli
