#include "analysis/fixed_population.hpp"

#include "engine/population_report.hpp"

namespace strata {

namespace {

// Whether a cut point can be compared with values of the ranked argument's type.
bool fits_type(const Value& v, Type type) {
    switch (type) {
        case Type::Int:
        case Type::Number:
            return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
        case Type::Date:
            return std::holds_alternative<Date>(v);
        case Type::DateTime:
            return std::holds_alternative<DateTime>(v) || std::holds_alternative<Date>(v);
        case Type::String:
            return std::holds_alternative<Str>(v);
        default:
            return !is_null(v);
    }
}

class Builder {
  public:
    Builder(const std::string& path, Diagnostics& diags) : path_(path), diags_(diags) {}

    // An ntile fit whose bins 2..n begin at `cuts`; false (reported at `at`) when the cuts
    // are not n − 1 values of the argument's type in ranking order.
    bool ntile(const std::vector<Value>& cuts, int64_t n, bool descending, Type type,
               const std::string& what, Location at, NtileFit& out) {
        if (cuts.size() != static_cast<size_t>(n - 1)) {
            fail(at, what + " needs " + std::to_string(n - 1) + " cut points (where bins 2 to " +
                         std::to_string(n) + " begin), not " + std::to_string(cuts.size()));
            return false;
        }
        for (size_t k = 0; k < cuts.size(); ++k) {
            if (!fits_type(cuts[k], type)) {
                fail(at, what + ": cut point " + format_value(cuts[k]) + " is not " +
                             with_article(type) + ", as the ranked values are");
                return false;
            }
            if (k > 0) {
                const int c = compare_values(cuts[k - 1], cuts[k]);
                if (descending ? c < 0 : c > 0) {
                    fail(at, what + ": cut points must be in ranking order (" +
                                 (descending ? "descending" : "ascending") + "), but " +
                                 format_value(cuts[k - 1]) + " comes before " +
                                 format_value(cuts[k]));
                    return false;
                }
            }
        }
        out.n = n;
        out.descending = descending;
        out.bins.resize(static_cast<size_t>(n));
        // Bin 1 holds everything before the first cut; bins 2..n begin at their cuts.
        for (size_t k = 0; k < cuts.size(); ++k) {
            out.bins[k + 1].from = cuts[k];
            out.filled.push_back(static_cast<uint32_t>(k + 1));
        }
        return true;
    }

    void fail(Location at, std::string message) {
        diags_.error(DiagnosticCode::InvalidValue, path_, at, std::move(message));
        ok_ = false;
    }
    bool ok() const { return ok_; }

