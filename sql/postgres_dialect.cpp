// The PostgreSQL dialect. PostgreSQL's AND, OR, NOT, IN, BETWEEN and CASE follow SQL's
// three-valued logic as the language defines it, and its window functions give RANK(). What
// differs from SQLite and is spelled here: bools are PostgreSQL booleans; bigint and float8
// arithmetic RAISE on overflow, float8 * and / also on underflow and division by zero, so
// every such operation is checked BEFORE it is done and gives NULL instead (or 0.0 for an
// underflow, as IEEE rounding gives); round() of a float8 rounds half to even, so rounding is
// spelled out; lower()/upper() follow the locale, so ASCII case is translate(); text compares
// by bytes under COLLATE "C"; subqueries in FROM need an alias; sum(bigint) is numeric, which
// the exact sums use (numeric arithmetic is exact).
#include "sql/postgres_dialect.hpp"
#include "sql/postgres_exact_sums.hpp"
#include "sql/postgres_time.hpp"

#include "sql/text_readers.hpp"

#include <cmath>
#include <cstdio>

#include "text/blank.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::sql {

Type type_of_postgres(const std::string& t) {
    if (t == "smallint" || t == "integer" || t == "bigint") return Type::Int;
    if (t == "real" || t == "double precision" || t == "numeric") return Type::Number;
    if (t == "boolean") return Type::Bool;
    if (t == "date") return Type::Date;
    if (t.rfind("timestamp", 0) == 0) return Type::DateTime;
    return Type::String;
}

namespace {

using postgres::kUnitsLimit;
using postgres::pow2;
using postgres::units;
using postgres::units_of_rows;

const char* kUpper = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'";
const char* kLower = "'abcdefghijklmnopqrstuvwxyz'";

class PostgresDialect final : public Dialect {
  public:
    explicit PostgresDialect(const Schema* catalog) {
        if (catalog) catalog_ = *catalog;
        has_catalog_ = catalog != nullptr;
    }

    std::string name() const override { return "postgres"; }
    // A table's physical order: the order its rows were written in until it is updated, the
    // order a data-quality sample names them in (state/warehouse_quality.cpp). A view (or a
    // foreign table) has none: its rows are numbered in the order its query gives them.
    std::optional<std::string> scan_order(const std::string& table,
                                          const std::string& quoted_table) const override {
        const TableSchema* known = has_catalog_ ? catalog_.find(table) : nullptr;
        if (known && !known->ordered) return "row_number() OVER ()";
        // Partition by partition, in the order they were made (their oids), then physically.
        if (known && known->partitioned)
            return "ROW(" + quoted_table + ".tableoid, " + quoted_table + ".ctid)";
        return quoted_table + ".ctid";
    }

    std::optional<std::string> identifier(const std::string& name) const override {
        return warehouse::quote_postgres_identifier(name);
    }

    std::optional<std::string> string_literal(const std::string& text) const override {
        if (text.find('\0') != std::string::npos) return std::nullopt;
        // E'' with quotes and backslashes doubled means the same under any
        // standard_conforming_strings.
        std::string out = "E'";
        for (char c : text) {
            if (c == '\'' || c == '\\') out += c;
            out += c;
        }
        return out + "'";
    }

    std::string integer_literal(int64_t v) const override {
        if (v == INT64_MIN) return "(CAST(-9223372036854775807 AS bigint) - 1)";
        return "CAST(" + std::to_string(v) + " AS bigint)";
    }

    std::string number_literal(double v) const override {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return std::string("CAST(") + buf + " AS double precision)";
    }

    // The native type of a column: from the catalog, else the language type's own.
    std::string native(const std::string& table, const std::string& column, Type type) const {
        if (has_catalog_) {
            if (const auto* t = catalog_.find(table))
                if (const auto* c = t->find(column)) return c->declared;
        }
        switch (type) {
            case Type::Int:
                return "bigint";
            case Type::Number:
                return "double precision";
            case Type::Bool:
                return "boolean";
            case Type::Date:
                return "date";
            case Type::DateTime:
                return "timestamp without time zone";
            default:
                return "text";
        }
    }

