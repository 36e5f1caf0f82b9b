// A table named like one of strata's state tables (strata_runs, strata_stays, ...) that strata
// did not make, in a warehouse: a user's own table, or the state of something else. Commands
// that read or write the run state refuse such a database with one clear message, instead of
// the server's error about a missing column deep in a run, and change nothing there. The
// embedded state has the same check (engine/state.hpp, foreign_state_tables).
#pragma once

#include <string>

#include "warehouse/clickhouse_client.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// Every strata_* table of strata's PostgreSQL state that is there (as the search path finds
// it) has its columns. A WarehouseError naming the first table that does not, and the columns
// it lacks, otherwise.
warehouse::Outcome<warehouse::Done> check_postgres_state_tables(warehouse::PostgresConnection& db);

// PostgresConnection::connect, then check_postgres_state_tables: for the commands that read or
// write the run state.
warehouse::Outcome<warehouse::PostgresConnection> connect_postgres_state(
    const warehouse::PostgresUrl& url);

// The same for the ClickHouse state, in the client's database. False with `error` set.
bool check_clickhouse_state_tables(warehouse::ClickHouseClient& client, std::string& error);

}  // namespace strata::state
