#include "engine/packed_column.hpp"

#include <cstring>
#include <type_traits>

namespace strata {

namespace {

// Every kind but null fits in 8 bytes and is trivially copyable: a packed row is its bytes.
template <size_t K>
using Alternative = std::variant_alternative_t<K, Value>;

template <size_t K>
uint64_t bits_of(const Value& v) {
    static_assert(sizeof(Alternative<K>) <= sizeof(uint64_t));
    static_assert(std::is_trivially_copyable_v<Alternative<K>>);
    uint64_t bits = 0;
    std::memcpy(&bits, std::get_if<K>(&v), sizeof(Alternative<K>));
    return bits;
}

template <size_t K>
Value value_of(uint64_t bits) {
    Alternative<K> x{};
    // Trivially copyable (checked above), though not trivial: its members have defaults.
    std::memcpy(static_cast<void*>(&x), &bits, sizeof(Alternative<K>));
    return Value{std::in_place_index<K>, x};
}

uint64_t to_bits(const Value& v) {
    switch (v.index()) {
        case 1:
            return bits_of<1>(v);
        case 2:
            return bits_of<2>(v);
        case 3:
            return bits_of<3>(v);
        case 4:
            return bits_of<4>(v);
        case 5:
            return bits_of<5>(v);
        case 6:
            return bits_of<6>(v);
        case 7:
            return bits_of<7>(v);
        case 8:
            return bits_of<8>(v);
        default:
            return 0;
    }
}

Value from_bits(uint8_t kind, uint64_t bits) {
    switch (kind) {
        case 1:
            return value_of<1>(bits);
        case 2:
            return value_of<2>(bits);
        case 3:
            return value_of<3>(bits);
        case 4:
            return value_of<4>(bits);
        case 5:
            return value_of<5>(bits);
        case 6:
            return value_of<6>(bits);
        case 7:
            return value_of<7>(bits);
        case 8:
            return value_of<8>(bits);
        default:
            return {};
    }
}

static_assert(std::variant_size_v<Value> == 9, "a new kind of value must be packed here");

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
    out.payload_.assign(out.rows_, 0);
    out.present_.assign((out.rows_ + 63) / 64, 0);
    for (size_t i = 0; i < out.rows_; ++i) {
        if (values[i].index() == 0) continue;
        out.present_[i / 64] |= uint64_t{1} << (i % 64);
        out.payload_[i] = to_bits(values[i]);
    }
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
    return from_bits(kind_, payload_[i]);
}

void PackedColumn::unpack(size_t first, size_t n, Value* out) const {
    if (!packed_) {
        std::copy(values_->begin() + static_cast<std::ptrdiff_t>(first),
                  values_->begin() + static_cast<std::ptrdiff_t>(first + n), out);
        return;
    }
    // One switch for the whole range, not one a row.
    auto fill = [&]<size_t K>(std::integral_constant<size_t, K>) {
        for (size_t k = 0; k < n; ++k) {
            const size_t i = first + k;
            if (present_[i / 64] >> (i % 64) & 1)
                out[k] = value_of<K>(payload_[i]);
            else
                out[k] = Value{};
        }
    };
    switch (kind_) {
        case 1:
            return fill(std::integral_constant<size_t, 1>{});
        case 2:
            return fill(std::integral_constant<size_t, 2>{});
        case 3:
            return fill(std::integral_constant<size_t, 3>{});
        case 4:
            return fill(std::integral_constant<size_t, 4>{});
        case 5:
            return fill(std::integral_constant<size_t, 5>{});
        case 6:
            return fill(std::integral_constant<size_t, 6>{});
        case 7:
            return fill(std::integral_constant<size_t, 7>{});
        case 8:
            return fill(std::integral_constant<size_t, 8>{});
        default:
            std::fill(out, out + n, Value{});
            return;
    }
}

size_t PackedColumn::bytes() const {
    // A borrowed column's values are its owner's.
    const bool owned = values_ && values_.use_count() > 0;
    return payload_.capacity() * sizeof(uint64_t) + present_.capacity() * sizeof(uint64_t) +
           (owned ? values_->capacity() * sizeof(Value) : 0);
}

}  // namespace strata
