// What the outbox commands share: durations, UTC timestamps and opening the state file that
// holds strata_outbox.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <ctime>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace strata::cli {

// A moment as UTC text 'YYYY-MM-DDTHH:MM:SSZ', which sorts as it counts.
std::string utc_timestamp(std::time_t t);

// Opens the file holding the outbox: --state, else --db. With `write`, through open_state (which
// creates strata_outbox when missing); otherwise read-only. The busy timeout is set to --wait.
// A file that does not exist is never created. nullptr after writing "strata outbox COMMAND:
// …" to `err`.
std::unique_ptr<SQLite::Database> open_outbox(const OutboxTarget& target,
                                              const std::string& command, bool write,
                                              std::ostream& err);

// A database error of an outbox command as one sentence naming the file.
std::string describe_outbox_error(const SQLite::Exception& e, const OutboxTarget& target);

}  // namespace strata::cli
