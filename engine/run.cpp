#include "engine/run.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "engine/json.hpp"
#include "engine/parallel.hpp"
#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/run_read.hpp"
#include "engine/run_threads.hpp"
#include "engine/state_common.hpp"
#include "engine/store.hpp"
#include "engine/versions.hpp"

namespace strata {

namespace {

// Before a stored run reads: each watched fact table's watermark goes up to its highest rowid,
// so that every change to a row this run reads is counted from now on (engine/fact_watch.hpp);
// an incremental run installs a missing watch. Per fact: whether it was raised, and the watch
// as it was before, and the raise's token. A table that cannot be watched is read whole, and an
// incremental run then says why it was a full one.
struct RaisedWatches {
    std::vector<char> raised;
    std::vector<std::optional<WatchReading>> before;
    std::vector<int64_t> tokens;
};

RaisedWatches raise_watches(const CompiledRules& rules, SQLite::Database& data, bool install,
                            int wait_ms) {
    RaisedWatches out;
    for (const auto& fact : rules.program.facts) {
        std::string watch_error;
        out.before.emplace_back();
        out.tokens.emplace_back();
        out.raised.push_back(raise_watch(data.getFilename(), fact.table, install, out.before.back(),
                                         out.tokens.back(), watch_error, wait_ms));
        if (!watch_error.empty()) spdlog::warn("{}", watch_error);
    }
    return out;
}

// Fires the triggers after placement: a stored run writes the actions into its transaction
// (through the writer), a dry run keeps those not yet in the outbox in the report. False with
// `error` set when the state database fails.
bool fire(const CompiledRules& rules, const RunOptions& options, const Frame& frame,
          const std::vector<uint32_t>& order, RunWriter* writer,
          const std::optional<RunRecord>& dry_previous, const std::vector<OpenPlacement>& before,
          SQLite::Database* state, RunReport& rep, RunError& error) {
    if (rules.triggers.empty()) return true;
    const std::optional<RunRecord>& previous = writer ? writer->previous() : dry_previous;
    FiringInput in;
    in.rules = &rules;
    in.frame = &frame;
    in.order = &order;
    in.membership = &rep.membership;
    in.before = &before;
    in.cause = firing_cause(previous, rules.rules.version);
    rep.firing = in.cause == FiringCause::Baseline     ? "initial"
                 : in.cause == FiringCause::RuleChange ? "rules"
                                                       : "data";
    in.fire_initial = options.fire_initial;
    in.fire_on_rule_change = options.fire_on_rule_change;
    in.as_of = rep.as_of;
    in.run_id = rep.run_id;
    in.history = writer ? &writer->history() : state;
    Firing firing;
    try {
        firing = fire_triggers(in);
    } catch (const SQLite::Exception& e) {
        error.message =
            "cannot read earlier actions from table 'strata_outbox': " + std::string(e.what());
        return false;
    }
    // Which rows are new to the outbox: a stored run inserts them (the rest have their
    // idempotency key there already); a dry run looks their keys up in the state it reads.
    std::vector<char> inserted;
    if (writer) {
        StoreError store_error;
        if (!writer->add_actions(firing.rows, utc_now(), inserted, store_error)) {
            error.message = store_error.message;
            return false;
        }
    } else {
        try {
            inserted = actions_not_enqueued(state, firing.rows);
        } catch (const SQLite::Exception& e) {
            error.message =
                "cannot read earlier actions from table 'strata_outbox': " + std::string(e.what());
            return false;
        }
    }
    // A key found in the outbox must name the same action it named when it was enqueued.
    if (auto places = places_enqueued_before(firing.rows, inserted); !places.empty()) {
        try {
            SQLite::Database& outbox = writer ? writer->history() : *state;
            const std::string as_of = format_date(rep.as_of);
            if (auto changed =
                    changed_action_place(outbox, rules.rules.ruleset, as_of, std::move(places))) {
                error.message = changed_action_message(*changed, as_of, rules.rules.version);
                error.rule_problem = true;
                return false;
            }
        } catch (const SQLite::Exception& e) {
            error.message =
                "cannot read earlier actions from table 'strata_outbox': " + std::string(e.what());
            return false;
        }
    }
    record_firing(firing, inserted, writer != nullptr, rep);
    return true;
}

// Whether two paths name one file (a link or another spelling of the path included).
bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    const bool same = std::filesystem::equivalent(a, b, ec);
    return ec ? a == b : same;
}

// A failed write of what the next run starts from, naming its table.
std::string keep_error(SQLite::Database& state, const char* what, const char* table,
                       const SQLite::Exception& e) {
    return std::string("cannot store the kept ") + what + " (table '" + table + "') in '" +
           state.getFilename() + "': " + e.what();
}

// One attempt of execute_run. `error.again`: another run was stored meanwhile, and the run
// made again at once may succeed.
std::optional<RunReport> run_once(const CompiledRules& rules, SQLite::Database& data,
                                  SQLite::Database* state, const RunOptions& options,
                                  RunError& error, bool& again);

}  // namespace

