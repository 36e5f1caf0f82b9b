#include "engine/population.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <future>

#include "engine/parallel.hpp"
#include "engine/population_share.hpp"
#include "engine/value_pool.hpp"

namespace strata {

namespace {

// A double as an unsigned integer of the same order (0 and -0 alike; no NaN ever gets here).
uint64_t ordered_bits(double d) {
    if (d == 0) d = 0;
    uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    return bits >> 63 ? ~bits : bits | (uint64_t{1} << 63);
}

// Sorts (key, row) pairs by key: eleven bits per pass, least significant first, skipping the
// digits every key shares. Linear in the rows, where a comparison sort is n log n.
void radix_sort(std::vector<std::pair<uint64_t, uint32_t>>& items) {
    constexpr int kBits = 11;
    constexpr size_t kBuckets = size_t{1} << kBits;
    constexpr int kPasses = (64 + kBits - 1) / kBits;
    auto digit = [](uint64_t key, int pass) {
        return static_cast<size_t>((key >> (kBits * pass)) & (kBuckets - 1));
    };
    std::vector<std::array<size_t, kBuckets>> counts(kPasses);
    for (auto& c : counts)
        c.fill(0);
    for (const auto& item : items) {
        for (int p = 0; p < kPasses; ++p)
            ++counts[static_cast<size_t>(p)][digit(item.first, p)];
    }
    std::vector<std::pair<uint64_t, uint32_t>> scratch(items.size());
    for (int p = 0; p < kPasses; ++p) {
        auto& c = counts[static_cast<size_t>(p)];
        if (std::find(c.begin(), c.end(), items.size()) != c.end()) continue;
        size_t at = 0;
        for (auto& n : c) {
            const size_t here = n;
            n = at;
            at += here;
        }
        for (const auto& item : items)
            scratch[c[digit(item.first, p)]++] = item;
        items.swap(scratch);
    }
}

// for_each_rank's counting path: integers or dates (not both) whose span is not much wider
// than their number are ranked by counting how many values fall on each point of the span,
// with no sort at all. False, having called nothing, when the values are not such.
// Calls f(i, value) for every row of x in order (a Column or a PackedColumn).
template <typename F>
void each_value(const Column& x, F f) {
    for (size_t i = 0; i < x.size(); ++i)
        f(i, x[i]);
}
template <typename F>
void each_value(const PackedColumn& x, F f) {
    x.for_each(f);
}

template <typename X, typename F>
bool rank_by_counting(const X& x, bool descending, F& f) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    size_t total = 0;
    int kind = -1;  // the variant index of the present values
    auto point = [](const Value& v) -> int64_t {
        return v.index() == 2 ? *std::get_if<int64_t>(&v) : std::get_if<Date>(&v)->days;
    };
    bool countable = true;
    each_value(x, [&](size_t, const Value& v) {
        if (v.index() == 0 || !countable) return;
        if ((v.index() != 2 && v.index() != 5) ||
            (kind >= 0 && static_cast<int>(v.index()) != kind)) {
            countable = false;
            return;
        }
        kind = static_cast<int>(v.index());
        const int64_t p = point(v);
        lo = std::min(lo, p);
        hi = std::max(hi, p);
        ++total;
    });
    if (!countable) return false;
    if (total == 0) return true;
    const auto span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0 || span > 4 * static_cast<uint64_t>(total) + 4096) return false;
    // below[p] becomes how many values come strictly before point p in the order.
    std::vector<uint32_t> below(span, 0);
    each_value(x, [&](size_t, const Value& v) {
        if (v.index() != 0) ++below[static_cast<uint64_t>(point(v)) - static_cast<uint64_t>(lo)];
    });
    uint32_t before = 0;
    auto pass = [&](size_t p) {  // points visited in the ranking's order
        const uint32_t here = below[p];
        below[p] = before;
        before += here;
    };
    if (descending) {
        for (size_t p = span; p-- > 0;)
            pass(p);
    } else {
        for (size_t p = 0; p < span; ++p)
            pass(p);
    }
    each_value(x, [&](size_t i, const Value& v) {
        if (v.index() != 0)
            f(i, below[static_cast<uint64_t>(point(v)) - static_cast<uint64_t>(lo)], total);
    });
    return true;
}

