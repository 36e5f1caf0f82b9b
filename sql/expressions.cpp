// Expressions of the bound tree lowered to SQL, one node at a time, with the language's
// meaning: three-valued logic, overflow and division by zero to null, exact comparisons of
// integers with numbers, text by bytes, dates as day numbers, durations folded into the dates
// they move.
#include <algorithm>
#include <functional>
#include <type_traits>

#include <re2/re2.h>

#include "dsl/functions.hpp"
#include "sql/lowering.hpp"

namespace strata::sql {

using ast::BinaryOp;
using bound::Fn;

void Lowering::refuse(const Location& at, const std::string& reason) {
    diags_.error(file(), at, "cannot compile to " + d_.name() + ": " + reason);
}

void Lowering::refuse_fact_column(const Location& at, const std::string& table,
                                  const std::string& column, Type type) {
    if (type == Type::Any)
        refuse(at, "the type of column '" + column + "' of table '" + table +
                       "' is not known: give --db (the database it is read from), or its type "
                       "in the fact's types (types: { " +
                       column + ": number })");
    else
        refuse(at, "not compiled yet: fact column '" + column + "' of type " + type_name(type));
}

std::string Lowering::text(const std::string& s, const Location& at) {
    auto lit = d_.string_literal(s);
    if (!lit) {
        refuse(at, "a string with a NUL character cannot be written in its SQL");
        return "NULL";
    }
    return *lit;
}

std::string Lowering::expr_as(const bound::Expr& e, Type to, int fact) {
    std::string s = expr(e, fact);
    if (to == Type::Number && e.type == Type::Int) return d_.to_double(s);
    // A day number may be a 32-bit integer (PostgreSQL's date difference): its seconds past
    // 2038-01-19 are not, so the product is taken in the dialect's 64-bit integers.
    if (to == Type::DateTime && e.type == Type::Date)
        return "(" + s + " * " + d_.integer_literal(86400) + ")";
    return s;
}

std::string Lowering::expr(const bound::Expr& e, int fact) {
    if (e.type == Type::DateTime && !d_.has_datetimes()) {
        refuse(e.location, d_.datetime_refusal());
        return "NULL";
    }
    if (const auto* c = std::get_if<bound::CustomerColumn>(&e.node)) {
        const std::string column = rules_.rules.customers_table + "." +
                                   rules_.program.columns.at(static_cast<size_t>(c->slot)).name;
        if (auto refusal = use_refusals_.find(column); refusal != use_refusals_.end()) {
            refuse(e.location, "column '" + column + "': " + refusal->second.reason);
            refusal->second.refused = true;
            return "NULL";
        }
    }
    if (e.type == Type::Any) {
        refuse(e.location,
               "the type of this value is not known: its columns need a type (give --db, or "
               "source.types), or it is null whatever the row");
        return "NULL";
    }
    ++expr_depth_;
    std::string out = node(e, fact);
    if (--expr_depth_ == 0) outermost_.emplace_back(e.location, out);
    return out;
}

void Lowering::refuse_beyond_parser(const std::string& why, size_t steps) {
    const std::string advice =
        " (" + d_.name() + ": " + why + "); compute part of it in a let, and use the let here";
    // Each expression in a step as the plan writes it: a column of a step over another.
    auto alone = [&](const std::string& sql) {
        return "WITH s1" + d_.step_as() + "(SELECT 1 AS c), s2" + d_.step_as() + "(SELECT *, " +
               sql + " AS w FROM s1) SELECT * FROM s2";
    };
    std::set<std::pair<int, int>> refused;
    const std::pair<Location, std::string>* largest = nullptr;
    for (const auto& lowered : outermost_) {
        const auto& [at, sql] = lowered;
        if (!largest || sql.size() > largest->second.size()) largest = &lowered;
        if (refused.count({at.line, at.col}) || !d_.beyond_parser(alone(sql))) continue;
        refused.insert({at.line, at.col});
        refuse(at, "this expression nests deeper than " + d_.name() + "'s parser takes" + advice);
    }
    if (!refused.empty()) return;
    // No expression is too deep alone: the steps are, each a subquery over the one before.
    refuse(largest ? largest->first : Location{},
           "the query nests deeper than " + d_.name() + "'s parser takes (" + d_.name() + ": " +
               why + "), and no expression alone does: its " + std::to_string(steps) +
               " steps, one for each let that reads another, nest in one another; shorten the "
               "chain of lets that read lets, or segment with the embedded engine (strata run)");
}

std::string Lowering::literal(const bound::Expr& e, const ast::LiteralValue& v) {
    return std::visit(
        [&](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, ast::Null>)
                return "NULL";
            else if constexpr (std::is_same_v<T, bool>)
                return d_.bool_literal(x);
            else if constexpr (std::is_same_v<T, int64_t>)
                return d_.integer_literal(x);
            else if constexpr (std::is_same_v<T, double>)
                return d_.number_literal(x);
            else if constexpr (std::is_same_v<T, std::string>)
                return text(x, e.location);
            else if constexpr (std::is_same_v<T, Date>)
                return d_.integer_literal(x.days);
            else if constexpr (std::is_same_v<T, DateTime>)
                return d_.integer_literal(x.seconds);
            else {
                refuse(e.location, "a duration is compiled only where it is added to a date");
                return "NULL";
            }
        },
        v);
}

