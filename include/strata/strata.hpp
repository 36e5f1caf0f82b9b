// strata as a library: one customer evaluated in real time, inside your own service.
//
// An Engine opens a rule file and a customer database once, with the thresholds (population
// fits) of the ruleset's latest stored run, and then answers evaluate(customer_key) as many
// times as you like, from as many threads as you like. Each answer is the general segment,
// the tactical segments, the move against the customer's stored placement, and the actions the
// rule file's triggers would enqueue. On the data of that run, it is exactly what the run gave
// the customer. On newer data, the customer's own rows are read as they are now, but ranked by
// the run's population thresholds (cut points), as the base was then; the next batch run ranks
// everyone again (docs/eval.md).
//
// The header uses only the standard library: no exceptions leave it (errors come back in a
// Result), and no type of strata's engine or of SQLite shows through.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace strata {

struct EngineOptions {
    std::string rules_path;  // the rule file (YAML)
    std::string db_path;     // the SQLite customer database
    std::string state_path;  // where the runs are stored; empty: the customer database
    // The day to evaluate as of, YYYY-MM-DD; empty: the as_of of the thresholds' run.
    // apply() refuses a day before that run's.
    std::string as_of;
    // Lookups need an index on the customer table's key and on each fact table's key. When
    // one is missing the engine creates it (opening the customer database read-write for
    // that alone) unless this is false; then open() fails naming the CREATE INDEX to run.
    bool create_indexes = true;
    // How long open() and each call wait for another process's lock on a database before
    // they fail (Database); 0 or less: not at all. A run being stored into a state in
    // rollback-journal mode holds its lock for most of its write, and reads wait for it; in
    // WAL mode they do not (docs/eval.md). apply() writes, and waits for any writer.
    int busy_timeout_ms = 5000;
    // apply() refuses a customer never placed whose key, written as the other kind (41 for
    // '41'), is a placed customer no longer in the base: the key column changed type, and the
    // customer would be placed a second time (Database, as a batch run refuses it). True
    // applies them as a new customer, as `strata run --allow-retyped-keys` does.
    bool allow_retyped_keys = false;
    // apply() refuses an as_of more than 366 days after today (Usage), as `strata run` does:
    // almost always a typo, and once a run is stored on that day no run before it can be.
    // True stores it, as `strata eval --apply --allow-future-as-of` does.
    bool allow_future_as_of = false;
};

struct EngineError {
    enum class Kind {
        NotFound,      // the customer is not in the base (as of the day evaluated)
        NoRun,         // the ruleset has no stored run to take thresholds from
        Rules,         // the rule file has errors, is not the file of the latest run, or its
                       // rules cannot place the customer
        MissingIndex,  // a lookup index is missing and could not be created
        Database,      // a database could not be opened, read or written, or its customer
                       // keys changed kind (apply(): EngineOptions::allow_retyped_keys)
        Usage,         // a bad option (an as_of that is not a date, or before the run's; a
                       // rule file path that cannot be read)
        Stale,         // apply(): a batch run was stored after the thresholds in use were
                       // loaded, or the state file was replaced by one without their run;
                       // refresh() and apply again
    };
    Kind kind = Kind::Database;
    std::string message;
    // The error is the rule file's: it cannot be read (Usage: `message` says why, such as
    // "no such file" or "it is a directory"), it has errors (Rules), or it names tables the
    // database lacks (Database) or columns a table lacks (Rules, as `strata check` and the
    // exit code 1 of `strata eval` say). `message` lists the errors with their lines and
    // columns.
    bool in_rule_file = false;
    // The strata command's exit code for this error: 1 for rule problems, 2 otherwise.
    int exit_code() const { return kind == Kind::Rules ? 1 : 2; }
};

// A value or an error. REQUIRES: ok() before value() or ->, and !ok() before error(); the
// other side is not there (std::bad_variant_access, the one exception the API can throw, and
// only when it is misused so).
template <class T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(EngineError error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const EngineError& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, EngineError> v_;
};