    std::optional<std::string> read_column(const std::string& table, const std::string& column,
                                           const std::string& c, Type type) const override {
        const std::string n = native(table, column, type);
        const Type kind = type_of_postgres(n);
        const std::string t = "btrim(CAST(" + c + " AS text), E' \\t\\r\\n')";
        switch (type) {
            case Type::String:
                if (kind == Type::Bool)
                    return "(CASE WHEN " + c + " THEN '1' WHEN NOT " + c + " THEN '0' END)";
                // to_char gives null for 'infinity', which SQLite holds as that text.
                if (kind == Type::Date)
                    return "(CASE WHEN isfinite(" + c + ") THEN to_char(" + c +
                           ", 'YYYY-MM-DD') ELSE CAST(" + c + " AS text) END)";
                return "CAST(" + c + " AS text)";
            case Type::Int:
                if (kind == Type::Int) return "CAST(" + c + " AS bigint)";
                if (kind == Type::Bool)
                    return "(CASE WHEN " + c + " THEN CAST(1 AS bigint) WHEN NOT " + c +
                           " THEN 0 END)";
                if (kind == Type::Number)
                    return "(CASE WHEN " + c + " >= -9223372036854775808 AND " + c +
                           " < 9223372036854775808 AND " + c + " = trunc(" + c + ") THEN CAST(" +
                           c + " AS bigint) END)";
                if (kind == Type::String) return postgres_text_integer(t, bind_all());
                return "CAST(NULL AS bigint)";
            case Type::Number:
                if (kind == Type::Int) return "CAST(" + c + " AS double precision)";
                if (kind == Type::Bool)
                    return "(CASE WHEN " + c + " THEN CAST(1 AS double precision) WHEN NOT " + c +
                           " THEN 0 END)";
                if (kind == Type::Number && n.rfind("numeric", 0) == 0) {
                    // numeric to double precision rounds correctly, but PostgreSQL refuses a
                    // value that rounds to 0 or past the largest double (1e-400 stopped the
                    // query); those are decided first, exactly, as for texts (text_readers).
                    const std::string half_smallest = std::string(1, kHalfSmallestDigits[0]) + "." +
                                                      (kHalfSmallestDigits + 1) + "e-324";
                    const std::string past_largest = std::string(1, kPastLargestDigits[0]) + "." +
                                                     (kPastLargestDigits + 1) + "e308";
                    return "(CASE WHEN abs(" + c + ") <= " + half_smallest +
                           " THEN CAST(0 AS double precision) WHEN abs(" + c + ") < " +
                           past_largest + " THEN CAST(" + c + " AS double precision) END)";
                }
                if (kind == Type::Number)
                    return "(CASE WHEN " + c +
                           " BETWEEN -1.7976931348623157e308 AND "
                           "1.7976931348623157e308 THEN CAST(" +
                           c + " AS double precision) END)";
                if (kind == Type::String) return postgres_text_number(t, bind_all());
                return "CAST(NULL AS double precision)";
            case Type::Bool: {
                if (kind == Type::Bool) return c;
                // A numeric 1 is an integer to SQLite (numeric affinity), so true; a double
                // 1.0 stays a fraction there, and a fraction is no bool.
                if (kind == Type::Int || (kind == Type::Number && n.rfind("numeric", 0) == 0))
                    return "(CASE " + c + " WHEN 0 THEN false WHEN 1 THEN true END)";
                if (kind != Type::String) return "CAST(NULL AS boolean)";
                const std::string l = "translate(" + t + ", " + kUpper + ", " + kLower + ")";
                return "(CASE WHEN " + l +
                       " IN ('true', 'yes', 'y', '1', 'да', 'дА', 'Да', 'ДА') THEN true WHEN " + l +
                       " IN ('false', 'no', 'n', '0', 'нет', 'неТ', 'нЕт', 'нЕТ', 'Нет', 'НеТ', "
                       "'НЕт', 'НЕТ') THEN false END)";
            }
            case Type::Date:
                return postgres_day_of(c, kind, n);
            case Type::DateTime:
                return postgres_seconds_of(
                    c, kind, n,
                    [this](const std::string& value, const std::string& name,
                           const std::string& body) { return bind(value, name, body); });
            default:
                return std::nullopt;
        }
    }

