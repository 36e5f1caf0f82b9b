// Fact aggregates, computed in one pass over each fact table's rows, fed in chunks.
// Point in time: a fact whose time is after as_of, or unknown, is left out of every aggregate.
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/evaluator.hpp"
#include "engine/value.hpp"

namespace strata {

class ByteWriter;
namespace aggregate_cells {
struct ComputerState;
}
class ByteReader;

// A chunk of one fact table's rows: the fact's columns (by slot) and, for each row, the
// customer row it belongs to (or -1 when its key matches no customer).
struct FactChunk {
    size_t rows = 0;
    std::vector<Column> columns;
    std::vector<int64_t> owner;
};

// How many fact rows fed each aggregate, per customer: what `strata explain` shows beside an
// aggregate's value. By program aggregate, then by customer row.
struct AggregateRowCounts {
    // The rows the aggregate took: of a known customer, with a time known to be on or before
    // as_of, its `where` true, and for cv inside its window.
    std::vector<std::vector<int64_t>> taken;
    // Of those, the rows whose value was null (skipped by every function but count(fact)).
    std::vector<std::vector<int64_t>> without_value;
};

// The customers' states are split into `windows` of consecutive customer rows (the last ones
// take the remainder). add(fact, chunk, w) takes only the rows of window w's customers, so
// threads that each own a window can all aggregate every chunk at once, and no customer's state
// is held twice, as it would be with a whole state per thread merged afterwards.
class AggregateComputer {
  public:
    AggregateComputer(const bound::Program& program, size_t customers, Date as_of,
                      size_t windows = 1);
    ~AggregateComputer();

    // How many windows the customers are split into (at most one a customer, at least one).
    size_t windows() const { return windows_.size(); }
    // The customer rows of window `w`: [first, end).
    std::pair<size_t, size_t> window_rows(size_t w) const;

    // From now on, also counts the rows each aggregate takes per customer (count_rows()).
    // REQUIRES: called before the first add().
    void count_rows();

    // From now on, also counts per customer and fact the rows of theirs read, and of those the
    // ones after as_of and with an unknown time: kept with the customer's state, so that the
    // rows of a customer who leaves the base later can be counted as rows without a customer.
    // REQUIRES: called before the first add().
    void count_customer_rows();

    // Adds one chunk of rows of program fact `fact`, for every window in turn.
    void add(int fact, const FactChunk& chunk);
    // Adds the rows of the chunk whose customer is in window `window`; the others are left to
    // their window's call. Calls for different windows may run at the same time; calls for one
    // window may not. Every aggregate is exact and does not depend on the order of its rows
    // (a count_distinct's values are kept in their own order), so the order in which chunks
    // reach a window does not change any result or byte of the kept state.
    void add(int fact, const FactChunk& chunk, size_t window);

    // A customer's state as bytes: what every aggregate has taken for them so far, enough to
    // go on adding rows later (a run keeps it for the next incremental run). Adding a state
    // back and then more rows gives the same values as adding all the rows: every aggregate
    // is exact and does not depend on the order of its rows.
    // REQUIRES for save_customer: prepare_saving() after the last add().
    void prepare_saving();
    void save_customer(size_t customer, ByteWriter& out) const;
    // Sets a customer's state from bytes save_customer wrote for the same program and as_of.
    // Calls for customers of different windows may run at the same time.
    // REQUIRES: nothing added for the customer yet. False when the bytes are not such a state
    // (the state is then unspecified: the caller falls back to reading every row).
    bool load_customer(size_t customer, ByteReader& in);
    // A customer's rows per fact as counted by count_customer_rows() (zeros without it):
    // read, after as_of, with an unknown time.
    struct RowsOf {
        int64_t read = 0, future = 0, unknown_time = 0;
    };
    RowsOf rows_of(size_t customer, int fact) const;

    // One column per program aggregate, a row per customer, packed (engine/packed_column.hpp).
    std::vector<PackedColumn> finish();

    // The rows counted since count_rows(), by customer row; empty lists without it.
    AggregateRowCounts take_row_counts();

    // Facts left out because their time is after as_of, per program fact.
    std::vector<size_t> future_rows() const;
    // Per program fact, the earliest day of those rows; none when there are none.
    std::vector<std::optional<Date>> earliest_future_days() const;
    // Facts left out because their time is unknown (null, or did not convert), per program
    // fact: an unknown time is not known to be on or before as_of.
    std::vector<size_t> unknown_time_rows() const;

    // count_customer_rows(): per fact, per customer: rows read, after as_of, unknown time.
    struct CustomerRows {
        std::vector<uint32_t> read, future, unknown_time;
    };
    // One window's customers: their states, counts and the scratch of its add() calls.
    // (engine/aggregate_cells.hpp)
    struct Window;

  private:
    Window& window_of(size_t customer, size_t& local) const;
    // Per program fact, the sum of every window's `counts`.
    std::vector<size_t> over_windows(std::vector<size_t> Window::*counts) const;
    void add_to(Window& w, int fact, const FactChunk& chunk);
    void finish_block(size_t a, Window& w, size_t first, size_t n, Value* out);
    static void release_rows(aggregate_cells::ComputerState& s, size_t done);

    const bound::Program& program_;
    size_t customers_;
    Date as_of_;
    std::vector<std::unique_ptr<Window>> windows_;
    std::vector<int> periods_;  // cv: periods per aggregate, on the calendar from as_of
};

}  // namespace strata
