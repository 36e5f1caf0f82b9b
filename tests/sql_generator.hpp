// Random rule files and bases for the compiled-SQL differential tests (tests/sql_compile_test.cpp
// on SQLite, the warehouse tests on PostgreSQL and ClickHouse): every compiled operator,
// function, aggregate and population function, nested and shared tacticals, both policies;
// bases with nulls in every column, junk text, cells stored under another type, ties, dates
// around month ends and leap days, empty fact tables. The embedded engine is the definition
// each backend's query is held to.
#pragma once

#include <cctype>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace strata::testing {

inline const char* kSchema = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT, score INTEGER, credit REAL,
                        opt_in BOOLEAN, signup DATE, raw_score TEXT, raw_credit TEXT);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE,
                     amount REAL, items INTEGER, category TEXT);
)";

// The seed of a differential test's random pairs: `fixed` (each test has its own, so `make
// test` runs the same pairs every time), or STRATA_PAIR_SEED when set, so that a `make
// fuzz-sql SEED=N` explores pairs no earlier run has seen.
inline unsigned pair_seed(unsigned fixed) {
    const char* env = std::getenv("STRATA_PAIR_SEED");
    return env && *env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : fixed;
}

struct Gen {
    std::mt19937 rng;
    // Only what every backend compiles (the warehouse tests): none of the constructs that
    // only the SQLite dialect compiles yet (texts read as numbers through source.types, dates
    // beyond 9999, -0.0 in ranks).
    bool warehouse = false;
    // The warehouse pairs' % of numbers and round(x, digits): a number leaf is sometimes wrapped
    // in one, decided by this stream of its own, so that `rng` draws the same pairs as before
    // these were compiled for PostgreSQL and ClickHouse.
    std::mt19937 wrap_rng{20261202};
    // matches(), which only ClickHouse compiles (SQLite has no regular expressions,
    // PostgreSQL's are not RE2's).
    bool regex = false;
    // Datetime columns and values.
    bool datetimes = false;
    // A stored datetime before 1970 (ClickHouse's DateTime holds none: its pairs have
    // 1970-01-01T00:00:00 instead, drawn alike, so the other backends' pairs stay the same).
    bool datetimes_before_1970 = true;
    // Texts read as numbers through source.types (raw_score: integer, raw_credit: number) in
    // the warehouse pairs too. Whether a score or credit leaf reads the text column instead is
    // drawn from a stream of its own, so that `rng` draws the same pairs as before.
    bool text_numbers = false;
    // The most general segments before `rest` (each with up to three tacticals). ClickHouse's
    // pairs take fewer: its time to plan a query grows with the query's depth times its size,
    // so two smaller files cost about half of one larger, and more of them fit in make test.
    int most_segments = 4;
    // The four-backend pairs (tests/warehouse/four_backends_test.cpp): also only what the
    // SQLite dialect compiles, so no round(x, digits) of a number, which it refuses (the draw
    // is made all the same, so the rest of the pair is drawn alike).
    bool sqlite_too = false;
    std::mt19937 text_rng{20261201};
    // Dates moved by durations that are not constants (if() and coalesce() of durations, the
    // let `grace`), in place of a quarter of the date expressions: drawn from a stream of
    // their own, so that `rng` draws the same pairs as before.
    std::mt19937 duration_rng{20261203};
    std::string maybe_text(std::string leaf) {
        if (warehouse && text_numbers && text_rng() % 3 != 0) {
            if (leaf == "score") return "raw_score";
            if (leaf == "credit") return "raw_credit";
        }
        return leaf;
    }
    std::vector<std::string> with(std::vector<std::string> base,
                                  const std::vector<std::string>& sqlite_only) const {
        if (!warehouse) base.insert(base.end(), sqlite_only.begin(), sqlite_only.end());
        return base;
    }
    int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
    template <typename T>
    const T& one(const std::vector<T>& v) {
        return v[static_cast<size_t>(pick(static_cast<int>(v.size())))];
    }

