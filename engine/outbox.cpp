#include "engine/outbox.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "dsl/diagnostics.hpp"
#include "text/encoding.hpp"

namespace strata {

std::string idempotency_key(const std::string& ruleset, const std::string& trigger_id,
                            const Value& customer_key, const std::string& as_of, int action) {
    // Lengths first: a ruleset or key holding the separator cannot collide with another.
    // A text key that is not UTF-8 (a legacy export's Latin-1 'm\xfcller') is spelt in hex
    // under its own letter: a JSON reader of the outbox would see each such byte as U+FFFD,
    // and two customers as one.
    const std::string key = [&] {
        if (std::holds_alternative<int64_t>(customer_key))
            return "i" + std::to_string(std::get<int64_t>(customer_key));
        const std::string_view spelt = std::get<Str>(customer_key).str();
        if (text::is_valid_utf8(spelt)) return "t" + std::string(spelt);
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex = "x";
        for (const char c : spelt) {
            const auto byte = static_cast<unsigned char>(c);
            hex += kHex[byte >> 4];
            hex += kHex[byte & 15];
        }
        return hex;
    }();
    std::string out;
    for (const std::string* part : {&ruleset, &trigger_id, &key, &as_of})
        out += std::to_string(part->size()) + ":" + *part + "/";
    return out + std::to_string(action);
}

size_t enqueue(SQLite::Database& state, const std::vector<OutboxRow>& rows, const std::string& now,
               std::vector<char>* inserted) {
    if (inserted) inserted->assign(rows.size(), 0);
    SQLite::Statement insert(
        state,
        "INSERT OR IGNORE INTO strata_outbox (idempotency_key, ruleset, version, trigger_id, "
        "customer_key, action, type, payload, run_id, as_of, status, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    size_t added = 0;
    for (const OutboxRow& r : rows) {
        insert.bind(1, r.idempotency_key);
        insert.bind(2, r.ruleset);
        insert.bind(3, r.version);
        insert.bind(4, r.trigger_id);
        if (const auto* i = std::get_if<int64_t>(&r.customer_key))
            insert.bind(5, *i);
        else
            insert.bind(5, std::get<Str>(r.customer_key).str());
        insert.bind(6, r.action);
        insert.bind(7, r.type);
        insert.bind(8, r.payload);
        insert.bind(9, r.run_id);
        insert.bind(10, r.as_of);
        insert.bind(11, r.status);
        insert.bind(12, now);
        insert.bind(13, now);
        const int changed = insert.exec();
        added += static_cast<size_t>(changed);
        if (inserted) (*inserted)[static_cast<size_t>(&r - rows.data())] = changed > 0;
        insert.reset();
    }
    return added;
}

EnqueuedActions::EnqueuedActions(SQLite::Database& state)
    : query_(state,
             "SELECT 1 FROM strata_outbox WHERE ruleset = ? AND as_of = ? AND trigger_id = ? "
             "AND customer_key = ? AND action = ?") {}

bool EnqueuedActions::contains(const OutboxRow& row) {
    query_.reset();
    query_.bind(1, row.ruleset);
    query_.bind(2, row.as_of);
    query_.bind(3, row.trigger_id);
    if (const auto* i = std::get_if<int64_t>(&row.customer_key))
        query_.bind(4, *i);
    else
        query_.bind(4, std::get<Str>(row.customer_key).str());
    query_.bind(5, row.action);
    return query_.executeStep();
}

std::vector<ChangedActionPlace> places_enqueued_before(const std::vector<OutboxRow>& rows,
                                                       const std::vector<char>& fresh) {
    std::vector<ChangedActionPlace> places;
    for (size_t r = 0; r < rows.size(); ++r) {
        if (fresh[r]) continue;
        const OutboxRow& row = rows[r];
        const bool seen = std::any_of(places.begin(), places.end(), [&](const auto& p) {
            return p.trigger_id == row.trigger_id && p.action == row.action;
        });
        if (!seen) places.push_back({row.trigger_id, row.action, row.type, {}, 0});
    }
    return places;
}

std::optional<ChangedActionPlace> changed_action_place(SQLite::Database& state,
                                                       const std::string& ruleset,
                                                       const std::string& as_of,
                                                       std::vector<ChangedActionPlace> places) {
    SQLite::Statement query(state,
                            "SELECT type, version FROM strata_outbox WHERE ruleset = ? AND "
                            "as_of = ? AND trigger_id = ? AND action = ? AND type <> ? LIMIT 1");
    for (ChangedActionPlace& place : places) {
        query.reset();
        query.bind(1, ruleset);
        query.bind(2, as_of);
        query.bind(3, place.trigger_id);
        query.bind(4, place.action);
        query.bind(5, place.new_type);
        if (query.executeStep()) {
            place.stored_type = query.getColumn(0).getString();
            place.stored_version = query.getColumn(1).getInt64();
            return place;
        }
    }
    return std::nullopt;
}

std::string changed_action_message(const ChangedActionPlace& place, const std::string& as_of,
                                   int64_t version) {
    // Counted from 0, as the outbox's `action` column and the idempotency key count.
    const std::string n = std::to_string(place.action);
    return "trigger '" + place.trigger_id + "': the outbox already holds its action " + n +
           " (counted from 0) at as_of " + as_of + " as '" + place.stored_type +
           "' (enqueued by version " + std::to_string(place.stored_version) + "), and version " +
           std::to_string(version) + " has a '" + place.new_type +
           "' there. An action's idempotency key is its place in "
           "the trigger, so this run would take one action for the other: the new one never "
           "enqueued, and the one enqueued before enqueued again at its new place. Nothing was "
           "stored. Run the changed rules at a later as_of, keep the earlier actions in their "
           "places (add new ones at the end), or give the changed trigger a new id";
}

namespace {

constexpr const char* kColumns =
    "id, idempotency_key, ruleset, version, trigger_id, customer_key, action, type, payload, "
    "run_id, as_of, status, attempt, consumer, lease_until, reason";

std::optional<std::string> optional_text(const SQLite::Column& c) {
    if (c.isNull()) return std::nullopt;
    return c.getString();
}

OutboxEntry read_entry(SQLite::Statement& q, bool listed) {
    OutboxEntry e;
    e.id = q.getColumn(0).getInt64();
    e.row.idempotency_key = q.getColumn(1).getString();
    e.row.ruleset = q.getColumn(2).getString();
    e.row.version = q.getColumn(3).getInt64();
    e.row.trigger_id = q.getColumn(4).getString();
    const SQLite::Column key = q.getColumn(5);
    if (key.isInteger())
        e.row.customer_key = key.getInt64();
    else
        e.row.customer_key = intern(key.getString());
    e.row.action = q.getColumn(6).getInt();
    e.row.type = q.getColumn(7).getString();
    e.row.payload = q.getColumn(8).getString();
    e.row.run_id = q.getColumn(9).getInt64();
    e.row.as_of = q.getColumn(10).getString();
    e.row.status = q.getColumn(11).getString();
    e.attempt = q.getColumn(12).getInt64();
    e.consumer = optional_text(q.getColumn(13));
    e.lease_until = optional_text(q.getColumn(14));
    e.reason = optional_text(q.getColumn(15));
    e.json = outbox_record_json(e, listed);
    return e;
}

}  // namespace

std::vector<OutboxEntry> list_outbox(SQLite::Database& state, const OutboxFilter& filter) {
    std::string sql = std::string("SELECT ") + kColumns +
                      " FROM strata_outbox WHERE (?1 IS NULL OR status = ?1) "
                      "AND (?2 IS NULL OR trigger_id = ?2)";
    if (!filter.customer_keys.empty()) {
        // Naming the rulesets lets SQLite find the customers by the (ruleset, customer_key)
        // index instead of reading every row. Without one, the rulesets the outbox holds rows
        // of, each found by one step down that index (a run inside ClickHouse writes its
        // actions to a state file that has no run of its ruleset).
        if (!filter.ruleset)
            sql =
                "WITH RECURSIVE outbox_rulesets(name) AS (SELECT min(ruleset) FROM strata_outbox "
                "UNION ALL SELECT (SELECT min(ruleset) FROM strata_outbox WHERE ruleset > name) "
                "FROM outbox_rulesets WHERE name IS NOT NULL) " +
                sql;
        sql += filter.ruleset ? " AND ruleset = ?3"
                              : " AND (?3 IS NULL) AND ruleset IN (SELECT name FROM "
                                "outbox_rulesets WHERE name IS NOT NULL)";
        sql += " AND customer_key IN (";
        for (size_t i = 0; i < filter.customer_keys.size(); ++i)
            sql += i ? ",?" : "?";
        sql += ")";
    } else {
        sql += " AND (?3 IS NULL OR ruleset = ?3)";
    }
    SQLite::Statement q(state, sql + " ORDER BY id");
    if (filter.status) q.bind(1, *filter.status);
    if (filter.trigger_id) q.bind(2, *filter.trigger_id);
    if (filter.ruleset) q.bind(3, *filter.ruleset);
    int next = 4;
    for (const Value& key : filter.customer_keys) {
        if (const auto* i = std::get_if<int64_t>(&key))
            q.bind(next++, *i);
        else
            q.bind(next++, std::get<Str>(key).str());
    }
    std::vector<OutboxEntry> rows;
    while (q.executeStep())
        rows.push_back(read_entry(q, true));
    return rows;
}

std::string utc_timestamp(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

ClaimRequest claim_at_clock(const ClaimRequest& request) {
    ClaimRequest r = request;
    if (r.lease_seconds > 0) {
        const std::time_t t = std::time(nullptr);
        r.now = utc_timestamp(t);
        r.lease_until = utc_timestamp(t + r.lease_seconds);
    }
    return r;
}

ClaimResult claim_outbox(SQLite::Database& state, const ClaimRequest& request) {
    SQLite::Transaction tx(state, SQLite::TransactionBehavior::IMMEDIATE);
    const ClaimRequest r = claim_at_clock(request);  // the lock is held from here
    ClaimResult result;
    result.now = r.now;
    result.lease_until = r.lease_until;
    // Expired leases first, so that their rows are claimable again in this same claim.
    SQLite::Statement dead(state,
                           "UPDATE strata_outbox SET status = 'dead', lease_until = NULL, "
                           "reason = 'lease of ' || consumer || ' expired at ' || lease_until, "
                           "updated_at = ?1 WHERE status = 'in_flight' AND lease_until < ?1 "
                           "AND attempt >= ?2");
    dead.bind(1, r.now);
    dead.bind(2, r.max_attempts);
    result.dead_lettered = static_cast<size_t>(dead.exec());
    SQLite::Statement release(
        state,
        "UPDATE strata_outbox SET status = 'pending', consumer = NULL, lease_until = NULL, "
        "reason = 'lease of ' || consumer || ' expired at ' || lease_until, updated_at = ?1 "
        "WHERE status = 'in_flight' AND lease_until < ?1");
    release.bind(1, r.now);
    result.leases_expired = result.dead_lettered + static_cast<size_t>(release.exec());

    std::vector<int64_t> ids;
    SQLite::Statement pending(
        state, "SELECT id FROM strata_outbox WHERE status = 'pending' ORDER BY id LIMIT ?");
    pending.bind(1, r.limit);
    while (pending.executeStep())
        ids.push_back(pending.getColumn(0).getInt64());
    SQLite::Statement take(
        state,
        "UPDATE strata_outbox SET status = 'in_flight', consumer = ?2, "
        "lease_until = ?3, attempt = attempt + 1, updated_at = ?4 WHERE id = ?1");
    SQLite::Statement read(state,
                           std::string("SELECT ") + kColumns + " FROM strata_outbox WHERE id = ?");
    for (const int64_t id : ids) {
        take.reset();
        take.bind(1, id);
        take.bind(2, r.consumer);
        take.bind(3, r.lease_until);
        take.bind(4, r.now);
        take.exec();
        read.reset();
        read.bind(1, id);
        read.executeStep();
        result.claimed.push_back(read_entry(read, false));
    }
    tx.commit();
    return result;
}

int64_t unclaim_outbox(SQLite::Database& state, const ClaimRequest& request,
                       const std::vector<int64_t>& ids) {
    SQLite::Transaction tx(state, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement back(state,
                           "UPDATE strata_outbox SET status = 'pending', consumer = NULL, "
                           "lease_until = NULL, attempt = attempt - 1, updated_at = ?4 "
                           "WHERE id = ?1 AND status = 'in_flight' AND consumer = ?2 "
                           "AND lease_until = ?3");
    int64_t undone = 0;
    for (const int64_t id : ids) {
        back.reset();
        back.bind(1, id);
        back.bind(2, request.consumer);
        back.bind(3, request.lease_until);
        back.bind(4, request.now);
        undone += back.exec();
    }
    tx.commit();
    return undone;
}

bool outbox_was_claimed(const std::string& status, int64_t attempt) {
    return attempt > 0 && status != "holdout" && status != "capped";
}

bool held_by_another(const OutboxChange& c, const std::optional<std::string>& consumer) {
    return consumer && c.before == "in_flight" && c.holder != consumer;
}

bool lost_lease_of(const OutboxChange& c, const std::string& consumer) {
    return c.reason && c.reason->starts_with("lease of " + consumer + " expired at ");
}

namespace {

// What ack and fail share: one IMMEDIATE transaction, each id's status and attempt read, and
// `change` called on those found; it sets c.after and writes the row when it applies.
template <typename Change>
std::vector<OutboxChange> change_each(SQLite::Database& state, const std::vector<int64_t>& ids,
                                      Change change) {
    SQLite::Transaction tx(state, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement get(
        state, "SELECT status, attempt, consumer, reason FROM strata_outbox WHERE id = ?");
    std::vector<OutboxChange> changes;
    for (const int64_t id : ids) {
        OutboxChange c{id, std::nullopt, "", 0, std::nullopt, std::nullopt};
        get.reset();
        get.bind(1, id);
        if (get.executeStep()) {
            c.before = get.getColumn(0).getString();
            c.after = *c.before;
            c.attempt = get.getColumn(1).getInt64();
            if (!get.getColumn(2).isNull()) c.holder = get.getColumn(2).getString();
            if (!get.getColumn(3).isNull()) c.reason = get.getColumn(3).getString();
            get.reset();
            if (outbox_was_claimed(*c.before, c.attempt)) change(c);
        }
        changes.push_back(std::move(c));
    }
    tx.commit();
    return changes;
}

}  // namespace

std::vector<OutboxChange> ack_outbox(SQLite::Database& state, const std::vector<int64_t>& ids,
                                     const std::string& now,
                                     const std::optional<std::string>& consumer) {
    SQLite::Statement done(state,
                           "UPDATE strata_outbox SET status = 'done', lease_until = NULL, "
                           "updated_at = ?1, consumer = coalesce(?3, consumer) WHERE id = ?2");
    return change_each(state, ids, [&](OutboxChange& c) {
        if (*c.before == "done") return;
        done.reset();
        done.bind(1, now);
        done.bind(2, c.id);
        if (consumer) done.bind(3, *consumer);
        done.exec();
        c.after = "done";
    });
}

std::vector<OutboxChange> fail_outbox(SQLite::Database& state, const std::vector<int64_t>& ids,
                                      const std::string& reason, int64_t max_attempts,
                                      const std::string& now,
                                      const std::optional<std::string>& consumer) {
    // A row going back to pending drops its consumer; a dead one keeps the last.
    SQLite::Statement failed(
        state,
        "UPDATE strata_outbox SET status = ?1, reason = ?2, lease_until = NULL, "
        "consumer = CASE WHEN ?1 = 'dead' THEN consumer END, updated_at = ?3 WHERE id = ?4");
    return change_each(state, ids, [&](OutboxChange& c) {
        if (*c.before != "in_flight" && *c.before != "pending") return;
        if (held_by_another(c, consumer)) return;
        c.after = c.attempt >= max_attempts ? "dead" : "pending";
        failed.reset();
        failed.bind(1, c.after);
        failed.bind(2, reason);
        failed.bind(3, now);
        failed.bind(4, c.id);
        failed.exec();
    });
}

}  // namespace strata
