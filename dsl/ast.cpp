#include "dsl/ast.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace strata::ast {

const char* to_string(BinaryOp op) {
    switch (op) {
        case BinaryOp::Or:
            return "or";
        case BinaryOp::And:
            return "and";
        case BinaryOp::Eq:
            return "==";
        case BinaryOp::Ne:
            return "!=";
        case BinaryOp::Lt:
            return "<";
        case BinaryOp::Le:
            return "<=";
        case BinaryOp::Gt:
            return ">";
        case BinaryOp::Ge:
            return ">=";
        case BinaryOp::Add:
            return "+";
        case BinaryOp::Sub:
            return "-";
        case BinaryOp::Mul:
            return "*";
        case BinaryOp::Div:
            return "/";
        case BinaryOp::Mod:
            return "%";
    }
    return "?";
}

const char* to_string(UnaryOp op) {
    return op == UnaryOp::Not ? "not" : "-";
}

std::string Name::dotted() const {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += '.';
        out += parts[i];
    }
    return out;
}

namespace {

std::string quote(const std::string& s) {
    std::string out = "'";
    // The language's own escapes for the control characters it has them for: a graph, a
    // diff or a DOT file gets no raw NUL or line break from a literal.
    for (char c : s) {
        if (c == '\'' || c == '\\') out += '\\';
        if (c == '\n' || c == '\r' || c == '\t' || c == '\0') {
            out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : "\\0";
            continue;
        }
        out += c;
    }
    return out + "'";
}

std::string literal_text(const LiteralValue& v) {
    struct Visitor {
        std::string operator()(Null) const { return "null"; }
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const {
            std::ostringstream s;
            s.precision(17);
            s << d;
            std::string out = s.str();
            if (out.find_first_of(".eE") == std::string::npos && std::isfinite(d)) out += ".0";
            return out;
        }
        std::string operator()(const std::string& s) const { return quote(s); }
        std::string operator()(Date d) const { return format_date(d); }
        std::string operator()(DateTime t) const { return format_datetime(t); }
        std::string operator()(Duration d) const {
            if (d.months != 0 && d.days != 0)
                return format_duration(Duration{d.months, 0}) + " + " +
                       format_duration(Duration{0, d.days});
            return format_duration(d);
        }
    };
    return std::visit(Visitor{}, v);
}

// `comparable`: the text compares meanings, not spellings (to_comparable_string).
void print(std::ostream& out, const Expr& e, bool comparable);

std::string printed(const Expr& e, bool comparable) {
    std::ostringstream out;
    print(out, e, comparable);
    return out.str();
}

// The operands of a chain of `op` (`a and b and c`, however parenthesised), in order.
void chain_operands(const Expr& e, BinaryOp op, std::vector<const Expr*>& out) {
    const auto* b = std::get_if<Binary>(&e.node);
    if (!b || b->op != op) {
        out.push_back(&e);
        return;
    }
    chain_operands(*b->lhs, op, out);
    chain_operands(*b->rhs, op, out);
}

void print_arg(std::ostream& out, const Arg& a, bool comparable) {
    if (!a.name.empty()) out << a.name << ": ";
    print(out, *a.value, comparable);
    if (a.where) {
        out << " where ";
        print(out, *a.where, comparable);
    }
}

// Fully parenthesised, so the text is unambiguous whatever the source's parentheses.
void print(std::ostream& out, const Expr& e, bool comparable) {
    std::visit(
        [&out, comparable](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, Literal>) {
                out << literal_text(n.value);
            } else if constexpr (std::is_same_v<T, Name>) {
                out << n.dotted();
            } else if constexpr (std::is_same_v<T, Unary>) {
                out << '(' << to_string(n.op) << (n.op == UnaryOp::Not ? " " : "");
                print(out, *n.operand, comparable);
                out << ')';
            } else if constexpr (std::is_same_v<T, Binary>) {
                // `and` and `or` are associative in the language's three-valued logic: a chain
                // of one of them is one list of operands, in their order.
                if (comparable && (n.op == BinaryOp::And || n.op == BinaryOp::Or)) {
                    std::vector<const Expr*> operands;
                    chain_operands(*n.lhs, n.op, operands);
                    chain_operands(*n.rhs, n.op, operands);
                    out << '(';
                    for (size_t i = 0; i < operands.size(); ++i) {
                        if (i) out << ' ' << to_string(n.op) << ' ';
                        print(out, *operands[i], comparable);
                    }
                    out << ')';
                    return;
                }
                out << '(';
                print(out, *n.lhs, comparable);
                out << ' ' << to_string(n.op) << ' ';
                print(out, *n.rhs, comparable);
                out << ')';
            } else if constexpr (std::is_same_v<T, InList>) {
                out << '(';
                print(out, *n.value, comparable);
                out << (n.negated ? " not in [" : " in [");
                // A list is a set: its order and repeats mean nothing.
                std::vector<std::string> items;
                for (const auto& item : n.items)
                    items.push_back(printed(*item, comparable));
                if (comparable) {
                    std::sort(items.begin(), items.end());
                    items.erase(std::unique(items.begin(), items.end()), items.end());
                }
                for (size_t i = 0; i < items.size(); ++i)
                    out << (i ? ", " : "") << items[i];
                out << "])";
            } else if constexpr (std::is_same_v<T, Between>) {
                out << '(';
                print(out, *n.value, comparable);
                out << (n.negated ? " not between " : " between ");
                print(out, *n.low, comparable);
                out << " and ";
                print(out, *n.high, comparable);
                out << ')';
            } else if constexpr (std::is_same_v<T, IsNull>) {
                out << '(';
                print(out, *n.value, comparable);
                out << (n.negated ? " is not null)" : " is null)");
            } else if constexpr (std::is_same_v<T, Call>) {
                // Named arguments bind by name: after the positional ones, their order means
                // nothing.
                std::vector<std::string> positional, named;
                for (const Arg& a : n.args) {
                    std::ostringstream arg;
                    print_arg(arg, a, comparable);
                    (comparable && !a.name.empty() ? named : positional).push_back(arg.str());
                }
                std::sort(named.begin(), named.end());
                positional.insert(positional.end(), named.begin(), named.end());
                out << n.name << '(';
                for (size_t i = 0; i < positional.size(); ++i)
                    out << (i ? ", " : "") << positional[i];
                out << ')';
            }
        },
        e.node);
}

}  // namespace

std::string to_canonical_string(const Expr& e) {
    return printed(e, false);
}

std::string to_comparable_string(const Expr& e) {
    return printed(e, true);
}

}  // namespace strata::ast
