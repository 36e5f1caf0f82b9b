#include "engine/fact_watch.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <random>

#include "engine/reader.hpp"
#include "engine/store.hpp"

namespace strata {

namespace {

std::string trigger_name(const std::string& table, const char* what) {
    return "strata_watch_" + table + "_" + what;
}

// A text as an SQL string literal (trigger bodies cannot take bound values).
std::string literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

// A token no raise of `table` has had yet: random, positive.
int64_t new_raise_token(SQLite::Database& db, const std::string& table) {
    std::random_device entropy;
    SQLite::Statement taken(
        db, "SELECT 1 FROM strata_fact_watch_raises WHERE fact_table = ? AND token = ?");
    while (true) {
        const uint64_t bits = (static_cast<uint64_t>(entropy()) << 32) ^ entropy();
        const auto token = static_cast<int64_t>(bits >> 1);
        taken.reset();
        taken.bind(1, table);
        taken.bind(2, token);
        if (token != 0 && !taken.executeStep()) return token;
    }
}

}  // namespace

bool watch_remembers(SQLite::Database& data, const std::string& table, int64_t token) {
    if (!data.tableExists("strata_fact_watch_raises")) return false;
    SQLite::Statement q(
        data, "SELECT 1 FROM strata_fact_watch_raises WHERE fact_table = ? AND token = ?");
    q.bind(1, table);
    q.bind(2, token);
    return q.executeStep();
}

std::optional<WatchReading> read_watch(SQLite::Database& data, const std::string& table) {
    if (!data.tableExists("strata_fact_watch")) return std::nullopt;
    // The three triggers, each naming the rows by the spelling of the rowid the table has now:
    // a column named `rowid` added afterwards hides the rowid from triggers that say `rowid`,
    // which then compare that column instead, and count nothing.
    const std::optional<std::string> rowid = rowid_alias(data, table);
    if (!rowid) return std::nullopt;
    SQLite::Statement triggers(data,
                               "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                               "name IN (?, ?, ?) AND tbl_name = ? COLLATE NOCASE");
    triggers.bind(1, trigger_name(table, "update"));
    triggers.bind(2, trigger_name(table, "delete"));
    triggers.bind(3, trigger_name(table, "insert"));
    triggers.bind(4, table);
    int current = 0;
    while (triggers.executeStep())
        if (triggers.getColumn(0).getString().find("." + *rowid + " <= ") != std::string::npos)
            ++current;
    if (current != 3) return std::nullopt;
    SQLite::Statement q(data,
                        "SELECT watermark, changes FROM strata_fact_watch WHERE fact_table = ?");
    q.bind(1, table);
    if (!q.executeStep()) return std::nullopt;
    WatchReading w;
    if (!q.getColumn(0).isNull()) w.watermark = q.getColumn(0).getInt64();
    w.changes = q.getColumn(1).getInt64();
    return w;
}

std::string table_definition(SQLite::Database& data, const std::string& table) {
    SQLite::Statement q(data,
                        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE "
                        "NOCASE");
    q.bind(1, table);
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

bool raise_watch(const std::string& path, const std::string& table, bool create,
                 std::optional<WatchReading>& before, int64_t& token, std::string& error,
                 int wait_ms) {
    error.clear();
    before.reset();
    token = 0;
    try {
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        db.setBusyTimeout(wait_ms);
        if (!create && !read_watch(db, table)) return false;  // never watched: nothing to raise
        // Immediate: the read below and the writes after it are one transaction, and in WAL
        // mode a deferred one that reads first cannot write once another writer has committed.
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        before = read_watch(db, table);
        if (!before && !create) return false;
        const std::optional<std::string> rowid = rowid_alias(db, table);
        if (!rowid) {
            error = "table '" + table + "' has no rowid to keep a watermark on";
            return false;
        }
        const bool watched = before.has_value();
        if (!watched) {
            db.exec(
                "CREATE TABLE IF NOT EXISTS strata_fact_watch (fact_table TEXT PRIMARY KEY, "
                "watermark INTEGER, changes INTEGER NOT NULL DEFAULT 0)");
            SQLite::Statement row(db,
                                  "INSERT INTO strata_fact_watch (fact_table, watermark, changes) "
                                  "VALUES (?, NULL, 0) ON CONFLICT (fact_table) DO UPDATE SET "
                                  "changes = changes + 1, watermark = NULL");
            row.bind(1, table);
            row.exec();
            const std::string count =
                "UPDATE strata_fact_watch SET changes = changes + 1 WHERE "
                "fact_table = " +
                literal(table) + "; END";
            const std::string below =
                "(SELECT watermark FROM strata_fact_watch WHERE fact_table = " + literal(table) +
                ")";
            const std::string on = " ON " + quote_identifier(table);
            for (const char* what : {"update", "delete", "insert"})
                db.exec("DROP TRIGGER IF EXISTS " + quote_identifier(trigger_name(table, what)));
            db.exec("CREATE TRIGGER " + quote_identifier(trigger_name(table, "update")) +
                    " AFTER UPDATE" + on + " WHEN OLD." + *rowid + " <= " + below + " OR NEW." +
                    *rowid + " <= " + below + " BEGIN " + count);
            db.exec("CREATE TRIGGER " + quote_identifier(trigger_name(table, "delete")) +
                    " AFTER DELETE" + on + " WHEN OLD." + *rowid + " <= " + below + " BEGIN " +
                    count);
            db.exec("CREATE TRIGGER " + quote_identifier(trigger_name(table, "insert")) +
                    " AFTER INSERT" + on + " WHEN NEW." + *rowid + " <= " + below + " BEGIN " +
                    count);
            // Installed again (its row or triggers were removed): changes since the earlier
            // raises went unseen, so none of them vouches for a kept state any longer, even
            // when this run stores nothing.
            if (db.tableExists("strata_fact_watch_raises")) {
                SQLite::Statement forget_all(
                    db, "DELETE FROM strata_fact_watch_raises WHERE fact_table = ?");
                forget_all.bind(1, table);
                forget_all.exec();
            }
        }
        // Raised to the highest rowid, or lowered to it where the rows at the top were
        // deleted (or a VACUUM renumbered them): rows added then take rowids at or below the
        // old watermark, and their inserts would count as changes until the rowids passed it
        // again, every run a full one. Lowering counts as a change: a state another ruleset
        // kept read up to the old watermark, and rows added between the two would not be read
        // by its next run.
        SQLite::Statement raise(
            db,
            "UPDATE strata_fact_watch SET changes = changes + (top IS NOT watermark AND "
            "watermark IS NOT NULL AND (top IS NULL OR top < watermark)), watermark = top "
            "FROM (SELECT max(" +
                *rowid + ") AS top FROM " + quote_identifier(table) + ") WHERE fact_table = ?");
        raise.bind(1, table);
        raise.exec();
        db.exec(
            "CREATE TABLE IF NOT EXISTS strata_fact_watch_raises (fact_table TEXT NOT NULL, "
            "token INTEGER NOT NULL); CREATE UNIQUE INDEX IF NOT EXISTS "
            "strata_fact_watch_raises_token ON strata_fact_watch_raises (fact_table, token); "
            "CREATE INDEX IF NOT EXISTS strata_fact_watch_raises_order ON "
            "strata_fact_watch_raises (fact_table)");  // in rowid order within a table
        const int64_t raised = new_raise_token(db, table);
        SQLite::Statement remember(
            db, "INSERT INTO strata_fact_watch_raises (fact_table, token) VALUES (?, ?)");
        remember.bind(1, table);
        remember.bind(2, raised);
        remember.exec();
        // The oldest raises are forgotten: a state kept that long ago makes a full run.
        SQLite::Statement forget(
            db,
            "DELETE FROM strata_fact_watch_raises WHERE fact_table = ?1 AND rowid <= (SELECT "
            "rowid FROM strata_fact_watch_raises WHERE fact_table = ?1 ORDER BY rowid DESC "
            "LIMIT 1 OFFSET ?2)");
        forget.bind(1, table);
        forget.bind(2, kRaisesRemembered);
        forget.exec();
        tx.commit();
        token = raised;
    } catch (const SQLite::Exception& e) {
        error = "cannot watch table '" + table + "' in '" + path + "' for changes: " + e.what();
        return false;
    }
    return true;
}

}  // namespace strata
