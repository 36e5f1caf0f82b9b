// `strata history --db DB --customer KEY [--state PATH] [--ruleset NAME]
// [--format text|json]`: one customer's stays over time, from strata_stay_history, and the
// actions (outbox rows) that concerned them. DB may be a postgresql:// or clickhouse:// URL
// (state/warehouse_audit.hpp); the listing and its printing are the same.
#include <algorithm>
#include <ostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/run_warehouse.hpp"
#include "cli/stored_state.hpp"
#include "engine/json.hpp"
#include "engine/outbox.hpp"
#include "engine/reader.hpp"
#include "engine/state.hpp"
#include "state/warehouse_audit.hpp"

namespace strata::cli {

namespace {

constexpr const char* kActionsElsewhere =
    "the actions of runs inside ClickHouse are in the store given to 'strata run' as --state; "
    "give the same --state to see them";

// The stored keys a key typed on the command line finds, as the "Keys" rule of
// docs/running.md has it: a text spelled exactly as an integer prints finds the integer
// key, and the text key of the same spelling too; any other text ('00123') only the text.
std::vector<Value> keys_typed(const std::string& typed) {
    std::vector<Value> keys;
    if (auto i = integer_key_spelled(typed)) keys.push_back(Value{*i});
    keys.push_back(Value{intern(typed)});
    return keys;
}

// How text output names a key: integers as they are, texts quoted ('00123').
std::string key_text(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::to_string(*i);
    return "'" + one_line(std::get<Str>(key).str()) + "'";
}

bool same_key(const Value& a, const Value& b) {
    return a.index() == b.index() && compare_keys(a, b) == 0;
}

std::string run_point(const std::string& as_of, int64_t run) {
    return as_of + " (run " + std::to_string(run) + ")";
}

// A time a customer was in no general segment of a ruleset: from the run that ended a general
// stay without beginning another to the run that placed them again (none: not since).
struct Absence {
    const StayListing* ended;     // the general stay that `left_run` ended
    const StayListing* returned;  // the general stay that ended the absence, or null
};

// The absences of one customer in one ruleset, in run order. [first, last): their stays.
std::vector<Absence> absences_of(const StayListing* first, const StayListing* last) {
    std::vector<Absence> out;
    for (const StayListing* g = first; g != last; ++g) {
        if (g->level != 0 || !g->exited_run) continue;
        const StayListing* next = nullptr;  // the general stay that began at or after its end
        for (const StayListing* h = first; h != last; ++h) {
            if (h->level != 0 || h->entered_run < *g->exited_run) continue;
            if (!next || h->entered_run < next->entered_run) next = h;
        }
        if (next && next->entered_run == *g->exited_run) continue;  // a move, not a leave
        out.push_back(Absence{g, next});
    }
    std::sort(out.begin(), out.end(), [](const Absence& a, const Absence& b) {
        return *a.ended->exited_run < *b.ended->exited_run;
    });
    return out;
}

// One customer's stays in one ruleset (entered-run order), as a table: each general stay,
// then the tactical stays that were open while it lasted, indented by their nesting. A
// tactical stay that outlives its general stay (a version renamed the general segment, or a
// tactical segment shared by two) is shown again under each later one, marked "(continued)".
void write_group(std::ostream& out, const StayListing* first, const StayListing* last) {
    out << "customer " << key_text(first->key) << " in ruleset " << first->ruleset << '\n';
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"SEGMENT", "FROM", "TO", "VERSION", "CAUSE"});
    auto row = [&](const StayListing& s, const std::string& segment) {
        rows.push_back({segment, run_point(s.entered_as_of, s.entered_run),
                        !s.exited_run    ? "now"
                        : s.exited_as_of ? run_point(*s.exited_as_of, *s.exited_run)
                                         : "run " + std::to_string(*s.exited_run),
                        std::to_string(s.version), s.cause});
    };
    auto exit_point = [](const StayListing& s) {
        return s.exited_as_of ? run_point(*s.exited_as_of, *s.exited_run)
                              : "run " + std::to_string(*s.exited_run);
    };
    const std::vector<Absence> absences = absences_of(first, last);
    std::vector<bool> shown(static_cast<size_t>(last - first), false);
    for (const StayListing* g = first; g != last; ++g) {
        if (g->level != 0) continue;
        // A time out of the base before this stay: a row of its own between the two.
        for (const Absence& a : absences)
            if (a.returned == g)
                rows.push_back({"(not in the base)", exit_point(*a.ended),
                                run_point(g->entered_as_of, g->entered_run), "", ""});
        row(*g, g->segment);
        for (const StayListing* t = first; t != last; ++t) {
            if (t->level == 0) continue;
            const bool began_during = t->entered_run >= g->entered_run &&
                                      (!g->exited_run || t->entered_run < *g->exited_run);
            const bool carried_in = t->entered_run < g->entered_run &&
                                    (!t->exited_run || *t->exited_run > g->entered_run) &&
                                    shown[t - first];
            if (!began_during && !carried_in) continue;
            if (began_during && shown[t - first]) continue;
            shown[t - first] = true;
            const size_t depth = 1 + std::count(t->segment.begin(), t->segment.end(), '/');
            row(*t, std::string(2 * depth, ' ') + t->segment + (carried_in ? " (continued)" : ""));
        }
    }
    // A tactical stay that began outside every general stay of the customer (not written by
    // runs, but a state file may be edited) is shown after them, marked.
    for (const StayListing* t = first; t != last; ++t) {
        if (t->level != 0 && !shown[t - first]) row(*t, t->segment + " (tactical)");
    }
    // The version, a number, to the right.
    write_text_table(out, rows, {false, false, false, true, false}, "  ");
    // No general stay open: the latest run that ended one did not place them at all.
    if (!absences.empty() && !absences.back().returned)
        out << "  left the base at " << exit_point(*absences.back().ended)
            << ": that run did not place them, nor has any since\n";
}

