#include "state/warehouse_audit.hpp"

#include "state/foreign_tables.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <charconv>
#include <variant>

#include "engine/store.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_outbox.hpp"
#include "state/postgres_state.hpp"
#include "state/report_store.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::ResultTable;

namespace {

// The tables the SQLite readers read, with the columns they read. strata_stay_history is
// filled from warehouse_stays (each stay's ruleset, key, segment name, level, entering run and
// ending run, 0 while it lasts) by kStayHistory.
constexpr const char* kMemorySchema = R"sql(
CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY, ruleset TEXT NOT NULL,
  version INTEGER NOT NULL, rules_sha256 TEXT NOT NULL, as_of TEXT NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT NOT NULL, customers INTEGER NOT NULL,
  summary TEXT NOT NULL);
CREATE TABLE strata_rulesets (name TEXT PRIMARY KEY);
CREATE TABLE strata_versions (ruleset TEXT NOT NULL, version INTEGER NOT NULL,
  sha256 TEXT NOT NULL, source BLOB, first_seen TEXT NOT NULL,
  PRIMARY KEY (ruleset, version, sha256));
CREATE TABLE warehouse_stays (ruleset TEXT NOT NULL, customer_key NOT NULL,
  segment TEXT NOT NULL, level INTEGER NOT NULL, entered_run INTEGER NOT NULL,
  exited_run INTEGER NOT NULL);
CREATE TABLE warehouse_exits (ruleset TEXT NOT NULL, customer_key NOT NULL,
  segment TEXT NOT NULL, level INTEGER NOT NULL, entered_run INTEGER NOT NULL,
  exited_run INTEGER NOT NULL);
CREATE TABLE strata_stay_history (ruleset, customer_key, segment, level, entered_run,
  entered_as_of, exited_run, exited_as_of, version, cause);
)sql";

// The stays with their days, versions and causes, as the SQLite state's strata_stay_history
// view derives them from its runs (engine/state.cpp): the version and cause of the run that
// began the stay, the as_of of the runs that began and ended it. A stay whose entering run is
// not among the runs read (ClickHouse: not complete) is left out.
constexpr const char* kStayHistory = R"sql(
INSERT INTO strata_stay_history
  SELECT s.ruleset, s.customer_key, s.segment, s.level, s.entered_run, e.as_of,
         nullif(s.exited_run, 0), x.as_of, e.version,
         coalesce(json_extract(e.summary, '$.transitions.cause'), 'data')
  FROM warehouse_stays s JOIN strata_runs e ON e.run_id = s.entered_run
  LEFT JOIN strata_runs x ON x.run_id = s.exited_run;
)sql";

// ClickHouse never updates a stay: its end is a row of strata_stay_exits, which counts only
// when the run that wrote it is complete. An exit matches its stay as open_stays matches them
// (state/clickhouse_state.cpp): by general or tactical, not by tactical level, which a later
// version may have changed.
constexpr const char* kClickHouseExits = R"sql(
UPDATE warehouse_stays SET exited_run = coalesce((
    SELECT min(x.exited_run) FROM warehouse_exits x JOIN strata_runs r ON r.run_id = x.exited_run
    WHERE x.ruleset = warehouse_stays.ruleset AND x.customer_key = warehouse_stays.customer_key
      AND (x.level = 0) = (warehouse_stays.level = 0) AND x.segment = warehouse_stays.segment
      AND x.entered_run = warehouse_stays.entered_run), 0);
)sql";

// ClickHouse registers a version just before its run's last row: a version without a complete
// run is left out, and its first sighting is the start of its first complete run.
constexpr const char* kClickHouseVersions = R"sql(
DELETE FROM strata_versions WHERE NOT EXISTS (SELECT 1 FROM strata_runs r
  WHERE r.ruleset = strata_versions.ruleset AND r.version = strata_versions.version
    AND r.rules_sha256 = strata_versions.sha256);
UPDATE strata_versions SET first_seen = (SELECT min(r.started_at) FROM strata_runs r
  WHERE r.ruleset = strata_versions.ruleset AND r.version = strata_versions.version
    AND r.rules_sha256 = strata_versions.sha256);
)sql";

int64_t integer_of(const Cell& cell) {
    int64_t v = 0;
    if (cell) std::from_chars(cell->data(), cell->data() + cell->size(), v);
    return v;
}

const std::string& text_of(const Cell& cell) {
    static const std::string empty;
    return cell ? *cell : empty;
}

