#include "state/foreign_tables.hpp"

#include <algorithm>
#include <map>
#include <vector>

namespace strata::state {

using warehouse::Done;
using warehouse::Outcome;
using warehouse::WarehouseError;

namespace {

// The columns every layout strata made of each of its tables has, so that a table without
// one of them is not strata's. They are the columns each was made with (ClickHouse's
// strata_run_levels and strata_run_segments were made without `ruleset`, added since; an
// older state is strata's own all the same).
struct OwnTable {
    const char* name;
    std::vector<const char*> columns;
};

const std::vector<const char*>& run_columns() {
    static const std::vector<const char*> columns{
        "run_id",     "ruleset",     "version", "rules_sha256", "rules_path", "as_of",
        "started_at", "finished_at", "status",  "customers",    "summary"};
    return columns;
}

const std::vector<OwnTable>& postgres_tables() {
    static const std::vector<OwnTable> tables{
        {"strata_runs", run_columns()},
        {"strata_rulesets", {"ruleset_id", "name"}},
        {"strata_segments", {"ruleset", "code", "name"}},
        {"strata_stays",
         {"ruleset", "exited_run", "customer_key", "key_is_integer", "level", "segment",
          "entered_run"}},
        {"strata_versions", {"ruleset", "version", "sha256", "source", "first_seen"}},
        {"strata_outbox",
         {"id", "idempotency_key", "ruleset", "version", "trigger_id", "customer_key",
          "key_is_integer", "action", "type", "payload", "run_id", "as_of", "status", "attempt",
          "consumer", "lease_until", "reason", "created_at", "updated_at"}},
        {"strata_membership", {"run_id", "customer_key", "key_is_integer", "segment", "tactical"}},
    };
    return tables;
}

const std::vector<OwnTable>& clickhouse_tables() {
    static const std::vector<OwnTable> tables{
        {"strata_runs", run_columns()},
        {"strata_stays", {"ruleset", "customer_key", "level", "segment", "entered_run"}},
        {"strata_stay_exits",
         {"ruleset", "customer_key", "level", "segment", "entered_run", "exited_run"}},
        {"strata_run_levels", {"run_id", "path", "level"}},
        {"strata_run_segments", {"run_id", "segment", "offer", "channel", "priority"}},
        {"strata_versions", {"ruleset", "version", "sha256", "source", "first_seen"}},
        {"strata_run_claims", {"run_id", "ruleset", "token", "claimed_at"}},
        {"strata_run_heartbeats", {"ruleset", "run_id", "token", "beat", "at", "stepped_back"}},
    };
    return tables;
}

// The first table of `own` that is present without all its columns, as a sentence; empty
// when there is none. `present` maps each present table to its columns.
std::string first_foreign(const std::vector<OwnTable>& own,
                          const std::map<std::string, std::vector<std::string>>& present,
                          const std::string& where) {
    for (const auto& table : own) {
        const auto found = present.find(table.name);
        if (found == present.end()) continue;
        std::string missing;
        size_t count = 0;
        for (const char* column : table.columns) {
            if (std::find(found->second.begin(), found->second.end(), column) ==
                found->second.end())
                missing += (count++ ? ", " : "") + std::string(column);
        }
        if (count == 0) continue;
        return where + " has a table " + table.name +
               " that strata did not make (it has no column" + (count == 1 ? " " : "s ") + missing +
               "): strata keeps its run state in tables named strata_*; rename that table, or "
               "keep strata's state in a database of its own";
    }
    return "";
}

}  // namespace

Outcome<Done> check_postgres_state_tables(warehouse::PostgresConnection& db) {
    std::string names;
    for (const auto& table : postgres_tables())
        names += std::string(names.empty() ? "" : ",") + "('" + table.name + "')";
    // to_regclass finds each name as every other statement of strata's does: by the search path.
    auto columns = db.exec(
        "SELECT t.name, a.attname FROM (VALUES " + names +
        ") AS t(name) JOIN pg_attribute a ON a.attrelid = to_regclass(t.name) AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY t.name, a.attnum");
    if (!columns) return columns.error();
    std::map<std::string, std::vector<std::string>> present;
    for (const auto& row : columns.value().rows)
        present[row.at(0).value_or("")].push_back(row.at(1).value_or(""));
    const std::string problem = first_foreign(postgres_tables(), present, "the database");
    if (problem.empty()) return Done{};
    WarehouseError error;
    error.backend = warehouse::Backend::postgres;
    error.message = problem;
    return error;
}

Outcome<warehouse::PostgresConnection> connect_postgres_state(const warehouse::PostgresUrl& url) {
    auto connection = warehouse::PostgresConnection::connect(url);
    if (!connection) return connection;
    if (auto checked = check_postgres_state_tables(connection.value()); !checked)
        return checked.error();
    return connection;
}

bool check_clickhouse_state_tables(warehouse::ClickHouseClient& client, std::string& error) {
    std::string names;
    for (const auto& table : clickhouse_tables())
        names += std::string(names.empty() ? "" : ", ") + "'" + table.name + "'";
    auto columns = client.query(
        "SELECT table, name FROM system.columns WHERE database = currentDatabase() AND table IN "
        "(" +
        names + ") ORDER BY table");
    if (!columns) {
        error = columns.error().describe();
        return false;
    }
    std::map<std::string, std::vector<std::string>> present;
    for (const auto& row : columns.value().rows)
        present[row.at(0).value_or("")].push_back(row.at(1).value_or(""));
    error = first_foreign(clickhouse_tables(), present, "the database");
    return error.empty();
}

}  // namespace strata::state
