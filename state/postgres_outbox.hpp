// The senders' side of the action outbox inside PostgreSQL (issue 13): list, claim, ack and
// fail on the strata_outbox table that ensure_postgres_state creates (state/postgres_state.hpp),
// with exactly the rules of the SQLite outbox (engine/outbox.hpp): the same statuses and
// transitions, leases, expiry, attempts and dead letters, and the same results, so that the
// commands print them with the same code. Records are built by outbox_record_json, so a row
// gives the same bytes from either store.
//
// What differs is how concurrent senders are kept apart. SQLite lets one writer in at a time;
// here a claim takes its rows with SELECT ... FOR UPDATE SKIP LOCKED, so two claims at once
// never get the same row and neither waits for the rows the other holds: each takes the oldest
// pending rows nobody else has locked. Releasing expired leases skips locked rows the same way.
// Ack and fail lock the rows they name (in id order, so two of them cannot deadlock) and wait
// for a claim or another ack holding one of them, up to the session's lock_timeout (then the
// error's code is 55P03 and nothing changed).
//
// A database without strata_outbox is an empty outbox: nothing is created here. Every function
// is one transaction on `db` (which must not be inside one already) and, like the rest of the
// PostgreSQL client, never throws: errors come back as warehouse::WarehouseError values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/outbox.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// The rows that pass the filter, oldest (lowest id) first, as list_outbox gives them. A text
// customer key matches only text keys, an integer only integer keys (key_is_integer).
warehouse::Outcome<std::vector<OutboxEntry>> list_postgres_outbox(warehouse::PostgresConnection& db,
                                                                  const OutboxFilter& filter);

// claim_outbox's rules: in_flight rows whose lease_until is before `now` go back to pending, or
// to dead once their attempt count has reached max_attempts; then up to `limit` pending rows,
// lowest id first among those no other transaction holds, become in_flight for the consumer
// until lease_until with one more attempt. Claimed rows come back oldest first.
warehouse::Outcome<ClaimResult> claim_postgres_outbox(warehouse::PostgresConnection& db,
                                                      const ClaimRequest& request);

// unclaim_outbox's rules: each of `ids` still in flight for the request's consumer and lease
// goes back to pending, one attempt fewer. Returns how many went back.
warehouse::Outcome<int64_t> unclaim_postgres_outbox(warehouse::PostgresConnection& db,
                                                    const ClaimRequest& request,
                                                    const std::vector<int64_t>& ids);

// ack_outbox's rules: every claimed row not done yet becomes done, its consumer `consumer`
// when given. One change per id, in the given order (a repeated id sees what the earlier one
// did).
warehouse::Outcome<std::vector<OutboxChange>> ack_postgres_outbox(
    warehouse::PostgresConnection& db, const std::vector<int64_t>& ids, const std::string& now,
    const std::optional<std::string>& consumer = std::nullopt);

// fail_outbox's rules: a claimed row that is in_flight or pending gets `reason` and goes to
// dead when its attempt count has reached max_attempts, else back to pending (losing its
// consumer), unless it is held_by_another(…, consumer). One change per id, in the given order.
warehouse::Outcome<std::vector<OutboxChange>> fail_postgres_outbox(
    warehouse::PostgresConnection& db, const std::vector<int64_t>& ids, const std::string& reason,
    int64_t max_attempts, const std::string& now,
    const std::optional<std::string>& consumer = std::nullopt);

}  // namespace strata::state
