#include "engine/chunk_exchange.hpp"

namespace strata {

ChunkExchange::ChunkExchange(size_t threads)
    : inbox_(threads), spare_(threads), reading_(threads) {}

std::shared_ptr<ChunkExchange::Shared> ChunkExchange::take(size_t t) {
    if (inbox_[t].empty()) return nullptr;
    std::shared_ptr<Shared> shared = std::move(inbox_[t].front());
    inbox_[t].pop_front();
    changed_.notify_all();  // room in t's inbox
    return shared;
}

void ChunkExchange::work_on(std::unique_lock<std::mutex>& lock, std::shared_ptr<Shared> shared,
                            const Work& work) {
    lock.unlock();
    work(shared->chunk);
    lock.lock();
    if (--shared->pending == 0) spare_[shared->reader].push_back(std::move(shared->chunk));
}

void ChunkExchange::post(size_t t, FactChunk& chunk, const Work& work) {
    std::unique_lock lock(mutex_);
    if (failed_) throw Stopped{};
    const size_t threads = inbox_.size();
    auto shared = std::make_shared<Shared>();
    shared->chunk = std::move(chunk);
    shared->reader = t;
    shared->pending = threads - 1;
    for (size_t u = 0; u < threads; ++u) {
        if (u == t) continue;
        // Room in u's inbox, or work from t's own while there is none.
        for (;;) {
            if (failed_) throw Stopped{};
            if (inbox_[u].size() < kInboxDepth) break;
            if (auto mine = take(t)) {
                work_on(lock, std::move(mine), work);
                continue;
            }
            changed_.wait(lock);
        }
        inbox_[u].push_back(shared);
        changed_.notify_all();
    }
    if (threads == 1) spare_[t].push_back(std::move(shared->chunk));
    // What the others handed t meanwhile, without waiting for more: no more than is there
    // now, so that a thread whose inbox is kept full still gets back to its own reading.
    for (size_t waiting = inbox_[t].size(); waiting > 0; --waiting) {
        auto mine = take(t);
        if (!mine) break;
        work_on(lock, std::move(mine), work);
    }
    if (failed_) throw Stopped{};
    chunk = FactChunk{};
    if (!spare_[t].empty()) {
        chunk = std::move(spare_[t].back());
        spare_[t].pop_back();
    }
}

void ChunkExchange::finish(size_t t, const Work& work) {
    std::unique_lock lock(mutex_);
    --reading_;
    changed_.notify_all();
    for (;;) {
        if (failed_) throw Stopped{};
        if (auto mine = take(t)) {
            work_on(lock, std::move(mine), work);
            continue;
        }
        // Nothing waiting: done once no thread is still reading (each hands its chunks out
        // before it stops reading, so none can come after that).
        if (reading_ == 0) return;
        changed_.wait(lock);
    }
}

void ChunkExchange::fail() {
    std::lock_guard lock(mutex_);
    failed_ = true;
    changed_.notify_all();
}

}  // namespace strata
