// The insides of AggregateComputer, shared by its files (aggregates.cpp: adding rows,
// merging parts, finishing; aggregate_state.cpp: a customer's state as bytes). Not part of the
// engine's interface.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/aggregates.hpp"
#include "engine/exact_sum.hpp"

namespace strata::aggregate_cells {

struct ValueHash {
    size_t operator()(const Value& v) const {
        return std::visit(
            [](const auto& x) -> size_t {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, Str>)
                    return std::hash<const void*>{}(x.p);  // interned: one pointer per text
                else if constexpr (std::is_same_v<T, int64_t>)
                    return std::hash<int64_t>{}(x);
                else if constexpr (std::is_same_v<T, double>)
                    return std::hash<double>{}(x);
                else if constexpr (std::is_same_v<T, bool>)
                    return x ? 1 : 2;
                else if constexpr (std::is_same_v<T, Date>)
                    return std::hash<int32_t>{}(x.days);
                else if constexpr (std::is_same_v<T, DateTime>)
                    return std::hash<int64_t>{}(x.seconds);
                else
                    return 0;
            },
            v);
    }
};

struct ValueEqual {
    bool operator()(const Value& a, const Value& b) const {
        return a.index() == b.index() && compare_values(a, b) == 0;
    }
};

// count_distinct: values get dense ids; the first 64 ids are bits of a per-customer mask
// (kept in the customer's state row), rarer ones (customer, id) pairs, sorted at the end.
class DistinctCounter {
  public:
    // Adds v for customer c; `mask` is c's mask word.
    void add(size_t customer, const Value& v, uint64_t& mask) {
        auto [it, inserted] = ids_.emplace(v, static_cast<uint32_t>(ids_.size()));
        const uint32_t id = it->second;
        if (id < 64)
            mask |= uint64_t{1} << id;
        else
            pairs_.push_back((static_cast<uint64_t>(customer) << 32) | id);
    }

    // Calls f(value) for each value customer c has (`mask`: c's mask word), in id order.
    // REQUIRES: prepare_reading() after the last add().
    template <typename F>
    void each_value(size_t customer, uint64_t mask, F f) const {
        for (uint64_t bits = mask; bits != 0; bits &= bits - 1)
            f(*by_id_[static_cast<size_t>(__builtin_ctzll(bits))]);
        const uint64_t first = static_cast<uint64_t>(customer) << 32;
        for (auto it = std::lower_bound(pairs_.begin(), pairs_.end(), first);
             it != pairs_.end() && (*it >> 32) == customer; ++it)
            f(*by_id_[*it & 0xFFFFFFFFu]);
    }
    void prepare_reading() {
        std::sort(pairs_.begin(), pairs_.end());
        pairs_.erase(std::unique(pairs_.begin(), pairs_.end()), pairs_.end());
        by_id_.assign(ids_.size(), nullptr);
        for (const auto& [value, id] : ids_)
            by_id_[id] = &value;
    }

  private:
    std::unordered_map<Value, uint32_t, ValueHash, ValueEqual> ids_;
    std::vector<uint64_t> pairs_;
    std::vector<const Value*> by_id_;  // prepare_reading()
};

// One cell of a customer's state row.
union Cell {
    int64_t i;
    double d;
    uint64_t u;  // an exact total's low word
};

// How a min or max keeps its best value so far.
enum class BestKind {
    Number,  // a double; NaN (which no value can be) while there is none
    Time,    // days (date) or seconds (datetime); kNoTime while there is none
    Value,   // any other type, as a Value; null while there is none
};
inline constexpr int64_t kNoTime = INT64_MIN;

inline BestKind best_kind(const bound::Aggregate& agg) {
    switch (agg.type) {
        case Type::Number:
            return BestKind::Number;
        case Type::Date:
        case Type::DateTime:
            return BestKind::Time;
        default:
            return BestKind::Value;
    }
}

// A date or datetime on the aggregate's time line: days for a date, seconds for a datetime.
inline std::optional<int64_t> time_key(const Value& v, Type type) {
    if (const auto* d = std::get_if<Date>(&v))
        return type == Type::Date ? int64_t{d->days} : int64_t{d->days} * 86400;
    if (const auto* t = std::get_if<DateTime>(&v))
        return type == Type::Date ? int64_t{to_date(*t).days} : t->seconds;
    return std::nullopt;
}

inline Value time_value(int64_t key, Type type) {
    if (type == Type::Date) return Date{static_cast<int32_t>(key)};
    return DateTime{key};
}

// Folds v into a min (want -1) or max (want 1) cell, one function per kind of cell.
// Zeros tie as numbers but not as bytes: a min keeps -0 and a max +0, whichever came first,
// so that the result does not depend on the order of the rows.
inline void fold_number_key(Cell* cell, double x, int want) {
    if (std::isnan(cell->d) || (want < 0 ? x < cell->d : x > cell->d) ||
        (x == 0 && cell->d == 0 && std::signbit(x) == (want < 0)))
        cell->d = x;
}

