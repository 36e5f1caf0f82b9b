#include "engine/reader.hpp"

#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <exception>
#include <type_traits>

#include "engine/cell_readers.hpp"
#include "engine/parallel.hpp"
#include "engine/store.hpp"
#include "engine/table_scan.hpp"

namespace strata {

size_t DataQuality::findings() const {
    size_t n = null_keys + duplicate_keys;
    for (const auto& u : unconvertible)
        n += u.count;
    for (const auto& [fact, count] : orphan_fact_rows)
        n += count;
    for (const auto& [fact, count] : unknown_time_fact_rows)
        n += count;
    return n;
}

std::vector<uint32_t> KeyIndex::build(const Column& keys) {
    std::vector<uint32_t> repeated;
    integers_.clear();
    texts_.clear();
    dense_.clear();
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool all_integers = !keys.empty() && keys.size() < (size_t{1} << 30);
    for (const Value& k : keys) {
        const auto* i = std::get_if<int64_t>(&k);
        if (!i) {
            all_integers = false;
            break;
        }
        lo = std::min(lo, *i);
        hi = std::max(hi, *i);
    }
    if (all_integers) {
        // hi - lo fits in 64 bits whatever the keys; the span (one more) may not, so the
        // test is on hi - lo (INT64_MIN and INT64_MAX together span 2^64).
        const uint64_t width = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
        if (width < 4 * static_cast<uint64_t>(keys.size())) {
            const uint64_t span = width + 1;
            dense_.assign(span, -1);
            dense_base_ = lo;
            for (uint32_t row = 0; row < keys.size(); ++row) {
                int32_t& slot = dense_[static_cast<uint64_t>(*std::get_if<int64_t>(&keys[row])) -
                                       static_cast<uint64_t>(lo)];
                if (slot >= 0)
                    repeated.push_back(row);
                else
                    slot = static_cast<int32_t>(row);
            }
            return repeated;
        }
    }
    for (uint32_t row = 0; row < keys.size(); ++row) {
        const Value& k = keys[row];
        const bool added = std::holds_alternative<int64_t>(k)
                               ? integers_.emplace(std::get<int64_t>(k), row).second
                               : texts_.emplace(std::get<Str>(k).str(), row).second;
        if (!added) repeated.push_back(row);
    }
    return repeated;
}

int64_t KeyIndex::find_integer_hashed(int64_t key) const {
    auto it = integers_.find(key);
    if (it != integers_.end()) return it->second;
    if (!texts_.empty()) {
        auto t = texts_.find(std::to_string(key));
        if (t != texts_.end()) return t->second;
    }
    return -1;
}

std::optional<int64_t> integer_key_spelled(std::string_view text) {
    // Exactly as the integer prints: an optional '-', digits, no leading zero, no spaces.
    const size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
    if (text.size() == digits || text.size() > digits + 19) return std::nullopt;
    if (text[digits] == '0' && text.size() > digits + 1) return std::nullopt;
    if (text == "-0") return std::nullopt;
    int64_t value = 0;
    for (size_t i = digits; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        const int d = text[i] - '0';
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, digits ? -d : d, &value))
            return std::nullopt;
    }
    return value;
}

std::optional<int64_t> whole_number_key(double x) {
    // Whole numbers below 2^63 in magnitude; -2^63 itself is a double exactly, and fits.
    if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0) || std::floor(x) != x)
        return std::nullopt;
    return static_cast<int64_t>(x);
}

int64_t KeyIndex::find_text(const std::string& key) const {
    auto it = texts_.find(key);
    if (it != texts_.end()) return it->second;
    if (!integers_.empty() || !dense_.empty()) {
        if (auto i = integer_key_spelled(key)) return find_integer(*i);
    }
    return -1;
}

void KeyIndex::set_left_out(const Column& keys) {
    if (keys.empty()) {
        left_out_.reset();
        return;
    }
    auto index = std::make_shared<KeyIndex>();
    index->build(keys);
    left_out_ = std::move(index);
}

