// `strata explain` (issue 10): every general segment tried in order with the truth of its
// condition and the values under it, for one customer, from the run's own evaluation.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);
INSERT INTO customers VALUES (1, 10, 1), (2, 500, 0), (3, 2000, 1), (4, NULL, 0);
)sql";

const char* kRules = R"(ruleset: tiers
version: 1
let:
  half: ntile(spend, 2)
general:
  segments:
    - id: top
      when: half == 2 and spend >= 1000
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
)";

// The length in bytes of the longest line of `text`.
size_t longest_line(const std::string& text) {
    size_t longest = 0;
    for (size_t at = 0, end; at < text.size(); at = end + 1) {
        end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        longest = std::max(longest, end - at);
    }
    return longest;
}

}  // namespace

TEST_CASE("explain shows each segment tried, its truth and the values under it") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", kRules);
    auto r = run_cli({"explain", file, "--db", db, "--customer", "2", "--as-of", "2026-10-01",
                      "--format", "json"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(json_at(r.out, "$.customer") == "2");
    CHECK(json_at(r.out, "$.segment") == "regular");
    CHECK(json_at(r.out, "$.ruleset") == "tiers");
    CHECK(json_at(r.out, "$.version") == "1");
    CHECK(json_at(r.out, "$.as_of") == "2026-10-01");
    CHECK(json_at(r.out, "$.tried[0].id") == "top");
    CHECK(json_at(r.out, "$.tried[0].result") == "0");
    CHECK(json_at(r.out, "$.tried[1].result") == "1");
    CHECK(json_at(r.out, "$.tried[2].result") == "otherwise");
    // The tree: `half == 2 and spend >= 1000`; half is ntile(spend, 2) over {10, 500, 2000}
    // (a null spend has no rank): 10 and 500 in tile 1, 2000 in tile 2.
    CHECK(json_at(r.out, "$.tried[0].condition.text") == "half == 2 and spend >= 1000");
    CHECK(json_at(r.out, "$.tried[0].condition.children[0].text") == "half == 2");
    CHECK(json_at(r.out, "$.tried[0].condition.children[0].children[0].kind") == "let");
    CHECK(json_at(r.out, "$.tried[0].condition.children[0].children[0].value") == "1");
    CHECK(json_at(r.out, "$.tried[0].condition.children[1].value") == "0");
    CHECK(json_at(r.out, "$.tried[0].condition.children[1].line") == "8");
    CHECK(json_at(r.out, "$.tried[0].condition.children[1].col") == "27");
    // Ranked against the whole base, as the run does: alone, customer 3 would be in tile 1.
    auto top = run_cli({"explain", file, "--db", db, "--customer", "3", "--as-of", "2026-10-01",
                        "--format", "json"});
    CHECK(json_at(top.out, "$.tried[0].condition.children[0].children[0].value") == "2");
    CHECK(json_at(top.out, "$.tried[0].condition.children[0].children[0].children[0].kind") ==
          "population");
    CHECK(json_at(top.out, "$.tried[0].condition.children[0].children[0].children[0].value") ==
          "2");
    CHECK(json_at(top.out, "$.tactical[0]") == "tv");
    CHECK(json_at(top.out, "$.tactical_tried[0].result") == "1");

    // A null value makes a condition unknown, not false.
    auto u = run_cli({"explain", file, "--db", db, "--customer", "4", "--as-of", "2026-10-01",
                      "--format", "json"});
    CHECK(json_at(u.out, "$.segment") == "small");
    CHECK(json_at(u.out, "$.tried[1].result") == "<none>");  // JSON null

    // The winner's tactical segments.
    auto t = run_cli({"explain", file, "--db", db, "--customer", "3", "--as-of", "2026-10-01"});
    CHECK(t.out.find("customer 3 in tiers v1, as_of 2026-10-01: top [tv]") != std::string::npos);
    CHECK(t.out.find("  → top: true   half == 2 and spend >= 1000") != std::string::npos);
    CHECK(t.out.find("tactical segments of top:\n    tv: true   tv == 1") != std::string::npos);
}

TEST_CASE("explain of an unknown customer or a bad date exits 2") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", kRules);
    auto r = run_cli({"explain", file, "--db", db, "--customer", "99", "--as-of", "2026-10-01"});
    CHECK(r.code == 2);
    CHECK(r.err.find("customer 99 is not in the base of 'tiers'") != std::string::npos);
    // JSON says so in the kind eval gives it; a bad date stays a usage problem.
    auto json = run_cli({"explain", file, "--db", db, "--customer", "99", "--format", "json"});
    CHECK(json.code == 2);
    CHECK(json_at(json.out, "$.error.kind") == "not_found");
    // A key that is empty or padded is quoted; a long one is cut.
    auto padded =
        run_cli({"explain", file, "--db", db, "--customer", " 7", "--as-of", "2026-10-01"});
    CHECK(padded.err.find("customer ' 7' is not in the base") != std::string::npos);
    auto empty = run_cli({"explain", file, "--db", db, "--customer", "", "--as-of", "2026-10-01"});
    CHECK(empty.code == 2);
    auto long_key = run_cli({"explain", file, "--db", db, "--customer", std::string(5000, 'k'),
                             "--as-of", "2026-10-01"});
    CHECK(long_key.err.find("customer " + std::string(64, 'k') + "… is not in the base") !=
          std::string::npos);
    CHECK(long_key.err.size() < 300);
    CHECK(run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "x"}).code == 2);
}

