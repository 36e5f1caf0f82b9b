// Fact chunks shared by the threads of a fact pass. Each thread reads its own part of a fact
// table and owns one window of the customers (AggregateComputer's windows): every chunk any
// thread reads is aggregated by every thread, each for its own window's customers. So the
// whole base has one aggregate state however many parts are read at once (a state per part,
// merged afterwards, held the base's state once per part: 640 MB more at 10M customers).
// Internal to the engine.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/aggregates.hpp"

namespace strata {

class ChunkExchange {
  public:
    // What a thread does with a chunk: aggregate it for its window.
    using Work = std::function<void(const FactChunk&)>;

    // Thrown by post() and finish() on the other threads once one has failed: the thread
    // stops, and the failure that caused it is the one to report.
    struct Stopped {};

    // REQUIRES: each of `threads` threads calls finish() or fail() once, whatever happens.
    explicit ChunkExchange(size_t threads);

    // Thread t has read `chunk` and aggregated it: hands it to every other thread, and
    // replaces it with a chunk every thread is done with (one of t's, to be refilled), or an
    // empty one. Then does the work of what the others had handed t by then. While another
    // thread's inbox is full, t works through its own, so no two threads wait for each other.
    void post(size_t t, FactChunk& chunk, const Work& work);

    // Thread t has read its part: it works through what the others hand it until every
    // thread has read its part and handed it all.
    void finish(size_t t, const Work& work);

    // A thread failed: every thread waiting in post() or finish() throws Stopped.
    void fail();

  private:
    static constexpr size_t kInboxDepth = 4;  // chunks waiting for a thread, at most

    struct Shared {
        FactChunk chunk;
        size_t reader = 0;   // the thread that read it, to which it goes back
        size_t pending = 0;  // threads still to work on it (guarded by mutex_)
    };

    // Takes the first chunk of t's inbox, or null when there is none. REQUIRES: lock held.
    std::shared_ptr<Shared> take(size_t t);
    // Works on a chunk taken from t's inbox (without the lock), then hands it back to its
    // reader once every thread is done with it.
    void work_on(std::unique_lock<std::mutex>& lock, std::shared_ptr<Shared> shared,
                 const Work& work);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::deque<std::shared_ptr<Shared>>> inbox_;  // per thread
    std::vector<std::vector<FactChunk>> spare_;               // per reader: chunks done with
    size_t reading_;                                          // threads still reading
    bool failed_ = false;
};

}  // namespace strata
