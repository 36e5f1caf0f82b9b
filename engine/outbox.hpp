// The exactly-once action outbox. The engine sends nothing itself: a run writes the actions
// its triggers fire to strata_outbox, in the same transaction as its membership, and senders
// consume them (claim, then ack or fail). Every action has an idempotency key (ruleset,
// trigger, customer and the as_of of the run that saw the move), unique in the table, so
// re-running the same as_of, or after a crash, never enqueues an action twice.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/value.hpp"

namespace strata {

// Statuses: pending (claimable), in_flight (claimed, leased), done (acked), dead (failed too
// often), holdout (the trigger's control group: recorded, never sent), capped (over the
// frequency cap: recorded, never sent).
inline constexpr const char* kOutboxSchema = R"sql(
CREATE TABLE IF NOT EXISTS strata_outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key  TEXT NOT NULL UNIQUE,
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
std::string idempotency_key(const std::string& ruleset, const std::string& trigger_id,
                            const Value& customer_key, const std::string& as_of, int action);

// Inserts rows; a row whose idempotency key is already there is skipped (the action was
// enqueued before). Returns how many were new. The caller holds the transaction. Throws
// SQLite::Exception.
size_t enqueue(SQLite::Database& state, const std::vector<OutboxRow>& rows, const std::string& now);

}  // namespace strata
