// Binder's implementation, shared by binder.cpp (names, operators, lets and the walk over an
// expression) and binder_calls.cpp (function calls, population functions and aggregates).
// Private to dsl/.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsl/binder.hpp"
#include "dsl/functions.hpp"
#include "dsl/hints.hpp"

namespace strata {

struct Binder::Impl {
    using ExprPtr = bound::ExprPtr;
    using Code = DiagnosticCode;

    static bool orderable(Type t) {
        return t != Type::Bool && t != Type::Record && t != Type::Duration;
    }

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
    std::vector<std::string> lets_not_read;  // past the depth limit, in the order cut

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

    // The operator ("+", "-", ...) whose result `e` is, when arithmetic made a value whose
    // type is not known until the schema is (a column checked without --db), directly or
    // through the lets it names; null otherwise. Arithmetic never gives true or false.
    const char* unknown_arithmetic(const bound::Expr& e) const;
    // Whether `e` may stand where a condition must: a bool, or a value of a type not known
    // yet that arithmetic did not make.
    bool may_be_condition(const bound::Expr& e) const {
        return e.type == Type::Bool || (is_open(e.type) && !unknown_arithmetic(e));
    }
    // What `e` is, for "needs a condition, but this is …": "an integer", "the result of '+'".
    std::string kind_of(const bound::Expr& e) const {
        const char* op = unknown_arithmetic(e);
        return op ? std::string("the result of '") + op + "'" : with_article(e.type);
    }

    template <typename Node>
    ExprPtr make(const ast::Expr& src, Type type, Node node) {
        auto e = std::make_unique<bound::Expr>();
        e->type = type;
        e->location = loc(src.span);
        e->node = std::move(node);
        return e;
    }

    // Where a column's type came from, for a type error about it: " (column 'employees' of
    // table 'customers' is declared TEXT)"; empty for anything but a column typed from the
    // database's declared type.
    std::string declared_origin(const bound::Expr& e) const {
        const std::string* table = nullptr;
        const std::map<std::string, std::string>* declared = nullptr;
        const std::string* name = nullptr;
        if (const auto* c = std::get_if<bound::CustomerColumn>(&e.node)) {
            const bound::ColumnUse& use = program.columns.at(static_cast<size_t>(c->slot));
            if (use.source != bound::ColumnSource::Table) return {};
            name = &use.name;
            declared = &scope.declared;
            table = &scope.customers_table;
        } else if (const auto* f = std::get_if<bound::FactColumn>(&e.node)) {
            if (fact_context < 0) return {};
            const auto& fact = scope.facts.at(static_cast<size_t>(fact_context));
            const int index = fact_program_index.at(static_cast<size_t>(fact_context));
            if (index < 0) return {};
            name = &program.facts.at(static_cast<size_t>(index))
                        .columns.at(static_cast<size_t>(f->slot))
                        .name;
            declared = &fact.declared;
            table = &fact.table;
        } else {
            return {};
        }
        const auto it = declared->find(*name);
        if (it == declared->end()) return {};
        return " (column '" + *name + "' of table '" + *table + "' is declared " + it->second + ")";
    }

    // Both operands' origins in one parenthesis: " (column 'a' of table 't' is declared
    // DATETIME; column 'b' of table 't' is declared DATE)".
    std::string declared_origins(const bound::Expr& left, const bound::Expr& right) const {
        std::string first = declared_origin(left);
        const std::string second = declared_origin(right);
        if (first.empty() || second.empty()) return first + second;
        first.pop_back();  // its ')'
        return first + "; " + second.substr(2);
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
                program.facts.back().time_typed = !f.time_guessed;
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

    ExprPtr bind_let_ref(const ast::Expr& src, const std::string& name);

    void bind_let(const std::string& name);

    ExprPtr field_access(const ast::Expr& src, const ast::Name& name, size_t part, ExprPtr base);

    ExprPtr bind_fact_name(const ast::Expr& src, const ast::Name& name);

    ExprPtr bind_name(const ast::Expr& src, const ast::Name& name);

    // ---- operators ----

    ExprPtr bind_unary(const ast::Expr& src, const ast::Unary& u);

    void warn_null_comparison(const ast::Expr& src, const bound::Expr& lhs, const bound::Expr& rhs);

    std::optional<Type> arithmetic_type(ast::BinaryOp op, Type l, Type r);

    ExprPtr bind_binary(const ast::Expr& src, const ast::Binary& b);

    ExprPtr bind_in(const ast::Expr& src, const ast::InList& in);

    ExprPtr bind_between(const ast::Expr& src, const ast::Between& bt);

    // ---- calls ----

    // Matches a call's arguments to the function's parameters; nullopt after reporting.
    std::optional<std::vector<const ast::Arg*>> match_args(const ast::Expr& src,
                                                           const ast::Call& call,
                                                           const FunctionSpec& spec);

    std::optional<double> constant_number(const ast::Arg* arg, const char* what);

    std::optional<std::string> constant_word(const ast::Arg* arg, const char* what);

    bool expect(const ast::Expr& src, const bound::Expr& e, bool ok, const std::string& what,
                const std::string& hint = {});

    ExprPtr bind_call(const ast::Expr& src, const ast::Call& call);

    // Checks argument types of a scalar or population call; returns its result type.
    std::optional<Type> check_scalar_call(const ast::Expr& src, const ast::Call& call, bound::Fn fn,
                                          const std::vector<const ast::Arg*>& args,
                                          const std::vector<ExprPtr>& bound_args);

    // The fact an aggregate runs over: `count(orders)`, or the first `orders.x` in its value.
    int aggregate_fact(const ast::Expr& e);

    ExprPtr bind_aggregate(const ast::Expr& src, const ast::Call& call, const FunctionSpec& spec,
                           const std::vector<const ast::Arg*>& slots);

    // Binding recurses through expressions and, depth-first, through the lets they use; this
    // bounds the total so that no rule file can exhaust the stack.
    static constexpr int kMaxBindDepth = 4000;
    int bind_depth = 0;
    bool bind_depth_reported = false;
    // The customer columns a built-in name hides (`as_of`), told once each.
    std::set<std::string> hidden_columns_told;

    ExprPtr bind_expr(const ast::Expr& e);

    ExprPtr bind_node(const ast::Expr& e);
};

}  // namespace strata
