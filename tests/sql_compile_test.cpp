// strata compile (sql/): the compiled SQLite query against the embedded engine, which is the
// definition. Random rule files over random bases (nulls in every column, junk text, ties,
// dates around month ends and leap days, empty fact tables) are run by the engine and
// exported, and the compiled query is executed on the same file: every customer's segment
// and tactical ids must agree. STRATA_SQL_PAIRS sets how many pairs (default 120).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kSchema = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT, score INTEGER, credit REAL,
                        opt_in BOOLEAN, signup DATE, raw_score TEXT, raw_credit TEXT);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE,
                     amount REAL, items INTEGER, category TEXT);
)";

// Rows of the query (or of export's CSV), as "key,segment,tactical" lines.
std::string query_rows(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, sql);
    std::string out;
    while (q.executeStep()) {
        out += q.getColumn(0).getString() + "," +
               (q.getColumn(1).isNull() ? "<none>" : q.getColumn(1).getString()) + "," +
               q.getColumn(2).getString() + "\n";
    }
    return out;
}

std::string export_rows(const std::string& csv) {
    const size_t header = csv.find('\n');
    return header == std::string::npos ? "" : csv.substr(header + 1);
}

// The engine's placement against the compiled query's, on one base. An engine run that
// cannot place everyone stores nothing; the query then gives some customer no segment.
void check_agrees(const TempDir& dir, const std::string& rules, const std::string& db,
                  const std::string& as_of) {
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", as_of});
    std::stringstream text;
    text << std::ifstream(rules).rdbuf();
    const std::string rules_text = text.str();
    INFO("rules:\n" << rules_text);
    INFO(compiled.err);
    REQUIRE(compiled.code == 0);
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh, std::filesystem::copy_options::overwrite_existing);
    const Run run = run_cli({"run", rules, "--db", fresh, "--as-of", as_of});
    const std::string sql_rows = query_rows(db, compiled.out);
    if (run.code != 0) {
        INFO(run.err);
        CHECK(sql_rows.find(",<none>,") != std::string::npos);
        return;
    }
    const Run exported =
        run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
    REQUIRE(exported.code == 0);
    INFO(compiled.out);
    CHECK(sql_rows == export_rows(exported.out));
    if (std::getenv("STRATA_SQL_KEEP") && sql_rows != export_rows(exported.out)) {
        std::filesystem::copy_file(db, "/tmp/sql_fail.db",
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(rules, "/tmp/sql_fail.yaml",
                                   std::filesystem::copy_options::overwrite_existing);
    }
}

