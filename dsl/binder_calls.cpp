// The binder's function calls: arguments matched to parameters, scalar and population calls
// type-checked, aggregates over a fact table (with their where and per/over).
#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "dsl/binder_impl.hpp"

namespace strata {

namespace {

using bound::ExprPtr;
using Code = DiagnosticCode;

// The largest RE2 program a pattern may compile to (docs/language.md, "Limits"): room for
// every ordinary pattern (`\p{L}+` is about 1,200 instructions, an e-mail pattern under 100),
// while a match of a 3,000-character text costs at most tens of milliseconds.
constexpr int kMaxRegexProgram = 10000;

}  // namespace

// ---- calls ----

// Matches a call's arguments to the function's parameters; nullopt after reporting.
std::optional<std::vector<const ast::Arg*>> Binder::Impl::match_args(const ast::Expr& src,
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
                error(
                    Code::BadArgument, arg.value->span,
                    "argument '" + std::string(spec.params[positional].name) + "' is given twice");
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
            error(Code::BadArgument, arg.name_span, "argument '" + arg.name + "' is given twice");
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
                      "'" + call.name + "' is missing its argument '" + spec.params[i].name + "'");
                ok = false;
            }
        }
    }
    if (!ok) return std::nullopt;
    return slots;
}

std::optional<double> Binder::Impl::constant_number(const ast::Arg* arg, const char* what) {
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

std::optional<std::string> Binder::Impl::constant_word(const ast::Arg* arg, const char* what) {
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

bool Binder::Impl::expect(const ast::Expr& src, const bound::Expr& e, bool ok,
                          const std::string& what, const std::string& hint) {
    if (ok || e.type == Type::Any) return true;
    error(Code::TypeMismatch, src.span,
          what + ", but this is " + with_article(e.type) + hint + declared_origin(e));
    return false;
}

ExprPtr Binder::Impl::bind_call(const ast::Expr& src, const ast::Call& call) {
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
            // RE2 matches in time linear in the text, times the size of the pattern's program
            // (when its DFA runs out of states it simulates the program, every instruction at
            // every character). A bound on the program bounds each match's cost per character.
            if (re->ProgramSize() > kMaxRegexProgram) {
                error(Code::BadArgument, pattern->value->span,
                      "regular expression too large to match quickly: it compiles to " +
                          std::to_string(re->ProgramSize()) + " RE2 instructions, at most " +
                          std::to_string(kMaxRegexProgram) +
                          "; a counted repetition such as {2,50} repeats what it counts (write "
                          "{2,} and test length() apart)");
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
std::optional<Type> Binder::Impl::check_scalar_call(const ast::Expr& src, const ast::Call& call,
                                                    bound::Fn fn,
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
                          "' cannot take a record; take its fields instead (such as " + call.name +
                          "(..., x.r, ...))");
                return std::nullopt;
            }
            if (u && must_order && !orderable(type(i))) {
                error(Code::TypeMismatch, arg_src(i).span,
                      "'" + call.name + "' orders its values, and " + with_article(type(i)) +
                          " has no order (numbers, texts, dates and datetimes do)");
                return std::nullopt;
            }
            if (!u) {
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
            if (!may_be_condition(*bound_args[0])) {
                // Not `need`: it lets every value of a type not known yet through.
                error(Code::TypeMismatch, arg_src(0).span,
                      "'" + call.name + "' needs a condition first, but this is " +
                          kind_of(*bound_args[0]) + declared_origin(*bound_args[0]));
                return std::nullopt;
            }
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
                if (!need(1, type(1) == Type::Int, "a whole number of digits")) return std::nullopt;
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
int Binder::Impl::aggregate_fact(const ast::Expr& e) {
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

ExprPtr Binder::Impl::bind_aggregate(const ast::Expr& src, const ast::Call& call,
                                     const FunctionSpec& spec,
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
              "unknown fact '" + head->parts[0] + "'" + diags.did_you_mean(head->parts[0], names) +
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
              "'" + call.name + "' needs a column, e.g. " + call.name + "(" + whole_fact->parts[0] +
                  ".amount)");
        ok = false;
    } else if (!counts_rows) {
        agg.value = bind_expr(*first.value);
    }
    if (first.where) {
        agg.where = bind_expr(*first.where);
        if (!may_be_condition(*agg.where)) {
            error(Code::TypeMismatch, first.where->span,
                  "'where' needs a condition, but this is " + kind_of(*agg.where));
            ok = false;
        }
    }
    // Said with a type error about the value: the column's declared type, read in its fact.
    const std::string origin = agg.value ? declared_origin(*agg.value) : std::string();
    fact_context = -1;
    const Type vt = agg.value ? agg.value->type : Type::Int;
    switch (fn) {
        case bound::AggFn::Count:
        case bound::AggFn::CountDistinct:
            agg.type = Type::Int;
            break;
        case bound::AggFn::Sum:
            ok = ok &&
                 expect(*first.value, *agg.value, is_numeric(vt), "'sum' needs numbers", origin);
            agg.type = vt == Type::Int ? Type::Int : Type::Number;
            break;
        case bound::AggFn::Avg:
            ok = ok &&
                 expect(*first.value, *agg.value, is_numeric(vt), "'avg' needs numbers", origin);
            agg.type = Type::Number;
            break;
        case bound::AggFn::Min:
        case bound::AggFn::Max:
            ok = ok && expect(*first.value, *agg.value, orderable(vt) && vt != Type::Null,
                              "'" + call.name + "' needs values that can be ordered", origin);
            agg.type = vt;
            break;
        case bound::AggFn::Cv: {
            ok = ok &&
                 expect(*first.value, *agg.value, is_numeric(vt), "'cv' needs numbers", origin);
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
                error(Code::BadArgument, slots[1]->value->span, "'per' must be month, week or day");
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

}  // namespace strata