    std::string date() {
        static const std::vector<std::string> days = {
            "2024-02-28", "2024-02-29", "2024-03-01", "2025-01-31", "2025-02-28",
            "2026-01-31", "2026-03-31", "2026-08-31", "2026-10-01", "2026-10-31",
            "2026-11-01", "2026-11-02", "2026-12-31", "2023-05-15"};
        return one(days);
    }

    std::string base_sql() {
        std::string sql = kSchema;
        const int customers = 3 + pick(25);
        auto maybe = [&](const std::string& v) { return pick(6) == 0 ? std::string("NULL") : v; };
        for (int c = 1; c <= customers; ++c) {
            const std::string tier =
                one<std::string>({"'gold'", "'silver'", "'Gold'", "'bronze'", "''", "'gold '"});
            const std::string score = one<std::string>({"1",
                                                        "2",
                                                        "5",
                                                        "-3",
                                                        "100",
                                                        "'7'",
                                                        "'n/a'",
                                                        "2.0",
                                                        "9223372036854775807",
                                                        "'+5'",
                                                        "' 7 '",
                                                        "'1e3'",
                                                        "'12.0'",
                                                        "'.5'",
                                                        "'-0'",
                                                        "'9223372036854775808'",
                                                        "'1.5e1'",
                                                        "'00012'",
                                                        "'-9223372036854775808'",
                                                        "'5.'",
                                                        "'1e'",
                                                        "'0e99999999'"});
            const std::string credit = one<std::string>(
                {"0.1",       "0.2",       "0.3",   "1.005",  "2.5",      "-2.5",
                 "100",       "'12.5'",    "'x'",   "1e300",  "'+5'",     "'.5'",
                 "'5.'",      "' 2.5 '",   "'1e3'", "'-0.0'", "'0.1e-2'", "'1e400'",
                 "'-1e-400'", "'12.5e-1'", "'--1'", "-0.0",   "0.0",      "'123456789012345e-20'",
                 "'7e30'"});
            const std::string opt = one<std::string>({"1", "0", "'yes'", "'no'", "'maybe'", "2"});
            const std::string signup =
                pick(8) == 0 ? one(with({"'31.12.2025'", "'2026-10-20T10:00:00.'"},
                                        {"'0000-01-01'", "'0001-01-31'", "'9999-12-31'"}))
                             : "'" + date() + "'";
            auto as_text = [](const std::string& v) {
                return v.front() == '\'' ? v : "'" + v + "'";
            };
            sql += "INSERT INTO customers VALUES (" + std::to_string(c) + ", " + maybe(tier) +
                   ", " + maybe(score) + ", " + maybe(credit) + ", " + maybe(opt) + ", " +
                   maybe(signup) + ", " + maybe(as_text(score)) + ", " +
                   maybe(credit == "1e300" ? "'1e22'" : as_text(credit)) + ");\n";
        }
        const int orders = pick(4) == 0 ? 0 : pick(60);
        for (int o = 1; o <= orders; ++o) {
            const std::string amount =
                one<std::string>({"0.1", "0.2", "0.3", "10", "19.99", "0.0009765625", "-5", "250.5",
                                  "1e-12", "33.333333333333336"});
            const std::string time =
                pick(10) == 0 ? one<std::string>({"NULL", "'n/a'", "'2026-10-20 10:00:00'",
                                                  "'2026-11-01T23:59:59'", "'2026-11-02T00:00:00'"})
                              : "'" + date() + "'";
            sql += "INSERT INTO orders VALUES (" + std::to_string(o) + ", " +
                   std::to_string(1 + pick(customers + 2)) + ", " + time + ", " + maybe(amount) +
                   ", " + maybe(std::to_string(pick(5))) + ", " +
                   maybe(one<std::string>({"'a'", "'b'", "'B'", "'c'"})) + ");\n";
        }
        if (datetimes) {
            // Moments as the engine reads them (docs/running.md), and texts it does not.
            sql +=
                "ALTER TABLE customers ADD COLUMN seen DATETIME;\n"
                "ALTER TABLE orders ADD COLUMN at DATETIME;\n";
            auto moment = [&] {
                return pick(6) == 0
                           ? std::string("NULL")
                           : one<std::string>({"'2026-10-31T10:00:00'", "'2026-10-31 23:59:59'",
                                               "'2026-11-01T00:00:01Z'", "'2026-11-01 12:30'",
                                               "'2024-02-29T08:00:00.75'", "'2026-01-31'",
                                               "' 2026-10-02T06:07:08 '",
                                               datetimes_before_1970 ? "'1969-12-31T23:59:59'"
                                                                     : "'1970-01-01T00:00:00'",
                                               "'2026-10-20T10:00:00.'", "'2026-02-30 10:00:00'",
                                               "'2026-11-01T24:00:00'", "'n/a'", "12345"});
            };
            for (int c = 1; c <= customers; ++c)
                sql += "UPDATE customers SET seen = " + moment() +
                       " WHERE customer_id = " + std::to_string(c) + ";\n";
            for (int o = 1; o <= orders; ++o)
                sql += "UPDATE orders SET at = " + moment() +
                       " WHERE order_id = " + std::to_string(o) + ";\n";
        }
        return sql;
    }

