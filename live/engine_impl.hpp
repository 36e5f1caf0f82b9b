// strata::Engine's insides (include/strata/strata.hpp), shared by live/engine.cpp (opening,
// evaluating, refreshing) and live/apply.cpp (storing one customer's evaluation). Internal to
// live/.
#pragma once

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"
#include "include/strata/strata.hpp"
#include "live/indexes.hpp"
#include "live/one_customer.hpp"
#include "text/blank.hpp"

namespace strata {

namespace live {

using Kind = EngineError::Kind;

inline EngineError fail(Kind kind, std::string message) {
    return EngineError{kind, std::move(message)};
}

// What a call that waited out the busy timeout can do about it.
inline constexpr const char* kLockedHint =
    " (the lock was held longer than the wait: --wait for strata eval, "
    "EngineOptions::busy_timeout_ms in the library; a run storing into a database in "
    "rollback-journal mode holds it for most of its write, while in WAL mode reads do not wait "
    "for a writer: docs/eval.md, \"Serving beside batch runs\")";

inline std::string busy_hint(const SQLite::Exception& e) {
    return e.getErrorCode() == SQLITE_BUSY ? kLockedHint : "";
}

// A database that could not be opened.
inline EngineError store_failed(const StoreError& error) {
    return fail(Kind::Database, error.message + (error.locked ? kLockedHint : ""));
}

inline PlannedAction planned(const OutboxRow& r) {
    return PlannedAction{r.trigger_id, r.action, r.type, r.status, r.idempotency_key, r.payload};
}

// BEGIN and COMMIT of one database, prepared once: through exec() they are parsed on every
// call.
struct PreparedTransaction {
    sqlite3* db;
    SQLite::Statement begin;
    SQLite::Statement commit;
    explicit PreparedTransaction(SQLite::Database& d)
        : db(d.getHandle()), begin(d, "BEGIN"), commit(d, "COMMIT") {}
};

// A read transaction over a PreparedTransaction: begun when made, ended by COMMIT when it goes
// out of scope (it wrote nothing), or by ROLLBACK should the COMMIT fail, so that the connection
// is not left inside a transaction for the next call. Statements must be reset by then: a
// statement part-way keeps the read open. Throws SQLite::Exception when BEGIN fails.
class ReadTransaction {
  public:
    explicit ReadTransaction(PreparedTransaction& t) : t_(t) {
        t_.begin.tryReset();
        t_.begin.exec();
    }
    ~ReadTransaction() {
        t_.commit.tryReset();
        (void)t_.commit.tryExecuteStep();
        t_.commit.tryReset();
        if (!sqlite3_get_autocommit(t_.db))
            sqlite3_exec(t_.db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

  private:
    PreparedTransaction& t_;
};

// One connection of the pool: the customer database (and the state, when it is another file),
// with the prepared lookups.
struct Connection {
    std::unique_ptr<SQLite::Database> data;
    std::unique_ptr<SQLite::Database> state;  // null: the state is in the customer database
    std::unique_ptr<CustomerReader> reader;
    std::unique_ptr<OneCustomerStays> stays;  // over state_db()
    std::optional<PreparedTransaction> data_reads;
    std::optional<PreparedTransaction> state_reads;  // when the state is another file
    // The files the two paths named when they were opened: a connection to a file replaced
    // or removed since is not used again.
    std::optional<FileIdentity> data_file;
    std::optional<FileIdentity> state_file;
    SQLite::Database& state_db() { return state ? *state : *data; }
};

}  // namespace live

struct Engine::Impl {
    using Kind = EngineError::Kind;

