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
    if (const auto* c = std::get_if<bound::CustomerColumn>(&e.node)) {
        mark(named.columns, c->slot);
    } else if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        mark(named.lets, l->index);
    } else if (const auto* g = std::get_if<bound::AggregateRef>(&e.node)) {
        mark(named.aggregates, g->index);
    } else if (const auto* call = std::get_if<bound::Call>(&e.node);
               call && bound::is_population(call->fn)) {
        return;  // its arguments are read by its fit, not by the block
    }
    bound::for_each_operand(e, [&named](const bound::Expr& o) { name_leaves(o, named); });
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
