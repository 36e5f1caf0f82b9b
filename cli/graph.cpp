// `strata graph RULES [--db DB] [--format text|json|dot]`: the rule graph, dependencies first.
#include <ostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "engine/graph.hpp"
#include "engine/json.hpp"

namespace strata::cli {

int run_graph(const GraphOptions& options, std::ostream& out, std::ostream& err) {
    int exit_code = kExitOk;
    auto loaded = load_rules(options.rules, options.db, err, exit_code,
                             options.format == GraphFormat::Json ? &out : nullptr);
    if (!loaded) return exit_code;
    const RuleGraph graph = build_rule_graph(*loaded->rules);
    const RuleFile& rf = loaded->rules->rules;
    switch (options.format) {
        case GraphFormat::Json: {
            JsonWriter w;
            w.begin_object().key("format").value(1);
            w.key("ruleset").value(rf.ruleset).key("version").value(rf.version);
            w.key("nodes").begin_array();
            for (size_t i = 0; i < graph.nodes.size(); ++i) {
                const auto& n = graph.nodes[i];
                w.begin_object()
                    .key("id")
                    .value(i + 1)
                    .key("kind")
                    .value(kind_name(n.kind))
                    .key("name")
                    .value(n.name);
                if (n.location.valid())
                    w.key("line").value(n.location.line).key("col").value(n.location.col);
                else
                    w.key("line").null().key("col").null();
                w.key("deps").begin_array();
                for (size_t d : n.deps)
                    w.value(d + 1);
                w.end_array().end_object();
            }
            w.end_array().end_object();
            out << w.str() << '\n';
            break;
        }
        case GraphFormat::Dot: {
            out << "digraph \"" << rf.ruleset << "\" {\n  rankdir=LR;\n";
            for (size_t i = 0; i < graph.nodes.size(); ++i) {
                std::string label = graph.nodes[i].name;
                std::string escaped;
                for (char c : label) {
                    if (c == '"' || c == '\\') escaped += '\\';
                    escaped += c;
                }
                out << "  n" << i + 1 << " [label=\"" << kind_name(graph.nodes[i].kind) << "\\n"
                    << escaped << "\"];\n";
            }
            for (size_t i = 0; i < graph.nodes.size(); ++i) {
                for (size_t d : graph.nodes[i].deps)
                    out << "  n" << d + 1 << " -> n" << i + 1 << ";\n";
            }
            out << "}\n";
            break;
        }
        case GraphFormat::Text: {
            out << "rule graph of " << rf.ruleset << " v" << rf.version << ": "
                << graph.nodes.size() << " nodes, each after what it needs\n";
            for (size_t i = 0; i < graph.nodes.size(); ++i) {
                const auto& n = graph.nodes[i];
                std::string line = std::to_string(i + 1);
                line = std::string(4 - std::min<size_t>(4, line.size()), ' ') + line + "  " +
                       kind_name(n.kind);
                line += std::string(16 - std::min<size_t>(15, line.size() - 4), ' ') + n.name;
                if (!n.deps.empty()) {
                    line += "  <- ";
                    for (size_t k = 0; k < n.deps.size(); ++k)
                        line += (k ? ", " : "") + std::to_string(n.deps[k] + 1);
                }
                out << line << '\n';
            }
        }
    }
    return kExitOk;
}

}  // namespace strata::cli