    // What open() interns lives here, as long as the engine, and the thresholds' texts and
    // records in a pool of their own (Loaded::values), freed with them once a refresh()
    // replaced them and no call uses them any more; each evaluate() and apply() interns into
    // a pool of its own, freed when it returns, so that a long-lived engine does not grow with
    // the customers it sees or the runs it refreshes to. (Values
    // of two pools compare by their bytes; those that are compared by identity, the segment
    // ids of a placement and a trigger, are all made within one call.)
    ValuePool values;
    EngineOptions options;
    std::string state_path;
    std::string sha256;
    std::unique_ptr<CompiledRules> rules;
    // The thresholds and the day evaluated: loaded by open(), replaced whole by refresh().
    // Each call takes the current ones once and keeps them to its end.
    struct Loaded {
        std::unique_ptr<ValuePool> values;  // the thresholds' texts and records
        live::Thresholds thresholds;
        int64_t batch_run = 0;  // the ruleset's latest batch run when they were loaded
        std::string as_of_text;
        Date as_of;
    };
    mutable std::mutex loaded_mutex;
    std::shared_ptr<const Loaded> loaded;
    std::mutex refresh_mutex;  // one refresh() at a time
    std::vector<std::string> created;
    std::unordered_map<std::string, int> tactical_levels;

    mutable std::mutex pool_mutex;
    mutable std::vector<std::unique_ptr<live::Connection>> idle;
    std::mutex apply_mutex;
    std::unique_ptr<SQLite::Database> writable_state;  // for apply(), opened on first use
    std::optional<FileIdentity> writable_state_file;   // the file it opened

    // A new connection of the pool, or one made of databases open already.
    Result<std::unique_ptr<live::Connection>> connect(
        std::unique_ptr<SQLite::Database> data = nullptr,
        std::unique_ptr<SQLite::Database> state = nullptr) const {
        auto c = std::make_unique<live::Connection>();
        StoreError error;
        c->data = data ? std::move(data)
                       : open_read_only(options.db_path, error, options.busy_timeout_ms);
        if (!c->data) return live::store_failed(error);
        if (state_path != options.db_path) {
            c->state = state ? std::move(state)
                             : open_read_only(state_path, error, options.busy_timeout_ms);
            if (!c->state) return live::store_failed(error);
        }
        c->data_file = file_identity(options.db_path);
        if (c->state) c->state_file = file_identity(state_path);
        try {
            refuse_double_quoted_strings(*c->data);
            if (c->state) refuse_double_quoted_strings(*c->state);
            // Pages read through a memory map, not a system call each: one customer's rows
            // are a few pages anywhere in the file.
            c->data->exec("PRAGMA mmap_size = 4294967296");
            if (c->state) c->state->exec("PRAGMA mmap_size = 1073741824");
            c->reader = std::make_unique<live::CustomerReader>(*rules, *c->data);
            c->stays = std::make_unique<OneCustomerStays>(c->state_db(), rules->rules.ruleset);
            c->data_reads.emplace(*c->data);
            if (c->state) c->state_reads.emplace(*c->state);
        } catch (const SQLite::Exception& e) {
            return live::fail(Kind::Database, "cannot prepare the lookups in '" + options.db_path +
                                                  "': " + e.what());
        }
        return c;
    }

    // An idle connection to the files the paths name now, or a new one. Connections to a file
    // replaced or removed since they were opened are closed: the engine reads the database
    // that is at the path, as a new process would.
    Result<std::unique_ptr<live::Connection>> acquire() const {
        const std::optional<FileIdentity> data_now = file_identity(options.db_path);
        const std::optional<FileIdentity> state_now =
            state_path != options.db_path ? file_identity(state_path) : std::nullopt;
        {
            std::lock_guard lock(pool_mutex);
            while (!idle.empty()) {
                auto c = std::move(idle.back());
                idle.pop_back();
                if (c->data_file == data_now && c->state_file == state_now) return c;
            }
        }
        return connect();
    }

    void release(std::unique_ptr<live::Connection> c) const {
        std::lock_guard lock(pool_mutex);
        idle.push_back(std::move(c));
    }

    std::shared_ptr<const Loaded> current() const {
        std::lock_guard lock(loaded_mutex);
        return loaded;
    }

