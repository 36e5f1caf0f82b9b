#include "engine/frame_block.hpp"

#include <type_traits>

#include "engine/parallel.hpp"

namespace strata {

namespace {

void mark(std::vector<char>& marks, int index) {
    const auto i = static_cast<size_t>(index);
    if (marks.size() <= i) marks.resize(i + 1, 0);
    marks[i] = 1;
}

template <typename Named>
void name_leaves(const bound::Expr& e, Named& named) {
    auto walk = [&named](const bound::ExprPtr& p) {
        if (p) name_leaves(*p, named);
    };
    std::visit(
        [&](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, bound::CustomerColumn>) {
                mark(named.columns, n.slot);
            } else if constexpr (std::is_same_v<T, bound::LetRef>) {
                mark(named.lets, n.index);
            } else if constexpr (std::is_same_v<T, bound::AggregateRef>) {
                mark(named.aggregates, n.index);
            } else if constexpr (std::is_same_v<T, bound::Field>) {
                walk(n.record);
            } else if constexpr (std::is_same_v<T, bound::Unary>) {
                walk(n.operand);
            } else if constexpr (std::is_same_v<T, bound::Binary>) {
                walk(n.lhs);
                walk(n.rhs);
            } else if constexpr (std::is_same_v<T, bound::InList>) {
                walk(n.value);
                for (const auto& item : n.items)
                    walk(item);
            } else if constexpr (std::is_same_v<T, bound::Between>) {
                walk(n.value);
                walk(n.low);
                walk(n.high);
            } else if constexpr (std::is_same_v<T, bound::IsNull>) {
                walk(n.value);
            } else if constexpr (std::is_same_v<T, bound::Call>) {
                if (!bound::is_population(n.fn)) {
                    for (const auto& a : n.args)
                        walk(a);
                }
            }
        },
        e.node);
}

}  // namespace

FrameBlock::FrameBlock(const std::vector<const bound::Expr*>& exprs) {
    for (const bound::Expr* e : exprs) {
        if (e) name_leaves(*e, named_);
    }
}

const Frame& FrameBlock::rows_of(const Frame& whole, size_t first, size_t rows) {
    frame_ = Frame{};
    frame_.rows = rows;
    frame_.as_of = whole.as_of;
    frame_.fits = whole.fits;
    // Where each named column's block goes: columns, then lets, then aggregates.
    struct Source {
        const PackedColumn* from;
        const PackedColumn** to;
    };
    frame_.columns.assign(whole.columns.size(), nullptr);
    frame_.lets.assign(whole.lets.size(), nullptr);
    frame_.aggregates.assign(whole.aggregates.size(), nullptr);
    std::vector<Source> sources;
    auto add = [&](const std::vector<const PackedColumn*>& from,
                   std::vector<const PackedColumn*>& to, const std::vector<char>& marks) {
        for (size_t i = 0; i < from.size() && i < marks.size(); ++i) {
            if (marks[i] && from[i]) sources.push_back({from[i], &to[i]});
        }
    };
    add(whole.columns, frame_.columns, named_.columns);
    add(whole.lets, frame_.lets, named_.lets);
    add(whole.aggregates, frame_.aggregates, named_.aggregates);
    values_.resize(sources.size());
    views_.resize(sources.size());
    for_each_on_two_threads(sources.size(), [&](size_t s) {
        values_[s].resize(rows);
        sources[s].from->unpack(whole.offset + first, rows, values_[s].data());
        views_[s] = PackedColumn::borrow(&values_[s]);
    });
    for (size_t s = 0; s < sources.size(); ++s)
        *sources[s].to = &views_[s];
    if (whole.keys) {
        const auto from = whole.keys->begin() + static_cast<std::ptrdiff_t>(whole.offset + first);
        keys_.assign(from, from + static_cast<std::ptrdiff_t>(rows));
        frame_.keys = &keys_;
    }
    return frame_;
}

}  // namespace strata
