// What a stored run keeps for the runs after it (docs/incremental.md):
// - the fit of every population call (strata_population_fits, per run), so that one customer
//   evaluated later with the run's thresholds gets exactly what the run gave them;
// - each customer's aggregate state (strata_aggregate_blocks, the ruleset's latest run only),
//   so that an incremental run adds only the fact rows after the watermarks to it;
// - per fact table, the watermark: the highest rowid read, the rows read and left out, and
//   the change count of the table's watch (engine/fact_watch.hpp) as the run read it
//   (strata_aggregate_state, one row per ruleset).
// Everything is written inside the run's transaction.
#pragma once

#include <SQLiteCpp/Database.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/aggregates.hpp"
#include "engine/population_report.hpp"
#include "engine/reader.hpp"
#include "engine/store.hpp"

namespace strata {

// One fact table as a run read it.
struct FactWatermark {
    std::string fact;                  // the fact's name in the rules
    std::string table;                 // its table
    bool has_rowid = false;            // false: a view or WITHOUT ROWID table (never incremental)
    std::optional<int64_t> max_rowid;  // the highest rowid read; none when no row was there
    int64_t rows = 0;                  // rows at or below max_rowid, every one read
    std::optional<int64_t> watch_changes;  // the watch's change count at the read, if watched
    // The token of the raise of the watch the read stopped at (raise_watch), if raised: a copy
    // of the database that does not remember it is not the one read.
    std::optional<int64_t> watch_token;
    // Of the rows read, those left out of every aggregate: after as_of, with an unknown time,
    // or whose key matched no customer.
    int64_t future_rows = 0;
    // The earliest day of the future rows: an as_of before it counts none of them. None when
    // there are none, or when the state was kept before strata kept this (then unknown).
    std::optional<Date> earliest_future;
    int64_t unknown_time_rows = 0;
    int64_t orphan_rows = 0;
    int64_t keyless_rows = 0;  // of the orphan rows, those without a key: nobody's, ever
    // Of the orphan rows, those of customers source.since left out (reported apart from the
    // orphans, as theirs).
    int64_t left_out_rows = 0;
    // The table's definition as the read saw it (engine/fact_watch.hpp, table_definition): an
    // ALTER TABLE changes what rows below the watermark read without the watch seeing it.
    std::string definition;
};

// The header of a ruleset's kept aggregate state.
struct KeptState {
    int64_t run_id = 0;
    int64_t version = 0;
    std::string rules_sha256;
    std::string as_of;
    int64_t customers = 0;
    std::vector<FactWatermark> facts;  // in program order
    // The values of fact columns (below the watermarks) that did not convert.
    std::vector<DataQuality::Unconvertible> unconvertible;
    // The customers' states as stored (strata_aggregate_blocks): how many blocks, and the
    // blocks_checksum of them, so that blocks missing or damaged are not taken for the run's.
    uint64_t blocks = 0;
    uint64_t blocks_checksum = 0;
    // The customers source.since left out, as left_out_digest() of their keys (0: none).
    uint64_t left_out_digest = 0;
};

// The layout of kept states; a state kept in another layout is not used (a full run instead).
inline constexpr int64_t kKeptStateLayout = 5;

// A digest of a set of customer keys, whatever their order; 0 for none. Two sets that differ
// get different digests (but for a chance of 2^-64).
uint64_t left_out_digest(const Column& keys);

// A checksum of `blocks` in order, to tell blocks as encoded from blocks missing or damaged
// since (not a defence against someone who means it).
uint64_t blocks_checksum(const std::vector<std::string>& blocks);
// Why `blocks` are not the ones the run of `kept` stored (another count, another checksum), as
// a sentence; nullopt when they are.
std::optional<std::string> why_blocks_differ(const KeptState& kept,
                                             const std::vector<std::string>& blocks);

// Every customer's aggregate state in key order, as blocks of bytes (keys and states).
// REQUIRES: computer.prepare_saving() done; `order` is key order over `keys`.
std::vector<std::string> encode_aggregate_states(const AggregateComputer& computer,
                                                 const Column& keys,
                                                 const std::vector<uint32_t>& order);

// The kept state of each customer of `keys` (by table row), read from `blocks`: the bytes
// load_customer takes, or an empty view for a customer the blocks do not hold (new).
// `dropped` gets the states of the customers the blocks hold that `keys` does not (who left
// the base).
// nullopt when the blocks are not ones encode_aggregate_states wrote.
// `kept_kinds` says which kinds of key the blocks hold.
struct KeyKinds {
    bool integer = false;
    bool text = false;
};
std::optional<std::vector<std::string_view>> match_aggregate_states(
    const std::vector<std::string>& blocks, const Column& keys, const std::vector<uint32_t>& order,
    std::vector<std::string_view>& dropped, KeyKinds& kept_kinds);

// Writes a run's kept state for `ruleset`, replacing the one kept before: its header
// (store_kept_state) and its customers' states (store_kept_blocks), in either order, both in
// the run's transaction. Throw SQLite::Exception.
void store_kept_state(SQLite::Database& state, const std::string& ruleset, const KeptState& kept);
void store_kept_blocks(SQLite::Database& state, const std::string& ruleset,
                       const std::vector<std::string>& blocks);
void store_population_fits(SQLite::Database& state, int64_t run_id,
                           const std::vector<PopulationSummary>& populations);

// The ruleset's latest batch run (full or incremental: not an evaluation of one customer stored
// by `strata eval --apply`, whose summary's mode is "eval"), by as_of and then run id; 0 when
// there is none. The kept state is that run's. `besides`: a run to leave out (the one being
// written). Throws SQLite::Exception.
int64_t latest_batch_run(SQLite::Database& state, const std::string& ruleset, int64_t besides = 0);
// Its query: the index strata_runs_latest_batch (engine/state_schema.cpp) answers it.
inline constexpr const char* kLatestBatchRunQuery =
    "SELECT run_id FROM strata_runs WHERE ruleset = ? AND run_id <> ? AND "
    "(coalesce(CASE WHEN json_valid(summary) THEN json_extract(summary, '$.mode') END, '') = "
    "'eval') = 0 ORDER BY as_of DESC, run_id DESC LIMIT 1";

// The kept state of `ruleset`, or nullopt when there is none, or with `unusable` set to why
// when one is there but cannot be used (another layout, or its header does not decode).
// Throws SQLite::Exception.
std::optional<KeptState> load_kept_state(SQLite::Database& state, const std::string& ruleset,
                                         std::string& unusable);
std::vector<std::string> load_aggregate_blocks(SQLite::Database& state, const std::string& ruleset);

// The run whose population fits run `run_id` has: `run_id` itself, or for a run of
// `strata eval --apply` (which keeps none) the run its summary's thresholds_run names, followed
// back through such runs to a run that kept them. Throws SQLite::Exception.
int64_t fits_owner_run(SQLite::Database& state, int64_t run_id);

// The fits run `run_id` kept for `rules`' population calls (population_calls order), keyed
// by the calls' bound nodes; a run of `strata eval --apply` keeps none and has those of its
// summary's thresholds_run. REQUIRES: `rules` is the file the run evaluated (the same
// SHA-256). nullopt with `error` set when the run kept no fits or they do not decode.
std::optional<PopulationFits> load_population_fits(SQLite::Database& state, int64_t run_id,
                                                   const CompiledRules& rules, StoreError& error);

}  // namespace strata
