// The SQLite dialect. SQLite's own AND, OR, NOT, IN, BETWEEN and CASE follow SQL's
// three-valued logic as the language defines it; its integer + - * turn into doubles on
// overflow, so a result that is not an integer any more is the overflow the language makes
// null; text compares by memcmp under the BINARY collation; its date functions cover the
// years 0000 to 9999.
#include <sqlite3.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "dsl/schema.hpp"
#include "sql/dialect.hpp"
#include "sql/sqlite_parts.hpp"
#include "text/blank.hpp"

namespace strata::sql {

namespace {

class SqliteDialect final : public Dialect {
  public:
    explicit SqliteDialect(const Schema* catalog) {
        if (catalog) catalog_ = *catalog;
    }

    std::string name() const override { return "sqlite"; }
    std::string step_as() const override { return " AS MATERIALIZED "; }
    // Two moves by months nest 7 subqueries, three 11, which SQLite 3.40 cannot parse in a
    // query's step.
    int deepest_moved_day() const override { return 8; }
    // SQLite's parser has a fixed stack (YYSTACKDEPTH, 100 states): a sum of eight numbers
    // already overflows it, as each operation binds its value in a subquery of its own. The
    // query is prepared on an in-memory database of its own, which parses it. The catalog's
    // tables are made there, empty, so that the names resolve: a long chain of steps (lets
    // that read each other) is too deep only once each step's names are resolved.
    std::optional<std::string> beyond_parser(const std::string& query) const override {
        sqlite3* raw = nullptr;
        const int opened = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE, nullptr);
        std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
        if (opened != SQLITE_OK) return std::nullopt;
        if (catalog_) {
            for (const auto& [name, table] : catalog_->tables) {
                auto quoted = identifier(name);
                std::string columns;
                for (const ColumnSchema& c : table.columns) {
                    auto column = identifier(c.name);
                    if (!column) continue;
                    columns += (columns.empty() ? "" : ", ") + *column;
                }
                if (!quoted || columns.empty()) continue;
                const std::string make = "CREATE TABLE " + *quoted + " (" + columns + ")";
                sqlite3_exec(db.get(), make.c_str(), nullptr, nullptr, nullptr);
            }
        }
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v2(db.get(), query.c_str(), static_cast<int>(query.size()),
                                          &stmt, nullptr);
        sqlite3_finalize(stmt);
        if (rc == SQLITE_OK) return std::nullopt;
        const std::string message = sqlite3_errmsg(db.get());
        if (message.find("parser stack overflow") != std::string::npos ||
            message.find("Expression tree is too large") != std::string::npos ||
            message.find("too many terms") != std::string::npos)
            return message;
        return std::nullopt;
    }
    std::string state_refusal() const override {
        return "not compiled for SQLite: the stored state may be in another file (--state); the "
               "embedded engine reads it, and the PostgreSQL query reads the server's";
    }

    std::optional<std::string> identifier(const std::string& name) const override {
        if (name.empty() || name.find('\0') != std::string::npos) return std::nullopt;
        std::string out = "\"";
        for (char c : name)
            out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    }

    std::optional<std::string> string_literal(const std::string& text) const override {
        if (text.find('\0') != std::string::npos) return std::nullopt;
        std::string out = "'";
        for (char c : text)
            out += c == '\'' ? std::string("''") : std::string(1, c);
        return out + "'";
    }

    std::string integer_literal(int64_t v) const override {
        if (v == INT64_MIN) return "(-9223372036854775807 - 1)";
        return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
    }

    std::string number_literal(double v) const override {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        std::string s = buf;
        if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
        return v < 0 ? "(" + s + ")" : s;
    }

    // Every blank character (text/blank.hpp), as SQLite's trim() takes a set of characters.
    static std::string blank_characters() {
        std::string out = "char(";
        for (const text::CodePointRange& r : text::blank_ranges())
            for (uint32_t c = r.first; c <= r.last; ++c)
                out += (out.size() > 5 ? ", " : "") + std::to_string(c);
        return out + ")";
    }

    static std::string trimmed(const std::string& cell) {
        return "trim(CAST(" + cell + " AS TEXT), ' ' || char(9, 13, 10))";
    }

