#include "state/postgres_outbox.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace strata::state {

using warehouse::Cell;
using warehouse::Done;
using warehouse::Outcome;
using warehouse::PostgresConnection;
using warehouse::PostgresTransaction;
using warehouse::Row;

namespace {

// The columns read_entry reads, in its order; `o.` so that they are unambiguous in an
// UPDATE ... FROM.
constexpr const char* kColumns =
    "o.id, o.idempotency_key, o.ruleset, o.version, o.trigger_id, o.customer_key, "
    "o.key_is_integer, o.action, o.type, o.payload, o.run_id, o.as_of, o.status, o.attempt, "
    "o.consumer, o.lease_until, o.reason";

const std::string& text_of(const Cell& cell) {
    static const std::string empty;
    return cell ? *cell : empty;
}

std::optional<int64_t> exact_integer(const std::string& text) {
    int64_t v = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return v;
}

int64_t integer_of(const Cell& cell) {
    return exact_integer(text_of(cell)).value_or(0);
}

std::optional<std::string> optional_text(const Cell& cell) {
    return cell;
}

OutboxEntry read_entry(const Row& row, bool listed) {
    OutboxEntry e;
    e.id = integer_of(row[0]);
    e.row.idempotency_key = text_of(row[1]);
    e.row.ruleset = text_of(row[2]);
    e.row.version = integer_of(row[3]);
    e.row.trigger_id = text_of(row[4]);
    // An integer key is kept as its decimal text; one that does not read back as an integer
    // (which the writers never store) stays text rather than becoming another customer.
    const std::string& key = text_of(row[5]);
    const auto integer_key = text_of(row[6]) == "t" ? exact_integer(key) : std::nullopt;
    if (integer_key)
        e.row.customer_key = *integer_key;
    else
        e.row.customer_key = intern(key);
    e.row.action = static_cast<int>(integer_of(row[7]));
    e.row.type = text_of(row[8]);
    e.row.payload = text_of(row[9]);
    e.row.run_id = integer_of(row[10]);
    e.row.as_of = text_of(row[11]);
    e.row.status = text_of(row[12]);
    e.attempt = integer_of(row[13]);
    e.consumer = optional_text(row[14]);
    e.lease_until = optional_text(row[15]);
    e.reason = optional_text(row[16]);
    e.json = outbox_record_json(e, listed);
    return e;
}

Outcome<bool> has_outbox(PostgresConnection& db) {
    auto found = db.exec("SELECT to_regclass('strata_outbox') IS NOT NULL");
    if (!found) return found.error();
    return text_of(found.value().rows.at(0).at(0)) == "t";
}

// An array literal of the ids, bound as one bigint[] parameter.
std::string id_array(const std::vector<int64_t>& ids) {
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); ++i)
        out += (i ? "," : "") + std::to_string(ids[i]);
    return out + "}";
}

// What ack and fail share: one transaction that locks the named rows (in id order), reads each
// id's status and attempt count, and calls `change` on those that were claimed; it sets
// c.after and writes the row when it applies. A repeated id sees the status the earlier one
// left.
template <typename Change>
Outcome<std::vector<OutboxChange>> change_each(PostgresConnection& db,
                                               const std::vector<int64_t>& ids, Change change) {
    auto tx = PostgresTransaction::begin(db);
    if (!tx) return tx.error();
    auto exists = has_outbox(db);
    if (!exists) return exists.error();
    struct Found {
        std::string status;
        int64_t attempt = 0;
        std::optional<std::string> consumer;
        std::optional<std::string> reason;
    };
    std::map<int64_t, Found> found;
    if (exists.value()) {
        auto rows = db.exec(
            "SELECT id, status, attempt, consumer, reason FROM strata_outbox WHERE id = "
            "ANY($1::bigint[]) "
            "ORDER BY id FOR UPDATE",
            {id_array(ids)});
        if (!rows) return rows.error();
        for (const Row& row : rows.value().rows)
            found[integer_of(row[0])] = {text_of(row[1]), integer_of(row[2]), optional_text(row[3]),
                                         optional_text(row[4])};
    }
    std::vector<OutboxChange> changes;
    for (const int64_t id : ids) {
        OutboxChange c{id, std::nullopt, "", 0, std::nullopt, std::nullopt};
        if (auto it = found.find(id); it != found.end()) {
            c.before = it->second.status;
            c.after = it->second.status;
            c.attempt = it->second.attempt;
            c.holder = it->second.consumer;
            c.reason = it->second.reason;
            if (outbox_was_claimed(*c.before, c.attempt)) {
                auto written = change(c);
                if (!written) return written.error();
                it->second.status = c.after;
                it->second.consumer = c.holder;
            }
        }
        changes.push_back(std::move(c));
    }
    auto committed = tx.value().commit();
    if (!committed) return committed.error();
    return changes;
}

}  // namespace

Outcome<std::vector<OutboxEntry>> list_postgres_outbox(PostgresConnection& db,
                                                       const OutboxFilter& filter) {
    auto exists = has_outbox(db);
    if (!exists) return exists.error();
    if (!exists.value()) return std::vector<OutboxEntry>();
    std::string sql = std::string("SELECT ") + kColumns +
                      " FROM strata_outbox o WHERE ($1::text IS NULL OR o.status = $1) "
                      "AND ($2::text IS NULL OR o.trigger_id = $2) "
                      "AND ($3::text IS NULL OR o.ruleset = $3)";
    std::vector<Cell> params = {filter.status, filter.trigger_id, filter.ruleset};
    if (!filter.customer_keys.empty()) {
        sql += " AND (";
        for (size_t i = 0; i < filter.customer_keys.size(); ++i) {
            const Value& key = filter.customer_keys[i];
            const auto* integer = std::get_if<int64_t>(&key);
            sql += std::string(i ? " OR " : "") +
                   "(o.key_is_integer = " + (integer ? "true" : "false") +
                   " AND o.customer_key = $" + std::to_string(params.size() + 1) + "::text)";
            params.emplace_back(integer ? std::to_string(*integer) : std::get<Str>(key).str());
        }
        sql += ")";
    }
    auto rows = db.exec(sql + " ORDER BY o.id", params);
    if (!rows) return rows.error();
    std::vector<OutboxEntry> entries;
    entries.reserve(rows.value().rows.size());
    for (const Row& row : rows.value().rows)
        entries.push_back(read_entry(row, true));
    return entries;
}

