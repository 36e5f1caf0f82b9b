// Comparisons of two operands row by row into truths, one byte a row: the kernel under the
// evaluator's conditions (engine/evaluator.cpp), kept apart from the expression walk.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsl/ast.hpp"
#include "engine/evaluator.hpp"

namespace strata {

// An operand read in place: a column (or a constant), or one field of a record column.
struct RowOperand {
    ColumnRef column;
    int field = -1;  // -1: the column's own values
    // Row i's value; null for a field of a row that holds no record.
    const Value& at(size_t i) const {
        const Value& v = column[i];
        if (field < 0) return v;
        static const Value null_value;
        const auto* r = std::get_if<RecordPtr>(&v);
        return r ? (*r)->fields[static_cast<size_t>(field)] : null_value;
    }
};

// Whether `op` is one of = != < <= > >=.
bool is_comparison(ast::BinaryOp op);

// out[i] = the truth of l[i] op r[i] (kFalse, kTrue or kUnknown of engine/value_ops.hpp) for
// rows 0..rows-1, the same as compare_truth row by row. The usual shape of a condition, an
// operand against a number or date constant, compares raw numbers without compare_truth's
// dispatch for each row.
// REQUIRES: is_comparison(op); l and r hold `rows` rows (or are constants).
void compare_rows(ast::BinaryOp op, const RowOperand& l, const RowOperand& r, size_t rows,
                  uint8_t* out);

}  // namespace strata
