#include "engine/population_report.hpp"

#include <algorithm>
#include <functional>
#include <ostream>
#include <set>

#include "dsl/functions.hpp"
#include "engine/numeric.hpp"

namespace strata {

namespace {

// Calls f on every population call with a fit inside e (lets and aggregates are not entered).
template <typename F>
void for_each_call(const bound::Expr& e, F& f) {
    bound::for_each_operand(e, [&f](const bound::Expr& o) { for_each_call(o, f); });
    const auto* call = std::get_if<bound::Call>(&e.node);
    if (call && has_fit(*call)) f(e);
}

std::string source_text(const SourceFile& source, Location loc) {
    if (!loc.valid()) return {};
    const std::string line(source.line(loc.line));
    const auto col = static_cast<size_t>(loc.col - 1);
    if (col >= line.size()) return {};
    return line.substr(col, static_cast<size_t>(loc.length));
}

void json_value(JsonWriter& w, const Value& v) {
    if (is_null(v))
        w.null();
    else if (const auto* i = std::get_if<int64_t>(&v))
        w.value(*i);
    else if (const auto* d = std::get_if<double>(&v))
        w.exact(*d);  // exactly: a test file's population block copies cut points back
    else
        w.value(format_value(v));
}

// The bins by score, 1 first: a tile's score is itself, or bins + 1 − tile for best: low.
std::vector<std::pair<int64_t, const NtileBin*>> scored_bins(const NtileFit& fit, bool best_low) {
    std::vector<std::pair<int64_t, const NtileBin*>> out;
    for (size_t b = 0; b < fit.bins.size(); ++b) {
        const auto tile = static_cast<int64_t>(b) + 1;
        out.emplace_back(best_low ? fit.n + 1 - tile : tile, &fit.bins[b]);
    }
    if (best_low) std::reverse(out.begin(), out.end());
    return out;
}

void write_ntile_json(JsonWriter& w, const char* field, const NtileFit& fit, bool best_low) {
    w.begin_object();
    w.key("field");
    if (field)
        w.value(field);
    else
        w.null();
    w.key("ranked").value(fit.total).key("nulls").value(fit.nulls);
    w.key("order").value(fit.descending ? "descending" : "ascending");
    w.key("best").value(best_low ? "low" : "high");
    w.key("bins").begin_array();
    for (const auto& [score, bin] : scored_bins(fit, best_low)) {
        w.begin_object().key("bin").value(score).key("from");
        json_value(w, bin->from);
        w.key("to");
        json_value(w, bin->last);
        w.key("customers").value(bin->customers).key("ties_at_cut").value(bin->ties_at_cut);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void write_abc_class(JsonWriter& w, const char* name, size_t customers, const AbcBoundary* last) {
    w.key(name).begin_object().key("customers").value(customers);
    w.key("last_value");
    if (last && last->present)
        json_value(w, last->value);
    else
        w.null();
    w.key("last_key");
    if (last && last->present)
        json_value(w, last->key);
    else
        w.null();
    w.key("cumulative_share");
    if (last && last->present)
        w.value(static_cast<double>(last->share_after), 6);
    else
        w.null();
    w.end_object();
}

void print_ntile_line(std::ostream& out, const std::string& name, const NtileFit& fit,
                      bool best_low) {
    out << "  " << name << ' ';
    for (const auto& [score, bin] : scored_bins(fit, best_low)) {
        out << "  " << score << ": ";
        if (bin->customers == 0) {
            out << "empty";
            continue;
        }
        out << (fit.descending ? "<= " : ">= ") << format_value(bin->from) << ' '
            << format_thousands(bin->customers) << " (" << format_thousands(bin->ties_at_cut)
            << " at cut)";
    }
    if (fit.nulls) out << "  null: " << format_thousands(fit.nulls);
    out << '\n';
}

}  // namespace

const char* population_function_name(const bound::Call& call) {
    return function_name(call.fn);
}

std::vector<PopulationCall> population_calls(const CompiledRules& rules) {
    std::vector<PopulationCall> out;
    std::set<const bound::Expr*> seen;
    std::string let;
    auto add = [&](const bound::Expr& e) {
        if (seen.insert(&e).second) out.push_back({&e, let});
    };
    auto walk = [&](const bound::Expr* e) {
        if (e) for_each_call(*e, add);
    };
    for (const auto& l : rules.program.lets) {
        let = l.name;
        walk(l.expr.get());
    }
    let.clear();
    std::function<void(const std::vector<CompiledSegment>&)> segments =
        [&](const std::vector<CompiledSegment>& list) {
            for (const auto& s : list) {
                walk(s.when.get());
                segments(s.tactical);
            }
        };
    segments(rules.segments);
    walk(rules.value.get());
    for (const auto& t : rules.triggers) {
        walk(t.when.get());
        for (const auto& a : t.actions) {
            for (const auto& [name, templ] : a.params) {
                for (const auto& e : templ.exprs)
                    walk(e.get());
            }
        }
    }
    // In the order they are written (lets are kept dependencies first, not in file order).
    std::stable_sort(out.begin(), out.end(), [](const PopulationCall& a, const PopulationCall& b) {
        const Location& x = a.expr->location;
        const Location& y = b.expr->location;
        return std::pair(x.line, x.col) < std::pair(y.line, y.col);
    });
    return out;
}

std::vector<PopulationSummary> summarize_populations(const CompiledRules& rules,
                                                     const Frame& frame) {
    std::vector<PopulationSummary> out;
    if (!frame.fits) return out;
    for (const PopulationCall& c : population_calls(rules)) {
        const PopulationFit* fit = frame.fits->find(c.expr);
        if (!fit) {
            (void)evaluate_ref(*c.expr, frame);  // records the fit
            fit = frame.fits->find(c.expr);
        }
        if (!fit) continue;
        out.push_back(population_summary(rules, c, *fit));
    }
    return out;
}

PopulationSummary population_summary(const CompiledRules& rules, const PopulationCall& call,
                                     PopulationFit fit) {
    PopulationSummary s;
    s.let = call.let;
    s.function = population_function_name(std::get<bound::Call>(call.expr->node));
    s.file = rules.source.path();
    s.location = rules.source.shown(call.expr->location);  // in characters, as diagnostics
    s.text = source_text(rules.source, call.expr->location);
    s.fit = std::move(fit);
    return s;
}

NtileFit ntile_fit_from_bins(int64_t n, bool descending, size_t nulls,
                             const std::vector<CountedBin>& bins) {
    NtileFit fit;
    fit.n = n;
    fit.descending = descending;
    fit.nulls = nulls;
    fit.bins.resize(static_cast<size_t>(std::max<int64_t>(n, 0)));
    for (const CountedBin& b : bins) {
        if (b.tile < 1 || b.tile > n || b.customers == 0) continue;
        NtileBin& bin = fit.bins[static_cast<size_t>(b.tile - 1)];
        bin.from = b.from;
        bin.customers = b.customers;
        bin.ties_at_cut = b.ties_at_cut;
        bin.last = b.last;
        fit.total += b.customers;
    }
    for (size_t b = 0; b < fit.bins.size(); ++b) {
        if (fit.bins[b].customers > 0) fit.filled.push_back(static_cast<uint32_t>(b));
    }
    return fit;
}

bool rfm_recency_is_age(Type recency_type, size_t ranked) {
    return ranked > 0 && (recency_type == Type::Int || recency_type == Type::Number);
}

void write_populations_json(JsonWriter& w, const std::vector<PopulationSummary>& populations) {
    w.key("populations").begin_array();
    for (const PopulationSummary& p : populations) {
        w.begin_object();
        w.key("let").text_or_null(p.let);
        w.key("function").value(p.function);
        w.key("location")
            .value(p.file + ":" + std::to_string(p.location.line) + ":" +
                   std::to_string(p.location.col));
        w.key("text").value(p.text);
        w.key("fields").begin_array();
        if (const auto* f = std::get_if<NtileFit>(&p.fit)) write_ntile_json(w, nullptr, *f, false);
        if (const auto* r = std::get_if<RfmFit>(&p.fit)) {
            write_ntile_json(w, "r", r->r, r->best_low);
            write_ntile_json(w, "f", r->f, r->best_low);
            write_ntile_json(w, "m", r->m, r->best_low);
        }
        w.end_array();
        w.key("classes");
        if (const auto* a = std::get_if<AbcFit>(&p.fit)) {
            w.begin_object();
            w.key("a").value(a->a, 6).key("b").value(a->b, 6);
            w.key("total").value(static_cast<double>(a->total), 6);
            write_abc_class(w, "A", a->count_a, &a->last_a);
            write_abc_class(w, "B", a->count_b, &a->last_b);
            write_abc_class(w, "C", a->count_c, nullptr);
            w.key("nulls").value(a->nulls);
            w.end_object();
        } else {
            w.null();
        }
        w.key("ranks");
        if (const auto* r = std::get_if<PercentRankFit>(&p.fit)) {
            w.begin_object().key("ranked").value(r->total).key("nulls").value(r->nulls);
            w.key("distinct_values").value(p.distinct_values.value_or(r->values.size()));
            w.end_object();
        } else {
            w.null();
        }
        w.end_object();
    }
    w.end_array();
}

void print_populations(std::ostream& out, const std::vector<PopulationSummary>& populations) {
    if (populations.empty()) return;
    out << "\npopulations: each bin's lower cut in ranking order, its customers (how many tie "
           "at the cut)\n";
    for (const PopulationSummary& p : populations) {
        const std::string name = p.let.empty() ? p.text : p.let;
        out << name << "  " << p.function << " at " << p.location.line << ':' << p.location.col
            << '\n';
        if (const auto* f = std::get_if<NtileFit>(&p.fit)) print_ntile_line(out, "tile", *f, false);
        if (const auto* r = std::get_if<RfmFit>(&p.fit)) {
            print_ntile_line(out, "r", r->r, r->best_low);
            print_ntile_line(out, "f", r->f, r->best_low);
            print_ntile_line(out, "m", r->m, r->best_low);
        }
        if (const auto* a = std::get_if<AbcFit>(&p.fit)) {
            auto cls = [&out](const char* c, size_t n, const AbcBoundary* last) {
                out << "  " << c << ": " << format_thousands(n);
                if (last && last->present)
                    out << " down to " << format_value(last->value) << " (customer "
                        << key_value_in_message(last->key) << ", "
                        << format_percent(last->share_after) << " of the total)";
            };
            out << "  class";
            cls("A", a->count_a, &a->last_a);
            cls("B", a->count_b, &a->last_b);
            cls("C", a->count_c, nullptr);
            if (a->nulls) out << "  null: " << format_thousands(a->nulls);
            out << '\n';
        }
        if (const auto* r = std::get_if<PercentRankFit>(&p.fit)) {
            out << "  ranks  " << format_thousands(r->total) << " ranked, "
                << format_thousands(p.distinct_values.value_or(r->values.size()))
                << " distinct values";
            if (r->nulls) out << "  null: " << format_thousands(r->nulls);
            out << '\n';
        }
    }
}

}  // namespace strata
