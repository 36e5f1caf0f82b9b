// Dates, times and durations lowered to SQL: the time line two operands share, a date or
// time as its day, and durations folded into the dates they move (a month from the 31st is
// the month's last day, as in the engine), as constants or as cases of a duration chosen per
// row.
#include <algorithm>

#include "sql/lowering.hpp"

namespace strata::sql {

using ast::BinaryOp;
using bound::Fn;

namespace {

// How deeply `sql` nests subqueries: "(SELECT" inside "(SELECT".
int subquery_depth(const std::string& sql) {
    std::vector<bool> open;  // each '(' and whether it starts a subquery
    int depth = 0, deepest = 0;
    for (size_t i = 0; i < sql.size(); ++i) {
        if (sql[i] == '(') {
            open.push_back(sql.compare(i, 7, "(SELECT") == 0);
            if (open.back()) deepest = std::max(deepest, ++depth);
        } else if (sql[i] == ')' && !open.empty()) {
            if (open.back()) --depth;
            open.pop_back();
        }
    }
    return deepest;
}

}  // namespace

// Dates meet datetimes on one time line: a date is its midnight.
Type Lowering::time_line(Type a, Type b) {
    return (a == Type::DateTime && b == Type::Date) || (a == Type::Date && b == Type::DateTime)
               ? Type::DateTime
               : a;
}

bool Lowering::on_seconds(const std::vector<const bound::Expr*>& operands) {
    bool dates = false, datetimes = false;
    for (const bound::Expr* e : operands) {
        dates = dates || e->type == Type::Date;
        datetimes = datetimes || e->type == Type::DateTime;
    }
    return dates && datetimes;
}

std::string Lowering::day_of(const bound::Expr& e, int fact) {
    if (e.type != Type::DateTime) return expr(e, fact);
    // The day of a moment moved by a duration is its day moved (the time of day stays below
    // a day): written so, without going through the seconds.
    if (const auto* b = std::get_if<bound::Binary>(&e.node);
        b && (b->op == BinaryOp::Add || b->op == BinaryOp::Sub) && d_.has_datetimes()) {
        const bound::Expr& moment = b->lhs->type == Type::DateTime ? *b->lhs : *b->rhs;
        auto day = shifted_day(*b, day_of(moment, fact), fact);
        return day ? *day : "NULL";
    }
    return d_.day_of_seconds(expr(e, fact));
}

std::optional<Duration> Lowering::constant_duration(const bound::Expr& e) {
    if (const auto* l = std::get_if<bound::Literal>(&e.node)) {
        if (const auto* d = std::get_if<Duration>(&l->value)) return *d;
        return std::nullopt;
    }
    // A let that names a duration (`window: 90d`) is its constant wherever it is used.
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        const bound::Let& let = rules_.program.lets.at(static_cast<size_t>(l->index));
        if (let.type == Type::Duration) return constant_duration(*let.expr);
        return std::nullopt;
    }
    // A negation or a sum that leaves the durations' range is null, as the engine has it:
    // not a constant here, and a single null case in duration_cases.
    if (const auto* u = std::get_if<bound::Unary>(&e.node); u && u->op == ast::UnaryOp::Negate) {
        auto d = constant_duration(*u->operand);
        if (d) return combined_durations(Duration{}, *d, -1);
        return std::nullopt;
    }
    if (const auto* b = std::get_if<bound::Binary>(&e.node);
        b && (b->op == BinaryOp::Add || b->op == BinaryOp::Sub)) {
        auto x = constant_duration(*b->lhs), y = constant_duration(*b->rhs);
        if (!x || !y) return std::nullopt;
        return combined_durations(*x, *y, b->op == BinaryOp::Sub ? -1 : 1);
    }
    return std::nullopt;
}

std::optional<std::string> Lowering::shifted_day(const bound::Binary& b, std::string day,
                                                 int fact) {
    const bool moment_left = b.lhs->type == Type::Date || b.lhs->type == Type::DateTime;
    const bound::Expr& span = moment_left ? *b.rhs : *b.lhs;
    const int sign = b.op == BinaryOp::Sub ? -1 : 1;
    auto cases = duration_cases(span, fact);
    if (!cases) {
        refuse(span.location,
               "this duration takes more than 32 values (or is made of more than constants, "
               "lets, if(), coalesce(), sums and negations)");
        return std::nullopt;
    }
    if (cases->size() == 1 && cases->front().second)
        return moved_day(day, *cases->front().second, sign, span.location);
    if (cases->size() == 1) return "NULL";
    // One CASE over the day moved by each constant the duration can take. The day is bound in
    // each branch, not around the CASE: ClickHouse 18.16 does not find a column that only a
    // lambda's body (its bind) names, and the conditions name columns.
    const std::string dv = Dialect::plain_name(day) ? day : "dv";
    bool refused = false;
    const std::string out = case_of(*cases, [&](const Duration& d) {
        auto moved = moved_day(dv, d, sign, span.location);
        refused = refused || !moved;
        return !moved ? std::string("NULL") : dv == day ? *moved : d_.bind(day, dv, *moved);
    });
    if (refused) return std::nullopt;
    return out;
}

