#include "cli/run_warehouse.hpp"

#include "state/foreign_tables.hpp"

#include <algorithm>

#include "cli/clickhouse_schema.hpp"
#include "cli/io.hpp"
#include "engine/sha256.hpp"
#include "state/clickhouse_run.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_run.hpp"
#include "state/postgres_state.hpp"
#include "state/warehouse_diff.hpp"
#include "state/warehouse_explain.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::cli {

bool is_postgres_url(const std::string& db) {
    return db.rfind("postgresql://", 0) == 0 || db.rfind("postgres://", 0) == 0;
}

bool is_clickhouse_url(const std::string& db) {
    return db.rfind("clickhouse://", 0) == 0;
}

// Whether `day` is the as_of of the latest run of `ruleset` stored in the warehouse at `db`
// (false when that cannot be read): a far-future day stored once, with --allow-future-as-of,
// may be stored again without it, as an embedded run may (cli/common.hpp).
static bool is_latest_warehouse_day(const std::string& db, const std::string& ruleset, Date day) {
    std::string url_error;
    const auto location = warehouse::parse_database_argument(db, url_error);
    if (!location) return false;
    std::optional<RunRecord> latest;
    if (const auto* ch = std::get_if<warehouse::ClickHouseUrl>(&*location)) {
        warehouse::ClickHouseClient client(*ch);
        std::string error;
        if (!state::find_clickhouse_run(client, ruleset, std::nullopt, latest, error)) return false;
    } else if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
        auto connection = state::connect_postgres_state(*pg);
        if (!connection) return false;
        auto found = state::find_postgres_run(connection.value(), ruleset, std::nullopt);
        if (!found) return false;
        latest = found.value();
    }
    return latest && latest->as_of == format_date(day);
}

