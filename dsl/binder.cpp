#include "dsl/binder.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "dsl/functions.hpp"
#include "dsl/hints.hpp"

namespace strata {

namespace {

using bound::ExprPtr;
using Code = DiagnosticCode;

bool orderable(Type t) {
    return t != Type::Bool && t != Type::Record && t != Type::Duration;
}

}  // namespace

struct Binder::Impl {
    NameScope scope;
    Diagnostics& diags;
    bound::Program program;
    std::map<std::string, int> column_slots;
    std::vector<int> fact_program_index;  // scope fact → program fact, or -1
    std::vector<std::map<std::string, int>> fact_column_slots;
    std::map<std::string, int> aggregate_by_text;

    enum class LetState { Pending, Active, Done };
    struct LetInfo {
        ExprRef ref;
        LetState state = LetState::Pending;
        int index = -1;
        Type type = Type::Any;
        int uses = 0;
        bool failed = false;
    };
    std::map<std::string, LetInfo> lets;
    std::vector<std::string> let_order;
    std::vector<std::string> let_stack;
    static constexpr size_t kMaxLetDepth = 256;
    bool let_depth_reported = false;

    ExprRef current{};
    int fact_context = -1;  // scope fact index while binding inside an aggregate

    Impl(NameScope s, Diagnostics& d) : scope(std::move(s)), diags(d) {
        fact_program_index.assign(scope.facts.size(), -1);
        fact_column_slots.resize(scope.facts.size());
    }

    Location loc(ast::Span span) const { return current.text->locate(*current.file, span); }
    void error(Code code, ast::Span span, std::string msg) {
        diags.error(code, current.file->path(), loc(span), std::move(msg));
    }
    void warning(Code code, ast::Span span, std::string msg) {
        diags.warning(code, current.file->path(), loc(span), std::move(msg));
    }

    // A hint for an operand set against a date: a date in quotes, or 2026-1-5.
    std::string date_hint(const ast::Expr& operand, Type other) const {
        if (!is_temporal(other)) return {};
        return hints::for_date_operand(operand, current.text->text);
    }

    template <typename Node>
    ExprPtr make(const ast::Expr& src, Type type, Node node) {
        auto e = std::make_unique<bound::Expr>();
        e->type = type;
        e->location = loc(src.span);
        e->node = std::move(node);
        return e;
    }

    // A node for something already reported: typed Any so that no further errors cascade.
    ExprPtr failed(const ast::Expr& src) {
        return make(src, Type::Any, bound::Literal{ast::Null{}});
    }

    int customer_column(const std::string& name, Type type,
                        bound::ColumnSource source = bound::ColumnSource::Table) {
        auto [it, inserted] = column_slots.emplace(name, static_cast<int>(program.columns.size()));
        if (inserted) program.columns.push_back({name, type, source});
        return it->second;
    }

    int program_fact(int scope_fact) {
        int& index = fact_program_index[static_cast<size_t>(scope_fact)];
        if (index < 0) {
            const auto& f = scope.facts[static_cast<size_t>(scope_fact)];
            index = static_cast<int>(program.facts.size());
            program.facts.push_back({f.name, f.table, f.key, f.time, -1, {}});
            if (!f.time.empty()) {
                Type t = Type::Date;
                auto it = f.columns.find(f.time);
                if (it != f.columns.end() && it->second == Type::DateTime) t = Type::DateTime;
                program.facts.back().time_slot = fact_column(scope_fact, f.time, t);
            }
        }
        return index;
    }

    int fact_column(int scope_fact, const std::string& name, Type type) {
        auto& slots = fact_column_slots[static_cast<size_t>(scope_fact)];
        auto& fact = program.facts[static_cast<size_t>(program_fact(scope_fact))];
        auto [it, inserted] = slots.emplace(name, static_cast<int>(fact.columns.size()));
        if (inserted) fact.columns.push_back({name, type});
        return it->second;
    }

    int find_fact(const std::string& name) const {
        for (size_t i = 0; i < scope.facts.size(); ++i) {
            if (scope.facts[i].name == name) return static_cast<int>(i);
        }
        return -1;
    }

