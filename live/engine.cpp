// strata::Engine (include/strata/strata.hpp) over live/one_customer.hpp.
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "dsl/diagnostics.hpp"
#include "engine/json.hpp"
#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/sha256.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"
#include "include/strata/strata.hpp"
#include "live/indexes.hpp"
#include "live/one_customer.hpp"

namespace strata {

namespace {

using live::CustomerReader;
using Kind = EngineError::Kind;

EngineError fail(Kind kind, std::string message) {
    return EngineError{kind, std::move(message)};
}

// What a call that waited out the busy timeout can do about it.
const char* const kLockedHint =
    " (the lock was held longer than the wait: --wait for strata eval, "
    "EngineOptions::busy_timeout_ms in the library; a run storing into a database in "
    "rollback-journal mode holds it for most of its write, while in WAL mode reads do not wait "
    "for a writer: docs/eval.md, \"Serving beside batch runs\")";

std::string busy_hint(const SQLite::Exception& e) {
    return e.getErrorCode() == SQLITE_BUSY ? kLockedHint : "";
}

// A database that could not be opened.
EngineError store_failed(const StoreError& error) {
    return fail(Kind::Database, error.message + (error.locked ? kLockedHint : ""));
}

PlannedAction planned(const OutboxRow& r) {
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
    SQLite::Database& state_db() { return state ? *state : *data; }
};

}  // namespace

struct Engine::Impl {
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
    mutable std::vector<std::unique_ptr<Connection>> idle;
    std::mutex apply_mutex;
    std::unique_ptr<SQLite::Database> writable_state;  // for apply(), opened on first use

    // A new connection of the pool, or one made of databases open already.
    Result<std::unique_ptr<Connection>> connect(
        std::unique_ptr<SQLite::Database> data = nullptr,
        std::unique_ptr<SQLite::Database> state = nullptr) const {
        auto c = std::make_unique<Connection>();
        StoreError error;
        c->data = data ? std::move(data)
                       : open_read_only(options.db_path, error, options.busy_timeout_ms);
        if (!c->data) return store_failed(error);
        if (state_path != options.db_path) {
            c->state = state ? std::move(state)
                             : open_read_only(state_path, error, options.busy_timeout_ms);
            if (!c->state) return store_failed(error);
        }
        try {
            // Pages read through a memory map, not a system call each: one customer's rows
            // are a few pages anywhere in the file.
            c->data->exec("PRAGMA mmap_size = 4294967296");
            if (c->state) c->state->exec("PRAGMA mmap_size = 1073741824");
            c->reader = std::make_unique<CustomerReader>(*rules, *c->data);
            c->stays = std::make_unique<OneCustomerStays>(c->state_db(), rules->rules.ruleset);
            c->data_reads.emplace(*c->data);
            if (c->state) c->state_reads.emplace(*c->state);
        } catch (const SQLite::Exception& e) {
            return fail(Kind::Database,
                        "cannot prepare the lookups in '" + options.db_path + "': " + e.what());
        }
        return c;
    }

    Result<std::unique_ptr<Connection>> acquire() const {
        {
            std::lock_guard lock(pool_mutex);
            if (!idle.empty()) {
                auto c = std::move(idle.back());
                idle.pop_back();
                return c;
            }
        }
        return connect();
    }

    void release(std::unique_ptr<Connection> c) const {
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
            return fail(problem == live::ThresholdsProblem::NoRun       ? Kind::NoRun
                        : problem == live::ThresholdsProblem::OtherFile ? Kind::Rules
                                                                        : Kind::Database,
                        message);
        auto out =
            std::make_shared<Loaded>(Loaded{std::move(values), std::move(*thresholds), 0, {}, {}});
        try {
            out->batch_run = latest_batch_run(state, rules->rules.ruleset);
        } catch (const SQLite::Exception& e) {
            return fail(Kind::Database,
                        "cannot read runs from '" + state.getFilename() + "': " + e.what());
        }
        out->as_of_text = options.as_of.empty() ? out->thresholds.run.as_of : options.as_of;
        const std::optional<Date> day = parse_date(out->as_of_text);
        if (!day || format_date(*day) != out->as_of_text)
            return fail(Kind::Usage, "as_of '" + out->as_of_text + "' is not a date (YYYY-MM-DD)");
        out->as_of = *day;
        return std::shared_ptr<const Loaded>(std::move(out));
    }

    Result<bool> refresh();

