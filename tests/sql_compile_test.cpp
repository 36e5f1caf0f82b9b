// strata compile (sql/): the compiled SQLite query against the embedded engine, which is the
// definition. Random rule files over random bases (nulls in every column, junk text, ties,
// dates around month ends and leap days, empty fact tables) are run by the engine and
// exported, and the compiled query is executed on the same file: every customer's segment
// and tactical ids must agree. STRATA_SQL_PAIRS sets how many pairs (default 300; `make fuzz-sql`
// runs thousands).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "compile_support.hpp"
#include "sql_generator.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::compile_fixture;

TEST_CASE("compile: the SQLite query places every customer as the engine does (random pairs)") {
    const char* env = std::getenv("STRATA_SQL_PAIRS");
    const int pairs = env ? std::atoi(env) : 300;
    Gen gen{std::mt19937(pair_seed(20261101))};
    gen.datetimes = true;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string db = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        CAPTURE(i);
        check_agrees(dir, rules, db,
                     gen.one<std::string>({"2026-11-01", "2024-02-29", "2026-03-31"}));
    }
}

// SQLite substitutes a subquery in FROM into the query around it, and each step of the
// calendar, number-text and checked-arithmetic pieces refers to its inner columns several
// times: without the steps kept apart (AS MATERIALIZED, LIMIT -1 OFFSET 0) this file's query
// became a program of about 300,000 to 1,000,000 instructions that took seconds to prepare.
TEST_CASE("compile: the SQLite query stays small when SQLite prepares it") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, score, signup, raw_score, raw_credit)
    VALUES (1, 3, '2026-10-15', '12', '0.75'), (2, NULL, '2024-01-31', '1e1', 'x');
)");
    const std::string rules = dir.write("r.yaml", R"(ruleset: prepared
version: 1
source:
  customers: customers
  key: customer_id
  types: { raw_score: integer, raw_credit: number }
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
general:
  policy: first_match
  segments:
    - id: renewing
      when: as_of < signup + 1mo + 3d and days_between(signup, as_of) * 2 > score + 1
    - id: scored
      when: raw_score > 10 and raw_credit > 0.5
    - id: rest
      when: otherwise
)");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE(compiled.code == 0);
    SQLite::Database base(db, SQLite::OPEN_READONLY);
    SQLite::Statement explain(base, "EXPLAIN " + compiled.out);
    int instructions = 0;
    while (explain.executeStep())
        ++instructions;
    CHECK(instructions > 100);
    CHECK(instructions < 20000);
    check_agrees(dir, rules, db, "2026-11-01");
}