    std::string datetime_cond() {
        return one<std::string>(
            {"seen > as_of - 30d", "days_since(seen) < 40", "seen < last_order + 1mo",
             "year(seen) == 2026", "month(seen + 1mo) == 12",
             "seen - 1d + 2mo >= 2026-11-01T12:00:00", "seen between signup and as_of",
             "seen in [2026-10-31T10:00:00, signup, null]", "days_between(seen, last_order) > 3",
             "greatest(seen, signup) > as_of - 10d", "coalesce(seen, signup) < 2026-06-01T00:00:00",
             "recent_at > 0", "last_at > seen", "days_since(last_at) <= 3", "first_at == seen"});
    }

    // A random integer-valued expression over customer fields and lets.
    std::string int_expr(int depth) {
        if (depth <= 0 || pick(3) == 0)
            return maybe_text(one(with(
                {"score", "n_orders", "items", "3", "-2", "0", "9223372036854775807", "big_orders"},
                {"raw_score"})));
        const std::string a = int_expr(depth - 1), b = int_expr(depth - 1);
        switch (pick(9)) {
            case 0:
                return "(" + a + " + " + b + ")";
            case 1:
                return "(" + a + " - " + b + ")";
            case 2:
                return "(" + a + " * " + b + ")";
            case 3:
                return "(" + a + " % " + b + ")";
            case 4:
                return "-" + a;
            case 5:
                return "abs(" + a + ")";
            case 6:
                return "coalesce(" + a + ", " + b + ")";
            case 7:
                return "least(" + a + ", " + b + ")";
            default:
                return "round(" + num_expr(depth - 1) + ")";
        }
    }

    // Numbers the language computes in ways SQLite has no function for.
    std::string exact_num_expr(int depth) {
        switch (pick(4)) {
            case 0:
                return "(" + num_expr(depth) + " % " +
                       one<std::string>({"credit", "0.1", "-2.5", "3"}) + ")";
            case 1:
                return "round(" + int_expr(depth) + ", " +
                       one<std::string>({"-1", "-2", "0", "2", "-18", "-19", "-20", "score"}) + ")";
            case 2:
                return "-credit";
            default:
                return "(credit * 0.0)";
        }
    }

    // A number leaf of the warehouse pairs, now and then inside % of numbers or round(x,
    // digits) (of the number, or of an integer column).
    std::string wrapped(const std::string& leaf) {
        if (!warehouse) return leaf;
        auto choose = [&](const std::vector<std::string>& v) { return v[wrap_rng() % v.size()]; };
        switch (wrap_rng() % 8) {
            case 0:
                return "(" + leaf + " % " + choose({"credit", "0.1", "-2.5", "3", "score"}) + ")";
            case 1: {
                const std::string digits = choose({"0", "1", "2", "-1", "-2", "score"});
                return sqlite_too ? leaf : "round(" + leaf + ", " + digits + ")";
            }
            case 2:
                return "round(" + choose({"score", "n_orders", "9223372036854775807", "-1250"}) +
                       ", " + choose({"-1", "-2", "0", "2", "-18", "-19", "-20", "score"}) + ")";
            default:
                return leaf;
        }
    }