std::optional<RunReport> run_postgres(const RunCommandOptions& options,
                                      std::optional<LoadedRules>& loaded, std::ostream& out,
                                      std::ostream& err, int& exit_code) {
    std::ostream* json = options.format == RunFormat::Json ? &out : nullptr;
    auto usage = [&](const std::string& message) {
        err << "strata run: " << message << '\n';
        if (json) write_json_error(out, "usage", message);
        exit_code = kExitEnvironment;
        return std::nullopt;
    };
    if (options.incremental)
        return usage(
            "--incremental reads the state an embedded run keeps; a run inside PostgreSQL "
            "evaluates the whole base there every time");
    if (options.state)
        return usage("--state: a run inside PostgreSQL keeps its state in that database");
    std::string url_error;
    auto location = warehouse::parse_database_argument(options.db, url_error);
    if (!location) return usage(url_error);
    const auto& url = std::get<warehouse::PostgresUrl>(*location);
    std::string read_error;
    auto text = read_text_file(options.rules, read_error);
    if (!text) {
        err << "strata: " << read_error << '\n';
        if (json) write_json_error(out, "file", read_error);
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    std::optional<Schema> catalog;
    loaded = load_rules_text(options.rules, std::move(*text), options.db, err, exit_code, json,
                             &catalog);
    if (!loaded) return std::nullopt;
    auto as_of = resolve_as_of(options.as_of, loaded->rules->rules, err, "run");
    if (!as_of) return usage("--as-of '" + options.as_of.value_or("") + "' is not a date");
    if (!options.dry_run && !options.allow_future_as_of) {
        if (auto refused = refuses_far_future_as_of(*as_of, today_utc(), "with --dry-run");
            refused && !is_latest_warehouse_day(options.db, loaded->rules->rules.ruleset, *as_of))
            return usage(*refused);
    }
    const std::optional<int64_t> wait = parse_duration(options.wait);
    if (!wait) return usage(wait_problem(options.wait));
    state::PostgresRunOptions run_options;
    run_options.as_of = *as_of;
    run_options.dry_run = options.dry_run;
    run_options.fire_initial = options.fire_initial;
    run_options.fire_on_rule_change = options.fire_on_rule_change;
    run_options.rules_path = options.rules;
    run_options.rules_sha256 = loaded->sha256;
    run_options.source = &loaded->rules->source;
    run_options.warnings = loaded->warnings;
    run_options.wait_ms = busy_timeout_ms(*wait);
    state::PostgresRunError error;
    auto report = state::run_in_postgres(*loaded->rules, *catalog, url, run_options, error);
    if (!report) {
        error.refusals.sort_by_location();
        for (const auto& d : error.refusals.items())
            render_text(err, d, &loaded->rules->source);
        err << "strata run: " << error.message << '\n';
        if (json)
            write_json_error(out, error.rule_problem ? "rules" : "database", error.message,
                             error.refusals.items(), &loaded->rules->source);
        exit_code = error.rule_problem ? kExitRules : kExitEnvironment;
        return std::nullopt;
    }
    if (options.dry_run && !error.message.empty())
        err << "strata run: warning: a stored run of this file would be refused: " << error.message
            << '\n';
    return report;
}

std::optional<StoredRun> load_postgres_run(const std::string& db, const std::string& ruleset,
                                           std::optional<int64_t> run_id, std::ostream& err) {
    auto fail = [&](const std::string& message) {
        err << "strata export: " << message << '\n';
        return std::nullopt;
    };
    std::string url_error;
    auto location = warehouse::parse_database_argument(db, url_error);
    if (!location) return fail(url_error);
    auto connection = state::connect_postgres_state(std::get<warehouse::PostgresUrl>(*location));
    if (!connection) return fail(connection.error().describe());
    auto& pg = connection.value();
    const std::string where = warehouse::describe_location(*location);
    auto has_state = state::has_postgres_state(pg);
    if (!has_state) return fail(has_state.error().describe());
    if (!has_state.value())
        return fail("no runs are stored in '" + where + "'; run 'strata run' first");
    auto record = state::find_postgres_run(pg, ruleset, run_id);
    if (!record) return fail(record.error().describe());
    if (!record.value()) {
        return fail(run_id ? "run " + std::to_string(*run_id) + " of ruleset '" + ruleset +
                                 "' does not exist"
                           : "no stored run of ruleset '" + ruleset + "'; run 'strata run' first");
    }
    StoredRun run;
    run.record = std::move(*record.value());
    auto actions = state::load_postgres_segment_actions(pg, run.record.run_id);
    if (!actions) return fail(actions.error().describe());
    run.actions = std::move(actions.value());
    auto rows = state::load_postgres_membership(pg, run.record);
    if (!rows) return fail(rows.error().describe());
    run.rows = std::move(rows.value());
    return run;
}

std::optional<LoadedRules> load_warehouse_rules(const std::string& command,
                                                const std::string& rules, const std::string& db,
                                                std::ostream& out, std::ostream& err,
                                                std::ostream* json, int& exit_code,
                                                std::optional<Schema>& catalog) {
    std::string error;
    auto fail = [&](const std::string& kind) {
        err << "strata " << command << ": " << error << '\n';
        if (json) write_json_error(out, kind, error);
        exit_code = kExitEnvironment;
        return std::nullopt;
    };
    auto text = read_text_file(rules, error);
    if (!text) return fail("file");
    return load_warehouse_rules_text(command, rules, std::move(*text), db, out, err, json,
                                     exit_code, catalog);
}

std::optional<LoadedRules> load_warehouse_rules_text(const std::string& command,
                                                     const std::string& name, std::string text,
                                                     const std::string& db, std::ostream& out,
                                                     std::ostream& err, std::ostream* json,
                                                     int& exit_code,
                                                     std::optional<Schema>& catalog) {
    if (is_postgres_url(db))
        return load_rules_text(name, std::move(text), db, err, exit_code, json, &catalog);
    std::string error;
    catalog = read_clickhouse_schema(db, error);
    if (!catalog) {
        err << "strata " << command << ": " << error << '\n';
        if (json) write_json_error(out, "database", error);
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    SourceFile source(name, std::move(text));
    Diagnostics diags;
    std::optional<LoadedRules> loaded;
    loaded.emplace();
    loaded->sha256 = sha256_hex(source.text());
    loaded->rules = compile_rules(source, &*catalog, diags);
    diags.sort_by_location();
    for (const auto& d : diags.items()) {
        render_text(err, d, loaded->rules ? &loaded->rules->source : &source);
        if (d.severity == Severity::Warning) loaded->warnings.push_back(d);
    }
    if (!loaded->rules || diags.has_errors()) {
        exit_code = diags.only_schema_errors() ? kExitEnvironment : kExitRules;
        if (json) {
            const size_t n = diags.error_count();
            write_json_error(out, exit_code == kExitRules ? "rules" : "database",
                             std::to_string(n) + " error" + (n == 1 ? "" : "s") + " in " + name,
                             diags.items(), &source);
        }
        return std::nullopt;
    }
    return loaded;
}

std::optional<Explanation> explain_in_warehouse(const std::string& rules, const std::string& db,
                                                const std::optional<std::string>& as_of_text,
                                                const std::string& customer, std::ostream& out,
                                                std::ostream& err, bool json, int& exit_code) {
    std::ostream* json_out = json ? &out : nullptr;
    auto fail = [&](const std::string& kind, const std::string& message, int code) {
        err << "strata explain: " << message << '\n';
        if (json_out) write_json_error(out, kind, message);
        exit_code = code;
        return std::nullopt;
    };
    std::string url_error;
    auto location = warehouse::parse_database_argument(db, url_error);
    if (!location) return fail("usage", url_error, kExitEnvironment);
    std::optional<Schema> catalog;
    auto loaded =
        load_warehouse_rules("explain", rules, db, out, err, json_out, exit_code, catalog);
    if (!loaded) return std::nullopt;
    return explain_loaded_in_warehouse(*loaded, *catalog, db, as_of_text, customer, out, err, json,
                                       exit_code);
}

std::optional<Explanation> explain_loaded_in_warehouse(const LoadedRules& loaded,
                                                       const Schema& catalog, const std::string& db,
                                                       const std::optional<std::string>& as_of_text,
                                                       const std::string& customer,
                                                       std::ostream& out, std::ostream& err,
                                                       bool json, int& exit_code) {
    std::ostream* json_out = json ? &out : nullptr;
    auto fail = [&](const std::string& kind, const std::string& message, int code) {
        err << "strata explain: " << message << '\n';
        if (json_out) write_json_error(out, kind, message);
        exit_code = code;
        return std::nullopt;
    };
    std::string url_error;
    auto location = warehouse::parse_database_argument(db, url_error);
    if (!location) return fail("usage", url_error, kExitEnvironment);
    auto as_of = resolve_as_of(as_of_text, loaded.rules->rules, err, "explain");
    if (!as_of)
        return fail("usage", "--as-of '" + as_of_text.value_or("") + "' is not a date",
                    kExitEnvironment);
    state::WarehouseExplainError error;
    std::optional<Explanation> e;
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location))
        e = state::explain_in_postgres(*loaded.rules, catalog, *pg, *as_of, customer, error);
    else
        e = state::explain_in_clickhouse(*loaded.rules, catalog,
                                         std::get<warehouse::ClickHouseUrl>(*location), *as_of,
                                         customer, error);
    if (!e) {
        error.refusals.sort_by_location();
        for (const auto& d : error.refusals.items())
            render_text(err, d, &loaded.rules->source);
        err << "strata explain: " << error.message << '\n';
        if (json_out)
            write_json_error(out, error.rule_problem ? "rules" : "database", error.message,
                             error.refusals.items(), &loaded.rules->source);
        exit_code = error.rule_problem ? kExitRules : kExitEnvironment;
        return std::nullopt;
    }
    e->computed_in = warehouse::describe_location(*location);
    return e;
}

