#include "engine/program.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/chunk_exchange.hpp"
#include "engine/parallel.hpp"
#include "engine/value_pool.hpp"

namespace strata {

namespace {

// Reads a fact source on a second thread while the caller aggregates: the two halves of the
// fact pass (SQLite decoding, evaluation) overlap on the machine's two cores. Chunks arrive
// in the order they were read, so results do not depend on timing.
class Prefetcher {
  public:
    explicit Prefetcher(FactSource& source)
        : source_(source), thread_(start_pooled_thread([this] { produce(); })) {}

    ~Prefetcher() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }

    // The next chunk, or false at the end. Rethrows what the reader threw. The chunk passed
    // in goes back to the reader to be refilled, so buffers are reused, not reallocated.
    bool next(FactChunk& chunk) {
        std::unique_lock lock(mutex_);
        if (chunk.columns.size() > 0 && spare_.size() < kDepth) spare_.push_back(std::move(chunk));
        changed_.wait(lock, [this] { return !ready_.empty() || done_; });
        if (ready_.empty()) {
            if (error_) std::rethrow_exception(error_);
            return false;
        }
        chunk = std::move(ready_.front());
        ready_.pop_front();
        changed_.notify_all();
        return true;
    }

  private:
    static constexpr size_t kDepth = 4;  // chunks read ahead
    struct Stopped {};                   // thrown to end the read when the consumer is gone

    void produce() {
        try {
            source_.read([this](FactChunk& chunk) {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [this] { return ready_.size() < kDepth || stopping_; });
                if (stopping_) throw Stopped{};
                ready_.push_back(std::move(chunk));
                chunk = FactChunk{};
                if (!spare_.empty()) {
                    chunk = std::move(spare_.front());
                    spare_.pop_front();
                }
                changed_.notify_all();
            });
        } catch (const Stopped&) {
        } catch (...) {
            std::lock_guard lock(mutex_);
            error_ = std::current_exception();
        }
        std::lock_guard lock(mutex_);
        done_ = true;
        changed_.notify_all();
    }

    FactSource& source_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<FactChunk> ready_;
    std::deque<FactChunk> spare_;  // consumed chunks, handed back for reuse
    bool done_ = false;
    bool stopping_ = false;
    std::exception_ptr error_;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace

void CustomerTable::pack() {
    if (!packed.empty() || columns.empty()) return;
    packed.reserve(columns.size());
    for (Column& c : columns)
        packed.push_back(PackedColumn::pack(std::move(c)));
    columns.clear();
}

Frame Evaluation::frame() const {
    Frame f;
    f.rows = customers->rows;
    f.as_of = as_of;
    f.keys = &customers->keys;
    f.fits = fits.get();
    if (customers->packed.empty()) {
        for (const auto& c : customer_columns)
            f.columns.push_back(&c);
    } else {
        for (const auto& c : customers->packed)
            f.columns.push_back(&c);
    }
    for (const auto& c : lets)
        f.lets.push_back(c.get());
    for (const auto& c : aggregates)
        f.aggregates.push_back(c.get());
    return f;
}

Evaluation evaluate_program(const bound::Program& program, const CustomerTable& customers,
                            const std::vector<FactParts>& facts, Date as_of,
                            AggregateRowCounts* row_counts, const PopulationFits* given_fits,
                            const AggregateCarry* carry) {
    Evaluation ev;
    if (given_fits) ev.fits = std::make_shared<PopulationFits>(*given_fits);
    ev.customers = &customers;
    for (const Column& c : customers.columns)
        ev.customer_columns.push_back(PackedColumn::borrow(&c));
    ev.as_of = as_of;
    // One aggregate state for the whole base, split into a window of customers per part read
    // at once (the most parts of any fact table): each part's thread aggregates every chunk
    // read, its own and the others', for its own window's customers (engine/chunk_exchange.hpp).
    size_t windows = 1;
    for (const FactParts& parts : facts) {
        if (parts.size() > 1 && !small_work_on_this_thread)
            windows = std::max(windows, parts.size());
    }
    // Kept states are seeded a window at a time, on two threads.
    if (carry && carry->seed && !small_work_on_this_thread) windows = std::max<size_t>(windows, 2);
    AggregateComputer total(program, customers.rows, as_of, windows);
    if (row_counts) total.count_rows();
    if (carry && carry->count_customer_rows) total.count_customer_rows();
    if (carry && carry->seed) {
        carry->seed(total);
        spdlog::debug("kept aggregate states seeded");
    }
    for (size_t f = 0; f < program.facts.size(); ++f) {
        const FactParts& parts = facts.at(f);
        const int fact = static_cast<int>(f);
        if (parts.size() == 1 && parts[0]->read_inline()) {
            parts[0]->read([&](FactChunk& chunk) { total.add(fact, chunk); });
            continue;
        }
        if (parts.size() == 1) {
            // One part: it is read on a second thread while this one aggregates.
            Prefetcher reader(*parts[0]);
            FactChunk chunk;
            while (reader.next(chunk))
                total.add(fact, chunk);
            continue;
        }
        if (small_work_on_this_thread || parts.size() != total.windows()) {
            // Parts read one after another on this thread (small work, or a table read in
            // fewer parts than another).
            for (const auto& part : parts)
                part->read([&](FactChunk& chunk) { total.add(fact, chunk); });
            continue;
        }
        // Several parts: each is read on its own thread, which aggregates for its window.
        ChunkExchange exchange(parts.size());
        auto aggregate_part = [&](size_t p) {
            const ChunkExchange::Work work = [&total, fact, p](const FactChunk& chunk) {
                total.add(fact, chunk, p);
            };
            try {
                parts[p]->read([&](FactChunk& chunk) {
                    work(chunk);
                    exchange.post(p, chunk, work);
                });
                exchange.finish(p, work);
            } catch (const ChunkExchange::Stopped&) {
                // Another thread failed; its error is the one reported.
            } catch (...) {
                exchange.fail();
                throw;
            }
        };
        for_each_on_own_thread(parts.size(), aggregate_part);
    }
    spdlog::debug("fact scan done");
    if (carry && carry->keep) {
        carry->keep(total);
        spdlog::debug("aggregate states encoded");
    }
    for (PackedColumn& column : total.finish())
        ev.aggregates.push_back(std::make_shared<const PackedColumn>(std::move(column)));
    if (row_counts) *row_counts = total.take_row_counts();
    spdlog::debug("fact pass and aggregates done");
    ev.future_fact_rows = total.future_rows();
    ev.earliest_future_fact_days = total.earliest_future_days();
    ev.unknown_time_fact_rows = total.unknown_time_rows();
    // The per-customer states (64 bytes a customer for the benchmark's rules) were freed by
    // finish(), before the lets and population fits.
    // Each let sees the ones before it: the binder ordered them dependencies first.
    ev.lets.reserve(program.lets.size());
    for (const auto& let : program.lets) {
        // A let that names an aggregate or an earlier let shares its column.
        if (const auto* agg = std::get_if<bound::AggregateRef>(&let.expr->node)) {
            ev.lets.push_back(ev.aggregates.at(static_cast<size_t>(agg->index)));
        } else if (const auto* other = std::get_if<bound::LetRef>(&let.expr->node)) {
            ev.lets.push_back(ev.lets.at(static_cast<size_t>(other->index)));
        } else {
            const Frame f = ev.frame();
            ev.lets.push_back(evaluate_packed(*let.expr, f));
        }
        spdlog::debug("let {} done", let.name);
    }
    return ev;
}

}  // namespace strata