namespace {

// One rowid range of the customer table, as read: rows with a null key are already left out.
struct CustomerPart {
    Column keys;
    std::vector<Column> columns;
    DataQuality dq;
};

// `room`: rows to make room for up front (a guess; 0 for none).
void read_customer_part(SQLite::Database& db, const std::string& table, const std::string& key,
                        const bound::Program& program, const RowRange& range, size_t room,
                        CustomerPart& out, const ProgressFn& progress,
                        std::atomic<size_t>& scanned) {
    ConversionLog log(out.dq, table);
    ScanProgress report(progress, "customers", scanned);
    // Columns from the stored state are not in the table: they read as null here, and the
    // run fills them in.
    std::vector<bound::ColumnUse> from_table;
    std::vector<size_t> slot_of;  // per column read: its slot among the program's columns
    for (size_t c = 0; c < program.columns.size(); ++c) {
        if (program.columns[c].source != bound::ColumnSource::Table) continue;
        from_table.push_back(program.columns[c]);
        slot_of.push_back(c);
    }
    const std::vector<CellReader> readers = readers_for(from_table);
    out.columns.resize(program.columns.size());
    out.keys.reserve(room);
    for (auto& c : out.columns)
        c.reserve(room);
    const bool all_from_table = from_table.size() == program.columns.size();
    scan_rows(db, table, key, from_table, range, [&](sqlite3_value** cells) {
        report.row();
        const Value k = customer_key_of_cell(cells[0]);
        if (is_null(k)) {
            ++out.dq.null_keys;
            return;
        }
        out.keys.push_back(k);
        if (!all_from_table) {
            for (auto& column : out.columns)
                column.emplace_back();
        }
        for (size_t c = 0; c < from_table.size(); ++c) {
            Value& v =
                all_from_table ? out.columns[c].emplace_back() : out.columns[slot_of[c]].back();
            if (!readers[c](cells[c + 1], v))
                log.bad(from_table[c].name, from_table[c].type, cells[c + 1]);
        }
    });
    report.flush(true);
}

// Drops the given rows (ascending) from every column.
void drop_rows(CustomerTable& t, const std::vector<uint32_t>& rows) {
    auto compact = [&rows](Column& c) {
        size_t out = 0, next = 0;
        for (size_t i = 0; i < c.size(); ++i) {
            if (next < rows.size() && rows[next] == i) {
                ++next;
                continue;
            }
            c[out++] = c[i];
        }
        c.resize(out);
    };
    compact(t.keys);
    for (auto& c : t.columns)
        compact(c);
    t.rows = t.keys.size();
}

}  // namespace

CustomerTable read_customers(const std::vector<SQLite::Database*>& connections,
                             const std::string& table, const std::string& key,
                             const bound::Program& program, KeyIndex& index, DataQuality& dq,
                             const ProgressFn& progress) {
    const std::vector<RowRange> ranges =
        split_by_rowid(*connections.at(0), table, connections.size());
    std::vector<CustomerPart> parts(ranges.size());
    std::atomic<size_t> scanned{0};
    // A rowid range holds at most as many rows as its span; the first part makes room for
    // every part's rows, so the others are appended to it without moving it. (Rowids far
    // apart make no room: the columns then grow as they are read.)
    constexpr uint64_t kMostRoom = uint64_t{1} << 25;
    auto span = [](const RowRange& r) -> uint64_t {
        return r.column.empty() || r.hi < r.lo
                   ? 0
                   : static_cast<uint64_t>(r.hi) - static_cast<uint64_t>(r.lo) + 1;
    };
    uint64_t room = 0;
    for (const RowRange& r : ranges)
        room += span(r);
    if (room > kMostRoom) room = 0;
    auto read_part = [&](size_t p) {
        read_customer_part(*connections[p], table, key, program, ranges[p],
                           room == 0 ? 0 : (p == 0 ? room : span(ranges[p])), parts[p], progress,
                           scanned);
    };
    for_each_on_own_thread(parts.size(), read_part);

    CustomerTable out;
    out.keys = std::move(parts[0].keys);
    out.columns = std::move(parts[0].columns);
    for (size_t p = 1; p < parts.size(); ++p) {
        out.keys.insert(out.keys.end(), parts[p].keys.begin(), parts[p].keys.end());
        for (size_t c = 0; c < out.columns.size(); ++c)
            out.columns[c].insert(out.columns[c].end(), parts[p].columns[c].begin(),
                                  parts[p].columns[c].end());
    }
    out.rows = out.keys.size();
    for (const auto& part : parts)
        merge_data_quality(dq, part.dq);

    std::vector<uint32_t> repeated = index.build(out.keys);
    if (!repeated.empty()) {
        dq.duplicate_keys += repeated.size();
        for (size_t i = 0; i < repeated.size() && dq.duplicate_samples.size() < 5; ++i)
            dq.duplicate_samples.push_back(format_value(out.keys[repeated[i]]));
        drop_rows(out, repeated);
        index.build(out.keys);
    }
    return out;
}

