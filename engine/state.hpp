// The engine's own state: strata_* tables holding run records and membership as stays.
// They live in the customer database or in a separate file (--state). Every run is written
// in one transaction, so a failed run leaves no trace and earlier runs stay intact.
#pragma once

#include <SQLiteCpp/Database.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/stays.hpp"
#include "engine/store.hpp"
#include "engine/value.hpp"

namespace strata {

// How far after today a stored run's as_of may be unless the caller says so
// (`--allow-future-as-of`, EngineOptions::allow_future_as_of): a later day is almost always a
// typo (2062 for 2026), and since a ruleset's runs move forward in time, a run stored on it
// would keep every later run from being stored until that day.
inline constexpr int32_t kMaxDaysAheadOfToday = 366;

// The refusal of a stored run as of `as_of`, more than kMaxDaysAheadOfToday after `today`:
// the sentence every refusing caller gives, ending "Check the date, " + `advice` (how this
// caller looks at that day or stores it anyway). nullopt when the day is within the limit.
std::optional<std::string> far_future_as_of_refusal(Date as_of, Date today,
                                                    const std::string& advice);

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
    // The rule file's bytes, registered as its version's source by RunWriter::begin (none: not
    // kept); not read back by find_run (strata_versions holds it).
    std::optional<std::string> rules_source;
};

// Why the strata_* tables in `db` are not strata's (a table of one of its names, made by
// someone else, without the columns strata reads), or "" when each one there is strata's in
// this or an older layout. Throws SQLite::Exception.
std::string foreign_state_tables(SQLite::Database& db);

// Opens (creating if needed) the state database read-write and ensures the strata_* tables.
// A file whose strata_* tables are not strata's (foreign_state_tables) is refused, unchanged.
// `wait_ms`: how long any statement waits for another process's lock before it fails.
// `create` false: a file that is not there is refused ("database '…' does not exist"), and
// none is made, for a caller that holds state read from that file.
std::unique_ptr<SQLite::Database> open_state(const std::string& path, StoreError& error,
                                             int wait_ms = 5000, bool create = true);

// When a RunWriter reads the ruleset's open stays.
struct OpenStaysLoading {
    // In begin() (false), or when the first placements are written (load_open_stays()): a
    // large run then does not hold them while it evaluates.
    bool later = false;
    // With `later`: > 0 reads them this many stay rows at a time as the placements come,
    // never all at once, for a run that only compares its placements with them (no triggers,
    // no state columns): open_placements() is then empty.
    size_t page_rows = 0;
};

// Writes one run as it is computed, in one transaction: the run record first, then its
// membership in as many pieces as come (compared with the ruleset's open stays, so only what
// changed is written), then the final summary. Nothing is visible to readers until finish()
// commits; destroying the writer before that rolls everything back. Methods return false (or
// null) with `error` set on a database error; the writer is then spent.
class RunWriter {
  public:
    // Starts the transaction, refuses a ruleset's version registered with other content than
    // `record.rules_sha256` (error.rule_problem set), registers the version (engine/versions.hpp)
    // and inserts `record` (finish() sets its finish time, customers and summary).
    // `tactical_levels`: each tactical path's level (1 + its depth-first place in the rule file).
    // nullptr with `error` set when the database refuses. With `only_customer`, the run
    // places that one customer (strata eval --apply): only their open stays are compared, and
    // no other customer's stay is closed. `loading`: when the open stays are read (with
    // `only_customer`, in begin()).
    static std::unique_ptr<RunWriter> begin(SQLite::Database& state, const RunRecord& record,
                                            std::unordered_map<std::string, int> tactical_levels,
                                            StoreError& error, const Value* only_customer = nullptr,
                                            OpenStaysLoading loading = {});
    // Loads the ruleset's open stays if begin() did not; false with `error` set when the
    // database refuses (the writer is then spent).
    bool load_open_stays(StoreError& error);
    ~RunWriter();
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;

    int64_t run_id() const;
    // Loads the open stays first if they are not yet.
    // REQUIRES: rows [first, first + count) in key order, after every row added before.
    bool add(const MembershipRow* first, size_t count, StoreError& error);
    // After the last add(): closes the stays of customers who left the base and returns the
    // moves since the ruleset's latest run (valid until the writer is destroyed).
    const Transitions* end_membership(StoreError& error);
    // The ruleset's latest run before this one, read inside this run's transaction.
    const std::optional<RunRecord>& previous() const;
    // The ruleset's open stays as the run began (those of its latest stored run), in key order.
    // REQUIRES: loaded (by begin, or load_open_stays()), not a page at a time.
    const std::vector<OpenPlacement>& open_placements() const;
    // After end_membership(): writes the actions the run's triggers fired to the outbox, in the
    // run's transaction. `inserted[i]` says whether rows[i] was new (its idempotency key was
    // not there yet). The state database is also readable through history() meanwhile.
    bool add_actions(const std::vector<OutboxRow>& rows, const std::string& now,
                     std::vector<char>& inserted, StoreError& error);
    // The state database inside this run's transaction, for reads (earlier actions).
    SQLite::Database& history();
    bool finish(const std::string& finished_at, int64_t customers, const std::string& summary_json,
                StoreError& error);