    std::optional<std::string> read_cell(const std::string& c, Type type) const override {
        return read_column("", "", c, type);
    }
    std::string read_time_day(const std::string& c) const override {
        return read_column_day("", "", c);
    }
    std::string read_key(const std::string& c) const override { return read_column_key("", "", c); }

    std::string read_column_day(const std::string& table, const std::string& column,
                                const std::string& c) const override {
        const std::string n = native(table, column, Type::Date);
        return postgres_day_of(c, type_of_postgres(n), n);
    }

    // A step named like the table (cust, f0) would stand for it unqualified.
    std::string table_reference(const std::string& quoted_table) const override {
        if (!has_catalog_ || catalog_.qualifier.empty()) return quoted_table;
        auto schema = warehouse::quote_postgres_identifier(catalog_.qualifier);
        return schema ? *schema + "." + quoted_table : quoted_table;
    }

    // The engine reads a blob as the text of its bytes; a PostgreSQL text cannot hold every
    // byte string (a NUL byte, bytes that are not UTF-8), and CAST gives the hex digits.
    static std::string bytea_refusal(const std::string& column) {
        return "a bytea's bytes cannot all be a PostgreSQL text: give a view convert_from(" +
               column + ", 'UTF8') if they are UTF-8 text";
    }

    // PostgreSQL spells numbers and moments its own way (100 where the engine writes 100.0,
    // a timestamptz in the session's zone): such a column is read as what it is.
    std::optional<std::string> column_refusal(const std::string& table, const std::string& column,
                                              Type type) const override {
        if (type != Type::String) return std::nullopt;
        const std::string n = native(table, column, type);
        if (n == "bytea") return bytea_refusal(column);
        const Type kind = type_of_postgres(n);
        if (kind != Type::Number && kind != Type::DateTime) return std::nullopt;
        return "PostgreSQL's text of its type " + n + " is not the engine's: read it as " +
               type_name(kind);
    }

    // A numeric or floating key would have to be two things at once: the engine keys a whole
    // value as an integer and a fraction as its text.
    std::optional<std::string> key_refusal(const std::string& table,
                                           const std::string& column) const override {
        const std::string n = native(table, column, Type::Int);
        if (n == "bytea") return bytea_refusal(column);
        if (type_of_postgres(n) != Type::Number) return std::nullopt;
        return "its PostgreSQL type " + n +
               " is not a key type strata reads: keys are integer or text columns (a view can "
               "give CAST(" +
               column + " AS bigint))";
    }

    std::string read_column_key(const std::string& table, const std::string& column,
                                const std::string& c) const override {
        const std::string n = native(table, column, Type::Int);
        if (type_of_postgres(n) == Type::Int) return "CAST(" + c + " AS bigint)";
        // Null, empty or blank (white space, no-break spaces) is no key, as in the engine.
        const std::string text = "CAST(" + c + " AS text)";
        std::string blank = "E'";  // every blank character (text/blank.hpp), as \\uXXXX
        for (const text::CodePointRange& r : text::blank_ranges())
            for (uint32_t ch = r.first; ch <= r.last; ++ch) {
                char code[8];
                std::snprintf(code, sizeof code, "\\u%04X", static_cast<unsigned>(ch));
                blank += code;
            }
        return "((CASE WHEN btrim(" + text + ", " + blank + "') = '' THEN NULL ELSE " + text +
               " END) COLLATE \"C\")";
    }

