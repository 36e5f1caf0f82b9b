// `strata diff` (issue 10): two versions of a rule file on one snapshot of the data: who moves,
// segment and tactical counts, the triggers the change would fire, the definitions that
// changed, exit codes, and that no write can commit between the two evaluations.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include <sstream>
#include <string>

#include "analysis/diff.hpp"
#include "cli/common.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Spend decides the tier; tv the tactical segment inside vip.
const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);
INSERT INTO customers VALUES (1, 10, 1), (2, 500, 0), (3, 2000, 1), (4, 50, 0), (5, 450, 1),
  (6, 150, 0), (7, 999, 1);
)sql";

std::string tiers(const std::string& vip_when, int version = 1, const std::string& vip_id = "vip",
                  const std::string& extra = "") {
    return "ruleset: tiers\nversion: " + std::to_string(version) + R"(
general:
  segments:
    - id: )" +
           vip_id + R"(
      when: )" +
           vip_when + R"(
      offer: gift
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
)" + extra;
}

const char* kTriggers = R"(
triggers:
  - id: welcome_vip
    on: enter vip
    actions:
      - email: { template: vip_welcome }
  - id: vip_weekly
    on: in vip
    actions:
      - email: { template: weekly }
  - id: left_regular
    on: exit regular
    actions:
      - tag: { name: ex_regular }
  - id: gone_small
    on: enter small
    actions:
      - sms: { text: hi }
)";

struct Files {
    TempDir dir;
    std::string db = dir.database("base.db", kBase);
    std::string old_rules;
    std::string new_rules;
    Files(const std::string& old_text, const std::string& new_text)
        : old_rules(dir.write("old.yaml", old_text)), new_rules(dir.write("new.yaml", new_text)) {}
    Run diff(std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"diff", old_rules, new_rules,   "--db",
                                      db,     "--as-of", "2026-11-01"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    }
};

}  // namespace

TEST_CASE("diff: a lower vip threshold moves exactly the regulars at or above it") {
    const Files f(tiers("spend >= 1000"), tiers("spend >= 400", 2));
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.format") == "1");
    CHECK(json_at(r.out, "$.customers") == "7");
    CHECK(json_at(r.out, "$.moved") == "3");  // 2 (500), 5 (450), 7 (999)
    CHECK(json_at(r.out, "$.as_of") == "2026-11-01");
    CHECK(json_at(r.out, "$.old.version") == "1");
    CHECK(json_at(r.out, "$.new.version") == "2");
    // The whole matrix, staying customers included, in the files' segment order.
    CHECK(json_at(r.out, "$.matrix") ==
          R"([{"from":"vip","to":"vip","count":1,"sample":[]},)"
          R"({"from":"regular","to":"vip","count":3,"sample":[]},)"
          R"({"from":"regular","to":"regular","count":1,"sample":[]},)"
          R"({"from":"small","to":"small","count":2,"sample":[]}])");
    CHECK(json_at(r.out, "$.segments") ==
          R"([{"id":"vip","old_count":1,"new_count":4,"change":3},)"
          R"({"id":"regular","old_count":4,"new_count":1,"change":-3},)"
          R"({"id":"small","old_count":2,"new_count":2,"change":0}])");
    // tv holds inside vip only: 5 and 7 come in with vip, 2 has no tv.
    CHECK(json_at(r.out, "$.tactical") ==
          R"([{"path":"tv","old_count":1,"new_count":3,"entered":2,"left":0}])");
    CHECK(json_at(r.out, "$.definitions") ==
          R"([{"change":"-","text":"segment vip: when spend >= 1000"},)"
          R"({"change":"+","text":"segment vip: when spend >= 400"}])");

    const Run text = f.diff();
    REQUIRE(text.code == 0);
    CHECK(text.out.find("7 customers, 3 move (42.9%); tactical: 2 entered, 0 left") !=
          std::string::npos);
    CHECK(text.out.find("  - segment vip: when spend >= 1000\n  + segment vip: when spend >= "
                        "400\n") != std::string::npos);
    CHECK(text.out.find("  regular                  → vip                              3\n") !=
          std::string::npos);
    CHECK(text.out.find("vip              1          4         +3\n") != std::string::npos);
    CHECK(text.out.find("regular          4          1         -3\n") != std::string::npos);
}

