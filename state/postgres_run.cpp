#include "state/postgres_run.hpp"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>

#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/state.hpp"
#include "engine/versions.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/postgres_state.hpp"
#include "state/postgres_triggers.hpp"
#include "state/warehouse_populations.hpp"
#include "state/warehouse_quality.hpp"
#include "state/warehouse_report.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::PostgresConnection;
using warehouse::ResultTable;

namespace {

// The advisory lock every run on a database holds for its transaction: one writer at a time,
// as on the SQLite state.
constexpr const char* kRunLock = "7235182934581230613";

// SQLSTATE lock_not_available: the lock was not granted within lock_timeout.
constexpr const char* kLockTimeout = "55P03";

// One run's work on an open transaction. Each step returns false with `error` set.
class PostgresRun {
  public:
    PostgresRun(PostgresConnection& db, const CompiledRules& rules,
                const PostgresRunOptions& options, PostgresRunError& error)
        : db_(db), rules_(rules), options_(options), error_(error) {}

    bool exec(const std::string& sql, const std::vector<Cell>& params = {},
              ResultTable* result = nullptr) {
        auto done = db_.exec(sql, params);
        if (!done) {
            error_.message = done.error().describe();
            if (done.error().code == kLockTimeout)
                error_.message =
                    "the run state in PostgreSQL is locked by another run or reader (waited " +
                    std::to_string(options_.wait_ms / 1000) + " s)";
            return false;
        }
        if (result) *result = std::move(done.value());
        return true;
    }

    template <class T>
    bool take(warehouse::Outcome<T> outcome, T* out = nullptr) {
        if (!outcome) {
            error_.message = outcome.error().describe();
            return false;
        }
        if (out) *out = std::move(outcome.value());
        return true;
    }

    PostgresConnection& db_;
    const CompiledRules& rules_;
    const PostgresRunOptions& options_;
    PostgresRunError& error_;
};

}  // namespace

