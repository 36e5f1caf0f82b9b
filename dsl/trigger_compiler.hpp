// Compiling a rule file's triggers: segment ids in `on` and `success` resolved against the
// file's segments, `when` and every {{template}} of the actions' parameters parsed and bound
// like any other expression (errors at file:line:col inside the template), and the events
// that can never happen reported.
#pragma once

#include <functional>

#include "dsl/binder.hpp"
#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"

namespace strata {

// Parses an expression text of `out`'s file, reporting syntax errors; null when it did not parse.
using ParseFn = std::function<const ast::Expr*(const ExprText&)>;

// Fills out.triggers from out.rules.triggers. Problems go to `diags`.
void compile_triggers(CompiledRules& out, Binder& binder, const ParseFn& parse, Diagnostics& diags);

// Splits a parameter's text at its {{...}} parts: the literal pieces, and the expression
// texts (with their own file offsets, stored in `texts`). Reports an unclosed or empty {{ }}.
struct TemplateParts {
    std::vector<std::string> literals;
    std::vector<const ExprText*> exprs;
};
TemplateParts split_template(const SourceFile& file, const ExprText& text,
                             std::deque<ExprText>& texts, Diagnostics& diags);

}  // namespace strata
