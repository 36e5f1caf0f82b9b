#include "engine/value_pool.hpp"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace strata {

namespace {

// The pools' serials. Only a counter: it hands out identities and holds no values.
std::atomic<uint64_t> next_pool_serial{1};

thread_local ValuePool* current_pool = nullptr;

[[noreturn]] void no_pool(const char* what) {
    throw std::logic_error(std::string(what) +
                           " with no ValuePool in scope on this thread (engine/value_pool.hpp)");
}

// a == b, comparing texts of 4 to 16 bytes with at most four word loads, all inside both
// texts (the usual category or code is that short), others with memcmp.
bool same_bytes(std::string_view a, std::string_view b) {
    const size_t n = a.size();
    if (n != b.size()) return false;
    auto word = [](const char* p) {
        uint64_t w;
        std::memcpy(&w, p, sizeof w);
        return w;
    };
    auto half = [](const char* p) {
        uint32_t w;
        std::memcpy(&w, p, sizeof w);
        return w;
    };
    if (n >= 8 && n <= 16)  // the first and the last eight bytes cover it
        return word(a.data()) == word(b.data()) && word(a.data() + n - 8) == word(b.data() + n - 8);
    if (n >= 4 && n < 8)
        return half(a.data()) == half(b.data()) && half(a.data() + n - 4) == half(b.data() + n - 4);
    return std::memcmp(a.data(), b.data(), n) == 0;
}

// Eight bytes at a time, each word mixed in with a multiply.
uint64_t text_hash(std::string_view text) {
    uint64_t hash = 0x9E3779B97F4A7C15ull ^ text.size();
    size_t at = 0;
    for (; at + 8 <= text.size(); at += 8) {
        uint64_t word;
        std::memcpy(&word, text.data() + at, 8);
        hash = (hash ^ word) * 0xFF51AFD7ED558CCDull;
        hash ^= hash >> 32;
    }
    if (at < text.size()) {
        uint64_t word = 0;
        std::memcpy(&word, text.data() + at, text.size() - at);
        hash = (hash ^ word) * 0xFF51AFD7ED558CCDull;
        hash ^= hash >> 32;
    }
    return hash;
}

}  // namespace

ValuePool::ValuePool() : serial_(next_pool_serial.fetch_add(1, std::memory_order_relaxed)) {}

ValuePool::~ValuePool() = default;

Str ValuePool::intern(std::string_view text) {
    std::lock_guard lock(texts_mutex_);
    return Str{&*texts_.emplace(text).first};
}

RecordPtr ValuePool::make_record(std::initializer_list<Value> fields) {
    std::lock_guard lock(records_mutex_);
    RecordValue& r = records_.emplace_back();
    size_t i = 0;
    for (const auto& f : fields)
        r.fields[i++] = f;
    r.size = i;
    return &r;
}

bool ValuePool::owns(Str s) const {
    if (!s.p) return false;
    std::lock_guard lock(texts_mutex_);
    const auto it = texts_.find(*s.p);
    return it != texts_.end() && &*it == s.p;
}

bool ValuePool::owns(RecordPtr r) const {
    std::lock_guard lock(records_mutex_);
    for (const RecordValue& mine : records_)
        if (&mine == r) return true;
    return false;
}

size_t ValuePool::text_count() const {
    std::lock_guard lock(texts_mutex_);
    return texts_.size();
}

size_t ValuePool::record_count() const {
    std::lock_guard lock(records_mutex_);
    return records_.size();
}

ValuePool* current_value_pool() {
    return current_pool;
}

ValuePoolScope::ValuePoolScope(ValuePool* pool) : previous_(current_pool) {
    current_pool = pool;
}

ValuePoolScope::~ValuePoolScope() {
    current_pool = previous_;
}

Str intern(std::string_view text) {
    ValuePool* pool = current_pool;
    if (!pool) [[unlikely]]
        no_pool("intern()");
    // A small direct-mapped cache per thread in front of the pool's lock: the fact reader
    // interns on its own thread while the evaluator interns on the main one, and the lock is
    // taken only on a miss. A column's few distinct values stay in the cache. Each entry is
    // tagged with its pool's serial, which no other pool ever gets, so an entry of another
    // pool (or of a destroyed one, even if a new pool sits at the same address) never hits.
    struct Slot {
        const char* data = nullptr;
        size_t size = 0;
        const std::string* interned = nullptr;
        uint64_t pool = 0;  // serial; 0: empty
    };
    constexpr size_t kSlots = 4096;
    thread_local std::vector<Slot> cache(kSlots);
    const uint64_t serial = pool->serial();
    Slot& slot = cache[text_hash(text) & (kSlots - 1)];
    if (slot.pool == serial && same_bytes(std::string_view(slot.data, slot.size), text))
        return Str{slot.interned};
    const Str interned = pool->intern(text);
    slot = Slot{interned.p->data(), interned.p->size(), interned.p, serial};
    return interned;
}

RecordPtr make_record(std::initializer_list<Value> fields) {
    ValuePool* pool = current_pool;
    if (!pool) [[unlikely]]
        no_pool("make_record()");
    return pool->make_record(fields);
}

}  // namespace strata
