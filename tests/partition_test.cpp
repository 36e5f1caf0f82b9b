// The static partition analysis (analysis/partition.hpp, docs/check.md): what exits 0, the
// shipped rule files, and a differential test against the engine on generated rule files.
// The failing cases with their exact wording are golden files in tests/golden/check*/.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <random>

#include "analysis/domains.hpp"
#include "analysis/partition.hpp"
#include "dsl/compiler.hpp"
#include "engine/store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace strata;
using strata::testing::run_cli;
using strata::testing::TempDir;

namespace {

std::unique_ptr<CompiledRules> compile(const std::string& path, const std::string& text,
                                       const Schema* schema) {
    Diagnostics diags;
    auto rules = compile_rules(SourceFile(path, text), schema, diags);
    REQUIRE(rules);
    REQUIRE_MESSAGE(!diags.has_errors(), text);
    return rules;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const char* kHeader = "ruleset: p\nversion: 1\ngeneral:\n  policy: exclusive\n  segments:\n";

std::string segments(const std::vector<std::string>& whens) {
    std::string s = kHeader;
    for (size_t i = 0; i < whens.size(); ++i)
        s += "    - id: s" + std::to_string(i) + "\n      when: " + whens[i] + "\n";
    return s;
}

}  // namespace

TEST_CASE("partition: a proof that succeeds says nothing and exits 0") {
    TempDir dir;
    const auto file = dir.write(
        "ok.yaml", segments({"score < 5 or score is null", "score >= 5 and score < 10",
                             "score >= 10 and (plan in ['a', 'b'] or plan not in ['a', 'b'])",
                             "score >= 10 and plan is null"}));
    const auto r = run_cli({"check", file, "--strict"});
    CHECK(r.code == 0);
    CHECK(r.out.find("gap") == std::string::npos);
    CHECK(r.out.find("overlap") == std::string::npos);
    CHECK(r.out.find("not proven") == std::string::npos);
    CHECK(r.out.find("can never") == std::string::npos);
}

TEST_CASE("partition: a segment that can never hold is a warning under exclusive too") {
    TempDir dir;
    const auto file =
        dir.write("never.yaml", segments({"score < 5 or score is null", "score >= 5",
                                          "score > 3 and score < 2 and score is not null"}));
    const auto r = run_cli({"check", file});
    CHECK(r.code == 0);
    CHECK(r.out.find("warning: segment 's2' can never hold") != std::string::npos);
}

// The latest row of a date column is never after as_of; a datetime's row of the as_of day is
// after its midnight. Without --db the time column's type is not known, so neither a proof nor
// a "never holds" rests on it.
TEST_CASE("partition: the latest time is bounded by as_of only when the column is known dates") {
    TempDir dir;
    const std::string facts = R"(ruleset: p
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: ts }
let:
  last: max(orders.ts)
general:
)";
    const auto exclusive = dir.write("exclusive.yaml", facts + R"(  policy: exclusive
  segments:
    - id: never
      when: last is null
    - id: before
      when: last < as_of - 30d
    - id: recent
      when: last >= as_of - 30d and last <= as_of
)");
    const auto later = dir.write("later.yaml", facts + R"(  segments:
    - id: later
      when: last > as_of
    - id: rest
      when: otherwise
)");
    auto base = [&](const char* name, const char* type) {
        return dir.database(name, std::string("CREATE TABLE customers (customer_id INTEGER "
                                              "PRIMARY KEY); CREATE TABLE orders (customer_id "
                                              "INTEGER, ts ") +
                                      type + ");");
    };
    const auto dates = base("dates.db", "DATE");
    const auto times = base("times.db", "DATETIME");
    const auto unknown = run_cli({"check", exclusive});
    CHECK(unknown.code == 0);
    CHECK(unknown.out.find("error: gap") == std::string::npos);
    CHECK(unknown.out.find("note: not proven: a customer with last = as_of + 1d may be in no "
                           "segment, but it needs last = as_of + 1d, and whether the time column "
                           "of 'last' holds times of day") != std::string::npos);
    const auto proven = run_cli({"check", exclusive, "--db", dates, "--strict"});
    CHECK(proven.code == 0);
    CHECK(proven.out.find("not proven") == std::string::npos);
    const auto timed = run_cli({"check", exclusive, "--db", times});
    CHECK(timed.code == 0);
    CHECK(timed.out.find("not proven: a customer with last = a value (not null)") !=
          std::string::npos);
    CHECK(timed.out.find("1970") == std::string::npos);
    CHECK(run_cli({"check", later}).out.find("can never hold") == std::string::npos);
    CHECK(run_cli({"check", later, "--db", times}).out.find("can never hold") == std::string::npos);
    CHECK(run_cli({"check", later, "--db", dates})
              .out.find("warning: segment 'later' can never hold") != std::string::npos);
}

