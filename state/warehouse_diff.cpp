#include "state/warehouse_diff.hpp"

#include "state/foreign_tables.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <unordered_set>

#include <SQLiteCpp/Exception.h>

#include "engine/numeric.hpp"
#include "engine/outbox.hpp"
#include "engine/store.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_state.hpp"
#include "state/postgres_triggers.hpp"
#include "state/warehouse_firing.hpp"
#include "state/warehouse_report.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

namespace {

using warehouse::Cell;
using warehouse::Row;

// Both files' queries; nullopt with the refusals of each.
bool compile_both(const DiffedRules& old_rules, const DiffedRules& new_rules, Date as_of,
                  const sql::Dialect& dialect, std::string& old_sql, std::string& new_sql,
                  WarehouseDiffError& error) {
    auto old_query = sql::compile_query(*old_rules.rules, as_of, dialect, error.old_refusals);
    auto new_query = sql::compile_query(*new_rules.rules, as_of, dialect, error.new_refusals);
    if (!old_query || !new_query) {
        const size_t n = error.old_refusals.error_count() + error.new_refusals.error_count();
        error.message = std::to_string(n) + (n == 1 ? " construct" : " constructs") +
                        " cannot be compiled to " + dialect.name();
        error.rule_problem = true;
        return false;
    }
    old_sql = std::move(*old_query);
    new_sql = std::move(*new_query);
    return true;
}

// The keys of a group: ','-separated integers, or texts each in hexadecimal.
std::vector<Value> sample_keys(const Cell& cell, bool integer_keys) {
    std::vector<Value> keys;
    const std::string text = cell.value_or("");
    size_t from = 0;
    while (from < text.size()) {
        const size_t end = std::min(text.find(',', from), text.size());
        const std::string part = text.substr(from, end - from);
        if (integer_keys) {
            if (auto i = parse_integer_text(part)) keys.emplace_back(*i);
        } else {
            keys.emplace_back(intern(from_hex(part)));
        }
        from = end + 1;
    }
    return keys;
}

// The diff from the server's groups. Each row: old segment, new segment, old tactical, new
// tactical, whether the old and the new file place the customers (1/0 or t/f), customers,
// their first keys.
std::optional<RulesDiff> diff_from_rows(const DiffedRules& old_rules, const DiffedRules& new_rules,
                                        Date as_of, size_t sample, const std::vector<Row>& rows,
                                        bool integer_keys, WarehouseDiffError& error) {
    auto flag = [](const Cell& c) { return c && (*c == "1" || *c == "t" || *c == "true"); };
    std::vector<PlacementGroup> groups;
    // Each file's customers it could not place: their count and first keys.
    int64_t unplaced[2] = {0, 0};
    std::vector<Value> unplaced_keys[2];
    for (const Row& row : rows) {
        PlacementGroup g;
        const bool in_old = flag(row.at(4)), in_new = flag(row.at(5));
        g.customers = static_cast<size_t>(cell_integer(row.at(6)));
        g.sample = sample_keys(row.at(7), integer_keys);
        for (int side = 0; side < 2; ++side) {
            const bool present = side == 0 ? in_old : in_new;
            if (present && !row.at(static_cast<size_t>(side))) {
                unplaced[side] += static_cast<int64_t>(g.customers);
                unplaced_keys[side].insert(unplaced_keys[side].end(), g.sample.begin(),
                                           g.sample.end());
            }
        }
        if (in_old) g.old_segment = row[0].value_or(""), g.old_tactical = row[2].value_or("");
        if (in_new) g.new_segment = row[1].value_or(""), g.new_tactical = row[3].value_or("");
        groups.push_back(std::move(g));
    }
    for (int side = 0; side < 2; ++side) {
        if (unplaced[side] == 0) continue;
        auto& keys = unplaced_keys[side];
        std::stable_sort(keys.begin(), keys.end(),
                         [](const Value& x, const Value& y) { return compare_keys(x, y) < 0; });
        std::string samples;
        for (size_t i = 0; i < keys.size() && i < 5; ++i)
            samples += (i ? ", " : "") + key_value_in_message(keys[i]);
        if (unplaced[side] > 5) samples += ", …";
        const CompiledRules& rules = *(side == 0 ? old_rules : new_rules).rules;
        error.message = rules.source.path() + ": " +
                        unplaced_message(rules.rules.policy, unplaced[side], samples, false);
        error.rule_problem = true;
        return std::nullopt;
    }
    // Each file's segment counts, as a run's report holds them.
    RunReport reports[2];
    for (int side = 0; side < 2; ++side) {
        const CompiledRules& rules = *(side == 0 ? old_rules : new_rules).rules;
        WarehouseReport report(rules, reports[side]);
        std::map<std::pair<std::string, std::string>, size_t> counts;
        for (const PlacementGroup& g : groups) {
            const auto& segment = side == 0 ? g.old_segment : g.new_segment;
            if (segment)
                counts[{*segment, side == 0 ? g.old_tactical : g.new_tactical}] += g.customers;
        }
        for (const auto& [placement, n] : counts)
            report.add_group({placement.first, placement.second, std::to_string(n), "0"}, 0);
    }
    return diff_placements(*old_rules.rules, old_rules.sha256, *new_rules.rules, new_rules.sha256,
                           as_of, sample, reports[0], reports[1], groups);
}

// The new file's query with its triggers' values (RunColumns), for the trigger candidates.
// REQUIRES: the file compiles to `dialect` (compile_both succeeded).
std::string triggers_query(const CompiledRules& rules, Date as_of, const sql::Dialect& dialect,
                           const TriggerColumns& columns) {
    sql::RunColumns run_columns;
    run_columns.conditions = columns.conditions;
    run_columns.values = columns.values;
    Diagnostics ignored;  // the same constructs as compile_both's query, already accepted
    return sql::compile_run_query(rules, as_of, dialect, ignored, run_columns).value_or("");
}

// The columns of the candidates' rows after their key and placements: the trigger values.
std::string trigger_value_columns(const TriggerColumns& columns, const std::string& table) {
    std::string out;
    for (size_t i = 0; i < columns.conditions.size(); ++i)
        out += ", " + table + "strata_cond_" + std::to_string(i);
    for (size_t i = 0; i < columns.values.size(); ++i)
        out += ", " + table + "strata_expr_" + std::to_string(i);
    return out;
}

// Of actions a diff would enqueue, which the outbox holds already (a run of the same as_of
// enqueued them): a flag per row. Null: no outbox to look in.
using EnqueuedBefore = std::function<std::vector<char>(const std::vector<OutboxRow>&)>;

// The new file's triggers fired for the candidates (rows as fire_candidates takes them: every
// customer whose placement differs between the files, in key order), counted as the embedded
// diff counts them: actions already in the outbox are not.
std::vector<TriggerImpact> impacts_of(const CompiledRules& old_rules, const CompiledRules& rules,
                                      const TriggerColumns& columns,
                                      const std::vector<Row>& candidates, bool integer_keys,
                                      Date as_of, FiringHistory* history, size_t sample,
                                      const EnqueuedBefore& enqueued_before) {
    FiringInput base;
    base.cause = FiringCause::RuleChange;
    base.as_of = as_of;
    base.other_history = history;
    base.fire_on_rule_change = true;
    const Firing with_flag = fire_candidates(rules, columns, candidates, integer_keys, base);
    base.fire_on_rule_change = false;
    const Firing without_flag = fire_candidates(rules, columns, candidates, integer_keys, base);
    std::unordered_set<std::string> before;
    if (enqueued_before) {
        const std::vector<char> flags = enqueued_before(with_flag.rows);
        for (size_t r = 0; r < flags.size() && r < with_flag.rows.size(); ++r)
            if (flags[r]) before.insert(with_flag.rows[r].idempotency_key);
    }
    return trigger_impacts(
        rules, with_flag, without_flag, sample, unchanged_triggers(old_rules, rules),
        [&before](const OutboxRow& row) { return before.count(row.idempotency_key) > 0; });
}

// EnqueuedBefore for a PostgreSQL outbox; a failed lookup is kept in `error`.
EnqueuedBefore postgres_enqueued(warehouse::PostgresConnection& db, bool integer_keys,
                                 std::optional<warehouse::WarehouseError>& error) {
    return [&db, integer_keys, &error](const std::vector<OutboxRow>& rows) {
        std::vector<char> out(rows.size(), 0);
        auto fresh = enqueue_in_postgres(db, rows, false, integer_keys);
        if (!fresh) {
            error = fresh.error();
            return out;
        }
        for (size_t r = 0; r < rows.size(); ++r)
            out[r] = !fresh.value()[r];
        return out;
    };
}

// Whether the candidates must be every customer: a new or changed `in` trigger fires for
// customers whose placement the change leaves as it is too.
bool every_customer_a_candidate(const CompiledRules& old_rules, const CompiledRules& rules) {
    const std::vector<char> unchanged = unchanged_triggers(old_rules, rules);
    for (size_t t = 0; t < rules.triggers.size(); ++t)
        if (!unchanged[t] && rules.triggers[t].def->on.event == TriggerEvent::In) return true;
    return false;
}

// Both files' keys must meet as the same type.
bool integer_key(const CompiledRules& rules, const Schema& catalog) {
    const TableSchema* customers = catalog.find(rules.rules.customers_table);
    const ColumnSchema* key = customers ? customers->find(rules.rules.key) : nullptr;
    return key && key->type == Type::Int;
}

}  // namespace