    // The thresholds of the ruleset's latest run in `state` (read inside one transaction by
    // the caller), with the day to evaluate as of.
    Result<std::shared_ptr<const Loaded>> load(SQLite::Database& state) const {
        live::ThresholdsProblem problem = live::ThresholdsProblem::None;
        std::string message;
        auto values = std::make_unique<ValuePool>();
        std::optional<live::Thresholds> thresholds = [&] {
            const ValuePoolScope in_own_values(*values);
            return live::load_thresholds(state, *rules, sha256, problem, message);
        }();
        if (!thresholds)
            return live::fail(problem == live::ThresholdsProblem::NoRun       ? Kind::NoRun
                              : problem == live::ThresholdsProblem::OtherFile ? Kind::Rules
                                                                              : Kind::Database,
                              message);
        auto out =
            std::make_shared<Loaded>(Loaded{std::move(values), std::move(*thresholds), 0, {}, {}});
        try {
            out->batch_run = latest_batch_run(state, rules->rules.ruleset);
        } catch (const SQLite::Exception& e) {
            return live::fail(Kind::Database,
                              "cannot read runs from '" + state.getFilename() + "': " + e.what());
        }
        out->as_of_text = options.as_of.empty() ? out->thresholds.run.as_of : options.as_of;
        const std::optional<Date> day = parse_date(out->as_of_text);
        if (!day || format_date(*day) != out->as_of_text)
            return live::fail(Kind::Usage,
                              "as_of '" + out->as_of_text + "' is not a date (YYYY-MM-DD)");
        out->as_of = *day;
        return std::shared_ptr<const Loaded>(std::move(out));
    }

    Result<bool> refresh();

    // Checks the lookups' indexes in `data` and creates the missing ones (unless
    // EngineOptions::create_indexes is false), adding their statements to `created_now` when
    // given; the MissingIndex error when one is still missing. Throws SQLite::Exception.
    std::optional<EngineError> ensure_indexes(SQLite::Database& data,
                                              std::vector<std::string>* created_now);

    // Why apply() must not store an evaluation with `l`'s thresholds: a batch run stored after
    // they were loaded (their copy would become the latest run's thresholds). `besides`: the
    // run being written. Throws SQLite::Exception.
    std::optional<EngineError> stale(SQLite::Database& state, const Loaded& l,
                                     int64_t besides) const {
        const int64_t batch_now = latest_batch_run(state, rules->rules.ruleset, besides);
        if (batch_now == l.batch_run) return std::nullopt;
        // The run the thresholds came from is gone: the state file was replaced by an older
        // copy (or another file) since they were loaded.
        if (batch_now < l.batch_run)
            return live::fail(
                Kind::Stale, "the state no longer holds run " + std::to_string(l.batch_run) +
                                 " of ruleset '" + rules->rules.ruleset + "', whose thresholds " +
                                 "are in use (" +
                                 (batch_now ? "its latest batch run is " + std::to_string(batch_now)
                                            : std::string("it holds no batch run of it")) +
                                 "): the file was replaced since they were loaded (a copy "
                                 "restored from before?); nothing was stored: load the "
                                 "thresholds again (Engine::refresh) and apply again");
        return live::fail(Kind::Stale, "run " + std::to_string(batch_now) + " of ruleset '" +
                                           rules->rules.ruleset +
                                           "' was stored after the thresholds in use (of run " +
                                           std::to_string(l.thresholds.fits_run) +
                                           ") were loaded; nothing was stored: load the thresholds "
                                           "again (Engine::refresh, or run strata eval again) and "
                                           "apply again");
    }

    // The customer of a key as a person gives it, or NotFound.
    Result<CustomerTable> find(live::Connection& c, std::string_view key, KeyLookup lookup,
                               const Loaded& l) const {
        if (text::is_blank(key))
            return live::fail(Kind::NotFound,
                              "a key of only white space or invisible characters is no "
                              "customer's key: a run leaves such rows out (docs/running.md, "
                              "\"Keys\")");
        for (const Value& candidate : live::candidate_keys(key, lookup == KeyLookup::Text)) {
            if (auto customer = c.reader->read_customer(candidate, l.as_of))
                return std::move(*customer);
        }
        // A text key looked up as text is shown in quotes when it reads as a number.
        const std::string shown = lookup == KeyLookup::Text
                                      ? key_value_in_message(Value{intern(key)})
                                      : key_in_message(key);
        std::string message =
            "customer " + shown + " is not in table " + rules->rules.customers_table;
        if (rules->since) message += " as of " + l.as_of_text;
        return live::fail(Kind::NotFound, message);
    }

