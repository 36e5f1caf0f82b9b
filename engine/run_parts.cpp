#include "engine/run_parts.hpp"

#include <ctime>

#include <SQLiteCpp/Statement.h>

#include "engine/state_common.hpp"
#include "engine/stay_rows.hpp"

namespace strata {

void fill_state_columns(const bound::Program& program, CustomerTable& customers,
                        const std::vector<OpenPlacement>& open, Date as_of,
                        const std::vector<DayStartStay>& day_start) {
    const std::vector<uint32_t> order = key_order(customers.keys);
    size_t next = 0;  // open and day_start are in key order too: one merge
    size_t next_change = 0;
    for (uint32_t row : order) {
        const Value& key = customers.keys[row];
        while (next < open.size() && compare_keys(open[next].key, key) < 0)
            ++next;
        while (next_change < day_start.size() && compare_keys(day_start[next_change].key, key) < 0)
            ++next_change;
        Str general;
        const Date* since = nullptr;
        if (next_change < day_start.size() && compare_keys(day_start[next_change].key, key) == 0) {
            const DayStartStay& d = day_start[next_change];
            general = d.general;
            if (d.since) since = &*d.since;
        } else if (next < open.size() && compare_keys(open[next].key, key) == 0) {
            general = open[next].general;
            if (open[next].since) since = &*open[next].since;
        }
        if (!general.p) continue;
        for (size_t c = 0; c < program.columns.size(); ++c) {
            const bound::ColumnUse& use = program.columns[c];
            if (use.source != bound::ColumnSource::State) continue;
            Value& v = customers.columns[c][row];
            if (use.name == "previous_segment")
                v = general;
            else if (use.name == "segment_since" && since)
                v = *since;
            else if (use.name == "days_in_segment" && since)
                v = int64_t{as_of.days - since->days};
        }
    }
}

Column drop_future_customers(const CompiledRules& rules, Date as_of, CustomerTable& customers,
                             KeyIndex& index, DataQuality& dq) {
    Frame frame;
    frame.rows = customers.rows;
    frame.as_of = as_of;
    std::vector<PackedColumn> columns;  // read where they are
    columns.reserve(customers.columns.size());
    for (const auto& c : customers.columns) {
        columns.push_back(PackedColumn::borrow(&c));
        frame.columns.push_back(&columns.back());
    }
    const Column since = evaluate(*rules.since, frame);
    std::vector<char> keep(customers.rows, 1);
    Column left_out;
    for (size_t row = 0; row < customers.rows; ++row) {
        const Value& v = since[row];
        const auto* d = std::get_if<Date>(&v);
        const auto* t = std::get_if<DateTime>(&v);
        if ((d && *d > as_of) || (t && to_date(*t) > as_of)) {
            keep[row] = 0;
            ++dq.customers_after_as_of;
            left_out.push_back(customers.keys[row]);
        }
    }
    keep_customers(customers, index, keep);
    index.set_left_out(left_out);
    return left_out;
}

std::vector<char> actions_not_enqueued(SQLite::Database* state,
                                       const std::vector<OutboxRow>& rows) {
    std::vector<char> fresh(rows.size(), 1);
    if (!state || rows.empty() || !state->tableExists("strata_outbox")) return fresh;
    EnqueuedActions enqueued(*state);
    for (size_t r = 0; r < rows.size(); ++r)
        fresh[r] = !enqueued.contains(rows[r]);
    return fresh;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void record_firing(Firing& firing, const std::vector<char>& inserted, bool stored, RunReport& rep) {
    for (size_t r = 0; r < firing.rows.size(); ++r) {
        TriggerCounts& counts = firing.counts[firing.row_trigger[r]];
        const std::string& status = firing.rows[r].status;
        if (inserted[r]) {
            rep.actions_enqueued += status == "pending";
            if (!stored) rep.would_enqueue.push_back(std::move(firing.rows[r]));
            continue;
        }
        ++counts.duplicates;
        --(status == "pending"   ? counts.enqueued
           : status == "holdout" ? counts.held_out
                                 : counts.capped);
    }
    rep.triggers = std::move(firing.counts);
}

std::string retyped_keys_message(const Transitions& moves, int64_t since_run,
                                 const std::string& key_column, bool stored) {
    const std::string n = std::to_string(moves.retyped);
    return "the customer keys changed kind since run " + std::to_string(since_run) + ": " + n +
           (moves.retyped == 1 ? " customer new to the base has"
                               : " customers new to the base have") +
           " the key of a customer who left, written as the other kind (" + moves.retyped_example +
           "; an integer key and a text key are different customers). The run would close the "
           "stays of those who left and take them as new customers, and their triggers would "
           "fire again" +
           std::string(stored ? "; nothing was stored" : "") +
           ". Store the keys as they were (for example "
           "CAST(" +
           key_column + " AS " + (moves.retyped_as_text ? "INTEGER" : "TEXT") +
           ")), or pass --allow-retyped-keys to run them as new customers";
}

std::optional<std::string> retyped_keys_refusal(SQLite::Database& state, const CompiledRules& rules,
                                                const std::vector<MembershipRow>& membership) {
    const std::string& ruleset = rules.rules.ruleset;
    if (!state.tableExists("strata_runs")) return std::nullopt;
    StoreError error;
    const std::optional<RunRecord> latest = find_run(state, ruleset, std::nullopt, error);
    if (!latest) return std::nullopt;
    // A key can change kind only between an integer and a text: without placed keys of one
    // kind and open stays of the other, none has, and the stays need not be read (a base of
    // integer keys, the usual one). The stays' keys are in SQLite's order, numbers before
    // texts, so each kind's presence is one seek.
    bool placed_integer = false, placed_text = false;
    for (const MembershipRow& row : membership) {
        (std::holds_alternative<int64_t>(row.key) ? placed_integer : placed_text) = true;
        if (placed_integer && placed_text) break;
    }
    const auto id = state_common::ruleset_id(state, ruleset);
    if (!id) return std::nullopt;
    const auto stays_hold = [&](const char* kind_test) {
        SQLite::Statement q(state, std::string("SELECT 1 FROM strata_open_stays WHERE ruleset = ? "
                                               "AND customer_key ") +
                                       kind_test + " LIMIT 1");
        q.bind(1, *id);
        return q.executeStep();
    };
    // State in the layout before open stays were a row per customer (strata_stays a table,
    // which a stored run moves over first) has no strata_open_stays to seek in: its open stays
    // are read whole, as that run reads them.
    if (stay_rows::open_stays_by_customer(state) && !(placed_integer && stays_hold(">= ''")) &&
        !(placed_text && stays_hold("< ''")))
        return std::nullopt;
    StayDiff diff(load_open_placements(state, ruleset), {});
    StayChanges changes;
    diff.add(membership.data(), membership.size(), changes);
    diff.finish(changes);
    if (diff.transitions().retyped == 0) return std::nullopt;
    return retyped_keys_message(diff.transitions(), latest->run_id, rules.rules.key, false);
}

}  // namespace strata
