#include "engine/row_compare.hpp"

#include "engine/numeric.hpp"
#include "engine/value_ops.hpp"

namespace strata {

namespace {

using ast::BinaryOp;
using namespace value_ops;

template <BinaryOp Op>
void compare_rows_as(const RowOperand& l, const RowOperand& r, size_t n, uint8_t* out) {
    if (r.column.constant && r.field < 0) {
        const Value& k = r.at(0);
        // Number rows against a number, date rows against a date, compare as raw numbers (an
        // integer against a fraction exactly, as compare_values does); any other row (null, a
        // mixed-kind column) takes the general path.
        auto holds = [](auto x, auto y) {
            return truth_of(compare_holds(Op, x < y ? -1 : (y < x ? 1 : 0)));
        };
        if (k.index() == 2 || k.index() == 3) {
            const bool integer = k.index() == 2;
            const int64_t yi = integer ? *std::get_if<int64_t>(&k) : 0;
            const double yd = integer ? static_cast<double>(yi) : *std::get_if<double>(&k);
            // Fractions against an integer constant compare as doubles only when the constant
            // is one exactly; integers against a fraction always exactly.
            const bool yd_exact = !integer || exact_as_double(yi);
            auto by = [](int c) { return truth_of(compare_holds(Op, c)); };
            for (size_t i = 0; i < n; ++i) {
                const Value& v = l.at(i);
                if (const auto* d = std::get_if<double>(&v))
                    out[i] = yd_exact ? holds(*d, yd) : by(-compare_int_double(yi, *d));
                else if (const auto* x = std::get_if<int64_t>(&v))
                    out[i] = integer ? holds(*x, yi) : by(compare_int_double(*x, yd));
                else
                    out[i] = compare_truth(Op, v, k);
            }
            return;
        }
        if (const auto* day = std::get_if<Date>(&k)) {
            for (size_t i = 0; i < n; ++i) {
                const Value& v = l.at(i);
                const auto* x = std::get_if<Date>(&v);
                out[i] = x ? holds(x->days, day->days) : compare_truth(Op, v, k);
            }
            return;
        }
    }
    for (size_t i = 0; i < n; ++i)
        out[i] = compare_truth(Op, l.at(i), r.at(i));
}

}  // namespace

bool is_comparison(BinaryOp op) {
    return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
           op == BinaryOp::Gt || op == BinaryOp::Ge;
}

void compare_rows(BinaryOp op, const RowOperand& l, const RowOperand& r, size_t rows,
                  uint8_t* out) {
    switch (op) {
        case BinaryOp::Eq:
            return compare_rows_as<BinaryOp::Eq>(l, r, rows, out);
        case BinaryOp::Ne:
            return compare_rows_as<BinaryOp::Ne>(l, r, rows, out);
        case BinaryOp::Lt:
            return compare_rows_as<BinaryOp::Lt>(l, r, rows, out);
        case BinaryOp::Le:
            return compare_rows_as<BinaryOp::Le>(l, r, rows, out);
        case BinaryOp::Gt:
            return compare_rows_as<BinaryOp::Gt>(l, r, rows, out);
        default:
            return compare_rows_as<BinaryOp::Ge>(l, r, rows, out);
    }
}

}  // namespace strata
