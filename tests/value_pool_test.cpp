// Value pools (engine/value_pool.hpp): texts and records belong to a pool, not to the
// process; the per-thread cache never hands out another pool's pointer; threads the engine
// starts intern into their caller's pool; a destroyed pool's memory is freed.
#include <doctest/doctest.h>
#include <malloc.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/parallel.hpp"
#include "engine/value_pool.hpp"

using strata::intern;
using strata::make_record;
using strata::Str;
using strata::ValuePool;
using strata::ValuePoolScope;

TEST_CASE("two pools give the same text different pointers, each its own") {
    ValuePool a, b;
    Str in_a, in_b;
    {
        ValuePoolScope scope(a);
        in_a = intern("gold");
        CHECK(intern(std::string("go") + "ld") == in_a);  // one copy per pool
    }
    {
        ValuePoolScope scope(b);
        in_b = intern("gold");
    }
    CHECK(in_a.p != in_b.p);
    CHECK(in_a.str() == "gold");
    CHECK(in_b.str() == "gold");
    CHECK(a.owns(in_a));
    CHECK_FALSE(a.owns(in_b));
    CHECK(b.owns(in_b));
    CHECK_FALSE(b.owns(in_a));
    CHECK(a.text_count() == 1);
    CHECK(b.text_count() == 1);
    CHECK(a.serial() != b.serial());
}

TEST_CASE("a value pool scope nests and restores the pool before it") {
    ValuePool* outer = strata::current_value_pool();
    REQUIRE(outer != nullptr);  // the test suite gives every test case one
    ValuePool inner;
    {
        ValuePoolScope scope(inner);
        CHECK(strata::current_value_pool() == &inner);
        CHECK(inner.owns(intern("nested")));
        CHECK(inner.owns(make_record({int64_t{1}, intern("x")})));
        CHECK(inner.record_count() == 1);
    }
    CHECK(strata::current_value_pool() == outer);
    CHECK_FALSE(inner.owns(intern("nested")));
    CHECK(outer->owns(intern("nested")));
}

TEST_CASE("interning without a pool in scope is a clear error") {
    ValuePoolScope none(nullptr);
    CHECK(strata::current_value_pool() == nullptr);
    CHECK_THROWS_AS(intern("orphan"), std::logic_error);
    CHECK_THROWS_AS(make_record({int64_t{1}}), std::logic_error);
}

TEST_CASE("a pool made where a destroyed one was never gets the old pool's cached pointers") {
    // std::optional rebuilds the pool at the same address each time, which a cache keyed by
    // the pool's address would mistake for the old one.
    std::optional<ValuePool> pool;
    std::vector<std::string> texts;
    for (int i = 0; i < 50; ++i)
        texts.push_back("customer-" + std::to_string(i * 7919));
    uint64_t last_serial = 0;
    for (int round = 0; round < 5; ++round) {
        pool.emplace();
        CHECK(pool->serial() != last_serial);
        last_serial = pool->serial();
        ValuePoolScope scope(*pool);
        for (const auto& text : texts) {
            const Str s = intern(text);
            REQUIRE(pool->owns(s));
            CHECK(s.str() == text);
            CHECK(intern(text) == s);  // now from the cache
        }
        CHECK(pool->text_count() == texts.size());
    }
}

TEST_CASE("threads started through parallel.hpp intern into the caller's pool") {
    ValuePool pool;
    ValuePoolScope scope(pool);
    const std::thread::id caller = std::this_thread::get_id();

    std::vector<Str> texts(8);
    std::vector<strata::RecordPtr> records(8);
    std::vector<std::thread::id> ran_on(8);
    auto task = [&](size_t i) {
        ran_on[i] = std::this_thread::get_id();
        texts[i] = intern("text-" + std::to_string(i));
        records[i] = make_record({static_cast<int64_t>(i)});
    };
    SUBCASE("two threads") {
        strata::for_each_on_two_threads(texts.size(), task);
    }
    SUBCASE("a thread each") {
        strata::for_each_on_own_thread(texts.size(), task);
    }
    size_t on_helpers = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
        CHECK(pool.owns(texts[i]));
        CHECK(pool.owns(records[i]));
        CHECK(texts[i].str() == "text-" + std::to_string(i));
        if (ran_on[i] != caller) ++on_helpers;
    }
    CHECK(on_helpers > 0);
    CHECK(pool.text_count() == texts.size());
    CHECK(pool.record_count() == records.size());

    // The starters for any other thread do the same.
    Str from_thread;
    std::thread t = strata::start_pooled_thread([&] { from_thread = intern("from a thread"); });
    t.join();
    CHECK(pool.owns(from_thread));
    auto done = strata::start_pooled_async([] { return intern("from async"); });
    CHECK(pool.owns(done.get()));
}

TEST_CASE("several threads interning into one pool at once agree on every text") {
    ValuePool pool;
    ValuePoolScope scope(pool);
    constexpr size_t kTexts = 2000;
    std::vector<std::vector<Str>> seen(4, std::vector<Str>(kTexts));
    strata::for_each_on_own_thread(seen.size(), [&](size_t t) {
        for (size_t i = 0; i < kTexts; ++i) {
            const size_t n = t % 2 ? kTexts - 1 - i : i;  // half of them backwards
            seen[t][n] = intern("value " + std::to_string(n));
        }
    });
    CHECK(pool.text_count() == kTexts);
    for (size_t t = 1; t < seen.size(); ++t)
        CHECK(seen[t] == seen[0]);
}

TEST_CASE("a destroyed pool's texts and records are freed") {
    constexpr size_t kTexts = 20000;
    const std::string padding(100, '.');
    const size_t before = mallinfo2().uordblks;
    size_t while_full = 0;
    {
        ValuePool pool;
        ValuePoolScope scope(pool);
        for (size_t i = 0; i < kTexts; ++i) {
            intern(padding + std::to_string(i));
            make_record({static_cast<int64_t>(i)});
        }
        CHECK(pool.text_count() == kTexts);
        CHECK(pool.record_count() == kTexts);
        while_full = mallinfo2().uordblks;
    }
    // Nothing went anywhere else: a new pool starts empty.
    ValuePool fresh;
    CHECK(fresh.text_count() == 0);
    CHECK(fresh.record_count() == 0);
    const size_t after = mallinfo2().uordblks;
    // Under a sanitizer malloc's counters may not move; the leak checker covers that build.
    if (while_full > before + kTexts * 100) {
        const size_t grew = while_full - before;
        CHECK_MESSAGE(after < before + grew / 10,
                      "in use before " << before << ", full " << while_full << ", after " << after);
    }
}
