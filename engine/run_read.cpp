#include "engine/run_read.hpp"
#include "engine/numeric.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "engine/bytes.hpp"
#include "engine/parallel.hpp"
#include "engine/run_parts.hpp"
#include "engine/store.hpp"
#include "engine/table_scan.hpp"
#include "engine/value_pool.hpp"

namespace strata {

namespace {

// Tables are split into this many rowid ranges and read side by side. Fixed, not the
// machine's core count: how facts are split decides the order sums are added in, and the
// same data must give the same bytes everywhere.
constexpr size_t kScanParts = 2;

// Per fact: the rows of the current customers, by what happened to them.
struct RowTotals {
    int64_t read = 0, future = 0, unknown_time = 0;
};

// The table's highest rowid in this read transaction, if it has rows (and a rowid).
std::optional<int64_t> highest_rowid(SQLite::Database& db, const std::string& table,
                                     const std::string& alias) {
    RawStatement q(db, "SELECT max(" + alias + ") FROM " + quote_identifier(table));
    if (!q.step() || sqlite3_column_type(q.get(), 0) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(q.get(), 0);
}

// The earliest day of a fact's future rows after this read: of the rows read now (`read`)
// and, for an incremental read, of the kept rows below the watermark. Unknown (none) when the
// kept state had future rows but not their day; none as well when there are no future rows.
std::optional<Date> earliest_future_day(const FactWatermark* kept, std::optional<Date> read,
                                        int64_t future_rows) {
    if (future_rows == 0) return std::nullopt;
    if (!kept) return read;
    if (kept->future_rows > 0 && !kept->earliest_future) return std::nullopt;
    if (!kept->earliest_future) return read;
    if (!read) return kept->earliest_future;
    return std::min(*read, *kept->earliest_future);
}

// Decides whether the read can be incremental; fills `states` (per customer row) when it can.
void decide_incremental(const ReadRequest& req, const CustomerTable& customers,
                        const std::vector<FactNow>& now, const std::vector<uint32_t>& order,
                        IncrementalOutcome& outcome,
                        std::optional<std::vector<std::string_view>>& states,
                        std::vector<std::string_view>& dropped, uint64_t left_out_now) {
    const KeptState* kept = req.kept->has_value() ? &**req.kept : nullptr;
    std::optional<std::string> reason =
        why_not_incremental(*req.rules, *req.kept, req.kept_unusable, req.latest_run_id,
                            req.rules_sha256, req.as_of, now);
    if (!reason) reason = why_blocks_differ(*kept, *req.kept_blocks);
    KeyKinds kinds;
    if (!reason) {
        states = match_aggregate_states(*req.kept_blocks, customers.keys, order, dropped, kinds);
        if (!states)
            reason = "the kept aggregate states (table 'strata_aggregate_blocks') do not decode";
    }
    size_t fresh = 0;
    if (states) {
        for (const std::string_view s : *states)
            fresh += s.empty();
        // A text key that spells an integer joins that integer's fact rows (engine/reader.hpp),
        // so when keys of both kinds are about, a customer who comes or goes may take rows
        // already read from another: a full run decides.
        const bool came_or_left = fresh > 0 || !dropped.empty();
        for (size_t row = 0; came_or_left && row < customers.rows; ++row)
            (std::holds_alternative<int64_t>(customers.keys[row]) ? kinds.integer : kinds.text) =
                true;
        if (came_or_left && kinds.integer && kinds.text)
            reason =
                "the base and the kept state have integer and text keys between them, and "
                "customers came or left: rows already read may belong to another customer now";
        for (const FactWatermark& f : kept->facts) {
            if (reason) break;
            if (fresh > 0 && f.orphan_rows > f.keyless_rows) {
                const auto orphans = static_cast<size_t>(f.orphan_rows - f.keyless_rows);
                reason = format_count(orphans, "row", "rows") + " of " + f.fact +
                         " below the watermark matched no customer at run " +
                         std::to_string(kept->run_id) + ", and " +
                         format_count(fresh, "customer is", "customers are") +
                         " new: the rows may be theirs";
                break;
            }
        }
        // Rows of customers source.since leaves out are counted apart from the orphans: when
        // those customers are others than the kept state's, rows it read as the one or the
        // other, and the states of customers who left, may be the other now.
        int64_t at_stake = 0;
        for (const FactWatermark& f : kept->facts)
            at_stake += f.orphan_rows - f.keyless_rows;
        if (!reason && left_out_now != kept->left_out_digest && (at_stake > 0 || !dropped.empty()))
            reason = "the customers that source.since leaves out are not the ones at run " +
                     std::to_string(kept->run_id) + ", and rows below the watermark matched no " +
                     "placed customer then, or customers left: whose rows they are now takes "
                     "a full read";
    }
    // Fact values that did not convert are counted in customers' rows only, and the kept
    // count does not say whose: when customers left, theirs may be among them.
    if (!reason && states && !dropped.empty() && !kept->unconvertible.empty())
        reason = format_count(dropped.size(), "customer", "customers") +
                 " left the base, and fact values below the watermark did not convert at run " +
                 std::to_string(kept->run_id) +
                 ": whether they were the leavers' (no longer counted) takes a full read";
    if (reason) {
        outcome.reason = *reason;
        states.reset();
        dropped.clear();
        return;
    }
    outcome.used = true;
    outcome.since_run = kept->run_id;
    outcome.customers_new = fresh;
    outcome.customers_kept = customers.rows - fresh;
    outcome.customers_left = dropped.size();
}

// A reason to read in full found while an incremental read was under way: a customer's kept
// state that does not decode, or fact rows below the watermark that are not the kept ones.
struct NotIncrementalAfterAll : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The rows at or below each kept watermark: counting a table of 10M rows takes SQLite a pass
// over all its pages, so where it can, a read counts on a connection of its own while it goes
// on. Waits for the count when it goes out of scope, so that it never outlives the connection.
class CountsBeside {
  public:
    struct Job {
        size_t fact;
        std::string table;
        std::string alias;
        int64_t kept_max_rowid;
    };
    using Counts = std::vector<std::pair<size_t, int64_t>>;  // (fact, rows at or below)

    ~CountsBeside() {
        if (counting_.valid()) counting_.wait();
    }

    // Counts on `connection` on a helper thread. REQUIRES: nothing else uses `connection`
    // until wait_into(), and it reads the same data as the rest of the read (it holds a read
    // transaction begun while the main connection held one, in rollback-journal mode).
    void start(SQLite::Database& connection, std::vector<Job> jobs) {
        if (jobs.empty()) return;
        counting_ = start_pooled_async(
            [&connection, jobs = std::move(jobs)] { return count(connection, jobs); });
    }

    // Counts on `connection` now, on this thread, into `now`.
    static void count_into(SQLite::Database& connection, const std::vector<Job>& jobs,
                           std::vector<FactNow>& now) {
        for (const auto& [fact, rows] : count(connection, jobs))
            now[fact].rows_at_or_below_kept = rows;
    }

    // Waits for the counts and puts them into `now` (once; later calls do nothing). Throws
    // what the count threw (SQLite::Exception).
    void wait_into(std::vector<FactNow>& now) {
        if (!counting_.valid()) return;
        for (const auto& [fact, rows] : counting_.get())
            now[fact].rows_at_or_below_kept = rows;
    }

  private:
    static Counts count(SQLite::Database& connection, const std::vector<Job>& jobs) {
        Counts counts;
        for (const Job& job : jobs) {
            // All rows less those above the watermark: SQLite counts a whole table without
            // decoding its rows.
            RawStatement all(connection, "SELECT count(*) FROM " + quote_identifier(job.table));
            RawStatement above(connection, "SELECT count(*) FROM " + quote_identifier(job.table) +
                                               " WHERE " + job.alias + " > ?");
            sqlite3_bind_int64(above.get(), 1, job.kept_max_rowid);
            if (all.step() && above.step())
                counts.emplace_back(job.fact, sqlite3_column_int64(all.get(), 0) -
                                                  sqlite3_column_int64(above.get(), 0));
        }
        return counts;
    }

    std::future<Counts> counting_;
};

}  // namespace

// The read again without the kept state: a full read, as any other reason not to read
// incrementally makes one, with `why` as its reason.
static bool read_in_full(const ReadRequest& req, const std::string& why, ReadResult& out,
                         PhaseClock& clock, std::string& error) {
    const std::optional<KeptState> none;
    ReadRequest full = req;
    full.kept = &none;
    out = ReadResult{};
    if (!read_and_evaluate(full, out, clock, error)) return false;
    if (out.incremental) {
        out.incremental->used = false;
        out.incremental->reason = why;
    }
    return true;
}

void PhaseClock::lap(const char* phase) {
    const auto now = std::chrono::steady_clock::now();
    spdlog::info("{}: {:.0f} ms", phase,
                 std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
}

bool read_and_evaluate(const ReadRequest& req, ReadResult& out, PhaseClock& clock,
                       std::string& error) {
    const CompiledRules& rules = *req.rules;
    SQLite::Database& data = *req.data;
    const bound::Program& program = rules.program;
    CustomerTable& customers = out.customers;
    DataQuality& dq = out.dq;
    const bool tracking = req.keep || req.incremental;
    std::string reading = "table '" + rules.rules.customers_table + "'";
    DataQuality fact_dq;  // what the fact rows read by this run found
    std::vector<FactNow> now(program.facts.size());
    std::optional<std::vector<std::string_view>> states;  // kept, per customer row
    std::vector<std::string_view> dropped;                // kept, of customers who left
    std::vector<std::string> dropped_copies;  // what `dropped` sees once the kept blocks are freed
    std::vector<uint32_t> order;              // key order
    std::vector<RowTotals> totals(program.facts.size());             // of the current customers
    std::vector<std::optional<int64_t>> upto(program.facts.size());  // the read's last rowid
    std::vector<std::string> read_none(program.facts.size());  // the rowid's spelling, when the
                                                               // watch was raised on no rows
    std::vector<char> bounded(program.facts.size(), 0);        // read up to a just-raised watch
    uint64_t left_out_now = 0;  // the customers source.since leaves out, as left_out_digest
    try {
        // One read transaction over every read of this connection: in rollback-journal mode
        // no writer can commit until the reads are done, so the extra connections that read
        // parts of the tables see the same data.
        SQLite::Transaction reads(data);
        std::vector<std::unique_ptr<SQLite::Database>> extra;
        std::vector<SQLite::Database*> connections{&data};
        while (connections.size() < kScanParts) {
            StoreError open_error;
            extra.push_back(open_read_only(data.getFilename(), open_error));
            if (!extra.back()) throw SQLite::Exception(open_error.message);
            connections.push_back(extra.back().get());
        }
        // An incremental read counts the rows below the watermarks on the second connection
        // while it goes on. That connection then holds a read transaction begun while this one
        // holds one, so that in rollback-journal mode both read the same data and the count
        // needs no lock later (a writer waiting to commit would refuse it one). In WAL mode
        // a second connection may read a later snapshot: the count is made on this one, first.
        static_assert(kScanParts >= 2, "the counts below the watermarks take a connection");
        const bool count_beside = req.incremental && req.kept && req.kept->has_value() &&
                                  data.execAndGet("PRAGMA journal_mode").getString() != "wal";
        std::optional<SQLite::Transaction> second_reads;
        if (count_beside) {
            data.execAndGet("SELECT count(*) FROM sqlite_schema");  // this one's read lock first
            second_reads.emplace(*connections.back());
            connections.back()->execAndGet("SELECT count(*) FROM sqlite_schema");
        }
        CountsBeside counts;  // after the connections: waited for before they close
        std::vector<CountsBeside::Job> count_jobs;
        KeyIndex index;
        customers = read_customers(connections, rules.rules.customers_table, rules.rules.key,
                                   program, index, dq, req.progress);
        Column left_out;  // customers source.since leaves out
        if (rules.since) left_out = drop_future_customers(rules, req.as_of, customers, index, dq);
        left_out_now = left_out_digest(left_out);
        if (req.fill_state) req.fill_state(customers);
        customers.pack();
        clock.lap("read customers");
        if (!program.facts.empty()) reading = "the fact tables";

        // How far each fact table is read: to its highest rowid, or, when its watch was raised
        // just before, to the watch's watermark (rows added since are the next run's).
        if (tracking) {
            order = key_order(customers.keys);
            const KeptState* kept_now = req.kept && *req.kept ? &**req.kept : nullptr;
            for (size_t f = 0; f < program.facts.size(); ++f) {
                const std::string& table = program.facts[f].table;
                const std::optional<std::string> alias = rowid_alias(data, table);
                now[f].has_rowid = alias.has_value();
                now[f].watch = read_watch(data, table);
                now[f].definition = table_definition(data, table);
                if (!alias) continue;
                now[f].max_rowid = highest_rowid(data, table, *alias);
                bounded[f] = now[f].watch && f < req.watch_raised.size() && req.watch_raised[f];
                if (bounded[f]) {
                    now[f].raised = true;
                    if (f < req.watch_before.size()) now[f].watch_before = req.watch_before[f];
                    const std::optional<int64_t> mark = now[f].watch->watermark;
                    if (!mark || !now[f].max_rowid)
                        now[f].max_rowid = std::nullopt;  // nothing was there when raised
                    else
                        now[f].max_rowid = std::min(*now[f].max_rowid, *mark);
                    upto[f] = now[f].max_rowid;
                    if (!now[f].max_rowid) read_none[f] = *alias;
                }
                const FactWatermark* was = req.incremental && kept_now &&
                                                   f < kept_now->facts.size() &&
                                                   kept_now->facts[f].table == table
                                               ? &kept_now->facts[f]
                                               : nullptr;
                if (was && was->watch_token)
                    now[f].remembers_kept_raise = watch_remembers(data, table, *was->watch_token);
                if (was && was->max_rowid)
                    count_jobs.push_back({f, table, *alias, *was->max_rowid});
            }
        }
        // The connection the counts take is one an incremental read does not use (it reads
        // its few new rows in one part, on `data`); a full read waits for them first.
        if (count_beside)
            counts.start(*connections.back(), std::move(count_jobs));
        else
            CountsBeside::count_into(data, count_jobs, now);
        if (req.incremental) {
            out.incremental.emplace();
            decide_incremental(req, customers, now, order, *out.incremental, states, dropped,
                               left_out_now);
            if (states) spdlog::debug("kept aggregate states matched to the customers");
        }
        if (!states) counts.wait_into(now);
        const KeptState* kept = states ? &**req.kept : nullptr;

        std::deque<DataQuality> part_quality;  // per part, merged in part order afterwards
        std::vector<std::unique_ptr<SqliteFactSource>> sources;
        std::vector<FactParts> parts;
        for (size_t f = 0; f < program.facts.size(); ++f) {
            const bound::FactUse& fact = program.facts[f];
            const std::optional<int64_t> after =
                kept ? kept->facts[f].max_rowid : std::optional<int64_t>();
            // An incremental read takes few rows: one range, so that no second aggregate state
            // of every customer is made and merged for them (results never depend on the split).
            const std::vector<RowRange> ranges =
                !read_none[f].empty()
                    ? std::vector<RowRange>{RowRange{read_none[f], 1, 0}}
                    : split_by_rowid(data, fact.table, kept ? 1 : connections.size(), after,
                                     upto[f]);
            FactParts fact_parts;
            auto scanned = std::make_shared<std::atomic<size_t>>(0);
            for (size_t p = 0; p < ranges.size(); ++p) {
                part_quality.emplace_back();
                sources.push_back(std::make_unique<SqliteFactSource>(
                    *connections[p], fact, index, part_quality.back(), req.progress, ranges[p],
                    scanned));
                fact_parts.push_back(sources.back().get());
            }
            parts.push_back(std::move(fact_parts));
            if (out.incremental) out.incremental->facts.push_back({fact.name, after, 0});
        }
        AggregateCarry carry;
        carry.count_customer_rows = tracking;
        if (states) {
            carry.seed = [&](AggregateComputer& computer) {
                // A window's customers at a time, windows side by side.
                for_each_on_two_threads(computer.windows(), [&](size_t w) {
                    const auto [first, end] = computer.window_rows(w);
                    for (size_t row = first; row < end; ++row) {
                        if ((*states)[row].empty()) continue;
                        ByteReader r((*states)[row]);
                        if (!computer.load_customer(row, r))
                            throw NotIncrementalAfterAll(
                                "the kept aggregate state of customer " +
                                format_value(customers.keys[row]) +
                                " (table 'strata_aggregate_blocks') does not decode");
                    }
                });
                // The kept states are in the computer now, and every customer's is encoded
                // again from it: the blocks and their per-customer views (300 MB at 10M
                // customers) are freed before the fact rows are read. The states of customers
                // who left are copied out.
                dropped_copies.assign(dropped.begin(), dropped.end());
                dropped.assign(dropped_copies.begin(), dropped_copies.end());
                std::vector<std::string_view>().swap(*states);
                if (req.kept_blocks) std::vector<std::string>().swap(*req.kept_blocks);
            };
        }
        if (tracking) {
            carry.keep = [&](AggregateComputer& computer) {
                for (size_t row = 0; row < customers.rows; ++row) {
                    for (size_t f = 0; f < program.facts.size(); ++f) {
                        const auto rows = computer.rows_of(row, static_cast<int>(f));
                        totals[f].read += rows.read;
                        totals[f].future += rows.future;
                        totals[f].unknown_time += rows.unknown_time;
                    }
                }
                if (!req.keep) return;
                computer.prepare_saving();
                out.blocks = encode_aggregate_states(computer, customers.keys, order);
                out.kept.blocks = out.blocks.size();
                out.kept.blocks_checksum = blocks_checksum(out.blocks);
                if (req.blocks_encoded) req.blocks_encoded(std::exchange(out.blocks, {}));
            };
        }
        out.ev = evaluate_program(program, customers, parts, req.as_of, req.row_counts,
                                  req.given_fits, &carry);
        if (states) {
            counts.wait_into(now);
            if (auto why = why_rows_below_differ(rules, **req.kept, now))
                throw NotIncrementalAfterAll(*why);
        }
        for (const DataQuality& part : part_quality)
            merge_data_quality(fact_dq, part);
        clock.lap("facts, aggregates and lets");
    } catch (const NotIncrementalAfterAll& e) {
        return read_in_full(req, e.what(), out, clock, error);
    } catch (const SQLite::Exception& e) {
        error = "cannot read " + reading + " from '" + data.getFilename() + "': " + e.what();
        return false;
    }

    // What the fact rows left out, over every row at or below the watermarks: this run's rows,
    // and for an incremental run the kept ones too (the rows of customers who left the base
    // are now rows without a customer, as a full run would find them).
    const KeptState* kept = states ? &**req.kept : nullptr;
    std::vector<int64_t> orphans(program.facts.size(), 0);
    std::vector<int64_t> keyless(program.facts.size(), 0);  // of the orphans
    // Rows of customers source.since leaves out: not orphans, but no placed customer's either.
    std::vector<int64_t> left_out(program.facts.size(), 0);
    auto rows_in = [](const std::map<std::string, size_t>& by_fact, const std::string& name) {
        const auto it = by_fact.find(name);
        return it == by_fact.end() ? int64_t{0} : static_cast<int64_t>(it->second);
    };
    for (size_t f = 0; f < program.facts.size(); ++f) {
        orphans[f] = rows_in(fact_dq.orphan_fact_rows, program.facts[f].name);
        keyless[f] = rows_in(fact_dq.keyless_fact_rows, program.facts[f].name);
        left_out[f] = rows_in(fact_dq.left_out_fact_rows, program.facts[f].name);
        if (kept) {
            orphans[f] += kept->facts[f].orphan_rows - kept->facts[f].left_out_rows;
            keyless[f] += kept->facts[f].keyless_rows;
            left_out[f] += kept->facts[f].left_out_rows;
        }
    }
    for (const std::string_view s : dropped) {
        AggregateComputer scratch(program, 1, req.as_of);
        scratch.count_customer_rows();
        ByteReader r(s);
        if (!scratch.load_customer(0, r))
            return read_in_full(req,
                                "the kept aggregate state of a customer who left the base (table "
                                "'strata_aggregate_blocks') does not decode",
                                out, clock, error);
        for (size_t f = 0; f < program.facts.size(); ++f)
            orphans[f] += scratch.rows_of(0, static_cast<int>(f)).read;
    }
    if (kept) {
        // The kept rows came first: their first bad value is the sample, as in a full run.
        DataQuality below;
        below.unconvertible = kept->unconvertible;
        merge_data_quality(below, fact_dq);
        fact_dq.unconvertible = std::move(below.unconvertible);
        fact_dq.orphan_fact_rows.clear();
        fact_dq.left_out_fact_rows.clear();
        for (size_t f = 0; f < program.facts.size(); ++f) {
            if (orphans[f] > 0)
                fact_dq.orphan_fact_rows[program.facts[f].name] = static_cast<size_t>(orphans[f]);
            if (left_out[f] > 0)
                fact_dq.left_out_fact_rows[program.facts[f].name] =
                    static_cast<size_t>(left_out[f]);
        }
    }
    merge_data_quality(dq, fact_dq);
    for (size_t f = 0; f < program.facts.size(); ++f) {
        const std::string& name = program.facts[f].name;
        const auto future =
            kept ? static_cast<size_t>(totals[f].future) : out.ev.future_fact_rows[f];
        const auto unknown =
            kept ? static_cast<size_t>(totals[f].unknown_time) : out.ev.unknown_time_fact_rows[f];
        if (future > 0) dq.future_fact_rows[name] = future;
        if (unknown > 0) dq.unknown_time_fact_rows[name] = unknown;
    }
    if (!tracking) return true;

    // The watermarks this run leaves, and what it read.
    out.kept.customers = static_cast<int64_t>(customers.rows);
    out.kept.left_out_digest = left_out_now;
    out.kept.unconvertible = fact_dq.unconvertible;
    for (size_t f = 0; f < program.facts.size(); ++f) {
        FactWatermark w;
        w.fact = program.facts[f].name;
        w.table = program.facts[f].table;
        w.has_rowid = now[f].has_rowid;
        w.max_rowid = now[f].max_rowid;
        w.rows = totals[f].read + orphans[f] + left_out[f];
        if (bounded[f]) {
            w.watch_changes = now[f].watch->changes;
            if (f < req.watch_tokens.size() && req.watch_tokens[f] != 0)
                w.watch_token = req.watch_tokens[f];
        }
        w.future_rows = totals[f].future;
        w.earliest_future =
            earliest_future_day(kept ? &kept->facts[f] : nullptr,
                                out.ev.earliest_future_fact_days.at(f), w.future_rows);
        w.unknown_time_rows = totals[f].unknown_time;
        w.orphan_rows = orphans[f] + left_out[f];  // as the incremental rules count them
        w.keyless_rows = keyless[f];
        w.left_out_rows = left_out[f];
        w.definition = now[f].definition;
        if (out.incremental)
            out.incremental->facts[f].rows_read = w.rows - (kept ? kept->facts[f].rows : 0);
        out.kept.facts.push_back(std::move(w));
    }
    return true;
}

}  // namespace strata