template <class T>
T value_or_throw(warehouse::Outcome<T> outcome) {
    if (!outcome) throw report::StoreReadError{outcome.error().describe()};
    return std::move(outcome.value());
}

void bind_key(SQLite::Statement& q, int at, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key))
        q.bind(at, static_cast<int64_t>(*i));
    else
        q.bind(at, std::get<Str>(key).str());
}

void add_runs(SQLite::Database& memory, const std::vector<RunRecord>& runs) {
    insert_run_records(memory, runs);
    SQLite::Statement name(memory, "INSERT OR IGNORE INTO strata_rulesets VALUES (?)");
    for (const RunRecord& r : runs) {
        name.bind(1, r.ruleset);
        name.exec();
        name.reset();
    }
}

// Rows of (ruleset, version, sha256, source or null, first_seen).
void add_versions(SQLite::Database& memory, const ResultTable& t) {
    SQLite::Statement insert(memory,
                             "INSERT OR IGNORE INTO strata_versions VALUES (?, ?, ?, ?, ?)");
    for (const auto& row : t.rows) {
        insert.bind(1, text_of(row[0]));
        insert.bind(2, integer_of(row[1]));
        insert.bind(3, text_of(row[2]));
        if (row[3])
            insert.bind(4, row[3]->data(), static_cast<int>(row[3]->size()));  // the bytes as run
        else
            insert.bind(4);
        insert.bind(5, text_of(row[4]));
        insert.exec();
        insert.reset();
    }
}

// Rows of (ruleset, segment, level, entered_run, exited_run) of one key, into `table`.
void add_stays(SQLite::Database& memory, const char* table, const Value& key,
               const ResultTable& t) {
    SQLite::Statement insert(memory,
                             std::string("INSERT INTO ") + table + " VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& row : t.rows) {
        insert.bind(1, text_of(row[0]));
        bind_key(insert, 2, key);
        insert.bind(3, text_of(row[1]));
        insert.bind(4, integer_of(row[2]));
        insert.bind(5, integer_of(row[3]));
        insert.bind(6, integer_of(row[4]));
        insert.exec();
        insert.reset();
    }
}

OutboxFilter actions_filter(const AuditRequest& request) {
    OutboxFilter filter;
    filter.ruleset = request.ruleset;
    filter.customer_keys = request.keys;
    return filter;
}

void read_postgres(warehouse::PostgresConnection& db, const AuditRequest& request,
                   SQLite::Database& memory, WarehouseAudit& audit) {
    const auto present =
        value_or_throw(db.exec("SELECT to_regclass('strata_versions') IS NOT NULL"));
    if (text_of(present.rows.at(0).at(0)) == "t") {
        auto versions = value_or_throw(
            db.exec("SELECT ruleset, version, sha256, encode(source, 'hex'), first_seen FROM "
                    "strata_versions"));
        // Sources come as hexadecimal text: back to their bytes.
        for (auto& row : versions.rows) {
            if (row[3]) row[3] = from_hex(*row[3]);
        }
        add_versions(memory, versions);
    }
    for (const Value& key : request.keys) {
        const auto* integer = std::get_if<int64_t>(&key);
        add_stays(
            memory, "warehouse_stays", key,
            value_or_throw(db.exec(
                "SELECT n.name, g.name, s.level, s.entered_run, s.exited_run FROM strata_stays s "
                "JOIN strata_rulesets n ON n.ruleset_id = s.ruleset "
                "JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment "
                "WHERE s.customer_key = $1 AND s.key_is_integer = $2::boolean "
                "AND ($3::text IS NULL OR n.name = $3)",
                {integer ? std::to_string(*integer) : std::get<Str>(key).str(),
                 integer ? "true" : "false", request.ruleset})));
    }
    if (!request.keys.empty())
        audit.actions = value_or_throw(list_postgres_outbox(db, actions_filter(request)));
}

