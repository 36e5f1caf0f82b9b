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
#include "report/value_sections.hpp"

namespace strata::report {

namespace {

std::optional<double> as_number(const Value& v) {
    if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) {
        if (std::isfinite(*d)) return *d;
    }
    return std::nullopt;
}

// Whether the database holds strata's run state and nothing else: a state file given as the
// customer database.
bool only_run_state(const Schema& schema) {
    bool run_state = false;
    for (const auto& [name, table] : schema.tables) {
        if (name.rfind("strata_", 0) == 0)
            run_state = true;
        else if (name.rfind("sqlite_", 0) != 0)
            return false;
    }
    return run_state;
}

}  // namespace

void add_customer_values(SQLite::Database& data, SQLite::Database& state, const RunRecord& run,
                         ReportModel& m) {
    const std::string version = run.ruleset + " v" + std::to_string(run.version);
    const std::string skipped = kValuesLeftOut;
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
    // Its settings (report.min_share, the value's name) are the version's own, read without
    // the database when the version cannot be evaluated against it.
    auto apply_unbound_settings = [&] {
        Diagnostics unbound;
        if (auto file =
                compile_rules(SourceFile(run.ruleset + "@" + std::to_string(run.version), *source),
                              nullptr, unbound))
            apply_rule_settings(*file, m);
    };
    if (only_run_state(*schema)) {
        m.notes.push_back("'" + data.getFilename() +
                          "' holds only strata's run state, no customers: give the customer "
                          "database as --db, and this file as --state, to see how each segment "
                          "differs from the base, the Pareto curve and R × F.");
        apply_unbound_settings();
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
        apply_unbound_settings();
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
        SharedPackedColumn value;
        if (rules->value) value = evaluate_packed(*rules->value, frame);
        // Lets are the frame's columns (seen from its offset); the value column is the
        // frame's rows, as placement reads it.
        auto row_of = [&](size_t i) { return frame.offset + order[i]; };
        auto value_of = [&](size_t i) { return as_number((*value)[order[i]]).value_or(0.0); };
        // Each customer's groups: the general segment and the tactical paths.
        std::vector<std::vector<std::string>> groups(n);
        for (size_t i = 0; i < n; ++i) {
            const std::string general = rep.membership[i].segment.str();
            groups[i].push_back(group_key(general));
            for (auto& tag : split_tactical(rep.membership[i].tactical.str()))
                groups[i].push_back(group_key(general, tag));
        }
        if (value) {
            // The values from the largest, and the running sums: sums of the k largest.
            std::vector<double> values;
            values.reserve(n);
            for (size_t i = 0; i < n; ++i)
                values.push_back(value_of(i));
            std::sort(values.begin(), values.end(), std::greater<>());
            std::vector<double> running(n);
            double sum = 0;
            int64_t below_zero = 0;
            for (size_t i = 0; i < n; ++i) {
                running[i] = sum += values[i];
                below_zero += values[i] < 0;
            }
            ParetoCurve curve =
                pareto_curve(static_cast<int64_t>(n), below_zero, m.value_name,
                             [&](int64_t k) { return running[static_cast<size_t>(k - 1)]; });
            m.pareto = std::move(curve.points);
            if (!curve.left_out.empty()) m.notes.push_back(std::move(curve.left_out));
        }
        // Numeric lets: per group, the sums over the customers with a value, in key order.
        std::vector<LetMoments> moments;
        const auto& lets = rules->program.lets;
        for (size_t l = 0; l < lets.size(); ++l) {
            if (!is_numeric(lets[l].type) || l >= frame.lets.size() || !frame.lets[l]) continue;
            const PackedColumn& column = *frame.lets[l];
            LetMoments& let = moments.emplace_back();
            let.let = lets[l].name;
            auto each_value = [&](const auto& take) {
                for (size_t i = 0; i < n; ++i)
                    if (const auto x = as_number(column[row_of(i)])) take(i, *x);
            };
            each_value([&](size_t i, double x) {
                let.base.add(x);
                for (const std::string& g : groups[i])
                    let.by_group[g].add(x);
            });
            const double centre = let.base.mean();
            each_value([&](size_t i, double x) {
                let.base.add_deviation(x, centre);
                for (const std::string& g : groups[i])
                    let.by_group[g].add_deviation(x, centre);
            });
        }
        add_distinct_lets(moments, m);
        // R × F of the first rfm let: per cell, its customers and their values in key order.
        for (size_t l = 0; l < lets.size(); ++l) {
            if (lets[l].type != Type::Record || l >= frame.lets.size() || !frame.lets[l]) continue;
            std::map<std::pair<int64_t, int64_t>, RfmCell> cells;
            for (size_t i = 0; i < n; ++i) {
                const Value v = (*frame.lets[l])[row_of(i)];
                const auto* record = std::get_if<RecordPtr>(&v);
                const int64_t* r = nullptr;
                const int64_t* f = nullptr;
                if (record && *record) {
                    r = std::get_if<int64_t>(&(*record)->fields[0]);
                    f = std::get_if<int64_t>(&(*record)->fields[1]);
                }
                const bool scored = r && f && rfm_cell(*r, *f);
                RfmCell& cell =
                    cells[scored ? std::pair{*r, *f} : std::pair<int64_t, int64_t>{0, 0}];
                ++cell.customers;
                cell.value += value ? value_of(i) : 0.0;
            }
            m.rfm = rfm_grid(lets[l].name, cells, lets[l].expr.get());
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
    if (auto note =
            data_changed_note(run, static_cast<int64_t>(placed.size()),
                              static_cast<int64_t>(stored.size()), static_cast<int64_t>(same)))
        m.notes.push_back(*note);
}

}  // namespace strata::report
