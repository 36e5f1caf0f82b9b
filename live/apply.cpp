// Engine::apply (include/strata/strata.hpp): one customer's evaluation stored, with the same
// exactly-once rules as a batch run.
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include "engine/reader.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "live/engine_impl.hpp"

namespace strata {

using namespace live;

namespace {

// The same digits as the other kind of key: 41 for '41', '41' for 41; none for a text that
// spells no integer exactly ('041', 'a').
std::optional<Value> other_kind_of(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return Value(intern(std::to_string(*i)));
    if (auto i = integer_key_spelled(std::get<Str>(key).str())) return Value(*i);
    return std::nullopt;
}

std::string spelled(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::to_string(*i);
    return "'" + std::get<Str>(key).str() + "'";
}

}  // namespace

Result<CustomerResult> Engine::Impl::apply(std::string_view key, KeyLookup lookup) {
    std::lock_guard serial(apply_mutex);
    ValuePool call_values;
    const ValuePoolScope in_call_values(call_values);
    const std::shared_ptr<const Loaded> l = current();
    const live::Thresholds& thresholds = l->thresholds;
    if (l->as_of_text < thresholds.run.as_of)
        return fail(Kind::Usage, "--apply as of " + l->as_of_text + " is before the as_of of run " +
                                     std::to_string(thresholds.run.run_id) + " (" +
                                     thresholds.run.as_of + "): runs move forward in time");
    if (!options.allow_future_as_of && l->as_of_text > thresholds.run.as_of) {
        if (auto refused = far_future_as_of_refusal(
                l->as_of, today_utc(), "or set EngineOptions::allow_future_as_of to store it"))
            return fail(Kind::Usage, *refused);
    }
    // Opened on first use, and again when the file at the path is another one since; never
    // made anew: a state file removed since the engine read its run is an error, not a start.
    if (writable_state && writable_state_file != file_identity(state_path)) writable_state.reset();
    if (!writable_state) {
        StoreError error;
        const auto checked_file = file_identity(state_path);
        // A file that holds no runs (another file moved to the path since the thresholds
        // were loaded) is not made a state here: open_state would add strata's tables to it.
        {
            auto reading = open_read_only(state_path, error, options.busy_timeout_ms);
            if (!reading) return store_failed(error);
            const auto tables = state_tables(*reading, error);
            if (!tables) return store_failed(error);
            if (!tables->runs)
                return fail(Kind::NoRun,
                            "no runs are stored in '" + state_path +
                                "' any longer: the file was replaced since the thresholds were "
                                "loaded; nothing was stored");
        }
        writable_state = open_state(state_path, error, options.busy_timeout_ms, false);
        if (!writable_state) return store_failed(error);
        writable_state_file = file_identity(state_path);
        // Replaced again between the check and the open: that file was not checked.
        if (writable_state_file != checked_file) {
            writable_state.reset();
            return fail(Kind::Database, "the state file '" + state_path +
                                            "' was replaced while it was opened; nothing was "
                                            "stored: apply again");
        }
    }
    auto acquired = acquire();
    if (!acquired) return acquired.error();
    std::unique_ptr<Connection> c = std::move(acquired.value());
    struct Release {
        const Impl& impl;
        std::unique_ptr<Connection>& c;
        ~Release() { impl.release(std::move(c)); }
    } release_after{*this, c};
    try {
        auto customer = find(*c, key, lookup, *l);
        if (!customer) return customer.error();
        const Value k = customer->keys.at(0);
        const std::string now = utc_now();
        RunRecord record;
        record.ruleset = rules->rules.ruleset;
        record.version = rules->rules.version;
        record.rules_sha256 = sha256;
        record.rules_path = options.rules_path;
        record.as_of = l->as_of_text;
        record.started_at = now;
        record.finished_at = now;
        record.status = "complete";
        record.customers = thresholds.run.customers;
        record.summary_json = "{}";
        record.rules_source = rules->source.text();
        // Checked first without the write lock, so that a stale engine hears so even when the
        // later run's as_of would refuse this one as going back in time.
        if (auto refused = stale(*writable_state, *l, 0)) return *refused;
        StoreError error;
        std::unique_ptr<RunWriter> writer =
            RunWriter::begin(*writable_state, record, tactical_levels, error, &k);
        if (!writer) {
            // A batch run stored since the check above may be why (its as_of is later).
            if (auto refused = stale(*writable_state, *l, 0)) return *refused;
            // An evaluation stored since at a later as_of (another eval --apply): the as_of is
            // what is wrong, as when it is before the run's.
            StoreError read_error;
            const auto latest = find_run(*writable_state, record.ruleset, std::nullopt, read_error);
            if (latest && latest->as_of > record.as_of)
                return fail(Kind::Usage,
                            "--apply as of " + record.as_of + " is before the as_of of run " +
                                std::to_string(latest->run_id) + " (" + latest->as_of +
                                "), stored since the thresholds were loaded: runs move forward "
                                "in time; nothing was stored");
            return fail(error.rule_problem ? Kind::Rules : Kind::Database, error.message);
        }
        const std::optional<RunRecord>& previous = writer->previous();
        if (!previous || previous->rules_sha256 != sha256)
            return fail(Kind::Rules, "ruleset '" + record.ruleset +
                                         "' was run with another rule file since the thresholds "
                                         "were loaded; nothing was stored");
        if (auto refused = stale(writer->history(), *l, writer->run_id())) return *refused;
        // The customer's row and fact rows as of one moment, as evaluate() reads them: read
        // again once the state's write lock is held (no writer can then be waiting on this
        // read lock while this one waits on its), and ended before the run is stored, whose
        // commit this read lock would hold up when the state is the customer database's file.
        std::optional<ReadTransaction> customer_reads;
        customer_reads.emplace(*c->data_reads);
        customer = find(*c, key, lookup, *l);
        if (!customer) return customer.error();
        std::string message;
        bool rule_problem = false;
        const std::vector<OpenPlacement>& before = writer->open_placements();
        std::vector<OpenPlacement> day_start = before;
        if (rules->program.reads_stored_state()) {
            OneCustomerStays stays(writer->history(), record.ruleset);
            day_start = stays.at_day_start(k, l->as_of_text, stays(k));
        }
        auto one = live::evaluate_one(*rules, thresholds, *c->reader, std::move(customer.value()),
                                      before, day_start, l->as_of, &writer->history(),
                                      writer->run_id(), message, rule_problem);
        customer_reads.reset();
        if (!one) return fail(rule_problem ? Kind::Rules : Kind::Database, message);
        // A customer never placed whose key, as the other kind, is a placed customer no longer
        // in the base: the key column changed type, as a batch run refuses (run_parts'
        // retyped_keys_message). Applying would place them a second time beside those stays.
        if (!one->before && !options.allow_retyped_keys)
            if (std::optional<Value> other = other_kind_of(k))
                if (!OneCustomerStays(writer->history(), record.ruleset)(*other).empty() &&
                    !c->reader->read_customer(*other, l->as_of)) {
                    const bool as_text = std::holds_alternative<Str>(k);
                    return fail(
                        Kind::Database,
                        "the customer keys changed kind since run " +
                            std::to_string(previous->run_id) + ": customer " + spelled(k) +
                            " has no stored placement, and its key written as the other kind (" +
                            spelled(k) + " was " + spelled(*other) +
                            ") is the key of a placed customer who is no longer in table " +
                            rules->rules.customers_table +
                            " (an integer key and a text key are different customers). Applying "
                            "would place " +
                            spelled(k) + " as a new customer beside the stays of " +
                            spelled(*other) +
                            ", and their triggers would fire again; nothing was stored. Store "
                            "the keys as they were (for example CAST(" +
                            rules->rules.key + " AS " + (as_text ? "INTEGER" : "TEXT") +
                            ")), or pass --allow-retyped-keys to apply it as a new customer");
                }
        const Transitions* moves = nullptr;
        std::vector<char> inserted;
        if (!writer->add(&one->placed, 1, error) || !(moves = writer->end_membership(error)) ||
            !writer->add_actions(one->fired, now, inserted, error))
            return fail(Kind::Database, error.message);
        // The run keeps no fits: its summary's thresholds_run names whose it used
        // (engine/run_state's load_population_fits reads them there).
        SQLite::Database& state = writer->history();
        std::optional<std::string> segments;
        {
            SQLite::Statement q(state,
                                "SELECT json_extract(summary, '$.segments') FROM strata_runs "
                                "WHERE run_id = ? AND json_valid(summary)");
            q.bind(1, previous->run_id);
            if (q.executeStep() && !q.getColumn(0).isNull()) segments = q.getColumn(0).getString();
        }
        CustomerResult r = result_of(*one, *l);
        r.actions.clear();
        size_t enqueued = 0;
        for (size_t i = 0; i < one->fired.size(); ++i) {
            if (!inserted[i]) continue;
            r.actions.push_back(planned(one->fired[i]));
            enqueued += one->fired[i].status == "pending";
        }
        JsonWriter w;
        w.begin_object().key("format").value(1).key("mode").value("eval").key("customer");
        if (r.key_is_text)
            w.value(r.customer_key);
        else
            w.value(std::get<int64_t>(k));
        w.key("thresholds_run").value(thresholds.fits_run);
        w.key("segment").value(r.segment).key("tactical").begin_array();
        for (const auto& t : r.tactical)
            w.value(t);
        w.end_array().key("transition").value(r.transition);
        w.key("transitions").begin_object();
        w.key("since_run").value(previous->run_id).key("since_as_of").value(previous->as_of);
        w.key("cause").value(previous->version != record.version ? "rules" : "data");
        w.key("moved").value(moves->moved).key("new").value(moves->entered);
        w.key("left").value(moves->left).key("tactical_entered").value(moves->tactical_entered);
        w.key("tactical_left").value(moves->tactical_left);
        w.key("stays_written").value(moves->stays_written);
        // As a run's matrix (engine/run_json.cpp), of this one customer: from their stored
        // general segment (null for a customer new to the ruleset) to their segment now.
        w.key("matrix").begin_array().begin_object().key("from");
        if (r.previous_segment)
            w.value(*r.previous_segment);
        else
            w.null();
        w.key("to").value(r.segment).key("count").value(1).end_object().end_array();
        w.end_object();
        w.key("firing").value("data").key("actions_enqueued").value(enqueued);
        w.key("segments");
        if (segments)
            w.raw(*segments);
        else
            w.null();
        w.end_object();
        if (!writer->finish(utc_now(), record.customers, w.str(), error))
            return fail(Kind::Database, error.message);
        r.applied = true;
        r.applied_run = writer->run_id();
        return r;
    } catch (const SQLite::Exception& e) {
        return fail(Kind::Database,
                    "cannot apply customer " + std::string(key) + ": " + e.what() + busy_hint(e));
    }
}

}  // namespace strata
