// The state file's schema: created on open, and older layouts moved to the current one.
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "engine/state_common.hpp"
#include "engine/store.hpp"
#include "engine/versions.hpp"
#include "files/folder.hpp"

namespace strata {

using state_common::describe;
using state_common::has_table;

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
-- A ruleset's latest run, its runs' days and sizes, and its latest batch run (not an
-- evaluation of one customer stored by `strata eval --apply`), without reading every run's
-- summary: a service may store thousands of evaluations between two batch runs.
CREATE INDEX IF NOT EXISTS strata_runs_latest ON strata_runs (ruleset, as_of, run_id, customers);
CREATE INDEX IF NOT EXISTS strata_runs_latest_batch ON strata_runs (ruleset,
  (coalesce(CASE WHEN json_valid(summary) THEN json_extract(summary, '$.mode') END, '') = 'eval'),
  as_of, run_id);
-- Membership as history: one stay per customer's uninterrupted stay in one segment (level 0:
-- a general segment; above 0: a tactical path, 1 + its place in the rule file), from the run
-- that began it to the run that ended it. A run begins and ends only the stays that changed.
-- Kept narrow: the runs hold each run's as_of, version and cause. Stored in two tables, read
-- through the view strata_stays below.
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
-- A customer's open stays in one row, so that a move is one write in place: the general
-- segment's code and the run that began it, and the tactical stays as a JSON array of
-- [level, segment code, entered_run] in level order (null when there are none).
CREATE TABLE IF NOT EXISTS strata_open_stays (
  ruleset       INTEGER NOT NULL REFERENCES strata_rulesets(ruleset_id),
  customer_key  NOT NULL,  -- no declared type: keys keep their own type ('00123' stays text)
  general       INTEGER,   -- the code of its name in strata_segments; null: no general stay
  general_since INTEGER NOT NULL,  -- the run that began the general stay (0 when none)
  tactical      TEXT,
  PRIMARY KEY (ruleset, customer_key)
) WITHOUT ROWID;
-- The stays that ended, appended by the run that ended them: keyed by ruleset, then
-- exited_run, then customer.
CREATE TABLE IF NOT EXISTS strata_closed_stays (
  ruleset       INTEGER NOT NULL REFERENCES strata_rulesets(ruleset_id),
  exited_run    INTEGER NOT NULL,  -- the run that ended the stay
  customer_key  NOT NULL,
  level         INTEGER NOT NULL,
  segment       INTEGER NOT NULL,
  entered_run   INTEGER NOT NULL REFERENCES strata_runs(run_id),
  PRIMARY KEY (ruleset, exited_run, customer_key, level, segment, entered_run)
) WITHOUT ROWID;
)sql";

// Every stay, open or closed, a row each, as readers query them (exited_run 0 while it lasts).
// Before state kept open stays a customer a row, strata_stays was a table of these columns.
constexpr const char* kStaysView = R"sql(
CREATE VIEW IF NOT EXISTS strata_stays (ruleset, exited_run, customer_key, level, segment,
    entered_run) AS
  SELECT ruleset, 0, customer_key, 0, general, general_since FROM strata_open_stays
  WHERE general IS NOT NULL
  UNION ALL
  SELECT o.ruleset, 0, o.customer_key, json_extract(t.value, '$[0]'),
         json_extract(t.value, '$[1]'), json_extract(t.value, '$[2]')
  FROM strata_open_stays o, json_each(o.tactical) t
  UNION ALL
  SELECT ruleset, exited_run, customer_key, level, segment, entered_run FROM strata_closed_stays;
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

