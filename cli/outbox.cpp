// `strata outbox list|claim|ack|fail`: the senders' side of the action outbox. This file wires
// the four commands and holds list; claim, ack and fail are in outbox_send.cpp.
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include "cli/common.hpp"
#include "cli/outbox_common.hpp"
#include "cli/whole_number.hpp"
#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "text/encoding.hpp"
#include "text/width.hpp"

namespace strata::cli {

namespace {

std::string outbox_path(const OutboxTarget& target) {
    return target.state.value_or(target.db);
}

}  // namespace

void note_keys_not_utf8(const std::vector<OutboxEntry>& rows, const std::string& command,
                        std::ostream& err) {
    size_t bad = 0;
    for (const OutboxEntry& e : rows) {
        const auto* text = std::get_if<Str>(&e.row.customer_key);
        bad += text && !text::is_valid_utf8(text->str());
    }
    if (bad == 0) return;
    err << "strata outbox " << command << ": note: " << bad
        << (bad == 1 ? " action has a customer key that is"
                     : " actions have customer keys that are")
        << " not UTF-8 text; JSON writes each byte that is not as \\ufffd, so two such "
           "keys can read alike in customer_key: the idempotency_key spells them in hex, "
           "byte for byte\n";
}

std::string describe_outbox_error(const SQLite::Exception& e, const OutboxTarget& target) {
    const std::string path = outbox_path(target);
    const int code = e.getErrorCode();
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return "'" + path + "' stayed locked by another process for longer than --wait " +
               target.wait;
    if (code == SQLITE_READONLY) return "'" + path + "' is read-only";
    if (code == SQLITE_NOTADB) return "'" + path + "' is not a SQLite database";
    return "database error in '" + path + "': " + e.what();
}

std::unique_ptr<SQLite::Database> open_outbox(const OutboxTarget& target,
                                              const std::string& command, bool write,
                                              std::ostream& err) {
    const std::string path = outbox_path(target);
    const std::string prefix = "strata outbox " + command + ": ";
    if (path.empty()) {
        err << prefix << "give --db (the customer database holding the run state) or --state\n";
        return nullptr;
    }
    const auto wait = parse_duration(target.wait);
    if (!wait) {
        err << prefix << wait_problem(target.wait) << '\n';
        return nullptr;
    }
    const int wait_ms = busy_timeout_ms(*wait);
    auto failed = [&](const StoreError& error) {
        if (error.locked)
            err << prefix << "'" << path
                << "' stayed locked by another process for longer than --wait " << target.wait
                << '\n';
        else
            err << prefix << error.message << '\n';
        return nullptr;
    };
    // open_state would create a missing file, and strata's tables in any SQLite file: a
    // mistyped path, or --db where the runs are in --state, must not become an empty outbox
    // that a sender then polls forever. The file must hold a run state already.
    StoreError error;
    auto db = open_read_only(path, error, wait_ms);
    if (!db) return failed(error);
    try {
        const bool has_state =
            db->execAndGet(
                  "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                  "('strata_runs', 'strata_outbox')")
                .getInt64() > 0;
        if (!has_state) {
            err << prefix << "'" << path
                << "' holds no strata run state (no strata_runs table): the first run of a rule "
                   "file creates it"
                << (target.state ? "" : "; give --state when the runs are stored elsewhere")
                << '\n';
            return nullptr;
        }
        if (std::string foreign = foreign_state_tables(*db); !foreign.empty()) {
            err << prefix << foreign << '\n';
            return nullptr;
        }
        // The tables without a run: a first run stopped (killed, or interrupted) after making
        // them. Nothing was ever enqueued there either.
        const bool runs_table = db->tableExists("strata_runs");
        if (runs_table && db->execAndGet("SELECT count(*) FROM strata_runs").getInt64() == 0 &&
            !(db->tableExists("strata_outbox") &&
              db->execAndGet("SELECT count(*) FROM strata_outbox").getInt64() > 0)) {
            err << prefix << "'" << path
                << "' holds no stored run (a first run that stopped before storing leaves "
                   "strata's tables without one): the first stored run of a rule file enqueues "
                   "its actions there"
                << (target.state ? "" : "; give --state when the runs are stored elsewhere")
                << '\n';
            return nullptr;
        }
    } catch (const SQLite::Exception& e) {
        err << prefix << describe_outbox_error(e, target) << '\n';
        return nullptr;
    }
    if (write) {
        db.reset();
        db = open_state(path, error, wait_ms);
        if (!db) return failed(error);
    }
    db->setBusyTimeout(wait_ms);
    return db;
}

namespace {

using text::display_width;

void write_table(std::ostream& out, const std::vector<OutboxEntry>& rows) {
    const std::vector<std::string> header = {"ID",       "STATUS",      "ATTEMPT", "RULESET",
                                             "TRIGGER",  "CUSTOMER",    "TYPE",    "AS_OF",
                                             "CONSUMER", "LEASE_UNTIL", "REASON"};
    std::vector<std::vector<std::string>> cells;
    for (const OutboxEntry& e : rows) {
        const auto* key = std::get_if<int64_t>(&e.row.customer_key);
        cells.push_back(
            {std::to_string(e.id), e.row.status, std::to_string(e.attempt), one_line(e.row.ruleset),
             one_line(e.row.trigger_id),
             key ? std::to_string(*key) : one_line(std::get<Str>(e.row.customer_key).str()),
             one_line(e.row.type), e.row.as_of, one_line(e.consumer.value_or("-")),
             e.lease_until.value_or("-"), one_line(e.reason.value_or("-"))});
    }
    std::vector<size_t> widths;
    for (const auto& h : header)
        widths.push_back(h.size());
    for (const auto& line : cells)
        for (size_t i = 0; i < line.size(); ++i)
            widths[i] = std::max(widths[i], display_width(line[i]));
    auto write_line = [&](const std::vector<std::string>& line) {
        for (size_t i = 0; i < line.size(); ++i) {
            out << line[i];
            if (i + 1 < line.size())
                out << std::string(widths[i] - display_width(line[i]) + 2, ' ');
        }
        out << '\n';
    };
    if (!rows.empty()) {
        write_line(header);
        for (const auto& line : cells)
            write_line(line);
    }
    std::map<std::string, size_t> by_status;
    for (const OutboxEntry& e : rows)
        ++by_status[e.row.status];
    out << rows.size() << (rows.size() == 1 ? " action" : " actions");
    const char* separator = ": ";
    for (const char* status : kOutboxStatuses) {
        if (auto it = by_status.find(status); it != by_status.end()) {
            out << separator << it->second << ' ' << status;
            separator = ", ";
        }
    }
    out << '\n';
}

void write_json(std::ostream& out, const std::vector<OutboxEntry>& rows) {
    // Each row's record is outbox_record_json's (payload embedded as JSON).
    out << "{\"format\":1,\"actions\":[";
    for (size_t i = 0; i < rows.size(); ++i)
        out << (i ? "," : "") << rows[i].json;
    out << "]}\n";
}

}  // namespace

// "usage" for a mistake in the command line itself: no store named, a --wait that is not a
// duration, a URL that does not parse; "database" otherwise.
const char* outbox_failure_kind(const OutboxTarget& target) {
    const std::string where = target.state.value_or(target.db);
    if (where.empty() || !parse_duration(target.wait)) return "usage";
    return open_failure_kind(where);
}

int run_outbox_list(const OutboxListOptions& options, std::ostream& out, std::ostream& err) {
    OutboxFilter filter;
    filter.status = options.status;
    filter.trigger_id = options.trigger;
    std::ostringstream problem;  // "strata outbox list: …\n", also the JSON error's message
    const auto rows = outbox_list(options.target, filter, problem);
    err << problem.str();
    if (!rows) {
        if (options.format == Format::Json)
            write_json_error(out, outbox_failure_kind(options.target),
                             last_message(problem.str(), "strata outbox list: "));
        return kExitEnvironment;
    }
    if (options.format == Format::Json)
        write_json(out, *rows);
    else
        write_table(out, *rows);
    note_keys_not_utf8(*rows, "list", err);
    return kExitOk;
}

namespace {

CLI::Validator duration_check(int64_t minimum) {
    return CLI::Validator(
        [minimum](std::string& text) -> std::string {
            const auto seconds = parse_duration(text);
            if (!seconds)
                return "'" + text + "' is not a duration like 30s, 5m, 1h or 2d (at most 30d)";
            if (*seconds < minimum) return "must be at least " + std::to_string(minimum) + "s";
            return {};
        },
        "");
}

void add_target(CLI::App* cmd, OutboxTarget& target) {
    cmd->add_option("--db", target.db,
                    "SQLite customer database or postgresql:// URL (its run state holds the "
                    "outbox; not needed with --state)");
    cmd->add_option("--state", target.state,
                    "SQLite file or postgresql:// URL with the run state and the outbox "
                    "(default: the customer database)");
    cmd->add_option("--wait", target.wait,
                    "How long to wait for another process's write to finish before giving up")
        ->type_name("DURATION")
        ->check(duration_check(0))
        ->capture_default_str();
}

// An action id as claim prints it: decimal digits. Leading zeros are dropped here, so that
// CLI11 does not read 010 as octal or 0x11 as hex.
CLI::Validator action_id_check() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
                return c >= '0' && c <= '9';
            });
            if (!digits) return "'" + text + "' is not an action id (the id of a claimed line)";
            const size_t first = std::min(text.find_first_not_of('0'), text.size() - 1);
            text.erase(0, first);
            // Ids are SQLite integers: at most 2^63 - 1.
            if (text.size() > 19 || (text.size() == 19 && text > "9223372036854775807"))
                return "'" + text + "' is not an action id (too large)";
            return {};
        },
        "");
}

