#include "state/report_store.hpp"

#include "state/foreign_tables.hpp"

#include <SQLiteCpp/Database.h>

#include <charconv>
#include <variant>

#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "report/value_sections.hpp"
#include "sql/postgres_catalog.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_state.hpp"
#include "state/warehouse_readout.hpp"
#include "state/warehouse_values.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

using report::FlowCounts;
using report::OutboxCount;
using report::ReportModel;
using report::StoreReadError;
using warehouse::Cell;
using warehouse::ResultTable;

namespace {

int64_t integer_of(const Cell& cell) {
    int64_t v = 0;
    if (cell) std::from_chars(cell->data(), cell->data() + cell->size(), v);
    return v;
}

template <class T>
T value_or_throw(warehouse::Outcome<T> outcome) {
    if (!outcome) throw StoreReadError{outcome.error().describe()};
    return std::move(outcome.value());
}

// The rows (segment before, segment after, customers) of a flows query as counts.
FlowCounts flow_counts(const ResultTable& t) {
    FlowCounts out;
    for (const auto& row : t.rows)
        out[{row[0].value_or(""), row[1].value_or("")}] += integer_of(row[2]);
    return out;
}

std::vector<OutboxCount> outbox_counts(const ResultTable& t) {
    std::vector<OutboxCount> out;
    for (const auto& row : t.rows)
        out.push_back({row[0].value_or(""), row[1].value_or(""), integer_of(row[2])});
    return out;
}

// The outbox of a ruleset in a PostgreSQL state, per trigger and status (bytes order).
std::vector<OutboxCount> postgres_outbox_counts(warehouse::PostgresConnection& db,
                                                const std::string& ruleset) {
    const auto present = value_or_throw(db.exec("SELECT to_regclass('strata_outbox') IS NOT NULL"));
    if (present.rows.at(0).at(0).value_or("f") != "t") return {};
    return outbox_counts(value_or_throw(db.exec(
        "SELECT trigger_id, status, count(*) FROM strata_outbox WHERE ruleset = $1 "
        "GROUP BY trigger_id, status ORDER BY trigger_id COLLATE \"C\", status COLLATE \"C\"",
        {ruleset})));
}

// What both warehouses share: the run version compiled against the base's catalog, then
// evaluated by the backend for the sections that need each customer's values.
class WarehouseRunStore : public report::RunStore {
  public:
    explicit WarehouseRunStore(std::string where) : where_(std::move(where)) {}

    std::string where() const override { return where_; }
    std::string listing_hint() const override { return {}; }
    bool has_membership() override { return true; }

    std::optional<std::vector<RunRecord>> runs() override {
        runs_ = read_runs();
        return runs_;
    }

    // As the SQLite store does (report/customer_values.hpp), with the server evaluating.
    void add_customer_values(const RunRecord& run, ReportModel& m) override {
        const std::string version = run.ruleset + " v" + std::to_string(run.version);
        auto source = version_source(run);
        if (!source) {
            m.notes.push_back("The source of " + version + " is not kept in the state." +
                              report::kValuesLeftOut);
            return;
        }
        // report.min_share and the `value` text, even when the sections cannot be computed: the
        // file compiles without the base's catalog for them (unknown names taken as columns).
        {
            Diagnostics settings;
            if (auto loose = compile_rules(
                    SourceFile(run.ruleset + "@" + std::to_string(run.version), *source), nullptr,
                    settings))
                report::apply_rule_settings(*loose, m);
        }
        std::string error;
        auto catalog = read_catalog(error);
        if (!catalog) {
            m.notes.push_back("The customer database could not be read: " + error + "." +
                              report::kValuesLeftOut);
            return;
        }
        Diagnostics diags;
        auto rules = compile_rules(
            SourceFile(run.ruleset + "@" + std::to_string(run.version), *source), &*catalog, diags);
        if (!rules || diags.has_errors()) {
            std::string first;
            for (const auto& d : diags.items()) {
                if (d.severity == Severity::Error && first.empty()) first = d.message;
            }
            m.notes.push_back(version + " no longer compiles against the customer database" +
                              (first.empty() ? std::string() : " (" + first + ")") + "." +
                              report::kValuesLeftOut);
            return;
        }
        customer_values(*rules, *catalog, run, m);
    }