// A customer in the table whom source.since leaves out on that day was said not to be in the
// table at all.
TEST_CASE("explain of a customer who joined after as_of names source.since") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signup DATE, x REAL);
INSERT INTO customers VALUES (1, '2026-01-01', 1), (4, '2026-12-01', 4);
)sql");
    const auto file = dir.write("s.yaml",
                                "ruleset: s\nversion: 1\nsource:\n  since: signup\ngeneral:\n"
                                "  segments:\n    - id: a\n      when: x > 1\n    - id: b\n"
                                "      when: otherwise\n");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "4", "--as-of", "2026-11-01"});
    CHECK(r.code == 2);
    CHECK(r.err.find("customer 4 is not in the base of 's' (table 'customers' as of 2026-11-01; "
                     "source.since 'signup' leaves out 1 customer of the table who joined after "
                     "that day, which may be this one)") != std::string::npos);
    // When source.since leaves nobody out, a key not in the table is just that.
    r = run_cli({"explain", file, "--db", db, "--customer", "999", "--as-of", "2026-12-01"});
    CHECK(r.code == 2);
    CHECK(r.err.find("customer 999 is not in the base of 's' (table 'customers')\n") !=
          std::string::npos);
    r = run_cli({"explain", file, "--db", db, "--customer", "4", "--as-of", "2026-12-01"});
    CHECK(r.code == 0);
}

TEST_CASE("explain says why a total of rows with values is null: it overflowed") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY);
INSERT INTO customers VALUES (1), (2), (3);
CREATE TABLE orders (id INTEGER, day DATE, amount REAL);
INSERT INTO orders VALUES (1, '2026-09-01', 1e308), (1, '2026-09-02', 1e308),
  (2, '2026-09-01', 5), (2, '2026-09-02', NULL);
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: totals
version: 1
source:
  customers: customers
  key: id
  facts:
    orders: { table: orders, key: id, time: day }
let:
  revenue: sum(orders.amount)
