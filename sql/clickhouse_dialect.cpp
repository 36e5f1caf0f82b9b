// The ClickHouse dialect, for ClickHouse 18.16 (Debian 12's). What it must work around:
// - no table CTEs and no window functions: has_ctes_and_windows() is false, so the compiler
//   builds the nested plan (sql/nested_plan.cpp);
// - NULL logic that is not SQL's (`NULL AND 0` is NULL, `NULL OR 0` is 0, `NULL NOT IN (...)`
//   is 1): AND, OR, NOT, IN and BETWEEN are spelled out from comparisons and ifNull;
// - integer + - * wrap silently, and intDiv/% of the smallest integer by -1 or by 0 throw:
//   overflow is detected from the wrapped result's sign (or by dividing back), and divisors
//   are made safe before dividing, since if() and multiIf() evaluate every branch;
// - Date covers 1970–2105 only: dates are day numbers (Int64) throughout, and calendar
//   months are computed with integer civil-date arithmetic, never with Date functions;
//   datetimes are Int64 seconds since 1970 UTC (a DateTime column's Unix time, whatever its
//   time zone), their day by intDiv rounding down (`/` is Float64).
// A value is bound once with a lambda: arrayMap(name -> body, [value])[1]. ClickHouse computes
// a function of a Nullable column on its nested values (0 under a NULL), so divisors are made
// non-null and non-zero before dividing.
// The warehouse holds typed columns (sql/clickhouse_schema.hpp): a cell is read by a plain
// conversion to the language's representation, the loader having converted it already as the
// engine's cell readers do. A column that `source.types` gives another type than its native
// one's is converted as the engine converts (sql/text_readers.hpp for texts) when the dialect
// has the catalog; a conversion that cannot be exact is refused (column_refusal).
#include <cmath>
#include <cstdio>
#include <cstring>

#include "dsl/schema.hpp"
#include "sql/clickhouse_native.hpp"
#include "sql/clickhouse_numbers.hpp"
#include "sql/dialect.hpp"
#include "sql/text_readers.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::sql {

namespace {

using clickhouse::let;
using clickhouse::lets;
using clickhouse::powers_of_ten;

const char* kMinInt = "toInt64(-9223372036854775808)";

class ClickHouseDialect final : public Dialect {
  public:
    explicit ClickHouseDialect(const Schema* catalog) {
        if (catalog) catalog_ = *catalog;
        has_catalog_ = catalog != nullptr;
    }

    std::string name() const override { return "clickhouse"; }

    std::optional<std::string> read_column(const std::string& table, const std::string& column,
                                           const std::string& c, Type type) const override {
        const Type kind = native_kind(table, column, type);
        const ColumnSchema* native = catalog_column(table, column);
        const std::string v = native ? clickhouse_native_value(native->declared, c) : c;
        if (kind == type) return read_cell(v, type);
        if ((type == Type::Date && kind == Type::DateTime) ||
            (type == Type::DateTime && kind == Type::Date))
            return read_cell(v, type);
        if (kind == Type::Any) return std::nullopt;  // refused (column_refusal)
        if (type == Type::Int && native && clickhouse_native_decimal(native->declared))
            // A Decimal's text without a zero fraction: 3.00 is 3, as SQLite keeps a whole
            // DECIMAL; 3.50 is not an integer. Exact at every precision, unlike a Float64.
            return clickhouse_text_integer(
                "replaceRegexpOne(toString(" + v + "), '\\\\.0*$', '')",
                [](const TextBindings& b, const std::string& body) { return lets(b, body); });
        return clickhouse_converted(
            v, kind, type,
            [](const TextBindings& b, const std::string& body) { return lets(b, body); },
            powers_of_ten(19, false), powers_of_ten(22, true));
    }

    std::string read_column_day(const std::string& table, const std::string& column,
                                const std::string& c) const override {
        const ColumnSchema* native = catalog_column(table, column);
        const std::string v = native ? clickhouse_native_value(native->declared, c) : c;
        if (native_kind(table, column, Type::Date) == Type::String)
            return clickhouse_text_day(
                v, [](const TextBindings& b, const std::string& body) { return lets(b, body); });
        return read_time_day(v);
    }

