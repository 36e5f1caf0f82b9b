// The exactly-once action outbox. The engine sends nothing itself: a run writes the actions
// its triggers fire to strata_outbox, in the same transaction as its membership, and senders
// consume them (claim, then ack or fail). Every action has an idempotency key (ruleset,
// trigger, customer, the as_of of the run that saw the move, and the action), unique in the
// table, so re-running the same as_of, or after a crash, never enqueues an action twice.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "engine/value.hpp"

namespace strata {

// Statuses: pending (claimable), in_flight (claimed, leased), done (acked), dead (failed too
// often), holdout (the trigger's control group: recorded, never sent), capped (over the
// frequency cap: recorded, never sent).
//
// The idempotency key is made of (ruleset, trigger_id, customer_key, as_of, action), one to one,
// so those columns carry its uniqueness: strata_outbox_action puts a day's actions at the end of
// its ruleset's range, where a text index of the keys themselves (in customer order) would
// touch nearly every page of itself each day, and the cost of a run would grow with the outbox.
// It also serves the as_of lookups of cooldowns and the frequency cap.
inline constexpr const char* kOutboxTable = R"sql(
CREATE TABLE IF NOT EXISTS strata_outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key  TEXT NOT NULL,
  ruleset          TEXT NOT NULL,
  version          INTEGER NOT NULL,
  trigger_id       TEXT NOT NULL,
  customer_key     NOT NULL,
  action           INTEGER NOT NULL,   -- the action's place in the trigger's list, from 0
  type             TEXT NOT NULL,      -- email, sms, push, task, webhook, tag or a custom name
  payload          TEXT NOT NULL,      -- the rendered parameters, a JSON object
  run_id           INTEGER NOT NULL,
  as_of            TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  consumer         TEXT,
  lease_until      TEXT,
  reason           TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
)sql";
inline constexpr const char* kOutboxActionIndex = R"sql(
CREATE UNIQUE INDEX IF NOT EXISTS strata_outbox_action
  ON strata_outbox (ruleset, as_of, trigger_id, customer_key, action);
)sql";
inline constexpr const char* kOutboxIndexes = R"sql(
CREATE INDEX IF NOT EXISTS strata_outbox_status ON strata_outbox (status, id);
CREATE INDEX IF NOT EXISTS strata_outbox_customer ON strata_outbox (ruleset, customer_key, as_of);
)sql";

// One action a run enqueues.
struct OutboxRow {
    std::string idempotency_key;
    std::string ruleset;
    int64_t version = 0;
    std::string trigger_id;
    Value customer_key;
    int action = 0;
    std::string type;
    std::string payload;  // JSON object
    int64_t run_id = 0;
    std::string as_of;
    std::string status;  // pending, holdout or capped
};

// The idempotency key of an action: ruleset, trigger, customer, the run's as_of and the
// action's place in the trigger, joined so that no two differ only in where a part ends.
// The customer is i<integer>, t<text>, or x<hex of the bytes> for a text that is not UTF-8,
// so that the key is valid UTF-8 and stays unique once read as JSON.
std::string idempotency_key(const std::string& ruleset, const std::string& trigger_id,
                            const Value& customer_key, const std::string& as_of, int action);

// Inserts rows; a row whose idempotency key is already there is skipped (the action was
// enqueued before). Returns how many were new; `inserted`, when given, gets a flag per row.
// The caller holds the transaction. Throws SQLite::Exception.
size_t enqueue(SQLite::Database& state, const std::vector<OutboxRow>& rows, const std::string& now,
               std::vector<char>* inserted = nullptr);

// Whether actions are in the outbox already: looked up by the columns their idempotency key is
// made of, which both layouts index (strata_outbox_action, or strata_outbox_customer before
// it). REQUIRES: the state has strata_outbox. Throws SQLite::Exception.
class EnqueuedActions {
  public:
    explicit EnqueuedActions(SQLite::Database& state);
    bool contains(const OutboxRow& row);

  private:
    SQLite::Statement query_;
};

