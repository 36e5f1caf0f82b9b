#include "analysis/domains.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "dsl/functions.hpp"

namespace strata::partition {

namespace {

using bound::Expr;

bool whole(double x) {
    return std::isfinite(x) && std::floor(x) == x;
}

std::string number_text(double x) {
    if (whole(x) && std::fabs(x) < 1e15) return std::to_string(static_cast<int64_t>(x));
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

std::string quoted(const std::string& s) {
    return "'" + s + "'";
}

ast::BinaryOp mirrored(ast::BinaryOp op) {
    switch (op) {
        case ast::BinaryOp::Lt:
            return ast::BinaryOp::Gt;
        case ast::BinaryOp::Le:
            return ast::BinaryOp::Ge;
        case ast::BinaryOp::Gt:
            return ast::BinaryOp::Lt;
        case ast::BinaryOp::Ge:
            return ast::BinaryOp::Le;
        default:
            return op;
    }
}

bool is_comparison(ast::BinaryOp op) {
    using B = ast::BinaryOp;
    return op == B::Eq || op == B::Ne || op == B::Lt || op == B::Le || op == B::Gt || op == B::Ge;
}

TruthSet truth(bool b) {
    return b ? kTrue : kFalse;
}

const char* function_name(bound::Fn fn) {
    for (const auto& f : functions()) {
        if (f.kind != FnKind::Aggregate && f.id == static_cast<int>(fn)) return f.name;
    }
    return "?";
}

template <typename F>
void for_each_child(const Expr& e, F&& f) {
    std::visit(
        [&](const auto& n) {
            using N = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<N, bound::Field>) {
                f(*n.record);
            } else if constexpr (std::is_same_v<N, bound::Unary>) {
                f(*n.operand);
            } else if constexpr (std::is_same_v<N, bound::Binary>) {
                f(*n.lhs);
                f(*n.rhs);
            } else if constexpr (std::is_same_v<N, bound::InList>) {
                f(*n.value);
                for (const auto& i : n.items)
                    f(*i);
            } else if constexpr (std::is_same_v<N, bound::Between>) {
                f(*n.value);
                f(*n.low);
                f(*n.high);
            } else if constexpr (std::is_same_v<N, bound::IsNull>) {
                f(*n.value);
            } else if constexpr (std::is_same_v<N, bound::Call>) {
                for (const auto& a : n.args)
                    if (a) f(*a);
            }
        },
        e.node);
}

}  // namespace

// ---- reading the bound tree ------------------------------------------------------------

const Expr* Model::let_expr(int index) const {
    return rules_.program.lets[static_cast<size_t>(index)].expr.get();
}

std::string Model::text(const Expr& e) const {
    return std::visit(
        [&](const auto& n) -> std::string {
            using N = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<N, bound::Literal>) {
                return std::visit(
                    [](const auto& v) -> std::string {
                        using V = std::decay_t<decltype(v)>;
                        if constexpr (std::is_same_v<V, ast::Null>)
                            return "null";
                        else if constexpr (std::is_same_v<V, bool>)
                            return v ? "true" : "false";
                        else if constexpr (std::is_same_v<V, int64_t>)
                            return std::to_string(v);
                        else if constexpr (std::is_same_v<V, double>)
                            return number_text(v);
                        else if constexpr (std::is_same_v<V, std::string>)
                            return quoted(v);
                        else if constexpr (std::is_same_v<V, Date>)
                            return format_date(v);
                        else if constexpr (std::is_same_v<V, DateTime>)
                            return format_datetime(v);
                        else
                            return format_duration(v);
                    },
                    n.value);
            } else if constexpr (std::is_same_v<N, bound::CustomerColumn>) {
                return rules_.program.columns[static_cast<size_t>(n.slot)].name;
            } else if constexpr (std::is_same_v<N, bound::FactColumn>) {
                return "column";
            } else if constexpr (std::is_same_v<N, bound::LetRef>) {
                return rules_.program.lets[static_cast<size_t>(n.index)].name;
            } else if constexpr (std::is_same_v<N, bound::AsOf>) {
                return "as_of";
            } else if constexpr (std::is_same_v<N, bound::AggregateRef>) {
                return rules_.program.aggregates[static_cast<size_t>(n.index)].text;
            } else if constexpr (std::is_same_v<N, bound::Field>) {
                return text(*n.record) + "." + bound::rfm_fields()[static_cast<size_t>(n.field)];
            } else if constexpr (std::is_same_v<N, bound::Unary>) {
                return n.op == ast::UnaryOp::Not ? "not " + text(*n.operand)
                                                 : "-" + text(*n.operand);
            } else if constexpr (std::is_same_v<N, bound::Binary>) {
                return "(" + text(*n.lhs) + " " + ast::to_string(n.op) + " " + text(*n.rhs) + ")";
            } else if constexpr (std::is_same_v<N, bound::InList>) {
                std::string s = text(*n.value) + (n.negated ? " not in [" : " in [");
                for (size_t i = 0; i < n.items.size(); ++i)
                    s += (i ? ", " : "") + text(*n.items[i]);
                return s + "]";
            } else if constexpr (std::is_same_v<N, bound::Between>) {
                return text(*n.value) + (n.negated ? " not between " : " between ") + text(*n.low) +
                       " and " + text(*n.high);
            } else if constexpr (std::is_same_v<N, bound::IsNull>) {
                return text(*n.value) + (n.negated ? " is not null" : " is null");
            } else {
                std::string s = std::string(function_name(n.fn)) + "(";
                bool first = true;
                for (const auto& a : n.args) {
                    if (!a) continue;
                    s += (first ? "" : ", ") + text(*a);
                    first = false;
                }
                return s + ")";
            }
        },
        e.node);
}

