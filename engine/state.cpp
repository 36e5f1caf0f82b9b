#include "engine/state.hpp"

#include "engine/outbox.hpp"
#include "engine/versions.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

namespace strata {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS strata_runs (
  run_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  ruleset       TEXT NOT NULL,
  version       INTEGER NOT NULL,
  rules_sha256  TEXT NOT NULL,
  rules_path    TEXT NOT NULL,
  as_of         TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  finished_at   TEXT NOT NULL,
  status        TEXT NOT NULL,
  customers     INTEGER NOT NULL,
  summary       TEXT NOT NULL
);
-- Membership as history: one row per customer's uninterrupted stay in one segment (level 0:
-- a general segment; above 0: a tactical path, 1 + its place in the rule file), from the run
-- that began it to the run that ended it (null while it lasts). A run begins and ends only
-- the stays that changed. Kept narrow: the runs hold each run's as_of, version and cause.
CREATE TABLE IF NOT EXISTS strata_rulesets (
  ruleset_id    INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE
);
-- Each segment name of a ruleset once; stays refer to it by code.
CREATE TABLE IF NOT EXISTS strata_segments (
  ruleset       INTEGER NOT NULL REFERENCES strata_rulesets(ruleset_id),
  code          INTEGER NOT NULL,
  name          TEXT NOT NULL,
  PRIMARY KEY (ruleset, code)
) WITHOUT ROWID;
-- Keyed by ruleset, then exited_run (0 while the stay lasts), then customer: a ruleset's open
-- stays, which every run reads, are one range in key order however long the history grows.
CREATE TABLE IF NOT EXISTS strata_stays (
  ruleset       INTEGER NOT NULL REFERENCES strata_rulesets(ruleset_id),
  exited_run    INTEGER NOT NULL,  -- the run that ended the stay; 0 while it lasts
  customer_key  NOT NULL,  -- no declared type: keys keep their own type ('00123' stays text)
  level         INTEGER NOT NULL,
  segment       INTEGER NOT NULL,  -- the code of its name in strata_segments
  entered_run   INTEGER NOT NULL REFERENCES strata_runs(run_id),
  PRIMARY KEY (ruleset, exited_run, customer_key, level, segment, entered_run)
) WITHOUT ROWID;
-- The stays with their names, days, versions and causes, as people read them.
CREATE VIEW IF NOT EXISTS strata_stay_history (ruleset, customer_key, segment, level,
    entered_run, entered_as_of, exited_run, exited_as_of, version, cause) AS
  SELECT n.name, s.customer_key, g.name, s.level, s.entered_run, e.as_of,
         nullif(s.exited_run, 0), x.as_of, e.version, coalesce(json_extract(e.summary, '$.transitions.cause'), 'data')
  FROM strata_stays s JOIN strata_rulesets n ON n.ruleset_id = s.ruleset
  JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment
  JOIN strata_runs e ON e.run_id = s.entered_run
  LEFT JOIN strata_runs x ON x.run_id = s.exited_run;
)sql";

// Each stored run's full membership, one row per customer, from the stays: what readers
// query. The tactical paths are joined in rule-file order.
constexpr const char* kMembershipView = R"sql(
CREATE VIEW IF NOT EXISTS strata_membership (run_id, customer_key, segment, tactical) AS
  SELECT r.run_id, g.customer_key, gn.name,
         coalesce((SELECT group_concat(name, ';') FROM (
                     SELECT tn.name FROM strata_stays t
                     JOIN strata_segments tn ON tn.ruleset = t.ruleset AND tn.code = t.segment
                     WHERE t.ruleset = g.ruleset AND t.customer_key = g.customer_key
                       AND t.level > 0 AND t.entered_run <= r.run_id
                       AND (t.exited_run = 0 OR t.exited_run > r.run_id)
                     ORDER BY t.level, tn.name)), '')
  FROM strata_runs r JOIN strata_rulesets n ON n.name = r.ruleset
  JOIN strata_stays g
    ON g.ruleset = n.ruleset_id AND g.level = 0 AND g.entered_run <= r.run_id
   AND (g.exited_run = 0 OR g.exited_run > r.run_id)
  JOIN strata_segments gn ON gn.ruleset = g.ruleset AND gn.code = g.segment;
)sql";

// State written before strata_placements existed kept the texts in a strata_membership table;
// it moves to the placement tables first, then, with them, to the stays.
constexpr const char* kMigrateMembershipTable = R"sql(
CREATE TABLE strata_placements (run_id INTEGER NOT NULL, placement INTEGER NOT NULL,
  segment TEXT NOT NULL, tactical TEXT NOT NULL, PRIMARY KEY (run_id, placement)) WITHOUT ROWID;
CREATE TABLE strata_members (run_id INTEGER NOT NULL, customer_key NOT NULL,
  placement INTEGER NOT NULL, PRIMARY KEY (run_id, customer_key)) WITHOUT ROWID;
INSERT INTO strata_placements (run_id, placement, segment, tactical)
  SELECT run_id, row_number() OVER (PARTITION BY run_id ORDER BY segment, tactical) - 1,
         segment, tactical
  FROM (SELECT DISTINCT run_id, segment, tactical FROM strata_membership);
INSERT INTO strata_members (run_id, customer_key, placement)
  SELECT m.run_id, m.customer_key, p.placement
  FROM strata_membership m JOIN strata_placements p
    ON p.run_id = m.run_id AND p.segment = m.segment AND p.tactical = m.tactical;
DROP TABLE strata_membership;
)sql";