void keep_customers(CustomerTable& customers, KeyIndex& index, const std::vector<char>& keep) {
    std::vector<uint32_t> dropped;
    for (uint32_t row = 0; row < customers.rows; ++row) {
        if (!keep[row]) dropped.push_back(row);
    }
    if (dropped.empty()) return;
    drop_rows(customers, dropped);
    index.build(customers.keys);
}

std::optional<std::string> rowid_alias(SQLite::Database& db, const std::string& table) {
    {
        // Views may answer to `rowid` in recent SQLite, but it is no stable row identity.
        RawStatement kind(
            db,
            "SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE AND type IN "
            "('table', 'view')");
        sqlite3_bind_text(kind.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
        if (!kind.step()) return std::nullopt;
        if (std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(kind.get(), 0))) !=
            "table")
            return std::nullopt;
    }
    // The rowid's spellings that no column of the table has taken.
    std::vector<std::string> taken;
    {
        RawStatement info(db, "SELECT name FROM pragma_table_info(?)");
        sqlite3_bind_text(info.get(), 1, table.c_str(), -1, SQLITE_TRANSIENT);
        while (info.step()) {
            std::string name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0));
            for (char& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            taken.push_back(std::move(name));
        }
    }
    if (taken.empty()) return std::nullopt;  // not a table (or no such table)
    for (const char* candidate : {"rowid", "_rowid_", "oid"}) {
        if (std::find(taken.begin(), taken.end(), candidate) == taken.end()) {
            try {  // a WITHOUT ROWID table or a view has none under any name
                RawStatement probe(db, std::string("SELECT ") + candidate + " FROM " +
                                           quote_identifier(table) + " LIMIT 0");
            } catch (const SQLite::Exception&) {
                return std::nullopt;
            }
            return std::string(candidate);
        }
    }
    return std::nullopt;
}

std::vector<RowRange> split_by_rowid(SQLite::Database& db, const std::string& table, size_t parts,
                                     std::optional<int64_t> after, std::optional<int64_t> upto) {
    std::vector<RowRange> whole(1);
    const bool bounded = after || upto;
    if (parts < 2 && !bounded) return whole;
    const std::optional<std::string> found = rowid_alias(db, table);
    if (!found) {
        if (bounded) throw SQLite::Exception("table '" + table + "' has no rowid");
        return whole;
    }
    const std::string& alias = *found;
    int64_t lo = 0, hi = 0;
    try {
        // Two queries: SQLite answers a lone min() or max() of the rowid from the b-tree's
        // ends, but scans the whole table for both at once.
        for (auto [fn, out] : {std::pair{"min", &lo}, std::pair{"max", &hi}}) {
            RawStatement bound(db, std::string("SELECT ") + fn + "(" + alias + ") FROM " +
                                       quote_identifier(table));
            if (!bound.step() || sqlite3_column_type(bound.get(), 0) == SQLITE_NULL) {
                if (bounded) return {RowRange{alias, 1, 0}};  // empty: nothing to read
                return whole;
            }
            *out = sqlite3_column_int64(bound.get(), 0);
        }
    } catch (const SQLite::Exception&) {
        if (bounded) throw;
        return whole;  // a view or a WITHOUT ROWID table: no rowid to split on
    }
    if (bounded) {
        // Only the rows in [after + 1, upto], split as below.
        if (after && *after == INT64_MAX) return {RowRange{alias, 1, 0}};  // nothing above it
        if (after) lo = std::max(lo, *after + 1);
        if (upto) hi = std::min(hi, *upto);
        if (hi < lo) return {RowRange{alias, 1, 0}};
        if (parts < 2) return {RowRange{alias, lo, hi}};
    }
    std::vector<RowRange> out;
    const __int128 span = static_cast<__int128>(hi) - lo + 1;
    __int128 first = lo;  // ranges are [first, last]; __int128, so that hi + 1 does not overflow
    for (size_t k = 1; k <= parts; ++k) {
        const __int128 last =
            k == parts ? hi
                       : static_cast<__int128>(lo) - 1 +
                             span * static_cast<__int128>(k) / static_cast<__int128>(parts);
        if (last < first) continue;
        out.push_back({alias, static_cast<int64_t>(first), static_cast<int64_t>(last)});
        first = last + 1;
    }
    return out.empty() ? whole : out;
}