// A first_match level without `otherwise` that leaves a customer out fails every run of a base
// holding one: check warns of a customer it is sure of, and not of one it only may be.
TEST_CASE("partition: first_match without otherwise warns of a customer no segment holds") {
    TempDir dir;
    const std::string head = "ruleset: w\nversion: 1\ngeneral:\n  segments:\n";
    const auto gap = dir.write("gap.yaml", head +
                                               "    - id: a\n      when: x > 5\n    - id: b\n"
                                               "      when: x <= 5\n");
    const auto r = run_cli({"check", gap});
    CHECK(r.code == 0);
    CHECK(r.out.find("gap.yaml:4:3: warning: gap: no segment holds a customer with x = no value "
                     "(null), and there is no `otherwise`: a run of a base with such a customer "
                     "stores nothing\n") != std::string::npos);
    CHECK(run_cli({"check", gap, "--strict"}).code == 1);
    const auto covered =
        dir.write("covered.yaml", head +
                                      "    - id: a\n      when: x > 5\n    - id: b\n      "
                                      "when: x <= 5 or x is null\n");
    CHECK(run_cli({"check", covered}).out.find("gap") == std::string::npos);
    const auto caught = dir.write("caught.yaml", head +
                                                     "    - id: a\n      when: x > 5\n    - id: "
                                                     "b\n      when: otherwise\n");
    CHECK(run_cli({"check", caught}).out.find("gap") == std::string::npos);
    // A condition the analysis does not read may cover the customer: no warning, but a note
    // (as under `exclusive`), which --strict makes an error: such a run may fail.
    const auto unread = dir.write("unread.yaml", head +
                                                     "    - id: a\n      when: x > 5\n    - id: "
                                                     "b\n      when: matches(name, 'a')\n");
    const auto u = run_cli({"check", unread});
    CHECK(u.code == 0);
    CHECK(u.out.find("warning: gap") == std::string::npos);
    CHECK(u.out.find("note: not proven: a customer with") != std::string::npos);
    CHECK(u.out.find("may be in no segment, and there is no `otherwise`, but the analysis does "
                     "not read") != std::string::npos);
    CHECK(run_cli({"check", unread, "--strict"}).code == 1);
}

// Two aggregates of one fact table: the analysis does not know their combinations, but a
// customer without rows (a sum of 0, no latest date) is sure to be possible, so a gap there is
// a warning. It was silent, and the run failed.
TEST_CASE("partition: a gap of a customer without rows is sure, whatever else the fact gives") {
    TempDir dir;
    const std::string text = R"(ruleset: rows
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  last_order: max(orders.order_date)
general:
  segments:
    - id: big
      when: revenue >= 1000
    - id: mid
      when: revenue >= 100 and revenue < 1000
    - id: small
      when: revenue > 0 and revenue < 100 and last_order > as_of - 1y
)";
    const auto r = run_cli({"check", dir.write("rows.yaml", text)});
    CHECK(r.code == 0);
    CHECK(r.out.find("warning: gap: no segment holds a customer with revenue = 0 and last_order = "
                     "no value (null), and there is no `otherwise`") != std::string::npos);
    // With a segment for them, the rest is not sure: a note.
    const std::string covered =
        text + "    - id: none\n      when: revenue == 0 and last_order is null\n";
    const auto c = run_cli({"check", dir.write("covered.yaml", covered)});
    CHECK(c.out.find("warning: gap") == std::string::npos);
    CHECK(c.out.find("note: not proven") != std::string::npos);
    CHECK(c.out.find("'revenue' and 'last_order' both come from fact table 'orders'") !=
          std::string::npos);
}