bool has_table(SQLite::Database& db, const char* name) {
    SQLite::Statement q(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
    q.bind(1, name);
    q.executeStep();
    return q.getColumn(0).getInt() > 0;
}

// State written with a snapshot per run (strata_members and strata_placements) becomes stays
// by replaying its runs in order, each compared with the one before, as runs now are.
void migrate_snapshots_to_stays(SQLite::Database& db) {
    struct Run {
        int64_t id;
        std::string ruleset;
        int64_t version;
        std::string as_of;
    };
    std::vector<Run> runs;
    {
        SQLite::Statement q(db,
                            "SELECT run_id, ruleset, version, as_of FROM strata_runs "
                            "ORDER BY run_id");
        while (q.executeStep())
            runs.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                            q.getColumn(2).getInt64(), q.getColumn(3).getString()});
    }
    std::map<std::string, int64_t> last_version;
    for (const Run& run : runs) {
        std::vector<MembershipRow> rows;
        SQLite::Statement q(db,
                            "SELECT m.customer_key, p.segment, p.tactical FROM strata_members m "
                            "JOIN strata_placements p ON p.run_id = m.run_id "
                            "AND p.placement = m.placement WHERE m.run_id = ? "
                            "ORDER BY m.customer_key");
        q.bind(1, run.id);
        while (q.executeStep())
            rows.push_back({key_from_column(q.getColumn(0)), intern(q.getColumn(1).getText()),
                            intern(q.getColumn(2).getText())});
        StayDiff diff(load_open_placements(db, run.ruleset), {});
        StayChanges changes;
        diff.add(rows.data(), rows.size(), changes);
        diff.finish(changes);
        StayWriter(db, run.ruleset, run.id).write(changes);
        // The cause of the run's moves, as runs now record it in their summary.
        auto last = last_version.find(run.ruleset);
        const char* cause = last == last_version.end()    ? "initial"
                            : last->second != run.version ? "rules"
                                                          : "data";
        SQLite::Statement mark(db,
                               "UPDATE strata_runs SET summary = json_set(CASE WHEN "
                               "json_valid(summary) THEN summary ELSE '{}' END, "
                               "'$.transitions.cause', ?) WHERE run_id = ?");
        mark.bind(1, cause);
        mark.bind(2, run.id);
        mark.exec();
        last_version[run.ruleset] = run.version;
    }
    db.exec(
        "DROP VIEW IF EXISTS strata_membership; DROP TABLE strata_members; "
        "DROP TABLE strata_placements;");
}

std::string describe(const SQLite::Exception& e, const std::string& what) {
    const int code = e.getErrorCode();
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return what + ": the database is locked by another process";
    if (code == SQLITE_READONLY)
        return what + ": the database is read-only (give --state PATH to keep run state elsewhere)";
    if (code == SQLITE_NOTADB) return what + ": not a SQLite database";
    return what + ": " + e.what();
}

}  // namespace

std::unique_ptr<SQLite::Database> open_state(const std::string& path, StoreError& error,
                                             int wait_ms) {
    // SQLite's own word for a folder it cannot write in is "unable to open database file":
    // name the folder and the reason first. The folder must be writable even when the file
    // exists, for the journal SQLite keeps beside it while a run is stored.
    const std::string what = "cannot write run state to '" + path + "'";
    const std::filesystem::path file(path);
    const std::string folder =
        file.has_parent_path() ? file.parent_path().string() : std::string(".");
    std::error_code ec;
    if (!std::filesystem::exists(folder, ec)) {
        error.message = what + ": folder '" + folder + "' does not exist";
        return nullptr;
    }
    if (!std::filesystem::is_directory(folder, ec)) {
        error.message = what + ": '" + folder + "' is not a folder";
        return nullptr;
    }
    if (std::filesystem::is_directory(file, ec)) {
        error.message = what + ": it is a folder, not a file";
        return nullptr;
    }
    if (::access(folder.c_str(), W_OK) != 0) {
        const int reason = errno;
        error.message = what + ": folder '" + folder + "' is not writable (" +
                        (reason == EACCES ? std::string("permission denied")
                                          : std::string(std::strerror(reason))) +
                        ")";
        return nullptr;
    }
    try {
        auto db = std::make_unique<SQLite::Database>(
            path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
        db->setBusyTimeout(wait_ms);
        SQLite::Transaction tx(*db);
        db->exec(kSchema);
        db->exec(kOutboxSchema);
        // Older layouts move to the stays in this one transaction, every run kept.
        if (has_table(*db, "strata_membership")) db->exec(kMigrateMembershipTable);
        if (has_table(*db, "strata_members")) migrate_snapshots_to_stays(*db);
        db->exec(kMembershipView);
        ensure_versions_table(*db);
        tx.commit();
        return db;
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, what);
        return nullptr;
    }
}

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
        if (has_table(state, "strata_stays")) return membership_of_run(state, run_id);
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
        return StateTables{has_table(state, "strata_runs"), has_table(state, "strata_stays")};
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read '" + state.getFilename() + "'");
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
                               "'$.mode'), json_extract(summary, '$.incremental.mode')) END "
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

std::optional<std::vector<StayListing>> list_stays(SQLite::Database& state,
                                                   const std::vector<Value>& keys,
                                                   const std::optional<std::string>& ruleset,
                                                   StoreError& error) {
    std::vector<StayListing> stays;
    if (keys.empty()) return stays;
    try {
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
        int at = 1;
        for (const Value& key : keys) {
            if (const auto* i = std::get_if<int64_t>(&key))
                q.bind(at++, static_cast<int64_t>(*i));
            else
                q.bind(at++, std::get<Str>(key).str());
        }
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