void merge_data_quality(DataQuality& into, const DataQuality& from) {
    for (const auto& u : from.unconvertible) {
        auto same =
            std::find_if(into.unconvertible.begin(), into.unconvertible.end(), [&u](const auto& x) {
                return x.table == u.table && x.column == u.column && x.type == u.type;
            });
        if (same != into.unconvertible.end())
            same->count += u.count;
        else
            into.unconvertible.push_back(u);
    }
    sort_unconvertible(into.unconvertible);
    into.null_keys += from.null_keys;
    into.duplicate_keys += from.duplicate_keys;
    into.customers_after_as_of += from.customers_after_as_of;
    for (const auto& [fact, n] : from.left_out_fact_rows)
        into.left_out_fact_rows[fact] += n;
    for (const auto& s : from.duplicate_samples) {
        if (into.duplicate_samples.size() < 5) into.duplicate_samples.push_back(s);
    }
    for (const auto& [fact, n] : from.orphan_fact_rows)
        into.orphan_fact_rows[fact] += n;
    for (const auto& [fact, n] : from.keyless_fact_rows)
        into.keyless_fact_rows[fact] += n;
    for (const auto& [fact, n] : from.future_fact_rows)
        into.future_fact_rows[fact] += n;
    for (const auto& [fact, n] : from.unknown_time_fact_rows)
        into.unknown_time_fact_rows[fact] += n;
}

// Aligned apart: the sources of one table are made one after another and then read on two
// threads, and a row's bookkeeping written next to another thread's would bounce the line
// between the cores (it cost a third of the scan).
struct alignas(128) SqliteFactSource::Impl {
    SQLite::Database& db;
    const bound::FactUse& fact;
    const KeyIndex& index;
    DataQuality& dq;
    ProgressFn progress;
    RowRange range;
    size_t chunk_rows;
    ConversionLog log;
    std::shared_ptr<std::atomic<size_t>> scanned;  // shared with the table's other ranges
    ScanProgress report;

    Impl(SQLite::Database& database, const bound::FactUse& f, const KeyIndex& i, DataQuality& d,
         ProgressFn p, const RowRange& r, std::shared_ptr<std::atomic<size_t>> counter, size_t n)
        : db(database),
          fact(f),
          index(i),
          dq(d),
          progress(std::move(p)),
          range(r),
          chunk_rows(n),
          log(d, f.table),
          scanned(counter ? std::move(counter) : std::make_shared<std::atomic<size_t>>(0)),
          report(progress, f.table, *scanned) {}

    // The customer row of a fact's key cell, or -1.
    int64_t owner_of(sqlite3_value* key) const { return key_owner(index, key); }
};

SqliteFactSource::SqliteFactSource(SQLite::Database& db, const bound::FactUse& fact,
                                   const KeyIndex& index, DataQuality& dq, ProgressFn progress,
                                   const RowRange& range,
                                   std::shared_ptr<std::atomic<size_t>> scanned, size_t chunk_rows)
    : impl_(std::make_unique<Impl>(db, fact, index, dq, std::move(progress), range,
                                   std::move(scanned), chunk_rows)) {}