std::optional<RulesDiff> diff_in_warehouse(const std::string& old_path, const std::string& new_path,
                                           const std::string& db,
                                           const std::optional<std::string>& as_of_text,
                                           size_t sample, const std::optional<std::string>& state,
                                           std::ostream& out, std::ostream& err, bool json,
                                           int& exit_code) {
    std::ostream* json_out = json ? &out : nullptr;
    auto fail = [&](const std::string& kind, const std::string& message, int code) {
        err << "strata diff: " << message << '\n';
        if (json_out) write_json_error(out, kind, message);
        exit_code = code;
        return std::nullopt;
    };
    std::string url_error;
    auto location = warehouse::parse_database_argument(db, url_error);
    if (!location) return fail("usage", url_error, kExitEnvironment);
    // Both files are compiled, so that the problems of both are shown at once.
    std::optional<Schema> catalog, new_catalog;
    int old_code = kExitOk, new_code = kExitOk;
    auto old_loaded =
        load_warehouse_rules("diff", old_path, db, out, err, json_out, old_code, catalog);
    auto new_loaded = load_warehouse_rules("diff", new_path, db, out, err,
                                           old_loaded ? json_out : nullptr, new_code, new_catalog);
    if (!old_loaded || !new_loaded) {
        exit_code = std::max(old_code, new_code);
        return std::nullopt;
    }
    // The as_of of both: --as-of, else the new file's, else the old file's, else today.
    const RuleFile& old_file = old_loaded->rules->rules;
    const RuleFile& new_file = new_loaded->rules->rules;
    std::optional<std::string> as_of_note;
    std::optional<Date> as_of =
        old_file_as_of(as_of_text.has_value(), old_file, new_file, as_of_note);
    if (!as_of) as_of = resolve_as_of(as_of_text, new_file, err, "diff");
    if (!as_of)
        return fail("usage", "--as-of '" + as_of_text.value_or("") + "' is not a date",
                    kExitEnvironment);
    if (auto refused = same_version_other_content(*old_loaded->rules, old_loaded->sha256,
                                                  *new_loaded->rules, new_loaded->sha256))
        err << "strata diff: warning: a stored run of the new file would be refused: " << *refused
            << '\n';
    const state::DiffedRules old_rules{old_loaded->rules.get(), old_loaded->sha256};
    const state::DiffedRules new_rules{new_loaded->rules.get(), new_loaded->sha256};
    state::WarehouseDiffError error;
    std::optional<RulesDiff> diff;
    if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location))
        diff = state::diff_in_postgres(old_rules, new_rules, *catalog, *pg, *as_of, sample, error);
    else
        diff = state::diff_in_clickhouse(old_rules, new_rules, *catalog,
                                         std::get<warehouse::ClickHouseUrl>(*location), *as_of,
                                         sample, state, error);
    if (!diff) {
        std::vector<Diagnostic> all;
        for (auto* refusals : {&error.old_refusals, &error.new_refusals}) {
            refusals->sort_by_location();
            const SourceFile& source = refusals == &error.old_refusals ? old_loaded->rules->source
                                                                       : new_loaded->rules->source;
            for (const auto& d : refusals->items()) {
                render_text(err, d, &source);
                all.push_back(d);
            }
        }
        err << "strata diff: " << error.message << '\n';
        if (json_out)
            write_json_error(out, error.rule_problem ? "rules" : "database", error.message);
        exit_code = error.rule_problem ? kExitRules : kExitEnvironment;
        return std::nullopt;
    }
    diff->computed_in = warehouse::describe_location(*location);
    if (as_of_note) diff->notes.insert(diff->notes.begin(), *as_of_note);
    return diff;
}

