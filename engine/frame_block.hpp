// A block of a frame's rows as a frame of its own, with the columns that some expressions
// read unpacked once for just those rows. Placement evaluates every segment condition over
// each block of customers: unpacked here, a packed column (engine/packed_column.hpp) is
// unpacked once a block instead of once for every condition that reads it.
#pragma once

#include <vector>

#include "dsl/bound.hpp"
#include "engine/evaluator.hpp"

namespace strata {

class FrameBlock {
  public:
    // The columns, lets and aggregates that `exprs` name (outside population calls, which
    // are evaluated over the whole base and are not given a block).
    explicit FrameBlock(const std::vector<const bound::Expr*>& exprs);
    FrameBlock(const FrameBlock&) = delete;
    FrameBlock& operator=(const FrameBlock&) = delete;

    // Rows [first, first + rows) of `whole` as a frame whose row 0 is row `first`: the named
    // columns hold just those rows; the others are left out (null). Valid until the next
    // call. REQUIRES: first + rows <= whole.rows.
    const Frame& rows_of(const Frame& whole, size_t first, size_t rows);

  private:
    struct Named {
        std::vector<char> columns, lets, aggregates;
    };
    Named named_;
    std::vector<Column> values_;       // the block's rows of each named column
    std::vector<PackedColumn> views_;  // the frame's view of each
    Column keys_;
    Frame frame_;
};

}  // namespace strata
