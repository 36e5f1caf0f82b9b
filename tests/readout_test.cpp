// `strata triggers`: the holdout readout (issue 9), through real runs. A trigger with a 50%
// holdout fires for 30 customers; later runs move some of them into the success segment
// inside the window, on its last day, and one day after it; the counts, shares, difference
// and confidence interval are worked out here from the known data.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <cmath>
#include <string>

#include "engine/triggers.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

std::string base_sql() {
    std::string sql = "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL);";
    for (int k = 1; k <= 40; ++k)
        sql += "INSERT INTO customers VALUES (" + std::to_string(k) + ", 500);";
    return sql;
}

// With first_touch, a frequency cap of one firing a year: first_touch (priority 1) takes it for
// customers 1-4, so reactivate (no priority: after it) is capped for them.
std::string rules(int version, const std::string& success, bool with_first_touch) {
    std::string text = "ruleset: shop\nversion: " + std::to_string(version) + R"(
general:
  segments:
    - id: loyal
      when: spend >= 1000
    - id: active
      when: spend >= 100
    - id: sleeping
      when: otherwise
triggers:
)";
    if (with_first_touch) {
        text.replace(text.find("triggers:"), 9, "frequency_cap: 1 per 365d\ntriggers:");
        text += R"(  - id: first_touch
    on: enter sleeping
    when: customer_id <= 4
    priority: 1
    actions:
      - task: { text: "call {{customer_id}}" }
)";
    }
    text += R"(  - id: reactivate
    on: enter sleeping
    holdout: 50%
    success: )" +
            success +
            R"(
    actions:
      - email: { template: comeback }
      - tag: { name: reactivated }
)";
    return text;
}

void exec(const std::string& db, const std::string& sql) {
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec(sql);
}

bool held_out(int key) {
    return strata::in_holdout("shop", "reactivate", strata::Value{int64_t{key}}, 5000);
}

double number_at(const std::string& doc, const std::string& path) {
    const std::string text = json_at(doc, path);
    REQUIRE_MESSAGE(text != "<none>", path);
    return std::stod(text);
}

// JSON numbers are rounded: shares to 4 decimals, percentage points to 2.
bool rounded_from(double printed, double exact, int decimals) {
    return std::abs(printed - exact) <= 0.5 * std::pow(10.0, -decimals) + 1e-12;
}

struct Group {
    int fired = 0, matured = 0, succeeded = 0, still_open = 0;
    double share() const { return static_cast<double>(succeeded) / matured; }
};

}  // namespace

