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
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "engine/json.hpp"
#include "engine/parallel.hpp"
#include "engine/store.hpp"

namespace strata {

namespace {

// Tables are split into this many rowid ranges and read side by side. Fixed, not the
// machine's core count: how facts are split decides the order sums are added in, and the
// same data must give the same bytes everywhere.
constexpr size_t kScanParts = 2;

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string sample_keys(const std::vector<uint32_t>& rows, const Column& keys) {
    std::string out;
    for (size_t i = 0; i < rows.size() && i < 5; ++i)
        out += (i ? ", " : "") + format_value(keys[rows[i]]);
    if (rows.size() > 5) out += ", …";
    return out;
}

// A tactical subsegment as rows walk them: depth first, in rule-file order, each knowing
// where its subtree ends, so a row that fails a condition skips the children too.
struct TacticalNode {
    size_t job;             // its condition, in the list of condition jobs
    SegmentResult* result;  // where its counts go
    size_t tag;             // its bit in a customer's tag set (= its depth-first index)
    size_t end;             // the node after its subtree
};

// Every segment condition, general and tactical, in one list (depth first).
void collect_conditions(const std::vector<CompiledSegment>& segs,
                        std::vector<const CompiledSegment*>& out) {
    for (const auto& s : segs) {
        if (s.when) out.push_back(&s);
        collect_conditions(s.tactical, out);
    }
}

size_t job_of(const std::vector<const CompiledSegment*>& jobs, const CompiledSegment* s) {
    return static_cast<size_t>(std::find(jobs.begin(), jobs.end(), s) - jobs.begin());
}

// Makes the results of `children` (under `prefix`) and their nodes, depth first.
void flatten_tactical(const std::vector<CompiledSegment>& children, const std::string& prefix,
                      const std::vector<const CompiledSegment*>& jobs,
                      std::vector<SegmentResult>& results, std::vector<TacticalNode>& nodes,
                      std::vector<std::string>& paths) {
    // All siblings first, so that the pointers taken below stay valid.
    results.reserve(children.size());
    for (const auto& child : children) {
        SegmentResult r;
        r.def = child.def;
        r.path = prefix.empty() ? child.def->id : prefix + "/" + child.def->id;
        results.push_back(std::move(r));
    }
    for (size_t k = 0; k < children.size(); ++k) {
        const size_t at = nodes.size();
        nodes.push_back({job_of(jobs, &children[k]), &results[k], paths.size(), 0});
        paths.push_back(results[k].path);
        flatten_tactical(children[k].tactical, results[k].path, jobs, results[k].tactical, nodes,
                         paths);
        nodes[at].end = nodes.size();
    }
}

// Customers' tag sets, joined with ';' in rule-file order. Customers share few distinct
// sets, so each set is joined once and interned.
class TagTexts {
  public:
    explicit TagTexts(std::vector<std::string> paths)
        : paths_(std::move(paths)), words_((paths_.size() + 63) / 64), none_(intern("")) {}

    size_t words() const { return words_; }

    Str text(const uint64_t* set) {
        bool any = false;
        for (size_t w = 0; w < words_; ++w)
            any = any || set[w] != 0;
        if (!any) return none_;
        auto [it, inserted] = seen_.try_emplace(
            std::string(reinterpret_cast<const char*>(set), words_ * sizeof(uint64_t)));
        if (inserted) {
            std::string joined;
            for (size_t t = 0; t < paths_.size(); ++t) {
                if (set[t / 64] >> (t % 64) & 1) joined += (joined.empty() ? "" : ";") + paths_[t];
            }
            it->second = intern(joined);
        }
        return it->second;
    }

  private:
    std::vector<std::string> paths_;
    size_t words_;
    Str none_;
    std::unordered_map<std::string, Str> seen_;
};

// Hands membership rows to a writer thread as they are placed: the rows live in one vector
// reserved up front (so they never move), and the writer inserts each published range.
class MembershipPipe {
  public:
    MembershipPipe(RunWriter& writer, const std::vector<MembershipRow>& rows)
        : writer_(writer), rows_(rows), thread_([this] { drain(); }) {}

    ~MembershipPipe() { close(); }

    // Rows [0, count) are placed and will not change.
    void publish(size_t count) {
        {
            std::lock_guard lock(mutex_);
            ready_ = count;
        }
        changed_.notify_one();
    }

