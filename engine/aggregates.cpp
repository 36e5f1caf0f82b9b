#include "engine/aggregates.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "engine/aggregate_cells.hpp"
#include "engine/exact_sum.hpp"
#include "engine/parallel.hpp"

namespace strata {

using namespace aggregate_cells;

AggregateComputer::AggregateComputer(const bound::Program& program, size_t customers, Date as_of)
    : program_(program),
      customers_(customers),
      as_of_(as_of),
      future_rows_(program.facts.size(), 0),
      unknown_time_rows_(program.facts.size(), 0),
      state_(std::make_unique<State>()) {
    State& s = *state_;
    for (const auto& agg : program.aggregates) {
        int periods = agg.buckets;
        if (agg.fn == bound::AggFn::Cv && agg.per != bound::CvPeriod::Month) {
            const int days = as_of.days - add_duration(as_of, agg.over, -1).days;
            periods = agg.per == bound::CvPeriod::Week ? days / 7 : days;
        }
        periods_.push_back(std::max(periods, 1));
        s.offset.push_back(s.stride);
        s.stride += cells_for(agg);
        s.distinct.push_back(
            agg.fn == bound::AggFn::CountDistinct ? std::make_unique<DistinctCounter>() : nullptr);
        s.buckets.emplace_back();
        if (agg.fn == bound::AggFn::Cv)
            s.buckets.back().assign(customers * static_cast<size_t>(periods_.back()), 0);
    }
    s.aside.resize(program.aggregates.size());
    if (s.stride > 0 && s.stride < 8) s.stride = std::bit_ceil(s.stride);
    constexpr size_t kLine = 64 / sizeof(Cell);
    Cell zero;
    zero.i = 0;
    s.storage.assign(customers * s.stride + kLine, zero);
    const auto address = reinterpret_cast<uintptr_t>(s.storage.data());
    s.rows = s.storage.data() + ((64 - address % 64) % 64) / sizeof(Cell);
    // Min/max start empty: NaN, kNoTime or a null Value, not zero bytes.
    for (size_t a = 0; a < program.aggregates.size(); ++a) {
        const auto& agg = program.aggregates[a];
        if (agg.fn != bound::AggFn::Min && agg.fn != bound::AggFn::Max) continue;
        for (size_t c = 0; c < customers; ++c)
            reset_best(&s.rows[c * s.stride + s.offset[a]], best_kind(agg));
    }
}

AggregateComputer::~AggregateComputer() = default;

void AggregateComputer::count_customer_rows() {
    customer_rows_.assign(program_.facts.size(), CustomerRows{});
    for (auto& f : customer_rows_) {
        f.read.assign(customers_, 0);
        f.future.assign(customers_, 0);
        f.unknown_time.assign(customers_, 0);
    }
}

AggregateComputer::RowsOf AggregateComputer::rows_of(size_t customer, int fact) const {
    if (customer_rows_.empty()) return {};
    const CustomerRows& f = customer_rows_[static_cast<size_t>(fact)];
    return {f.read[customer], f.future[customer], f.unknown_time[customer]};
}

void AggregateComputer::count_rows() {
    const size_t n = program_.aggregates.size();
    row_counts_.taken.assign(n, std::vector<int64_t>(customers_, 0));
    row_counts_.without_value.assign(n, std::vector<int64_t>(customers_, 0));
}

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
    State& s = *state_;
    Frame frame;
    frame.rows = chunk.rows;
    frame.as_of = as_of_;
    std::vector<PackedColumn> columns;  // the chunk's columns, read where they are
    columns.reserve(chunk.columns.size());
    for (const auto& c : chunk.columns) {
        columns.push_back(PackedColumn::borrow(&c));
        frame.columns.push_back(&columns.back());
    }

