// `strata export RULES --db DB [--run N] [--state PATH] --format csv|jsonl|json`
#include <ostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/json.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"

namespace strata::cli {

namespace {

const SegmentDef* find_segment(const std::vector<SegmentDef>& segments, const std::string& id) {
    for (const auto& s : segments) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

}  // namespace

int run_export(const ExportOptions& options, std::ostream& out, std::ostream& err) {
    int exit_code = kExitOk;
    auto loaded = load_rules(options.rules, std::nullopt, err, exit_code);
    if (!loaded) return exit_code;
    const RuleFile& rf = loaded->rules->rules;
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
    auto schema = read_schema(*state, error);
    if (!schema || !schema->find("strata_runs")) {
        err << "strata export: no runs are stored in '" << state->getFilename()
            << "'; run 'strata run' first\n";
        return kExitEnvironment;
    }
    auto run = find_run(*state, rf.ruleset, options.run, error);
    if (!run) {
        if (!error.message.empty())
            err << "strata export: " << error.message << '\n';
        else if (options.run)
            err << "strata export: run " << *options.run << " of ruleset '" << rf.ruleset
                << "' does not exist\n";
        else
            err << "strata export: no stored run of ruleset '" << rf.ruleset
                << "'; run 'strata run' first\n";
        return kExitEnvironment;
    }
    if (run->rules_sha256 != loaded->sha256) {
        err << "strata export: warning: " << options.rules << " has changed since run "
            << run->run_id << " (which used version " << run->version << ", sha256 "
            << run->rules_sha256.substr(0, 12)
            << "); offers, channels and priorities come from the file as it is now\n";
    }
    const auto rows = load_membership(*state, run->run_id, error);
    if (!error.message.empty()) {
        err << "strata export: " << error.message << '\n';
        return kExitEnvironment;
    }
    if (options.format == ExportFormat::Csv)
        out << "customer_key,segment,tactical,offer,channel,priority\n";
    if (options.format == ExportFormat::Json) out << '[';
    bool first_row = true;
    for (const auto& row : rows) {
        const SegmentDef* seg = find_segment(rf.segments, row.segment.str());
        const std::string offer = seg ? seg->meta.offer : "";
        const std::string channel = seg ? seg->meta.channel : "";
        const std::string priority =
            seg && seg->meta.priority ? std::to_string(*seg->meta.priority) : "";
        if (options.format == ExportFormat::Csv) {
            write_csv_field(out, format_value(row.key));
            out << ',';
            write_csv_field(out, row.segment.str());
            out << ',';
            write_csv_field(out, row.tactical.str());
            out << ',';
            write_csv_field(out, offer);
            out << ',';
            write_csv_field(out, channel);
            out << ',' << priority << '\n';
        } else {
            JsonWriter w;
            w.begin_object().key("customer_key");
            if (const auto* i = std::get_if<int64_t>(&row.key))
                w.value(*i);
            else
                w.value(std::get<Str>(row.key).str());
            w.key("segment").value(row.segment.str()).key("tactical").begin_array();
            std::stringstream tags(row.tactical.str());
            for (std::string tag; std::getline(tags, tag, ';');)
                w.value(tag);
            w.end_array();
            for (const auto& [key, text] : {std::pair{"offer", &offer}, {"channel", &channel}}) {
                if (text->empty())
                    w.key(key).null();
                else
                    w.key(key).value(*text);
            }
            w.key("priority");
            if (seg && seg->meta.priority)
                w.value(*seg->meta.priority);
            else
                w.null();
            w.key("run_id").value(run->run_id).end_object();
            if (options.format == ExportFormat::Json)
                out << (first_row ? "\n" : ",\n") << w.str();
            else
                out << w.str() << '\n';
            first_row = false;
        }
    }
    if (options.format == ExportFormat::Json) out << (first_row ? "]\n" : "\n]\n");
    return kExitOk;
}

}  // namespace strata::cli
