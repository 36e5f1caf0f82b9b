#include "report/customer_values.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

#include "dsl/compiler.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/evaluator.hpp"
#include "engine/run.hpp"
#include "engine/stays.hpp"
#include "engine/versions.hpp"
#include "report/run_store.hpp"

namespace strata::report {

namespace {

std::optional<double> as_number(const Value& v) {
    if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) {
        if (std::isfinite(*d)) return *d;
    }
    return std::nullopt;
}

// Sums of one numeric let over a group of customers.
struct Moments {
    double sum = 0;
    double sum_squares = 0;
    size_t n = 0;
    void add(double x) {
        sum += x;
        sum_squares += x * x;
        ++n;
    }
    double mean() const { return sum / static_cast<double>(n); }
    double sd() const {
        const double mu = mean();
        return std::sqrt(std::max(0.0, sum_squares / static_cast<double>(n) - mu * mu));
    }
};

// (share of customers, share of value) at every whole percent of the customers, the most
// valuable first. Empty when the values do not add up to more than zero.
std::vector<std::pair<double, double>> pareto_curve(std::vector<double> values) {
    std::sort(values.begin(), values.end(), std::greater<>());
    double total = 0;
    for (double v : values)
        total += v;
    std::vector<std::pair<double, double>> out;
    if (values.empty() || !(total > 0)) return out;
    out.emplace_back(0.0, 0.0);
    double running = 0;
    size_t next = 1;
    const size_t n = values.size();
    for (size_t i = 0; i < n; ++i) {
        running += values[i];
        // Customer i + 1 of n completes percent p when (i + 1) * 100 >= p * n.
        while (next <= 100 && (i + 1) * 100 >= next * n) {
            out.emplace_back(static_cast<double>(next) / 100.0, running / total);
            ++next;
        }
    }
    return out;
}

const std::string kDifferNote =
    "The sections that need each customer's values (how each segment differs from the base, "
    "the Pareto curve, R × F) come from evaluating the run's own rule version again at its "
    "as_of against the data as it is now. ";

}  // namespace