    // An integer key column of any width as Int64, the type the placed keys and the stays
    // hold (joins and IN need one type on both sides).
    std::string read_column_key(const std::string& table, const std::string& column,
                                const std::string& cell) const override {
        const ColumnSchema* native = catalog_column(table, column);
        if (!native) return read_key(cell);
        const std::string v = clickhouse_native_value(native->declared, cell);
        return native->type == Type::Int ? "toInt64(" + v + ")" : v;
    }

    std::optional<std::string> column_refusal(const std::string& table, const std::string& column,
                                              Type type) const override {
        const ColumnSchema* native = catalog_column(table, column);
        const Type kind = native ? native->type : type;
        // Without the catalog an untyped column is refused where it is used, as of unknown type.
        if (kind == Type::Any && !native) return std::nullopt;
        if (kind == Type::Any)
            return "its ClickHouse type " + native->declared +
                   " is not one strata reads (integers, UInt8 as boolean, floats, decimals, "
                   "strings, enums, dates and datetimes, under Nullable or LowCardinality)";
        if (type == Type::String && (kind == Type::Number || kind == Type::DateTime))
            return std::string("ClickHouse 18.16 cannot write a ") + type_name(kind) +
                   " column's values as the engine's texts: read it as " + type_name(kind);
        return std::nullopt;
    }
    // The open general stays as state/clickhouse_state.cpp's open_stays reads stays (begun by
    // a complete run, not ended by one), the day from the as_of of the run that began each.
    std::optional<std::string> open_general_stays(const std::string&, const std::string&,
                                                  const std::string& ruleset,
                                                  const std::string& as_of) const override {
        auto name = string_literal(ruleset);
        auto day = string_literal(as_of);
        if (!name || !day) return std::nullopt;
        // As the day began: only runs of earlier days begin or end a stay.
        const std::string complete =
            "(SELECT run_id FROM strata_runs WHERE status = 'complete' "
            "AND ruleset = " +
            *name + " AND as_of < " + *day + ")";
        return "SELECT state_jk, state_segment, toInt64(toUInt16(toDate(as_of))) AS state_since "
               "FROM (SELECT customer_key AS state_jk, segment AS state_segment, "
               "entered_run FROM strata_stays WHERE ruleset = " +
               *name + " AND level = 0 AND entered_run IN " + complete +
               " AND (customer_key, segment, entered_run) NOT IN (SELECT customer_key, segment, "
               "entered_run FROM strata_stay_exits WHERE ruleset = " +
               *name + " AND level = 0 AND exited_run IN " + complete +
               ")) ANY LEFT JOIN (SELECT run_id AS entered_run, as_of FROM strata_runs WHERE "
               "ruleset = " +
               *name + ") USING entered_run";
    }
    // match() is RE2's unanchored match, but ClickHouse turns on dot_nl (the engine's `.`
    // does not match a newline) and, before RE2, looks for a "required substring" that its own
    // scan of the pattern finds, case-sensitively and wrongly for some patterns ((?i)abcd,
    // []x]abcd). So the pattern is given as `\z.|(?-s:PATTERN)`: the first alternative never
    // matches and puts a `|` at the top, which turns that scan off; (?-s: restores the
    // engine's `.` around the pattern as written, whose own flags still apply inside.
    std::optional<std::string> regex_pattern(const std::string& re2) const override {
        return "\\z.|(?-s:" + re2 + ")";
    }
    std::string regex_match(const std::string& text, const std::string& pattern) const override {
        return "match(" + text + ", " + pattern + ")";
    }

    // The warehouse naming rule (warehouse/identifiers.hpp), as for PostgreSQL: the state
    // tables, the data-quality reads and the loader quote names the same way.
    std::optional<std::string> identifier(const std::string& name) const override {
        return warehouse::quote_clickhouse_identifier(name);
    }

    std::optional<std::string> string_literal(const std::string& text) const override {
        std::string out = "'";
        for (char c : text) {
            switch (c) {
                case '\\':
                    out += "\\\\";
                    break;
                case '\'':
                    out += "\\'";
                    break;
                case '\0':
                    out += "\\0";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    out += c;
            }
        }
        return out + "'";
    }

    std::string integer_literal(int64_t v) const override {
        return "toInt64(" + std::to_string(v) + ")";
    }

