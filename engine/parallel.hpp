// Work split over the machine's two cores. Results never depend on the split: each task
// writes only its own slot, and callers combine slots in index order. Helper threads intern
// into the caller's value pool (engine/value_pool.hpp).
#pragma once

#include <cstddef>
#include <future>
#include <vector>

#include "engine/value_pool.hpp"

namespace strata {

// Set on a thread while it does work known to be small (one customer evaluated alone): the
// functions below then run every task on the calling thread, in order, since starting a
// thread costs more than such work. Set for a scope with OnThisThread.
inline thread_local bool small_work_on_this_thread = false;

class OnThisThread {
  public:
    OnThisThread() : saved_(small_work_on_this_thread) { small_work_on_this_thread = true; }
    ~OnThisThread() { small_work_on_this_thread = saved_; }
    OnThisThread(const OnThisThread&) = delete;
    OnThisThread& operator=(const OnThisThread&) = delete;

  private:
    bool saved_;
};

// Runs task(i) for every i < n: even i on this thread, odd i on a helper thread. Returns
// when all are done; rethrows what a task threw (the helper is joined first either way).
template <typename Task>
void for_each_on_two_threads(size_t n, Task task) {
    if (n < 2 || small_work_on_this_thread) {
        for (size_t i = 0; i < n; ++i)
            task(i);
        return;
    }
    auto stride = [&task, n](size_t first) {
        for (size_t i = first; i < n; i += 2)
            task(i);
    };
    auto helper = start_pooled_async(stride, size_t{1});
    try {
        stride(0);
    } catch (...) {
        helper.wait();
        throw;
    }
    helper.get();
}

// Runs task(i) for every i < n, each on a thread of its own: i = 0 on this one, the others
// on helpers. Returns when all are done; rethrows what a task threw (helpers are joined
// first either way).
template <typename Task>
void for_each_on_own_thread(size_t n, Task task) {
    if (small_work_on_this_thread) {
        for (size_t i = 0; i < n; ++i)
            task(i);
        return;
    }
    std::vector<std::future<void>> helpers;
    for (size_t i = 1; i < n; ++i)
        helpers.push_back(start_pooled_async(task, i));
    try {
        if (n > 0) task(size_t{0});
    } catch (...) {
        for (auto& h : helpers)
            h.wait();
        throw;
    }
    for (auto& h : helpers)
        h.get();
}

}  // namespace strata
