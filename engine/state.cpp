#include "engine/state.hpp"

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
-- A run's distinct placements (general segment plus tactical tags), numbered in order of
-- first appearance in key order, and each customer's placement by number: a small integer
-- per customer is much cheaper to write than two texts.
CREATE TABLE IF NOT EXISTS strata_placements (
  run_id        INTEGER NOT NULL REFERENCES strata_runs(run_id),
  placement     INTEGER NOT NULL,
  segment       TEXT NOT NULL,
  tactical      TEXT NOT NULL,
  PRIMARY KEY (run_id, placement)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS strata_members (
  run_id        INTEGER NOT NULL REFERENCES strata_runs(run_id),
  customer_key  NOT NULL,  -- no declared type: keys keep their own type (text "00123" stays text)
  placement     INTEGER NOT NULL,
  PRIMARY KEY (run_id, customer_key)
) WITHOUT ROWID;
)sql";

// Each customer's membership as text, one row per customer: what readers query.
constexpr const char* kMembershipView = R"sql(
CREATE VIEW IF NOT EXISTS strata_membership (run_id, customer_key, segment, tactical) AS
  SELECT m.run_id, m.customer_key, p.segment, p.tactical
  FROM strata_members m JOIN strata_placements p ON p.run_id = m.run_id AND p.placement = m.placement;
)sql";

// State written before strata_placements existed kept the texts in a strata_membership table;
// it moves to the new tables, keeping every run, in one transaction.
constexpr const char* kMigrateMembershipTable = R"sql(
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

std::unique_ptr<SQLite::Database> open_state(const std::string& path, StoreError& error) {
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
        db->setBusyTimeout(5000);
        SQLite::Transaction tx(*db);
        db->exec(kSchema);
        if (db->execAndGet("SELECT count(*) FROM sqlite_schema WHERE name = 'strata_membership' "
                           "AND type = 'table'")
                .getInt() > 0)
            db->exec(kMigrateMembershipTable);
        db->exec(kMembershipView);
        tx.commit();
        return db;
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, what);
        return nullptr;
    }
}

struct RunWriter::Impl {
    using Prepared = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;
    static constexpr size_t kBatch = 128;  // rows per INSERT statement

    SQLite::Database& state;
    SQLite::Transaction tx;
    int64_t run_id = 0;
    Prepared full{nullptr, sqlite3_finalize};  // kBatch rows
    bool spent = false;
    // Placements numbered so far, in order of first appearance.
    std::vector<std::pair<Str, Str>> placements;
    std::map<std::pair<const std::string*, const std::string*>, int64_t> codes;

    explicit Impl(SQLite::Database& db) : state(db), tx(db) {}

    // An INSERT of n membership rows.
    Prepared make_insert(size_t n) {
        sqlite3* db = state.getHandle();
        std::string sql = "INSERT INTO strata_members (run_id, customer_key, placement) VALUES ";
        for (size_t i = 0; i < n; ++i)
            sql += i ? ",(?,?,?)" : "(?,?,?)";
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
        Prepared out(stmt, sqlite3_finalize);
        if (rc != SQLITE_OK) throw SQLite::Exception(db, rc);
        return out;
    }

    // The number of a row's placement, numbering it when it is new. Segment texts are
    // interned, so a placement is known by its two pointers.
    int64_t code_of(const MembershipRow& row) {
        auto [it, added] = codes.emplace(std::pair{&row.segment.str(), &row.tactical.str()},
                                         static_cast<int64_t>(placements.size()));
        if (added) placements.emplace_back(row.segment, row.tactical);
        return it->second;
    }