SqliteFactSource::~SqliteFactSource() = default;

void SqliteFactSource::read(const std::function<void(FactChunk&)>& consume) {
    Impl& s = *impl_;
    const size_t columns = s.fact.columns.size();
    FactChunk chunk;
    // Rows are written in place. A chunk that comes back from `consume` with its buffers
    // (the usual case) is refilled without allocating.
    auto empty = [&] {
        chunk.rows = 0;
        chunk.owner.resize(s.chunk_rows);
        chunk.columns.resize(columns);
        for (auto& c : chunk.columns)
            c.resize(s.chunk_rows);
    };
    empty();
    size_t orphans = 0;
    size_t keyless = 0;   // of the orphans
    size_t left_out = 0;  // rows of customers the run leaves out: not orphans
    const KeyIndex* left_out_keys = s.index.left_out();
    const std::vector<CellReader> readers = readers_for(s.fact.columns);
    scan_rows(s.db, s.fact.table, s.fact.key, s.fact.columns, s.range, [&](sqlite3_value** cells) {
        s.report.row();
        const int64_t owner = s.owner_of(cells[0]);
        if (owner < 0) {
            if (left_out_keys && key_owner(*left_out_keys, cells[0]) >= 0) {
                ++left_out;
                return;
            }
            ++orphans;
            const int type = sqlite3_value_type(cells[0]);
            if (type == SQLITE_NULL || (type != SQLITE_INTEGER && type != SQLITE_FLOAT &&
                                        text::is_blank(cell_text(cells[0]))))
                ++keyless;  // as customer_key_of_cell finds no key, without keeping the text
            return;
        }
        const size_t at = chunk.rows;
        chunk.owner[at] = owner;
        for (size_t c = 0; c < columns; ++c) {
            if (!readers[c](cells[c + 1], chunk.columns[c][at]))
                s.log.bad(s.fact.columns[c].name, s.fact.columns[c].type, cells[c + 1]);
        }
        if (++chunk.rows == s.chunk_rows) {
            consume(chunk);
            empty();
        }
    });
    if (orphans > 0) s.dq.orphan_fact_rows[s.fact.name] += orphans;
    if (keyless > 0) s.dq.keyless_fact_rows[s.fact.name] += keyless;
    if (left_out > 0) s.dq.left_out_fact_rows[s.fact.name] += left_out;
    s.report.flush(true);
    if (chunk.rows == 0) return;
    // The last chunk ends where its rows do.
    chunk.owner.resize(chunk.rows);
    for (auto& c : chunk.columns)
        c.resize(chunk.rows);
    consume(chunk);
}

std::vector<uint32_t> key_order(const Column& keys) {
    std::vector<uint32_t> order(keys.size());
    for (uint32_t i = 0; i < order.size(); ++i)
        order[i] = i;
    // All-integer keys (the usual case) sort on the integers themselves.
    if (std::all_of(keys.begin(), keys.end(),
                    [](const Value& k) { return std::holds_alternative<int64_t>(k); })) {
        // Tables keyed by an INTEGER PRIMARY KEY come out of the scan in key order already.
        const bool ascending =
            std::adjacent_find(keys.begin(), keys.end(), [](const Value& a, const Value& b) {
                return *std::get_if<int64_t>(&a) >= *std::get_if<int64_t>(&b);
            }) == keys.end();
        if (ascending) return order;
        std::vector<std::pair<int64_t, uint32_t>> keyed(keys.size());
        for (uint32_t i = 0; i < keyed.size(); ++i)
            keyed[i] = {*std::get_if<int64_t>(&keys[i]), i};
        std::sort(keyed.begin(), keyed.end());
        for (size_t i = 0; i < keyed.size(); ++i)
            order[i] = keyed[i].second;
        return order;
    }
    std::sort(order.begin(), order.end(), [&keys](uint32_t a, uint32_t b) {
        const Value& x = keys[a];
        const Value& y = keys[b];
        if (x.index() != y.index()) return x.index() < y.index();
        return compare_values(x, y) < 0;
    });
    return order;
}

}  // namespace strata
