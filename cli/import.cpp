// `strata import FILE.csv --db DB --table NAME [options]`: a CRM export into a typed table
// (import/importer.hpp does the work; this file reads the options and prints the summary).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "engine/json.hpp"
#include "engine/store.hpp"
#include "import/importer.hpp"
#include "text/width.hpp"

namespace strata::cli {

namespace {

struct ImportCliOptions {
    import::ImportOptions options;
    std::string delimiter = "auto";
    std::string encoding = "auto";
    std::string date_format = "auto";
    std::string decimal = "auto";
    std::string types;
    bool replace = false;
    bool append = false;
    std::string format = "text";
};

using text::display_width;

std::string padded(const std::string& s, size_t width) {
    return text::pad(s, width);
}

std::string delimiter_label(char c) {
    return c == '\t' ? "tab" : std::string(1, c);
}

// Parses --types col:type,col:type. False with `error` set.
bool parse_types(const std::string& text,
                 std::vector<std::pair<std::string, import::ColumnType>>& out, std::string& error) {
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        const std::string item = text.substr(start, comma - start);
        start = comma + 1;
        if (item.empty()) continue;
        const size_t colon = item.rfind(':');
        auto type = colon == std::string::npos ? std::nullopt
                                               : import::type_from_label(item.substr(colon + 1));
        if (colon == 0 || !type) {
            error = "--types '" + item +
                    "' is not COLUMN:TYPE with TYPE one of integer, number, date, datetime, "
                    "boolean, text";
            return false;
        }
        std::string column = item.substr(0, colon);
        for (const auto& [earlier, _] : out) {
            if (same_sql_name(earlier, column)) {
                error = "--types names column '" + column + "' twice; give each column one type";
                return false;
            }
        }
        out.emplace_back(std::move(column), *type);
    }
    return true;
}

void write_text_summary(const ImportCliOptions& cli, const import::ImportReport& r,
                        std::ostream& out) {
    const auto& o = cli.options;
    out << "strata import: " << o.file << " -> " << o.db << ", table " << o.table << " ("
        << r.action << ")\n";
    out << "read as " << r.encoding;
    if (r.had_bom) out << " with a byte-order mark";
    if (r.encoding_chosen && r.encoding != "utf-8") {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", r.not_utf8_byte);
        out << " (chosen: the file is not valid UTF-8 from line " << r.not_utf8_line << ", byte "
            << hex << ")";
    } else if (r.encoding_chosen) {
        out << " (chosen: the file is valid UTF-8)";
    }
    out << ", separator '" << delimiter_label(r.delimiter) << "', decimal mark '"
        << (r.decimal == import::DecimalMark::Comma ? "," : ".") << "'";
    if (r.date_order) out << ", dates " << import::date_order_label(*r.date_order);
    out << '\n';
    std::vector<std::vector<std::string>> rows = {{"HEADER", "COLUMN", "TYPE", "EMPTY"}};
    for (const auto& c : r.columns) {
        std::string type = import::type_label(c.type);
        if (c.forced) type += r.action == "appended" ? " (table)" : " (--types)";
        rows.push_back({one_line(c.header), c.name, type, thousands(c.empty)});
    }
    std::vector<size_t> widths(4, 0);
    for (const auto& row : rows)
        for (size_t i = 0; i < 4; ++i)
            widths[i] = std::max(widths[i], display_width(row[i]));
    for (const auto& row : rows) {
        out << "  " << padded(row[0], widths[0]) << "  " << padded(row[1], widths[1]) << "  "
            << padded(row[2], widths[2]) << "  "
            << std::string(widths[3] - display_width(row[3]), ' ') << row[3] << '\n';
    }
    for (const auto& c : r.columns) {
        if (c.unfit.count == 0) continue;
        out << "column '" << c.name << "' (--types " << import::type_label(c.type)
            << "): " << thousands(c.unfit.count)
            << (c.unfit.count == 1 ? " cell did not fit and is null: line "
                                   : " cells did not fit and are null: lines ");
        for (size_t i = 0; i < c.unfit.first_lines.size(); ++i)
            out << (i ? ", " : "") << c.unfit.first_lines[i];
        if (c.unfit.count > c.unfit.first_lines.size()) out << ", …";
        out << '\n';
    }
    if (r.action == "dry run") {
        if (!r.create_sql.empty()) out << r.create_sql << '\n';
        out << "dry run: " << thousands(r.rows) << (r.rows == 1 ? " row" : " rows")
            << " would be imported; nothing was written\n";
    } else {
        out << thousands(r.rows) << (r.rows == 1 ? " row" : " rows") << " imported into table "
            << o.table << " (" << r.action << ")\n";
    }
    for (const auto& note : r.notes)
        out << "note: " << note << '\n';
}

void write_json_summary(const ImportCliOptions& cli, const import::ImportReport& r,
                        std::ostream& out) {
    const auto& o = cli.options;
    JsonWriter w;
    w.begin_object().key("format").value(1);
    w.key("file").value(o.file).key("db").value(o.db).key("table").value(o.table);
    w.key("action").value(r.action);
    w.key("encoding").value(r.encoding).key("bom").value(r.had_bom);
    w.key("not_utf8_line");
    if (r.encoding_chosen && r.encoding != "utf-8")
        w.value(static_cast<int64_t>(r.not_utf8_line));
    else
        w.null();
    w.key("delimiter").value(delimiter_label(r.delimiter));
    w.key("decimal").value(r.decimal == import::DecimalMark::Comma ? "," : ".");
    w.key("date_format");
    if (r.date_order)
        w.value(import::date_order_label(*r.date_order));
    else
        w.null();
    w.key("rows").value(r.rows);
    w.key("columns").begin_array();
    for (const auto& c : r.columns) {
        w.begin_object().key("header").value(c.header).key("name").value(c.name);
        w.key("type")
            .value(import::type_label(c.type))
            .key("declared")
            .value(import::declared_type(c.type));
        w.key("forced").value(c.forced).key("empty").value(c.empty);
        w.key("unfit").value(c.unfit.count).key("unfit_lines").begin_array();
        for (size_t line : c.unfit.first_lines)
            w.value(line);
        w.end_array().end_object();
    }
    w.end_array();
    // The table's CREATE statement, as the text summary of a dry run prints it (null when
    // appending to a table there already).
    w.key("create_sql").text_or_null(r.create_sql);
    w.key("notes").begin_array();
    for (const auto& note : r.notes)
        w.value(note);
    w.end_array().end_object();
    out << w.str() << '\n';
}

int run_import_command(ImportCliOptions& cli, std::ostream& out, std::ostream& err) {
    auto& o = cli.options;
    const bool json = cli.format == "json";
    auto fail = [&](const std::string& kind, const std::string& message) {
        err << "strata import: " << message << '\n';
        if (json) write_json_error(out, kind, message);
        return kExitEnvironment;
    };
    if (cli.replace && cli.append) return fail("usage", "give --replace or --append, not both");
    o.existing = cli.replace  ? import::ExistingTable::Replace
                 : cli.append ? import::ExistingTable::Append
                              : import::ExistingTable::Refuse;
    o.delimiter = cli.delimiter == "auto" ? 0 : cli.delimiter == "tab" ? '\t' : cli.delimiter[0];
    o.encoding = cli.encoding == "utf-8"    ? import::Encoding::Utf8
                 : cli.encoding == "cp1251" ? import::Encoding::Cp1251
                 : cli.encoding == "cp1252" ? import::Encoding::Cp1252
                                            : import::Encoding::Auto;
    if (cli.date_format == "YYYY-MM-DD") o.date_order = import::DateOrder::YearFirst;
    if (cli.date_format == "DD.MM.YYYY") o.date_order = import::DateOrder::DayFirst;
    if (cli.date_format == "MM/DD/YYYY") o.date_order = import::DateOrder::MonthFirst;
    if (cli.decimal == ".") o.decimal = import::DecimalMark::Dot;
    if (cli.decimal == ",") o.decimal = import::DecimalMark::Comma;
    std::string error = import::table_name_problem(o.table);
    if (!error.empty()) return fail("usage", error);
    if (!parse_types(cli.types, o.types, error)) return fail("usage", error);
    if (::isatty(STDERR_FILENO)) {
        o.progress = [](int pass, size_t rows) {
            std::fprintf(stderr, "\r\033[K%s: %s rows", pass == 1 ? "reading" : "writing",
                         thousands(rows).c_str());
            std::fflush(stderr);
        };
    }
    import::ImportReport report;
    const bool ok = import::run_import(o, report, error);
    if (o.progress) std::fprintf(stderr, "\r\033[K");
    if (!ok) return fail("file", error);
    if (json)
        write_json_summary(cli, report, out);
    else
        write_text_summary(cli, report, out);
    if (report.action != "dry run")
        say_stored_if_output_lost(out, err, "import",
                                  thousands(report.rows) +
                                      (report.rows == 1 ? " row was" : " rows were") +
                                      " imported into table " + one_line(o.table));
    return kExitOk;
}

}  // namespace