    CustomerResult result_of(const live::OneResult& one, const Loaded& l) const {
        CustomerResult r;
        if (const auto* i = std::get_if<int64_t>(&one.key)) {
            r.customer_key = std::to_string(*i);
        } else {
            r.customer_key = std::get<Str>(one.key).str();
            r.key_is_text = true;
        }
        r.segment = one.placed.segment.str();
        r.tactical = split_tactical(one.placed.tactical.str());
        if (one.before && one.before->general.p) {
            r.previous_segment = one.before->general.str();
            if (one.before->tactical_text.p)
                r.previous_tactical = split_tactical(one.before->tactical_text.str());
        }
        r.transition = !r.previous_segment                ? "new"
                       : *r.previous_segment == r.segment ? "stays"
                                                          : "moves";
        for (const OutboxRow& a : one.actions)
            r.actions.push_back(live::planned(a));
        r.as_of = l.as_of_text;
        r.run_id = l.thresholds.fits_run;
        return r;
    }

    Result<CustomerResult> evaluate(std::string_view key, KeyLookup lookup) const {
        ValuePool call_values;
        const ValuePoolScope in_call_values(call_values);
        const std::shared_ptr<const Loaded> l = current();
        for (int attempt = 1;; ++attempt) {
            // Once more on a connection opened now, not another pooled one.
            auto acquired = attempt == 1 ? acquire() : connect();
            if (!acquired) return acquired.error();
            std::unique_ptr<live::Connection> c = std::move(acquired.value());
            Result<CustomerResult> out = live::fail(Kind::Database, "");
            try {
                // One read transaction: the customer's rows, stays and actions as of one
                // moment. (Each statement outside a transaction would take and drop SQLite's
                // file lock, a few system calls each.)
                live::ReadTransaction reads(*c->data_reads);
                std::optional<live::ReadTransaction> state_reads;
                if (c->state) state_reads.emplace(*c->state_reads);
                auto customer = find(*c, key, lookup, *l);
                if (!customer) {
                    out = customer.error();
                } else {
                    const Value k = customer->keys.at(0);
                    const std::vector<OpenPlacement> before = (*c->stays)(k);
                    const std::vector<OpenPlacement> day_start =
                        rules->program.reads_stored_state()
                            ? c->stays->at_day_start(k, l->as_of_text, before)
                            : before;
                    std::string error;
                    bool rule_problem = false;
                    auto one = live::evaluate_one(*rules, l->thresholds, *c->reader,
                                                  std::move(customer.value()), before, day_start,
                                                  l->as_of, &c->state_db(),
                                                  l->thresholds.run.run_id, error, rule_problem);
                    if (one)
                        out = result_of(*one, *l);
                    else
                        out = live::fail(rule_problem ? Kind::Rules : Kind::Database, error);
                }
            } catch (const SQLite::Exception& e) {
                // The connection is closed, not pooled again: whatever state the failure left
                // it in (a statement part-way, a transaction open) goes with it. A journal
                // that looked hot to this read-only connection (a writer rolled back while it
                // looked, or stopped mid-transaction) is tried once more on a new connection,
                // whose opening rolls a journal that is still there back (open_read_only).
                if (e.getExtendedErrorCode() == SQLITE_READONLY_ROLLBACK && attempt == 1) continue;
                return live::fail(Kind::Database, "cannot evaluate customer " + std::string(key) +
                                                      ": " + e.what() + live::busy_hint(e));
            }
            release(std::move(c));
            return out;
        }
    }

    Result<CustomerResult> apply(std::string_view key, KeyLookup lookup);
};

}  // namespace strata