    std::string number_literal(double v) const override {
        // ClickHouse 18.16's parser refuses a subnormal number (`1e-310` is a syntax error):
        // those are written as their IEEE bits.
        if (std::fpclassify(v) == FP_SUBNORMAL) {
            uint64_t bits = 0;
            std::memcpy(&bits, &v, sizeof bits);
            return "reinterpretAsFloat64(reinterpretAsString(toUInt64(" + std::to_string(bits) +
                   ")))";
        }
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        return "toFloat64(" + std::string(buf) + ")";
    }

    std::optional<std::string> read_cell(const std::string& c, Type type) const override {
        switch (type) {
            case Type::String:
                return c;
            case Type::Int:
                return "toInt64(" + c + ")";
            case Type::Number:
                return "toFloat64(" + c + ")";
            case Type::Bool:
                return "if(" + c + " > 1, NULL, toUInt8(" + c + "))";
            case Type::Date:
                // The day in UTC: a Date is itself; a DateTime read as a date (source.types)
                // its UTC day, as the engine reads a datetime's date, not its low 16 bits.
                return "toInt64(toUInt16(toDate(" + c + ", 'UTC')))";
            case Type::DateTime:
                // Seconds since 1970 UTC whatever the column's or the server's time zone:
                // toDateTime(c, 'UTC') keeps a DateTime's moment and puts a Date at its
                // midnight in UTC; toUInt32 is the moment's Unix time.
                return "toInt64(toUInt32(toDateTime(" + c + ", 'UTC')))";
            default:
                return std::nullopt;
        }
    }

    // The day of a Date, or of a DateTime in UTC (the engine's days are UTC days), whatever
    // the column's or the server's time zone.
    std::string read_time_day(const std::string& c) const override {
        return "toInt64(toUInt16(toDate(" + c + ", 'UTC')))";
    }

    // The day of seconds rounding down, in Int64 (`/` would be Float64); % keeps the
    // dividend's sign as in C.
    std::string day_of_seconds(const std::string& x) const override {
        auto floor_day = [](const std::string& v) {
            return "toInt64(intDiv(" + v + " - ((" + v + " % 86400) + 86400) % 86400, 86400))";
        };
        return plain_name(x) ? floor_day(x) : let(x, "sx", floor_day("sx"));
    }

    std::string read_key(const std::string& c) const override { return c; }

    std::string bind(const std::string& value, const std::string& name,
                     const std::string& body) const override {
        return let(value, name, body);
    }

    std::string checked_int(char op, const std::string& a, const std::string& b) const override {
        std::string overflow;
        const std::string r = "(ia " + std::string(1, op) + " ib)";
        if (op == '+')
            overflow =
                "(ia > 0 AND ib > 0 AND " + r + " < 0) OR (ia < 0 AND ib < 0 AND " + r + " >= 0)";
        else if (op == '-')
            overflow =
                "(ia >= 0 AND ib < 0 AND " + r + " < 0) OR (ia < 0 AND ib > 0 AND " + r + " >= 0)";
        else
            overflow = "multiIf(ia = 0 OR ib = 0, 0, ia = -1, ib = " + std::string(kMinInt) +
                       ", ib = -1, ia = " + kMinInt + ", intDiv(" + r +
                       ", if(ifNull(ia, 0) IN (0, -1), toInt64(1), ifNull(ia, 1))) != ib)";
        return "arrayElement(arrayMap((ia, ib) -> if(" + overflow + ", NULL, " + r + "), [" + a +
               "], [" + b + "]), 1)";
    }

    std::string checked_negate(const std::string& a) const override {
        return let(a, "na", "if(na = " + std::string(kMinInt) + ", NULL, -na)");
    }

    std::string finite(const std::string& x) const override {
        return let(x, "fv", "if(isFinite(fv), fv, NULL)");
    }

    std::string to_double(const std::string& i) const override { return "toFloat64(" + i + ")"; }

    std::string double_to_int(char how, const std::string& x) const override {
        const std::string in_range =
            "(dx >= -9223372036854775808.0 AND dx < 9223372036854775808.0)";
        const std::string t = "toInt64(if(" + in_range + ", dx, 0))";
        std::string step;
        if (how == 'r')
            step = "dt + (dx - dt >= 0.5) - (dx - dt <= -0.5)";
        else if (how == 'f')
            step = "dt - (dx < dt)";
        else
            step = "dt + (dx > dt)";
        return let(x, "dx", "if(" + in_range + ", " + let(t, "dt", step) + ", NULL)");
    }

