// `strata runs (--db DB | --state PATH) [--ruleset NAME] [--format text|json]`: the stored runs,
// in run id order.
#include <algorithm>
#include <ostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/run_warehouse.hpp"
#include "cli/stored_state.hpp"
#include "engine/json.hpp"
#include "engine/state.hpp"
#include "report/run_store.hpp"
#include "state/report_store.hpp"

namespace strata::cli {

namespace {

void write_text(std::ostream& out, const std::vector<RunListing>& runs) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"RUN", "RULESET", "VERSION", "AS_OF", "RAN AT (UTC)", "CUSTOMERS", "MOVED",
                    "CAUSE", "ACTIONS"});
    for (const RunListing& r : runs) {
        rows.push_back({std::to_string(r.run_id), one_line(r.ruleset), std::to_string(r.version),
                        one_line(r.as_of), one_line(r.started_at), signed_thousands(r.customers),
                        r.moved ? signed_thousands(*r.moved) : "-",
                        one_line(r.mode == "full" ? r.cause.value_or("-") : r.mode),
                        signed_thousands(r.actions_enqueued)});
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
        w.key("customers").value(r.customers).key("moved").value_or_null(r.moved);
        w.key("cause").value_or_null(r.cause);
        w.key("actions_enqueued").value(r.actions_enqueued);
        w.key("mode").value(r.mode);
        w.key("incremental_reason").text_or_null(r.incremental_reason ? *r.incremental_reason : "");
        w.end_object();
    }
    w.end_array().end_object();
    out << w.str() << '\n';
}

}  // namespace

// The runs stored in a warehouse (PostgreSQL; ClickHouse: complete runs only), read by the
// report's store and listed by the SQLite listing's own rules.
int run_warehouse_runs(const RunsOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    auto fail = [&](const std::string& kind, const std::string& message) {
        err << "strata runs: " << message << '\n';
        if (json) write_json_error(out, kind, message);
        return kExitEnvironment;
    };
    if (options.state)
        return fail("usage", "--state: the runs of a warehouse are stored in it; give --db only");
    std::string error;
    auto store = state::open_warehouse_report_store(options.db, std::nullopt, error);
    if (!store) return fail(open_failure_kind(options.db), error);
    std::optional<std::vector<RunRecord>> records;
    try {
        records = store->runs();
    } catch (const report::StoreReadError& e) {
        return fail("database", e.message);
    }
    // No run state at all is what a SQLite base without a state file is: nothing to list.
    if (!records)
        return fail("database",
                    "no runs are stored in '" + store->where() + "'; run 'strata run' first");
    const std::vector<RunListing> runs = list_run_records(*records, options.ruleset);
    // Finding no runs of a ruleset is an answer, not an error.
    if (runs.empty()) {
        std::vector<std::string> stored;
        for (const RunRecord& r : *records)
            stored.push_back(r.ruleset);
        err << "strata runs: no runs"
            << (options.ruleset ? " of ruleset '" + *options.ruleset + "'" : std::string())
            << " are stored in '" << store->where() << "'"
            << other_rulesets_hint(stored, options.ruleset) << '\n';
    }
    if (json)
        write_json(out, runs);
    else if (!runs.empty())
        write_text(out, runs);
    return kExitOk;
}

int run_runs(const RunsOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    if (is_postgres_url(options.db) || is_clickhouse_url(options.db)) {
        if (!wait_is_duration("runs", options.wait, err, json ? &out : nullptr))
            return kExitEnvironment;
        return run_warehouse_runs(options, out, err);
    }
    auto stored = open_stored_state("runs", options.db, options.state, err, json ? &out : nullptr,
                                    false, options.wait);
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
            << " are stored in '" << stored->state->getFilename() << "'"
            << other_rulesets_hint(*stored->state, options.ruleset) << '\n';
    }
    if (json)
        write_json(out, *runs);
    else if (!runs->empty())
        write_text(out, *runs);
    return kExitOk;
}

}  // namespace strata::cli
