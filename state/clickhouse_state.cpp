#include "state/clickhouse_state.hpp"

#include "state/foreign_tables.hpp"

#include "state/clickhouse_claim.hpp"
#include "state/clickhouse_run.hpp"

#include <algorithm>
#include <cstdlib>

#include "engine/value_pool.hpp"
#include "sql/clickhouse_native.hpp"
#include "warehouse/clickhouse_text.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::ClickHouseClient;
using warehouse::ResultTable;

namespace {

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS strata_runs (run_id UInt64, ruleset String, version Int64, "
    "rules_sha256 String, rules_path String, as_of String, started_at String, finished_at "
    "String, status String, customers Int64, summary String) ENGINE = MergeTree "
    "ORDER BY (ruleset, run_id)",
    "CREATE TABLE IF NOT EXISTS strata_stays (ruleset String, customer_key Int64, level Int32, "
    "segment String, entered_run UInt64) ENGINE = MergeTree "
    "ORDER BY (ruleset, customer_key, segment, entered_run)",
    "CREATE TABLE IF NOT EXISTS strata_stay_exits (ruleset String, customer_key Int64, level "
    "Int32, segment String, entered_run UInt64, exited_run UInt64) ENGINE = MergeTree "
    "ORDER BY (ruleset, customer_key, segment, entered_run)",
    "CREATE TABLE IF NOT EXISTS strata_run_levels (ruleset String, run_id UInt64, path String, "
    "level Int32) ENGINE = MergeTree ORDER BY (ruleset, run_id, path)",
    "CREATE TABLE IF NOT EXISTS strata_run_segments (ruleset String, run_id UInt64, segment "
    "String, offer String, channel String, priority Nullable(Int64)) ENGINE = MergeTree "
    "ORDER BY (ruleset, run_id, segment)",
    "CREATE TABLE IF NOT EXISTS strata_versions (ruleset String, version Int64, sha256 String, "
    "source String, first_seen String) ENGINE = MergeTree ORDER BY (ruleset, version, sha256)",
    // state/clickhouse_claim.hpp: run ids and one run of a ruleset at a time.
    "CREATE TABLE IF NOT EXISTS strata_run_claims (run_id UInt64, ruleset String, token String, "
    "claimed_at DateTime) ENGINE = MergeTree ORDER BY (run_id, token)",
    "CREATE TABLE IF NOT EXISTS strata_run_heartbeats (ruleset String, run_id UInt64, token "
    "String, beat UInt64, at DateTime, stepped_back UInt8) ENGINE = MergeTree "
    "ORDER BY (ruleset, run_id, token, beat)",
};

int64_t integer_of(const Cell& cell) {
    return cell ? std::strtoll(cell->c_str(), nullptr, 10) : 0;
}

}  // namespace

bool clickhouse_keys_unique(ClickHouseClient& client, const std::string& table,
                            const std::string& key, const std::string& what, std::string& error) {
    const auto quoted_key = warehouse::quote_clickhouse_identifier(key);
    const auto quoted_table = warehouse::quote_clickhouse_identifier(table);
    if (!quoted_table || !quoted_key) {
        error = quoted_table ? "the customer key column " + warehouse::identifier_problem(key)
                             : "the customer table " + warehouse::identifier_problem(table);
        return false;
    }
    // The key as the compiled query reads it (sql/clickhouse_native.hpp): a UInt64 beyond the
    // largest Int64 is no key there, as a null is.
    ResultTable type;
    if (!run_statement(client,
                       "SELECT type FROM system.columns WHERE database = currentDatabase() AND "
                       "table = " +
                           warehouse::clickhouse_string_literal(table) +
                           " AND name = " + warehouse::clickhouse_string_literal(key),
                       &type, error))
        return false;
    const std::string native =
        type.rows.empty() ? std::string() : type.rows.at(0).at(0).value_or("");
    const std::string read = sql::clickhouse_native_value(native, *quoted_key);
    ResultTable t;
    if (!run_statement(client,
                       "SELECT count(), uniqExact(" + read + "), countIf(isNull(" + read +
                           ")) FROM " + *quoted_table,
                       &t, error))
        return false;
    const auto number = [&t](size_t i) { return std::stoll(t.rows.at(0).at(i).value_or("0")); };
    const int64_t rows = number(0), keys = number(1), nulls = number(2);
    if (rows == keys + nulls && nulls == 0) return true;
    const int64_t repeats = rows - keys - nulls;
    const bool beyond = native.find("UInt64") != std::string::npos;  // under Nullable(...)
    error = "table '" + table + "' has " + std::to_string(repeats) +
            (repeats == 1 ? " row" : " rows") + " whose key '" + key +
            "' repeats another row's and " + std::to_string(nulls) + " with a null '" + key + "'" +
            (beyond && nulls > 0 ? " (or a UInt64 beyond the largest Int64, which reads as no key)"
                                 : "") +
            ": " + what +
            " inside ClickHouse needs one row per customer (it has no row order to keep the "
            "first, as the embedded engine does)";
    return false;
}