// --consumer on ack and fail: the sender's name, as given to claim.
void add_sender(CLI::App* cmd, std::optional<std::string>& consumer, const std::string& what) {
    cmd->add_option("--consumer", consumer, what)
        ->type_name("NAME")
        ->check(CLI::Validator(
            [](std::string& s) { return s.empty() ? std::string("must not be empty") : ""; }, ""));
}

CLI::Option* add_max_attempts(CLI::App* cmd, int64_t& max_attempts, const std::string& what) {
    return cmd->add_option("--max-attempts", max_attempts, what)
        ->type_name("N")
        ->check(whole_number("the number of attempts", 1000000, 1))
        ->capture_default_str();
}

}  // namespace

void add_outbox(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err) {
    auto* outbox = app.add_subcommand(
        "outbox", "Consume the actions runs enqueue: list, claim, then ack or fail them");
    outbox->require_subcommand(1);
    // Listed under "Commands", as the top-level ones are.
    auto group = [](CLI::App* cmd) { cmd->group("Commands"); };

    auto list = std::make_shared<OutboxListOptions>();
    auto list_format = std::make_shared<std::string>("text");
    auto* list_cmd = outbox->add_subcommand("list", "Show the outbox's actions, oldest first");
    group(list_cmd);
    add_target(list_cmd, list->target);
    list_cmd->add_option("--status", list->status, "Only actions with this status")
        ->check(CLI::IsMember({"pending", "in_flight", "done", "dead", "holdout", "capped"}));
    list_cmd->add_option("--trigger", list->trigger, "Only actions of this trigger id");
    list_cmd->add_option("--format", *list_format, "Output format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    list_cmd->callback([list, list_format, &exit_code, &out, &err] {
        list->format = *list_format == "json" ? Format::Json : Format::Text;
        exit_code = run_outbox_list(*list, out, err);
    });

    auto claim = std::make_shared<OutboxClaimOptions>();
    auto* claim_cmd = outbox->add_subcommand(
        "claim", "Mark up to N pending actions in flight for a consumer; print them as JSON Lines");
    group(claim_cmd);
    add_target(claim_cmd, claim->target);
    claim_cmd->add_option("--limit", claim->limit, "Claim at most this many actions (1 to 1000000)")
        ->required()
        ->type_name("N")
        ->check(whole_number("the limit", 1000000, 1));
    claim_cmd->add_option("--consumer", claim->consumer, "Name of the sender claiming them")
        ->required()
        ->type_name("NAME")
        ->check(CLI::Validator(
            [](std::string& s) { return s.empty() ? std::string("must not be empty") : ""; }, ""));
    claim_cmd
        ->add_option("--lease", claim->lease,
                     "How long the claim holds: an action neither acked nor failed by then is "
                     "claimable again")
        ->type_name("DURATION")
        ->check(duration_check(1))
        ->capture_default_str();
    add_max_attempts(claim_cmd, claim->max_attempts,
                     "An action whose lease expires on this attempt is dead-lettered (1 to "
                     "1000000)");
    claim_cmd->callback(
        [claim, &exit_code, &out, &err] { exit_code = run_outbox_claim(*claim, out, err); });

    auto ack = std::make_shared<OutboxAckOptions>();
    auto* ack_cmd = outbox->add_subcommand("ack", "Record that claimed actions were sent");
    group(ack_cmd);
    add_target(ack_cmd, ack->target);
    ack_cmd->add_option("ID", ack->ids, "Action ids (the id of each claimed line)")
        ->required()
        ->transform(action_id_check());
    add_sender(ack_cmd, ack->consumer,
               "The sender acking, as named to claim: recorded as the action's consumer");
    ack_cmd->callback(
        [ack, &exit_code, &out, &err] { exit_code = run_outbox_ack(*ack, out, err); });

    auto fail = std::make_shared<OutboxFailOptions>();
    auto* fail_cmd = outbox->add_subcommand(
        "fail", "Record that sending claimed actions failed: retried later, or dead-lettered");
    group(fail_cmd);
    add_target(fail_cmd, fail->target);
    fail_cmd->add_option("ID", fail->ids, "Action ids (the id of each claimed line)")
        ->required()
        ->transform(action_id_check());
    add_sender(fail_cmd, fail->consumer,
               "The sender failing, as named to claim: an action another consumer has claimed "
               "since is left to it");
    fail_cmd->add_option("--reason", fail->reason, "Why the send failed (kept with the action)")
        ->required();
    add_max_attempts(fail_cmd, fail->max_attempts,
                     "An action that failed on this attempt is dead-lettered, not retried (1 to "
                     "1000000)");
    fail_cmd->callback(
        [fail, &exit_code, &out, &err] { exit_code = run_outbox_fail(*fail, out, err); });
}

}  // namespace strata::cli
