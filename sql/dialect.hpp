// How one SQL dialect spells what the compiler needs: quoting, literals, checked integer
// arithmetic, dates as day numbers, text by bytes, reading a stored cell as a language type,
// and the exact-sum pieces. The compiler (sql/compiler.hpp) decides WHAT to compute from the
// bound program; a dialect only says HOW its SQL writes it. Every method returns an SQL
// expression text over the SQL expression texts it is given, or nullopt when the dialect
// cannot say it with the language's meaning (the compiler then refuses the construct with
// `reason()` at its place in the rule file).
//
// Representation every dialect keeps (the compiler relies on it): a bool is 0/1 or NULL, an
// integer a 64-bit integer, a number a double, a string text compared by bytes, a date an
// integer count of days since 1970-01-01. A null is SQL's NULL.
#pragma once

#include <algorithm>
#include <cctype>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dsl/types.hpp"

namespace strata {
struct Schema;
}

namespace strata::sql {

class Dialect {
  public:
    virtual ~Dialect() = default;
    virtual std::string name() const = 0;

    // Identifiers: checked (nullopt when the dialect cannot quote it) and quoted.
    virtual std::optional<std::string> identifier(const std::string& name) const = 0;
    // Literals, rendered safely: no user text is spliced unescaped.
    virtual std::optional<std::string> string_literal(const std::string& text) const = 0;
    virtual std::string integer_literal(int64_t v) const = 0;
    virtual std::string number_literal(double v) const = 0;

    // A stored cell (`cell` names a column of the table) read as `type`, exactly as the
    // engine's cell readers convert it: what does not convert is NULL.
    virtual std::optional<std::string> read_cell(const std::string& cell, Type type) const = 0;
    // A fact's time cell as the day it falls on (NULL when unknown).
    virtual std::string read_time_day(const std::string& cell) const = 0;
    // A customer key as the engine keys customers: an integer (a whole REAL is one), or else
    // its text; NULL for no key (null, empty or blank). The same for a fact row's key.
    virtual std::string read_key(const std::string& cell) const = 0;
    // How keys meet (engine/reader.hpp, KeyIndex): a key's kind (0 integer, 1 text) and its
    // text. A fact row's key joins the customer of the same kind and text, else the one of
    // the other kind with the same text ('5' finds the integer 5 when there is no text '5').
    // The defaults suit a typed key column: one kind.
    virtual std::string key_kind(const std::string& key) const { return "0"; }
    virtual std::string key_text(const std::string& key) const {
        return "CAST(" + key + " AS TEXT)";
    }
    // The ruleset's general stays open as the day `as_of` (YYYY-MM-DD) began: those its stored
    // runs of earlier days left open, whatever runs of that day or later did since (what
    // previous_segment, segment_since and days_in_segment read: engine/state.hpp's
    // first_run_from). A subquery with the columns state_jk (meets the customer rows' key_text
    // for the key column `key` of `customers`), state_segment (the segment id) and state_since
    // (the day of the as_of of the run that began the stay). nullopt when this dialect does not
    // read the stored state; `state_refusal()` then says why.
    virtual std::optional<std::string> open_general_stays(const std::string& customers,
                                                          const std::string& key,
                                                          const std::string& ruleset,
                                                          const std::string& as_of) const {
        return std::nullopt;
    }
    virtual std::string state_refusal() const { return "not compiled yet"; }
    // The expression that orders `table`'s rows (`quoted_table` as the query names it) as a
    // scan reads them (of customer rows with the same key, the first stays), or nullopt when
    // the dialect has none. A view has no physical order: its rows are numbered in the order
    // its query gives them, as the engine reads them.
    virtual std::optional<std::string> scan_order(const std::string& table,
                                                  const std::string& quoted_table) const {
        return std::nullopt;
    }

    // `body` with `value` evaluated once and available in it as `name`.
    virtual std::string bind(const std::string& value, const std::string& name,
                             const std::string& body) const = 0;

