// The engine's own state: strata_* tables holding run records and each run's membership.
// They live in the customer database or in a separate file (--state). Every run is written
// in one transaction, so a failed run leaves no trace and earlier runs stay intact.
#pragma once

#include <SQLiteCpp/Database.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/store.hpp"
#include "engine/value.hpp"

namespace strata {

struct RunRecord {
    int64_t run_id = 0;
    std::string ruleset;
    int64_t version = 0;
    std::string rules_sha256;
    std::string rules_path;
    std::string as_of;
    std::string started_at;
    std::string finished_at;
    std::string status;
    int64_t customers = 0;
    std::string summary_json;  // segment counts and data quality, as printed by --format json
};

// Segment texts are interned: a run has few distinct ones, shared by many customers.
struct MembershipRow {
    Value key;
    Str segment;   // the general segment id
    Str tactical;  // tactical paths joined by ';' (a nested one is parent/child), or ''
};

// Opens (creating if needed) the state database read-write and ensures the strata_* tables.
std::unique_ptr<SQLite::Database> open_state(const std::string& path, StoreError& error);

// Writes one run as it is computed, in one transaction: the run record first, then its
// membership in as many pieces as come, then the final summary. Nothing is visible to
// readers until finish() commits; destroying the writer before that rolls everything back.
// Methods return false with `error` set on a database error; the writer is then spent.
class RunWriter {
  public:
    // Starts the transaction and inserts `record` (finish() replaces its summary and
    // finish time). nullptr with `error` set when the database refuses.
    static std::unique_ptr<RunWriter> begin(SQLite::Database& state, const RunRecord& record,
                                            StoreError& error);
    ~RunWriter();
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;

    int64_t run_id() const;
    // Inserts rows [first, first + count). The texts must outlive finish().
    bool add(const MembershipRow* first, size_t count, StoreError& error);
    bool finish(const std::string& finished_at, const std::string& summary_json, StoreError& error);

  private:
    struct Impl;
    explicit RunWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// A given run of a ruleset, or by default its latest: the one with the latest as_of, and of
// those the highest run id. nullopt when there is none (or on a database error, with `error`
// set).
std::optional<RunRecord> find_run(SQLite::Database& state, const std::string& ruleset,
                                  std::optional<int64_t> run_id, StoreError& error);

// What a run's rule file said each general segment should get, as the run stored it in its
// summary: never the rule file as it is now.
struct SegmentActions {
    std::string offer;
    std::string channel;
    std::optional<int64_t> priority;
};

// The actions of every general segment of a stored run, by segment id, read from the run's
// summary. nullopt with `error` set on a database error or a summary that is not JSON.
std::optional<std::map<std::string, SegmentActions>> load_segment_actions(SQLite::Database& state,
                                                                          int64_t run_id,
                                                                          StoreError& error);

// A run's membership in key order.
std::vector<MembershipRow> load_membership(SQLite::Database& state, int64_t run_id,
                                           StoreError& error);

}  // namespace strata