    // Day number → (y, m, d) bound as cy, cm, cd in `body` (H. Hinnant's civil_from_days).
    static std::string civil(const std::string& day, const std::string& body) {
        const std::string era = "intDiv(if(cz >= 0, cz, cz - 146096), 146097)";
        const std::string doe_body = let(
            "intDiv(ce - intDiv(ce, 1460) + intDiv(ce, 36524) - intDiv(ce, 146096), 365)", "cyoe",
            let("ce - (365 * cyoe + intDiv(cyoe, 4) - intDiv(cyoe, 100))", "cdoy",
                let("intDiv(5 * cdoy + 2, 153)", "cmp",
                    let("cdoy - intDiv(153 * cmp + 2, 5) + 1", "cd",
                        let("if(cmp < 10, cmp + 3, cmp - 9)", "cm",
                            let("cyoe + cera * 400 + (cm <= 2)", "cy", body))))));
        return let("toInt64(" + day + ") + 719468", "cz",
                   let(era, "cera", let("cz - cera * 146097", "ce", doe_body)));
    }

    // (y, m, d) → day number (days_from_civil).
    static std::string days_from(const std::string& y, const std::string& m, const std::string& d) {
        return "arrayElement(arrayMap((fy, fm, fd) -> " +
               let("fy - (fm <= 2)", "fyy",
                   let("intDiv(if(fyy >= 0, fyy, fyy - 399), 400)", "fera",
                       let("fyy - fera * 400", "fyoe",
                           "fera * 146097 + fyoe * 365 + intDiv(fyoe, 4) - intDiv(fyoe, 100) + "
                           "intDiv(153 * if(fm > 2, fm - 3, fm + 9) + 2, 5) + fd - 1 - 719468"))) +
               ", [" + y + "], [" + m + "], [" + d + "]), 1)";
    }

    std::optional<std::string> add_months(const std::string& day, int64_t months) const override {
        if (months > 120000 || months < -120000) return std::nullopt;
        const std::string total = "cy * 12 + cm - 1 + (" + std::to_string(months) + ")";
        const std::string leap = "((my % 4 = 0 AND my % 100 != 0) OR my % 400 = 0)";
        const std::string month_days =
            "multiIf(mm = 2, 28 + " + leap + ", mm IN (4, 6, 9, 11), 30, 31)";
        // The year is mt / 12 rounded down (intDiv truncates; before the year 1 mt is
        // negative): taken of mt + 12·2^32, which is positive for every month count here.
        const std::string body = let(
            "intDiv(mt + 51539607552, 12) - 4294967296", "my",
            let("mt - my * 12 + 1", "mm", days_from("my", "mm", "least(cd, " + month_days + ")")));
        return let(
            day, "dm",
            "if(isNull(dm), NULL, " + civil("assumeNotNull(dm)", let(total, "mt", body)) + ")");
    }

    std::string year_of(const std::string& day) const override {
        return let(day, "yd", "if(isNull(yd), NULL, " + civil("assumeNotNull(yd)", "cy") + ")");
    }
    std::string month_of(const std::string& day) const override {
        return let(day, "md", "if(isNull(md), NULL, " + civil("assumeNotNull(md)", "cm") + ")");
    }

    std::string collate_bytes(const std::string& text) const override { return text; }
    std::string concat(const std::string& a, const std::string& b) const override {
        return "concat(" + a + ", " + b + ")";
    }
    std::string ascii_case(bool lower, const std::string& text) const override {
        // ClickHouse's lower() and upper() change ASCII letters only (lowerUTF8 is the other).
        return std::string(lower ? "lower(" : "upper(") + text + ")";
    }
    std::string text_bytes(const std::string& text) const override {
        return "length(" + text + ")";
    }
    std::string capped_text(const std::string& text) const override {
        return let(text, "tx", "if(length(tx) <= " + std::to_string(kMaxTextBytes) + ", tx, NULL)");
    }
    std::string capped_join(const std::vector<std::string>& parts) const override {
        auto [bytes, joined] = summed_join(parts);
        return "if(" + bytes + " <= " + std::to_string(kMaxTextBytes) + ", " + joined + ", NULL)";
    }
    std::string utf8_length(const std::string& text) const override {
        return "toInt64(lengthUTF8(" + text + "))";
    }
    std::string text_test(char how, const std::string& text,
                          const std::string& part) const override {
        std::string test;
        if (how == 'c')
            test = "position(ts, tp) > 0";
        else if (how == 's')
            test = "substring(ts, 1, length(tp)) = tp";
        else
            test = "length(ts) >= length(tp) AND substring(ts, length(ts) - length(tp) + 1) = tp";
        return "arrayElement(arrayMap((ts, tp) -> if(isNull(ts) OR isNull(tp), NULL, " + test +
               "), [" + text + "], [" + part + "]), 1)";
    }

