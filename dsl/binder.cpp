// The binder: names, lets, operators and the walk over an expression (binder_calls.cpp binds
// calls and aggregates), and the Binder's public face.
#include <algorithm>
#include <functional>
#include <optional>

#include "dsl/binder_impl.hpp"

namespace strata {

namespace {

using bound::ExprPtr;
using Code = DiagnosticCode;

}  // namespace

// ---- names ----

ExprPtr Binder::Impl::bind_let_ref(const ast::Expr& src, const std::string& name) {
    LetInfo& info = lets.at(name);
    ++info.uses;
    if (info.state == LetState::Active) {
        auto start = std::find(let_stack.begin(), let_stack.end(), name);
        std::string cycle;
        for (auto it = start; it != let_stack.end(); ++it)
            cycle += *it + " -> ";
        cycle += name;
        error(Code::Cycle, src.span, "cycle between let names: " + cycle);
        for (auto it = start; it != let_stack.end(); ++it)
            lets.at(*it).failed = true;
        return failed(src);
    }
    if (info.state == LetState::Pending) {
        // Binding follows let references depth-first; a very long chain would exhaust
        // the stack, so it stops at a depth no hand-written rule file reaches: a chain of
        // kMaxLetDepth references (kMaxLetDepth + 1 lets) binds, one more is refused.
        if (let_stack.size() > kMaxLetDepth) {
            if (!let_depth_reported)
                error(Code::Limit, src.span,
                      "lets refer to each other more than " + std::to_string(kMaxLetDepth) +
                          " deep (" + let_stack.front() + " -> ... -> " + name + ")");
            let_depth_reported = true;
            lets_not_read.push_back(name);
            info.failed = true;
            info.state = LetState::Done;
            return failed(src);
        }
        bind_let(name);
    }
    if (info.failed) return failed(src);
    return make(src, info.type, bound::LetRef{info.index});
}

void Binder::Impl::bind_let(const std::string& name) {
    LetInfo& info = lets.at(name);
    info.state = LetState::Active;
    let_stack.push_back(name);
    const ExprRef saved = current;
    const int saved_fact = fact_context;
    current = info.ref;
    fact_context = -1;
    ExprPtr e = bind_expr(*info.ref.ast);
    current = saved;
    fact_context = saved_fact;
    let_stack.pop_back();
    info.state = LetState::Done;
    info.type = e->type;
    info.index = static_cast<int>(program.lets.size());
    program.lets.push_back({name, e->type, std::move(e)});
}

ExprPtr Binder::Impl::field_access(const ast::Expr& src, const ast::Name& name, size_t part,
                                   ExprPtr base) {
    if (part >= name.parts.size()) return base;
    if (base->type == Type::Any) return failed(src);
    const std::string& field = name.parts[part];
    if (base->type != Type::Record) {
        error(Code::TypeMismatch, name.part_spans[part],
              "'" + name.parts[part - 1] + "' is " + with_article(base->type) +
                  " and has no field '" + field + "'");
        return failed(src);
    }
    const auto& fields = bound::rfm_fields();
    auto it = std::find(fields.begin(), fields.end(), field);
    if (it == fields.end()) {
        error(Code::UnknownName, name.part_spans[part],
              "unknown field '" + field + "' of an rfm record" + did_you_mean(field, fields) +
                  "; it has r, f, m and code");
        return failed(src);
    }
    const int index = static_cast<int>(it - fields.begin());
    ExprPtr e =
        make(src, index == 3 ? Type::String : Type::Int, bound::Field{std::move(base), index});
    return field_access(src, name, part + 1, std::move(e));
}

ExprPtr Binder::Impl::bind_fact_name(const ast::Expr& src, const ast::Name& name) {
    const auto& fact = scope.facts[static_cast<size_t>(fact_context)];
    size_t first = 0;
    if (name.parts.size() > 1 && name.parts[0] == fact.name)
        first = 1;
    else if (name.parts.size() > 1 && find_fact(name.parts[0]) >= 0) {
        error(
            Code::Scope, src.span,
            "an aggregate over '" + fact.name + "' cannot use columns of '" + name.parts[0] + "'");
        return failed(src);
    }
    if (name.parts.size() - first != 1) {
        error(Code::Scope, src.span,
              "'" + name.dotted() + "' is not a column of '" + fact.name + "'");
        return failed(src);
    }
    const std::string& column = name.parts[first];
    auto it = fact.columns.find(column);
    if (it != fact.columns.end() || (fact.open && column != "as_of")) {
        const Type t = it != fact.columns.end() ? it->second : Type::Any;
        // Without the database, a let's name may still be a column of the fact (a let named
        // like the column it sums): a note, since a run refuses it when the fact has none.
        if (it == fact.columns.end() && first == 0 && lets.count(column))
            diags.add(Severity::Note, current.file->path(), loc(src.span),
                      "'" + column + "' is also a let, which an aggregate over '" + fact.name +
                          "' cannot read (only its columns and as_of): this is a column '" +
                          column + "' of '" + fact.name +
                          "', and a run refuses it unless that table has one (check --db knows)",
                      Code::Scope);
        return make(src, t, bound::FactColumn{fact_column(fact_context, column, t)});
    }
    if (first == 0 && column == "as_of") return make(src, Type::Date, bound::AsOf{});
    std::vector<std::string> names;
    for (const auto& [n, t] : fact.columns)
        names.push_back(n);
    if (first == 0 && (scope.columns.count(column) || lets.count(column))) {
        error(Code::Scope, src.span,
              "'" + column + "' is " + (lets.count(column) ? "a let" : "a customer field") +
                  "; inside an aggregate over '" + fact.name +
                  "' only its columns and as_of can be used");
    } else {
        error(Code::UnknownName, name.part_spans[first],
              "unknown column '" + column + "' in fact '" + fact.name + "'" +
                  diags.did_you_mean(column, names));
    }
    return failed(src);
}

ExprPtr Binder::Impl::bind_name(const ast::Expr& src, const ast::Name& name) {
    if (fact_context >= 0) return bind_fact_name(src, name);
    const std::string& head = name.parts[0];
    // (A let of that name is what the rule reads, not the built-in: no word about it here.)
    if ((head == "as_of" || bound::state_field_type(head)) && scope.columns.count(head) &&
        !lets.count(head) && hidden_columns_told.insert(head).second)
        warning(Code::HiddenColumn, name.part_spans[0],
                "'" + head +
                    "' is the built-in here, not the customer table's column of that name, which "
                    "no rule can read; rename the column to read it (strata import names it '" +
                    head + "_')");
    if (head == "as_of") {
        if (name.parts.size() > 1) {
            error(Code::TypeMismatch, name.part_spans[1], "'as_of' is a date and has no fields");
            return failed(src);
        }
        return make(src, Type::Date, bound::AsOf{});
    }
    if (lets.count(head)) return field_access(src, name, 1, bind_let_ref(src, head));
    if (const auto state = bound::state_field_type(head)) {
        if (name.parts.size() > 1) {
            error(Code::TypeMismatch, name.part_spans[1],
                  "'" + head + "' is " + with_article(*state) + " and has no fields");
            return failed(src);
        }
        return make(
            src, *state,
            bound::CustomerColumn{customer_column(head, *state, bound::ColumnSource::State)});
    }
    if (find_fact(head) >= 0) {
        error(Code::Scope, src.span,
              "'" + name.dotted() + "' belongs to fact table '" + head +
                  "'; use it inside an aggregate such as count(" + head + ") or sum(" + head +
                  ".amount)");
        return failed(src);
    }
    auto it = scope.columns.find(head);
    if (it != scope.columns.end() || scope.open_columns) {
        const Type t = it != scope.columns.end() ? it->second : Type::Any;
        ExprPtr e = make(src, t, bound::CustomerColumn{customer_column(head, t)});
        if (name.parts.size() > 1) {
            if (t == Type::Any) return failed(src);
            error(Code::TypeMismatch, name.part_spans[1],
                  "'" + head + "' is " + with_article(t) + " and has no field '" + name.parts[1] +
                      "'");
            return failed(src);
        }
        return e;
    }
    std::string hint =
        name.parts.size() == 1 ? hints::for_unknown_field(head, *current.text) : std::string{};
    if (hint.empty()) hint = diags.did_you_mean(head, customer_names());
    error(Code::UnknownName, name.part_spans[0], "unknown field '" + head + "'" + hint);
    return failed(src);
}

// ---- operators ----

const char* Binder::Impl::unknown_arithmetic(const bound::Expr& e) const {
    const bound::Expr* at = &e;
    // A let names an earlier let at most once per step, so the walk ends.
    for (size_t step = 0; step <= program.lets.size() && is_open(at->type); ++step) {
        if (const auto* b = std::get_if<bound::Binary>(&at->node)) {
            const bool arithmetic = b->op == ast::BinaryOp::Add || b->op == ast::BinaryOp::Sub ||
                                    b->op == ast::BinaryOp::Mul || b->op == ast::BinaryOp::Div ||
                                    b->op == ast::BinaryOp::Mod;
            return arithmetic ? ast::to_string(b->op) : nullptr;
        }
        if (const auto* u = std::get_if<bound::Unary>(&at->node))
            return u->op == ast::UnaryOp::Negate ? "-" : nullptr;
        const auto* let = std::get_if<bound::LetRef>(&at->node);
        if (!let || let->index < 0 || static_cast<size_t>(let->index) >= program.lets.size())
            return nullptr;
        at = program.lets[static_cast<size_t>(let->index)].expr.get();
        if (!at) return nullptr;
    }
    return nullptr;
}

ExprPtr Binder::Impl::bind_unary(const ast::Expr& src, const ast::Unary& u) {
    ExprPtr operand = bind_expr(*u.operand);
    const Type t = operand->type;
    if (u.op == ast::UnaryOp::Not) {
        if (!may_be_condition(*operand)) {
            error(Code::TypeMismatch, u.operand->span,
                  "'not' needs a condition, but this is " + kind_of(*operand));
            return failed(src);
        }
        return make(src, Type::Bool, bound::Unary{u.op, std::move(operand)});
    }
    if (!is_numeric(t) && t != Type::Duration && !is_open(t)) {
        error(Code::TypeMismatch, u.operand->span,
              "'-' needs a number or a duration, but this is " + with_article(t));
        return failed(src);
    }
    return make(src, t == Type::Null ? Type::Any : t, bound::Unary{u.op, std::move(operand)});
}

void Binder::Impl::warn_null_comparison(const ast::Expr& src, const bound::Expr& lhs,
                                        const bound::Expr& rhs) {
    if (lhs.type == Type::Null || rhs.type == Type::Null) {
        warning(Code::NullComparison, src.span,
                "comparing with null is never true; use 'is null' or 'is not null'");
    }
}

std::optional<Type> Binder::Impl::arithmetic_type(ast::BinaryOp op, Type l, Type r) {
    using ast::BinaryOp;
    if (is_open(l) || is_open(r)) {
        if (op == BinaryOp::Div) return Type::Number;
        return Type::Any;
    }
    const bool numeric = is_numeric(l) && is_numeric(r);
    switch (op) {
        case BinaryOp::Add:
            if (numeric) return l == Type::Int && r == Type::Int ? Type::Int : Type::Number;
            if (is_temporal(l) && r == Type::Duration) return l;
            if (l == Type::Duration && is_temporal(r)) return r;
            if (l == Type::Duration && r == Type::Duration) return Type::Duration;
            if (l == Type::String && r == Type::String) return Type::String;
            return std::nullopt;
        case BinaryOp::Sub:
            if (numeric) return l == Type::Int && r == Type::Int ? Type::Int : Type::Number;
            if (is_temporal(l) && r == Type::Duration) return l;
            if (l == Type::Date && r == Type::Date) return Type::Int;
            if (l == Type::Duration && r == Type::Duration) return Type::Duration;
            return std::nullopt;
        case BinaryOp::Mul:
            if (numeric) return l == Type::Int && r == Type::Int ? Type::Int : Type::Number;
            return std::nullopt;
        case BinaryOp::Div:
            if (numeric) return Type::Number;
            return std::nullopt;
        case BinaryOp::Mod:
            if (numeric) return l == Type::Int && r == Type::Int ? Type::Int : Type::Number;
            return std::nullopt;
        default:
            return std::nullopt;
    }
}

ExprPtr Binder::Impl::bind_binary(const ast::Expr& src, const ast::Binary& b) {
    using ast::BinaryOp;
    ExprPtr lhs = bind_expr(*b.lhs);
    ExprPtr rhs = bind_expr(*b.rhs);
    const Type l = lhs->type, r = rhs->type;
    const std::string op = ast::to_string(b.op);
    switch (b.op) {
        case BinaryOp::And:
        case BinaryOp::Or: {
            for (const auto* side : {&*b.lhs, &*b.rhs}) {
                const bound::Expr& bound_side = side == &*b.lhs ? *lhs : *rhs;
                if (!may_be_condition(bound_side)) {
                    error(Code::TypeMismatch, side->span,
                          "'" + op + "' needs conditions on both sides, but this is " +
                              kind_of(bound_side));
                    return failed(src);
                }
            }
            return make(src, Type::Bool, bound::Binary{b.op, std::move(lhs), std::move(rhs)});
        }
        case BinaryOp::Eq:
        case BinaryOp::Ne:
        case BinaryOp::Lt:
        case BinaryOp::Le:
        case BinaryOp::Gt:
        case BinaryOp::Ge: {
            const bool ordering = b.op != BinaryOp::Eq && b.op != BinaryOp::Ne;
            if (!comparable(l, r)) {
                // With a hint, point at the operand the hint is about.
                const std::string right_hint = date_hint(*b.rhs, l);
                const std::string left_hint = right_hint.empty() ? date_hint(*b.lhs, r) : "";
                const ast::Span at = !right_hint.empty()  ? b.rhs->span
                                     : !left_hint.empty() ? b.lhs->span
                                                          : b.op_span;
                error(Code::TypeMismatch, at,
                      "cannot compare " + with_article(l) + " with " + with_article(r) +
                          " using '" + op + "'" + right_hint + left_hint +
                          // With a hint the literal is the mistake, not the column's type.
                          (right_hint.empty() && left_hint.empty() ? declared_origins(*lhs, *rhs)
                                                                   : std::string()));
                return failed(src);
            }
            if (ordering && (!orderable(l) || !orderable(r))) {
                const Type bad = orderable(l) ? r : l;
                error(Code::TypeMismatch, b.op_span,
                      "'" + op + "' cannot order " + std::string(type_name(bad)) +
                          " values; use == or !=");
                return failed(src);
            }
            warn_null_comparison(src, *lhs, *rhs);
            return make(src, Type::Bool, bound::Binary{b.op, std::move(lhs), std::move(rhs)});
        }
        default: {
            auto t = arithmetic_type(b.op, l, r);
            if (!t) {
                // Only dates subtract: a datetime's difference could mean elapsed time or
                // calendar days, and the language has no duration shorter than a day.
                const bool datetimes = b.op == BinaryOp::Sub && is_temporal(l) && is_temporal(r);
                error(Code::TypeMismatch, b.op_span,
                      "cannot apply '" + op + "' to " + with_article(l) + " and " +
                          with_article(r) +
                          (datetimes ? "; use days_between(from, to) for the "
                                       "calendar days between them"
                                     : "") +
                          declared_origins(*lhs, *rhs));
                return failed(src);
            }
            return make(src, *t, bound::Binary{b.op, std::move(lhs), std::move(rhs)});
        }
    }
}

ExprPtr Binder::Impl::bind_in(const ast::Expr& src, const ast::InList& in) {
    ExprPtr value = bind_expr(*in.value);
    std::vector<ExprPtr> items;
    bool ok = true;
    // The items' common type so far: when the value's type is not known (checked without
    // --db), items that cannot share a type are still a mistake whatever the column holds.
    Type items_type = Type::Null;
    for (const auto& item : in.items) {
        ExprPtr b = bind_expr(*item);
        if (!comparable(value->type, b->type)) {
            error(Code::TypeMismatch, item->span,
                  "list item is " + with_article(b->type) + " but the value is " +
                      with_article(value->type) + date_hint(*item, value->type));
            ok = false;
        } else if (is_open(value->type) && !comparable(items_type, b->type)) {
            error(Code::TypeMismatch, item->span,
                  "list item is " + with_article(b->type) + " but an earlier item is " +
                      with_article(items_type) + "; a value is compared with items of one type");
            ok = false;
        } else if (auto common = unify(items_type, b->type)) {
            items_type = *common;
        }
        items.push_back(std::move(b));
    }
    if (!ok) return failed(src);
    return make(src, Type::Bool, bound::InList{std::move(value), std::move(items), in.negated});
}

ExprPtr Binder::Impl::bind_between(const ast::Expr& src, const ast::Between& bt) {
    ExprPtr value = bind_expr(*bt.value);
    ExprPtr low = bind_expr(*bt.low);
    ExprPtr high = bind_expr(*bt.high);
    for (const auto* side : {&low, &high}) {
        const ast::Expr& side_src = side == &low ? *bt.low : *bt.high;
        if (!comparable(value->type, (*side)->type) || !orderable(value->type) ||
            !orderable((*side)->type)) {
            error(Code::TypeMismatch, side_src.span,
                  "'between' cannot compare " + with_article(value->type) + " with " +
                      with_article((*side)->type) + date_hint(side_src, value->type));
            return failed(src);
        }
    }
    return make(src, Type::Bool,
                bound::Between{std::move(value), std::move(low), std::move(high), bt.negated});
}

ExprPtr Binder::Impl::bind_expr(const ast::Expr& e) {
    if (bind_depth >= kMaxBindDepth) {
        if (!bind_depth_reported)
            error(Code::Limit, e.span, "expressions and the lets they use nest too deeply");
        bind_depth_reported = true;
        return failed(e);
    }
    ++bind_depth;
    ExprPtr out = bind_node(e);
    --bind_depth;
    return out;
}

ExprPtr Binder::Impl::bind_node(const ast::Expr& e) {
    return std::visit(
        [&](const auto& n) -> ExprPtr {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, ast::Literal>) {
                Type t = Type::Null;
                std::visit(
                    [&t](const auto& v) {
                        using V = std::decay_t<decltype(v)>;
                        if constexpr (std::is_same_v<V, bool>)
                            t = Type::Bool;
                        else if constexpr (std::is_same_v<V, int64_t>)
                            t = Type::Int;
                        else if constexpr (std::is_same_v<V, double>)
                            t = Type::Number;
                        else if constexpr (std::is_same_v<V, std::string>)
                            t = Type::String;
                        else if constexpr (std::is_same_v<V, Date>)
                            t = Type::Date;
                        else if constexpr (std::is_same_v<V, DateTime>)
                            t = Type::DateTime;
                        else if constexpr (std::is_same_v<V, Duration>)
                            t = Type::Duration;
                    },
                    n.value);
                return make(e, t, bound::Literal{n.value});
            } else if constexpr (std::is_same_v<T, ast::Name>) {
                return bind_name(e, n);
            } else if constexpr (std::is_same_v<T, ast::Unary>) {
                return bind_unary(e, n);
            } else if constexpr (std::is_same_v<T, ast::Binary>) {
                return bind_binary(e, n);
            } else if constexpr (std::is_same_v<T, ast::InList>) {
                return bind_in(e, n);
            } else if constexpr (std::is_same_v<T, ast::Between>) {
                return bind_between(e, n);
            } else if constexpr (std::is_same_v<T, ast::IsNull>) {
                ExprPtr value = bind_expr(*n.value);
                return make(e, Type::Bool, bound::IsNull{std::move(value), n.negated});
            } else {
                return bind_call(e, n);
            }
        },
        e.node);
}

