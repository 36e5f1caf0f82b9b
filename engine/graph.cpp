#include "engine/graph.hpp"

#include <algorithm>
#include <map>

#include "dsl/functions.hpp"
#include "engine/policy.hpp"

namespace strata {

const char* kind_name(GraphNode::Kind kind) {
    switch (kind) {
        case GraphNode::Kind::Column:
            return "column";
        case GraphNode::Kind::State:
            return "state";
        case GraphNode::Kind::Fact:
            return "fact";
        case GraphNode::Kind::Aggregate:
            return "aggregate";
        case GraphNode::Kind::Population:
            return "population";
        case GraphNode::Kind::Let:
            return "let";
        case GraphNode::Kind::General:
            return "general";
        case GraphNode::Kind::Tactical:
            return "tactical";
        case GraphNode::Kind::Trigger:
            return "trigger";
        case GraphNode::Kind::Value:
            return "value";
    }
    return "?";
}

namespace {

class Builder {
  public:
    explicit Builder(const CompiledRules& rules) : rules_(rules) {}

    RuleGraph build() {
        const auto& p = rules_.program;
        for (const auto& c : p.columns)
            columns_.push_back(c.source == bound::ColumnSource::State
                                   ? add(GraphNode::Kind::State, c.name, {}, {})
                                   : add(GraphNode::Kind::Column,
                                         rules_.rules.customers_table + "." + c.name, {}, {}));
        for (const auto& f : p.facts)
            facts_.push_back(add(GraphNode::Kind::Fact, f.name, {}, {}));
        if (rules_.since) walk(*rules_.since, since_);
        for (const auto& a : p.aggregates) {
            aggregates_.push_back(
                add(GraphNode::Kind::Aggregate, a.text, {}, {facts_[static_cast<size_t>(a.fact)]}));
        }
        for (const auto& let : p.lets) {
            std::vector<size_t> deps;
            walk(*let.expr, deps);
            lets_.push_back(add(GraphNode::Kind::Let, let.name, let.expr->location, deps));
        }
        std::vector<size_t> earlier;
        for (const auto& seg : rules_.segments) {
            std::vector<size_t> deps;
            if (seg.when) walk(*seg.when, deps);
            deps.insert(deps.end(), since_.begin(), since_.end());
            // Under first_match a segment's customers depend on the earlier segments too.
            if (earlier_segments_decide(rules_.rules.policy))
                deps.insert(deps.end(), earlier.begin(), earlier.end());
            const size_t id =
                add(GraphNode::Kind::General, seg.def->id, seg.def->id_location, deps);
            earlier.push_back(id);
            segment_nodes_[seg.def->id] = id;
            tactical(seg.tactical, id);
        }
        // A shared tactical segment is one node, after every general segment it applies inside.
        for (size_t i = 0; i < rules_.rules.shared_tactical.size(); ++i) {
            const SharedTacticalDef& shared = rules_.rules.shared_tactical[i];
            std::vector<size_t> deps;
            const CompiledSegment* any = nullptr;
            for (size_t p : shared.parents) {
                deps.push_back(segment_nodes_.at(rules_.segments[p].def->id));
                for (const auto& t : rules_.segments[p].tactical) {
                    if (t.shared == i) any = &t;
                }
            }
            if (!any) continue;
            if (any->when) walk(*any->when, deps);
            segment_nodes_[shared.segment.id] =
                add(GraphNode::Kind::Tactical, shared.segment.id, shared.segment.id_location, deps);
        }
        // A trigger needs the segments its event names, and what its `when` and templates read.
        // `enter any` (exit, in) needs every general segment. A move needs the side it names:
        // `move any -> Y` is a customer now in Y who was elsewhere, `move X -> any` one no
        // longer in X (every customer is in one general segment); `move any -> any` needs all.
        for (const auto& t : rules_.triggers) {
            std::vector<size_t> deps;
            const bool from_any = t.on.segment.kind == SegmentRef::Kind::Any;
            const bool every_segment = t.on.event == TriggerEvent::Move
                                           ? from_any && t.on.to.kind == SegmentRef::Kind::Any
                                           : from_any;
            if (every_segment) deps.insert(deps.end(), earlier.begin(), earlier.end());
            for (const SegmentRef* ref : {&t.on.segment, &t.on.to}) {
                const std::string id = ref->path.substr(ref->path.rfind('/') + 1);
                if (auto it = segment_nodes_.find(id); it != segment_nodes_.end())
                    deps.push_back(it->second);
            }
            if (t.when) walk(*t.when, deps);
            for (const auto& a : t.actions) {
                for (const auto& [name, tmpl] : a.params) {
                    for (const auto& e : tmpl.exprs) {
                        if (e) walk(*e, deps);
                    }
                }
            }
            add(GraphNode::Kind::Trigger, t.def->id, t.def->id_location, deps);
        }
        if (rules_.value) {
            std::vector<size_t> deps;
            walk(*rules_.value, deps);
            add(GraphNode::Kind::Value, "value", rules_.value->location, deps);
        }
        return std::move(graph_);
    }

