// `strata report --db DB [--state PATH] [--ruleset NAME] [--run N] [--compare M] --out FILE`:
// one self-contained HTML file of a stored run (report/, docs/report.md), from a SQLite state or
// from a run stored inside PostgreSQL or ClickHouse (`--db URL`, state/report_store.hpp).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string_view>

#include <CLI/CLI.hpp>
#include "cli/clickhouse_schema.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/run_warehouse.hpp"
#include "cli/stored_state.hpp"
#include "cli/whole_number.hpp"
#include "files/partial_file.hpp"
#include "report/html.hpp"
#include "report/report_model.hpp"
#include "report/run_store.hpp"
#include "state/report_store.hpp"

namespace strata::cli {

namespace {

// The folder of the running binary, where `make` leaves echarts.min.js beside strata.
std::string binary_dir() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

// Whether `path` is an existing file that begins as every SQLite database does.
bool is_sqlite_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    char header[16] = {};
    return file && file.read(header, sizeof header) &&
           std::string_view(header, sizeof header) == std::string_view("SQLite format 3\0", 16);
}

}  // namespace

int run_report(const ReportOptions& options, std::ostream& out, std::ostream& err) {
    auto fail = [&](const std::string& message) {
        err << "strata report: " << message << '\n';
        return kExitEnvironment;
    };
    if (std::error_code ec; std::filesystem::is_directory(options.out, ec))
        return fail("'" + options.out + "' is a folder; --out names the HTML file to write");
    // Through a symbolic link to its file; never over a device or a FIFO (nor opened to look).
    std::string partial_error;
    const std::optional<files::ReplacedFile> target =
        files::file_to_replace(options.out, partial_error);
    if (!target) return fail("cannot write the report: " + partial_error);
    // --out naming the customer database or the state (a slip of the hand) would replace
    // every run with the page: no SQLite file is ever written over.
    if (is_sqlite_file(target->path))
        return fail("--out '" + options.out +
                    "' is a SQLite database (the customer database or a run state?); the "
                    "report is never written over one: give the HTML file's name");
    report::ReportRequest request;
    request.ruleset = options.ruleset;
    request.run = options.run;
    request.compare = options.compare;
    std::string error;
    std::optional<report::ReportModel> model;
    std::optional<std::string> library;
    if (is_postgres_url(options.db) || is_clickhouse_url(options.db)) {
        // A run stored inside the warehouse; for ClickHouse, --state holds its actions.
        const std::string db = options.db;
        auto store = state::open_warehouse_report_store(
            options.db, options.state, error,
            [db](std::string& e) { return read_clickhouse_schema(db, e); });
        if (!store) return fail(error);
        library = report::read_chart_library(binary_dir(), error);
        if (!library) return fail(error);
        model = report::gather_from_store(*store, request, error);
    } else {
        auto stored = open_stored_state("report", options.db, options.state, err, nullptr, true,
                                        options.wait);
        if (!stored) return kExitEnvironment;
        library = report::read_chart_library(binary_dir(), error);
        if (!library) return fail(error);
        model = report::gather_report(*stored->data, *stored->state, request, error);
    }
    if (!model) return fail(error);
    const std::string html = report::render_report_html(*model, *library);
    // Written beside the target first, then renamed over it: a failed write leaves no half file.
    const std::optional<std::string> made = files::make_partial_beside(target->path, partial_error);
    if (!made) return fail("cannot write '" + options.out + "': " + partial_error);
    const std::string& partial = *made;
    {
        std::ofstream file(partial, std::ios::binary | std::ios::trunc);
        if (!file || !file.write(html.data(), static_cast<std::streamsize>(html.size())) ||
            !file.flush()) {
            const std::string why = std::strerror(errno);
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            return fail("cannot write '" + options.out + "': " + why);
        }
    }
    std::error_code ec;
    // A report written again keeps the file's permissions (one made private stays so).
    if (target->mode) std::filesystem::permissions(partial, *target->mode, ec);
    if (!ec) std::filesystem::rename(partial, target->path, ec);
    if (ec) {
        const std::string why = ec.message();
        std::filesystem::remove(partial, ec);
        return fail("cannot write '" + options.out + "': " + why);
    }
    for (const std::string& note : model->notes)
        err << "strata report: note: " << note << '\n';
    out << "wrote " << options.out << ": " << model->ruleset << " v" << model->version << ", run "
        << model->run_id << " as of " << model->as_of << ", "
        << thousands(static_cast<size_t>(model->customers))
        << (model->customers == 1 ? " customer" : " customers");
    if (model->moves) out << ", compared with run " << model->moves->from_run;
    out << '\n';
    return kExitOk;
}

void add_report(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto options = std::make_shared<ReportOptions>();
    auto* cmd = app.add_subcommand(
        "report", "Write one self-contained HTML report of a stored run, with charts, for people");
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or a postgresql:// or clickhouse:// URL whose "
                    "stored runs to report")
        ->required();
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database); with a "
                    "clickhouse:// --db, the store (SQLite or postgresql://) holding its actions");
    cmd->add_option("--ruleset", options->ruleset,
                    "The ruleset (default: that of --run, else of the latest stored run)");
    cmd->add_option("--run", options->run, "The run to report (default: the ruleset's latest)")
        ->check(whole_number("a run id", INT64_MAX));
    cmd->add_option("--compare", options->compare,
                    "The run whose segments the moves start from (default: the run before --run)")
        ->check(whole_number("a run id", INT64_MAX));
    cmd->add_option("--out", options->out, "The HTML file to write")->required();
    add_read_wait_option(*cmd, options->wait);
    cmd->callback(
        [options, &exit_code, &out, &err] { exit_code = run_report(*options, out, err); });
}

}  // namespace strata::cli