TEST_CASE("partition: numbers from 2^53 on are not read, so nothing is claimed about them") {
    // In doubles, 10000000000000000 - 1 is 10000000000000000: the classes the constant splits
    // could not be told apart. `x < 10000000000000000` used to "never hold" although x = 5
    // holds it, and the gap at 10000000000000001 went unseen.
    TempDir dir;
    const auto file = dir.write(
        "big.yaml", segments({"x < 10000000000000000", "x == 10000000000000000", "x is null"}));
    const auto r = run_cli({"check", file});
    CHECK(r.code == 0);
    CHECK(r.out.find("can never") == std::string::npos);
    CHECK(r.out.find("not proven") != std::string::npos);
    CHECK(r.out.find("which is a number beyond 2^53") != std::string::npos);
    const auto above = dir.write("above.yaml", segments({"x > 9007199254740992", "x <= 5"}));
    CHECK(run_cli({"check", above}).out.find("can never") == std::string::npos);
    // Just below 2^53 the analysis still proves.
    const auto exact = dir.write("exact.yaml", segments({"x < 9007199254740991",
                                                         "x >= "
                                                         "9007199254740991",
                                                         "x is null"}));
    const auto proven = run_cli({"check", exact, "--strict"});
    CHECK(proven.code == 0);
    CHECK(proven.out.find("not proven") == std::string::npos);
}

// coalesce(x, 0) is never null, so `tier < 1`, `tier >= 1 ...` cover every customer. check
// used to warn of a gap at "tier = no value (null)", a customer no base can hold.
TEST_CASE("partition: a coalesce with a constant, or an if() of two, is never null") {
    TempDir dir;
    const std::string head = "ruleset: c\nversion: 1\nlet:\n  tier: ";
    const auto file = [&](const std::string& name, const std::string& tier) {
        return dir.write(name, head + tier +
                                   "\ngeneral:\n  policy: exclusive\n  segments:\n"
                                   "    - id: low\n      when: tier < 1\n"
                                   "    - id: mid\n      when: tier >= 1 and tier < 3\n"
                                   "    - id: high\n      when: tier >= 3\n");
    };
    for (const std::string tier :
         {"coalesce(customer_id, 0)", "coalesce(customer_id, score, 0)", "least(score, 3)",
          "greatest(0, score)", "if(score > 5, 2, 0)", "coalesce(if(score > 5, score, null), 1)"}) {
        CAPTURE(tier);
        const auto r = run_cli({"check", file("never.yaml", tier), "--strict"});
        CHECK(r.code == 0);
        CHECK(r.out.find("gap") == std::string::npos);
    }
    // Never null, but a column checked without --db may hold fractions, and coalesce gives
    // them as they are, although its 0 types it as an integer (review AA1: check proved a
    // file whose run left 0.5 in no segment).
    const std::string fractions =
        "ruleset: c\nversion: 1\nlet:\n  c: coalesce(x, 0)\n"
        "general:\n  policy: exclusive\n  segments:\n"
        "    - id: zero\n      when: c <= 0\n"
        "    - id: some\n      when: c >= 1 and c < 5\n"
        "    - id: many\n      when: c >= 5\n";
    // Arithmetic that an integer types keeps the fraction too (review AB1).
    for (const std::string c : {"coalesce(x, 0)", "abs(coalesce(x, 0))", "-coalesce(x, 0)",
                                "coalesce(x, 0) + 0", "coalesce(x, 0) * 1"}) {
        CAPTURE(c);
        std::string text = fractions;
        text.replace(text.find("coalesce(x, 0)"), 14, c);
        const auto unknown = run_cli({"check", dir.write("fractions.yaml", text), "--strict"});
        CHECK(unknown.code == 1);
        CHECK(unknown.out.find("whether 'c' can hold a fraction is not known without --db") !=
              std::string::npos);
    }
    const auto unknown = run_cli({"check", dir.write("fractions.yaml", fractions), "--strict"});
    CHECK(unknown.code == 1);
    CHECK(unknown.out.find("error: not proven: a customer with c = 0.5 may be in no segment, but "
                           "it needs c = 0.5, and whether 'c' can hold a fraction is not known "
                           "without --db") != std::string::npos);
    const auto base =
        dir.database("x.db", "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x REAL);");
    const auto known = run_cli({"check", dir.file("fractions.yaml"), "--db", base});
    CHECK(known.code == 1);
    CHECK(known.out.find("error: gap: no segment holds a customer with c = 0.5") !=
          std::string::npos);
    // Lets that read one another several times over are read once each: 2^40 otherwise.
    std::string chain = "ruleset: c\nversion: 1\nlet:\n  c0: coalesce(x, 0)\n";
    for (int i = 1; i <= 40; ++i)
        chain += "  c" + std::to_string(i) + ": coalesce(least(c" + std::to_string(i - 1) + ", c" +
                 std::to_string(i - 1) + "), c" + std::to_string(i - 1) + ")\n";
    chain +=
        "general:\n  policy: exclusive\n  segments:\n    - id: low\n      when: c40 < 1\n"
        "    - id: high\n      when: c40 >= 1\n";
    const auto started = std::chrono::steady_clock::now();
    const auto typed = dir.database(
        "chain.db", "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x INTEGER);");
    const auto chained = run_cli({"check", dir.write("chain.yaml", chain), "--db", typed});
    CHECK(chained.code == 0);
    CHECK(chained.out.find("gap") == std::string::npos);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
    // Null stays possible when every argument may be null, or one branch is.
    for (const std::string tier : {"coalesce(customer_id, score)", "if(score > 5, 2, null)",
                                   "if(score > 5, score, 0)", "least(score, customer_id)"}) {
        CAPTURE(tier);
        const auto r = run_cli({"check", file("maybe.yaml", tier)});
        CHECK(r.code == 1);
        CHECK(r.out.find("error: gap: no segment holds a customer with tier = no value (null)") !=
              std::string::npos);
    }
}

