// The PostgreSQL exact sums declared in sql/postgres_exact_sums.hpp.
#include "sql/postgres_exact_sums.hpp"

#include <cmath>
#include <cstdio>

namespace strata::sql::postgres {

std::string pow2(int e) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", std::ldexp(1.0, e));
    return std::string("CAST(") + buf + " AS double precision)";
}

// Over a relation with a double column f (|f| < 1): its 9-place units, as a bigint
// expression of nested subqueries (SQLite dialect's method, with trunc for its CAST).
std::string units_of_rows() {
    const std::string parts =
        "SELECT xs, CAST(trunc(ax * 1073741824.0) AS bigint) AS gh, "
        "CAST(trunc((ax * 1073741824.0 - trunc(ax * 1073741824.0)) * 9007199254740992.0) AS "
        "bigint) AS gl FROM (SELECT abs(f) AS ax, (f < 0) AS xs) AS q1";
    const std::string products =
        "SELECT xs, gh * 1953125 AS pa, (gl >> 27) * 1953125 AS pb, (gl & 134217727) * "
        "1953125 AS pc FROM (" +
        parts + ") AS q2";
    const std::string fraction =
        "SELECT xs, (pa >> 21) + ((((pa & 2097151) * 67108864) + pb + (pc >> 27)) >> 47) AS "
        "ip, "
        "(((pa & 2097151) * 67108864) + pb + (pc >> 27)) & 140737488355327 AS fp, "
        "pc & 134217727 AS rem FROM (" +
        products + ") AS q3";
    return "(SELECT (CASE WHEN xs THEN -1 ELSE 1 END) * (ip + (CASE WHEN fp > 70368744177664 "
           "OR (fp = 70368744177664 AND (rem > 0 OR (ip & 1) = 1)) THEN 1 ELSE 0 END)) FROM (" +
           fraction + ") AS q4)";
}

namespace {

// Totals of 10^38 units and more: beyond the engine's totals (engine/exact_sum.hpp).
const char* const kTotalLimit = "100000000000000000000000000000000000000";

}  // namespace

// A double column x in exact numeric units (engine/exact_sum.hpp's to_sum_units): below
// 2^62 its integer part and its fraction's units; from 2^62 on (a whole number) high and
// low parts; NULL from 2^100 on (beyond the engine's 2^127 units in any case).
std::string units(const std::string& x) {
    return "(CASE WHEN abs(" + x + ") < 4611686018427387904.0 THEN CAST(CAST(trunc(" + x +
           ") AS bigint) AS numeric) * 1000000000 + (SELECT " + units_of_rows() + " FROM (SELECT " +
           x + " - trunc(" + x + ") AS f) AS q0) WHEN abs(" + x + ") < " + pow2(100) +
           " THEN (CAST(CAST(trunc(" + x +
           " / 4611686018427387904.0) AS bigint) AS numeric) * 4611686018427387904 + CAST(" + x +
           " - trunc(" + x + " / 4611686018427387904.0) * 4611686018427387904.0 AS " +
           "bigint)) * 1000000000 END)";
}

std::string exact_sum_step(const Dialect& dialect, const std::string& rows, Type type,
                           bool average) {
    if (type == Type::Int) {
        const std::string totals = "SELECT k, sum(x) AS s, count(x) AS n FROM (" + rows + ")" +
                                   dialect.subquery_alias() + " GROUP BY k";
        if (!average)
            return "SELECT k, (CASE WHEN s BETWEEN -9223372036854775808 AND "
                   "9223372036854775807 THEN CAST(s AS bigint) END) AS v FROM (" +
                   totals + ")" + dialect.subquery_alias();
        // engine/exact_sum.hpp: the units and count·10^9 each as the nearest double
        // (numeric to double precision rounds correctly), then divided.
        return "SELECT k, (CASE WHEN n = 0 THEN NULL ELSE CAST(s * 1000000000 AS double "
               "precision) / CAST(n * 1000000000 AS double precision) END) AS v FROM (" +
               totals + ")" + dialect.subquery_alias();
    }
    const std::string u = units("x");
    const std::string per_row = "SELECT k, " + u + " AS u FROM (" + rows + ")" +
                                dialect.subquery_alias() + " WHERE x IS NOT NULL";
    const std::string totals =
        "SELECT k, sum(u) AS tot, count(*) AS n, bool_or(u IS NULL OR abs(u) >= "
        "170141183460469231731687303715884105728) AS bad FROM (" +
        per_row + ")" + dialect.subquery_alias() + " GROUP BY k";
    const std::string in_range = "bad OR abs(tot) >= 100000000000000000000000000000000000000";
    if (!average)
        return "SELECT k, (CASE WHEN " + in_range +
               " THEN NULL ELSE CAST(CAST(tot AS text) || 'e-9' AS double precision) END) AS "
               "v FROM (" +
               totals + ")" + dialect.subquery_alias();
    return "SELECT k, (CASE WHEN " + in_range +
           " THEN NULL ELSE CAST(tot AS double precision) / CAST(n * 1000000000 AS double "
           "precision) END) AS v FROM (" +
           totals + ")" + dialect.subquery_alias();
}

std::string cv_step(const Dialect& dialect, const std::string& rows, Type type, int periods) {
    const std::string a = dialect.subquery_alias();
    // Each period's total in exact units (out of range: bad, b NULL), as the nearest double.
    const std::string u = type == Type::Int ? "CAST(x AS numeric) * 1000000000" : units("x");
    const std::string per_row = "SELECT k, pk, " + u + " AS u FROM (" + rows + ")" + a;
    const std::string bad = "(bool_or(u IS NULL OR abs(u) >= " + kUnitsLimit +
                            ") OR abs(sum(u)) >= " + kTotalLimit + ")";
    const std::string totals = "SELECT k, pk, " + bad + " AS bad, (CASE WHEN " + bad +
                               " THEN NULL ELSE CAST(CAST(sum(u) AS text) || 'e-9' AS double "
                               "precision) END) AS b FROM (" +
                               per_row + ")" + a + " GROUP BY k, pk";
    // Every period of each customer with rows: a period without rows is 0.
    const std::string filled =
        "SELECT c.k AS k, s.pk AS pk, (CASE WHEN t.k IS NULL THEN CAST(0 AS double precision) "
        "ELSE t.b END) AS b, coalesce(t.bad, false) AS bad FROM (SELECT DISTINCT k FROM "
        "totals) c CROSS JOIN generate_series(0, " +
        std::to_string(periods - 1) + ") AS s(pk) LEFT JOIN totals t ON t.k = c.k AND t.pk = s.pk";
    const std::string n = "CAST(" + std::to_string(periods) + " AS double precision)";
    // sum(float8) adds with float8pl in the aggregate's ORDER BY: the engine's order.
    const std::string means = "SELECT k, sum(b ORDER BY pk) / " + n +
                              " AS mean, bool_or(bad) AS bad FROM filled GROUP BY k";
    return "WITH totals AS (" + totals + "), filled AS (" + filled + "), means AS (" + means +
           ") SELECT m.k AS k, (CASE WHEN m.bad OR m.mean = 0 THEN NULL ELSE sqrt(sum((f.b - "
           "m.mean) * (f.b - m.mean) ORDER BY f.pk) / " +
           n +
           ") / abs(m.mean) END) AS v FROM filled f JOIN means m ON m.k = f.k GROUP BY m.k, "
           "m.mean, m.bad";
}

}  // namespace strata::sql::postgres