    // Integer + - * and negation; NULL on overflow.
    virtual std::string checked_int(char op, const std::string& a, const std::string& b) const = 0;
    virtual std::string checked_negate(const std::string& a) const = 0;
    // A double result, NULL when it is not finite.
    virtual std::string finite(const std::string& x) const = 0;
    virtual std::string to_double(const std::string& int_expr) const = 0;
    // `number` (a double) against `integer` (a 64-bit integer) by their exact values, as the
    // engine compares them: -1, 0 or 1, NULL when either is. nullopt where the database's own
    // comparison of the two is exact (SQLite's, ClickHouse's); PostgreSQL's makes the integer a
    // double, so 2^53 + 1 equals 2^53.
    virtual std::optional<std::string> exact_compare(const std::string& number,
                                                     const std::string& integer) const {
        (void)number;
        (void)integer;
        return std::nullopt;
    }
    // A double to an integer by a rounding: 'r' half away from zero, 'f' floor, 'c' ceiling;
    // NULL beyond the 64-bit integers.
    virtual std::string double_to_int(char how, const std::string& x) const = 0;

    // Dates as day numbers. add_months keeps the day of month (or the month's last day) for
    // every day the engine's 32-bit days hold, before the year 1 too (the year rounds down,
    // as dsl/calendar.cpp's); a dialect may stop the query where its own date type ends
    // (SQLite's: where the moved day leaves the 32-bit days). year_of and month_of are the
    // civil year and month of any such day (proleptic, with a year 0).
    virtual std::optional<std::string> add_months(const std::string& day, int64_t months) const = 0;
    // How deep a date moved by months may nest subqueries (each move nests a few): SQLite's
    // parser stops at about a dozen ("parser stack overflow"); the others have no such limit.
    virtual int deepest_moved_day() const { return 1 << 30; }
    // Why the dialect's own parser would not take `query` (it nests too deep for its stack, or
    // its expression tree is too large), in its own words; nullopt when it would. Only limits
    // of depth and size are reported: an unknown table or column (the query is parsed apart
    // from the database) is not one. Default: no such limit.
    virtual std::optional<std::string> beyond_parser(const std::string& query) const {
        (void)query;
        return std::nullopt;
    }
    // A day moved by a constant number of days; the engine's days are 32-bit integers, so a
    // result beyond them must stop the query (see stop()).
    virtual std::optional<std::string> add_days(const std::string& day, int64_t days) const {
        return bind("(" + day + " + " + integer_literal(days) + ")", "dv",
                    "CASE WHEN dv IS NULL THEN NULL WHEN dv >= -2147483648 AND dv <= 2147483647 "
                    "THEN dv ELSE " +
                        stop("dv") + " END");
    }
    // Datetimes as integer seconds since 1970-01-01T00:00:00 (dsl/calendar.hpp's DateTime),
    // in UTC. day_of_seconds is the calendar day of seconds `x` (division rounding down, as
    // to_date). A dialect without them refuses datetime values (datetime_refusal()).
    virtual bool has_datetimes() const { return true; }
    virtual std::string datetime_refusal() const { return ""; }
    virtual std::string day_of_seconds(const std::string& x) const {
        auto floor_day = [](const std::string& v) {
            return "((" + v + " - ((" + v + " % 86400) + 86400) % 86400) / 86400)";
        };
        return plain_name(x) ? floor_day(x) : bind(x, "sx", floor_day("sx"));
    }
    // Whether `x` is a column's plain name, which can be written more than once where
    // anything else is bound once: bind() adds levels of nesting, and SQLite's parser allows
    // only so many.
    static bool plain_name(const std::string& x) {
        return !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
    }
    virtual std::string year_of(const std::string& day) const = 0;
    virtual std::string month_of(const std::string& day) const = 0;