  private:
    struct Impl;
    explicit RunWriter(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Why a run as of `as_of` may not be stored after `latest` (the ruleset's latest run), or
// nullopt when it may: runs of a ruleset move forward in time (the same as_of again is fine).
std::optional<std::string> refuses_going_back(const std::optional<RunRecord>& latest,
                                              const std::string& ruleset, const std::string& as_of);

// A given run of a ruleset, or by default its latest: the one with the latest as_of, and of
// those the highest run id. nullopt when there is none (or on a database error, with `error`
// set).
std::optional<RunRecord> find_run(SQLite::Database& state, const std::string& ruleset,
                                  std::optional<int64_t> run_id, StoreError& error);

// The customer a run evaluated alone (a run `strata eval --apply` stored: its summary's mode
// is "eval"), or nullopt for a batch run. Every other customer's placement in such a run is
// the one an earlier run made.
std::optional<Value> evaluated_customer(const RunRecord& run);

// The ruleset's latest run before run `run_id` (the run it was compared with), or nullopt when
// it was the first (or on a database error, with `error` set).
std::optional<RunRecord> find_run_before(SQLite::Database& state, const std::string& ruleset,
                                         int64_t run_id, StoreError& error);

// The first stored run of the ruleset whose as_of is `as_of` or later, or nullopt when there
// is none. The stays open before it are the state the day began with: what previous_segment,
// segment_since and days_in_segment read for an evaluation as of `as_of`, however often that
// day is run again. Throws SQLite::Exception.
std::optional<int64_t> first_run_from(SQLite::Database& state, const std::string& ruleset,
                                      const std::string& as_of);
// Its query (ruleset, as_of): runs of a ruleset move forward in time, so the first of that day
// or later has the least id, and the index on (ruleset, as_of, run_id) finds it at once.
inline constexpr const char* kFirstRunFromQuery =
    "SELECT run_id FROM strata_runs WHERE ruleset = ? AND as_of >= ? ORDER BY as_of, run_id "
    "LIMIT 1";

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

// What a state file holds: whether it has run records at all, and whether its membership is
// kept as stays (a file of an older layout has runs but no stays until the next run moves
// it). nullopt with `error` set on a database error, or when the strata_* tables are not
// strata's (foreign_state_tables).
struct StateTables {
    bool runs = false;
    bool stays = false;
};
std::optional<StateTables> state_tables(SQLite::Database& state, StoreError& error);

// A stored run as `strata runs` lists it.
struct RunListing {
    int64_t run_id = 0;
    std::string ruleset;
    int64_t version = 0;
    std::string as_of;
    std::string started_at;
    std::string finished_at;
    int64_t customers = 0;
    std::optional<int64_t> moved;      // transitions.moved; none for runs stored before it
    std::optional<std::string> cause;  // transitions.cause: initial, data or rules
    // New pending actions the run's triggers wrote; 0 for runs stored before triggers existed.
    int64_t actions_enqueued = 0;
    // How it ran: full, incremental (strata run --incremental that read only new rows) or eval
    // (one customer stored by strata eval --apply).
    std::string mode = "full";
    // A run asked to be incremental that read everything: why (its report's
    // incremental.reason). None otherwise.
    std::optional<std::string> incremental_reason;
};

// The stored runs, of one ruleset or of all, in run id order. REQUIRES: strata_runs exists
// (state_tables). nullopt with `error` set on a database error.
std::optional<std::vector<RunListing>> list_runs(SQLite::Database& state,
                                                 const std::optional<std::string>& ruleset,
                                                 StoreError& error);

// The same listing of run records read elsewhere (the strata_runs of a warehouse): each
// record's summary is read by list_runs itself, from an in-memory table of the records.
// Records of other rulesets than `ruleset` (when given) are left out.
std::vector<RunListing> list_run_records(const std::vector<RunRecord>& runs,
                                         const std::optional<std::string>& ruleset);

// Run records read elsewhere as rows of `table`'s strata_runs, whose columns are (run_id,
// ruleset, version, rules_sha256, as_of, started_at, finished_at, customers, summary): the
// in-memory tables that list_run_records and the warehouse readers give the SQLite listings.
// Throws SQLite::Exception.
void insert_run_records(SQLite::Database& table, const std::vector<RunRecord>& runs);

// One stay as strata_stay_history shows it.
struct StayListing {
    std::string ruleset;
    Value key;  // an integer or an interned text, as stored
    std::string segment;
    int level = 0;  // 0: general; above 0: a tactical path
    int64_t entered_run = 0;
    std::string entered_as_of;
    std::optional<int64_t> exited_run;        // none while the stay lasts
    std::optional<std::string> exited_as_of;  // set whenever exited_run is
    int64_t version = 0;                      // of the run that began the stay
    std::string cause;
};

// Every stay of the customers with any of `keys` (integers and texts, each matched only by a
// stored key of its own type), of one ruleset or of all, ordered by ruleset, key (integers
// first), entering run, level and segment. REQUIRES: strata_stays exists (state_tables).
// nullopt with `error` set on a database error.
std::optional<std::vector<StayListing>> list_stays(SQLite::Database& state,
                                                   const std::vector<Value>& keys,
                                                   const std::optional<std::string>& ruleset,
                                                   StoreError& error);

}  // namespace strata
