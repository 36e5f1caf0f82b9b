// What writing a day's moves costs in SQLite: the floor under an incremental run (issue 12,
// docs/performance.md). Not run by the tests.
//
//   strata_stay_writes [--customers 1000000] [--every 22] [--folder /tmp]
//
// In a state file of its own it stores, as a first run would, an open general stay for every
// customer and an open tactical stay for seven in ten, with strata's own StayWriter. Then
// every `every`-th customer moves: its general stay and its tactical stay (if any) close and
// two new ones open, written by the StayWriter as a run writes them: the customer's row of open
// stays updated in place, the closed stays appended (engine/stays.hpp). Timed as a run's writer
// spends it (the commit apart).
//
// Beside it, the same moves by hand in raw SQLite, with the tactical stays as a one-byte blob:
// what a layout where a move is one write could cost at best.
//
// Prints one JSON object.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "engine/value_pool.hpp"

using namespace strata;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Timing {
    size_t moved = 0;
    size_t rows = 0;    // stay rows written (closed and opened), or rows updated and appended
    double write = 0;   // seconds, before the commit
    double commit = 0;  // seconds
};

// The state's layout, through the engine's StayWriter.
Timing stays_layout(const std::string& path, size_t customers, size_t every) {
    std::remove(path.c_str());
    StoreError error;
    auto state = open_state(path, error);
    if (!state) {
        std::fprintf(stderr, "strata_stay_writes: %s\n", error.message.c_str());
        std::exit(2);
    }
    const Str general[2] = {intern("loyal"), intern("lost")};
    const Str tactical[2] = {intern("loyal/card"), intern("lost/opted_out")};
    {
        SQLite::Transaction tx(*state);
        StayWriter first(*state, "bench", 1);
        StayChanges changes;
        for (size_t c = 1; c <= customers; ++c) {
            const Value key{static_cast<int64_t>(c)};
            changes.opened.push_back({key, general[0], 0});
            StayChanges::Placed& p = changes.placed.emplace_back();
            p.key = key;
            p.general = general[0];
            if (c % 10 < 7) {
                changes.opened.push_back({key, tactical[0], 1});
                p.tactical.push_back({tactical[0], 1, 0});
            }
        }
        first.write(changes);
        tx.commit();
    }
    Timing t;
    SQLite::Transaction tx(*state);
    StayWriter second(*state, "bench", 2);
    StayChanges changes;
    for (size_t c = 1; c <= customers; c += every) {
        const Value key{static_cast<int64_t>(c)};
        changes.closed.push_back({key, general[0], 0, 1});
        changes.opened.push_back({key, general[1], 0});
        StayChanges::Placed& p = changes.placed.emplace_back();
        p.key = key;
        p.general = general[1];
        p.existed = true;
        p.general_before = general[0];
        p.general_since_before = 1;
        if (c % 10 < 7) {
            changes.closed.push_back({key, tactical[0], 1, 1});
            changes.opened.push_back({key, tactical[1], 1});
            p.tactical.push_back({tactical[1], 1, 0});
        }
        ++t.moved;
    }
    t.rows = changes.placed.size() + changes.closed.size();  // rows updated, stays appended
    const auto start = std::chrono::steady_clock::now();
    second.write(changes);
    t.write = seconds_since(start);
    const auto committing = std::chrono::steady_clock::now();
    tx.commit();
    t.commit = seconds_since(committing);
    return t;
}

void exec(sqlite3* db, const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::fprintf(stderr, "strata_stay_writes: %s\n", message ? message : "SQLite error");
        std::exit(2);
    }
}

