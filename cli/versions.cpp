// `strata versions (--db DB | --state PATH) [RULESET] [--format text|json]`: the registered
// versions of the rule files with the runs made with each; `strata show (--db DB | --state
// PATH) RULESET@VERSION [--sha256 PREFIX]`: a version's source as it was run. DB may
// be a postgresql:// or clickhouse:// URL: the warehouse's registry is listed by the same code.
#include <algorithm>
#include <cctype>
#include <optional>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/run_warehouse.hpp"
#include "cli/stored_state.hpp"
#include "engine/json.hpp"
#include "engine/versions.hpp"
#include "state/warehouse_audit.hpp"

namespace strata::cli {

namespace {

constexpr const char* kNotKept =
    "source not kept: its runs were stored before strata kept rule sources";

void write_text(std::ostream& out, const std::vector<VersionListing>& versions) {
    for (size_t i = 0; i < versions.size(); ++i) {
        const VersionListing& v = versions[i];
        if (i) out << '\n';
        out << v.version.ruleset << " v" << v.version.version << "  sha256 "
            << (v.version.sha256.empty() ? std::string("unknown") : v.version.sha256.substr(0, 12))
            << "  first seen " << v.version.first_seen;
        if (!v.source_kept) out << "  (" << kNotKept << ")";
        out << '\n';
        if (v.runs.empty()) {
            out << "  no runs\n";
            continue;
        }
        std::vector<std::vector<std::string>> rows;
        rows.push_back({"RUN", "AS_OF", "RAN AT (UTC)", "CUSTOMERS"});
        for (const VersionRun& r : v.runs)
            rows.push_back(
                {std::to_string(r.run_id), r.as_of, r.started_at, signed_thousands(r.customers)});
        write_text_table(out, rows, {true, false, false, true}, "  ");
    }
}

void write_json(std::ostream& out, const std::vector<VersionListing>& versions) {
    JsonWriter w;
    w.begin_object().key("format").value(1).key("versions").begin_array();
    for (const VersionListing& v : versions) {
        w.begin_object();
        w.key("ruleset").value(v.version.ruleset).key("version").value(v.version.version);
        w.key("sha256").text_or_null(v.version.sha256);
        w.key("first_seen").value(v.version.first_seen);
        w.key("source_kept").value(v.source_kept).key("runs").begin_array();
        for (const VersionRun& r : v.runs) {
            w.begin_object().key("run_id").value(r.run_id).key("as_of").value(r.as_of);
            w.key("started_at").value(r.started_at).key("customers").value(r.customers);
            w.end_object();
        }
        w.end_array().end_object();
    }
    w.end_array().end_object();
    out << w.str() << '\n';
}

// RULESET@VERSION split at its last '@'; nullopt when the version is not a whole number.
std::optional<std::pair<std::string, int64_t>> parse_ruleset_version(const std::string& text) {
    const size_t at = text.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == text.size() || text.size() - at > 19)
        return std::nullopt;
    int64_t version = 0;
    for (size_t i = at + 1; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        version = version * 10 + (text[i] - '0');
    }
    return std::pair{text.substr(0, at), version};
}

// The registry the commands read: the SQLite state, or an in-memory copy of a warehouse's
// runs and versions (state/warehouse_audit.hpp), which the same listing reads. nullopt after
// printing why on `err` (and as a JSON error on `json_out`).
struct Registry {
    std::optional<StoredState> stored;
    std::optional<state::WarehouseAudit> warehouse;
    SQLite::Database* state = nullptr;
    std::string name;  // the file or URL, as messages name it
};

std::optional<Registry> open_registry(const std::string& command, const std::string& db,
                                      const std::optional<std::string>& state_path,
                                      std::ostream& err, std::ostream* json_out,
                                      const std::string& wait) {
    Registry r;
    if (!is_postgres_url(db) && !is_clickhouse_url(db)) {
        r.stored = open_stored_state(command, db, state_path, err, json_out, false, wait);
        if (!r.stored) return std::nullopt;
        r.state = r.stored->state;
        r.name = r.state->getFilename();
        return r;
    }
    auto fail = [&](const std::string& kind, const std::string& message) {
        err << "strata " << command << ": " << message << '\n';
        if (json_out) write_json_error(*json_out, kind, message);
        return std::nullopt;
    };
    if (state_path)
        return fail(
            "usage",
            "--state: the runs and versions of a warehouse are stored in it; give --db only");
    if (!wait_is_duration(command, wait, err, json_out)) return std::nullopt;
    std::string error;
    r.warehouse = state::read_warehouse_audit(db, {}, error);
    if (!r.warehouse) return fail(open_failure_kind(db), error);
    r.state = r.warehouse->state.get();
    r.name = r.warehouse->where;
    return r;
}

}  // namespace

int run_versions(const VersionsOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    auto stored = open_registry("versions", options.db, options.state, err, json ? &out : nullptr,
                                options.wait);
    if (!stored) return kExitEnvironment;
    StoreError error;
    auto versions = list_versions(*stored->state, options.ruleset, error);
    if (!versions) {
        err << "strata versions: " << error.message << '\n';
        if (json) write_json_error(out, "database", error.message);
        return kExitEnvironment;
    }
    // Finding none is an answer, not an error.
    if (versions->empty()) {
        err << "strata versions: no versions"
            << (options.ruleset ? " of ruleset '" + *options.ruleset + "'" : std::string())
            << " are registered in '" << stored->name << "'"
            << other_rulesets_hint(*stored->state, options.ruleset) << '\n';
    }
    if (json)
        write_json(out, *versions);
    else
        write_text(out, *versions);
    return kExitOk;
}