    // `%` of two doubles as C's fmod, exactly (NULL when y is 0 or either is NULL).
    // Default: not built (refused).
    virtual std::optional<std::string> number_remainder(const std::string& x,
                                                        const std::string& y) const {
        (void)x, (void)y;
        return std::nullopt;
    }
    // round(x, digits) of a 64-bit integer x as engine/numeric round_decimal(int64_t, int64_t):
    // the nearest double of x rounded half away from zero at 10^-digits (x as a double when
    // digits >= 0, 0.0 when every digit is rounded away). Default: not built (refused).
    virtual std::optional<std::string> round_integer_digits(const std::string& x,
                                                            const std::string& digits) const {
        (void)x, (void)digits;
        return std::nullopt;
    }
    // round(x, digits) of a double x as engine/numeric round_decimal(double, int64_t): the
    // shortest decimal that reads back as x, rounded half away from zero at 10^-digits (digits
    // taken within -400..400), then the nearest double; 0.0 (never -0.0) when it rounds to zero
    // or x is ±0; NULL when either is NULL or the result is beyond the largest double. Where the
    // dialect cannot form that value the query stops. Default: not built (refused).
    virtual std::optional<std::string> round_number_digits(const std::string& x,
                                                           const std::string& digits) const {
        (void)x, (void)digits;
        return std::nullopt;
    }
    // Why round(x, digits) of a number is refused where round_number_digits() gives nullopt.
    virtual std::string round_number_refusal() const {
        return "round(x, digits) of a number rounds the shortest decimal that reads back as x, "
               "which " +
               name() + " cannot write exactly";
    }

    // Text by bytes.
    virtual std::string collate_bytes(const std::string& text) const = 0;
    virtual std::string concat(const std::string& a, const std::string& b) const = 0;
    // A text's length in bytes, as the language counts them (UTF-8's).
    virtual std::string text_bytes(const std::string& text) const = 0;
    // `text`, or NULL when it is longer than kMaxTextBytes bytes (dsl/types.hpp): a join of
    // texts, capped as the engine caps it.
    virtual std::string capped_text(const std::string& text) const {
        return bind(text, "tx",
                    "CASE WHEN " + text_bytes("tx") + " <= " + std::to_string(kMaxTextBytes) +
                        " THEN tx END");
    }
    // The same for the join of `parts` (two or more), each a plain name or a literal: their
    // bytes summed, with no subquery (capped_text binds its text in one, and SQLite's parser
    // takes only so many nested).
    virtual std::string capped_join(const std::vector<std::string>& parts) const {
        auto [bytes, joined] = summed_join(parts);
        return "(CASE WHEN " + bytes + " <= " + std::to_string(kMaxTextBytes) + " THEN " + joined +
               " END)";
    }
    // The parts' bytes summed, and their join.
    std::pair<std::string, std::string> summed_join(const std::vector<std::string>& parts) const {
        std::string bytes, joined;
        for (const std::string& p : parts) {
            bytes += (bytes.empty() ? "" : " + ") + text_bytes(p);
            joined = joined.empty() ? p : concat(joined, p);
        }
        return {bytes, joined};
    }
    virtual std::string ascii_case(bool lower, const std::string& text) const = 0;
    virtual std::string utf8_length(const std::string& text) const = 0;
    virtual std::string text_test(char how, const std::string& text,
                                  const std::string& part) const = 0;  // c, s or e

    // Exact sums (engine/exact_sum.hpp): a double's 9-place decimal fraction, as integer
    // units of 10^-9 rounded half to even, of a double `x` with |x| < 1.
    virtual std::string fraction_units(const std::string& x) const = 0;
    // An expression that stops the query with an error (for totals beyond what the SQL
    // reproduces exactly); `row` is any row-dependent integer expression.
    virtual std::string stop(const std::string& row) const = 0;

    // --- Hooks with SQL's own spelling as the default; a dialect whose operators do not
    // follow SQL's meaning (ClickHouse 18.16) spells them out.

