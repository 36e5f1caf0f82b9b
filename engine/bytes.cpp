#include "engine/bytes.hpp"

namespace strata {

namespace {
enum Tag : uint8_t { kNull, kFalse, kTrue, kInt, kNumber, kText, kDate, kDateTime, kDuration };
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
