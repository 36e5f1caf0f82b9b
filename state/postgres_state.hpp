// The run state inside PostgreSQL (issue 13): the strata_* tables of the SQLite state
// (engine/state.hpp) with the same meaning, so that a run on a PostgreSQL base keeps its
// membership where the data is, as stays, and `strata export` reads it back from there.
//
//   strata_runs       one row per stored run (as_of and times as ISO texts, the summary as the
//                     run's JSON document)
//   strata_rulesets   each ruleset's name once; stays refer to it by id
//   strata_segments   each segment name (general id or tactical path) of a ruleset once, by code
//   strata_stays      membership as history: one row per customer's uninterrupted stay in one
//                     segment (level 0: general; above 0: a tactical path, 1 + its place in the
//                     rule file), from the run that began it to the run that ended it
//                     (exited_run 0 while it lasts). Keys are kept as text with
//                     key_is_integer, so integer keys keep their order
//   strata_versions   each ruleset version's SHA-256 and source, as the runs registered them
//   strata_outbox     the actions triggers fired, as engine/outbox.hpp's table (the key as
//                     text with key_is_integer); claimed with FOR UPDATE SKIP LOCKED
//   strata_membership a view: each stored run's membership, one row per customer
//
// Nothing here throws; errors come back as warehouse::WarehouseError values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// Creates the strata_* tables, indexes and view where they are missing. Inside a transaction,
// nothing of it is visible until commit.
warehouse::Outcome<warehouse::Done> ensure_postgres_state(warehouse::PostgresConnection& db);

// For a query that reads the ruleset's stored state (the rules use previous_segment and the
// like) inside a transaction that is rolled back (explain, diff): the strata_* tables made
// where they are missing, so that a base without a stored run reads as one without stored
// state. Nothing when the rules read no stored state.
warehouse::Outcome<warehouse::Done> ensure_state_for_reads(warehouse::PostgresConnection& db,
                                                           const CompiledRules& rules);

// Whether the database holds strata_runs at all.
warehouse::Outcome<bool> has_postgres_state(warehouse::PostgresConnection& db);

// A run of `ruleset`: `run_id`, or by default the latest (latest as_of, then highest id), as
// engine/state.hpp's find_run. nullopt when there is none.
warehouse::Outcome<std::optional<RunRecord>> find_postgres_run(warehouse::PostgresConnection& db,
                                                               const std::string& ruleset,
                                                               std::optional<int64_t> run_id);

// A stored run's membership in key order (integer keys first, by value, then text keys by
// bytes), tactical paths joined by ';' in rule-file order. Integer keys come back as integers.
// The bytes a hexadecimal text spells (PostgreSQL's encode(…, 'hex')).
std::string from_hex(const std::string& hex);

// The source registered for a run's version and content; nullopt when it was not kept.
warehouse::Outcome<std::optional<std::string>> postgres_version_source(
    warehouse::PostgresConnection& db, const RunRecord& run);

// With `only`: that customer's row alone (none when the run did not place them).
warehouse::Outcome<std::vector<MembershipRow>> load_postgres_membership(
    warehouse::PostgresConnection& db, const RunRecord& run,
    const std::optional<Value>& only = std::nullopt);

// The offer, channel and priority of each general segment, from the run's stored summary.
warehouse::Outcome<std::map<std::string, SegmentActions>> load_postgres_segment_actions(
    warehouse::PostgresConnection& db, int64_t run_id);

// Why a ruleset's version may not be run with content `sha256` (it was registered with other
// content), with the first differing line when the stored source was kept; nullopt when it
// may. The same sentence as engine/versions.hpp's refuses_unbumped_version.
// `show_options` follows the `strata show` command the message suggests (" --db URL").
warehouse::Outcome<std::optional<std::string>> postgres_refuses_unbumped_version(
    warehouse::PostgresConnection& db, const std::string& ruleset, int64_t version,
    const std::string& sha256, const std::string& source, const std::string& show_options = {});

// Registers the version's content (and its source) as engine/versions.hpp's register_version.
warehouse::Outcome<warehouse::Done> register_postgres_version(
    warehouse::PostgresConnection& db, const std::string& ruleset, int64_t version,
    const std::string& sha256, const std::optional<std::string>& source,
    const std::string& first_seen);

}  // namespace strata::state
