// A customer's aggregate states as bytes (AggregateComputer::save_customer / load_customer):
// the compact per-customer form a run keeps for the next incremental run.
//
// Per aggregate, in program order:
//   count, count(fact)   varint
//   sum                  exact total
//   avg                  exact total, varint count
//   min, max             number: 0, or 1 and the double; time: 0, or 1 + zigzag(key − 2020-01-01);
//                        other types: a tagged value (null while there is none)
//   count_distinct       varint n, then n tagged values
//   cv                   varint out-of-range flag, then each period's exact total
// An exact total is (zigzag(total / 10^z) · 10 + z) · 4 + flags, z its trailing decimal zeros
// (at most 9), when it fits in 65 bits (every realistic one), else a marker, the low word and
// the high part; sum and avg add an out-of-range flag. Then per fact the customer's rows:
// read · 2 + a flag, and when the flag is set, those after as_of and those of unknown time.
#include "engine/aggregate_cells.hpp"
#include "engine/bytes.hpp"

namespace strata {

using namespace aggregate_cells;

namespace {

// Powers of ten up to 10^9: a total's trailing decimal zeros are taken out (most amounts have
// two decimals, so their totals in units of 10^-9 end in seven zeros).
constexpr int64_t kPowersOfTen[10] = {1,      10,      100,      1000,      10000,
                                      100000, 1000000, 10000000, 100000000, 1000000000};

void put_total(ByteWriter& w, uint64_t low, SumUnits high, bool out_of_range) {
    const uint64_t flag = out_of_range ? 1 : 0;
    if (high == 0 || high == -1) {
        SumUnits total = static_cast<SumUnits>((static_cast<unsigned __int128>(high) << 64) |
                                               static_cast<unsigned __int128>(low));
        int zeros = 0;
        if (total >= INT64_MIN && total <= INT64_MAX) {  // the usual case, in 64-bit arithmetic
            auto small = static_cast<int64_t>(total);
            while (small != 0 && zeros < 9 && small % 10 == 0) {
                small /= 10;
                ++zeros;
            }
            total = small;
        } else {
            while (total != 0 && zeros < 9 && total % 10 == 0) {
                total /= 10;
                ++zeros;
            }
        }
        const auto zig = (static_cast<unsigned __int128>(total) << 1) ^
                         static_cast<unsigned __int128>(total >> 127);
        w.u128(((zig * 10 + static_cast<unsigned>(zeros)) << 2) | flag);
        return;
    }
    w.u128(2 | flag);  // wide
    w.u64(low);
    w.i128(high);
}

struct Total {
    uint64_t low = 0;
    SumUnits high = 0;
    bool out_of_range = false;
};

Total get_total(ByteReader& r) {
    Total t;
    const unsigned __int128 head = r.u128();
    t.out_of_range = (head & 1) != 0;
    if ((head & 2) != 0) {
        if ((head >> 2) != 0) r.fail();
        t.low = r.u64();
        t.high = r.i128();
        return t;
    }
    const unsigned __int128 packed = head >> 2;
    const auto zeros = static_cast<int>(packed % 10);
    const unsigned __int128 zig = packed / 10;
    const auto scaled = static_cast<SumUnits>((zig >> 1) ^ (~(zig & 1) + 1));
    // |scaled| < 2^65 and 10^9 < 2^30: the product fits.
    const SumUnits total = scaled * kPowersOfTen[zeros];
    t.low = static_cast<uint64_t>(static_cast<unsigned __int128>(total));
    t.high = total >> 64;
    return t;
}

SumUnits high_part(const TotalsAside& aside, size_t at) {
    if (aside.high.empty()) return 0;
    const auto it = aside.high.find(at);
    return it == aside.high.end() ? 0 : it->second;
}

void set_total(TotalsAside& aside, uint64_t& low, size_t at, const Total& t) {
    low = t.low;
    if (t.high != 0) aside.high[at] = t.high;
    if (t.out_of_range) aside.out_of_range.insert(at);
}

// The time line's origin for a min or max of dates or datetimes: 2020-01-01, so that keys of
// recent days are small. Fixed, not as_of: a state kept at one as_of is read at a later one.
int64_t time_origin(Type type) {
    constexpr int64_t kOriginDays = 18262;
    return type == Type::Date ? kOriginDays : kOriginDays * 86400;
}

}  // namespace

void AggregateComputer::prepare_saving() {
    for (auto& win : windows_) {
        for (auto& d : win->state.distinct) {
            if (d) d->prepare_reading();
        }
    }
}

void AggregateComputer::save_customer(size_t customer, ByteWriter& w) const {
    size_t c = 0;
    const ComputerState& s = window_of(customer, c).state;
    for (size_t a = 0; a < program_.aggregates.size(); ++a) {
        const auto& agg = program_.aggregates[a];
        const Cell* cell = &s.rows[c * s.stride + s.offset[a]];
        const TotalsAside& aside = s.aside[a];
        switch (agg.fn) {
            case bound::AggFn::Count:
                w.u64(static_cast<uint64_t>(cell->i));
                break;
            case bound::AggFn::Sum:
                put_total(w, cell->u, high_part(aside, c), aside.out_of_range_at(c));
                break;
            case bound::AggFn::Avg:
                put_total(w, cell->u, high_part(aside, c), aside.out_of_range_at(c));
                w.u64(static_cast<uint64_t>(cell[1].i));
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max:
                switch (best_kind(agg)) {
                    case BestKind::Number:
                        w.u64(std::isnan(cell->d) ? 0 : 1);
                        if (!std::isnan(cell->d)) w.f64(cell->d);
                        break;
                    case BestKind::Time:
                        if (cell->i == kNoTime) {
                            w.u128(0);
                        } else {
                            const __int128 delta =
                                static_cast<__int128>(cell->i) - time_origin(agg.type);
                            w.u128(((static_cast<unsigned __int128>(delta) << 1) ^
                                    static_cast<unsigned __int128>(delta >> 127)) +
                                   1);
                        }
                        break;
                    case BestKind::Value:
                        w.value(best_value(cell, BestKind::Value, agg.type));
                        break;
                }
                break;
            case bound::AggFn::CountDistinct: {
                // In value order: the order values were first met depends on how chunks
                // reached the customer's window.
                const auto mask = static_cast<uint64_t>(cell->i);
                std::vector<Value> values;
                s.distinct[a]->each_value(c, mask,
                                          [&values](const Value& v) { values.push_back(v); });
                std::sort(values.begin(), values.end(), [](const Value& x, const Value& y) {
                    return x.index() != y.index() ? x.index() < y.index()
                                                  : compare_values(x, y) < 0;
                });
                w.u64(values.size());
                for (const Value& v : values)
                    w.value(v);
                break;
            }
            case bound::AggFn::Cv: {
                const auto periods = static_cast<size_t>(periods_[a]);
                w.u64(aside.out_of_range_at(c) ? 1 : 0);
                for (size_t k = 0; k < periods; ++k) {
                    const size_t at = c * periods + k;
                    put_total(w, s.buckets[a][at], high_part(aside, at), false);
                }
                break;
            }
        }
    }
    for (size_t f = 0; f < program_.facts.size(); ++f) {
        // Rows after as_of or with an unknown time are rare: a flag says when they follow.
        const RowsOf rows = rows_of(customer, static_cast<int>(f));
        const bool rare = rows.future != 0 || rows.unknown_time != 0;
        w.u64((static_cast<uint64_t>(rows.read) << 1) | (rare ? 1 : 0));
        if (rare) {
            w.u64(static_cast<uint64_t>(rows.future));
            w.u64(static_cast<uint64_t>(rows.unknown_time));
        }
    }
}

bool AggregateComputer::load_customer(size_t customer, ByteReader& r) {
    size_t c = 0;
    Window& win = window_of(customer, c);
    ComputerState& s = win.state;
    for (size_t a = 0; a < program_.aggregates.size() && r.ok(); ++a) {
        const auto& agg = program_.aggregates[a];
        Cell* cell = &s.rows[c * s.stride + s.offset[a]];
        TotalsAside& aside = s.aside[a];
        switch (agg.fn) {
            case bound::AggFn::Count:
                cell->i = static_cast<int64_t>(r.u64());
                break;
            case bound::AggFn::Sum:
                set_total(aside, cell->u, c, get_total(r));
                break;
            case bound::AggFn::Avg:
                set_total(aside, cell->u, c, get_total(r));
                cell[1].i = static_cast<int64_t>(r.u64());
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max:
                switch (best_kind(agg)) {
                    case BestKind::Number:
                        if (r.u64() != 0) cell->d = r.f64();
                        break;
                    case BestKind::Time: {
                        const unsigned __int128 head = r.u128();
                        if (head == 0) break;
                        const unsigned __int128 zig = head - 1;
                        const auto delta = static_cast<__int128>((zig >> 1) ^ (~(zig & 1) + 1));
                        const __int128 key = delta + time_origin(agg.type);
                        if (key <= INT64_MIN || key > INT64_MAX) return false;
                        cell->i = static_cast<int64_t>(key);
                        break;
                    }
                    case BestKind::Value: {
                        const Value v = r.value();
                        std::memcpy(static_cast<void*>(cell), &v, sizeof(Value));
                        break;
                    }
                }
                break;
            case bound::AggFn::CountDistinct: {
                const uint64_t n = r.u64();
                auto* mask = reinterpret_cast<uint64_t*>(&cell->i);
                for (uint64_t i = 0; i < n && r.ok(); ++i) {
                    const Value v = r.value();
                    if (is_null(v)) return false;
                    s.distinct[a]->add(c, v, *mask);
                }
                break;
            }
            case bound::AggFn::Cv: {
                const auto periods = static_cast<size_t>(periods_[a]);
                if (r.u64() != 0) aside.out_of_range.insert(c);
                for (size_t k = 0; k < periods && r.ok(); ++k) {
                    const size_t at = c * periods + k;
                    set_total(aside, s.buckets[a][at], at, get_total(r));
                }
                break;
            }
        }
    }
    for (size_t f = 0; f < program_.facts.size() && r.ok(); ++f) {
        const uint64_t head = r.u64();
        const uint64_t read = head >> 1;
        const uint64_t future = (head & 1) != 0 ? r.u64() : 0;
        const uint64_t unknown_time = (head & 1) != 0 ? r.u64() : 0;
        if (read > UINT32_MAX || future > read || unknown_time > read) return false;
        if (win.customer_rows.empty()) continue;
        CustomerRows& counts = win.customer_rows[f];
        counts.read[c] = static_cast<uint32_t>(read);
        counts.future[c] = static_cast<uint32_t>(future);
        counts.unknown_time[c] = static_cast<uint32_t>(unknown_time);
    }
    return r.ok();
}

}  // namespace strata
