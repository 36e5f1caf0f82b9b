// The bound tree: every name resolved to a slot, every node typed. The evaluator works on
// this tree only and never looks a name up. Nodes keep their source location.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/source.hpp"
#include "dsl/types.hpp"

namespace re2 {
class RE2;
}

namespace strata::bound {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class Fn {
    // scalar
    Coalesce,
    If,
    Least,
    Greatest,
    Abs,
    Round,
    Floor,
    Ceil,
    Lower,
    Upper,
    Length,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    DaysBetween,
    DaysSince,
    Year,
    Month,
    // population: the value for one customer depends on the whole base
    Ntile,
    PercentRank,
    Rfm,
    Abc,
    Xyz,
};
bool is_population(Fn fn);

enum class AggFn { Count, Sum, Avg, Min, Max, CountDistinct, Cv };

struct Literal {
    ast::LiteralValue value;
};
struct CustomerColumn {  // a column of the customer table (or the row being evaluated)
    int slot;
};
struct FactColumn {  // a column of the fact table, inside an aggregate
    int slot;
};
struct LetRef {
    int index;  // into Program::lets
};
struct AsOf {};
struct AggregateRef {
    int index;  // into Program::aggregates
};
struct Field {  // record.field, e.g. rfm.r
    ExprPtr record;
    int field;
};
struct Unary {
    ast::UnaryOp op;
    ExprPtr operand;
};
struct Binary {
    ast::BinaryOp op;
    ExprPtr lhs;
    ExprPtr rhs;
};
struct InList {
    ExprPtr value;
    std::vector<ExprPtr> items;
    bool negated;
};
struct Between {
    ExprPtr value;
    ExprPtr low;
    ExprPtr high;
    bool negated;
};
struct IsNull {
    ExprPtr value;
    bool negated;
};
// Constant parameters of population functions and matches().
struct CallParams {
    int64_t n = 0;             // ntile n, rfm bins
    bool best_low = false;     // rfm best: low
    double a = 0.8, b = 0.95;  // abc thresholds; xyz uses them as x, y
    std::shared_ptr<const re2::RE2> regex;
};
struct Call {
    Fn fn;
    std::vector<ExprPtr> args;  // in the function's parameter order; absent optional ones are null
    CallParams params;
};

struct Expr {
    Type type = Type::Any;
    Location location;  // in the rule file
    std::variant<Literal, CustomerColumn, FactColumn, LetRef, AsOf, AggregateRef, Field, Unary,
                 Binary, InList, Between, IsNull, Call>
        node;
};

// Calls f(operand) on each operand of e that is present, in source order: a field's record,
// a unary's operand, a binary's two sides, an in-list's value and items, a between's value and
// bounds, an is-null's value, a call's arguments. Leaves (literals, columns, lets, aggregates,
// as_of) have none. Walks of the expression tree recurse through this.
template <typename F>
void for_each_operand(const Expr& e, F&& f) {
    auto visit = [&f](const ExprPtr& p) {
        if (p) f(*p);
    };
    std::visit(
        [&](const auto& n) {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, Field>) {
                visit(n.record);
            } else if constexpr (std::is_same_v<T, Unary>) {
                visit(n.operand);
            } else if constexpr (std::is_same_v<T, Binary>) {
                visit(n.lhs);
                visit(n.rhs);
            } else if constexpr (std::is_same_v<T, InList>) {
                visit(n.value);
                for (const auto& item : n.items)
                    visit(item);
            } else if constexpr (std::is_same_v<T, Between>) {
                visit(n.value);
                visit(n.low);
                visit(n.high);
            } else if constexpr (std::is_same_v<T, IsNull>) {
                visit(n.value);
            } else if constexpr (std::is_same_v<T, Call>) {
                for (const auto& a : n.args)
                    visit(a);
            }
        },
        e.node);
}

// The rfm record's fields, in order.
inline const std::vector<std::string>& rfm_fields() {
    static const std::vector<std::string> fields{"r", "f", "m", "code"};
    return fields;
}

enum class CvPeriod { Day, Week, Month };

struct Aggregate {
    AggFn fn;
    int fact;       // into Program::facts
    ExprPtr value;  // over fact columns; null for count(fact)
    ExprPtr where;  // over fact columns; may be null
    Type type;      // result type
    CvPeriod per = CvPeriod::Month;
    Duration over;     // cv: the window's length
    int buckets = 0;   // cv: periods in the window, months counted as 30 days (the engine
                       // counts day and week periods on the calendar from as_of)
    std::string text;  // canonical text, to share identical aggregates
};

// Where a customer column's values come from: the customer table, or the stored state of
// the ruleset (previous_segment, segment_since, days_in_segment), which the run provides.
enum class ColumnSource { Table, State };

struct ColumnUse {
    std::string name;
    Type type;
    ColumnSource source = ColumnSource::Table;
};

struct FactUse {
    std::string name;  // as written in rules
    std::string table;
    std::string key;
    std::string time;                // may be empty: then no point-in-time filter
    int time_slot = -1;              // slot of `time` in columns, when set
    std::vector<ColumnUse> columns;  // fact columns read
    // False when `time`'s type is a guess (a date), made without the table's schema or
    // source.types: its rows may hold times of day, after as_of's midnight.
    bool time_typed = true;
};

struct Let {
    std::string name;
    Type type;
    ExprPtr expr;
};

// Everything the engine must read and compute for a set of expressions.
// The type of a field read from the ruleset's stored state (the latest run before this one),
// or nullopt when `name` is not one: previous_segment (string), segment_since (date),
// days_in_segment (integer).
std::optional<Type> state_field_type(const std::string& name);

// The operands of the chain of binary operations rooted at e, left to right: `a + b + c`,
// however grouped, gives a, b and c when is_link(node, binary) holds for each of its `+`
// nodes. A node that is no Binary, or one is_link refuses, is an operand.
template <typename IsLink>
std::vector<const Expr*> chain_operands(const Expr& e, IsLink is_link) {
    std::vector<const Expr*> operands;
    std::vector<const Expr*> pending{&e};
    while (!pending.empty()) {
        const Expr* at = pending.back();
        pending.pop_back();
        const auto* link = std::get_if<Binary>(&at->node);
        if (link && is_link(*at, *link)) {
            pending.push_back(link->rhs.get());
            pending.push_back(link->lhs.get());
        } else {
            operands.push_back(at);
        }
    }
    return operands;
}

struct Program {
    std::vector<ColumnUse> columns;  // customer columns read
    std::vector<FactUse> facts;
    std::vector<Aggregate> aggregates;
    std::vector<Let> lets;  // dependencies first

    // Whether the rules read the stored state (previous_segment and the like).
    bool reads_stored_state() const {
        for (const ColumnUse& c : columns)
            if (c.source == ColumnSource::State) return true;
        return false;
    }
};

}  // namespace strata::bound