    // Rows that count: a known customer, and a time known to be on or before as_of (the
    // day of as_of included: the rule is day-granular). Under three-valued logic an unknown
    // time is not "on or before as_of", so such rows are left out too, and counted.
    std::vector<char>& live = live_;
    live.assign(chunk.rows, 1);
    const Column* time =
        use.time_slot >= 0 ? &chunk.columns[static_cast<size_t>(use.time_slot)] : nullptr;
    if (!customer_rows_.empty()) {
        CustomerRows& counts = customer_rows_[static_cast<size_t>(fact)];
        for (size_t i = 0; i < chunk.rows; ++i) {
            if (chunk.owner[i] < 0) continue;
            const auto c = static_cast<size_t>(chunk.owner[i]);
            ++counts.read[c];
            if (time && is_null((*time)[i]))
                ++counts.unknown_time[c];
            else if (time && day_of((*time)[i]) > as_of_)
                ++counts.future[c];
        }
    }
    for (size_t i = 0; i < chunk.rows; ++i) {
        if (chunk.owner[i] < 0) {
            live[i] = 0;
        } else if (time && is_null((*time)[i])) {
            live[i] = 0;
            ++unknown_time_rows_[static_cast<size_t>(fact)];
        } else if (time && day_of((*time)[i]) > as_of_) {
            live[i] = 0;
            ++future_rows_[static_cast<size_t>(fact)];
        }
    }

    // Each aggregate of this fact in turn: its filter and values a column at a time, then one
    // kernel over the chunk with the function and type settled once. A customer's rows still
    // add up in row order, so the sums are the same bytes as row-at-a-time.
    std::vector<char>& take = take_;
    for (size_t a = 0; a < program_.aggregates.size(); ++a) {
        const auto& agg = program_.aggregates[a];
        if (agg.fact != fact) continue;
        const size_t offset = s.offset[a];
        const char* takes = live.data();  // the rows this aggregate takes
        if (agg.where) {
            const std::vector<char> pass = evaluate_condition(*agg.where, frame);
            take.resize(chunk.rows);
            for (size_t i = 0; i < chunk.rows; ++i)
                take[i] = static_cast<char>(live[i] & pass[i]);
            takes = take.data();
        }
        auto cell_of = [&](size_t i) {
            return &s.rows[static_cast<size_t>(chunk.owner[i]) * s.stride + offset];
        };
        // Row counts (count_rows()): the rows the kernels below take; cv's, inside its window.
        const bool counting = !row_counts_.taken.empty();
        auto counted = [&](size_t i) {
            return takes[i] &&
                   (agg.fn != bound::AggFn::Cv ||
                    (time && period_index(agg, periods_[a], as_of_, day_of((*time)[i])) >= 0));
        };
        for (size_t i = 0; counting && i < chunk.rows; ++i) {
            if (counted(i)) ++row_counts_.taken[a][static_cast<size_t>(chunk.owner[i])];
        }
        if (!agg.value) {  // count(fact): every row taken counts
            for (size_t i = 0; i < chunk.rows; ++i) {
                if (takes[i]) ++cell_of(i)->i;
            }
            continue;
        }
        const ColumnRef ref = evaluate_ref(*agg.value, frame);
        const Value* values = ref.data->data() + (ref.constant ? 0 : ref.offset);
        const size_t step = ref.constant ? 0 : 1;  // row i's value is values[i * step]
        for (size_t i = 0; counting && i < chunk.rows; ++i) {
            if (is_null(values[i * step]) && counted(i))
                ++row_counts_.without_value[a][static_cast<size_t>(chunk.owner[i])];
        }
        // Calls body(cell, value, row) for each row taken whose value is present.
        auto each = [&](auto body) {
            for (size_t i = 0; i < chunk.rows; ++i) {
                if (!takes[i]) continue;
                const Value& v = values[i * step];
                if (is_null(v)) continue;
                body(cell_of(i), v, i);
            }
        };
        TotalsAside& aside = s.aside[a];
        // A value in units for an exact total; an integer sum adds the integers themselves.
        // Values with no exact form mark the customer's total as out of range.
        const bool integer_sum = agg.fn == bound::AggFn::Sum && agg.type == Type::Int;
        auto units = [integer_sum](const Value& v) -> std::optional<SumUnits> {
            if (const auto* d = std::get_if<double>(&v)) return to_sum_units(*d);
            if (const auto* n = std::get_if<int64_t>(&v))
                return integer_sum ? SumUnits{*n} : int_to_sum_units(*n);
            return std::nullopt;
        };
        auto add_to_total = [&](Cell* cell, size_t at, const Value& v) {
            if (const auto x = units(v))
                aside.add(cell->u, at, *x);
            else
                aside.out_of_range.insert(at);
        };
        auto owner = [&chunk](size_t i) { return static_cast<size_t>(chunk.owner[i]); };
        switch (agg.fn) {
            case bound::AggFn::Count:
                each([](Cell* cell, const Value&, size_t) { ++cell->i; });
                break;
            case bound::AggFn::Sum:
                each(
                    [&](Cell* cell, const Value& v, size_t i) { add_to_total(cell, owner(i), v); });
                break;
            case bound::AggFn::Avg:
                each([&](Cell* cell, const Value& v, size_t i) {
                    add_to_total(cell, owner(i), v);
                    ++cell[1].i;
                });
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max: {
                const int want = agg.fn == bound::AggFn::Min ? -1 : 1;
                switch (best_kind(agg)) {
                    case BestKind::Number:
                        each([&](Cell* cell, const Value& v, size_t) {
                            fold_number(cell, v, want);
                        });
                        break;
                    case BestKind::Time:
                        each([&](Cell* cell, const Value& v, size_t) {
                            fold_time(cell, v, want, agg.type);
                        });
                        break;
                    case BestKind::Value:
                        each(
                            [&](Cell* cell, const Value& v, size_t) { fold_value(cell, v, want); });
                        break;
                }
                break;
            }
            case bound::AggFn::CountDistinct:
                each([&](Cell* cell, const Value& v, size_t i) {
                    auto* mask = reinterpret_cast<uint64_t*>(&cell->i);
                    s.distinct[a]->add(static_cast<size_t>(chunk.owner[i]), v, *mask);
                });
                break;
            case bound::AggFn::Cv:
                each([&](Cell*, const Value& v, size_t i) {
                    if (!time || is_null((*time)[i])) return;
                    const int k = period_index(agg, periods_[a], as_of_, day_of((*time)[i]));
                    if (k < 0) return;
                    const auto x = units(v);
                    if (!x) {
                        aside.out_of_range.insert(owner(i));
                        return;
                    }
                    const size_t at =
                        owner(i) * static_cast<size_t>(periods_[a]) + static_cast<size_t>(k);
                    aside.add(s.buckets[a][at], at, *x);
                });
                break;
        }
    }
}