    // No more rows; waits for the writer. Returns its error, if it had one.
    std::optional<StoreError> close() {
        if (thread_.joinable()) {
            {
                std::lock_guard lock(mutex_);
                closed_ = true;
            }
            changed_.notify_one();
            thread_.join();
        }
        return failed_;
    }

  private:
    void drain() {
        size_t done = 0;
        while (true) {
            size_t upto = 0;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return ready_ > done || closed_; });
                upto = ready_;
                if (upto == done) return;  // closed, all written
            }
            StoreError error;
            if (!writer_.add(rows_.data() + done, upto - done, error)) {
                failed_ = error;
                return;
            }
            done = upto;
        }
    }

    RunWriter& writer_;
    const std::vector<MembershipRow>& rows_;
    std::mutex mutex_;
    std::condition_variable changed_;
    size_t ready_ = 0;
    bool closed_ = false;
    std::optional<StoreError> failed_;  // written by the thread, read after it joins
    std::thread thread_;                // last: starts once everything above exists
};

// Logs how long each phase took (`-v`).
class PhaseClock {
  public:
    void lap(const char* phase) {
        const auto now = std::chrono::steady_clock::now();
        spdlog::info("{}: {:.0f} ms", phase,
                     std::chrono::duration<double, std::milli>(now - last_).count());
        last_ = now;
    }