    // A trimmed text's date part as a day number, when the text is a valid YYYY-MM-DD or a
    // datetime the engine reads (docs/running.md, "How values convert").
    static std::string text_day(const std::string& t) {
        const std::string ymd = "substr(" + t + ", 1, 10)";
        const std::string date_ok =
            ymd + " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND substr(" + t +
            ", 1, 4) <> '0000' AND "
            "date(julianday(" +
            ymd + ")) IS " + ymd;
        const std::string rest = "(CASE WHEN " + t + " GLOB '*Z' THEN substr(" + t +
                                 ", 12, length(" + t + ") - 12) ELSE substr(" + t + ", 12) END)";
        const std::string secs = "substr(" + rest + ", 6)";
        const std::string time_ok =
            "length(" + t + ") >= 16 AND substr(" + t + ", 11, 1) IN ('T', ' ') AND (substr(" +
            rest + ", 1, 5) GLOB '[01][0-9]:[0-5][0-9]' OR substr(" + rest +
            ", 1, 5) GLOB '2[0-3]:[0-5][0-9]') AND (" + secs + " = '' OR (" + secs +
            " GLOB ':[0-5][0-9]*' AND (length(" + secs + ") = 3 OR (length(" + secs +
            ") > 4 AND substr(" + secs + ", 4, 1) = '.' AND substr(" + secs +
            ", 5) NOT GLOB '*[^0-9]*'))))";
        return "(CASE WHEN " + date_ok + " AND (length(" + t + ") = 10 OR (" + time_ok +
               ")) THEN CAST(julianday(" + ymd + ") - 2440587.5 AS INTEGER) END)";
    }

    // A trimmed text as seconds since 1970-01-01 when the engine reads it as a datetime: a
    // text text_day takes, with the time's hours, minutes and seconds (a fraction and a
    // trailing Z left out); a date alone is its midnight.
    std::string text_seconds(const std::string& t) const {
        auto part = [&](int at) {
            return "CAST(substr(" + t + ", " + std::to_string(at) + ", 2) AS INTEGER)";
        };
        return bind(text_day(t), "dd",
                    "CASE WHEN dd IS NULL THEN NULL WHEN length(" + t +
                        ") = 10 THEN dd * 86400 ELSE dd * 86400 + " + part(12) + " * 3600 + " +
                        part(15) + " * 60 + (CASE WHEN substr(" + t + ", 17, 1) = ':' THEN " +
                        part(18) + " ELSE 0 END) END");
    }

    std::optional<std::string> read_cell(const std::string& c, Type type) const override {
        const std::string t = trimmed(c);
        switch (type) {
            case Type::String:
                return "CAST(" + c + " AS TEXT)";
            case Type::Int:
                return "(CASE typeof(" + c + ") WHEN 'integer' THEN " + c +
                       " WHEN 'real' THEN (CASE WHEN " + c + " >= -9223372036854775808.0 AND " + c +
                       " < 9223372036854775808.0 AND " + c + " = CAST(" + c +
                       " AS INTEGER) THEN CAST(" + c + " AS INTEGER) END) WHEN 'text' THEN " +
                       sqlite::text_integer(t) + " END)";
            case Type::Number:
                return "(CASE typeof(" + c + ") WHEN 'integer' THEN CAST(" + c +
                       " AS REAL) WHEN 'real' THEN (CASE WHEN abs(" + c +
                       ") <= 1.7976931348623157e308 THEN " + c + " END) WHEN 'text' THEN " +
                       sqlite::text_number(t) + " END)";
            case Type::Bool: {
                const std::string l = "lower(" + t + ")";
                return "(CASE typeof(" + c + ") WHEN 'integer' THEN (CASE WHEN " + c +
                       " IN (0, 1) THEN " + c + " END) WHEN 'text' THEN (CASE WHEN " + l +
                       " IN ('true', 'yes', 'y', '1', 'да', 'дА', 'Да', 'ДА') THEN 1 WHEN " + l +
                       " IN ('false', 'no', 'n', '0', 'нет', 'неТ', 'нЕт', 'нЕТ', 'Нет', 'НеТ', "
                       "'НЕт', 'НЕТ') THEN 0 END) END)";
            }
            case Type::Date:
                return "(CASE WHEN typeof(" + c + ") = 'text' THEN " + text_day(t) + " END)";
            case Type::DateTime:
                return "(CASE WHEN typeof(" + c + ") = 'text' THEN " + text_seconds(t) + " END)";
            default:
                return std::nullopt;
        }
    }

