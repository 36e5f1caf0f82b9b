// `strata test` (issue 10): cases beside a rule file, run through the real reader and run,
// with failures described and coverage of segments, tactical segments and triggers.
#include <doctest/doctest.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kRules = R"(ruleset: tiers
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
general:
  segments:
    - id: vip
      when: revenue >= 1000
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: revenue >= 100
    - id: small
      when: otherwise
      tactical:
        - id: small_tv
          when: tv == 1
triggers:
  - id: welcome_vip
    on: enter vip
    actions:
      - email: { template: vip }
  - id: goodbye
    on: exit vip
    actions:
      - email: { template: bye }
)";

const char* kTests = R"(cases:
  - name: three tiers
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, tv: 1 }
      - { customer_id: 2, tv: 0 }
      - { customer_id: 3, tv: 1 }
    facts:
      orders:
        - { customer_id: 2, amount: 500.5, order_date: 2026-09-01 }
        - { customer_id: 3, amount: 2000, order_date: 2026-09-02 }
        - { customer_id: 3, amount: 10, order_date: 2026-12-01 }
    expect:
      1: { segment: small, tactical: [small_tv] }
      2: regular
      3: { segment: vip, tactical: [tv] }
    then:
      - as_of: 2026-11-01
        facts:
          orders:
            - { customer_id: 2, amount: 600, order_date: 2026-10-15 }
        expect:
          2: { segment: vip, tactical: [] }
          3: vip
        fires:
          welcome_vip: [2]
      - as_of: 2026-11-02
        description: customer 3 gets tv off, customer 4 joins
        customers:
          - { customer_id: 3, tv: 0 }
          - { customer_id: 4, tv: 1 }
        expect:
          3: { segment: vip, tactical: [] }
          4: { segment: small, tactical: [small_tv] }
        fires:
          welcome_vip: []
)";

}  // namespace

TEST_CASE("strata test runs the cases beside the rule file and reports coverage") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    dir.write("tiers.test.yaml", kTests);
    auto r = run_cli({"test", rules});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("1 case, 1 passed, 0 failed") != std::string::npos);
    // goodbye never fired: 4 of 5 segments and triggers... 3 general, 2 tactical, 1 of 2
    // triggers = 6 of 7 items.
    CHECK(r.out.find("coverage: 85.7% (general segments 3/3, tactical 2/2, triggers 1/2)") !=
          std::string::npos);
    CHECK(r.out.find("triggers (fired) never reached: goodbye") != std::string::npos);
    auto j = run_cli({"test", rules, "--format", "json"});
    CHECK(json_at(j.out, "$.passed") == "1");
    CHECK(json_at(j.out, "$.coverage.triggers.missing[0]") == "goodbye");
    CHECK(json_at(j.out, "$.coverage.percent") == "85.7");
    // Below the minimum: exit 1, and the missing items named.
    auto min = run_cli({"test", rules, "--min-coverage", "90"});
    CHECK(min.code == 1);
    CHECK(min.out.find("below the minimum 90.0%") != std::string::npos);
    CHECK(run_cli({"test", rules, "--min-coverage", "85"}).code == 0);
    // 6 of 7 is 85.714…%: shown with the decimals that keep it on its side of the minimum.
    auto close = run_cli({"test", rules, "--min-coverage", "85.71"});
    CHECK(close.code == 0);
    CHECK_MESSAGE(close.out.find("coverage: 85.71% (general segments 3/3, tactical 2/2, triggers "
                                 "1/2), at least 85.71%") != std::string::npos,
                  close.out);
    auto closer = run_cli({"test", rules, "--min-coverage", "85.715"});
    CHECK(closer.code == 1);
    CHECK_MESSAGE(closer.out.find("coverage: 85.7% (general segments 3/3, tactical 2/2, "
                                  "triggers 1/2), below the minimum 85.715%") != std::string::npos,
                  closer.out);
}