void Model::roots(const Expr& e, std::set<std::string>& out) const {
    if (const auto* c = std::get_if<bound::CustomerColumn>(&e.node)) {
        out.insert("column '" + rules_.program.columns[static_cast<size_t>(c->slot)].name + "'");
    } else if (const auto* a = std::get_if<bound::AggregateRef>(&e.node)) {
        const auto& agg = rules_.program.aggregates[static_cast<size_t>(a->index)];
        out.insert("fact table '" + rules_.program.facts[static_cast<size_t>(agg.fact)].name + "'");
    } else if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        auto it = let_roots_.find(l->index);
        if (it == let_roots_.end()) {
            std::set<std::string> of_let;
            roots(*let_expr(l->index), of_let);
            it = let_roots_.emplace(l->index, std::move(of_let)).first;
        }
        out.insert(it->second.begin(), it->second.end());
    } else {
        for_each_child(e, [&](const Expr& c) { roots(c, out); });
    }
}

std::optional<Constant> Model::constant(const Expr& e) const {
    std::optional<Constant> c = constant_as_written(e);
    // From 2^53 on, neighbouring numbers are one double: c - 1, c and c + 1 could not stand for
    // the classes they split. Such a constant is not read, so what it decides stays unproven.
    constexpr double kExactUpTo = 9007199254740992.0;  // 2^53
    if (c && c->kind == Constant::Kind::Number && !(std::fabs(c->number) < kExactUpTo)) {
        c->kind = Constant::Kind::Unsupported;
        c->text = "a number beyond 2^53, where the analysis cannot tell neighbouring numbers apart";
    }
    return c;
}