  private:
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Reads the customers and the fact tables and evaluates the program over them. SQLite
// errors become `error`, naming what was being read.
// `fill_state` gets the customers as read, before anything is evaluated, to fill in the
// columns that come from the stored state.
bool read_and_evaluate(const CompiledRules& rules, SQLite::Database& data,
                       const ProgressFn& progress, Date as_of, CustomerTable& customers,
                       Evaluation& ev, DataQuality& dq, PhaseClock& clock,
                       const std::function<void(CustomerTable&)>& fill_state, RunError& error) {
    const bound::Program& program = rules.program;
    std::string reading = "table '" + rules.rules.customers_table + "'";
    try {
        // One read transaction over every read of this connection: in rollback-journal mode
        // no writer can commit until the reads are done, so the extra connections that read
        // parts of the tables see the same data.
        SQLite::Transaction reads(data);
        // Tables are read in kScanParts rowid ranges side by side, one connection each.
        std::vector<std::unique_ptr<SQLite::Database>> extra;
        std::vector<SQLite::Database*> connections{&data};
        while (connections.size() < kScanParts) {
            StoreError open_error;
            extra.push_back(open_read_only(data.getFilename(), open_error));
            if (!extra.back()) throw SQLite::Exception(open_error.message);
            connections.push_back(extra.back().get());
        }
        KeyIndex index;
        customers = read_customers(connections, rules.rules.customers_table, rules.rules.key,
                                   program, index, dq, progress);
        if (rules.since) {
            // Point in time for the base itself: customers whose source.since is after
            // as_of did not exist yet on that day (an unknown day keeps the customer).
            Frame frame;
            frame.rows = customers.rows;
            frame.as_of = as_of;
            for (const auto& c : customers.columns)
                frame.columns.push_back(&c);
            const Column since = evaluate(*rules.since, frame);
            std::vector<char> keep(customers.rows, 1);
            for (size_t row = 0; row < customers.rows; ++row) {
                const Value& v = since[row];
                const auto* d = std::get_if<Date>(&v);
                const auto* t = std::get_if<DateTime>(&v);
                if ((d && *d > as_of) || (t && to_date(*t) > as_of)) {
                    keep[row] = 0;
                    ++dq.customers_after_as_of;
                }
            }
            keep_customers(customers, index, keep);
        }
        fill_state(customers);
        clock.lap("read customers");
        std::deque<DataQuality> part_quality;  // per part, merged in part order afterwards
        std::vector<std::unique_ptr<SqliteFactSource>> sources;
        std::vector<FactParts> parts;
        for (const auto& fact : program.facts) {
            const std::vector<RowRange> ranges =
                split_by_rowid(data, fact.table, connections.size());
            FactParts fact_parts;
            auto scanned = std::make_shared<std::atomic<size_t>>(0);
            for (size_t p = 0; p < ranges.size(); ++p) {
                part_quality.emplace_back();
                sources.push_back(std::make_unique<SqliteFactSource>(*connections[p], fact, index,
                                                                     part_quality.back(), progress,
                                                                     ranges[p], scanned));
                fact_parts.push_back(sources.back().get());
            }
            parts.push_back(std::move(fact_parts));
        }
        if (!program.facts.empty()) reading = "the fact tables";
        ev = evaluate_program(program, customers, parts, as_of);
        for (const DataQuality& part : part_quality)
            merge_data_quality(dq, part);
        clock.lap("facts, aggregates and lets");
    } catch (const SQLite::Exception& e) {
        error.message =
            "cannot read " + reading + " from '" + data.getFilename() + "': " + e.what();
        return false;
    }
    for (size_t f = 0; f < program.facts.size(); ++f) {
        if (ev.future_fact_rows[f] > 0)
            dq.future_fact_rows[program.facts[f].name] = ev.future_fact_rows[f];
        if (ev.unknown_time_fact_rows[f] > 0)
            dq.unknown_time_fact_rows[program.facts[f].name] = ev.unknown_time_fact_rows[f];
    }
    return true;
}

// Fills the columns that come from the ruleset's stored state, from each customer's open stays
// (those of the latest stored run): previous_segment, segment_since and days_in_segment. A
// customer new to the ruleset has nulls.
void fill_state_columns(const bound::Program& program, CustomerTable& customers,
                        const std::vector<OpenPlacement>& open, Date as_of) {
    const std::vector<uint32_t> order = key_order(customers.keys);
    size_t next = 0;  // open is in key order too: one merge
    for (uint32_t row : order) {
        const Value& key = customers.keys[row];
        while (next < open.size() && compare_keys(open[next].key, key) < 0)
            ++next;
        const OpenPlacement* p =
            next < open.size() && compare_keys(open[next].key, key) == 0 && open[next].general.p
                ? &open[next]
                : nullptr;
        const std::optional<Date> since = p ? parse_date(p->since) : std::nullopt;
        for (size_t c = 0; c < program.columns.size(); ++c) {
            const bound::ColumnUse& use = program.columns[c];
            if (use.source != bound::ColumnSource::State || !p) continue;
            Value& v = customers.columns[c][row];
            if (use.name == "previous_segment")
                v = p->general;
            else if (use.name == "segment_since" && since)
                v = *since;
            else if (use.name == "days_in_segment" && since)
                v = int64_t{as_of.days - since->days};
        }
    }
}

// The segment tree as placement walks it, made once per run.
struct SegmentPlan {
    std::vector<const CompiledSegment*> jobs;         // every condition, depth first
    std::vector<size_t> general_job;                  // per general segment; jobs.size(): otherwise
    std::vector<std::vector<TacticalNode>> tactical;  // per general segment, depth first
    std::vector<Str> segment_ids;                     // per general segment
    std::vector<std::string> tag_paths;               // per tactical segment, by its tag
};

// Plans `segs` and makes their (empty) results.
SegmentPlan plan_segments(const std::vector<CompiledSegment>& segs,
                          std::vector<SegmentResult>& results) {
    SegmentPlan plan;
    collect_conditions(segs, plan.jobs);
    results.reserve(segs.size());
    for (const auto& seg : segs) {
        SegmentResult r;
        r.def = seg.def;
        r.path = seg.def->id;
        results.push_back(std::move(r));
    }
    plan.tactical.resize(segs.size());
    plan.general_job.assign(segs.size(), plan.jobs.size());
    for (size_t g = 0; g < segs.size(); ++g) {
        flatten_tactical(segs[g].tactical, "", plan.jobs, results[g].tactical, plan.tactical[g],
                         plan.tag_paths);
        if (segs[g].when) plan.general_job[g] = job_of(plan.jobs, &segs[g]);
        plan.segment_ids.push_back(intern(segs[g].def->id));
    }
    return plan;
}

// Customers placement could not place: under `exclusive`, those in more than one segment
// (by pair of segments) and those in none; under `first_match`, those no segment matched.
// Rows in key order.
struct Unplaced {
    std::map<std::pair<size_t, size_t>, std::vector<uint32_t>> overlaps;
    std::vector<uint32_t> none;
};

// Places every customer in key order, a block at a time: counts and values into
// rep.segments, a membership row each into rep.membership (reserved for all of them, then
// handed to `pipe` block by block, when there is one).
//
// When the table is in key order (the usual case) a block is a run of table rows and its
// conditions are evaluated for just those rows; otherwise every condition is evaluated once
// for the whole table. Conditions that rank the whole base are always evaluated whole.
Unplaced place_customers(const SegmentPlan& plan, bool exclusive, const Frame& frame,
                         const std::vector<uint32_t>& order, const Column& keys,
                         const Column* value, RunReport& rep, MembershipPipe* pipe) {
    const size_t n = order.size();
    const auto& jobs = plan.jobs;
    bool in_key_order = true;
    for (size_t k = 0; k < n && in_key_order; ++k)
        in_key_order = order[k] == k;
    constexpr size_t kPlaceBlock = 65536;
    const size_t block = in_key_order ? kPlaceBlock : std::max<size_t>(n, 1);
    std::vector<std::vector<char>> whole(jobs.size());
    for_each_on_two_threads(jobs.size(), [&](size_t j) {
        if (!in_key_order || !is_row_local(*jobs[j]->when))
            whole[j] = evaluate_condition(*jobs[j]->when, frame);
    });

    Unplaced unplaced;
    TagTexts tags(plan.tag_paths);
    std::vector<uint64_t> set(tags.words());
    std::vector<std::vector<char>> part(jobs.size());
    std::vector<const char*> holds(jobs.size());  // per job: row r holds at holds[j][r - base]
    rep.membership.reserve(n);
    for (size_t pos = 0; pos < n; pos += block) {
        const size_t count = std::min(block, n - pos);
        const size_t base = in_key_order ? pos : 0;
        Frame rows = frame;
        rows.offset = base;
        rows.rows = in_key_order ? count : n;
        for_each_on_two_threads(jobs.size(), [&](size_t j) {
            if (!whole[j].empty()) {
                holds[j] = whole[j].data() + base;
            } else {
                part[j] = evaluate_condition(*jobs[j]->when, rows);
                holds[j] = part[j].data();
            }
        });
        for (size_t k = pos; k < pos + count; ++k) {
            const uint32_t row = order[k];
            const size_t local = row - base;
            auto holds_job = [&](size_t j) { return j == jobs.size() || holds[j][local] != 0; };
            int32_t general = -1;
            for (size_t g = 0; g < plan.general_job.size(); ++g) {
                if (!holds_job(plan.general_job[g])) continue;
                if (general < 0) {
                    general = static_cast<int32_t>(g);
                    if (!exclusive) break;
                } else {
                    unplaced.overlaps[{static_cast<size_t>(general), g}].push_back(row);
                }
            }
            if (general < 0) {
                unplaced.none.push_back(row);
                continue;
            }
            const bool has_value = value && !is_null((*value)[row]);
            const double v = has_value ? as_double((*value)[row]) : 0;
            auto count_in = [&](SegmentResult& r) {
                ++r.count;
                if (has_value) {
                    r.value_total += v;
                    ++r.value_count;
                }
            };
            count_in(rep.segments[static_cast<size_t>(general)]);
            std::fill(set.begin(), set.end(), 0);
            const auto& nodes = plan.tactical[static_cast<size_t>(general)];
            for (size_t t = 0; t < nodes.size();) {
                if (!holds_job(nodes[t].job)) {
                    t = nodes[t].end;
                    continue;
                }
                count_in(*nodes[t].result);
                set[nodes[t].tag / 64] |= uint64_t{1} << (nodes[t].tag % 64);
                ++t;
            }
            rep.membership.push_back(
                {keys[row], plan.segment_ids[static_cast<size_t>(general)], tags.text(set.data())});
        }
        if (pipe) pipe->publish(rep.membership.size());
    }
    return unplaced;
}

// Why the rules could not place everyone, or nullopt when they could.
std::optional<std::string> unplaced_message(const Unplaced& unplaced, bool exclusive,
                                            const std::vector<CompiledSegment>& segs,
                                            const Column& keys) {
    auto customers = [](size_t n) {
        return std::to_string(n) + (n == 1 ? " customer" : " customers");
    };
    if (exclusive && (!unplaced.overlaps.empty() || !unplaced.none.empty())) {
        std::string msg = "policy 'exclusive' does not hold, so nothing was stored:";
        for (const auto& [pair, rows] : unplaced.overlaps) {
            msg += "\n  " + customers(rows.size()) + " match both '" + segs[pair.first].def->id +
                   "' and '" + segs[pair.second].def->id + "' (e.g. " + sample_keys(rows, keys) +
                   ")";
        }
        if (!unplaced.none.empty()) {
            msg += "\n  " + customers(unplaced.none.size()) + " match no segment (e.g. " +
                   sample_keys(unplaced.none, keys) + ")";
        }
        return msg;
    }
    if (!unplaced.none.empty()) {
        return customers(unplaced.none.size()) + " match no general segment (e.g. " +
               sample_keys(unplaced.none, keys) +
               "), so nothing was stored; add a last segment with 'when: otherwise'";
    }
    return std::nullopt;
}

}  // namespace

