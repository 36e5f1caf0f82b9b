#include "state/postgres_triggers.hpp"

#include <charconv>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include "engine/numeric.hpp"
#include "engine/run_parts.hpp"
#include "state/warehouse_firing.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::Done;
using warehouse::Outcome;
using warehouse::PostgresConnection;
using warehouse::ResultTable;
using warehouse::WarehouseError;

namespace {

// How many outbox rows one INSERT carries (14 bound values each).
constexpr size_t kInsertBatch = 500;

}  // namespace

std::unordered_set<std::string> PostgresHistory::recent_firings(const std::string& ruleset,
                                                                const std::string& trigger_id,
                                                                const std::string& from,
                                                                const std::string& to) {
    std::unordered_set<std::string> out;
    auto rows = db_.exec(
        "SELECT DISTINCT customer_key, key_is_integer FROM strata_outbox WHERE ruleset = $1 "
        "AND trigger_id = $2 AND status <> 'capped' AND as_of > $3 AND as_of <= $4",
        {ruleset, trigger_id, from, to});
    if (!keep(rows)) return out;
    for (const auto& row : rows.value().rows)
        out.insert(name(row));
    return out;
}

std::unordered_map<std::string, int64_t> PostgresHistory::firings_per_customer(
    const std::string& ruleset, const std::string& from, const std::string& to) {
    std::unordered_map<std::string, int64_t> out;
    auto rows = db_.exec(
        "SELECT customer_key, key_is_integer, count(*) FROM strata_outbox WHERE ruleset = $1 "
        "AND action = 0 AND status <> 'capped' AND as_of > $2 AND as_of <= $3 "
        "GROUP BY customer_key, key_is_integer",
        {ruleset, from, to});
    if (!keep(rows)) return out;
    for (const auto& row : rows.value().rows)
        out[name(row)] = std::strtoll(row[2].value_or("0").c_str(), nullptr, 10);
    return out;
}

bool PostgresHistory::keep(const Outcome<ResultTable>& rows) {
    if (!rows && !error) error = rows.error();
    return rows.ok();
}

std::string PostgresHistory::name(const warehouse::Row& row) {
    return (row[1].value_or("") == "t" ? "i" : "t") + row[0].value_or("");
}

Outcome<std::vector<char>> enqueue_in_postgres(PostgresConnection& db,
                                               const std::vector<OutboxRow>& rows, bool store,
                                               bool integer_keys) {
    std::vector<char> fresh(rows.size(), 0);
    const std::string now = utc_now();
    for (size_t from = 0; from < rows.size(); from += kInsertBatch) {
        const size_t to = std::min(rows.size(), from + kInsertBatch);
        std::vector<Cell> params;
        std::string sql;
        if (store) {
            sql =
                "INSERT INTO strata_outbox (idempotency_key, ruleset, version, trigger_id, "
                "customer_key, key_is_integer, action, type, payload, run_id, as_of, status, "
                "created_at, updated_at) VALUES ";
            for (size_t r = from; r < to; ++r) {
                const OutboxRow& o = rows[r];
                const size_t at = params.size();
                auto p = [&](size_t k, const char* cast = "") {
                    return "$" + std::to_string(at + k) + cast;
                };
                sql += std::string(r == from ? "" : ", ") + "(" + p(1) + ", " + p(2) + ", " +
                       p(3, "::bigint") + ", " + p(4) + ", " + p(5) + ", " + p(6, "::boolean") +
                       ", " + p(7, "::integer") + ", " + p(8) + ", " + p(9) + ", " +
                       p(10, "::bigint") + ", " + p(11) + ", " + p(12) + ", " + p(13) + ", " +
                       p(13) + ")";
                params.insert(params.end(),
                              {o.idempotency_key, o.ruleset, std::to_string(o.version),
                               o.trigger_id, key_cell(o.customer_key),
                               integer_keys ? "true" : "false", std::to_string(o.action), o.type,
                               o.payload, std::to_string(o.run_id), o.as_of, o.status, now});
            }
            sql += " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key";
        } else {
            sql = "SELECT idempotency_key FROM strata_outbox WHERE idempotency_key IN (";
            for (size_t r = from; r < to; ++r) {
                sql += std::string(r == from ? "" : ", ") + "$" + std::to_string(params.size() + 1);
                params.push_back(rows[r].idempotency_key);
            }
            sql += ")";
        }
        auto result = db.exec(sql, params);
        if (!result) return result.error();
        std::unordered_set<std::string> keys;
        for (const auto& row : result.value().rows)
            keys.insert(row[0].value_or(""));
        for (size_t r = from; r < to; ++r)
            fresh[r] = store == (keys.count(rows[r].idempotency_key) > 0);
    }
    return fresh;
}

Outcome<std::optional<ChangedActionPlace>> changed_action_place_in_postgres(
    PostgresConnection& db, const std::string& ruleset, const std::string& as_of,
    std::vector<ChangedActionPlace> places) {
    for (ChangedActionPlace& place : places) {
        auto rows = db.exec(
            "SELECT type, version FROM strata_outbox WHERE ruleset = $1 AND as_of = $2 AND "
            "trigger_id = $3 AND action = $4::integer AND type <> $5 LIMIT 1",
            {ruleset, as_of, place.trigger_id, std::to_string(place.action), place.new_type});
        if (!rows) return rows.error();
        if (rows.value().rows.empty()) continue;
        place.stored_type = rows.value().rows[0][0].value_or("");
        place.stored_version = std::stoll(rows.value().rows[0][1].value_or("0"));
        return std::optional<ChangedActionPlace>(place);
    }
    return std::optional<ChangedActionPlace>();
}