std::optional<RunReport> run_clickhouse(const RunCommandOptions& options,
                                        std::optional<LoadedRules>& loaded, std::ostream& out,
                                        std::ostream& err, int& exit_code) {
    std::ostream* json = options.format == RunFormat::Json ? &out : nullptr;
    auto fail = [&](const std::string& kind, const std::string& message, int code) {
        err << "strata run: " << message << '\n';
        if (json) write_json_error(out, kind, message);
        exit_code = code;
        return std::nullopt;
    };
    if (options.incremental)
        return fail("usage",
                    "--incremental reads the state an embedded run keeps; a run inside ClickHouse "
                    "evaluates the whole base there every time",
                    kExitEnvironment);
    std::string url_error;
    auto location = warehouse::parse_database_argument(options.db, url_error);
    if (!location) return fail("usage", url_error, kExitEnvironment);
    const auto& url = std::get<warehouse::ClickHouseUrl>(*location);
    std::optional<Schema> catalog;
    loaded =
        load_warehouse_rules("run", options.rules, options.db, out, err, json, exit_code, catalog);
    if (!loaded) return std::nullopt;
    auto as_of = resolve_as_of(options.as_of, loaded->rules->rules, err, "run");
    if (!as_of)
        return fail("usage", "--as-of '" + options.as_of.value_or("") + "' is not a date",
                    kExitEnvironment);
    if (!options.dry_run && !options.allow_future_as_of) {
        if (auto refused = refuses_far_future_as_of(*as_of, today_utc(), "with --dry-run");
            refused && !is_latest_warehouse_day(options.db, loaded->rules->rules.ruleset, *as_of))
            return fail("usage", *refused, kExitEnvironment);
    }
    state::ClickHouseRunOptions run_options;
    run_options.as_of = *as_of;
    run_options.dry_run = options.dry_run;
    run_options.fire_initial = options.fire_initial;
    run_options.fire_on_rule_change = options.fire_on_rule_change;
    run_options.state = options.state;
    {
        const std::optional<int64_t> wait = parse_duration(options.wait);
        if (!wait) return fail("usage", wait_problem(options.wait), kExitEnvironment);
        run_options.wait_ms = busy_timeout_ms(*wait);
    }
    run_options.rules_path = options.rules;
    run_options.rules_sha256 = loaded->sha256;
    run_options.source = &loaded->rules->source;
    run_options.warnings = loaded->warnings;
    state::ClickHouseRunError run_error;
    auto report = state::run_in_clickhouse(*loaded->rules, *catalog, url, run_options, run_error);
    if (!report) {
        run_error.refusals.sort_by_location();
        for (const auto& d : run_error.refusals.items())
            render_text(err, d, &loaded->rules->source);
        err << "strata run: " << run_error.message << '\n';
        if (json)
            write_json_error(out, run_error.rule_problem ? "rules" : "database", run_error.message,
                             run_error.refusals.items(), &loaded->rules->source);
        exit_code = run_error.rule_problem ? kExitRules : kExitEnvironment;
        return std::nullopt;
    }
    if (options.dry_run && !run_error.message.empty())
        err << "strata run: warning: a stored run of this file would be refused: "
            << run_error.message << '\n';
    return report;
}

std::optional<StoredRun> load_clickhouse_stored_run(const std::string& db,
                                                    const std::string& ruleset,
                                                    std::optional<int64_t> run_id,
                                                    std::ostream& err) {
    std::string error;
    auto location = warehouse::parse_database_argument(db, error);
    std::optional<state::ClickHouseStoredRun> stored;
    if (location)
        stored = state::load_clickhouse_run(std::get<warehouse::ClickHouseUrl>(*location), ruleset,
                                            run_id, error);
    if (!stored) {
        err << "strata export: " << error << '\n';
        return std::nullopt;
    }
    return StoredRun{std::move(stored->record), std::move(stored->rows),
                     std::move(stored->actions)};
}

}  // namespace strata::cli