bool run_statement(ClickHouseClient& client, const std::string& sql, ResultTable* out,
                   std::string& error) {
    auto result = client.query(sql);
    if (!result) {
        error = result.error().describe();
        return false;
    }
    if (out) *out = std::move(result.value());
    return true;
}

RunRecord run_record_from_row(const warehouse::Row& row) {
    RunRecord r;
    r.run_id = integer_of(row[0]);
    r.ruleset = row[1].value_or("");
    r.version = integer_of(row[2]);
    r.rules_sha256 = row[3].value_or("");
    r.rules_path = row[4].value_or("");
    r.as_of = row[5].value_or("");
    r.started_at = row[6].value_or("");
    r.finished_at = row[7].value_or("");
    r.status = row[8].value_or("");
    r.customers = integer_of(row[9]);
    r.summary_json = row[10].value_or("");
    return r;
}

std::string lit(const std::string& s) {
    return warehouse::clickhouse_string_literal(s);
}

bool ensure_clickhouse_state(ClickHouseClient& client, std::string& error) {
    if (!check_clickhouse_state_tables(client, error)) return false;
    for (const char* ddl : kSchema) {
        if (!run_statement(client, ddl, nullptr, error)) return false;
    }
    return true;
}

bool ensure_clickhouse_state_for_reads(ClickHouseClient& client, const CompiledRules& rules,
                                       std::string& error) {
    if (!rules.program.reads_stored_state()) return true;
    return ensure_clickhouse_state(client, error);
}

// The ids of a ruleset's complete runs, as a subquery.
std::string complete_runs(const std::string& ruleset) {
    return "(SELECT run_id FROM strata_runs WHERE status = 'complete' AND ruleset = " +
           lit(ruleset) + ")";
}

// The stays of `ruleset` that were open at run `at` (complete runs only).
std::string open_stays(const std::string& ruleset, const std::string& at) {
    const std::string done = complete_runs(ruleset);
    return "SELECT customer_key, level, segment, entered_run FROM strata_stays WHERE ruleset = " +
           lit(ruleset) + " AND entered_run IN " + done + " AND entered_run <= " + at +
           " AND (customer_key, level = 0, segment, entered_run) NOT IN (SELECT customer_key, "
           "level = 0, segment, entered_run FROM strata_stay_exits WHERE ruleset = " +
           lit(ruleset) + " AND exited_run IN " + done + " AND exited_run <= " + at + ")";
}

bool clickhouse_version_source(ClickHouseClient& client, const RunRecord& run,
                               std::optional<std::string>& out, std::string& error) {
    auto t = client.query("SELECT source FROM strata_versions WHERE ruleset = " + lit(run.ruleset) +
                          " AND version = " + std::to_string(run.version) +
                          " AND sha256 = " + lit(run.rules_sha256) + " AND source != '' LIMIT 1");
    if (!t) {
        error = t.error().describe();
        return false;
    }
    out.reset();
    if (!t.value().rows.empty() && t.value().rows[0][0]) out = *t.value().rows[0][0];
    return true;
}

bool find_clickhouse_run(ClickHouseClient& client, const std::string& ruleset,
                         std::optional<int64_t> run_id, std::optional<RunRecord>& out,
                         std::string& error) {
    ResultTable t;
    std::string sql =
        "SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, started_at, "
        "finished_at, status, customers, summary FROM strata_runs WHERE status = 'complete' AND "
        "ruleset = " +
        lit(ruleset);
    sql += run_id ? " AND run_id = " + std::to_string(*run_id)
                  : " ORDER BY as_of DESC, run_id DESC LIMIT 1";
    if (!run_statement(client, sql, &t, error)) return false;
    out = t.rows.empty() ? std::nullopt
                         : std::optional<RunRecord>(run_record_from_row(t.rows.front()));
    return true;
}

bool dead_clickhouse_runs(ClickHouseClient& client, const std::string& ruleset,
                          std::vector<DeadRun>& out, std::string& error) {
    ResultTable t;
    if (!run_statement(
            client,
            "SELECT run_id, any(as_of) FROM strata_runs WHERE ruleset = " + lit(ruleset) +
                " AND run_id NOT IN (" + alive_clickhouse_runs(ruleset) +
                ") GROUP BY run_id HAVING countIf(status != 'running') = 0 ORDER BY run_id",
            &t, error))
        return false;
    for (const auto& row : t.rows)
        out.push_back({row[0].value_or("0"), row[1].value_or("")});
    return true;
}