Outcome<std::optional<std::string>> fire_in_postgres(PostgresConnection& db,
                                                     const PostgresFiringInput& in,
                                                     RunReport& rep) {
    const CompiledRules& rules = *in.rules;
    if (rules.triggers.empty()) return std::optional<std::string>();
    const FiringCause cause = firing_cause(*in.previous, rules.rules.version);
    rep.firing = cause == FiringCause::Baseline     ? "initial"
                 : cause == FiringCause::RuleChange ? "rules"
                                                    : "data";
    const bool anything_fires = cause != FiringCause::Baseline || in.fire_initial;
    const std::string flag = in.integer_keys ? "true" : "false";
    const std::string key_order =
        in.integer_keys ? "p.customer_key" : "p.customer_key COLLATE \"C\"";

    // The customers a trigger could fire for: those whose stays change, and those inside a
    // segment an `in` trigger names. fire_triggers decides which it does fire for.
    std::vector<Cell> params = {in.ruleset_id};
    std::string could_fire = "false";
    for (const CompiledTrigger& t : rules.triggers) {
        if (t.on.event != TriggerEvent::In) continue;
        const SegmentRef& x = t.on.segment;
        const std::string at = "$" + std::to_string(params.size() + 1);
        switch (x.kind) {
            case SegmentRef::Kind::Any:
                could_fire += " OR true";
                break;
            case SegmentRef::Kind::None:
                break;
            case SegmentRef::Kind::General:
                params.push_back(x.path);
                could_fire += " OR p.segment = " + at;
                break;
            case SegmentRef::Kind::Tactical:
                params.push_back(x.path);
                could_fire +=
                    " OR position(';' || " + at + " || ';' in ';' || p.tactical || ';') > 0";
                break;
        }
    }
    const std::string open_stays =
        "SELECT customer_key, segment, level = 0 AS general FROM strata_stays WHERE ruleset = "
        "$1::bigint AND exited_run = 0 AND key_is_integer = " +
        flag;
    const std::string new_stays = "SELECT customer_key, segment, level = 0 FROM strata_new_stays";
    std::string sql =
        "WITH open AS (" + open_stays + "), changed AS (SELECT DISTINCT customer_key FROM ((" +
        new_stays + " EXCEPT SELECT * FROM open) UNION ALL (SELECT * FROM open EXCEPT " +
        new_stays +
        ")) d), before AS (SELECT s.customer_key, max(g.name) FILTER (WHERE s.level = 0) AS "
        "general, string_agg(g.name, ';' ORDER BY s.level) FILTER (WHERE s.level > 0) AS "
        "tactical FROM strata_stays s JOIN strata_segments g ON g.ruleset = s.ruleset AND "
        "g.code = s.segment WHERE s.ruleset = $1::bigint AND s.exited_run = 0 AND "
        "s.key_is_integer = " +
        flag +
        " GROUP BY s.customer_key) "
        "SELECT p.customer_key::text, p.segment, p.tactical, b.general, b.tactical";
    for (size_t i = 0; i < in.columns->conditions.size(); ++i)
        sql += ", p.strata_cond_" + std::to_string(i);
    for (size_t i = 0; i < in.columns->values.size(); ++i)
        sql += ", p.strata_expr_" + std::to_string(i);
    sql +=
        " FROM strata_placed p LEFT JOIN before b ON b.customer_key = p.customer_key::text "
        "WHERE p.customer_key::text IN (SELECT customer_key FROM changed) OR (" +
        could_fire + ") ORDER BY " + key_order;
    ResultTable candidates;
    if (anything_fires) {
        auto rows = db.exec(sql, params);
        if (!rows) return rows.error();
        candidates = std::move(rows.value());
    }

    PostgresHistory history(db);
    FiringInput fin;
    fin.cause = cause;
    fin.fire_initial = in.fire_initial;
    fin.fire_on_rule_change = in.fire_on_rule_change;
    fin.as_of = in.as_of;
    fin.run_id = in.run_id;
    fin.other_history = &history;
    Firing firing = fire_candidates(rules, *in.columns, candidates.rows, in.integer_keys, fin);
    if (history.error) return *history.error;
    auto fresh = enqueue_in_postgres(db, firing.rows, in.run_id != 0, in.integer_keys);
    if (!fresh) return fresh.error();
    // A key found in the outbox must name the same action it named when it was enqueued.
    if (auto places = places_enqueued_before(firing.rows, fresh.value()); !places.empty()) {
        const std::string& as_of = firing.rows.front().as_of;
        auto changed =
            changed_action_place_in_postgres(db, rules.rules.ruleset, as_of, std::move(places));
        if (!changed) return changed.error();
        if (changed.value())
            return std::optional<std::string>(
                changed_action_message(*changed.value(), as_of, rules.rules.version));
    }
    record_firing(firing, fresh.value(), in.run_id != 0, rep);
    return std::optional<std::string>();
}

}  // namespace strata::state