std::optional<std::string> Lowering::record_prefix(const bound::Expr& e) {
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        auto it = record_lets_.find(l->index);
        if (it != record_lets_.end()) return it->second;
    }
    auto it = population_.find(&e);
    if (it != population_.end()) return it->second;
    return std::nullopt;
}

std::string Lowering::node(const bound::Expr& e, int fact) {
    return std::visit(
        [&](const auto& n) -> std::string {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, bound::Literal>) {
                return literal(e, n.value);
            } else if constexpr (std::is_same_v<T, bound::CustomerColumn>) {
                const auto& use = rules_.program.columns.at(static_cast<size_t>(n.slot));
                if (use.source == bound::ColumnSource::State && !reads_state_) {
                    refuse(e.location, "'" + use.name + "' reads the ruleset's stored state: " +
                                           d_.state_refusal());
                    return "NULL";
                }
                return "c" + std::to_string(n.slot);
            } else if constexpr (std::is_same_v<T, bound::FactColumn>) {
                if (inline_cells_)
                    return "(" + inline_cells_->cells.at(static_cast<size_t>(n.slot)) + ")";
                return "f" + std::to_string(n.slot);
            } else if constexpr (std::is_same_v<T, bound::LetRef>) {
                if (e.type == Type::Record) {
                    refuse(e.location, "a record is compiled only through its fields (rfm.r)");
                    return "NULL";
                }
                if (e.type == Type::Duration) {  // no column: folded where added to a date
                    refuse(e.location, "a duration is compiled only where it is added to a date");
                    return "NULL";
                }
                return "l" + std::to_string(n.index);
            } else if constexpr (std::is_same_v<T, bound::AsOf>) {
                return d_.integer_literal(as_of_.days);
            } else if constexpr (std::is_same_v<T, bound::AggregateRef>) {
                return "a" + std::to_string(n.index);
            } else if constexpr (std::is_same_v<T, bound::Field>) {
                auto prefix = record_prefix(*n.record);
                if (!prefix) {
                    refuse(e.location, "not compiled yet: a field of this record");
                    return "NULL";
                }
                return *prefix + "_" + bound::rfm_fields().at(static_cast<size_t>(n.field));
            } else if constexpr (std::is_same_v<T, bound::Unary>) {
                if (n.op == ast::UnaryOp::Not) return d_.logic_not(expr(*n.operand, fact));
                if (n.operand->type == Type::Int) return d_.checked_negate(expr(*n.operand, fact));
                if (n.operand->type == Type::Number) return "(-" + expr(*n.operand, fact) + ")";
                if (n.operand->type == Type::Null) return "NULL";
                refuse(e.location, "a duration is compiled only where it is added to a date");
                return "NULL";
            } else if constexpr (std::is_same_v<T, bound::Binary>) {
                return binary(e, n, fact);
            } else if constexpr (std::is_same_v<T, bound::InList>) {
                std::vector<const bound::Expr*> all{n.value.get()};
                for (const auto& item : n.items)
                    all.push_back(item.get());
                if (needs_exact_compare(all)) {  // three-valued as IN: a null item, a null term
                    std::vector<std::string> equal;
                    for (const auto& item : n.items)
                        equal.push_back(comparison(BinaryOp::Eq, *n.value, *item, fact));
                    const std::string any = d_.logic_any(equal);
                    return n.negated ? d_.logic_not(any) : any;
                }
                const bool seconds = on_seconds(all);
                auto operand = [&](const bound::Expr& x) {
                    return seconds ? expr_as(x, Type::DateTime, fact) : expr(x, fact);
                };
                std::string v = operand(*n.value);
                if (n.value->type == Type::String) v = d_.collate_bytes(v);
                std::vector<std::string> items;
                for (const auto& item : n.items)
                    items.push_back(operand(*item));
                return d_.in_list(v, items, n.negated);
            } else if constexpr (std::is_same_v<T, bound::Between>) {
                if (needs_exact_compare({n.value.get(), n.low.get(), n.high.get()})) {
                    const std::string within =
                        d_.logic_and(comparison(BinaryOp::Ge, *n.value, *n.low, fact),
                                     comparison(BinaryOp::Le, *n.value, *n.high, fact));
                    return n.negated ? d_.logic_not(within) : within;
                }
                const bool seconds = on_seconds({n.value.get(), n.low.get(), n.high.get()});
                auto operand = [&](const bound::Expr& x) {
                    return seconds ? expr_as(x, Type::DateTime, fact) : expr(x, fact);
                };
                std::string v = operand(*n.value);
                if (n.value->type == Type::String) v = d_.collate_bytes(v);
                return d_.between(v, operand(*n.low), operand(*n.high), n.negated);
            } else if constexpr (std::is_same_v<T, bound::IsNull>) {
                return "(" + expr(*n.value, fact) + (n.negated ? " IS NOT NULL)" : " IS NULL)");
            } else {
                return call(e, n, fact);
            }
        },
        e.node);
}

