// The static model behind the partition analysis (analysis/partition.hpp): segment conditions
// turned into three-valued predicates over finitely many variables, each variable with a
// finite list of representative values.
//
// A variable is an "atom" of the conditions: a customer column, a let that is not itself a
// condition, an aggregate, a population score such as `ntile(x, 5)` or `rfm.r`, or any other
// expression the analysis keeps whole. The constants the conditions compare a variable with
// split its values into finitely many classes (for numbers and dates: every constant c gives
// the point c and the open intervals between; for strings: each literal and "any other
// string"; plus null), and every value of a class makes every condition come out the same.
// One representative value per class therefore stands for all of them, so enumerating the
// combinations of representatives decides every question about the conditions exactly.
//
// What the analysis does not handle (a comparison of two fields, `matches`, a datetime
// compared in order, ...) becomes an opaque variable: a condition that may be true, false or
// unknown independently of everything else. Proofs stay sound with opaque parts; a
// counterexample that needs one is reported as "not proven", never as a certain problem.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/compiler.hpp"
#include "dsl/source.hpp"

namespace strata::partition {

// A set of truth values, as bits: what a condition can still come out as.
using TruthSet = uint8_t;
constexpr TruthSet kFalse = 1, kTrue = 2, kUnknown = 4, kAnyTruth = 7;

enum class VarKind { Number, Integer, String, Bool, Date, Opaque };

// How a date variable's values are numbered: days since 1970-01-01 (compared with fixed
// dates), or days or months after the run's as_of (compared with `as_of - 30d`, `as_of - 4y`).
enum class DateScale { Fixed, AsOfDays, AsOfMonths };

// One representative value: it stands for every value of its class.
struct Rep {
    bool null = false;
    double number = 0;     // numbers, integers, dates in the variable's scale, bools (0/1)
    std::string text;      // strings
    bool other = false;    // a string other than every literal the conditions name
    bool guessed = false;  // a value the column may not hold (Var::guessed_because says why)
};

// A constant as the conditions write it, before the variable's scale is known.
struct Constant {
    enum class Kind { Null, Number, String, Bool, FixedDate, AsOfDate, Unsupported };
    Kind kind = Kind::Unsupported;
    double number = 0;  // Number, Bool (0/1), FixedDate (days since the epoch)
    bool integral = false;
    std::string text;  // String; Unsupported: why, when known
    Duration offset;   // AsOfDate: as_of + offset
};

// How a variable relates to a fact table, for the facts the analysis knows about a base:
// a customer without rows has count 0, sum 0 and null for the rest, and a customer with rows
// has a latest (and earliest) time no later than as_of.
struct FactLink {
    int fact = -1;  // into Program::facts; -1 when not an aggregate
    bound::AggFn fn = bound::AggFn::Count;
    bool whole = false;         // no `where`
    bool counts_rows = false;   // count(fact) with no `where`: the customer's rows (not a
                                // count of a column's values, which skips its nulls)
    bool time_extreme = false;  // min or max of the fact's time column, without `where`
    // False when the time column's type is a guess (checked without --db): its rows of the
    // as_of day may hold times of day, after as_of's midnight.
    bool time_typed = true;
};

struct Var {
    std::string name;  // in the author's terms: a column or let name, `rfm.r`, `count(orders)`
    VarKind kind = VarKind::Opaque;
    bool typed = true;  // false: a column checked without --db (its type is a guess)
    // Why a guessed representative may be no customer's value; empty: a fraction in an untyped
    // column, which may hold only integers.
    std::string guessed_because;
    bool nullable = true;
    std::optional<double> low, high;          // known range, in the variable's scale
    std::vector<std::string> closed_strings;  // abc, xyz: the only strings it can hold
    std::set<std::string> roots;              // columns and facts it is computed from
    FactLink fact;
    Location location;        // where first used
    std::string unsupported;  // why the analysis keeps it opaque (Opaque only)

    // Filled while building and finishing the model.
    std::vector<Constant> constants;
    DateScale scale = DateScale::Fixed;
    std::vector<double> bounds;      // the scaled constants, sorted
    std::vector<std::string> texts;  // the string literals, sorted
    std::vector<Rep> reps;
};

struct Pred {
    enum class Op { Const, Compare, In, IsNull, IsTrue, And, Or, Not };
    Op op = Op::Const;
    TruthSet constant = kUnknown;  // Const
    int var = -1;
    ast::BinaryOp compare = ast::BinaryOp::Eq;  // Compare: var `compare` constants[0]
    std::vector<Constant> constants;            // Compare: one; In: the list
    bool negated = false;                       // IsNull: `is not null`
    std::vector<Pred> kids;                     // And, Or, Not
    Location location;                          // leaves: the condition's part in the file
    std::string source;                         // leaves: that part as text
    // Per representative of `var`: the truth of this leaf, and their union. Set by finish().
    std::vector<TruthSet> by_rep;
    TruthSet any = kAnyTruth;
};

class Model {
  public:
    explicit Model(const CompiledRules& rules) : rules_(rules) {}

