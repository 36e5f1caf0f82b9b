// What a query compiled for `strata compile` reads: the lets, aggregates, customer columns and
// fact columns that its segment conditions and --lets columns need, and nothing else. A let nothing
// reads (the binder warns of it) is then not lowered, so a construct the dialect lacks there does
// not refuse the file.
#include <functional>

#include "sql/lowering.hpp"

namespace strata::sql {

void Lowering::mark_needed(const std::vector<std::string>& let_columns, bool everything) {
    const auto& program = rules_.program;
    needed_lets_.assign(program.lets.size(), everything);
    needed_aggregates_.assign(program.aggregates.size(), everything);
    needed_columns_.assign(program.columns.size(), everything);
    needed_fact_columns_.clear();
    for (const bound::FactUse& f : program.facts) {
        needed_fact_columns_.emplace_back(f.columns.size(), everything);
        // The time column filters every aggregate's rows (the point-in-time rule).
        if (f.time_slot >= 0)
            needed_fact_columns_.back().at(static_cast<size_t>(f.time_slot)) = true;
    }
    if (everything) return;
    int fact = -1;  // the fact whose rows the walk is in (inside an aggregate)
    std::function<void(const bound::Expr&)> walk = [&](const bound::Expr& e) {
        if (const auto* let = std::get_if<bound::LetRef>(&e.node)) {
            const auto i = static_cast<size_t>(let->index);
            if (!needed_lets_.at(i)) {
                needed_lets_[i] = true;
                walk(*program.lets[i].expr);
            }
        } else if (const auto* aggregate = std::get_if<bound::AggregateRef>(&e.node)) {
            const auto j = static_cast<size_t>(aggregate->index);
            if (!needed_aggregates_.at(j)) {
                needed_aggregates_[j] = true;
                const bound::Aggregate& a = program.aggregates[j];
                const int outer = fact;
                fact = a.fact;
                if (a.value) walk(*a.value);
                if (a.where) walk(*a.where);
                fact = outer;
            }
        } else if (const auto* column = std::get_if<bound::CustomerColumn>(&e.node)) {
            needed_columns_.at(static_cast<size_t>(column->slot)) = true;
        } else if (const auto* cell = std::get_if<bound::FactColumn>(&e.node)) {
            if (fact >= 0)
                needed_fact_columns_.at(static_cast<size_t>(fact))
                    .at(static_cast<size_t>(cell->slot)) = true;
        }
        bound::for_each_operand(e, walk);
    };
    std::function<void(const std::vector<CompiledSegment>&)> segments =
        [&](const std::vector<CompiledSegment>& list) {
            for (const CompiledSegment& s : list) {
                if (s.when) walk(*s.when);
                segments(s.tactical);
            }
        };
    segments(rules_.segments);
    if (rules_.since) walk(*rules_.since);
    for (const std::string& name : let_columns) {
        for (size_t i = 0; i < program.lets.size(); ++i) {
            if (program.lets[i].name != name || needed_lets_[i]) continue;
            needed_lets_[i] = true;
            walk(*program.lets[i].expr);
        }
    }
}

}  // namespace strata::sql