TEST_CASE("compile: the shipped rule files on the demo bases give the engine's placement") {
    const std::vector<std::pair<std::string, std::string>> files = {
        {"saas", "saas-firmographic"},
        {"saas", "b2b-crm"},
        {"retail", "retail-rfm"},
        {"retail", "cosmetics-frequency"},
        {"retail", "electronics-breadth"},
        {"streaming", "streaming-lifecycle"},
        {"telecom", "telecom-arpu"},
        {"carservice", "carservice-rfm"},
        {"auto", "auto-lifecycle"},
        {"cdnow", "cdnow-rfm"},
        {"crm", "crm-export"}};
    for (const auto& [kind, name] : files) {
        TempDir dir;
        const std::string db = dir.file("demo.db");
        const Run made = make_shipped_base(kind, db);
        REQUIRE_MESSAGE(made.code == 0, made.err);
        CAPTURE(name);
        // The shipped files pin no as_of: the demo bases' "today", or the day after the log.
        check_agrees(dir, std::string(STRATA_SOURCE_DIR) + "/rules/" + name + ".yaml", db,
                     kind == "cdnow" ? "1998-07-01" : "2026-11-01");
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
    const std::string refusals = r.err.substr(r.err.find(rules + ":9:13: error"));
    CHECK(refusals == rules +
                          ":9:13: error: cannot compile to sqlite: matches() needs RE2 regular "
                          "expressions, which sqlite does not have\n"
                          "    9 |       when: matches(tier, '^g')\n"
                          "      |             ^~~~~~~~~~~~~~~~~~~\n"
                          "strata compile: 1 construct cannot be compiled to sqlite\n");
}

// A duration chosen per row is compiled as a CASE over its values, up to 32 of them; six
// if()s added together take 64 and are refused where the duration is added.
TEST_CASE("compile: a duration with more than 32 values is refused at file:line:col") {
    TempDir dir;
    const std::string db = dir.database("base.db", kSchema);
    const std::string rules = dir.write("r.yaml", R"(ruleset: many
version: 1
let:
  pause: if(opt_in, 1d, 2d) + if(opt_in, 3d, 4d) + if(opt_in, 5d, 6d) + if(opt_in, 7d, 8d)
general:
  segments:
    - id: few
      when: signup + pause + if(opt_in, 1mo, 2mo) > as_of
    - id: many
      when: signup + (pause + if(score > 1, 9d, 10d) + if(score > 2, 9d, 10d)) > as_of
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(rules + ":10:22: error: cannot compile to sqlite: this duration takes more "
                             "than 32 values") != std::string::npos);
    CHECK(r.err.find(rules + ":8:") == std::string::npos);
    CHECK(r.err.find("1 construct cannot be compiled") != std::string::npos);
}

// A move by months nests three or four subqueries in SQLite's query, and SQLite 3.40's parser
// stops at about a dozen: three moves in one expression would be a query SQLite cannot parse
// ("parser stack overflow"), so compile refuses them there and says how to split them. The
// same moves split by a let compile and give the engine's placement.
TEST_CASE("compile: a date moved by months three times is refused on SQLite, split by a let not") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, signup) VALUES (1, '2024-01-31'), (2, '2023-11-30'),
    (3, '2025-12-31'), (4, NULL);
)");
    const std::string whole = dir.write("whole.yaml", R"(ruleset: moves
version: 1
general:
  segments:
    - id: late
      when: signup + 1mo + 1y + 2mo + 5d < as_of
    - id: twice
      when: signup - 1mo + 1y > as_of
    - id: rest
      when: otherwise
)");
    const Run refused = run_cli({"compile", whole, "--dialect", "sqlite", "--db", db});
    CHECK(refused.code == 1);
    CHECK(refused.out.empty());
    CHECK(refused.err.find(whole + ":6:33: error: cannot compile to sqlite: a date moved by "
                                   "months this many times in one expression is more than "
                                   "sqlite can parse; move the date by part of it in a let") !=
          std::string::npos);
    CHECK(refused.err.find("1 construct cannot be compiled") != std::string::npos);
    const std::string split = dir.write("split.yaml", R"(ruleset: moves
version: 1
let:
  moved: signup + 1mo + 1y
general:
  segments:
    - id: late
      when: moved + 2mo + 5d < as_of
    - id: twice
      when: signup - 1mo + 1y > as_of
    - id: rest
      when: otherwise
)");
    check_agrees(dir, split, db, "2026-11-01");
    check_agrees(dir, split, db, "2025-04-05");
}