int run_show(const ShowOptions& options, std::ostream& out, std::ostream& err) {
    auto fail = [&](const std::string& message) {
        err << "strata show: " << message << '\n';
        return kExitEnvironment;
    };
    if (options.sha256) {
        const std::string& given = *options.sha256;
        const bool hex = !given.empty() && given.size() <= 64 &&
                         std::all_of(given.begin(), given.end(), [](char c) {
                             return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                         });
        if (!hex)
            return fail("--sha256 '" + given +
                        "' is not the start of a SHA-256: give 1 to 64 hexadecimal digits");
    }
    const auto wanted = parse_ruleset_version(options.version);
    if (!wanted)
        return fail("'" + options.version +
                    "' is not RULESET@VERSION, a ruleset's name and a version number such as "
                    "retail-rfm@2");
    const auto& [ruleset, version] = *wanted;
    const std::string name = ruleset + "@" + std::to_string(version);
    auto stored = open_registry("show", options.db, options.state, err, nullptr, options.wait);
    if (!stored) return kExitEnvironment;
    const std::string& file = stored->name;
    std::vector<RegisteredVersion> contents;
    try {
        contents = registered_contents(*stored->state, ruleset, version);
    } catch (const SQLite::Exception& e) {
        return fail("cannot read rule versions from '" + file + "': " + e.what());
    }
    if (contents.empty()) {
        StoreError error;
        auto versions = list_versions(*stored->state, ruleset, error);
        std::string known;
        for (const auto& v : versions.value_or(std::vector<VersionListing>{})) {
            const std::string number = std::to_string(v.version.version);
            if (known.find(" " + number + ",") == std::string::npos) known += " " + number + ",";
        }
        if (known.empty())
            return fail("no version of ruleset '" + ruleset + "' is registered in '" + file + "'" +
                        other_rulesets_hint(*stored->state, ruleset));
        known.pop_back();
        return fail("ruleset '" + ruleset + "' has no registered version " +
                    std::to_string(version) + " in '" + file + "' (registered:" + known + ")");
    }
    // The contents whose SHA-256 is known and starts with --sha256, when given, in either
    // letter case (the hashes are kept in lower case).
    std::optional<std::string> prefix = options.sha256;
    if (prefix) {
        for (char& c : *prefix)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::vector<const RegisteredVersion*> matching;
    for (const auto& c : contents) {
        if (c.sha256.empty()) continue;
        if (prefix && c.sha256.rfind(*prefix, 0) != 0) continue;
        matching.push_back(&c);
    }
    if (matching.empty()) {
        if (options.sha256)
            return fail("no registered content of " + name + " has a sha256 starting with '" +
                        *options.sha256 + "'");
        return fail(name + ": " + kNotKept + ", and not even its sha256 was recorded");
    }
    if (matching.size() > 1) {
        std::string shas;
        for (const auto* c : matching)
            shas += (shas.empty() ? "" : ", ") + c->sha256.substr(0, 12);
        return fail(name + " was run with " + std::to_string(matching.size()) +
                    " different contents before versions were checked (sha256 " + shas +
                    "); give --sha256 PREFIX to choose one");
    }
    const RegisteredVersion& chosen = *matching.front();
    if (!chosen.source)
        return fail(name + " (sha256 " + chosen.sha256.substr(0, 12) + ", first seen " +
                    chosen.first_seen + "): " + kNotKept);
    out << *chosen.source;  // the bytes as run: nothing added, no newline
    return kExitOk;
}

void add_versions(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    {
        auto options = std::make_shared<VersionsOptions>();
        auto format = std::make_shared<std::string>("text");
        auto* cmd = app.add_subcommand(
            "versions", "List the registered versions of the rule files, with the runs of each");
        cmd->add_option("ruleset", options->ruleset, "Only this ruleset's versions (default: all)");
        cmd->add_option("--db", options->db,
                        "SQLite customer database, or a postgresql:// or clickhouse:// URL (not "
                        "needed with --state)");
        cmd->add_option(
            "--state", options->state,
            "SQLite file with run state (default: the customer database; not with a URL)");
        add_read_wait_option(*cmd, options->wait);
        cmd->add_option("--format", *format, "Output format")
            ->check(CLI::IsMember({"text", "json"}))
            ->capture_default_str();
        cmd->callback([options, format, &exit_code, &out, &err] {
            options->format = *format == "json" ? Format::Json : Format::Text;
            exit_code = run_versions(*options, out, err);
        });
    }
    auto options = std::make_shared<ShowOptions>();
    auto* cmd = app.add_subcommand(
        "show", "Print the source of a registered rule file version, exactly as it was run");
    cmd->add_option("version", options->version, "RULESET@VERSION, such as retail-rfm@2")
        ->required();
    cmd->add_option("--db", options->db,
                    "SQLite customer database, or a postgresql:// or clickhouse:// URL (not "
                    "needed with --state)");
    cmd->add_option("--state", options->state,
                    "SQLite file with run state (default: the customer database; not with a URL)");
    add_read_wait_option(*cmd, options->wait);
    cmd->add_option("--sha256", options->sha256,
                    "The content's sha256 (a prefix), when the version was run with several "
                    "contents before versions were checked");
    cmd->callback([options, &exit_code, &out, &err] { exit_code = run_show(*options, out, err); });
}

}  // namespace strata::cli