// State written before open stays were kept a customer a row has strata_stays as a table, a
// row per stay: its closed stays move as they are, its open ones become a row per customer.
void migrate_stays_table(SQLite::Database& db) {
    db.exec(
        "DROP VIEW IF EXISTS strata_membership; DROP VIEW IF EXISTS strata_stay_history; "
        "INSERT INTO strata_closed_stays (ruleset, exited_run, customer_key, level, segment, "
        "entered_run) SELECT ruleset, exited_run, customer_key, level, segment, entered_run "
        "FROM strata_stays WHERE exited_run <> 0");
    SQLite::Statement open(db,
                           "SELECT ruleset, customer_key, level, segment, entered_run FROM "
                           "strata_stays WHERE exited_run = 0 ORDER BY ruleset, customer_key, "
                           "level, segment, entered_run");
    SQLite::Statement insert(db,
                             "INSERT INTO strata_open_stays (ruleset, customer_key, general, "
                             "general_since, tactical) VALUES (?, ?, ?, ?, ?)");
    struct Row {
        int64_t ruleset = 0;
        std::optional<int64_t> integer_key;  // else text_key
        std::string text_key;
        std::optional<int64_t> general;
        int64_t since = 0;
        std::string tactical;
    };
    std::optional<Row> row;
    auto flush = [&] {
        if (!row) return;
        insert.bind(1, row->ruleset);
        if (row->integer_key)
            insert.bind(2, *row->integer_key);
        else
            insert.bind(2, row->text_key);
        if (row->general)
            insert.bind(3, *row->general);
        else
            insert.bind(3);
        insert.bind(4, row->since);
        if (row->tactical.empty())
            insert.bind(5);
        else
            insert.bind(5, "[" + row->tactical + "]");
        insert.exec();
        insert.reset();
    };
    while (open.executeStep()) {
        const int64_t ruleset = open.getColumn(0).getInt64();
        const SQLite::Column key = open.getColumn(1);
        std::optional<int64_t> integer_key;
        std::string text_key;
        if (key.isInteger())
            integer_key = key.getInt64();
        else
            text_key = key.getString();
        if (!row || row->ruleset != ruleset || row->integer_key != integer_key ||
            row->text_key != text_key) {
            flush();
            row = Row{ruleset, integer_key, text_key, std::nullopt, 0, ""};
        }
        const int64_t level = open.getColumn(2).getInt64();
        const int64_t segment = open.getColumn(3).getInt64();
        const int64_t entered = open.getColumn(4).getInt64();
        if (level == 0 && !row->general) {
            row->general = segment;
            row->since = entered;
        } else if (level == 0) {
            throw SQLite::Exception(
                "customer " + (integer_key ? std::to_string(*integer_key) : "'" + text_key + "'") +
                " has two open general stays in table 'strata_stays' "
                "(ruleset " +
                std::to_string(ruleset) + "); restore the state from a copy");
        } else {
            row->tactical += (row->tactical.empty() ? "[" : ",[") + std::to_string(level) + "," +
                             std::to_string(segment) + "," + std::to_string(entered) + "]";
        }
    }
    flush();
    db.exec("DROP TABLE strata_stays");
}

// Whether the outbox is in the layout before strata_outbox_action: its idempotency keys
// unique through a constraint of the table, which made an index of the key texts.
bool outbox_keyed_by_text(SQLite::Database& db) {
    SQLite::Statement q(db, "SELECT 1 FROM pragma_index_list('strata_outbox') WHERE origin = 'u'");
    return q.executeStep();
}

// The outbox's columns as strata makes them, in the older layout and the current one alike.
constexpr const char* kOutboxColumns =
    "id, idempotency_key, ruleset, version, trigger_id, customer_key, action, type, payload, "
    "run_id, as_of, status, attempt, consumer, lease_until, reason, created_at, updated_at";

// The CREATE statements of indexes and triggers on strata_outbox that strata did not make
// (a user's own), indexes first: the move remakes them on the new table.
std::vector<std::string> users_outbox_objects(SQLite::Database& db) {
    std::vector<std::string> out;
    SQLite::Statement q(db,
                        "SELECT sql FROM sqlite_master WHERE tbl_name = 'strata_outbox' AND type "
                        "IN ('index', 'trigger') AND sql IS NOT NULL AND name NOT IN "
                        "('strata_outbox_status', 'strata_outbox_customer', "
                        "'strata_outbox_as_of', 'strata_outbox_action') ORDER BY type, name");
    while (q.executeStep())
        out.push_back(q.getColumn(0).getString());
    return out;
}

// Columns of strata_outbox that strata did not make, comma-separated; empty when none.
std::string users_outbox_columns(SQLite::Database& db) {
    const std::string strata_columns = std::string(", ") + kOutboxColumns + ", ";
    std::string names;
    SQLite::Statement q(db, "SELECT name FROM pragma_table_info('strata_outbox') ORDER BY cid");
    while (q.executeStep()) {
        const std::string name = q.getColumn(0).getString();
        if (strata_columns.find(", " + name + ", ") == std::string::npos)
            names += (names.empty() ? "" : ", ") + name;
    }
    return names;
}

