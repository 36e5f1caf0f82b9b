// Watching a fact table for changes below an incremental run's watermark. An incremental run
// assumes facts are appended; to show that nothing at or below the watermark changed since
// the kept state was computed, the customer database gets three triggers per fact table
// (strata_watch_<table>_update, _delete and _insert) that count, in strata_fact_watch, every
// update or delete of a row at or below the watermark and every insert at or below it. The
// count is read in the same read transaction as the facts, so a run knows exactly which
// changes its state has seen. A table without the triggers (never watched, or dropped and
// made again) is not watched: the run is then a full one.
#pragma once

#include <SQLiteCpp/Database.h>

#include <optional>
#include <string>

namespace strata {

struct WatchReading {
    std::optional<int64_t> watermark;  // rows at or below it are watched; none: nothing yet
    int64_t changes = 0;
};

// The watch of `table` as `data` sees it (call inside the read transaction), or nullopt when
// the table is not watched: a trigger is missing, or names the rows by a spelling of the rowid
// that a column has taken since (raise_watch with `create` then installs the watch again).
// Throws SQLite::Exception.
std::optional<WatchReading> read_watch(SQLite::Database& data, const std::string& table);

// The definition of `table` as the database keeps it (its CREATE statement, which ALTER TABLE
// rewrites); empty when there is no such table. Throws SQLite::Exception.
std::string table_definition(SQLite::Database& data, const std::string& table);

// Before a stored run reads: raises the watch's watermark of `table` (in the customer database
// at `path`, opened read-write for this only) to the table's highest rowid now, so that every
// change to a row the run is about to read is counted from here on (or lowers it there, when
// the top rows were deleted, counting that as a change); the run then reads only up
// to that watermark (rows added meanwhile are the next run's). With `create`, a missing watch is
// installed first; a watch installed again (its table was dropped and made again) bumps the
// change count, so no state kept before can be taken for current. Returns false with `error` set
// when the table is not watched and `create` is false (error empty then), or the database
// refuses (a read-only file, a view, a lock). `before` gets the watch as it was just before
// the raise (nullopt when the table was not watched): a kept state read further than that
// watermark was read from another copy of the database. Waits up to `wait_ms` for a writer.
// Each raise is remembered in strata_fact_watch_raises under a random `token` (set when the
// raise succeeds), which the run keeps: a copy of the database restored from before the raise
// does not know it, even after other runs raised the watch again (watch_remembers).
bool raise_watch(const std::string& path, const std::string& table, bool create,
                 std::optional<WatchReading>& before, int64_t& token, std::string& error,
                 int wait_ms = 5000);

// How many raises of each table strata_fact_watch_raises remembers: a ruleset whose last
// stored run is older than that many raises of the table makes a full run.
inline constexpr int64_t kRaisesRemembered = 10000;

// Whether the watch of `table` remembers the raise `token` (raise_watch). Throws
// SQLite::Exception.
bool watch_remembers(SQLite::Database& data, const std::string& table, int64_t token);

}  // namespace strata
