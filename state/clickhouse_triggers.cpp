#include "state/clickhouse_triggers.hpp"

#include <SQLiteCpp/Transaction.h>

#include "engine/outbox.hpp"
#include "engine/run_parts.hpp"
#include "state/postgres_state.hpp"
#include "state/postgres_triggers.hpp"
#include "warehouse/clickhouse_text.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

namespace {

// Fires with the history of, and writes the actions to, a SQLite state file.
bool fire_into_sqlite(const std::string& path, const CompiledRules& rules,
                      const TriggerColumns& columns, const warehouse::ResultTable& candidates,
                      FiringInput base, bool store, RunReport& rep, ClickHouseFiringError& error) {
    StoreError open_error;
    auto db = store ? open_state(path, open_error) : open_read_only(path, open_error);
    if (!db && store) {
        error.message = open_error.message;
        return false;
    }
    try {
        std::unique_ptr<FiringHistory> history = db ? sqlite_firing_history(*db) : nullptr;
        base.other_history = history.get();
        Firing firing = fire_candidates(rules, columns, candidates.rows, true, base);
        std::vector<char> fresh;
        std::optional<SQLite::Transaction> transaction;
        if (store) {
            transaction.emplace(*db);
            enqueue(*db, firing.rows, utc_now(), &fresh);
        } else {
            fresh = actions_not_enqueued(db.get(), firing.rows);
        }
        // A key found in the outbox must name the same action it named when it was enqueued.
        if (auto places = places_enqueued_before(firing.rows, fresh); !places.empty()) {
            const std::string& as_of = firing.rows.front().as_of;
            if (auto changed =
                    changed_action_place(*db, rules.rules.ruleset, as_of, std::move(places))) {
                error.message = changed_action_message(*changed, as_of, rules.rules.version);
                error.rule_problem = true;
                return false;
            }
        }
        if (transaction) transaction->commit();
        record_firing(firing, fresh, store, rep);
    } catch (const SQLite::Exception& e) {
        error.message =
            "cannot write the actions to '" + path + "' (table 'strata_outbox'): " + e.what();
        return false;
    }
    return true;
}

// The same with a PostgreSQL state.
bool fire_into_postgres(const warehouse::PostgresUrl& url, const CompiledRules& rules,
                        const TriggerColumns& columns, const warehouse::ResultTable& candidates,
                        FiringInput base, bool store, RunReport& rep,
                        ClickHouseFiringError& error) {
    auto connection = warehouse::PostgresConnection::connect(url);
    if (!connection) {
        error.message = connection.error().describe();
        return false;
    }
    auto& db = connection.value();
    auto transaction = warehouse::PostgresTransaction::begin(db);
    if (!transaction) {
        error.message = transaction.error().describe();
        return false;
    }
    if (auto made = ensure_postgres_state(db); !made) {
        error.message = made.error().describe();
        return false;
    }
    PostgresHistory history(db);
    base.other_history = &history;
    Firing firing = fire_candidates(rules, columns, candidates.rows, true, base);
    if (history.error) {
        error.message = history.error->describe();
        return false;
    }
    auto fresh = enqueue_in_postgres(db, firing.rows, store, true);
    if (!fresh) {
        error.message = fresh.error().describe();
        return false;
    }
    // A key found in the outbox must name the same action it named when it was enqueued.
    if (auto places = places_enqueued_before(firing.rows, fresh.value()); !places.empty()) {
        const std::string& as_of = firing.rows.front().as_of;
        auto changed =
            changed_action_place_in_postgres(db, rules.rules.ruleset, as_of, std::move(places));
        if (!changed) {
            error.message = changed.error().describe();
            return false;
        }
        if (changed.value()) {
            error.message = changed_action_message(*changed.value(), as_of, rules.rules.version);
            error.rule_problem = true;
            return false;
        }
    }
    if (auto done = transaction.value().commit(); !done) {
        error.message = done.error().describe();
        error.may_be_stored = true;  // the server may have committed before the answer was lost
        return false;
    }
    record_firing(firing, fresh.value(), store, rep);
    return true;
}

}  // namespace

bool fire_in_clickhouse(warehouse::ClickHouseClient& client, const ClickHouseFiringInput& in,
                        RunReport& rep, ClickHouseFiringError& error) {
    const CompiledRules& rules = *in.rules;
    if (rules.triggers.empty()) return true;
    const FiringCause cause = firing_cause(*in.previous, rules.rules.version);
    rep.firing = cause == FiringCause::Baseline     ? "initial"
                 : cause == FiringCause::RuleChange ? "rules"
                                                    : "data";
    const bool anything_fires = cause != FiringCause::Baseline || in.fire_initial;
    // The customers a trigger could fire for: those whose stays change, and those inside a
    // segment an `in` trigger names.
    std::string could_fire = "0";
    for (const CompiledTrigger& t : rules.triggers) {
        if (t.on.event != TriggerEvent::In) continue;
        const SegmentRef& x = t.on.segment;
        const std::string name = warehouse::clickhouse_string_literal(x.path);
        switch (x.kind) {
            case SegmentRef::Kind::Any:
                could_fire += " OR 1";
                break;
            case SegmentRef::Kind::None:
                break;
            case SegmentRef::Kind::General:
                could_fire += " OR segment = " + name;
                break;
            case SegmentRef::Kind::Tactical:
                could_fire += " OR has(splitByChar(';', assumeNotNull(tactical)), " + name + ")";
                break;
        }
    }
    std::string sql = "SELECT customer_key, segment, tactical, before_general, before_tactical";
    for (size_t i = 0; i < in.columns->conditions.size(); ++i)
        sql += ", strata_cond_" + std::to_string(i);
    for (size_t i = 0; i < in.columns->values.size(); ++i)
        sql += ", strata_expr_" + std::to_string(i);
    sql += " FROM " + in.placed +
           " ANY LEFT JOIN (SELECT customer_key, nullIf(anyIf(segment, level = 0), '') AS "
           "before_general, arrayStringConcat(arrayMap(x -> x.2, arraySort(groupArrayIf((level, "
           "segment), level > 0))), ';') AS before_tactical FROM (" +
           in.open + ") GROUP BY customer_key) USING customer_key WHERE customer_key IN (" +
           in.changed + ") OR (" + could_fire + ") ORDER BY customer_key";
    warehouse::ResultTable candidates;
    if (anything_fires) {
        auto rows = client.query(sql, {{"join_use_nulls", "1"}});
        if (!rows) {
            error.message = rows.error().describe();
            return false;
        }
        candidates = std::move(rows.value());
    }
    FiringInput base;
    base.cause = cause;
    base.fire_initial = in.fire_initial;
    base.fire_on_rule_change = in.fire_on_rule_change;
    base.as_of = in.as_of;
    base.run_id = in.run_id;
    const bool store = in.run_id != 0;
    std::string url_error;
    auto location = warehouse::parse_database_argument(in.state, url_error);
    if (!location) {
        error.message = url_error;
        return false;
    }
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location))
        return fire_into_postgres(*pg, rules, *in.columns, candidates, base, store, rep, error);
    if (std::holds_alternative<warehouse::ClickHouseUrl>(*location)) {
        error.message =
            "--state takes a SQLite file or a postgresql:// URL: ClickHouse has no "
            "transactions to keep an outbox in";
        return false;
    }
    return fire_into_sqlite(in.state, rules, *in.columns, candidates, base, store, rep, error);
}

}  // namespace strata::state