std::optional<Constant> Model::constant_as_written(const Expr& e) const {
    Constant c;
    if (const auto* lit = std::get_if<bound::Literal>(&e.node)) {
        const auto& v = lit->value;
        if (std::holds_alternative<ast::Null>(v)) {
            c.kind = Constant::Kind::Null;
        } else if (const auto* b = std::get_if<bool>(&v)) {
            c.kind = Constant::Kind::Bool;
            c.number = *b ? 1 : 0;
            c.integral = true;
        } else if (const auto* i = std::get_if<int64_t>(&v)) {
            c.kind = Constant::Kind::Number;
            c.number = static_cast<double>(*i);
            c.integral = true;
        } else if (const auto* d = std::get_if<double>(&v)) {
            c.kind = Constant::Kind::Number;
            c.number = *d;
            c.integral = whole(*d);
        } else if (const auto* s = std::get_if<std::string>(&v)) {
            c.kind = Constant::Kind::String;
            c.text = *s;
        } else if (const auto* date = std::get_if<Date>(&v)) {
            c.kind = Constant::Kind::FixedDate;
            c.number = date->days;
            c.integral = true;
        }
        return c;  // datetimes and durations stay Unsupported
    }
    if (std::holds_alternative<bound::AsOf>(e.node)) {
        c.kind = Constant::Kind::AsOfDate;
        return c;
    }
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        if (let_depth_ > 300) return std::nullopt;
        if (auto it = let_constants_.find(l->index); it != let_constants_.end()) return it->second;
        std::optional<Constant> c = constant(*let_expr(l->index));
        let_constants_.emplace(l->index, c);
        return c;
    }
    if (const auto* u = std::get_if<bound::Unary>(&e.node)) {
        if (u->op != ast::UnaryOp::Negate) return std::nullopt;
        auto inner = constant(*u->operand);
        if (!inner) return std::nullopt;
        if (inner->kind != Constant::Kind::Number) return Constant{};
        inner->number = -inner->number;
        return inner;
    }
    if (const auto* b = std::get_if<bound::Binary>(&e.node)) {
        const bool add = b->op == ast::BinaryOp::Add, sub = b->op == ast::BinaryOp::Sub;
        if (!add && !sub) return std::nullopt;
        auto l = constant(*b->lhs);
        const auto* dur_lit = std::get_if<bound::Literal>(&b->rhs->node);
        const Duration* dur = dur_lit ? std::get_if<Duration>(&dur_lit->value) : nullptr;
        if (l && dur) {
            const int sign = add ? 1 : -1;
            // A date or duration past the calendar's range is null in a run, as here.
            Constant null;
            null.kind = Constant::Kind::Null;
            if (l->kind == Constant::Kind::AsOfDate) {
                const auto offset = combined_durations(l->offset, *dur, sign);
                if (!offset) return null;
                // An offset that moves some as_of out of the range and not others is no one
                // constant: the analysis reads the expression as a variable.
                if (!moved_date(Date{days_from_civil(1, 1, 1)}, *offset, 1) ||
                    !moved_date(Date{days_from_civil(9999, 12, 31)}, *offset, 1))
                    return std::nullopt;
                l->offset = *offset;
                return l;
            }
            if (l->kind == Constant::Kind::FixedDate) {
                const auto moved = moved_date(Date{static_cast<int32_t>(l->number)}, *dur, sign);
                if (!moved) return null;
                l->number = moved->days;
                return l;
            }
            return Constant{};
        }
        auto r = constant(*b->rhs);
        if (!l || !r) return std::nullopt;
        if (l->kind == Constant::Kind::Number && r->kind == Constant::Kind::Number) {
            l->number = add ? l->number + r->number : l->number - r->number;
            l->integral = l->integral && r->integral;
            return l;
        }
        // A date moved by a duration the analysis does not read (a let's, or one written
        // first) may leave the calendar's range and be null: not a constant it can vouch for.
        auto is_date = [](const Constant& c) {
            return c.kind == Constant::Kind::FixedDate || c.kind == Constant::Kind::AsOfDate;
        };
        if (is_date(*l) || is_date(*r)) return std::nullopt;
        return Constant{};
    }
    return std::nullopt;
}

int Model::add_var(const std::string& key, Var var) {
    auto it = std::find(keys_.begin(), keys_.end(), key);
    if (it != keys_.end()) return static_cast<int>(it - keys_.begin());
    keys_.push_back(key);
    vars_.push_back(std::move(var));
    return static_cast<int>(vars_.size() - 1);
}