TEST_CASE("a quoted \"otherwise\" is the catch-all too (a rule file saved as JSON)") {
    TempDir dir;
    const auto db = dir.database("base.db",
                                 "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, x "
                                 "INTEGER); INSERT INTO customers VALUES (1, 5), (2, 0);");
    const auto file =
        dir.write("q.json", R"({"ruleset": "q", "version": 1, "general": {"segments": [)"
                            R"({"id": "a", "when": "x > 1"}, {"id": "b", "when": "x == 0"}, )"
                            R"({"id": "c", "when": "otherwise"}]}})");
    const auto r = run_cli({"check", file, "--db", db});
    CHECK_MESSAGE(r.code == 0, r.out);
    const auto ran = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    CHECK(ran.code == 0);
}

TEST_CASE("partition: a condition the analysis does not read is a note, an error with --strict") {
    TempDir dir;
    const auto file = dir.write(
        "note.yaml", segments({"contains(name, 'x')", "not contains(name, 'x')", "name is null"}));
    const auto loose = run_cli({"check", file});
    CHECK(loose.code == 0);
    CHECK(loose.out.find("note: not proven:") != std::string::npos);
    CHECK(loose.out.find("it calls contains()") != std::string::npos);
    const auto strict = run_cli({"check", file, "--strict"});
    CHECK(strict.code == 1);
    CHECK(strict.out.find("error: not proven:") != std::string::npos);
    // The same with an unread part that does not matter: still a proof.
    const auto proven =
        dir.write("proven.yaml",
                  segments({"x > 1 and contains(name, 'x')", "x > 1 and not contains(name, 'x')",
                            "x <= 1 or x is null", "x > 1 and contains(name, 'x') is null"}));
    const auto p = run_cli({"check", proven, "--strict"});
    CHECK(p.code == 0);
    CHECK(p.out.find("not proven") == std::string::npos);
}