namespace {

// A literal whose double is exact and below 2^53 in size: any integer compared with it as a
// double compares as it would exactly (an integer that rounds is beyond it either way).
bool exact_as_double(const bound::Expr& e) {
    // -3 is the negation of the literal 3.
    if (const auto* negated = std::get_if<bound::Unary>(&e.node))
        return negated->op == ast::UnaryOp::Negate && exact_as_double(*negated->operand);
    const auto* literal = std::get_if<bound::Literal>(&e.node);
    if (!literal) return false;
    constexpr double kExact = 9007199254740992.0;  // 2^53
    if (const auto* i = std::get_if<int64_t>(&literal->value))
        return *i >= -(int64_t{1} << 53) && *i <= (int64_t{1} << 53);
    if (const auto* d = std::get_if<double>(&literal->value)) return *d > -kExact && *d < kExact;
    return false;
}

bool int_and_number(Type a, Type b) {
    return (a == Type::Int && b == Type::Number) || (a == Type::Number && b == Type::Int);
}

}  // namespace

bool Lowering::needs_exact_compare(const std::vector<const bound::Expr*>& operands) const {
    if (!d_.exact_compare("n", "i")) return false;
    const bound::Expr& value = *operands.front();
    for (size_t k = 1; k < operands.size(); ++k) {
        if (int_and_number(value.type, operands[k]->type) && !exact_as_double(value) &&
            !exact_as_double(*operands[k]))
            return true;
    }
    return false;
}

std::string Lowering::comparison(BinaryOp op, const bound::Expr& lhs, const bound::Expr& rhs,
                                 int fact) {
    static const char* ops[] = {"", "", "=", "<>", "<", "<=", ">", ">="};
    const std::string shown = ops[static_cast<int>(op)];
    const Type lt = lhs.type, rt = rhs.type;
    if (needs_exact_compare({&lhs, &rhs})) {
        const bool number_left = lt == Type::Number;
        const std::string number = expr(number_left ? lhs : rhs, fact);
        const std::string integer = expr(number_left ? rhs : lhs, fact);
        const std::string order = *d_.exact_compare(number, integer);  // number against integer
        return number_left ? "(" + order + " " + shown + " 0)" : "(0 " + shown + " " + order + ")";
    }
    const Type line = time_line(lt, rt);
    std::string x = expr_as(lhs, line, fact);
    if (lt == Type::String || rt == Type::String) x = d_.collate_bytes(x);
    return "(" + x + " " + shown + " " + expr_as(rhs, time_line(rt, lt), fact) + ")";
}

