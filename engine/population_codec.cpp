#include "engine/population_codec.hpp"

#include "engine/bytes.hpp"

namespace strata {

namespace {

// Bumped when the layout below changes; older layouts still decode. Layout 1 kept abc's total
// as a long double (its shares were added in extended precision): applying one needs only the
// boundary customers, which the run chose. Layouts 1 and 2 kept no bin's last value, so a
// value the base never had counts as in the bin whose cut is before it.
constexpr uint64_t kLayout = 3;
constexpr uint64_t kLayoutNoBinLast = 2;
constexpr uint64_t kLayoutLongDoubleAbc = 1;

void put_ntile(ByteWriter& w, const NtileFit& f) {
    w.i64(f.n);
    w.u64(f.descending);
    w.u64(f.total);
    w.u64(f.nulls);
    w.u64(f.bins.size());
    for (const NtileBin& b : f.bins) {
        w.value(b.from);
        w.u64(b.customers);
        w.u64(b.ties_at_cut);
        w.value(b.last);
    }
    w.u64(f.filled.size());
    for (uint32_t i : f.filled)
        w.u64(i);
}

// A list's length, refused when it could not fit in what is left (a corrupt length).
size_t length(ByteReader& r) {
    const uint64_t n = r.u64();
    if (n > (uint64_t{1} << 32)) r.fail();
    return r.ok() ? static_cast<size_t>(n) : 0;
}

NtileFit get_ntile(ByteReader& r, uint64_t layout) {
    NtileFit f;
    f.n = r.i64();
    f.descending = r.u64() != 0;
    f.total = r.u64();
    f.nulls = r.u64();
    const size_t bins = length(r);
    for (size_t i = 0; i < bins && r.ok(); ++i) {
        NtileBin b;
        b.from = r.value();
        b.customers = r.u64();
        b.ties_at_cut = r.u64();
        if (layout > kLayoutNoBinLast) b.last = r.value();
        f.bins.push_back(b);
    }
    const size_t filled = length(r);
    for (size_t i = 0; i < filled && r.ok(); ++i)
        f.filled.push_back(static_cast<uint32_t>(r.u64()));
    return f;
}

// A long double as two doubles whose sum it is (exact: 106 bits hold its 64).
void put_long(ByteWriter& w, long double x) {
    const auto hi = static_cast<double>(x);
    w.f64(hi);
    w.f64(static_cast<double>(x - hi));
}

long double get_long(ByteReader& r) {
    const long double hi = r.f64();
    return hi + r.f64();
}

void put_boundary(ByteWriter& w, const AbcBoundary& b) {
    w.u64(b.present);
    w.value(b.value);
    w.value(b.key);
    put_long(w, b.share_after);
}

AbcBoundary get_boundary(ByteReader& r) {
    AbcBoundary b;
    b.present = r.u64() != 0;
    b.value = r.value();
    b.key = r.value();
    b.share_after = get_long(r);
    return b;
}

}  // namespace

std::string encode_fit(const PopulationFit& fit) {
    ByteWriter w;
    w.u64(kLayout);
    w.u64(fit.index());
    if (const auto* f = std::get_if<NtileFit>(&fit)) {
        put_ntile(w, *f);
    } else if (const auto* p = std::get_if<PercentRankFit>(&fit)) {
        w.u64(p->total);
        w.u64(p->nulls);
        w.u64(p->values.size());
        for (size_t i = 0; i < p->values.size(); ++i) {
            w.value(p->values[i]);
            w.u64(p->below[i]);
        }
    } else if (const auto* m = std::get_if<RfmFit>(&fit)) {
        w.i64(m->bins);
        w.u64(m->best_low);
        w.u64(m->recency_is_age);
        put_ntile(w, m->r);
        put_ntile(w, m->f);
        put_ntile(w, m->m);
    } else {
        const auto& a = std::get<AbcFit>(fit);
        w.f64(a.a);
        w.f64(a.b);
        w.f64(a.total);
        const auto units = static_cast<unsigned __int128>(a.total_units);
        w.u64(static_cast<uint64_t>(units >> 64));
        w.u64(static_cast<uint64_t>(units));
        w.u64(a.beyond_range);
        put_boundary(w, a.last_a);
        put_boundary(w, a.last_b);
        w.u64(a.count_a);
        w.u64(a.count_b);
        w.u64(a.count_c);
        w.u64(a.nulls);
    }
    return w.take();
}

std::optional<PopulationFit> decode_fit(std::string_view bytes) {
    ByteReader r(bytes);
    const uint64_t layout = r.u64();
    if (layout < kLayoutLongDoubleAbc || layout > kLayout) return std::nullopt;
    PopulationFit fit;
    switch (r.u64()) {
        case 0:
            fit = get_ntile(r, layout);
            break;
        case 1: {
            PercentRankFit p;
            p.total = r.u64();
            p.nulls = r.u64();
            const size_t n = length(r);
            for (size_t i = 0; i < n && r.ok(); ++i) {
                p.values.push_back(r.value());
                p.below.push_back(r.u64());
            }
            fit = std::move(p);
            break;
        }
        case 2: {
            RfmFit m;
            m.bins = r.i64();
            m.best_low = r.u64() != 0;
            m.recency_is_age = r.u64() != 0;
            m.r = get_ntile(r, layout);
            m.f = get_ntile(r, layout);
            m.m = get_ntile(r, layout);
            fit = std::move(m);
            break;
        }
        case 3: {
            AbcFit a;
            a.a = r.f64();
            a.b = r.f64();
            if (layout == kLayoutLongDoubleAbc) {
                a.total = static_cast<double>(get_long(r));
                a.total_units = to_sum_units(a.total).value_or(0);
            } else {
                a.total = r.f64();
                const uint64_t high = r.u64(), low = r.u64();
                a.total_units =
                    static_cast<SumUnits>((static_cast<unsigned __int128>(high) << 64) | low);
                a.beyond_range = r.u64() != 0;
            }
            a.last_a = get_boundary(r);
            a.last_b = get_boundary(r);
            a.count_a = r.u64();
            a.count_b = r.u64();
            a.count_c = r.u64();
            a.nulls = r.u64();
            fit = std::move(a);
            break;
        }
        default:
            return std::nullopt;
    }
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return fit;
}

}  // namespace strata