// The outbox rows that concerned the customer, oldest first.
// `several_keys`: the stays listed are of more than one customer (7 and '7').
void write_actions(std::ostream& out, const std::optional<std::vector<OutboxEntry>>& actions,
                   bool several_keys) {
    if (!actions) {
        out << "\nactions not read: " << kActionsElsewhere << '\n';
        return;
    }
    if (actions->empty()) {
        out << "\nno actions\n";
        return;
    }
    out << "\nactions\n";
    // The key heads a column of its own when two customers (7 and '7') are shown, so that
    // each action is told apart even when all are of one of them.
    const bool keyed =
        several_keys || std::any_of(actions->begin(), actions->end(), [&](const OutboxEntry& a) {
            return !same_key(a.row.customer_key, actions->front().row.customer_key);
        });
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"AS_OF", "RUN", "RULESET", "TRIGGER", "TYPE", "STATUS", "PAYLOAD"});
    if (keyed) rows.back().insert(rows.back().begin(), "CUSTOMER");
    for (const OutboxEntry& a : *actions) {
        rows.push_back({a.row.as_of, std::to_string(a.row.run_id), a.row.ruleset, a.row.trigger_id,
                        a.row.type, a.row.status, a.row.payload});
        if (keyed) rows.back().insert(rows.back().begin(), key_text(a.row.customer_key));
    }
    write_text_table(out, rows, std::vector<bool>(rows[0].size(), false), "  ");
}

// Calls fn(first, last) for the stays of each customer in each ruleset, in order.
template <typename Fn>
void for_each_group(const std::vector<StayListing>& stays, Fn fn) {
    for (size_t begin = 0; begin < stays.size();) {
        size_t end = begin + 1;
        while (end < stays.size() && stays[end].ruleset == stays[begin].ruleset &&
               same_key(stays[end].key, stays[begin].key))
            ++end;
        fn(stays.data() + begin, stays.data() + end);
        begin = end;
    }
}

void write_text(std::ostream& out, const std::vector<StayListing>& stays) {
    for_each_group(stays, [&](const StayListing* first, const StayListing* last) {
        if (first != stays.data()) out << '\n';
        write_group(out, first, last);
    });
}

void write_key(JsonWriter& w, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key))
        w.value(*i);
    else
        w.value(std::get<Str>(key).str());
}