bool remove_dead_clickhouse_run(ClickHouseClient& client, const std::string& ruleset,
                                const DeadRun& dead, std::string& error) {
    const std::string r = lit(ruleset);
    ResultTable t;
    if (!run_statement(client,
                       "SELECT name FROM system.tables WHERE database = currentDatabase() AND "
                       "startsWith(name, " +
                           lit("strata_placed_" + dead.run_id + "_") + ")",
                       &t, error))
        return false;
    for (const auto& row : t.rows) {
        if (!run_statement(client, "DROP TABLE IF EXISTS " + row[0].value_or(""), nullptr, error))
            return false;
    }
    for (const std::string& sql :
         {"ALTER TABLE strata_stays DELETE WHERE ruleset = " + r +
              " AND entered_run = " + dead.run_id,
          "ALTER TABLE strata_stay_exits DELETE WHERE ruleset = " + r +
              " AND exited_run = " + dead.run_id,
          "ALTER TABLE strata_run_levels DELETE WHERE ruleset = " + r +
              " AND run_id = " + dead.run_id,
          "ALTER TABLE strata_run_segments DELETE WHERE ruleset = " + r +
              " AND run_id = " + dead.run_id,
          "INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (" + dead.run_id + ", " +
              r + ", 'abandoned', " + lit(dead.as_of) + ")"}) {
        if (!run_statement(client, sql, nullptr, error)) return false;
    }
    return true;
}

std::optional<ClickHouseStoredRun> load_clickhouse_run(const warehouse::ClickHouseUrl& url,
                                                       const std::string& ruleset,
                                                       std::optional<int64_t> run_id,
                                                       std::string& error,
                                                       std::optional<int64_t> only) {
    ClickHouseClient client(url);
    ResultTable t;
    auto exec = [&](const std::string& sql, ResultTable* out) {
        auto result = client.query(sql);
        if (!result) {
            error = result.error().describe();
            return false;
        }
        *out = std::move(result.value());
        return true;
    };
    if (!exec("EXISTS TABLE strata_runs", &t)) return std::nullopt;
    if (t.rows.empty() || t.rows[0][0].value_or("0") != "1") {
        error = "no runs are stored in '" + warehouse::describe_location(url) +
                "'; run 'strata run' first";
        return std::nullopt;
    }
    if (!check_clickhouse_state_tables(client, error)) return std::nullopt;
    std::optional<RunRecord> record;
    if (!find_clickhouse_run(client, ruleset, run_id, record, error)) return std::nullopt;
    if (!record) {
        error = run_id ? "run " + std::to_string(*run_id) + " of ruleset '" + ruleset +
                             "' does not exist"
                       : "no stored run of ruleset '" + ruleset + "' in '" +
                             warehouse::describe_location(url) +
                             "' ('strata runs --db URL' lists the stored runs)";
        return std::nullopt;
    }
    ClickHouseStoredRun out;
    out.record = *record;
    const std::string at = std::to_string(record->run_id);
    if (!exec("SELECT customer_key, anyIf(segment, level = 0), arrayStringConcat(arrayMap(x -> "
              "x.2, arraySort(groupArrayIf((lv, segment), level > 0))), ';') FROM (SELECT "
              "customer_key, level, segment FROM (" +
                  open_stays(ruleset, at) + ")" +
                  (only ? " WHERE customer_key = " + std::to_string(*only) : std::string()) +
                  ") ANY LEFT JOIN (SELECT path AS segment, level AS lv FROM strata_run_levels "
                  "WHERE ruleset = " +
                  lit(ruleset) + " AND run_id = " + at +
                  ") USING segment GROUP BY customer_key ORDER BY customer_key",
              &t))
        return std::nullopt;
    out.rows.reserve(t.rows.size());
    for (const auto& row : t.rows)
        out.rows.push_back(
            {Value(integer_of(row[0])), intern(row[1].value_or("")), intern(row[2].value_or(""))});
    if (!exec("SELECT segment, offer, channel, priority FROM strata_run_segments WHERE "
              "ruleset = " +
                  lit(ruleset) + " AND run_id = " + at,
              &t))
        return std::nullopt;
    for (const auto& row : t.rows) {
        SegmentActions a;
        a.offer = row[1].value_or("");
        a.channel = row[2].value_or("");
        if (row[3]) a.priority = integer_of(row[3]);
        out.actions[row[0].value_or("")] = std::move(a);
    }
    return out;
}

}  // namespace strata::state