    // The stays of the server's strata_* tables (state/postgres_state.cpp), as a run inside
    // PostgreSQL leaves them; a base without them has no stored state for any ruleset.
    std::optional<std::string> open_general_stays(const std::string& customers,
                                                  const std::string& key,
                                                  const std::string& ruleset,
                                                  const std::string& as_of) const override {
        const bool integer = type_of_postgres(native(customers, key, Type::Int)) == Type::Int;
        auto name = string_literal(ruleset);
        auto day = string_literal(as_of);
        if (!name || !day) return std::nullopt;
        // Runs of a ruleset move forward in time: those of the day or later are those from the
        // first of them on. Open before it: begun before it, not ended before it.
        const std::string first =
            "coalesce((SELECT run_id FROM strata_runs WHERE ruleset = " + *name +
            " AND as_of >= " + *day + " ORDER BY as_of, run_id LIMIT 1), " + "9223372036854775807)";
        return "SELECT s.customer_key AS state_jk, g.name AS state_segment, (CAST(r.as_of AS "
               "date) - DATE '1970-01-01') AS state_since FROM strata_stays s JOIN "
               "strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment JOIN "
               "strata_runs r ON r.run_id = s.entered_run WHERE s.entered_run < " +
               first + " AND (s.exited_run = 0 OR s.exited_run >= " + first +
               ") AND s.level = 0 AND s.key_is_integer = " +
               std::string(integer ? "true" : "false") +
               " AND s.ruleset = (SELECT ruleset_id FROM strata_rulesets WHERE name = " + *name +
               ")";
    }

    std::string order_by_key(const std::string& k) const override { return k; }
    std::string bool_literal(bool v) const override { return v ? "true" : "false"; }
    std::string is_true(const std::string& x) const override { return "(" + x + " IS TRUE)"; }
    std::string bool_as_int(const std::string& x) const override {
        return "(CASE WHEN " + x + " THEN 1 ELSE 0 END)";
    }
    std::string subquery_alias() const override { return " AS q" + std::to_string(++aliases_); }

    std::string bind(const std::string& value, const std::string& name,
                     const std::string& body) const override {
        return "(SELECT " + body + " FROM (SELECT " + value + " AS " + name + ")" +
               subquery_alias() + ")";
    }
    // Each binding a column of a subquery over the one before, so that it sees those before it.
    BindAll bind_all() const {
        return [this](const TextBindings& bindings, const std::string& body) {
            std::string from;
            for (const auto& [name, value] : bindings)
                from = from.empty() ? "(SELECT " + value + " AS " + name + ")" + subquery_alias()
                                    : "(SELECT *, " + value + " AS " + name + " FROM " + from +
                                          ")" + subquery_alias();
            return "(SELECT " + body + " FROM " + from + ")";
        };
    }
    std::string bind2(const std::string& a, const std::string& b, const std::string& body) const {
        return "(SELECT " + body + " FROM (SELECT " + a + " AS na, " + b + " AS nb)" +
               subquery_alias() + ")";
    }

    std::string checked_int(char op, const std::string& a, const std::string& b) const override {
        const std::string v = "(CAST(" + a + " AS numeric) " + op + " CAST(" + b + " AS numeric))";
        return bind(v, "ov",
                    "CASE WHEN ov BETWEEN -9223372036854775808 AND 9223372036854775807 THEN "
                    "CAST(ov AS bigint) END");
    }
    std::string checked_negate(const std::string& a) const override {
        return bind(a, "nv", "CASE WHEN nv <> -9223372036854775808 THEN -nv END");
    }
    std::string finite(const std::string& x) const override {
        return bind(x, "fv",
                    "CASE WHEN fv BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308 "
                    "THEN fv END");
    }
    std::string to_double(const std::string& i) const override {
        return "CAST(" + i + " AS double precision)";
    }
    // As doubles when the number is not the integer's nearest double (no double lies between
    // an integer and its nearest one, so the order is the exact one); when it is, the number is
    // a whole one, compared as an integer (2^63, the nearest double to the largest integers,
    // is above them all).
    std::optional<std::string> exact_compare(const std::string& number,
                                             const std::string& integer) const override {
        return bind2(number, integer,
                     "CASE WHEN na IS NULL OR nb IS NULL THEN NULL "
                     "WHEN na < CAST(nb AS double precision) THEN -1 "
                     "WHEN na > CAST(nb AS double precision) THEN 1 "
                     "WHEN na >= 9223372036854775808.0 THEN 1 "
                     "WHEN CAST(na AS bigint) < nb THEN -1 "
                     "WHEN CAST(na AS bigint) > nb THEN 1 ELSE 0 END");
    }