    std::string fraction_units(const std::string& x) const override {
        return clickhouse::fraction_units(x);
    }

    // ClickHouse evaluates every branch of a conditional, so the range check is a throwIf on
    // the out-of-range rows alone.
    std::optional<std::string> add_days(const std::string& day, int64_t days) const override {
        return bind("(" + day + " + " + integer_literal(days) + ")", "dv",
                    "dv + 0 * toInt64(throwIf(ifNull(dv < -2147483648 OR dv > 2147483647, 0)))");
    }

    std::string stop(const std::string& row) const override {
        return "toInt64(throwIf(1 + 0 * (" + row + ")))";
    }

    bool has_ctes_and_windows() const override { return false; }
    // abc's units (x >= 0 here, and below the limit: nested_abc leaves larger ones out):
    // within 64 bits, else the query stops.
    std::string abc_units(const std::string& x, Type type, const std::string&) const override {
        if (type == Type::Int)
            return let(x, "ux", "toInt64(ux * 1000000000 + 0 * throwIf(ux > 9223372035))");
        return let(x, "ux",
                   "toInt64(toInt64(ux) * 1000000000 + " +
                       fraction_units("(ux - toFloat64(toInt64(ux)))") +
                       " + 0 * throwIf(NOT (ux < 9223372035.0)))");
    }
    std::string abc_below(const std::string& before, const std::string& total, int64_t num,
                          int64_t den) const override {
        const std::string n = std::to_string(num), d = std::to_string(den);
        return "(" + before + " < " + n + " * intDiv(" + total + ", " + d + ") + intDiv(" + n +
               " * (" + total + " % " + d + ") + " + std::to_string(den - 1) + ", " + d + "))";
    }
    std::string is_true(const std::string& a) const override { return known_true(a); }
    std::string order_by_key(const std::string& k) const override { return k; }
    std::string run_key(const std::string& k) const override { return "toInt64(" + k + ")"; }
    std::string int_text(const std::string& i) const override { return "toString(" + i + ")"; }

    // Known true / known false of a 0/1/NULL value, as a plain 0/1.
    static std::string known_true(const std::string& a) { return "(ifNull(" + a + ", 0) = 1)"; }
    static std::string known_false(const std::string& a) { return "(ifNull(" + a + ", 1) = 0)"; }

    std::string logic_and(const std::string& a, const std::string& b) const override {
        return "arrayElement(arrayMap((la, lb) -> multiIf(" + known_false("la") + " OR " +
               known_false("lb") + ", toNullable(toUInt8(0)), isNull(la) OR isNull(lb), NULL, " +
               "toNullable(toUInt8(1))), [" + a + "], [" + b + "]), 1)";
    }
    std::string logic_or(const std::string& a, const std::string& b) const override {
        return "arrayElement(arrayMap((la, lb) -> multiIf(" + known_true("la") + " OR " +
               known_true("lb") + ", toNullable(toUInt8(1)), isNull(la) OR isNull(lb), NULL, " +
               "toNullable(toUInt8(0))), [" + a + "], [" + b + "]), 1)";
    }
    std::string logic_not(const std::string& a) const override { return "(" + a + " = 0)"; }

