#include "engine/packed_column.hpp"

#include <algorithm>
#include <cstring>
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

}  // namespace

PackedColumn PackedColumn::pack(Column&& values) {
    PackedColumn out;
    out.rows_ = values.size();
    size_t kind = 0;
    for (const Value& v : values) {
        if (v.index() == 0) continue;
        if (kind != 0 && v.index() != kind) {
            out.values_ = std::make_shared<const Column>(std::move(values));
            return out;
        }
        kind = v.index();
    }
    out.packed_ = true;
    out.kind_ = static_cast<uint8_t>(kind);
    out.width_ = static_cast<uint8_t>(width_of(kind));
    out.payload_.assign(out.rows_ * out.width_, 0);
    out.present_.assign((out.rows_ + 63) / 64, 0);
    with_kind(
        kind,
        [&]<size_t K>(std::integral_constant<size_t, K>) {
            for (size_t i = 0; i < out.rows_; ++i) {
                if (values[i].index() == 0) continue;
                out.present_[i / 64] |= uint64_t{1} << (i % 64);
                store<K>(values[i], &out.payload_[i * sizeof(Alternative<K>)]);
            }
        },
        [] {});
    Column().swap(values);  // the caller's values are spent either way
    return out;
}

PackedColumn PackedColumn::borrow(const Column* values) {
    PackedColumn out;
    out.rows_ = values->size();
    out.values_ = std::shared_ptr<const Column>(std::shared_ptr<const Column>(), values);
    return out;
}

Value PackedColumn::unpack_one(size_t i) const {
    if (!(present_[i / 64] >> (i % 64) & 1)) return {};
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
