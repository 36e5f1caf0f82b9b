// Packed columns (engine/packed_column.hpp): a column of one kind of value packs to its values'
// own bytes and a bit a row, a column of mixed kinds stays as it is, and either gives back
// exactly the values it was made from, row by row and a range at a time. A frame's block
// (engine/frame_block.hpp) gives the rows of that block.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/frame_block.hpp"
#include "engine/packed_column.hpp"
#include "engine/value_pool.hpp"

using namespace strata;

namespace {

// The same value, bit for bit where it is a number (-0.0 is not 0.0, a NaN is itself).
bool same(const Value& a, const Value& b) {
    if (a.index() != b.index()) return false;
    if (const auto* x = std::get_if<double>(&a)) {
        const double y = std::get<double>(b);
        return std::memcmp(x, &y, sizeof y) == 0;
    }
    if (is_null(a)) return true;
    if (const auto* d = std::get_if<Duration>(&a)) return *d == std::get<Duration>(b);
    if (const auto* r = std::get_if<RecordPtr>(&a)) return *r == std::get<RecordPtr>(b);
    return compare_values(a, b) == 0;
}

// Every row alone, and every range of a few lengths from a few starts.
void check_gives_back(const Column& original, const PackedColumn& packed) {
    REQUIRE(packed.size() == original.size());
    for (size_t i = 0; i < original.size(); ++i) {
        INFO("row ", i, ": ", format_value(original[i]), " came back as ", format_value(packed[i]));
        CHECK(same(packed[i], original[i]));
    }
    for (size_t first : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, original.size() / 2}) {
        for (size_t n : {size_t{0}, size_t{1}, size_t{65}, original.size()}) {
            if (first + n > original.size()) continue;
            Column out(n, Value{int64_t{-1}});
            packed.unpack(first, n, out.data());
            for (size_t k = 0; k < n; ++k)
                CHECK(same(out[k], original[first + k]));
        }
    }
}

// A column of `rows` values of kind `make`, about a third of them null.
template <typename Make>
Column column_of(size_t rows, Make make, uint32_t seed) {
    std::mt19937 rng(seed);
    Column c(rows);
    for (size_t i = 0; i < rows; ++i) {
        if (rng() % 3 == 0) continue;
        c[i] = make(rng);
    }
    return c;
}

}  // namespace

TEST_CASE("a column of one kind packs to half its size and gives back every value") {
    ValuePool pool;
    ValuePoolScope scope(pool);
    const Str texts[] = {intern("gold"), intern("silver"), intern("")};
    const RecordPtr records[] = {make_record({int64_t{1}, Value{}}), make_record({2.5})};
    const size_t rows = 1000;
    const std::vector<std::pair<const char*, Column>> kinds = {
        {"bool", column_of(
                     rows, [](auto& r) { return Value{r() % 2 == 0}; }, 1)},
        {"int", column_of(
                    rows,
                    [](auto& r) {
                        const int64_t edge[] = {0, -1, std::numeric_limits<int64_t>::min(),
                                                std::numeric_limits<int64_t>::max()};
                        return Value{r() % 5 == 0 ? edge[r() % 4]
                                                  : static_cast<int64_t>(r()) - (1 << 30)};
                    },
                    2)},
        {"number", column_of(
                       rows,
                       [](auto& r) {
                           const double edge[] = {-0.0, 0.0, 1e308, -1e-308,
                                                  std::numeric_limits<double>::quiet_NaN()};
                           return Value{r() % 5 == 0 ? edge[r() % 5] : r() / 7.0 - 1e6};
                       },
                       3)},
        {"text", column_of(
                     rows, [&](auto& r) { return Value{texts[r() % 3]}; }, 4)},
        {"date",
         column_of(
             rows, [](auto& r) { return Value{Date{static_cast<int32_t>(r() % 40000) - 3000}}; },
             5)},
        {"datetime",
         column_of(
             rows, [](auto& r) { return Value{DateTime{static_cast<int64_t>(r()) * 1000 - 7}}; },
             6)},
        {"duration", column_of(
                         rows,
                         [](auto& r) {
                             return Value{Duration{static_cast<int32_t>(r() % 25) - 12,
                                                   static_cast<int32_t>(r() % 400)}};
                         },
                         7)},
        {"record", column_of(
                       rows, [&](auto& r) { return Value{records[r() % 2]}; }, 8)},
        {"null only", Column(rows)},
    };
    for (const auto& [name, values] : kinds) {
        INFO("kind ", std::string(name));
        Column copy = values;
        const PackedColumn packed = PackedColumn::pack(std::move(copy));
        CHECK(packed.values() == nullptr);  // packed, not kept as values
        CHECK(packed.bytes() <= rows * 8 + rows / 8 + 64);
        CHECK(packed.bytes() * 100 <= rows * sizeof(Value) * 52);  // about half a Column
        check_gives_back(values, packed);
        // Given a few rows at a time (pieces that start anywhere in a word of the null bits),
        // the same column.
        for (const size_t piece : {size_t{1}, size_t{37}, size_t{300}}) {
            PackedColumnBuilder builder(rows);
            for (size_t first = 0; first < rows; first += piece)
                builder.append(values.data() + first, std::min(piece, rows - first));
            const PackedColumn pieces = builder.finish();
            CHECK(pieces.values() == nullptr);
            CHECK(pieces.bytes() == packed.bytes());
            check_gives_back(values, pieces);
        }
    }
}