  private:
    const std::string& path_;
    Diagnostics& diags_;
    bool ok_ = true;
};

std::optional<PopulationFit> fit_of(const bound::Call& call, const FixedPopulation& fixed,
                                    Builder& b) {
    const std::string name = "'" + fixed.let + "'";
    const Type arg = call.args.empty() || !call.args[0] ? Type::Any : call.args[0]->type;
    switch (call.fn) {
        case bound::Fn::Ntile: {
            if (!fixed.cuts) {
                b.fail(fixed.location, name + " holds an ntile: give a list of cut points");
                return std::nullopt;
            }
            NtileFit fit;
            if (!b.ntile(*fixed.cuts, call.params.n, false, arg, name, fixed.location, fit))
                return std::nullopt;
            return fit;
        }
        case bound::Fn::Rfm: {
            if (fixed.cuts || !fixed.classes.empty()) {
                b.fail(fixed.location,
                       name +
                           " holds an rfm: give {r: [...], f: [...], m: [...]}, each a list "
                           "of cut points");
                return std::nullopt;
            }
            RfmFit fit;
            fit.bins = call.params.n;
            fit.best_low = call.params.best_low;
            NtileFit* parts[3] = {&fit.r, &fit.f, &fit.m};
            const char* names[3] = {"r", "f", "m"};
            for (int k = 0; k < 3; ++k) {
                const bound::Expr* e = static_cast<size_t>(k) < call.args.size()
                                           ? call.args[static_cast<size_t>(k)].get()
                                           : nullptr;
                auto given = fixed.fields.find(names[k]);
                if (!e) {
                    if (given != fixed.fields.end())
                        b.fail(given->second.second,
                               name + "'s rfm has no " + std::string(names[k]) + " argument");
                    continue;
                }
                if (given == fixed.fields.end()) {
                    b.fail(fixed.location, name + " needs '" + names[k] + "' cut points too");
                    return std::nullopt;
                }
                Type type = e->type;
                // A recency given as a number is an age in days: it ranks descending.
                const bool age = k == 0 && (is_numeric(type) ||
                                            (type == Type::Any && !given->second.first.empty() &&
                                             fits_type(given->second.first[0], Type::Number)));
                if (k == 0) fit.recency_is_age = age;
                if (!b.ntile(given->second.first, fit.bins, age, type, name + "." + names[k],
                             given->second.second, *parts[k]))
                    return std::nullopt;
            }
            return fit;
        }
        case bound::Fn::Abc: {
            auto a = fixed.classes.find("A"), bb = fixed.classes.find("B");
            if (fixed.cuts || !fixed.fields.empty() || a == fixed.classes.end() ||
                bb == fixed.classes.end()) {
                b.fail(fixed.location, name +
                                           " holds an abc: give {A: x, B: y}, the values at "
                                           "which classes A and B begin");
                return std::nullopt;
            }
            // A null start is an empty class (a run lists it with last_value null).
            for (const auto* c : {&a->second, &bb->second}) {
                if (!is_null(c->first) &&
                    (!fits_type(c->first, Type::Number) || as_double(c->first) <= 0)) {
                    b.fail(c->second, name + ": where a class begins must be a number above 0");
                    return std::nullopt;
                }
            }
            // A boundary customer with a null key comes last among equal values, so every
            // customer whose value equals a class's start is in that class; with the last
            // customer's key (as a run lists it), those up to that key are.
            auto boundary = [&](const char* cls, const Value& start) {
                auto it = fixed.class_last_keys.find(cls);
                return AbcBoundary{!is_null(start), start,
                                   it == fixed.class_last_keys.end() ? Value{} : it->second, 0};
            };
            AbcFit fit;
            fit.a = call.params.a;
            fit.b = call.params.b;
            fit.last_a = boundary("A", a->second.first);
            fit.last_b = boundary("B", bb->second.first);
            if (fit.last_a.present && fit.last_b.present &&
                abc_before(fit.last_b.value, fit.last_b.key, fit.last_a.value, fit.last_a.key)) {
                b.fail(bb->second.second,
                       name + (compare_values(fit.last_a.value, fit.last_b.value) < 0
                                   ? ": B must begin at or below where A begins"
                                   : ": B's last customer comes before A's (a key before A's, "
                                     "or A's given by its value alone, which takes every "
                                     "customer of that value)"));
                return std::nullopt;
            }
            return fit;
        }
        default:
            b.fail(fixed.location, name + " holds " + population_function_name(call) +
                                       ", which has no cut points to fix: its value is a share "
                                       "of the base; give the case customers to rank instead");
            return std::nullopt;
    }
}

}  // namespace

bool fix_population(const CompiledRules& rules, const std::vector<FixedPopulation>& fixed,
                    const std::string& test_path, PopulationFits& fits, Diagnostics& diags) {
    Builder b(test_path, diags);
    const std::vector<PopulationCall> calls = population_calls(rules);
    for (const FixedPopulation& entry : fixed) {
        std::vector<const PopulationCall*> under;
        for (const PopulationCall& c : calls) {
            if (c.let == entry.let) under.push_back(&c);
        }
        if (under.empty()) {
            std::string lets;
            for (const PopulationCall& c : calls) {
                if (!c.let.empty()) lets += (lets.empty() ? "" : ", ") + c.let;
            }
            b.fail(entry.location, "no let '" + entry.let +
                                       "' holds a population function in the rules" +
                                       (lets.empty() ? "" : " (these do: " + lets + ")"));
            continue;
        }
        if (under.size() > 1) {
            b.fail(entry.location, "let '" + entry.let + "' holds " + std::to_string(under.size()) +
                                       " population calls; only a let with one can be fixed");
            continue;
        }
        const auto& call = std::get<bound::Call>(under[0]->expr->node);
        if (auto fit = fit_of(call, entry, b)) fits.record(under[0]->expr, std::move(*fit));
    }
    return b.ok();
}

}  // namespace strata