    // Why apply() must not store an evaluation with `l`'s thresholds: a batch run stored after
    // they were loaded (their copy would become the latest run's thresholds). `besides`: the
    // run being written. Throws SQLite::Exception.
    std::optional<EngineError> stale(SQLite::Database& state, const Loaded& l,
                                     int64_t besides) const {
        const int64_t batch_now = latest_batch_run(state, rules->rules.ruleset, besides);
        if (batch_now == l.batch_run) return std::nullopt;
        return fail(Kind::Stale, "run " + std::to_string(batch_now) + " of ruleset '" +
                                     rules->rules.ruleset +
                                     "' was stored after the thresholds in use (of run " +
                                     std::to_string(l.thresholds.run.run_id) +
                                     ") were loaded; nothing was stored: load the thresholds "
                                     "again (Engine::refresh, or run strata eval again) and "
                                     "apply again");
    }

    // The customer of a key as a person gives it, or NotFound.
    Result<CustomerTable> find(Connection& c, std::string_view key, const Loaded& l) const {
        for (const Value& candidate : live::candidate_keys(key)) {
            if (auto customer = c.reader->read_customer(candidate, l.as_of))
                return std::move(*customer);
        }
        std::string message =
            "customer " + std::string(key) + " is not in table " + rules->rules.customers_table;
        if (rules->since) message += " as of " + l.as_of_text;
        return fail(Kind::NotFound, message);
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
            r.actions.push_back(planned(a));
        r.as_of = l.as_of_text;
        r.run_id = l.thresholds.run.run_id;
        return r;
    }

    Result<CustomerResult> evaluate(std::string_view key) const {
        ValuePool call_values;
        const ValuePoolScope in_call_values(call_values);
        const std::shared_ptr<const Loaded> l = current();
        auto acquired = acquire();
        if (!acquired) return acquired.error();
        std::unique_ptr<Connection> c = std::move(acquired.value());
        Result<CustomerResult> out = fail(Kind::Database, "");
        try {
            // One read transaction: the customer's rows, stays and actions as of one moment.
            // (Each statement outside a transaction would take and drop SQLite's file lock,
            // a few system calls each.)
            ReadTransaction reads(*c->data_reads);
            std::optional<ReadTransaction> state_reads;
            if (c->state) state_reads.emplace(*c->state_reads);
            auto customer = find(*c, key, *l);
            if (!customer) {
                out = customer.error();
            } else {
                const Value k = customer->keys.at(0);
                const std::vector<OpenPlacement> before = (*c->stays)(k);
                std::string error;
                bool rule_problem = false;
                auto one = live::evaluate_one(
                    *rules, l->thresholds, *c->reader, std::move(customer.value()), before,
                    l->as_of, &c->state_db(), l->thresholds.run.run_id, error, rule_problem);
                if (one)
                    out = result_of(*one, *l);
                else
                    out = fail(rule_problem ? Kind::Rules : Kind::Database, error);
            }
        } catch (const SQLite::Exception& e) {
            // The connection is closed, not pooled again: whatever state the failure left
            // it in (a statement part-way, a transaction open) goes with it.
            return fail(Kind::Database, "cannot evaluate customer " + std::string(key) + ": " +
                                            e.what() + busy_hint(e));
        }
        release(std::move(c));
        return out;
    }

