// How the sections that need each customer's values (how each segment differs from the base,
// the Pareto curve, R × F) are shaped from sums over the customers: one definition for every
// store. The SQLite store (customer_values.cpp) adds each customer's values itself; a warehouse
// store (state/warehouse_values.hpp) has the server add them and brings back only the sums.
// Either way the sums are doubles added one customer at a time in the same order, so the
// figures are the same bytes:
//   lets       per group (the base, each general segment, each tactical path), over the
//              customers whose let is a finite number: their count, the sum of the values and
//              the sum of the squares of their distances from the base's mean (the base's sum
//              over its count, as a double; each distance and square rounded to a double), in
//              key order
//   Pareto     the values (0 for none or not finite) sorted from the largest, the running sum
//              at each count k that completes a whole percent of the n customers, and how
//              many values are below zero
//   R × F      per cell (r, f) of the first rfm let, 1 ≤ r, f ≤ 100: its customers and the
//              sum of their values (0 for none) in key order; the customers without such an
//              r and f (a null score) in the cell (0, 0)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/state.hpp"
#include "report/report_model.hpp"

namespace strata::report {

// Sums of one numeric let over a group of customers, added in key order.
struct Moments {
    double sum = 0;
    // The sum of (x - centre)², the centre being the base's mean: added in a second pass, once
    // the base's sum is known. Large values close together keep their spread this way; the
    // sum of x² less n·mean² loses it to rounding.
    double squared_deviations = 0;
    int64_t n = 0;
    void add(double x) {
        sum += x;
        ++n;
    }
    void add_deviation(double x, double centre) {
        const double d = x - centre;
        squared_deviations += d * d;
    }
    double mean() const;
    // The population standard deviation about the base's mean: the group's own only for the
    // base.
    double sd() const;
};

// One numeric let's sums: over the base, and per group (a general segment or tactical path).
struct LetMoments {
    std::string let;
    Moments base;
    std::map<std::string, Moments> by_group;  // by group_key
};

// The key of a row of the segment table among LetMoments::by_group: a general segment's id,
// or a tactical path with the general segment it is inside (a tactical segment shared by
// several general ones has a row, and customers, under each).
std::string group_key(const std::string& general, const std::string& tactical_path = "");

// Each segment's `distinct` lets (at most 3, furthest from the base first, ties in let order)
// from the lets' sums, in the rule file's order of the lets. A let whose base has fewer than
// two values, no spread or one past the largest double is left out.
void add_distinct_lets(const std::vector<LetMoments>& lets, ReportModel& m);

// Whether customer k (1-based, in descending order of value) of n completes a whole percent:
// the counts whose running sums the Pareto curve needs (k = n always does).
bool pareto_point(int64_t k, int64_t n);

// The Pareto curve, or why it is left out.
struct ParetoCurve {
    std::vector<std::pair<double, double>> points;  // (share of customers, share of value)
    std::string left_out;  // why there is no curve, as a note for the page; "" otherwise
};

// (share of customers, share of value) at every whole percent of the n customers, the most
// valuable first: `running(k)` is the sum of the k largest values, asked only for the counts
// pareto_point names. `below_zero` is how many of the values are below zero. No points when n
// is 0; none, and a reason that names `value_name`, when a value is below zero (a share of the
// total means nothing then: the curve would pass 100%) or the total is not above zero.
ParetoCurve pareto_curve(int64_t n, int64_t below_zero, const std::string& value_name,
                         const std::function<double(int64_t)>& running);

// Whether (r, f) is a cell of the R × F grid: 1 to 100 each, the most bins rfm() takes.
inline constexpr int64_t kRfmMostBins = 100;
bool rfm_cell(int64_t r, int64_t f);

struct RfmCell {
    int64_t customers = 0;
    double value = 0;
};

// The grid of `let` from its cells (keys (r, f)): as many bins as rfm() was given (or the
// largest r or f, when more). A key that is no rfm_cell, such as (0, 0), counts customers
// without a score. nullopt without a cell of the grid.
// `rfm_let` is the let's expression: its `best: low` and `bins` say which end scores best and
// how many scores there are.
std::optional<RfmGrid> rfm_grid(const std::string& let,
                                const std::map<std::pair<int64_t, int64_t>, RfmCell>& cells,
                                const bound::Expr* rfm_let);

// The note when the evaluation placed customers otherwise than the stored run did: `placed`
// customers now, `stored` in the run, `same` of those in the same general segment. nullopt when
// nothing changed.
std::optional<std::string> data_changed_note(const RunRecord& run, int64_t placed, int64_t stored,
                                             int64_t same);

// Said after why the sections are missing.
extern const char* const kValuesLeftOut;

}  // namespace strata::report