    // Values are always bound as parameters.
    void insert(const MembershipRow* rows, size_t n) {
        sqlite3* db = state.getHandle();
        Prepared rest(nullptr, sqlite3_finalize);
        const MembershipRow* last = nullptr;  // consecutive rows often share a placement
        int64_t last_code = 0;
        for (size_t done = 0; done < n;) {
            const size_t count = std::min(kBatch, n - done);
            if (count < kBatch) rest = make_insert(count);
            sqlite3_stmt* stmt = count == kBatch ? full.get() : rest.get();
            for (size_t k = 0; k < count; ++k) {
                const MembershipRow& row = rows[done + k];
                if (!last || last->segment != row.segment || last->tactical != row.tactical) {
                    last_code = code_of(row);
                    last = &row;
                }
                const int base = static_cast<int>(k * 3);
                sqlite3_bind_int64(stmt, base + 1, run_id);
                if (const auto* i = std::get_if<int64_t>(&row.key)) {
                    sqlite3_bind_int64(stmt, base + 2, *i);
                } else {
                    const std::string& text = std::get<Str>(row.key).str();
                    sqlite3_bind_text(stmt, base + 2, text.data(), static_cast<int>(text.size()),
                                      SQLITE_STATIC);
                }
                sqlite3_bind_int64(stmt, base + 3, last_code);
            }
            const int rc = sqlite3_step(stmt);
            sqlite3_reset(stmt);
            if (rc != SQLITE_DONE) throw SQLite::Exception(db, rc);
            done += count;
        }
    }

    // The texts of every placement numbered by insert().
    void insert_placements() {
        SQLite::Statement q(state,
                            "INSERT INTO strata_placements (run_id, placement, segment, tactical) "
                            "VALUES (?, ?, ?, ?)");
        for (size_t p = 0; p < placements.size(); ++p) {
            q.bind(1, run_id);
            q.bind(2, static_cast<int64_t>(p));
            q.bind(3, placements[p].first.str());
            q.bind(4, placements[p].second.str());
            q.exec();
            q.reset();
        }
    }
};

RunWriter::RunWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunWriter::~RunWriter() = default;  // an unfinished transaction rolls back

std::unique_ptr<RunWriter> RunWriter::begin(SQLite::Database& state, const RunRecord& r,
                                            StoreError& error) {
    try {
        auto impl = std::make_unique<Impl>(state);
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
        impl->full = impl->make_insert(Impl::kBatch);
        return std::unique_ptr<RunWriter>(new RunWriter(std::move(impl)));
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot store the run in '" + state.getFilename() + "'");
        return nullptr;
    }
}

int64_t RunWriter::run_id() const {
    return impl_->run_id;
}

bool RunWriter::add(const MembershipRow* first, size_t count, StoreError& error) {
    if (impl_->spent) return false;
    try {
        impl_->insert(first, count);
        return true;
    } catch (const SQLite::Exception& e) {
        impl_->spent = true;
        error.message = describe(e, "cannot store the run in '" + impl_->state.getFilename() + "'");
        return false;
    }
}

bool RunWriter::finish(const std::string& finished_at, const std::string& summary_json,
                       StoreError& error) {
    if (impl_->spent) return false;
    impl_->spent = true;
    try {
        SQLite::Statement done(
            impl_->state, "UPDATE strata_runs SET finished_at = ?, summary = ? WHERE run_id = ?");
        done.bind(1, finished_at);
        done.bind(2, summary_json);
        done.bind(3, impl_->run_id);
        done.exec();
        impl_->insert_placements();
        impl_->full.reset();
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
    std::vector<MembershipRow> rows;
    try {
        SQLite::Statement q(
            state,
            "SELECT customer_key, segment, tactical FROM strata_membership WHERE run_id = ? "
            "ORDER BY customer_key");
        q.bind(1, run_id);
        while (q.executeStep()) {
            MembershipRow row;
            const auto key = q.getColumn(0);
            if (key.isInteger())
                row.key = static_cast<int64_t>(key.getInt64());
            else
                row.key = intern(key.getString());
            row.segment = intern(q.getColumn(1).getText());
            row.tactical = intern(q.getColumn(2).getText());
            rows.push_back(row);
        }
    } catch (const SQLite::Exception& e) {
        error.message = describe(e, "cannot read membership from '" + state.getFilename() + "'");
    }
    return rows;
}

}  // namespace strata