inline void fold_number(Cell* cell, const Value& v, int want) {
    double x;
    if (const auto* d = std::get_if<double>(&v))
        x = *d;
    else if (const auto* i = std::get_if<int64_t>(&v))
        x = static_cast<double>(*i);
    else
        return;
    fold_number_key(cell, x, want);
}

inline void fold_time_key(Cell* cell, int64_t k, int want) {
    if (cell->i == kNoTime || (want < 0 ? k < cell->i : k > cell->i)) cell->i = k;
}

inline void fold_time(Cell* cell, const Value& v, int want, Type type) {
    if (const auto k = time_key(v, type)) fold_time_key(cell, *k, want);
}

inline void fold_value(Cell* cell, const Value& v, int want) {
    Value best;
    std::memcpy(static_cast<void*>(&best), cell, sizeof(Value));
    if (is_null(best) || compare_values(v, best) == want)
        std::memcpy(static_cast<void*>(cell), &v, sizeof(Value));
}

// The best value a min or max cell holds, or null.
inline Value best_value(const Cell* cell, BestKind kind, Type type) {
    switch (kind) {
        case BestKind::Number:
            return std::isnan(cell->d) ? Value{} : Value{cell->d};
        case BestKind::Time:
            return cell->i == kNoTime ? Value{} : time_value(cell->i, type);
        case BestKind::Value:
            break;
    }
    Value v;
    std::memcpy(static_cast<void*>(&v), cell, sizeof(Value));
    return coerce(v, type);
}

inline void reset_best(Cell* cell, BestKind kind) {
    switch (kind) {
        case BestKind::Number:
            cell->d = std::numeric_limits<double>::quiet_NaN();
            return;
        case BestKind::Time:
            cell->i = kNoTime;
            return;
        case BestKind::Value: {
            const Value none;
            std::memcpy(static_cast<void*>(cell), &none, sizeof(Value));
            return;
        }
    }
}

// What exact totals keep beside their cells, rarely used: each total's high part (see
// add_to_low_word; zero for nearly every total, so not stored), and which totals met a value
// that has no exact form (infinite, or beyond about 1.7e29). Keyed by customer, or for cv by
// bucket.
struct TotalsAside {
    std::unordered_map<size_t, SumUnits> high;
    std::unordered_set<size_t> out_of_range;

    void add(uint64_t& low, size_t at, SumUnits x) {
        if (const SumUnits up = add_to_low_word(low, x)) high[at] += up;
    }
    // The total at `at`, or nullopt when it is out of range.
    std::optional<SumUnits> total(uint64_t low, size_t at) const {
        if (high.empty()) return join_total(low, 0);  // the usual case: no lookup
        auto it = high.find(at);
        return join_total(low, it == high.end() ? 0 : it->second);
    }
    bool out_of_range_at(size_t at) const {
        return !out_of_range.empty() && out_of_range.count(at) > 0;
    }
};

// Cells per aggregate in the state row.
inline size_t cells_for(const bound::Aggregate& agg) {
    switch (agg.fn) {
        case bound::AggFn::Sum:
            return 1;  // the exact total's low word: of integers for an integer sum, else of units
        case bound::AggFn::Avg:
            return 2;  // the exact total's low word, in units, and the count
        case bound::AggFn::Min:
        case bound::AggFn::Max:
            // The best value so far: a number or time in one cell, anything else as a Value.
            return best_kind(agg) == BestKind::Value ? sizeof(Value) / sizeof(Cell) : 1;
        case bound::AggFn::Cv:
            return 0;  // buckets live in their own array
        default:
            return 1;  // a count, or count_distinct's mask
    }
}

// Every aggregate's state for one customer sits in one row of cells, so a fact row updates
// one cache line (up to 8 cells) however many aggregates its table feeds: short rows are
// padded to a power of two and the rows start on a cache line.
struct ComputerState {
    size_t stride = 0;
    std::vector<Cell> storage;
    Cell* rows = nullptr;        // customers × stride, inside storage, on a 64-byte boundary
    std::vector<size_t> offset;  // per aggregate, into a row
    std::vector<std::unique_ptr<DistinctCounter>> distinct;  // per aggregate, or null
    std::vector<std::vector<uint64_t>> buckets;              // cv: customers × periods (low words)
    std::vector<TotalsAside> aside;                          // per aggregate
    uintptr_t released = 0;  // finish(): pages of `storage` given back below this address
};

}  // namespace strata::aggregate_cells

namespace strata {
struct AggregateComputer::Window {
    size_t first = 0;  // its first customer row
    size_t count = 0;  // its customers; indexes below are counted from `first`
    aggregate_cells::ComputerState state;
    std::vector<size_t> future_rows, unknown_time_rows;  // per program fact
    std::vector<std::optional<Date>> earliest_future;    // per program fact: of future_rows
    AggregateRowCounts row_counts;                       // filled only after count_rows()
    std::vector<CustomerRows> customer_rows;             // count_customer_rows(), per fact
    // Per chunk, reused: each row's customer in this window (-1: none, or another window's),
    // whether it counts at all, and whether the aggregate at hand takes it.
    std::vector<int64_t> owner;
    std::vector<char> live, take;
};
}  // namespace strata
