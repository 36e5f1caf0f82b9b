#include "analysis/explain.hpp"

#include <functional>
#include <set>

#include "analysis/explain_reasons.hpp"
#include "analysis/population_story.hpp"
#include "engine/evaluator.hpp"
#include "engine/numeric.hpp"
#include "engine/run.hpp"
#include "engine/stays.hpp"

namespace strata {

namespace {

// The kind a node is shown as, and the nodes it is made of, in the order shown.
std::string node_kind(const bound::Program& program, const bound::Expr& e,
                      std::vector<const bound::Expr*>& children) {
    std::string kind;
    auto add = [&](const bound::ExprPtr& p) {
        if (p) children.push_back(p.get());
    };
    std::visit(
        [&](const auto& node) {
            using T = std::decay_t<decltype(node)>;
            if constexpr (std::is_same_v<T, bound::Literal>) {
                kind = "literal";
            } else if constexpr (std::is_same_v<T, bound::CustomerColumn>) {
                kind = "column";
            } else if constexpr (std::is_same_v<T, bound::AggregateRef>) {
                kind = "aggregate";
            } else if constexpr (std::is_same_v<T, bound::AsOf>) {
                kind = "as_of";
            } else if constexpr (std::is_same_v<T, bound::LetRef>) {
                kind = "let";
                add(program.lets[static_cast<size_t>(node.index)].expr);
            } else if constexpr (std::is_same_v<T, bound::Field>) {
                kind = "field";
                add(node.record);
            } else if constexpr (std::is_same_v<T, bound::Unary>) {
                kind = "operator";
                add(node.operand);
            } else if constexpr (std::is_same_v<T, bound::Binary>) {
                kind = "operator";
                add(node.lhs);
                add(node.rhs);
            } else if constexpr (std::is_same_v<T, bound::InList>) {
                kind = "operator";
                add(node.value);
                for (const auto& item : node.items)
                    add(item);
            } else if constexpr (std::is_same_v<T, bound::Between>) {
                kind = "operator";
                for (const auto* part : {&node.value, &node.low, &node.high})
                    add(*part);
            } else if constexpr (std::is_same_v<T, bound::IsNull>) {
                kind = "operator";
                add(node.value);
            } else if constexpr (std::is_same_v<T, bound::Call>) {
                kind = bound::is_population(node.fn) ? "population" : "call";
                for (const auto& a : node.args)
                    add(a);
            } else {
                kind = "fact column";
            }
        },
        e.node);
    return kind;
}

class Tracer {
  public:
    Tracer(const CompiledRules& rules, const ExplainValues& values)
        : rules_(rules), values_(values) {}

    // The tree under `e`. A let is opened (its definition traced under it) where the tree first
    // meets it; where it meets it again it shows its value alone, so that lets that use another
    // several times over (`b: a + a`, `c: b + b`, ...) give a tree as long as their text, not
    // one of 2^n nodes.
    ExplainNode trace(const bound::Expr& e, int depth = 0) const {
        if (depth == 0) opened_lets_.clear();
        ExplainNode n;
        n.location = rules_.source.shown(e.location);  // in characters, as diagnostics give it
        n.text = source_text(e.location);
        const std::optional<Value> value = values_.value(e);
        n.computed = value.has_value();
        if (value) n.value = *value;
        n.because = values_.because(e);
        if (depth > 64) return n;
        std::vector<const bound::Expr*> children;
        n.kind = node_kind(rules_.program, e, children);
        if (const auto* let = std::get_if<bound::LetRef>(&e.node)) {
            n.text = rules_.program.lets[static_cast<size_t>(let->index)].name;
            if (!opened_lets_.insert(let->index).second) return n;
        }
        if (const auto* agg = std::get_if<bound::AggregateRef>(&e.node)) {
            values_.aggregate_rows(agg->index, n);
            if (n.because.empty()) n.because = overflow_because(agg->index, n);
        }
        for (const bound::Expr* c : children)
            n.children.push_back(trace(*c, depth + 1));
        if (n.because.empty()) n.because = text_limit_because(e, n);
        return n;
    }

  private:
    const CompiledRules& rules_;
    const ExplainValues& values_;
    mutable std::set<int> opened_lets_;  // in the tree being traced

