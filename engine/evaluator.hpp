// Column-at-a-time evaluation of bound expressions. Null semantics are SQL's: operators on
// null give null, `and`/`or` use three-valued logic, and a condition holds only when true.
//
// One definition of truth. `evaluate` is the definition of every expression's value, and a
// condition's truth is that value read by `truth_of_value`: true, false, or unknown (null, or
// anything that is not a boolean). Segment conditions take a faster path, `evaluate_truth`,
// which works on one byte a row for `and`, `or`, `not`, comparisons and `is null` instead of
// building values; it must give exactly the truth read from `evaluate`, row for row, and
// tests/truth_test.cpp holds it to that on random conditions over random frames (as
// tests/lang_test.cpp does on every boolean case of tests/lang).
#pragma once

#include <memory>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/packed_column.hpp"
#include "engine/population.hpp"
#include "engine/value.hpp"

namespace strata {

// The columns one evaluation sees. For a customer-level expression each row is a customer;
// inside an aggregate each row is a fact row and `columns` are the fact's columns.
struct Frame {
    size_t rows = 0;
    size_t offset = 0;  // the frame sees rows [offset, offset + rows) of every column below
    std::vector<const PackedColumn*> columns;     // by slot
    std::vector<const PackedColumn*> lets;        // by let index
    std::vector<const PackedColumn*> aggregates;  // by aggregate index
    const Column* keys = nullptr;                 // customer keys (abc breaks ties by key)
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

// e's column for the whole frame, packed (engine/packed_column.hpp). When e only names a
// column, a let or an aggregate the frame has, that column is shared, not copied (valid while
// the frame's columns are).
SharedPackedColumn evaluate_packed(const bound::Expr& e, const Frame& frame);

// Whether e's value for a row depends on that row alone (no population function inside).
bool is_row_local(const bound::Expr& e);

// A condition's truth for one row, three-valued.
enum class Truth : uint8_t { False = 0, True = 1, Unknown = 2 };

// The truth of a value as a condition: true and false for the booleans, unknown for null
// and for any other value (an Any-typed column may hold one at run time).
Truth truth_of_value(const Value& v);

// e's truth for every row of the frame: exactly truth_of_value(evaluate(e, frame)[i]) for
// each row i, computed without building the values of its boolean structure. A row-local e
// is evaluated a block of rows at a time, so that its intermediate columns stay small and in
// cache. Never throws on data.
std::vector<Truth> evaluate_truth(const bound::Expr& e, const Frame& frame);

// 1 where e is true, 0 where it is false or unknown: evaluate_truth(e, frame)[i] == True.
std::vector<char> evaluate_condition(const bound::Expr& e, const Frame& frame);

}  // namespace strata