    std::string number_op(char op, const std::string& a, const std::string& b,
                          bool) const override {
        const std::string r = "(na " + std::string(1, op) + " nb)";
        std::string body;
        if (op == '+' || op == '-') {
            // Only two values of at least 2^970 can overflow; their halves cannot, and the sum
            // of the halves is half the rounded sum.
            body = "CASE WHEN abs(na) < " + pow2(970) + " OR abs(nb) < " + pow2(970) + " THEN " +
                   r + " WHEN abs(na * 0.5 " + op + " nb * 0.5) < " + pow2(1023) + " THEN " + r +
                   " END";
        } else if (op == '*') {
            // Overflow only when both are above 1 (decided on the product scaled by 2^-1024),
            // underflow to zero only when both are below 1 (on the product scaled by 2^1024).
            const std::string big = "((na * " + pow2(-512) + ") * (nb * " + pow2(-512) + "))";
            auto tiny = [&](const std::string& x, const std::string& y) {
                return "CASE WHEN abs(((" + x + " * " + pow2(512) + ") * " + pow2(512) + ") * " +
                       y + ") <= " + pow2(-51) + " THEN CAST(0 AS double precision) ELSE " + r +
                       " END";
            };
            body = "CASE WHEN na = 0 OR nb = 0 THEN " + r +
                   " WHEN abs(na) > 1 AND abs(nb) > 1 THEN (CASE WHEN abs(" + big + ") < 1 THEN " +
                   r + " END) WHEN abs(na) >= 1 OR abs(nb) >= 1 THEN " + r +
                   " WHEN abs(na) <= " + pow2(-538) + " AND abs(nb) <= " + pow2(-538) +
                   " THEN CAST(0 AS double precision) WHEN abs(na) <= abs(nb) THEN (" +
                   tiny("na", "nb") + ") ELSE (" + tiny("nb", "na") + ") END";
        } else {
            // |nb| >= 1: no overflow; underflow to zero only for a tiny na. |nb| < 1: no
            // underflow; overflow only for an na large enough (above 1, or 2^-50 for an nb
            // below 2^-511), whose scaled quotient tested here cannot underflow either
            // (PostgreSQL raises on the test's own underflow as on the result's).
            const std::string up = "((na * " + pow2(537) + ") * " + pow2(537) + ")";
            body =
                "CASE WHEN nb = 0 THEN NULL WHEN abs(nb) >= 1 THEN (CASE WHEN na <> 0 AND abs(na) "
                "< " +
                pow2(-51) + " AND abs(" + up +
                " / nb) <= 0.5 THEN CAST(0 AS double precision) ELSE " + r +
                " END) WHEN abs(nb) >= " + pow2(-511) + " THEN (CASE WHEN abs(na) <= 1 THEN " + r +
                " WHEN abs(na / (nb * " + pow2(511) + ")) < " + pow2(513) + " THEN " + r +
                " END) ELSE (CASE WHEN abs(na) < " + pow2(-50) + " THEN " + r +
                " WHEN abs(na / ((nb * " + pow2(537) + ") * " + pow2(537) + ")) < " + pow2(-50) +
                " THEN " + r + " END) END";
        }
        return bind2(a, b, body);
    }

    std::string int_mod(const std::string& a, const std::string& b) const override {
        return "(" + a + " % NULLIF(" + b + ", 0))";
    }

    std::optional<std::string> number_remainder(const std::string& x,
                                                const std::string& y) const override {
        // C's fmod by long division on the binary values: p runs from the largest |y|·2^j not
        // above |x| down to |y|, halving exactly, and r loses p whenever r >= p. Since r < 2p
        // at every step, r - p is exact (Sterbenz). `p <= |x| - p` is 2p <= |x| without
        // computing 2p, which could overflow (PostgreSQL raises). The sign is x's, -0.0 too.
        const std::string steps =
            "WITH RECURSIVE dbl(p) AS (SELECT abs(nb) UNION ALL SELECT p * 2 FROM dbl WHERE p <= "
            "abs(na) - p), red(r, p) AS (SELECT abs(na), (SELECT max(p) FROM dbl) UNION ALL SELECT "
            "(CASE WHEN r >= p THEN r - p ELSE r END), p / 2 FROM red WHERE p > abs(nb)) SELECT "
            "(CASE WHEN r >= p THEN r - p ELSE r END) AS m FROM red ORDER BY p LIMIT 1";
        return bind2(x, y,
                     "CASE WHEN na IS NULL OR nb IS NULL OR nb = 0 THEN NULL ELSE (SELECT CASE "
                     "WHEN na < 0 OR CAST(na AS text) = '-0' THEN -m ELSE m END FROM (" +
                         steps + ")" + subquery_alias() + ") END");
    }