    // The plan's shape: true when the dialect has table CTEs and window functions (the plan of
    // sql/compiler.cpp); false selects the nested plan (sql/nested_plan.cpp): subqueries, one
    // join per SELECT, population ranks from sorted arrays.
    virtual bool has_ctes_and_windows() const { return true; }
    // How each step of that plan is introduced after its name: " AS " by default. SQLite says
    // " AS MATERIALIZED ": otherwise it substitutes each step used once into the next, and
    // preparing the whole query grows with the square of its constants (seconds for a large
    // rule file).
    virtual std::string step_as() const { return " AS "; }
    // The SELECT of a step that computes lets, as the plan writes it inside its parentheses
    // (the steps that read the base's tables are written as they are). PostgreSQL adds OFFSET 0:
    // otherwise it pulls each step up into the next and puts a let's expression in place of
    // each use, so doubling lets (`d2: d1 + d1`, ...) made an expression tree that grew
    // exponentially: eight took two minutes to plan, twelve took the server's memory.
    virtual std::string step_body(const std::string& select) const { return select; }
    // A 0/1/NULL condition as known true (plain 0/1), for the placement's CASE.
    virtual std::string is_true(const std::string& a) const { return "(" + a + " IS 1)"; }
    // The ORDER BY term that orders customer keys as export does (texts by bytes).
    virtual std::string order_by_key(const std::string& k) const { return k + " COLLATE BINARY"; }
    // The customer key as a run inside the warehouse stores it (state/): as it is, or, on
    // ClickHouse, as Int64 whatever the base's integer type, so that it joins the stays.
    virtual std::string run_key(const std::string& k) const { return k; }
    // An integer as text.
    virtual std::string int_text(const std::string& i) const { return "CAST(" + i + " AS TEXT)"; }
    // Three-valued AND, OR, NOT of 0/1/NULL values.
    virtual std::string logic_and(const std::string& a, const std::string& b) const {
        return "(" + a + " AND " + b + ")";
    }
    virtual std::string logic_or(const std::string& a, const std::string& b) const {
        return "(" + a + " OR " + b + ")";
    }
    virtual std::string logic_not(const std::string& a) const { return "(NOT " + a + ")"; }
    // Three-valued AND / OR of all the terms (a chain `a and b and c ...`, an `in` list's
    // comparisons). REQUIRES: terms is not empty. By default a fold of logic_and / logic_or;
    // a dialect whose binary form nests (ClickHouse) spells it flat, so that a long chain does
    // not make a query too deep for its server.
    virtual std::string logic_all(const std::vector<std::string>& terms) const {
        std::string out = terms.at(0);
        for (size_t i = 1; i < terms.size(); ++i)
            out = logic_and(out, terms[i]);
        return out;
    }
    virtual std::string logic_any(const std::vector<std::string>& terms) const {
        std::string out = terms.at(0);
        for (size_t i = 1; i < terms.size(); ++i)
            out = logic_or(out, terms[i]);
        return out;
    }
    // `value` IN (items), three-valued (a null item makes a miss unknown).
    virtual std::string in_list(const std::string& value, const std::vector<std::string>& items,
                                bool negated) const {
        std::string list;
        for (const auto& i : items)
            list += (list.empty() ? "" : ", ") + i;
        return "(" + value + (negated ? " NOT IN (" : " IN (") + list + "))";
    }
    virtual std::string between(const std::string& value, const std::string& low,
                                const std::string& high, bool negated) const {
        return "(" + value + (negated ? " NOT BETWEEN " : " BETWEEN ") + low + " AND " + high + ")";
    }
    // least()/greatest() of the items, ignoring nulls (null only when all are).
    virtual std::string least_greatest(bool least, const std::vector<std::string>& items) const {
        std::string rows;
        for (const auto& s : items)
            rows += (rows.empty() ? "SELECT " : " UNION ALL SELECT ") + s + " AS v";
        return std::string("(SELECT ") + (least ? "min" : "max") + "(v) FROM (" + rows + "))";
    }
    // Integer abs (NULL for the smallest integer), %, and / giving a double (NULL when the
    // divisor is 0).
    virtual std::string int_abs(const std::string& a) const {
        return bind(a, "av", "CASE WHEN av <> -9223372036854775807 - 1 THEN abs(av) END");
    }
    virtual std::string int_mod(const std::string& a, const std::string& b) const {
        return "(" + a + " % " + b + ")";
    }
    // matches(text, pattern): the engine's RE2::PartialMatch with RE2's default options.
    // regex_pattern gives the pattern the dialect's own RE2 function must be given for the
    // engine's meaning (nullopt: the dialect cannot, for the reason regex_refusal() gives);
    // regex_match applies it (`pattern` is that pattern as an SQL literal), null for null text.
    virtual std::optional<std::string> regex_pattern(const std::string& re2) const {
        (void)re2;
        return std::nullopt;
    }
    virtual std::string regex_match(const std::string& text, const std::string& pattern) const {
        (void)text, (void)pattern;
        return "NULL";
    }
    virtual std::string regex_refusal() const {
        return "matches() needs RE2 regular expressions, which " + name() + " does not have";
    }
    virtual std::string int_divide(const std::string& a, const std::string& b) const {
        return number_op('/', to_double(a), to_double(b), false);
    }