// SQLite's parser has a fixed stack, and each checked operation binds its value in a subquery of
// its own: a sum of eight numbers, or a move by months, a day, a month and a day, was a query
// that compile gave out (exit 0) and SQLite could not parse ("parser stack overflow"). The
// query is now parsed before it is given out, and refused at each expression too deep alone.
// The same sums split by a let compile and give the engine's placement.
TEST_CASE("compile: an expression deeper than SQLite's parser takes is refused at its place") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, score, signup) VALUES (1, 0.5, '2024-01-31'),
    (2, 0.05, '2023-11-30'), (3, NULL, '2025-12-31');
)");
    const std::string deep = dir.write("deep.yaml", R"(ruleset: deep
version: 1
general:
  segments:
    - id: high
      when: score + score + score + score + score + score + score + score > 1
    - id: moved
      when: signup - 1mo + 1d - 1mo + 1d < as_of
    - id: rest
      when: otherwise
)");
    const Run refused = run_cli({"compile", deep, "--dialect", "sqlite", "--db", db});
    CHECK(refused.code == 1);
    CHECK(refused.out.empty());
    INFO(refused.err);
    CHECK(refused.err.find(deep + ":6:13: error: cannot compile to sqlite: this expression nests "
                                  "deeper than sqlite's parser takes (sqlite: parser stack "
                                  "overflow); compute part of it in a let") != std::string::npos);
    CHECK(refused.err.find(deep + ":8:13: error: cannot compile to sqlite: this expression "
                                  "nests deeper") != std::string::npos);
    CHECK(refused.err.find("2 constructs cannot be compiled") != std::string::npos);
    // Seven terms are within it.
    const std::string seven = dir.write("seven.yaml", R"(ruleset: seven
version: 1
general:
  segments:
    - id: high
      when: score + score + score + score + score + score + score > 1
    - id: rest
      when: otherwise
)");
    check_agrees(dir, seven, db, "2026-11-01");
    const std::string split = dir.write("split.yaml", R"(ruleset: deep
version: 1
let:
  half: score + score + score + score
  moved: signup - 1mo + 1d
general:
  segments:
    - id: high
      when: half + score + score + score + score > 1
    - id: moved
      when: moved - 1mo + 1d < as_of
    - id: rest
      when: otherwise
)");
    check_agrees(dir, split, db, "2026-11-01");
    check_agrees(dir, split, db, "2024-01-15");
}

// A join of texts is capped at 65,536 bytes. A join of names and literals is capped by the sum
// of their bytes, with no subquery: the first version bound every join in one, and a label of
// 14 nested if()s, each joining columns and literals, was refused (15 still is: the bytes'
// sum nests a little deeper than the join alone did).
TEST_CASE("compile: joins of texts nest as deep as the rest of an expression") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, tier, raw_score) VALUES (1, 't3', 'a'), (2, 't9', NULL),
    (3, NULL, 'b'), (4, 't0', 'Привет');
)");
    std::string label = "tier";
    for (int k = 0; k < 14; ++k)
        label = "if(tier == 't" + std::to_string(k) + "', tier + ' of ' + raw_score + '" +
                std::to_string(k) + "', " + label + ")";
    const std::string rules = dir.write(
        "r.yaml", "ruleset: labels\nversion: 1\nlet:\n  label: \"" + label +
                      "\"\n  long: upper(raw_score) + raw_score + lower(tier)\n"
                      "general:\n  segments:\n"
                      "    - id: three\n      when: label == 't3 of a3'\n"
                      "    - id: zero\n      when: label == 't0 of Привет0' and long is not null\n"
                      "    - id: rest\n      when: otherwise\n");
    check_agrees(dir, rules, db, "2026-11-01");
}

// The query counts a text's bytes in the base's encoding: on a UTF-16 base a join's limit and
// length() would not be the language's (a review found customers placed apart from a run).
TEST_CASE("compile: a UTF-16 base is refused for the SQLite query, and run segments it") {
    TempDir dir;
    const std::string db = dir.database(
        "u16.db", std::string("PRAGMA encoding = 'UTF-16le';") + kSchema +
                      "INSERT INTO customers (customer_id, tier) VALUES (1, 'ab'), (2, NULL);");
    const std::string rules = dir.write("r.yaml", R"(ruleset: wide
version: 1
let:
  joined: tier + tier
general:
  segments:
    - id: joined
      when: joined == 'abab'
    - id: rest
      when: otherwise
)");
    const Run refused = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db});
    CHECK(refused.code == 2);
    CHECK(refused.out.empty());
    CHECK(refused.err.find("strata compile: the base stores its texts as UTF-16le (PRAGMA "
                           "encoding)") != std::string::npos);
    const Run ran = run_cli({"run", rules, "--db", db});
    CHECK(ran.code == 0);
}