    std::string num_expr(int depth) {
        if (depth <= 0 || pick(3) == 0)
            return wrapped(maybe_text(
                one(with({"credit", "revenue", "avg_amount", "0.1", "2.5", "1e308", "rank"},
                         {"raw_credit"}))));
        const std::string a = num_expr(depth - 1),
                          b = pick(2) ? num_expr(depth - 1) : int_expr(depth - 1);
        switch (pick(8)) {
            case 0:
                return "(" + a + " + " + b + ")";
            case 1:
                return "(" + a + " - " + b + ")";
            case 2:
                return "(" + a + " * " + b + ")";
            case 3:
                return "(" + a + " / " + b + ")";
            case 4:
                return "greatest(" + a + ", " + b + ")";
            case 5:
                return "floor(" + a + ") + ceil(" + b + ")";
            case 6:
                return "if(" + cond(depth - 1) + ", " + a + ", " + b + ")";
            default:
                return "-" + a;
        }
    }

    std::string date_expr() {
        const std::string constant_moves = one(
            with({"signup", "last_order", "first_order", "as_of", "signup + 1mo", "last_order - 1y",
                  "signup + 1mo + 3d", "2024-02-29 + 1y", "as_of - 6mo"},
                 {"signup + 8000y", "last_order - 2000y", "as_of + 999999d", "signup + 100000mo"}));
        if (duration_rng() % 4 != 0) return constant_moves;
        static const std::vector<std::string> variable_moves = {
            "signup + grace",
            "last_order - if(opt_in, 1mo, 10d)",
            "as_of - coalesce(if(score > 2, 1y, null), 3d + 1mo)",
            "signup + (grace - 2d)",
            "first_order - -if(credit > 0.5, 1mo, grace)",
            "last_order + if(tier == 'gold', grace, null)",
            "2024-01-31 + if(opt_in, 1mo, 29d) + grace"};
        return variable_moves[duration_rng() % variable_moves.size()];
    }

    std::string str_expr() {
        return one<std::string>({"tier", "lower(tier)", "upper(tier)", "tier + '!'",
                                 "coalesce(tier, 'none')", "top_category", "score_rfm.code",
                                 "xyz(avg_amount, x: 1, y: 20)", "abc_class"});
    }

    std::string cond(int depth) {
        if (depth <= 0 || pick(4) == 0) {
            switch (pick(13)) {
                case 0:
                    return int_expr(1) + " > " + int_expr(1);
                case 1:
                    return pick(2) || warehouse ? num_expr(1) + " <= " + num_expr(1)
                                                : exact_num_expr(1) + " > " + num_expr(0);
                case 2:
                    return date_expr() + " < " + date_expr();
                case 3:
                    return str_expr() +
                           " == " + one<std::string>({"'gold'", "'B'", "'b'", "'555'", "'X'"});
                case 4:
                    return str_expr() + " in ['gold', 'silver', null]";
                case 5:
                    return int_expr(1) + " not in [1, 2, 5]";
                case 6:
                    return num_expr(1) + " between 0.3 and 100";
                case 7:
                    return one<std::string>(
                        {"opt_in", "not opt_in", "tier is null", "credit is not null"});
                case 8:
                    if (datetimes && pick(2)) return datetime_cond();
                    if (regex && pick(2))
                        return one<std::string>(
                            {"matches(tier, '(?i)GOLD')", "matches(tier, '^[gs]')",
                             "matches(tier, 'l.e|ze$')", "matches(tier, '[]o]ld')",
                             "matches(tier, '^$')", "matches(tier, 'd[ ]$')",
                             "matches(lower(tier), 'o{1,2}l+[d-f]')"});
                    return one<std::string>({"contains(tier, 'ol')", "starts_with(tier, 'G')",
                                             "ends_with(tier, ' ')", "length(tier) > 4"});
                case 9:
                    return one(
                        with({"days_since(last_order) < 40", "days_between(signup, as_of) > 300",
                              "year(signup) == 2024", "month(last_order) == 2"},
                             {"year(signup + 8000y) > 10020", "month(as_of + 999999d) == 7",
                              "year(last_order - 2000y) == 25"}));
                case 10:
                    return one<std::string>({"tile >= 3", "score_rfm.r >= 2", "score_rfm.m == 1",
                                             "rank > 0.5", "abc_class == 'A'", "abc_class != 'C'"});
                case 11:
                    return one<std::string>(
                        {"variation > 0.5", "variation is null", "variation <= 1.2",
                         "abc_class + xyz(variation, x: 0.3, y: 1) == 'AX'",
                         "xyz(variation, x: 0.5, y: 1.5) == 'Z'", "abc_class + 'X' == 'BX'"});
                default:
                    return one<std::string>(
                        {"revenue > 0.6", "revenue == 0.6", "categories >= 2", "avg_amount >= 10"});
            }
        }
        const std::string a = cond(depth - 1), b = cond(depth - 1);
        switch (pick(3)) {
            case 0:
                return "(" + a + " and " + b + ")";
            case 1:
                return "(" + a + " or " + b + ")";
            default:
                return "not (" + a + ")";
        }
    }