namespace {

// Whether the PostgreSQL database holds a stored run of `ruleset`; nullopt with `error` set
// when it cannot be read.
std::optional<bool> postgres_has_run(warehouse::PostgresConnection& db, const std::string& ruleset,
                                     WarehouseDiffError& error) {
    auto stored = db.exec("SELECT to_regclass('strata_runs') IS NOT NULL");
    if (!stored) {
        error.message = stored.error().describe();
        return std::nullopt;
    }
    if (stored.value().rows.at(0).at(0).value_or("") != "t") return false;
    auto found = db.exec("SELECT count(*) FROM strata_runs WHERE ruleset = $1", {ruleset});
    if (!found) {
        error.message = found.error().describe();
        return std::nullopt;
    }
    return found.value().rows.at(0).at(0).value_or("0") != "0";
}

// Whether the ClickHouse database holds a complete run of `ruleset`; nullopt with `error` set
// when it cannot be read.
std::optional<bool> clickhouse_has_run(warehouse::ClickHouseClient& client,
                                       const std::string& ruleset, WarehouseDiffError& error) {
    auto tables = client.query(
        "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = "
        "'strata_runs'");
    if (!tables) {
        error.message = tables.error().describe();
        return std::nullopt;
    }
    if (tables.value().rows.at(0).at(0).value_or("0") == "0") return false;
    std::optional<RunRecord> latest;
    std::string run_error;
    if (!find_clickhouse_run(client, ruleset, std::nullopt, latest, run_error)) {
        error.message = run_error;
        return std::nullopt;
    }
    return latest.has_value();
}

// The embedded diff's notes on files that read the stored state (analysis/diff.hpp), for a
// diff inside the warehouse `where`; false when `has_run` could not tell.
bool note_stored_state(RulesDiff& diff, const DiffedRules& old_rules, const DiffedRules& new_rules,
                       const std::function<std::optional<bool>(const std::string&)>& has_run,
                       const std::string& where) {
    const CompiledRules& old_file = *old_rules.rules;
    const CompiledRules& new_file = *new_rules.rules;
    if (!old_file.program.reads_stored_state() && !new_file.program.reads_stored_state())
        return true;
    const std::optional<bool> old_has_run = has_run(old_file.rules.ruleset);
    const std::optional<bool> new_has_run = has_run(new_file.rules.ruleset);
    if (!old_has_run || !new_has_run) return false;
    diff.notes = stored_state_notes(old_file, *old_has_run, new_file, *new_has_run, where,
                                    "a run inside it (strata run --db URL) stores them there");
    return true;
}

}  // namespace

