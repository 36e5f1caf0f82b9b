// The parsed expression tree: names as written, no types yet. Every node carries the span
// of expression text it came from, so later stages can point at it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "dsl/calendar.hpp"

namespace strata::ast {

// Byte offsets [begin, end) into the expression text.
struct Span {
    uint32_t begin = 0;
    uint32_t end = 0;
    uint32_t length() const { return end > begin ? end - begin : 1; }
};

struct Null {
    bool operator==(const Null&) const = default;
};
using LiteralValue =
    std::variant<Null, bool, int64_t, double, std::string, Date, DateTime, Duration>;

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class UnaryOp { Negate, Not };
enum class BinaryOp { Or, And, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div, Mod };

const char* to_string(BinaryOp op);
const char* to_string(UnaryOp op);

struct Literal {
    LiteralValue value;
};

// A name or dotted path: `plan`, `rfm.r`, `orders.amount`.
struct Name {
    std::vector<std::string> parts;
    std::vector<Span> part_spans;
    std::string dotted() const;
};

struct Unary {
    UnaryOp op;
    ExprPtr operand;
};

struct Binary {
    BinaryOp op;
    ExprPtr lhs;
    ExprPtr rhs;
    Span op_span;
};

// value [not] in [items...]
struct InList {
    ExprPtr value;
    std::vector<ExprPtr> items;
    bool negated = false;
};

// value [not] between low and high (inclusive)
struct Between {
    ExprPtr value;
    ExprPtr low;
    ExprPtr high;
    bool negated = false;
};

// value is [not] null
struct IsNull {
    ExprPtr value;
    bool negated = false;
};

// One call argument: positional (name empty) or named (`bins: 5`), with an optional
// `where` filter (only meaningful for aggregates).
struct Arg {
    std::string name;
    Span name_span;
    ExprPtr value;
    ExprPtr where;
};

struct Call {
    std::string name;
    Span name_span;
    std::vector<Arg> args;
};

struct Expr {
    Span span;
    std::variant<Literal, Name, Unary, Binary, InList, Between, IsNull, Call> node;
};

// Canonical text of an expression: same meaning gives the same text, whatever the spacing
// or parentheses in the source. Used to compare conditions and in explanations.
std::string to_canonical_string(const Expr& e);

// The canonical text with what does not change an expression's meaning taken out as well: a
// chain of `and` (or of `or`) is one list however it is parenthesised, an `in` list's items
// are sorted and each kept once, and named call arguments are sorted by name after the
// positional ones. Two expressions with the same comparable text mean the same; `strata diff`
// compares conditions by it. (Arithmetic is not regrouped: a + (b + c) can round otherwise.)
std::string to_comparable_string(const Expr& e);

}  // namespace strata::ast
