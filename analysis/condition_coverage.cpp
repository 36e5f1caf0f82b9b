#include "analysis/condition_coverage.hpp"

#include <functional>
#include <set>

#include "dsl/parser.hpp"

namespace strata {

namespace {

// Walks the bound condition beside its parsed tree (and/or and not keep their shape when
// bound), so each operand has its text and its exact place in the file.
void collect(const bound::Expr& e, const ast::Expr* src, const CompiledRules& rules,
             const ExprText& text, const std::string& segment, std::vector<ConditionOperand>& out) {
    std::visit(
        [&](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, bound::Binary>) {
                const auto* sb = src ? std::get_if<ast::Binary>(&src->node) : nullptr;
                if (sb && sb->op != n.op) sb = nullptr;
                const ast::Expr* sl = sb ? sb->lhs.get() : nullptr;
                const ast::Expr* sr = sb ? sb->rhs.get() : nullptr;
                if (n.op == ast::BinaryOp::And || n.op == ast::BinaryOp::Or) {
                    const bool is_and = n.op == ast::BinaryOp::And;
                    auto operand = [&](const bound::Expr& self, const ast::Expr* s,
                                       const bound::Expr& other) {
                        ConditionOperand op{segment, self.location, {}, &self, &other, is_and};
                        if (s) {
                            op.location = text.locate(rules.source, s->span);
                            op.text =
                                s->span.end <= text.text.size() && s->span.begin < s->span.end
                                    ? text.text.substr(s->span.begin, s->span.end - s->span.begin)
                                    : ast::to_canonical_string(*s);
                        }
                        op.location = rules.source.shown(op.location);  // in characters
                        out.push_back(std::move(op));
                    };
                    operand(*n.lhs, sl, *n.rhs);
                    operand(*n.rhs, sr, *n.lhs);
                }
                collect(*n.lhs, sl, rules, text, segment, out);
                collect(*n.rhs, sr, rules, text, segment, out);
            } else if constexpr (std::is_same_v<T, bound::Unary>) {
                const auto* su = src ? std::get_if<ast::Unary>(&src->node) : nullptr;
                collect(*n.operand, su ? su->operand.get() : nullptr, rules, text, segment, out);
            }
        },
        e.node);
}

// A condition's value for one row: 1 true, 0 false, -1 null.
int truth(const Column& c, size_t row) {
    const auto* b = std::get_if<bool>(&c[row]);
    return b ? (*b ? 1 : 0) : -1;
}

}  // namespace

std::vector<ConditionOperand> condition_operands(const CompiledRules& rules) {
    std::vector<ConditionOperand> out;
    std::set<size_t> shared_seen;  // a shared tactical's condition is one text: listed once
    std::function<void(const std::vector<CompiledSegment>&, const std::string&, bool)> walk =
        [&](const std::vector<CompiledSegment>& segs, const std::string& prefix, bool general) {
            for (const auto& s : segs) {
                const std::string path =
                    general || prefix.empty() ? s.def->id : prefix + "/" + s.def->id;
                if (s.shared && !shared_seen.insert(*s.shared).second) continue;
                if (s.when) {
                    ParseResult parsed = parse_expression(s.def->when.text);
                    collect(*s.when, parsed.expr.get(), rules, s.def->when, path, out);
                }
                walk(s.tactical, general ? "" : path, false);
            }
        };
    walk(rules.segments, "", true);
    return out;
}

void record_decisions(std::vector<ConditionOperand>& operands, const Frame& frame) {
    for (ConditionOperand& op : operands) {
        if (op.covered()) continue;
        const Column self = evaluate(*op.expr, frame);
        const Column other = evaluate(*op.other, frame);
        // The operand decides when the other one leaves the outcome to it: true under `and`,
        // false under `or`.
        const int leaves_it = op.is_and ? 1 : 0;
        for (size_t row = 0; row < frame.rows; ++row) {
            if (truth(other, row) != leaves_it) continue;
            const int v = truth(self, row);
            if (v == 1) op.decided_true = true;
            if (v == 0) op.decided_false = true;
        }
    }
}

}  // namespace strata
