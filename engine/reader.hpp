// Reading the customer store: the customer table in one sequential scan of the columns the
// rules use, and fact tables as streams of chunks. Values convert to the types the binder
// chose; what does not convert becomes null and is counted, never fatal.
#pragma once

#include <SQLiteCpp/Database.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/program.hpp"

namespace strata {

struct DataQuality {
    struct Unconvertible {
        std::string table;
        std::string column;
        Type type;
        size_t count = 0;
        std::string sample;  // the first value that did not convert
    };
    // One finding per column and the type it is read as (two facts may read a column as two
    // types), ordered by table, column, then type.
    std::vector<Unconvertible> unconvertible;
    size_t null_keys = 0;       // customer rows without a key (null, empty or blank): left out
    size_t duplicate_keys = 0;  // customer rows whose key repeats an earlier row: left out
    std::vector<std::string> duplicate_samples;
    std::map<std::string, size_t> orphan_fact_rows;  // facts whose key matches no customer
    // Of those, the rows without a key (null or blank), which no customer can ever own. Not
    // reported apart: an incremental run needs it (engine/incremental.hpp).
    std::map<std::string, size_t> keyless_fact_rows;
    std::map<std::string, size_t> future_fact_rows;  // after as_of: left out by design
    size_t customers_after_as_of = 0;  // source.since after as_of: not customers yet, left out
    // Fact rows of those customers: left out with them, not orphans (not problems either).
    std::map<std::string, size_t> left_out_fact_rows;
    // Facts whose time is null or did not convert: not known to be on or before as_of, so
    // left out of every aggregate. A finding: the data should say when they happened.
    std::map<std::string, size_t> unknown_time_fact_rows;

    // Problems in the data (future facts are not problems).
    size_t findings() const;
};

// Customer key → row. Keys are integers or text; a text that spells an integer exactly as
// it prints ('5', '-12'; not '05', ' 5' or '5.0') finds the integer key, and an integer finds
// a text key spelled so, so a fact table with TEXT keys still joins INTEGER customer keys.
class KeyIndex {
  public:
    // Indexes keys[row] → row. Rows whose key repeats an earlier row's are not indexed;
    // they are returned, in row order. Integer keys that are dense enough (a span of at most
    // four times their number) get a direct lookup table instead of hashing.
    std::vector<uint32_t> build(const Column& keys);
    // The row of a key, or -1.
    int64_t find_integer(int64_t key) const {
        if (!dense_.empty()) {
            const uint64_t at = static_cast<uint64_t>(key) - static_cast<uint64_t>(dense_base_);
            if (at < dense_.size() && dense_[at] >= 0) return dense_[at];
            if (texts_.empty()) return -1;
        }
        return find_integer_hashed(key);
    }
    int64_t find_text(const std::string& key) const;
    // The customers a run leaves out (source.since after as_of), by key: a fact row that no
    // indexed customer owns but one of these does is theirs, not an orphan. Null when none.
    void set_left_out(const Column& keys);
    const KeyIndex* left_out() const { return left_out_.get(); }

  private:
    int64_t find_integer_hashed(int64_t key) const;
    std::unordered_map<int64_t, uint32_t> integers_;
    std::unordered_map<std::string, uint32_t> texts_;
    std::vector<int32_t> dense_;  // row per key - dense_base_, -1 for none
    int64_t dense_base_ = 0;
    std::shared_ptr<const KeyIndex> left_out_;
};

using ProgressFn = std::function<void(const std::string& what, size_t rows)>;

// Reads the key and every Program column of the customer table. Rows with a null or a
// repeated key are left out and counted; of rows sharing a key, the first in table order
// stays. With several connections (to the same file) the table is read in as many rowid
// ranges side by side; the result is the same as one scan's. Throws SQLite::Exception on
// database errors.
CustomerTable read_customers(const std::vector<SQLite::Database*>& connections,
                             const std::string& table, const std::string& key,
                             const bound::Program& program, KeyIndex& index, DataQuality& dq,
                             const ProgressFn& progress);

// A slice of a table by rowid: the rows whose rowid is in [lo, hi], both included (so that
// either end of the 64-bit range can be read); none when lo > hi. The whole table when
// `column` is empty.
struct RowRange {
    std::string column;  // how the rowid is spelled in SQL (rowid, _rowid_ or oid), or empty
    int64_t lo = 0;
    int64_t hi = 0;
};

// Splits `table` into at most `parts` rowid ranges of about equal span, so that separate
// connections can scan it side by side. One whole-table range when the table has no usable
// rowid (a view, a WITHOUT ROWID table, every rowid alias taken by a column) or is empty.
// The split depends only on the data, never on the machine. Throws SQLite::Exception.
// With `after`, only the rows whose rowid is above it, split so (one empty range when there
// are none); that needs a rowid (SQLite::Exception otherwise).
// With `upto`, only the rows whose rowid is at most that (the same).
std::vector<RowRange> split_by_rowid(SQLite::Database& db, const std::string& table, size_t parts,
                                     std::optional<int64_t> after = std::nullopt,
                                     std::optional<int64_t> upto = std::nullopt);

// How the rowid of `table` is spelled in SQL (rowid, _rowid_ or oid: the first no column has
// taken), or nullopt when it has none (a view, a WITHOUT ROWID table, no such table).
std::optional<std::string> rowid_alias(SQLite::Database& db, const std::string& table);

// Keeps the customer rows whose `keep` is non-zero (one per row), in order, and indexes the
// keys again.
void keep_customers(CustomerTable& customers, KeyIndex& index, const std::vector<char>& keep);

// Adds what `from` found to `into`: counts add up, samples keep `into`'s first.
void merge_data_quality(DataQuality& into, const DataQuality& from);

// A fact table (or one rowid range of it) as chunks of rows, joined to customers through the
// key index. Rows whose key matches no customer are counted in `dq`, not passed on.
// Progress reports go through `progress` with the rows scanned so far by every source that
// shares `scanned`; the callback is called from the thread that calls read().
class SqliteFactSource : public FactSource {
  public:
    SqliteFactSource(SQLite::Database& db, const bound::FactUse& fact, const KeyIndex& index,
                     DataQuality& dq, ProgressFn progress, const RowRange& range = {},
                     std::shared_ptr<std::atomic<size_t>> scanned = nullptr,
                     size_t chunk_rows = 4096);
    ~SqliteFactSource() override;
    void read(const std::function<void(FactChunk&)>& consume) override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The integer a key text spells exactly as the integer prints, if it does.
std::optional<int64_t> integer_key_spelled(std::string_view text);
// A whole number stored as a fraction (5.0) as the integer key it is, if it is one.
std::optional<int64_t> whole_number_key(double x);

// Customer rows in key order (integers first, numerically, then text bytewise): the order
// every output is written in, whatever order the table was read in.
std::vector<uint32_t> key_order(const Column& keys);

}  // namespace strata
