// Where `strata outbox` finds its rows: the SQLite state file (engine/outbox.hpp) or a
// PostgreSQL database named by a postgresql:// URL (state/postgres_outbox.hpp). The commands
// print the results of either with the same code.
#include <algorithm>
#include <ostream>
#include <variant>

#include "cli/outbox_common.hpp"
#include "state/foreign_tables.hpp"
#include "state/postgres_outbox.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::cli {

namespace {

// SQLSTATE lock_not_available: a row lock was not granted within lock_timeout.
constexpr const char* kLockTimeout = "55P03";

// Sets `postgres` when the target names a PostgreSQL database, leaves it empty for a SQLite
// file (or no target at all, which open_outbox reports). False after writing why to `err` when
// the target cannot hold an outbox: a ClickHouse database, or a URL that does not parse.
bool locate(const OutboxTarget& target, const std::string& prefix,
            std::optional<warehouse::PostgresUrl>& postgres, std::ostream& err) {
    const std::string where = target.state.value_or(target.db);
    if (where.empty()) return true;
    std::string error;
    const auto location = warehouse::parse_database_argument(where, error);
    if (!location) {
        err << prefix << error << '\n';
        return false;
    }
    if (std::holds_alternative<warehouse::ClickHouseUrl>(*location)) {
        err << prefix << (target.state ? "--state" : "--db")
            << " names a ClickHouse database, which holds no outbox: a run on ClickHouse writes "
               "its actions to the store given as its --state (a SQLite file or a "
               "postgresql:// URL); give that store as --state\n";
        return false;
    }
    if (const auto* url = std::get_if<warehouse::PostgresUrl>(&*location)) postgres = *url;
    return true;
}

// A connection whose row locks wait at most --wait (PostgreSQL reads a lock_timeout of 0 as
// "wait for ever", so --wait 0s waits one millisecond).
std::optional<warehouse::PostgresConnection> connect(const warehouse::PostgresUrl& url,
                                                     const OutboxTarget& target,
                                                     const std::string& prefix, std::ostream& err) {
    const auto wait = parse_duration(target.wait);
    if (!wait) {
        err << prefix << wait_problem(target.wait) << '\n';
        return std::nullopt;
    }
    auto connection = state::connect_postgres_state(url);
    if (!connection) {
        err << prefix << connection.error().describe() << '\n';
        return std::nullopt;
    }
    const int64_t wait_ms = std::max<int64_t>(1, *wait * 1000);
    auto set = connection.value().exec("SET lock_timeout = '" + std::to_string(wait_ms) + "ms'");
    if (!set) {
        err << prefix << set.error().describe() << '\n';
        return std::nullopt;
    }
    return std::move(connection.value());
}

std::string describe_postgres_error(const warehouse::WarehouseError& error,
                                    const warehouse::PostgresUrl& url, const OutboxTarget& target) {
    const std::string where = warehouse::describe_location(url);
    if (error.code == kLockTimeout)
        return "actions in '" + where +
               "' stayed locked by another transaction for longer than --wait " + target.wait;
    return "database error in '" + where + "': " + error.describe();
}

// Runs `on_sqlite` (which may throw SQLite::Exception) or `on_postgres` (which returns an
// Outcome) on the outbox the target names.
template <class T, class OnSqlite, class OnPostgres>
std::optional<T> on_outbox(const OutboxTarget& target, const std::string& command, bool write,
                           std::ostream& err, OnSqlite on_sqlite, OnPostgres on_postgres) {
    const std::string prefix = "strata outbox " + command + ": ";
    std::optional<warehouse::PostgresUrl> postgres;
    if (!locate(target, prefix, postgres, err)) return std::nullopt;
    if (postgres) {
        auto db = connect(*postgres, target, prefix, err);
        if (!db) return std::nullopt;
        warehouse::Outcome<T> done = on_postgres(*db);
        if (!done) {
            err << prefix << describe_postgres_error(done.error(), *postgres, target) << '\n';
            return std::nullopt;
        }
        return std::move(done.value());
    }
    auto db = open_outbox(target, command, write, err);
    if (!db) return std::nullopt;
    try {
        return on_sqlite(*db);
    } catch (const SQLite::Exception& e) {
        err << prefix << describe_outbox_error(e, target) << '\n';
        return std::nullopt;
    }
}

bool has_outbox(SQLite::Database& db) {
    return db.execAndGet("SELECT count(*) FROM sqlite_schema WHERE name = 'strata_outbox'")
               .getInt64() > 0;
}

}  // namespace

std::optional<std::vector<OutboxEntry>> outbox_list(const OutboxTarget& target,
                                                    const OutboxFilter& filter, std::ostream& err) {
    return on_outbox<std::vector<OutboxEntry>>(
        target, "list", false, err,
        [&](SQLite::Database& db) {
            // A state file written before the outbox existed has no actions yet.
            return has_outbox(db) ? list_outbox(db, filter) : std::vector<OutboxEntry>();
        },
        [&](warehouse::PostgresConnection& db) { return state::list_postgres_outbox(db, filter); });
}

std::optional<ClaimResult> outbox_claim(const OutboxTarget& target, const ClaimRequest& request,
                                        std::ostream& err) {
    return on_outbox<ClaimResult>(
        target, "claim", true, err, [&](SQLite::Database& db) { return claim_outbox(db, request); },
        [&](warehouse::PostgresConnection& db) {
            return state::claim_postgres_outbox(db, request);
        });
}

std::optional<int64_t> outbox_unclaim(const OutboxTarget& target, const ClaimRequest& request,
                                      const std::vector<int64_t>& ids, std::ostream& err) {
    return on_outbox<int64_t>(
        target, "claim", true, err,
        [&](SQLite::Database& db) { return unclaim_outbox(db, request, ids); },
        [&](warehouse::PostgresConnection& db) {
            return state::unclaim_postgres_outbox(db, request, ids);
        });
}

std::optional<std::vector<OutboxChange>> outbox_ack(const OutboxTarget& target,
                                                    const std::vector<int64_t>& ids,
                                                    const std::string& now,
                                                    const std::optional<std::string>& consumer,
                                                    std::ostream& err) {
    return on_outbox<std::vector<OutboxChange>>(
        target, "ack", true, err,
        [&](SQLite::Database& db) { return ack_outbox(db, ids, now, consumer); },
        [&](warehouse::PostgresConnection& db) {
            return state::ack_postgres_outbox(db, ids, now, consumer);
        });
}

std::optional<std::vector<OutboxChange>> outbox_fail(const OutboxTarget& target,
                                                     const std::vector<int64_t>& ids,
                                                     const std::string& reason,
                                                     int64_t max_attempts, const std::string& now,
                                                     const std::optional<std::string>& consumer,
                                                     std::ostream& err) {
    return on_outbox<std::vector<OutboxChange>>(
        target, "fail", true, err,
        [&](SQLite::Database& db) {
            return fail_outbox(db, ids, reason, max_attempts, now, consumer);
        },
        [&](warehouse::PostgresConnection& db) {
            return state::fail_postgres_outbox(db, ids, reason, max_attempts, now, consumer);
        });
}

}  // namespace strata::cli
