// `strata runs --db DB [--state PATH] [--ruleset NAME] [--format text|json]`: the stored runs,
// in run id order.
#include <algorithm>
#include <ostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/stored_state.hpp"
#include "engine/json.hpp"
#include "engine/state.hpp"

namespace strata::cli {

namespace {

void write_text(std::ostream& out, const std::vector<RunListing>& runs) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"RUN", "RULESET", "VERSION", "AS_OF", "RAN AT (UTC)", "CUSTOMERS", "MOVED",
                    "CAUSE", "ACTIONS"});
    for (const RunListing& r : runs) {
        rows.push_back({std::to_string(r.run_id), r.ruleset, std::to_string(r.version), r.as_of,
                        r.started_at, thousands(static_cast<size_t>(r.customers)),
                        r.moved ? thousands(static_cast<size_t>(*r.moved)) : "-",
                        r.mode == "full" ? r.cause.value_or("-") : r.mode,
                        thousands(static_cast<size_t>(r.actions_enqueued))});
    }
    write_text_table(out, rows, {true, false, true, false, false, true, true, false, true});
}

void write_json(std::ostream& out, const std::vector<RunListing>& runs) {
    JsonWriter w;
    w.begin_object().key("format").value(1).key("runs").begin_array();
    for (const RunListing& r : runs) {
        w.begin_object();
        w.key("run_id").value(r.run_id).key("ruleset").value(r.ruleset);
        w.key("version").value(r.version).key("as_of").value(r.as_of);
        w.key("started_at").value(r.started_at).key("finished_at").value(r.finished_at);
        w.key("customers").value(r.customers).key("moved");
        if (r.moved)
            w.value(*r.moved);
        else
            w.null();
        w.key("cause");
        if (r.cause)
            w.value(*r.cause);
        else
            w.null();
        w.key("actions_enqueued").value(r.actions_enqueued);
        w.key("mode").value(r.mode);
        w.end_object();
    }
    w.end_array().end_object();
    out << w.str() << '\n';
}

}  // namespace

int run_runs(const RunsOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    auto stored = open_stored_state("runs", options.db, options.state, err, json ? &out : nullptr);
    if (!stored) return kExitEnvironment;
    StoreError error;
    auto runs = list_runs(*stored->state, options.ruleset, error);
    if (!runs) {
        err << "strata runs: " << error.message << '\n';
        if (json) write_json_error(out, "database", error.message);
        return kExitEnvironment;
    }
    // Finding no runs is an answer, not an error.
    if (runs->empty()) {
        err << "strata runs: no runs"
            << (options.ruleset ? " of ruleset '" + *options.ruleset + "'" : std::string())
            << " are stored in '" << stored->state->getFilename() << "'\n";
    }
    if (json)
        write_json(out, *runs);
    else if (!runs->empty())
        write_text(out, *runs);
    return kExitOk;
}

}  // namespace strata::cli