std::optional<RunReport> execute_run(const CompiledRules& rules, SQLite::Database& data,
                                     SQLite::Database* state, const RunOptions& options,
                                     RunError& error) {
    // An incremental run that finds, once it holds the write lock, that another run of the
    // ruleset was stored while it read is made again from that run's kept state: as a second
    // run waits for the first, rather than failing.
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        bool again = false;
        error = RunError{};
        auto report = run_once(rules, data, state, options, error, again);
        if (report || !again || attempt == kAttempts) return report;
        spdlog::info("{}: making the run again", error.message);
    }
}

namespace {

std::optional<RunReport> run_once(const CompiledRules& rules, SQLite::Database& data,
                                  SQLite::Database* state, const RunOptions& options,
                                  RunError& error, bool& again) {
    const auto started = std::chrono::steady_clock::now();
    const std::string started_at = utc_now();
    PhaseClock clock;
    RunReport rep;
    rep.ruleset = rules.rules.ruleset;
    rep.version = rules.rules.version;
    rep.sha256 = options.rules_sha256;
    rep.as_of = options.as_of;
    rep.warnings = options.warnings;
    rep.source = options.source;

    // Tables are read in parts on threads of their own: progress reports may come from any.
    ProgressFn progress;
    if (options.progress) {
        progress = [report = options.progress, mutex = std::make_shared<std::mutex>()](
                       const std::string& what, size_t rows) {
            std::lock_guard lock(*mutex);
            report(what, rows);
        };
    }
    const std::optional<std::string> rules_source =
        options.source ? std::optional<std::string>(options.source->text()) : std::nullopt;
    // Runs of a ruleset move forward in time: refuse, before any work, to store a run that
    // looks at a day before the latest stored one. (The same day again is allowed.)
    std::optional<RunRecord> previous;
    if (!options.dry_run) {
        StoreError find_error;
        previous = find_run(*state, rep.ruleset, std::nullopt, find_error);
        if (!find_error.message.empty()) {
            error.message = find_error.message;
            return std::nullopt;
        }
        if (auto refused = refuses_going_back(previous, rep.ruleset, format_date(rep.as_of))) {
            error.message = *refused;  // checked again inside the run's transaction
            return std::nullopt;
        }
        // A version stands for one content: refuse, before any work, a changed file whose
        // version was not bumped (checked again inside the run's transaction).
        try {
            if (auto refused = refuses_unbumped_version(*state, rep.ruleset, rep.version,
                                                        rep.sha256, rules_source.value_or(""))) {
                error.message = *refused;
                error.rule_problem = true;
                return std::nullopt;
            }
        } catch (const SQLite::Exception& e) {
            error.message =
                "cannot read rule versions from '" + state->getFilename() + "': " + e.what();
            return std::nullopt;
        }
    }
    const SegmentPlan plan = plan_segments(rules.segments, rep.segments);

    // An incremental run starts from the ruleset's kept state (engine/incremental.hpp).
    std::optional<KeptState> kept;
    std::vector<std::string> kept_blocks;
    std::string kept_unusable;  // why a kept state that is there cannot be used
    int64_t latest_batch = 0;   // applied evaluations of one customer do not change the kept state
    if (options.incremental) {
        try {
            if (state) {
                kept = load_kept_state(*state, rep.ruleset, kept_unusable);
                if (kept) kept_blocks = load_aggregate_blocks(*state, rep.ruleset);
                latest_batch = latest_batch_run(*state, rep.ruleset);
            }
        } catch (const SQLite::Exception& e) {
            error.message =
                "cannot read the kept aggregate state (tables 'strata_aggregate_state' and "
                "'strata_aggregate_blocks') from '" +
                state->getFilename() + "': " + e.what();
            return std::nullopt;
        }
    }

    // Before the writer starts: with no --state the state is the customer database, whose
    // write lock the writer holds from then on.
    RaisedWatches watches;
    if (!options.dry_run)
        watches = raise_watches(rules, data, options.incremental, options.watch_wait_ms);

    // A stored run's writer starts beside the reads: it opens the transaction and records the
    // run on its own thread (the state connection is not otherwise used meanwhile).
    // Membership then streams to the state database while later rows are still being placed;
    // it commits only once every row is placed and every check has passed.
    const bool uses_state = rules.program.reads_stored_state();
    // The open stays are loaded beside the reads unless the base is large
    // (RunOptions::open_stays_beside_reads_up_to); the state columns need them as the
    // customers are read.
    OpenStaysLoading open_stays;
    open_stays.later =
        !uses_state && previous && previous->customers > options.open_stays_beside_reads_up_to;
    if (open_stays.later && rules.triggers.empty())
        open_stays.page_rows = options.open_stays_page_rows;
    std::future<std::unique_ptr<RunWriter>> starting;
    StoreError start_error;
    if (!options.dry_run) {
        RunRecord record;
        record.ruleset = rep.ruleset;
        record.version = rep.version;
        record.rules_sha256 = rep.sha256;
        record.rules_path = options.rules_path;
        record.as_of = format_date(rep.as_of);
        record.started_at = started_at;
        record.finished_at = started_at;  // set when the run commits
        record.status = "complete";       // nobody sees the record before it is
        record.customers = 0;             // set when the run commits
        record.summary_json = "{}";
        record.rules_source = rules_source;
        std::unordered_map<std::string, int> levels;
        for (size_t t = 0; t < plan.tag_paths.size(); ++t)
            levels.emplace(plan.tag_paths[t], static_cast<int>(t) + 1);
        starting =
            start_pooled_async([state, record = std::move(record), levels = std::move(levels),
                                &start_error, open_stays]() mutable {
                spdlog::debug("run writer starting");
                return RunWriter::begin(*state, record, std::move(levels), start_error, nullptr,
                                        open_stays);
            });
    }
    // Columns from the stored state need the open stays: the writer's, once it has started
    // (a stored run), or read here (a dry run with a state database).
    std::unique_ptr<RunWriter> writer;
    // A dry run reads the ruleset's latest run and open stays itself (when there is a state
    // database): for the state columns and for the triggers.
    std::vector<OpenPlacement> dry_open;
    if (options.dry_run && state &&
        (uses_state || !rules.triggers.empty() || options.incremental)) {
        try {
            dry_open = load_open_placements(*state, rep.ruleset, nullptr, options.state_before_run);
            StoreError ignored;
            previous =
                options.state_before_run
                    ? find_run_before(*state, rep.ruleset, *options.state_before_run, ignored)
                    : find_run(*state, rep.ruleset, std::nullopt, ignored);
        } catch (const SQLite::Exception&) {
            // A state database without stays: every customer is new to it.
        }
    }
    // The state columns read the stays the day began with: those open before the ruleset's
    // first run of this as_of (or a later one). Running a day again on the same data then
    // places every customer as the first run did. Most runs are of a new day: the stays they
    // compare with, already read, are those.
    bool day_read = false;
    std::vector<DayStartStay> day_start;  // where they differ from `compared`
    // All of them, for a day after the run compared with (no command asks for that today).
    std::optional<std::vector<OpenPlacement>> day_whole;
    std::string state_read_error;  // a failed read of them, named against the state file
    auto fill_state = [&](CustomerTable& table) {
        if (!uses_state) return;
        // Called again by a read that falls back to a full one: the writer has started then.
        if (starting.valid()) writer = starting.get();
        if (!writer && !(state && options.dry_run)) return;
        const std::vector<OpenPlacement>& compared = writer ? writer->open_placements() : dry_open;
        if (!day_read) {
            day_read = true;
            try {
                const std::optional<int64_t> first =
                    first_run_from(*state, rep.ruleset, format_date(rep.as_of));
                const std::optional<int64_t> compared_before =
                    writer ? std::optional<int64_t>(writer->run_id()) : options.state_before_run;
                if (first && first != compared_before) {
                    if (!compared_before || *first < *compared_before)
                        day_start = day_start_changes(*state, rep.ruleset, *first, compared_before,
                                                      compared);
                    else
                        day_whole = load_open_placements(*state, rep.ruleset, nullptr, *first);
                }
            } catch (const SQLite::Exception& e) {
                // A dry run's state database without stays: every customer is new to it.
                if (!writer && !state_common::has_stays(*state)) return;
                state_read_error =
                    "cannot read the stored state behind previous_segment and the "
                    "like from '" +
                    state->getFilename() + "': " + e.what();
                throw;
            }
        }
        fill_state_columns(rules.program, table, day_whole ? *day_whole : compared, rep.as_of,
                           day_start);
    };
    ReadRequest request;
    request.rules = &rules;
    request.data = &data;
    request.progress = progress;
    request.as_of = options.as_of;
    request.fill_state = fill_state;
    request.row_counts = options.aggregate_rows;
    request.given_fits = options.population;
    request.keep = !options.dry_run;
    request.incremental = options.incremental;
    request.kept = &kept;
    request.kept_blocks = &kept_blocks;
    request.kept_unusable = kept_unusable;
    request.latest_run_id = latest_batch;
    request.rules_sha256 = options.rules_sha256;
    request.watch_raised = std::move(watches.raised);
    request.watch_before = std::move(watches.before);
    request.watch_tokens = std::move(watches.tokens);
    KeptBlocksStore kept_blocks_store;  // after the writer: waited for before it rolls back
    // Only into a state file of its own: with the state in the customer database, a write
    // that outgrows the page cache would wait for this run's own read to end.
    if (!options.dry_run && state && !same_file(state->getFilename(), data.getFilename())) {
        request.blocks_encoded = [&](std::vector<std::string> blocks) {
            if (starting.valid()) writer = starting.get();
            if (writer) kept_blocks_store.start(writer->history(), rep.ruleset, std::move(blocks));
        };
    }
    // The state columns wait for the writer inside the read's transaction. With the state in
    // the customer database, that read lock would keep another run holding the write lock
    // from committing while this run waits for it: both would wait out --wait. So here the
    // write lock is taken first, before the read begins.
    if (uses_state && starting.valid() && state &&
        same_file(state->getFilename(), data.getFilename()))
        writer = starting.get();
    ReadResult read;
    std::string read_error;
    const bool evaluated = read_and_evaluate(request, read, clock, read_error);
    if (starting.valid()) writer = starting.get();
    if (!evaluated) {
        // The writer's own failure comes first when both failed: it is what the state holds
        // (a missing segment code, a lock held by another run), and its rollback beside the
        // reads, with the state in the customer database, can be what failed the read.
        if (!options.dry_run && !writer && !start_error.message.empty()) {
            error.message = start_error.message;
            error.rule_problem = start_error.rule_problem;
            return std::nullopt;
        }
        error.message = state_read_error.empty() ? read_error : state_read_error;
        return std::nullopt;
    }
    try {
        kept_blocks_store.wait();
    } catch (const SQLite::Exception& e) {
        error.message =
            keep_error(writer->history(), "aggregate state", "strata_aggregate_blocks", e);
        return std::nullopt;
    }
    kept_blocks = {};
    rep.data_quality = std::move(read.dq);
    rep.incremental = read.incremental;
    const CustomerTable& customers = read.customers;
    const Evaluation& ev = read.ev;
    // The kept state must be the one of the latest run as the writer's transaction sees it.
    bool kept_state_moved = false;
    if (writer && read.incremental && read.incremental->used) {
        try {
            kept_state_moved = latest_batch_run(writer->history(), rep.ruleset, writer->run_id()) !=
                               read.incremental->since_run;
        } catch (const SQLite::Exception&) {
            kept_state_moved = true;
        }
    }
    if (kept_state_moved) {
        error.message = "another run of ruleset '" + rep.ruleset +
                        "' was stored while this incremental run read its kept state; nothing "
                        "was stored, run again";
        again = true;
        return std::nullopt;
    }
    if (!options.dry_run) {
        if (!writer) {
            error.message = start_error.message;
            error.rule_problem = start_error.rule_problem;
            return std::nullopt;
        }
        rep.run_id = writer->run_id();
        // What the next incremental run starts from, in this run's transaction (the
        // customers' states were stored while the lets were evaluated).
        read.kept.run_id = rep.run_id;
        read.kept.version = rep.version;
        read.kept.rules_sha256 = rep.sha256;
        read.kept.as_of = format_date(rep.as_of);
        const char* table = "strata_aggregate_state";
        try {
            store_kept_state(writer->history(), rep.ruleset, read.kept);
            table = "strata_aggregate_blocks";
            if (!request.blocks_encoded)
                store_kept_blocks(writer->history(), rep.ruleset, read.blocks);
        } catch (const SQLite::Exception& e) {
            error.message = keep_error(writer->history(), "aggregate state", table, e);
            return std::nullopt;
        }
        std::vector<std::string>().swap(read.blocks);
        clock.lap("keep aggregate state");
    }

    const Frame frame = ev.frame();
    const size_t n = customers.rows;
    rep.customers = n;
    SharedPackedColumn value;
    if (rules.value) {
        value = evaluate_packed(*rules.value, frame);
        rep.has_value = true;
    }
    std::optional<MembershipPipe> pipe;
    if (writer) pipe.emplace(*writer, rep.membership);
    const Policy policy = rules.rules.policy;
    const std::vector<uint32_t> order = key_order(customers.keys);
    const Unplaced unplaced =
        place_customers(plan, policy, frame, order, customers.keys, value.get(), rep,
                        pipe ? std::function<void(size_t)>([&pipe](size_t n) { pipe->publish(n); })
                             : std::function<void(size_t)>());
    spdlog::debug("customers placed");
    const std::optional<StoreError> store_failed = pipe ? pipe->close() : std::nullopt;
    if (pipe && !store_failed) spdlog::debug("membership written");

    // Rule problems first: the run fails whole, and the writer rolls back.
    if (auto message =
            unplaced_message(unplaced, policy, rules.segments, customers.keys, !options.dry_run)) {
        error.message = *message;
        error.rule_problem = true;
        return std::nullopt;
    }
    // The coverage invariant: every customer in exactly one general segment.
    size_t covered = 0;
    for (const auto& r : rep.segments) {
        covered += r.count;
        rep.value_total.add(r.value_total);
    }
    if (covered != n || rep.membership.size() != n) {
        error.message = "internal error: general segments hold " + std::to_string(covered) +
                        " customers of " + std::to_string(n) + "; nothing was stored";
        return std::nullopt;
    }
    if (store_failed) {
        error.message = store_failed->message;
        return std::nullopt;
    }
    if (writer) {
        StoreError store_error;
        const Transitions* moves = writer->end_membership(store_error);
        if (!moves) {
            error.message = store_error.message;
            return std::nullopt;
        }
        // Compared with the latest run as read inside the transaction, not the early check's.
        const std::optional<RunRecord>& before = writer->previous();
        if (moves->retyped > 0 && !options.allow_retyped_keys) {
            error.message =
                retyped_keys_message(*moves, before ? before->run_id : 0, rules.rules.key);
            return std::nullopt;
        }
        RunTransitions t;
        if (before) {
            t.since_run = before->run_id;
            t.since_as_of = before->as_of;
        }
        t.cause = !before ? "initial" : before->version != rep.version ? "rules" : "data";
        t.counts = *moves;
        rep.transitions = std::move(t);
    }
    clock.lap("segments");
    rep.populations = summarize_populations(rules, frame);
    if (options.on_placed) options.on_placed(frame, order, rep);
    if (!fire(rules, options, frame, order, writer.get(), previous,
              writer ? writer->open_placements() : dry_open, state, rep, error))
        return std::nullopt;
    clock.lap("triggers");

    auto elapsed_ms = [&started] {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    };
    if (writer) {
        try {
            store_population_fits(writer->history(), rep.run_id, rep.populations);
        } catch (const SQLite::Exception& e) {
            error.message =
                keep_error(writer->history(), "population fits", "strata_population_fits", e);
            return std::nullopt;
        }
        clock.lap("keep population fits");
        rep.elapsed_ms = elapsed_ms();
        StoreError store_error;
        if (!writer->finish(utc_now(), static_cast<int64_t>(n), report_json(rep), store_error)) {
            error.message = store_error.message;
            return std::nullopt;
        }
        clock.lap("store");
    }
    rep.elapsed_ms = elapsed_ms();
    return rep;
}

}  // namespace

}  // namespace strata