general:
  segments:
    - id: big
      when: revenue > 100
    - id: small
      when: revenue > 0
    - id: rest
      when: otherwise
)");
    auto explain = [&](const char* customer) {
        const Run r =
            run_cli({"explain", file, "--db", db, "--customer", customer, "--as-of", "2026-10-01"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        return r.out;
    };
    const std::string overflowed = explain("1");
    CHECK_MESSAGE(overflowed.find("because the total of its 2 values is beyond what an exact sum "
                                  "holds (a magnitude of 10^29;") != std::string::npos,
                  overflowed);
    // A total that fits, and the empty total (0), have no such note.
    CHECK(explain("2").find("is beyond") == std::string::npos);
    CHECK(explain("3").find("is beyond") == std::string::npos);
}

TEST_CASE("explain agrees with the run: the first segment it finds true is the one placed") {
    // The run places with its batch kernels; explain reads each condition through the
    // evaluator. Held to each other on the retail demo rules, customer by customer.
    TempDir dir;
    const std::string db = dir.file("retail.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "600", "--out", db}).code ==
            0);
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    for (int key = 1; key <= 600; key += 37) {
        CAPTURE(key);
        auto r = run_cli({"explain", rules, "--db", db, "--customer", std::to_string(key),
                          "--as-of", "2026-11-01", "--format", "json"});
        REQUIRE(r.code == 0);
        std::string first_true;
        for (int i = 0; i < 20 && first_true.empty(); ++i) {
            const std::string at = "$.tried[" + std::to_string(i) + "]";
            const std::string result = json_at(r.out, at + ".result");
            if (result == "1" || result == "otherwise") first_true = json_at(r.out, at + ".id");
        }
        CHECK(first_true == json_at(r.out, "$.segment"));
        // Each tactical segment that held is one explain finds true.
        for (int i = 0; i < 5; ++i) {
            const std::string at = "$.tactical_tried[" + std::to_string(i) + "]";
            if (json_at(r.out, at + ".id") == "<none>") break;
            const bool held =
                r.out.find("\"" + json_at(r.out, at + ".id") + "\"]") != std::string::npos ||
                json_at(r.out, "$.tactical[0]") == json_at(r.out, at + ".id");
            CHECK(held == (json_at(r.out, at + ".result") == "1"));
        }
    }
}

TEST_CASE(
    "explain writes every digit a number needs, so a condition's two sides never read alike") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY, score REAL);
INSERT INTO customers VALUES (1, 0.123456789123), (2, 0.1 + 0.2), (3, 0.5);
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: digits
version: 1
source:
  customers: customers
  key: id
general:
  segments:
    - id: above
      when: score > 0.1234567891
    - id: rest
      when: otherwise
)");
    auto explain = [&](const char* customer, const char* format) {
        const Run r = run_cli({"explain", file, "--db", db, "--customer", customer, "--as-of",
                               "2026-10-01", "--format", format});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        return r.out;
    };
    // Nine decimals made both sides 0.123456789 beside a condition that held.
    const std::string one = explain("1", "json");
    CHECK(json_at(one, "$.tried[0].condition.children[0].value") == "0.123456789123");
    CHECK(json_at(one, "$.tried[0].condition.children[1].value") == "0.1234567891");
    // 0.1 + 0.2 is not 0.3, and the text says so; a value 15 digits hold stays short.
    CHECK(explain("2", "text").find("score = 0.30000000000000004") != std::string::npos);
    // (json_at reads numbers back through SQLite, which prints 15 digits: look at the text.)
    CHECK(explain("2", "json")
              .find(R"("text":"score","kind":"column","line":9,"col":13,)"
                    R"("value":0.30000000000000004,)") != std::string::npos);
    CHECK(explain("3", "text").find("score = 0.5 ") != std::string::npos);
}

