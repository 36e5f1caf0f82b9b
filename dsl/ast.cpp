#include "dsl/ast.hpp"

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
    for (char c : s) {
        if (c == '\'' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
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

void print(std::ostream& out, const Expr& e);

void print_arg(std::ostream& out, const Arg& a) {
    if (!a.name.empty()) out << a.name << ": ";
    print(out, *a.value);
    if (a.where) {
        out << " where ";
        print(out, *a.where);
    }
}

// Fully parenthesised, so the text is unambiguous whatever the source's parentheses.
void print(std::ostream& out, const Expr& e) {
    std::visit(
        [&out](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, Literal>) {
                out << literal_text(n.value);
            } else if constexpr (std::is_same_v<T, Name>) {
                out << n.dotted();
            } else if constexpr (std::is_same_v<T, Unary>) {
                out << '(' << to_string(n.op) << (n.op == UnaryOp::Not ? " " : "");
                print(out, *n.operand);
                out << ')';
            } else if constexpr (std::is_same_v<T, Binary>) {
                out << '(';
                print(out, *n.lhs);
                out << ' ' << to_string(n.op) << ' ';
                print(out, *n.rhs);
                out << ')';
            } else if constexpr (std::is_same_v<T, InList>) {
                out << '(';
                print(out, *n.value);
                out << (n.negated ? " not in [" : " in [");
                for (size_t i = 0; i < n.items.size(); ++i) {
                    if (i) out << ", ";
                    print(out, *n.items[i]);
                }
                out << "])";
            } else if constexpr (std::is_same_v<T, Between>) {
                out << '(';
                print(out, *n.value);
                out << (n.negated ? " not between " : " between ");
                print(out, *n.low);
                out << " and ";
                print(out, *n.high);
                out << ')';
            } else if constexpr (std::is_same_v<T, IsNull>) {
                out << '(';
                print(out, *n.value);
                out << (n.negated ? " is not null)" : " is null)");
            } else if constexpr (std::is_same_v<T, Call>) {
                out << n.name << '(';
                for (size_t i = 0; i < n.args.size(); ++i) {
                    if (i) out << ", ";
                    print_arg(out, n.args[i]);
                }
                out << ')';
            }
        },
        e.node);
}

}  // namespace

std::string to_canonical_string(const Expr& e) {
    std::ostringstream out;
    print(out, e);
    return out.str();
}

}  // namespace strata::ast
