// `strata diff --format json` (diff_json, analysis/diff.hpp).
#include <string>

#include "analysis/diff.hpp"
#include "engine/json.hpp"

namespace strata {

namespace {

void write_key(JsonWriter& w, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key))
        w.value(*i);
    else if (const auto* s = std::get_if<Str>(&key))
        w.value(s->str());
    else
        w.value(format_value(key));
}

}  // namespace

std::string diff_json(const RulesDiff& d) {
    JsonWriter w;
    w.begin_object().key("format").value(1);
    w.key("old").begin_object();
    w.key("ruleset").value(d.old_ruleset).key("version").value(d.old_version);
    w.key("sha256").value(d.old_sha256).key("customers").value(d.old_customers).end_object();
    w.key("new").begin_object();
    w.key("ruleset").value(d.new_ruleset).key("version").value(d.new_version);
    w.key("sha256").value(d.new_sha256).key("customers").value(d.new_customers).end_object();
    w.key("as_of").value(format_date(d.as_of));
    w.key("customers").value(d.customers);
    w.key("moved").value(d.moved);
    w.key("matrix").begin_array();
    for (const GeneralMove& m : d.matrix) {
        w.begin_object().key("from").text_or_null(m.from).key("to").text_or_null(m.to);
        w.key("count").value(m.count).key("sample").begin_array();
        for (const Value& k : m.sample)
            write_key(w, k);
        w.end_array().end_object();
    }
    w.end_array();
    w.key("segments").begin_array();
    for (const SegmentCountChange& s : d.segments) {
        w.begin_object().key("id").value(s.id);
        w.key("old_count").value_or_null(s.old_count).key("new_count").value_or_null(s.new_count);
        w.key("change").value(static_cast<int64_t>(s.new_count.value_or(0)) -
                              static_cast<int64_t>(s.old_count.value_or(0)));
        w.end_object();
    }
    w.end_array();
    w.key("tactical").begin_array();
    for (const TacticalChange& t : d.tactical) {
        w.begin_object().key("path").value(t.path);
        w.key("old_count").value_or_null(t.old_count).key("new_count").value_or_null(t.new_count);
        w.key("entered").value(t.entered).key("left").value(t.left).end_object();
    }
    w.end_array();
    w.key("tactical_entered").value(d.tactical_entered);
    w.key("tactical_left").value(d.tactical_left);
    w.key("definitions").begin_array();
    for (const DefinitionLine& l : d.definitions) {
        w.begin_object().key("change").value(std::string(1, l.sign));
        w.key("text").value(l.text).end_object();
    }
    w.end_array();
    w.key("computed_in");
    if (d.computed_in.empty())
        w.null();
    else
        w.value(d.computed_in);
    // The new file's ruleset has no stored run: its first run fires nothing.
    w.key("triggers_baseline").value(d.triggers_baseline);
    w.key("notes").begin_array();
    for (const std::string& note : d.notes)
        w.value(note);
    w.end_array();
    w.key("triggers");
    // Not counted (inside ClickHouse without the store of its actions): null, not an empty
    // list that would say "none fire".
    if (!d.triggers_computed) {
        w.null();
        w.end_object();
        return w.str();
    }
    w.begin_array();
    for (const TriggerImpact& t : d.triggers) {
        w.begin_object().key("id").value(t.id).key("on").value(t.on);
        w.key("customers").value(t.customers).key("would_send").value(t.would_send);
        w.key("held_out").value(t.held_out).key("capped").value(t.capped);
        w.key("cooled_down").value(t.cooled_down).key("sample").begin_array();
        for (const Value& k : t.sample)
            write_key(w, k);
        w.end_array().end_object();
    }
    w.end_array();
    w.end_object();
    return w.str();
}

}  // namespace strata
