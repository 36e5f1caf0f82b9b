#include "analysis/definitions_diff.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "dsl/parser.hpp"

namespace strata {

namespace {

// Text on one line: every run of whitespace (line breaks included) becomes one space.
std::string one_line(const std::string& text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

// One part of a definition: how it shows, and what is compared (for expressions their
// comparable text, so that spacing, redundant parentheses, the grouping of a chain of `and`,
// the order of an `in` list or of named arguments are no change).
struct Part {
    std::string name;  // `when`, `offer`, ...; empty for a definition with one part
    std::string shown;
    std::string compared;
};

// In double quotes, with a quote or backslash inside escaped, so the value's end is plain.
std::string in_quotes(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

Part text_part(std::string name, const std::string& value, bool quoted = true) {
    std::string shown = value.empty() ? "(none)" : quoted ? in_quotes(one_line(value)) : value;
    return Part{std::move(name), shown, value};
}

// Shown as written (`7d`), compared by its value: `7d` and `1w` are the same.
Part duration_part(std::string name, const std::optional<Duration>& d, const std::string& written) {
    if (!d) return Part{std::move(name), "(none)", ""};
    return Part{std::move(name), shown_duration(*d, written), format_duration(*d)};
}

Part expr_part(std::string name, const ExprText& e) {
    if (!e.present()) return Part{std::move(name), "(none)", ""};
    const ParseResult parsed = parse_expression(e.text);
    const std::string shown = one_line(e.text);
    return Part{std::move(name), shown,
                parsed.expr ? ast::to_comparable_string(*parsed.expr) : shown};
}

std::string line(const std::string& label, const Part& p) {
    return label + ": " + (p.name.empty() ? p.shown : p.name + " " + p.shown);
}

// A definition as its label (`segment vip`) and parts; the first part stands for the whole
// when it was added or removed.
struct Definition {
    std::string label;
    std::vector<Part> parts;
};

void compare(const Definition& before, const Definition& after, std::vector<DefinitionLine>& out) {
    for (size_t i = 0; i < before.parts.size() && i < after.parts.size(); ++i) {
        if (before.parts[i].compared == after.parts[i].compared) continue;
        out.push_back({'-', line(before.label, before.parts[i])});
        out.push_back({'+', line(after.label, after.parts[i])});
    }
}

// Whether two definitions say the same thing under different labels.
bool same_parts(const Definition& a, const Definition& b) {
    if (a.parts.size() != b.parts.size()) return false;
    for (size_t i = 0; i < a.parts.size(); ++i) {
        if (a.parts[i].compared != b.parts[i].compared) return false;
    }
    return true;
}

// The kind word of a label: `segment` in `segment vip`.
std::string kind_of(const std::string& label) {
    return label.substr(0, label.find(' '));
}

// The renames between two lists, added → removed: a removed and an added definition of the
// same kind with identical parts, each the only such candidate for the other.
std::map<const Definition*, const Definition*> find_renames(const std::vector<Definition>& before,
                                                            const std::vector<Definition>& after) {
    std::set<std::string> old_labels, new_labels;
    for (const auto& d : before)
        old_labels.insert(d.label);
    for (const auto& d : after)
        new_labels.insert(d.label);
    std::vector<const Definition*> removed, added;
    for (const auto& d : before) {
        if (!new_labels.count(d.label)) removed.push_back(&d);
    }
    for (const auto& d : after) {
        if (!old_labels.count(d.label)) added.push_back(&d);
    }
    auto matches = [](const Definition* a, const Definition* b) {
        return kind_of(a->label) == kind_of(b->label) && same_parts(*a, *b);
    };
    std::map<const Definition*, const Definition*> renamed_from;  // added → removed
    for (const Definition* a : added) {
        const Definition* only = nullptr;
        size_t candidates = 0;
        for (const Definition* r : removed) {
            if (matches(r, a)) {
                only = r;
                ++candidates;
            }
        }
        if (candidates != 1) continue;
        size_t rivals = 0;
        for (const Definition* other : added)
            rivals += matches(only, other) ? 1 : 0;
        if (rivals != 1) continue;
        renamed_from[a] = only;
    }
    return renamed_from;
}

// The id in a label: `vip` in `segment vip`.
std::string id_of(const std::string& label) {
    return label.substr(label.find(' ') + 1);
}

// Old id → new id of the definitions `find_renames` pairs.
std::map<std::string, std::string> renamed_ids(const std::vector<Definition>& before,
                                               const std::vector<Definition>& after) {
    std::map<std::string, std::string> out;
    for (const auto& [added, removed] : find_renames(before, after))
        out.emplace(id_of(removed->label), id_of(added->label));
    return out;
}

// Definitions matched by label: changed ones in the new file's order, then the removed ones in
// the old file's order. Added ones are placed where the new file has them. A rename
// (find_renames) is one line.
void compare_lists(const std::vector<Definition>& before, const std::vector<Definition>& after,
                   std::vector<DefinitionLine>& out) {
    std::map<std::string, const Definition*> old_by_label, new_by_label;
    for (const auto& d : before)
        old_by_label.emplace(d.label, &d);
    for (const auto& d : after)
        new_by_label.emplace(d.label, &d);
    const auto renamed_from = find_renames(before, after);
    std::set<const Definition*> renamed;  // the removed ones
    for (const auto& [added, removed] : renamed_from)
        renamed.insert(removed);
    for (const auto& d : after) {
        auto it = old_by_label.find(d.label);
        if (auto r = renamed_from.find(&d); r != renamed_from.end())
            out.push_back(
                {'~', r->second->label + " renamed to " + id_of(d.label) + " (same definition)"});
        else if (it == old_by_label.end())
            out.push_back({'+', line(d.label, d.parts.front())});
        else
            compare(*it->second, d, out);
    }
    for (const auto& d : before) {
        if (!new_by_label.count(d.label) && !renamed.count(&d))
            out.push_back({'-', line(d.label, d.parts.front())});
    }
}

std::string types_text(const std::map<std::string, TypeOverride>& types) {
    std::string s;
    for (const auto& [column, t] : types)
        s += (s.empty() ? "" : ", ") + column + ": " + type_name(t.type);
    return s.empty() ? "" : "{" + s + "}";
}

std::vector<Part> meta_parts(const SegmentMeta& m) {
    return {text_part("label", m.label),
            text_part("description", m.description),
            text_part("goal", m.goal),
            text_part("offer", m.offer),
            text_part("channel", m.channel),
            duration_part("contact_every", m.contact_every, m.contact_every_text),
            text_part("priority", m.priority ? std::to_string(*m.priority) : "", false)};
}

Part condition_part(const SegmentDef& s) {
    return s.otherwise ? Part{"when", "otherwise", "otherwise"} : expr_part("when", s.when);
}

// Tactical segments by their path (as membership and exports name them), depth first.
void tactical_definitions(const std::vector<SegmentDef>& tactical, const std::string& general,
                          const std::string& prefix, std::vector<Definition>& out) {
    for (const SegmentDef& t : tactical) {
        const std::string path = prefix.empty() ? t.id : prefix + "/" + t.id;
        Definition d{"tactical " + path, {condition_part(t), text_part("within", general, false)}};
        for (Part& p : meta_parts(t.meta))
            d.parts.push_back(std::move(p));
        out.push_back(std::move(d));
        tactical_definitions(t.tactical, general, path, out);
    }
}

std::string holdout_text(int basis_points) {
    if (basis_points == 0) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g%%", basis_points / 100.0);
    return buf;
}

std::string actions_text(const std::vector<ActionDef>& actions) {
    std::string s;
    for (const ActionDef& a : actions) {
        s += (s.empty() ? "" : "; ") + a.type + " {";
        for (size_t i = 0; i < a.params.size(); ++i)
            s += (i ? ", " : "") + a.params[i].name + ": " + one_line(a.params[i].text.text);
        s += "}";
    }
    return s;
}

Definition trigger_definition(const TriggerDef& t) {
    Part success{"success", "(none)", ""};
    if (t.success) {
        const std::string event = one_line(t.success->text) + " within ";
        success.shown = event + shown_duration(t.success_within, t.success_within_text);
        success.compared = event + format_duration(t.success_within);
    }
    return {"trigger " + t.id,
            {text_part("on", one_line(t.on.text), false), expr_part("when", t.when),
             text_part("priority", t.priority ? std::to_string(*t.priority) : "", false),
             duration_part("cooldown", t.cooldown, t.cooldown_text),
             text_part("holdout", holdout_text(t.holdout_basis_points), false), std::move(success),
             text_part("actions", actions_text(t.actions), false)}};
}

}  // namespace

bool same_trigger_definition(const TriggerDef& a, const TriggerDef& b) {
    const Definition da = trigger_definition(a), db = trigger_definition(b);
    if (da.parts.size() != db.parts.size()) return false;
    for (size_t i = 0; i < da.parts.size(); ++i)
        if (da.parts[i].compared != db.parts[i].compared) return false;
    return true;
}

namespace {

Definition source_definition(const RuleFile& f) {
    return {"source",
            {text_part("table", f.customers_table, false), text_part("key", f.key, false),
             expr_part("since", f.since), text_part("types", types_text(f.types), false)}};
}

std::vector<Definition> fact_definitions(const RuleFile& f) {
    std::vector<Definition> out;
    for (const FactDef& fact : f.facts) {
        out.push_back({"fact " + fact.name,
                       {text_part("table", fact.table, false), text_part("key", fact.key, false),
                        text_part("time", fact.time, false),
                        text_part("types", types_text(fact.types), false)}});
    }
    return out;
}

std::vector<Definition> let_definitions(const RuleFile& f) {
    std::vector<Definition> out;
    for (const LetDef& let : f.lets)
        out.push_back({"let " + let.name, {expr_part("", let.expr)}});
    return out;
}

std::vector<Definition> segment_definitions(const RuleFile& f) {
    std::vector<Definition> out;
    for (const SegmentDef& s : f.segments) {
        Definition d{"segment " + s.id, {condition_part(s)}};
        for (Part& p : meta_parts(s.meta))
            d.parts.push_back(std::move(p));
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<Definition> all_tactical(const RuleFile& f) {
    std::vector<Definition> out;
    for (const SegmentDef& s : f.segments)
        tactical_definitions(s.tactical, s.id, "", out);
    // Shared ones: `within` lists the general segments as written, or says all.
    for (const SharedTacticalDef& shared : f.shared_tactical) {
        std::string within;
        for (const auto& [id, where] : shared.within)
            within += (within.empty() ? "" : ", ") + id;
        const SegmentDef& t = shared.segment;
        Definition d{
            "tactical " + t.id,
            {condition_part(t), text_part("within", shared.within_all ? "all" : within, false)}};
        for (Part& p : meta_parts(t.meta))
            d.parts.push_back(std::move(p));
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<Definition> trigger_definitions(const RuleFile& f) {
    std::vector<Definition> out;
    for (const TriggerDef& t : f.triggers)
        out.push_back(trigger_definition(t));
    return out;
}

Definition single(const std::string& label, const std::string& value) {
    return {label, {text_part("", value, false)}};
}

// Shown as written, compared by its value.
Definition cap_definition(const std::optional<FrequencyCap>& cap) {
    if (!cap) return single("frequency_cap", "");
    const std::string count = std::to_string(cap->count) + " per ";
    return {"frequency_cap",
            {Part{"", count + shown_duration(cap->per, cap->per_text),
                  count + format_duration(cap->per)}}};
}

// The ids of the elements (general segments, triggers), a renamed one's by its new id.
template <typename Element>
std::vector<std::string> ids_of(const std::vector<Element>& list,
                                const std::map<std::string, std::string>& renamed = {}) {
    std::vector<std::string> out;
    for (const Element& e : list) {
        const auto r = renamed.find(e.id);
        out.push_back(r == renamed.end() ? e.id : r->second);
    }
    return out;
}

// The ids both lists have, in the order `list` has them. A renamed element is in both (by its
// new id): under first_match its new place is what moves customers.
std::string common_order(const std::vector<std::string>& list,
                         const std::vector<std::string>& other) {
    const std::set<std::string> ids(other.begin(), other.end());
    std::string out;
    for (const std::string& id : list) {
        if (ids.count(id)) out += (out.empty() ? "" : ", ") + id;
    }
    return out;
}

// The order line of general segments or triggers (`label`), a renamed one by its new id, then
// each definition compared.
template <typename Element>
void compare_ordered(const std::string& label, const std::vector<Element>& old_elements,
                     const std::vector<Element>& new_elements,
                     const std::vector<Definition>& old_definitions,
                     const std::vector<Definition>& new_definitions,
                     std::vector<DefinitionLine>& out) {
    const auto old_ids = ids_of(old_elements, renamed_ids(old_definitions, new_definitions));
    const auto new_ids = ids_of(new_elements);
    compare(single(label, common_order(old_ids, new_ids)),
            single(label, common_order(new_ids, old_ids)), out);
    compare_lists(old_definitions, new_definitions, out);
}

// The ids (labels without their kind word) of the definitions that differ between `a` and
// `b`, or that only one of them has.
std::set<std::string> changed_ids(const std::vector<Definition>& a,
                                  const std::vector<Definition>& b) {
    std::map<std::string, const Definition*> by_label;
    for (const Definition& d : a)
        by_label.emplace(d.label, &d);
    std::set<std::string> changed;
    for (const Definition& d : b) {
        const auto it = by_label.find(d.label);
        if (it == by_label.end() || !same_parts(*it->second, d)) changed.insert(id_of(d.label));
        if (it != by_label.end()) by_label.erase(it);
    }
    for (const auto& [label, d] : by_label)
        changed.insert(id_of(label));
    return changed;
}

}  // namespace

std::set<std::string> changed_lets(const RuleFile& a, const RuleFile& b) {
    return changed_ids(let_definitions(a), let_definitions(b));
}

std::set<std::string> changed_facts(const RuleFile& a, const RuleFile& b) {
    return changed_ids(fact_definitions(a), fact_definitions(b));
}

bool same_source_definition(const RuleFile& a, const RuleFile& b,
                            const std::set<std::string>& columns) {
    Definition da = source_definition(a), db = source_definition(b);
    // Only the types of `columns`: another column's type changes nothing they read.
    const auto types_of = [&](const RuleFile& f) {
        std::map<std::string, TypeOverride> read;
        for (const std::string& column : columns)
            if (auto it = f.types.find(column); it != f.types.end()) read.insert(*it);
        return text_part("types", types_text(read), false);
    };
    da.parts.back() = types_of(a);
    db.parts.back() = types_of(b);
    return same_parts(da, db);
}

std::vector<DefinitionLine> diff_definitions(const RuleFile& old_file, const RuleFile& new_file) {
    std::vector<DefinitionLine> out;
    compare(single("as_of", old_file.as_of ? format_date(*old_file.as_of) : ""),
            single("as_of", new_file.as_of ? format_date(*new_file.as_of) : ""), out);
    // The file's own metadata: what an auditor reads first of a version.
    compare(single("description", old_file.description),
            single("description", new_file.description), out);
    compare(single("owner", old_file.owner), single("owner", new_file.owner), out);
    compare(source_definition(old_file), source_definition(new_file), out);
    compare_lists(fact_definitions(old_file), fact_definitions(new_file), out);
    compare_lists(let_definitions(old_file), let_definitions(new_file), out);
    compare(single("policy", policy_name(old_file.policy)),
            single("policy", policy_name(new_file.policy)), out);
    compare({"value", {expr_part("", old_file.value)}}, {"value", {expr_part("", new_file.value)}},
            out);
    // Under first_match the order decides; under exclusive it shows how the file reads.
    // Tactical segments come after the general ones' definitions.
    compare_ordered("order", old_file.segments, new_file.segments, segment_definitions(old_file),
                    segment_definitions(new_file), out);
    compare_lists(all_tactical(old_file), all_tactical(new_file), out);
    // Triggers of one priority go under the frequency cap in the order they are written.
    compare_ordered("trigger order", old_file.triggers, new_file.triggers,
                    trigger_definitions(old_file), trigger_definitions(new_file), out);
    compare(cap_definition(old_file.frequency_cap), cap_definition(new_file.frequency_cap), out);
    return out;
}

}  // namespace strata
