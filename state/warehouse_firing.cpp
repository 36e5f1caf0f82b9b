#include "state/warehouse_firing.hpp"

#include <cstdlib>
#include <unordered_map>

#include "engine/numeric.hpp"
#include "state/warehouse_populations.hpp"

namespace strata::state {

using warehouse::Cell;

namespace {

Value key_value(const std::string& text, bool integer_keys) {
    if (integer_keys) {
        if (auto i = parse_integer_text(text)) return *i;
    }
    return intern(text);
}

}  // namespace

Value value_from_cell(const Cell& cell, Type type) {
    if (!cell) return std::monostate{};
    const std::string& t = *cell;
    switch (type) {
        case Type::Bool:
            return t == "t" || t == "true" || t == "1";
        case Type::Int:
            if (auto i = parse_integer_text(t)) return *i;
            return std::monostate{};
        case Type::Number:
            return std::strtod(t.c_str(), nullptr);
        case Type::Date:
            if (auto i = parse_integer_text(t)) return Date{static_cast<int32_t>(*i)};
            return std::monostate{};
        case Type::DateTime:  // seconds since 1970 (sql/dialect.hpp)
            if (auto i = parse_integer_text(t)) return DateTime{*i};
            return std::monostate{};
        case Type::Duration: {  // "<months> <days>" (sql/placement.cpp, run_columns)
            const size_t space = t.find(' ');
            if (space == std::string::npos) return std::monostate{};
            const auto months = parse_integer_text(t.substr(0, space));
            const auto days = parse_integer_text(t.substr(space + 1));
            if (!months || !days) return std::monostate{};
            return Duration{static_cast<int32_t>(*months), static_cast<int32_t>(*days)};
        }
        default:
            return intern(t);
    }
}

std::string key_cell(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::to_string(*i);
    return std::get<Str>(key).str();
}

TriggerColumns trigger_columns(const CompiledRules& rules) {
    TriggerColumns out;
    for (const CompiledTrigger& t : rules.triggers) {
        if (t.when) out.conditions.push_back(t.when.get());
        for (const CompiledAction& a : t.actions) {
            for (const auto& [name, tmpl] : a.params) {
                for (const auto& e : tmpl.exprs) {
                    if (e) out.values.push_back(e.get());
                }
            }
        }
    }
    return out;
}

sql::RunColumns run_columns(const CompiledRules& rules) {
    sql::RunColumns columns;
    const TriggerColumns trigger_values = trigger_columns(rules);
    columns.conditions = trigger_values.conditions;
    columns.values = trigger_values.values;
    columns.populations = population_exprs(rules);
    return columns;
}

Firing fire_candidates(const CompiledRules& rules, const TriggerColumns& columns,
                       const std::vector<warehouse::Row>& rows, bool integer_keys,
                       FiringInput base) {
    // The candidates as fire_triggers takes them: membership and placement before in key
    // order, the frame's rows in the same order.
    const size_t n = rows.size();
    std::vector<MembershipRow> membership;
    std::vector<OpenPlacement> before;
    membership.reserve(n);
    for (const auto& row : rows) {
        const Value key = key_value(row[0].value_or(""), integer_keys);
        membership.push_back({key, intern(row[1].value_or("")), intern(row[2].value_or(""))});
        if (!row[3] && !row[4]) continue;
        OpenPlacement p;
        p.key = key;
        if (row[3]) p.general = intern(*row[3]);
        p.tactical_text = intern(row[4].value_or(""));
        for (const std::string& path : split_tactical(row[4].value_or("")))
            p.tactical.push_back({intern(path), 0, 0});
        before.push_back(std::move(p));
    }
    std::unordered_map<const bound::Expr*, size_t> cell_of;
    size_t cell = 5;
    for (const auto* e : columns.conditions)
        cell_of[e] = cell++;
    for (const auto* e : columns.values)
        cell_of[e] = cell++;
    std::vector<uint32_t> order(n);
    for (size_t i = 0; i < n; ++i)
        order[i] = static_cast<uint32_t>(i);
    Frame frame;
    frame.rows = n;
    FiringInput fin = base;
    fin.rules = &rules;
    fin.frame = &frame;
    fin.order = &order;
    fin.membership = &membership;
    fin.before = &before;
    fin.condition = [&](const bound::Expr& e) {
        const size_t c = cell_of.at(&e);
        std::vector<char> holds(n);
        for (size_t i = 0; i < n; ++i)
            holds[i] = rows[i][c].value_or("0") == "1";
        return holds;
    };
    fin.value = [&](const bound::Expr& e) {
        const size_t c = cell_of.at(&e);
        Column values(n);
        for (size_t i = 0; i < n; ++i)
            values[i] = value_from_cell(rows[i][c], e.type);
        return values;
    };
    return fire_triggers(fin);
}

}  // namespace strata::state
