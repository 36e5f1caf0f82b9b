// strata compile: the rule file lowered to one SQL query (sql/compiler.hpp) that places every
// customer as a run would, for running the rules where the data is.
#include <algorithm>
#include <cctype>

#include <CLI/CLI.hpp>

#include "cli/clickhouse_schema.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/io.hpp"
#include "engine/store.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/clickhouse_state.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/database_url.hpp"

namespace strata::cli {

namespace {

struct CompileOptions {
    std::string rules;
    std::string dialect;
    std::optional<std::string> db;
    std::optional<std::string> as_of;
    std::vector<std::string> lets;
};

// The SQLite dialect that knows the base's views (their rows have no rowid to order them);
// the plain dialect when the schema cannot be read (the load that bound the rules read it).
std::unique_ptr<sql::Dialect> sqlite_dialect_of(SQLite::Database& db) {
    StoreError error;
    const std::optional<Schema> schema = read_schema(db, error);
    return sql::make_sqlite_dialect(schema ? &*schema : nullptr);
}

int run_compile(const CompileOptions& options, std::ostream& out, std::ostream& err) {
    int exit_code = kExitOk;
    if (const std::string message = test_file_problem(options.rules); !message.empty()) {
        err << "strata compile: " << message << '\n';
        return kExitEnvironment;
    }
    std::optional<LoadedRules> loaded;
    std::optional<Schema> catalog;
    // A server's URL names its own dialect: its catalog would not be another's.
    for (const auto& [scheme, dialect] : {std::pair{"clickhouse://", "clickhouse"},
                                          {"postgresql://", "postgres"},
                                          {"postgres://", "postgres"}}) {
        if (options.db && options.db->rfind(scheme, 0) == 0 && options.dialect != dialect) {
            err << "strata compile: --db is a " << scheme << " URL, which is read for --dialect "
                << dialect << ", not " << options.dialect << '\n';
            return kExitEnvironment;
        }
    }
    if (options.db && options.db->rfind("clickhouse://", 0) == 0) {
        // The schema from the server's system.columns (cli/clickhouse_schema.hpp).
        std::string error;
        catalog = read_clickhouse_schema(*options.db, error);
        auto& schema = catalog;
        auto text = schema ? read_text_file(options.rules, error) : std::nullopt;
        if (!text) {
            err << "strata compile: " << error << '\n';
            return kExitEnvironment;
        }
        SourceFile source(options.rules, std::move(*text));
        Diagnostics diags;
        loaded.emplace();
        loaded->rules = compile_rules(source, &*schema, diags);
        diags.sort_by_location();
        for (const auto& d : diags.items())
            render_text(err, d, &source);
        if (!loaded->rules || diags.has_errors())
            return diags.only_schema_errors() ? kExitEnvironment : kExitRules;
        // ClickHouse keeps no row order, so the query cannot keep a repeated key's first row
        // as the engine does: a base with one is refused, as a run inside it is.
        auto location = warehouse::parse_database_argument(*options.db, error);
        if (const auto* url =
                location ? std::get_if<warehouse::ClickHouseUrl>(&*location) : nullptr) {
            warehouse::ClickHouseClient client(*url);
            const RuleFile& file = loaded->rules->rules;
            if (!state::clickhouse_keys_unique(client, file.customers_table, file.key,
                                               "a compiled query", error)) {
                err << "strata compile: " << error << '\n';
                return kExitEnvironment;
            }
        }
    } else {
        std::string read_error;
        auto text = read_text_file(options.rules, read_error);
        if (!text) {
            err << "strata: " << read_error << '\n';
            return kExitEnvironment;
        }
        loaded = load_rules_text(options.rules, std::move(*text), options.db, err, exit_code,
                                 nullptr, options.dialect == "postgres" ? &catalog : nullptr);
    }
    if (!loaded) return exit_code;
    if (options.dialect == "postgres" && options.db && !catalog) {
        err << "strata compile: --dialect postgres takes the base's postgresql:// URL as --db\n";
        return kExitEnvironment;
    }
    auto as_of = resolve_as_of(options.as_of, loaded->rules->rules, err, "compile");
    if (!as_of) return kExitEnvironment;
    // Without the catalog the query cannot know how the warehouse stores each column, so it
    // casts as source.types says; a run converts as the engine does. Said, not guessed at.
    if ((options.dialect == "postgres" || options.dialect == "clickhouse") && !options.db)
        err << "strata compile: note: without --db the query takes each column to be stored "
               "in the warehouse as the type source.types gives it, and casts it to that type; "
               "a column stored as another type (a float given 'integer') can place customers "
               "differently from a run, which reads a value that does not convert as null. "
               "--db URL reads the columns' types from the server's catalog\n";
    auto dialect = options.dialect == "postgres"
                       ? sql::make_postgres_dialect(catalog ? &*catalog : nullptr)
                   : options.dialect == "clickhouse"
                       ? sql::make_clickhouse_dialect(catalog ? &*catalog : nullptr)
                   : options.dialect == "sqlite" && loaded->db ? sqlite_dialect_of(*loaded->db)
                                                               : sql::make_dialect(options.dialect);
    // The query measures texts in the base's own bytes (the limit of a join, length()), which
    // are UTF-8's only on a UTF-8 base; a UTF-16 one would place customers apart from a run.
    if (options.dialect == "sqlite" && loaded->db) {
        std::string encoding;
        try {
            encoding = loaded->db->execAndGet("PRAGMA encoding").getString();
        } catch (const std::exception& e) {
            err << "strata compile: cannot read the base's encoding: " << e.what() << '\n';
            return kExitEnvironment;
        }
        if (encoding != "UTF-8") {
            err << "strata compile: the base stores its texts as " << encoding
                << " (PRAGMA encoding), and the compiled query counts a text's bytes as the "
                   "language does only in UTF-8; segment this base with strata run, or copy it "
                   "into a UTF-8 database\n";
            return kExitEnvironment;
        }
    }
    // --lets names lets that have a column, once each: any other name is a wrong option, not a
    // rule problem.
    const auto& lets = loaded->rules->program.lets;
    auto has_column = [](const auto& let) {
        return let.type != Type::Record && let.type != Type::Duration;
    };
    // Column names are compared as SQL compares them: ASCII letters in any case.
    auto same_column = [](const std::string& a, const std::string& b) {
        return a.size() == b.size() &&
               std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) ==
                          std::tolower(static_cast<unsigned char>(y));
               });
    };
    auto is_query_column = [&](const std::string& name) {
        return same_column(name, "customer_key") || same_column(name, "segment") ||
               same_column(name, "tactical");
    };
    std::string names;
    size_t outputs = 0;
    for (const auto& let : lets) {
        if (!has_column(let) || is_query_column(let.name)) continue;
        names += (names.empty() ? "" : ", ") + let.name;
        ++outputs;
    }
    const std::string which = lets.empty()             ? " (it has no lets)"
                              : names.empty()          ? " (none of its lets can be output)"
                              : outputs == lets.size() ? "; its lets are: " + names
                                                       : "; the lets it can output are: " + names;
    for (size_t i = 0; i < options.lets.size(); ++i) {
        const std::string& name = options.lets[i];
        auto let =
            std::find_if(lets.begin(), lets.end(), [&](const auto& l) { return l.name == name; });
        std::string why;
        if (let == lets.end())
            why = "the rule file has no let of that name";
        else if (let->type == Type::Record)
            why =
                "a record has no column of its own, and compile does not output its fields "
                "(strata export --columns does: " +
                name + ".code and the like)";
        else if (let->type == Type::Duration)
            why = "a duration has no column";
        else if (is_query_column(name))
            why =
                "the query has a column of that name already; give the let another name to "
                "output it";
        else if (std::any_of(
                     options.lets.begin(), options.lets.begin() + i,
                     [&](const std::string& earlier) { return same_column(earlier, name); }))
            why = "given twice (column names ignore case)";
        if (why.empty()) continue;
        err << "strata compile: --lets '" << name << "': " << why
            << (let == lets.end() || !has_column(*let) ? which : std::string()) << '\n';
        return kExitEnvironment;
    }
    Diagnostics diags;
    auto query = sql::compile_query(*loaded->rules, *as_of, *dialect, diags, options.lets);
    if (!query) {
        diags.sort_by_location();
        for (const auto& d : diags.items())
            render_text(err, d, &loaded->rules->source);
        err << "strata compile: " << diags.error_count()
            << (diags.error_count() == 1 ? " construct" : " constructs")
            << " cannot be compiled to " << options.dialect << '\n';
        return kExitRules;
    }
    out << *query << ";\n";
    return kExitOk;
}

}  // namespace

