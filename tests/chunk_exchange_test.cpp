// The fact pass's chunk exchange (engine/chunk_exchange.hpp): every chunk a thread reads
// reaches every other thread exactly once, small inboxes never make two threads wait for each
// other, and a thread that fails stops the others instead of leaving them waiting.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/chunk_exchange.hpp"

namespace {

// A chunk that says who read it and which of theirs it is.
strata::FactChunk labelled(size_t reader, size_t n) {
    strata::FactChunk chunk;
    chunk.rows = 1;
    chunk.owner = {static_cast<int64_t>(reader * 1'000'000 + n)};
    return chunk;
}

}  // namespace

TEST_CASE("every chunk read reaches every other thread once, however the reads interleave") {
    for (const size_t threads : {size_t{2}, size_t{3}}) {
        INFO(threads, " threads");
        constexpr size_t kChunks = 500;  // per thread: far more than the inboxes hold
        strata::ChunkExchange exchange(threads);
        std::vector<std::multiset<int64_t>> seen(threads);
        std::vector<std::thread> pool;
        for (size_t t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                const strata::ChunkExchange::Work work = [&seen, t](const strata::FactChunk& c) {
                    seen[t].insert(c.owner.at(0));
                };
                for (size_t n = 0; n < kChunks; ++n) {
                    strata::FactChunk chunk = labelled(t, n);
                    work(chunk);
                    // The threads read at different speeds.
                    if ((n + t) % 7 == 0) std::this_thread::yield();
                    exchange.post(t, chunk, work);
                    CHECK(chunk.owner.size() <= 1);  // a used chunk back, or an empty one
                }
                exchange.finish(t, work);
            });
        }
        for (auto& th : pool)
            th.join();
        std::multiset<int64_t> all;
        for (size_t t = 0; t < threads; ++t)
            for (size_t n = 0; n < kChunks; ++n)
                all.insert(static_cast<int64_t>(t * 1'000'000 + n));
        for (size_t t = 0; t < threads; ++t)
            CHECK(seen[t] == all);
    }
}

TEST_CASE("a thread that fails stops the others waiting in the exchange") {
    strata::ChunkExchange exchange(2);
    std::atomic<bool> stopped{false};
    std::thread reader([&] {
        const strata::ChunkExchange::Work work = [](const strata::FactChunk&) {};
        try {
            // Reads on and on: only the other's failure can end it.
            for (size_t n = 0;; ++n) {
                strata::FactChunk chunk = labelled(0, n);
                exchange.post(0, chunk, work);
            }
        } catch (const strata::ChunkExchange::Stopped&) {
            stopped = true;
        }
    });
    // The other thread reads a few chunks, works slowly, and fails.
    const strata::ChunkExchange::Work slow = [](const strata::FactChunk&) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    };
    for (size_t n = 0; n < 20; ++n) {
        strata::FactChunk chunk = labelled(1, n);
        exchange.post(1, chunk, slow);
    }
    exchange.fail();
    reader.join();
    CHECK(stopped);
    strata::FactChunk chunk = labelled(1, 99);
    CHECK_THROWS_AS(exchange.post(1, chunk, slow), strata::ChunkExchange::Stopped);
}
