#include "engine/bytes.hpp"

#include <bit>

namespace strata {

namespace {
enum Tag : uint8_t { kNull, kFalse, kTrue, kInt, kNumber, kText, kDate, kDateTime, kDuration };
}

uint64_t checksum64(std::string_view bytes, uint64_t seed) {
    // Four lanes of 8-byte words, each added, rotated and multiplied by odd constants (the
    // 64-bit golden ratio and a large prime), so that the lanes run side by side; then the
    // lanes, the length and the tail are mixed into one word.
    constexpr uint64_t kOdd1 = 0x9E3779B97F4A7C15ULL;
    constexpr uint64_t kOdd2 = 0xC2B2AE3D27D4EB4FULL;
    uint64_t lane[4] = {seed + kOdd1, seed ^ kOdd2, seed - kOdd1, ~seed};
    const char* p = bytes.data();
    const size_t n = bytes.size();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int l = 0; l < 4; ++l) {
            uint64_t word;
            std::memcpy(&word, p + i + 8 * l, 8);
            lane[l] = std::rotl(lane[l] + word * kOdd2, 31) * kOdd1;
        }
    }
    uint64_t h = seed ^ (static_cast<uint64_t>(n) * kOdd1);
    for (const uint64_t x : lane)
        h = std::rotl(h ^ (std::rotl(x, 17) * kOdd2), 27) * kOdd1 + kOdd2;
    for (; i < n; ++i)
        h = std::rotl(h ^ static_cast<unsigned char>(p[i]), 11) * kOdd1;
    h ^= h >> 33;
    h *= kOdd2;
    h ^= h >> 29;
    h *= kOdd1;
    h ^= h >> 32;
    return h;
}

void ByteWriter::value(const Value& v) {
    std::visit(
        [this](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>) {
                out_.push_back(static_cast<char>(x ? kTrue : kFalse));
            } else if constexpr (std::is_same_v<T, int64_t>) {
                out_.push_back(static_cast<char>(kInt));
                i64(x);
            } else if constexpr (std::is_same_v<T, double>) {
                out_.push_back(static_cast<char>(kNumber));
                f64(x);
            } else if constexpr (std::is_same_v<T, Str>) {
                out_.push_back(static_cast<char>(kText));
                text(x.str());
            } else if constexpr (std::is_same_v<T, Date>) {
                out_.push_back(static_cast<char>(kDate));
                i64(x.days);
            } else if constexpr (std::is_same_v<T, DateTime>) {
                out_.push_back(static_cast<char>(kDateTime));
                i64(x.seconds);
            } else if constexpr (std::is_same_v<T, Duration>) {
                out_.push_back(static_cast<char>(kDuration));
                i64(x.months);
                i64(x.days);
            } else {  // null, and records (never kept: they are recomputed)
                out_.push_back(static_cast<char>(kNull));
            }
        },
        v);
}

Value ByteReader::value() {
    if (at_ >= in_.size()) {
        ok_ = false;
        return {};
    }
    const auto tag = static_cast<uint8_t>(in_[at_++]);
    auto int32 = [this] {
        const int64_t x = i64();
        if (x < INT32_MIN || x > INT32_MAX) ok_ = false;
        return static_cast<int32_t>(x);
    };
    switch (tag) {
        case kNull:
            return {};
        case kFalse:
            return false;
        case kTrue:
            return true;
        case kInt:
            return i64();
        case kNumber:
            return f64();
        case kText:
            return intern(text());
        case kDate:
            return Date{int32()};
        case kDateTime:
            return DateTime{i64()};
        case kDuration: {
            const int32_t months = int32();
            return Duration{months, int32()};
        }
        default:
            ok_ = false;
            return {};
    }
}

}  // namespace strata