    std::string rules(int index) {
        std::string t =
            "ruleset: sqlc" + std::to_string(index) +
            "\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n" +
            std::string(warehouse && !text_numbers
                            ? ""
                            : "  types: { raw_score: integer, raw_credit: number }\n") +
            "  facts:\n    orders: { table: orders, key: customer_id, time: order_date }\nlet:\n";
        t += "  n_orders: count(orders)\n  revenue: sum(orders.amount)\n  avg_amount: "
             "avg(orders.amount)\n";
        t += "  last_order: max(orders.order_date)\n  first_order: min(orders.order_date)\n";
        t += "  big_orders: count(orders where amount >= " +
             one<std::string>({"10", "0.3", "250.5"}) + ")\n";
        t += "  categories: count_distinct(orders.category)\n  items: sum(orders.items where "
             "category != 'c')\n";
        t += "  top_category: max(orders.category)\n";
        t += "  grace: if(score > 2, 30d, 1mo + 2d)\n";
        if (datetimes)
            t += std::string("  recent_at: count(orders where at > as_of - ") +
                 (duration_rng() % 2 ? "if(amount > 100, 7d, 1mo + 1d)" : "7d") +
                 ")\n  last_at: max(orders.at)\n"
                 "  first_at: min(orders.at where at >= 2024-02-29T08:00:00)\n";
        // cv and abc everywhere, abc over values that no dialect must stop for (score holds
        // 2^63 - 1, beyond 64-bit units).
        t += "  variation: " +
             one<std::string>({"cv(orders.amount, per: month, over: 12mo)",
                               "cv(orders.items, per: month, over: 3mo)",
                               "cv(orders.amount where category != 'c', per: week, over: 90d)",
                               "cv(orders.amount, per: day, over: 2mo)"}) +
             "\n";
        t += "  abc_class: abc(" +
             one<std::string>({"revenue", "n_orders", "credit", "items", "-credit"}) +
             one<std::string>({"", ", a: 0.5", ", a: 0.3, b: 0.9", ", a: 0.6, b: 1"}) + ")\n";
        t += "  tile: ntile(" +
             one(with({"revenue", "n_orders", "signup", "credit"}, {"-credit", "credit * 0.0"})) +
             ", " + std::to_string(2 + pick(4)) + ")\n";
        t += "  rank: percent_rank(" + one<std::string>({"revenue", "score", "last_order"}) + ")\n";
        t += "  score_rfm: \"rfm(recency: " +
             one<std::string>({"last_order", "days_since(last_order)"}) +
             ", frequency: n_orders, monetary: revenue, bins: " +
             one<std::string>({"3", "5", "10"}) + (pick(2) ? ", best: low" : "") + ")\"\n";
        const bool exclusive = pick(6) == 0;
        t += "general:\n  policy: " + std::string(exclusive ? "exclusive" : "first_match") +
             "\n  segments:\n";
        const int segments = 1 + pick(most_segments);
        for (int s = 0; s < segments; ++s) {
            t += "    - id: g" + std::to_string(s) + "\n      when: \"" + cond(2) + "\"\n";
            if (pick(2)) {
                t += "      tactical:\n        - id: t" + std::to_string(s) +
                     "a\n          when: \"" + cond(1) + "\"\n";
                if (pick(2))
                    t += "          tactical:\n            - id: t" + std::to_string(s) +
                         "n\n              when: \"" + cond(1) + "\"\n";
                t += "        - id: t" + std::to_string(s) + "b\n          when: \"" + cond(1) +
                     "\"\n";
            }
        }
        if (exclusive)
            t += "    - id: rest\n      when: \"not (" + cond(0) + ")\"\n";
        else
            t += "    - id: rest\n      when: otherwise\n";
        if (pick(2))
            t += "tactical:\n  - id: shared\n    when: \"" + cond(1) + "\"\n    within: all\n";
        return t;
    }
};