    std::optional<std::string> round_integer_digits(const std::string& x,
                                                    const std::string& digits) const override {
        // numeric's round() is half away from zero, and numeric to double precision goes
        // through its text, read correctly rounded; from 10^20 on every digit rounds away.
        return bind2(x, digits,
                     "CASE WHEN na IS NULL OR nb IS NULL THEN NULL WHEN nb >= 0 THEN CAST(na AS "
                     "double precision) WHEN nb <= -20 THEN CAST(0 AS double precision) ELSE "
                     "CAST(round(CAST(na AS numeric), CAST(nb AS integer)) AS double precision) "
                     "END");
    }

    std::optional<std::string> round_number_digits(const std::string& x,
                                                   const std::string& digits) const override {
        // PostgreSQL 12 and later write a double precision as the shortest decimal that reads
        // back exactly whenever extra_float_digits is above 0 (its default is 1); the query
        // checks the setting and stops otherwise. That text read as numeric is exact, numeric's
        // round() is half away from zero, and numeric to double precision rounds correctly.
        // At or beyond 2^1024 - 2^970 the nearest double is infinite (NULL); + 0 makes a
        // rounded -0 plain 0.
        const std::string setting = "current_setting('extra_float_digits')";
        const std::string rounded =
            "round(CAST(CAST(na AS text) AS numeric), CAST(greatest(-400, "
            "least(400, nb)) AS integer))";
        return bind2(
            x, digits,
            "CASE WHEN na IS NULL OR nb IS NULL THEN NULL WHEN CAST(" + setting +
                " AS integer) <= 0 THEN CAST('strata: round(x, digits) needs extra_float_digits "
                "above 0 (PostgreSQL''s default), not ' || " +
                setting +
                " AS double precision) WHEN na = 0 THEN CAST(0 AS double precision) ELSE " +
                bind(rounded, "rn",
                     "CASE WHEN abs(rn) >= " + kDoubleOverflow +
                         " THEN NULL ELSE CAST(rn AS double precision) + CAST(0 AS double "
                         "precision) END") +
                " END");
    }

    std::string least_greatest(bool least, const std::vector<std::string>& items) const override {
        std::string out = least ? "LEAST(" : "GREATEST(";
        for (size_t i = 0; i < items.size(); ++i)
            out += (i ? ", " : "") + items[i];
        return out + ")";
    }

    std::string min_max(bool min, const std::string& x, Type type) const override {
        if (type == Type::Bool) return std::string(min ? "bool_and(" : "bool_or(") + x + ")";
        return std::string(min ? "min(" : "max(") + x + ")";
    }

    std::string double_to_int(char how, const std::string& x) const override {
        std::string r;
        if (how == 'r')
            r = "CASE WHEN x - trunc(x) >= 0.5 THEN trunc(x) + 1 WHEN x - trunc(x) <= -0.5 THEN "
                "trunc(x) - 1 ELSE trunc(x) END";
        else if (how == 'f')
            r = "floor(x)";
        else
            r = "ceil(x)";
        return bind(bind(x, "x", r), "r",
                    "CASE WHEN r >= -9223372036854775808 AND r < 9223372036854775808 THEN CAST(r "
                    "AS bigint) END");
    }

