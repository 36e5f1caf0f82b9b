// Shared tactical segments (issue 10, "Authoring without copies"): one definition in a
// top-level `tactical` list applies inside several general segments. One tag in exports,
// stays and triggers; counted per parent in run reports; covered per parent by `strata test`.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

std::string query_text(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, sql);
    return q.executeStep() && !q.getColumn(0).isNull() ? q.getColumn(0).getString() : "<none>";
}

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, employees INTEGER, seats_used INTEGER,
                        nps INTEGER, spend REAL);
INSERT INTO customers VALUES
  (1, 50, 10, 3, 2000),
  (2, 50, 1, 9, 10),
  (3, 500, 150, 5, 10),
  (4, 900, 0, 8, 10),
  (5, NULL, 0, 2, 5000);
)sql";

// The shared list stands before `general`, so that the file's order of definition would put
// the shared ones first: a customer's tags list their segment's own ones first all the same.
const char* kRules = R"(ruleset: bands
version: 1
as_of: 2026-11-01
tactical:
  - id: vip
    when: spend > 1000
    within: all
  - id: churn_risk
    label: Churn risk
    when: nps <= 6 and spend < 100000
    within: [small, large]
general:
  segments:
    - id: small
      when: employees < 200
      tactical:
        - id: small_upsell
          when: seats_used > 8
    - id: large
      when: employees >= 200
      tactical:
        - id: large_expansion
          when: seats_used > 100
    - id: other
      when: otherwise
triggers:
  - id: save
    on: enter churn_risk
    actions:
      - task: { queue: am, text: "call {{customer_id}}" }
)";

}  // namespace

TEST_CASE(
    "a shared tactical segment: one tag in exports, counted per parent, triggers on the tag") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("bands.yaml", kRules);
    auto r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // Reports count it per parent: under small and large each, with that parent's customers;
    // not under other, which `within` does not name. vip (within: all) is under every one.
    CHECK(json_at(r.out, "$.segments[0].id") == "small");
    CHECK(json_at(r.out, "$.segments[0].tactical[0].id") == "small_upsell");
    CHECK(json_at(r.out, "$.segments[0].tactical[1].id") == "vip");
    CHECK(json_at(r.out, "$.segments[0].tactical[1].count") == "1");
    CHECK(json_at(r.out, "$.segments[0].tactical[2].id") == "churn_risk");
    CHECK(json_at(r.out, "$.segments[0].tactical[2].label") == "Churn risk");
    CHECK(json_at(r.out, "$.segments[0].tactical[2].count") == "1");
    CHECK(json_at(r.out, "$.segments[1].tactical[0].id") == "large_expansion");
    CHECK(json_at(r.out, "$.segments[1].tactical[2].id") == "churn_risk");
    CHECK(json_at(r.out, "$.segments[1].tactical[2].count") == "1");
    CHECK(json_at(r.out, "$.segments[2].id") == "other");
    CHECK(json_at(r.out, "$.segments[2].tactical[0].id") == "vip");
    CHECK(json_at(r.out, "$.segments[2].tactical[0].count") == "1");
    CHECK(json_at(r.out, "$.segments[2].tactical[1].id") == "<none>");  // not within other

    // One tag, whichever parent: the segment's own tactical ones first, then the shared ones
    // in the order of the top-level list. 5 has nps 2 but is in other: not at risk there.
    auto e = run_cli({"export", file, "--db", db});
    REQUIRE(e.code == 0);
    CHECK(e.out ==
          "customer_key,segment,tactical,offer,channel,priority\n"
          "1,small,small_upsell;vip;churn_risk,,,\n2,small,,,,\n3,large,large_expansion;churn_risk,"
          ",,\n"
          "4,large,,,,\n5,other,vip,,,\n");

    // The stored order is the placement's (export reads the stored state, ordered by each
    // tag's level), so a second run over the same data writes no stays.
    auto again = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(again.code == 0, again.err);
    CHECK(json_at(again.out, "$.transitions.stays_written") == "0");

    // 3 moves from large to small still at risk: the same tag, no enter. 2 (small) and
    // 4 (large) become at risk: they enter it, whichever parent they are in.
    {
        SQLite::Database data(db, SQLite::OPEN_READWRITE);
        data.exec("UPDATE customers SET employees = 150 WHERE customer_id = 3");
        data.exec("UPDATE customers SET nps = 5 WHERE customer_id IN (2, 4)");
    }
    auto later = run_cli({"run", file, "--db", db, "--as-of", "2026-11-02", "--format", "json"});
    REQUIRE_MESSAGE(later.code == 0, later.err);
    CHECK(json_at(later.out, "$.triggers[0].id") == "save");
    CHECK(json_at(later.out, "$.triggers[0].customers") == "2");
    CHECK(query_text(db,
                     "SELECT group_concat(customer_key, ',') FROM (SELECT customer_key FROM "
                     "strata_outbox WHERE trigger_id = 'save' ORDER BY customer_key)") == "2,4");
    // 3's stay in churn_risk goes on from the first run: one tag, one stay.
    CHECK(query_text(db,
                     "SELECT group_concat(entered_run || ':' || coalesce(exited_run, '-')) "
                     "FROM strata_stay_history WHERE customer_key = 3 AND "
                     "segment = 'churn_risk'") == "1:-");
    e = run_cli({"export", file, "--db", db});
    CHECK(e.out.find("\n3,small,small_upsell;churn_risk,") != std::string::npos);
}

