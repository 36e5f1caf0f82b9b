// The two writers a stored run keeps on threads of their own beside its main thread
// (engine/run.cpp): the membership rows handed to the state writer as they are placed, and the
// customers' kept states stored while the lets are evaluated.
#pragma once

#include <SQLiteCpp/Database.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/parallel.hpp"
#include "engine/run_state.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"

namespace strata {

// Hands membership rows to a writer thread as they are placed: the rows live in one vector
// reserved up front (so they never move), and the writer inserts each published range.
class MembershipPipe {
  public:
    MembershipPipe(RunWriter& writer, const std::vector<MembershipRow>& rows)
        : writer_(writer), rows_(rows), thread_(start_pooled_thread([this] { drain(); })) {}

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
    static constexpr size_t kMostRows = 65'536;  // rows handed to the writer at once, at most

    void drain() {
        size_t done = 0;
        while (true) {
            size_t upto = 0;
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return ready_ > done || closed_; });
                // A writer that fell behind takes the rows a block at a time: the stay changes
                // of millions of rows at once would be held whole.
                upto = std::min(ready_, done + kMostRows);
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

// Stores the customers' kept states on a thread of their own, in the run's transaction, while
// this thread finishes the aggregates and evaluates the lets: the writer's connection is not
// otherwise used until the customers are placed. Waits for the store when it goes out of scope.
class KeptBlocksStore {
  public:
    KeptBlocksStore() = default;
    KeptBlocksStore(const KeptBlocksStore&) = delete;
    KeptBlocksStore& operator=(const KeptBlocksStore&) = delete;
    ~KeptBlocksStore() {
        if (storing_.valid()) storing_.wait();
    }

    // Stores `blocks` in place of those an earlier start() stored, unless that one failed.
    // REQUIRES: nothing else uses `state` until wait() returns.
    void start(SQLite::Database& state, const std::string& ruleset,
               std::vector<std::string> blocks) {
        take_previous();
        if (failed_) return;
        storing_ = start_pooled_async([&state, ruleset, blocks = std::move(blocks)] {
            store_kept_blocks(state, ruleset, blocks);
        });
    }

    // Waits for the store; rethrows what it threw (SQLite::Exception).
    void wait() {
        take_previous();
        if (failed_) std::rethrow_exception(failed_);
    }

  private:
    void take_previous() {
        if (!storing_.valid()) return;
        try {
            storing_.get();
        } catch (...) {
            failed_ = std::current_exception();
        }
    }

    std::future<void> storing_;
    std::exception_ptr failed_;
};

}  // namespace strata