// X is a Column or a PackedColumn: anything with size() and the values by row.
template <typename X, typename F>
void for_each_rank(const X& x, bool descending, F f) {
    if (rank_by_counting(x, descending, f)) return;
    // Numbers, dates and datetimes rank as doubles (a date as its seconds), sorted by their
    // bits. Integers beyond 2^53 would lose precision as doubles: they take the exact path.
    std::vector<std::pair<uint64_t, uint32_t>> sorted;
    sorted.reserve(x.size());
    bool numeric = true;
    each_value(x, [&](size_t i, const Value& v) {
        if (!numeric) return;
        double key = 0;
        switch (v.index()) {
            case 0:
                return;
            case 2:
                key = static_cast<double>(*std::get_if<int64_t>(&v));
                break;
            case 3:
                key = *std::get_if<double>(&v);
                break;
            case 5:
                key = std::get_if<Date>(&v)->days * 86400.0;
                break;
            case 6:
                key = static_cast<double>(std::get_if<DateTime>(&v)->seconds);
                break;
            default:
                numeric = false;
                return;
        }
        if (std::fabs(key) > 9007199254740992.0) numeric = false;
        sorted.emplace_back(ordered_bits(descending ? -key : key), static_cast<uint32_t>(i));
    });
    if (numeric) {
        radix_sort(sorted);
        // Each row's L goes into a small array first, so that f is then called in row order
        // (its writes go in order too) instead of scattered across the rows.
        constexpr uint32_t kAbsent = UINT32_MAX;
        std::vector<uint32_t> less(x.size(), kAbsent);
        const size_t total = sorted.size();
        size_t group_start = 0;
        for (size_t k = 0; k < total; ++k) {
            if (k > 0 && sorted[k].first != sorted[k - 1].first) group_start = k;
            less[sorted[k].second] = static_cast<uint32_t>(group_start);
        }
        for (size_t i = 0; i < less.size(); ++i) {
            if (less[i] != kAbsent) f(i, less[i], total);
        }
        return;
    }
    std::vector<size_t> idx;
    for (size_t i = 0; i < x.size(); ++i) {
        if (!is_null(x[i])) idx.push_back(i);
    }
    std::stable_sort(idx.begin(), idx.end(), [&x, descending](size_t a, size_t b) {
        const int c = compare_values(x[a], x[b]);
        return descending ? c > 0 : c < 0;
    });
    const size_t total = idx.size();
    size_t group_start = 0;
    for (size_t k = 0; k < total; ++k) {
        if (k > 0 && compare_values(x[idx[k]], x[idx[k - 1]]) != 0) group_start = k;
        f(idx[k], group_start, total);
    }
}

// x's tile under `fit`, or 0 for null: 1 + floor(n·L/N) with L the ranked customers strictly
// before x. Ranks are monotone in the value, so a value of the base is in the last non-empty
// bin whose cut ranks at or before it. A value the base never had shares L with the first
// value of the base after it: past its bin's last value, that is the next non-empty bin's
// cut; past every value, L = N, and the tile is n (the formula's n + 1 is not a tile). A value
// before every cut has L = 0, tile 1.
int64_t tile_for(const NtileFit& fit, const Value& x) {
    if (is_null(x) || fit.filled.empty()) return 0;
    const auto after = std::upper_bound(
        fit.filled.begin(), fit.filled.end(), x,
        [&fit](const Value& v, uint32_t b) { return ranks_before(fit, v, fit.bins[b].from); });
    if (after == fit.filled.begin()) return 1;
    const NtileBin& bin = fit.bins[*(after - 1)];
    if (is_null(bin.last) || !ranks_before(fit, bin.last, x))
        return static_cast<int64_t>(*(after - 1)) + 1;
    return after == fit.filled.end() ? fit.n : static_cast<int64_t>(*after) + 1;
}