  protected:
    virtual std::optional<std::vector<RunRecord>> read_runs() = 0;
    // The base's catalog; nullopt with `error` set when it cannot be read.
    virtual std::optional<Schema> read_catalog(std::string& error) = 0;
    virtual void customer_values(const CompiledRules& rules, const Schema& catalog,
                                 const RunRecord& run, ReportModel& m) = 0;
    const std::vector<RunRecord>& stored_runs() const {
        static const std::vector<RunRecord> none;
        return runs_ ? *runs_ : none;
    }
    // The source the run's version was registered with; nullopt when it was not kept.
    virtual std::optional<std::string> version_source(const RunRecord& run) = 0;

  private:
    std::string where_;
    std::optional<std::vector<RunRecord>> runs_;
};

class PostgresReportStore : public WarehouseRunStore {
  public:
    PostgresReportStore(std::string where, warehouse::PostgresConnection db)
        : WarehouseRunStore(std::move(where)), db_(std::move(db)) {}

    std::optional<std::vector<RunRecord>> read_runs() override {
        const auto present =
            value_or_throw(db_.exec("SELECT to_regclass('strata_runs') IS NOT NULL"));
        if (present.rows.at(0).at(0).value_or("f") != "t") return std::nullopt;
        const auto t = value_or_throw(
            db_.exec("SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, "
                     "started_at, finished_at, status, customers, summary FROM strata_runs "
                     "ORDER BY run_id"));
        std::vector<RunRecord> out;
        for (const auto& row : t.rows)
            out.push_back(run_record_from_row(row));
        return out;
    }

    // Each customer's general segment at both runs, joined on the server.
    FlowCounts flows(const RunRecord& from, const RunRecord& to) override {
        return flow_counts(value_or_throw(db_.exec(
            "SELECT coalesce(a.segment, ''), coalesce(b.segment, ''), count(*) FROM "
            "(SELECT customer_key, key_is_integer, segment FROM strata_membership "
            "WHERE run_id = $1::bigint) a FULL JOIN "
            "(SELECT customer_key, key_is_integer, segment FROM strata_membership "
            "WHERE run_id = $2::bigint) b USING (customer_key, key_is_integer) GROUP BY 1, 2",
            {std::to_string(from.run_id), std::to_string(to.run_id)})));
    }

    std::vector<OutboxCount> outbox(const std::string& ruleset) override {
        return postgres_outbox_counts(db_, ruleset);
    }

    void add_readout(ReportModel& m) override {
        report::add_readout_rows(postgres_readout(db_, m.ruleset, stored_runs()), m);
    }

  protected:
    std::optional<std::string> version_source(const RunRecord& run) override {
        return value_or_throw(postgres_version_source(db_, run));
    }
    std::optional<Schema> read_catalog(std::string& error) override {
        return sql::read_postgres_schema(db_, error);
    }
    void customer_values(const CompiledRules& rules, const Schema& catalog, const RunRecord& run,
                         ReportModel& m) override {
        postgres_customer_values(db_, rules, catalog, run, m);
    }

  private:
    warehouse::PostgresConnection db_;
};

class ClickHouseReportStore : public WarehouseRunStore {
  public:
    ClickHouseReportStore(std::string where, warehouse::ClickHouseClient client,
                          std::optional<std::string> actions, ClickHouseCatalogReader catalog)
        : WarehouseRunStore(std::move(where)),
          client_(std::move(client)),
          actions_(std::move(actions)),
          catalog_(std::move(catalog)) {}

    // Complete runs only: a run is there once its 'complete' row is, which holds its summary.
    std::optional<std::vector<RunRecord>> read_runs() override {
        if (query("EXISTS TABLE strata_runs").rows.at(0).at(0).value_or("0") != "1")
            return std::nullopt;
        if (std::string foreign; !check_clickhouse_state_tables(client_, foreign))
            throw StoreReadError{foreign};
        const auto t = query(
            "SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, started_at, "
            "finished_at, status, customers, summary FROM strata_runs "
            "WHERE status = 'complete' ORDER BY run_id");
        std::vector<RunRecord> out;
        for (const auto& row : t.rows)
            out.push_back(run_record_from_row(row));
        return out;
    }

