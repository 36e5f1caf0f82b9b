// Fact aggregates, computed in one pass over each fact table's rows, fed in chunks.
// Point in time: a fact whose time is after as_of, or unknown, is left out of every aggregate.
#pragma once

#include <memory>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/evaluator.hpp"
#include "engine/value.hpp"

namespace strata {

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

class AggregateComputer {
  public:
    AggregateComputer(const bound::Program& program, size_t customers, Date as_of);
    ~AggregateComputer();

    // From now on, also counts the rows each aggregate takes per customer (count_rows()).
    // REQUIRES: called before the first add().
    void count_rows();

    // Adds one chunk of rows of program fact `fact`.
    void add(int fact, const FactChunk& chunk);

    // Adds what `other` (same program, customers and as_of) has aggregated, as though its
    // rows had come after this one's. `other` is left empty. Sums add this one's total and
    // then the other's, so a fixed split of the rows gives the same bytes every time.
    void merge(AggregateComputer& other);

    // One column per program aggregate, a row per customer.
    std::vector<Column> finish();

    // The rows counted since count_rows() (merged ones included); empty lists without it.
    AggregateRowCounts take_row_counts() { return std::move(row_counts_); }

    // Facts left out because their time is after as_of, per program fact.
    const std::vector<size_t>& future_rows() const { return future_rows_; }
    // Facts left out because their time is unknown (null, or did not convert), per program
    // fact: an unknown time is not known to be on or before as_of.
    const std::vector<size_t>& unknown_time_rows() const { return unknown_time_rows_; }

  private:
    struct State;
    const bound::Program& program_;
    size_t customers_;
    Date as_of_;
    std::vector<size_t> future_rows_;
    std::vector<size_t> unknown_time_rows_;
    std::unique_ptr<State> state_;
    AggregateRowCounts row_counts_;  // filled only after count_rows()
    std::vector<char> live_;         // per chunk, reused
    std::vector<char> take_;         // per chunk and aggregate, reused
    std::vector<int> periods_;       // cv: periods per aggregate, on the calendar from as_of
};

}  // namespace strata
