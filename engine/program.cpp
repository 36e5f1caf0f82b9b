#include "engine/program.hpp"

namespace strata {

Frame Evaluation::frame() const {
    Frame f;
    f.rows = customers->rows;
    f.as_of = as_of;
    f.keys = &customers->keys;
    for (const auto& c : customers->columns)
        f.columns.push_back(&c);
    for (const auto& c : lets)
        f.lets.push_back(&c);
    for (const auto& c : aggregates)
        f.aggregates.push_back(&c);
    return f;
}

Evaluation evaluate_program(const bound::Program& program, const CustomerTable& customers,
                            const std::vector<FactSource*>& facts, Date as_of) {
    Evaluation ev;
    ev.customers = &customers;
    ev.as_of = as_of;
    AggregateComputer computer(program, customers.rows, as_of);
    for (size_t f = 0; f < program.facts.size(); ++f) {
        FactChunk chunk;
        while (facts.at(f)->next(chunk))
            computer.add(static_cast<int>(f), chunk);
    }
    ev.aggregates = computer.finish();
    ev.future_fact_rows = computer.future_rows();
    // Each let sees the ones before it: the binder ordered them dependencies first.
    ev.lets.reserve(program.lets.size());
    for (const auto& let : program.lets) {
        const Frame f = ev.frame();
        ev.lets.push_back(evaluate(*let.expr, f));
    }
    return ev;
}

}  // namespace strata
