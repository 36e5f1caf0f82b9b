// `strata outbox claim|ack|fail`: a sender's loop. Claim marks pending actions in flight for a
// lease and prints them as JSON Lines; ack records a send, fail a failed one (retried until
// --max-attempts, then dead). Ack and fail of several ids apply every id they can and name each
// one they cannot (exit 2); a repeated or late ack or fail is a note, not an error.
#include <spdlog/spdlog.h>

#include <csignal>
#include <ctime>
#include <ostream>
#include <set>

#include "cli/outbox_common.hpp"
#include "engine/outbox.hpp"

namespace strata::cli {

int run_outbox_claim(const OutboxClaimOptions& options, std::ostream& out, std::ostream& err) {
    const auto lease = parse_duration(options.lease);
    if (!lease || *lease < 1) {
        err << "strata outbox claim: --lease '" << options.lease
            << "' is not a duration like 30s, 5m, 1h or 2d (at least 1s, at most 30d)\n";
        return kExitEnvironment;
    }
    if (options.limit < 1 || options.consumer.empty() || options.max_attempts < 1) {
        err << "strata outbox claim: --limit and --max-attempts must be at least 1, and "
               "--consumer must name the sender\n";
        return kExitEnvironment;
    }
    // Whole seconds, and a lease expires only once `now` is past lease_until: a lease lasts
    // at least as long as asked, and less than a second more. The clock is read once the
    // claim holds the lock, not before it waits for a run to finish.
    ClaimRequest request{options.limit, options.consumer, "", "", options.max_attempts, *lease};
    const auto claimed = outbox_claim(options.target, request, err);
    if (!claimed) return kExitEnvironment;
    const ClaimResult& result = *claimed;
    request.now = result.now;  // for putting back what could not be written
    request.lease_until = result.lease_until;
    request.lease_seconds = 0;
    // A reader that stops early (`claim | head -n 1`) must not kill the claim before it puts
    // the batch back: with SIGPIPE ignored, the write fails and the check below sees it.
    std::signal(SIGPIPE, SIG_IGN);
    // One line at a time: a line written whole has reached the reader (or the pipe it
    // reads), which may send it and ack it, so it stays claimed. The lines not written go
    // back to pending, as they were: a sender never loses an attempt to a line it never saw.
    size_t written = 0;
    std::string line;
    for (const OutboxEntry& e : result.claimed) {
        line.assign(e.json).push_back('\n');  // one write: a line and its end together
        out.write(line.data(), static_cast<std::streamsize>(line.size()));
        out.flush();
        if (!out) break;
        ++written;
    }
    if (written < result.claimed.size()) {
        std::vector<int64_t> ids;
        for (size_t i = written; i < result.claimed.size(); ++i)
            ids.push_back(result.claimed[i].id);
        const auto undone = outbox_unclaim(options.target, request, ids, err);
        err << "strata outbox claim: ";
        if (written == 0)
            err << "the claimed actions could not be written to the output";
        else
            err << "the output failed after " << written << " of " << result.claimed.size()
                << " claimed actions; the " << written << " written stay claimed by "
                << options.consumer << " until " << request.lease_until
                << " (ack or fail them; unread, they return to pending when the lease ends)";
        if (undone) {
            err << "; " << *undone << " of " << ids.size() << (written == 0 ? "" : " not written")
                << " went back to pending, as they were";
            if (static_cast<size_t>(*undone) < ids.size())
                err << " (the others were no longer this claim's: its lease had ended)";
        }
        err << '\n';
        return kExitEnvironment;
    }
    note_keys_not_utf8(result.claimed, "claim", err);
    if (result.leases_expired > 0)
        spdlog::info("outbox claim: {} expired lease(s) released, {} of them dead-lettered",
                     result.leases_expired, result.dead_lettered);
    spdlog::info("outbox claim: {} action(s) claimed by {} until {}", result.claimed.size(),
                 options.consumer, request.lease_until);
    return kExitOk;
}

namespace {

// Why an ack or fail cannot apply to a row, or empty when it can.
std::string refusal(const OutboxChange& c) {
    const std::string action = "action " + std::to_string(c.id);
    if (!c.before) return action + " is not in the outbox";
    if (*c.before == "holdout")
        return action + " is held out (the trigger's control group): it is never sent";
    if (*c.before == "capped") return action + " is over its frequency cap: it is never sent";
    if (!outbox_was_claimed(*c.before, c.attempt))
        return action + " is " + *c.before + " and was never claimed";
    return {};
}

// Prints the refusals and notes; returns the exit code.
template <typename NoteFn>
int report(const std::vector<OutboxChange>& changes, const std::string& command, std::ostream& err,
           NoteFn note) {
    const std::string prefix = "strata outbox " + command + ": ";
    int exit_code = kExitOk;
    size_t applied = 0;
    for (const OutboxChange& c : changes) {
        if (const std::string why = refusal(c); !why.empty()) {
            err << prefix << why << '\n';
            exit_code = kExitEnvironment;
            continue;
        }
        if (const std::string text = note(c); !text.empty())
            err << prefix << "note: action " << c.id << ' ' << text << '\n';
        applied += c.after != *c.before;
    }
    spdlog::info("outbox {}: {} of {} action(s) changed", command, applied, changes.size());
    return exit_code;
}

// The ids once each, in the order given; an id given again is a note, not a second change
// (whose note would read as if the action had changed under the sender meanwhile).
std::vector<int64_t> once_each(const std::vector<int64_t>& ids, const std::string& command,
                               std::ostream& err) {
    std::vector<int64_t> out;
    std::set<int64_t> seen, repeated;
    for (const int64_t id : ids) {
        if (seen.insert(id).second)
            out.push_back(id);
        else if (repeated.insert(id).second)
            err << "strata outbox " << command << ": note: action " << id
                << " is given more than once; it is " << (command == "ack" ? "acked" : "failed")
                << " once\n";
    }
    return out;
}

// Who holds an action that `consumer` acks or fails: the consumer that claimed it after
// `consumer`'s own lease expired, or one whose claim followed a lease `consumer` did not hold.
std::string holder_note(const OutboxChange& c, const std::string& consumer) {
    const std::string holder = c.holder.value_or("another consumer");
    if (lost_lease_of(c, consumer))
        return holder + " (your lease had expired and it claimed the action)";
    return holder + ", not for " + consumer;
}

// Whose claim of the action was the last, and why it ended: "last claimed by mailer-1: lease
// of mailer-1 expired at …" (a lease that ran out) or "…: smtp timeout" (a failure).
std::string last_claim(const OutboxChange& c) {
    return "last claimed by " + c.holder.value_or("another consumer") +
           (c.reason ? ": " + *c.reason : "");
}

// Why an action that was claimed is pending again. A row sent back keeps its reason but not
// its consumer: a lease's reason names it ("lease of mailer-1 expired at …"), a failure's is
// the sender's own.
std::string pending_again(const OutboxChange& c, const char* unknown) {
    if (c.holder) return last_claim(c);
    if (!c.reason) return unknown;
    if (c.reason->rfind("lease of ", 0) == 0) return *c.reason;
    return "it had failed: " + *c.reason;
}

}  // namespace

int run_outbox_ack(const OutboxAckOptions& options, std::ostream&, std::ostream& err) {
    const auto changes = outbox_ack(options.target, once_each(options.ids, "ack", err),
                                    utc_timestamp(std::time(nullptr)), options.consumer, err);
    if (!changes) return kExitEnvironment;
    return report(*changes, "ack", err, [&](const OutboxChange& c) -> std::string {
        if (*c.before == "done") return "was already done";
        if (held_by_another(c, options.consumer))
            return "was in flight for " + holder_note(c, *options.consumer) + "; now done";
        if (*c.before == "pending")
            return "was pending again (" +
                   pending_again(c, "its lease had expired, or it had failed") + "); now done";
        if (*c.before == "dead")
            return "had been dead-lettered" +
                   (c.holder ? " (" + last_claim(c) + ")" : std::string()) + "; now done";
        return {};  // in flight: the ordinary ack
    });
}

int run_outbox_fail(const OutboxFailOptions& options, std::ostream&, std::ostream& err) {
    if (options.max_attempts < 1) {
        err << "strata outbox fail: --max-attempts must be at least 1\n";
        return kExitEnvironment;
    }
    if (options.reason.find_first_not_of(" \t\r\n") == std::string::npos) {
        err << "strata outbox fail: --reason is empty; say why the send failed (it is kept with "
               "the action, and shown by outbox list)\n";
        return kExitEnvironment;
    }
    const auto changes =
        outbox_fail(options.target, once_each(options.ids, "fail", err), options.reason,
                    options.max_attempts, utc_timestamp(std::time(nullptr)), options.consumer, err);
    if (!changes) return kExitEnvironment;
    return report(*changes, "fail", err, [&](const OutboxChange& c) -> std::string {
        if (*c.before == "done") return "is done (acked); the failure is not recorded";
        if (held_by_another(c, options.consumer))
            return "is in flight for " + holder_note(c, *options.consumer) +
                   "; the failure is not recorded";
        if (*c.before == "dead" && c.after == "dead") return "was already dead";
        std::string text;
        if (*c.before == "pending")
            text = "was pending again (" +
                   pending_again(c, "its lease had expired, or it had failed before") + "); ";
        if (c.after == "dead")
            text += "is dead after " + std::to_string(c.attempt) + " attempt(s) (--max-attempts " +
                    std::to_string(options.max_attempts) + ")";
        else if (!text.empty())
            text += "failure recorded";
        return text;
    });
}

}  // namespace strata::cli
