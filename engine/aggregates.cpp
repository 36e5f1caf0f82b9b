#include "engine/aggregates.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace strata {

namespace {

struct ValueHash {
    size_t operator()(const Value& v) const {
        return std::visit(
            [](const auto& x) -> size_t {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::string>)
                    return std::hash<std::string>{}(x);
                else if constexpr (std::is_same_v<T, int64_t>)
                    return std::hash<int64_t>{}(x);
                else if constexpr (std::is_same_v<T, double>)
                    return std::hash<double>{}(x);
                else if constexpr (std::is_same_v<T, bool>)
                    return x ? 1 : 2;
                else if constexpr (std::is_same_v<T, Date>)
                    return std::hash<int32_t>{}(x.days);
                else if constexpr (std::is_same_v<T, DateTime>)
                    return std::hash<int64_t>{}(x.seconds);
                else
                    return 0;
            },
            v);
    }
};

struct ValueEqual {
    bool operator()(const Value& a, const Value& b) const {
        return a.index() == b.index() && compare_values(a, b) == 0;
    }
};

// count_distinct: values get dense ids; the first 64 ids are bits of a per-customer mask,
// rarer ones (customer, id) pairs, sorted once at the end.
class DistinctCounter {
  public:
    explicit DistinctCounter(size_t customers) : masks_(customers, 0) {}

    void add(size_t customer, const Value& v) {
        auto [it, inserted] = ids_.emplace(v, static_cast<uint32_t>(ids_.size()));
        const uint32_t id = it->second;
        if (id < 64)
            masks_[customer] |= uint64_t{1} << id;
        else
            pairs_.push_back((static_cast<uint64_t>(customer) << 32) | id);
    }

    std::vector<int64_t> counts() {
        std::vector<int64_t> out(masks_.size());
        for (size_t c = 0; c < masks_.size(); ++c)
            out[c] = __builtin_popcountll(masks_[c]);
        std::sort(pairs_.begin(), pairs_.end());
        pairs_.erase(std::unique(pairs_.begin(), pairs_.end()), pairs_.end());
        for (uint64_t p : pairs_)
            ++out[p >> 32];
        return out;
    }

  private:
    std::unordered_map<Value, uint32_t, ValueHash, ValueEqual> ids_;
    std::vector<uint64_t> masks_;
    std::vector<uint64_t> pairs_;
};

}  // namespace

struct AggregateComputer::State {
    std::vector<int64_t> count;
    std::vector<int64_t> int_sum;
    std::vector<double> sum;
    std::vector<Value> best;  // min / max
    std::unique_ptr<DistinctCounter> distinct;
    std::vector<double> buckets;  // cv: customers × periods
};

AggregateComputer::AggregateComputer(const bound::Program& program, size_t customers, Date as_of)
    : program_(program),
      customers_(customers),
      as_of_(as_of),
      future_rows_(program.facts.size(), 0) {
    for (const auto& agg : program.aggregates) {
        int periods = agg.buckets;
        if (agg.fn == bound::AggFn::Cv && agg.per != bound::CvPeriod::Month) {
            const int days = as_of.days - add_duration(as_of, agg.over, -1).days;
            periods = agg.per == bound::CvPeriod::Week ? days / 7 : days;
        }
        periods_.push_back(std::max(periods, 1));
        const auto& agg_periods = periods_.back();
        auto s = std::make_unique<State>();
        s->count.assign(customers, 0);
        switch (agg.fn) {
            case bound::AggFn::Sum:
            case bound::AggFn::Avg:
                s->sum.assign(customers, 0.0);
                s->int_sum.assign(customers, 0);
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max:
                s->best.assign(customers, Value{});
                break;
            case bound::AggFn::Cv:
                s->buckets.assign(customers * static_cast<size_t>(agg_periods), 0.0);
                break;
            case bound::AggFn::CountDistinct:
                s->distinct = std::make_unique<DistinctCounter>(customers);
                break;
            default:
                break;
        }
        states_.push_back(std::move(s));
    }
}

AggregateComputer::~AggregateComputer() = default;

namespace {

Date day_of(const Value& v) {
    if (const auto* d = std::get_if<Date>(&v)) return *d;
    return to_date(std::get<DateTime>(v));
}

// The period (0 = the latest) a day falls into, counting back from as_of; -1 if outside.
int period_index(const bound::Aggregate& agg, int periods, Date as_of, Date day) {
    if (day > as_of) return -1;
    int k = 0;
    if (agg.per == bound::CvPeriod::Month) {
        const auto a = civil_from_days(as_of.days);
        const auto d = civil_from_days(day.days);
        k = std::max(0, (a.year * 12 + a.month) - (d.year * 12 + d.month) - 1);
        // Period k is (as_of − (k+1) months, as_of − k months].
        while (day <= add_duration(as_of, Duration{k + 1, 0}, -1))
            ++k;
    } else {
        const int length = agg.per == bound::CvPeriod::Week ? 7 : 1;
        k = (as_of.days - day.days) / length;
    }
    return k < periods ? k : -1;
}

}  // namespace

