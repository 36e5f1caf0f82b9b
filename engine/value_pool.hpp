// Where interned texts and records live. A ValuePool owns them; intern() and make_record()
// (engine/value.hpp) put them in the calling thread's current pool, which a ValuePoolScope
// sets. Nothing is process-wide: a pool's texts and records are freed when it is destroyed,
// so a long-lived service gives each evaluation (or each engine) a pool of its own.
//
// Lifetime: a Value holding a Str or a RecordPtr points into the pool that was current when
// it was made, and so does everything built of such values (a CustomerTable, an Evaluation,
// a RunReport's membership keys, population fits and outbox rows, a rule test's expected
// rows). Whoever owns the pool keeps it alive as long as any of them: in the CLI the pool
// of the command (cli/app.cpp, run_main) outlives everything the command makes; in the test
// suite each test case has one (tests/main_test.cpp). A compiled rule file (dsl/) holds no
// values, so one compiled file may be evaluated under any number of pools.
//
// No pool in scope: intern() and make_record() throw std::logic_error. There is no hidden
// process-wide default to fall back on; a thread that interns must have been given a pool
// (a scope of its own, or started by start_pooled_thread / start_pooled_async below).
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>

#include "engine/value.hpp"

namespace strata {

// Interned texts and records. Thread-safe: several threads may intern into one pool at once
// (the fact readers and the evaluator do). Neither copied nor moved: values point into it.
class ValuePool {
  public:
    ValuePool();
    ~ValuePool();
    ValuePool(const ValuePool&) = delete;
    ValuePool& operator=(const ValuePool&) = delete;

    // The pool's one copy of `text`, added on first use. Takes the pool's lock every time:
    // the free intern() puts a per-thread cache in front of it.
    Str intern(std::string_view text);

    // A new record with the given fields (at most RecordValue::kMaxFields).
    RecordPtr make_record(std::initializer_list<Value> fields);

    // Whether the text or record was made by this pool. The record test is linear: for tests
    // and assertions.
    bool owns(Str s) const;
    bool owns(RecordPtr r) const;

    size_t text_count() const;
    size_t record_count() const;

    // Identifies this pool for as long as the process runs: taken from a counter at
    // construction and never given to another pool, even one later built at the same
    // address (the per-thread cache tags its entries with it). Never 0.
    uint64_t serial() const { return serial_; }

  private:
    const uint64_t serial_;
    mutable std::mutex texts_mutex_;
    std::unordered_set<std::string> texts_;
    mutable std::mutex records_mutex_;
    std::deque<RecordValue> records_;  // a deque: records never move once made
};

// The calling thread's current pool, or null when none is in scope.
ValuePool* current_value_pool();

// Makes `pool` the calling thread's current pool until the scope ends, then restores the one
// before it (scopes nest). A null pool means none is in scope (a thread started from one
// without a pool). Destroy it on the thread that made it.
class ValuePoolScope {
  public:
    explicit ValuePoolScope(ValuePool& pool) : ValuePoolScope(&pool) {}
    explicit ValuePoolScope(ValuePool* pool);
    ~ValuePoolScope();
    ValuePoolScope(const ValuePoolScope&) = delete;
    ValuePoolScope& operator=(const ValuePoolScope&) = delete;

  private:
    ValuePool* previous_;
};

// `f` wrapped so that, wherever it is called, it runs with the pool that was current where
// it was wrapped. Every thread strata starts runs its work through this (usually through the
// two starters below), so what the thread interns lands in its caller's pool. The caller
// keeps the pool alive until the thread is joined.
template <typename F>
auto in_current_pool(F f) {
    return
        [pool = current_value_pool(), f = std::move(f)](auto&&... args) mutable -> decltype(auto) {
            ValuePoolScope scope(pool);
            return f(std::forward<decltype(args)>(args)...);
        };
}

// std::thread(f, args...) in the caller's pool.
template <typename F, typename... Args>
std::thread start_pooled_thread(F f, Args... args) {
    return std::thread(in_current_pool(std::move(f)), std::move(args)...);
}

// std::async(std::launch::async, f, args...) in the caller's pool.
template <typename F, typename... Args>
auto start_pooled_async(F f, Args... args) {
    return std::async(std::launch::async, in_current_pool(std::move(f)), std::move(args)...);
}

}  // namespace strata