TEST_CASE("strata test describes each failure: segment, tactical, missing customer, triggers") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    std::string tests = kTests;
    tests.replace(tests.find("2: regular"), 10, "2: small");
    tests.replace(tests.find("tactical: [tv]"), 14, "tactical: []");
    tests.replace(tests.find("welcome_vip: [2]"), 16, "welcome_vip: [3]");
    tests += R"(  - name: nobody
    as_of: 2026-10-01
    customers:
      - { customer_id: 9, tv: 0 }
    expect:
      10: small
)";
    dir.write("tiers.test.yaml", tests);
    auto r = run_cli({"test", rules});
    INFO(r.out, r.err);
    CHECK(r.code == 1);
    CHECK(r.out.find("2 cases, 0 passed, 2 failed") != std::string::npos);
    CHECK(r.out.find("customer 2: expected segment small, got regular") != std::string::npos);
    CHECK(r.out.find("customer 3: expected tactical [], got [tv]") != std::string::npos);
    CHECK(r.out.find("then 2026-11-01: trigger welcome_vip: expected to fire for [3], fired for "
                     "[2]") != std::string::npos);
    CHECK(r.out.find("customer 10: expected in small, but not in the base") != std::string::npos);
}

TEST_CASE(
    "strata test: a segment, tactical or trigger id the rule file lacks is a test-file error") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    // Three misspelt names, each said at its place with the nearest name, all in one pass;
    // no case runs, since a case naming what the rules lack cannot pass.
    std::string typo = kTests;
    typo.replace(typo.find("2: regular"), 10, "2: regulr");
    typo.replace(typo.find("tactical: [tv]"), 14, "tactical: [tv, t]");
    typo.replace(typo.find("welcome_vip: [2]"), 16, "welcom_vip: [2]");
    dir.write("tiers.test.yaml", typo);
    auto t = run_cli({"test", rules});
    INFO(t.out, t.err);
    CHECK(t.code == 1);
    CHECK(t.err.find("tiers.test.yaml:15:10: error: 'regulr' is not a general segment of the rule "
                     "file (did you mean 'regular'?)") != std::string::npos);
    CHECK(t.err.find("tiers.test.yaml:16:41: error: 't' is not a tactical segment of the rule file "
                     "(did you mean 'tv'?)") != std::string::npos);
    CHECK(t.err.find("tiers.test.yaml:26:11: error: 'welcom_vip' is not a trigger of the rule "
                     "file (did you mean 'welcome_vip'?)") != std::string::npos);
    CHECK(t.err.find("does not fit the rules") != std::string::npos);
    CHECK(t.out.find("passed") == std::string::npos);
}