void AggregateComputer::merge(AggregateComputer& other) {
    State& s = *state_;
    State& o = *other.state_;
    for (size_t f = 0; f < future_rows_.size(); ++f) {
        future_rows_[f] += other.future_rows_[f];
        unknown_time_rows_[f] += other.unknown_time_rows_[f];
    }
    for (size_t a = 0; a < row_counts_.taken.size() && !other.row_counts_.taken.empty(); ++a) {
        for (size_t c = 0; c < customers_; ++c) {
            row_counts_.taken[a][c] += other.row_counts_.taken[a][c];
            row_counts_.without_value[a][c] += other.row_counts_.without_value[a][c];
        }
    }
    other.row_counts_ = {};
    for (size_t f = 0; f < customer_rows_.size() && !other.customer_rows_.empty(); ++f) {
        CustomerRows& mine = customer_rows_[f];
        const CustomerRows& theirs = other.customer_rows_[f];
        for (size_t c = 0; c < customers_; ++c) {
            mine.read[c] += theirs.read[c];
            mine.future[c] += theirs.future[c];
            mine.unknown_time[c] += theirs.unknown_time[c];
        }
    }
    other.customer_rows_ = {};
    // Each aggregate's cells are its own: they merge side by side.
    for_each_on_two_threads(program_.aggregates.size(), [&](size_t a) {
        const auto& agg = program_.aggregates[a];
        auto mine = [&s, a](size_t c) { return &s.rows[c * s.stride + s.offset[a]]; };
        auto theirs = [&o, a](size_t c) { return &o.rows[c * o.stride + o.offset[a]]; };
        switch (agg.fn) {
            case bound::AggFn::Count:
                for (size_t c = 0; c < customers_; ++c)
                    mine(c)->i += theirs(c)->i;
                break;
            case bound::AggFn::Sum:
            case bound::AggFn::Avg:
                s.aside[a].merge(o.aside[a]);
                for (size_t c = 0; c < customers_; ++c) {
                    s.aside[a].add(mine(c)->u, c, static_cast<SumUnits>(theirs(c)->u));
                    if (agg.fn == bound::AggFn::Avg) mine(c)[1].i += theirs(c)[1].i;
                }
                break;
            case bound::AggFn::Min:
            case bound::AggFn::Max: {
                const int want = agg.fn == bound::AggFn::Min ? -1 : 1;
                const BestKind kind = best_kind(agg);
                for (size_t c = 0; c < customers_; ++c)
                    merge_best(mine(c), theirs(c), want, kind, agg.type);
                break;
            }
            case bound::AggFn::CountDistinct:
                s.distinct[a]->merge(
                    *o.distinct[a], customers_,
                    [&](size_t c) -> uint64_t& {
                        return *reinterpret_cast<uint64_t*>(&mine(c)->i);
                    },
                    [&](size_t c) { return static_cast<uint64_t>(theirs(c)->i); });
                break;
            case bound::AggFn::Cv:
                s.aside[a].merge(o.aside[a]);
                for (size_t k = 0; k < s.buckets[a].size(); ++k)
                    s.aside[a].add(s.buckets[a][k], k, static_cast<SumUnits>(o.buckets[a][k]));
                break;
        }
    });
    o.storage = {};
    o.rows = nullptr;
    o.buckets.assign(o.buckets.size(), {});
}

