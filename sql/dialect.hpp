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

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dsl/types.hpp"

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
    // A customer key as the engine keys customers: an integer, or else its text.
    virtual std::string read_key(const std::string& cell) const = 0;

    // `body` with `value` evaluated once and available in it as `name`.
    virtual std::string bind(const std::string& value, const std::string& name,
                             const std::string& body) const = 0;

    // Integer + - * and negation; NULL on overflow.
    virtual std::string checked_int(char op, const std::string& a, const std::string& b) const = 0;
    virtual std::string checked_negate(const std::string& a) const = 0;
    // A double result, NULL when it is not finite.
    virtual std::string finite(const std::string& x) const = 0;
    virtual std::string to_double(const std::string& int_expr) const = 0;
    // A double to an integer by a rounding: 'r' half away from zero, 'f' floor, 'c' ceiling;
    // NULL beyond the 64-bit integers.
    virtual std::string double_to_int(char how, const std::string& x) const = 0;

    // Dates as day numbers. add_months keeps the day of month (or the month's last day) for
    // every day the engine's 32-bit days hold, and stops the query where the engine's
    // calendar formula leaves the calendar (a month count before year 0); year_of and
    // month_of are the civil year and month of any such day.
    virtual std::optional<std::string> add_months(const std::string& day, int64_t months) const = 0;
    // A day moved by a constant number of days; the engine's days are 32-bit integers, so a
    // result beyond them must stop the query (see stop()). Default: not built (refused).
    virtual std::optional<std::string> add_days(const std::string& day, int64_t days) const {
        (void)day, (void)days;
        return std::nullopt;
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

    // Text by bytes.
    virtual std::string collate_bytes(const std::string& text) const = 0;
    virtual std::string concat(const std::string& a, const std::string& b) const = 0;
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
};

// The dialect called `name` (sqlite, postgres, clickhouse), or null when it is not built.
std::unique_ptr<Dialect> make_dialect(const std::string& name);
std::unique_ptr<Dialect> make_sqlite_dialect();

}  // namespace strata::sql