    std::string read_time_day(const std::string& c) const override {
        return "(CASE WHEN typeof(" + c + ") = 'text' THEN " + text_day(trimmed(c)) + " END)";
    }

    std::string read_key(const std::string& c) const override {
        // engine/cell_readers.hpp: customer_key_of_cell and key_owner.
        return "(CASE typeof(" + c + ") WHEN 'integer' THEN " + c + " WHEN 'null' THEN NULL" +
               " WHEN 'real' THEN (CASE WHEN " + c + " >= -9223372036854775808.0 AND " + c +
               " < 9223372036854775808.0 AND " + c + " = CAST(" + c + " AS INTEGER) THEN CAST(" +
               c + " AS INTEGER) ELSE CAST(" + c + " AS TEXT) END) ELSE (CASE WHEN trim(CAST(" + c +
               " AS TEXT), " + blank_characters() + ") = '' THEN NULL ELSE CAST(" + c +
               " AS TEXT) END) END)";
    }

    std::string key_kind(const std::string& k) const override {
        return "(CASE WHEN typeof(" + k + ") = 'integer' THEN 0 ELSE 1 END)";
    }

    // The database the query is run on; a step of its WITH named like the table (cust, f0)
    // would stand for it unqualified.
    std::string table_reference(const std::string& quoted_table) const override {
        return "\"main\"." + quoted_table;
    }

    std::optional<std::string> scan_order(const std::string& table,
                                          const std::string& quoted_table) const override {
        const TableSchema* known = catalog_ ? catalog_->find(table) : nullptr;
        if (known && !known->ordered) return "row_number() OVER ()";
        return quoted_table + ".rowid";
    }

    std::string bind(const std::string& value, const std::string& name,
                     const std::string& body) const override {
        return "(SELECT " + body + sqlite::from("SELECT " + value + " AS " + name) + ")";
    }

    std::string checked_int(char op, const std::string& a, const std::string& b) const override {
        const std::string v = "(" + a + " " + op + " " + b + ")";
        return bind(v, "ov", "CASE WHEN typeof(ov) = 'integer' THEN ov END");
    }

    std::string checked_negate(const std::string& a) const override {
        return bind(a, "nv", "CASE WHEN nv <> -9223372036854775807 - 1 THEN -nv END");
    }

    std::string finite(const std::string& x) const override {
        return bind(x, "fv", "CASE WHEN abs(fv) <= 1.7976931348623157e308 THEN fv END");
    }

    std::string to_double(const std::string& i) const override { return "CAST(" + i + " AS REAL)"; }

    std::string double_to_int(char how, const std::string& x) const override {
        // t is x truncated toward zero (exact, in range); x - t is exact.
        std::string step;
        if (how == 'r')
            step = "t + (x - t >= 0.5) - (x - t <= -0.5)";
        else if (how == 'f')
            step = "t - (x < t)";
        else
            step = "t + (x > t)";
        return bind(x, "x",
                    "CASE WHEN x >= -9223372036854775808.0 AND x < 9223372036854775808.0 THEN "
                    "(SELECT CASE WHEN r = CAST(r AS INTEGER) THEN r END" +
                        sqlite::from("SELECT " + step + " AS r" +
                                     sqlite::from("SELECT CAST(x AS INTEGER) AS t")) +
                        ") END");
    }

    std::optional<std::string> add_months(const std::string& day, int64_t months) const override {
        // The engine's months are 32-bit; a constant duration of the language stays far below.
        if (months > 2147483647 || months < -2147483647) return std::nullopt;
        return sqlite::add_months(day, months);
    }

    std::optional<std::string> add_days(const std::string& day, int64_t days) const override {
        return sqlite::day_in_range("(" + day + " + " + integer_literal(days) + ")");
    }

    std::string year_of(const std::string& day) const override { return sqlite::year_of_day(day); }
    std::string month_of(const std::string& day) const override {
        return sqlite::month_of_day(day);
    }

    std::optional<std::string> number_remainder(const std::string& x,
                                                const std::string& y) const override {
        return sqlite::fmod(x, y);
    }

    std::optional<std::string> round_integer_digits(const std::string& x,
                                                    const std::string& digits) const override {
        return sqlite::round_integer(x, digits);
    }