void add_compile(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<CompileOptions>();
    auto* cmd = app.add_subcommand(
        "compile",
        "Print one SQL query that places every customer as a run of the rule file would "
        "(columns customer_key, segment, tactical, in export's order)");
    cmd->add_option("rules", options->rules, "Rule file (YAML)")->required();
    cmd->add_option("--dialect", options->dialect, "SQL dialect: sqlite, postgres or clickhouse")
        ->required()
        ->check(CLI::IsMember({"sqlite", "postgres", "clickhouse"}));
    cmd->add_option("--db", options->db,
                    "The base whose schema gives the columns' types: a SQLite file, a "
                    "postgresql:// URL (--dialect postgres) or a clickhouse://host:port/db URL "
                    "(without it, only columns typed in source.types compile)");
    cmd->add_option("--as-of", options->as_of,
                    "Reference date YYYY-MM-DD (default: the rule file's as_of, else today, UTC)");
    cmd->add_option("--lets", options->lets,
                    "Lets whose values follow as further columns, named as the lets (comma "
                    "separated; a date is its day number since 1970-01-01, a bool 0 or 1)")
        ->delimiter(',');
    cmd->callback(
        [options, &exit_code, &out, &err] { exit_code = run_compile(*options, out, err); });
}

}  // namespace strata::cli