std::optional<RulesDiff> diff_in_postgres(const DiffedRules& old_rules,
                                          const DiffedRules& new_rules, const Schema& catalog,
                                          const warehouse::PostgresUrl& url, Date as_of,
                                          size_t sample, WarehouseDiffError& error) {
    auto dialect = sql::make_postgres_dialect(&catalog);
    std::string old_sql, new_sql;
    if (!compile_both(old_rules, new_rules, as_of, *dialect, old_sql, new_sql, error))
        return std::nullopt;
    const bool integer_keys = integer_key(*old_rules.rules, catalog);
    if (integer_keys != integer_key(*new_rules.rules, catalog)) {
        error.message =
            "the two files' customer keys are of different types (one integer, one "
            "text), so no customer of one can be found in the other";
        return std::nullopt;
    }
    // Up to `sample` keys per group, and at least 5 to name unplaced customers with.
    const std::string keep = std::to_string(std::max<size_t>(sample, 5));
    const std::string key = "coalesce(o.customer_key, n.customer_key)";
    const std::string keys = integer_keys ? "array_to_string((array_agg(" + key + " ORDER BY " +
                                                key + "))[1:" + keep + "], ',')"
                                          : "array_to_string((array_agg(encode(convert_to(" + key +
                                                "::text, 'UTF8'), 'hex') ORDER BY " + key +
                                                "::text COLLATE \"C\"))[1:" + keep + "], ',')";
    const std::string sql =
        "SELECT o.segment, n.segment, o.tactical, n.tactical, o.customer_key IS NOT NULL, "
        "n.customer_key IS NOT NULL, count(*), " +
        keys + " FROM (" + old_sql + ") o FULL JOIN (" + new_sql +
        ") n ON o.customer_key = n.customer_key GROUP BY 1, 2, 3, 4, 5, 6";
    spdlog::debug("diff inside PostgreSQL: {}", sql);
    auto connection = state::connect_postgres_state(url);
    if (!connection) {
        error.message = connection.error().describe();
        return std::nullopt;
    }
    auto& db = connection.value();
    auto transaction = warehouse::PostgresTransaction::begin(db);
    if (!transaction) {
        error.message = transaction.error().describe();
        return std::nullopt;
    }
    // One snapshot for both files (REPEATABLE READ), and no JIT (seconds for nothing).
    for (const char* setting :
         {"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET LOCAL jit = off"}) {
        if (auto set = db.exec(setting); !set) {
            error.message = set.error().describe();
            return std::nullopt;
        }
    }
    for (const DiffedRules* file : {&old_rules, &new_rules}) {
        if (auto made = ensure_state_for_reads(db, *file->rules); !made) {
            error.message = made.error().describe();
            return std::nullopt;
        }
    }
    auto answer = db.exec(sql);
    if (!answer) {
        error.message = answer.error().describe();
        return std::nullopt;
    }
    auto diff = diff_from_rows(old_rules, new_rules, as_of, sample, answer.value().rows,
                               integer_keys, error);
    if (diff) {
        auto has_run = [&](const std::string& ruleset) {
            return postgres_has_run(db, ruleset, error);
        };
        if (!note_stored_state(*diff, old_rules, new_rules, has_run, "this PostgreSQL database"))
            return std::nullopt;
    }
    const CompiledRules& rules = *new_rules.rules;
    if (!diff || rules.triggers.empty()) return diff;
    // The customers whose placement differs, with the new file's trigger values, on the same
    // snapshot; the earlier actions are the server's strata_outbox (none before a first run).
    const TriggerColumns columns = trigger_columns(rules);
    const std::string key_order = integer_keys ? "n.customer_key" : "n.customer_key COLLATE \"C\"";
    const std::string candidates_sql =
        "SELECT n.customer_key::text, n.segment, n.tactical, o.segment, o.tactical" +
        trigger_value_columns(columns, "n.") + " FROM (" +
        triggers_query(rules, as_of, *dialect, columns) + ") n LEFT JOIN (" + old_sql +
        ") o ON o.customer_key = n.customer_key" +
        (every_customer_a_candidate(*old_rules.rules, rules)
             ? std::string()
             : std::string(" WHERE o.customer_key IS NULL OR o.segment IS DISTINCT FROM n.segment "
                           "OR coalesce(o.tactical, '') <> coalesce(n.tactical, '')")) +
        " ORDER BY " + key_order;
    spdlog::debug("the trigger candidates of a diff inside PostgreSQL: {}", candidates_sql);
    auto candidates = db.exec(candidates_sql);
    auto outbox = db.exec("SELECT to_regclass('strata_outbox') IS NOT NULL");
    if (!candidates || !outbox) {
        error.message = (!candidates ? candidates.error() : outbox.error()).describe();
        return std::nullopt;
    }
    const bool has_outbox = outbox.value().rows.at(0).at(0).value_or("") == "t";
    PostgresHistory history(db);
    std::optional<warehouse::WarehouseError> lookup_error;
    diff->triggers =
        impacts_of(*old_rules.rules, rules, columns, candidates.value().rows, integer_keys, as_of,
                   has_outbox ? &history : nullptr, sample,
                   has_outbox ? postgres_enqueued(db, integer_keys, lookup_error) : nullptr);
    if (history.error || lookup_error) {
        error.message = (history.error ? *history.error : *lookup_error).describe();
        return std::nullopt;
    }
    // A ruleset without a stored run: its first run is a baseline, which fires nothing.
    const std::optional<bool> has_run = postgres_has_run(db, rules.rules.ruleset, error);
    if (!has_run) return std::nullopt;
    if (!*has_run) mark_triggers_baseline(*diff);
    diff->triggers_computed = true;
    return diff;
}