// 1 + floor(n·L/N), in integers so no rounding can move a boundary.
int64_t tile_of(int64_t n, size_t less, size_t total) {
    return int64_t{1} + static_cast<int64_t>((static_cast<unsigned __int128>(n) * less) / total);
}

// The order abc ranks keys in when values tie: a total order (integers before texts, as the
// stored membership orders keys), nulls last.
int key_order(const Value& a, const Value& b) {
    if (is_null(a) || is_null(b)) return is_null(a) == is_null(b) ? 0 : (is_null(a) ? 1 : -1);
    if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
    return compare_values(a, b);
}

}  // namespace

bool abc_before(const Value& x, const Value& key, const Value& y, const Value& other) {
    const int c = compare_values(x, y);
    if (c != 0) return c > 0;
    return key_order(key, other) < 0;
}

namespace {

// x's exact-sum units (x positive), or nullopt beyond their range.
std::optional<SumUnits> abc_units(const Value& x) {
    if (const auto* i = std::get_if<int64_t>(&x)) return int_to_sum_units(*i);
    return to_sum_units(as_double(x));
}

Value row_key(const Column* keys, size_t row) {
    if (keys && !keys->empty()) return (*keys)[row];
    return Value{static_cast<int64_t>(row)};
}

Value rfm_record(const RfmFit& fit, const int64_t (&scores)[3]) {
    Value fields[3];
    for (int k = 0; k < 3; ++k) {
        if (scores[k] > 0) fields[k] = scores[k];
    }
    Value code;
    if (scores[0] > 0 && scores[1] > 0 && scores[2] > 0) {
        std::string text;
        for (int k = 0; k < 3; ++k) {
            if (k && fit.bins > 9) text += '-';
            text += std::to_string(scores[k]);
        }
        code = intern(text);
    }
    return make_record({fields[0], fields[1], fields[2], code});
}

// A score as 1..bins (flipped for best: low), or 0 for null.
int64_t rfm_score(const RfmFit& fit, const NtileFit& part, const Value& x) {
    const int64_t tile = tile_for(part, x);
    if (tile == 0) return 0;
    return fit.best_low ? fit.bins + 1 - tile : tile;
}

RfmFit fit_rfm(const bound::Call& call, const PopulationInput& in) {
    RfmFit fit;
    fit.bins = call.params.n;
    fit.best_low = call.params.best_low;
    const PackedColumn& recency = *in.args[0];
    // A later date is better; a recency given as a number is an age (days since), so a
    // smaller one is better.
    recency.for_each([&fit](size_t, const Value& v) {
        if (std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v))
            fit.recency_is_age = true;
    });
    // The three rankings are independent: they run side by side.
    auto r = start_pooled_async([&] { return fit_ntile(recency, fit.bins, fit.recency_is_age); });
    auto m = start_pooled_async([&] { return fit_ntile(*in.args[2], fit.bins); });
    fit.f = fit_ntile(*in.args[1], fit.bins);
    fit.m = m.get();
    fit.r = r.get();
    return fit;
}

