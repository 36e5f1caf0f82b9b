#include "state/report_store.hpp"

#include <SQLiteCpp/Database.h>

#include <charconv>
#include <variant>

#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_state.hpp"
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

// What both warehouses share: the notes on what is not computed there, and the rule file's
// settings from the run version's registered source.
class WarehouseRunStore : public report::RunStore {
  public:
    WarehouseRunStore(std::string where, std::string backend)
        : where_(std::move(where)), backend_(std::move(backend)) {}

    std::string where() const override { return where_; }
    std::string listing_hint() const override { return {}; }
    bool has_membership() override { return true; }

    void add_customer_values(const RunRecord& run, ReportModel& m) override {
        // report.min_share and the `value` text come from the version's source; the rule file
        // compiles without the base's catalog for them (unknown names are taken as columns).
        if (auto source = version_source(run)) {
            Diagnostics diags;
            auto rules =
                compile_rules(SourceFile(run.ruleset + "@" + std::to_string(run.version), *source),
                              nullptr, diags);
            if (rules) report::apply_rule_settings(*rules, m);
        }
        m.notes.push_back(
            "How each segment differs from the base, the Pareto curve and R × F need each "
            "customer's values: they are not computed on " +
            backend_ +
            " yet (the report reads the run's stored counts from the warehouse, no customer "
            "rows), so these sections are left out.");
    }

    void add_readout(ReportModel& m) override {
        if (m.triggers.empty()) return;
        m.notes.push_back("The holdout readout of the triggers is not computed on " + backend_ +
                          " yet; the run's trigger counts and the outbox rows are shown.");
    }

  protected:
    // The source the run's version was registered with; nullopt when it was not kept.
    virtual std::optional<std::string> version_source(const RunRecord& run) = 0;

  private:
    std::string where_;
    std::string backend_;
};

class PostgresReportStore : public WarehouseRunStore {
  public:
    PostgresReportStore(std::string where, warehouse::PostgresConnection db)
        : WarehouseRunStore(std::move(where), "PostgreSQL"), db_(std::move(db)) {}

    std::optional<std::vector<RunRecord>> runs() override {
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

  protected:
    std::optional<std::string> version_source(const RunRecord& run) override {
        return value_or_throw(postgres_version_source(db_, run));
    }

  private:
    warehouse::PostgresConnection db_;
};

class ClickHouseReportStore : public WarehouseRunStore {
  public:
    ClickHouseReportStore(std::string where, warehouse::ClickHouseClient client,
                          std::optional<std::string> actions)
        : WarehouseRunStore(std::move(where), "ClickHouse"),
          client_(std::move(client)),
          actions_(std::move(actions)) {}

    // Complete runs only: a run is there once its 'complete' row is, which holds its summary.
    std::optional<std::vector<RunRecord>> runs() override {
        if (query("EXISTS TABLE strata_runs").rows.at(0).at(0).value_or("0") != "1")
            return std::nullopt;
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
            auto db = value_or_throw(warehouse::PostgresConnection::connect(*pg));
            return postgres_outbox_counts(db, ruleset);
        }
        if (!std::holds_alternative<warehouse::SqlitePath>(*location))
            throw StoreReadError{"--state must be a SQLite file or a postgresql:// URL"};
        SQLite::Database state(std::get<warehouse::SqlitePath>(*location).path,
                               SQLite::OPEN_READONLY);
        return report::sqlite_outbox_counts(state, ruleset);
    }

    void add_readout(ReportModel& m) override {
        if (!m.triggers.empty() && !actions_)
            m.notes.push_back(
                "The actions of a run inside ClickHouse are in the store given to 'strata run' "
                "with --state; give the same --state to see its outbox rows.");
        WarehouseRunStore::add_readout(m);
    }

  protected:
    std::optional<std::string> version_source(const RunRecord& run) override {
        std::string error;
        std::optional<std::string> source;
        if (!clickhouse_version_source(client_, run, source, error)) throw StoreReadError{error};
        return source;
    }

  private:
    ResultTable query(const std::string& sql) { return value_or_throw(client_.query(sql)); }

    warehouse::ClickHouseClient client_;
    std::optional<std::string> actions_;
};

}  // namespace

std::unique_ptr<report::RunStore> open_warehouse_report_store(
    const std::string& db, const std::optional<std::string>& actions, std::string& error) {
    auto location = warehouse::parse_database_argument(db, error);
    if (!location) return nullptr;
    const std::string where = warehouse::describe_location(*location);
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
        if (actions) {
            error = "--state: a run inside PostgreSQL keeps its state and outbox in that database";
            return nullptr;
        }
        auto connection = warehouse::PostgresConnection::connect(*pg);
        if (!connection) {
            error = connection.error().describe();
            return nullptr;
        }
        return std::make_unique<PostgresReportStore>(where, std::move(connection.value()));
    }
    if (const auto* ch = std::get_if<warehouse::ClickHouseUrl>(&*location))
        return std::make_unique<ClickHouseReportStore>(where, warehouse::ClickHouseClient(*ch),
                                                       actions);
    error = "'" + db + "' is not a postgresql:// or clickhouse:// URL";
    return nullptr;
}

}  // namespace strata::state