// An action's place in a trigger whose key the outbox holds already, for an action of
// another type: the trigger's list of actions changed (an action put in, taken out or moved)
// between runs of the same as_of. Its key, made of the place, now names another action, so
// a run would take the new action for the one enqueued before: the new one lost and, at its
// new place, the earlier one enqueued a second time. Such a run is refused.
struct ChangedActionPlace {
    std::string trigger_id;
    int action = 0;
    std::string new_type;     // the type the rules put at this place now
    std::string stored_type;  // the type the outbox holds at it
    int64_t stored_version = 0;
};

// The (trigger, place, type) of each row not `fresh` (its key is in the outbox already), once
// each, in the order of the rows: what `changed_action_place` checks.
std::vector<ChangedActionPlace> places_enqueued_before(const std::vector<OutboxRow>& rows,
                                                       const std::vector<char>& fresh);

// The first of `places` at which the outbox holds, for `ruleset` and `as_of`, an action of
// another type than `new_type`; nullopt when none. (One customer's `eval` needs no such
// check: it evaluates only the rule file of the latest run.)
// REQUIRES: the state has strata_outbox. Throws SQLite::Exception.
std::optional<ChangedActionPlace> changed_action_place(SQLite::Database& state,
                                                       const std::string& ruleset,
                                                       const std::string& as_of,
                                                       std::vector<ChangedActionPlace> places);

// Why the run is refused, for the user: the trigger, the place, both types, and what to do.
std::string changed_action_message(const ChangedActionPlace& place, const std::string& as_of,
                                   int64_t version);

// Statuses as stored.
inline constexpr const char* kOutboxStatuses[] = {"pending", "in_flight", "done",
                                                  "dead",    "holdout",   "capped"};

// One stored row, as the senders' commands read it.
struct OutboxEntry {
    int64_t id = 0;
    OutboxRow row;
    int64_t attempt = 0;                     // how many times it was claimed
    std::optional<std::string> consumer;     // holds it (in_flight) or last held it (done, dead)
    std::optional<std::string> lease_until;  // in_flight only: 'YYYY-MM-DDTHH:MM:SSZ' (UTC)
    std::optional<std::string> reason;       // the latest failure or expired lease
    // The row as one JSON object, outbox_record_json(*this, listed): listed rows carry their
    // status, claimed ones do not.
    std::string json;
};

// The record a sender reads, one definition for every store (SQLite, PostgreSQL), so the same
// row gives the same bytes: id, idempotency_key, ruleset, version, trigger, customer_key (an
// integer or a string, as the key is), type, payload, run_id, as_of, attempt and, when
// `listed`, status, consumer, lease_until and reason (null when absent). The payload is
// embedded as JSON without its whitespace, strings and numbers as written (SQLite's json()
// of it); a payload that is not one JSON value is embedded as a string. Strings are escaped
// as SQLite's json_quote escapes them. docs/outbox.md describes the keys.
std::string outbox_record_json(const OutboxEntry& entry, bool listed);

struct OutboxFilter {
    std::optional<std::string> status;
    std::optional<std::string> trigger_id;
    std::optional<std::string> ruleset;
    // When not empty: only these customers (an integer key matches only an integer stored key,
    // a text only a text).
    std::vector<Value> customer_keys;
};

// The rows that pass the filter, oldest (lowest id) first. Throws SQLite::Exception.
std::vector<OutboxEntry> list_outbox(SQLite::Database& state, const OutboxFilter& filter);

struct ClaimRequest {
    int64_t limit = 0;
    std::string consumer;
    std::string now;          // 'YYYY-MM-DDTHH:MM:SSZ' (UTC)
    std::string lease_until;  // the same format, after `now`
    int64_t max_attempts = 5;
    // When positive, `now` and `lease_until` (now + lease_seconds) are read from the clock
    // once the claim holds the write lock, so that a claim that waited for a run still gets
    // its whole lease; otherwise the two texts above are used as given (a fixed clock).
    int64_t lease_seconds = 0;
};

// 'YYYY-MM-DDTHH:MM:SSZ' (UTC), as the outbox stores times: it sorts as it counts.
std::string utc_timestamp(std::time_t t);

