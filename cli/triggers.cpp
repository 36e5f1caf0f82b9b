// `strata triggers (--db DB | --state PATH) [--ruleset NAME] [--format text|json]`: the holdout
// readout of analysis/holdout_readout.hpp, printed.
#include <algorithm>
#include <cstdio>
#include <ostream>

#include "analysis/holdout_readout.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/stored_state.hpp"
#include "engine/json.hpp"

namespace strata::cli {

namespace {

std::string printf_text(const char* format, double a, double b = 0, double c = 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, format, a, b, c);
    return buf;
}

// "23.1% met success (243 of 1,050 matured; 4 still in their window)"
std::string group_text(const GroupOutcome& g) {
    std::string text =
        g.share() ? printf_text("%.1f%% met success (", 100 * *g.share()) : std::string("n/a (");
    if (g.matured > 0) text += thousands(g.succeeded) + " of ";
    text +=
        thousands(g.matured) + " matured; " + thousands(g.still_open) + " still in their window)";
    return text;
}

void write_text(std::ostream& out, const std::vector<RulesetReadout>& rulesets) {
    bool first = true;
    for (const RulesetReadout& r : rulesets) {
        if (r.triggers.empty()) continue;
        if (!first) out << '\n';
        first = false;
        out << "ruleset " << r.ruleset << ": windows counted up to " << r.latest_as_of << " (run "
            << r.latest_run << ")\n";
        // Ids and events padded to the widest of the ruleset, so the counts line up.
        size_t id_width = 0, on_width = 0;
        for (const TriggerReadout& t : r.triggers) {
            id_width = std::max(id_width, t.trigger.size());
            on_width = std::max(on_width, t.on.value_or("-").size());
        }
        for (const TriggerReadout& t : r.triggers) {
            const std::string on = t.on.value_or("-");
            out << t.trigger << std::string(id_width - t.trigger.size(), ' ') << "  " << on
                << std::string(on_width - on.size(), ' ') << "  fired " << thousands(t.fired)
                << "  held out " << thousands(t.held_out) << "  capped " << thousands(t.capped);
            if (!t.success) {
                out << "  no success to measure\n";
                continue;
            }
            out << "  success '" << t.success->text << "'\n";
            out << "  treated     " << group_text(t.treated) << '\n';
            out << "  held out    " << group_text(t.held_out_group) << '\n';
            out << "  difference  ";
            if (t.difference)
                out << printf_text("%+.1f pp (95%% CI %+.1f to %+.1f)", t.difference->points,
                                   t.difference->low, t.difference->high);
            else
                out << "n/a: a group has no matured firing";
            out << '\n';
            if (t.success_changed)
                out << "  (the success changed between runs; each firing is measured by the one "
                       "of the run that fired it)\n";
        }
    }
}

void write_group(JsonWriter& w, const char* name, const GroupOutcome& g) {
    w.key(name).begin_object();
    w.key("matured").value(g.matured).key("succeeded").value(g.succeeded);
    w.key("share").value_or_null(g.share(), 4);
    w.end_object();
}

void write_json(std::ostream& out, const std::vector<RulesetReadout>& rulesets) {
    JsonWriter w;
    w.begin_object().key("format").value(1).key("triggers").begin_array();
    for (const RulesetReadout& r : rulesets) {
        for (const TriggerReadout& t : r.triggers) {
            w.begin_object();
            w.key("ruleset").value(t.ruleset).key("trigger").value(t.trigger);
            w.key("on").value_or_null(t.on);
            w.key("success");
            if (t.success)
                w.value(t.success->text);
            else
                w.null();
            w.key("within");
            if (t.success)
                w.value(t.success->within_text);
            else
                w.null();
            w.key("success_changed").value(t.success_changed);
            w.key("as_of").value(r.latest_as_of);
            w.key("fired").value(t.fired).key("held_out").value(t.held_out);
            w.key("capped").value(t.capped);
            w.key("still_open").begin_object();
            w.key("fired").value(t.treated.still_open);
            w.key("held_out").value(t.held_out_group.still_open).end_object();
            write_group(w, "treated", t.treated);
            write_group(w, "held_out_group", t.held_out_group);
            w.key("difference_pp");
            if (t.difference)
                w.value(t.difference->points, 2);
            else
                w.null();
            w.key("ci95_pp");
            if (t.difference)
                w.begin_array()
                    .value(t.difference->low, 2)
                    .value(t.difference->high, 2)
                    .end_array();
            else
                w.null();
            w.end_object();
        }
    }
    w.end_array().end_object();
    out << w.str() << '\n';
}

}  // namespace

int run_triggers(const TriggersOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    auto fail = [&](const std::string& message) {
        err << "strata triggers: " << message << '\n';
        if (json) write_json_error(out, "database", message);
        return kExitEnvironment;
    };
    auto stored = open_stored_state("triggers", options.db, options.state, err,
                                    json ? &out : nullptr, false, options.wait);
    if (!stored) return kExitEnvironment;
    const std::string file = stored->state->getFilename();
    if (!stored->tables.stays)
        return fail("the runs in '" + file +
                    "' were stored before membership was kept as history, and fired no "
                    "trigger; the next 'strata run' on it moves them to stays");
    StoreError error;
    auto readout = holdout_readout(*stored->state, options.ruleset, error);
    if (!readout) return fail(error.message);
    // Finding no triggers is an answer, not an error.
    size_t triggers = 0;
    for (const RulesetReadout& r : *readout)
        triggers += r.triggers.size();
    if (readout->empty()) {
        err << "strata triggers: no runs"
            << (options.ruleset ? " of ruleset '" + *options.ruleset + "'" : std::string())
            << " are stored in '" << file << "'"
            << other_rulesets_hint(*stored->state, options.ruleset) << '\n';
    } else if (triggers == 0) {
        err << "strata triggers: no run"
            << (options.ruleset ? " of ruleset '" + *options.ruleset + "'" : std::string())
            << " stored in '" << file << "' had triggers\n";
    } else if (!stored->state->tableExists("strata_outbox")) {
        // Firings are the outbox's rows: without the table every count below is 0.
        err << "strata triggers: warning: '" << file
            << "' has no table strata_outbox, where runs keep what their triggers fired: no "
               "firing can be counted (was the table dropped?)\n";
    }
    if (json)
        write_json(out, *readout);
    else
        write_text(out, *readout);
    return kExitOk;
}

}  // namespace strata::cli
