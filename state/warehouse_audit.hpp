// The audit commands on a warehouse (issue 13): `strata history`, `strata versions` and
// `strata show` with a postgresql:// or clickhouse:// `--db`. What they need of the warehouse's
// strata_* tables is copied into an in-memory SQLite database with the tables and columns
// that the SQLite readers read (engine/state.hpp list_stays, engine/versions.hpp list_versions
// and registered_contents), so the warehouse's rows are listed, ordered and printed by the
// SQLite listing's own code. Only how rows are read differs:
//
//   strata_runs          the runs, read by the report's store (state/report_store.hpp):
//                        every run of PostgreSQL, the complete runs of ClickHouse
//   strata_rulesets      the names of the rulesets that have runs
//   strata_versions      the registered versions. ClickHouse registers a version just before
//                        its run's last row, so a run that died there leaves a version
//                        without a complete run: such a version is left out, and first_seen
//                        is the start of the version's first complete run, as a SQLite run
//                        that failed registers nothing
//   strata_stay_history  a table with the columns of the SQLite view, holding the stays of the
//                        customer looked up only (none when no keys are asked for). ClickHouse:
//                        stays begun by complete runs, ended only by complete runs
//
// No customer rows leave the server but those of the keys asked for.
#pragma once

#include <SQLiteCpp/Database.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/value.hpp"

namespace strata::state {

struct AuditRequest {
    // The stays and actions of these keys (as history's key rule gives them: an integer key
    // and a text key), of `ruleset` when given. Empty: no stays or actions are read.
    std::vector<Value> keys;
    std::optional<std::string> ruleset;
    // Where a ClickHouse run's actions are (the --state given to `strata run`: a SQLite path or
    // a postgresql:// URL). Refused for PostgreSQL, whose outbox is in the same database.
    std::optional<std::string> actions_store;
};

struct WarehouseAudit {
    std::unique_ptr<SQLite::Database> state;  // in memory, the tables above
    std::string where;                        // the --db URL as messages name it
    // The outbox rows of the keys, oldest first (list_outbox's order and records). nullopt
    // when they were not read: ClickHouse without an actions store.
    std::optional<std::vector<OutboxEntry>> actions;
};

// Reads the warehouse that `db` names into a WarehouseAudit. nullopt with `error` set when the
// URL does not parse, the server cannot be reached or refuses a query, `actions_store` is
// given for PostgreSQL or names ClickHouse, or the database holds no run state at all ("no runs
// are stored in '…'; run 'strata run' first", as for a SQLite file).
std::optional<WarehouseAudit> read_warehouse_audit(const std::string& db,
                                                   const AuditRequest& request, std::string& error);

}  // namespace strata::state