Outcome<ClaimResult> claim_postgres_outbox(PostgresConnection& db, const ClaimRequest& request) {
    auto tx = PostgresTransaction::begin(db);
    if (!tx) return tx.error();
    auto exists = has_outbox(db);
    if (!exists) return exists.error();
    const ClaimRequest r = claim_at_clock(request);  // once connected, in the transaction
    ClaimResult result;
    result.now = r.now;
    result.lease_until = r.lease_until;
    if (!exists.value()) return result;
    // Expired leases first, so that their rows are claimable again in this same claim. A row
    // another transaction holds (a claim releasing it, a late ack) is left to that one.
    auto released = db.exec(
        "WITH expired AS (SELECT id FROM strata_outbox WHERE status = 'in_flight' "
        "AND lease_until COLLATE \"C\" < $1::text FOR UPDATE SKIP LOCKED) "
        "UPDATE strata_outbox o SET "
        "status = CASE WHEN o.attempt >= $2::bigint THEN 'dead' ELSE 'pending' END, "
        "consumer = CASE WHEN o.attempt >= $2::bigint THEN o.consumer END, "
        "lease_until = NULL, "
        "reason = 'lease of ' || o.consumer || ' expired at ' || o.lease_until, "
        "updated_at = $1::text "
        "FROM expired WHERE o.id = expired.id RETURNING o.status",
        {r.now, std::to_string(r.max_attempts)});
    if (!released) return released.error();
    result.leases_expired = released.value().rows.size();
    for (const Row& row : released.value().rows)
        result.dead_lettered += text_of(row[0]) == "dead";

    auto claimed = db.exec(
        std::string("WITH picked AS (SELECT id FROM strata_outbox WHERE status = 'pending' "
                    "ORDER BY id LIMIT $1::bigint FOR UPDATE SKIP LOCKED) "
                    "UPDATE strata_outbox o SET status = 'in_flight', consumer = $2::text, "
                    "lease_until = $3::text, attempt = o.attempt + 1, updated_at = $4::text "
                    "FROM picked WHERE o.id = picked.id RETURNING ") +
            kColumns,
        {std::to_string(r.limit), r.consumer, r.lease_until, r.now});
    if (!claimed) return claimed.error();
    for (const Row& row : claimed.value().rows)
        result.claimed.push_back(read_entry(row, false));
    std::sort(result.claimed.begin(), result.claimed.end(),
              [](const OutboxEntry& a, const OutboxEntry& b) { return a.id < b.id; });
    auto committed = tx.value().commit();
    if (!committed) return committed.error();
    return result;
}

Outcome<int64_t> unclaim_postgres_outbox(PostgresConnection& db, const ClaimRequest& request,
                                         const std::vector<int64_t>& ids) {
    auto undone = db.exec(
        "UPDATE strata_outbox SET status = 'pending', consumer = NULL, lease_until = NULL, "
        "attempt = attempt - 1, updated_at = $4::text WHERE id = ANY($1::bigint[]) "
        "AND status = 'in_flight' AND consumer = $2::text AND lease_until = $3::text "
        "RETURNING id",
        {id_array(ids), request.consumer, request.lease_until, request.now});
    if (!undone) return undone.error();
    return static_cast<int64_t>(undone.value().rows.size());
}

Outcome<std::vector<OutboxChange>> ack_postgres_outbox(PostgresConnection& db,
                                                       const std::vector<int64_t>& ids,
                                                       const std::string& now,
                                                       const std::optional<std::string>& consumer) {
    return change_each(db, ids, [&](OutboxChange& c) -> Outcome<Done> {
        if (*c.before == "done") return Done{};
        auto done = db.exec(
            "UPDATE strata_outbox SET status = 'done', lease_until = NULL, updated_at = $1::text, "
            "consumer = coalesce($3::text, consumer) WHERE id = $2::bigint",
            {now, std::to_string(c.id), consumer});
        if (!done) return done.error();
        c.after = "done";
        return Done{};
    });
}

Outcome<std::vector<OutboxChange>> fail_postgres_outbox(
    PostgresConnection& db, const std::vector<int64_t>& ids, const std::string& reason,
    int64_t max_attempts, const std::string& now, const std::optional<std::string>& consumer) {
    return change_each(db, ids, [&](OutboxChange& c) -> Outcome<Done> {
        if (*c.before != "in_flight" && *c.before != "pending") return Done{};
        if (held_by_another(c, consumer)) return Done{};
        c.after = c.attempt >= max_attempts ? "dead" : "pending";
        // A row going back to pending drops its consumer; a dead one keeps the last.
        auto failed = db.exec(
            "UPDATE strata_outbox SET status = $1::text, reason = $2::text, lease_until = NULL, "
            "consumer = CASE WHEN $1::text = 'dead' THEN consumer END, updated_at = $3::text "
            "WHERE id = $4::bigint",
            {c.after, reason, now, std::to_string(c.id)});
        if (!failed) return failed.error();
        return Done{};
    });
}

}  // namespace strata::state