// Moves the outbox to the current layout, every row kept with its id, the id counter kept
// (ids are never reused), and the user's own indexes and triggers on it made again. Leaves it
// as it is, and says why, if two rows share the columns an idempotency key is made of
// (possible only in rows strata did not write: the key's constraint still holds there) or if
// the table has columns strata did not make (a copy would lose them). Either way the older
// layout keeps working, with daily runs that rewrite the key texts' index.
void move_outbox_to_action_index(SQLite::Database& db) {
    const char* why_kept =
        "; it keeps its older layout, which works as before but makes each daily run rewrite "
        "the index of idempotency keys (docs/outbox.md)";
    if (const std::string extra = users_outbox_columns(db); !extra.empty()) {
        spdlog::warn("strata_outbox has columns strata did not make ({}){}", extra, why_kept);
        return;
    }
    // A full scan, made only while the file is in the older layout.
    {
        SQLite::Statement twice(db,
                                "SELECT 1 FROM strata_outbox GROUP BY ruleset, as_of, trigger_id, "
                                "customer_key, action HAVING count(*) > 1 LIMIT 1");
        if (twice.executeStep()) {
            spdlog::warn(
                "strata_outbox holds two rows of one action under different "
                "idempotency keys{}",
                why_kept);
            return;
        }
    }
    const std::vector<std::string> users_objects = users_outbox_objects(db);
    const int64_t next_id =
        db.execAndGet(
              "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
              "'strata_outbox'), 0), coalesce((SELECT max(id) FROM strata_outbox), 0))")
            .getInt64();
    // The legacy rename leaves views and triggers that name strata_outbox as they are: they
    // read the new table once it is made.
    db.exec("PRAGMA legacy_alter_table = ON");
    db.exec(
        "DROP INDEX IF EXISTS strata_outbox_status; DROP INDEX IF EXISTS strata_outbox_customer; "
        "DROP INDEX IF EXISTS strata_outbox_as_of; "
        "ALTER TABLE strata_outbox RENAME TO strata_outbox_keyed_by_text");
    db.exec("PRAGMA legacy_alter_table = OFF");
    db.exec(kOutboxTable);
    db.exec(std::string("INSERT INTO strata_outbox (") + kOutboxColumns + ") SELECT " +
            kOutboxColumns +
            " FROM strata_outbox_keyed_by_text ORDER BY id; "
            "DROP TABLE strata_outbox_keyed_by_text; "
            "DELETE FROM sqlite_sequence WHERE name = 'strata_outbox'");
    SQLite::Statement counter(db, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)");
    counter.bind(1, "strata_outbox");
    counter.bind(2, next_id);
    counter.exec();
    // After the copy, so that a trigger of the user's does not fire for rows already there.
    for (const std::string& sql : users_objects)
        db.exec(sql);
}

}  // namespace

