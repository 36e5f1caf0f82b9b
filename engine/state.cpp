#include "engine/state.hpp"

#include "engine/numeric.hpp"
#include "engine/outbox.hpp"
#include "engine/state_common.hpp"
#include "engine/versions.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <memory>

namespace strata {

using state_common::describe;
using state_common::has_table;

struct RunWriter::Impl {
    SQLite::Database& state;
    SQLite::Transaction tx;
    int64_t run_id = 0;
    bool spent = false;
    std::optional<StayDiff> diff;  // once the open stays are loaded
    std::string ruleset;
    std::unordered_map<std::string, int> tactical_levels;  // until the open stays are loaded
    size_t page_rows = 0;                                  // OpenStaysLoading::page_rows
    std::optional<Value> only_customer;
    std::optional<StayWriter> stays;
    StayChanges changes;  // reused

    std::optional<RunRecord> previous;  // the ruleset's latest run before this one

    // IMMEDIATE: the write lock is taken now, so the latest run read below stays the latest
    // until this run commits or rolls back (another run of the same state waits or fails).
    explicit Impl(SQLite::Database& db)
        : state(db), tx(db, SQLite::TransactionBehavior::IMMEDIATE) {}

    StoreError fail(const SQLite::Exception& e) {
        spent = true;
        return {describe(e, "cannot store the run in '" + state.getFilename() + "'")};
    }
};

RunWriter::RunWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunWriter::~RunWriter() = default;  // an unfinished transaction rolls back

std::unique_ptr<RunWriter> RunWriter::begin(SQLite::Database& state, const RunRecord& r,
                                            std::unordered_map<std::string, int> tactical_levels,
                                            StoreError& error, const Value* only_customer,
                                            OpenStaysLoading loading) {
    try {
        auto impl = std::make_unique<Impl>(state);
        StoreError find_error;
        impl->previous = find_run(state, r.ruleset, std::nullopt, find_error);
        if (!find_error.message.empty()) {
            error = find_error;
            return nullptr;
        }
        if (auto refused = refuses_going_back(impl->previous, r.ruleset, r.as_of)) {
            error.message = *refused;
            return nullptr;
        }
        // Checked again here, under the write lock: another run may have registered this
        // version since the early check. Registered in this transaction, so a run that fails
        // registers nothing.
        if (auto refused = refuses_unbumped_version(state, r.ruleset, r.version, r.rules_sha256,
                                                    r.rules_source.value_or(""))) {
            error.message = *refused;
            error.rule_problem = true;
            return nullptr;
        }
        register_version(state, r.ruleset, r.version, r.rules_sha256, r.rules_source, r.started_at);
        SQLite::Statement run(
            state,
            "INSERT INTO strata_runs (ruleset, version, rules_sha256, rules_path, as_of, "
            "started_at, finished_at, status, customers, summary) VALUES (?,?,?,?,?,?,?,?,?,?)");
        run.bind(1, r.ruleset);
        run.bind(2, r.version);
        run.bind(3, r.rules_sha256);
        run.bind(4, r.rules_path);
        run.bind(5, r.as_of);
        run.bind(6, r.started_at);
        run.bind(7, r.finished_at);
        run.bind(8, r.status);
        run.bind(9, r.customers);
        run.bind(10, r.summary_json);
        run.exec();
        impl->run_id = state.getLastInsertRowid();
        impl->ruleset = r.ruleset;
        impl->tactical_levels = std::move(tactical_levels);
        if (only_customer) impl->only_customer = *only_customer;
        if (!only_customer) impl->page_rows = loading.page_rows;
        if (!loading.later || only_customer) {
            impl->diff.emplace(load_open_placements(state, r.ruleset, only_customer),
                               std::move(impl->tactical_levels));
            spdlog::debug("open stays loaded");
        }
        impl->stays.emplace(state, r.ruleset, impl->run_id);
        return std::unique_ptr<RunWriter>(new RunWriter(std::move(impl)));
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot store the run in '" + state.getFilename() + "'");
        return nullptr;
    }
}

int64_t RunWriter::run_id() const {
    return impl_->run_id;
}

const std::optional<RunRecord>& RunWriter::previous() const {
    return impl_->previous;
}

std::optional<std::string> far_future_as_of_refusal(Date as_of, Date today,
                                                    const std::string& advice) {
    if (as_of.days - today.days <= kMaxDaysAheadOfToday) return std::nullopt;
    return "as_of " + format_date(as_of) + " is " +
           format_thousands(static_cast<size_t>(as_of.days - today.days)) + " days after today (" +
           format_date(today) +
           "), and a ruleset's runs move forward in time: once stored, no run before that day "
           "could be. Check the date, " +
           advice;
}

std::optional<std::string> refuses_going_back(const std::optional<RunRecord>& latest,
                                              const std::string& ruleset,
                                              const std::string& as_of) {
    if (!latest || latest->as_of <= as_of) return std::nullopt;
    return "ruleset '" + ruleset + "' was last run as of " + latest->as_of + " (run " +
           std::to_string(latest->run_id) + "); its runs move forward in time, so a run as of " +
           as_of + " is not stored. Use --dry-run to look at an earlier day.";
}

bool RunWriter::load_open_stays(StoreError& error) {
    if (impl_->diff) return true;
    if (impl_->spent) return false;
    try {
        const Value* only = impl_->only_customer ? &*impl_->only_customer : nullptr;
        if (impl_->page_rows > 0)
            impl_->diff.emplace(
                OpenPlacementPages(impl_->state, impl_->ruleset, impl_->run_id, impl_->page_rows),
                std::move(impl_->tactical_levels));
        else
            impl_->diff.emplace(strata::load_open_placements(impl_->state, impl_->ruleset, only),
                                std::move(impl_->tactical_levels));
        spdlog::debug("open stays: loaded, or read by pages from here");
        return true;
    } catch (const SQLite::Exception& e) {
        error = impl_->fail(e);
        return false;
    }
}

const std::vector<OpenPlacement>& RunWriter::open_placements() const {
    return impl_->diff->open();
}

bool RunWriter::add(const MembershipRow* first, size_t count, StoreError& error) {
    if (impl_->spent || !load_open_stays(error)) return false;
    try {
        impl_->changes.clear();
        impl_->diff->add(first, count, impl_->changes);
        impl_->stays->write(impl_->changes);
        return true;
    } catch (const SQLite::Exception& e) {
        error = impl_->fail(e);
        return false;
    }
}

const Transitions* RunWriter::end_membership(StoreError& error) {
    if (impl_->spent || !load_open_stays(error)) return nullptr;
    try {
        impl_->changes.clear();
        impl_->diff->finish(impl_->changes);
        impl_->stays->write(impl_->changes);
        return &impl_->diff->transitions();
    } catch (const SQLite::Exception& e) {
        error = impl_->fail(e);
        return nullptr;
    }
}

bool RunWriter::add_actions(const std::vector<OutboxRow>& rows, const std::string& now,
                            std::vector<char>& inserted, StoreError& error) {
    if (impl_->spent) return false;
    try {
        enqueue(impl_->state, rows, now, &inserted);
        return true;
    } catch (const SQLite::Exception& e) {
        error = impl_->fail(e);
        return false;
    }
}

SQLite::Database& RunWriter::history() {
    return impl_->state;
}

bool RunWriter::finish(const std::string& finished_at, int64_t customers,
                       const std::string& summary_json, StoreError& error) {
    if (impl_->spent) return false;
    impl_->spent = true;
    try {
        SQLite::Statement done(impl_->state,
                               "UPDATE strata_runs SET finished_at = ?, customers = ?, summary = ? "
                               "WHERE run_id = ?");
        done.bind(1, finished_at);
        done.bind(2, customers);
        done.bind(3, summary_json);
        done.bind(4, impl_->run_id);
        done.exec();
        impl_->tx.commit();
        return true;
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot store the run in '" + impl_->state.getFilename() + "'");
        return false;
    }
}

namespace {

// The run of q's current row (a row of strata_runs, every column).
RunRecord run_record(SQLite::Statement& q) {
    RunRecord r;
    r.run_id = q.getColumn("run_id").getInt64();
    r.ruleset = q.getColumn("ruleset").getString();
    r.version = q.getColumn("version").getInt64();
    r.rules_sha256 = q.getColumn("rules_sha256").getString();
    r.rules_path = q.getColumn("rules_path").getString();
    r.as_of = q.getColumn("as_of").getString();
    r.started_at = q.getColumn("started_at").getString();
    r.finished_at = q.getColumn("finished_at").getString();
    r.status = q.getColumn("status").getString();
    r.customers = q.getColumn("customers").getInt64();
    r.summary_json = q.getColumn("summary").getString();
    return r;
}

}  // namespace

std::optional<RunRecord> find_run(SQLite::Database& state, const std::string& ruleset,
                                  std::optional<int64_t> run_id, StoreError& error) {
    try {
        SQLite::Statement q(state,
                            run_id ? "SELECT * FROM strata_runs WHERE run_id = ? AND ruleset = ?"
                                   : "SELECT * FROM strata_runs WHERE ruleset = ? "
                                     "ORDER BY as_of DESC, run_id DESC LIMIT 1");
        if (run_id) {
            q.bind(1, *run_id);
            q.bind(2, ruleset);
        } else {
            q.bind(1, ruleset);
        }
        if (!q.executeStep()) return std::nullopt;
        return run_record(q);
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read runs from '" + state.getFilename() + "'");
        return std::nullopt;
    }
}

std::optional<int64_t> first_run_from(SQLite::Database& state, const std::string& ruleset,
                                      const std::string& as_of) {
    if (!has_table(state, "strata_runs")) return std::nullopt;
    SQLite::Statement q(state, kFirstRunFromQuery);
    q.bind(1, ruleset);
    q.bind(2, as_of);
    if (!q.executeStep()) return std::nullopt;
    return q.getColumn(0).getInt64();
}

std::optional<Value> evaluated_customer(const RunRecord& run) {
    SQLite::Database memory(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(memory,
                        "SELECT json_extract(?1, '$.customer'), json_type(?1, '$.customer') "
                        "WHERE json_valid(?1) AND json_extract(?1, '$.mode') = 'eval'");
    q.bind(1, run.summary_json);
    if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
    if (q.getColumn(1).getString() == "integer") return Value{q.getColumn(0).getInt64()};
    return Value{intern(q.getColumn(0).getString())};
}

std::optional<RunRecord> find_run_before(SQLite::Database& state, const std::string& ruleset,
                                         int64_t run_id, StoreError& error) {
    try {
        // Runs of a ruleset move forward in time: those before it have smaller ids.
        SQLite::Statement q(state,
                            "SELECT * FROM strata_runs WHERE ruleset = ? AND run_id < ? "
                            "ORDER BY as_of DESC, run_id DESC LIMIT 1");
        q.bind(1, ruleset);
        q.bind(2, run_id);
        if (!q.executeStep()) return std::nullopt;
        return run_record(q);
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read runs from '" + state.getFilename() + "'");
        return std::nullopt;
    }
}

std::optional<std::map<std::string, SegmentActions>> load_segment_actions(SQLite::Database& state,
                                                                          int64_t run_id,
                                                                          StoreError& error) {
    std::map<std::string, SegmentActions> actions;
    try {
        // SQLite's own JSON functions read the summary; a segment without an offer, channel
        // or priority has the key missing (older runs) or null.
        SQLite::Statement q(state,
                            "SELECT json_extract(s.value, '$.id'), json_extract(s.value, "
                            "'$.offer'), json_extract(s.value, '$.channel'), "
                            "json_extract(s.value, '$.priority') "
                            "FROM strata_runs r, json_each(r.summary, '$.segments') s "
                            "WHERE r.run_id = ?");
        q.bind(1, run_id);
        while (q.executeStep()) {
            SegmentActions a;
            if (!q.getColumn(1).isNull()) a.offer = q.getColumn(1).getString();
            if (!q.getColumn(2).isNull()) a.channel = q.getColumn(2).getString();
            if (q.getColumn(3).isInteger()) a.priority = q.getColumn(3).getInt64();
            actions[q.getColumn(0).getString()] = std::move(a);
        }
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read the summary of run " + std::to_string(run_id) +
                                        " from '" + state.getFilename() + "'");
        return std::nullopt;
    }
    return actions;
}

std::vector<MembershipRow> load_membership(SQLite::Database& state, int64_t run_id,
                                           StoreError& error) {
    try {
        if (state_common::has_stays(state)) return membership_of_run(state, run_id);
        // State of an older layout that no run has moved to the stays yet: its
        // strata_membership (a table, or a view over the placements) has the rows.
        std::vector<MembershipRow> rows;
        SQLite::Statement q(state,
                            "SELECT customer_key, segment, tactical FROM strata_membership "
                            "WHERE run_id = ? ORDER BY customer_key");
        q.bind(1, run_id);
        while (q.executeStep())
            rows.push_back({key_from_column(q.getColumn(0)), intern(q.getColumn(1).getText()),
                            intern(q.getColumn(2).getText())});
        return rows;
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read membership from '" + state.getFilename() + "'");
        return {};
    }
}

std::optional<StateTables> state_tables(SQLite::Database& state, StoreError& error) {
    try {
        if (std::string foreign = foreign_state_tables(state); !foreign.empty()) {
            error.message = foreign;
            return std::nullopt;
        }
        return StateTables{has_table(state, "strata_runs"), state_common::has_stays(state)};
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read '" + state.getFilename() + "'");
        error.locked = (e.getErrorCode() & 0xff) == SQLITE_BUSY;
        return std::nullopt;
    }
}

std::optional<std::vector<RunListing>> list_runs(SQLite::Database& state,
                                                 const std::optional<std::string>& ruleset,
                                                 StoreError& error) {
    std::vector<RunListing> runs;
    try {
        // A summary that is not JSON (never written so, but a file may be edited) reads as
        // one without transitions.
        SQLite::Statement q(
            state, std::string("SELECT run_id, ruleset, version, as_of, started_at, finished_at, "
                               "customers, CASE WHEN json_valid(summary) THEN "
                               "json_extract(summary, '$.transitions.moved') END, "
                               "CASE WHEN json_valid(summary) THEN "
                               "json_extract(summary, '$.transitions.cause') END, "
                               "CASE WHEN json_valid(summary) THEN "
                               "json_extract(summary, '$.actions_enqueued') END, "
                               "CASE WHEN json_valid(summary) THEN coalesce(json_extract(summary, "
                               "'$.mode'), json_extract(summary, '$.incremental.mode')) END, "
                               "CASE WHEN json_valid(summary) THEN "
                               "json_extract(summary, '$.incremental.reason') END "
                               "FROM strata_runs ") +
                       (ruleset ? "WHERE ruleset = ? " : "") + "ORDER BY run_id");
        if (ruleset) q.bind(1, *ruleset);
        while (q.executeStep()) {
            RunListing r;
            r.run_id = q.getColumn(0).getInt64();
            r.ruleset = q.getColumn(1).getString();
            r.version = q.getColumn(2).getInt64();
            r.as_of = q.getColumn(3).getString();
            r.started_at = q.getColumn(4).getString();
            r.finished_at = q.getColumn(5).getString();
            r.customers = q.getColumn(6).getInt64();
            if (q.getColumn(7).isInteger()) r.moved = q.getColumn(7).getInt64();
            if (q.getColumn(8).isText()) r.cause = q.getColumn(8).getString();
            if (q.getColumn(9).isInteger()) r.actions_enqueued = q.getColumn(9).getInt64();
            if (q.getColumn(10).isText()) r.mode = q.getColumn(10).getString();
            if (q.getColumn(11).isText() && r.mode == "full")
                r.incremental_reason = q.getColumn(11).getString();
            runs.push_back(std::move(r));
        }
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read runs from '" + state.getFilename() + "'");
        return std::nullopt;
    }
    return runs;
}

std::vector<RunListing> list_run_records(const std::vector<RunRecord>& runs,
                                         const std::optional<std::string>& ruleset) {
    SQLite::Database table(":memory:", SQLite::OPEN_READWRITE);
    table.exec(
        "CREATE TABLE strata_runs (run_id INTEGER, ruleset TEXT, version INTEGER, rules_sha256 "
        "TEXT, as_of TEXT, started_at TEXT, finished_at TEXT, customers INTEGER, summary TEXT)");
    insert_run_records(table, runs);
    StoreError error;  // an in-memory table of these columns always reads
    return list_runs(table, ruleset, error).value_or(std::vector<RunListing>{});
}

void insert_run_records(SQLite::Database& table, const std::vector<RunRecord>& runs) {
    SQLite::Statement insert(table, "INSERT INTO strata_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const RunRecord& r : runs) {
        insert.bind(1, r.run_id);
        insert.bind(2, r.ruleset);
        insert.bind(3, r.version);
        insert.bind(4, r.rules_sha256);
        insert.bind(5, r.as_of);
        insert.bind(6, r.started_at);
        insert.bind(7, r.finished_at);
        insert.bind(8, r.customers);
        insert.bind(9, r.summary_json);
        insert.exec();
        insert.reset();
    }
}

namespace {

// Binds `keys` from parameter `at` on: integers as integers, texts as texts.
int bind_keys(SQLite::Statement& q, int at, const std::vector<Value>& keys) {
    for (const Value& key : keys) {
        if (const auto* i = std::get_if<int64_t>(&key))
            q.bind(at++, static_cast<int64_t>(*i));
        else
            q.bind(at++, std::get<Str>(key).str());
    }
    return at;
}

// What strata_stay_history cannot show of the stays of `keys`: a stay whose entering or ending
// run is not in strata_runs (a row deleted by hand: the view would leave the stay out, or show
// it ended on no day), or whose entering run's summary is not JSON (the view's json_extract
// stops). A sentence naming it; nullopt when there is none, or no strata_stays table (a
// warehouse's in-memory copy, state/warehouse_audit.cpp, fills the history itself).
std::optional<std::string> stays_damage(SQLite::Database& state, const std::vector<Value>& keys,
                                        const std::optional<std::string>& ruleset) {
    if (!state_common::has_stays(state)) return std::nullopt;
    std::string sql =
        "SELECT n.name, s.customer_key, coalesce(g.name, ''), s.entered_run, s.exited_run, "
        "e.run_id IS NULL, s.exited_run <> 0 AND x.run_id IS NULL "
        "FROM strata_stays s JOIN strata_rulesets n ON n.ruleset_id = s.ruleset "
        "LEFT JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment "
        "LEFT JOIN strata_runs e ON e.run_id = s.entered_run "
        "LEFT JOIN strata_runs x ON x.run_id = s.exited_run WHERE s.customer_key IN (?";
    for (size_t i = 1; i < keys.size(); ++i)
        sql += ",?";
    sql += std::string(")") + (ruleset ? " AND n.name = ?" : "") +
           " AND (e.run_id IS NULL OR (s.exited_run <> 0 AND x.run_id IS NULL) OR NOT "
           "json_valid(e.summary)) ORDER BY n.name, s.customer_key, s.entered_run LIMIT 1";
    SQLite::Statement q(state, sql);
    const int at = bind_keys(q, 1, keys);
    if (ruleset) q.bind(at, *ruleset);
    if (!q.executeStep()) return std::nullopt;
    const std::string stay =
        "a stay of customer " + key_value_in_message(key_from_column(q.getColumn(1))) + " in '" +
        q.getColumn(2).getString() + "' (ruleset '" + q.getColumn(0).getString() + "')";
    const std::string where = "the state in '" + state.getFilename() + "' is damaged: ";
    const bool entered_missing = q.getColumn(5).getInt() != 0;
    if (entered_missing || q.getColumn(6).getInt() != 0) {
        const int64_t run = q.getColumn(entered_missing ? 3 : 4).getInt64();
        return where + stay + (entered_missing ? " began" : " ended") + " at run " +
               std::to_string(run) +
               ", which table 'strata_runs' does not have (a row deleted by hand?); restore the "
               "state from a copy";
    }
    return where + "column 'summary' of run " + std::to_string(q.getColumn(3).getInt64()) +
           " in table 'strata_runs' is not JSON (" + stay + " began at that run)";
}

}  // namespace

std::optional<std::vector<StayListing>> list_stays(SQLite::Database& state,
                                                   const std::vector<Value>& keys,
                                                   const std::optional<std::string>& ruleset,
                                                   StoreError& error) {
    std::vector<StayListing> stays;
    if (keys.empty()) return stays;
    try {
        if (auto damage = stays_damage(state, keys, ruleset)) {
            error.message = *damage;
            return std::nullopt;
        }
        // customer_key has no declared type, so a bound integer finds only integer keys and a
        // bound text only text keys: '00123' never finds 123.
        std::string sql =
            "SELECT ruleset, customer_key, segment, level, entered_run, entered_as_of, "
            "exited_run, exited_as_of, version, cause FROM strata_stay_history "
            "WHERE customer_key IN (?";
        for (size_t i = 1; i < keys.size(); ++i)
            sql += ",?";
        sql += ")";
        // Naming the rulesets, even all of them, lets SQLite look the customer up by the
        // stays' primary key (ruleset, customer_key, …) instead of reading every stay.
        sql += ruleset ? " AND ruleset = ?" : " AND ruleset IN (SELECT name FROM strata_rulesets)";
        sql += " ORDER BY ruleset, customer_key, entered_run, level, segment";
        SQLite::Statement q(state, sql);
        const int at = bind_keys(q, 1, keys);
        if (ruleset) q.bind(at, *ruleset);
        while (q.executeStep()) {
            StayListing s;
            s.ruleset = q.getColumn(0).getString();
            s.key = key_from_column(q.getColumn(1));
            s.segment = q.getColumn(2).getString();
            s.level = q.getColumn(3).getInt();
            s.entered_run = q.getColumn(4).getInt64();
            s.entered_as_of = q.getColumn(5).getString();
            if (!q.getColumn(6).isNull()) s.exited_run = q.getColumn(6).getInt64();
            if (!q.getColumn(7).isNull()) s.exited_as_of = q.getColumn(7).getString();
            s.version = q.getColumn(8).getInt64();
            s.cause = q.getColumn(9).getString();
            stays.push_back(std::move(s));
        }
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read stays from '" + state.getFilename() + "'");
        return std::nullopt;
    }
    return stays;
}

}  // namespace strata