// `rules` (a rule file of Gen::rules) without the lets that no condition needs, directly or
// through another let. The placement is the same; the ClickHouse query gets much shorter
// (ClickHouse 18.16 takes most of a pair's time analysing the nested query, and each let,
// aggregate and population function adds a level). Lets are the lines "  name: ..." between
// "let:" and "general:"; a name counts as used where it stands as a whole word and not after
// a '.' (orders.items is a column, items the let).
inline std::string without_unused_lets(const std::string& rules) {
    const size_t let_at = rules.find("\nlet:\n"), general_at = rules.find("\ngeneral:\n");
    if (let_at == std::string::npos || general_at == std::string::npos) return rules;
    auto uses = [](const std::string& text, const std::string& name) {
        auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
        for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
            const bool starts = at == 0 || (!word(text[at - 1]) && text[at - 1] != '.');
            const size_t end = at + name.size();
            if (starts && (end == text.size() || !word(text[end]))) return true;
        }
        return false;
    };
    std::vector<std::pair<std::string, std::string>> lets;  // name, line
    std::istringstream lines(rules.substr(let_at + 6, general_at + 1 - (let_at + 6)));
    for (std::string line; std::getline(lines, line);)
        lets.emplace_back(line.substr(2, line.find(':') - 2), line);
    // From the last let back: a let is kept when the conditions or a kept later let use it
    // (a let uses only earlier lets).
    std::string needed = rules.substr(general_at);
    std::vector<bool> kept(lets.size());
    for (size_t i = lets.size(); i-- > 0;) {
        kept[i] = uses(needed, lets[i].first);
        if (kept[i]) needed += "\n" + lets[i].second.substr(lets[i].second.find(':') + 1);
    }
    std::string out = rules.substr(0, let_at + 1);
    std::string let_lines;
    for (size_t i = 0; i < lets.size(); ++i)
        if (kept[i]) let_lines += lets[i].second + "\n";
    if (!let_lines.empty()) out += "let:\n" + let_lines;
    return out + rules.substr(general_at + 1);
}

// Averages of totals beyond nine million units (2^53): a fixed case for every dialect.
inline const char* kAveragesRows = R"(
INSERT INTO customers (customer_id) VALUES (1), (2), (3), (4);
INSERT INTO orders (customer_id, order_date, items, amount) VALUES
  (1, '2026-01-01', 5000000, 5000000.25), (1, '2026-01-02', 5000001, 5000000.5),
  (2, '2026-01-01', 3000000000, 12345678.9), (2, '2026-01-01', 7, 0.1),
  (3, '2026-01-01', -9000000000, -7777777.77), (3, '2026-01-02', -1, -0.07);
)";
inline const char* kAveragesRules = R"(ruleset: averages
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  per_order: avg(orders.items)
  spend: avg(orders.amount)
general:
  segments:
    - id: exact_half
      when: per_order == 5000000.5 and spend == 5000000.375
    - id: big
      when: per_order > 1000000000 and spend > 6000000
    - id: negative
      when: per_order < -4000000000 and spend < -3000000
    - id: rest
      when: otherwise
)";

}  // namespace strata::testing
