// The front-end in one call: load the YAML, parse every expression, bind against a schema
// (or openly, without one), and run the rule-level checks. Returns everything later stages
// need, with every problem in `diags`.
#pragma once

#include <memory>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/bound.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/ruleset.hpp"
#include "dsl/schema.hpp"
#include "dsl/source.hpp"

namespace strata {

struct CompiledSegment {
    const SegmentDef* def;
    bound::ExprPtr when;  // null for `otherwise`
    std::vector<CompiledSegment> tactical;
};

struct CompiledRules {
    SourceFile source;
    RuleFile rules;
    std::vector<ast::ExprPtr> asts;  // owns the parsed trees
    bound::Program program;
    std::vector<CompiledSegment> segments;
    bound::ExprPtr value;  // may be null
    bound::ExprPtr since;  // source.since: a customer column of type date or datetime, or null
};

// Compiles one rule file. With a schema, names and types are checked against the database;
// without one, unknown names are taken as customer columns of unknown type.
// Returns null when the file could not be read as a rule file at all. Check
// diags.has_errors() before evaluating what is returned.
std::unique_ptr<CompiledRules> compile_rules(SourceFile source, const Schema* schema,
                                             Diagnostics& diags);

}  // namespace strata
