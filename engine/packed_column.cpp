#include "engine/packed_column.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

namespace strata {

namespace {

// Every kind but null is trivially copyable and at most 8 bytes: a packed row is its bytes,
// in the kind's own size (a bool 1, a date 4, a number 8).
template <size_t K>
using Alternative = std::variant_alternative_t<K, Value>;

static_assert(std::variant_size_v<Value> == 9, "a new kind of value must be packed here");

// Calls f(std::integral_constant<size_t, K>{}) for kind K (1 to 8); returns fallback() for
// null (0).
template <typename F, typename G>
decltype(auto) with_kind(size_t kind, F f, G fallback) {
    switch (kind) {
        case 1:
            return f(std::integral_constant<size_t, 1>{});
        case 2:
            return f(std::integral_constant<size_t, 2>{});
        case 3:
            return f(std::integral_constant<size_t, 3>{});
        case 4:
            return f(std::integral_constant<size_t, 4>{});
        case 5:
            return f(std::integral_constant<size_t, 5>{});
        case 6:
            return f(std::integral_constant<size_t, 6>{});
        case 7:
            return f(std::integral_constant<size_t, 7>{});
        case 8:
            return f(std::integral_constant<size_t, 8>{});
        default:
            return fallback();
    }
}

template <size_t K>
void store(const Value& v, uint8_t* at) {
    static_assert(sizeof(Alternative<K>) <= 8 && std::is_trivially_copyable_v<Alternative<K>>);
    std::memcpy(at, std::get_if<K>(&v), sizeof(Alternative<K>));
}

template <size_t K>
Value load(const uint8_t* at) {
    Alternative<K> x{};
    // Trivially copyable (checked in store), though not trivial: its members have defaults.
    std::memcpy(static_cast<void*>(&x), at, sizeof(Alternative<K>));
    return Value{std::in_place_index<K>, x};
}

size_t width_of(size_t kind) {
    return with_kind(
        kind, []<size_t K>(std::integral_constant<size_t, K>) { return sizeof(Alternative<K>); },
        [] { return size_t{0}; });
}

constexpr size_t kInt = 2;  // the kind of int64_t
static_assert(std::is_same_v<Alternative<kInt>, int64_t>);

// The fewest bytes of 1, 2, 4 and 8 that hold x.
uint8_t int_width(int64_t x) {
    if (x >= INT8_MIN && x <= INT8_MAX) return 1;
    if (x >= INT16_MIN && x <= INT16_MAX) return 2;
    if (x >= INT32_MIN && x <= INT32_MAX) return 4;
    return 8;
}

// Calls f(N{}) with N the signed integer type of `width` bytes.
template <typename F>
decltype(auto) with_int_width(size_t width, F f) {
    switch (width) {
        case 1:
            return f(int8_t{});
        case 2:
            return f(int16_t{});
        case 4:
            return f(int32_t{});
        default:
            return f(int64_t{});
    }
}

template <typename N>
int64_t load_int(const uint8_t* at) {
    N x;
    std::memcpy(&x, at, sizeof x);
    return x;
}

int64_t load_int(const uint8_t* at, size_t width) {
    return with_int_width(width, [at]<typename N>(N) { return load_int<N>(at); });
}

void store_int(int64_t x, uint8_t* at, size_t width) {
    with_int_width(width, [&]<typename N>(N) {
        const auto narrow = static_cast<N>(x);
        std::memcpy(at, &narrow, sizeof narrow);
    });
}

}  // namespace

PackedColumnBuilder::PackedColumnBuilder(size_t rows) : expected_(rows) {
    out_.packed_ = true;
    out_.present_.reserve((rows + 63) / 64);
}

void PackedColumnBuilder::unpack_all() {
    Column all(out_.rows_);
    out_.unpack(0, out_.rows_, all.data());
    values_ = std::move(all);
    values_.reserve(expected_);
    out_.packed_ = false;
    out_.payload_ = {};
    out_.present_ = {};
}

void PackedColumnBuilder::widen(uint8_t width) {
    std::vector<uint8_t> wider;
    wider.reserve(expected_ * width);
    wider.resize(out_.rows_ * width, 0);
    for (size_t i = 0; i < out_.rows_; ++i)
        store_int(load_int(&out_.payload_[i * out_.width_], out_.width_), &wider[i * width], width);
    out_.payload_ = std::move(wider);
    out_.width_ = width;
}

void PackedColumnBuilder::append(const Value* values, size_t n) {
    size_t k = 0;
    while (k < n) {
        if (!out_.packed_) {
            values_.insert(values_.end(), values + k, values + n);
            return;
        }
        // Settles what values[k] needs first (the column's kind, wider integers, or no
        // packing at all), then appends it and the values after it that fit as they are.
        const Value& v = values[k];
        const size_t kind = v.index();
        if (kind != 0 && out_.kind_ == 0) {  // the first value: the column's kind
            out_.kind_ = static_cast<uint8_t>(kind);
            const size_t width = kind == kInt ? int_width(std::get<int64_t>(v)) : width_of(kind);
            out_.width_ = static_cast<uint8_t>(width);
            out_.payload_.reserve(expected_ * width);
            out_.payload_.assign(out_.rows_ * width, 0);
        } else if (kind != 0 && kind != out_.kind_) {
            unpack_all();
            continue;
        } else if (kind == kInt && int_width(std::get<int64_t>(v)) > out_.width_) {
            widen(int_width(std::get<int64_t>(v)));
        }
        k += append_fitting(values + k, n - k);
    }
}

size_t PackedColumnBuilder::append_fitting(const Value* values, size_t n) {
    const size_t first = out_.rows_;
    const size_t width = out_.width_;
    // Room for all n, given back below for those that do not fit; new bytes are zero, as a
    // null row's are.
    out_.payload_.resize((first + n) * width, 0);
    out_.present_.resize((first + n + 63) / 64, 0);
    uint8_t* const payload = out_.payload_.data();
    uint64_t* const present = out_.present_.data();
    size_t k = 0;
    auto fits = [&](auto put) {
        for (; k < n; ++k) {
            const Value& v = values[k];
            if (v.index() == 0) continue;
            if (v.index() != out_.kind_ || !put(v, payload + (first + k) * width)) break;
            const size_t i = first + k;
            present[i / 64] |= uint64_t{1} << (i % 64);
        }
    };
    if (out_.kind_ == 0) {
        fits([](const Value&, uint8_t*) { return false; });  // nulls only, until a kind comes
    } else if (out_.kind_ == kInt) {
        with_int_width(width, [&]<typename N>(N) {
            fits([](const Value& v, uint8_t* at) {
                const int64_t x = *std::get_if<int64_t>(&v);
                if (x < std::numeric_limits<N>::min() || x > std::numeric_limits<N>::max())
                    return false;
                const auto narrow = static_cast<N>(x);
                std::memcpy(at, &narrow, sizeof narrow);
                return true;
            });
        });
    } else {
        with_kind(
            out_.kind_,
            [&]<size_t K>(std::integral_constant<size_t, K>) {
                fits([](const Value& v, uint8_t* at) {
                    store<K>(v, at);
                    return true;
                });
            },
            [] {});
    }
    out_.rows_ = first + k;
    out_.payload_.resize(out_.rows_ * width);
    out_.present_.resize((out_.rows_ + 63) / 64);
    return k;
}

PackedColumn PackedColumnBuilder::finish() {
    if (!out_.packed_) {
        out_.rows_ = values_.size();
        out_.values_ = std::make_shared<const Column>(std::move(values_));
    }
    out_.payload_.shrink_to_fit();
    return std::move(out_);
}

PackedColumn PackedColumn::pack(Column&& values) {
    // In pieces, so that the column is not held twice when it stays unpacked.
    PackedColumnBuilder builder(values.size());
    builder.append(values.data(), values.size());
    Column().swap(values);  // the caller's values are spent either way
    return builder.finish();
}

PackedColumn PackedColumn::borrow(const Column* values) {
    PackedColumn out;
    out.rows_ = values->size();
    out.values_ = std::shared_ptr<const Column>(std::shared_ptr<const Column>(), values);
    return out;
}

Value PackedColumn::unpack_one(size_t i) const {
    if (!(present_[i / 64] >> (i % 64) & 1)) return {};
    if (kind_ == kInt) return load_int(&payload_[i * width_], width_);
    return with_kind(
        kind_,
        [&]<size_t K>(std::integral_constant<size_t, K>) {
            return load<K>(&payload_[i * sizeof(Alternative<K>)]);
        },
        [] { return Value{}; });
}

void PackedColumn::unpack(size_t first, size_t n, Value* out) const {
    if (!packed_) {
        std::copy(values_->begin() + static_cast<std::ptrdiff_t>(first),
                  values_->begin() + static_cast<std::ptrdiff_t>(first + n), out);
        return;
    }
    // One dispatch on the kind for the whole range, not one a row.
    if (kind_ == kInt) {
        with_int_width(width_, [&]<typename N>(N) {
            for (size_t k = 0; k < n; ++k) {
                const size_t i = first + k;
                if (present_[i / 64] >> (i % 64) & 1)
                    out[k] = load_int<N>(&payload_[i * sizeof(N)]);
                else
                    out[k] = Value{};
            }
        });
        return;
    }
    with_kind(
        kind_,
        [&]<size_t K>(std::integral_constant<size_t, K>) {
            for (size_t k = 0; k < n; ++k) {
                const size_t i = first + k;
                if (present_[i / 64] >> (i % 64) & 1)
                    out[k] = load<K>(&payload_[i * sizeof(Alternative<K>)]);
                else
                    out[k] = Value{};
            }
        },
        [&] { std::fill(out, out + n, Value{}); });
}

size_t PackedColumn::bytes() const {
    // A borrowed column's values are its owner's.
    const bool owned = values_ && values_.use_count() > 0;
    return payload_.capacity() + present_.capacity() * sizeof(uint64_t) +
           (owned ? values_->capacity() * sizeof(Value) : 0);
}

}  // namespace strata
