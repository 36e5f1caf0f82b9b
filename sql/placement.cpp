// The last steps of the plan (compiler.cpp has the rest): each distinct segment condition as a
// column, the placement (the general segment by policy, the tactical ids that hold, in key
// order), and the columns a run or an explanation reads back beside it (the value, which
// conditions were tried and unknown, the population functions' inputs and ranks).
#include <algorithm>
#include <functional>

#include "sql/lowering.hpp"

namespace strata::sql {

std::string Lowering::placement(const std::string& extra_columns, RunColumns* run_columns) {
    // Each distinct condition once, as a column.
    std::vector<std::pair<std::string, std::string>> conds;
    std::function<void(const std::vector<CompiledSegment>&)> collect =
        [&](const std::vector<CompiledSegment>& segs) {
            for (const auto& s : segs) {
                if (s.when && !conditions_.count(s.when.get())) {
                    hoist_population(*s.when);
                    const std::string name = "w" + std::to_string(conditions_.size());
                    conditions_[s.when.get()] = name;
                    conds.emplace_back(name, expr(*s.when, -1));
                }
                collect(s.tactical);
            }
        };
    collect(rules_.segments);
    if (!conds.empty()) add_columns(conds);
    auto holds = [&](const CompiledSegment& s) {
        return s.when ? d_.is_true(conditions_.at(s.when.get())) : d_.bool_literal(true);
    };
    const auto& segs = rules_.segments;
    std::string general = "CASE";
    std::string tactical = "CASE";
    for (size_t g = 0; g < segs.size(); ++g) {
        const std::string id = text(segs[g].def->id, segs[g].def->id_location);
        general += " WHEN " + holds(segs[g]) + " THEN " + id;
        // Own tactical segments depth first (a nested one as parent/child), then shared ones.
        std::vector<std::pair<std::string, std::string>> own, shared;
        std::function<void(const CompiledSegment&, const std::string&, const std::string&)> walk =
            [&](const CompiledSegment& t, const std::string& prefix, const std::string& inside) {
                const std::string path = prefix.empty() ? t.def->id : prefix + "/" + t.def->id;
                const std::string cond = inside + " AND " + holds(t);
                (t.shared ? shared : own).emplace_back(cond, path);
                for (const auto& child : t.tactical)
                    walk(child, path, cond);
            };
        for (const auto& t : segs[g].tactical)
            walk(t, "", d_.bool_literal(true));
        std::string tags = "''";
        for (const auto* list : {&own, &shared}) {
            for (const auto& [cond, path] : *list)
                tags += " || (CASE WHEN " + cond + " THEN " +
                        text(";" + path, segs[g].def->id_location) + " ELSE '' END)";
        }
        tactical += " WHEN segment = " + id + " THEN substr(" + tags + ", 2)";
    }
    general += " END";
    tactical += " END";
    if (rules_.rules.policy == Policy::Exclusive) {
        std::string count = "0";
        for (const auto& s : segs)
            count += " + " + d_.bool_as_int(holds(s));
        general = "CASE WHEN " + count + " = 1 THEN " + general + " END";
    }
    add_columns({{"segment", "(" + general + ")"}});
    const std::string run_extra = run_columns ? this->run_columns(*run_columns) : std::string();
    return "SELECT " + (run_columns ? d_.run_key("k") : std::string("k")) +
           " AS customer_key, segment, (" + tactical + ") AS tactical" + extra_columns + run_extra +
           " FROM " + current_ + " ORDER BY " +
           // Qualified: a let output as a column named k (--lets k) would otherwise be what
           // ORDER BY k names. The nested plan's step has no name, and outputs no lets.
           d_.order_by_key(nested() ? std::string("k") : current_ + ".k");
}

// The columns compile_run_query adds: the value, and whether each segment's condition was
// tried and unknown. Conditions are the placement's columns (conditions_).
std::string Lowering::run_columns(RunColumns& run) {
    std::string out;
    if (rules_.value) {
        hoist_population(*rules_.value);
        add_columns({{"strata_value", expr_as(*rules_.value, Type::Number, -1)}});
        out += ", strata_value";
        run.value = true;
    }
    std::vector<std::pair<std::string, std::string>> asked;
    for (size_t i = 0; i < run.conditions.size(); ++i) {
        hoist_population(*run.conditions[i]);
        asked.emplace_back(
            "strata_cond_" + std::to_string(i),
            "(CASE WHEN " + d_.is_true(expr(*run.conditions[i], -1)) + " THEN 1 ELSE 0 END)");
    }
    for (size_t i = 0; i < run.values.size(); ++i) {
        const bound::Expr& e = *run.values[i];
        if (e.type == Type::Record) {
            // A record (an rfm call or let) as its fields' columns.
            hoist_population(e);
            const auto prefix = record_prefix(e);
            if (!prefix) refuse(e.location, "not compiled yet: a record that is not rfm(...)");
            for (const std::string& field : bound::rfm_fields())
                asked.emplace_back("strata_expr_" + std::to_string(i) + "_" + field,
                                   prefix ? *prefix + "_" + field : std::string("NULL"));
            continue;
        }
        if (e.type == Type::Duration) {
            // A duration as the text "<months> <days>" (state/warehouse_firing.hpp reads it
            // back), chosen per row as where it moves a date (duration_cases).
            hoist_population(e);
            const auto cases = duration_cases(e, -1);
            if (!cases) {
                refuse(e.location, "this duration takes more than 32 values");
                continue;
            }
            asked.emplace_back("strata_expr_" + std::to_string(i),
                               case_of(*cases, [&](const Duration& d) {
                                   return *d_.string_literal(std::to_string(d.months) + " " +
                                                             std::to_string(d.days));
                               }));
            continue;
        }
        if (e.type != Type::Bool && e.type != Type::Int && e.type != Type::Number &&
            e.type != Type::String && e.type != Type::Date && e.type != Type::DateTime &&
            e.type != Type::Null)
            refuse(e.location, "not compiled yet: a value of type " +
                                   std::string(type_name(e.type)) +
                                   " in a run inside the warehouse");
        hoist_population(e);
        asked.emplace_back("strata_expr_" + std::to_string(i), expr(e, -1));
    }
    if (!asked.empty()) add_columns(asked);
    for (const auto& [name, sql] : asked)
        out += ", " + name;
    for (const auto& name : population_columns(run.populations))
        out += ", " + name;
    for (const auto& name : aggregate_row_columns())
        out += ", " + name;
    const bool exclusive = rules_.rules.policy == Policy::Exclusive;
    std::vector<std::string> unknown;
    auto tried_and_unknown = [&](const CompiledSegment& s, const std::string& tried) {
        if (!s.when) return std::string("0");
        return "(CASE WHEN " + tried + " AND " + conditions_.at(s.when.get()) +
               " IS NULL THEN 1 ELSE 0 END)";
    };
    std::function<void(const CompiledSegment&, const std::string&)> walk =
        [&](const CompiledSegment& t, const std::string& parents) {
            unknown.push_back(tried_and_unknown(t, parents));
            const std::string inside =
                parents + " AND " +
                (t.when ? d_.is_true(conditions_.at(t.when.get())) : d_.bool_literal(true));
            for (const auto& child : t.tactical)
                walk(child, inside);
        };
    std::string none_earlier = d_.bool_literal(true);
    for (const auto& g : rules_.segments) {
        unknown.push_back(tried_and_unknown(g, exclusive ? d_.bool_literal(true) : none_earlier));
        if (g.when) none_earlier += " AND NOT " + d_.is_true(conditions_.at(g.when.get()));
        const std::string in_segment = "segment = " + text(g.def->id, g.def->id_location);
        for (const auto& t : g.tactical)
            walk(t, in_segment);
    }
    for (size_t i = 0; i < unknown.size(); ++i)
        out += ", " + unknown[i] + " AS strata_unknown_" + std::to_string(i);
    run.unknowns = unknown.size();
    return out;
}

std::vector<std::string> Lowering::population_columns(
    const std::vector<const bound::Expr*>& calls) {
    std::vector<std::pair<std::string, std::string>> added;
    for (size_t i = 0; i < calls.size(); ++i) {
        const bound::Expr& e = *calls[i];
        const auto* c = std::get_if<bound::Call>(&e.node);
        if (!c) continue;
        hoist_population(e);
        const auto at = population_.find(&e);
        if (at == population_.end()) continue;
        const std::string& p = at->second;
        const std::string out = "strata_pop_" + std::to_string(i) + "_";
        const size_t arity = c->fn == bound::Fn::Rfm ? 3 : 1;
        for (size_t k = 0; k < arity; ++k)
            added.emplace_back(out + "x" + std::to_string(k), p + "_x" + std::to_string(k));
        if (c->fn == bound::Fn::Ntile) added.emplace_back(out + "t0", p);
        if (c->fn == bound::Fn::Rfm) {
            for (size_t k = 0; k < 3; ++k)
                added.emplace_back(out + "t" + std::to_string(k), p + "_t" + std::to_string(k));
        }
        if (c->fn == bound::Fn::Abc) {
            added.emplace_back(out + "class", p);
            added.emplace_back(out + "units", abc_units_or_null(*c, p + "_x0"));
        }
    }
    if (!added.empty()) add_columns(added);
    std::vector<std::string> names;
    for (const auto& [name, sql] : added)
        names.push_back(name);
    return names;
}

std::optional<std::string> compile_query(const CompiledRules& rules, Date as_of,
                                         const Dialect& dialect, Diagnostics& diags,
                                         const std::vector<std::string>& lets) {
    Lowering lowering(rules, as_of, dialect, diags);
    return lowering.compile(lets);
}

std::optional<std::string> compile_run_query(const CompiledRules& rules, Date as_of,
                                             const Dialect& dialect, Diagnostics& diags,
                                             RunColumns& columns) {
    columns.value = false;
    columns.unknowns = 0;
    Lowering lowering(rules, as_of, dialect, diags);
    return lowering.compile({}, &columns);
}

}  // namespace strata::sql