TEST_CASE("strata test: bad test files are rule problems at file:line:col; missing ones exit 2") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    CHECK(run_cli({"test", rules}).code == 2);  // no tiers.test.yaml
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-13-01\n    customers: []\n"
              "    expect: {}\n    facts: { invoices: [] }\n");
    auto r = run_cli({"test", rules});
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:3:12: error: 'as_of' must be a date") != std::string::npos);
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers: []\n"
              "    expect: {}\n    facts: { invoices: [] }\n");
    auto f = run_cli({"test", rules});
    CHECK(f.code == 1);
    CHECK(f.err.find("unknown fact 'invoices'; the rules' facts are: orders") != std::string::npos);
    // A column the rules read that no row of any case gives: the compiler says which.
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers:\n"
              "      - { customer_id: 1 }\n    expect: {}\n");
    auto c = run_cli({"test", rules});
    CHECK(c.code == 1);
    CHECK(c.err.find("'tv'") != std::string::npos);
    CHECK(c.out.find("the rules do not compile against this case's tables") != std::string::npos);
    // Lines ended by a carriage return alone are named as such, not as a missing 'cases'.
    dir.write("tiers.test.yaml", "cases:\r  - name: x\r");
    auto cr = run_cli({"test", rules});
    CHECK(cr.code == 1);
    CHECK(cr.err.find("tiers.test.yaml:1:7: error: this line ends with a carriage return alone") !=
          std::string::npos);
    CHECK(cr.err.find("missing the required key") == std::string::npos);
    // A later state dated before the one it follows is located, not a run that fails.
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers: []\n    expect: {}\n"
              "    then:\n      - as_of: 2026-10-05\n      - as_of: 2026-10-03\n");
    auto back = run_cli({"test", rules});
    CHECK(back.code == 1);
    CHECK(back.err.find("tiers.test.yaml:8:16: error: this state's as_of 2026-10-03 is before "
                        "the one it follows (2026-10-05, line 7): runs move forward in time") !=
          std::string::npos);
    // The test file's own errors do not hide its errors against the rules: one pass gives
    // both lists, so that mending the first does not bring up the second (review AJ3).
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers: []\n    expect: {}\n"
              "    then:\n      - as_of: 2026-09-05\n  - name: y\n    as_of: 2026-10-01\n"
              "    customers: []\n    expect: { 1: vipp }\n    facts: { invoices: [] }\n");
    auto both = run_cli({"test", rules});
    CHECK(both.code == 1);
    CHECK(both.err.find("tiers.test.yaml:7:16: error: this state's as_of 2026-09-05 is before") !=
          std::string::npos);
    CHECK(both.err.find("tiers.test.yaml:11:18: error: 'vipp' is not a general segment") !=
          std::string::npos);
    CHECK(both.err.find("unknown fact 'invoices'") != std::string::npos);
    // A case whose customers the load left out (a misspelt key) does not make every column
    // the rules read look missing: only errors at the test file's places are added (AQ2).
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-10-01\n    customerz: []\n    expect: {}\n"
              "  - name: y\n    as_of: 2026-10-01\n    customers:\n      - { customer_id: 1 "
              "}\n    facts: { orders: [ { customer_id: 1, amount: 5, order_date: "
              "2026-09-01 } ] }\n    expect: { 1: vipp }\n");
    auto typo = run_cli({"test", rules});
    CHECK(typo.code == 1);
    CHECK(typo.err.find("unknown key 'customerz'") != std::string::npos);
    CHECK(typo.err.find("'vipp' is not a general segment") != std::string::npos);
    CHECK(typo.err.find("tiers.yaml:") == std::string::npos);
    auto both_json = run_cli({"test", rules, "--format", "json"});
    CHECK(both_json.code == 1);
    CHECK(both_json.out.find("'vipp' is not a general segment") != std::string::npos);
    // A test file saved as cp1251 is refused at its first such byte, as a rule file is: its
    // texts would not be the ones the rules compare with.
    dir.write("tiers.test.yaml",
              "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers:\n"
              "      - { customer_id: 1, tv: \xe7\xee\xeb }\n    expect: {}\n");
    auto cp = run_cli({"test", rules});
    CHECK(cp.code == 1);
    CHECK(cp.err.find("tiers.test.yaml:5:31: error: test file is not valid UTF-8: the byte 0xE7") !=
          std::string::npos);
    // The YAML slips a rule file is told of are told of in a test file too: a quote never
    // closed (not three "missing key" errors after it), a tag that would be ignored, a '{'
    // never closed (at the brace, not the line after), a tab in the indentation.
    auto yaml_error = [&](const std::string& text, const std::string& expected) {
        dir.write("tiers.test.yaml", text);
        auto r = run_cli({"test", rules});
        CHECK(r.code == 1);
        CHECK_MESSAGE(r.err.find(expected) != std::string::npos, r.err);
        CHECK(r.err.find("missing the required key") == std::string::npos);
    };
    yaml_error("cases:\n  - name: \"x\n    as_of: 2026-10-01\n    customers: []\n    expect: {}\n",
               "tiers.test.yaml:2:11: error: invalid YAML: this '\"' is never closed");
    yaml_error(
        "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers:\n"
        "      - { customer_id: 1, tv: !secret 1 }\n    expect: {}\n",
        "tiers.test.yaml:5:31: error: the YAML tag '!secret' is not supported in a test "
        "file");
    yaml_error(
        "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers:\n"
        "      - { customer_id: 1, tv: 1\n    expect: {}\n",
        "tiers.test.yaml:5:9: error: invalid YAML: this '{' is never closed");
    yaml_error("cases:\n\t- name: x\n",
               "tiers.test.yaml:2:1: error: invalid YAML: a tab in the indentation");
    CHECK(run_cli({"test", rules, "--min-coverage", "120"}).code == 2);
    // NaN compares false with both bounds; it is not a percentage either.
    for (const char* nan : {"nan", "NaN", "-nan"})
        CHECK(run_cli({"test", rules, "--min-coverage", nan}).code == 2);
}