    // Adds a condition (a bound `when`) and returns its predicate's index in preds().
    size_t add_condition(const bound::Expr& when);
    // Splits every variable into its classes and tabulates the leaves. Call once, after the
    // last add_condition.
    void finish();

    const std::vector<Var>& vars() const { return vars_; }
    const std::vector<Pred>& preds() const { return preds_; }
    const CompiledRules& rules() const { return rules_; }

    // The truths `p` can still take when each variable v is fixed to its representative
    // assignment[v], or free where assignment[v] < 0.
    static TruthSet evaluate(const Pred& p, const std::vector<int>& assignment);
    // The variables `p` reads.
    static void collect_vars(const Pred& p, std::set<int>& out);
    // How many nodes `p` has: what evaluate() visits at most.
    static size_t node_count(const Pred& p);

    // The predicate nodes that all searches over this model may evaluate together, past the
    // first few each search has of its own (analysis/partition.cpp). A search spends a step's
    // nodes before it takes the step; once they are spent, a costly search is over its budget
    // and the proof says "not proven". Each search has a budget of steps
    // too, but a step evaluates every predicate of its question whole: 410 bytes of lets that
    // repeat one another made predicates of 18,000 nodes, and one search of 200,000 steps
    // took 32 s.
    static constexpr size_t kNodeBudget = 250'000'000;
    // Spends `nodes` of the budget; false (spending nothing) when fewer are left.
    bool spend(size_t nodes) const;
    // The nodes spent so far (at most kNodeBudget).
    size_t nodes_spent() const { return nodes_spent_; }
    // False when the assigned representatives break what is known of a base (a customer
    // with no orders has count 0 and no latest order date). Unassigned variables are free.
    bool consistent(const std::vector<int>& assignment) const;
    // The variables whose value is tied to v's by what consistent() checks.
    std::vector<int> linked(int v) const;

    // A representative in the author's terms: `100000`, `'gold'`, `as_of - 4y`,
    // `no value (null)`, `a value other than 'a', 'b'`.
    std::string show(int var, int rep) const;
    // The representative as a value a customer row can hold (for tests); nullopt when it
    // depends on as_of or is not a plain value.
    std::optional<ast::LiteralValue> concrete(int var, int rep) const;

  private:
    // A let's condition or value, which may refer to other lets: the binder refuses cycles and
    // nests them at most 256 deep, so following them always ends.
    const bound::Expr* let_expr(int index) const;
    Pred condition(const bound::Expr& e);
    Pred comparison(const bound::Expr& e, ast::BinaryOp op, const bound::Expr& lhs,
                    const bound::Expr& rhs);
    Pred opaque(const bound::Expr& e, const std::string& why);
    std::optional<Constant> constant(const bound::Expr& e) const;
    std::optional<Constant> constant_as_written(const bound::Expr& e) const;
    int atom(const bound::Expr& e);
    int add_var(const std::string& key, Var var);
    void describe(const bound::Expr& e, Var& var) const;
    // False when the expression is never null: a count, a sum, a constant, a rank of one of
    // them, a coalesce (least, greatest) of which one argument is, an if() of which both are.
    bool may_be_null(const bound::Expr& e) const;
    // Whether one of the values the expression gives is an untyped one's (a column checked
    // without --db), fractions and all: a coalesce, least, greatest or if() of it, or
    // arithmetic on it (-x, x + 0, abs(x)).
    bool takes_untyped_value(const bound::Expr& e) const;
    void roots(const bound::Expr& e, std::set<std::string>& out) const;
    void finish_var(Var& v);
    void tabulate(Pred& p);
    std::string text(const bound::Expr& e) const;
    // The expression as written in the file when it sits on one line, else text(e).
    std::string written(const bound::Expr& e) const;

    const CompiledRules& rules_;
    std::vector<Var> vars_;
    std::vector<std::string> keys_;
    std::vector<Pred> preds_;
    int let_depth_ = 0;
    // Lets are read where they are used, and a let may use another several times (`b: a + a`,
    // `c: b + b`, ...): each let's constant and roots are worked out once, and the conditions
    // built have a budget, past which a let's condition is one opaque value. Otherwise a chain
    // of 30 such lets would take the analysis 2^30 steps.
    mutable std::map<int, std::optional<Constant>> let_constants_;
    mutable std::map<int, std::set<std::string>> let_roots_;
    mutable std::map<int, bool> let_untyped_, let_may_be_null_;
    size_t conditions_built_ = 0;
    mutable size_t nodes_spent_ = 0;  // of kNodeBudget, by spend()
    static constexpr size_t kConditionBudget = 100000;
};

}  // namespace strata::partition
