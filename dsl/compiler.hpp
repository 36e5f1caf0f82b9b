// The front-end in one call: load the YAML, parse every expression, bind against a schema
// (or openly, without one), and run the rule-level checks. Returns everything later stages
// need, with every problem in `diags`.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/bound.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/ruleset.hpp"
#include "dsl/schema.hpp"
#include "dsl/source.hpp"

namespace strata {

// A segment with its bound condition and its tactical segments in order: its own first, then
// the shared tactical segments that apply inside it, in file order. A shared one appears under
// every parent it applies inside, each time with the same definition and the same condition
// (`shared` holds its index in RuleFile::shared_tactical), so every stage that walks the tree
// sees it under each parent.
struct CompiledSegment {
    const SegmentDef* def;
    std::shared_ptr<bound::Expr> when;  // null for `otherwise`
    std::vector<CompiledSegment> tactical;
    std::optional<size_t> shared;  // a shared tactical segment: its index in the file's list
};

// A segment a trigger's event names, resolved against the rule file's segments.
struct SegmentRef {
    enum class Kind { Any, None, General, Tactical };
    Kind kind = Kind::Any;
    std::string path;  // General: the id; Tactical: the path as membership holds it
};

// `enter X`, `exit X`, `in X` (X is `segment`), or `move X -> Y` (X `segment`, Y `to`).
struct CompiledEvent {
    TriggerEvent event = TriggerEvent::Enter;
    SegmentRef segment;
    SegmentRef to;
};

// A parameter's text with its {{expression}} templates: literals[0] exprs[0] literals[1] ...
// (always one literal more than expressions).
struct CompiledTemplate {
    std::vector<std::string> literals;
    std::vector<bound::ExprPtr> exprs;
};

struct CompiledAction {
    const ActionDef* def;
    std::vector<std::pair<std::string, CompiledTemplate>> params;  // in file order
};

struct CompiledTrigger {
    const TriggerDef* def;
    CompiledEvent on;
    std::optional<CompiledEvent> success;
    bound::ExprPtr when;  // null when the trigger has none
    std::vector<CompiledAction> actions;
};

struct CompiledRules {
    SourceFile source;
    RuleFile rules;
    std::vector<ast::ExprPtr> asts;  // owns the parsed trees
    bound::Program program;
    std::vector<CompiledSegment> segments;
    bound::ExprPtr value;  // may be null
    bound::ExprPtr since;  // source.since: a customer column of type date or datetime, or null
    std::vector<CompiledTrigger> triggers;  // in file order
    std::deque<ExprText> template_texts;    // the {{...}} parts of action parameters
};

// Compiles one rule file. With a schema, names and types are checked against the database;
// without one, unknown names are taken as customer columns of unknown type.
// Returns null when the file could not be read as a rule file at all. Check
// diags.has_errors() before evaluating what is returned.
std::unique_ptr<CompiledRules> compile_rules(SourceFile source, const Schema* schema,
                                             Diagnostics& diags);

}  // namespace strata
