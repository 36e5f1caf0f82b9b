// A whole-base column kept compactly. Evaluation works on Columns (16 bytes a value), but
// most of a run's whole-base columns (aggregates, lets, customer columns) hold one kind of
// value and nulls: a count, a sum, a date, a flag. A PackedColumn keeps such a column as each
// value's own bytes (8 for a number or a text, 4 for a date, 1 for a bool) and one bit for
// whether the row has a value, at most about half of what the Column takes; a column of mixed
// kinds is kept as it is. Either way it gives back exactly the values it was made from.
// Integers take the fewest of 1, 2, 4 or 8 bytes that hold every one of the column's (a count
// of orders is one byte a customer).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/value.hpp"

namespace strata {

class PackedColumn {
  public:
    PackedColumn() = default;

    // Packs `values` when every non-null value is of one kind (a column of nulls only packs
    // too); keeps them as they are when they mix kinds.
    static PackedColumn pack(Column&& values);

    // `values` as they are, borrowed: valid while they are. REQUIRES: values is not null.
    static PackedColumn borrow(const Column* values);

    size_t size() const { return rows_; }

    // Row i's value. REQUIRES: i < size().
    Value operator[](size_t i) const {
        if (!packed_) return (*values_)[i];
        return unpack_one(i);
    }

    // Writes rows [first, first + n) to out[0], ..., out[n - 1].
    // REQUIRES: first + n <= size().
    void unpack(size_t first, size_t n, Value* out) const;

    // Calls f(i, value) for every row i in order, unpacking a few rows at a time: cheaper than
    // reading each row alone.
    template <typename F>
    void for_each(F f) const {
        if (!packed_) {
            for (size_t i = 0; i < rows_; ++i)
                f(i, (*values_)[i]);
            return;
        }
        constexpr size_t kStep = 256;
        Value block[kStep];
        for (size_t first = 0; first < rows_; first += kStep) {
            const size_t n = std::min(kStep, rows_ - first);
            unpack(first, n, block);
            for (size_t k = 0; k < n; ++k)
                f(first + k, static_cast<const Value&>(block[k]));
        }
    }

    // The values as a Column, when the column is kept unpacked (borrow it instead of copying);
    // null when it is packed.
    const Column* values() const { return packed_ ? nullptr : values_.get(); }

    // The memory it holds, in bytes (reports and tests).
    size_t bytes() const;

  private:
    friend class PackedColumnBuilder;
    Value unpack_one(size_t i) const;

    size_t rows_ = 0;
    bool packed_ = false;
    uint8_t kind_ = 0;                      // packed: the variant index of every present value
    uint8_t width_ = 0;                     // packed: the bytes of one value of that kind
    std::vector<uint8_t> payload_;          // packed: each row's value as its bytes, width_ apart
    std::vector<uint64_t> present_;         // packed: bit i set when row i holds a value
    std::shared_ptr<const Column> values_;  // unpacked: owned, or borrowed
};

// Packs values given a few at a time, without a whole Column of them first: the column
// PackedColumn::pack makes of the same values.
class PackedColumnBuilder {
  public:
    // `rows`: how many will come, at most (room is kept for them).
    explicit PackedColumnBuilder(size_t rows);
    void append(const Value* values, size_t n);
    PackedColumn finish();

  private:
    // Appends values[0], values[1], ... while each is null or fits the column as it is (its
    // kind, and an integer its width); returns how many it appended.
    size_t append_fitting(const Value* values, size_t n);
    void widen(uint8_t width);  // integers: re-encodes what came so far in `width` bytes
    void unpack_all();          // mixed kinds: the column is kept as values from now on

    PackedColumn out_;
    size_t expected_;
    Column values_;  // unpacked
};

using SharedPackedColumn = std::shared_ptr<const PackedColumn>;

}  // namespace strata
