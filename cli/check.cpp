// `strata check RULES... [--db DB] [--strict] [--format text|json]`
#include <ostream>

#include "analysis/partition.hpp"
#include "cli/clickhouse_schema.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/io.hpp"
#include "dsl/compiler.hpp"
#include "engine/store.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_catalog.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/warehouse_firing.hpp"
#include "warehouse/database_url.hpp"

namespace strata::cli {

namespace {

struct FileReport {
    std::string path;
    std::optional<SourceFile> source;
    Diagnostics diags;
    bool unreadable = false;
};

// Without a database, names are taken as customer columns of unknown type, so a typo in a
// column name passes: say so on every check that had no --db.
constexpr const char* kNamesNotChecked =
    "names not checked: pass --db to check them and their types";

// A rule file that pins as_of makes every run see the same day; `check` says so as a note.
void note_fixed_as_of(const CompiledRules& compiled, Diagnostics& diags) {
    const RuleFile& rf = compiled.rules;
    if (!rf.as_of) return;
    diags.add(Severity::Note, compiled.source.path(), rf.as_of_location,
              "as_of is fixed in the file: every run will see " + format_date(*rf.as_of) +
                  " unless run with --as-of",
              DiagnosticCode::AsOfFixed);
}

void print_text(std::ostream& out, const std::vector<FileReport>& reports, size_t checked,
                size_t errors, size_t warnings, bool names_checked) {
    for (const auto& r : reports) {
        for (const auto& d : r.diags.items())
            render_text(out, d, r.source ? &*r.source : nullptr);
    }
    if (!names_checked) out << "note: " << kNamesNotChecked << '\n';
    out << "checked " << checked << " file" << (checked == 1 ? "" : "s") << ": " << errors
        << " error" << (errors == 1 ? "" : "s") << ", " << warnings << " warning"
        << (warnings == 1 ? "" : "s") << '\n';
}

void print_json(std::ostream& out, const std::vector<FileReport>& reports, size_t errors,
                size_t warnings, bool names_checked) {
    out << "{\"format\":1,\"files\":[";
    for (size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        if (i) out << ',';
        out << "{\"file\":";
        write_json_string(out, r.path);
        out << ",\"errors\":" << r.diags.error_count()
            << ",\"warnings\":" << r.diags.warning_count() << ",\"diagnostics\":[";
        for (size_t k = 0; k < r.diags.items().size(); ++k) {
            if (k) out << ',';
            render_json(out, r.diags.items()[k], r.source ? &*r.source : nullptr);
        }
        out << "]}";
    }
    out << "],\"errors\":" << errors << ",\"warnings\":" << warnings
        << ",\"names_checked\":" << (names_checked ? "true" : "false") << "}\n";
}

// A rule file checked against a warehouse base runs there as one query: what its dialect
// refuses (a name outside strata's naming rule, a construct it cannot express exactly) is
// refused by `run` and `compile` too, so `check` reports it, at the construct's place.
void check_lowering(const CompiledRules& rules, const Schema& catalog, bool postgres,
                    Diagnostics& diags) {
    const auto dialect =
        postgres ? sql::make_postgres_dialect(&catalog) : sql::make_clickhouse_dialect(&catalog);
    // The day changes none of the refusals; the file's own as_of when it pins one.
    const Date as_of = rules.rules.as_of ? *rules.rules.as_of : today_utc();
    sql::RunColumns columns = state::run_columns(rules);
    sql::compile_run_query(rules, as_of, *dialect, diags, columns);
}

}  // namespace

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err) {
    std::optional<Schema> schema;
    std::string url_error;
    auto location = options.db ? warehouse::parse_database_argument(*options.db, url_error)
                               : std::optional<warehouse::DatabaseLocation>();
    if (options.db && !location) {
        err << "strata check: " << url_error << '\n';
        if (options.format == Format::Json) write_json_error(out, "usage", url_error);
        return kExitEnvironment;
    }
    const auto* postgres = location ? std::get_if<warehouse::PostgresUrl>(&*location) : nullptr;
    if (postgres) {
        // The names and types of a PostgreSQL base, from its catalog.
        std::string error;
        schema = sql::read_postgres_schema(*postgres, error);
        if (!schema) {
            err << "strata check: " << error << '\n';
            if (options.format == Format::Json) write_json_error(out, "database", error);
            return kExitEnvironment;
        }
    } else if (location && std::holds_alternative<warehouse::ClickHouseUrl>(*location)) {
        // The names and types of a ClickHouse base, from its system.columns.
        std::string error;
        schema = read_clickhouse_schema(*options.db, error);
        if (!schema) {
            err << "strata check: " << error << '\n';
            if (options.format == Format::Json) write_json_error(out, "database", error);
            return kExitEnvironment;
        }
    } else if (options.db) {
        StoreError error;
        auto db = open_read_only(*options.db, error);
        if (db) schema = read_schema(*db, error);
        if (!schema) {
            err << "strata check: " << error.message << '\n';
            if (options.format == Format::Json) write_json_error(out, "database", error.message);
            return kExitEnvironment;
        }
    }
    const bool in_warehouse = location && !std::holds_alternative<warehouse::SqlitePath>(*location);
    std::vector<FileReport> reports;
    bool unreadable = false;
    size_t errors = 0, warnings = 0;
    size_t test_files = 0;
    for (const auto& path : options.rules) {
        FileReport report;
        report.path = path;
        // `strata check rules/*.yaml` also names the test files beside the rule files.
        if (is_test_file_name(path)) {
            report.diags.add(Severity::Note, path, Location{},
                             "a rule file's test cases: 'strata test' runs them (give it the "
                             "rule file); not checked as a rule file",
                             DiagnosticCode::TestFile);
            ++test_files;
            reports.push_back(std::move(report));
            continue;
        }
        std::string read_error;
        auto text = read_text_file(path, read_error);
        if (!text) {
            report.diags.error(DiagnosticCode::File, path, Location{}, read_error);
            report.unreadable = unreadable = true;
        } else {
            report.source = SourceFile(path, std::move(*text));
            auto compiled =
                compile_rules(*report.source, schema ? &*schema : nullptr, report.diags);
            if (compiled) note_fixed_as_of(*compiled, report.diags);
            // The partition analysis reads bound conditions, which errors may have left out.
            if (compiled && !report.diags.has_errors())
                check_partition(*compiled, options.strict, report.diags);
            if (compiled && !report.diags.has_errors() && in_warehouse)
                check_lowering(*compiled, *schema, postgres != nullptr, report.diags);
            if (options.strict) report.diags.promote_warnings();
            report.diags.sort_by_location();
        }
        errors += report.diags.error_count();
        warnings += report.diags.warning_count();
        reports.push_back(std::move(report));
    }
    const bool names_checked = schema.has_value();
    if (options.format == Format::Json)
        print_json(out, reports, errors, warnings, names_checked);
    else
        print_text(out, reports, reports.size() - test_files, errors, warnings, names_checked);
    if (unreadable) return kExitEnvironment;
    return errors > 0 ? kExitRules : kExitOk;
}

}  // namespace strata::cli
