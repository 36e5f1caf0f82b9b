// Population functions in two steps. `fit` looks at the whole base once and keeps what the
// ranking needs (cut values, counts, boundaries); `apply` gives one customer's value from
// that fit alone. A run fits each population call once and applies the fit to every row, so
// one customer evaluated later with the run's fits gets exactly what the run gave them.
// The rules (docs/language.md, "Population functions"): ties are never split, row order never
// matters, a null value gives null and is left out of the base's count N.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/exact_sum.hpp"
#include "engine/packed_column.hpp"
#include "engine/value.hpp"

namespace strata {

// One bin of an ntile, in ranking order. An empty bin (possible when many customers tie:
// ntile(x, 4) over 1, 1, 1, 2 gives tiles 1 and 4 only) has a null `from` and no customers.
struct NtileBin {
    Value from;              // the bin's lower cut: its first value in ranking order
    size_t customers = 0;    // customers in the bin
    size_t ties_at_cut = 0;  // customers whose value equals `from`
    // The bin's last value in ranking order. Null when not known (cut points fixed by a test
    // case, fits stored before it was kept): a value after `from` then counts as in the bin.
    Value last;
};

struct NtileFit {
    int64_t n = 0;
    bool descending = false;       // the larger value ranks first (a recency given as an age)
    size_t total = 0;              // N: customers with a non-null value
    size_t nulls = 0;              // customers with a null value (their tile is null)
    std::vector<NtileBin> bins;    // n entries: bins[0] is bin 1
    std::vector<uint32_t> filled;  // the indexes of the non-empty bins, ascending
};

struct PercentRankFit {
    size_t total = 0;  // N
    size_t nulls = 0;
    std::vector<Value> values;  // the distinct non-null values, ascending
    std::vector<size_t> below;  // for each value, the customers with a strictly smaller one
};

struct RfmFit {
    int64_t bins = 0;
    bool best_low = false;
    bool recency_is_age = false;  // the recency column held numbers (days since), not dates
    NtileFit r, f, m;             // r ranks descending when recency_is_age
};

// abc orders customers by x descending, then key ascending. Its classes follow that order
// (A, then B, then C), so two boundary customers decide every class.
// The shares are exact (engine/population_share.hpp): each positive x as its exact-sum units.
struct AbcBoundary {
    bool present = false;  // false when the class has no customer with a positive x
    Value value;
    Value key;
    // The cumulative share of T up to and including this customer, for reports only (the
    // exact units decided the class).
    long double share_after = 0;
};

struct AbcFit {
    double a = 0.8, b = 0.95;
    double total = 0;  // T, the sum of positive x, as the nearest double (for reports)
    // T in exact-sum units; beyond_range when a positive x has no units or T reaches
    // kAbcTotalLimit: every positive x then gets null (counted in no class).
    SumUnits total_units = 0;
    bool beyond_range = false;
    AbcBoundary last_a, last_b;
    size_t count_a = 0, count_b = 0, count_c = 0, nulls = 0;
};

using PopulationFit = std::variant<NtileFit, PercentRankFit, RfmFit, AbcFit>;

// A population call's inputs over the rows being fitted or applied: its argument columns (one;
// three for rfm) and the customer keys (abc breaks ties by key; empty: the row index stands
// in for the key, which only tests do).
struct PopulationInput {
    std::vector<const PackedColumn*> args;
    const Column* keys = nullptr;
};

// Whether `call` ranks the base and so has a fit: ntile, percent_rank, rfm and abc. xyz is a
// population function by the catalogue but needs only its own row.
bool has_fit(const bound::Call& call);

// REQUIRES: has_fit(call), every args column of the same length.
PopulationFit fit_population(const bound::Call& call, const PopulationInput& in);

// Every row's value from `fit` (of the same call). Gives exactly what the one-row apply
// gives for each row.
Column apply_population(const bound::Call& call, const PopulationFit& fit,
                        const PopulationInput& in);

// One customer's value: `args` holds the call's argument values, `key` the customer's key.
Value apply_population(const bound::Call& call, const PopulationFit& fit,
                       const std::vector<Value>& args, const Value& key);

// The single apply steps.
Value apply_ntile(const NtileFit& fit, const Value& x);
// Whether `a` comes strictly before `b` in the fit's ranking order (descending or not).
bool ranks_before(const NtileFit& fit, const Value& a, const Value& b);
Value apply_percent_rank(const PercentRankFit& fit, const Value& x);
Value apply_abc(const AbcFit& fit, const Value& x, const Value& key);
// Whether (x, key) comes strictly before (y, other) in abc's order: x descending, then key
// (integers before texts, a null key last).
bool abc_before(const Value& x, const Value& key, const Value& y, const Value& other);

// The fits over a column, kept as values or packed (the same fit either way).
NtileFit fit_ntile(const Column& x, int64_t n, bool descending = false);
NtileFit fit_ntile(const PackedColumn& x, int64_t n, bool descending = false);
PercentRankFit fit_percent_rank(const Column& x);
PercentRankFit fit_percent_rank(const PackedColumn& x);
AbcFit fit_abc(const Column& x, const Column& keys, double a, double b);
AbcFit fit_abc(const PackedColumn& x, const Column& keys, double a, double b);

// Population functions over a whole column: fit, then apply to every row.
Column ntile(const Column& x, int64_t n, bool descending = false);
Column percent_rank(const Column& x);
Column abc_classes(const Column& x, const Column& keys, double a, double b);

// The fits of one evaluation, by population call (the bound node). As a sink it records
// the fit of every call evaluated; as a source, a fit already in it is applied instead of
// fitting again, so filling it with a run's fits makes an evaluation give the run's values.
// Safe to use from several threads at once.
class PopulationFits {
  public:
    PopulationFits() = default;
    PopulationFits(const PopulationFits& other);
    PopulationFits& operator=(const PopulationFits&) = delete;

    // The fit recorded for `call`, or null. The pointer stays valid as long as this object.
    const PopulationFit* find(const bound::Expr* call) const;
    // Records `fit` for `call` unless one is there already; returns the one kept.
    const PopulationFit& record(const bound::Expr* call, PopulationFit fit);
    size_t size() const;

  private:
    mutable std::mutex mutex_;
    // Shared: a copy (an evaluation starting from a run's fits) copies pointers, not fits.
    std::map<const bound::Expr*, std::shared_ptr<const PopulationFit>> fits_;
};

}  // namespace strata