  private:
    const CompiledRules& rules_;
    RuleGraph graph_;
    std::vector<size_t> columns_, facts_, aggregates_, lets_;
    std::vector<size_t> since_;  // the source.since column's node, when the file has one
    std::map<std::string, size_t> segment_nodes_;  // segment id → its node

    size_t add(GraphNode::Kind kind, std::string name, Location loc, std::vector<size_t> deps) {
        std::sort(deps.begin(), deps.end());
        deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
        // In characters, as diagnostics give a place.
        graph_.nodes.push_back({kind, std::move(name), rules_.source.shown(loc), std::move(deps)});
        return graph_.nodes.size() - 1;
    }

    void tactical(const std::vector<CompiledSegment>& children, size_t parent) {
        for (const auto& t : children) {
            if (t.shared) continue;  // one node for all its parents: see build()
            std::vector<size_t> deps{parent};
            if (t.when) walk(*t.when, deps);
            const size_t id = add(GraphNode::Kind::Tactical, t.def->id, t.def->id_location, deps);
            segment_nodes_[t.def->id] = id;
            tactical(t.tactical, id);
        }
    }

    // Collects what an expression reads; population calls become nodes of their own.
    void walk(const bound::Expr& e, std::vector<size_t>& deps) {
        std::visit(
            [&](const auto& n) {
                using T = std::decay_t<decltype(n)>;
                if constexpr (std::is_same_v<T, bound::CustomerColumn>) {
                    deps.push_back(columns_[static_cast<size_t>(n.slot)]);
                } else if constexpr (std::is_same_v<T, bound::AggregateRef>) {
                    deps.push_back(aggregates_[static_cast<size_t>(n.index)]);
                } else if constexpr (std::is_same_v<T, bound::LetRef>) {
                    deps.push_back(lets_[static_cast<size_t>(n.index)]);
                } else if constexpr (std::is_same_v<T, bound::Field>) {
                    walk(*n.record, deps);
                } else if constexpr (std::is_same_v<T, bound::Unary>) {
                    walk(*n.operand, deps);
                } else if constexpr (std::is_same_v<T, bound::Binary>) {
                    walk(*n.lhs, deps);
                    walk(*n.rhs, deps);
                } else if constexpr (std::is_same_v<T, bound::InList>) {
                    walk(*n.value, deps);
                    for (const auto& i : n.items)
                        walk(*i, deps);
                } else if constexpr (std::is_same_v<T, bound::Between>) {
                    walk(*n.value, deps);
                    walk(*n.low, deps);
                    walk(*n.high, deps);
                } else if constexpr (std::is_same_v<T, bound::IsNull>) {
                    walk(*n.value, deps);
                } else if constexpr (std::is_same_v<T, bound::Call>) {
                    std::vector<size_t> inner;
                    for (const auto& a : n.args) {
                        if (a) walk(*a, inner);
                    }
                    if (bound::is_population(n.fn)) {
                        inner.insert(inner.end(), since_.begin(), since_.end());
                        deps.push_back(add(GraphNode::Kind::Population,
                                           std::string(function_name(n.fn)) + " at " +
                                               std::to_string(e.location.line) + ":" +
                                               std::to_string(rules_.source.shown(e.location).col),
                                           e.location, inner));
                    } else {
                        deps.insert(deps.end(), inner.begin(), inner.end());
                    }
                }
            },
            e.node);
    }
};

}  // namespace

RuleGraph build_rule_graph(const CompiledRules& rules) {
    return Builder(rules).build();
}

}  // namespace strata