// A chain of lets, each reading the one before, makes a step of the query each. No expression
// is deep, but SQLite resolves the steps' names through one another and refused 199 of them
// ("Expression tree is too large"): compile gave that query out (exit 0), since it parsed the
// query on an empty database, where the first unknown table stops the check before the depth.
TEST_CASE("compile: a chain of lets deeper than SQLite takes is refused, a shorter one is not") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, score) VALUES (1, 0.5), (2, NULL);
)");
    auto chain = [&](int lets) {
        std::string yaml = "ruleset: chain\nversion: 1\nlet:\n  l0: score + 1\n";
        for (int i = 1; i < lets; ++i)
            yaml += "  l" + std::to_string(i) + ": l" + std::to_string(i - 1) + " + 1\n";
        yaml += "general:\n  segments:\n    - id: high\n      when: l" + std::to_string(lets - 1) +
                " > 100\n    - id: rest\n      when: otherwise\n";
        return dir.write("chain" + std::to_string(lets) + ".yaml", yaml);
    };
    const std::string deep = chain(199);
    const Run refused = run_cli({"compile", deep, "--dialect", "sqlite", "--db", db});
    INFO(refused.err);
    CHECK(refused.code == 1);
    CHECK(refused.out.empty());
    CHECK(refused.err.find("error: cannot compile to sqlite: the query nests deeper than "
                           "sqlite's parser takes (sqlite: Expression tree is too large") !=
          std::string::npos);
    CHECK(refused.err.find("steps, one for each let that reads another, nest in one another; "
                           "shorten the chain of lets that read lets") != std::string::npos);
    check_agrees(dir, chain(150), db, "2026-11-01");
}