// One row per customer, updated in place; closed stays appended in run order.
Timing one_row_layout(const std::string& path, size_t customers, size_t every) {
    std::remove(path.c_str());
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) std::exit(2);
    exec(db,
         "CREATE TABLE open_placements (customer_key INTEGER PRIMARY KEY, general INTEGER, "
         "general_since INTEGER, tactical BLOB);"
         "CREATE TABLE closed_stays (exited_run INTEGER, customer_key, level INTEGER, segment "
         "INTEGER, entered_run INTEGER, PRIMARY KEY (exited_run, customer_key, level, segment, "
         "entered_run)) WITHOUT ROWID;");
    const unsigned char codes[2] = {3, 4};  // a customer's open tactical codes
    exec(db, "BEGIN");
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO open_placements VALUES (?, 1, 1, ?)", -1, &insert, nullptr);
    for (size_t c = 1; c <= customers; ++c) {
        sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(c));
        sqlite3_bind_blob(insert, 2, codes, c % 10 < 7 ? 1 : 0, SQLITE_STATIC);
        sqlite3_step(insert);
        sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    exec(db, "COMMIT");

    Timing t;
    const auto start = std::chrono::steady_clock::now();
    exec(db, "BEGIN");
    sqlite3_stmt* update = nullptr;
    sqlite3_prepare_v2(db,
                       "UPDATE open_placements SET general = 2, general_since = 2, tactical = ? "
                       "WHERE customer_key = ?",
                       -1, &update, nullptr);
    std::vector<std::array<int64_t, 3>> closed;  // (customer, level, segment)
    for (size_t c = 1; c <= customers; c += every) {
        const bool has_tactical = c % 10 < 7;
        sqlite3_bind_blob(update, 1, codes + 1, has_tactical ? 1 : 0, SQLITE_STATIC);
        sqlite3_bind_int64(update, 2, static_cast<sqlite3_int64>(c));
        sqlite3_step(update);
        sqlite3_reset(update);
        ++t.rows;
        closed.push_back({static_cast<int64_t>(c), 0, 1});
        if (has_tactical) closed.push_back({static_cast<int64_t>(c), 1, 3});
        ++t.moved;
    }
    // The closed stays appended kBatch rows to a statement, as the StayWriter inserts.
    constexpr size_t kBatch = 512;
    auto insert_of = [db](size_t rows) {
        std::string sql = "INSERT INTO closed_stays VALUES ";
        for (size_t i = 0; i < rows; ++i)
            sql += i ? ",(2,?,?,?,1)" : "(2,?,?,?,1)";
        sqlite3_stmt* stmt = nullptr;
        sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
        return stmt;
    };
    sqlite3_stmt* full = insert_of(kBatch);
    for (size_t done = 0; done < closed.size();) {
        const size_t rows = std::min(kBatch, closed.size() - done);
        sqlite3_stmt* stmt = rows == kBatch ? full : insert_of(rows);
        for (size_t i = 0; i < rows; ++i)
            for (int p = 0; p < 3; ++p)
                sqlite3_bind_int64(stmt, static_cast<int>(i * 3) + p + 1, closed[done + i][p]);
        sqlite3_step(stmt);
        if (stmt == full)
            sqlite3_reset(stmt);
        else
            sqlite3_finalize(stmt);
        done += rows;
    }
    sqlite3_finalize(full);
    t.rows += closed.size();
    sqlite3_finalize(update);
    t.write = seconds_since(start);
    const auto committing = std::chrono::steady_clock::now();
    exec(db, "COMMIT");
    t.commit = seconds_since(committing);
    sqlite3_close(db);
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    size_t customers = 1'000'000;
    size_t every = 22;
    std::string folder = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--customers"))
            customers = std::strtoull(argv[i + 1], nullptr, 10);
        else if (!std::strcmp(argv[i], "--every"))
            every = std::max<size_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
        else if (!std::strcmp(argv[i], "--folder"))
            folder = argv[i + 1];
    }
    ValuePool pool;
    ValuePoolScope scope(pool);
    const std::string base = folder + "/strata-stay-writes-" + std::to_string(getpid());
    const Timing stays = stays_layout(base + "-stays.db", customers, every);
    const Timing one_row = one_row_layout(base + "-one-row.db", customers, every);
    std::remove((base + "-stays.db").c_str());
    std::remove((base + "-one-row.db").c_str());
    std::printf(
        "{\"customers\": %zu, \"moved\": %zu, \"stays\": {\"rows\": %zu, \"write_s\": %.4f, "
        "\"commit_s\": %.4f}, \"one_row_per_customer\": {\"rows\": %zu, \"write_s\": %.4f, "
        "\"commit_s\": %.4f}}\n",
        customers, stays.moved, stays.rows, stays.write, stays.commit, one_row.rows, one_row.write,
        one_row.commit);
    return 0;
}
