// The binder and type checker: resolves names in parsed expressions against a scope (the
// schema's columns, fact tables, `let` names, as_of) and checks types, producing bound,
// typed trees and a Program that lists everything the engine has to read and compute.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/bound.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/ruleset.hpp"
#include "dsl/source.hpp"

namespace strata {

// The names an expression may use.
struct NameScope {
    struct Fact {
        std::string name;  // as rules write it
        std::string table;
        std::string key;
        std::string time;   // may be empty
        bool open = false;  // no schema: any column name is accepted, typed Any
        std::map<std::string, Type> columns;
        std::map<std::string, std::string> declared;  // as `NameScope::declared`
        bool time_guessed = false;  // no schema nor source.types gives `time`'s type: a date
    };
    bool open_columns = false;  // no schema: unknown names are customer columns of type Any
    std::map<std::string, Type> columns;
    // The database's declared type of each column typed from it (not from source.types), so
    // that a type error can say where the type came from: "VARCHAR(20)".
    std::map<std::string, std::string> declared;
    std::string customers_table;  // for messages
    std::vector<Fact> facts;
};

// A parsed expression plus where its text came from, for locations.
struct ExprRef {
    const SourceFile* file;
    const ExprText* text;
    const ast::Expr* ast;
};

class Binder {
  public:
    Binder(NameScope scope, Diagnostics& diags);
    ~Binder();
    Binder(const Binder&) = delete;
    Binder& operator=(const Binder&) = delete;

    // Declares a let before any binding; lets may refer to each other in any order.
    void define_let(const std::string& name, ExprRef expr);

    // Binds a customer-level expression. Problems go to the diagnostics; the returned tree is
    // always usable for further checks (a node that failed is typed Any).
    bound::ExprPtr bind(ExprRef expr);

    // Binds every declared let that no expression has reached yet.
    void bind_all_lets();

    // REQUIRES: bind_all_lets() was called. Lets come dependencies first.
    bound::Program take_program();

    // Whether a bound expression may stand where a condition must: a bool, or a value whose
    // type is not known until the schema is, unless arithmetic made it (`plan + 1` is never
    // true or false, whatever `plan` holds). REQUIRES: `e` came from this binder.
    bool may_be_condition(const bound::Expr& e) const;
    // What `e` is, for "must be a condition, but this is …": "an integer", "the result of '+'".
    std::string kind_of(const bound::Expr& e) const;
    // Let names that no other expression uses, in declaration order.
    std::vector<std::string> unused_lets() const;
    // Lets whose expressions were not read, cut by the depth limit of let references: the lets
    // they name count as used by nobody in unused_lets().
    const std::vector<std::string>& lets_not_read() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace strata