void write_json(std::ostream& out, const Value& customer, const std::vector<StayListing>& stays,
                const std::optional<std::vector<OutboxEntry>>& actions) {
    JsonWriter w;
    w.begin_object().key("format").value(1).key("customer");
    write_key(w, customer);
    w.key("stays").begin_array();
    for (const StayListing& s : stays) {
        w.begin_object();
        w.key("ruleset").value(s.ruleset).key("segment").value(s.segment);
        w.key("level").value(s.level).key("entered_run").value(s.entered_run);
        w.key("entered_as_of").value(s.entered_as_of);
        w.key("exited_run").value_or_null(s.exited_run);
        w.key("exited_as_of").value_or_null(s.exited_as_of);
        w.key("version").value(s.version).key("cause").value(s.cause);
        w.key("customer_key");
        write_key(w, s.key);
        w.end_object();
    }
    w.end_array().key("actions");
    if (actions) {  // null: not read, which is not the same as none
        w.begin_array();
        for (const OutboxEntry& a : *actions)
            w.raw(a.json);
        w.end_array();
    } else {
        w.null();
    }
    w.key("left_base").begin_array();
    for_each_group(stays, [&](const StayListing* first, const StayListing* last) {
        for (const Absence& a : absences_of(first, last)) {
            w.begin_object().key("ruleset").value(a.ended->ruleset);
            w.key("run").value(*a.ended->exited_run);
            w.key("as_of").value_or_null(a.ended->exited_as_of);
            w.key("returned_run");
            if (a.returned)
                w.value(a.returned->entered_run);
            else
                w.null();
            w.key("returned_as_of");
            if (a.returned)
                w.value(a.returned->entered_as_of);
            else
                w.null();
            w.key("customer_key");
            write_key(w, a.ended->key);
            w.end_object();
        }
    });
    w.end_array();
    w.end_object();
    out << w.str() << '\n';
}

}  // namespace

int run_history(const HistoryOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    auto fail = [&](const std::string& message) {
        err << "strata history: " << message << '\n';
        if (json) write_json_error(out, open_failure_kind(options.db), message);
        return kExitEnvironment;
    };
    const std::vector<Value> keys = keys_typed(options.customer);
    // Where the stays are read: the SQLite state, or an in-memory copy of what a warehouse
    // holds of this customer (state/warehouse_audit.hpp); the listing is the same.
    std::optional<StoredState> stored;
    std::optional<state::WarehouseAudit> warehouse;
    SQLite::Database* state = nullptr;
    std::string file;
    // nullopt: not read (a ClickHouse run's actions are in a --state store not given).
    std::optional<std::vector<OutboxEntry>> actions = std::vector<OutboxEntry>{};
    if (is_postgres_url(options.db) || is_clickhouse_url(options.db)) {
        if (!wait_is_duration("history", options.wait, err, json ? &out : nullptr))
            return kExitEnvironment;
        state::AuditRequest request{keys, options.ruleset, options.state};
        std::string error;
        warehouse = state::read_warehouse_audit(options.db, request, error);
        if (!warehouse) return fail(error);
        state = warehouse->state.get();
        file = warehouse->where;
        actions = warehouse->actions;
    } else {
        stored = open_stored_state("history", options.db, options.state, err, json ? &out : nullptr,
                                   false, options.wait);
        if (!stored) return kExitEnvironment;
        state = stored->state;
        file = state->getFilename();
        if (!stored->tables.stays)
            return fail("the runs in '" + file +
                        "' were stored before membership was kept as history; the next "
                        "'strata run' on it moves them to stays (export reads them as they are)");
        try {
            if (state->tableExists("strata_outbox")) {
                OutboxFilter filter;
                filter.ruleset = options.ruleset;
                filter.customer_keys = keys;
                actions = list_outbox(*state, filter);
            }
        } catch (const SQLite::Exception& e) {
            return fail("cannot read table 'strata_outbox' of '" + file + "': " + e.what());
        }
    }
    StoreError error;
    auto stays = list_stays(*state, keys, options.ruleset, error);
    if (!stays) return fail(error.message);
    // Finding nobody is an answer, not an error.
    if (stays->empty()) {
        err << "strata history: customer '" << one_line(options.customer) << "' has no stays"
            << (options.ruleset ? " in ruleset '" + *options.ruleset + "'" : std::string())
            << " in '" << file << "'" << other_rulesets_hint(*state, options.ruleset) << '\n';
    }
    if (!actions) err << "strata history: note: " << kActionsElsewhere << '\n';
    const bool several_keys = std::any_of(stays->begin(), stays->end(), [&](const StayListing& s) {
        return !same_key(s.key, stays->front().key);
    });
    if (json) {
        // The customer as stored when their stays name one key (the text '42' that --customer 42
        // found), else as given.
        write_json(out, stays->empty() || several_keys ? keys.front() : stays->front().key, *stays,
                   actions);
    } else if (!stays->empty() || (actions && !actions->empty())) {
        write_text(out, *stays);
        write_actions(out, actions, several_keys);
    }
    return kExitOk;
}

}  // namespace strata::cli
