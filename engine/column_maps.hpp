// Column-at-a-time helpers that the evaluator and its scalar calls share: a column as they
// pass it around, and maps that apply a row function to every row (once when every input is
// a constant). Internal to engine/.
#pragma once

#include "engine/evaluator.hpp"

#include <algorithm>
#include <memory>
#include <vector>

namespace strata::column_maps {

// A column as the evaluator passes it around: owned, borrowed from the frame (no copy), or a
// constant (one value for every row, computed once).
using Col = ColumnRef;

inline Col borrowed(const Column* c, size_t offset) {
    return Col{std::shared_ptr<const Column>(std::shared_ptr<const Column>(), c), false, offset};
}
inline Col owned(Column&& c) {
    return Col{std::make_shared<const Column>(std::move(c)), false};
}
inline Col constant(Value v) {
    return Col{std::make_shared<const Column>(Column{v}), true};
}

// A column's rows as a pointer and a step: row i is at p[i * step] (step 0: a constant).
struct Rows {
    const Value* p;
    size_t step;
};
inline Rows rows_of(const Col& c) {
    return c.constant ? Rows{c.data->data(), 0} : Rows{c.data->data() + c.offset, 1};
}

// f(row) for each of `rows` rows of a; once when a is a constant.
template <typename F>
Col map1(size_t rows, const Col& a, F f) {
    if (a.constant) return constant(f(a[0]));
    Column out(rows);
    const Value* x = rows_of(a).p;
    for (size_t i = 0; i < rows; ++i)
        out[i] = f(x[i]);
    return owned(std::move(out));
}

// f(a's row, b's row) for each row; once when both are constants.
template <typename F>
Col map2(size_t rows, const Col& a, const Col& b, F f) {
    if (a.constant && b.constant) return constant(f(a[0], b[0]));
    Column out(rows);
    const Rows x = rows_of(a), y = rows_of(b);
    if (y.step == 0) {  // column op constant: the usual shape of a condition
        const Value& k = *y.p;
        for (size_t i = 0; i < rows; ++i)
            out[i] = f(x.p[i * x.step], k);
    } else {
        for (size_t i = 0; i < rows; ++i)
            out[i] = f(x.p[i * x.step], y.p[i]);
    }
    return owned(std::move(out));
}

// f(i) for each row i, reading args itself; once (i = 0) when every argument is a constant.
template <typename F>
Col map_n(size_t rows, const std::vector<Col>& args, F f) {
    const bool all_constant =
        std::all_of(args.begin(), args.end(), [](const Col& c) { return c.constant; });
    const size_t n = all_constant ? 1 : rows;
    Column out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = f(i);
    return all_constant ? Col{std::make_shared<const Column>(std::move(out)), true}
                        : owned(std::move(out));
}

}  // namespace strata::column_maps