std::optional<RunReport> run_in_postgres(const CompiledRules& rules, const Schema& catalog,
                                         const warehouse::PostgresUrl& url,
                                         const PostgresRunOptions& options,
                                         PostgresRunError& error) {
    const auto started = std::chrono::steady_clock::now();
    const RuleFile& file = rules.rules;
    const TriggerColumns trigger_values = trigger_columns(rules);
    sql::RunColumns columns = run_columns(rules);
    auto dialect = sql::make_postgres_dialect(&catalog);
    auto query = sql::compile_run_query(rules, options.as_of, *dialect, error.refusals, columns);
    if (!query) {
        const size_t n = error.refusals.error_count();
        error.message = std::to_string(n) + (n == 1 ? " construct" : " constructs") +
                        " cannot be compiled to postgres";
        error.rule_problem = true;
        return std::nullopt;
    }
    const TableSchema* customers = catalog.find(file.customers_table);
    const ColumnSchema* key_column = customers ? customers->find(file.key) : nullptr;
    const bool integer_keys = key_column && key_column->type == Type::Int;
    const std::string key_flag = integer_keys ? "true" : "false";
    const std::string key_order = integer_keys ? "customer_key" : "customer_key COLLATE \"C\"";

    auto connection = PostgresConnection::connect(url);
    if (!connection) {
        error.message = connection.error().describe();
        return std::nullopt;
    }
    PostgresConnection& db = connection.value();
    auto transaction = warehouse::PostgresTransaction::begin(db);
    if (!transaction) {
        error.message = transaction.error().describe();
        return std::nullopt;
    }
    PostgresRun run(db, rules, options, error);
    // JIT compiling the run's large query costs seconds and gains nothing (bench/). A dry run
    // writes nothing that lasts, so it does not wait for the lock, nor hold it. lock_timeout 0
    // would wait for ever: --wait 0s waits a millisecond.
    if (!run.exec("SET LOCAL lock_timeout = '" + std::to_string(std::max(1, options.wait_ms)) +
                  "ms'") ||
        !run.exec("SET LOCAL jit = off") ||
        (!options.dry_run &&
         !run.exec("SELECT pg_advisory_xact_lock(" + std::string(kRunLock) + ")")) ||
        !run.take(ensure_postgres_state(db)))
        return std::nullopt;

    RunReport rep;
    rep.ruleset = file.ruleset;
    rep.version = file.version;
    rep.sha256 = options.rules_sha256;
    rep.as_of = options.as_of;
    rep.warnings = options.warnings;
    rep.source = options.source;
    const std::string as_of = format_date(options.as_of);
    const std::string started_at = utc_now();

    std::optional<RunRecord> previous;
    if (!run.take(find_postgres_run(db, file.ruleset, std::nullopt), &previous))
        return std::nullopt;
    if (!options.dry_run) {
        if (auto refused = refuses_going_back(previous, file.ruleset, as_of)) {
            error.message = *refused;
            return std::nullopt;
        }
    }
    const std::string source_text = options.source ? options.source->text() : std::string();
    std::optional<std::string> unbumped;
    // The command it suggests runs as written: the URL, without its password.
    const std::string show_options =
        " --db " + shell_word(warehouse::describe_location(warehouse::DatabaseLocation{url}));
    if (!run.take(
            postgres_refuses_unbumped_version(db, file.ruleset, file.version, options.rules_sha256,
                                              source_text, show_options),
            &unbumped))
        return std::nullopt;
    if (unbumped && !options.dry_run) {
        error.message = *unbumped;
        error.rule_problem = true;
        return std::nullopt;
    }
    if (!run.take(register_postgres_version(
            db, file.ruleset, file.version, options.rules_sha256,
            options.source ? std::optional<std::string>(source_text) : std::nullopt, started_at)))
        return std::nullopt;

    // The ruleset's id and its segments' codes: general ids at level 0, tactical paths at
    // 1 + their place in the rule file.
    ResultTable table;
    if (!run.exec("INSERT INTO strata_rulesets (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                  {file.ruleset}) ||
        !run.exec("SELECT ruleset_id FROM strata_rulesets WHERE name = $1", {file.ruleset}, &table))
        return std::nullopt;
    const std::string ruleset_id = table.rows.at(0).at(0).value_or("0");
    WarehouseReport report(rules, rep);
    const SegmentPlan& plan = report.plan();
    std::vector<std::pair<std::string, int>> names;  // (name, level)
    for (const auto& s : rules.segments)
        names.emplace_back(s.def->id, 0);
    for (size_t t = 0; t < plan.tag_paths.size(); ++t)
        names.emplace_back(plan.tag_paths[t], static_cast<int>(t) + 1);
    if (!run.exec("SELECT name, code FROM strata_segments WHERE ruleset = $1::bigint", {ruleset_id},
                  &table))
        return std::nullopt;
    std::map<std::string, int64_t> codes;
    int64_t next_code = 0;
    for (const auto& row : table.rows) {
        codes[row[0].value_or("")] = cell_integer(row[1]);
        next_code = std::max(next_code, cell_integer(row[1]) + 1);
    }
    if (!run.exec("CREATE TEMP TABLE strata_run_names (name text COLLATE \"C\", level integer, "
                  "code integer) ON COMMIT DROP"))
        return std::nullopt;
    for (const auto& [name, level] : names) {
        auto [it, fresh] = codes.emplace(name, next_code);
        if (fresh) {
            ++next_code;
            if (!run.exec("INSERT INTO strata_segments (ruleset, code, name) "
                          "VALUES ($1::bigint, $2::integer, $3)",
                          {ruleset_id, std::to_string(it->second), name}))
                return std::nullopt;
        }
        if (!run.exec("INSERT INTO strata_run_names VALUES ($1, $2::integer, $3::integer)",
                      {name, std::to_string(level), std::to_string(it->second)}))
            return std::nullopt;
    }
    // The run record first, so that stays can refer to it; its summary comes last. Run ids
    // count up from 1 without gaps (runs hold the lock; a run that fails leaves none), as in
    // the SQLite state.
    if (!run.exec("INSERT INTO strata_runs (ruleset, version, rules_sha256, rules_path, as_of, "
                  "started_at, finished_at, status, customers, summary, run_id) VALUES ($1, "
                  "$2::bigint, $3, $4, $5, $6, $6, 'complete', 0, '{}', (SELECT "
                  "coalesce(max(run_id), 0) + 1 FROM strata_runs)) RETURNING run_id",
                  {file.ruleset, std::to_string(file.version), options.rules_sha256,
                   options.rules_path, as_of, started_at},
                  &table))
        return std::nullopt;
    const std::string run_id = table.rows.at(0).at(0).value_or("0");

    // The evaluation, on the server.
    if (!run.exec("CREATE TEMP TABLE strata_placed ON COMMIT DROP AS " + *query) ||
        !run.exec("ANALYZE strata_placed"))
        return std::nullopt;
    if (!run.exec("SELECT count(*), (SELECT string_agg(k, ', ') FROM (SELECT customer_key::text "
                  "AS k FROM strata_placed WHERE segment IS NULL ORDER BY " +
                      key_order + " LIMIT 5) e) FROM strata_placed WHERE segment IS NULL",
                  {}, &table))
        return std::nullopt;
    if (const int64_t unplaced = cell_integer(table.rows.at(0).at(0)); unplaced > 0) {
        error.message = unplaced_message(
            file.policy, unplaced, table.rows[0][1].value_or("") + (unplaced > 5 ? ", …" : ""),
            !options.dry_run);
        error.rule_problem = true;
        return std::nullopt;
    }

    // The counts of the report: per (segment, tactical) group, customers, valued customers
    // and unknowns.
    std::string counts = "SELECT segment, tactical, count(*), ";
    counts += columns.value ? "count(strata_value)" : "0";
    for (size_t i = 0; i < columns.unknowns; ++i)
        counts += ", sum(strata_unknown_" + std::to_string(i) + ")";
    if (!run.exec(counts + " FROM strata_placed GROUP BY segment, tactical", {}, &table))
        return std::nullopt;
    for (const auto& row : table.rows)
        report.add_group(row, columns.unknowns);
    // The values: each segment's members' values in exact units (engine/exact_sum.hpp), added
    // as numeric; a value without units (beyond 2^127 of them) makes the total out of range.
    rep.has_value = columns.value;
    if (columns.value) {
        // The usual value first, as engine/exact_sum.hpp's to_sum_units takes it: below 2^51
        // units, x · 10^9 as a double within a quarter of an integer rounds to that integer.
        // Any other value takes the exact path (a subquery per value, slower). Through bigint:
        // PostgreSQL casts a double to numeric by its first 15 digits.
        const std::string scaled = "(strata_value * CAST(1000000000 AS double precision))";
        const std::string units =
            "SELECT segment, tactical, CASE WHEN abs(strata_value) < 2251799.0 AND abs(" + scaled +
            " - round(" + scaled + ")) < 0.25 THEN CAST(CAST(round(" + scaled +
            ") AS bigint) AS numeric) ELSE " +
            dialect->abc_units("strata_value", Type::Number, "") +
            " END AS u FROM strata_placed WHERE strata_value IS NOT NULL";
        const std::string totals = "CAST(sum(p.u) AS text), count(*) - count(p.u)";
        if (!run.exec("SELECT p.segment, " + totals + " FROM (" + units + ") p GROUP BY p.segment",
                      {}, &table))
            return std::nullopt;
        for (const auto& row : table.rows)
            report.set_value(row[0].value_or(""), "",
                             WarehouseReport::total_of(row[1], cell_integer(row[2]) > 0));
        if (!run.exec("SELECT p.segment, t.path, " + totals + " FROM (" + units +
                          ") p CROSS JOIN LATERAL unnest(string_to_array(p.tactical, ';')) AS "
                          "t(path) GROUP BY 1, 2",
                      {}, &table))
            return std::nullopt;
        for (const auto& row : table.rows)
            report.set_value(row[0].value_or(""), row[1].value_or(""),
                             WarehouseReport::total_of(row[2], cell_integer(row[3]) > 0));
        report.finish_values();
    }
    // The cut points, from the run's table, and the data-quality findings, from the base's
    // tables read as the query read them, in the run's transaction.
    const WarehouseQuery ask = [&run](const std::string& sql, ResultTable& out) {
        return run.exec(sql, {}, &out);
    };
    if (!count_populations(rules, "strata_placed", integer_keys, WarehouseSql::Postgres, ask,
                           rep.populations) ||
        !count_data_quality(rules, options.as_of, *dialect, "strata_placed", rep.customers,
                            WarehouseSql::Postgres, ask, rep.data_quality))
        return std::nullopt;

    // Each customer's stays as this run places them.
    if (!run.exec("CREATE TEMP TABLE strata_new_stays ON COMMIT DROP AS "
                  "SELECT p.customer_key::text COLLATE \"C\" AS customer_key, n.level, "
                  "n.code AS segment FROM strata_placed p JOIN strata_run_names n "
                  "ON n.level = 0 AND n.name = p.segment "
                  "UNION ALL SELECT p.customer_key::text COLLATE \"C\", n.level, n.code "
                  "FROM strata_placed p CROSS JOIN LATERAL "
                  "unnest(string_to_array(p.tactical, ';')) AS t(name) "
                  "JOIN strata_run_names n ON n.level > 0 AND n.name = t.name") ||
        !run.exec("ANALYZE strata_new_stays"))
        return std::nullopt;
    // The triggers, before the stays change: they compare each customer's stays before and
    // after the run.
    PostgresFiringInput firing;
    firing.rules = &rules;
    firing.columns = &trigger_values;
    firing.ruleset_id = ruleset_id;
    firing.integer_keys = integer_keys;
    firing.previous = &previous;
    firing.fire_initial = options.fire_initial;
    firing.fire_on_rule_change = options.fire_on_rule_change;
    firing.as_of = options.as_of;
    firing.run_id = options.dry_run ? 0 : cell_integer(Cell(run_id));
    std::optional<std::string> refused_firing;
    if (!run.take(fire_in_postgres(db, firing, rep), &refused_firing)) return std::nullopt;
    if (refused_firing) {
        error.message = *refused_firing;
        error.rule_problem = true;
        return std::nullopt;
    }

    if (!options.dry_run) {
        // The moves between general segments since the ruleset's latest run, before the stays
        // change.
        if (!run.exec("SELECT o.name, p.segment, count(*) FROM "
                      "(SELECT s.customer_key, s.key_is_integer, g.name FROM strata_stays s "
                      "JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment "
                      "WHERE s.ruleset = $1::bigint AND s.exited_run = 0 AND s.level = 0) o "
                      "FULL JOIN (SELECT customer_key::text COLLATE \"C\" AS customer_key, "
                      "segment FROM strata_placed) p ON p.customer_key = o.customer_key AND "
                      "o.key_is_integer = " +
                          key_flag + " GROUP BY 1, 2",
                      {ruleset_id}, &table))
            return std::nullopt;
        RunTransitions transitions = WarehouseReport::moves(previous, file.version, table.rows);
        Transitions& t = transitions.counts;
        // The stays: close those that ended, move those that go on under a new level, open
        // the new ones.
        const std::vector<Cell> ids = {ruleset_id, run_id};
        const std::string same_stay =
            "n.customer_key = s.customer_key AND s.key_is_integer = " + key_flag +
            " AND n.segment = s.segment AND (n.level = 0) = (s.level = 0)";
        if (!run.exec("WITH closed AS (UPDATE strata_stays s SET exited_run = $2::bigint "
                      "WHERE s.ruleset = $1::bigint AND s.exited_run = 0 AND NOT EXISTS "
                      "(SELECT 1 FROM strata_new_stays n WHERE " +
                          same_stay +
                          ") RETURNING s.level) "
                          "SELECT count(*) FILTER (WHERE level > 0), count(*) FROM closed",
                      ids, &table))
            return std::nullopt;
        t.tactical_left = static_cast<size_t>(cell_integer(table.rows[0][0]));
        t.stays_written += static_cast<size_t>(cell_integer(table.rows[0][1]));
        if (!run.exec("WITH moved AS (UPDATE strata_stays s SET level = n.level "
                      "FROM strata_new_stays n WHERE s.ruleset = $1::bigint AND "
                      "s.exited_run = 0 AND " +
                          same_stay +
                          " AND n.level <> s.level RETURNING 1) SELECT count(*) FROM moved",
                      {ruleset_id}, &table))
            return std::nullopt;
        t.stays_written += static_cast<size_t>(cell_integer(table.rows[0][0]));
        if (!run.exec("WITH opened AS (INSERT INTO strata_stays (ruleset, exited_run, "
                      "customer_key, key_is_integer, level, segment, entered_run) "
                      "SELECT $1::bigint, 0, n.customer_key, " +
                          key_flag +
                          ", n.level, n.segment, $2::bigint FROM strata_new_stays n "
                          "WHERE NOT EXISTS (SELECT 1 FROM strata_stays s WHERE s.ruleset = "
                          "$1::bigint AND s.exited_run = 0 AND " +
                          same_stay +
                          ") RETURNING level) "
                          "SELECT count(*) FILTER (WHERE level > 0), count(*) FROM opened",
                      ids, &table))
            return std::nullopt;
        t.tactical_entered = static_cast<size_t>(cell_integer(table.rows[0][0]));
        t.stays_written += static_cast<size_t>(cell_integer(table.rows[0][1]));
        rep.transitions = std::move(transitions);
        rep.run_id = cell_integer(Cell(run_id));
    }
    rep.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (options.dry_run) {
        if (unbumped) error.message = *unbumped;  // said as a warning by the caller
        auto undone = transaction.value().rollback();
        if (!undone) {
            error.message = undone.error().describe();
            return std::nullopt;
        }
        return rep;
    }
    if (!run.exec("UPDATE strata_runs SET finished_at = $2, customers = $3::bigint, summary = $4 "
                  "WHERE run_id = $1::bigint",
                  {run_id, utc_now(), std::to_string(rep.customers), report_json(rep)}))
        return std::nullopt;
    auto committed = transaction.value().commit();
    if (!committed) {
        error.message = committed.error().describe();
        return std::nullopt;
    }
    return rep;
}

}  // namespace strata::state