    // Hooks for dialects unlike SQLite. Each default gives the text the SQLite dialect was
    // written against, so a dialect overrides only what it spells differently.

    // A column of a base table, for dialects whose columns have native types: `cell` is
    // `column` of `table`, quoted. By default the type-less readers above.
    virtual std::optional<std::string> read_column(const std::string& table,
                                                   const std::string& column,
                                                   const std::string& cell, Type type) const {
        (void)table, (void)column;
        return read_cell(cell, type);
    }
    virtual std::string read_column_day(const std::string& table, const std::string& column,
                                        const std::string& cell) const {
        (void)table, (void)column;
        return read_time_day(cell);
    }
    // Why this dialect cannot read `column` of `table` as `type` with the engine's meaning, or
    // nullopt when it can.
    virtual std::optional<std::string> column_refusal(const std::string& table,
                                                      const std::string& column, Type type) const {
        (void)table, (void)column, (void)type;
        return std::nullopt;
    }
    // A base table in FROM, named so that no step of the query's WITH can stand for it.
    virtual std::string table_reference(const std::string& quoted_table) const {
        return quoted_table;
    }
    // Why this dialect cannot read `column` of `table` as a customer key with the engine's
    // meaning, or nullopt when it can.
    virtual std::optional<std::string> key_refusal(const std::string& table,
                                                   const std::string& column) const {
        (void)table, (void)column;
        return std::nullopt;
    }
    virtual std::string read_column_key(const std::string& table, const std::string& column,
                                        const std::string& cell) const {
        (void)table, (void)column;
        return read_key(cell);
    }
    // Booleans: a literal, "x is true" (never null), and a known bool as the integer 0 or 1.
    virtual std::string bool_literal(bool v) const { return v ? "1" : "0"; }
    virtual std::string bool_as_int(const std::string& x) const { return x; }
    // What follows a subquery in FROM (PostgreSQL 15 requires an alias).
    virtual std::string subquery_alias() const { return ""; }
    // Doubles `a op b` (op: + - * /): NULL on overflow (when `may_overflow`) and on division by
    // zero, never an error.
    virtual std::string number_op(char op, const std::string& a, const std::string& b,
                                  bool may_overflow) const {
        const std::string v = "(" + a + " " + op + " " + b + ")";
        return may_overflow ? finite(v) : v;
    }
    // min/max of the aggregate input x of type `type`, as an SQL aggregate.
    virtual std::string min_max(bool min, const std::string& x, Type type) const {
        (void)type;
        return std::string(min ? "min(" : "max(") + x + ")";
    }
    // The whole step of sum or avg (by engine/exact_sum's rules) over `rows` (columns k, x of
    // `type`), giving k and v; nullopt: the compiler's portable form.
    virtual std::optional<std::string> exact_sum_step(const std::string& rows, Type type,
                                                      bool average) const {
        (void)rows, (void)type, (void)average;
        return std::nullopt;
    }