    std::string collate_bytes(const std::string& text) const override {
        return "(" + text + " COLLATE BINARY)";
    }
    std::string concat(const std::string& a, const std::string& b) const override {
        return "(" + a + " || " + b + ")";
    }
    std::string text_bytes(const std::string& text) const override {
        return "length(CAST(" + text + " AS BLOB))";
    }
    std::string ascii_case(bool lower, const std::string& text) const override {
        // Without the ICU extension SQLite's lower() and upper() change ASCII letters only.
        return std::string(lower ? "lower(" : "upper(") + text + ")";
    }
    std::string utf8_length(const std::string& text) const override {
        // SQLite's length() of a text stops at its first NUL, the language's counts it: such a
        // text stops the query (instr() of blobs reads every byte) rather than count short.
        return "(CASE WHEN instr(CAST(" + text + " AS BLOB), x'00') > 0 THEN " + stop("1") +
               " ELSE length(" + text + ") END)";
    }
    std::string text_test(char how, const std::string& text,
                          const std::string& part) const override {
        // Compared as bytes, as the language compares them: on valid UTF-8 a prefix (suffix,
        // part) in characters is one in bytes, and a blob's length(), substr() and instr() go
        // past a NUL, where a text's stop. substr() of an empty blob is NULL in SQLite, so a
        // length test comes first.
        const std::string s = "CAST(" + text + " AS BLOB)";
        const std::string p = "CAST(" + part + " AS BLOB)";
        const std::string known =
            "CASE WHEN " + text + " IS NULL OR " + part + " IS NULL THEN NULL ELSE ";
        if (how == 'c')
            return "(" + known + "(instr(" + s + ", " + p + ") > 0 OR length(" + p + ") = 0) END)";
        if (how == 's')
            return "(" + known + "(length(" + p + ") = 0 OR (length(" + s + ") >= length(" + p +
                   ") AND substr(" + s + ", 1, length(" + p + ")) = " + p + ")) END)";
        return "(" + known + "(length(" + p + ") = 0 OR (length(" + s + ") >= length(" + p +
               ") AND substr(" + s + ", length(" + s + ") - length(" + p + ") + 1) = " + p +
               ")) END)";
    }

    std::string fraction_units(const std::string& x) const override {
        // |x| = (gh·2^53 + gl) / 2^83 exactly when |x| ≥ 2^-31 (below that the units are 0
        // whatever the lost bits); then |x|·10^9 = gh·5^9/2^21 + gl·5^9/2^74 in 64-bit
        // integers, split so that nothing overflows, and rounded half to even.
        const std::string parts =
            "SELECT xs, CAST(ax * 1073741824.0 AS INTEGER) AS gh, "
            "CAST((ax * 1073741824.0 - CAST(ax * 1073741824.0 AS INTEGER)) * 9007199254740992.0 "
            "AS INTEGER) AS gl" +
            sqlite::from("SELECT abs(" + x + ") AS ax, (" + x + " < 0) AS xs");
        const std::string products =
            "SELECT xs, gh * 1953125 AS pa, (gl >> 27) * 1953125 AS pb, (gl & 134217727) * "
            "1953125 AS pc" +
            sqlite::from(parts);
        const std::string fraction =
            "SELECT xs, (pa >> 21) + ((((pa & 2097151) * 67108864) + pb + (pc >> 27)) >> 47) AS "
            "ip, "
            "(((pa & 2097151) * 67108864) + pb + (pc >> 27)) & 140737488355327 AS fp, "
            "pc & 134217727 AS rem" +
            sqlite::from(products);
        return "(SELECT (CASE WHEN xs THEN -1 ELSE 1 END) * (ip + (CASE WHEN fp > 70368744177664 "
               "OR (fp = 70368744177664 AND (rem > 0 OR (ip & 1) = 1)) THEN 1 ELSE 0 END))" +
               sqlite::from(fraction) + ")";
    }

    std::string stop(const std::string& row) const override { return sqlite::stop(row); }
    // SQLite's math functions (SQLITE_ENABLE_MATH_FUNCTIONS: on in Debian's build and in the
    // official shell since 3.35); sqrt() is C's, correctly rounded.
    bool has_sqrt() const override { return true; }

  private:
    std::optional<Schema> catalog_;
};

}  // namespace

std::unique_ptr<Dialect> make_sqlite_dialect(const Schema* catalog) {
    return std::make_unique<SqliteDialect>(catalog);
}

}  // namespace strata::sql