TEST_CASE("a column whose first rows are null packs as one that has values from the start") {
    const size_t rows = 700;
    for (const size_t nulls : {size_t{1}, size_t{64}, size_t{129}, size_t{699}}) {
        INFO(nulls, " leading nulls");
        Column values = column_of(
            rows, [](auto& r) { return Value{static_cast<double>(r() % 1000) / 8}; }, 11);
        std::fill(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(nulls), Value{});
        values.back() = 0.5;
        PackedColumnBuilder builder(rows);
        for (size_t first = 0; first < rows; first += 50)
            builder.append(values.data() + first, std::min<size_t>(50, rows - first));
        const PackedColumn built = builder.finish();
        REQUIRE(built.values() == nullptr);
        CHECK(built.bytes() <= rows * 8 + rows / 8 + 64);
        check_gives_back(values, built);
    }
}

TEST_CASE("integers take the fewest bytes that hold them all, widening as larger ones come") {
    const size_t rows = 1000;
    // Small counts, then (from a row on) a larger value of each width in turn.
    for (const int64_t large : {int64_t{0}, int64_t{-200}, int64_t{40'000}, int64_t{-3'000'000'000},
                                std::numeric_limits<int64_t>::min()}) {
        INFO("largest ", large);
        Column values = column_of(
            rows, [](auto& r) { return Value{static_cast<int64_t>(r() % 100)}; }, 9);
        for (size_t at : {size_t{500}, size_t{999}})
            values[at] = large;
        const size_t width = large == 0                  ? 1
                             : large == -200             ? 2
                             : large == 40'000           ? 4
                             : large == -3'000'000'000LL ? 8
                                                         : 8;
        Column copy = values;
        const PackedColumn packed = PackedColumn::pack(std::move(copy));
        REQUIRE(packed.values() == nullptr);
        CHECK(packed.bytes() <= rows * width + rows / 8 + 64);
        CHECK(packed.bytes() > rows * width);
        check_gives_back(values, packed);
        // Given a few rows at a time, the same column.
        PackedColumnBuilder builder(rows);
        for (size_t first = 0; first < rows; first += 37)
            builder.append(values.data() + first, std::min<size_t>(37, rows - first));
        const PackedColumn pieces = builder.finish();
        CHECK(pieces.bytes() == packed.bytes());
        check_gives_back(values, pieces);
    }
}