// Without --db, only the columns typed in source.types compile (compile --help says so), but
// source.types was not read without a schema: every column was of no known type, and the
// refusal said to give source.types, which the file had. check missed their type errors too.
TEST_CASE("compile and check without --db read the types source.types gives") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, score) VALUES (1, 30), (2, 10), (3, NULL);
INSERT INTO orders (customer_id, order_date, amount) VALUES (1, '2026-10-01', 20), (2, '2026-10-02', 5);
)");
    const std::string rules = dir.write("typed.yaml", R"(ruleset: typed
version: 1
source:
  customers: customers
  key: customer_id
  types: { customer_id: integer, score: integer }
  facts:
    orders: { table: orders, key: customer_id, time: order_date, types: { customer_id: integer, amount: number } }
general:
  segments:
    - id: high
      when: score > 15 and sum(orders.amount) > 10
    - id: rest
      when: otherwise
)");
    const Run alone = run_cli({"compile", rules, "--dialect", "sqlite", "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(alone.code == 0, alone.err);
    const Run with_db =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE(with_db.code == 0);
    CHECK(query_rows(db, alone.out) == "1,high,\n2,rest,\n3,rest,\n");
    CHECK(query_rows(db, alone.out) == query_rows(db, with_db.out));
    check_agrees(dir, rules, db, "2026-11-01");
    const std::string mistyped = dir.write("mistyped.yaml", R"(ruleset: typed
version: 1
source:
  types: { score: integer }
general:
  segments:
    - id: high
      when: score > 'a'
    - id: rest
      when: otherwise
)");
    const Run check = run_cli({"check", mistyped});
    CHECK(check.code == 1);
    CHECK(check.out.find("cannot compare an integer with a string") != std::string::npos);
}

// The query ends ORDER BY k, the customer key of its last step. A let output by --lets as a
// column named k was what SQLite's ORDER BY k named instead: rows in the let's order.
TEST_CASE("compile --lets: a let named k leaves the rows in key order") {
    TempDir dir;
    const std::string db = dir.database("base.db", std::string(kSchema) + R"(
INSERT INTO customers (customer_id, score) VALUES (1, 30), (2, 10), (3, 20);
)");
    const std::string rules = dir.write("k.yaml", R"(ruleset: orderk
version: 1
let:
  k: 0 - score
general:
  segments:
    - id: high
      when: k < -15
    - id: rest
      when: otherwise
)");
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--lets", "k"});
    REQUIRE_MESSAGE(compiled.code == 0, compiled.err);
    CHECK(query_rows(db, compiled.out) == "1,high,\n2,rest,\n3,high,\n");
}

// --lets takes lets that have a column, once each, and none named as the query's own columns;
// anything else is a wrong option (exit 2) that names the lets it can output.
TEST_CASE("compile --lets: a record, a duration, a name given twice or a query column is refused") {
    TempDir dir;
    const std::string rules = dir.write("l.yaml", R"y(ruleset: lets
version: 1
source:
  types: { credit: number, signup: date }
let:
  grace: 30d
  score: "rfm(recency: signup, frequency: credit, monetary: credit)"
  segment: credit + 1
  doubled: credit * 2
  Tactical: credit * 3
general:
  segments:
    - id: a
      when: signup + grace > as_of and score.r > 1 and segment > 0 and doubled > 0 and Tactical > 0
    - id: b
      when: otherwise
)y");
    auto compile = [&](const std::string& lets) {
        return run_cli(
            {"compile", rules, "--dialect", "sqlite", "--as-of", "2026-11-01", "--lets", lets});
    };
    const std::string can = "; the lets it can output are: doubled\n";
    const Run record = compile("score");
    CHECK(record.code == 2);
    CHECK(record.out.empty());
    CHECK(record.err.find("--lets 'score': a record has no column of its own") !=
          std::string::npos);
    CHECK(record.err.find("score.code and the like)" + can) != std::string::npos);
    CHECK(record.err.find("cannot be compiled") == std::string::npos);
    const Run duration = compile("grace");
    CHECK(duration.code == 2);
    CHECK(duration.err.find("--lets 'grace': a duration has no column" + can) != std::string::npos);
    const Run field = compile("score.r");
    CHECK(field.code == 2);
    CHECK(field.err.find("no let of that name" + can) != std::string::npos);
    const Run clash = compile("segment");
    CHECK(clash.code == 2);
    CHECK(clash.err.find("--lets 'segment': the query has a column of that name already") !=
          std::string::npos);
    // SQL column names ignore case.
    CHECK(compile("Tactical").err.find("--lets 'Tactical': the query has a column of that name") !=
          std::string::npos);
    const Run twice = compile("doubled,doubled");
    CHECK(twice.code == 2);
    CHECK(twice.err.find("--lets 'doubled': given twice (column names ignore case)\n") !=
          std::string::npos);
    const Run once = compile("doubled");
    CHECK(once.code == 0);
    CHECK(once.out.find("AS \"doubled\"") != std::string::npos);
}

// A value without a type cannot be written in SQL: a column no schema types, or a value that is
// null whatever the row (`if(c, null, null) + 1d`), which the engine evaluates as null.
TEST_CASE("compile: a value without a type is refused, saying both reasons it may have") {
    TempDir dir;
    const std::string db = dir.database("base.db", kSchema);
    const std::string rules = dir.write("r.yaml", R"(ruleset: untyped
version: 1
let:
  gap: if(score > 1, null, null) + 1d
general:
  segments:
    - id: soon
      when: signup + gap < as_of
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"compile", rules, "--dialect", "sqlite", "--db", db});
    CHECK(r.code == 1);
    CHECK(r.err.find(rules + ":4:8: error: cannot compile to sqlite: the type of this value is "
                             "not known: its columns need a type (give --db, or source.types), "
                             "or it is null whatever the row") != std::string::npos);
    const Run untyped = run_cli({"compile", rules, "--dialect", "sqlite"});
    CHECK(untyped.code == 1);
    CHECK(untyped.err.find("its columns need a type (give --db") != std::string::npos);
}

