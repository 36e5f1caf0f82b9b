// `strata export RULES --db DB [--run N] [--state PATH] [--format csv|jsonl|json]
// [--with-run] [--raw] [--delimiter D] [--encoding E] [--bom] [--columns LIST]`: one row per
// customer of a stored run, exactly as the run stored it (chosen columns: cli/export_csv.hpp).
// RULES is a rule file, or a ruleset's name when no file of that path exists.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/explain_stored.hpp"
#include "cli/export_csv.hpp"
#include "cli/io.hpp"
#include "cli/run_warehouse.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/loader.hpp"
#include "engine/json.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"
#include "engine/versions.hpp"
#include "text/encoding.hpp"
#include "warehouse/database_url.hpp"

namespace strata::cli {

namespace {

// The ruleset to export: the one the rule file at `rules` names, or, when no such file exists,
// `rules` itself taken as a ruleset's name. Export needs nothing else from the file (it writes
// what the run stored, and the run's version keeps its own source), so a file edited since the
// run, one with errors in its expressions, or one deleted still finds the run's membership.
// What --format json says of a failed export beyond its message: what was at fault, and the
// rule file's diagnostics when it was.
struct ExportFailure {
    std::string kind = "database";
    std::vector<Diagnostic> diagnostics;
    std::shared_ptr<const SourceFile> source;
};

std::optional<std::string> ruleset_of(const std::string& rules, std::ostream& err, int& exit_code,
                                      ExportFailure& failure) {
    if (names_ruleset(rules)) return rules;
    if (const std::string message = test_file_problem(rules); !message.empty()) {
        err << "strata export: " << message << '\n';
        exit_code = kExitEnvironment;
        failure.kind = "usage";
        return std::nullopt;
    }
    std::string read_error;
    auto text = read_text_file(rules, read_error);
    if (!text) {
        err << "strata export: " << read_error << '\n';
        exit_code = kExitEnvironment;
        failure.kind = "file";
        return std::nullopt;
    }
    auto source = std::make_shared<const SourceFile>(rules, std::move(*text));
    Diagnostics diags;
    auto file = load_rule_file(*source, diags);
    if (!file || file->ruleset.empty()) {
        diags.sort_by_location();
        for (const auto& d : diags.items()) {
            if (d.severity != Severity::Error) continue;
            render_text(err, d, source.get());
            failure.diagnostics.push_back(d);
        }
        failure.kind = "rules";
        failure.source = source;
        if (file)
            err << "strata export: " << rules
                << " does not name a ruleset (give the ruleset's name instead to export its "
                   "stored runs)\n";
        else
            err << "strata export: " << rules
                << " cannot be read for the ruleset it names (its errors are above; mend them, "
                   "or give the ruleset's name instead to export its stored runs)\n";
        exit_code = kExitRules;
        return std::nullopt;
    }
    return file->ruleset;
}

// The command that prints the run's version, with the option that names where it is kept:
// --state as given, else --db (a SQLite file, or a warehouse's URL without its password).
std::string shown_command(const ExportOptions& options, const RunRecord& r) {
    if (options.state) return show_command(r.ruleset, r.version, "--state", *options.state);
    std::string error;
    const auto location = warehouse::parse_database_argument(options.db, error);
    const bool url = location && !std::holds_alternative<warehouse::SqlitePath>(*location);
    return show_command(r.ruleset, r.version, "--db",
                        url ? warehouse::describe_location(*location) : options.db);
}

// When the rule file on disk is not the source the run's version registered, says so on `err`,
// with the first differing line when that source was kept in `state` (null for a run inside a
// warehouse: the note is said without that line). Silent for a ruleset name.
void note_changed_file(const ExportOptions& options, SQLite::Database* state, const RunRecord& r,
                       std::ostream& err) {
    const std::string& rules = options.rules;
    std::string read_error;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(rules, ec)) return;
    auto text = read_text_file(rules, read_error);
    if (!text || sha256_hex(*text) == r.rules_sha256) return;
    std::optional<std::string> stored;
    try {
        // (A warehouse's registry is not read here: its note names no differing line.)
        if (state) stored = registered_source(*state, r.ruleset, r.version, r.rules_sha256);
    } catch (const SQLite::Exception&) {
        // Without the registry, the note says less.
    }
    // Another version of the ruleset (the file moved on since) is said as such, not as an edit.
    Diagnostics ignored;
    const std::optional<RuleFile> now = load_rule_file(SourceFile(rules, *text), ignored);
    if (now && now->ruleset == r.ruleset && now->version != r.version) {
        err << "strata export: note: " << rules << " is " << r.ruleset << " v" << now->version
            << ", not the v" << r.version << " run " << r.run_id << " used; '"
            << shown_command(options, r) << "' prints that one. Segments, offers, channels "
            << "and priorities are the run's own\n";
        return;
    }
    err << "strata export: note: " << rules << " has changed since run " << r.run_id
        << " used it as " << r.ruleset << " v" << r.version << " (sha256 "
        << r.rules_sha256.substr(0, 12) << ")";
    if (stored)
        err << "; " << first_differing_line(*stored, *text) << "; '" << shown_command(options, r)
            << "' prints the stored one";
    err << ". Segments, offers, channels and priorities are the run's own\n";
}

std::optional<StoredRun> load_stored_run(SQLite::Database& state, const std::string& ruleset,
                                         std::optional<int64_t> run_id, std::ostream& err) {
    StoreError error;
    auto schema = read_schema(state, error);
    if (!schema || !schema->find("strata_runs")) {
        err << "strata export: no runs are stored in '" << state.getFilename()
            << "'; run 'strata run' first\n";
        return std::nullopt;
    }
    // A strata_runs (or other strata_*) table made by someone else: said as the other
    // readers of runs say it, not as a missing column.
    if (!state_tables(state, error)) {
        err << "strata export: " << error.message << '\n';
        return std::nullopt;
    }
    StoredRun run;
    auto record = find_run(state, ruleset, run_id, error);
    if (!record) {
        if (!error.message.empty())
            err << "strata export: " << error.message << '\n';
        else if (auto other = run_id ? ruleset_of_run(state, *run_id) : std::nullopt)
            err << "strata export: run " << *run_id << " is a run of ruleset '" << *other
                << "', not of '" << ruleset << "'\n";
        else if (run_id)
            err << "strata export: run " << *run_id << " of ruleset '" << ruleset
                << "' does not exist\n";
        else
            err << "strata export: no stored run of ruleset '" << ruleset
                << "'; run 'strata run' first\n";
        return std::nullopt;
    }
    run.record = std::move(*record);
    auto actions = load_segment_actions(state, run.record.run_id, error);
    if (actions) run.rows = load_membership(state, run.record.run_id, error);
    if (!actions || !error.message.empty()) {
        err << "strata export: " << error.message << '\n';
        return std::nullopt;
    }
    run.actions = std::move(*actions);
    return run;
}

void write_csv(std::ostream& out, const StoredRun& run, const ExportOptions& options) {
    const bool guard = !options.raw;
    out << "customer_key,segment,tactical,offer,channel,priority"
        << (options.with_run ? ",run_id,as_of" : "") << '\n';
    const SegmentActions none;
    for (const auto& row : run.rows) {
        auto it = run.actions.find(row.segment.str());
        const SegmentActions& a = it != run.actions.end() ? it->second : none;
        // Integer keys are numbers, never formulas; text keys are guarded like any text.
        if (std::holds_alternative<int64_t>(row.key))
            out << format_value(row.key);
        else
            write_csv_field(out, format_value(row.key), guard);
        out << ',';
        write_csv_field(out, row.segment.str(), guard);
        out << ',';
        write_csv_field(out, row.tactical.str(), guard);
        out << ',';
        write_csv_field(out, a.offer, guard);
        out << ',';
        write_csv_field(out, a.channel, guard);
        out << ',' << (a.priority ? std::to_string(*a.priority) : "");
        if (options.with_run) out << ',' << run.record.run_id << ',' << run.record.as_of;
        out << '\n';
    }
}

// One object per customer: one per line (jsonl), or as one JSON array with an object per line.
// Returns how many text keys are not UTF-8: JSON writes their bad bytes as U+FFFD, so two of
// them can read alike.
size_t write_json_rows(std::ostream& out, const StoredRun& run, bool array) {
    size_t not_utf8 = 0;
    const SegmentActions none;
    if (array) out << '[';
    bool first = true;
    for (const auto& row : run.rows) {
        auto it = run.actions.find(row.segment.str());
        const SegmentActions& a = it != run.actions.end() ? it->second : none;
        JsonWriter w;
        w.begin_object().key("customer_key");
        if (const auto* i = std::get_if<int64_t>(&row.key)) {
            w.value(*i);
        } else {
            const std::string& key = std::get<Str>(row.key).str();
            not_utf8 += !text::is_valid_utf8(key);
            w.value(key);
        }
        w.key("segment").value(row.segment.str()).key("tactical").begin_array();
        std::stringstream tags(row.tactical.str());
        for (std::string tag; std::getline(tags, tag, ';');)
            w.value(tag);
        w.end_array();
        for (const auto& [key, text] : {std::pair{"offer", &a.offer}, {"channel", &a.channel}})
            w.key(key).text_or_null(*text);
        w.key("priority").value_or_null(a.priority);
        w.key("run_id").value(run.record.run_id).key("as_of").value(run.record.as_of);
        w.end_object();
        if (array)
            out << (first ? "\n" : ",\n") << w.str();
        else
            out << w.str() << '\n';
        first = false;
    }
    if (array) out << (first ? "]\n" : "\n]\n");
    return not_utf8;
}

// Keys and segment ids are what a CRM matches on, and the formula guard changes them: says how
// many keys, and which ids, are written with a leading '.
void note_guarded_ids(const StoredRun& run, std::ostream& err) {
    size_t keys = 0;
    std::set<std::string> ids;
    for (const MembershipRow& row : run.rows) {
        if (const auto* text = std::get_if<Str>(&row.key); text && starts_formula(text->str()))
            ++keys;
        for (const std::string& id : {row.segment.str(), row.tactical.str()})
            if (starts_formula(id)) ids.insert(id);
    }
    if (keys == 0 && ids.empty()) return;
    std::string what =
        keys ? thousands(keys) + (keys == 1 ? " customer key" : " customer keys") : std::string();
    if (!ids.empty()) {
        std::string listed;
        for (const std::string& id : ids)
            listed += (listed.empty() ? "'" : ", '") + id + "'";
        what += (what.empty() ? "" : " and ") +
                std::string(ids.size() == 1 ? "the id " : "the ids ") + listed;
    }
    err << "strata export: note: " << what
        << " start with =, +, -, @, a tab or a carriage return, and are written with a leading ' "
           "so that a spreadsheet shows them as text; give --raw to write them as stored, for a "
           "system that matches on them\n";
}

// The export of a stored run, from a SQLite state (`state`) or a warehouse (null).
int write_export(const ExportOptions& options, const StoredRun& run, SQLite::Database* state,
                 std::ostream& out, std::ostream& err) {
    const RunRecord& r = run.record;
    err << "strata export: run " << r.run_id << " of " << r.ruleset << " v" << r.version
        << ", as_of " << r.as_of << ", " << thousands(run.rows.size())
        << (run.rows.size() == 1 ? " customer\n" : " customers\n");
    note_changed_file(options, state, r, err);
    if (options.format == ExportFormat::Csv && !options.raw) note_guarded_ids(run, err);
    if (options.format == ExportFormat::Csv && has_csv_options(options))
        return write_csv_with_options(options, run, state, out, err);
    if (options.format == ExportFormat::Csv)
        write_csv(out, run, options);
    else if (size_t bad = write_json_rows(out, run, options.format == ExportFormat::Json))
        err << "strata export: note: " << thousands(bad) << " customer key"
            << (bad == 1 ? " is" : "s are")
            << " not UTF-8 text; JSON writes each byte that is not as \\ufffd, so such keys "
               "can "
               "read alike: --format csv writes the keys' bytes as stored\n";
    return kExitOk;
}

}  // namespace