    // Flat, however many terms: each term becomes 1 when it decides the result (a false one for
    // AND, a true one for OR), 2 when it is null, else 0; one array of those is searched. The
    // binary forms nest a level per term, and some hundreds of levels make ClickHouse refuse
    // the query ("AST is too deep") or, past that, end the server.
    std::string logic_all(const std::vector<std::string>& terms) const override {
        if (terms.size() == 1) return terms[0];
        return decided(terms, "0", "toNullable(toUInt8(0))", "toNullable(toUInt8(1))");
    }
    std::string logic_any(const std::vector<std::string>& terms) const override {
        if (terms.size() == 1) return terms[0];
        return decided(terms, "1", "toNullable(toUInt8(1))", "toNullable(toUInt8(0))");
    }
    static std::string decided(const std::vector<std::string>& terms, const std::string& deciding,
                               const std::string& if_decided, const std::string& otherwise) {
        std::string marks;
        for (const auto& t : terms)
            marks += (marks.empty() ? "" : ", ") + ("ifNull((" + t + ") = " + deciding + ", 2)");
        return let("[" + marks + "]", "lq",
                   "multiIf(has(lq, toUInt8(1)), " + if_decided + ", has(lq, toUInt8(2)), NULL, " +
                       otherwise + ")");
    }

    // The comparisons joined flat (logic_any). The value is written in each: bound once, in a
    // lambda, an item that reads a column would be a column the lambda captures, which
    // ClickHouse 18.16 does not find ("Unknown identifier").
    std::string in_list(const std::string& value, const std::vector<std::string>& items,
                        bool negated) const override {
        if (items.empty()) return negated ? "toUInt8(1)" : "toUInt8(0)";
        std::vector<std::string> comparisons;
        comparisons.reserve(items.size());
        for (const auto& item : items)
            comparisons.push_back("(" + value + " = " + item + ")");
        const std::string in = logic_any(comparisons);
        return negated ? logic_not(in) : in;
    }
    std::string between(const std::string& value, const std::string& low, const std::string& high,
                        bool negated) const override {
        const std::string in =
            logic_and("(" + value + " >= " + low + ")", "(" + value + " <= " + high + ")");
        return negated ? logic_not(in) : in;
    }
    // One min/max aggregate over an array of the items (ClickHouse 18.16's least and greatest
    // take no texts): nulls are passed over, and the first of equal values is kept (0.0 before
    // -0.0), as the engine keeps it. Flat, however many items: a fold nests a level per item,
    // and some 300 make ClickHouse refuse the query ("AST is too deep").
    std::string least_greatest(bool least, const std::vector<std::string>& items) const override {
        if (items.size() == 1) return items[0];
        std::string list;
        for (const auto& item : items)
            list += (list.empty() ? "" : ", ") + item;
        return std::string("arrayReduce('") + (least ? "min" : "max") + "', [" + list + "])";
    }
    std::string int_abs(const std::string& a) const override {
        return let(a, "av", "if(av = " + std::string(kMinInt) + ", NULL, toInt64(abs(av)))");
    }
    std::string int_mod(const std::string& a, const std::string& b) const override {
        return "arrayElement(arrayMap((ma, mb) -> if(mb = 0, NULL, ma % if(ifNull(mb, 0) IN (0, "
               "-1), "
               "toInt64(1), ifNull(mb, 1))), [" +
               a + "], [" + b + "]), 1)";
    }
    std::optional<std::string> number_remainder(const std::string& x,
                                                const std::string& y) const override {
        return clickhouse::number_remainder(x, y);
    }

    std::optional<std::string> round_integer_digits(const std::string& x,
                                                    const std::string& digits) const override {
        return clickhouse::round_integer_digits(x, digits);
    }

    std::optional<std::string> round_number_digits(const std::string& x,
                                                   const std::string& digits) const override {
        return clickhouse::round_number_digits(x, digits);
    }

    std::string int_divide(const std::string& a, const std::string& b) const override {
        return finite("(" + to_double(a) + " / " + to_double(b) + ")");
    }

  private:
    // The language type of the column's native type (dsl/schema's type of the catalog's
    // column), or `type` itself without a catalog or for a column it does not list.
    Type native_kind(const std::string& table, const std::string& column, Type type) const {
        const ColumnSchema* c = catalog_column(table, column);
        return c ? c->type : type;
    }
    // The catalog's column, or nullptr without a catalog or for a column it does not list.
    const ColumnSchema* catalog_column(const std::string& table, const std::string& column) const {
        if (!has_catalog_) return nullptr;
        const auto* t = catalog_.find(table);
        return t ? t->find(column) : nullptr;
    }
    Schema catalog_;
    bool has_catalog_ = false;
};

}  // namespace

std::unique_ptr<Dialect> make_clickhouse_dialect(const Schema* catalog) {
    return std::make_unique<ClickHouseDialect>(catalog);
}

}  // namespace strata::sql