TEST_CASE("compile: --help, a bad dialect, and each dialect without --db") {
    const Run help = run_cli({"compile", "--help"});
    CHECK(help.code == 0);
    CHECK(help.out.find("--dialect") != std::string::npos);
    CHECK(run_cli({"compile", "x.yaml", "--dialect", "oracle"}).code == 2);
    TempDir dir;
    const std::string rules = dir.write(
        "r.yaml",
        "ruleset: x\nversion: 1\ngeneral:\n  segments:\n    - id: all\n      when: otherwise\n");
    const Run ch = run_cli({"compile", rules, "--dialect", "clickhouse"});
    CHECK(ch.code == 0);
    CHECK(ch.out.find("SETTINGS join_use_nulls = 1") != std::string::npos);
    // PostgreSQL without --db: every column of its language type's native type.
    const Run pg = run_cli({"compile", rules, "--dialect", "postgres"});
    CHECK(pg.code == 0);
    CHECK(pg.out.find(".k;") != std::string::npos);  // ORDER BY the last step's k, no COLLATE
    // Both say that the query casts each column as source.types says, which the catalog
    // (--db) would check: a float column given 'integer' is rounded there, null in a run.
    for (const Run* without_catalog : {&ch, &pg})
        CHECK(without_catalog->err.find("note: without --db the query takes each column to be "
                                        "stored in the warehouse as the type source.types") !=
              std::string::npos);
    CHECK(run_cli({"compile", rules, "--dialect", "sqlite"}).err.find("note: without --db") ==
          std::string::npos);
    // A server's URL with another dialect is refused before any connection (none listens on
    // port 1).
    const Run wrong =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", "clickhouse://127.0.0.1:1/x"});
    CHECK(wrong.code == 2);
    CHECK(wrong.err ==
          "strata compile: --db is a clickhouse:// URL, which is read for --dialect "
          "clickhouse, not sqlite\n");
    CHECK(
        run_cli({"compile", rules, "--dialect", "clickhouse", "--db", "postgres://u@127.0.0.1:1/x"})
            .code == 2);
    // --lets with a name the file has no let of is a wrong option (exit 2), saying the names.
    const std::string with_let = dir.write(
        "l.yaml",
        "ruleset: x\nversion: 1\nlet:\n  double: 2 * 2\ngeneral:\n  segments:\n    - id: all\n"
        "      when: otherwise\n");
    const Run nope = run_cli({"compile", with_let, "--dialect", "sqlite", "--lets", "dobule"});
    CHECK(nope.code == 2);
    CHECK(nope.err.find("strata compile: --lets 'dobule': the rule file has no let of that "
                        "name; its lets are: double\n") != std::string::npos);
    CHECK(run_cli({"compile", with_let, "--dialect", "sqlite", "--lets", "double"}).code == 0);
    // A fact column read without --db has no type: the refusal says how to give it one.
    const Run facts = run_cli({"compile", std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml",
                               "--dialect", "sqlite"});
    CHECK(facts.code == 1);
    CHECK_MESSAGE(facts.err.find("cannot compile to sqlite: the type of column 'amount' of table "
                                 "'orders' is not known: give --db") != std::string::npos,
                  facts.err);
}

// PostgreSQL compares an integer with a number as doubles, so an exact comparison is compiled
// (sql/expressions.cpp): only where needed. A literal below 2^53 in size, -3 (the negation of
// 3) too, keeps the plain comparison; a column against a column does not.
TEST_CASE("compile: PostgreSQL's exact integer-number comparison only where a double is not") {
    TempDir dir;
    const std::string rules = dir.write("n.yaml", R"(ruleset: n
version: 1
source:
  types: { x: number, i: integer }
general:
  segments:
    - id: a
      when: x > -3 and i < -2.5 and x > i and x == 9007199254740993
    - id: b
      when: otherwise
)");
    const Run pg = run_cli({"compile", rules, "--dialect", "postgres"});
    REQUIRE_MESSAGE(pg.code == 0, pg.err);
    size_t exact = 0;
    for (size_t at = 0;
         (at = pg.out.find("WHEN na < CAST(nb AS double precision)", at)) != std::string::npos;
         ++at)
        ++exact;
    CHECK(exact == 2);  // x > i, and x == 2^53 + 1
    // SQLite compares the two exactly itself.
    const Run lite = run_cli({"compile", rules, "--dialect", "sqlite"});
    CHECK(lite.out.find("WHEN na <") == std::string::npos);
}