// One action a trigger fires for the customer, as the outbox would hold it.
struct PlannedAction {
    std::string trigger;          // the trigger's id
    int action = 0;               // its place in the trigger's list of actions, from 0
    std::string type;             // email, sms, task, webhook, …
    std::string status;           // pending, holdout or capped
    std::string idempotency_key;  // the outbox's: the same as a batch run's at the same as_of
    std::string payload;          // the rendered parameters, a JSON object
};

struct CustomerResult {
    std::string customer_key;           // the key as stored (an integer key in decimal digits)
    bool key_is_text = false;           // a text key (an integer key otherwise)
    std::string segment;                // the general segment
    std::vector<std::string> tactical;  // tactical paths (parent/child), in rule-file order
    // The customer's stored placement in the ruleset (their open stays); none when they have
    // never been placed.
    std::optional<std::string> previous_segment;
    std::vector<std::string> previous_tactical;
    std::string transition;  // "new" (no stored placement), "stays" (same general segment)
                             // or "moves"
    // The actions the triggers fire that are not in the outbox yet (apply: that it enqueued,
    // every status), in the order a run writes them.
    std::vector<PlannedAction> actions;
    std::string as_of;        // the day evaluated
    int64_t run_id = 0;       // the run whose thresholds were used
    bool applied = false;     // stored by apply()
    int64_t applied_run = 0;  // apply(): the run recorded for it
};

// How evaluate() and apply() read the key they are given as text.
enum class KeyLookup {
    Spelled,  // digits that spell an integer exactly (`42`, not `042`) find the integer key,
              // then a text key spelled so; anything else finds a text key
    Text,     // only a text key: the text key '42' of a base that also has the integer key 42
};

class Engine {
  public:
    // Reads and compiles the rule file against the database, finds the ruleset's latest
    // stored run (its rule file must be this one, byte for byte) and loads its thresholds,
    // and checks (or creates) the lookup indexes.
    static Result<Engine> open(const EngineOptions& options);

    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;
    ~Engine();

    // Evaluates one customer. `customer_key` is the key as text: digits find an integer key
    // (then a text key spelled so), anything else a text key. Safe to call from several
    // threads at once: each call takes a connection of its own from the engine's pool
    // (created on demand, kept for later calls, with its prepared statements). A database
    // file replaced at its path (`mv new.db shop.db`) is read from the next call on, as a new
    // process would read it (refresh() takes its thresholds); one removed is a Database error.
    // A column the rule file reads that was renamed or dropped since open() is a Database
    // error naming it, never read as anything else.
    Result<CustomerResult> evaluate(std::string_view customer_key,
                                    KeyLookup lookup = KeyLookup::Spelled) const;

    // Evaluates one customer and stores the outcome, in one transaction on the state
    // database: a run record for it (summary "mode": "eval"), the customer's changed stays,
    // and the actions with the outbox's exactly-once rules (a batch run at the same as_of
    // afterwards enqueues none of them again). Calls are serialised by SQLite's write lock.
    // Refused (Stale, nothing stored) once a batch run is stored after the thresholds in use
    // were loaded: storing them would make them the latest run's again.
    Result<CustomerResult> apply(std::string_view customer_key,
                                 KeyLookup lookup = KeyLookup::Spelled);

    // Loads the thresholds of the ruleset's latest stored run again, for a long-lived engine
    // after the daily batch run (full or incremental): true when they are another run's than
    // those in use, false when nothing was stored since. Calls under way meanwhile finish with
    // the thresholds they started with; later calls use the new ones. The day evaluated
    // follows the new run's as_of unless EngineOptions::as_of gave one. On an error (the
    // latest run evaluated another rule file: Rules) the thresholds in use stay as they were.
    // It also checks the lookup indexes, as open() does: one dropped since (`strata import
    // --replace` makes its table again) is created again, or MissingIndex says which.
    // Safe to call while other threads evaluate.
    Result<bool> refresh();

    const std::string& ruleset() const;
    int64_t thresholds_run() const;  // the run whose thresholds are used
    std::string as_of() const;       // the day evaluated
    // The lookup indexes open() created (CREATE INDEX statements), if any.
    const std::vector<std::string>& created_indexes() const;

  private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace strata