void add_customer_values(SQLite::Database& data, SQLite::Database& state, const RunRecord& run,
                         ReportModel& m) {
    const std::string version = run.ruleset + " v" + std::to_string(run.version);
    const std::string skipped =
        " How each segment differs from the base, the Pareto curve and R × F are left out.";
    std::optional<std::string> source;
    try {
        source = registered_source(state, run.ruleset, run.version, run.rules_sha256);
    } catch (const SQLite::Exception&) {
    }
    if (!source) {
        m.notes.push_back("The source of " + version + " is not kept in the state." + skipped);
        return;
    }
    StoreError store_error;
    auto schema = read_schema(data, store_error);
    if (!schema) {
        m.notes.push_back("The customer database could not be read: " + store_error.message + "." +
                          skipped);
        return;
    }
    Diagnostics diags;
    auto rules = compile_rules(SourceFile(run.ruleset + "@" + std::to_string(run.version), *source),
                               &*schema, diags);
    if (!rules || diags.has_errors()) {
        std::string first;
        for (const auto& d : diags.items()) {
            if (d.severity == Severity::Error && first.empty()) first = d.message;
        }
        m.notes.push_back(version + " no longer compiles against the customer database" +
                          (first.empty() ? std::string() : " (" + first + ")") + "." + skipped);
        return;
    }
    apply_rule_settings(*rules, m);

    const auto as_of = parse_date(run.as_of);
    if (!as_of) {
        m.notes.push_back("The run's as_of '" + run.as_of + "' is not a date." + skipped);
        return;
    }
    std::vector<MembershipRow> placed;
    RunOptions options;
    options.as_of = *as_of;
    options.dry_run = true;
    options.on_placed = [&](const Frame& frame, const std::vector<uint32_t>& order,
                            const RunReport& rep) {
        const size_t n = order.size();
        placed = rep.membership;
        std::shared_ptr<const Column> value;
        if (rules->value) value = evaluate_shared(*rules->value, frame);
        // Lets are the frame's columns (seen from its offset); the value column is the
        // frame's rows, as placement reads it.
        auto row_of = [&](size_t i) { return frame.offset + order[i]; };
        auto value_of = [&](size_t i) { return as_number((*value)[order[i]]).value_or(0.0); };
        // Each customer's groups: the general segment and the tactical paths.
        std::vector<std::vector<std::string>> groups(n);
        for (size_t i = 0; i < n; ++i) {
            groups[i].push_back(rep.membership[i].segment.str());
            for (auto& tag : split_tactical(rep.membership[i].tactical.str()))
                groups[i].push_back(std::move(tag));
        }
        if (value) {
            std::vector<double> values;
            values.reserve(n);
            for (size_t i = 0; i < n; ++i)
                values.push_back(value_of(i));
            m.pareto = pareto_curve(std::move(values));
        }
        // Numeric lets: per segment, the mean's distance from the base's in base SDs.
        std::map<std::string, std::vector<LetDistance>> distances;
        const auto& lets = rules->program.lets;
        for (size_t l = 0; l < lets.size(); ++l) {
            if (!is_numeric(lets[l].type) || l >= frame.lets.size() || !frame.lets[l]) continue;
            const Column& column = *frame.lets[l];
            Moments base;
            std::unordered_map<std::string, Moments> by_group;
            for (size_t i = 0; i < n; ++i) {
                const auto x = as_number(column[row_of(i)]);
                if (!x) continue;
                base.add(*x);
                for (const std::string& g : groups[i])
                    by_group[g].add(*x);
            }
            if (base.n < 2 || !(base.sd() > 0)) continue;
            for (const auto& [group, moments] : by_group) {
                distances[group].push_back({lets[l].name, moments.mean(), base.mean(),
                                            (moments.mean() - base.mean()) / base.sd()});
            }
        }
        for (SegmentRow& s : m.segments) {
            auto it = distances.find(s.path);
            if (it == distances.end()) continue;
            auto& d = it->second;
            std::stable_sort(d.begin(), d.end(), [](const LetDistance& a, const LetDistance& b) {
                return std::abs(a.z) > std::abs(b.z);
            });
            if (d.size() > 3) d.resize(3);
            s.distinct = d;
        }
        // R × F of the first rfm let.
        for (size_t l = 0; l < lets.size(); ++l) {
            if (lets[l].type != Type::Record || l >= frame.lets.size() || !frame.lets[l]) continue;
            RfmGrid grid;
            grid.let = lets[l].name;
            std::vector<std::tuple<int, int, double>> cells;
            for (size_t i = 0; i < n; ++i) {
                const auto* record = std::get_if<RecordPtr>(&(*frame.lets[l])[row_of(i)]);
                if (!record || !*record) continue;
                const auto r = as_number((*record)->fields[0]);
                const auto f = as_number((*record)->fields[1]);
                if (!r || !f || *r < 1 || *f < 1 || *r > 20 || *f > 20) continue;
                const double v = value ? value_of(i) : 0.0;
                cells.emplace_back(static_cast<int>(*r), static_cast<int>(*f), v);
                grid.bins = std::max({grid.bins, static_cast<int>(*r), static_cast<int>(*f)});
            }
            if (grid.bins == 0) break;
            const auto bins = static_cast<size_t>(grid.bins);
            grid.customers.assign(bins, std::vector<int64_t>(bins, 0));
            grid.value.assign(bins, std::vector<double>(bins, 0.0));
            for (const auto& [r, f, v] : cells) {
                ++grid.customers[static_cast<size_t>(r - 1)][static_cast<size_t>(f - 1)];
                grid.value[static_cast<size_t>(r - 1)][static_cast<size_t>(f - 1)] += v;
            }
            m.rfm = std::move(grid);
            break;
        }
    };
    RunError run_error;
    if (!execute_run(*rules, data, &state, options, run_error)) {
        m.notes.push_back("Evaluating " + version + " again at " + run.as_of +
                          " failed: " + run_error.message + "." + skipped);
        return;
    }
    m.customer_values = true;
    // Did the data change since the run? Compare the placement with the stored one.
    const auto stored = load_membership(state, run.run_id, store_error);
    if (!store_error.message.empty()) return;
    size_t same = 0, i = 0, j = 0;
    while (i < stored.size() && j < placed.size()) {
        const int c = compare_keys(stored[i].key, placed[j].key);
        if (c == 0) {
            same += stored[i].segment == placed[j].segment ? 1 : 0;
            ++i;
            ++j;
        } else if (c < 0) {
            ++i;
        } else {
            ++j;
        }
    }
    if (same != stored.size() || placed.size() != stored.size()) {
        auto count = [](size_t n) {
            std::string digits = std::to_string(n), out;
            for (size_t i = 0; i < digits.size(); ++i) {
                if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
                out += digits[i];
            }
            return out;
        };
        m.notes.push_back("The data has changed since run " + std::to_string(run.run_id) +
                          ": evaluated now at " + run.as_of + ", the base has " +
                          count(placed.size()) + " customers (the run had " + count(stored.size()) +
                          ") and " + count(stored.size() - same) +
                          " of the run's customers are placed elsewhere or gone. " + kDifferNote +
                          "Sizes, shares and values in the tables are the run's own.");
    }
}

}  // namespace strata::report
