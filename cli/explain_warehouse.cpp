#include "cli/explain_warehouse.hpp"

#include "state/foreign_tables.hpp"

#include <ostream>

#include "cli/run_warehouse.hpp"
#include "state/clickhouse_run.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_state.hpp"
#include "state/warehouse_populations.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::cli {

namespace {

// The run, the customer's row in it (none when it did not place them) and the version's
// source, as a store holds them.
struct FoundRun {
    std::optional<RunRecord> record;
    std::optional<MembershipRow> row;
    std::optional<std::string> source;
};

std::optional<FoundRun> find_in_postgres(const warehouse::PostgresUrl& url,
                                         const std::string& where, const std::string& ruleset,
                                         std::optional<int64_t> run, const std::vector<Value>& keys,
                                         std::string& error) {
    auto connection = state::connect_postgres_state(url);
    if (!connection) {
        error = connection.error().describe();
        return std::nullopt;
    }
    auto& db = connection.value();
    auto has_state = state::has_postgres_state(db);
    if (!has_state) {
        error = has_state.error().describe();
        return std::nullopt;
    }
    if (!has_state.value()) {
        error = "no runs are stored in '" + where + "'; run 'strata run' first";
        return std::nullopt;
    }
    FoundRun found;
    auto record = state::find_postgres_run(db, ruleset, run);
    if (!record) {
        error = record.error().describe();
        return std::nullopt;
    }
    found.record = std::move(record.value());
    if (!found.record) return found;
    for (const Value& key : keys) {
        auto rows = state::load_postgres_membership(db, *found.record, key);
        if (!rows) {
            error = rows.error().describe();
            return std::nullopt;
        }
        if (!rows.value().empty()) {
            found.row = rows.value().front();
            break;
        }
    }
    auto source = state::postgres_version_source(db, *found.record);
    if (!source) {
        error = source.error().describe();
        return std::nullopt;
    }
    found.source = std::move(source.value());
    return found;
}

std::optional<FoundRun> find_in_clickhouse(const warehouse::ClickHouseUrl& url,
                                           const std::string& ruleset, std::optional<int64_t> run,
                                           const std::vector<Value>& keys, std::string& error) {
    warehouse::ClickHouseClient client(url);
    FoundRun found;
    // Keys inside ClickHouse are integers: a text key is in no run.
    std::optional<int64_t> key;
    for (const Value& k : keys) {
        if (const auto* i = std::get_if<int64_t>(&k)) key = *i;
    }
    auto stored = state::load_clickhouse_run(url, ruleset, run, error, key.value_or(0));
    if (!stored) {
        // "does not exist" and "no stored run" are answers about the run, not failures.
        if (error.find("does not exist") != std::string::npos ||
            error.find("no stored run") != std::string::npos) {
            error.clear();
            return found;
        }
        return std::nullopt;
    }
    found.record = stored->record;
    if (key && !stored->rows.empty()) found.row = stored->rows.front();
    if (!state::clickhouse_version_source(client, *found.record, found.source, error))
        return std::nullopt;
    return found;
}

}  // namespace

std::optional<WarehouseStoredExplain> explain_stored_in_warehouse(
    const std::string& rules, std::optional<int64_t> run, const std::string& db,
    const std::optional<std::string>& as_of_text, const std::vector<Value>& keys,
    const std::string& customer, std::ostream& out, std::ostream& err, bool json, int& exit_code) {
    std::ostream* json_out = json ? &out : nullptr;
    // kind: the JSON error's (running.md); not_found for a customer the run did not place.
    auto fail = [&](const std::string& message,
                    const char* kind = "database") -> std::optional<WarehouseStoredExplain> {
        err << "strata explain: " << message << '\n';
        if (json_out) write_json_error(out, kind, message);
        exit_code = kExitEnvironment;
        return std::nullopt;
    };
    std::string error;
    auto location = warehouse::parse_database_argument(db, error);
    if (!location) return fail(error);
    const std::string where = warehouse::describe_location(*location);
    const bool by_name = names_ruleset(rules);
    std::optional<Schema> catalog;
    std::optional<LoadedRules> loaded;
    if (!by_name) {
        loaded = load_warehouse_rules("explain", rules, db, out, err, json_out, exit_code, catalog);
        if (!loaded) return std::nullopt;
    }
    const std::string ruleset = by_name ? rules : loaded->rules->rules.ruleset;
    std::optional<FoundRun> found;
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location))
        found = find_in_postgres(*pg, where, ruleset, run, keys, error);
    else
        found = find_in_clickhouse(std::get<warehouse::ClickHouseUrl>(*location), ruleset, run,
                                   keys, error);
    if (!found) return fail(error);
    if (!found->record) {
        if (!run)
            return fail("no stored run of ruleset '" + one_line(ruleset) + "' in '" + where +
                        "' ('strata runs --db URL' lists the stored runs)" +
                        (by_name ? taken_for_ruleset_name(rules) : std::string()));
        return fail("run " + std::to_string(*run) + " does not exist in '" + where +
                    "' among the runs of ruleset '" + ruleset +
                    "' ('strata runs --db URL' lists the stored runs)");
    }
    const RunRecord& record = *found->record;
    if (!found->row)
        return fail("customer " + stored_key_text(keys.front()) + " was not placed by run " +
                        std::to_string(record.run_id) + " of " + ruleset + " (as_of " +
                        record.as_of + ")",
                    "not_found");
    StoredPlacement stored;
    stored.run = record;
    stored.customer = found->row->key;
    stored.segment = found->row->segment.str();
    stored.tactical = split_tactical(found->row->tactical.str());
    if (by_name) {
        if (!found->source)
            return fail("the source of " + ruleset + " v" + std::to_string(record.version) +
                        " (run " + std::to_string(record.run_id) + ") is not kept in '" + where +
                        "'; give the rule file instead of the ruleset's name");
        loaded =
            load_warehouse_rules_text("explain", ruleset + "@" + std::to_string(record.version),
                                      *found->source, db, out, err, json_out, exit_code, catalog);
        if (!loaded) return std::nullopt;
    } else {
        note_other_rules(rules, *loaded, found->source, stored);
    }
    // The run's cut points are not applied here, as they are on SQLite: the server ranks the
    // base as it is now, so customers added or changed since can move this one's tile.
    if (!state::population_exprs(*loaded->rules).empty())
        stored.notes.push_back(
            "the population calls rank the base as it is in the warehouse now, not with run " +
            std::to_string(record.run_id) +
            "'s cut points (as on SQLite): customers added or changed since the run can move "
            "this one's tile or class");
    auto e = explain_loaded_in_warehouse(*loaded, *catalog, db,
                                         as_of_text ? as_of_text : std::optional(record.as_of),
                                         customer, out, err, json, exit_code);
    if (!e) return std::nullopt;
    return WarehouseStoredExplain{std::move(*e), std::move(stored)};
}

}  // namespace strata::cli