TEST_CASE("strata test: a test file that says one thing twice, or a day that does not exist") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    // One case; `customers`, `orders` and `expect` are the lines under those keys.
    auto run_with = [&](const std::string& customers, const std::string& orders,
                        const std::string& expect, const std::string& more = "") {
        dir.write("tiers.test.yaml",
                  "cases:\n  - name: x\n    as_of: 2026-10-01\n    customers:\n" + customers +
                      "    facts:\n      orders:\n" + orders + "    expect:\n" + expect + more);
        return run_cli({"test", rules});
    };
    const std::string two =
        "      - { customer_id: 1, tv: 0 }\n      - { customer_id: 2, tv: 0 }\n";
    const std::string order = "        - { customer_id: 1, amount: 5, order_date: 2026-09-01 }\n";
    const std::string expect = "      1: small\n      2: small\n";
    REQUIRE(run_with(two, order, expect).code == 0);  // the file as meant
    // A column twice in one row: YAML keeps the last, which tested customer 2 twice.
    auto r = run_with("      - { customer_id: 1, customer_id: 2, tv: 0 }\n", order, expect);
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:5:27: error: column 'customer_id' is given twice in a row "
                     "of 'customers'") != std::string::npos);
    // A customer expected twice: the first expectation was dropped.
    r = run_with(two, order, "      1: vip\n      1: small\n      2: small\n");
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:12:7: error: customer 1 is expected twice in 'expect'") !=
          std::string::npos);
    // A customer listed twice, and a row whose key column is misspelt.
    r = run_with(two + "      - { customer_id: 1, tv: 1 }\n      - { customerid: 3, tv: 1 }\n",
                 order, expect);
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:7:9: error: customer 1 is given twice in 'customers' (also "
                     "on line 5)") != std::string::npos);
    CHECK(r.err.find("tiers.test.yaml:8:9: error: this customer row has no 'customer_id'") !=
          std::string::npos);
    // Two cases of one name: the second says where the first is.
    r = run_with(two, order, expect,
                 "  - name: x\n    as_of: 2026-10-01\n    customers: []\n"
                 "    expect: {}\n");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.err.find("tiers.test.yaml:13:11: error: duplicate case name 'x' (also on "
                             "line 2)") != std::string::npos,
                  r.err);
    // A key given as null is a customer without a key, as data may have: allowed.
    CHECK(run_with(two + "      - { customer_id: null, tv: 1 }\n", order, expect).code == 0);
    // Keys quoted in some rows only: a key column holds one kind, or '3' would read as 3.
    r = run_with(two + "      - { customer_id: \"3\", tv: 1 }\n", order, expect);
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:7:9: error: customer '3' is a text, but customer 1 (line "
                     "5) is not: a key column holds one kind; quote every key, or none") !=
          std::string::npos);
    // So across cases and states: the fixtures share one key column.
    r = run_with(two, order, expect,
                 "    then:\n      - as_of: 2026-10-02\n        customers:\n"
                 "          - { customer_id: \"1\", tv: 1 }\n");
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:16:13: error: customer '1' is a text, but customer 1 "
                     "(line 5) is not") != std::string::npos);
    // Quoted in 'customers', not in 'expect': the failure names the key the base has.
    r = run_with("      - { customer_id: \"1\", tv: 0 }\n      - { customer_id: \"2\", tv: 0 }\n",
                 "        - { customer_id: \"1\", amount: 5, order_date: 2026-09-01 }\n",
                 "      1: small\n      \"2\": small\n");
    CHECK(r.code == 1);
    CHECK(r.out.find("customer 1: expected in small, but not in the base, which has customer "
                     "'1' (quote the key in 'expect' as in 'customers', or in neither)") !=
          std::string::npos);
    CHECK(r.out.find("customer '2'") == std::string::npos);
    // A day that does not exist was text, and so a null order date.
    r = run_with(two, "        - { customer_id: 1, amount: 5, order_date: 2026-02-30 }\n", expect);
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:9:52: error: '2026-02-30' in column 'order_date' is not a "
                     "date that exists") != std::string::npos);
    // A trigger or a fact given twice in one state.
    r = run_with(two, order, expect,
                 "    then:\n      - as_of: 2026-10-02\n        expect: {}\n        fires:\n"
                 "          welcome_vip: []\n          welcome_vip: [1]\n");
    CHECK(r.code == 1);
    CHECK(r.err.find("error: trigger 'welcome_vip' is given twice in 'fires'") !=
          std::string::npos);
}