struct Gen {
    std::mt19937 rng;
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
                pick(8) == 0 ? one<std::string>({"'31.12.2025'", "'0000-01-01'", "'0001-01-31'",
                                                 "'9999-12-31'", "'2026-10-20T10:00:00.'"})
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
        return sql;
    }

    // A random integer-valued expression over customer fields and lets.
    std::string int_expr(int depth) {
        if (depth <= 0 || pick(3) == 0)
            return one<std::string>({"score", "n_orders", "items", "3", "-2", "0",
                                     "9223372036854775807", "big_orders", "raw_score"});
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

    std::string num_expr(int depth) {
        if (depth <= 0 || pick(3) == 0)
            return one<std::string>(
                {"credit", "revenue", "avg_amount", "0.1", "2.5", "1e308", "rank", "raw_credit"});
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
        return one<std::string>({"signup", "last_order", "first_order", "as_of", "signup + 1mo",
                                 "last_order - 1y", "signup + 1mo + 3d", "2024-02-29 + 1y",
                                 "as_of - 6mo", "signup + 8000y", "last_order - 2000y",
                                 "as_of + 999999d", "signup + 100000mo"});
    }

    std::string str_expr() {
        return one<std::string>({"tier", "lower(tier)", "upper(tier)", "tier + '!'",
                                 "coalesce(tier, 'none')", "top_category", "score_rfm.code",
                                 "xyz(avg_amount, x: 1, y: 20)"});
    }

    std::string cond(int depth) {
        if (depth <= 0 || pick(4) == 0) {
            switch (pick(12)) {
                case 0:
                    return int_expr(1) + " > " + int_expr(1);
                case 1:
                    return pick(2) ? num_expr(1) + " <= " + num_expr(1)
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
                    return one<std::string>({"contains(tier, 'ol')", "starts_with(tier, 'G')",
                                             "ends_with(tier, ' ')", "length(tier) > 4"});
                case 9:
                    return one<std::string>(
                        {"days_since(last_order) < 40", "days_between(signup, as_of) > 300",
                         "year(signup) == 2024", "month(last_order) == 2",
                         "year(signup + 8000y) > 10020", "month(as_of + 999999d) == 7",
                         "year(last_order - 2000y) == 25"});
                case 10:
                    return one<std::string>(
                        {"tile >= 3", "score_rfm.r >= 2", "score_rfm.m == 1", "rank > 0.5"});
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
            "\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
            "  types: { raw_score: integer, raw_credit: number }\n"
            "  facts:\n    orders: { table: orders, key: customer_id, time: order_date }\nlet:\n";
        t += "  n_orders: count(orders)\n  revenue: sum(orders.amount)\n  avg_amount: "
             "avg(orders.amount)\n";
        t += "  last_order: max(orders.order_date)\n  first_order: min(orders.order_date)\n";
        t += "  big_orders: count(orders where amount >= " +
             one<std::string>({"10", "0.3", "250.5"}) + ")\n";
        t += "  categories: count_distinct(orders.category)\n  items: sum(orders.items where "
             "category != 'c')\n";
        t += "  top_category: max(orders.category)\n";
        t += "  tile: ntile(" +
             one<std::string>(
                 {"revenue", "n_orders", "signup", "credit", "-credit", "credit * 0.0"}) +
             ", " + std::to_string(2 + pick(4)) + ")\n";
        t += "  rank: percent_rank(" + one<std::string>({"revenue", "score", "last_order"}) + ")\n";
        t += "  score_rfm: \"rfm(recency: " +
             one<std::string>({"last_order", "days_since(last_order)"}) +
             ", frequency: n_orders, monetary: revenue, bins: " +
             one<std::string>({"3", "5", "10"}) + (pick(2) ? ", best: low" : "") + ")\"\n";
        const bool exclusive = pick(6) == 0;
        t += "general:\n  policy: " + std::string(exclusive ? "exclusive" : "first_match") +
             "\n  segments:\n";
        const int segments = 1 + pick(4);
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

}  // namespace

TEST_CASE("compile: the SQLite query places every customer as the engine does (random pairs)") {
    const char* env = std::getenv("STRATA_SQL_PAIRS");
    const int pairs = env ? std::atoi(env) : 120;
    Gen gen{std::mt19937(20261101)};
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string db = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        CAPTURE(i);
        check_agrees(dir, rules, db,
                     gen.one<std::string>({"2026-11-01", "2024-02-29", "2026-03-31"}));
    }
}

TEST_CASE("compile: the shipped rule files on the demo bases give the engine's placement") {
    const std::vector<std::pair<std::string, std::string>> files = {
        {"saas", "saas-firmographic"},     {"saas", "b2b-crm"},
        {"retail", "cosmetics-frequency"}, {"retail", "electronics-breadth"},
        {"telecom", "telecom-arpu"},       {"carservice", "carservice-rfm"},
        {"auto", "auto-lifecycle"}};
    for (const auto& [kind, name] : files) {
        TempDir dir;
        const std::string db = dir.file("demo.db");
        REQUIRE(run_cli({"demo-data", "--kind", kind, "--customers", "400", "--out", db}).code ==
                0);
        CAPTURE(name);
        check_agrees(dir, std::string(STRATA_SOURCE_DIR) + "/rules/" + name + ".yaml", db,
                     "2026-11-01");
    }
}

TEST_CASE("compile: what SQLite cannot express is refused at file:line:col") {
    TempDir dir;
    const std::string db = dir.database("base.db", kSchema);
    const std::string rules = dir.write("r.yaml", R"(ruleset: refused
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  steady: cv(orders.amount)
general:
  segments:
    - id: phone
      when: matches(tier, '^g')
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    const std::string refusals = r.err.substr(r.err.find(rules + ":7:14: error"));
    CHECK(refusals ==
          rules +
              ":7:14: error: cannot compile to sqlite: cv() takes a square root, and sqlite "
              "has no sqrt() without its math functions\n"
              "    7 |   steady: cv(orders.amount)\n"
              "      |              ^~~~~~~~~~~~~\n" +
              rules +
              ":11:13: error: cannot compile to sqlite: matches() needs RE2 regular "
              "expressions, which sqlite does not have\n"
              "   11 |       when: matches(tier, '^g')\n"
              "      |             ^~~~~~~~~~~~~~~~~~~\n"
              "strata compile: 2 constructs cannot be compiled to sqlite\n");
}

TEST_CASE("compile: --help, a bad dialect and a dialect not built yet") {
    const Run help = run_cli({"compile", "--help"});
    CHECK(help.code == 0);
    CHECK(help.out.find("--dialect") != std::string::npos);
    CHECK(run_cli({"compile", "x.yaml", "--dialect", "oracle"}).code == 2);
    TempDir dir;
    const std::string rules = dir.write(
        "r.yaml",
        "ruleset: x\nversion: 1\ngeneral:\n  segments:\n    - id: all\n      when: otherwise\n");
    const Run pg = run_cli({"compile", rules, "--dialect", "postgres"});
    CHECK(pg.code == 2);
    CHECK(pg.err.find("not built yet") != std::string::npos);
}

// Found by the random pairs: SQLite's substr() of an empty blob is NULL, so starts_with('',
// 'G') was unknown in SQL and false in the engine; and a null text with an empty part must
// stay unknown.
TEST_CASE("compile: text tests on empty and null texts") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, tier) VALUES (1, ''), (2, NULL), (3, 'Gold'), (4, 'gold '), (5, 'ab');
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: not_g
      when: not starts_with(tier, 'G')
      tactical:
        - id: empty_part
          when: starts_with(tier, '') and ends_with(tier, '') and contains(tier, '')
        - id: spaced
          when: ends_with(tier, ' ')
    - id: rest
      when: otherwise
      tactical:
        - id: nothing
          when: ends_with(tier, '')
)");
    check_agrees(dir, rules, db, "2026-11-01");
}