    // cv (engine/aggregates.cpp): the whole step over `rows` (columns k, x of `type`, never
    // null, and pk, the period 0 to periods-1 counting back from as_of), giving k and v. Each
    // period's exact total as a double (a period without rows is 0), then mean and variance
    // added in period order, sqrt, / |mean|; NULL where a total is out of range or the mean is
    // 0. nullopt: the dialect cannot, for the reason cv_refusal() gives.
    virtual std::optional<std::string> cv_step(const std::string& rows, Type type,
                                               int periods) const {
        (void)rows, (void)type, (void)periods;
        return std::nullopt;
    }
    // Whether sqrt() is there (correctly rounded), for the compiler's own cv step.
    virtual bool has_sqrt() const { return false; }
    virtual std::string cv_refusal() const {
        return "cv() takes a square root, and " + name() +
               " has no sqrt() without its math functions";
    }
    // abc (engine/population.cpp): a positive value x of `type` as its exact units of 10^-9
    // (engine/exact_sum.hpp's to_sum_units), an integer expression; NULL where the engine has
    // no units for it (x of `limit` or more: engine/population_share.hpp's abc_units_limit(),
    // written exactly), or the query stops where the dialect's integers cannot hold them. The
    // default holds them in 64 bits: x below 9,223,372,035, beyond which the query stops.
    virtual std::string abc_units(const std::string& x, Type type, const std::string& limit) const {
        if (type == Type::Int)
            return bind(
                x, "ux",
                "CASE WHEN ux <= 9223372035 THEN ux * 1000000000 ELSE " + stop("ux") + " END");
        return bind(x, "ux",
                    "CASE WHEN ux < 9223372035.0 THEN CAST(ux AS INTEGER) * 1000000000 + " +
                        fraction_units("(ux - CAST(ux AS INTEGER))") + " WHEN ux >= " + limit +
                        " THEN NULL ELSE " + stop("1") + " END");
    }
    // Whether `before` < ceil(num·total/den) for integers before, total >= 0 and
    // 0 < num <= den <= 10^9, exactly (abc's boundary test before·den < num·total). The
    // default stays within 64 bits: num·(total / den) + ceil(num·(total % den) / den).
    virtual std::string abc_below(const std::string& before, const std::string& total, int64_t num,
                                  int64_t den) const {
        const std::string n = integer_literal(num), d = integer_literal(den);
        return "(" + before + " < " + n + " * (" + total + " / " + d + ") + (" + n + " * (" +
               total + " % " + d + ") + " + integer_literal(den - 1) + ") / " + d + ")";
    }
};

// The dialect called `name` (sqlite, postgres, clickhouse), or null when it is not built.
std::unique_ptr<Dialect> make_dialect(const std::string& name);

// `prefix`, with `_` appended until no name of `columns` starts with it: aliases made from it
// name none of those columns. ClickHouse resolves a name to an alias of the same SELECT before
// a column of the table, so a SELECT that reads a base's columns gives its values such names
// and the plan's own names (k, t, c0, ...) one SELECT out.
std::string unused_prefix(const std::vector<std::string>& columns, std::string prefix);
// With `catalog` (the database's schema, engine/store's read_schema), a view's rows are
// ordered as the view gives them (scan_order); without it every table is taken to have a rowid.
std::unique_ptr<Dialect> make_sqlite_dialect(const Schema* catalog = nullptr);
// With `catalog` (the database's schema, read from system.columns), a column that
// `source.types` gives another type than its native one is converted as the engine converts.
std::unique_ptr<Dialect> make_clickhouse_dialect(const Schema* catalog = nullptr);

}  // namespace strata::sql
