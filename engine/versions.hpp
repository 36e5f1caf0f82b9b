// Versioned rulesets: every rule file that a stored run used is registered in the state under
// its ruleset name and version, with its SHA-256 and its exact bytes (strata_versions). A
// version, once registered, stands for those bytes: a run of other content under the same name
// and version is refused, so that "version 3" means one rule file to an auditor.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.hpp"

namespace strata {

// Creates strata_versions when the state lacks it and registers, from strata_runs, what can be
// known of the runs stored before it: name, version, SHA-256 and first-seen time, with the
// source unknown. REQUIRES: strata_runs exists; called inside open_state's transaction.
// Throws SQLite::Exception on a database error.
void ensure_versions_table(SQLite::Database& state);

// One registered content of a ruleset's version. A version has one, except in a state whose
// older runs used several contents under the same version before versions were checked.
struct RegisteredVersion {
    std::string ruleset;
    int64_t version = 0;
    std::string sha256;                 // "" when unknown (runs stored before it was kept)
    std::optional<std::string> source;  // the rule file's bytes as run; none when not kept
    std::string first_seen;             // UTC: when the first run with this content started
};

// The registered contents of `ruleset` at `version`, the first seen first. Reads
// strata_versions, or, in a state file that no run of this strata has opened for writing yet,
// what strata_runs tells (sources unknown); empty when neither table exists. Throws
// SQLite::Exception on a database error.
std::vector<RegisteredVersion> registered_contents(SQLite::Database& state,
                                                   const std::string& ruleset, int64_t version);

// The source registered for `ruleset` at `version` with content `sha256`, when it was kept
// (nullopt otherwise). Throws SQLite::Exception on a database error.
std::optional<std::string> registered_source(SQLite::Database& state, const std::string& ruleset,
                                             int64_t version, const std::string& sha256);

// Why a run of `ruleset` at `version` with content `sha256` (bytes `source`) may not be stored,
// or nullopt when it may: the version is registered with other content, so it was not bumped.
// The message names the registered content and shows the first differing line
// (`line N: stored: '…' / now: '…'`) when the registered source was kept. Content identical to
// a registered one is fine from any path; a version whose only registered contents have an
// unknown SHA-256 takes this one. Throws SQLite::Exception on a database error.
// The same refusal from the registered contents of the ruleset's version, however they were
// read (a warehouse keeps its own registry, state/): nullopt when `sha256` is among them or
// none has a known sha256.
// A path or URL as one word of a shell command: as it is when it holds only letters, digits
// and `_./-+,:@`, else in double quotes (inside a message that quotes the command in single
// ones).
std::string shell_word(const std::string& path);

// "strata show RULESET@VERSION --state PATH": the command that prints a registered version
// kept where `option` ("--state" or "--db") names, `where` quoted for a shell when it needs to be.
std::string show_command(const std::string& ruleset, int64_t version, const std::string& option,
                         const std::string& where);

// `show_options` follows `strata show RULESET@VERSION` in the message, so that the command it
// suggests runs as written (" --state st.db").
std::optional<std::string> unbumped_version_message(const std::string& ruleset, int64_t version,
                                                    const std::string& sha256,
                                                    const std::string& source,
                                                    const std::vector<RegisteredVersion>& contents,
                                                    const std::string& show_options = {});

std::optional<std::string> refuses_unbumped_version(SQLite::Database& state,
                                                    const std::string& ruleset, int64_t version,
                                                    const std::string& sha256,
                                                    const std::string& source);

// Registers the content a stored run used, inside the run's transaction: a new (ruleset,
// version, sha256) is inserted with its source (none: not kept) and `first_seen`; a known one
// whose source was not kept gets it now. REQUIRES: refuses_unbumped_version said nothing in this
// transaction. Throws SQLite::Exception on a database error.
void register_version(SQLite::Database& state, const std::string& ruleset, int64_t version,
                      const std::string& sha256, const std::optional<std::string>& source,
                      const std::string& first_seen);

// The first line where two texts differ, as `line N: stored: '…' / now: '…'`: lines are quoted,
// with control characters escaped (\r, \t) so that line endings and trailing spaces show, cut
// at 200 characters; a missing line is `(end of file)`. Empty when the texts are equal.
std::string first_differing_line(const std::string& stored, const std::string& now);

// A run made with a registered version, as `strata versions` lists it.
struct VersionRun {
    int64_t run_id = 0;
    std::string as_of;
    std::string started_at;
    int64_t customers = 0;
};

struct VersionListing {
    RegisteredVersion version;  // its source is not loaded: only whether it was kept
    bool source_kept = false;
    std::vector<VersionRun> runs;  // in run id order
};

// Every registered version of one ruleset or of all, by ruleset, version and first-seen time,
// each with the runs made with it. Reads a state file of an older layout as
// registered_contents does. nullopt with `error` set on a database error.
std::optional<std::vector<VersionListing>> list_versions(SQLite::Database& state,
                                                         const std::optional<std::string>& ruleset,
                                                         StoreError& error);

}  // namespace strata