std::string Lowering::binary(const bound::Expr& e, const bound::Binary& b, int fact) {
    const Type lt = b.lhs->type, rt = b.rhs->type;
    auto l = [&] { return expr(*b.lhs, fact); };
    auto r = [&] { return expr(*b.rhs, fact); };
    switch (b.op) {
        case BinaryOp::And:
        case BinaryOp::Or: {
            // A chain of one operator (`a or b or c ...`) as one flat term list.
            const auto chain = bound::chain_operands(
                e, [&](const bound::Expr&, const bound::Binary& link) { return link.op == b.op; });
            std::vector<std::string> terms;
            terms.reserve(chain.size());
            for (const bound::Expr* term : chain)
                terms.push_back(expr(*term, fact));
            return b.op == BinaryOp::And ? d_.logic_all(terms) : d_.logic_any(terms);
        }
        case BinaryOp::Eq:
        case BinaryOp::Ne:
        case BinaryOp::Lt:
        case BinaryOp::Le:
        case BinaryOp::Gt:
        case BinaryOp::Ge:
            return comparison(b.op, *b.lhs, *b.rhs, fact);
        default:
            break;
    }
    if (lt == Type::Null || rt == Type::Null) return "NULL";
    if (lt == Type::Int && rt == Type::Int) {
        if (b.op == BinaryOp::Div) return d_.int_divide(l(), r());
        if (b.op == BinaryOp::Mod) return d_.int_mod(l(), r());
        const char op = b.op == BinaryOp::Add ? '+' : b.op == BinaryOp::Sub ? '-' : '*';
        return d_.checked_int(op, l(), r());
    }
    if (is_numeric(lt) && is_numeric(rt)) {
        if (b.op == BinaryOp::Mod) {
            auto rem = d_.number_remainder(expr_as(*b.lhs, Type::Number, fact),
                                           expr_as(*b.rhs, Type::Number, fact));
            if (!rem) {
                refuse(e.location, "'%' of numbers is not built for " + d_.name() + " yet");
                return "NULL";
            }
            return *rem;
        }
        const char op = b.op == BinaryOp::Add   ? '+'
                        : b.op == BinaryOp::Sub ? '-'
                        : b.op == BinaryOp::Mul ? '*'
                                                : '/';
        return d_.number_op(op, expr_as(*b.lhs, Type::Number, fact),
                            expr_as(*b.rhs, Type::Number, fact), true);
    }
    if (lt == Type::String && rt == Type::String && b.op == BinaryOp::Add) {
        // A chain of joins (`a + b + c`, however grouped) capped once, as the engine joins it:
        // a part joined before the whole is no longer than the whole.
        const auto is_join = [](const bound::Expr&, const bound::Binary& link) {
            return link.op == BinaryOp::Add && link.lhs->type == Type::String &&
                   link.rhs->type == Type::String;
        };
        std::vector<std::string> parts;
        bool plain = true;  // names and literals only: capped without a subquery
        for (const bound::Expr* part : bound::chain_operands(e, is_join)) {
            parts.push_back(expr(*part, fact));
            plain = plain && (Dialect::plain_name(parts.back()) ||
                              std::holds_alternative<bound::Literal>(part->node));
        }
        if (plain) return d_.capped_join(parts);
        std::string joined;
        for (const std::string& sql : parts)
            joined = joined.empty() ? sql : d_.concat(joined, sql);
        return d_.capped_text(joined);
    }
    if (lt == Type::Date && rt == Type::Date && b.op == BinaryOp::Sub)
        return "(" + l() + " - " + r() + ")";
    if (e.type == Type::Duration) {
        refuse(e.location, "a duration is compiled only where it is added to a date");
        return "NULL";
    }
    if (e.type == Type::DateTime) {
        // The day moves as a date does; the time of day stays (dsl/calendar's add_duration).
        const std::string seconds = expr(lt == Type::DateTime ? *b.lhs : *b.rhs, fact);
        const std::string tv = Dialect::plain_name(seconds) ? seconds : "tv";
        const std::string td = d_.day_of_seconds(tv);
        auto day = shifted_day(b, td, fact);
        if (!day) return "NULL";
        const std::string day_seconds = d_.integer_literal(86400);
        const std::string moved = "(" + *day + ") * " + day_seconds + " + (" + tv + " - " + td +
                                  " * " + day_seconds + ")";
        return tv == seconds ? "(" + moved + ")" : d_.bind(seconds, "tv", moved);
    }
    if (e.type == Type::Date) {
        auto day = shifted_day(b, expr(lt == Type::Date ? *b.lhs : *b.rhs, fact), fact);
        return day ? *day : "NULL";
    }
    refuse(e.location, "not compiled yet: this operation");
    return "NULL";
}

