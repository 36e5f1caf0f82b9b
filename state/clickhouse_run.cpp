#include "state/clickhouse_run.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <map>

#include "engine/numeric.hpp"
#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/versions.hpp"
#include "sql/compiler.hpp"
#include "sql/dialect.hpp"
#include "state/at_scope_exit.hpp"
#include "state/clickhouse_claim.hpp"
#include "state/clickhouse_state.hpp"
#include "state/clickhouse_triggers.hpp"
#include "state/warehouse_populations.hpp"
#include "state/warehouse_quality.hpp"
#include "state/warehouse_report.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/clickhouse_text.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::ClickHouseClient;
using warehouse::ResultTable;

namespace {

class ClickHouseRun {
  public:
    ClickHouseRun(ClickHouseClient& client, ClickHouseRunError& error)
        : client_(client), error_(error) {}

    // `nulls`: unmatched rows of an outer join get NULL (join_use_nulls), not 0 and ''.
    bool exec(const std::string& sql, ResultTable* out = nullptr, bool nulls = false) {
        auto result = nulls ? client_.query(sql, {{"join_use_nulls", "1"}}) : client_.query(sql);
        if (!result) {
            error_.message = result.error().describe();
            spdlog::debug("the statement ClickHouse refused: {}", sql);
            return false;
        }
        if (out) *out = std::move(result.value());
        return true;
    }

  private:
    ClickHouseClient& client_;
    ClickHouseRunError& error_;
};

// A total in units from the sums of the integer parts and of the fractions' units (decimal
// texts; null for no rows): whole · 10^9 + fraction, out of range beyond 38 digits.
ExactTotal whole_and_fraction(const Cell& whole, const Cell& fraction) {
    if (!whole || !fraction) return ExactTotal{};
    const auto w = parse_sum_units(*whole);
    const auto f = parse_sum_units(*fraction);
    constexpr SumUnits kMostWhole = SumUnits{1} << 96;  // w · 10^9 stays within 128 bits
    if (!w || !f || *w >= kMostWhole || *w <= -kMostWhole) return ExactTotal::of(std::nullopt);
    ExactTotal total = ExactTotal::of(*w * kSumUnitsPerOne);
    total.add(ExactTotal::of(*f));
    return total;
}

}  // namespace