namespace {

// Writes to a stream and keeps a copy: the last message of a failed export, for its JSON error.
class CopyingBuffer : public std::streambuf {
  public:
    explicit CopyingBuffer(std::streambuf* target) : target_(target) {}
    const std::string& copy() const { return copy_; }

  protected:
    int overflow(int c) override {
        if (c == traits_type::eof()) return traits_type::not_eof(c);
        copy_.push_back(static_cast<char>(c));
        return target_->sputc(static_cast<char>(c));
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        copy_.append(s, static_cast<size_t>(n));
        return target_->sputn(s, n);
    }
    int sync() override { return target_->pubsync(); }

  private:
    std::streambuf* target_;
    std::string copy_;
};

int export_run(const ExportOptions& options, std::ostream& out, std::ostream& err,
               ExportFailure& failure);

}  // namespace

// With --format json a failure also prints the JSON error object on stdout, as every command
// with --format json does; its message is the last "strata export: …" line. Nothing else is on
// stdout then: every failure comes before the first row.
int run_export(const ExportOptions& options, std::ostream& out, std::ostream& err) {
    if (options.format != ExportFormat::Csv &&
        (has_csv_options(options) || !options.csv_only_given.empty())) {
        std::string given;
        for (size_t i = 0; i < options.csv_only_given.size(); ++i)
            given += (i ? ", " : "") + options.csv_only_given[i];
        const std::string message =
            "--with-run, --raw, --delimiter, --encoding, --bom, --decimal and --columns shape CSV "
            "files; JSON "
            "rows are always UTF-8 with every key, run_id and as_of among them" +
            (given.empty() ? std::string() : " (given: " + given + ")");
        err << "strata export: " << message << '\n';
        if (options.format == ExportFormat::Json) write_json_error(out, "usage", message);
        return kExitEnvironment;
    }
    if (options.decimal == ',' && options.delimiter == ',' && options.format == ExportFormat::Csv) {
        err << "strata export: --decimal , with the delimiter ',' would quote every number that "
               "is not whole, and a spreadsheet that reads 12,5 as a number expects ';': give "
               "--delimiter ';' (or tab) with --decimal ,\n";
        return kExitEnvironment;
    }
    // An empty place in --columns is a typing slip, said before any database is read.
    for (size_t i = 0; i < options.columns.size(); ++i) {
        if (!options.columns[i].empty()) continue;
        err << "strata export: --columns has no name in place " << i + 1 << " of "
            << options.columns.size()
            << " (two commas together, or a comma at an end); give the columns' names "
               "separated by single commas\n";
        return kExitEnvironment;
    }
    ExportFailure failure;
    failure.kind = open_failure_kind(options.db);
    if (options.format != ExportFormat::Json) return export_run(options, out, err, failure);
    CopyingBuffer copying(err.rdbuf());
    std::ostream copied(&copying);
    const int code = export_run(options, out, copied, failure);
    copied.flush();
    if (code != kExitOk)
        write_json_error(out, code == kExitRules ? "rules" : failure.kind,
                         last_message(copying.copy(), "strata export: "), failure.diagnostics,
                         failure.source.get());
    return code;
}