TEST_CASE("lets that use another several times over: check and explain stay linear") {
    // l0 = l1 + l1, l1 = l2 + l2, ...: read naively, l0 is 2^30 additions.
    std::string rules =
        "ruleset: chain\nversion: 1\nsource:\n  customers: customers\n  key: id\n"
        "let:\n  l30: score\n";
    for (int i = 29; i >= 0; --i)
        rules += "  l" + std::to_string(i) + ": l" + std::to_string(i + 1) + " + l" +
                 std::to_string(i + 1) + "\n";
    rules += "  flag: l0 > 5 and l0 > 6\n  g0: flag and flag\n";
    for (int i = 1; i <= 30; ++i)
        rules += "  g" + std::to_string(i) + ": g" + std::to_string(i - 1) + " or not g" +
                 std::to_string(i - 1) + "\n";
    rules +=
        "general:\n  segments:\n    - id: big\n      when: l0 > 5 and g30\n"
        "    - id: rest\n      when: otherwise\n";
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER PRIMARY KEY, score INTEGER);
INSERT INTO customers VALUES (1, 1), (2, 0);
)sql");
    const auto file = dir.write("r.yaml", rules);
    const auto start = std::chrono::steady_clock::now();
    const Run check = run_cli({"check", file, "--db", db});
    CHECK_MESSAGE(check.code == 0, check.out);
    const Run explain = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of",
                                 "2026-10-01", "--format", "json"});
    REQUIRE_MESSAGE(explain.code == 0, explain.err);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 10);
    CHECK(json_at(explain.out, "$.segment") == "big");
    // l0 is opened once, down to the score; the second l1 under it shows its value alone.
    CHECK(json_at(explain.out, "$.tried[0].condition.children[0].children[0].text") == "l0");
    CHECK(json_at(explain.out, "$.tried[0].condition.children[0].children[0].value") ==
          "1073741824");
    CHECK(json_at(explain.out,
                  "$.tried[0].condition.children[0].children[0].children[0].children[1].text") ==
          "l1");
    CHECK(json_at(explain.out,
                  "$.tried[0].condition.children[0].children[0].children[0]"
                  ".children[1].children") == "[]");
    CHECK(explain.out.size() < 200000);
}

TEST_CASE("explain tries a nested tactical segment only where its parent holds") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, region TEXT, tier INTEGER);
INSERT INTO customers VALUES (1, 'n', 1), (2, 's', 1), (3, NULL, 1);
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: nest
version: 1
general:
  segments:
    - id: everyone
      when: otherwise
      tactical:
        - id: north
          when: region == 'n'
          tactical:
            - id: gold
              when: tier == 1
)");
    // Customer 1 is in north and in north/gold: both are tried and hold.
    auto in = run_cli({"explain", file, "--db", db, "--customer", "1", "--as-of", "2026-10-01",
                       "--format", "json"});
    INFO(in.out, in.err);
    REQUIRE(in.code == 0);
    CHECK(json_at(in.out, "$.tactical[1]") == "north/gold");
    CHECK(json_at(in.out, "$.tactical_tried[1].id") == "north/gold");
    CHECK(json_at(in.out, "$.tactical_tried[1].result") == "1");
    // Customers 2 (another region) and 3 (no region) have tier 1 too, but are in no tactical
    // segment: gold is not tried outside north, so no line says it holds.
    for (const char* key : {"2", "3"}) {
        CAPTURE(key);
        auto out = run_cli({"explain", file, "--db", db, "--customer", key, "--as-of", "2026-10-01",
                            "--format", "json"});
        REQUIRE(out.code == 0);
        CHECK(json_at(out.out, "$.tactical_tried[0].id") == "north");
        CHECK(json_at(out.out, "$.tactical_tried[1].id") == "<none>");
        auto text =
            run_cli({"explain", file, "--db", db, "--customer", key, "--as-of", "2026-10-01"});
        CHECK(text.out.find("north/gold") == std::string::npos);
    }
}

TEST_CASE("explain shows a key or value with a line break on one line") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id TEXT, note TEXT);
INSERT INTO customers VALUES ('a' || char(10) || 'stored by run 99', 'x' || char(13, 10) || 'y');
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: lines
version: 1
general:
  segments:
    - id: noted
      when: note == 'x'
    - id: rest
      when: otherwise
)");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "a\nstored by run 99", "--as-of",
                      "2026-10-01"});
    INFO(r.out, r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.rfind("customer 'a⏎stored by run 99' in lines v1, as_of 2026-10-01: rest\n", 0) ==
          0);
    CHECK(r.out.find("note = 'x⏎y'") != std::string::npos);
}

