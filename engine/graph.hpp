// The rule graph: what every let, aggregate, population function and segment depends on.
// Nodes come in a topological order (every dependency before what depends on it), so the
// engine's evaluation order and an auditor's reading order are the same.
#pragma once

#include <string>
#include <vector>

#include "dsl/compiler.hpp"

namespace strata {

struct GraphNode {
    // State: a field read from the ruleset's latest stored run (previous_segment and the
    // like), not a column of the customer table.
    // Value: the rule file's `value:`, the money each segment's total adds up.
    enum class Kind {
        Column,
        State,
        Fact,
        Aggregate,
        Population,
        Let,
        General,
        Tactical,
        Trigger,
        Value
    };
    Kind kind;
    std::string name;
    Location location;  // where it is written, col in characters (invalid for columns and facts)
    std::vector<size_t> deps;  // indices of nodes this one needs, all smaller than its own
};

const char* kind_name(GraphNode::Kind kind);

struct RuleGraph {
    std::vector<GraphNode> nodes;
};

// Builds the graph of compiled rules. Under first_match a general segment also depends on
// the segments before it: it only gets the customers they did not take. A `source.since`
// column leaves customers out before anything is computed: every general segment and
// population call depends on it. The `value:` is the last node.
RuleGraph build_rule_graph(const CompiledRules& rules);

}  // namespace strata