// The claim's `now` and `lease_until` from the clock when request.lease_seconds is positive;
// the request as it is otherwise. For a claim that holds the lock.
ClaimRequest claim_at_clock(const ClaimRequest& request);

struct ClaimResult {
    std::string now, lease_until;      // as the claim used them
    std::vector<OutboxEntry> claimed;  // oldest first
    size_t leases_expired = 0;         // in_flight rows whose lease had ended, released first
    size_t dead_lettered = 0;          // of those, the ones that had no attempt left
};

// One BEGIN IMMEDIATE transaction (so concurrent claimers queue on SQLite's write lock and never
// get the same row): first every in_flight row whose lease_until is before `now` is released,
// to pending, or to dead when its attempt count has reached max_attempts (an expired lease
// counts as a failed attempt); then up to `limit` pending rows, lowest id first, become
// in_flight for `consumer` until lease_until, their attempt count one higher. Held-out and
// capped rows are never claimed. Throws SQLite::Exception (SQLITE_BUSY once the busy timeout
// set on `state` runs out); nothing changes then.
ClaimResult claim_outbox(SQLite::Database& state, const ClaimRequest& request);

// Undoes a claim whose actions never reached the sender (its output could not be written):
// each of `ids` still in flight for request.consumer until request.lease_until goes back to
// pending, with the attempt the claim added taken off. Returns how many went back. Throws
// SQLite::Exception.
int64_t unclaim_outbox(SQLite::Database& state, const ClaimRequest& request,
                       const std::vector<int64_t>& ids);

// What ack or fail did to one id. `before` is nullopt for an id that is not in the outbox;
// `after` equals `before` when the row was left as it was.
struct OutboxChange {
    int64_t id = 0;
    std::optional<std::string> before;
    std::string after;
    int64_t attempt = 0;
    std::optional<std::string> holder;  // the row's consumer before the change
    std::optional<std::string>
        reason;  // the row's reason before the change ("lease of a expired…")
};

// Whether the row went to its holder because `consumer`'s own lease on it expired (the reason
// a claim of an expired lease records), rather than a lease `consumer` never held.
bool lost_lease_of(const OutboxChange& c, const std::string& consumer);

// Whether the row is in flight for another consumer than `consumer` (the sender acking or
// failing it): its lease had expired and another claim took it. Never true without `consumer`.
bool held_by_another(const OutboxChange& c, const std::optional<std::string>& consumer);

// Whether a row was ever claimed: held-out and capped rows never are, and a pending row only
// once its attempt count is above 0. Ack and fail refuse rows that were not.
bool outbox_was_claimed(const std::string& status, int64_t attempt);

// Records that the actions were sent, in one BEGIN IMMEDIATE transaction: every claimed row
// that is not done yet becomes done, whether its lease still runs, has expired (pending or
// in_flight again for another consumer) or it was dead-lettered meanwhile, since the send
// did happen. Done rows stay done; unknown, never-claimed, held-out and capped rows are left
// as they are. A done row's consumer becomes `consumer` when one is given (the sender that
// acked it). One change per id, in the given order. Throws SQLite::Exception.
std::vector<OutboxChange> ack_outbox(SQLite::Database& state, const std::vector<int64_t>& ids,
                                     const std::string& now,
                                     const std::optional<std::string>& consumer = std::nullopt);

// Records failed sends, in one BEGIN IMMEDIATE transaction: a claimed row that is in_flight or
// pending gets `reason` and goes to dead when its attempt count has reached max_attempts, else
// back to pending for a later claim. Done and dead rows stay as they are (a late fail does
// not undo an ack by another consumer), and so does a row held_by_another(…, consumer) (a
// late fail does not take an action from the sender that claimed it since); unknown,
// never-claimed, held-out and capped rows are left as they are. One change per id, in the
// given order. Throws SQLite::Exception.
std::vector<OutboxChange> fail_outbox(SQLite::Database& state, const std::vector<int64_t>& ids,
                                      const std::string& reason, int64_t max_attempts,
                                      const std::string& now,
                                      const std::optional<std::string>& consumer = std::nullopt);

}  // namespace strata
