#include "sql/sqlite_parts.hpp"

#include "sql/dialect.hpp"

namespace strata::sql::sqlite {

namespace {

// `body` over the columns of `select`, as one scalar subquery.
std::string over(const std::string& body, const std::string& select) {
    return "(SELECT " + body + from(select) + ")";
}

// A number text taken apart (engine/numeric.cpp, parse_decimal): ok, neg, and the value as
// sig · 10^scale, sig its significant digits (no leading or trailing zeros; '' for zero).
std::string decimal_parts(const std::string& t) {
    // SQLite's parser allows about 14 nested subqueries: the steps repeat small parts instead.
    const std::string epos = "instr(lower(b), 'e')";
    const std::string signed_x = "substr(x, 1, 1) IN ('+', '-')";
    const std::string ed = "(CASE WHEN " + signed_x + " THEN substr(x, 2) ELSE x END)";
    const std::string split =
        "SELECT neg, " + epos + " > 0 AS hasx, CASE WHEN " + epos + " > 0 THEN substr(b, 1, " +
        epos + " - 1) ELSE b END AS m, CASE WHEN " + epos + " > 0 THEN substr(b, " + epos +
        " + 1) ELSE '' END AS x" +
        from(
            "SELECT substr(t, 1, 1) = '-' AS neg, CASE WHEN substr(t, 1, 1) IN ('+', '-') THEN "
            "substr(t, 2) ELSE t END AS b" +
            from("SELECT " + t + " AS t"));
    const std::string checked =
        "SELECT neg, m, (m <> '' AND m <> '.' AND m NOT GLOB '*[^0-9.]*' AND m NOT GLOB "
        "'*.*.*' AND (NOT hasx OR (" +
        ed + " <> '' AND " + ed + " NOT GLOB '*[^0-9]*'))) AS ok, (CASE WHEN " + ed +
        " = '' THEN 0 WHEN length(" + ed + ") > 6 THEN 1000000 ELSE CAST(" + ed +
        " AS INTEGER) END) * (CASE WHEN substr(x, 1, 1) = '-' THEN -1 ELSE 1 END) AS e" +
        from(split);
    const std::string digits =
        "SELECT neg, ok, e, CASE WHEN instr(m, '.') > 0 THEN substr(m, instr(m, '.') + 1) ELSE '' "
        "END AS fp, ltrim(CASE WHEN instr(m, '.') > 0 THEN substr(m, 1, instr(m, '.') - 1) || "
        "substr(m, instr(m, '.') + 1) ELSE m END, '0') AS lz" +
        from(checked);
    return "SELECT neg, ok, rtrim(lz, '0') AS sig, length(rtrim(lz, '0')) AS nsig, e - length(fp) "
           "+ length(lz) - length(rtrim(lz, '0')) AS scale" +
           from(digits);
}

// The whole value of the parts within 64 bits, or NULL.
const char* kIntegerOfParts =
    "CASE WHEN NOT ok THEN NULL WHEN sig = '' THEN 0 WHEN scale < 0 OR nsig + scale > 19 THEN "
    "NULL WHEN nsig + scale = 19 AND sig || substr('0000000000000000000', 1, scale) > (CASE WHEN "
    "neg THEN '9223372036854775808' ELSE '9223372036854775807' END) THEN NULL ELSE CAST((CASE "
    "WHEN neg THEN '-' ELSE '' END) || sig || substr('0000000000000000000', 1, scale) AS INTEGER) "
    "END";

// 10^k as an exact double, 0 <= k <= 22.
std::string power_of_ten(const std::string& k) {
    return "(CAST(CAST(substr('1000000000000000000', 1, min(" + k +
           ", 18) + 1) AS INTEGER) AS REAL) * (CASE WHEN " + k +
           " > 18 THEN CAST(CAST(substr('10000', 1, " + k +
           " - 17) AS INTEGER) AS REAL) ELSE 1.0 END))";
}

// A day's civil date (dsl/calendar.cpp, civil_from_days) as columns y, m, d. SQLite's parser
// allows about 14 nested subqueries, so there are two steps (z, then era and doe) and the
// rest is written out in terms of them, repeating its small parts.
std::string civil(const std::string& day) {
    const std::string yoe = "((doe - doe / 1460 + doe / 36524 - doe / 146096) / 365)";
    const std::string doy = "(doe - (365 * " + yoe + " + " + yoe + " / 4 - " + yoe + " / 100))";
    const std::string mp = "((5 * " + doy + " + 2) / 153)";
    const std::string month =
        "(CASE WHEN " + mp + " < 10 THEN " + mp + " + 3 ELSE " + mp + " - 9 END)";
    // A column's plain name is written where z stands, one step fewer.
    const std::string z = Dialect::plain_name(day) ? "(" + day + " + 719468)" : "z";
    const std::string era =
        "((CASE WHEN " + z + " >= 0 THEN " + z + " ELSE " + z + " - 146096 END) / 146097)";
    const std::string era_and_doe =
        "SELECT " + era + " AS era, " + z + " - " + era + " * 146097 AS doe";
    return "SELECT " + yoe + " + era * 400 + (" + month + " <= 2) AS y, " + month + " AS m, " +
           doy + " - (153 * " + mp + " + 2) / 5 + 1 AS d" +
           from(z == "z" ? era_and_doe + from("SELECT " + day + " + 719468 AS z") : era_and_doe);
}

}  // namespace

std::string from(const std::string& select) {
    return " FROM (" + select + " LIMIT -1 OFFSET 0)";
}

std::string stop(const std::string& row) {
    // abs() of the smallest integer is an error in SQLite: "integer overflow".
    return "abs(-9223372036854775807 - 1 + 0 * (" + row + "))";
}

std::string text_integer(const std::string& trimmed) {
    return over(kIntegerOfParts, decimal_parts(trimmed));
}

std::string text_number(const std::string& trimmed) {
    const std::string sign = "(CASE WHEN neg THEN -1.0 ELSE 1.0 END)";
    const std::string mantissa = "CAST(CAST(sig AS INTEGER) AS REAL)";
    return over(
        "CASE WHEN NOT ok THEN NULL WHEN sig = '' THEN 0.0 WHEN iv IS NOT NULL THEN CAST(iv AS "
        "REAL) WHEN nsig <= 15 AND scale BETWEEN -22 AND -1 THEN " +
            sign + " * (" + mantissa + " / " + power_of_ten("(-scale)") +
            ") WHEN nsig <= 15 AND scale BETWEEN 0 AND 22 THEN " + sign + " * (" + mantissa +
            " * " + power_of_ten("scale") + ") WHEN scale > 22 AND nsig + scale - 22 <= 15 THEN " +
            sign +
            " * (CAST(CAST(sig || substr('000000000000000', 1, scale - 22) AS INTEGER) AS REAL) "
            "* " +
            power_of_ten("22") +
            ") WHEN nsig + scale - 1 > 308 THEN NULL WHEN nsig + scale <= -324 THEN 0.0 ELSE " +
            stop("nsig") + " END",
        "SELECT neg, ok, sig, nsig, scale, " + std::string(kIntegerOfParts) + " AS iv" +
            from(decimal_parts(trimmed)));
}

std::string year_of_day(const std::string& day) {
    return over("y", civil(day));
}

std::string month_of_day(const std::string& day) {
    return over("m", civil(day));
}

std::string add_months(const std::string& day, long long months) {
    // total: the month count y·12 + (m − 1) moved; the engine's year is total / 12 rounded
    // down and its month total − year·12 + 1, the day kept or the last. Before the year 1 the
    // total is negative and SQLite's / and % truncate, so both are taken of total + 12·2^32,
    // which is positive: the engine's years are above −6·10^6 and |months| is below 2^31.
    const std::string total = "(y * 12 + m - 1 + (" + std::to_string(months) + "))";
    const std::string shifted = "(" + total + " + 51539607552)";
    const std::string ny = "(" + shifted + " / 12 - 4294967296)";
    const std::string nm = "(" + shifted + " % 12 + 1)";
    const std::string last = "(CASE " + nm + " WHEN 2 THEN (CASE WHEN (" + ny + " % 4 = 0 AND " +
                             ny + " % 100 <> 0) OR " + ny + " % 400 = 0 THEN 29 ELSE 28 END) " +
                             "WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30 " +
                             "ELSE 31 END)";
    const std::string yy = "(" + ny + " - (" + nm + " <= 2))";
    const std::string era =
        "((CASE WHEN " + yy + " >= 0 THEN " + yy + " ELSE " + yy + " - 399 END) / 400)";
    const std::string yoe = "(" + yy + " - " + era + " * 400)";
    // The day number of (yy, nm, the day kept or the month's last), written out over civil's
    // columns rather than in steps of its own, so that a date moved twice still fits SQLite's
    // parser.
    const std::string moved = "(" + era + " * 146097 + " + yoe + " * 365 + " + yoe + " / 4 - " +
                              yoe + " / 100 + (153 * (CASE WHEN " + nm + " > 2 THEN " + nm +
                              " - 3 ELSE " + nm + " + 9 END) + 2) / 5 + min(d, " + last +
                              ") - 1 - 719468)";
    return "(SELECT CASE WHEN " + moved + " NOT BETWEEN -2147483648 AND 2147483647 THEN " +
           stop(total) + " ELSE " + moved + " END" + from(civil(day)) + ")";
}

std::string day_in_range(const std::string& day) {
    return "(CASE WHEN " + day + " BETWEEN -2147483648 AND 2147483647 THEN " + day + " ELSE " +
           stop(day) + " END)";
}

std::string fmod(const std::string& x, const std::string& y) {
    // While r >= |y|: p, the largest |y|·2^j not above r, has p <= r < 2p, so r - p is exact.
    return over(
        "CASE WHEN fx IS NULL OR fy IS NULL OR fy = 0 THEN NULL ELSE (WITH RECURSIVE red(r) AS "
        "(SELECT abs(fx) UNION ALL SELECT r - (WITH RECURSIVE dbl(p) AS (SELECT abs(fy) UNION ALL "
        "SELECT p * 2 FROM dbl WHERE p * 2 <= r) SELECT max(p) FROM dbl) FROM red WHERE r >= "
        "abs(fy)) SELECT (CASE WHEN fx < 0 THEN -1.0 ELSE 1.0 END) * min(r) FROM red) END",
        "SELECT " + x + " AS fx, " + y + " AS fy");
}

std::string round_integer(const std::string& x, const std::string& digits) {
    // For -18 <= digits <= -1: q = 10^-digits, t = x / q truncated, rounded away from zero
    // when the remainder is at least half of q; t·q as a double is (t·q/2 as a double)·2.
    const std::string rounded = over(
        "CASE WHEN rt = 0 THEN 0.0 ELSE CAST(rt * (q / 2) AS REAL) * 2.0 END",
        "SELECT (rx / q) + (CASE WHEN abs(rx % q) * 2 >= q THEN (CASE WHEN rx < 0 THEN -1 ELSE 1 "
        "END) ELSE 0 END) AS rt, q" +
            from("SELECT CAST(substr('1000000000000000000', 1, 1 - rd) AS INTEGER) AS q"));
    return over(
        "CASE WHEN rx IS NULL OR rd IS NULL THEN NULL WHEN rd >= 0 THEN CAST(rx AS REAL) "
        "WHEN rd <= -20 THEN 0.0 WHEN rd = -19 THEN (CASE WHEN rx >= 5000000000000000000 "
        "THEN 1.0 WHEN rx <= -5000000000000000000 THEN -1.0 ELSE 0.0 END) * "
        "CAST(5000000000000000000 AS REAL) * 2.0 ELSE " +
            rounded + " END",
        "SELECT " + x + " AS rx, " + digits + " AS rd");
}

}  // namespace strata::sql::sqlite
