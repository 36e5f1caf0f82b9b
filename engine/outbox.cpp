#include "engine/outbox.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

namespace strata {

std::string idempotency_key(const std::string& ruleset, const std::string& trigger_id,
                            const Value& customer_key, const std::string& as_of, int action) {
    // Lengths first: a ruleset or key holding the separator cannot collide with another.
    const std::string key = std::holds_alternative<int64_t>(customer_key)
                                ? "i" + std::to_string(std::get<int64_t>(customer_key))
                                : "t" + std::get<Str>(customer_key).str();
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

namespace {

// The record a sender reads, built by SQLite: payload as JSON (a payload that is not JSON, which
// enqueue's contract rules out, stays a string rather than failing the whole claim).
constexpr const char* kRecordJson =
    "json_object('id', id, 'idempotency_key', idempotency_key, 'ruleset', ruleset, "
    "'version', version, 'trigger', trigger_id, 'customer_key', customer_key, 'type', type, "
    "'payload', CASE WHEN json_valid(payload) THEN json(payload) ELSE payload END, "
    "'run_id', run_id, 'as_of', as_of, 'attempt', attempt";
constexpr const char* kListedJson =
    ", 'status', status, 'consumer', consumer, 'lease_until', lease_until, 'reason', reason)";
constexpr const char* kColumns =
    "id, idempotency_key, ruleset, version, trigger_id, customer_key, action, type, payload, "
    "run_id, as_of, status, attempt, consumer, lease_until, reason, ";

std::optional<std::string> optional_text(const SQLite::Column& c) {
    if (c.isNull()) return std::nullopt;
    return c.getString();
}

OutboxEntry read_entry(SQLite::Statement& q) {
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
    e.json = q.getColumn(16).getString();
    return e;
}

// Each id's status and attempt count, or nullopt for an unknown id.
std::optional<std::pair<std::string, int64_t>> status_of(SQLite::Statement& q, int64_t id) {
    q.reset();
    q.bind(1, id);
    if (!q.executeStep()) return std::nullopt;
    return std::pair{q.getColumn(0).getString(), q.getColumn(1).getInt64()};
}

}  // namespace

std::vector<OutboxEntry> list_outbox(SQLite::Database& state, const OutboxFilter& filter) {
    std::string sql = std::string("SELECT ") + kColumns + kRecordJson + kListedJson +
                      " FROM strata_outbox WHERE (?1 IS NULL OR status = ?1) "
                      "AND (?2 IS NULL OR trigger_id = ?2)";
    if (!filter.customer_keys.empty()) {
        // Naming the rulesets lets SQLite find the customers by the (ruleset, customer_key)
        // index instead of reading every row.
        sql += filter.ruleset ? " AND ruleset = ?3"
                              : " AND (?3 IS NULL) AND ruleset IN (SELECT name FROM "
                                "strata_rulesets)";
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
        rows.push_back(read_entry(q));
    return rows;
}

ClaimResult claim_outbox(SQLite::Database& state, const ClaimRequest& r) {
    SQLite::Transaction tx(state, SQLite::TransactionBehavior::IMMEDIATE);
    ClaimResult result;
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
    SQLite::Statement read(state, std::string("SELECT ") + kColumns + kRecordJson +
                                      ") FROM strata_outbox WHERE id = ?");
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
        result.claimed.push_back(read_entry(read));
    }
    tx.commit();
    return result;
}

bool outbox_was_claimed(const std::string& status, int64_t attempt) {
    return attempt > 0 && status != "holdout" && status != "capped";
}

namespace {

// What ack and fail share: one IMMEDIATE transaction, each id's status and attempt read, and
// `change` called on those found; it sets c.after and writes the row when it applies.
template <typename Change>
std::vector<OutboxChange> change_each(SQLite::Database& state, const std::vector<int64_t>& ids,
                                      Change change) {
    SQLite::Transaction tx(state, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement get(state, "SELECT status, attempt FROM strata_outbox WHERE id = ?");
    std::vector<OutboxChange> changes;
    for (const int64_t id : ids) {
        OutboxChange c{id, std::nullopt, "", 0};
        if (auto found = status_of(get, id)) {
            c.before = found->first;
            c.after = found->first;
            c.attempt = found->second;
            if (outbox_was_claimed(*c.before, c.attempt)) change(c);
        }
        changes.push_back(std::move(c));
    }
    tx.commit();
    return changes;
}

}  // namespace

std::vector<OutboxChange> ack_outbox(SQLite::Database& state, const std::vector<int64_t>& ids,
                                     const std::string& now) {
    SQLite::Statement done(state,
                           "UPDATE strata_outbox SET status = 'done', lease_until = NULL, "
                           "updated_at = ? WHERE id = ?");
    return change_each(state, ids, [&](OutboxChange& c) {
        if (*c.before == "done") return;
        done.reset();
        done.bind(1, now);
        done.bind(2, c.id);
        done.exec();
        c.after = "done";
    });
}

std::vector<OutboxChange> fail_outbox(SQLite::Database& state, const std::vector<int64_t>& ids,
                                      const std::string& reason, int64_t max_attempts,
                                      const std::string& now) {
    // A row going back to pending drops its consumer; a dead one keeps the last.
    SQLite::Statement failed(
        state,
        "UPDATE strata_outbox SET status = ?1, reason = ?2, lease_until = NULL, "
        "consumer = CASE WHEN ?1 = 'dead' THEN consumer END, updated_at = ?3 WHERE id = ?4");
    return change_each(state, ids, [&](OutboxChange& c) {
        if (*c.before != "in_flight" && *c.before != "pending") return;
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