    // Each customer's general stay open at either run, one row per run, grouped on the server
    // by customer and then by pair (no join needed).
    FlowCounts flows(const RunRecord& from, const RunRecord& to) override {
        const std::string& ruleset = to.ruleset;
        return flow_counts(query(
            "SELECT seg_from, seg_to, count() FROM (SELECT customer_key, max(seg_was) AS seg_from, "
            "max(seg_now) AS seg_to FROM (SELECT customer_key, segment AS seg_was, '' AS seg_now "
            "FROM (" +
            open_stays(ruleset, std::to_string(from.run_id)) +
            ") WHERE level = 0 UNION ALL SELECT customer_key, '' AS seg_was, segment AS seg_now "
            "FROM (" +
            open_stays(ruleset, std::to_string(to.run_id)) +
            ") WHERE level = 0) GROUP BY customer_key) GROUP BY seg_from, seg_to"));
    }

    // The actions of a ClickHouse run are in the --state store.
    std::vector<OutboxCount> outbox(const std::string& ruleset) override {
        if (!actions_) return {};
        std::string error;
        auto location = warehouse::parse_database_argument(*actions_, error);
        if (!location) throw StoreReadError{error};
        if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
            auto db = value_or_throw(state::connect_postgres_state(*pg));
            return postgres_outbox_counts(db, ruleset);
        }
        if (!std::holds_alternative<warehouse::SqlitePath>(*location))
            throw StoreReadError{"--state must be a SQLite file or a postgresql:// URL"};
        SQLite::Database state(std::get<warehouse::SqlitePath>(*location).path,
                               SQLite::OPEN_READONLY);
        return report::sqlite_outbox_counts(state, ruleset);
    }

    // The firings are in the --state store; without it there is no readout.
    void add_readout(ReportModel& m) override {
        if (!actions_) {
            if (!m.triggers.empty())
                m.notes.push_back(
                    "The actions of a run inside ClickHouse are in the store given to 'strata "
                    "run' with --state; give the same --state to see its outbox rows and the "
                    "holdout readout.");
            return;
        }
        report::add_readout_rows(clickhouse_readout(client_, *actions_, m.ruleset, stored_runs()),
                                 m);
    }

  protected:
    std::optional<std::string> version_source(const RunRecord& run) override {
        std::string error;
        std::optional<std::string> source;
        if (!clickhouse_version_source(client_, run, source, error)) throw StoreReadError{error};
        return source;
    }
    std::optional<Schema> read_catalog(std::string& error) override {
        if (!catalog_) {
            error = "no reader of the ClickHouse catalog was given";
            return std::nullopt;
        }
        return catalog_(error);
    }
    void customer_values(const CompiledRules& rules, const Schema& catalog, const RunRecord& run,
                         ReportModel& m) override {
        clickhouse_customer_values(client_, rules, catalog, run, m);
    }

  private:
    ResultTable query(const std::string& sql) { return value_or_throw(client_.query(sql)); }

    warehouse::ClickHouseClient client_;
    std::optional<std::string> actions_;
    ClickHouseCatalogReader catalog_;
};

}  // namespace

std::unique_ptr<report::RunStore> open_warehouse_report_store(
    const std::string& db, const std::optional<std::string>& actions, std::string& error,
    ClickHouseCatalogReader clickhouse_catalog) {
    auto location = warehouse::parse_database_argument(db, error);
    if (!location) return nullptr;
    const std::string where = warehouse::describe_location(*location);
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
        if (actions) {
            error = "--state: a run inside PostgreSQL keeps its state and outbox in that database";
            return nullptr;
        }
        auto connection = state::connect_postgres_state(*pg);
        if (!connection) {
            error = connection.error().describe();
            return nullptr;
        }
        return std::make_unique<PostgresReportStore>(where, std::move(connection.value()));
    }
    if (const auto* ch = std::get_if<warehouse::ClickHouseUrl>(&*location))
        return std::make_unique<ClickHouseReportStore>(where, warehouse::ClickHouseClient(*ch),
                                                       actions, std::move(clickhouse_catalog));
    error = "'" + db + "' is not a postgresql:// or clickhouse:// URL";
    return nullptr;
}

}  // namespace strata::state
