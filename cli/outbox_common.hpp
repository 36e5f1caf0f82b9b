// What the outbox commands share: durations, UTC timestamps, opening the state file that
// holds strata_outbox, and the operations on whichever store holds it.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <ctime>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "engine/outbox.hpp"

namespace strata::cli {

// When some of `rows` have a text customer key that is not UTF-8, says on `err`, after
// "strata outbox COMMAND: ", that JSON writes such keys' bad bytes as U+FFFD, so that two of
// them can read alike, and that the idempotency key keeps them apart (in hex).
void note_keys_not_utf8(const std::vector<OutboxEntry>& rows, const std::string& command,
                        std::ostream& err);

// Opens the file holding the outbox: --state, else --db. With `write`, through open_state (which
// creates strata_outbox when missing); otherwise read-only. The busy timeout is set to --wait,
// for the opening too. A file that does not exist is never created, and a file without
// strata_runs or strata_outbox (no run state) is refused without creating anything in it. nullptr
// after writing "strata outbox COMMAND: …" to `err`.
std::unique_ptr<SQLite::Database> open_outbox(const OutboxTarget& target,
                                              const std::string& command, bool write,
                                              std::ostream& err);

// A database error of an outbox command as one sentence naming the file.
std::string describe_outbox_error(const SQLite::Exception& e, const OutboxTarget& target);

// The four operations on the outbox the target names (--state, else --db): a SQLite file, or a
// PostgreSQL database given as a postgresql:// URL (state/postgres_outbox.hpp), with the same
// results. A clickhouse:// URL holds no outbox (a ClickHouse run writes its actions to its
// --state store) and is refused. Each returns nullopt after writing "strata outbox COMMAND: …"
// to `err`; the caller exits 2 then. cli/outbox_store.cpp.
std::optional<std::vector<OutboxEntry>> outbox_list(const OutboxTarget& target,
                                                    const OutboxFilter& filter, std::ostream& err);
std::optional<ClaimResult> outbox_claim(const OutboxTarget& target, const ClaimRequest& request,
                                        std::ostream& err);
// Puts claimed actions that never reached the sender back to pending (unclaim_outbox).
std::optional<int64_t> outbox_unclaim(const OutboxTarget& target, const ClaimRequest& request,
                                      const std::vector<int64_t>& ids, std::ostream& err);
std::optional<std::vector<OutboxChange>> outbox_ack(const OutboxTarget& target,
                                                    const std::vector<int64_t>& ids,
                                                    const std::string& now,
                                                    const std::optional<std::string>& consumer,
                                                    std::ostream& err);
std::optional<std::vector<OutboxChange>> outbox_fail(const OutboxTarget& target,
                                                     const std::vector<int64_t>& ids,
                                                     const std::string& reason,
                                                     int64_t max_attempts, const std::string& now,
                                                     const std::optional<std::string>& consumer,
                                                     std::ostream& err);

}  // namespace strata::cli
