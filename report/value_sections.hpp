// How the sections that need each customer's values (how each segment differs from the base,
// the Pareto curve, R × F) are shaped from sums over the customers: one definition for every
// store. The SQLite store (customer_values.cpp) adds each customer's values itself; a warehouse
// store (state/warehouse_values.hpp) has the server add them and brings back only the sums.
// Either way the sums are doubles added one customer at a time in the same order, so the
// figures are the same bytes:
//   lets       per group (the base, each general segment, each tactical path), over the
//              customers whose let is a finite number: their count, the sum of the values and
//              the sum of their squares (each square rounded to a double), in key order
//   Pareto     the values (0 for none or not finite) sorted from the largest, the running sum
//              at each count k that completes a whole percent of the n customers, and how
//              many values are below zero
//   R × F      per cell (r, f) of the first rfm let, 1 ≤ r, f ≤ 20: its customers and the sum
//              of their values (0 for none) in key order
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
    double sum_squares = 0;
    int64_t n = 0;
    void add(double x) {
        sum += x;
        sum_squares += x * x;
        ++n;
    }
    double mean() const;
    // The population standard deviation, from the two sums.
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
// two values or no spread is left out.
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

// Whether (r, f) is a cell of the R × F grid.
bool rfm_cell(int64_t r, int64_t f);

struct RfmCell {
    int64_t customers = 0;
    double value = 0;
};

// The grid of `let` from its cells (keys (r, f), each rfm_cell): as many bins as the largest r
// or f. nullopt without a cell.
// `rfm_let` is the let's expression: its `best: low` says which end scores best.
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