TEST_CASE("explain shows an rfm record with a null score as null, not as an empty record") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (id INTEGER);
INSERT INTO customers VALUES (1), (2), (3);
CREATE TABLE orders (cid INTEGER, amount REAL, d DATE);
INSERT INTO orders VALUES (1, 10, '2026-10-01'), (2, 20, '2026-10-05'), (2, 5, '2026-10-06');
)sql");
    const auto file = dir.write("r.yaml", R"yaml(ruleset: scored
version: 1
source:
  customers: customers
  key: id
  facts:
    orders: { table: orders, key: cid, time: d }
let:
  n: count(orders)
  score: "rfm(recency: max(orders.d), frequency: n, monetary: sum(orders.amount), bins: 2)"
general:
  segments:
    - id: freq
      when: score.f >= 2
    - id: rest
      when: otherwise
)yaml");
    // Customer 3 never ordered: no recency, so no R score and no code.
    const Run r =
        run_cli({"explain", file, "--db", db, "--customer", "3", "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK_MESSAGE(r.out.find("score = {null, 1, 1, null}") != std::string::npos, r.out);
    CHECK(r.out.find("= {}") == std::string::npos);
    // Customer 2: every score and the code.
    const Run two =
        run_cli({"explain", file, "--db", db, "--customer", "2", "--as-of", "2026-11-01"});
    CHECK_MESSAGE(two.out.find("score = {2, 2, 2, 222}") != std::string::npos, two.out);
}

// A let may build a text of up to 64 KiB: the text output shows a long one by its start and
// its size (JSON gives it whole), and says why a join of two texts is null.
TEST_CASE("explain shows a long text by its start and says why a join past the limit is null") {
    TempDir dir;
    const auto db = dir.database("base.db",
                                 "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, s TEXT);"
                                 "INSERT INTO customers VALUES (1, 'ab');");
    std::string lets = "let:\n  d1: s + s\n";
    for (int k = 2; k <= 16; ++k)
        lets += "  d" + std::to_string(k) + ": d" + std::to_string(k - 1) + " + d" +
                std::to_string(k - 1) + "\n";
    const auto file = dir.write("r.yaml", "ruleset: long\nversion: 1\n" + lets +
                                              "general:\n  segments:\n"
                                              "    - id: capped\n      when: d16 is null\n"
                                              "    - id: rest\n      when: otherwise\n");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "1"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("because the joined text would be 131,072 bytes, longer than the 65,536 a "
                     "text may have, so it is null") != std::string::npos);
    CHECK(r.out.find("d15 = 'ababababab") != std::string::npos);
    CHECK(r.out.find("ab…' (65,536 bytes)") != std::string::npos);
    CHECK(longest_line(r.out) < 400);
    auto j = run_cli({"explain", file, "--db", db, "--customer", "1", "--format", "json"});
    REQUIRE(j.code == 0);
    std::string whole;
    for (int i = 0; i < 32768; ++i)
        whole += "ab";
    CHECK(j.out.find("\"" + whole + "\"") != std::string::npos);
}

// A condition of thousands of list items: the text output shows its start, in the segment's
// line, the node's and the reason's; JSON gives it whole.
TEST_CASE("explain shortens a long condition's source in text and keeps it whole in JSON") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    std::string items;
    for (int i = 100; i < 3100; ++i)
        items += (i == 100 ? "" : ", ") + std::to_string(i);
    const auto file = dir.write("r.yaml",
                                "ruleset: listed\nversion: 1\ngeneral:\n  segments:\n"
                                "    - id: listed\n      when: customer_id in [" +
                                    items + "]\n    - id: rest\n      when: otherwise\n");
    auto r = run_cli({"explain", file, "--db", db, "--customer", "2"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("listed: false   customer_id in [100, 101, 102") != std::string::npos);
    CHECK(r.out.find("because customer_id in [100, 101") != std::string::npos);
    CHECK(r.out.find("3099") == std::string::npos);
    CHECK(longest_line(r.out) < 300);
    auto j = run_cli({"explain", file, "--db", db, "--customer", "2", "--format", "json"});
    REQUIRE(j.code == 0);
    CHECK(json_at(j.out, "$.tried[0].condition.text") == "customer_id in [" + items + "]");
}