std::string Lowering::call(const bound::Expr& e, const bound::Call& c, int fact) {
    const Type t = e.type;
    auto arg = [&](size_t i) { return expr(*c.args.at(i), fact); };
    auto args_as = [&](Type to, bool collate) {
        std::vector<std::string> out;
        for (const auto& a : c.args) {
            std::string s = expr_as(*a, to, fact);
            out.push_back(collate && to == Type::String ? d_.collate_bytes(s) : s);
        }
        return out;
    };
    switch (c.fn) {
        case Fn::Coalesce: {
            auto items = args_as(t, false);
            if (items.size() == 1) return items[0];
            std::string out;
            for (const auto& s : items)
                out += (out.empty() ? "" : ", ") + s;
            return "coalesce(" + out + ")";
        }
        case Fn::If:
            return "(CASE WHEN " + arg(0) + " THEN " + expr_as(*c.args[1], t, fact) + " ELSE " +
                   expr_as(*c.args[2], t, fact) + " END)";
        case Fn::Least:
        case Fn::Greatest: {
            return d_.least_greatest(c.fn == Fn::Least, args_as(t, true));
        }
        case Fn::Abs:
            if (c.args[0]->type == Type::Int) return d_.int_abs(arg(0));
            return "abs(" + arg(0) + ")";
        case Fn::Round:
            if (c.args[1]) {
                std::optional<std::string> rounded;
                if (c.args[0]->type == Type::Null || c.args[1]->type == Type::Null)
                    rounded = "NULL";
                else if (c.args[0]->type == Type::Int)
                    rounded = d_.round_integer_digits(arg(0), arg(1));
                else
                    rounded = d_.round_number_digits(arg(0), arg(1));
                if (!rounded) {
                    refuse(e.location,
                           c.args[0]->type == Type::Int
                               ? "round(x, digits) is not built for " + d_.name() + " yet"
                               : d_.round_number_refusal());
                    return "NULL";
                }
                return *rounded;
            }
            [[fallthrough]];
        case Fn::Floor:
        case Fn::Ceil:
            if (c.args[0]->type == Type::Int) return arg(0);
            return d_.double_to_int(c.fn == Fn::Round   ? 'r'
                                    : c.fn == Fn::Floor ? 'f'
                                                        : 'c',
                                    arg(0));
        case Fn::Lower:
        case Fn::Upper:
            return d_.ascii_case(c.fn == Fn::Lower, arg(0));
        case Fn::Length:
            return d_.utf8_length(arg(0));
        case Fn::Contains:
            return d_.text_test('c', arg(0), arg(1));
        case Fn::StartsWith:
            return d_.text_test('s', arg(0), arg(1));
        case Fn::EndsWith:
            return d_.text_test('e', arg(0), arg(1));
        case Fn::Matches: {
            auto pattern = d_.regex_pattern(c.params.regex->pattern());
            if (!pattern) {
                refuse(e.location, d_.regex_refusal());
                return "NULL";
            }
            return d_.regex_match(arg(0), text(*pattern, e.location));
        }
        case Fn::DaysBetween:
            return "(" + day_of(*c.args[1], fact) + " - " + day_of(*c.args[0], fact) + ")";
        case Fn::DaysSince:
            return "(" + d_.integer_literal(as_of_.days) + " - " + day_of(*c.args[0], fact) + ")";
        case Fn::Year:
            return d_.year_of(day_of(*c.args[0], fact));
        case Fn::Month:
            return d_.month_of(day_of(*c.args[0], fact));
        case Fn::Xyz: {
            return d_.bind(
                arg(0), "cv",
                "CASE WHEN cv IS NULL THEN NULL WHEN cv <= " + d_.number_literal(c.params.a) +
                    " THEN 'X' WHEN cv <= " + d_.number_literal(c.params.b) +
                    " THEN 'Y' ELSE 'Z' END");
        }
        case Fn::Ntile:
        case Fn::PercentRank:
        case Fn::Rfm:
        case Fn::Abc: {
            auto it = population_.find(&e);
            if (it == population_.end()) {
                refuse(e.location,
                       std::string("not compiled yet: ") + function_name(c.fn) + " here");
                return "NULL";
            }
            return it->second;
        }
    }
    return "NULL";
}

}  // namespace strata::sql