TEST_CASE("partition: too many combinations is no proof") {
    std::vector<std::string> whens;
    for (int i = 0; i < 6; ++i)
        whens.push_back("v" + std::to_string(i) + " > " + std::to_string(i));
    const auto rules = compile("many.yaml", segments(whens), nullptr);
    const auto small = prove_exclusive(*rules, 5);
    CHECK(small.over_budget);
    CHECK(!small.proven);
    const auto enough = prove_exclusive(*rules);
    CHECK(!enough.over_budget);
    CHECK(!enough.proven);
}

// A list of store ids or postcodes can run to thousands: each constant is a class boundary,
// and classes were told apart by comparing every value with every constant, once per value
// and once per `in` list item. 4,000 items took 36 s and 100,000 ran out of memory.
TEST_CASE("partition: an `in` list of 20,000 numbers is analysed in well under a second") {
    std::string evens;
    for (int i = 0; i < 20000; ++i)
        evens += (i == 0 ? "" : ", ") + std::to_string(2 * i);
    const auto rules =
        compile("list.yaml",
                segments({"\"x in [" + evens + "]\"", "\"x not in [" + evens + "] and x < 30000\"",
                          "x >= 40000 or x is null"}),
                nullptr);
    const auto started = std::chrono::steady_clock::now();
    const auto verdict = prove_exclusive(*rules);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CHECK(seconds < 20);  // about 0.1 s; generous for sanitizer builds
    // The odd numbers from 30,001 to 39,999 fall in no segment, and nothing else is wrong.
    CHECK(!verdict.proven);
    CHECK(!verdict.over_budget);
    REQUIRE(verdict.findings.size() == 1);
    const PartitionFinding& gap = verdict.findings[0];
    CHECK(gap.kind == PartitionFinding::Kind::Gap);
    CHECK(gap.certain);
    REQUIRE(gap.values.size() == 1);
    REQUIRE(gap.values[0].second);
    const auto* x = std::get_if<int64_t>(&*gap.values[0].second);
    REQUIRE(x);
    CHECK(*x > 30000);
    CHECK(*x < 40000);
    CHECK(*x % 2 == 1);
}

TEST_CASE(
    "partition: the shipped exclusive rule files are proven, and no shipped file is flagged") {
    for (const char* name : {"cosmetics-frequency", "electronics-breadth", "auto-lifecycle"}) {
        CAPTURE(name);
        const fs::path path = fs::path(STRATA_SOURCE_DIR) / "rules" / (std::string(name) + ".yaml");
        const auto rules = compile(path.string(), slurp(path), nullptr);
        const auto verdict = prove_exclusive(*rules);
        CHECK(verdict.proven);
        CHECK(verdict.findings.empty());
    }
    for (const auto& entry : fs::directory_iterator(fs::path(STRATA_SOURCE_DIR) / "rules")) {
        if (entry.path().extension() != ".yaml" ||
            entry.path().filename().string().ends_with(".test.yaml"))
            continue;
        CAPTURE(entry.path().string());
        const auto r = run_cli({"check", entry.path().string(), "--strict"});
        CHECK(r.code == 0);
        CHECK(r.out.find("not proven") == std::string::npos);
    }
}