void AggregateComputer::add(int fact, const FactChunk& chunk) {
    const auto& use = program_.facts[static_cast<size_t>(fact)];
    Frame frame;
    frame.rows = chunk.rows;
    frame.as_of = as_of_;
    for (const auto& c : chunk.columns)
        frame.columns.push_back(&c);

    // Rows that count: a known customer, and not after as_of.
    std::vector<char> live(chunk.rows, 1);
    const Column* time =
        use.time_slot >= 0 ? &chunk.columns[static_cast<size_t>(use.time_slot)] : nullptr;
    for (size_t i = 0; i < chunk.rows; ++i) {
        if (chunk.owner[i] < 0)
            live[i] = 0;
        else if (time && !is_null((*time)[i]) && day_of((*time)[i]) > as_of_) {
            live[i] = 0;
            ++future_rows_[static_cast<size_t>(fact)];
        }
    }

    for (size_t a = 0; a < program_.aggregates.size(); ++a) {
        const auto& agg = program_.aggregates[a];
        if (agg.fact != fact) continue;
        State& s = *states_[a];
        ColumnRef where;
        if (agg.where) where = evaluate_ref(*agg.where, frame);
        ColumnRef values;
        if (agg.value) values = evaluate_ref(*agg.value, frame);
        for (size_t i = 0; i < chunk.rows; ++i) {
            if (!live[i]) continue;
            if (agg.where) {
                const auto* b = std::get_if<bool>(&where[i]);
                if (!b || !*b) continue;
            }
            const auto c = static_cast<size_t>(chunk.owner[i]);
            if (!agg.value) {
                ++s.count[c];
                continue;
            }
            const Value& v = values[i];
            if (is_null(v)) continue;
            ++s.count[c];
            switch (agg.fn) {
                case bound::AggFn::Sum:
                case bound::AggFn::Avg:
                    if (const auto* n = std::get_if<int64_t>(&v)) {
                        if (__builtin_add_overflow(s.int_sum[c], *n, &s.int_sum[c]))
                            s.int_sum[c] = INT64_MAX;
                    }
                    s.sum[c] += as_double(v);
                    break;
                case bound::AggFn::Min:
                    if (is_null(s.best[c]) || compare_values(v, s.best[c]) < 0) s.best[c] = v;
                    break;
                case bound::AggFn::Max:
                    if (is_null(s.best[c]) || compare_values(v, s.best[c]) > 0) s.best[c] = v;
                    break;
                case bound::AggFn::CountDistinct:
                    s.distinct->add(c, v);
                    break;
                case bound::AggFn::Cv: {
                    if (!time || is_null((*time)[i])) break;
                    const int k = period_index(agg, periods_[a], as_of_, day_of((*time)[i]));
                    if (k >= 0)
                        s.buckets[c * static_cast<size_t>(periods_[a]) + static_cast<size_t>(k)] +=
                            as_double(v);
                    break;
                }
                default:
                    break;
            }
        }
    }
}

std::vector<Column> AggregateComputer::finish() {
    std::vector<Column> out;
    for (size_t a = 0; a < program_.aggregates.size(); ++a) {
        const auto& agg = program_.aggregates[a];
        State& s = *states_[a];
        Column col(customers_);
        switch (agg.fn) {
            case bound::AggFn::Count:
                for (size_t c = 0; c < customers_; ++c)
                    col[c] = s.count[c];
                break;
            case bound::AggFn::Sum:
                // A sum over no rows is 0, so that revenue-style fields stay numbers.
                for (size_t c = 0; c < customers_; ++c) {
                    col[c] = agg.type == Type::Int && s.int_sum[c] != INT64_MAX
                                 ? Value{s.int_sum[c]}
                                 : Value{s.sum[c]};
                }
                break;
            case bound::AggFn::Avg:
                for (size_t c = 0; c < customers_; ++c) {
                    if (s.count[c] > 0) col[c] = s.sum[c] / static_cast<double>(s.count[c]);
                }
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max:
                for (size_t c = 0; c < customers_; ++c)
                    col[c] = coerce(s.best[c], agg.type);
                break;
            case bound::AggFn::CountDistinct: {
                const std::vector<int64_t> counts = s.distinct->counts();
                for (size_t c = 0; c < customers_; ++c)
                    col[c] = counts[c];
                s.distinct.reset();
                break;
            }
            case bound::AggFn::Cv: {
                const auto periods = static_cast<size_t>(periods_[a]);
                for (size_t c = 0; c < customers_; ++c) {
                    const double* b = &s.buckets[c * periods];
                    double mean = 0;
                    for (size_t k = 0; k < periods; ++k)
                        mean += b[k];
                    mean /= static_cast<double>(periods);
                    if (mean == 0) continue;
                    double var = 0;
                    for (size_t k = 0; k < periods; ++k)
                        var += (b[k] - mean) * (b[k] - mean);
                    col[c] = std::sqrt(var / static_cast<double>(periods)) / std::fabs(mean);
                }
                break;
            }
        }
        out.push_back(std::move(col));
    }
    return out;
}

}  // namespace strata