// A number text that SQLite 3.40 cannot read to the nearest double exactly (more than 15
// significant digits; its own conversion is not correctly rounded) stops the query rather
// than give a number the engine does not read. Shorter texts, signs, points and exponents
// read as the engine reads them.
TEST_CASE("compile: number texts beyond 15 significant digits stop the query") {
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: texts
version: 1
general:
  segments:
    - id: high
      when: credit > 18.6306019825
    - id: rest
      when: otherwise
)");
    const std::string short_texts = dir.database("short.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, raw_credit) VALUES (1, '18.6306019826'), (2, '+.5'), (3, ' 5. '), (4, '1e3');
)");
    check_agrees(dir, dir.write("short.yaml", R"(ruleset: texts
version: 1
source:
  types: { raw_credit: number }
general:
  segments:
    - id: high
      when: raw_credit > 18.6306019826
    - id: rest
      when: otherwise
)"),
                 short_texts, "2026-11-01");
    // In a REAL column SQLite itself turns such a text into a number on insert; in a TEXT
    // column typed as a number it stays a text.
    const std::string long_text = dir.database("long.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, raw_credit) VALUES (1, '33.333333333333336');
)");
    const std::string typed = dir.write("typed.yaml", R"(ruleset: texts
version: 1
source:
  types: { raw_credit: number }
general:
  segments:
    - id: high
      when: raw_credit > 18.6306019825
    - id: rest
      when: otherwise
)");
    const Run compiled = run_cli({"compile", typed, "--dialect", "sqlite", "--db", long_text});
    REQUIRE(compiled.code == 0);
    CHECK_THROWS_WITH(query_rows(long_text, compiled.out), "integer overflow");
}