TEST_CASE("triggers: fired, held out, success shares and their difference, from the runs") {
    TempDir dir;
    const auto db = dir.database("base.db", base_sql());
    const auto file = dir.write("r.yaml", rules(1, "enter loyal within 30d", true));
    auto run = [&](const std::string& as_of) {
        auto r = run_cli({"run", file, "--db", db, "--as-of", as_of});
        REQUIRE_MESSAGE(r.code == 0, r.err);
    };
    run("2026-01-01");  // the baseline: everyone active, nothing fires
    exec(db, "UPDATE customers SET spend = 10 WHERE customer_id <= 30");
    run("2026-01-10");  // 1-30 enter sleeping: window (01-10, 02-09]
    exec(db, "UPDATE customers SET spend = 2000 WHERE customer_id <= 30 AND customer_id % 3 = 0");
    run("2026-01-25");  // inside the window
    exec(db,
         "UPDATE customers SET spend = 2000 WHERE customer_id <= 30 AND customer_id % 3 = 1;"
         "UPDATE customers SET spend = 10 WHERE customer_id BETWEEN 31 AND 36");
    run("2026-02-09");  // the window's last day; 31-36 fire, their window ends 03-11

    // Customers 5-30 fired on 01-10 (1-4 were capped); those with key % 3 of 0 or 1 became
    // loyal within the window. 31-36 fired on 02-09 and are still inside their window.
    Group treated, held;
    for (int k = 5; k <= 36; ++k) {
        Group& g = held_out(k) ? held : treated;
        ++g.fired;
        if (k > 30) {
            ++g.still_open;
            continue;
        }
        ++g.matured;
        g.succeeded += k % 3 != 2;
    }
    // Both groups have successes and failures, so the test can tell them apart.
    REQUIRE(treated.succeeded > 0);
    REQUIRE(held.succeeded > 0);
    REQUIRE(treated.succeeded < treated.matured);
    REQUIRE(held.succeeded < held.matured);
    REQUIRE(treated.still_open > 0);
    REQUIRE(held.still_open > 0);
    const double p1 = treated.share(), p2 = held.share();
    const double se = std::sqrt(p1 * (1 - p1) / treated.matured + p2 * (1 - p2) / held.matured);

    auto check_readout = [&](const std::string& doc) {
        CHECK(json_at(doc, "$.format") == "1");
        CHECK(json_at(doc, "$.triggers[0].ruleset") == "shop");
        CHECK(json_at(doc, "$.triggers[0].trigger") == "first_touch");
        CHECK(json_at(doc, "$.triggers[0].fired") == "4");
        CHECK(json_at(doc, "$.triggers[0].success") == "<none>");
        CHECK(json_at(doc, "$.triggers[0].difference_pp") == "<none>");
        CHECK(json_at(doc, "$.triggers[1].trigger") == "reactivate");
        CHECK(json_at(doc, "$.triggers[1].on") == "enter sleeping");
        CHECK(json_at(doc, "$.triggers[1].success") == "enter loyal within 30d");
        CHECK(json_at(doc, "$.triggers[1].within") == "30d");
        CHECK(json_at(doc, "$.triggers[1].fired") == std::to_string(treated.fired));
        CHECK(json_at(doc, "$.triggers[1].held_out") == std::to_string(held.fired));
        CHECK(json_at(doc, "$.triggers[1].capped") == "4");
        CHECK(json_at(doc, "$.triggers[1].still_open.fired") == std::to_string(treated.still_open));
        CHECK(json_at(doc, "$.triggers[1].still_open.held_out") == std::to_string(held.still_open));
        CHECK(json_at(doc, "$.triggers[1].treated.matured") == std::to_string(treated.matured));
        CHECK(json_at(doc, "$.triggers[1].treated.succeeded") == std::to_string(treated.succeeded));
        CHECK(json_at(doc, "$.triggers[1].held_out_group.matured") == std::to_string(held.matured));
        CHECK(json_at(doc, "$.triggers[1].held_out_group.succeeded") ==
              std::to_string(held.succeeded));
        CHECK(rounded_from(number_at(doc, "$.triggers[1].treated.share"), p1, 4));
        CHECK(rounded_from(number_at(doc, "$.triggers[1].held_out_group.share"), p2, 4));
        CHECK(rounded_from(number_at(doc, "$.triggers[1].difference_pp"), 100 * (p1 - p2), 2));
        CHECK(rounded_from(number_at(doc, "$.triggers[1].ci95_pp[0]"), 100 * (p1 - p2 - 1.96 * se),
                           2));
        CHECK(rounded_from(number_at(doc, "$.triggers[1].ci95_pp[1]"), 100 * (p1 - p2 + 1.96 * se),
                           2));
        CHECK(json_at(doc, "$.triggers[2]") == "<none>");
    };

    // The latest run is the window's last day: the 01-10 firings have matured, and 02-09's
    // moves into loyal count.
    auto at_end = run_cli({"triggers", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(at_end.code == 0, at_end.err);
    check_readout(at_end.out);

    // A day later, customers 2, 5, …, 20 become loyal: after the window, so nothing changes.
    exec(db, "UPDATE customers SET spend = 2000 WHERE customer_id <= 20 AND customer_id % 3 = 2");
    run("2026-02-10");
    auto after = run_cli({"triggers", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(after.code == 0, after.err);
    check_readout(after.out);

    // The text: a line per trigger, one per group, and the difference.
    auto text = run_cli({"triggers", "--db", db});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    char line[2000];
    std::snprintf(line, sizeof line,
                  "reactivate   enter sleeping  fired %d  held out %d  capped 4  success 'enter "
                  "loyal within 30d'\n  treated     %.1f%% met success (%d of %d matured; %d still "
                  "in their window)\n  held out    %.1f%% met success (%d of %d matured; %d still "
                  "in their window)\n  difference  %+.1f pp (95%% CI %+.1f to %+.1f)\n",
                  treated.fired, held.fired, 100 * p1, treated.succeeded, treated.matured,
                  treated.still_open, 100 * p2, held.succeeded, held.matured, held.still_open,
                  100 * (p1 - p2), 100 * (p1 - p2 - 1.96 * se), 100 * (p1 - p2 + 1.96 * se));
    CHECK_MESSAGE(text.out.find(line) != std::string::npos, text.out);
    CHECK(text.out.find("ruleset shop: windows counted up to 2026-02-10 (run 5)\n"
                        "first_touch  enter sleeping  fired 4  held out 0  capped 0  no success "
                        "to measure\n") != std::string::npos);

    // Version 2 changes reactivate's success and drops first_touch. Its run fires nothing
    // (a rule change), so every firing is still measured by the success its own run stored,
    // and first_touch is still shown, after the latest run's triggers, while it has rows.
    dir.write("r.yaml", rules(2, "enter active within 30d", false));
    run("2026-02-11");
    auto v2 = run_cli({"triggers", "--db", db, "--ruleset", "shop", "--format", "json"});
    REQUIRE_MESSAGE(v2.code == 0, v2.err);
    CHECK(json_at(v2.out, "$.triggers[0].trigger") == "reactivate");
    CHECK(json_at(v2.out, "$.triggers[0].success") == "enter loyal within 30d");
    CHECK(json_at(v2.out, "$.triggers[0].success_changed") == "0");
    CHECK(json_at(v2.out, "$.triggers[0].treated.succeeded") == std::to_string(treated.succeeded));
    CHECK(json_at(v2.out, "$.triggers[1].trigger") == "first_touch");
    CHECK(json_at(v2.out, "$.triggers[1].fired") == "4");
}

TEST_CASE("triggers: a success spelled otherwise (4w for 28d) is no change; another window is") {
    TempDir dir;
    const auto db = dir.database("base.db", base_sql());
    const auto file = dir.write("r.yaml", rules(1, "enter loyal within 28d", false));
    auto run = [&](const std::string& as_of) {
        auto r = run_cli({"run", file, "--db", db, "--as-of", as_of});
        REQUIRE_MESSAGE(r.code == 0, r.err);
    };
    // Each version's first run is a rule change and fires nothing; the next one fires.
    auto fire = [&](int from, int to, const std::string& as_of) {
        exec(db, "UPDATE customers SET spend = 10 WHERE customer_id BETWEEN " +
                     std::to_string(from) + " AND " + std::to_string(to));
        run(as_of);
    };
    auto readout = [&] {
        auto r = run_cli({"triggers", "--db", db, "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        return r.out;
    };
    run("2026-01-01");
    fire(1, 10, "2026-01-10");
    dir.write("r.yaml", rules(2, "enter   loyal within 4w", false));
    run("2026-01-11");
    fire(11, 20, "2026-01-12");
    std::string doc = readout();
    CHECK(json_at(doc, "$.triggers[0].success") == "enter   loyal within 4w");
    CHECK(json_at(doc, "$.triggers[0].within") == "4w");
    CHECK(json_at(doc, "$.triggers[0].success_changed") == "0");

    dir.write("r.yaml", rules(3, "enter loyal within 30d", false));
    run("2026-01-13");
    fire(21, 30, "2026-01-14");
    doc = readout();
    CHECK(json_at(doc, "$.triggers[0].within") == "30d");
    CHECK(json_at(doc, "$.triggers[0].success_changed") == "1");
}

TEST_CASE("triggers: a window not ended by the latest run is still open, not counted") {
    TempDir dir;
    const auto db = dir.database("base.db", base_sql());
    const auto file = dir.write("r.yaml", rules(1, "enter loyal within 30d", false));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-01-01"}).code == 0);
    exec(db, "UPDATE customers SET spend = 10 WHERE customer_id <= 30");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-01-10"}).code == 0);
    exec(db, "UPDATE customers SET spend = 2000 WHERE customer_id <= 30");
    // 02-08: every customer met success, but the window ends 02-09.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-02-08"}).code == 0);
    auto r = run_cli({"triggers", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    int held = 0;
    for (int k = 1; k <= 30; ++k)
        held += held_out(k);
    CHECK(json_at(r.out, "$.triggers[0].still_open.fired") == std::to_string(30 - held));
    CHECK(json_at(r.out, "$.triggers[0].still_open.held_out") == std::to_string(held));
    CHECK(json_at(r.out, "$.triggers[0].treated.matured") == "0");
    CHECK(json_at(r.out, "$.triggers[0].treated.share") == "<none>");
    CHECK(json_at(r.out, "$.triggers[0].difference_pp") == "<none>");
    CHECK(json_at(r.out, "$.triggers[0].ci95_pp") == "<none>");
    auto text = run_cli({"triggers", "--db", db});
    CHECK(text.out.find("  treated     n/a (0 matured; " + std::to_string(30 - held) +
                        " still in their window)\n") != std::string::npos);
    CHECK(text.out.find("  difference  n/a: a group has no matured firing\n") != std::string::npos);
}

TEST_CASE("triggers: success events exit, in and move, each within its window") {
    TempDir dir;
    const auto db = dir.database("base.db", base_sql());
    // Three more triggers on the same move, each measuring another event.
    std::string text = rules(1, "exit sleeping within 10d", false);
    for (const auto& [id, success] : {std::pair{"in_loyal", "in loyal within 10d"},
                                      std::pair{"up_to_loyal", "move sleeping -> loyal within 10d"},
                                      std::pair{"back_again", "move none -> any within 10d"}}) {
        text += std::string("  - id: ") + id + "\n    on: enter sleeping\n    success: " + success +
                "\n    actions:\n      - tag: { name: x }\n";
    }
    const auto file = dir.write("r.yaml", text);
    auto run = [&](const std::string& as_of) {
        auto r = run_cli({"run", file, "--db", db, "--as-of", as_of});
        REQUIRE_MESSAGE(r.code == 0, r.err);
    };
    run("2026-01-01");
    exec(db, "UPDATE customers SET spend = 10 WHERE customer_id <= 10");
    run("2026-01-10");  // 1-10 enter sleeping: window (01-10, 01-20]
    // 01-15: 1-3 go to loyal; 10 leaves the base (its sleeping stay ends: an exit).
    exec(db,
         "UPDATE customers SET spend = 2000 WHERE customer_id <= 3;"
         "DELETE FROM customers WHERE customer_id = 10");
    run("2026-01-15");
    // 01-20, the window's last day: 4 and 5 go to active (an exit, but not to loyal); 10 is
    // back (a move from none; it fires again, a firing still in its window).
    exec(db,
         "UPDATE customers SET spend = 500 WHERE customer_id IN (4, 5);"
         "INSERT INTO customers VALUES (10, 10)");
    run("2026-01-20");
    // 01-21: 6 goes to loyal, a day too late; 7-9 stay asleep.
    exec(db, "UPDATE customers SET spend = 2000 WHERE customer_id = 6");
    run("2026-01-21");
    auto r = run_cli({"triggers", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // reactivate holds out half; the others hold out nobody, so all 10 are treated.
    auto succeeded = [&](int trigger) {
        return json_at(r.out, "$.triggers[" + std::to_string(trigger) + "].treated.succeeded");
    };
    int exited_treated = 0;
    for (int k : {1, 2, 3, 4, 5, 10})
        exited_treated += !held_out(k);
    CHECK(json_at(r.out, "$.triggers[0].success") == "exit sleeping within 10d");
    CHECK(std::stoi(succeeded(0)) +
              std::stoi(json_at(r.out, "$.triggers[0].held_out_group.succeeded")) ==
          6);
    CHECK(succeeded(0) == std::to_string(exited_treated));
    CHECK(json_at(r.out, "$.triggers[1].trigger") == "in_loyal");
    CHECK(json_at(r.out, "$.triggers[1].treated.matured") == "10");
    CHECK(json_at(r.out, "$.triggers[1].still_open.fired") == "1");  // 10's second firing
    CHECK(succeeded(1) == "3");
    CHECK(succeeded(2) == "3");  // 4 and 5 moved to active, 6 too late
    CHECK(succeeded(3) == "1");  // only 10 had no general stay before a move
    CHECK(json_at(r.out, "$.triggers[3].held_out_group.matured") == "0");
}

TEST_CASE(
    "triggers: in X counts a run that saw the customer in X, though the same day's next "
    "run moved them") {
    TempDir dir;
    const auto db = dir.database("base.db", base_sql());
    std::string text = rules(1, "in loyal within 10d", false);
    const auto v1 = dir.write("v1.yaml", text);
    // Version 2 asks more of loyal: run on the same day, it moves 1-3 out again.
    text.replace(text.find("version: 1"), 10, "version: 2");
    text.replace(text.find("spend >= 1000"), 13, "spend >= 3000");
    const auto v2 = dir.write("v2.yaml", text);
    auto run = [&](const std::string& file, const std::string& as_of) {
        auto r = run_cli({"run", file, "--db", db, "--as-of", as_of});
        REQUIRE_MESSAGE(r.code == 0, r.err);
    };
    run(v1, "2026-01-01");
    exec(db, "UPDATE customers SET spend = 10 WHERE customer_id <= 10");
    run(v1, "2026-01-10");  // 1-10 enter sleeping: window (01-10, 01-20]
    exec(db, "UPDATE customers SET spend = 2000 WHERE customer_id <= 3");
    run(v1, "2026-01-15");  // 1-3 in loyal at this run...
    run(v2, "2026-01-15");  // ...and out of it at the day's second one
    run(v2, "2026-01-21");
    auto r = run_cli({"triggers", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(std::stoi(json_at(r.out, "$.triggers[0].treated.succeeded")) +
              std::stoi(json_at(r.out, "$.triggers[0].held_out_group.succeeded")) ==
          3);
    CHECK(r.err.find("warning") == std::string::npos);
    // Without the outbox nothing can be counted, and the readout says why its counts are 0.
    exec(db, "DROP TABLE strata_outbox");
    r = run_cli({"triggers", "--db", db});
    CHECK(r.code == 0);
    CHECK(r.err.find("has no table strata_outbox, where runs keep what their triggers fired") !=
          std::string::npos);
}

TEST_CASE("triggers: success in a tactical segment is read from its tactical stays") {
    TempDir dir;
    const auto db = dir.database(
        "base.db",
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);"
        "INSERT INTO customers VALUES (1, 10, 0), (2, 10, 0), (3, 10, 0), (4, 500, 0);");
    const auto file = dir.write("r.yaml", R"(ruleset: tiers
version: 1
general:
  segments:
    - id: vip
      when: spend >= 1000
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
triggers:
  - id: push_tv
    on: enter regular
    success: enter tv within 14d
    actions:
      - push: { text: hi }
  - id: to_vip
    on: enter regular
    success: in vip within 14d
    actions:
      - push: { text: hi }
)");
    auto run = [&](const std::string& as_of) {
        auto r = run_cli({"run", file, "--db", db, "--as-of", as_of});
        REQUIRE_MESSAGE(r.code == 0, r.err);
    };
    run("2026-01-01");
    exec(db, "UPDATE customers SET spend = 500 WHERE customer_id <= 3");
    run("2026-01-02");  // 1-3 enter regular
    // 1 becomes vip with tv (the tactical segment), 2 vip without it, 3 stays regular.
    exec(db,
         "UPDATE customers SET spend = 5000, tv = 1 WHERE customer_id = 1;"
         "UPDATE customers SET spend = 5000 WHERE customer_id = 2");
    run("2026-01-05");
    run("2026-01-20");
    auto r = run_cli({"triggers", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // As the file writes it.
    CHECK(json_at(r.out, "$.triggers[0].success") == "enter tv within 14d");
    CHECK(json_at(r.out, "$.triggers[0].treated.matured") == "3");
    CHECK(json_at(r.out, "$.triggers[0].treated.succeeded") == "1");
    CHECK(json_at(r.out, "$.triggers[1].treated.succeeded") == "2");
}

TEST_CASE("triggers: exit codes and messages for missing files, states without runs") {
    TempDir dir;
    auto missing = run_cli({"triggers", "--db", dir.file("nope.db")});
    CHECK(missing.code == 2);
    CHECK(missing.err.rfind("strata triggers: ", 0) == 0);
    auto missing_json = run_cli({"triggers", "--db", dir.file("nope.db"), "--format", "json"});
    CHECK(missing_json.code == 2);
    CHECK(json_at(missing_json.out, "$.error.kind") == "database");

    const auto db = dir.database("base.db", base_sql());
    auto empty = run_cli({"triggers", "--db", db});
    CHECK(empty.code == 2);
    CHECK(empty.err.find("strata triggers: no runs are stored in") != std::string::npos);

    // Runs without triggers, or none of the ruleset asked for: an answer, not an error.
    const auto file = dir.write("r.yaml",
                                "ruleset: plain\nversion: 1\ngeneral:\n  segments:\n"
                                "    - id: all\n      when: otherwise\n");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-01-01"}).code == 0);
    auto none = run_cli({"triggers", "--db", db, "--format", "json"});
    CHECK(none.code == 0);
    CHECK(json_at(none.out, "$.triggers") == "[]");
    CHECK(none.err.find("had triggers") != std::string::npos);
    auto other = run_cli({"triggers", "--db", db, "--ruleset", "shop"});
    CHECK(other.code == 0);
    CHECK(other.out.empty());
    CHECK(other.err.find("no runs of ruleset 'shop'") != std::string::npos);
}