// The analysis against the engine. Random exclusive rule files over up to three typed columns
// are checked, and the same files run on a base holding a customer for every combination of
// the columns' classes (the constants come from a small pool, so the base covers them all).
// "Proven" must mean the run places everyone exactly once, and a refuted file must fail the
// run; each counterexample, made a base of its own, must really fall in a gap or an overlap.
TEST_CASE("partition: the verdict agrees with the engine on generated rule files") {
    TempDir dir;
    const std::string schema_sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL, "
        "d DATE);";
    const std::vector<std::string> a_values{"-1", "0", "3", "5", "7", "10", "11", "NULL"};
    const std::vector<std::string> b_values{"'x'", "'y'", "'z'", "NULL"};
    const std::vector<std::string> c_values{"-1", "0", "1", "2.5", "3", "NULL"};
    const std::vector<std::string> d_values{"'2025-12-31'", "'2026-01-01'", "'2026-01-02'", "NULL"};
    std::string grid = schema_sql;
    int key = 0;
    for (const auto& a : a_values)
        for (const auto& b : b_values)
            for (const auto& c : c_values)
                for (const auto& d : d_values)
                    grid += "INSERT INTO customers VALUES (" + std::to_string(++key) + "," + a +
                            "," + b + "," + c + "," + d + ");";
    const auto base = dir.database("grid.db", grid);
    StoreError error;
    auto db = open_read_only(base, error);
    REQUIRE(db);
    const auto schema = read_schema(*db, error);
    REQUIRE(schema);

    std::mt19937 rng(20261101);
    auto pick = [&](const std::vector<std::string>& v) {
        return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
    };
    const std::vector<std::string> ks{"0", "5", "10"};
    auto atom = [&](char column) -> std::string {
        switch (column) {
            case 'a':
                return pick({"a < ", "a <= ", "a > ", "a >= ", "a == ", "a != "}) + pick(ks);
            case 'b':
                return pick({"b == 'x'", "b != 'y'", "b in ['x', 'y']", "b not in ['x']",
                             "b is null", "b is not null"});
            case 'c':
                return pick(
                    {"c < 2.5", "c >= 2.5", "c > 0", "c <= 0", "c is null", "c between 0 and 2.5"});
            default:
                return pick({"d < 2026-01-01", "d >= 2026-01-01", "d == 2026-01-01",
                             "d is not null", "d > 2026-01-01"});
        }
    };
    std::function<std::string(const std::string&, int)> expr = [&](const std::string& columns,
                                                                   int depth) {
        const int shape = depth == 0 ? 0 : std::uniform_int_distribution<int>(0, 4)(rng);
        const char column =
            columns[std::uniform_int_distribution<size_t>(0, columns.size() - 1)(rng)];
        if (shape <= 1) return atom(column);
        if (shape == 2)
            return "(" + expr(columns, depth - 1) + " and " + expr(columns, depth - 1) + ")";
        if (shape == 3)
            return "(" + expr(columns, depth - 1) + " or " + expr(columns, depth - 1) + ")";
        return "not (" + expr(columns, depth - 1) + ")";
    };

    int proven = 0, gaps = 0, overlaps = 0;
    for (int round = 0; round < 150; ++round) {
        std::string columns = pick({"a", "b", "c", "d", "ab", "ac", "bc", "ad", "abc", "bcd"});
        std::vector<std::string> whens;
        if (round % 2 == 0) {
            const int n = std::uniform_int_distribution<int>(2, 4)(rng);
            for (int i = 0; i < n; ++i)
                whens.push_back(expr(columns, 2));
        } else {
            // Split the base like a decision tree: a region R becomes R and A, R and not A,
            // and R with A's column null. A partition, unless A is itself about nulls.
            whens = {""};
            const int splits = std::uniform_int_distribution<int>(1, 2)(rng);
            for (int k = 0; k < splits; ++k) {
                const size_t r = std::uniform_int_distribution<size_t>(0, whens.size() - 1)(rng);
                const char column =
                    columns[std::uniform_int_distribution<size_t>(0, columns.size() - 1)(rng)];
                const std::string a = atom(column);
                const std::string region = whens[r].empty() ? "" : "(" + whens[r] + ") and ";
                whens.erase(whens.begin() + static_cast<long>(r));
                whens.push_back(region + "(" + a + ")");
                whens.push_back(region + "not (" + a + ")");
                whens.push_back(region + std::string(1, column) + " is null");
            }
        }
        const std::string text = segments(whens);
        CAPTURE(text);
        const auto file = dir.write("r.yaml", text);
        const auto rules = compile(file, text, &*schema);
        const auto verdict = prove_exclusive(*rules);
        REQUIRE(!verdict.over_budget);
        const auto run = run_cli({"run", file, "--db", base, "--dry-run", "--as-of", "2026-06-01"});
        CHECK(verdict.proven == (run.code == 0));
        proven += verdict.proven;
        for (const auto& f : verdict.findings) {
            CHECK(f.certain);  // independent typed columns: every customer found can exist
            // The customer found, with every field it leaves free at null and then at a value.
            for (const bool free_null : {true, false}) {
                std::string row = "INSERT INTO customers VALUES (1";
                for (const char* column : {"a", "b", "c", "d"}) {
                    std::string value = free_null                    ? "NULL"
                                        : column == std::string("b") ? "'z'"
                                        : column == std::string("d") ? "'2025-12-31'"
                                                                     : "3";
                    for (const auto& [name, v] : f.values) {
                        if (name != column) continue;
                        REQUIRE(v);
                        value = std::visit(
                            [](const auto& x) -> std::string {
                                using X = std::decay_t<decltype(x)>;
                                if constexpr (std::is_same_v<X, ast::Null>)
                                    return "NULL";
                                else if constexpr (std::is_same_v<X, int64_t>)
                                    return std::to_string(x);
                                else if constexpr (std::is_same_v<X, double>)
                                    return std::to_string(x);
                                else if constexpr (std::is_same_v<X, std::string>)
                                    return "'" + x + "'";
                                else if constexpr (std::is_same_v<X, Date>)
                                    return "'" + format_date(x) + "'";
                                else
                                    return "?";
                            },
                            *v);
                    }
                    row += "," + value;
                }
                const auto one =
                    dir.database("one" + std::to_string(round) + (free_null ? "n" : "v") +
                                     std::to_string(&f - verdict.findings.data()) + ".db",
                                 schema_sql + row + ");");
                if (f.kind == PartitionFinding::Kind::Gap) {
                    ++gaps;
                    const auto r =
                        run_cli({"run", file, "--db", one, "--dry-run", "--as-of", "2026-06-01"});
                    CHECK(r.code == 1);
                    CHECK(r.err.find("1 customer matches no segment") != std::string::npos);
                } else {
                    // The two segments alone: the customer must be in both.
                    ++overlaps;
                    const auto pair = dir.write(
                        "pair.yaml", segments({whens[f.segments[0]], whens[f.segments[1]]}));
                    const auto r =
                        run_cli({"run", pair, "--db", one, "--dry-run", "--as-of", "2026-06-01"});
                    CHECK(r.code == 1);
                    CHECK(r.err.find("1 customer matches both 's0' and 's1'") != std::string::npos);
                }
            }
        }
    }
    // The generator must produce every outcome, or the test proves little.
    CHECK(proven >= 5);
    CHECK(gaps >= 20);
    CHECK(overlaps >= 20);
    MESSAGE("proven " << proven << ", gap checks " << gaps << ", overlap checks " << overlaps);
}