std::optional<RunReport> execute_run(const CompiledRules& rules, SQLite::Database& data,
                                     SQLite::Database* state, const RunOptions& options,
                                     RunError& error) {
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
    }
    const SegmentPlan plan = plan_segments(rules.segments, rep.segments);

    // A stored run's writer starts beside the reads: it opens the transaction, records the
    // run and loads the ruleset's open stays on its own thread (the state connection is not
    // otherwise used meanwhile). Membership then streams to the state database while later
    // rows are still being placed; it commits only once every row is placed and every check
    // has passed.
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
        std::unordered_map<std::string, int> levels;
        for (size_t t = 0; t < plan.tag_paths.size(); ++t)
            levels.emplace(plan.tag_paths[t], static_cast<int>(t) + 1);
        starting =
            std::async(std::launch::async, [state, record = std::move(record),
                                            levels = std::move(levels), &start_error]() mutable {
                return RunWriter::begin(*state, record, std::move(levels), start_error);
            });
    }
    // Columns from the stored state need the open stays: the writer's, once it has started
    // (a stored run), or read here (a dry run with a state database).
    std::unique_ptr<RunWriter> writer;
    const bool uses_state =
        std::any_of(rules.program.columns.begin(), rules.program.columns.end(),
                    [](const auto& c) { return c.source == bound::ColumnSource::State; });
    auto fill_state = [&](CustomerTable& table) {
        if (!uses_state) return;
        if (starting.valid()) {
            writer = starting.get();
            if (writer)
                fill_state_columns(rules.program, table, writer->open_placements(), rep.as_of);
        } else if (state) {
            std::vector<OpenPlacement> open;
            try {
                open = load_open_placements(*state, rep.ruleset);
            } catch (const SQLite::Exception&) {
                // A state database without stays: every customer is new to it.
            }
            fill_state_columns(rules.program, table, open, rep.as_of);
        }
    };
    CustomerTable customers;
    Evaluation ev;
    const bool evaluated = read_and_evaluate(rules, data, progress, options.as_of, customers, ev,
                                             rep.data_quality, clock, fill_state, error);
    if (starting.valid()) writer = starting.get();
    if (!evaluated) return std::nullopt;
    if (!options.dry_run) {
        if (!writer) {
            error.message = start_error.message;
            return std::nullopt;
        }
        rep.run_id = writer->run_id();
    }

    const Frame frame = ev.frame();
    const size_t n = customers.rows;
    rep.customers = n;
    std::shared_ptr<const Column> value;
    if (rules.value) {
        value = evaluate_shared(*rules.value, frame);
        rep.has_value = true;
    }
    std::optional<MembershipPipe> pipe;
    if (writer) pipe.emplace(*writer, rep.membership);
    const bool exclusive = rules.rules.policy == Policy::Exclusive;
    const Unplaced unplaced =
        place_customers(plan, exclusive, frame, key_order(customers.keys), customers.keys,
                        value.get(), rep, pipe ? &*pipe : nullptr);
    const std::optional<StoreError> store_failed = pipe ? pipe->close() : std::nullopt;

    // Rule problems first: the run fails whole, and the writer rolls back.
    if (auto message = unplaced_message(unplaced, exclusive, rules.segments, customers.keys)) {
        error.message = *message;
        error.rule_problem = true;
        return std::nullopt;
    }
    // The coverage invariant: every customer in exactly one general segment.
    size_t covered = 0;
    for (const auto& r : rep.segments) {
        covered += r.count;
        rep.value_total += r.value_total;
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

    auto elapsed_ms = [&started] {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    };
    if (writer) {
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

}  // namespace strata