// The actions of a ClickHouse run's keys from the --state store it wrote them to.
std::vector<OutboxEntry> stored_actions(const std::string& store, const AuditRequest& request,
                                        const std::vector<std::string>& rulesets) {
    std::string error;
    auto location = warehouse::parse_database_argument(store, error);
    if (!location) throw report::StoreReadError{"--state: " + error};
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
        auto db = value_or_throw(state::connect_postgres_state(*pg));
        return value_or_throw(list_postgres_outbox(db, actions_filter(request)));
    }
    if (!std::holds_alternative<warehouse::SqlitePath>(*location))
        throw report::StoreReadError{
            "--state names a ClickHouse database, which holds no outbox: a run on ClickHouse "
            "writes its actions to the store given as its --state (a SQLite file or a "
            "postgresql:// URL); give that store as --state"};
    StoreError open_error;
    auto state = open_read_only(std::get<warehouse::SqlitePath>(*location).path, open_error);
    if (!state) throw report::StoreReadError{open_error.message};
    try {
        if (!state->tableExists("strata_outbox")) return {};
        if (request.ruleset) return list_outbox(*state, actions_filter(request));
        // The file may hold actions of other rulesets' runs (stored in it, or in another
        // warehouse): only those of the rulesets this ClickHouse database has runs of.
        std::vector<OutboxEntry> rows = list_outbox(*state, actions_filter(request));
        std::erase_if(rows, [&](const OutboxEntry& row) {
            return !std::binary_search(rulesets.begin(), rulesets.end(), row.row.ruleset);
        });
        return rows;
    } catch (const SQLite::Exception& e) {
        throw report::StoreReadError{"cannot read table 'strata_outbox' of '" +
                                     state->getFilename() + "': " + e.what()};
    }
}

void read_clickhouse(warehouse::ClickHouseClient& client, const AuditRequest& request,
                     SQLite::Database& memory, WarehouseAudit& audit) {
    auto query = [&](const std::string& sql) { return value_or_throw(client.query(sql)); };
    add_versions(memory, query("SELECT ruleset, version, sha256, any(source), min(first_seen) "
                               "FROM strata_versions GROUP BY ruleset, version, sha256"));
    // A source of '' is one that was not kept.
    memory.exec("UPDATE strata_versions SET source = NULL WHERE length(source) = 0");
    memory.exec(kClickHouseVersions);
    const std::string only_ruleset =
        request.ruleset ? " AND ruleset = " + lit(*request.ruleset) : std::string();
    for (const Value& key : request.keys) {
        // Keys inside ClickHouse are integers: a text key is never stored there.
        const auto* integer = std::get_if<int64_t>(&key);
        if (!integer) continue;
        const std::string where =
            " WHERE customer_key = " + std::to_string(*integer) + only_ruleset;
        add_stays(
            memory, "warehouse_stays", key,
            query("SELECT ruleset, segment, level, entered_run, 0 FROM strata_stays" + where));
        add_stays(memory, "warehouse_exits", key,
                  query("SELECT ruleset, segment, level, entered_run, exited_run FROM "
                        "strata_stay_exits" +
                        where));
    }
    memory.exec(kClickHouseExits);
    if (!request.keys.empty() && request.actions_store) {
        std::vector<std::string> rulesets;
        SQLite::Statement names(memory, "SELECT name FROM strata_rulesets ORDER BY name");
        while (names.executeStep())
            rulesets.push_back(names.getColumn(0).getString());
        audit.actions = stored_actions(*request.actions_store, request, rulesets);
    }
}

}  // namespace

std::optional<WarehouseAudit> read_warehouse_audit(const std::string& db,
                                                   const AuditRequest& request,
                                                   std::string& error) {
    auto location = warehouse::parse_database_argument(db, error);
    if (!location) return std::nullopt;
    WarehouseAudit audit;
    audit.where = warehouse::describe_location(*location);
    auto store = open_warehouse_report_store(db, request.actions_store, error);
    if (!store) return std::nullopt;
    try {
        const auto runs = store->runs();
        if (!runs) {
            error = "no runs are stored in '" + audit.where + "'; run 'strata run' first";
            return std::nullopt;
        }
        audit.state = std::make_unique<SQLite::Database>(":memory:", SQLite::OPEN_READWRITE);
        SQLite::Database& memory = *audit.state;
        memory.exec(kMemorySchema);
        SQLite::Transaction tx(memory);
        add_runs(memory, *runs);
        if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
            auto connection = value_or_throw(state::connect_postgres_state(*pg));
            read_postgres(connection, request, memory, audit);
        } else {
            warehouse::ClickHouseClient client(std::get<warehouse::ClickHouseUrl>(*location));
            read_clickhouse(client, request, memory, audit);
        }
        memory.exec(kStayHistory);
        tx.commit();
    } catch (const report::StoreReadError& e) {
        error = e.message;
        return std::nullopt;
    } catch (const SQLite::Exception& e) {
        error = "cannot read the run state of '" + audit.where + "': " + e.what();
        return std::nullopt;
    }
    return audit;
}

}  // namespace strata::state