std::optional<RulesDiff> diff_in_clickhouse(const DiffedRules& old_rules,
                                            const DiffedRules& new_rules, const Schema& catalog,
                                            const warehouse::ClickHouseUrl& url, Date as_of,
                                            size_t sample, const std::optional<std::string>& state,
                                            WarehouseDiffError& error) {
    auto dialect = sql::make_clickhouse_dialect(&catalog);
    std::string old_sql, new_sql;
    if (!compile_both(old_rules, new_rules, as_of, *dialect, old_sql, new_sql, error))
        return std::nullopt;
    if (!integer_key(*old_rules.rules, catalog) || !integer_key(*new_rules.rules, catalog)) {
        error.message = "a diff inside ClickHouse needs integer customer keys in both files";
        return std::nullopt;
    }
    const std::string keep = std::to_string(std::max<size_t>(sample, 5));
    // With join_use_nulls 0 a side without the customer has 0 in its `present` column.
    const std::string sql =
        "SELECT old_segment, new_segment, old_tactical, new_tactical, old_present, new_present, "
        "count(), arrayStringConcat(arrayMap(x -> toString(x), arraySlice(arraySort(groupArray("
        "customer_key)), 1, " +
        keep +
        ")), ',') FROM (SELECT customer_key, segment AS old_segment, tactical AS old_tactical, "
        "toUInt8(1) AS old_present FROM (" +
        old_sql +
        ")) ALL FULL OUTER JOIN (SELECT customer_key, segment AS new_segment, tactical AS "
        "new_tactical, toUInt8(1) AS new_present FROM (" +
        new_sql +
        ")) USING customer_key GROUP BY old_segment, new_segment, old_tactical, new_tactical, "
        "old_present, new_present";
    spdlog::debug("diff inside ClickHouse: {}", sql);
    warehouse::ClickHouseClient client(url);
    for (const DiffedRules* file : {&old_rules, &new_rules}) {
        if (!ensure_clickhouse_state_for_reads(client, *file->rules, error.message))
            return std::nullopt;
        // One row per customer, as a run inside ClickHouse needs: with a repeated key the
        // join would pair each of its rows with each other's and make up moves.
        const RuleFile& f = file->rules->rules;
        if (!clickhouse_keys_unique(client, f.customers_table, f.key, "a diff", error.message))
            return std::nullopt;
    }
    auto answer = client.query(sql);
    if (!answer) {
        error.message = answer.error().describe();
        return std::nullopt;
    }
    auto diff =
        diff_from_rows(old_rules, new_rules, as_of, sample, answer.value().rows, true, error);
    if (diff) {
        auto has_run = [&](const std::string& ruleset) {
            return clickhouse_has_run(client, ruleset, error);
        };
        if (!note_stored_state(*diff, old_rules, new_rules, has_run, "this ClickHouse database"))
            return std::nullopt;
    }
    const CompiledRules& rules = *new_rules.rules;
    if (!diff || rules.triggers.empty()) return diff;
    if (!state) {
        diff->triggers_computed = false;
        diff->triggers_missing =
            "the earlier actions that cooldowns and the frequency cap count are in the store "
            "runs inside ClickHouse were given with --state; give the same --state to count them";
        return diff;
    }
    // The customers whose placement differs, with the new file's trigger values. The compiled
    // queries read unmatched join rows as join_use_nulls 0 gives them, so a marker says whether
    // the old file has the customer.
    const TriggerColumns columns = trigger_columns(rules);
    const std::string candidates_sql =
        "SELECT customer_key, segment, tactical, old_segment, old_tactical, old_present" +
        trigger_value_columns(columns, "") + " FROM (" +
        triggers_query(rules, as_of, *dialect, columns) +
        ") ALL LEFT JOIN (SELECT customer_key, segment AS old_segment, tactical AS old_tactical, "
        "toUInt8(1) AS old_present FROM (" +
        old_sql + ")) USING customer_key" +
        (every_customer_a_candidate(*old_rules.rules, rules)
             ? std::string()
             : std::string(" WHERE old_present = 0 OR ifNull(old_segment, '') != "
                           "ifNull(segment, '') OR ifNull(old_tactical, '') != ifNull(tactical, "
                           "'')")) +
        " ORDER BY customer_key";
    spdlog::debug("the trigger candidates of a diff inside ClickHouse: {}", candidates_sql);
    auto candidates = client.query(candidates_sql);
    if (!candidates) {
        error.message = candidates.error().describe();
        return std::nullopt;
    }
    // As fire_candidates takes them: no placement before where the old file has none.
    std::vector<Row> rows = std::move(candidates.value().rows);
    for (Row& row : rows) {
        if (row.at(5).value_or("0") != "1") row[3] = row[4] = std::nullopt;
        row.erase(row.begin() + 5);
    }
    // The earlier actions: the state store's outbox (none in a store without one).
    std::string url_error;
    auto location = warehouse::parse_database_argument(*state, url_error);
    if (!location || std::holds_alternative<warehouse::ClickHouseUrl>(*location)) {
        error.message = location ? "--state takes a SQLite file or a postgresql:// URL: the "
                                   "store that takes the actions of runs inside ClickHouse"
                                 : url_error;
        return std::nullopt;
    }
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
        auto connection = state::connect_postgres_state(*pg);
        if (!connection) {
            error.message = connection.error().describe();
            return std::nullopt;
        }
        auto& db = connection.value();
        auto outbox = db.exec("SELECT to_regclass('strata_outbox') IS NOT NULL");
        if (!outbox) {
            error.message = outbox.error().describe();
            return std::nullopt;
        }
        PostgresHistory history(db);
        const bool has_outbox = outbox.value().rows.at(0).at(0).value_or("") == "t";
        std::optional<warehouse::WarehouseError> lookup_error;
        diff->triggers = impacts_of(
            *old_rules.rules, rules, columns, rows, true, as_of, has_outbox ? &history : nullptr,
            sample, has_outbox ? postgres_enqueued(db, true, lookup_error) : nullptr);
        if (history.error || lookup_error) {
            error.message = (history.error ? *history.error : *lookup_error).describe();
            return std::nullopt;
        }
    } else {
        StoreError open_error;
        auto db = open_read_only(*state, open_error);
        if (!db) {
            error.message = open_error.message;
            return std::nullopt;
        }
        try {
            std::unique_ptr<FiringHistory> history = sqlite_firing_history(*db);
            std::optional<EnqueuedActions> enqueued;
            if (db->tableExists("strata_outbox")) enqueued.emplace(*db);
            EnqueuedBefore before;
            if (enqueued)
                before = [&enqueued](const std::vector<OutboxRow>& actions) {
                    std::vector<char> out;
                    for (const OutboxRow& row : actions)
                        out.push_back(enqueued->contains(row) ? 1 : 0);
                    return out;
                };
            diff->triggers = impacts_of(*old_rules.rules, rules, columns, rows, true, as_of,
                                        history.get(), sample, before);
        } catch (const SQLite::Exception& e) {
            error.message = "cannot read earlier actions from table 'strata_outbox' in '" + *state +
                            "': " + e.what();
            return std::nullopt;
        }
    }
    // A ruleset without a complete run in ClickHouse: its first run is a baseline, which
    // fires nothing.
    const std::optional<bool> has_run = clickhouse_has_run(client, rules.rules.ruleset, error);
    if (!has_run) return std::nullopt;
    if (!*has_run) mark_triggers_baseline(*diff);
    diff->triggers_computed = true;
    return diff;
}

}  // namespace strata::state