int Model::atom(const Expr& e) {
    // A condition the analysis does not read is one opaque value, also under `is null`.
    if (e.type == Type::Bool && !std::holds_alternative<bound::CustomerColumn>(e.node) &&
        !std::holds_alternative<bound::LetRef>(e.node) &&
        !std::holds_alternative<bound::AggregateRef>(e.node) &&
        !std::holds_alternative<bound::Field>(e.node)) {
        Pred p = condition(e);
        if (p.op == Pred::Op::IsTrue && vars_[static_cast<size_t>(p.var)].kind == VarKind::Opaque)
            return p.var;
    }
    std::string key;
    if (const auto* c = std::get_if<bound::CustomerColumn>(&e.node)) {
        key = "column " + std::to_string(c->slot);
    } else if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        key = "let " + std::to_string(l->index);
    } else if (const auto* a = std::get_if<bound::AggregateRef>(&e.node)) {
        key = "aggregate " + std::to_string(a->index);
    } else {
        key = "expression " + text(e);
    }
    auto it = std::find(keys_.begin(), keys_.end(), key);
    if (it != keys_.end()) return static_cast<int>(it - keys_.begin());
    Var var;
    var.name = text(e);
    var.location = e.location;
    describe(e, var);
    roots(e, var.roots);
    return add_var(key, std::move(var));
}

std::string Model::written(const Expr& e) const {
    const Location& at = e.location;
    const std::string_view line = rules_.source.line(at.line);
    if (at.valid() && at.col >= 1 && static_cast<size_t>(at.col - 1 + at.length) <= line.size())
        return std::string(
            line.substr(static_cast<size_t>(at.col - 1), static_cast<size_t>(at.length)));
    return text(e);
}

Pred Model::opaque(const Expr& e, const std::string& why) {
    Var var;
    var.name = written(e);
    var.kind = VarKind::Opaque;
    var.location = e.location;
    var.unsupported = why;
    Pred p;
    p.op = Pred::Op::IsTrue;
    // The same expression is the same value for a customer, wherever it is written.
    p.var = add_var("opaque " + text(e), std::move(var));
    return p;
}

Pred Model::comparison(const Expr& e, ast::BinaryOp op, const Expr& lhs_in, const Expr& rhs_in) {
    const Expr* lhs = &lhs_in;
    const Expr* rhs = &rhs_in;
    auto left = constant(*lhs);
    auto right = constant(*rhs);
    if (left && !right) {
        std::swap(lhs, rhs);
        std::swap(left, right);
        op = mirrored(op);
    }
    if (!right) return opaque(e, "it compares two fields with each other");
    Pred p;
    if (right->kind == Constant::Kind::Null) {
        p.constant = kUnknown;  // a comparison with null is never true
        return p;
    }
    if (left || right->kind == Constant::Kind::Unsupported)
        return opaque(
            e, "it compares with " + text(*rhs) + ", which is " +
                   (right->text.empty() ? "not a constant the analysis reads" : right->text));
    if (right->kind == Constant::Kind::String && op != ast::BinaryOp::Eq && op != ast::BinaryOp::Ne)
        return opaque(e, "it orders strings");
    // days_since(d) > 30 is d < as_of - 30d, so that it shares d's values with `d < ...`.
    if (const auto* call = std::get_if<bound::Call>(&lhs->node);
        call && right->kind == Constant::Kind::Number && right->integral &&
        (call->fn == bound::Fn::DaysSince || call->fn == bound::Fn::DaysBetween)) {
        const Expr& date = *call->args[0];
        const bool since = call->fn == bound::Fn::DaysSince ||
                           std::holds_alternative<bound::AsOf>(call->args[1]->node);
        // A count of days past 32 bits has no as_of offset (and no date a run could give).
        const bool fits = right->number >= INT32_MIN + 1.0 && right->number <= INT32_MAX;
        if (since && fits && (date.type == Type::Date || date.type == Type::Any) &&
            !constant(date)) {
            lhs = &date;
            op = mirrored(op);
            Constant c;
            c.kind = Constant::Kind::AsOfDate;
            c.offset.days = -static_cast<int32_t>(right->number);
            right = c;
        }
    }
    p.op = Pred::Op::Compare;
    p.location = e.location;
    p.source = written(e);
    p.compare = op;
    p.var = atom(*lhs);
    vars_[static_cast<size_t>(p.var)].constants.push_back(*right);
    p.constants.push_back(*right);
    return p;
}