    std::vector<std::string> customer_names() const {
        std::vector<std::string> names{"as_of"};
        for (const auto& [name, type] : scope.columns)
            names.push_back(name);
        for (const auto& name : let_order)
            names.push_back(name);
        return names;
    }

    // ---- names ----

    ExprPtr bind_let_ref(const ast::Expr& src, const std::string& name) {
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
            // the stack, so it stops at a depth no hand-written rule file reaches.
            if (let_stack.size() >= kMaxLetDepth) {
                if (!let_depth_reported)
                    error(Code::Limit, src.span,
                          "lets refer to each other more than " + std::to_string(kMaxLetDepth) +
                              " deep (" + let_stack.front() + " -> ... -> " + name + ")");
                let_depth_reported = true;
                info.failed = true;
                info.state = LetState::Done;
                return failed(src);
            }
            bind_let(name);
        }
        if (info.failed) return failed(src);
        return make(src, info.type, bound::LetRef{info.index});
    }

    void bind_let(const std::string& name) {
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

    ExprPtr field_access(const ast::Expr& src, const ast::Name& name, size_t part, ExprPtr base) {
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

    ExprPtr bind_fact_name(const ast::Expr& src, const ast::Name& name) {
        const auto& fact = scope.facts[static_cast<size_t>(fact_context)];
        size_t first = 0;
        if (name.parts.size() > 1 && name.parts[0] == fact.name)
            first = 1;
        else if (name.parts.size() > 1 && find_fact(name.parts[0]) >= 0) {
            error(Code::Scope, src.span,
                  "an aggregate over '" + fact.name + "' cannot use columns of '" + name.parts[0] +
                      "'");
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
            return make(src, t, bound::FactColumn{fact_column(fact_context, column, t)});
        }
        if (first == 0 && column == "as_of") return make(src, Type::Date, bound::AsOf{});
        std::vector<std::string> names;
        for (const auto& [n, t] : fact.columns)
            names.push_back(n);
        if (first == 0 && (scope.columns.count(column) || lets.count(column))) {
            error(Code::Scope, src.span,
                  "'" + column + "' is a customer field; inside an aggregate over '" + fact.name +
                      "' only its columns and as_of can be used");
        } else {
            error(Code::UnknownName, name.part_spans[first],
                  "unknown column '" + column + "' in fact '" + fact.name + "'" +
                      did_you_mean(column, names));
        }
        return failed(src);
    }

    ExprPtr bind_name(const ast::Expr& src, const ast::Name& name) {
        if (fact_context >= 0) return bind_fact_name(src, name);
        const std::string& head = name.parts[0];
        if (head == "as_of") {
            if (name.parts.size() > 1) {
                error(Code::TypeMismatch, name.part_spans[1],
                      "'as_of' is a date and has no fields");
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
                      "'" + head + "' is " + with_article(t) + " and has no field '" +
                          name.parts[1] + "'");
                return failed(src);
            }
            return e;
        }
        std::string hint =
            name.parts.size() == 1 ? hints::for_unknown_field(head, *current.text) : std::string{};
        if (hint.empty()) hint = did_you_mean(head, customer_names());
        error(Code::UnknownName, name.part_spans[0], "unknown field '" + head + "'" + hint);
        return failed(src);
    }

    // ---- operators ----

    ExprPtr bind_unary(const ast::Expr& src, const ast::Unary& u) {
        ExprPtr operand = bind_expr(*u.operand);
        const Type t = operand->type;
        if (u.op == ast::UnaryOp::Not) {
            if (t != Type::Bool && !is_open(t)) {
                error(Code::TypeMismatch, u.operand->span,
                      "'not' needs a condition, but this is " + with_article(t));
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

    void warn_null_comparison(const ast::Expr& src, const bound::Expr& lhs,
                              const bound::Expr& rhs) {
        if (lhs.type == Type::Null || rhs.type == Type::Null) {
            warning(Code::NullComparison, src.span,
                    "comparing with null is never true; use 'is null' or 'is not null'");
        }
    }

    std::optional<Type> arithmetic_type(ast::BinaryOp op, Type l, Type r) {
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

    ExprPtr bind_binary(const ast::Expr& src, const ast::Binary& b) {
        using ast::BinaryOp;
        ExprPtr lhs = bind_expr(*b.lhs);
        ExprPtr rhs = bind_expr(*b.rhs);
        const Type l = lhs->type, r = rhs->type;
        const std::string op = ast::to_string(b.op);
        switch (b.op) {
            case BinaryOp::And:
            case BinaryOp::Or: {
                for (const auto* side : {&*b.lhs, &*b.rhs}) {
                    const Type t = side == &*b.lhs ? l : r;
                    if (t != Type::Bool && !is_open(t)) {
                        error(Code::TypeMismatch, side->span,
                              "'" + op + "' needs conditions on both sides, but this is " +
                                  with_article(t));
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
                              " using '" + op + "'" + right_hint + left_hint);
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
                    const bool datetimes =
                        b.op == BinaryOp::Sub && is_temporal(l) && is_temporal(r);
                    error(Code::TypeMismatch, b.op_span,
                          "cannot apply '" + op + "' to " + with_article(l) + " and " +
                              with_article(r) +
                              (datetimes ? "; use days_between(from, to) for the "
                                           "calendar days between them"
                                         : ""));
                    return failed(src);
                }
                return make(src, *t, bound::Binary{b.op, std::move(lhs), std::move(rhs)});
            }
        }
    }

    ExprPtr bind_in(const ast::Expr& src, const ast::InList& in) {
        ExprPtr value = bind_expr(*in.value);
        std::vector<ExprPtr> items;
        bool ok = true;
        for (const auto& item : in.items) {
            ExprPtr b = bind_expr(*item);
            if (!comparable(value->type, b->type)) {
                error(Code::TypeMismatch, item->span,
                      "list item is " + with_article(b->type) + " but the value is " +
                          with_article(value->type) + date_hint(*item, value->type));
                ok = false;
            }
            items.push_back(std::move(b));
        }
        if (!ok) return failed(src);
        return make(src, Type::Bool, bound::InList{std::move(value), std::move(items), in.negated});
    }

    ExprPtr bind_between(const ast::Expr& src, const ast::Between& bt) {
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

    // ---- calls ----

    // Matches a call's arguments to the function's parameters; nullopt after reporting.
    std::optional<std::vector<const ast::Arg*>> match_args(const ast::Expr& src,
                                                           const ast::Call& call,
                                                           const FunctionSpec& spec) {
        std::vector<const ast::Arg*> slots(spec.variadic ? call.args.size() : spec.params.size(),
                                           nullptr);
        bool ok = true;
        size_t positional = 0;
        for (const auto& arg : call.args) {
            if (arg.where && spec.kind != FnKind::Aggregate) {
                error(Code::BadArgument, arg.where->span,
                      "'where' filters the rows of an aggregate; '" + call.name + "' is not one");
                ok = false;
            } else if (arg.where && &arg != &call.args[0]) {
                error(Code::BadArgument, arg.where->span,
                      "'where' belongs after the first argument, e.g. count(orders where amount > "
                      "0)");
                ok = false;
            }
            if (arg.name.empty()) {
                if (positional >= slots.size()) {
                    error(Code::BadArgument, arg.value->span,
                          "too many arguments for '" + call.name + "' (it takes " +
                              std::to_string(spec.params.size()) + ")");
                    return std::nullopt;
                }
                if (!spec.variadic && slots[positional]) {
                    error(Code::BadArgument, arg.value->span,
                          "argument '" + std::string(spec.params[positional].name) +
                              "' is given twice");
                    ok = false;
                    ++positional;
                    continue;
                }
                slots[positional++] = &arg;
                continue;
            }
            std::vector<std::string> names;
            for (const auto& p : spec.params)
                names.emplace_back(p.name);
            auto it = std::find(names.begin(), names.end(), arg.name);
            if (spec.variadic || it == names.end()) {
                error(Code::UnknownName, arg.name_span,
                      "unknown argument '" + arg.name + "' for '" + call.name + "'" +
                          (spec.variadic ? "" : did_you_mean(arg.name, names)));
                ok = false;
                continue;
            }
            const size_t index = static_cast<size_t>(it - names.begin());
            if (slots[index]) {
                error(Code::BadArgument, arg.name_span,
                      "argument '" + arg.name + "' is given twice");
                ok = false;
                continue;
            }
            slots[index] = &arg;
        }
        if (spec.variadic && call.args.empty()) {
            error(Code::BadArgument, src.span, "'" + call.name + "' needs at least one argument");
            return std::nullopt;
        }
        if (!spec.variadic) {
            for (size_t i = 0; i < spec.params.size(); ++i) {
                if (!slots[i] && spec.params[i].required) {
                    error(Code::BadArgument, call.name_span,
                          "'" + call.name + "' is missing its argument '" + spec.params[i].name +
                              "'");
                    ok = false;
                }
            }
        }
        if (!ok) return std::nullopt;
        return slots;
    }

    std::optional<double> constant_number(const ast::Arg* arg, const char* what) {
        if (!arg) return std::nullopt;
        const ast::Expr* e = arg->value.get();
        double sign = 1;
        if (const auto* u = std::get_if<ast::Unary>(&e->node); u && u->op == ast::UnaryOp::Negate) {
            sign = -1;
            e = u->operand.get();
        }
        if (const auto* lit = std::get_if<ast::Literal>(&e->node)) {
            if (const auto* i = std::get_if<int64_t>(&lit->value))
                return sign * static_cast<double>(*i);
            if (const auto* d = std::get_if<double>(&lit->value)) return sign * *d;
        }
        error(Code::BadArgument, arg->value->span,
              std::string("'") + what + "' must be a number written in the rule, such as 5");
        return std::nullopt;
    }

    std::optional<std::string> constant_word(const ast::Arg* arg, const char* what) {
        if (!arg) return std::nullopt;
        if (const auto* name = std::get_if<ast::Name>(&arg->value->node);
            name && name->parts.size() == 1) {
            return name->parts[0];
        }
        if (const auto* lit = std::get_if<ast::Literal>(&arg->value->node)) {
            if (const auto* s = std::get_if<std::string>(&lit->value)) return *s;
        }
        error(Code::BadArgument, arg->value->span,
              std::string("'") + what + "' must be a word written in the rule");
        return std::nullopt;
    }

    bool expect(const ast::Expr& src, const bound::Expr& e, bool ok, const std::string& what,
                const std::string& hint = {}) {
        if (ok || e.type == Type::Any) return true;
        error(Code::TypeMismatch, src.span, what + ", but this is " + with_article(e.type) + hint);
        return false;
    }

    ExprPtr bind_call(const ast::Expr& src, const ast::Call& call) {
        const FunctionSpec* spec = find_function(call.name);
        if (!spec) {
            std::string hint = hints::for_unknown_function(call, current.text->text);
            if (hint.empty()) hint = did_you_mean(call.name, function_names());
            error(Code::UnknownName, call.name_span, "unknown function '" + call.name + "'" + hint);
            return failed(src);
        }
        auto slots = match_args(src, call, *spec);
        if (!slots) return failed(src);
        if (spec->kind == FnKind::Aggregate) return bind_aggregate(src, call, *spec, *slots);
        if (spec->kind == FnKind::Population && fact_context >= 0) {
            error(Code::Scope, call.name_span,
                  "'" + call.name +
                      "' ranks the whole customer base and cannot be used "
                      "inside an aggregate");
            return failed(src);
        }
        const auto fn = static_cast<bound::Fn>(spec->id);
        bound::Call out{fn, {}, {}};
        std::vector<const ast::Arg*> value_args = *slots;
        // Constant parameters are read from the text, not bound as expressions.
        auto drop = [&value_args](size_t i) { value_args[i] = nullptr; };
        switch (fn) {
            case bound::Fn::Ntile: {
                auto n = constant_number((*slots)[1], "n");
                if (!n) return failed(src);
                if (*n < 1 || *n > 1000 || *n != static_cast<int64_t>(*n)) {
                    error(Code::BadArgument, (*slots)[1]->value->span,
                          "ntile's 'n' must be a whole number from 1 to 1000");
                    return failed(src);
                }
                out.params.n = static_cast<int64_t>(*n);
                drop(1);
                break;
            }
            case bound::Fn::Rfm: {
                out.params.n = 5;
                if ((*slots)[3]) {
                    auto bins = constant_number((*slots)[3], "bins");
                    if (!bins) return failed(src);
                    if (*bins < 2 || *bins > 100 || *bins != static_cast<int64_t>(*bins)) {
                        error(Code::BadArgument, (*slots)[3]->value->span,
                              "rfm's 'bins' must be a whole number from 2 to 100");
                        return failed(src);
                    }
                    out.params.n = static_cast<int64_t>(*bins);
                }
                if ((*slots)[4]) {
                    auto best = constant_word((*slots)[4], "best");
                    if (!best) return failed(src);
                    if (*best != "high" && *best != "low") {
                        error(Code::BadArgument, (*slots)[4]->value->span,
                              "rfm's 'best' must be high or low");
                        return failed(src);
                    }
                    out.params.best_low = *best == "low";
                }
                drop(3);
                drop(4);
                break;
            }
            case bound::Fn::Abc:
            case bound::Fn::Xyz: {
                const bool abc = fn == bound::Fn::Abc;
                const char* first = abc ? "a" : "x";
                const char* second = abc ? "b" : "y";
                out.params.a = abc ? 0.8 : 0.1;
                out.params.b = abc ? 0.95 : 0.25;
                if ((*slots)[1]) {
                    auto v = constant_number((*slots)[1], first);
                    if (!v) return failed(src);
                    out.params.a = *v;
                }
                if ((*slots)[2]) {
                    auto v = constant_number((*slots)[2], second);
                    if (!v) return failed(src);
                    out.params.b = *v;
                }
                const bool valid =
                    abc ? (out.params.a > 0 && out.params.a < out.params.b && out.params.b <= 1)
                        : (out.params.a >= 0 && out.params.a < out.params.b);
                if (!valid) {
                    error(Code::BadArgument, call.name_span,
                          abc ? "abc needs 0 < a < b <= 1 (for example a: 0.8, b: 0.95)"
                              : "xyz needs 0 <= x < y (for example x: 0.1, y: 0.25)");
                    return failed(src);
                }
                drop(1);
                drop(2);
                break;
            }
            case bound::Fn::Matches: {
                const ast::Arg* pattern = (*slots)[1];
                const auto* lit = std::get_if<ast::Literal>(&pattern->value->node);
                const auto* text = lit ? std::get_if<std::string>(&lit->value) : nullptr;
                if (!text) {
                    error(Code::BadArgument, pattern->value->span,
                          "the pattern of 'matches' must be a string written in the rule");
                    return failed(src);
                }
                RE2::Options options;
                options.set_log_errors(false);
                options.set_max_mem(8 << 20);
                auto re = std::make_shared<RE2>(*text, options);
                if (!re->ok()) {
                    error(Code::BadArgument, pattern->value->span,
                          "invalid regular expression: " + re->error());
                    return failed(src);
                }
                out.params.regex = re;
                drop(1);
                break;
            }
            default:
                break;
        }
        for (const ast::Arg* arg : value_args)
            out.args.push_back(arg ? bind_expr(*arg->value) : nullptr);
        auto t = check_scalar_call(src, call, fn, *slots, out.args);
        if (!t) return failed(src);
        return make(src, *t, std::move(out));
    }

    // Checks argument types of a scalar or population call; returns its result type.
    std::optional<Type> check_scalar_call(const ast::Expr& src, const ast::Call& call, bound::Fn fn,
                                          const std::vector<const ast::Arg*>& args,
                                          const std::vector<ExprPtr>& bound_args) {
        using bound::Fn;
        auto arg_src = [&](size_t i) -> const ast::Expr& { return *args[i]->value; };
        auto type = [&](size_t i) { return bound_args[i]->type; };
        auto need = [&](size_t i, bool ok, const std::string& what) {
            return expect(arg_src(i), *bound_args[i], ok, "'" + call.name + "' needs " + what);
        };
        auto numeric = [&](size_t i) {
            return need(i, is_numeric(type(i)) || type(i) == Type::Null, "a number");
        };
        auto text = [&](size_t i) {
            return need(i, type(i) == Type::String || type(i) == Type::Null, "a string");
        };
        auto temporal = [&](size_t i) {
            return expect(arg_src(i), *bound_args[i], is_temporal(type(i)) || type(i) == Type::Null,
                          "'" + call.name + "' needs a date or datetime",
                          date_hint(arg_src(i), Type::Date));
        };
        auto unified = [&](size_t from, bool must_order) -> std::optional<Type> {
            Type t = Type::Null;
            for (size_t i = from; i < bound_args.size(); ++i) {
                auto u = unify(t, type(i));
                if (type(i) == Type::Record) {
                    error(Code::TypeMismatch, arg_src(i).span,
                          "'" + call.name +
                              "' cannot take a record; take its fields instead (such as " +
                              call.name + "(..., x.r, ...))");
                    return std::nullopt;
                }
                if (!u || (must_order && !orderable(type(i)))) {
                    error(Code::TypeMismatch, arg_src(i).span,
                          "'" + call.name + "' cannot mix " + with_article(t) + " and " +
                              with_article(type(i)));
                    return std::nullopt;
                }
                t = *u;
            }
            return t;
        };
        switch (fn) {
            case Fn::Coalesce:
                return unified(0, false);
            case Fn::If:
                if (!need(0, type(0) == Type::Bool || is_open(type(0)), "a condition first"))
                    return std::nullopt;
                return unified(1, false);
            case Fn::Least:
            case Fn::Greatest:
                return unified(0, true);
            case Fn::Abs:
                return numeric(0) ? std::optional(type(0) == Type::Null ? Type::Any : type(0))
                                  : std::nullopt;
            case Fn::Round:
                if (!numeric(0)) return std::nullopt;
                if (bound_args[1]) {
                    if (!need(1, type(1) == Type::Int, "a whole number of digits"))
                        return std::nullopt;
                    return Type::Number;
                }
                return Type::Int;
            case Fn::Floor:
            case Fn::Ceil:
                return numeric(0) ? std::optional(Type::Int) : std::nullopt;
            case Fn::Lower:
            case Fn::Upper:
                return text(0) ? std::optional(Type::String) : std::nullopt;
            case Fn::Length:
                return text(0) ? std::optional(Type::Int) : std::nullopt;
            case Fn::Contains:
            case Fn::StartsWith:
            case Fn::EndsWith:
                return text(0) && text(1) ? std::optional(Type::Bool) : std::nullopt;
            case Fn::Matches:
                return text(0) ? std::optional(Type::Bool) : std::nullopt;
            case Fn::DaysBetween:
                return temporal(0) && temporal(1) ? std::optional(Type::Int) : std::nullopt;
            case Fn::DaysSince:
            case Fn::Year:
            case Fn::Month:
                return temporal(0) ? std::optional(Type::Int) : std::nullopt;
            case Fn::Ntile:
                return need(0, orderable(type(0)) && type(0) != Type::Null,
                            "a value that can be ranked")
                           ? std::optional(Type::Int)
                           : std::nullopt;
            case Fn::PercentRank:
                return need(0, orderable(type(0)) && type(0) != Type::Null,
                            "a value that can be ranked")
                           ? std::optional(Type::Number)
                           : std::nullopt;
            case Fn::Rfm:
                if (!need(0, is_temporal(type(0)) || is_numeric(type(0)),
                          "a date of the last purchase (or days since it) as recency") ||
                    !numeric(1) || !numeric(2)) {
                    return std::nullopt;
                }
                return Type::Record;
            case Fn::Abc:
                return numeric(0) ? std::optional(Type::String) : std::nullopt;
            case Fn::Xyz:
                return numeric(0) ? std::optional(Type::String) : std::nullopt;
        }
        return std::nullopt;
    }

    // The fact an aggregate runs over: `count(orders)`, or the first `orders.x` in its value.
    int aggregate_fact(const ast::Expr& e) {
        if (const auto* name = std::get_if<ast::Name>(&e.node)) {
            const int f = find_fact(name->parts[0]);
            if (f >= 0) return f;
            return -1;
        }
        int found = -1;
        std::function<void(const ast::Expr&)> walk = [&](const ast::Expr& x) {
            if (found >= 0) return;
            std::visit(
                [&](const auto& n) {
                    using T = std::decay_t<decltype(n)>;
                    if constexpr (std::is_same_v<T, ast::Name>) {
                        if (n.parts.size() > 1) found = find_fact(n.parts[0]);
                    } else if constexpr (std::is_same_v<T, ast::Unary>) {
                        walk(*n.operand);
                    } else if constexpr (std::is_same_v<T, ast::Binary>) {
                        walk(*n.lhs);
                        walk(*n.rhs);
                    } else if constexpr (std::is_same_v<T, ast::Call>) {
                        for (const auto& a : n.args)
                            walk(*a.value);
                    } else if constexpr (std::is_same_v<T, ast::Between>) {
                        walk(*n.value);
                    } else if constexpr (std::is_same_v<T, ast::IsNull>) {
                        walk(*n.value);
                    } else if constexpr (std::is_same_v<T, ast::InList>) {
                        walk(*n.value);
                    }
                },
                x.node);
        };
        walk(e);
        return found;
    }

    ExprPtr bind_aggregate(const ast::Expr& src, const ast::Call& call, const FunctionSpec& spec,
                           const std::vector<const ast::Arg*>& slots) {
        if (fact_context >= 0) {
            error(Code::Scope, call.name_span,
                  "aggregates cannot be nested: '" + call.name + "' inside another aggregate");
            return failed(src);
        }
        const auto fn = static_cast<bound::AggFn>(spec.id);
        const ast::Arg& first = *slots[0];
        const int fact = aggregate_fact(*first.value);
        const auto* head = std::get_if<ast::Name>(&first.value->node);
        if (fact < 0 && head && head->parts.size() == 2 && !scope.facts.empty()) {
            std::vector<std::string> names;
            for (const auto& f : scope.facts)
                names.push_back(f.name);
            error(Code::UnknownName, head->part_spans[0],
                  "unknown fact '" + head->parts[0] + "'" + did_you_mean(head->parts[0], names) +
                      "; facts are declared under source.facts");
            return failed(src);
        }
        if (fact < 0) {
            std::string example = scope.facts.empty() ? "orders" : scope.facts[0].name;
            error(Code::BadArgument, first.value->span,
                  "'" + call.name + "' aggregates a fact table, e.g. " +
                      (fn == bound::AggFn::Count ? "count(" + example + ")"
                                                 : call.name + "(" + example + ".amount)") +
                      (scope.facts.empty() ? "; this rule file declares no facts under source.facts"
                                           : ""));
            return failed(src);
        }
        bound::Aggregate agg;
        agg.fn = fn;
        agg.fact = program_fact(fact);
        fact_context = fact;
        const auto* whole_fact = std::get_if<ast::Name>(&first.value->node);
        const bool counts_rows = whole_fact && whole_fact->parts.size() == 1;
        bool ok = true;
        if (counts_rows && fn != bound::AggFn::Count) {
            error(Code::BadArgument, first.value->span,
                  "'" + call.name + "' needs a column, e.g. " + call.name + "(" +
                      whole_fact->parts[0] + ".amount)");
            ok = false;
        } else if (!counts_rows) {
            agg.value = bind_expr(*first.value);
        }
        if (first.where) {
            agg.where = bind_expr(*first.where);
            if (agg.where->type != Type::Bool && !is_open(agg.where->type)) {
                error(Code::TypeMismatch, first.where->span,
                      "'where' needs a condition, but this is " + with_article(agg.where->type));
                ok = false;
            }
        }
        fact_context = -1;
        const Type vt = agg.value ? agg.value->type : Type::Int;
        switch (fn) {
            case bound::AggFn::Count:
            case bound::AggFn::CountDistinct:
                agg.type = Type::Int;
                break;
            case bound::AggFn::Sum:
                ok = ok && expect(*first.value, *agg.value, is_numeric(vt), "'sum' needs numbers");
                agg.type = vt == Type::Int ? Type::Int : Type::Number;
                break;
            case bound::AggFn::Avg:
                ok = ok && expect(*first.value, *agg.value, is_numeric(vt), "'avg' needs numbers");
                agg.type = Type::Number;
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max:
                ok = ok && expect(*first.value, *agg.value, orderable(vt) && vt != Type::Null,
                                  "'" + call.name + "' needs values that can be ordered");
                agg.type = vt;
                break;
            case bound::AggFn::Cv: {
                ok = ok && expect(*first.value, *agg.value, is_numeric(vt), "'cv' needs numbers");
                agg.type = Type::Number;
                if (scope.facts[static_cast<size_t>(fact)].time.empty()) {
                    error(Code::BadArgument, call.name_span,
                          "'cv' needs the fact's time column: add 'time:' to fact '" +
                              scope.facts[static_cast<size_t>(fact)].name + "'");
                    ok = false;
                }
                auto per =
                    slots[1] ? constant_word(slots[1], "per") : std::optional<std::string>("month");
                Duration over{12, 0};
                if (slots[2]) {
                    const auto* lit = std::get_if<ast::Literal>(&slots[2]->value->node);
                    const auto* d = lit ? std::get_if<Duration>(&lit->value) : nullptr;
                    if (!d) {
                        error(Code::BadArgument, slots[2]->value->span,
                              "'over' must be a duration such as 12mo");
                        ok = false;
                    } else {
                        over = *d;
                    }
                }
                agg.over = over;
                if (!per)
                    ok = false;
                else if (*per == "month") {
                    agg.per = bound::CvPeriod::Month;
                    agg.buckets = over.months + (over.days >= 28 ? over.days / 30 : 0);
                } else if (*per == "week" || *per == "day") {
                    agg.per = *per == "week" ? bound::CvPeriod::Week : bound::CvPeriod::Day;
                    const int days = over.months * 30 + over.days;
                    agg.buckets = *per == "week" ? days / 7 : days;
                } else {
                    error(Code::BadArgument, slots[1]->value->span,
                          "'per' must be month, week or day");
                    ok = false;
                }
                if (ok && (agg.buckets < 2 || agg.buckets > 400)) {
                    error(Code::BadArgument, slots[2] ? slots[2]->value->span : call.name_span,
                          "'over' must span from 2 to 400 periods of 'per'");
                    ok = false;
                }
                break;
            }
        }
        if (!ok) return failed(src);
        agg.text = ast::to_canonical_string(src);
        auto [it, inserted] =
            aggregate_by_text.emplace(agg.text, static_cast<int>(program.aggregates.size()));
        const Type result = agg.type;
        if (inserted) program.aggregates.push_back(std::move(agg));
        return make(src, result, bound::AggregateRef{it->second});
    }

    // Binding recurses through expressions and, depth-first, through the lets they use; this
    // bounds the total so that no rule file can exhaust the stack.
    static constexpr int kMaxBindDepth = 4000;
    int bind_depth = 0;
    bool bind_depth_reported = false;

    ExprPtr bind_expr(const ast::Expr& e) {
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

    ExprPtr bind_node(const ast::Expr& e) {
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
};

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

std::vector<std::string> Binder::unused_lets() const {
    std::vector<std::string> out;
    for (const auto& name : impl_->let_order) {
        if (impl_->lets.at(name).uses == 0) out.push_back(name);
    }
    return out;
}

}  // namespace strata