std::optional<RunReport> run_in_clickhouse(const CompiledRules& rules, const Schema& catalog,
                                           const warehouse::ClickHouseUrl& url,
                                           const ClickHouseRunOptions& options,
                                           ClickHouseRunError& error) {
    const auto started = std::chrono::steady_clock::now();
    const RuleFile& file = rules.rules;
    if (!rules.triggers.empty() && !options.state) {
        error.message =
            "the rule file has triggers: give --state, the SQLite file or postgresql:// URL that "
            "takes their actions (ClickHouse has no transactions to keep an outbox in)";
        return std::nullopt;
    }
    const TriggerColumns trigger_values = trigger_columns(rules);
    sql::RunColumns columns = run_columns(rules);
    auto dialect = sql::make_clickhouse_dialect(&catalog);
    auto query = sql::compile_run_query(rules, options.as_of, *dialect, error.refusals, columns);
    if (!query) {
        const size_t n = error.refusals.error_count();
        error.message = std::to_string(n) + (n == 1 ? " construct" : " constructs") +
                        " cannot be compiled to clickhouse";
        error.rule_problem = true;
        return std::nullopt;
    }
    const std::string& ruleset = file.ruleset;
    const TableSchema* customers = catalog.find(file.customers_table);
    const ColumnSchema* key_column = customers ? customers->find(file.key) : nullptr;
    if (!key_column || key_column->type != Type::Int) {
        error.message = "a run inside ClickHouse needs an integer customer key; '" +
                        file.customers_table + "." + file.key + "' is not one";
        return std::nullopt;
    }
    ClickHouseClient client(url);
    ClickHouseRun run(client, error);
    if (!ensure_clickhouse_state(client, error.message)) return std::nullopt;
    const std::string as_of = format_date(options.as_of);
    const std::string started_at = utc_now();
    ResultTable t;

    // One row per customer: a base with repeated or missing keys is refused.
    if (!clickhouse_keys_unique(client, file.customers_table, file.key, "a run", error.message))
        return std::nullopt;

    // The ruleset to this run alone, under an id of its own (a dry run keeps nothing and
    // takes neither).
    std::unique_ptr<ClickHouseRunClaim> claim;
    if (!options.dry_run) {
        claim = ClickHouseRunClaim::take(url, ruleset, options.wait_ms, error.message);
        if (!claim) return std::nullopt;
    }

    // Runs of this ruleset that died before they were complete. A stored run removes them
    // (their rows are never read); a dry run leaves them, and so never mistakes a run still
    // going for a dead one. When a dead run's actions may be in --state under its as_of, a run
    // at another as_of would fire the same moves under other keys: it must be redone first.
    std::vector<DeadRun> dead;
    if (!options.dry_run && !dead_clickhouse_runs(client, ruleset, dead, error.message))
        return std::nullopt;
    for (const DeadRun& d : dead) {
        if (!rules.triggers.empty() && d.as_of != as_of) {
            error.message = "run " + d.run_id + " of ruleset '" + ruleset + "' as of " + d.as_of +
                            " stopped before it was complete, and its actions may be in " +
                            "--state already: run again as of " + d.as_of +
                            " first, so that none is sent twice";
            return std::nullopt;
        }
        if (!remove_dead_clickhouse_run(client, ruleset, d, error.message)) return std::nullopt;
    }

    std::optional<RunRecord> previous;
    if (!find_clickhouse_run(client, ruleset, std::nullopt, previous, error.message))
        return std::nullopt;
    if (!options.dry_run) {
        if (auto refused = refuses_going_back(previous, ruleset, as_of)) {
            error.message = *refused;
            return std::nullopt;
        }
    }
    // The version's registered contents; it is registered only when the run is complete.
    const std::string source_text = options.source ? options.source->text() : std::string();
    auto unbumped_version = [&](std::optional<std::string>& out) {
        if (!run.exec("SELECT sha256, source, first_seen FROM strata_versions WHERE ruleset = " +
                          lit(ruleset) + " AND version = " + std::to_string(file.version) +
                          " ORDER BY first_seen, sha256",
                      &t))
            return false;
        std::vector<RegisteredVersion> contents;
        for (const auto& row : t.rows)
            contents.push_back(
                {ruleset, file.version, row[0].value_or(""), row[1], row[2].value_or("")});
        // The command it suggests runs as written: the URL, without its password.
        out = unbumped_version_message(
            ruleset, file.version, options.rules_sha256, source_text, contents,
            " --db " + shell_word(warehouse::describe_location(warehouse::DatabaseLocation{url})));
        return true;
    };
    std::optional<std::string> unbumped;
    if (!unbumped_version(unbumped)) return std::nullopt;
    if (unbumped && !options.dry_run) {
        error.message = *unbumped;
        error.rule_problem = true;
        return std::nullopt;
    }

    std::string run_id;
    if (claim) {
        run_id = std::to_string(claim->run_id());
    } else {
        // A dry run's tables are named after the next id (and the process).
        if (!run.exec("SELECT max(run_id) FROM strata_runs", &t)) return std::nullopt;
        run_id = std::to_string((t.rows.empty() ? 0 : cell_integer(t.rows[0][0])) + 1);
    }
    const std::string placed = "strata_placed_" + run_id + "_" + std::to_string(::getpid());
    const std::string open_table = "strata_open_" + run_id + "_" + std::to_string(::getpid());
    auto drop_tables = [&] {
        (void)client.query("DROP TABLE IF EXISTS " + placed);
        (void)client.query("DROP TABLE IF EXISTS " + open_table);
    };
    RunReport rep;
    rep.ruleset = ruleset;
    rep.version = file.version;
    rep.sha256 = options.rules_sha256;
    rep.as_of = options.as_of;
    rep.warnings = options.warnings;
    rep.source = options.source;
    if (!options.dry_run) {
        if (!run.exec("INSERT INTO strata_runs (run_id, ruleset, version, rules_sha256, "
                      "rules_path, as_of, started_at, finished_at, status, customers, summary) "
                      "VALUES (" +
                      run_id + ", " + lit(ruleset) + ", " + std::to_string(file.version) + ", " +
                      lit(options.rules_sha256) + ", " + lit(options.rules_path) + ", " +
                      lit(as_of) + ", " + lit(started_at) + ", '', 'running', 0, '')"))
            return std::nullopt;
    }
    // A stored run that fails while none of its actions can be in --state is abandoned at once
    // (its rows removed, its id never given again), so that the next run, at any as_of, need
    // not redo it first. One that fails later is left for the next run to find dead.
    bool abandon_on_failure = !options.dry_run;
    const AtScopeExit abandon_if_failed{[&] {
        if (!abandon_on_failure) return;
        std::string ignored;
        if (!remove_dead_clickhouse_run(client, ruleset, DeadRun{run_id, as_of}, ignored))
            spdlog::debug("run {} could not be abandoned now: {}", run_id, ignored);
    }};

    // The evaluation, into a table of the run on the server, and the stays open before it,
    // read once.
    const AtScopeExit drop_tables_at_exit{drop_tables};
    const std::string before = previous ? std::to_string(previous->run_id) : std::string("0");
    if (!run.exec("CREATE TABLE " + placed + " ENGINE = Memory AS " + *query) ||
        !run.exec("CREATE TABLE " + open_table + " ENGINE = Memory AS " +
                  open_stays(ruleset, before)))
        return std::nullopt;
    const std::string open = "SELECT * FROM " + open_table;
    if (!run.exec("SELECT count(), arrayStringConcat(arrayMap(x -> toString(x), arraySlice("
                  "arraySort(groupArray(customer_key)), 1, 5)), ', ') FROM " +
                      placed + " WHERE segment IS NULL",
                  &t))
        return std::nullopt;
    if (const int64_t unplaced = cell_integer(t.rows.at(0).at(0)); unplaced > 0) {
        error.message = unplaced_message(file.policy, unplaced,
                                         t.rows[0][1].value_or("") + (unplaced > 5 ? ", …" : ""),
                                         !options.dry_run);
        error.rule_problem = true;
        return std::nullopt;
    }

    // The counts, valued customers and unknowns per (segment, tactical) group.
    WarehouseReport report(rules, rep);
    const SegmentPlan& plan = report.plan();
    std::string counts = "SELECT segment, tactical, count(), ";
    counts += columns.value ? "count(strata_value)" : "0";
    for (size_t i = 0; i < columns.unknowns; ++i)
        counts += ", sum(strata_unknown_" + std::to_string(i) + ")";
    if (!run.exec(counts + " FROM " + placed + " GROUP BY segment, tactical", &t))
        return std::nullopt;
    for (const auto& row : t.rows)
        report.add_group(row, columns.unknowns);
    // The values: each member's value in exact units (engine/exact_sum.hpp) as its integer
    // part and its fraction's units, each summed exactly. A value of 2^63 or more stops the
    // query (its integer part is not an Int64 here).
    rep.has_value = columns.value;
    if (columns.value) {
        const std::string x = "assumeNotNull(strata_value)";
        const std::string fits = "abs(" + x + ") < 9223372036854775808.0";
        const std::string whole =
            "if((" + fits + ") AND throwIf(NOT (" + fits + ")) = 0, toInt64(" + x + "), 0)";
        const std::string parts = "SELECT segment, tactical, " + whole + " AS w, " +
                                  dialect->fraction_units("(" + x + " - toFloat64(w))") +
                                  " AS f FROM " + placed + " WHERE strata_value IS NOT NULL";
        const std::string totals = "toString(sum(toDecimal128(w, 0))), toString(sum(f))";
        if (!run.exec("SELECT segment, " + totals + " FROM (" + parts + ") GROUP BY segment", &t))
            return std::nullopt;
        for (const auto& row : t.rows)
            report.set_value(row[0].value_or(""), "", whole_and_fraction(row[1], row[2]));
        if (!run.exec("SELECT segment, path, " + totals +
                          " FROM (SELECT segment, w, f, "
                          "arrayJoin(splitByChar(';', assumeNotNull(tactical))) AS path FROM (" +
                          parts + ") WHERE tactical != '') GROUP BY segment, path",
                      &t))
            return std::nullopt;
        for (const auto& row : t.rows)
            report.set_value(row[0].value_or(""), row[1].value_or(""),
                             whole_and_fraction(row[2], row[3]));
        report.finish_values();
    }
    // The cut points, from the run's table, and the data-quality findings, from the base's
    // tables read as the query read them.
    const WarehouseQuery ask = [&run](const std::string& sql, ResultTable& out) {
        return run.exec(sql, &out);
    };
    if (!count_populations(rules, placed, true, WarehouseSql::ClickHouse, ask, rep.populations) ||
        !count_data_quality(rules, options.as_of, *dialect, placed, rep.customers,
                            WarehouseSql::ClickHouse, ask, rep.data_quality))
        return std::nullopt;

    if (!options.dry_run) {
        // The levels of this run's tactical paths, which order them when it is read back.
        std::string levels = "INSERT INTO strata_run_levels (ruleset, run_id, path, level) VALUES ";
        for (size_t i = 0; i < plan.tag_paths.size(); ++i)
            levels += std::string(i ? ", " : "") + "(" + lit(ruleset) + ", " + run_id + ", " +
                      lit(plan.tag_paths[i]) + ", " + std::to_string(i + 1) + ")";
        if (!plan.tag_paths.empty() && !run.exec(levels)) return std::nullopt;
        std::string segments =
            "INSERT INTO strata_run_segments (ruleset, run_id, segment, offer, channel, priority) "
            "VALUES ";
        for (size_t g = 0; g < rep.segments.size(); ++g) {
            const auto& m = rep.segments[g].def->meta;
            segments += std::string(g ? ", " : "") + "(" + lit(ruleset) + ", " + run_id + ", " +
                        lit(rep.segments[g].def->id) + ", " + lit(m.offer) + ", " + lit(m.channel) +
                        ", " + (m.priority ? std::to_string(*m.priority) : std::string("NULL")) +
                        ")";
        }
        if (!run.exec(segments)) return std::nullopt;

        // The moves between general segments since the latest complete run.
        if (!run.exec("SELECT from, to, count() FROM (SELECT customer_key, segment AS from FROM (" +
                          open +
                          ") WHERE level = 0) ALL FULL OUTER JOIN (SELECT customer_key, "
                          "segment AS to FROM " +
                          placed + ") USING customer_key GROUP BY from, to",
                      &t, true))
            return std::nullopt;
        RunTransitions transitions = WarehouseReport::moves(previous, file.version, t.rows);
        Transitions& tr = transitions.counts;
        // The stays this run places: general ones at level 0, tactical ones at their path's
        // level.
        const std::string now =
            "SELECT customer_key, 0 AS level, segment FROM " + placed +
            " UNION ALL SELECT customer_key, level, segment FROM (SELECT customer_key, "
            "arrayJoin(splitByChar(';', assumeNotNull(tactical))) AS segment FROM " +
            placed +
            " WHERE tactical != '') ANY INNER JOIN (SELECT path AS segment, level FROM "
            "strata_run_levels WHERE ruleset = " +
            lit(ruleset) + " AND run_id = " + run_id + ") USING segment";
        const std::string opened = "SELECT customer_key, level, segment FROM (" + now +
                                   ") WHERE (customer_key, level = 0, segment) NOT IN (SELECT "
                                   "customer_key, level = 0, segment FROM (" +
                                   open + "))";
        const std::string closed = "SELECT customer_key, level, segment, entered_run FROM (" +
                                   open +
                                   ") WHERE (customer_key, level = 0, segment) NOT IN (SELECT "
                                   "customer_key, level = 0, segment FROM (" +
                                   now + "))";
        if (!run.exec("SELECT countIf(level > 0), count() FROM (" + opened + ")", &t))
            return std::nullopt;
        tr.tactical_entered = static_cast<size_t>(cell_integer(t.rows[0][0]));
        tr.stays_written += static_cast<size_t>(cell_integer(t.rows[0][1]));
        if (!run.exec("SELECT countIf(level > 0), count() FROM (" + closed + ")", &t))
            return std::nullopt;
        tr.tactical_left = static_cast<size_t>(cell_integer(t.rows[0][0]));
        tr.stays_written += static_cast<size_t>(cell_integer(t.rows[0][1]));
        // Exits first: the opened stays must be compared with the stays open before this run.
        if (!run.exec("INSERT INTO strata_stay_exits (ruleset, customer_key, level, segment, "
                      "entered_run, exited_run) SELECT " +
                      lit(ruleset) + ", customer_key, level, segment, entered_run, " + run_id +
                      " FROM (" + closed + ")") ||
            !run.exec("INSERT INTO strata_stays (ruleset, customer_key, level, segment, "
                      "entered_run) SELECT " +
                      lit(ruleset) + ", customer_key, level, segment, " + run_id + " FROM (" +
                      opened + ")"))
            return std::nullopt;
        rep.transitions = std::move(transitions);
        rep.run_id = std::strtoll(run_id.c_str(), nullptr, 10);
    }
    // The triggers, after the run's rows and before its 'complete' row: their actions are
    // committed to the state store, where a repeated run finds them.
    if (!rules.triggers.empty()) {
        // Each customer's stays now, general (0) or tactical (1), and those that differ from
        // the open ones in either direction.
        const std::string now =
            "SELECT customer_key, 0 AS level, assumeNotNull(segment) AS segment FROM " + placed +
            " UNION ALL SELECT customer_key, 1 AS level, arrayJoin(splitByChar(';', "
            "assumeNotNull(tactical))) AS segment FROM " +
            placed + " WHERE tactical != ''";
        const std::string changed =
            "SELECT customer_key FROM (" + now +
            ") WHERE (customer_key, level = 0, segment) NOT IN (SELECT customer_key, level = 0, "
            "segment FROM (" +
            open + ")) UNION ALL SELECT customer_key FROM (" + open +
            ") WHERE (customer_key, level = 0, segment) NOT IN (SELECT customer_key, level = 0, "
            "segment FROM (" +
            now + "))";
        ClickHouseFiringInput firing;
        firing.rules = &rules;
        firing.columns = &trigger_values;
        firing.placed = placed;
        firing.open = open;
        firing.changed = changed;
        firing.previous = &previous;
        firing.fire_initial = options.fire_initial;
        firing.fire_on_rule_change = options.fire_on_rule_change;
        firing.as_of = options.as_of;
        firing.run_id = options.dry_run ? 0 : std::strtoll(run_id.c_str(), nullptr, 10);
        firing.state = *options.state;
        ClickHouseFiringError fired;
        const bool ok = fire_in_clickhouse(client, firing, rep, fired);
        if (fired.may_be_stored || ok) abandon_on_failure = false;
        if (!ok) {
            error.message = fired.message;
            error.rule_problem = fired.rule_problem;
            return std::nullopt;
        }
    }
    rep.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (options.dry_run) {
        if (unbumped) error.message = *unbumped;  // said as a warning by the caller
        return rep;
    }
    // Taken for a dead run while it ran (runs of one ruleset overlapped): its rows are being
    // deleted, so it must not become complete.
    if (!run.exec("SELECT count() FROM strata_runs WHERE run_id = " + run_id +
                      " AND status = 'abandoned'",
                  &t))
        return std::nullopt;
    if (cell_integer(t.rows.at(0).at(0)) > 0) {
        error.message = "run " + run_id + " was taken for a dead run by another run of '" +
                        ruleset + "' while it ran; nothing of it is kept. Run again, one run " +
                        "of a ruleset at a time";
        return std::nullopt;
    }
    // The version, registered now that the run is complete but for its last row (checked
    // again: another run may have registered other content meanwhile).
    if (!unbumped_version(unbumped)) return std::nullopt;
    if (unbumped) {
        error.message = *unbumped;
        error.rule_problem = true;
        return std::nullopt;
    }
    if (!run.exec("INSERT INTO strata_versions (ruleset, version, sha256, source, first_seen) "
                  "SELECT " +
                  lit(ruleset) + ", " + std::to_string(file.version) + ", " +
                  lit(options.rules_sha256) + ", " + lit(source_text) + ", " + lit(started_at) +
                  " WHERE (SELECT count() FROM strata_versions WHERE ruleset = " + lit(ruleset) +
                  " AND version = " + std::to_string(file.version) +
                  " AND sha256 = " + lit(options.rules_sha256) + ") = 0"))
        return std::nullopt;
    // Complete: from now on readers see the run (and it is never abandoned, even when the
    // answer to this statement is lost).
    abandon_on_failure = false;
    if (!run.exec("INSERT INTO strata_runs (run_id, ruleset, version, rules_sha256, rules_path, "
                  "as_of, started_at, finished_at, status, customers, summary) VALUES (" +
                  run_id + ", " + lit(ruleset) + ", " + std::to_string(file.version) + ", " +
                  lit(options.rules_sha256) + ", " + lit(options.rules_path) + ", " + lit(as_of) +
                  ", " + lit(started_at) + ", " + lit(utc_now()) + ", 'complete', " +
                  std::to_string(rep.customers) + ", " + lit(report_json(rep)) + ")"))
        return std::nullopt;
    return rep;
}

}  // namespace strata::state