std::string Lowering::case_of(const DurationCases& cases,
                              const std::function<std::string(const Duration&)>& value) {
    if (cases.size() == 1) return cases.front().second ? value(*cases.front().second) : "NULL";
    std::string out = "(CASE";
    for (const auto& [condition, duration] : cases) {
        const std::string v = duration ? value(*duration) : "NULL";
        out += condition.empty() ? " ELSE " + v : " WHEN " + condition + " THEN " + v;
    }
    return out + " END)";
}

std::optional<std::string> Lowering::moved_day(std::string day, const Duration& d, int sign,
                                               const Location& at) {
    if (d.months != 0) {
        auto moved = d_.add_months(day, int64_t{sign} * d.months);
        if (!moved) {
            refuse(at, "months beyond what " + d_.name() + " can add");
            return std::nullopt;
        }
        if (subquery_depth(*moved) > d_.deepest_moved_day()) {
            refuse(at, "a date moved by months this many times in one expression is more than " +
                           d_.name() +
                           " can parse; move the date by part of it in a let, and the let by "
                           "the rest");
            return std::nullopt;
        }
        day = *moved;
    }
    if (d.days != 0) {
        auto moved = d_.add_days(day, int64_t{sign} * d.days);
        if (!moved) {
            refuse(at, "adding days is not built for " + d_.name() + " yet");
            return std::nullopt;
        }
        day = *moved;
    }
    return day;
}

std::optional<Lowering::DurationCases> Lowering::duration_cases(const bound::Expr& e, int fact) {
    if (auto d = constant_duration(e)) return DurationCases{{"", *d}};
    auto both = [&](const std::string& a, const std::string& b) {
        return a.empty() ? b : b.empty() ? a : d_.logic_and(a, b);
    };
    // Past this many cases the CASE would grow out of hand; such a file is refused.
    constexpr size_t kMostCases = 32;
    if (const auto* l = std::get_if<bound::Literal>(&e.node)) {
        if (std::holds_alternative<ast::Null>(l->value)) return DurationCases{{"", std::nullopt}};
        return std::nullopt;
    }
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        const bound::Let& let = rules_.program.lets.at(static_cast<size_t>(l->index));
        if (let.type != Type::Duration) return std::nullopt;
        return duration_cases(*let.expr, fact);
    }
    if (const auto* u = std::get_if<bound::Unary>(&e.node); u && u->op == ast::UnaryOp::Negate) {
        auto cases = duration_cases(*u->operand, fact);
        if (cases)
            for (auto& c : *cases)
                if (c.second) c.second = combined_durations(Duration{}, *c.second, -1);
        return cases;
    }
    if (const auto* b = std::get_if<bound::Binary>(&e.node);
        b && (b->op == BinaryOp::Add || b->op == BinaryOp::Sub)) {
        auto x = duration_cases(*b->lhs, fact), y = duration_cases(*b->rhs, fact);
        if (!x || !y || x->size() * y->size() > kMostCases) return std::nullopt;
        // The first case of x that holds, then the first of y (each list ends in one that
        // always holds, so a later case of x is reached only when the earlier ones fail).
        const int sign = b->op == BinaryOp::Sub ? -1 : 1;
        DurationCases out;
        for (const auto& [cx, dx] : *x)
            for (const auto& [cy, dy] : *y) {
                std::optional<Duration> sum;
                if (dx && dy) sum = combined_durations(*dx, *dy, sign);
                out.emplace_back(both(cx, cy), sum);
            }
        return out;
    }
    const auto* c = std::get_if<bound::Call>(&e.node);
    if (c && c->fn == Fn::If && c->args.size() == 3) {
        auto x = duration_cases(*c->args[1], fact), y = duration_cases(*c->args[2], fact);
        if (!x || !y || x->size() + y->size() > kMostCases) return std::nullopt;
        // if() takes its else branch when the condition is false or null.
        const std::string condition = expr(*c->args[0], fact);
        DurationCases out;
        for (const auto& [cx, dx] : *x)
            out.emplace_back(both(condition, cx), dx);
        out.insert(out.end(), y->begin(), y->end());
        return out;
    }
    if (c && c->fn == Fn::Coalesce && !c->args.empty()) {
        // From the last argument back: each null case of an argument becomes the cases of
        // the arguments after it.
        auto out = duration_cases(*c->args.back(), fact);
        for (size_t i = c->args.size() - 1; out && i-- > 0;) {
            auto x = duration_cases(*c->args[i], fact);
            if (!x) return std::nullopt;
            DurationCases merged;
            for (const auto& [cx, dx] : *x) {
                if (dx) {
                    merged.emplace_back(cx, dx);
                    continue;
                }
                for (const auto& [cy, dy] : *out)
                    merged.emplace_back(both(cx, cy), dy);
            }
            if (merged.size() > kMostCases) return std::nullopt;
            out = std::move(merged);
        }
        return out;
    }
    return std::nullopt;
}

}  // namespace strata::sql
