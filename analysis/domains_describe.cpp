// What an expression's shape tells the partition analysis about its values (Model::describe):
// its kind, range and closed set of strings, whether it may be null, and whether it gives an
// untyped column's values as they are.
#include "analysis/domains.hpp"

#include "dsl/functions.hpp"

namespace strata::partition {

using bound::Expr;

// What the expression's shape tells about its values: type, range, nulls, fact table.
void Model::describe(const Expr& e, Var& var) const {
    switch (e.type) {
        case Type::Int:
            var.kind = VarKind::Integer;
            break;
        case Type::Number:
            var.kind = VarKind::Number;
            break;
        case Type::String:
            var.kind = VarKind::String;
            break;
        case Type::Bool:
            var.kind = VarKind::Bool;
            break;
        case Type::Date:
            var.kind = VarKind::Date;
            break;
        case Type::DateTime:
            var.kind = VarKind::Date;
            var.unsupported = "'" + var.name + "' is a datetime, which the analysis does not order";
            break;
        case Type::Any:
            var.typed = false;  // decided by the constants it meets
            break;
        default:
            var.unsupported = "'" + var.name + "' is " + with_article(e.type);
            break;
    }
    // coalesce(x, 0) of a column checked without --db is typed by its 0, but its values are
    // x's, whose type is a guess: it is read as x is.
    if (e.type == Type::Int && takes_untyped_value(e)) {
        var.kind = VarKind::Opaque;
        var.typed = false;
    }
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        describe(*let_expr(l->index), var);
    } else if (const auto* a = std::get_if<bound::AggregateRef>(&e.node)) {
        const auto& agg = rules_.program.aggregates[static_cast<size_t>(a->index)];
        var.fact.fact = agg.fact;
        var.fact.fn = agg.fn;
        var.fact.whole = agg.where == nullptr;
        var.fact.counts_rows =
            agg.fn == bound::AggFn::Count && agg.where == nullptr && agg.value == nullptr;
        switch (agg.fn) {
            case bound::AggFn::Count:
            case bound::AggFn::CountDistinct:
                var.nullable = false;
                var.low = 0;
                break;
            case bound::AggFn::Sum:
                var.nullable = false;  // 0 without rows; null only beyond 10^29
                break;
            case bound::AggFn::Cv:
                var.low = 0;
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max: {
                const auto* col =
                    agg.value ? std::get_if<bound::FactColumn>(&agg.value->node) : nullptr;
                const auto& fact = rules_.program.facts[static_cast<size_t>(agg.fact)];
                var.fact.time_extreme =
                    col && !agg.where && col->slot == fact.time_slot && agg.type == Type::Date;
                var.fact.time_typed = fact.time_typed;
                break;
            }
            default:
                break;
        }
    } else if (const auto* c = std::get_if<bound::Call>(&e.node)) {
        var.nullable = may_be_null(e);
        switch (c->fn) {
            case bound::Fn::Ntile:
                var.low = 1;
                var.high = static_cast<double>(c->params.n);
                break;
            case bound::Fn::PercentRank:
                var.low = 0;
                var.high = 1;
                break;
            case bound::Fn::Abc:
                var.closed_strings = {"A", "B", "C"};
                break;
            case bound::Fn::Xyz:
                var.closed_strings = {"X", "Y", "Z"};
                break;
            case bound::Fn::Month:
                var.low = 1;
                var.high = 12;
                break;
            case bound::Fn::Length:
                var.low = 0;
                break;
            default:
                break;
        }
    } else if (const auto* f = std::get_if<bound::Field>(&e.node)) {
        const Expr* record = f->record.get();
        while (const auto* l = std::get_if<bound::LetRef>(&record->node))
            record = let_expr(l->index);
        const auto* call = std::get_if<bound::Call>(&record->node);
        if (call && call->fn == bound::Fn::Rfm && f->field < 3) {
            var.low = 1;
            var.high = static_cast<double>(call->params.n);
        }
    }
}

bool Model::takes_untyped_value(const Expr& e) const {
    if (e.type == Type::Any) return true;
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        // Once per let: lets may read one another several times over (`b: a + a`).
        if (auto it = let_untyped_.find(l->index); it != let_untyped_.end()) return it->second;
        const bool untyped = takes_untyped_value(*let_expr(l->index));
        let_untyped_.emplace(l->index, untyped);
        return untyped;
    }
    // Arithmetic keeps a fraction: -x, x + 0, x * 1, abs(x).
    if (const auto* u = std::get_if<bound::Unary>(&e.node))
        return u->op == ast::UnaryOp::Negate && takes_untyped_value(*u->operand);
    if (const auto* b = std::get_if<bound::Binary>(&e.node)) {
        switch (b->op) {
            case ast::BinaryOp::Add:
            case ast::BinaryOp::Sub:
            case ast::BinaryOp::Mul:
            case ast::BinaryOp::Div:
            case ast::BinaryOp::Mod:
                return takes_untyped_value(*b->lhs) || takes_untyped_value(*b->rhs);
            default:
                return false;
        }
    }
    const auto* c = std::get_if<bound::Call>(&e.node);
    if (!c) return false;
    const auto untyped = [&](size_t i) {
        return i < c->args.size() && c->args[i] && takes_untyped_value(*c->args[i]);
    };
    switch (c->fn) {
        case bound::Fn::Coalesce:
        case bound::Fn::Least:
        case bound::Fn::Greatest:
            for (size_t i = 0; i < c->args.size(); ++i)
                if (untyped(i)) return true;
            return false;
        case bound::Fn::If:
            return untyped(1) || untyped(2);
        case bound::Fn::Abs:
            return untyped(0);
        default:
            return false;
    }
}

bool Model::may_be_null(const Expr& e) const {
    if (const auto* lit = std::get_if<bound::Literal>(&e.node))
        return std::holds_alternative<ast::Null>(lit->value);
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        if (auto it = let_may_be_null_.find(l->index); it != let_may_be_null_.end())
            return it->second;
        const bool nullable = may_be_null(*let_expr(l->index));
        let_may_be_null_.emplace(l->index, nullable);
        return nullable;
    }
    if (const auto* a = std::get_if<bound::AggregateRef>(&e.node)) {
        const auto fn = rules_.program.aggregates[static_cast<size_t>(a->index)].fn;
        return fn != bound::AggFn::Count && fn != bound::AggFn::CountDistinct &&
               fn != bound::AggFn::Sum;
    }
    const auto* c = std::get_if<bound::Call>(&e.node);
    if (!c) return true;
    const auto arg_may_be_null = [&](size_t i) {
        return i >= c->args.size() || !c->args[i] || may_be_null(*c->args[i]);
    };
    switch (c->fn) {
        case bound::Fn::Ntile:
        case bound::Fn::PercentRank:
            return arg_may_be_null(0);
        case bound::Fn::Coalesce:  // null only when every argument is
        case bound::Fn::Least:
        case bound::Fn::Greatest:
            for (size_t i = 0; i < c->args.size(); ++i)
                if (!arg_may_be_null(i)) return false;
            return true;
        case bound::Fn::If:  // either branch may be taken
            return arg_may_be_null(1) || arg_may_be_null(2);
        default:
            return true;
    }
}

}  // namespace strata::partition
