// The library call's latency: Engine::evaluate over random customers of a base, after a
// stored run. Prints one JSON object: samples, p50/p99/max in microseconds, and the share of
// calls that failed (none expected). Not run by the tests; bench/latency.py drives it.
//
//   strata_eval_latency RULES DB [--state STATE] [--samples 10000] [--seed 1]
//                       [--threads 1]
//
// Keys are drawn (fixed seed) from the customer table's integer keys between the smallest
// and the largest, so the bench needs no SQLite of its own: a key that is not a customer is
// drawn again.
#include <strata/strata.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Times `samples` runs of a fixed amount of arithmetic that takes about `micros` on this
// machine when nothing disturbs it; returns their times, sorted.
static std::vector<double> steady_work_micros(double micros, size_t samples) {
    volatile uint64_t sink = 0;
    auto work = [&](uint64_t steps) {
        uint64_t x = 88172645463325252ull;
        for (uint64_t i = 0; i < steps; ++i) {  // xorshift: nothing to optimise away
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        sink = sink + x;
    };
    auto time_of = [&](uint64_t steps) {
        const auto start = std::chrono::steady_clock::now();
        work(steps);
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count();
    };
    // Calibrated on the fastest of a few runs of a million steps.
    double best = 1e18;
    for (int i = 0; i < 20; ++i)
        best = std::min(best, time_of(1'000'000));
    const auto steps = static_cast<uint64_t>(micros / best * 1'000'000);
    std::vector<double> out(samples);
    for (double& t : out)
        t = time_of(steps);
    std::sort(out.begin(), out.end());
    return out;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: %s RULES DB [--state STATE] [--samples N] [--seed S] [--threads T] "
                     "[--max-key K]\n",
                     argv[0]);
        return 2;
    }
    strata::EngineOptions options;
    options.rules_path = argv[1];
    options.db_path = argv[2];
    size_t samples = 10000;
    unsigned seed = 1;
    size_t threads = 1;
    long long max_key = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--state") options.state_path = argv[i + 1];
        if (flag == "--samples") samples = std::strtoull(argv[i + 1], nullptr, 10);
        if (flag == "--seed") seed = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
        if (flag == "--threads") threads = std::strtoull(argv[i + 1], nullptr, 10);
        if (flag == "--max-key") max_key = std::strtoll(argv[i + 1], nullptr, 10);
    }
    auto engine = strata::Engine::open(options);
    if (!engine) {
        std::fprintf(stderr, "%s\n", engine.error().message.c_str());
        return engine.error().exit_code();
    }
    if (samples == 0) {
        std::fprintf(stderr, "give --samples 1 or more\n");
        return 2;
    }
    if (max_key <= 0) {
        std::fprintf(stderr, "give --max-key: the largest integer customer key\n");
        return 2;
    }
    // The keys first (customers only), so that the timed loop does nothing else.
    std::mt19937_64 random(seed);
    std::uniform_int_distribution<long long> draw(1, max_key);
    std::vector<std::string> keys;
    while (keys.size() < samples + 100) {
        std::string key = std::to_string(draw(random));
        if (engine->evaluate(key).ok()) keys.push_back(std::move(key));
    }
    std::vector<double> micros(samples);
    size_t failed = 0;
    auto time_range = [&](size_t from, size_t to) {
        size_t bad = 0;
        for (size_t i = from; i < to; ++i) {
            const auto start = std::chrono::steady_clock::now();
            const bool ok = engine->evaluate(keys[100 + i]).ok();
            micros[i] =
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                    .count();
            bad += !ok;
        }
        return bad;
    };
    for (size_t i = 0; i < 100; ++i)  // warm-up: every pooled connection prepared
        (void)engine->evaluate(keys[i]);
    // For a driver that starts other work beside the timed calls (bench/serving.py).
    std::fprintf(stderr, "timing %zu calls\n", samples);
    std::fflush(stderr);
    if (threads <= 1) {
        failed = time_range(0, samples);
    } else {
        std::vector<std::thread> pool;
        std::vector<size_t> bad(threads, 0);
        for (size_t t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                bad[t] = time_range(samples * t / threads, samples * (t + 1) / threads);
            });
        for (auto& t : pool)
            t.join();
        for (size_t b : bad)
            failed += b;
    }
    std::vector<double> sorted = micros;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
        return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))];
    };
    double total = 0;
    for (double m : micros)
        total += m;
    // The machine's own spread: plain arithmetic as long as the median call, timed as many
    // times, one after another on this thread, after the calls. Its p99 is what the machine
    // alone adds to a call that long.
    const std::vector<double> steady = steady_work_micros(at(0.50), samples);
    std::printf(
        "{\"samples\":%zu,\"threads\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
        "\"mean_us\":%.1f,\"failed\":%zu,\"steady_p50_us\":%.1f,\"steady_p99_us\":%.1f}\n",
        samples, threads, at(0.50), at(0.99), sorted.back(), total / samples, failed,
        steady[steady.size() / 2],
        steady[std::min(steady.size() - 1, static_cast<size_t>(0.99 * steady.size()))]);
    return failed == 0 ? 0 : 1;
}