std::string foreign_state_tables(SQLite::Database& db) {
    // The columns every layout strata ever wrote has, by table (the migrations add none).
    static const std::vector<std::pair<const char*, std::vector<const char*>>> kOwnColumns{
        {"strata_runs",
         {"run_id", "ruleset", "version", "rules_sha256", "rules_path", "as_of", "started_at",
          "finished_at", "status", "customers", "summary"}},
        {"strata_stays",
         {"ruleset", "exited_run", "customer_key", "level", "segment", "entered_run"}},
        {"strata_open_stays", {"ruleset", "customer_key", "general", "general_since", "tactical"}},
        {"strata_closed_stays",
         {"ruleset", "exited_run", "customer_key", "level", "segment", "entered_run"}},
        {"strata_outbox",
         {"idempotency_key", "ruleset", "version", "trigger_id", "customer_key", "action", "type",
          "payload", "run_id", "as_of", "status", "attempt"}},
        {"strata_rulesets", {"ruleset_id", "name"}},
        {"strata_segments", {"ruleset", "code", "name"}},
        {"strata_versions", {"ruleset", "version", "sha256", "source", "first_seen"}},
        {"strata_aggregate_state",
         {"ruleset", "run_id", "version", "rules_sha256", "as_of", "layout", "customers", "facts"}},
        {"strata_aggregate_blocks", {"ruleset", "block", "customers", "states"}},
        {"strata_population_fits", {"run_id", "call", "fit"}},
        // The older layouts' tables, which a run moves to the stays.
        {"strata_membership", {"run_id", "customer_key", "segment", "tactical"}},
        {"strata_placements", {"run_id", "placement", "segment", "tactical"}},
        {"strata_members", {"run_id", "customer_key", "placement"}},
    };
    for (const auto& [table, columns] : kOwnColumns) {
        if (!has_table(db, table)) continue;
        std::vector<std::string> present;
        SQLite::Statement info(db, "SELECT name FROM pragma_table_info(?)");
        info.bind(1, table);
        while (info.executeStep())
            present.push_back(info.getColumn(0).getString());
        std::string missing;
        size_t count = 0;
        for (const char* column : columns) {
            const bool found = std::any_of(present.begin(), present.end(), [&](const auto& name) {
                return same_sql_name(name, column);
            });
            if (!found) missing += (count++ ? ", " : "") + std::string(column);
        }
        if (count == 0) continue;
        return "'" + db.getFilename() + "' has a table " + table +
               " that strata did not make (it has no column" + (count == 1 ? " " : "s ") + missing +
               "): strata keeps its run state in tables named strata_*; give --state a file "
               "of its own, or rename that table";
    }
    return "";
}

std::unique_ptr<SQLite::Database> open_state(const std::string& path, StoreError& error,
                                             int wait_ms, bool create) {
    // SQLite's own word for a folder it cannot write in is "unable to open database file":
    // name the folder and the reason first. The folder must be writable even when the file
    // exists, for the journal SQLite keeps beside it while a run is stored.
    const std::string what = "cannot write run state to '" + path + "'";
    std::error_code ec;
    if (const std::string problem = files::folder_problem(path); !problem.empty()) {
        error.message = what + ": " + problem;
        return nullptr;
    }
    if (std::filesystem::is_directory(path, ec)) {
        error.message = what + ": it is a folder, not a file";
        return nullptr;
    }
    if (const std::string kind = files::special_file_kind(path); !kind.empty()) {
        error.message = what + ": it is " + kind + ", not a SQLite file";
        return nullptr;
    }
    try {
        auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE |
                                                               (create ? SQLite::OPEN_CREATE : 0) |
                                                               SQLite::OPEN_NOMUTEX);
        db->setBusyTimeout(wait_ms);
        // IMMEDIATE: the write lock is waited for (up to wait_ms) before anything is read. A
        // deferred transaction that read first could not take it while another process's
        // commit waits for this one's read lock; SQLite then fails at once, without waiting.
        SQLite::Transaction tx(*db, SQLite::TransactionBehavior::IMMEDIATE);
        if (std::string foreign = foreign_state_tables(*db); !foreign.empty()) {
            error.message = foreign;
            return nullptr;
        }
        db->exec(kSchema);
        if (has_table(*db, "strata_stays")) migrate_stays_table(*db);
        db->exec(kStaysView);
        db->exec(kOutboxTable);
        if (outbox_keyed_by_text(*db)) move_outbox_to_action_index(*db);
        if (!outbox_keyed_by_text(*db)) db->exec(kOutboxActionIndex);
        db->exec(kOutboxIndexes);
        // Older layouts move to the stays in this one transaction, every run kept.
        if (has_table(*db, "strata_membership")) db->exec(kMigrateMembershipTable);
        if (has_table(*db, "strata_members")) migrate_snapshots_to_stays(*db);
        db->exec(kMembershipView);
        ensure_versions_table(*db);
        tx.commit();
        return db;
    } catch (const SQLite::Exception& e) {
        if (!create && !std::filesystem::exists(path, ec)) {
            error.message = "database '" + path + "' does not exist";
            return nullptr;
        }
        error.message = describe(e, what);
        error.locked = e.getErrorCode() == SQLITE_BUSY || e.getErrorCode() == SQLITE_LOCKED;
        return nullptr;
    }
}

}  // namespace strata
