#include "report/value_sections.hpp"

#include <algorithm>
#include <cmath>

#include "engine/numeric.hpp"

namespace strata::report {

const char* const kValuesLeftOut =
    " How each segment differs from the base, the Pareto curve and R × F are left out.";

double Moments::mean() const {
    return sum / static_cast<double>(n);
}

double Moments::sd() const {
    return std::sqrt(squared_deviations / static_cast<double>(n));
}

std::string group_key(const std::string& general, const std::string& tactical_path) {
    return tactical_path.empty() ? general : general + '\n' + tactical_path;
}

void add_distinct_lets(const std::vector<LetMoments>& lets, ReportModel& m) {
    // Per group, the lets in file order: the stable sort keeps that order among ties.
    std::map<std::string, std::vector<LetDistance>> distances;
    for (const LetMoments& l : lets) {
        // Values so far apart that their spread is not a finite double have no z-scores.
        if (l.base.n < 2 || !(l.base.sd() > 0) || !std::isfinite(l.base.sd())) continue;
        for (const auto& [group, moments] : l.by_group) {
            if (moments.n == 0) continue;
            distances[group].push_back({l.let, moments.mean(), l.base.mean(),
                                        (moments.mean() - l.base.mean()) / l.base.sd()});
        }
    }
    for (SegmentRow& s : m.segments) {
        auto it = distances.find(s.depth == 0 ? group_key(s.path) : group_key(s.parent, s.path));
        if (it == distances.end()) continue;
        auto& d = it->second;
        std::stable_sort(d.begin(), d.end(), [](const LetDistance& a, const LetDistance& b) {
            return std::abs(a.z) > std::abs(b.z);
        });
        if (d.size() > 3) d.resize(3);
        s.distinct = d;
    }
}

namespace {

// 1234567 as 1,234,567.
std::string grouped_count(int64_t n) {
    return group_thousands(std::to_string(n));
}

}  // namespace

bool pareto_point(int64_t k, int64_t n) {
    // Customer k of n completes percent p when k · 100 >= p · n.
    return n > 0 && k >= 1 && k <= n && (k * 100) / n > ((k - 1) * 100) / n;
}

ParetoCurve pareto_curve(int64_t n, int64_t below_zero, const std::string& value_name,
                         const std::function<double(int64_t)>& running) {
    ParetoCurve out;
    if (n <= 0) return out;
    const std::string value = value_name.empty() ? "value" : "value (" + value_name + ")";
    if (below_zero > 0) {
        out.left_out = "The Pareto curve is left out: " + grouped_count(below_zero) + " of " +
                       grouped_count(n) +
                       (below_zero == 1 ? " customers has a " : " customers have a ") + value +
                       " below zero, and shares of a total need values of zero or more.";
        return out;
    }
    const double total = running(n);
    if (!(total > 0)) {
        out.left_out = "The Pareto curve is left out: no customer has a " + value + " above zero.";
        return out;
    }
    out.points.emplace_back(0.0, 0.0);
    int64_t next = 1;
    for (int64_t k = 1; k <= n && next <= 100; ++k) {
        if (!pareto_point(k, n)) continue;
        const double sum = running(k);
        while (next <= 100 && k * 100 >= next * n) {
            out.points.emplace_back(static_cast<double>(next) / 100.0, sum / total);
            ++next;
        }
    }
    return out;
}

bool rfm_cell(int64_t r, int64_t f) {
    return r >= 1 && f >= 1 && r <= kRfmMostBins && f <= kRfmMostBins;
}

std::optional<RfmGrid> rfm_grid(const std::string& let,
                                const std::map<std::pair<int64_t, int64_t>, RfmCell>& cells,
                                const bound::Expr* rfm_let) {
    RfmGrid grid;
    grid.let = let;
    if (rfm_let)
        if (const auto* call = std::get_if<bound::Call>(&rfm_let->node))
            if (call->fn == bound::Fn::Rfm) {
                grid.best_low = call->params.best_low;
                if (rfm_cell(call->params.n, call->params.n))
                    grid.bins = static_cast<int>(call->params.n);
            }
    bool scored = false;
    for (const auto& [rf, cell] : cells) {
        if (!rfm_cell(rf.first, rf.second)) {
            grid.unscored += cell.customers;
            continue;
        }
        scored = true;
        grid.bins = std::max({grid.bins, static_cast<int>(rf.first), static_cast<int>(rf.second)});
    }
    if (!scored) return std::nullopt;
    const auto bins = static_cast<size_t>(grid.bins);
    grid.customers.assign(bins, std::vector<int64_t>(bins, 0));
    grid.value.assign(bins, std::vector<double>(bins, 0.0));
    for (const auto& [rf, cell] : cells) {
        if (!rfm_cell(rf.first, rf.second)) continue;
        grid.customers[static_cast<size_t>(rf.first - 1)][static_cast<size_t>(rf.second - 1)] =
            cell.customers;
        grid.value[static_cast<size_t>(rf.first - 1)][static_cast<size_t>(rf.second - 1)] =
            cell.value;
    }
    return grid;
}

std::optional<std::string> data_changed_note(const RunRecord& run, int64_t placed, int64_t stored,
                                             int64_t same) {
    if (same == stored && placed == stored) return std::nullopt;
    return "The data has changed since run " + std::to_string(run.run_id) + ": evaluated now at " +
           run.as_of + ", the base has " + grouped_count(placed) + " customers (the run had " +
           grouped_count(stored) + ") and " + grouped_count(stored - same) +
           " of the run's customers are placed elsewhere or gone. The sections that need each "
           "customer's values (how each segment differs from the base, the Pareto curve, R × F) "
           "come from evaluating the run's own rule version again at its as_of against the data "
           "as it is now. Sizes, shares and values in the tables are the run's own.";
}

}  // namespace strata::report
