#include "engine/scalar_calls.hpp"

#include "engine/column_maps.hpp"
#include "engine/numeric.hpp"
#include "engine/row_compare.hpp"
#include "engine/value_ops.hpp"

#include <re2/re2.h>

#include <cmath>

namespace strata {

using bound::Fn;
using namespace value_ops;
using namespace column_maps;

ColumnRef call_scalar(const bound::Call& n, Type t, const std::vector<ColumnRef>& args, size_t rows,
                      Date today) {
    switch (n.fn) {
        case Fn::Coalesce:
            return map_n(rows, args, [&](size_t i) -> Value {
                for (const auto& a : args) {
                    if (!is_null(a[i])) return coerce(a[i], t);
                }
                return {};
            });
        case Fn::If:
            return map_n(rows, args, [&](size_t i) -> Value {
                auto c = truth(args[0][i]);
                return coerce(c && *c ? args[1][i] : args[2][i], t);
            });
        case Fn::Least:
        case Fn::Greatest: {
            const int want = n.fn == Fn::Least ? -1 : 1;
            return map_n(rows, args, [&](size_t i) -> Value {
                const Value* best = nullptr;
                for (const auto& a : args) {
                    if (is_null(a[i])) continue;
                    if (!best ||
                        (runtime_comparable(a[i], *best) && compare_values(a[i], *best) == want))
                        best = &a[i];
                }
                return best ? coerce(*best, t) : Value{};
            });
        }
        case Fn::Abs:
            return map1(rows, args[0], [](const Value& v) -> Value {
                if (const auto* i = std::get_if<int64_t>(&v))
                    return *i == INT64_MIN ? Value{} : Value{*i < 0 ? -*i : *i};
                if (const auto* d = std::get_if<double>(&v)) return std::fabs(*d);
                return {};
            });
        case Fn::Round:
            if (n.args[1]) {
                return map2(rows, args[0], args[1], [](const Value& v, const Value& d) -> Value {
                    const auto* places = std::get_if<int64_t>(&d);
                    const auto* i = std::get_if<int64_t>(&v);
                    const auto* x = std::get_if<double>(&v);
                    const auto out = !places ? std::nullopt
                                     : i     ? round_decimal(*i, *places)
                                     : x     ? round_decimal(*x, *places)
                                             : std::nullopt;
                    return out ? Value{*out} : Value{};
                });
            }
            return map1(rows, args[0], [](const Value& v) -> Value {
                if (std::holds_alternative<int64_t>(v)) return v;
                if (const auto* d = std::get_if<double>(&v)) return to_int(std::round(*d));
                return {};
            });
        case Fn::Floor:
        case Fn::Ceil:
            return map1(rows, args[0], [up = n.fn == Fn::Ceil](const Value& v) -> Value {
                if (std::holds_alternative<int64_t>(v)) return v;
                if (const auto* d = std::get_if<double>(&v))
                    return to_int(up ? std::ceil(*d) : std::floor(*d));
                return {};
            });
        case Fn::Lower:
        case Fn::Upper:
            return map1(rows, args[0], [low = n.fn == Fn::Lower](const Value& v) -> Value {
                if (const auto* s = std::get_if<Str>(&v))
                    return intern(map_ascii(s->str(), low ? ::tolower : ::toupper));
                return {};
            });
        case Fn::Length:
            return map1(rows, args[0], [](const Value& v) -> Value {
                if (const auto* s = std::get_if<Str>(&v))
                    return static_cast<int64_t>(utf8_length(s->str()));
                return {};
            });
        case Fn::Contains:
        case Fn::StartsWith:
        case Fn::EndsWith:
            return map2(rows, args[0], args[1],
                        [fn = n.fn](const Value& a, const Value& b) -> Value {
                            const auto* sv = std::get_if<Str>(&a);
                            const auto* pv = std::get_if<Str>(&b);
                            if (!sv || !pv) return {};
                            const std::string* s = sv->p;
                            const std::string* p = pv->p;
                            if (fn == Fn::Contains) return s->find(*p) != std::string::npos;
                            if (fn == Fn::StartsWith) return s->compare(0, p->size(), *p) == 0;
                            return s->size() >= p->size() &&
                                   s->compare(s->size() - p->size(), p->size(), *p) == 0;
                        });
        case Fn::Matches: {
            const RE2& re = *n.params.regex;
            return map1(rows, args[0], [&re](const Value& v) -> Value {
                if (const auto* s = std::get_if<Str>(&v)) return RE2::PartialMatch(s->str(), re);
                return {};
            });
        }
        case Fn::DaysBetween:
            // date_difference gives null for a null (or any non-date) operand.
            return map2(rows, args[0], args[1], [](const Value& a, const Value& b) -> Value {
                return date_difference(a, b);
            });
        case Fn::DaysSince: {
            const Value as_of{today};
            return map1(rows, args[0],
                        [&as_of](const Value& a) -> Value { return date_difference(a, as_of); });
        }
        case Fn::Year:
        case Fn::Month:
            return map1(rows, args[0], [year = n.fn == Fn::Year](const Value& v) -> Value {
                const auto day = day_number(v);
                if (!day) return {};
                const auto c = civil_from_days(*day);
                return int64_t{year ? c.year : c.month};
            });
        case Fn::Ntile:
        case Fn::PercentRank:
        case Fn::Rfm:
        case Fn::Abc:
            break;  // above: has_fit
        case Fn::Xyz:
            return map1(rows, args[0], [&n](const Value& v) -> Value {
                if (is_null(v)) return {};
                const double cv = as_double(v);
                return intern(cv <= n.params.a ? "X" : cv <= n.params.b ? "Y" : "Z");
            });
    }
    return constant(Value{});
}

}  // namespace strata