TEST_CASE("a column given a few values at a time whose kinds mix is kept as values") {
    Column values = column_of(
        300, [](auto& r) { return Value{static_cast<int64_t>(r() % 1000)}; }, 10);
    values[250] = 2.5;
    PackedColumnBuilder builder(values.size());
    for (size_t first = 0; first < values.size(); first += 64)
        builder.append(values.data() + first, std::min<size_t>(64, values.size() - first));
    const PackedColumn built = builder.finish();
    REQUIRE(built.values() != nullptr);
    check_gives_back(values, built);
}

TEST_CASE("a column of mixed kinds is kept as it is") {
    ValuePool pool;
    ValuePoolScope scope(pool);
    // An integer and a number are two kinds: packing them as one would lose which each was.
    Column mixed = {Value{int64_t{3}}, Value{}, Value{3.0}, Value{intern("x")}, Value{Date{5}}};
    const Column original = mixed;
    const PackedColumn packed = PackedColumn::pack(std::move(mixed));
    REQUIRE(packed.values() != nullptr);
    CHECK(packed.values()->size() == original.size());
    check_gives_back(original, packed);
    CHECK(std::holds_alternative<int64_t>(packed[0]));
    CHECK(std::holds_alternative<double>(packed[2]));
}

TEST_CASE("a borrowed column is read where it is, not copied") {
    const Column values = {Value{int64_t{1}}, Value{}, Value{int64_t{2}}};
    const PackedColumn borrowed = PackedColumn::borrow(&values);
    CHECK(borrowed.values() == &values);
    CHECK(borrowed.bytes() == 0);
    check_gives_back(values, borrowed);
    const PackedColumn empty = PackedColumn::pack(Column{});
    CHECK(empty.size() == 0);
}

TEST_CASE("a block of a frame holds the named columns' rows of that block, unpacked") {
    // A frame of 1000 rows: a customer column, a let and an aggregate, all packed, and an
    // unnamed let. Blocks start at rows other than 0, as placement's do past its first block.
    const size_t rows = 1000;
    Column ints(rows), dates(rows), numbers(rows), other(rows);
    for (size_t i = 0; i < rows; ++i) {
        if (i % 7) ints[i] = static_cast<int64_t>(i * 3);
        dates[i] = Date{static_cast<int32_t>(20000 + i)};
        if (i % 5) numbers[i] = 0.5 * static_cast<double>(i);
        other[i] = static_cast<int64_t>(i);
    }
    const PackedColumn column = PackedColumn::pack(Column(ints));
    const PackedColumn let = PackedColumn::pack(Column(dates));
    const PackedColumn aggregate = PackedColumn::pack(Column(numbers));
    const PackedColumn unnamed = PackedColumn::pack(Column(other));
    Frame whole;
    whole.rows = rows;
    whole.columns = {&column};
    whole.lets = {&unnamed, &let};
    whole.aggregates = {&aggregate};
    // column + aggregate, and the let: the expressions placement would hand over.
    auto leaf = [](auto node, Type type) {
        auto e = std::make_unique<bound::Expr>();
        e->type = type;
        e->node = node;
        return e;
    };
    bound::Expr sum;
    sum.type = Type::Number;
    sum.node = bound::Binary{ast::BinaryOp::Add, leaf(bound::CustomerColumn{0}, Type::Int),
                             leaf(bound::AggregateRef{0}, Type::Number)};
    const auto date = leaf(bound::LetRef{1}, Type::Date);
    FrameBlock blocks({&sum, date.get()});
    const Column sum_whole = evaluate(sum, whole);
    for (size_t first : {size_t{0}, size_t{1}, size_t{300}, size_t{999}}) {
        const size_t n = std::min<size_t>(250, rows - first);
        INFO("block from row ", first);
        const Frame& block = blocks.rows_of(whole, first, n);
        CHECK(block.rows == n);
        CHECK(block.lets[0] == nullptr);  // not named: not unpacked
        const Column sum_block = evaluate(sum, block);
        const Column date_block = evaluate(*date, block);
        REQUIRE(sum_block.size() == n);
        for (size_t i = 0; i < n; ++i) {
            CHECK(same(sum_block[i], sum_whole[first + i]));
            CHECK(same(date_block[i], dates[first + i]));
        }
    }
}
