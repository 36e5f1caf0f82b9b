// The JSON document of a run (the `--format json` output and the stored summary):
// docs/running.md describes every key.
#include "engine/json.hpp"
#include "engine/run.hpp"

#include <cmath>

namespace strata {

namespace {

void write_segment(JsonWriter& w, const SegmentResult& s, const RunReport& rep, bool general) {
    const double customers = static_cast<double>(rep.customers);
    const auto& m = s.def->meta;
    w.begin_object();
    w.key("id").value(s.def->id);
    w.key("label").text_or_null(m.label);
    w.key("count").value(s.count);
    w.key("share").value(customers > 0 ? static_cast<double>(s.count) / customers : 0.0, 4);
    // Customers its condition left out as unknown; an `otherwise` segment has no condition.
    if (s.def->otherwise)
        w.key("unknown").null();
    else
        w.key("unknown").value(s.unknown);
    if (rep.has_value) {
        const std::optional<SumUnits> total = s.value_total.units();
        const std::optional<double> run_total = rep.value_total.as_double();
        if (total)
            w.key("value_total").value(money_of_units(*total), 2);
        else
            w.key("value_total").null();
        if (total && s.value_count > 0)
            w.key("value_avg")
                .value(money_average_of_units(*total, static_cast<int64_t>(s.value_count)), 2);
        else
            w.key("value_avg").null();
        // A share of a total out of range (or of its own) is not known.
        if (!total || !run_total)
            w.key("value_share").null();
        else
            w.key("value_share")
                .value(*run_total != 0 ? sum_units_to_double(*total) / *run_total : 0.0, 4);
    } else {
        w.key("value_total").null().key("value_avg").null().key("value_share").null();
    }
    w.key("goal").text_or_null(m.goal);
    w.key("offer").text_or_null(m.offer);
    w.key("channel").text_or_null(m.channel);
    w.key("contact_every")
        .text_or_null(m.contact_every ? shown_duration(*m.contact_every, m.contact_every_text)
                                      : std::string());
    w.key("priority").value_or_null(m.priority);
    w.key("path").value(general ? s.def->id : s.path);
    w.key("tactical").begin_array();
    for (const auto& t : s.tactical)
        write_segment(w, t, rep, false);
    w.end_array();
    w.end_object();
}

// One diagnostic with the fields of render_json (docs/running.md lists them).
void write_diagnostic(JsonWriter& w, const Diagnostic& d, const SourceFile* source) {
    w.begin_object().key("file").value(d.file);
    if (d.location.valid()) {
        const Location at = source ? source->shown(d.location) : d.location;
        w.key("line").value(at.line).key("col").value(at.col);
        w.key("length").value(at.length);
    } else {
        w.key("line").null().key("col").null().key("length").null();
    }
    w.key("severity").value(severity_name(d.severity));
    w.key("code").value(diagnostic_code_name(d.code));
    w.key("message").value(d.message);
    w.key("source_line");
    if (source && d.location.valid()) {
        std::string_view line = source->line(d.location.line);
        w.value(line.substr(0, 1000));
    } else {
        w.null();
    }
    w.end_object();
}

// The moves since the ruleset's latest run: null for a dry run. "none" stands for a customer
// new to the base (from) or one who left it (to).
void write_transitions(JsonWriter& w, const std::optional<RunTransitions>& t) {
    w.key("transitions");
    if (!t) {
        w.null();
        return;
    }
    w.begin_object();
    w.key("since_run").value_or_null(t->since_run);
    w.key("since_as_of");
    w.text_or_null(t->since_as_of);
    w.key("cause").value(t->cause);
    const Transitions& c = t->counts;
    w.key("moved").value(c.moved).key("new").value(c.entered).key("left").value(c.left);
    w.key("tactical_entered").value(c.tactical_entered).key("tactical_left").value(c.tactical_left);
    w.key("stays_written").value(c.stays_written);
    w.key("matrix").begin_array();
    for (const auto& [pair, count] : c.counts) {
        w.begin_object().key("from");
        w.text_or_null(pair.first);
        w.key("to");
        w.text_or_null(pair.second);
        w.key("count").value(count).end_object();
    }
    w.end_array();
    w.end_object();
}

const char* kind_name(SegmentRef::Kind k) {
    switch (k) {
        case SegmentRef::Kind::Any:
            return "any";
        case SegmentRef::Kind::None:
            return "none";
        case SegmentRef::Kind::General:
            return "general";
        case SegmentRef::Kind::Tactical:
            return "tactical";
    }
    return "?";
}

void write_segment_ref(JsonWriter& w, const char* key, const SegmentRef& r) {
    w.key(key);
    if (r.kind == SegmentRef::Kind::General || r.kind == SegmentRef::Kind::Tactical)
        w.value(r.path);
    else
        w.value(kind_name(r.kind));
}

// What each trigger did, with its definition's holdout and success as the run saw them (the
// holdout readout reads them from the stored summary, never from the file as it is now).
void write_triggers(JsonWriter& w, const RunReport& rep) {
    w.key("firing");
    w.text_or_null(rep.firing);
    w.key("actions_enqueued").value(rep.actions_enqueued);
    w.key("triggers").begin_array();
    for (const TriggerCounts& t : rep.triggers) {
        w.begin_object();
        w.key("id").value(t.id).key("on").value(t.on);
        w.key("customers").value(t.customers).key("enqueued").value(t.enqueued);
        w.key("held_out").value(t.held_out).key("capped").value(t.capped);
        w.key("cooled_down").value(t.cooled_down).key("already_enqueued").value(t.duplicates);
        w.key("payload_not_utf8").value(t.payload_not_utf8);
        w.key("holdout_percent").value(t.holdout_basis_points / 100.0, 2);
        w.key("success");
        const CompiledTrigger* def = t.trigger;
        if (def && def->success && def->def->success) {
            const CompiledEvent& e = *def->success;
            w.begin_object();
            const std::string within =
                shown_duration(def->def->success_within, def->def->success_within_text);
            w.key("text").value(def->def->success->text + " within " + within);
            w.key("event").value(trigger_event_name(e.event));
            write_segment_ref(w, "segment", e.segment);
            w.key("segment_kind").value(kind_name(e.segment.kind));
            if (e.event == TriggerEvent::Move) {
                write_segment_ref(w, "to", e.to);
                w.key("to_kind").value(kind_name(e.to.kind));
            } else {
                w.key("to").null().key("to_kind").null();
            }
            w.key("within").value(within);
            w.end_object();
        } else {
            w.null();
        }
        w.end_object();
    }
    w.end_array();
    w.key("would_enqueue");
    if (rep.run_id > 0) {
        w.null();
        return;
    }
    w.begin_array();
    for (const OutboxRow& r : rep.would_enqueue) {
        w.begin_object();
        w.key("idempotency_key").value(r.idempotency_key);
        w.key("trigger").value(r.trigger_id);
        w.key("customer_key");
        if (const auto* i = std::get_if<int64_t>(&r.customer_key))
            w.value(*i);
        else
            w.value(std::get<Str>(r.customer_key).str());
        w.key("action").value(r.action).key("type").value(r.type);
        w.key("payload").raw(r.payload);
        w.key("status").value(r.status);
        w.end_object();
    }
    w.end_array();
}

}  // namespace

std::string report_json(const RunReport& rep) {
    JsonWriter w;
    w.begin_object();
    w.key("format").value(1);
    w.key("ruleset").value(rep.ruleset);
    w.key("version").value(rep.version);
    w.key("sha256").value(rep.sha256);
    w.key("as_of").value(format_date(rep.as_of));
    if (rep.run_id > 0)
        w.key("run_id").value(rep.run_id);
    else
        w.key("run_id").null();
    w.key("customers").value(rep.customers);
    if (auto total = rep.value_total.units(); rep.has_value && total)
        w.key("value_total").value(money_of_units(*total), 2);
    else
        w.key("value_total").null();
    w.key("segments").begin_array();
    for (const auto& s : rep.segments)
        write_segment(w, s, rep, true);
    w.end_array();
    write_populations_json(w, rep.populations);
    if (!rep.not_computed.empty()) w.key("not_computed").value(rep.not_computed);
    w.key("warnings").begin_array();
    for (const auto& d : rep.warnings)
        write_diagnostic(w, d, rep.source);
    w.end_array();
    const auto& dq = rep.data_quality;
    w.key("data_quality").begin_object();
    // A run inside a warehouse does not count findings yet: it says so rather than show 0.
    if (!rep.not_computed.empty()) w.key("checked").value(false);
    w.key("findings").value(dq.findings());
    w.key("null_keys").value(dq.null_keys);
    w.key("duplicate_keys").value(dq.duplicate_keys);
    w.key("duplicate_key_samples").begin_array();
    for (const auto& k : dq.duplicate_samples)
        w.value(k);
    w.end_array();
    w.key("unconvertible").begin_array();
    for (const auto& u : dq.unconvertible) {
        w.begin_object();
        w.key("table").value(u.table).key("column").value(u.column).key("type").value(
            type_name(u.type));
        w.key("count").value(u.count).key("sample").value(u.sample);
        w.end_object();
    }
    w.end_array();
    w.key("orphan_fact_rows").begin_object();
    for (const auto& [fact, count] : dq.orphan_fact_rows)
        w.key(fact).value(count);
    w.end_object();
    w.key("customers_after_as_of").value(dq.customers_after_as_of);
    w.key("facts_of_customers_after_as_of").begin_object();
    for (const auto& [fact, count] : dq.left_out_fact_rows)
        w.key(fact).value(count);
    w.end_object();
    w.key("facts_after_as_of").begin_object();
    for (const auto& [fact, count] : dq.future_fact_rows)
        w.key(fact).value(count);
    w.end_object();
    w.key("unknown_time_fact_rows").begin_object();
    for (const auto& [fact, count] : dq.unknown_time_fact_rows)
        w.key(fact).value(count);
    w.end_object();
    w.end_object();
    write_transitions(w, rep.transitions);
    write_triggers(w, rep);
    // A run asked to be incremental: what it read, or why it read everything (null otherwise).
    w.key("incremental");
    if (!rep.incremental) {
        w.null();
    } else {
        const IncrementalOutcome& inc = *rep.incremental;
        w.begin_object();
        w.key("mode").value(inc.used ? "incremental" : "full");
        w.key("reason");
        w.text_or_null(inc.reason);
        w.key("since_run");
        if (inc.used)
            w.value(inc.since_run);
        else
            w.null();
        w.key("customers_kept").value(inc.customers_kept);
        w.key("customers_new").value(inc.customers_new);
        w.key("customers_left").value(inc.customers_left);
        w.key("facts").begin_array();
        for (const auto& f : inc.facts) {
            w.begin_object();
            w.key("fact").value(f.fact);
            w.key("after_rowid").value_or_null(f.after_rowid);
            w.key("rows_read").value(f.rows_read);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.key("elapsed_ms").value(static_cast<int64_t>(rep.elapsed_ms));
    w.end_object();
    return w.str();
}

}  // namespace strata