Binder::Binder(NameScope scope, Diagnostics& diags)
    : impl_(std::make_unique<Impl>(std::move(scope), diags)) {}
Binder::~Binder() = default;

void Binder::define_let(const std::string& name, ExprRef expr) {
    Impl::LetInfo info{expr};
    if (!expr.ast) {  // it did not parse: references to it are quietly unknown
        info.state = Impl::LetState::Done;
        info.failed = true;
    }
    impl_->lets[name] = info;
    impl_->let_order.push_back(name);
}

bound::ExprPtr Binder::bind(ExprRef expr) {
    impl_->current = expr;
    impl_->fact_context = -1;
    return impl_->bind_expr(*expr.ast);
}

void Binder::bind_all_lets() {
    for (const auto& name : impl_->let_order) {
        if (impl_->lets.at(name).state == Impl::LetState::Pending) impl_->bind_let(name);
    }
}

bound::Program Binder::take_program() {
    return std::move(impl_->program);
}

const std::vector<std::string>& Binder::lets_not_read() const {
    return impl_->lets_not_read;
}

bool Binder::may_be_condition(const bound::Expr& e) const {
    return impl_->may_be_condition(e);
}

std::string Binder::kind_of(const bound::Expr& e) const {
    return impl_->kind_of(e);
}

std::vector<std::string> Binder::unused_lets() const {
    std::vector<std::string> out;
    for (const auto& name : impl_->let_order) {
        if (impl_->lets.at(name).uses == 0) out.push_back(name);
    }
    return out;
}

}  // namespace strata
