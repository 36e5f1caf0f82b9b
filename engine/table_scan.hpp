// Scanning a SQLite table fast, for engine/reader.cpp: a raw prepared statement, and a scan
// that has SQLite hand each row's cells to a callback inside one sqlite3_step(). Internal to
// engine/.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <atomic>
#include <exception>
#include <string>
#include <type_traits>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/reader.hpp"
#include "engine/store.hpp"

namespace strata {

// key, columns…: quoted, for a select list or a function's arguments.
inline std::string column_list(const std::string& key,
                               const std::vector<bound::ColumnUse>& columns) {
    std::string list = quote_identifier(key);
    for (const auto& c : columns)
        list += ", " + quote_identifier(c.name);
    return list;
}

inline constexpr size_t kProgressEvery = 1 << 20;

// A prepared statement on the raw C API: the scans read cells directly, without a wrapper
// object per cell. Errors become SQLite::Exception, like the rest of SQLiteCpp.
class RawStatement {
  public:
    RawStatement(SQLite::Database& db, const std::string& sql) : db_(db.getHandle()) {
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
            throw SQLite::Exception(db_, sqlite3_errcode(db_));
        }
    }
    ~RawStatement() { sqlite3_finalize(stmt_); }
    RawStatement(const RawStatement&) = delete;
    RawStatement& operator=(const RawStatement&) = delete;

    // Steps to the next row; false at the end.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw SQLite::Exception(db_, rc);
    }
    sqlite3_stmt* get() const { return stmt_; }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement and clears its bindings when it goes out of scope, however the read
// ends: a statement left part-way would keep its connection's read transaction (and its lock)
// open after the caller's COMMIT.
struct ResetAfter {
    sqlite3_stmt* stmt;
    ~ResetAfter() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    }
};

// The rows of one scan reach strata through an application-defined aggregate function,
// `strata_rows(key, columns…)`: SQLite then reads a whole range inside one sqlite3_step() and
// hands each row's cells to `row`, instead of returning to the caller once per row. That
// halves SQLite's cost per row. The function exists only while its scan runs.
struct RowSink {
    void (*row)(void* context, sqlite3_value** cells);
    void* context;
    std::exception_ptr error;  // what `row` threw; the scan stops and rethrows it
};

inline void row_sink_step(sqlite3_context* ctx, int, sqlite3_value** cells) {
    auto* sink = static_cast<RowSink*>(sqlite3_user_data(ctx));
    try {
        sink->row(sink->context, cells);
    } catch (...) {
        sink->error = std::current_exception();
        sqlite3_result_error(ctx, "strata stopped reading", -1);
    }
}

inline void row_sink_final(sqlite3_context* ctx) {
    sqlite3_result_null(ctx);
}

// Scans SELECT key, columns… FROM table over one rowid range (the whole table when the range
// names no rowid column) and calls `row` with each row's cells, key first, in table order.
// The cells are valid only during the call. Tables read through more columns than SQLite
// lets a function take are stepped row by row instead, with the same result. Throws
// SQLite::Exception on database errors, and what `row` throws.
template <class RowFn>
void scan_rows(SQLite::Database& db, const std::string& table, const std::string& key,
               const std::vector<bound::ColumnUse>& columns, const RowRange& range, RowFn&& row) {
    const std::string where =
        range.column.empty() ? ""
                             : " WHERE " + range.column + " >= ? AND " + range.column + " <= ?";
    const int cells = static_cast<int>(columns.size()) + 1;
    sqlite3* handle = db.getHandle();
    auto bind_range = [&](sqlite3_stmt* stmt) {
        if (range.column.empty()) return;
        sqlite3_bind_int64(stmt, 1, range.lo);
        sqlite3_bind_int64(stmt, 2, range.hi);
    };
    if (cells > sqlite3_limit(handle, SQLITE_LIMIT_FUNCTION_ARG, -1)) {
        RawStatement stmt(
            db, "SELECT " + column_list(key, columns) + " FROM " + quote_identifier(table) + where);
        bind_range(stmt.get());
        std::vector<sqlite3_value*> values(static_cast<size_t>(cells));
        while (stmt.step()) {
            for (int c = 0; c < cells; ++c)
                values[static_cast<size_t>(c)] = sqlite3_column_value(stmt.get(), c);
            row(values.data());
        }
        return;
    }
    RowSink sink{[](void* context, sqlite3_value** values) {
                     (*static_cast<std::remove_reference_t<RowFn>*>(context))(values);
                 },
                 &row, nullptr};
    if (sqlite3_create_function_v2(handle, "strata_rows", cells, SQLITE_UTF8, &sink, nullptr,
                                   row_sink_step, row_sink_final, nullptr) != SQLITE_OK)
        throw SQLite::Exception(handle, sqlite3_errcode(handle));
    struct Unregister {
        sqlite3* handle;
        int cells;
        ~Unregister() {
            sqlite3_create_function_v2(handle, "strata_rows", cells, SQLITE_UTF8, nullptr, nullptr,
                                       nullptr, nullptr, nullptr);
        }
    } unregister{handle, cells};
    RawStatement stmt(db, "SELECT strata_rows(" + column_list(key, columns) + ") FROM " +
                              quote_identifier(table) + where);
    bind_range(stmt.get());
    try {
        while (stmt.step()) {
        }
    } catch (const SQLite::Exception&) {
        if (sink.error) std::rethrow_exception(sink.error);
        throw;
    }
}

// Rows scanned, added to a total shared by every range of a table and reported each time
// the total passes a multiple of kProgressEvery (and once at the end).
class ScanProgress {
  public:
    ScanProgress(const ProgressFn& progress, std::string what, std::atomic<size_t>& total)
        : progress_(progress), what_(std::move(what)), total_(total) {}

    void row() {
        if (++unreported_ == 4096) flush(false);
    }
    void flush(bool final) {
        const size_t before = total_.fetch_add(unreported_);
        const size_t now = before + unreported_;
        unreported_ = 0;
        if (progress_ && (final || now / kProgressEvery != before / kProgressEvery))
            progress_(what_, now);
    }

  private:
    const ProgressFn& progress_;
    std::string what_;
    std::atomic<size_t>& total_;
    size_t unreported_ = 0;
};

}  // namespace strata
