// Column-at-a-time evaluation of bound expressions. Null semantics are SQL's: operators on
// null give null, `and`/`or` use three-valued logic, and a condition holds only when true.
#pragma once

#include <memory>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/population.hpp"
#include "engine/value.hpp"

namespace strata {

// The columns one evaluation sees. For a customer-level expression each row is a customer;
// inside an aggregate each row is a fact row and `columns` are the fact's columns.
struct Frame {
    size_t rows = 0;
    size_t offset = 0;  // the frame sees rows [offset, offset + rows) of every column below
    std::vector<const Column*> columns;     // by slot
    std::vector<const Column*> lets;        // by let index
    std::vector<const Column*> aggregates;  // by aggregate index
    const Column* keys = nullptr;           // customer keys (abc breaks ties by key)
    Date as_of;
    // The evaluation's population fits (may be null): a population call with a fit there is
    // applied with it; one without is fitted over the frame's rows and, when the frame is the
    // whole base, recorded there.
    PopulationFits* fits = nullptr;
};

// A result column that may be borrowed from the frame (no copy) or a constant (one value for
// every row). Valid while the frame's columns are.
struct ColumnRef {
    std::shared_ptr<const Column> data;
    bool constant = false;
    size_t offset = 0;  // row i is (*data)[offset + i]
    const Value& operator[](size_t i) const { return (*data)[constant ? 0 : offset + i]; }
};

// Evaluates e for every row of the frame. Never throws on data: division by zero, overflow
// and out-of-range conversions give null.
Column evaluate(const bound::Expr& e, const Frame& frame);
ColumnRef evaluate_ref(const bound::Expr& e, const Frame& frame);

// e's column for the whole frame. When e only names a column the frame already has, that
// column is shared, not copied; a row-local e is evaluated a block of rows at a time.
std::shared_ptr<const Column> evaluate_shared(const bound::Expr& e, const Frame& frame);

// Whether e's value for a row depends on that row alone (no population function inside).
bool is_row_local(const bound::Expr& e);

// 1 where e is true, 0 where it is false or null. A row-local e is evaluated a block of rows
// at a time, so that its intermediate columns stay small and in cache.
std::vector<char> evaluate_condition(const bound::Expr& e, const Frame& frame);

}  // namespace strata