TEST_CASE("strata test lists the and/or operands no case showed to matter both ways (MC/DC)") {
    TempDir dir;
    const auto rules = dir.write("ab.yaml", R"(ruleset: ab
version: 1
general:
  segments:
    - id: both
      when: x > 1 and (y > 1 or not z)
    - id: rest
      when: otherwise
)");
    // y > 1 is always true here, so it never decides its `or` by being false, and `not z`
    // only decides while y is not above 1: never. x decides its `and` both ways (y true).
    dir.write("ab.test.yaml", R"(cases:
  - name: x decides
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, x: 5, y: 5, z: true }
      - { customer_id: 2, x: 0, y: 5, z: true }
    expect:
      1: both
      2: rest
)");
    auto r = run_cli({"test", rules, "--format", "json"});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    CHECK(json_at(r.out, "$.coverage.conditions.operands") == "4");
    CHECK(json_at(r.out, "$.coverage.conditions.covered") == "1");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[0].text") == "(y > 1 or not z)");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[0].never") == "false");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[1].text") == "y > 1");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[1].never") == "false");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[2].never") == "true or false");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[1].line") == "6");
    CHECK(json_at(r.out, "$.coverage.conditions.uncovered[1].col") == "24");
    auto t = run_cli({"test", rules});
    CHECK(t.out.find("1 of 4 operands of and/or decided their outcome both ways") !=
          std::string::npos);
    CHECK(t.out.find(":6:24 `y > 1` in both never decided its and/or by being false") !=
          std::string::npos);
}

TEST_CASE("strata test: the rule file's errors come in the same pass as the test file's") {
    TempDir dir;
    std::string typo = kRules;
    typo.replace(typo.find("when: revenue >= 1000"), 21, "when: revenu >= 1000");
    const auto rules = dir.write("tiers.yaml", typo);
    // The test file misspells the key in one row; the rule file misspells a let.
    std::string tests = kTests;
    tests.replace(tests.find("{ customer_id: 2, tv: 0 }"), 25, "{ customer_idd: 2, tv: 0 }");
    dir.write("tiers.test.yaml", tests);
    auto r = run_cli({"test", rules});
    CHECK(r.code == 1);
    CHECK(r.err.find("tiers.test.yaml:6:9: error: this customer row has no 'customer_id'") !=
          std::string::npos);
    CHECK(r.err.find("tiers.yaml:11:13: error: ") != std::string::npos);
    CHECK(r.err.find("'revenu'") != std::string::npos);
    CHECK(r.err.find("strata test: the test file does not fit the rules") != std::string::npos);
}

TEST_CASE("strata test warns when a case's run left fixture data out, as a run would count it") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    // A typo in a date and an order for a customer the case does not have: both left out, so
    // customer 1 passes as small without the order the case meant to give them.
    dir.write("tiers.test.yaml", R"(cases:
  - name: typo
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, tv: 0 }
    facts:
      orders:
        - { customer_id: 1, amount: 5000, order_date: 2026-9-1 }
        - { customer_id: 44, amount: 5, order_date: 2026-09-01 }
    expect:
      1: small
)");
    auto r = run_cli({"test", rules});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    const std::string all = r.out + r.err;
    CHECK(all.find("tiers.test.yaml:2:5: warning: case 'typo': the run left fixture data out: 1 "
                   "value in orders.order_date did not convert to date (e.g. '2026-9-1'), read as "
                   "null; 1 orders row for no customer of the case, left out; 1 orders row whose "
                   "time is null or not a date, left out of every aggregate") != std::string::npos);
    auto j = run_cli({"test", rules, "--format", "json"});
    CHECK(j.out.find("\"code\":\"fixture-data\"") != std::string::npos);
    // The cases of the first test leave nothing out (a row after as_of is not a finding).
    dir.write("tiers.test.yaml", kTests);
    auto clean = run_cli({"test", rules});
    CHECK((clean.out + clean.err).find("fixture data") == std::string::npos);
}

TEST_CASE("strata test warns of a fixture column spelt like one the rules read, but not it") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    // `amuont` leaves customer 1's order without an amount: they pass as small, though the
    // case meant a vip. A column no rule reads and nothing like one (a name) is fine.
    dir.write("tiers.test.yaml", R"(cases:
  - name: typo
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, tv: 0, name: Anna }
      - { customer_id: 2, tv: 0 }
    facts:
      orders:
        - { customer_id: 2, amount: 5, order_date: 2026-09-01 }
        - { customer_id: 1, amuont: 5000, order_date: 2026-09-01 }
        - { customer_id: 1, amuont: 10, order_date: 2026-09-02 }
    expect:
      1: small
      2: small
)");
    auto r = run_cli({"test", rules});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    const std::string all = r.out + r.err;
    CHECK(all.find("tiers.test.yaml:10:11: warning: column 'amuont' of fact 'orders' is read by "
                   "no rule (did you mean 'amount'?): its values test nothing") !=
          std::string::npos);
    CHECK(all.find("'amuont'", all.find("'amuont'") + 1) == std::string::npos);  // said once
    CHECK(all.find("'name'") == std::string::npos);
    auto j = run_cli({"test", rules, "--format", "json"});
    CHECK(j.out.find("\"code\":\"fixture-data\"") != std::string::npos);
}