Column apply_rfm(const RfmFit& fit, const PopulationInput& in) {
    const size_t rows = in.args[0]->size();
    // Each row's (r, f, m) scores as one number, worked out on two threads (three searches
    // of the cut points a row): which record a row gets.
    const auto side = static_cast<size_t>(fit.bins + 1);
    std::vector<uint32_t> combination(rows);
    constexpr size_t kStep = 4096;
    const size_t steps = (rows + kStep - 1) / kStep;
    for_each_on_two_threads(steps, [&](size_t step) {
        const size_t first = step * kStep;
        const size_t n = std::min(kStep, rows - first);
        std::vector<Value> block[3];
        for (size_t a = 0; a < 3; ++a) {
            block[a].resize(n);
            in.args[a]->unpack(first, n, block[a].data());
        }
        for (size_t k = 0; k < n; ++k) {
            const auto r = static_cast<size_t>(rfm_score(fit, fit.r, block[0][k]));
            const auto f = static_cast<size_t>(rfm_score(fit, fit.f, block[1][k]));
            const auto m = static_cast<size_t>(rfm_score(fit, fit.m, block[2][k]));
            combination[first + k] = static_cast<uint32_t>((r * side + f) * side + m);
        }
    });
    // Each combination's record is built once, on this thread, and shared, as records are
    // immutable values: a table of (bins + 1)³ entries (at most 101³).
    std::vector<RecordPtr> records(side * side * side, nullptr);
    Column out(rows);
    for (size_t i = 0; i < rows; ++i) {
        RecordPtr& record = records[combination[i]];
        if (!record) {
            const size_t c = combination[i];
            const int64_t scores[3] = {static_cast<int64_t>(c / (side * side)),
                                       static_cast<int64_t>(c / side % side),
                                       static_cast<int64_t>(c % side)};
            record = std::get<RecordPtr>(rfm_record(fit, scores));
        }
        out[i] = record;
    }
    return out;
}

}  // namespace

namespace {

template <typename X>
NtileFit fit_ntile_of(const X& x, int64_t n, bool descending) {
    NtileFit fit;
    fit.n = n;
    fit.descending = descending;
    fit.bins.resize(static_cast<size_t>(n));
    // Per bin: the smallest L seen (the cut's) and a row holding it.
    std::vector<size_t> cut_less(fit.bins.size(), SIZE_MAX);
    std::vector<size_t> cut_row(fit.bins.size(), 0);
    // And the largest L seen (the bin's last value's) and a row holding it.
    std::vector<size_t> last_less(fit.bins.size(), 0);
    std::vector<size_t> last_row(fit.bins.size(), 0);
    for_each_rank(x, descending, [&](size_t i, size_t less, size_t total) {
        const auto bin = static_cast<size_t>(tile_of(n, less, total) - 1);
        NtileBin& b = fit.bins[bin];
        ++b.customers;
        if (less < cut_less[bin]) {
            cut_less[bin] = less;
            cut_row[bin] = i;
            b.ties_at_cut = 1;
        } else if (less == cut_less[bin]) {
            ++b.ties_at_cut;
        }
        if (b.customers == 1 || less > last_less[bin]) {
            last_less[bin] = less;
            last_row[bin] = i;
        }
        fit.total = total;
    });
    for (size_t b = 0; b < fit.bins.size(); ++b) {
        if (fit.bins[b].customers == 0) continue;
        fit.bins[b].from = x[cut_row[b]];
        fit.bins[b].last = x[last_row[b]];
        fit.filled.push_back(static_cast<uint32_t>(b));
    }
    fit.nulls = x.size() - fit.total;
    return fit;
}

template <typename X>
PercentRankFit fit_percent_rank_of(const X& x) {
    PercentRankFit fit;
    // A row holding each L that occurs: the distinct values, in ascending order.
    constexpr uint32_t kNone = UINT32_MAX;
    std::vector<uint32_t> row_at(x.size(), kNone);
    for_each_rank(x, false, [&](size_t i, size_t less, size_t total) {
        if (row_at[less] == kNone) row_at[less] = static_cast<uint32_t>(i);
        fit.total = total;
    });
    for (size_t less = 0; less < row_at.size(); ++less) {
        if (row_at[less] == kNone) continue;
        fit.values.push_back(x[row_at[less]]);
        fit.below.push_back(less);
    }
    fit.nulls = x.size() - fit.total;
    return fit;
}

template <typename X>
AbcFit fit_abc_of(const X& x, const Column& keys, double a, double b) {
    AbcFit fit;
    fit.a = a;
    fit.b = b;
    const Column* key_column = &keys;
    std::vector<size_t> idx;
    for (size_t i = 0; i < x.size(); ++i) {
        if (!is_null(x[i])) idx.push_back(i);
    }
    fit.nulls = x.size() - idx.size();
    // x descending, then key ascending (the row when there are no keys): a total order for
    // distinct keys, so P is well defined.
    std::sort(idx.begin(), idx.end(), [&](size_t p, size_t q) {
        const Value kp = row_key(key_column, p), kq = row_key(key_column, q);
        if (abc_before(x[p], kp, x[q], kq)) return true;
        if (abc_before(x[q], kq, x[p], kp)) return false;
        return p < q;
    });
    // T, exactly; beyond its range no positive x gets a class.
    for (size_t i : idx) {
        if (as_double(x[i]) <= 0) continue;
        const auto units = abc_units(x[i]);
        if (!units || *units >= kAbcTotalLimit - fit.total_units) {
            fit.beyond_range = true;
            break;
        }
        fit.total_units += *units;
    }
    if (fit.beyond_range) fit.total_units = 0;
    fit.total = sum_units_to_double(fit.total_units);
    const SumUnits limit_a = share_limit(fit.total_units, share_fraction(a));
    const SumUnits limit_b = share_limit(fit.total_units, share_fraction(b));
    SumUnits before = 0;  // the positive units ranked strictly before this customer
    for (size_t i : idx) {
        if (as_double(x[i]) <= 0) {
            ++fit.count_c;
            continue;
        }
        if (fit.beyond_range) continue;
        AbcBoundary* last = nullptr;
        if (before < limit_a) {  // before·den_a < num_a·T
            ++fit.count_a;
            last = &fit.last_a;
        } else if (before < limit_b) {
            ++fit.count_b;
            last = &fit.last_b;
        } else {
            ++fit.count_c;
        }
        before += *abc_units(x[i]);
        if (last)
            *last = AbcBoundary{
                true, x[i], row_key(key_column, i),
                static_cast<long double>(before) / static_cast<long double>(fit.total_units)};
    }
    return fit;
}

}  // namespace

