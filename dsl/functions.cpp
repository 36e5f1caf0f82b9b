#include "dsl/functions.hpp"

namespace strata {

const std::vector<FunctionSpec>& functions() {
    using bound::AggFn;
    using bound::Fn;
    auto scalar = [](const char* name, Fn fn, std::vector<Param> params, bool variadic = false) {
        return FunctionSpec{name, FnKind::Scalar, static_cast<int>(fn), std::move(params),
                            variadic};
    };
    auto population = [](const char* name, Fn fn, std::vector<Param> params) {
        return FunctionSpec{name, FnKind::Population, static_cast<int>(fn), std::move(params),
                            false};
    };
    auto aggregate = [](const char* name, AggFn fn, std::vector<Param> params) {
        return FunctionSpec{name, FnKind::Aggregate, static_cast<int>(fn), std::move(params),
                            false};
    };
    static const std::vector<FunctionSpec> specs{
        scalar("coalesce", Fn::Coalesce, {{"value", true}}, true),
        scalar("if", Fn::If, {{"condition", true}, {"then", true}, {"else", true}}),
        scalar("least", Fn::Least, {{"value", true}}, true),
        scalar("greatest", Fn::Greatest, {{"value", true}}, true),
        scalar("abs", Fn::Abs, {{"x", true}}),
        scalar("round", Fn::Round, {{"x", true}, {"digits", false}}),
        scalar("floor", Fn::Floor, {{"x", true}}),
        scalar("ceil", Fn::Ceil, {{"x", true}}),
        scalar("lower", Fn::Lower, {{"text", true}}),
        scalar("upper", Fn::Upper, {{"text", true}}),
        scalar("length", Fn::Length, {{"text", true}}),
        scalar("contains", Fn::Contains, {{"text", true}, {"part", true}}),
        scalar("starts_with", Fn::StartsWith, {{"text", true}, {"prefix", true}}),
        scalar("ends_with", Fn::EndsWith, {{"text", true}, {"suffix", true}}),
        scalar("matches", Fn::Matches, {{"text", true}, {"pattern", true}}),
        scalar("days_between", Fn::DaysBetween, {{"from", true}, {"to", true}}),
        scalar("days_since", Fn::DaysSince, {{"date", true}}),
        scalar("year", Fn::Year, {{"date", true}}),
        scalar("month", Fn::Month, {{"date", true}}),
        population("ntile", Fn::Ntile, {{"x", true}, {"n", true}}),
        population("percent_rank", Fn::PercentRank, {{"x", true}}),
        population("rfm", Fn::Rfm,
                   {{"recency", true},
                    {"frequency", true},
                    {"monetary", true},
                    {"bins", false},
                    {"best", false}}),
        population("abc", Fn::Abc, {{"x", true}, {"a", false}, {"b", false}}),
        population("xyz", Fn::Xyz, {{"cv", true}, {"x", false}, {"y", false}}),
        aggregate("count", AggFn::Count, {{"rows", true}}),
        aggregate("sum", AggFn::Sum, {{"column", true}}),
        aggregate("avg", AggFn::Avg, {{"column", true}}),
        aggregate("min", AggFn::Min, {{"column", true}}),
        aggregate("max", AggFn::Max, {{"column", true}}),
        aggregate("count_distinct", AggFn::CountDistinct, {{"column", true}}),
        aggregate("cv", AggFn::Cv, {{"column", true}, {"per", false}, {"over", false}}),
    };
    return specs;
}

const FunctionSpec* find_function(const std::string& name) {
    for (const auto& f : functions()) {
        if (name == f.name) return &f;
    }
    return nullptr;
}

std::vector<std::string> function_names() {
    std::vector<std::string> names;
    for (const auto& f : functions())
        names.emplace_back(f.name);
    return names;
}

const char* function_name(bound::Fn fn) {
    for (const auto& f : functions()) {
        if (f.kind != FnKind::Aggregate && f.id == static_cast<int>(fn)) return f.name;
    }
    return "?";
}

bool bound::is_population(Fn fn) {
    return fn == Fn::Ntile || fn == Fn::PercentRank || fn == Fn::Rfm || fn == Fn::Abc ||
           fn == Fn::Xyz;
}

}  // namespace strata

namespace strata {

std::optional<Type> bound::state_field_type(const std::string& name) {
    if (name == "previous_segment") return Type::String;
    if (name == "segment_since") return Type::Date;
    if (name == "days_in_segment") return Type::Int;
    return std::nullopt;
}

}  // namespace strata