    Result<CustomerResult> apply(std::string_view key);
};

Result<CustomerResult> Engine::Impl::apply(std::string_view key) {
    std::lock_guard serial(apply_mutex);
    ValuePool call_values;
    const ValuePoolScope in_call_values(call_values);
    const std::shared_ptr<const Loaded> l = current();
    const live::Thresholds& thresholds = l->thresholds;
    if (l->as_of_text < thresholds.run.as_of)
        return fail(Kind::Usage, "--apply as of " + l->as_of_text + " is before the as_of of run " +
                                     std::to_string(thresholds.run.run_id) + " (" +
                                     thresholds.run.as_of + "): runs move forward in time");
    if (!writable_state) {
        StoreError error;
        writable_state = open_state(state_path, error, options.busy_timeout_ms);
        if (!writable_state) return store_failed(error);
    }
    auto acquired = acquire();
    if (!acquired) return acquired.error();
    std::unique_ptr<Connection> c = std::move(acquired.value());
    struct Release {
        const Impl& impl;
        std::unique_ptr<Connection>& c;
        ~Release() { impl.release(std::move(c)); }
    } release_after{*this, c};
    try {
        auto customer = find(*c, key, *l);
        if (!customer) return customer.error();
        const Value k = customer->keys.at(0);
        const std::string now = utc_now();
        RunRecord record;
        record.ruleset = rules->rules.ruleset;
        record.version = rules->rules.version;
        record.rules_sha256 = sha256;
        record.rules_path = options.rules_path;
        record.as_of = l->as_of_text;
        record.started_at = now;
        record.finished_at = now;
        record.status = "complete";
        record.customers = thresholds.run.customers;
        record.summary_json = "{}";
        record.rules_source = rules->source.text();
        // Checked first without the write lock, so that a stale engine hears so even when the
        // later run's as_of would refuse this one as going back in time.
        if (auto refused = stale(*writable_state, *l, 0)) return *refused;
        StoreError error;
        std::unique_ptr<RunWriter> writer =
            RunWriter::begin(*writable_state, record, tactical_levels, error, &k);
        if (!writer) {
            // A batch run stored since the check above may be why (its as_of is later).
            if (auto refused = stale(*writable_state, *l, 0)) return *refused;
            return fail(error.rule_problem ? Kind::Rules : Kind::Database, error.message);
        }
        const std::optional<RunRecord>& previous = writer->previous();
        if (!previous || previous->rules_sha256 != sha256)
            return fail(Kind::Rules, "ruleset '" + record.ruleset +
                                         "' was run with another rule file since the thresholds "
                                         "were loaded; nothing was stored");
        if (auto refused = stale(writer->history(), *l, writer->run_id())) return *refused;
        std::string message;
        bool rule_problem = false;
        auto one = live::evaluate_one(*rules, thresholds, *c->reader, std::move(customer.value()),
                                      writer->open_placements(), l->as_of, &writer->history(),
                                      writer->run_id(), message, rule_problem);
        if (!one) return fail(rule_problem ? Kind::Rules : Kind::Database, message);
        const Transitions* moves = nullptr;
        std::vector<char> inserted;
        if (!writer->add(&one->placed, 1, error) || !(moves = writer->end_membership(error)) ||
            !writer->add_actions(one->fired, now, inserted, error))
            return fail(Kind::Database, error.message);
        SQLite::Database& state = writer->history();
        if (state.tableExists("strata_population_fits")) {
            SQLite::Statement copy(state,
                                   "INSERT OR REPLACE INTO strata_population_fits (run_id, call, "
                                   "fit) SELECT ?, call, fit FROM strata_population_fits WHERE "
                                   "run_id = ?");
            copy.bind(1, writer->run_id());
            copy.bind(2, thresholds.run.run_id);
            copy.exec();
        }
        std::optional<std::string> segments;
        {
            SQLite::Statement q(state,
                                "SELECT json_extract(summary, '$.segments') FROM strata_runs "
                                "WHERE run_id = ? AND json_valid(summary)");
            q.bind(1, previous->run_id);
            if (q.executeStep() && !q.getColumn(0).isNull()) segments = q.getColumn(0).getString();
        }
        CustomerResult r = result_of(*one, *l);
        r.actions.clear();
        size_t enqueued = 0;
        for (size_t i = 0; i < one->fired.size(); ++i) {
            if (!inserted[i]) continue;
            r.actions.push_back(planned(one->fired[i]));
            enqueued += one->fired[i].status == "pending";
        }
        JsonWriter w;
        w.begin_object().key("format").value(1).key("mode").value("eval").key("customer");
        if (r.key_is_text)
            w.value(r.customer_key);
        else
            w.value(std::get<int64_t>(k));
        w.key("thresholds_run").value(thresholds.run.run_id);
        w.key("segment").value(r.segment).key("tactical").begin_array();
        for (const auto& t : r.tactical)
            w.value(t);
        w.end_array().key("transition").value(r.transition);
        w.key("transitions").begin_object();
        w.key("since_run").value(previous->run_id).key("since_as_of").value(previous->as_of);
        w.key("cause").value(previous->version != record.version ? "rules" : "data");
        w.key("moved").value(moves->moved).key("new").value(moves->entered);
        w.key("left").value(moves->left).key("tactical_entered").value(moves->tactical_entered);
        w.key("tactical_left").value(moves->tactical_left);
        w.key("stays_written").value(moves->stays_written).end_object();
        w.key("firing").value("data").key("actions_enqueued").value(enqueued);
        w.key("segments");
        if (segments)
            w.raw(*segments);
        else
            w.null();
        w.end_object();
        if (!writer->finish(utc_now(), record.customers, w.str(), error))
            return fail(Kind::Database, error.message);
        r.applied = true;
        r.applied_run = writer->run_id();
        return r;
    } catch (const SQLite::Exception& e) {
        return fail(Kind::Database,
                    "cannot apply customer " + std::string(key) + ": " + e.what() + busy_hint(e));
    }
}

Result<bool> Engine::Impl::refresh() {
    std::lock_guard serial(refresh_mutex);
    auto acquired = acquire();
    if (!acquired) return acquired.error();
    std::unique_ptr<Connection> c = std::move(acquired.value());
    Result<std::shared_ptr<const Loaded>> fresh = fail(Kind::Database, "");
    try {
        const ReadTransaction reads(c->state ? *c->state_reads : *c->data_reads);
        fresh = load(c->state_db());
    } catch (const SQLite::Exception& e) {
        return fail(Kind::Database,
                    "cannot refresh the thresholds: " + std::string(e.what()) + busy_hint(e));
    }
    release(std::move(c));
    if (!fresh) return fresh.error();
    const std::shared_ptr<const Loaded> before = current();
    if (fresh.value()->thresholds.run.run_id == before->thresholds.run.run_id &&
        fresh.value()->batch_run == before->batch_run)
        return false;
    std::lock_guard lock(loaded_mutex);
    loaded = std::move(fresh.value());
    return true;
}

Result<Engine> Engine::open(const EngineOptions& options) {
    try {
        auto impl = std::make_unique<Impl>();
        const ValuePoolScope in_engine_values(impl->values);
        impl->options = options;
        impl->state_path = options.state_path.empty() ? options.db_path : options.state_path;
        std::ifstream in(options.rules_path, std::ios::binary);
        if (!in) {
            EngineError e =
                fail(Kind::Database, "cannot read rule file '" + options.rules_path + "'");
            e.in_rule_file = true;
            return e;
        }
        std::stringstream text;
        text << in.rdbuf();
        impl->sha256 = sha256_hex(text.str());
        StoreError error;
        std::unique_ptr<SQLite::Database> data =
            open_read_only(options.db_path, error, options.busy_timeout_ms);
        std::optional<Schema> schema;
        if (data) schema = read_schema(*data, error);
        if (!schema) return store_failed(error);
        SourceFile source(options.rules_path, text.str());
        Diagnostics diags;
        impl->rules = compile_rules(source, &*schema, diags);
        if (!impl->rules || diags.has_errors()) {
            diags.sort_by_location();
            std::ostringstream shown;
            for (const auto& d : diags.items()) {
                if (d.severity == Severity::Error) render_text(shown, d, &source);
            }
            EngineError e = fail(diags.only_schema_errors() ? Kind::Database : Kind::Rules,
                                 "the rule file has errors:\n" + shown.str());
            e.in_rule_file = true;
            return e;
        }
        const CompiledRules& rules = *impl->rules;
        // Thresholds: the ruleset's latest run, of this very file.
        std::unique_ptr<SQLite::Database> state_reader;
        SQLite::Database* state = data.get();
        if (impl->state_path != options.db_path) {
            state_reader = open_read_only(impl->state_path, error, options.busy_timeout_ms);
            if (!state_reader) return store_failed(error);
            state = state_reader.get();
        }
        {
            SQLite::Transaction one_read(*state);  // the latest run and batch run agree
            auto loaded = impl->load(*state);
            if (!loaded) return loaded.error();
            impl->loaded = std::move(loaded.value());
        }
        // The lookups' indexes.
        std::vector<live::LookupIndex> lookups = live::lookup_indexes(*data, rules);
        std::string index_error;
        bool read_only = false;
        if (!options.create_indexes ||
            !live::create_lookup_indexes(options.db_path, lookups, impl->created, index_error,
                                         read_only, options.busy_timeout_ms)) {
            for (const auto& l : lookups) {
                if (l.present) continue;
                return fail(Kind::MissingIndex,
                            "table " + l.table + " has no index on column " + l.column +
                                ", which looking up one customer needs" +
                                (options.create_indexes
                                     ? " (the database could not be written: " + index_error + ")"
                                     : std::string()) +
                                "; create it with: " + l.create_sql);
            }
        }
        std::vector<SegmentResult> results;
        const SegmentPlan plan = plan_segments(rules.segments, results);
        for (size_t t = 0; t < plan.tag_paths.size(); ++t)
            impl->tactical_levels.emplace(plan.tag_paths[t], static_cast<int>(t) + 1);
        // The first connection of the pool, from the databases open already.
        auto first = impl->connect(std::move(data), std::move(state_reader));
        if (!first) return first.error();
        impl->release(std::move(first.value()));
        return Engine(std::move(impl));
    } catch (const SQLite::Exception& e) {
        return fail(Kind::Database, e.what());
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

Result<CustomerResult> Engine::evaluate(std::string_view customer_key) const {
    try {
        return impl_->evaluate(customer_key);
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

Result<CustomerResult> Engine::apply(std::string_view customer_key) {
    try {
        return impl_->apply(customer_key);
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

const std::string& Engine::ruleset() const {
    return impl_->rules->rules.ruleset;
}

Result<bool> Engine::refresh() {
    try {
        return impl_->refresh();
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

int64_t Engine::thresholds_run() const {
    return impl_->current()->thresholds.run.run_id;
}

std::string Engine::as_of() const {
    return impl_->current()->as_of_text;
}

const std::vector<std::string>& Engine::created_indexes() const {
    return impl_->created;
}

}  // namespace strata
