#include "engine/aggregates.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <sys/mman.h>
#include <unistd.h>

#include "engine/aggregate_cells.hpp"
#include "engine/exact_sum.hpp"
#include "engine/parallel.hpp"

namespace strata {

using namespace aggregate_cells;

AggregateComputer::AggregateComputer(const bound::Program& program, size_t customers, Date as_of,
                                     size_t windows)
    : program_(program), customers_(customers), as_of_(as_of) {
    for (const auto& agg : program.aggregates) {
        int periods = agg.buckets;
        if (agg.fn == bound::AggFn::Cv && agg.per != bound::CvPeriod::Month) {
            const int days = as_of.days - add_duration(as_of, agg.over, -1).days;
            periods = agg.per == bound::CvPeriod::Week ? days / 7 : days;
        }
        periods_.push_back(std::max(periods, 1));
    }
    windows = std::clamp<size_t>(windows, 1, std::max<size_t>(customers, 1));
    for (size_t w = 0; w < windows; ++w) {
        auto win = std::make_unique<Window>();
        win->first = customers * w / windows;
        win->count = customers * (w + 1) / windows - win->first;
        win->future_rows.assign(program.facts.size(), 0);
        win->unknown_time_rows.assign(program.facts.size(), 0);
        win->earliest_future.assign(program.facts.size(), std::nullopt);
        ComputerState& s = win->state;
        const size_t n = win->count;
        for (size_t a = 0; a < program.aggregates.size(); ++a) {
            const auto& agg = program.aggregates[a];
            s.offset.push_back(s.stride);
            s.stride += cells_for(agg);
            s.distinct.push_back(agg.fn == bound::AggFn::CountDistinct
                                     ? std::make_unique<DistinctCounter>()
                                     : nullptr);
            s.buckets.emplace_back();
            if (agg.fn == bound::AggFn::Cv)
                s.buckets.back().assign(n * static_cast<size_t>(periods_[a]), 0);
        }
        s.aside.resize(program.aggregates.size());
        if (s.stride > 0 && s.stride < 8) s.stride = std::bit_ceil(s.stride);
        constexpr size_t kLine = 64 / sizeof(Cell);
        Cell zero;
        zero.i = 0;
        s.storage.assign(n * s.stride + kLine, zero);
        const auto address = reinterpret_cast<uintptr_t>(s.storage.data());
        s.rows = s.storage.data() + ((64 - address % 64) % 64) / sizeof(Cell);
        // Min/max start empty: NaN, kNoTime or a null Value, not zero bytes.
        for (size_t a = 0; a < program.aggregates.size(); ++a) {
            const auto& agg = program.aggregates[a];
            if (agg.fn != bound::AggFn::Min && agg.fn != bound::AggFn::Max) continue;
            for (size_t c = 0; c < n; ++c)
                reset_best(&s.rows[c * s.stride + s.offset[a]], best_kind(agg));
        }
        windows_.push_back(std::move(win));
    }
}

AggregateComputer::~AggregateComputer() = default;

std::pair<size_t, size_t> AggregateComputer::window_rows(size_t w) const {
    const Window& win = *windows_.at(w);
    return {win.first, win.first + win.count};
}

AggregateComputer::Window& AggregateComputer::window_of(size_t customer, size_t& local) const {
    for (const auto& w : windows_) {
        if (customer < w->first + w->count) {
            local = customer - w->first;
            return *w;
        }
    }
    local = customer - windows_.back()->first;
    return *windows_.back();
}

void AggregateComputer::count_customer_rows() {
    for (auto& w : windows_) {
        w->customer_rows.assign(program_.facts.size(), CustomerRows{});
        for (auto& f : w->customer_rows) {
            f.read.assign(w->count, 0);
            f.future.assign(w->count, 0);
            f.unknown_time.assign(w->count, 0);
        }
    }
}

AggregateComputer::RowsOf AggregateComputer::rows_of(size_t customer, int fact) const {
    size_t c = 0;
    const Window& w = window_of(customer, c);
    if (w.customer_rows.empty()) return {};
    const CustomerRows& f = w.customer_rows[static_cast<size_t>(fact)];
    return {f.read[c], f.future[c], f.unknown_time[c]};
}

void AggregateComputer::count_rows() {
    const size_t n = program_.aggregates.size();
    for (auto& w : windows_) {
        w->row_counts.taken.assign(n, std::vector<int64_t>(w->count, 0));
        w->row_counts.without_value.assign(n, std::vector<int64_t>(w->count, 0));
    }
}

AggregateRowCounts AggregateComputer::take_row_counts() {
    if (windows_.size() == 1) return std::move(windows_[0]->row_counts);
    AggregateRowCounts out;
    if (windows_[0]->row_counts.taken.empty()) return out;
    const size_t n = program_.aggregates.size();
    out.taken.assign(n, {});
    out.without_value.assign(n, {});
    for (auto& w : windows_) {
        for (size_t a = 0; a < n; ++a) {
            auto& taken = w->row_counts.taken[a];
            auto& without = w->row_counts.without_value[a];
            out.taken[a].insert(out.taken[a].end(), taken.begin(), taken.end());
            out.without_value[a].insert(out.without_value[a].end(), without.begin(), without.end());
        }
        w->row_counts = {};
    }
    return out;
}

std::vector<size_t> AggregateComputer::future_rows() const {
    return over_windows(&Window::future_rows);
}

std::vector<std::optional<Date>> AggregateComputer::earliest_future_days() const {
    std::vector<std::optional<Date>> earliest(program_.facts.size());
    for (const auto& w : windows_)
        for (size_t f = 0; f < earliest.size(); ++f)
            if (w->earliest_future[f] && (!earliest[f] || *w->earliest_future[f] < *earliest[f]))
                earliest[f] = w->earliest_future[f];
    return earliest;
}

std::vector<size_t> AggregateComputer::unknown_time_rows() const {
    return over_windows(&Window::unknown_time_rows);
}

std::vector<size_t> AggregateComputer::over_windows(std::vector<size_t> Window::*counts) const {
    std::vector<size_t> total(program_.facts.size(), 0);
    for (const auto& w : windows_)
        for (size_t f = 0; f < total.size(); ++f)
            total[f] += ((*w).*counts)[f];
    return total;
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
    for (auto& w : windows_)
        add_to(*w, fact, chunk);
}

void AggregateComputer::add(int fact, const FactChunk& chunk, size_t window) {
    add_to(*windows_.at(window), fact, chunk);
}

void AggregateComputer::add_to(Window& w, int fact, const FactChunk& chunk) {
    const auto& use = program_.facts[static_cast<size_t>(fact)];
    ComputerState& s = w.state;
    // Each row's customer as a row of this window's, or -1.
    const int64_t* owner_of = chunk.owner.data();
    if (windows_.size() > 1) {
        w.owner.resize(chunk.rows);
        const auto first = static_cast<int64_t>(w.first);
        const auto count = static_cast<int64_t>(w.count);
        bool any = false;
        for (size_t i = 0; i < chunk.rows; ++i) {
            const int64_t c = chunk.owner[i] - first;
            const bool mine = c >= 0 && c < count;
            w.owner[i] = mine ? c : -1;
            any |= mine;
        }
        if (!any) return;  // the chunk's rows are all other windows' (or no customer's)
        owner_of = w.owner.data();
    }
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
    std::vector<char>& live = w.live;
    live.assign(chunk.rows, 1);
    const Column* time =
        use.time_slot >= 0 ? &chunk.columns[static_cast<size_t>(use.time_slot)] : nullptr;
    if (!w.customer_rows.empty()) {
        CustomerRows& counts = w.customer_rows[static_cast<size_t>(fact)];
        for (size_t i = 0; i < chunk.rows; ++i) {
            if (owner_of[i] < 0) continue;
            const auto c = static_cast<size_t>(owner_of[i]);
            ++counts.read[c];
            if (time && is_null((*time)[i]))
                ++counts.unknown_time[c];
            else if (time && day_of((*time)[i]) > as_of_)
                ++counts.future[c];
        }
    }
    for (size_t i = 0; i < chunk.rows; ++i) {
        if (owner_of[i] < 0) {
            live[i] = 0;
        } else if (time && is_null((*time)[i])) {
            live[i] = 0;
            ++w.unknown_time_rows[static_cast<size_t>(fact)];
        } else if (const Date day = time ? day_of((*time)[i]) : as_of_; day > as_of_) {
            live[i] = 0;
            ++w.future_rows[static_cast<size_t>(fact)];
            std::optional<Date>& earliest = w.earliest_future[static_cast<size_t>(fact)];
            if (!earliest || day < *earliest) earliest = day;
        }
    }

    // Each aggregate of this fact in turn: its filter and values a column at a time, then one
    // kernel over the chunk with the function and type settled once. Totals are exact, so the
    // order in which a customer's rows come does not change their bytes.
    std::vector<char>& take = w.take;
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
            return &s.rows[static_cast<size_t>(owner_of[i]) * s.stride + offset];
        };
        // Row counts (count_rows()): the rows the kernels below take; cv's, inside its window.
        const bool counting = !w.row_counts.taken.empty();
        auto counted = [&](size_t i) {
            return takes[i] &&
                   (agg.fn != bound::AggFn::Cv ||
                    (time && period_index(agg, periods_[a], as_of_, day_of((*time)[i])) >= 0));
        };
        for (size_t i = 0; counting && i < chunk.rows; ++i) {
            if (counted(i)) ++w.row_counts.taken[a][static_cast<size_t>(owner_of[i])];
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
                ++w.row_counts.without_value[a][static_cast<size_t>(owner_of[i])];
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
        auto owner = [owner_of](size_t i) { return static_cast<size_t>(owner_of[i]); };
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
                    s.distinct[a]->add(static_cast<size_t>(owner_of[i]), v, *mask);
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

std::vector<PackedColumn> AggregateComputer::finish() {
    const size_t aggregates = program_.aggregates.size();
    std::vector<PackedColumnBuilder> columns;
    columns.reserve(aggregates);
    for (size_t a = 0; a < aggregates; ++a)
        columns.emplace_back(customers_);
    std::vector<Column> scratch(aggregates);
    // A block of customers at a time, each aggregate's values packed as they come: neither a
    // whole column of values nor the whole state beside the packed columns is ever held.
    constexpr size_t kBlock = 1 << 18;
    for (auto& w : windows_) {
        for (auto& d : w->state.distinct) {
            if (d) d->prepare_reading();
        }
        for (size_t first = 0; first < w->count; first += kBlock) {
            const size_t n = std::min(kBlock, w->count - first);
            for_each_on_two_threads(aggregates, [&](size_t a) {
                scratch[a].assign(n, Value{});
                finish_block(a, *w, first, n, scratch[a].data());
                columns[a].append(scratch[a].data(), n);
            });
            release_rows(w->state, first + n);
        }
        w->state = {};
    }
    std::vector<PackedColumn> out;
    out.reserve(aggregates);
    for (auto& c : columns)
        out.push_back(c.finish());
    return out;
}

void AggregateComputer::release_rows(ComputerState& s, size_t done) {
    // Only a large state's pages are given back one by one; a small one goes at the end.
    constexpr size_t kLarge = size_t{64} << 20;
    if (s.storage.size() * sizeof(Cell) < kLarge) return;
    const long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) return;
    const auto p = static_cast<uintptr_t>(page);
    const auto begin = reinterpret_cast<uintptr_t>(s.storage.data());
    const auto end = reinterpret_cast<uintptr_t>(s.rows + done * s.stride);
    const uintptr_t from = std::max((begin + p - 1) / p * p, s.released);
    const uintptr_t to = end / p * p;
    if (to <= from) return;
    // The rows before `done` are never read again: their pages go back to the system now
    // (reading them would give zeros), not when the whole state is freed.
    madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    s.released = to;
}

// Aggregate a's values for window w's customers [first, first + n) (counted from w.first),
// into col[0 .. n).
void AggregateComputer::finish_block(size_t a, Window& w, size_t first, size_t n, Value* col) {
    ComputerState& s = w.state;
    const auto& agg = program_.aggregates[a];
    auto cell = [&s, a](size_t c) -> const Cell* { return &s.rows[c * s.stride + s.offset[a]]; };
    const size_t end = first + n;
    switch (agg.fn) {
        case bound::AggFn::Count:
            for (size_t c = first; c < end; ++c)
                col[c - first] = cell(c)->i;
            return;
        case bound::AggFn::Sum: {
            // A sum over no rows is 0, so that revenue-style fields stay numbers. A total
            // beyond the type's range is null, as integer overflow is everywhere.
            const TotalsAside& aside = s.aside[a];
            for (size_t c = first; c < end; ++c) {
                if (aside.out_of_range_at(c)) continue;
                const auto total = aside.total(cell(c)->u, c);
                if (!total) continue;
                if (agg.type != Type::Int)
                    col[c - first] = sum_units_to_double(*total);
                else if (*total >= INT64_MIN && *total <= INT64_MAX)
                    col[c - first] = static_cast<int64_t>(*total);
            }
            return;
        }
        case bound::AggFn::Avg: {
            const TotalsAside& aside = s.aside[a];
            for (size_t c = first; c < end; ++c) {
                if (aside.out_of_range_at(c) || cell(c)[1].i == 0) continue;
                if (const auto total = aside.total(cell(c)->u, c))
                    col[c - first] = average_of_units(*total, cell(c)[1].i);
            }
            return;
        }
        case bound::AggFn::Min:
        case bound::AggFn::Max:
            for (size_t c = first; c < end; ++c)
                col[c - first] = best_value(cell(c), best_kind(agg), agg.type);
            return;
        case bound::AggFn::CountDistinct: {
            const DistinctCounter& distinct = *s.distinct[a];
            for (size_t c = first; c < end; ++c) {
                size_t count = 0;
                distinct.each_value(c, static_cast<uint64_t>(cell(c)->i),
                                    [&count](const Value&) { ++count; });
                col[c - first] = static_cast<int64_t>(count);
            }
            return;
        }
        case bound::AggFn::Cv: {
            const auto periods = static_cast<size_t>(periods_[a]);
            const TotalsAside& aside = s.aside[a];
            std::vector<double> b(periods);
            for (size_t c = first; c < end; ++c) {
                if (aside.out_of_range_at(c)) continue;
                bool exact = true;
                for (size_t k = 0; k < periods && exact; ++k) {
                    const auto total = aside.total(s.buckets[a][c * periods + k], c * periods + k);
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
                col[c - first] = std::sqrt(var / static_cast<double>(periods)) / std::fabs(mean);
            }
            return;
        }
    }
}

}  // namespace strata
