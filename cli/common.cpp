#include "cli/common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <string_view>

#include "cli/commands.hpp"
#include "cli/io.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/numeric.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"
#include "sql/postgres_catalog.hpp"
#include "text/width.hpp"
#include "warehouse/database_url.hpp"

namespace strata::cli {

namespace {

// A failure of load_rules: as a JSON error object on `json_out`, and kept in `failure`.
void report_failure(std::ostream* json_out, RuleLoadFailure* failure, const std::string& kind,
                    const std::string& message, const std::vector<Diagnostic>& diagnostics = {},
                    const SourceFile* source = nullptr) {
    if (json_out) write_json_error(*json_out, kind, message, diagnostics, source);
    if (!failure) return;
    *failure = RuleLoadFailure{kind, message, diagnostics,
                               source ? std::make_shared<const SourceFile>(*source) : nullptr};
}

}  // namespace

bool is_test_file_name(const std::string& path) {
    const std::string_view tail = ".test.yaml";
    return path.size() >= tail.size() &&
           path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
}

std::string test_file_problem(const std::string& path) {
    if (!is_test_file_name(path)) return "";
    return path +
           " holds a rule file's test cases, which 'strata test RULES' runs; give the rule file "
           "itself";
}

std::optional<LoadedRules> load_rules(const std::string& rules_path,
                                      const std::optional<std::string>& db_path, std::ostream& err,
                                      int& exit_code, std::ostream* json_out,
                                      const DatabaseWait& wait, RuleLoadFailure* failure) {
    if (const std::string message = test_file_problem(rules_path); !message.empty()) {
        err << "strata: " << message << '\n';
        report_failure(json_out, failure, "usage", message);
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    std::string read_error;
    auto text = read_text_file(rules_path, read_error);
    if (!text) {
        err << "strata: " << read_error << '\n';
        report_failure(json_out, failure, "file", read_error);
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    return load_rules_text(rules_path, std::move(*text), db_path, err, exit_code, json_out, nullptr,
                           wait, failure);
}

std::optional<LoadedRules> load_rules_text(const std::string& rules_path, std::string text,
                                           const std::optional<std::string>& db_path,
                                           std::ostream& err, int& exit_code,
                                           std::ostream* json_out,
                                           std::optional<Schema>* out_catalog,
                                           const DatabaseWait& wait, RuleLoadFailure* failure) {
    LoadedRules out;
    out.sha256 = sha256_hex(text);
    std::optional<Schema> schema;
    std::string url_error;
    auto location = db_path ? warehouse::parse_database_argument(*db_path, url_error)
                            : std::optional<warehouse::DatabaseLocation>();
    if (db_path && !location) {
        err << "strata: " << url_error << '\n';
        report_failure(json_out, failure, "database", url_error);
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    const auto* postgres = location ? std::get_if<warehouse::PostgresUrl>(&*location) : nullptr;
    if (postgres && out_catalog) {
        std::string error;
        schema = sql::read_postgres_schema(*postgres, error);
        if (!schema) {
            err << "strata: " << error << '\n';
            report_failure(json_out, failure, "database", error);
            exit_code = kExitEnvironment;
            return std::nullopt;
        }
        *out_catalog = schema;
    } else if (db_path) {
        StoreError error;
        out.db = open_read_only(*db_path, error, wait.ms);
        if (out.db) schema = read_schema(*out.db, error);
        if (!schema) {
            if (error.locked)
                error.message += " (waited " +
                                 (wait.flag.empty() ? std::to_string(wait.ms / 1000) + "s"
                                                    : wait.flag + ", the --wait") +
                                 ")";
            err << "strata: " << error.message << '\n';
            report_failure(json_out, failure, "database", error.message);
            exit_code = kExitEnvironment;
            return std::nullopt;
        }
    }
    SourceFile source(rules_path, std::move(text));
    Diagnostics diags;
    out.rules = compile_rules(source, schema ? &*schema : nullptr, diags);
    diags.sort_by_location();
    for (const auto& d : diags.items())
        render_text(err, d, &source);
    if (!out.rules || diags.has_errors()) {
        exit_code = diags.only_schema_errors() ? kExitEnvironment : kExitRules;
        const size_t n = diags.error_count();
        report_failure(json_out, failure, exit_code == kExitRules ? "rules" : "database",
                       std::to_string(n) + " error" + (n == 1 ? "" : "s") + " in " + rules_path,
                       diags.items(), &source);
        return std::nullopt;
    }
    for (const auto& d : diags.items()) {
        if (d.severity == Severity::Warning) out.warnings.push_back(d);
    }
    return out;
}

const char* open_failure_kind(const std::string& db) {
    std::string unused;
    return warehouse::parse_database_argument(db, unused) ? "database" : "usage";
}

std::string last_message(const std::string& printed, const std::string& prefix) {
    const size_t at = printed.rfind(prefix);
    std::string message = at == std::string::npos ? printed : printed.substr(at + prefix.size());
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    return message;
}

namespace {

// A message of several lines (a heading, then an indented line per finding) as the one line an
// error object's `message` is: the lines joined by "; ", a heading that ends in ':' by a space.
std::string as_one_line(const std::string& message) {
    std::string out;
    size_t from = 0;
    while (from <= message.size()) {
        const size_t end = std::min(message.find('\n', from), message.size());
        std::string_view line(message.data() + from, end - from);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        if (!line.empty()) {
            if (!out.empty()) out += out.back() == ':' ? " " : "; ";
            out += line;
        }
        from = end + 1;
    }
    return out;
}

}  // namespace

void write_json_error(std::ostream& out, const std::string& kind, const std::string& message,
                      const std::vector<Diagnostic>& diagnostics, const SourceFile* source,
                      const SourceFile* other) {
    out << "{\"format\":1,\"error\":{\"kind\":";
    write_json_string(out, kind);
    out << ",\"message\":";
    write_json_string(out, as_one_line(message));
    out << ",\"diagnostics\":[";
    for (size_t i = 0; i < diagnostics.size(); ++i) {
        if (i) out << ',';
        const Diagnostic& d = diagnostics[i];
        render_json(out, d, other && d.file == other->path() ? other : source);
    }
    out << "]}}\n";
}

void say_stored_if_output_lost(std::ostream& out, std::ostream& err, const std::string& command,
                               const std::string& stored) {
    out.flush();
    // std::cout writes through stdio's buffer: a failed write shows only once that is flushed.
    bool lost = !out;
    if (&out == &std::cout) lost = std::fflush(stdout) != 0 || std::ferror(stdout) || lost;
    if (!lost) return;
    err << "strata " << command << ": " << stored
        << ", but its report could not be written to the output\n";
}

ProgressFn terminal_progress() {
    if (!::isatty(STDERR_FILENO)) return nullptr;
    return [](const std::string& what, size_t rows) {
        std::fprintf(stderr, "\r\033[Kreading %s: %s rows", what.c_str(), thousands(rows).c_str());
        std::fflush(stderr);
    };
}

std::string thousands(size_t n) {
    return format_thousands(n);
}

std::string signed_thousands(int64_t n) {
    if (n >= 0) return format_thousands(static_cast<size_t>(n));
    return "-" + format_thousands(static_cast<size_t>(0) - static_cast<size_t>(n));
}

std::optional<Date> resolve_as_of(const std::optional<std::string>& flag, const RuleFile& rules,
                                  std::ostream& err, const std::string& command) {
    if (flag) {
        auto d = parse_date(*flag);
        if (!d)
            err << "strata " << command << ": --as-of '" << one_line(*flag)
                << "' is not a date such as 2026-11-01\n";
        return d;
    }
    if (rules.as_of) return rules.as_of;
    return today_utc();
}

std::optional<std::string> refuses_far_future_as_of(Date as_of, Date today,
                                                    const std::string& look_without_storing) {
    return strata::far_future_as_of_refusal(
        as_of, today,
        "look at that day " + look_without_storing + ", or pass --allow-future-as-of to store it");
}

std::optional<std::string> refuses_far_future_as_of(Date as_of, Date today,
                                                    const std::string& look_without_storing,
                                                    const std::string& state_path,
                                                    const std::string& ruleset,
                                                    std::optional<int64_t> run_id) {
    auto refused = refuses_far_future_as_of(as_of, today, look_without_storing);
    if (!refused || !std::filesystem::is_regular_file(state_path)) return refused;
    StoreError error;
    auto state = open_read_only(state_path, error, 0);
    if (!state) return refused;
    try {
        if (!state->tableExists("strata_runs")) return refused;
    } catch (const SQLite::Exception&) {
        return refused;
    }
    const auto run = find_run(*state, ruleset, run_id, error);
    if (run && run->as_of == format_date(as_of)) return std::nullopt;
    return refused;
}

bool starts_formula(std::string_view s) {
    return !s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos;
}

void write_csv_field(std::ostream& out, const std::string& s, bool guard_formulas) {
    const bool formula = guard_formulas && starts_formula(s);
    const std::string_view guard = formula ? "'" : "";
    if (s.find_first_of(",\"\n\r") == std::string::npos) {
        out << guard << s;
        return;
    }
    out << '"' << guard;
    for (char c : s) {
        if (c == '"') out << '"';
        out << c;
    }
    out << '"';
}

std::string wait_problem(const std::string& text) {
    return "--wait '" + text + "' is not a duration like 30s, 2m, 1h or 2d (at most 30d)";
}

std::optional<int64_t> parse_duration(const std::string& text) {
    if (text.size() < 2 || text.size() > 10) return std::nullopt;
    int64_t number = 0;
    for (size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        number = number * 10 + (text[i] - '0');
    }
    int64_t unit = 0;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return std::nullopt;
    }
    if (number > kMaxDurationSeconds / unit) return std::nullopt;
    return number * unit;
}

namespace {

using text::display_width;

}  // namespace

void write_text_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
                      const std::vector<bool>& right_aligned, const std::string& indent) {
    std::vector<size_t> widths(right_aligned.size(), 0);
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size() && c < widths.size(); ++c)
            widths[c] = std::max(widths[c], display_width(row[c]));
    }
    for (const auto& row : rows) {
        std::string line = indent;
        for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
            const std::string pad(widths[c] - display_width(row[c]), ' ');
            if (c) line += "  ";
            line += right_aligned[c] ? pad + row[c] : row[c] + pad;
        }
        line.erase(line.find_last_not_of(' ') + 1);
        out << line << '\n';
    }
}

}  // namespace strata::cli