void add_import(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto cli = std::make_shared<ImportCliOptions>();
    auto& o = cli->options;
    auto* cmd = app.add_subcommand(
        "import", "Import a CSV file (a CRM export) into a typed table of a SQLite database");
    cmd->add_option("file", o.file, "CSV file")->required();
    cmd->add_option("--db", o.db, "SQLite database (created when missing)")->required();
    cmd->add_option("--table", o.table, "Table to create or add to")->required();
    cmd->add_option("--key", o.key, "Key column: checked unique and non-empty");
    cmd->add_flag("--replace", cli->replace, "Replace the table when it exists");
    cmd->add_flag("--append", cli->append, "Add the rows to the table when it exists");
    cmd->add_option("--delimiter", cli->delimiter, "Field separator")
        ->check(CLI::IsMember({"auto", ",", ";", "tab"}))
        ->capture_default_str();
    cmd->add_option("--encoding", cli->encoding,
                    "Text encoding (auto: UTF-8 when the file is valid UTF-8, else cp1252 "
                    "when its other bytes sit inside Latin words, else cp1251)")
        ->check(CLI::IsMember({"auto", "utf-8", "cp1251", "cp1252"}))
        ->capture_default_str();
    cmd->add_option("--date-format", cli->date_format,
                    "How to read dates like 01.02.2024 (auto: only when a day above 12 settles "
                    "it)")
        ->check(CLI::IsMember({"auto", "YYYY-MM-DD", "DD.MM.YYYY", "MM/DD/YYYY"}))
        ->capture_default_str();
    cmd->add_option("--decimal", cli->decimal, "Decimal mark of numbers")
        ->check(CLI::IsMember({"auto", ".", ","}))
        ->capture_default_str();
    cmd->add_option("--types", cli->types,
                    "Types to use instead of inferring: col:date,col:number,… (integer, number, "
                    "date, datetime, boolean, text); cells that do not fit become null");
    cmd->add_flag("--ascii-names", o.ascii_names,
                  "Column names in ASCII: Cyrillic transliterated (Дата → data)");
    cmd->add_flag("--dry-run", o.dry_run, "Show what would be created; write nothing");
    cmd->add_option("--format", cli->format, "Summary format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->callback(
        [cli, &exit_code, &out, &err] { exit_code = run_import_command(*cli, out, err); });
}

}  // namespace strata::cli
