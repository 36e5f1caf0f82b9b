#include "analysis/explain.hpp"

#include <functional>

#include "analysis/explain_reasons.hpp"
#include "analysis/population_story.hpp"
#include "engine/evaluator.hpp"
#include "engine/run.hpp"
#include "engine/stays.hpp"

namespace strata {

namespace {

class Tracer {
  public:
    Tracer(const CompiledRules& rules, const Frame& frame, size_t row,
           const AggregateRowCounts& rows)
        : rules_(rules), whole_(frame), one_(frame), rows_(rows) {
        one_.offset = frame.offset + row;
        one_.rows = 1;
        row_ = row;
    }

    // A node's value for the customer: row-local nodes on a one-row frame, nodes with a
    // population function over the whole base (a rank needs everyone), read at the row.
    Value value_of(const bound::Expr& e) const {
        if (is_row_local(e)) return evaluate(e, one_)[0];
        return evaluate(e, whole_)[row_];
    }

    ExplainNode trace(const bound::Expr& e, int depth = 0) const {
        ExplainNode n;
        n.location = e.location;
        n.text = source_text(e.location);
        n.value = value_of(e);
        n.because = population_because(rules_, e, whole_, row_);
        if (depth > 64) return n;
        std::visit(
            [&](const auto& node) {
                using T = std::decay_t<decltype(node)>;
                if constexpr (std::is_same_v<T, bound::Literal>) {
                    n.kind = "literal";
                } else if constexpr (std::is_same_v<T, bound::CustomerColumn>) {
                    n.kind = "column";
                } else if constexpr (std::is_same_v<T, bound::AggregateRef>) {
                    n.kind = "aggregate";
                    note_rows(node.index, n);
                } else if constexpr (std::is_same_v<T, bound::AsOf>) {
                    n.kind = "as_of";
                } else if constexpr (std::is_same_v<T, bound::LetRef>) {
                    n.kind = "let";
                    const bound::Let& let = rules_.program.lets[static_cast<size_t>(node.index)];
                    n.text = let.name;
                    n.children.push_back(trace(*let.expr, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::Field>) {
                    n.kind = "field";
                    n.children.push_back(trace(*node.record, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::Unary>) {
                    n.kind = "operator";
                    n.children.push_back(trace(*node.operand, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::Binary>) {
                    n.kind = "operator";
                    n.children.push_back(trace(*node.lhs, depth + 1));
                    n.children.push_back(trace(*node.rhs, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::InList>) {
                    n.kind = "operator";
                    n.children.push_back(trace(*node.value, depth + 1));
                    for (const auto& item : node.items)
                        n.children.push_back(trace(*item, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::Between>) {
                    n.kind = "operator";
                    for (const auto* part : {&node.value, &node.low, &node.high})
                        n.children.push_back(trace(**part, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::IsNull>) {
                    n.kind = "operator";
                    n.children.push_back(trace(*node.value, depth + 1));
                } else if constexpr (std::is_same_v<T, bound::Call>) {
                    n.kind = bound::is_population(node.fn) ? "population" : "call";
                    for (const auto& a : node.args) {
                        if (a) n.children.push_back(trace(*a, depth + 1));
                    }
                } else {
                    n.kind = "fact column";
                }
            },
            e.node);
        return n;
    }

  private:
    const CompiledRules& rules_;
    const Frame& whole_;
    Frame one_;
    const AggregateRowCounts& rows_;
    size_t row_ = 0;

    // The fact rows that fed aggregate `index` for this customer, counted by the run itself.
    void note_rows(int index, ExplainNode& n) const {
        const auto a = static_cast<size_t>(index);
        if (a >= rows_.taken.size()) return;
        n.rows = rows_.taken[a][whole_.offset + row_];
        n.rows_without_value = rows_.without_value[a][whole_.offset + row_];
        n.fact = rules_.program.facts[static_cast<size_t>(rules_.program.aggregates[a].fact)].name;
    }

    std::string source_text(Location loc) const {
        if (!loc.valid()) return {};
        const std::string line(rules_.source.line(loc.line));
        const size_t col = static_cast<size_t>(loc.col - 1);
        if (col >= line.size()) return {};
        return line.substr(col, static_cast<size_t>(loc.length));
    }
};

std::string truth(const Value& v) {
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return "null";
}

}  // namespace

std::optional<Explanation> explain_customer(const CompiledRules& rules, SQLite::Database& data,
                                            SQLite::Database* state, Date as_of,
                                            const std::vector<Value>& keys, std::string& error,
                                            bool* rule_problem) {
    Explanation out;
    out.ruleset = rules.rules.ruleset;
    out.version = rules.rules.version;
    out.as_of = as_of;
    bool found = false;
    AggregateRowCounts rows;
    RunOptions options;
    options.aggregate_rows = &rows;
    options.as_of = as_of;
    options.dry_run = true;
    options.on_placed = [&](const Frame& frame, const std::vector<uint32_t>& order,
                            const RunReport& rep) {
        // The customer's table row and membership row (membership is in key order).
        for (size_t i = 0; i < order.size() && !found; ++i) {
            const Value& key = rep.membership[i].key;
            bool match = false;
            for (const Value& k : keys)
                match = match || (k.index() == key.index() && compare_keys(k, key) == 0);
            if (!match) continue;
            found = true;
            out.customer = key;
            out.segment = rep.membership[i].segment.str();
            const std::string& tags = rep.membership[i].tactical.str();
            size_t from = 0;
            while (from < tags.size()) {
                const size_t end = std::min(tags.find(';', from), tags.size());
                out.tactical.push_back(tags.substr(from, end - from));
                from = end + 1;
            }
            const Tracer tracer(rules, frame, order[i], rows);
            const CompiledSegment* winner = nullptr;
            for (const CompiledSegment& seg : rules.segments) {
                ExplainedSegment s;
                s.id = seg.def->id;
                if (seg.when) {
                    s.condition = tracer.trace(*seg.when);
                    s.result = truth(s.condition->value);
                    if (s.result != "true")
                        s.deciding = deciding_parts(rules.program, *seg.when, *s.condition);
                } else {
                    s.result = "otherwise";
                }
                if (seg.def->id == out.segment) winner = &seg;
                out.tried.push_back(std::move(s));
            }
            if (!winner) return;
            std::function<void(const std::vector<CompiledSegment>&, const std::string&)> walk =
                [&](const std::vector<CompiledSegment>& segs, const std::string& prefix) {
                    for (const CompiledSegment& t : segs) {
                        ExplainedSegment s;
                        s.id = prefix.empty() ? t.def->id : prefix + "/" + t.def->id;
                        if (t.when) {
                            s.condition = tracer.trace(*t.when);
                            s.result = truth(s.condition->value);
                            if (s.result != "true")
                                s.deciding = deciding_parts(rules.program, *t.when, *s.condition);
                        }
                        const std::string path = s.id;
                        out.tactical_tried.push_back(std::move(s));
                        walk(t.tactical, path);
                    }
                };
            walk(winner->tactical, "");
        }
    };
    RunError run_error;
    if (!execute_run(rules, data, state, options, run_error)) {
        error = run_error.message;
        if (rule_problem) *rule_problem = run_error.rule_problem;
        return std::nullopt;
    }
    if (!found) {
        error = "customer is not in the base of '" + rules.rules.ruleset + "' (table '" +
                rules.rules.customers_table + "')";
        return std::nullopt;
    }
    return out;
}

}  // namespace strata
