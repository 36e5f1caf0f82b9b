// The reading half of a run (engine/run.cpp): the customer table, then the fact tables, into an
// evaluation of the program, in one read transaction. A full read takes every fact row; an
// incremental one (engine/incremental.hpp) only the rows after the kept watermarks, on top of
// the customers' kept aggregate states. A stored run also keeps what the next incremental run
// needs (engine/run_state.hpp). Internal to the engine.
#pragma once

#include <SQLiteCpp/Database.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/incremental.hpp"
#include "engine/program.hpp"
#include "engine/reader.hpp"
#include "engine/run_state.hpp"

namespace strata {

// Logs how long each phase took (`-v`).
class PhaseClock {
  public:
    void lap(const char* phase);

  private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

struct ReadRequest {
    const CompiledRules* rules = nullptr;
    SQLite::Database* data = nullptr;
    ProgressFn progress;
    Date as_of;
    // Gets the customers as read, before anything is evaluated, to fill in the columns that
    // come from the stored state.
    std::function<void(CustomerTable&)> fill_state;
    AggregateRowCounts* row_counts = nullptr;
    const PopulationFits* given_fits = nullptr;
    // Keep the aggregate states and watermarks for the next run (a stored run).
    bool keep = false;
    // With keep: gets the customers' kept states as soon as they are encoded, before the
    // aggregates are finished and the lets evaluated, so that they can be stored meanwhile.
    // Without it they are left in ReadResult::blocks. A read that falls back to a full one
    // calls it again with the states of the full read, which replace the first.
    std::function<void(std::vector<std::string>)> blocks_encoded;
    // Try to read incrementally from `kept` (the ruleset's kept state) and `kept_blocks`
    // (freed by the read once it has taken the states from them).
    bool incremental = false;
    const std::optional<KeptState>* kept = nullptr;
    std::vector<std::string>* kept_blocks = nullptr;
    std::string kept_unusable;  // why a kept state that is there cannot be used (load_kept_state)
    int64_t latest_run_id = 0;
    std::string rules_sha256;
    // Per fact: whether the watch's watermark was raised just before this read (raise_watch):
    // the read then stops at it, and the kept state may trust the watch from here on.
    std::vector<char> watch_raised;
    // Per fact: the watch as it was before that raise (raise_watch's `before`), and the
    // raise's token, which the kept state keeps.
    std::vector<std::optional<WatchReading>> watch_before;
    std::vector<int64_t> watch_tokens;
};

struct ReadResult {
    CustomerTable customers;
    Evaluation ev;
    DataQuality dq;
    std::optional<IncrementalOutcome> incremental;  // when the request asked for it
    // With keep: what to store for the next run (run_id and the rule file's identity unset);
    // the blocks only without ReadRequest::blocks_encoded.
    KeptState kept;
    std::vector<std::string> blocks;
};

// Reads and evaluates. SQLite errors become `error` (naming what was being read) and false.
bool read_and_evaluate(const ReadRequest& request, ReadResult& out, PhaseClock& clock,
                       std::string& error);

}  // namespace strata