    std::optional<std::string> add_months(const std::string& day, int64_t months) const override {
        if (months > 120000 || months < -120000) return std::nullopt;
        // A date minus a date is an integer (int4): bigint, so that a datetime's seconds
        // (the day number times 86400) do not overflow after 2038-01-19.
        return "CAST(CAST(DATE '1970-01-01' + CAST(" + day + " AS integer) + interval '" +
               std::to_string(months) + " months' AS date) - DATE '1970-01-01' AS bigint)";
    }
    // PostgreSQL's years have no 0 (1 BC comes before AD 1, and extract gives it as -1); the
    // language's calendar is proleptic with a year 0, so a year before 1 is one more.
    std::string year_of(const std::string& day) const override {
        return bind(
            "CAST(extract(year FROM DATE '1970-01-01' + CAST(" + day + " AS integer)) AS bigint)",
            "ey", "CASE WHEN ey < 0 THEN ey + 1 ELSE ey END");
    }
    std::string month_of(const std::string& day) const override {
        return "CAST(extract(month FROM DATE '1970-01-01' + CAST(" + day +
               " AS integer)) AS bigint)";
    }

    std::string collate_bytes(const std::string& text) const override {
        return "(" + text + " COLLATE \"C\")";
    }
    std::string concat(const std::string& a, const std::string& b) const override {
        return "(" + a + " || " + b + ")";
    }
    std::string step_body(const std::string& select) const override { return select + " OFFSET 0"; }
    std::string text_bytes(const std::string& text) const override {
        return "CAST(octet_length(" + text + ") AS bigint)";  // a sum of int4s may pass 2^31
    }
    std::string ascii_case(bool lower, const std::string& text) const override {
        return "translate(" + text + ", " + (lower ? kUpper : kLower) + ", " +
               (lower ? kLower : kUpper) + ")";
    }
    std::string utf8_length(const std::string& text) const override {
        // Characters of a UTF-8 text: the bytes that do not continue a character.
        return "CAST(char_length(" + text + ") AS bigint)";
    }
    std::string text_test(char how, const std::string& s, const std::string& p) const override {
        if (how == 'c') return "(strpos(" + s + ", " + p + ") > 0)";
        if (how == 's')
            return "(left(" + s + ", char_length(" + p + ")) COLLATE \"C\" = " + p + ")";
        return "(right(" + s + ", char_length(" + p + ")) COLLATE \"C\" = " + p + ")";
    }

    std::string fraction_units(const std::string& x) const override {
        return "(SELECT " + units_of_rows() + " FROM (SELECT " + x + " AS f)" + subquery_alias() +
               ")";
    }

    std::string stop(const std::string& row) const override {
        return "CAST('strata: a total beyond what the query reproduces exactly (' || CAST(" + row +
               " AS text) || ')' AS bigint)";
    }

    std::optional<std::string> exact_sum_step(const std::string& rows, Type type,
                                              bool average) const override {
        return postgres::exact_sum_step(*this, rows, type, average);
    }

    std::optional<std::string> cv_step(const std::string& rows, Type type,
                                       int periods) const override {
        return postgres::cv_step(*this, rows, type, periods);
    }
    std::string abc_units(const std::string& x, Type type, const std::string&) const override {
        if (type == Type::Int) return "(CAST(" + x + " AS numeric) * 1000000000)";
        return bind(units(x), "xu", "CASE WHEN abs(xu) < " + kUnitsLimit + " THEN xu END");
    }
    std::string abc_below(const std::string& before, const std::string& total, int64_t num,
                          int64_t den) const override {
        return "(" + before + " * " + std::to_string(den) + " < " + std::to_string(num) + " * " +
               total + ")";
    }

  private:
    // 2^1024 - 2^970: a decimal of this size or more reads as an infinite double.
    static inline const std::string kDoubleOverflow =
        "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901"
        "79775872070963302864166928879109465555478519404026306574886715058206819089020007083836762"
        "73854845817711531764475730270069855571366959622842914819860834936475292719074168444365510"
        "704342711559699508093042880177904174497792";

    Schema catalog_;
    bool has_catalog_ = false;
    mutable int aliases_ = 0;
};

}  // namespace

std::unique_ptr<Dialect> make_postgres_dialect(const Schema* catalog) {
    return std::make_unique<PostgresDialect>(catalog);
}

}  // namespace strata::sql