Pred Model::condition(const Expr& e) {
    ++conditions_built_;
    Pred p;
    if (const auto* lit = std::get_if<bound::Literal>(&e.node)) {
        const bool* b = std::get_if<bool>(&lit->value);
        p.constant = b ? truth(*b) : kUnknown;
        return p;
    }
    if (const auto* l = std::get_if<bound::LetRef>(&e.node); l && e.type == Type::Bool) {
        if (conditions_built_ > kConditionBudget)
            return opaque(e, "'" + text(e) + "' uses its lets too many times over to be read");
        ++let_depth_;
        p = condition(*let_expr(l->index));
        --let_depth_;
        return p;
    }
    if (const auto* u = std::get_if<bound::Unary>(&e.node)) {
        p.op = Pred::Op::Not;
        p.kids.push_back(condition(*u->operand));
        return p;
    }
    if (const auto* b = std::get_if<bound::Binary>(&e.node)) {
        if (b->op == ast::BinaryOp::And || b->op == ast::BinaryOp::Or) {
            p.op = b->op == ast::BinaryOp::And ? Pred::Op::And : Pred::Op::Or;
            p.kids.push_back(condition(*b->lhs));
            p.kids.push_back(condition(*b->rhs));
            return p;
        }
        if (is_comparison(b->op)) return comparison(e, b->op, *b->lhs, *b->rhs);
        return opaque(e, "it is not a condition the analysis reads");
    }
    if (const auto* between = std::get_if<bound::Between>(&e.node)) {
        p.op = Pred::Op::And;
        p.kids.push_back(comparison(e, ast::BinaryOp::Ge, *between->value, *between->low));
        p.kids.push_back(comparison(e, ast::BinaryOp::Le, *between->value, *between->high));
        if (!between->negated) return p;
        Pred n;
        n.op = Pred::Op::Not;
        n.kids.push_back(std::move(p));
        return n;
    }
    if (const auto* in = std::get_if<bound::InList>(&e.node)) {
        if (constant(*in->value)) return opaque(e, "its value is a constant");
        p.op = Pred::Op::In;
        p.location = e.location;
        p.source = written(e);
        for (const auto& item : in->items) {
            auto c = constant(*item);
            if (!c || c->kind == Constant::Kind::Unsupported)
                return opaque(e, "its list holds " + text(*item) + ", which is not a constant");
            p.constants.push_back(*c);
        }
        p.var = atom(*in->value);
        auto& constants = vars_[static_cast<size_t>(p.var)].constants;
        constants.insert(constants.end(), p.constants.begin(), p.constants.end());
        if (!in->negated) return p;
        Pred n;
        n.op = Pred::Op::Not;
        n.kids.push_back(std::move(p));
        return n;
    }
    if (const auto* is_null = std::get_if<bound::IsNull>(&e.node)) {
        if (auto c = constant(*is_null->value)) {
            const bool null = c->kind == Constant::Kind::Null;
            p.constant = truth(null != is_null->negated);
            return p;
        }
        p.op = Pred::Op::IsNull;
        p.negated = is_null->negated;
        p.var = atom(*is_null->value);
        return p;
    }
    if (std::holds_alternative<bound::CustomerColumn>(e.node) ||
        std::holds_alternative<bound::AggregateRef>(e.node) ||
        std::holds_alternative<bound::Field>(e.node)) {
        p.op = Pred::Op::IsTrue;
        p.var = atom(e);
        auto& var = vars_[static_cast<size_t>(p.var)];
        if (!var.typed) var.kind = VarKind::Bool;
        return p;
    }
    if (const auto* call = std::get_if<bound::Call>(&e.node))
        return opaque(e, std::string("it calls ") + function_name(call->fn) + "()");
    return opaque(e, "it is not a condition the analysis reads");
}

size_t Model::add_condition(const bound::Expr& when) {
    preds_.push_back(condition(when));
    return preds_.size() - 1;
}

}  // namespace strata::partition
