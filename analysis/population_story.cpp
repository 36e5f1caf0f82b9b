#include "analysis/population_story.hpp"

#include <cmath>
#include <cstdio>

#include "engine/numeric.hpp"

namespace strata {

namespace {

std::string text_at(const PopulationStoryInput& in, size_t k) {
    return k < in.arg_texts.size() ? in.arg_texts[k] : std::string("the value");
}

// The bin story of one ntile: `score` is the bin as the rule reads it (flipped for best: low).
std::string ntile_story(const NtileFit& fit, bool best_low, const Value& x,
                        const std::string& name) {
    if (is_null(x))
        return name + " is null, so it has no bin (" + format_thousands(fit.total) +
               " customers ranked, " + format_thousands(fit.nulls) + " null)";
    const Value tile_value = apply_ntile(fit, x);
    const auto* tile = std::get_if<int64_t>(&tile_value);
    if (!tile) return {};
    auto score = [&](int64_t t) { return best_low ? fit.n + 1 - t : t; };
    const NtileBin& bin = fit.bins[static_cast<size_t>(*tile - 1)];
    // The last non-empty bin before this one, in ranking order.
    const NtileBin* previous = nullptr;
    for (auto b = static_cast<size_t>(*tile - 1); b-- > 0;) {
        if (fit.bins[b].customers > 0) {
            previous = &fit.bins[b];
            break;
        }
    }
    auto score_of = [&](const NtileBin* b) {
        return std::to_string(score(static_cast<int64_t>(b - fit.bins.data()) + 1));
    };
    std::string out;
    if (bin.customers == 0 && previous) {
        // Past every value the run ranked: L = N.
        out = name + " " + format_value(x) + " ranks after every ranked value (the last, " +
              format_value(previous->last) + ", is in bin " + score_of(previous) +
              "), so it is in bin " + std::to_string(score(*tile)) + ", the last in ranking order";
        return out;
    }
    if (previous && !is_null(previous->last) && ranks_before(fit, x, bin.from)) {
        // Between two bins: it ranks with the next value of the base, this bin's cut.
        out = name + " " + format_value(x) + " lies between " + format_value(previous->last) +
              ", the last value of bin " + score_of(previous) + ", and the cut " +
              format_value(bin.from) + " of bin " + std::to_string(score(*tile)) +
              ", so it ranks with the cut";
    } else {
        const char* at = fit.descending ? "at or below" : "at or above";
        out = name + " " + format_value(x) + " is " + at + " the cut " + format_value(bin.from) +
              " of bin " + std::to_string(score(*tile));
        // The next bin with customers, in ranking order: where this one ends.
        for (auto b = static_cast<size_t>(*tile); b < fit.bins.size(); ++b) {
            if (fit.bins[b].customers == 0) continue;
            out += std::string(" (and ") + (fit.descending ? "above " : "below ") +
                   format_value(fit.bins[b].from) + " of bin " +
                   std::to_string(score(static_cast<int64_t>(b) + 1)) + ")";
            break;
        }
    }
    out += "; " + format_thousands(bin.customers) + " of " + format_thousands(fit.total) +
           " ranked customers are in the bin";
    return out;
}

std::string abc_story(const AbcFit& fit, const PopulationStoryInput& in) {
    const Value& x = in.args.empty() ? Value{} : in.args[0];
    const std::string name = text_at(in, 0);
    if (is_null(x)) return name + " is null, so it has no class";
    if (as_double(x) <= 0) return name + " " + format_value(x) + " is not positive, so C";
    if (fit.beyond_range)
        return name + " " + format_value(x) +
               " is positive, but the positive values add up beyond abc's exact range (10^29), "
               "so it has no class";
    auto last = [](const char* cls, const AbcBoundary& b) {
        return std::string(cls) + "'s last customer (" + format_value(b.value) + ", customer " +
               format_value(b.key) + ", where the cumulative share reaches " +
               format_percent(b.share_after) + ")";
    };
    const std::string cls = format_value(apply_abc(fit, x, in.key));
    const std::string head = name + " " + format_value(x) + " ranks ";
    const std::string total =
        " of the positive total " + format_value(static_cast<double>(fit.total));
    if (cls == "A")
        return head + "at or before " + last("A", fit.last_a) + "; A holds the first " +
               format_percent(fit.a) + total;
    if (cls == "B")
        return head + (fit.last_a.present ? "after " + last("A", fit.last_a) + " and " : "") +
               "at or before " + last("B", fit.last_b) + "; B holds up to " +
               format_percent(fit.b) + total;
    const AbcBoundary& before = fit.last_b.present ? fit.last_b : fit.last_a;
    if (!before.present) return head + "where no customer reaches A or B";
    return head + "after " + last(fit.last_b.present ? "B" : "A", before) + "; C is the rest" +
           total;
}

}  // namespace

std::string population_because(const CompiledRules& rules, const bound::Expr& e,
                               const PopulationFits& fits,
                               const std::function<Value(const bound::Expr&)>& value,
                               const Value& key) {
    // The call under e: e itself, the record of a field, through lets.
    int field = -1;
    const bound::Expr* node = &e;
    for (int depth = 0; depth < 300; ++depth) {
        if (const auto* f = std::get_if<bound::Field>(&node->node)) {
            if (field >= 0) return {};
            field = f->field;
            node = f->record.get();
        } else if (const auto* l = std::get_if<bound::LetRef>(&node->node)) {
            // A let is explained by its own expression's node; only a field reads through it.
            if (field < 0) return {};
            node = rules.program.lets[static_cast<size_t>(l->index)].expr.get();
        } else {
            break;
        }
    }
    const auto* call = std::get_if<bound::Call>(&node->node);
    if (!call || !has_fit(*call)) return {};
    const PopulationFit* fit = fits.find(node);
    if (!fit) return {};
    PopulationStoryInput in;
    for (const auto& a : call->args) {
        if (!a) continue;
        in.args.push_back(value(*a));
        std::string text;
        if (a->location.valid()) {
            const std::string line(rules.source.line(a->location.line));
            const auto col = static_cast<size_t>(a->location.col - 1);
            if (col < line.size()) text = line.substr(col, static_cast<size_t>(a->location.length));
        }
        in.arg_texts.push_back(text.empty() ? "the value" : text);
    }
    in.key = key;
    return population_story(*call, *fit, field, in);
}

std::string population_because(const CompiledRules& rules, const bound::Expr& e, const Frame& frame,
                               size_t row) {
    if (!frame.fits) return {};
    Frame one = frame;
    one.offset = frame.offset + row;
    one.rows = 1;
    Value key;
    if (frame.keys && frame.offset + row < frame.keys->size())
        key = (*frame.keys)[frame.offset + row];
    return population_because(
        rules, e, *frame.fits, [&](const bound::Expr& a) { return evaluate(a, one)[0]; }, key);
}

std::string population_story(const bound::Call& call, const PopulationFit& fit, int field,
                             const PopulationStoryInput& in) {
    const Value x = in.args.empty() ? Value{} : in.args[0];
    if (const auto* f = std::get_if<NtileFit>(&fit))
        return ntile_story(*f, false, x, text_at(in, 0));
    if (const auto* p = std::get_if<PercentRankFit>(&fit)) {
        if (is_null(x)) return text_at(in, 0) + " is null, so it has no rank";
        const Value rank = apply_percent_rank(*p, x);
        const auto below = static_cast<size_t>(
            std::llround(std::get<double>(rank) * static_cast<double>(p->total)));
        return format_thousands(below) + " of the " + format_thousands(p->total) +
               " ranked customers have a smaller " + text_at(in, 0) + " than " + format_value(x);
    }
    if (const auto* a = std::get_if<AbcFit>(&fit)) return abc_story(*a, in);
    const auto& r = std::get<RfmFit>(fit);
    const NtileFit* parts[3] = {&r.r, &r.f, &r.m};
    auto part = [&](size_t k) {
        const Value v = k < in.args.size() ? in.args[k] : Value{};
        return ntile_story(*parts[k], r.best_low, v, text_at(in, k));
    };
    if (field >= 0 && field < 3) return part(static_cast<size_t>(field));
    (void)call;
    return "r: " + part(0) + "; f: " + part(1) + "; m: " + part(2);
}

}  // namespace strata