    // A sum or average that is null although rows with values fed it: its total went beyond
    // the range of its type, which gives null as any overflow does. Said, since a null total
    // of rows that all have amounts looks like a bug.
    std::string overflow_because(int index, const ExplainNode& n) const {
        const bound::Aggregate& a = rules_.program.aggregates[static_cast<size_t>(index)];
        if (a.fn != bound::AggFn::Sum && a.fn != bound::AggFn::Avg) return {};
        if (!n.computed || !is_null(n.value) || !n.rows || *n.rows <= n.rows_without_value)
            return {};
        return std::string("the total of its ") +
               format_thousands(static_cast<size_t>(*n.rows - n.rows_without_value)) +
               " values is beyond " +
               (a.type == Type::Int
                    ? std::string("the range of a whole number (about 9.2e18)")
                    : std::string("what an exact sum holds (a magnitude of 10^29; a value beyond "
                                  "about 1.7e29 or infinite counts so too)")) +
               ", so it is null, as every overflow is";
    }

    // A join of two texts that is null: the text would pass kMaxTextBytes. Said, since a null
    // made of two texts looks like a bug.
    static std::string text_limit_because(const bound::Expr& e, const ExplainNode& n) {
        const auto* b = std::get_if<bound::Binary>(&e.node);
        if (!b || b->op != ast::BinaryOp::Add || e.type != Type::String) return {};
        if (!n.computed || !is_null(n.value) || n.children.size() != 2) return {};
        size_t bytes = 0;
        for (const ExplainNode& side : n.children) {
            const auto* text = side.computed ? std::get_if<Str>(&side.value) : nullptr;
            if (!text) return {};
            bytes += text->str().size();
        }
        return "the joined text would be " + format_thousands(bytes) + " bytes, longer than the " +
               format_thousands(kMaxTextBytes) + " a text may have, so it is null";
    }

    std::string source_text(Location loc) const {
        if (!loc.valid()) return {};
        const std::string line(rules_.source.line(loc.line));
        const size_t col = static_cast<size_t>(loc.col - 1);
        if (col >= line.size()) return {};
        return line.substr(col, static_cast<size_t>(loc.length));
    }
};

// The values of the embedded run: read at the customer's row of the run's frame.
class FrameValues : public ExplainValues {
  public:
    FrameValues(const CompiledRules& rules, const Frame& frame, size_t row,
                const AggregateRowCounts& rows)
        : rules_(rules), whole_(frame), one_(frame), rows_(rows), row_(row) {
        one_.offset = frame.offset + row;
        one_.rows = 1;
    }

    // Row-local nodes on a one-row frame, nodes with a population function over the whole
    // base (a rank needs everyone), read at the row.
    std::optional<Value> value(const bound::Expr& e) const override {
        if (is_row_local(e)) return evaluate(e, one_)[0];
        return evaluate(e, whole_)[row_];
    }

    std::string because(const bound::Expr& e) const override {
        return population_because(rules_, e, whole_, row_);
    }

    // The fact rows that fed aggregate `index` for this customer, counted by the run itself.
    void aggregate_rows(int index, ExplainNode& n) const override {
        const auto a = static_cast<size_t>(index);
        if (a >= rows_.taken.size()) return;
        n.rows = rows_.taken[a][whole_.offset + row_];
        n.rows_without_value = rows_.without_value[a][whole_.offset + row_];
        n.fact = rules_.program.facts[static_cast<size_t>(rules_.program.aggregates[a].fact)].name;
    }