TEST_CASE("strata test covers a shared tactical segment once per parent") {
    TempDir dir;
    const auto file = dir.write("bands.yaml", kRules);
    dir.write("bands.test.yaml", R"(cases:
  - name: at risk in small only
    as_of: 2026-11-01
    customers:
      - { customer_id: 1, employees: 50, seats_used: 10, nps: 3, spend: 2000 }
      - { customer_id: 3, employees: 500, seats_used: 150, nps: 9, spend: 2000 }
      - { customer_id: 5, employees: null, seats_used: 0, nps: 2, spend: 5000 }
    expect:
      1: { segment: small, tactical: [small_upsell, vip, churn_risk] }
      3: { segment: large, tactical: [large_expansion, vip] }
      5: { segment: other, tactical: [vip] }
    then:
      - as_of: 2026-11-02
        customers:
          - { customer_id: 3, nps: 4 }
        expect:
          3: { segment: large, tactical: [large_expansion, vip, churn_risk] }
        fires:
          save: [3]
)");
    auto r = run_cli({"test", file, "--format", "json"});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    CHECK(json_at(r.out, "$.passed") == "1");
    // small_upsell, large_expansion, vip in small, large and other, churn_risk in small and
    // large: 7 items. The operands of churn_risk's `and` are listed once, not per parent.
    CHECK(json_at(r.out, "$.coverage.tactical.total") == "7");
    CHECK(json_at(r.out, "$.coverage.conditions.operands") == "2");
    CHECK(json_at(r.out, "$.coverage.tactical.missing[0]") == "<none>");

    // Without the later state, churn_risk never holds inside large: that parent is missing,
    // though the tag was hit in small.
    std::string tests = R"(cases:
  - name: at risk in small only
    as_of: 2026-11-01
    customers:
      - { customer_id: 1, employees: 50, seats_used: 10, nps: 3, spend: 2000 }
      - { customer_id: 3, employees: 500, seats_used: 150, nps: 9, spend: 2000 }
      - { customer_id: 5, employees: null, seats_used: 0, nps: 2, spend: 5000 }
    expect:
      1: small
)";
    dir.write("bands.test.yaml", tests);
    r = run_cli({"test", file, "--format", "json"});
    CHECK(json_at(r.out, "$.coverage.tactical.missing[0]") == "churn_risk (in large)");
    CHECK(json_at(r.out, "$.coverage.tactical.missing[1]") == "<none>");
    auto text = run_cli({"test", file, "--min-coverage", "100"});
    CHECK(text.code == 1);
    CHECK(text.out.find("churn_risk (in large)") != std::string::npos);
}

TEST_CASE("the rule graph has one node for a shared tactical segment, after all its parents") {
    TempDir dir;
    const auto file = dir.write("bands.yaml", kRules);
    auto g = run_cli({"graph", file});
    INFO(g.out, g.err);
    REQUIRE(g.code == 0);
    size_t count = 0;
    for (size_t at = g.out.find("tactical      churn_risk"); at != std::string::npos;
         at = g.out.find("tactical      churn_risk", at + 1))
        ++count;
    CHECK(count == 1);
    CHECK(g.out.find("tactical      vip") != std::string::npos);
}

TEST_CASE("strata diff counts a shared tactical segment once, over its parents") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto old_file = dir.write("old.yaml", kRules);
    std::string changed = kRules;
    changed.replace(changed.find("version: 1"), 10, "version: 2");
    changed.replace(changed.find("nps <= 6 and"), 12, "nps <= 8 and");
    changed.replace(changed.find("within: [small, large]"), 22, "within: all");
    const auto new_file = dir.write("new.yaml", changed);
    auto d = run_cli({"diff", old_file, new_file, "--db", db, "--format", "json"});
    INFO(d.out, d.err);
    REQUIRE(d.code == 0);
    // Before: 1 (small) and 3 (large). After: 4 (nps 8, large) joins, and so does 5, in
    // other, which `within: all` now takes in; 2 (nps 9) stays out: 1, 3, 4, 5.
    std::string row;
    for (int i = 0; json_at(d.out, "$.tactical[" + std::to_string(i) + "].path") != "<none>"; ++i) {
        const std::string at = "$.tactical[" + std::to_string(i) + "]";
        if (json_at(d.out, at + ".path") != "churn_risk") continue;
        CHECK(row.empty());  // listed once
        row = json_at(d.out, at + ".old_count") + " " + json_at(d.out, at + ".new_count") + " " +
              json_at(d.out, at + ".entered") + " " + json_at(d.out, at + ".left");
    }
    CHECK(row == "2 4 2 0");
    // The definitions diff shows the condition and where it applies.
    CHECK(d.out.find("\"text\":\"tactical churn_risk: within small, large\"") != std::string::npos);
    CHECK(d.out.find("\"text\":\"tactical churn_risk: within all\"") != std::string::npos);
}