NtileFit fit_ntile(const Column& x, int64_t n, bool descending) {
    return fit_ntile_of(x, n, descending);
}
NtileFit fit_ntile(const PackedColumn& x, int64_t n, bool descending) {
    return fit_ntile_of(x, n, descending);
}
PercentRankFit fit_percent_rank(const Column& x) {
    return fit_percent_rank_of(x);
}
PercentRankFit fit_percent_rank(const PackedColumn& x) {
    return fit_percent_rank_of(x);
}
AbcFit fit_abc(const Column& x, const Column& keys, double a, double b) {
    return fit_abc_of(x, keys, a, b);
}
AbcFit fit_abc(const PackedColumn& x, const Column& keys, double a, double b) {
    return fit_abc_of(x, keys, a, b);
}

bool ranks_before(const NtileFit& fit, const Value& a, const Value& b) {
    const int c = compare_values(a, b);
    return fit.descending ? c > 0 : c < 0;
}

Value apply_ntile(const NtileFit& fit, const Value& x) {
    const int64_t tile = tile_for(fit, x);
    return tile > 0 ? Value{tile} : Value{};
}

Value apply_percent_rank(const PercentRankFit& fit, const Value& x) {
    if (is_null(x) || fit.total == 0) return {};
    // L: the customers below the first distinct value at or above x.
    const auto at = std::lower_bound(
        fit.values.begin(), fit.values.end(), x,
        [](const Value& v, const Value& want) { return compare_values(v, want) < 0; });
    const size_t k = static_cast<size_t>(at - fit.values.begin());
    const size_t less = k < fit.below.size() ? fit.below[k] : fit.total;
    return static_cast<double>(less) / static_cast<double>(fit.total);
}

Value apply_abc(const AbcFit& fit, const Value& x, const Value& key) {
    if (is_null(x)) return {};
    if (as_double(x) <= 0) return intern("C");
    if (fit.beyond_range) return {};
    // The classes run A, B, C along the order: a customer at or before A's last one is in A.
    auto at_or_before = [&](const AbcBoundary& last) {
        return last.present && !abc_before(last.value, last.key, x, key);
    };
    if (at_or_before(fit.last_a)) return intern("A");
    if (at_or_before(fit.last_b)) return intern("B");
    return intern("C");
}

