// cv and abc lowered with the engine's exact definitions.
//
// cv (engine/aggregates.cpp): the rows in the window get their period pk (0 = the latest,
// counting back from as_of on the calendar), each period's total is the exact sum `sum()`
// uses, rounded to a double once; then mean and variance are added in period order in
// doubles, exactly as the engine adds them. The dialect spells the step (Dialect::cv_step);
// the nested plan (ClickHouse) sorts each customer's periods into an array and adds with
// arrayCumSum, which adds element by element.
//
// abc (engine/population.cpp, engine/population_share.hpp): each positive x as its exact-sum
// units, the units ranked strictly before a customer (x descending, key ascending) and the
// total T as exact integers, and the class boundary test P < ceil(num·T/den).
#include "engine/population_share.hpp"
#include "sql/lowering.hpp"

namespace strata::sql {

namespace {

// abc_units_limit() written exactly: m·2^45 (the doubles there are multiples of 2^45), each
// factor an integer below 2^53, which every dialect reads exactly.
std::string units_limit(const Dialect& d) {
    const double limit = abc_units_limit();
    const auto m = static_cast<int64_t>(std::ldexp(limit, -45));
    return "(" + d.to_double(d.integer_literal(m)) + " * " +
           d.to_double(d.integer_literal(int64_t{1} << 45)) + ")";
}

}  // namespace

std::string Lowering::cv_rows(const bound::Aggregate& a, const std::string& fact_rows, int& periods,
                              bool with_null_values) {
    // The periods as the engine counts them (AggregateComputer's constructor): months as
    // written, days and weeks on the calendar back from as_of.
    periods = a.buckets;
    if (a.per != bound::CvPeriod::Month) {
        const int days = as_of_.days - add_duration(as_of_, a.over, -1).days;
        periods = a.per == bound::CvPeriod::Week ? days / 7 : days;
    }
    periods = std::max(periods, 1);
    std::string pk;
    if (a.per == bound::CvPeriod::Month) {
        // Period k is (as_of − (k+1) months, as_of − k months].
        pk = "CASE";
        for (int k = 0; k < periods; ++k)
            pk += " WHEN t > " +
                  d_.integer_literal(add_duration(as_of_, Duration{k + 1, 0}, -1).days) + " THEN " +
                  d_.integer_literal(k);
        pk += " ELSE -1 END";  // an explicit ELSE: ClickHouse's CASE has no NULL default
    } else {
        const std::string back = "(" + d_.integer_literal(as_of_.days) + " - t)";
        const std::string length = d_.integer_literal(a.per == bound::CvPeriod::Week ? 7 : 1);
        pk = nested() ? "intDiv(" + back + ", " + length + ")" : "(" + back + " / " + length + ")";
    }
    const std::string up_to = "t <= " + d_.integer_literal(as_of_.days);
    std::string where;
    if (nested())
        where =
            d_.is_true(a.where ? d_.logic_and("(" + up_to + ")", expr(*a.where, a.fact)) : up_to);
    else
        where = up_to + (a.where ? " AND (" + expr(*a.where, a.fact) + ")" : "");
    const std::string rows = "SELECT k, " + expr(*a.value, a.fact) + " AS x, " + pk +
                             " AS pk FROM " + fact_rows + " WHERE " + where;
    return "SELECT k, x, " + std::string(nested() ? "toInt64(assumeNotNull(pk))" : "pk") +
           " AS pk FROM (" + rows + ")" + d_.subquery_alias() + " WHERE " +
           (with_null_values ? "" : "x IS NOT NULL AND ") + "pk >= 0 AND pk < " +
           d_.integer_literal(periods);
}

std::string Lowering::cv_step(const bound::Aggregate& a, const std::string& fact_rows) {
    int periods = 0;
    const std::string rows = cv_rows(a, fact_rows, periods);
    if (auto step = d_.cv_step(rows, a.value->type, periods)) return *step;
    if (d_.has_sqrt()) return unrolled_cv(rows, a.value->type, periods);
    refuse(a.value->location, d_.cv_refusal());
    return "SELECT k, NULL AS v FROM " + fact_rows;
}

std::string Lowering::unrolled_cv(const std::string& rows, Type type, int periods) {
    // Each period's total as sum() gives it, as a double. An integer total beyond 64 bits,
    // which the engine's totals still hold, stops the query.
    const std::string totals = portable_total(rows, type, false, "k, pk");
    const std::string b = type == Type::Int ? "(CASE WHEN v IS NULL THEN " + d_.stop("pk") +
                                                  " ELSE CAST(v AS REAL) END)"
                                            : "v";
    // One column per period (0 where a period has no rows), then the sums written out term by
    // term, left to right, which is the engine's order of additions.
    std::string pivot, mean, var, names;
    for (int p = 0; p < periods; ++p) {
        const std::string bp = "b" + std::to_string(p);
        pivot +=
            ", coalesce(max(CASE WHEN pk = " + std::to_string(p) + " THEN b END), 0.0) AS " + bp;
        names += ", " + bp;
        mean += (p ? " + " : "") + bp;
        var += (p ? " + " : "") + ("(" + bp + " - mean) * (" + bp + " - mean)");
    }
    const std::string n = "CAST(" + std::to_string(periods) + " AS REAL)";
    const std::string pivoted = "SELECT k" + pivot + " FROM (SELECT k, pk, " + b + " AS b FROM (" +
                                totals + ")) GROUP BY k";
    const std::string means =
        "SELECT k" + names + ", (" + mean + ") / " + n + " AS mean FROM (" + pivoted + ")";
    return "SELECT k, (CASE WHEN mean = 0 THEN NULL ELSE sqrt((" + var + ") / " + n +
           ") / abs(mean) END) AS v FROM (" + means + ")";
}

std::string Lowering::nested_cv(const bound::Aggregate& a, const std::string& fact_rows) {
    int periods = 0;
    const std::string rows = cv_rows(a, fact_rows, periods);
    const std::string p = std::to_string(periods);  // a plain literal: range() takes UInt
    // Each period's total as sum() gives it (a total the query cannot reproduce stops it).
    GroupedRows grouping;
    grouping.from = "(" + rows + ")";
    grouping.by = {{"k", "k"}, {"pk", "pk"}};
    grouping.x = "x";
    grouping.where = "1";
    const std::string totals = nested_total(grouping, a.value->type, false);
    const std::string b = "toFloat64(ifNull(toFloat64(v), toFloat64(throwIf(isNull(v)))))";
    // Every period of each customer with rows (0 where a period has none), in period order:
    // each customer's periods and totals gathered, then looked up for each period. (ClickHouse
    // 18.16's lambdas do not see the columns beside an array column: the gathered arrays are
    // given to the lambda once per period.)
    const std::string filled =
        "SELECT k, arrayMap((i, ks, vs) -> if(indexOf(ks, toInt64(i)) = 0, 0., arrayElement(vs, "
        "indexOf(ks, toInt64(i)))), range(" +
        p + "), arrayResize([pks], " + p + ", pks), arrayResize([vals], " + p +
        ", vals)) AS bs FROM (SELECT k, groupArray(pk) AS pks, groupArray(" + b +
        ") AS vals FROM (" + totals + ") GROUP BY k)";
    const std::string mean =
        "SELECT k, bs, arrayCumSum(bs)[" + p + "] / " + p + " AS mean FROM (" + filled + ")";
    const std::string var =
        "SELECT k, mean, arrayCumSum(arrayMap((y, m) -> (y - m) * (y - m), bs, "
        "arrayResize(emptyArrayFloat64(), " +
        p + ", mean)))[" + p + "] AS var FROM (" + mean + ")";
    return "SELECT k, if(mean = 0, NULL, sqrt(var / " + p + ") / abs(mean)) AS v FROM (" + var +
           ")";
}

void Lowering::abc_step(const bound::Call& c, const std::string& x, const std::string& name) {
    const Type type = c.args[0]->type;
    const std::string u = name + "_u", t = name + "_t", bad = name + "_bad", before = name + "_p";
    add_columns(
        {{u, "(CASE WHEN " + x + " > 0 THEN " + d_.abc_units(x, type, units_limit(d_)) + " END)"}});
    add_columns(
        {{t, "coalesce(sum(" + u + ") OVER (), 0)"},
         {bad, "max(CASE WHEN " + x + " > 0 AND " + u + " IS NULL THEN 1 ELSE 0 END) OVER ()"},
         {before, "coalesce(sum(" + u + ") OVER (ORDER BY " + x + " DESC, " + d_.order_by_key("k") +
                      " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"}});
    const ShareFraction fa = share_fraction(c.params.a), fb = share_fraction(c.params.b);
    add_columns(
        {{name, "(CASE WHEN " + x + " IS NULL THEN NULL WHEN " + x + " <= 0 THEN " +
                    text("C", Location{}) + " WHEN " + bad + " = 1 OR " + t +
                    " >= 100000000000000000000000000000000000000 THEN NULL WHEN " +
                    d_.abc_below(before, t, fa.num, fa.den) + " THEN " + text("A", Location{}) +
                    " WHEN " + d_.abc_below(before, t, fb.num, fb.den) + " THEN " +
                    text("B", Location{}) + " ELSE " + text("C", Location{}) + " END)"}});
}

std::string Lowering::abc_units_or_null(const bound::Call& c, const std::string& x) {
    const Type type = c.args[0]->type;
    const std::string limit = units_limit(d_);
    if (!nested())
        return "(CASE WHEN " + x + " > 0 AND " + x + " < " + limit + " THEN " +
               d_.abc_units(x, type, limit) + " END)";
    // ClickHouse's if() computes both sides: the units of 0 where there are none.
    const std::string has_units = "ifNull(" + x + " > 0 AND " + x + " < " + limit + ", 0)";
    return "if(" + has_units + ", " +
           d_.abc_units("ifNull(if(" + has_units + ", " + x + ", 0), 0)", type, limit) + ", NULL)";
}

void Lowering::nested_abc(const bound::Call& c, const std::string& x, const std::string& name) {
    size_t xi = 0;
    std::string tuple;
    for (size_t i = 0; i < columns_.size(); ++i) {
        tuple += (i ? ", " : "") + columns_[i];
        if (columns_[i] == x) xi = i + 1;
    }
    const std::string xe = "tupleElement(t, " + std::to_string(xi) + ")";
    const std::string positive = "ifNull(" + xe + " > 0, 0)";
    // Positive values without units (the limit or more, infinite): abc is null for every
    // positive x, as in the engine.
    const std::string limit = units_limit(d_);
    const std::string no_units = "arrayExists(t -> ifNull(" + positive + " AND NOT (" + xe + " < " +
                                 limit + "), 0), rows) AS nu";
    // x descending, then key ascending; the order of the others does not matter (no units).
    const std::string sorted = "arraySort(t -> (if(" + positive + ", 0, 1), if(" + positive +
                               ", -ifNull(" + xe + ", 0), 0), tupleElement(t, 1)), rows)";
    // Units of the positive x (0 for the others, computed on 0 so no guard fires for them).
    const std::string units = "arrayMap(t -> " +
                              d_.abc_units("ifNull(if(" + positive + " AND " + xe + " < " + limit +
                                               ", " + xe + ", 0), 0)",
                                           c.args[0]->type, limit) +
                              ", rs)";
    // Each customer's P (the units before them) zipped with the rows: ARRAY JOIN must not
    // carry a whole-base array on every row. T in two 32-bit halves summed apart (no wrap); it must
    // fit 63 bits, else the query stops.
    const std::string halves =
        "SELECT rs, nu, us, arrayCumSum(us) AS cs, toInt64(arraySum(arrayMap(u -> bitShiftRight(u, "
        "32), us))) AS th, toInt64(arraySum(arrayMap(u -> bitAnd(u, 4294967295), us))) AS tl "
        "FROM (SELECT rs, nu, " +
        units + " AS us FROM (SELECT " + sorted + " AS rs, " + no_units +
        " FROM (SELECT groupArray(tuple(" + tuple + ")) AS rows FROM " + current_ + ")))";
    const std::string total =
        "SELECT rs, nu, arrayMap((c, u) -> c - u, cs, us) AS ps, th + bitShiftRight(tl, 32) AS hi, "
        "bitAnd(tl, 4294967295) AS lo "
        "FROM (" +
        halves + ")";
    std::string sql = "SELECT ";
    for (size_t i = 0; i < columns_.size(); ++i)
        sql += "tupleElement(r, " + std::to_string(i + 1) + ") AS " + columns_[i] + ", ";
    const std::string rx = "tupleElement(r, " + std::to_string(xi) + ")";
    const std::string t = "toInt64(bitShiftLeft(hi, 32) + lo + 0 * throwIf(hi >= 2147483648))";
    const std::string before = "toInt64(p)";
    const ShareFraction fa = share_fraction(c.params.a), fb = share_fraction(c.params.b);
    sql += "multiIf(isNull(" + rx + "), NULL, " + rx + " <= 0, 'C', nu, NULL, " +
           d_.abc_below(before, t, fa.num, fa.den) + ", 'A', " +
           d_.abc_below(before, t, fb.num, fb.den) + ", 'B', 'C') AS " + name + " FROM (" + total +
           ") ARRAY JOIN rs AS r, ps AS p";
    columns_.push_back(name);
    add_step(sql);
}

}  // namespace strata::sql