TEST_CASE("strata test: a text among a fact column's numbers is a value that did not convert") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    // The first row's amount is a typo: the column is still numbers, as in a database that
    // declares it so, and the case's warning names the value (the rule file's sum is fine).
    dir.write("tiers.test.yaml", R"(cases:
  - name: typo
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, tv: 0 }
      - { customer_id: 2, tv: 0 }
    facts:
      orders:
        - { customer_id: 1, amount: '5OO', order_date: 2026-09-01 }
        - { customer_id: 2, amount: 500, order_date: 2026-09-01 }
    expect:
      1: small
      2: regular
)");
    auto r = run_cli({"test", rules});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    CHECK(r.err.find("warning: case 'typo': the run left fixture data out: 1 value in "
                     "orders.amount did not convert to integer (e.g. '5OO'), read as null") !=
          std::string::npos);
    CHECK(r.err.find("'sum' needs numbers") == std::string::npos);
    // Only texts: the column is text, and the rules' error is an error, not a warning.
    dir.write("tiers.test.yaml", R"(cases:
  - name: texts
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, tv: 0 }
    facts:
      orders:
        - { customer_id: 1, amount: 'five', order_date: 2026-09-01 }
    expect:
      1: small
)");
    auto texts = run_cli({"test", rules, "--format", "json"});
    CHECK(texts.code == 1);
    CHECK(json_at(texts.out, "$.errors[0].code") == "type-mismatch");
    CHECK(json_at(texts.out, "$.errors[0].severity") == "error");
    CHECK(json_at(texts.out, "$.warnings[0]") == "<none>");
}

TEST_CASE("strata test says tactical segments in the rule file's order, on one line each") {
    TempDir dir;
    const auto rules = dir.write("tags.yaml", R"(ruleset: tags
version: 1
general:
  segments:
    - id: all
      when: otherwise
      tactical:
        - id: zeta
          when: n > 0
        - id: alpha
          when: n > 1
)");
    // The case expects alpha alone; the customer is in zeta and alpha. Its name has a line
    // break, which must not break the report's lines.
    dir.write("tags.test.yaml", R"(cases:
  - name: "two\ntags"
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, n: 2 }
    expect:
      1: { segment: all, tactical: [alpha] }
)");
    const Run r = run_cli({"test", rules});
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("  FAIL  two⏎tags\n") != std::string::npos, r.out);
    CHECK(r.out.find("customer 1: expected tactical [alpha], got [zeta, alpha]") !=
          std::string::npos);
    // The two in any order are the same set.
    dir.write("tags.test.yaml", R"(cases:
  - name: both
    as_of: 2026-10-01
    customers:
      - { customer_id: 1, n: 2 }
    expect:
      1: { segment: all, tactical: [alpha, zeta] }
)");
    CHECK(run_cli({"test", rules}).code == 0);
}

// A fact column the test file gives only as numbers in quotes is a text column there, so the
// rules' sum fails in the rule file; a note at the test file's row says why.
TEST_CASE("strata test notes a column given only numbers in quotes") {
    TempDir dir;
    const std::string rules = dir.write("shop.yaml", kRules);
    auto cases = [](const std::string& amounts) {
        return "cases:\n  - name: one buyer\n    as_of: 2026-11-01\n    customers:\n"
               "      - { customer_id: 1 }\n    facts:\n      orders:\n" +
               amounts + "    expect:\n      1: vip\n";
    };
    dir.write("shop.test.yaml",
              cases("        - { customer_id: 1, order_date: 2026-10-01, amount: '1500' }\n"
                    "        - { customer_id: 1, order_date: 2026-10-02, amount: '2.5' }\n"));
    const Run quoted = run_cli({"test", rules});
    CHECK(quoted.code == 1);
    CHECK(quoted.err.find("shop.test.yaml:8:11: note: every value of orders.amount here is a "
                          "number in quotes ('1500'), so its table holds texts; write numbers "
                          "without quotes where the rules read them as numbers") !=
          std::string::npos);
    // A text that is no number among them: the column is text on purpose, no note.
    dir.write("shop.test.yaml",
              cases("        - { customer_id: 1, order_date: 2026-10-01, amount: '1500' }\n"
                    "        - { customer_id: 1, order_date: 2026-10-02, amount: 'n/a' }\n"));
    CHECK(run_cli({"test", rules}).err.find("number in quotes") == std::string::npos);
}