namespace {

int export_run(const ExportOptions& options, std::ostream& out, std::ostream& err,
               ExportFailure& failure) {
    int exit_code = kExitOk;
    const auto ruleset = ruleset_of(options.rules, err, exit_code, failure);
    if (!ruleset) return exit_code;
    if (is_postgres_url(options.db)) {
        if (options.state) {
            err << "strata export: --state: a run inside PostgreSQL keeps its state in that "
                   "database\n";
            return kExitEnvironment;
        }
        const auto run = load_postgres_run(options.db, *ruleset, options.run, err);
        if (!run) return kExitEnvironment;
        return write_export(options, *run, nullptr, out, err);
    }
    if (is_clickhouse_url(options.db)) {
        if (options.state) {
            err << "strata export: --state: a run inside ClickHouse keeps its membership there\n";
            return kExitEnvironment;
        }
        const auto run = load_clickhouse_stored_run(options.db, *ruleset, options.run, err);
        if (!run) return kExitEnvironment;
        return write_export(options, *run, nullptr, out, err);
    }
    StoreError error;
    auto data = open_read_only(options.db, error);
    if (!data) {
        err << "strata export: " << error.message << '\n';
        return kExitEnvironment;
    }
    std::unique_ptr<SQLite::Database> state_db;
    SQLite::Database* state = data.get();
    if (options.state) {
        state_db = open_read_only(*options.state, error);
        if (!state_db) {
            err << "strata export: " << error.message << '\n';
            return kExitEnvironment;
        }
        state = state_db.get();
    }
    const auto run = load_stored_run(*state, *ruleset, options.run, err);
    if (!run) return kExitEnvironment;
    return write_export(options, *run, state, out, err);
}

}  // namespace

}  // namespace strata::cli