TEST_CASE("diff: --sample lists the first keys of each move in key order") {
    const Files f(tiers("spend >= 1000"), tiers("spend >= 400", 2));
    const Run r = f.diff({"--format", "json", "--sample", "2"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.matrix[1].sample") == "[2,5]");
    CHECK(json_at(r.out, "$.matrix[0].sample") == "[]");  // vip → vip is no move
    const Run text = f.diff({"--sample", "5"});
    CHECK(text.out.find("3  e.g. 2, 5, 7\n") != std::string::npos);
    // The same data and files give the same bytes.
    CHECK(f.diff({"--sample", "5"}).out == text.out);
    CHECK(f.diff({"--format", "json", "--sample", "2"}).out == r.out);
    // A negative or fractional size is a usage error that says what --sample takes.
    for (const char* bad : {"-1", "2.5", "1e3"}) {
        const Run wrong = f.diff({"--sample", bad});
        CHECK(wrong.code == 2);
        CHECK_MESSAGE(wrong.err.find("a sample size is a whole number from 0 to 1000000, not " +
                                     std::string(bad)) != std::string::npos,
                      wrong.err);
    }
}

TEST_CASE("diff: the same file, or only its spacing changed, moves nobody") {
    const Files f(tiers("spend >= 1000"), tiers("(spend)   >=\n        1000"));
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.moved") == "0");
    CHECK(json_at(r.out, "$.definitions") == "[]");
    const Run same = run_cli({"diff", f.old_rules, f.old_rules, "--db", f.db});
    REQUIRE(same.code == 0);
    CHECK(same.out.find("7 customers, 0 move (0.0%)") != std::string::npos);
    CHECK(same.out.find("definitions: no change") != std::string::npos);
    CHECK(same.out.find("no customer changes general segment") != std::string::npos);
}

// The file's description and owner are part of what a version says: a diff that changed only
// them answered "definitions: no change".
TEST_CASE("diff: the rule file's description and owner are definitions") {
    const std::string head = "description: spend tiers\n";
    std::string with_meta = tiers("spend >= 1000", 2);
    with_meta.insert(with_meta.find("general:"),
                     "description: \"spend tiers: v2\"\nowner: crm-team\n");
    std::string without = tiers("spend >= 1000");
    without.insert(without.find("general:"), head);
    const Files f(without, with_meta);
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.definitions") ==
          R"J([{"change":"-","text":"description: spend tiers"},)J"
          R"J({"change":"+","text":"description: spend tiers: v2"},)J"
          R"J({"change":"-","text":"owner: (none)"},{"change":"+","text":"owner: crm-team"}])J");
}

TEST_CASE(
    "diff: a chain of and regrouped, an in list reordered or named arguments swapped are no "
    "change") {
    const Files f(tiers("(spend >= 1000 and tv in [0, 1]) and round(spend, 0) > 1 and "
                        "coalesce(spend, 0) > 0 or spend > 1e9"),
                  tiers("spend >= 1000 and (tv in [1, 0, 1] and (round(spend, 0) > 1 and "
                        "coalesce(spend, 0) > 0)) or (spend > 1e9)"));
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.moved") == "0");
    CHECK(json_at(r.out, "$.definitions") == "[]");
    // Named arguments, in another order (a let of rfm's).
    const std::string rfm_let =
        "let:\n  r: \"rfm(recency: spend, frequency: tv, monetary: spend, bins: 3)\"\n";
    const std::string rfm_swapped =
        "let:\n  r: \"rfm(bins: 3, monetary: spend, recency: spend, frequency: tv)\"\n";
    auto with_let = [](const std::string& let) {
        std::string text = tiers("r.r >= 2");
        return text.insert(text.find("general:"), let);
    };
    const Files named(with_let(rfm_let), with_let(rfm_swapped));
    const Run n = named.diff({"--format", "json"});
    REQUIRE_MESSAGE(n.code == 0, n.err);
    CHECK(json_at(n.out, "$.definitions") == "[]");
    // What does change the meaning still shows: the grouping of `and` inside `or`, and an
    // item added to the list.
    const Files changed(tiers("spend >= 1000 and tv == 1 or spend > 5000"),
                        tiers("spend >= 1000 and (tv == 1 or spend > 5000)"));
    const Run c = changed.diff({"--format", "json"});
    REQUIRE_MESSAGE(c.code == 0, c.err);
    CHECK(json_at(c.out, "$.definitions") != "[]");
    const Files added(tiers("tv in [0, 1] and spend >= 1000"),
                      tiers("tv in [0, 1, 2] and spend >= 1000"));
    const Run a = added.diff({"--format", "json"});
    REQUIRE_MESSAGE(a.code == 0, a.err);
    CHECK(json_at(a.out, "$.definitions") != "[]");
}

TEST_CASE("diff: a renamed segment and an added one show ids of one side only") {
    const std::string renamed = "ruleset: tiers\nversion: 2\n" + std::string(R"(
general:
  segments:
    - id: gold
      when: spend >= 1000
    - id: mid
      when: spend >= 400
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
)");
    const Files f(tiers("spend >= 1000"), renamed);
    const Run r = f.diff({"--format", "json", "--sample", "3"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.moved") == "4");  // 3 renamed, 2 5 7 into mid
    CHECK(json_at(r.out, "$.matrix") ==
          R"([{"from":"vip","to":"gold","count":1,"sample":[3]},)"
          R"({"from":"regular","to":"mid","count":3,"sample":[2,5,7]},)"
          R"({"from":"regular","to":"regular","count":1,"sample":[]},)"
          R"({"from":"small","to":"small","count":2,"sample":[]}])");
    CHECK(json_at(r.out, "$.segments[0]") ==
          R"({"id":"gold","old_count":null,"new_count":1,"change":1})");
    CHECK(json_at(r.out, "$.segments[1]") ==
          R"({"id":"mid","old_count":null,"new_count":3,"change":3})");
    CHECK(json_at(r.out, "$.segments[4]") ==
          R"({"id":"vip","old_count":1,"new_count":null,"change":-1})");
    // tv went away with vip: its one customer left it.
    CHECK(json_at(r.out, "$.tactical") ==
          R"([{"path":"tv","old_count":1,"new_count":null,"entered":0,"left":1}])");
    const Run text = f.diff();
    CHECK(text.out.find("  + segment gold: when spend >= 1000\n"
                        "  + segment mid: when spend >= 400\n"
                        "  - segment vip: when spend >= 1000\n"
                        "  - tactical tv: when tv == 1\n") != std::string::npos);
    CHECK(text.out.find("(removed)") != std::string::npos);
    CHECK(text.out.find("(added)") != std::string::npos);
}

TEST_CASE("diff: a segment renamed with nothing else changed is one rename line") {
    const Files f(tiers("spend >= 1000"), tiers("spend >= 1000", 2, "gold"));
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.moved") == "1");  // ids differ, so customer 3 counts as a move
    CHECK(json_at(r.out, "$.definitions") ==
          R"x([{"change":"~","text":"segment vip renamed to gold (same definition)"},)x"
          R"({"change":"-","text":"tactical tv: within vip"},)"
          R"({"change":"+","text":"tactical tv: within gold"}])");
    // A renamed segment whose condition changed too is a removal and an addition.
    const Files g(tiers("spend >= 1000"), tiers("spend >= 900", 2, "gold"));
    const Run changed = g.diff();
    REQUIRE(changed.code == 0);
    CHECK(changed.out.find("renamed") == std::string::npos);
    CHECK(changed.out.find("  + segment gold: when spend >= 900\n") != std::string::npos);
    CHECK(changed.out.find("  - segment vip: when spend >= 1000\n") != std::string::npos);
}

// Under first_match a place is a definition: a renamed segment put before another moves the
// customers both take. The order line compared only the ids both files had, so it said nothing.
TEST_CASE("diff: a segment renamed and moved shows its new place in the order line") {
    const std::string moved = "ruleset: tiers\nversion: 2\n" + std::string(R"(
general:
  segments:
    - id: lower
      when: spend >= 100
    - id: vip
      when: spend >= 1000
      offer: gift
      tactical:
        - id: tv
          when: tv == 1
    - id: small
      when: otherwise
)");
    const Files f(tiers("spend >= 1000"), moved);
    const Run r = f.diff();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK_MESSAGE(r.out.find("  - order: vip, lower, small\n  + order: lower, vip, small\n") !=
                      std::string::npos,
                  r.out);
    CHECK(r.out.find("  ~ segment regular renamed to lower (same definition)\n") !=
          std::string::npos);
    // A rename in place has no order line.
    const Files same(tiers("spend >= 1000"), tiers("spend >= 1000", 2, "gold"));
    CHECK(same.diff().out.find("order:") == std::string::npos);
}

TEST_CASE("diff: tactical changes count who enters and leaves each path") {
    const std::string changed = "ruleset: tiers\nversion: 2\n" + std::string(R"(
general:
  segments:
    - id: vip
      when: spend >= 400
      offer: voucher "gold" \ 10%
      tactical:
        - id: tv
          when: tv == 0
        - id: big
          when: spend >= 900
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
)");
    const Files f(tiers("spend >= 400"), changed);
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.moved") == "0");
    // vip is 2 3 5 7 under both; tv was 3 5 7 (tv = 1), is 2 (tv = 0); big is 3 and 7.
    CHECK(json_at(r.out, "$.tactical") ==
          R"([{"path":"tv","old_count":3,"new_count":1,"entered":1,"left":3},)"
          R"({"path":"big","old_count":null,"new_count":2,"entered":2,"left":0}])");
    CHECK(json_at(r.out, "$.tactical_entered") == "3");
    CHECK(json_at(r.out, "$.tactical_left") == "3");
    const Run text = f.diff();
    // A quote or backslash in the value is escaped, so where the value ends is plain.
    CHECK(text.out.find("  - segment vip: offer \"gift\"\n"
                        "  + segment vip: offer \"voucher \\\"gold\\\" \\\\ 10%\"\n") !=
          std::string::npos);
    CHECK(text.out.find("  - tactical tv: when tv == 1\n  + tactical tv: when tv == 0\n"
                        "  + tactical big: when spend >= 900\n") != std::string::npos);
    CHECK(text.out.find("tactical: 3 entered, 3 left") != std::string::npos);
}

TEST_CASE(
    "diff: triggers fire for the customers the change moves, as with "
    "--fire-on-rule-change") {
    const Files f(tiers("spend >= 1000", 1, "vip", kTriggers),
                  tiers("spend >= 400", 2, "vip", kTriggers));
    // Without a stored run of the ruleset, applying the new file would be its first run: a
    // baseline, which fires nothing.
    const Run first = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(json_at(first.out, "$.triggers_baseline") == "1");
    CHECK(json_at(first.out, "$.triggers[0].customers") == "0");
    CHECK(f.diff().out.find("triggers the change would fire: none: ruleset 'tiers' has no run "
                            "stored in the state") != std::string::npos);
    REQUIRE(run_cli({"run", f.old_rules, "--db", f.db, "--as-of", "2026-10-01"}).code == 0);
    const Run r = f.diff({"--format", "json", "--sample", "2"});
    CHECK(json_at(r.out, "$.triggers_baseline") == "0");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.triggers[0]") ==
          R"({"id":"welcome_vip","on":"enter vip","customers":3,"would_send":3,"held_out":0,)"
          R"("capped":0,"cooled_down":0,"sample":[2,5]})");
    // `in vip` fires at every run; the change adds those who are in vip only now.
    CHECK(json_at(r.out, "$.triggers[1].customers") == "3");
    CHECK(json_at(r.out, "$.triggers[2].customers") == "3");
    CHECK(json_at(r.out, "$.triggers[3].customers") == "0");
    // The trigger firings are those a stored run of the new file would make with the flag.
    const Run text = f.diff({"--sample", "3"});
    const size_t at = text.out.find("  welcome_vip ");
    REQUIRE(at != std::string::npos);
    CHECK(text.out.substr(at, text.out.find('\n', at) - at) ==
          "  welcome_vip  enter vip             3          3         0        0         0  "
          "e.g. 2, 5, 7");
    CHECK(text.out.find("e.g. 2, 5, 7") != std::string::npos);
    CHECK(text.out.find("  - trigger") == std::string::npos);  // the triggers did not change
    // The note under the table says what is counted, as docs/running.md does.
    CHECK(text.out.find("and of 'in X' only the customers in X under the new file and not under "
                        "the old;") != std::string::npos);

    // Changed triggers are part of the definitions diff.
    const Files g(tiers("spend >= 1000", 1, "vip", kTriggers),
                  tiers("spend >= 1000", 2, "vip",
                        std::string(kTriggers).replace(std::string(kTriggers).find("in vip"), 6,
                                                       "in regular")));
    const Run changed = g.diff();
    REQUIRE(changed.code == 0);
    CHECK(changed.out.find("  - trigger vip_weekly: on in vip\n  + trigger vip_weekly: on in "
                           "regular\n") != std::string::npos);
}

// A trigger written the same in both files, whose `when` reads a let that changed, means
// something else: `in vip` fired for customer 7 only under the new `big`. The diff counted
// nobody (7 is in vip under both files), while the run sent the action.
TEST_CASE("diff: a trigger whose `when` reads a changed let is a changed trigger") {
    const std::string triggers = R"(
triggers:
  - id: vip_big
    on: in vip
    when: big
    actions:
      - email: { template: big }
  - id: vip_all
    on: in vip
    when: spend > 0
    actions:
      - email: { template: all }
)";
    const auto file = [&](const std::string& big, int version) {
        return "ruleset: tiers\nversion: " + std::to_string(version) +
               "\nlet:\n  big_spend: spend >= " + big +
               "\n  big: big_spend\ngeneral:\n  segments:\n    - id: vip\n      when: spend >= "
               "400\n    - id: regular\n      when: spend >= 100\n    - id: small\n      when: "
               "otherwise\n" +
               triggers;
    };
    const Files f(file("1000", 1), file("900", 2));
    REQUIRE(run_cli({"run", f.old_rules, "--db", f.db, "--as-of", "2026-10-01"}).code == 0);
    const Run r = f.diff({"--format", "json", "--sample", "5"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // Through `big` to `big_spend`: every firing counts, 3 (who would have had it anyway) too.
    CHECK(json_at(r.out, "$.triggers[0].id") == "vip_big");
    CHECK(json_at(r.out, "$.triggers[0].sample") == "[3,7]");
    // A trigger that reads nothing that changed is unchanged: nobody is in vip only now.
    CHECK(json_at(r.out, "$.triggers[1].customers") == "0");
    // What a stored run of the new file sends.
    const Run run = run_cli({"run", f.new_rules, "--db", f.db, "--as-of", "2026-11-01",
                             "--fire-on-rule-change", "--format", "json"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(json_at(run.out, "$.triggers[0].enqueued") == "2");
    // The same let in both files leaves the trigger unchanged, and so does a type given to a
    // column neither trigger reads (review AA3: any change of the source counted).
    std::string typed = file("1000", 2);
    typed.insert(typed.find("let:"), "source:\n  types: { tv: number }\n");
    const Files same(file("1000", 1), typed);
    REQUIRE(run_cli({"run", same.old_rules, "--db", same.db, "--as-of", "2026-10-01"}).code == 0);
    const Run unchanged = same.diff({"--format", "json"});
    REQUIRE_MESSAGE(unchanged.code == 0, unchanged.err);
    CHECK(json_at(unchanged.out, "$.triggers[0].customers") == "0");
    CHECK(json_at(unchanged.out, "$.triggers[1].customers") == "0");
    // A let of the old file that the new one drops: its name now reads the stored state
    // (review AA2: only the new file's lets were looked at, and the trigger counted nobody).
    const std::string stay = R"(
triggers:
  - id: vip_settled
    on: in vip
    when: days_in_segment >= 12
    actions:
      - email: { template: settled }
)";
    const std::string head = "ruleset: tiers\nversion: ";
    const std::string segments =
        "general:\n  segments:\n    - id: vip\n      when: spend >= "
        "400\n    - id: rest\n      when: otherwise\n";
    const Files dropped(head + "1\nlet:\n  days_in_segment: 0\n" + segments + stay,
                        head + "2\n" + segments + stay);
    REQUIRE(run_cli({"run", dropped.old_rules, "--db", dropped.db, "--as-of", "2026-10-01"}).code ==
            0);
    const Run settled = dropped.diff({"--format", "json", "--sample", "5"});
    REQUIRE_MESSAGE(settled.code == 0, settled.err);
    CHECK(json_at(settled.out, "$.triggers[0].sample") == "[2,3,5,7]");
    const Run applied = run_cli({"run", dropped.new_rules, "--db", dropped.db, "--as-of",
                                 "2026-11-01", "--fire-on-rule-change", "--format", "json"});
    REQUIRE_MESSAGE(applied.code == 0, applied.err);
    CHECK(json_at(applied.out, "$.triggers[0].enqueued") == "4");
}

// Only the old file pins as_of: the diff evaluates at it, and says that a run of the new file
// would not (review Z3).
TEST_CASE("diff: an as_of only the old file sets is used, with a note") {
    const std::string pinned = "as_of: 2026-11-15\n" + tiers("spend >= 1000");
    const Files f(pinned, tiers("spend >= 400", 2));
    const Run r = f.diff({"--format", "json"});
    CHECK(r.code == 0);
    const Run plain = run_cli({"diff", f.old_rules, f.new_rules, "--db", f.db});
    REQUIRE_MESSAGE(plain.code == 0, plain.err);
    CHECK(plain.out.find("as_of 2026-11-15") != std::string::npos);
    CHECK(plain.err.find("strata diff: note: as_of 2026-11-15 is the old file's; the new file "
                         "sets none, so a run of it without --as-of evaluates at today (UTC)") !=
          std::string::npos);
    // JSON has it among the notes (review AA5).
    const Run json = run_cli({"diff", f.old_rules, f.new_rules, "--db", f.db, "--format", "json"});
    CHECK(json_at(json.out, "$.notes[0]").find("as_of 2026-11-15 is the old file's") == 0);
    // With --as-of there is nothing to say.
    CHECK(f.diff().err.find("note: as_of") == std::string::npos);
    CHECK(json_at(r.out, "$.notes") == "[]");
}

TEST_CASE("diff: cooldowns in the state keep a trigger from firing again") {
    const std::string cooling =
        std::string(kTriggers).replace(std::string(kTriggers).find("    on: enter vip"), 17,
                                       "    on: enter vip\n    cooldown: 30d");
    const Files f(tiers("spend >= 1000", 1, "vip", cooling),
                  tiers("spend >= 400", 2, "vip", cooling));
    REQUIRE(run_cli({"run", f.old_rules, "--db", f.db, "--as-of", "2026-10-01"}).code == 0);
    // Customer 5 got the welcome on 2026-10-20 (an earlier version put them in vip).
    SQLite::Database db(f.db, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO strata_outbox (idempotency_key, ruleset, version, trigger_id, customer_key, "
        "action, type, payload, run_id, as_of, status, created_at, updated_at) VALUES ('k', "
        "'tiers', 0, 'welcome_vip', 5, 0, 'email', '{}', 1, '2026-10-20', 'done', '', '');");
    const Run r = f.diff({"--format", "json", "--sample", "5"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.triggers[0].customers") == "2");
    CHECK(json_at(r.out, "$.triggers[0].cooled_down") == "1");
    CHECK(json_at(r.out, "$.triggers[0].sample") == "[2,7]");
}

TEST_CASE("diff: rule errors in either file exit 1; a bad --as-of or database exits 2") {
    const Files f(tiers("spend >= 1000"), tiers("spend >= 400", 2));
    TempDir dir;
    const std::string broken = dir.write("broken.yaml", tiers("spend >= "));
    const std::string typo = dir.write("typo.yaml", tiers("spendd >= 400"));

    Run r = run_cli({"diff", broken, f.new_rules, "--db", f.db});
    CHECK(r.code == 1);
    r = run_cli({"diff", f.old_rules, typo, "--db", f.db});
    CHECK(r.code == 1);
    CHECK(r.err.find("typo.yaml:") != std::string::npos);
    // Both are compiled, so the problems of both show at once.
    r = run_cli({"diff", broken, typo, "--db", f.db, "--format", "json"});
    CHECK(r.code == 1);
    CHECK(r.err.find("broken.yaml:") != std::string::npos);
    CHECK(r.err.find("typo.yaml:") != std::string::npos);
    CHECK(json_at(r.out, "$.error.kind") == "rules");  // one JSON document
    // ... which names both files' problems, as stderr does (it named the old file's only).
    const std::string message = json_at(r.out, "$.error.message");
    CHECK(message.find("in " + broken) != std::string::npos);
    CHECK(message.find("in " + typo) != std::string::npos);
    CHECK(json_at(r.out, "$.error.diagnostics[0].file") == broken);
    CHECK(json_at(r.out, "$.error.diagnostics[1].file") == typo);
    CHECK(json_at(r.out, "$.error.diagnostics[1].source_line").find("spendd") != std::string::npos);
    // A file that cannot be read sets the exit code (2) and the kind.
    r = run_cli({"diff", broken, dir.file("none.yaml"), "--db", f.db, "--format", "json"});
    CHECK(r.code == 2);
    CHECK(json_at(r.out, "$.error.kind") == "file");
    // An old file naming a table the database lacks (exit 2) still has its error in the JSON,
    // and the new file is compiled too (the old file's error alone was said, without it).
    const std::string no_table =
        dir.write("no_table.yaml", "source:\n  customers: nosuch\n" + tiers("spend >= 1000"));
    r = run_cli({"diff", no_table, broken, "--db", f.db, "--format", "json"});
    CHECK(r.code == 2);
    CHECK(json_at(r.out, "$.error.kind") == "database");
    CHECK(json_at(r.out, "$.error.diagnostics[0].file") == no_table);
    CHECK(json_at(r.out, "$.error.diagnostics[0].message").find("nosuch") != std::string::npos);
    CHECK(json_at(r.out, "$.error.diagnostics[1].file") == broken);
    CHECK(r.err.find("broken.yaml:") != std::string::npos);

    r = run_cli({"diff", f.old_rules, f.new_rules, "--db", f.db, "--as-of", "2026-13-01"});
    CHECK(r.code == 2);
    CHECK(r.err.find("strata diff: --as-of '2026-13-01' is not a date such as") !=
          std::string::npos);
    // Every command that takes --as-of names itself in the error, as in its other errors.
    for (const char* command : {"run", "explain", "compile"}) {
        std::vector<std::string> args{command, f.new_rules, "--db", f.db, "--as-of", "2026-13-01"};
        if (std::string(command) == "compile") args.insert(args.end(), {"--dialect", "sqlite"});
        if (std::string(command) == "explain") args.insert(args.end(), {"--customer", "1"});
        r = run_cli(args);
        CHECK(r.code == 2);
        CHECK(r.err.find(std::string("strata ") + command +
                         ": --as-of '2026-13-01' is not a date") != std::string::npos);
    }
    r = run_cli({"diff", f.old_rules, f.new_rules, "--db", dir.file("missing.db")});
    CHECK(r.code == 2);
    r = run_cli({"diff", f.old_rules, f.new_rules, "--db", f.db, "--state", dir.file("no.db")});
    CHECK(r.code == 2);
    CHECK(r.err.find("no.db' does not exist") != std::string::npos);
    // A strata_runs table strata did not make is refused, as `runs` refuses it, not read as
    // "no run stored".
    const std::string foreign = dir.database("foreign.db", "CREATE TABLE strata_runs (id, note);");
    r = run_cli(
        {"diff", f.old_rules, f.new_rules, "--db", f.db, "--state", foreign, "--format", "json"});
    CHECK(r.code == 2);
    CHECK(json_at(r.out, "$.error.message")
              .find("has a table strata_runs that strata did not "
                    "make") != std::string::npos);
    r = run_cli({"diff", f.old_rules, "--db", f.db});
    CHECK(r.code == 2);
    r = run_cli({"diff", "--help"});
    CHECK(r.code == 0);
    CHECK(r.out.find("--sample") != std::string::npos);
}

TEST_CASE("diff: a file that cannot place everyone is a rule problem, named") {
    const std::string overlapping = "ruleset: tiers\nversion: 2\n" + std::string(R"(
general:
  policy: exclusive
  segments:
    - id: high
      when: spend >= 400
    - id: low
      when: spend < 500
)");
    const Files f(tiers("spend >= 1000"), overlapping);
    const Run r = f.diff();
    CHECK(r.code == 1);
    CHECK(r.err.find("new.yaml: policy 'exclusive' does not hold:\n  1 customer matches both "
                     "'high' and 'low' (e.g. 5)") != std::string::npos);
    // diff stores nothing, so it does not say that nothing was stored; a run does.
    CHECK(r.err.find("nothing was stored") == std::string::npos);
    const Run run = run_cli({"run", f.new_rules, "--db", f.db, "--as-of", "2026-11-01"});
    CHECK(run.code == 1);
    CHECK(run.err.find("policy 'exclusive' does not hold, so nothing was stored:") !=
          std::string::npos);
}

namespace {

std::optional<strata::RulesDiff> diff_with_writer(const Files& f, bool wal, bool& committed,
                                                  strata::RunError& error) {
    if (wal) SQLite::Database(f.db, SQLite::OPEN_READWRITE).exec("PRAGMA journal_mode = WAL");
    std::ostringstream err;
    int code = 0;
    auto old_loaded = strata::cli::load_rules(f.old_rules, f.db, err, code);
    auto new_loaded = strata::cli::load_rules(f.new_rules, f.db, err, code);
    REQUIRE(old_loaded);
    REQUIRE(new_loaded);
    strata::DiffOptions options;
    options.as_of = *strata::parse_date("2026-11-01");
    // Between the two evaluations another process makes customer 6 a big spender.
    options.between_evaluations = [&] {
        SQLite::Database writer(f.db, SQLite::OPEN_READWRITE);
        writer.setBusyTimeout(0);
        try {
            SQLite::Transaction t(writer);
            writer.exec("UPDATE customers SET spend = 5000 WHERE customer_id = 6");
            t.commit();
            committed = true;
        } catch (const SQLite::Exception&) {
            committed = false;
        }
    };
    return strata::diff_rules(*old_loaded->rules, old_loaded->sha256, *new_loaded->rules,
                              new_loaded->sha256, *old_loaded->db, nullptr, options, error);
}

}  // namespace

TEST_CASE("diff: both files see one snapshot; no write commits in between") {
    const Files f(tiers("spend >= 1000"), tiers("spend >= 400", 2));
    bool committed = true;
    strata::RunError error;
    const auto diff = diff_with_writer(f, false, committed, error);
    CHECK_FALSE(committed);  // the diff's read lock holds the writer back
    REQUIRE_MESSAGE(diff, error.message);
    CHECK(diff->moved == 3);  // customer 6 did not become vip under the new file
    CHECK(count_rows(f.db, "customers WHERE spend = 5000") == 0);
}

TEST_CASE("diff: in WAL mode a write between the evaluations is noticed and refused") {
    const Files f(tiers("spend >= 1000"), tiers("spend >= 400", 2));
    bool committed = false;
    strata::RunError error;
    const auto diff = diff_with_writer(f, true, committed, error);
    CHECK(committed);  // WAL lets the writer commit
    CHECK_FALSE(diff);
    CHECK_FALSE(error.rule_problem);
    CHECK(error.message.find("changed while the two files were evaluated") != std::string::npos);
}

TEST_CASE(
    "diff: a new or changed 'in' trigger counts everyone it fires for; actions already "
    "in the outbox are not counted") {
    const char* kIn = R"(
triggers:
  - id: vip_checkin
    on: in vip
    actions:
      - email: { template: checkin }
)";
    // The same placement; only the trigger is new.
    const Files f(tiers("spend >= 900", 1, "vip"), tiers("spend >= 900", 2, "vip", kIn));
    REQUIRE(run_cli({"run", f.old_rules, "--db", f.db, "--as-of", "2026-10-01"}).code == 0);
    const Run r = f.diff({"--format", "json", "--sample", "5"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.moved") == "0");
    // vip is 3 and 7 (spend 2000 and 999) under both files: the new trigger fires for both,
    // as the run applying the new file does.
    CHECK(json_at(r.out, "$.triggers[0].customers") == "2");
    CHECK(json_at(r.out, "$.triggers[0].sample") == "[3,7]");
    const Run applied =
        run_cli({"run", f.new_rules, "--db", f.db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(applied.code == 0, applied.err);
    CHECK(json_at(applied.out, "$.triggers[0].enqueued") == "2");
    // Diffed again on the same as_of, after the apply: those actions are in the outbox, and a
    // run would not enqueue them again.
    const Files g(tiers("spend >= 900", 2, "vip", kIn), tiers("spend >= 900", 3, "vip", kIn));
    const Run again = run_cli({"diff", f.new_rules, g.new_rules, "--db", f.db, "--as-of",
                               "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(again.code == 0, again.err);
    CHECK(json_at(again.out, "$.triggers[0].customers") == "0");
}

TEST_CASE("diff: warns when a stored run of the new file would be refused for its version") {
    // The same ruleset and version with other content: the apply would be refused.
    const Files f(tiers("spend >= 1000"), tiers("spend >= 900"));
    const Run same = f.diff();
    REQUIRE(same.code == 0);
    CHECK(same.err ==
          "strata diff: warning: a stored run of the new file would be refused: both files are "
          "'tiers' version 1 with other content; bump `version` in the new file\n");
    // A bumped version of content the state already registers under another version number
    // is fine; the registered version with other content is not.
    REQUIRE(run_cli({"run", f.old_rules, "--db", f.db, "--as-of", "2026-10-01"}).code == 0);
    const Files g(tiers("spend >= 1000", 2), tiers("spend >= 900", 1));
    const Run registered =
        run_cli({"diff", g.old_rules, g.new_rules, "--db", f.db, "--as-of", "2026-11-01"});
    REQUIRE(registered.code == 0);
    CHECK(registered.err.find("warning: a stored run of the new file would be refused") !=
          std::string::npos);
    const Files h(tiers("spend >= 1000"), tiers("spend >= 900", 2));
    CHECK(h.diff().err.empty());
    // A day before the ruleset's latest stored run: a stored run then would be refused too.
    REQUIRE(run_cli({"run", h.old_rules, "--db", h.db, "--as-of", "2026-12-01"}).code == 0);
    const Run earlier =
        run_cli({"diff", h.old_rules, h.new_rules, "--db", h.db, "--as-of", "2026-11-01"});
    REQUIRE(earlier.code == 0);
    CHECK(earlier.err ==
          "strata diff: warning: a stored run of the new file would be refused: ruleset 'tiers' "
          "was last run as of 2026-12-01 (run 1); its runs move forward in time, so a run as of "
          "2026-11-01 is not stored.\n");
    CHECK(run_cli({"diff", h.old_rules, h.new_rules, "--db", h.db, "--as-of", "2026-12-01"})
              .err.empty());
    // A database that cannot be opened is said once.
    const Run missing = run_cli({"diff", h.old_rules, h.new_rules, "--db", h.dir.file("no.db")});
    CHECK(missing.code == 2);
    CHECK(missing.err == "strata: database '" + h.dir.file("no.db") + "' does not exist\n");
}

TEST_CASE("diff: text keys are quoted in the text output, integers are not") {
    TempDir dir;
    // An untyped key column: 123 and '00123' and '123' are three customers.
    const std::string db = dir.database("k.db", R"(
CREATE TABLE customers (customer_id, spend REAL);
INSERT INTO customers VALUES (123, 500), ('00123', 500), ('123', 500), (7, 10);
)");
    const std::string rules = R"(ruleset: keys
version: VERSION
general:
  segments:
    - id: big
      when: spend >= LIMIT
    - id: rest
      when: otherwise
)";
    auto file = [&](const std::string& name, const std::string& version, const std::string& limit) {
        std::string text = rules;
        text.replace(text.find("VERSION"), 7, version);
        text.replace(text.find("LIMIT"), 5, limit);
        return dir.write(name, text);
    };
    const Run r = run_cli({"diff", file("a.yaml", "1", "1000"), file("b.yaml", "2", "100"), "--db",
                           db, "--as-of", "2026-11-01", "--sample", "5"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("e.g. 123, '00123', '123'") != std::string::npos);
}

TEST_CASE("diff: reordered triggers are a change (under the cap, the first written goes first)") {
    const char* kTwo = R"(
frequency_cap: 1 per 7d
triggers:
  - id: a_email
    on: enter vip
    actions:
      - email: { template: a }
  - id: b_sms
    on: enter vip
    actions:
      - sms: { text: b }
)";
    std::string swapped = kTwo;
    const std::string a =
        swapped.substr(swapped.find("  - id: a_email"),
                       swapped.find("  - id: b_sms") - swapped.find("  - id: a_email"));
    swapped.erase(swapped.find("  - id: a_email"), a.size());
    swapped += a;
    const Files f(tiers("spend >= 1000", 1, "vip", kTwo),
                  tiers("spend >= 1000", 2, "vip", swapped));
    const Run r = f.diff();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("  - trigger order: a_email, b_sms\n  + trigger order: b_sms, a_email\n") !=
          std::string::npos);
}

TEST_CASE("diff: durations show as written; 7d and 1w are the same, 7d to 14d is a change") {
    auto with = [](const std::string& cooldown, const std::string& cap, const std::string& within,
                   const std::string& contact) {
        std::string text = tiers("spend >= 1000", 1, "vip", "frequency_cap: 3 per " + cap + R"(
triggers:
  - id: vip_welcome
    on: enter vip
    cooldown: )" + cooldown + R"(
    success: exit vip within )" + within + R"(
    actions:
      - email: { template: welcome }
)");
        return text.insert(text.find("      tactical:"), "      contact_every: " + contact + "\n");
    };
    const Files same(with("7d", "14d", "28d", "7d"), with("1w", "2w", "4w", "1w"));
    const Run s = same.diff({"--format", "json"});
    REQUIRE_MESSAGE(s.code == 0, s.err);
    CHECK(json_at(s.out, "$.definitions") == "[]");

    const Files changed(with("7d", "14d", "28d", "7d"), with("14d", "21d", "35d", "14d"));
    const Run c = changed.diff();
    REQUIRE_MESSAGE(c.code == 0, c.err);
    CHECK(c.out.find("  - trigger vip_welcome: cooldown 7d\n  + trigger vip_welcome: cooldown "
                     "14d\n") != std::string::npos);
    CHECK(c.out.find("success exit vip within 28d\n") != std::string::npos);
    CHECK(c.out.find("success exit vip within 35d\n") != std::string::npos);
    CHECK(c.out.find("  - frequency_cap: 3 per 14d\n  + frequency_cap: 3 per 21d\n") !=
          std::string::npos);
    CHECK(c.out.find("contact_every 7d\n") != std::string::npos);
    CHECK(c.out.find("contact_every 14d\n") != std::string::npos);
    CHECK(c.out.find("1w") == std::string::npos);
    CHECK(c.out.find("2w") == std::string::npos);
    CHECK(c.out.find("4w") == std::string::npos);
}

TEST_CASE("diff: a file that reads the stored state, with no run of its ruleset there, says so") {
    // vip is sticky: a customer in it for under 30 days stays.
    const Files f(
        tiers("spend >= 1000"),
        tiers("spend >= 1000 or (previous_segment == 'vip' and days_in_segment < 30)", 2));
    const Run r = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const std::string note =
        "ruleset 'tiers' has no run in the state, so previous_segment, segment_since and "
        "days_in_segment are null for every customer under the new file; give --state the file "
        "its runs are stored in";
    CHECK_MESSAGE(r.err.find("strata diff: note: " + note) != std::string::npos, r.err);
    CHECK(json_at(r.out, "$.notes[0]") == note);
    // With a run stored, the fields have values and there is nothing to say.
    REQUIRE(run_cli({"run", f.old_rules, "--db", f.db, "--as-of", "2026-10-01"}).code == 0);
    const Run stored = f.diff({"--format", "json"});
    REQUIRE_MESSAGE(stored.code == 0, stored.err);
    CHECK(stored.err.find("note:") == std::string::npos);
    CHECK(json_at(stored.out, "$.notes[0]") == "<none>");
}