std::vector<PackedColumn> AggregateComputer::finish() {
    State& s = *state_;
    std::vector<PackedColumn> out(program_.aggregates.size());
    for_each_on_two_threads(program_.aggregates.size(), [&](size_t a) {
        const auto& agg = program_.aggregates[a];
        auto cell = [&s, a](size_t c) -> const Cell* {
            return &s.rows[c * s.stride + s.offset[a]];
        };
        Column col(customers_);
        switch (agg.fn) {
            case bound::AggFn::Count:
                for (size_t c = 0; c < customers_; ++c)
                    col[c] = cell(c)->i;
                break;
            case bound::AggFn::Sum: {
                // A sum over no rows is 0, so that revenue-style fields stay numbers. A total
                // beyond the type's range is null, as integer overflow is everywhere.
                const TotalsAside& aside = s.aside[a];
                for (size_t c = 0; c < customers_; ++c) {
                    if (aside.out_of_range_at(c)) continue;
                    const auto total = aside.total(cell(c)->u, c);
                    if (!total) continue;
                    if (agg.type != Type::Int)
                        col[c] = sum_units_to_double(*total);
                    else if (*total >= INT64_MIN && *total <= INT64_MAX)
                        col[c] = static_cast<int64_t>(*total);
                }
                break;
            }
            case bound::AggFn::Avg: {
                const TotalsAside& aside = s.aside[a];
                for (size_t c = 0; c < customers_; ++c) {
                    if (aside.out_of_range_at(c) || cell(c)[1].i == 0) continue;
                    if (const auto total = aside.total(cell(c)->u, c))
                        col[c] = average_of_units(*total, cell(c)[1].i);
                }
                break;
            }
            case bound::AggFn::Min:
            case bound::AggFn::Max:
                for (size_t c = 0; c < customers_; ++c)
                    col[c] = best_value(cell(c), best_kind(agg), agg.type);
                break;
            case bound::AggFn::CountDistinct: {
                std::vector<int64_t> counts(customers_);
                for (size_t c = 0; c < customers_; ++c)
                    counts[c] = __builtin_popcountll(static_cast<uint64_t>(cell(c)->i));
                s.distinct[a]->add_rare(counts);
                for (size_t c = 0; c < customers_; ++c)
                    col[c] = counts[c];
                s.distinct[a].reset();
                break;
            }
            case bound::AggFn::Cv: {
                const auto periods = static_cast<size_t>(periods_[a]);
                const TotalsAside& aside = s.aside[a];
                std::vector<double> b(periods);
                for (size_t c = 0; c < customers_; ++c) {
                    if (aside.out_of_range_at(c)) continue;
                    bool exact = true;
                    for (size_t k = 0; k < periods && exact; ++k) {
                        const auto total =
                            aside.total(s.buckets[a][c * periods + k], c * periods + k);
                        exact = total.has_value();
                        b[k] = total ? sum_units_to_double(*total) : 0;
                    }
                    if (!exact) continue;
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
                s.buckets[a] = {};
                break;
            }
        }
        out[a] = PackedColumn::pack(std::move(col));
    });
    s.storage = {};
    s.rows = nullptr;
    return out;
}

}  // namespace strata