bool has_fit(const bound::Call& call) {
    using bound::Fn;
    return call.fn == Fn::Ntile || call.fn == Fn::PercentRank || call.fn == Fn::Rfm ||
           call.fn == Fn::Abc;
}

PopulationFit fit_population(const bound::Call& call, const PopulationInput& in) {
    using bound::Fn;
    static const Column no_keys;
    switch (call.fn) {
        case Fn::Ntile:
            return fit_ntile(*in.args[0], call.params.n);
        case Fn::PercentRank:
            return fit_percent_rank(*in.args[0]);
        case Fn::Rfm:
            return fit_rfm(call, in);
        default:
            return fit_abc(*in.args[0], in.keys ? *in.keys : no_keys, call.params.a, call.params.b);
    }
}

Column apply_population(const bound::Call& call, const PopulationFit& fit,
                        const PopulationInput& in) {
    const PackedColumn& x = *in.args[0];
    if (const auto* r = std::get_if<RfmFit>(&fit)) return apply_rfm(*r, in);
    Column out(x.size());
    if (const auto* f = std::get_if<NtileFit>(&fit)) {
        x.for_each([&](size_t i, const Value& v) { out[i] = apply_ntile(*f, v); });
    } else if (const auto* p = std::get_if<PercentRankFit>(&fit)) {
        x.for_each([&](size_t i, const Value& v) { out[i] = apply_percent_rank(*p, v); });
    } else if (const auto* c = std::get_if<AbcFit>(&fit)) {
        x.for_each(
            [&](size_t i, const Value& v) { out[i] = apply_abc(*c, v, row_key(in.keys, i)); });
    }
    (void)call;
    return out;
}

Value apply_population(const bound::Call& call, const PopulationFit& fit,
                       const std::vector<Value>& args, const Value& key) {
    (void)call;
    if (const auto* f = std::get_if<NtileFit>(&fit)) return apply_ntile(*f, args.at(0));
    if (const auto* p = std::get_if<PercentRankFit>(&fit))
        return apply_percent_rank(*p, args.at(0));
    if (const auto* c = std::get_if<AbcFit>(&fit)) return apply_abc(*c, args.at(0), key);
    const auto& r = std::get<RfmFit>(fit);
    const int64_t scores[3] = {rfm_score(r, r.r, args.at(0)), rfm_score(r, r.f, args.at(1)),
                               rfm_score(r, r.m, args.at(2))};
    return rfm_record(r, scores);
}

Column ntile(const Column& x, int64_t n, bool descending) {
    const NtileFit fit = fit_ntile(x, n, descending);
    Column out(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        out[i] = apply_ntile(fit, x[i]);
    return out;
}

Column percent_rank(const Column& x) {
    const PercentRankFit fit = fit_percent_rank(x);
    Column out(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        out[i] = apply_percent_rank(fit, x[i]);
    return out;
}

Column abc_classes(const Column& x, const Column& keys, double a, double b) {
    const AbcFit fit = fit_abc(x, keys, a, b);
    Column out(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        out[i] = apply_abc(fit, x[i], row_key(&keys, i));
    return out;
}

PopulationFits::PopulationFits(const PopulationFits& other) {
    std::lock_guard lock(other.mutex_);
    fits_ = other.fits_;
}

const PopulationFit* PopulationFits::find(const bound::Expr* call) const {
    std::lock_guard lock(mutex_);
    const auto it = fits_.find(call);
    return it == fits_.end() ? nullptr : it->second.get();
}

const PopulationFit& PopulationFits::record(const bound::Expr* call, PopulationFit fit) {
    std::lock_guard lock(mutex_);
    auto it = fits_.find(call);
    if (it == fits_.end())
        it = fits_.emplace(call, std::make_shared<const PopulationFit>(std::move(fit))).first;
    return *it->second;
}

size_t PopulationFits::size() const {
    std::lock_guard lock(mutex_);
    return fits_.size();
}

}  // namespace strata
