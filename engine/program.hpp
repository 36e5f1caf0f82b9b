// Evaluates a bound Program over a customer table: fact aggregates in one pass per fact,
// then the lets in dependency order. Where the rows come from (SQLite, a test's YAML) is
// the caller's business: the same plan runs on any source.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/aggregates.hpp"
#include "engine/evaluator.hpp"

namespace strata {

struct CustomerTable {
    size_t rows = 0;
    // By Program::columns slot, as read and filled in; pack() moves them into `packed`.
    std::vector<Column> columns;
    std::vector<PackedColumn> packed;  // by slot, once packed (then `columns` is empty)
    Column keys;

    // Packs the columns (engine/packed_column.hpp), one at a time, for a long evaluation of
    // a large table; an evaluation reads them either way.
    void pack();
};

// A stream of one fact table's rows, in chunks.
class FactSource {
  public:
    virtual ~FactSource() = default;
    // Calls `consume` with each chunk of rows, in order, on the calling thread. `consume` may
    // keep the chunk's contents by swapping them out; whatever the chunk holds when the call
    // returns is the source's to refill. What `consume` throws ends the read and propagates.
    virtual void read(const std::function<void(FactChunk&)>& consume) = 0;
    // Whether the source is small enough (one customer's rows) to be read on the calling
    // thread: a second thread that reads ahead would cost more than it saves.
    virtual bool read_inline() const { return false; }
};

// Move-only: a let that names another column shares it without owning it, so the columns
// must stay where they are (moving the vectors keeps their elements in place).
struct Evaluation {
    Evaluation() = default;
    Evaluation(const Evaluation&) = delete;
    Evaluation& operator=(const Evaluation&) = delete;
    Evaluation(Evaluation&&) = default;
    Evaluation& operator=(Evaluation&&) = default;

    const CustomerTable* customers = nullptr;
    // The customer columns as the frame reads them, when the table is not packed.
    std::vector<PackedColumn> customer_columns;
    Date as_of;
    std::vector<SharedPackedColumn> aggregates;
    std::vector<SharedPackedColumn> lets;                        // a let naming a column shares it
    std::vector<size_t> future_fact_rows;                        // after as_of: left out, per fact
    std::vector<std::optional<Date>> earliest_future_fact_days;  // of those rows, per fact
    std::vector<size_t> unknown_time_fact_rows;                  // time unknown: left out, per fact
    // The fit of every population call evaluated over the whole base (engine/population.hpp).
    std::shared_ptr<PopulationFits> fits = std::make_shared<PopulationFits>();

    // A frame over the customers that sees columns, lets and aggregates.
    Frame frame() const;
};

// The sources of one fact table: one, or several disjoint parts of it read side by side.
using FactParts = std::vector<FactSource*>;

// What an evaluation carries over from an earlier run's aggregates (an incremental run): the
// stored per-customer states go in before any fact row, and the states as they end up are
// kept for the next run, before the aggregates are finished. Either may be empty.
struct AggregateCarry {
    bool count_customer_rows = false;  // every aggregate state counts rows per customer
    std::function<void(AggregateComputer&)> seed;
    std::function<void(AggregateComputer&)> keep;
};

// REQUIRES: facts has one entry per Program::facts entry, in order, each with at least one
// source. The parts of a fact are read side by side, each on its own thread and into its own
// aggregate state; the states are added up in part order, so results do not depend on
// timing, only on the data and how it was split. A fact of one part is read on a second
// thread while this one aggregates. With `row_counts`, the aggregates also count, per customer,
// the fact rows each took, into it (strata explain). With `given_fits`, the evaluation starts
// with those fits: a population call that has one there is applied to it instead of ranking
// the base (rule tests' `population:` fixes cut points so). With `carry`, its seed fills the
// first aggregate state before any row is read (split into at least two windows, which it may
// seed side by side), and its keep sees the merged state last.
Evaluation evaluate_program(const bound::Program& program, const CustomerTable& customers,
                            const std::vector<FactParts>& facts, Date as_of,
                            AggregateRowCounts* row_counts = nullptr,
                            const PopulationFits* given_fits = nullptr,
                            const AggregateCarry* carry = nullptr);

}  // namespace strata
