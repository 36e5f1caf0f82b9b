#include "state/clickhouse_run.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>

#include "engine/numeric.hpp"
#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/versions.hpp"
#include "sql/compiler.hpp"
#include "sql/dialect.hpp"
#include "state/clickhouse_triggers.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/clickhouse_text.hpp"

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
    "CREATE TABLE IF NOT EXISTS strata_run_levels (run_id UInt64, path String, level Int32) "
    "ENGINE = MergeTree ORDER BY (run_id, path)",
    "CREATE TABLE IF NOT EXISTS strata_run_segments (run_id UInt64, segment String, offer "
    "String, channel String, priority Nullable(Int64)) ENGINE = MergeTree "
    "ORDER BY (run_id, segment)",
    "CREATE TABLE IF NOT EXISTS strata_versions (ruleset String, version Int64, sha256 String, "
    "source String, first_seen String) ENGINE = MergeTree ORDER BY (ruleset, version, sha256)",
};

std::string lit(const std::string& s) {
    return warehouse::clickhouse_string_literal(s);
}

int64_t integer_of(const Cell& cell) {
    return cell ? std::strtoll(cell->c_str(), nullptr, 10) : 0;
}

double number_of(const Cell& cell) {
    return cell ? std::strtod(cell->c_str(), nullptr) : 0.0;
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

void in_report_order(std::vector<SegmentResult>& segments, std::vector<SegmentResult*>& out) {
    for (auto& s : segments) {
        out.push_back(&s);
        in_report_order(s.tactical, out);
    }
}

std::optional<RunRecord> record_of(const warehouse::Row& row) {
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

// A complete run of the ruleset: `run_id`, or the latest.
bool find_run(ClickHouseRun& run, const std::string& ruleset, std::optional<int64_t> run_id,
              std::optional<RunRecord>& out) {
    ResultTable t;
    std::string sql =
        "SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, started_at, "
        "finished_at, status, customers, summary FROM strata_runs WHERE status = 'complete' AND "
        "ruleset = " +
        lit(ruleset);
    sql += run_id ? " AND run_id = " + std::to_string(*run_id)
                  : " ORDER BY as_of DESC, run_id DESC LIMIT 1";
    if (!run.exec(sql, &t)) return false;
    out = t.rows.empty() ? std::nullopt : record_of(t.rows.front());
    return true;
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
    sql::RunColumns columns;
    const TriggerColumns trigger_values = trigger_columns(rules);
    columns.conditions = trigger_values.conditions;
    columns.values = trigger_values.values;
    auto dialect = sql::make_dialect("clickhouse");
    (void)catalog;  // names and types were bound against it already
    auto query = sql::compile_run_query(rules, options.as_of, *dialect, error.refusals, columns);
    if (!query) {
        const size_t n = error.refusals.error_count();
        error.message = std::to_string(n) + (n == 1 ? " construct" : " constructs") +
                        " cannot be compiled to clickhouse";
        error.rule_problem = true;
        return std::nullopt;
    }
    ClickHouseClient client(url);
    ClickHouseRun run(client, error);
    for (const char* ddl : kSchema) {
        if (!run.exec(ddl)) return std::nullopt;
    }
    const std::string& ruleset = file.ruleset;
    const std::string as_of = format_date(options.as_of);
    const std::string started_at = utc_now();
    ResultTable t;

    // Rows of this ruleset's runs that died before they were complete: never read, deleted
    // now. Their 'running' rows stay (with an 'abandoned' row beside them) so that no later
    // run takes their ids while the server still deletes their rows.
    if (!run.exec("SELECT run_id FROM strata_runs WHERE ruleset = " + lit(ruleset) +
                      " GROUP BY run_id HAVING countIf(status != 'running') = 0",
                  &t))
        return std::nullopt;
    for (const auto& row : t.rows) {
        const std::string dead = row[0].value_or("0");
        if (!run.exec("ALTER TABLE strata_stays DELETE WHERE entered_run = " + dead) ||
            !run.exec("ALTER TABLE strata_stay_exits DELETE WHERE exited_run = " + dead) ||
            !run.exec("ALTER TABLE strata_run_levels DELETE WHERE run_id = " + dead) ||
            !run.exec("ALTER TABLE strata_run_segments DELETE WHERE run_id = " + dead) ||
            !run.exec("INSERT INTO strata_runs (run_id, ruleset, status) VALUES (" + dead + ", " +
                      lit(ruleset) + ", 'abandoned')"))
            return std::nullopt;
    }

    std::optional<RunRecord> previous;
    if (!find_run(run, ruleset, std::nullopt, previous)) return std::nullopt;
    if (!options.dry_run) {
        if (auto refused = refuses_going_back(previous, ruleset, as_of)) {
            error.message = *refused;
            return std::nullopt;
        }
    }
    if (!run.exec("SELECT sha256, source, first_seen FROM strata_versions WHERE ruleset = " +
                      lit(ruleset) + " AND version = " + std::to_string(file.version) +
                      " ORDER BY first_seen, sha256",
                  &t))
        return std::nullopt;
    std::vector<RegisteredVersion> contents;
    for (const auto& row : t.rows)
        contents.push_back(
            {ruleset, file.version, row[0].value_or(""), row[1], row[2].value_or("")});
    const std::string source_text = options.source ? options.source->text() : std::string();
    auto unbumped = unbumped_version_message(ruleset, file.version, options.rules_sha256,
                                             source_text, contents);
    if (unbumped && !options.dry_run) {
        error.message = *unbumped;
        error.rule_problem = true;
        return std::nullopt;
    }

    if (!run.exec("SELECT max(run_id) FROM strata_runs", &t)) return std::nullopt;
    const std::string run_id = std::to_string((t.rows.empty() ? 0 : integer_of(t.rows[0][0])) + 1);
    const std::string placed = "strata_placed_" + run_id + "_" + std::to_string(::getpid());
    auto drop_placed = [&] { (void)client.query("DROP TABLE IF EXISTS " + placed); };
    RunReport rep;
    rep.ruleset = ruleset;
    rep.version = file.version;
    rep.sha256 = options.rules_sha256;
    rep.as_of = options.as_of;
    rep.warnings = options.warnings;
    rep.source = options.source;
    rep.not_computed =
        "a run inside ClickHouse does not count them yet (a run of the same "
        "file on a SQLite copy of the base does)";
    if (!options.dry_run) {
        if (!run.exec("INSERT INTO strata_runs (run_id, ruleset, version, rules_sha256, "
                      "rules_path, as_of, started_at, finished_at, status, customers, summary) "
                      "VALUES (" +
                      run_id + ", " + lit(ruleset) + ", " + std::to_string(file.version) + ", " +
                      lit(options.rules_sha256) + ", " + lit(options.rules_path) + ", " +
                      lit(as_of) + ", " + lit(started_at) + ", '', 'running', 0, '')"))
            return std::nullopt;
        if (!unbumped &&
            !run.exec("INSERT INTO strata_versions (ruleset, version, sha256, source, first_seen) "
                      "SELECT " +
                      lit(ruleset) + ", " + std::to_string(file.version) + ", " +
                      lit(options.rules_sha256) + ", " + lit(source_text) + ", " + lit(started_at) +
                      " WHERE (SELECT count() FROM strata_versions WHERE " + "ruleset = " +
                      lit(ruleset) + " AND version = " + std::to_string(file.version) +
                      " AND sha256 = " + lit(options.rules_sha256) + ") = 0"))
            return std::nullopt;
    }

    // The evaluation, into a table of the run on the server.
    if (!run.exec("CREATE TABLE " + placed + " ENGINE = Memory AS " + *query)) {
        drop_placed();
        return std::nullopt;
    }
    struct Dropper {
        std::function<void()> drop;
        ~Dropper() { drop(); }
    } dropper{drop_placed};
    if (!run.exec("SELECT count(), arrayStringConcat(arraySlice(arraySort(groupArray(toString("
                  "customer_key))), 1, 5), ', ') FROM " +
                      placed + " WHERE segment IS NULL",
                  &t))
        return std::nullopt;
    if (const int64_t unplaced = integer_of(t.rows.at(0).at(0)); unplaced > 0) {
        const std::string customers =
            std::to_string(unplaced) + (unplaced == 1 ? " customer" : " customers");
        const std::string samples = t.rows[0][1].value_or("") + (unplaced > 5 ? ", …" : "");
        error.message = file.policy == Policy::Exclusive
                            ? "policy 'exclusive' does not hold, so nothing was stored:\n  " +
                                  customers + " match no segment or more than one (e.g. " +
                                  samples + "); 'strata explain' shows each one's conditions"
                            : customers + " match no general segment (e.g. " + samples +
                                  "), so nothing was stored; add a last segment with 'when: "
                                  "otherwise'";
        error.rule_problem = true;
        return std::nullopt;
    }

    // The counts, valued customers and unknowns per (segment, tactical) group.
    const SegmentPlan plan = plan_segments(rules.segments, rep.segments);
    std::string counts = "SELECT segment, tactical, count(), ";
    counts += columns.value ? "count(strata_value)" : "0";
    for (size_t i = 0; i < columns.unknowns; ++i)
        counts += ", sum(strata_unknown_" + std::to_string(i) + ")";
    if (!run.exec(counts + " FROM " + placed + " GROUP BY segment, tactical", &t))
        return std::nullopt;
    std::vector<SegmentResult*> ordered;
    in_report_order(rep.segments, ordered);
    std::map<std::string, size_t> general_index;
    for (size_t g = 0; g < rep.segments.size(); ++g)
        general_index.emplace(rep.segments[g].def->id, g);
    auto tactical_result = [&](size_t g, const std::string& path) -> SegmentResult* {
        for (const TacticalNode& node : plan.tactical[g]) {
            if (plan.tag_paths[node.tag] == path) return node.result;
        }
        return nullptr;
    };
    for (const auto& row : t.rows) {
        const size_t g = general_index.at(row[0].value_or(""));
        const auto n = static_cast<size_t>(integer_of(row[2]));
        const auto valued = static_cast<size_t>(integer_of(row[3]));
        auto add = [&](SegmentResult& r) {
            r.count += n;
            r.value_count += valued;
        };
        add(rep.segments[g]);
        rep.customers += n;
        for (const std::string& path : split_tactical(row[1].value_or(""))) {
            if (SegmentResult* r = tactical_result(g, path)) add(*r);
        }
        for (size_t i = 0; i < columns.unknowns && i < ordered.size(); ++i)
            ordered[i]->unknown += static_cast<size_t>(integer_of(row[4 + i]));
    }
    // Values added one by one in key order, as the engine adds them: the running sum of the
    // values sorted by key, its last element.
    rep.has_value = columns.value;
    if (columns.value) {
        const std::string in_key_order =
            "arrayCumSum(arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((customer_key, "
            "assumeNotNull(strata_value))))))[-1]";
        if (!run.exec("SELECT segment, " + in_key_order + " FROM " + placed +
                          " WHERE strata_value IS NOT NULL GROUP BY segment",
                      &t))
            return std::nullopt;
        for (const auto& row : t.rows)
            rep.segments[general_index.at(row[0].value_or(""))].value_total = number_of(row[1]);
        if (!run.exec("SELECT segment, path, " + in_key_order +
                          " FROM (SELECT segment, "
                          "customer_key, strata_value, arrayJoin(splitByChar(';', "
                          "assumeNotNull(tactical))) AS "
                          "path FROM " +
                          placed +
                          " WHERE tactical != '' AND strata_value IS NOT NULL) GROUP BY "
                          "segment, path",
                      &t))
            return std::nullopt;
        for (const auto& row : t.rows) {
            const size_t g = general_index.at(row[0].value_or(""));
            if (SegmentResult* r = tactical_result(g, row[1].value_or("")))
                r->value_total = number_of(row[2]);
        }
        for (const auto& s : rep.segments)
            rep.value_total += s.value_total;
    }

    if (!options.dry_run) {
        // The levels of this run's tactical paths, which order them when it is read back.
        std::string levels = "INSERT INTO strata_run_levels (run_id, path, level) VALUES ";
        for (size_t i = 0; i < plan.tag_paths.size(); ++i)
            levels += std::string(i ? ", " : "") + "(" + run_id + ", " + lit(plan.tag_paths[i]) +
                      ", " + std::to_string(i + 1) + ")";
        if (!plan.tag_paths.empty() && !run.exec(levels)) return std::nullopt;
        std::string segments =
            "INSERT INTO strata_run_segments (run_id, segment, offer, channel, priority) VALUES ";
        for (size_t g = 0; g < rep.segments.size(); ++g) {
            const auto& m = rep.segments[g].def->meta;
            segments += std::string(g ? ", " : "") + "(" + run_id + ", " +
                        lit(rep.segments[g].def->id) + ", " + lit(m.offer) + ", " + lit(m.channel) +
                        ", " + (m.priority ? std::to_string(*m.priority) : std::string("NULL")) +
                        ")";
        }
        if (!run.exec(segments)) return std::nullopt;

        // The moves between general segments since the latest complete run.
        const std::string before = previous ? std::to_string(previous->run_id) : std::string("0");
        const std::string open = open_stays(ruleset, before);
        if (!run.exec("SELECT from, to, count() FROM (SELECT customer_key, segment AS from FROM (" +
                          open +
                          ") WHERE level = 0) ALL FULL OUTER JOIN (SELECT customer_key, "
                          "segment AS to FROM " +
                          placed + ") USING customer_key GROUP BY from, to",
                      &t, true))
            return std::nullopt;
        RunTransitions transitions;
        if (previous) {
            transitions.since_run = previous->run_id;
            transitions.since_as_of = previous->as_of;
        }
        transitions.cause = !previous                           ? "initial"
                            : previous->version != file.version ? "rules"
                                                                : "data";
        Transitions& tr = transitions.counts;
        for (const auto& row : t.rows) {
            const std::string from = row[0].value_or(""), to = row[1].value_or("");
            const auto n = static_cast<size_t>(integer_of(row[2]));
            tr.counts[{from, to}] += n;
            if (from != to) tr.moved += n;
            if (from.empty()) tr.entered += n;
            if (to.empty()) tr.left += n;
        }
        // The stays this run places: general ones at level 0, tactical ones at their path's
        // level.
        const std::string now =
            "SELECT customer_key, 0 AS level, segment FROM " + placed +
            " UNION ALL SELECT customer_key, level, segment FROM (SELECT customer_key, "
            "arrayJoin(splitByChar(';', assumeNotNull(tactical))) AS segment FROM " +
            placed +
            " WHERE tactical != '') ANY INNER JOIN (SELECT path AS segment, level FROM "
            "strata_run_levels WHERE run_id = " +
            run_id + ") USING segment";
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
        tr.tactical_entered = static_cast<size_t>(integer_of(t.rows[0][0]));
        tr.stays_written += static_cast<size_t>(integer_of(t.rows[0][1]));
        if (!run.exec("SELECT countIf(level > 0), count() FROM (" + closed + ")", &t))
            return std::nullopt;
        tr.tactical_left = static_cast<size_t>(integer_of(t.rows[0][0]));
        tr.stays_written += static_cast<size_t>(integer_of(t.rows[0][1]));
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
        const std::string before = previous ? std::to_string(previous->run_id) : std::string("0");
        const std::string open = open_stays(ruleset, before);
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
        if (!fire_in_clickhouse(client, firing, rep, error.message)) return std::nullopt;
    }
    rep.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (options.dry_run) {
        if (unbumped) error.message = *unbumped;  // said as a warning by the caller
        return rep;
    }
    // Complete: from now on readers see the run.
    if (!run.exec("INSERT INTO strata_runs (run_id, ruleset, version, rules_sha256, rules_path, "
                  "as_of, started_at, finished_at, status, customers, summary) VALUES (" +
                  run_id + ", " + lit(ruleset) + ", " + std::to_string(file.version) + ", " +
                  lit(options.rules_sha256) + ", " + lit(options.rules_path) + ", " + lit(as_of) +
                  ", " + lit(started_at) + ", " + lit(utc_now()) + ", 'complete', " +
                  std::to_string(rep.customers) + ", " + lit(report_json(rep)) + ")"))
        return std::nullopt;
    return rep;
}

std::optional<ClickHouseStoredRun> load_clickhouse_run(const warehouse::ClickHouseUrl& url,
                                                       const std::string& ruleset,
                                                       std::optional<int64_t> run_id,
                                                       std::string& error) {
    ClickHouseClient client(url);
    ClickHouseRunError failure;
    ClickHouseRun run(client, failure);
    ResultTable t;
    if (!run.exec("EXISTS TABLE strata_runs", &t)) {
        error = failure.message;
        return std::nullopt;
    }
    if (t.rows.empty() || t.rows[0][0].value_or("0") != "1") {
        error = "no runs are stored in '" + url.database + "'; run 'strata run' first";
        return std::nullopt;
    }
    std::optional<RunRecord> record;
    if (!find_run(run, ruleset, run_id, record)) {
        error = failure.message;
        return std::nullopt;
    }
    if (!record) {
        error = run_id ? "run " + std::to_string(*run_id) + " of ruleset '" + ruleset +
                             "' does not exist"
                       : "no stored run of ruleset '" + ruleset + "'; run 'strata run' first";
        return std::nullopt;
    }
    ClickHouseStoredRun out;
    out.record = *record;
    const std::string at = std::to_string(record->run_id);
    if (!run.exec(
            "SELECT customer_key, anyIf(segment, level = 0), arrayStringConcat(arrayMap(x -> "
            "x.2, arraySort(groupArrayIf((lv, segment), level > 0))), ';') FROM (SELECT "
            "customer_key, level, segment FROM (" +
                open_stays(ruleset, at) +
                ")) ANY LEFT JOIN (SELECT path AS segment, level AS lv FROM strata_run_levels "
                "WHERE run_id = " +
                at + ") USING segment GROUP BY customer_key ORDER BY customer_key",
            &t)) {
        error = failure.message;
        return std::nullopt;
    }
    out.rows.reserve(t.rows.size());
    for (const auto& row : t.rows)
        out.rows.push_back(
            {Value(integer_of(row[0])), intern(row[1].value_or("")), intern(row[2].value_or(""))});
    if (!run.exec("SELECT segment, offer, channel, priority FROM strata_run_segments WHERE "
                  "run_id = " +
                      at,
                  &t)) {
        error = failure.message;
        return std::nullopt;
    }
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