// A step of a search evaluates its question's predicates whole, and lets that repeat one
// another make them large: 437 bytes gave predicates of 70,000 nodes and a search of 200,000
// steps over nine variables, which ran for minutes. All searches of a model share a budget
// of predicate nodes (partition::Model::kNodeBudget); past it the proof says "not proven".
TEST_CASE("partition: lets that repeat one another cost a bounded number of predicate nodes") {
    const auto rules = compile("repeat.yaml", R"(ruleset: r
version: 1
let:
  a: x
  h0: a+1>0 or a+2>0 or a+3>0 or a+4>0 or a+5>0 or a+6>0 or a+7>0 or a+8>0 or a+9>0
  h1: h0 or h0 or h0 or h0
  h2: h1 or h1 or h1 or h1
  h3: h2 or h2 or h2 or h2
  h4: h3 or h3 or h3 or h3
  h5: h4 or h4 or h4 or h4
  h6: h5 or h5 or h5 or h5
  s: h6 and a>0
general:
  policy: exclusive
  segments: [{id: x, when: s}, {id: y, when: not s}]
)",
                               nullptr);
    const auto started = std::chrono::steady_clock::now();
    const auto verdict = prove_exclusive(*rules);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CHECK(seconds < 120);  // about 1.5 s (35 s under ThreadSanitizer); minutes without the budget
    CHECK(verdict.over_budget);
    CHECK(!verdict.proven);
    CHECK(verdict.nodes_evaluated <= partition::Model::kNodeBudget);
    CHECK(verdict.nodes_evaluated > partition::Model::kNodeBudget / 2);
}