  private:
    const CompiledRules& rules_;
    const Frame& whole_;
    Frame one_;
    const AggregateRowCounts& rows_;
    size_t row_ = 0;
};

std::string truth(const Value& v) {
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return "null";
}

void collect(const bound::Program& program, const bound::Expr& e,
             std::set<const bound::Expr*>& seen, std::vector<const bound::Expr*>& out, int depth) {
    if (depth > 64 || !seen.insert(&e).second) return;
    out.push_back(&e);
    std::vector<const bound::Expr*> children;
    node_kind(program, e, children);
    for (const bound::Expr* c : children)
        collect(program, *c, seen, out, depth + 1);
}

void collect_segments(const bound::Program& program, const std::vector<CompiledSegment>& segs,
                      std::set<const bound::Expr*>& seen, std::vector<const bound::Expr*>& out) {
    for (const CompiledSegment& s : segs) {
        if (s.when) collect(program, *s.when, seen, out, 0);
        collect_segments(program, s.tactical, seen, out);
    }
}

ExplainedSegment explained(const CompiledRules& rules, const Tracer& tracer,
                           const CompiledSegment& seg, std::string id) {
    ExplainedSegment s;
    s.id = std::move(id);
    if (seg.when) {
        s.condition = tracer.trace(*seg.when);
        s.result = truth(s.condition->value);
        if (s.result != "true") s.deciding = deciding_parts(rules.program, *seg.when, *s.condition);
    } else {
        s.result = "otherwise";
    }
    return s;
}

}  // namespace

std::vector<const bound::Expr*> explained_nodes(const CompiledRules& rules) {
    std::set<const bound::Expr*> seen;
    std::vector<const bound::Expr*> out;
    collect_segments(rules.program, rules.segments, seen, out);
    return out;
}

Explanation explain_placed(const CompiledRules& rules, Date as_of, const Value& key,
                           const std::string& segment, const std::string& tactical,
                           const ExplainValues& values) {
    Explanation out;
    out.ruleset = rules.rules.ruleset;
    out.version = rules.rules.version;
    out.as_of = as_of;
    out.customer = key;
    out.segment = segment;
    size_t from = 0;
    while (from < tactical.size()) {
        const size_t end = std::min(tactical.find(';', from), tactical.size());
        out.tactical.push_back(tactical.substr(from, end - from));
        from = end + 1;
    }
    const Tracer tracer(rules, values);
    const CompiledSegment* winner = nullptr;
    for (const CompiledSegment& seg : rules.segments) {
        out.tried.push_back(explained(rules, tracer, seg, seg.def->id));
        if (seg.def->id == out.segment) winner = &seg;
    }
    if (!winner) return out;
    std::function<void(const std::vector<CompiledSegment>&, const std::string&)> walk =
        [&](const std::vector<CompiledSegment>& segs, const std::string& prefix) {
            for (const CompiledSegment& t : segs) {
                const std::string path = prefix.empty() ? t.def->id : prefix + "/" + t.def->id;
                ExplainedSegment s = explained(rules, tracer, t, path);
                // The catch-all has no result among tactical segments: none is `otherwise`.
                if (!t.when) s.result.clear();
                // A tactical segment holds only inside its parent: below a parent that does
                // not hold, nothing is tried (a child's own condition may well be true).
                const bool holds = !t.when || s.result == "true";
                out.tactical_tried.push_back(std::move(s));
                if (holds) walk(t.tactical, path);
            }
        };
    walk(winner->tactical, "");
    return out;
}

std::optional<Explanation> explain_customer(const CompiledRules& rules, SQLite::Database& data,
                                            SQLite::Database* state, Date as_of,
                                            const std::vector<Value>& keys, std::string& error,
                                            bool* rule_problem, const AsStoredRun* stored,
                                            bool* not_found) {
    Explanation out;
    bool found = false;
    AggregateRowCounts rows;
    RunOptions options;
    options.aggregate_rows = &rows;
    options.as_of = as_of;
    options.dry_run = true;
    if (stored) {
        options.state_before_run = stored->run_id;
        options.population = stored->fits;
    }
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
            const FrameValues values(rules, frame, order[i], rows);
            out = explain_placed(rules, as_of, key, rep.membership[i].segment.str(),
                                 rep.membership[i].tactical.str(), values);
        }
    };
    RunError run_error;
    const auto report = execute_run(rules, data, state, options, run_error);
    if (!report) {
        error = run_error.message;
        if (rule_problem) *rule_problem = run_error.rule_problem;
        return std::nullopt;
    }
    if (!found) {
        // The text spelling, as given; quoted when it reads as a number and only the text
        // key was looked for (explain --text-key).
        const Value& given = keys.back();
        const auto* text = std::get_if<Str>(&given);
        const std::string shown = keys.size() == 1 ? key_value_in_message(given)
                                  : text           ? key_in_message(text->str())
                                                   : format_value(given);
        error =
            not_in_base_message(rules, as_of, shown, report->data_quality.customers_after_as_of);
        if (not_found) *not_found = true;
        return std::nullopt;
    }
    return out;
}

std::string not_in_base_message(const CompiledRules& rules, Date as_of, const std::string& shown,
                                size_t joined_later) {
    std::string message = "customer " + shown + " is not in the base of '" + rules.rules.ruleset +
                          "' (table '" + rules.rules.customers_table + "'";
    if (rules.since && joined_later > 0)
        message += " as of " + format_date(as_of) + "; source.since '" + rules.rules.since.text +
                   "' leaves out " + std::to_string(joined_later) +
                   (joined_later == 1 ? " customer" : " customers") +
                   " of the table who joined after that day, which may be this one";
    return message + ")";
}

}  // namespace strata
