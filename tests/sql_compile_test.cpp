// strata compile (sql/): the compiled SQLite query against the embedded engine, which is the
// definition. Random rule files over random bases (nulls in every column, junk text, ties,
// dates around month ends and leap days, empty fact tables) are run by the engine and
// exported, and the compiled query is executed on the same file: every customer's segment
// and tactical ids must agree. STRATA_SQL_PAIRS sets how many pairs (default 120).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "sql_generator.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

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
    CHECK(refusals == rules +
                          ":7:14: error: cannot compile to sqlite: not compiled yet: cv()\n"
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
    const Run ch = run_cli({"compile", rules, "--dialect", "clickhouse"});
    CHECK(ch.code == 2);
    CHECK(ch.err.find("not built yet") != std::string::npos);
    // PostgreSQL without --db: every column of its language type's native type.
    const Run pg = run_cli({"compile", rules, "--dialect", "postgres"});
    CHECK(pg.code == 0);
    CHECK(pg.out.find("ORDER BY k;") != std::string::npos);
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

TEST_CASE("compile: what PostgreSQL cannot express is refused at file:line:col") {
    TempDir dir;
    const std::string rules = dir.write("r.yaml", R"(ruleset: refused
version: 1
source:
  types: { tier: string }
general:
  segments:
    - id: g
      when: matches(tier, '^g')
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "postgres"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.substr(r.err.find(rules + ":8:13: error")) ==
          rules +
              ":8:13: error: cannot compile to postgres: matches() needs RE2 regular "
              "expressions, which postgres does not have\n"
              "    8 |       when: matches(tier, '^g')\n"
              "      |             ^~~~~~~~~~~~~~~~~~~\n"
              "strata compile: 1 construct cannot be compiled to postgres\n");
}
