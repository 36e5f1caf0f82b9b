// `strata diff OLD NEW --db postgresql://…|clickhouse://…` (state/warehouse_diff.hpp) against
// the embedded diff: pairs of random rule files over random bases (tests/sql_generator.hpp),
// loaded into PostgreSQL and the two-shard ClickHouse. The JSON documents must be the same
// but for `computed_in`: moves with their sample keys, segment and tactical counts, entered
// and left, definitions. STRATA_DIFF_PAIRS sets how many pairs (default 8 on PostgreSQL, a
// third of them on ClickHouse).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/run_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

// The diff document without the line that says where it was computed.
std::string without_place(const std::string& doc) {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, "SELECT json_remove(?, '$.computed_in')");
    q.bind(1, doc);
    q.executeStep();
    return q.getColumn(0).getString();
}

// Diffs the two files on SQLite and at `url`; true when both computed a diff.
bool compare_diffs(const std::string& old_rules, const std::string& new_rules,
                   const std::string& sqlite, const std::string& url) {
    const std::vector<std::string> args = {
        "diff", old_rules, new_rules, "--as-of", "2026-11-01", "--sample", "3", "--format", "json"};
    std::vector<std::string> lite_args = args, there_args = args;
    for (auto* a : {&lite_args, &there_args})
        a->push_back("--db");
    lite_args.push_back(sqlite);
    there_args.push_back(url);
    const Run lite = run_cli(lite_args);
    const Run there = run_cli(there_args);
    INFO(lite.err);
    INFO(there.err);
    REQUIRE(there.code == lite.code);
    if (lite.code != 0) {
        // A file leaves customers unplaced: the same sentence, except that under `exclusive`
        // the warehouse does not name the overlapping pairs.
        const std::string message = json_at(lite.out, "$.error.message");
        if (message.find("policy 'exclusive'") != std::string::npos)
            CHECK(json_at(there.out, "$.error.message").find("policy 'exclusive'") !=
                  std::string::npos);
        else
            CHECK(json_at(there.out, "$.error.message") == message);
        return false;
    }
    CHECK(json_at(there.out, "$.computed_in") ==
          url.substr(0, url.find('?')) +
              (url.find('?') == std::string::npos ? "" : url.substr(url.find('?'))));
    CHECK(without_place(there.out) == without_place(lite.out));
    return true;
}

}  // namespace

TEST_CASE("diff inside the warehouse: the embedded diff, move by move") {
    const char* env = std::getenv("STRATA_DIFF_PAIRS");
    const int pairs = env ? std::atoi(env) : 8;
    Gen gen{std::mt19937(20261202), true};
    int compared_pg = 0, compared_ch = 0;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string old_rules = dir.write("old.yaml", gen.rules(i));
        const std::string new_rules = dir.write("new.yaml", gen.rules(i + 1));
        CAPTURE(i);
        auto pg = RunDatabase::create();
        pg.load(base);
        compared_pg += compare_diffs(old_rules, new_rules, base, pg.url);
        if (i % 3 != 0) continue;
        ClusterDatabase ch;
        ch.load(base);
        compared_ch += compare_diffs(old_rules, new_rules, base, ch.url);
    }
    CHECK(compared_pg * 2 > pairs);
    CHECK(compared_ch > 0);
}

// Null, empty and blank keys are no keys, on both sides (the engine's key rule, in the
// PostgreSQL dialect's key reading).
TEST_CASE("diff inside PostgreSQL: text keys are sampled in byte order") {
    TempDir dir;
    const std::string base = dir.database("base.db", R"(
CREATE TABLE customers (customer_id TEXT PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES ('b,1', 50), ('a', 500), ('Z', 300), ('ä', 800), ('a b', 20),
  ('', 700), ('é''x', 90), (NULL, 999), (' ', 998), (char(160), 997);
)");
    const std::string head = R"(ruleset: keys
version: 1
source:
  customers: customers
  key: customer_id
general:
  policy: first_match
  segments:
)";
    const std::string old_rules = dir.write("old.yaml", head + R"(    - id: high
      when: spend >= 400
    - id: low
      when: otherwise
)");
    const std::string new_rules = dir.write("new.yaml", head + R"(    - id: high
      when: spend >= 60
    - id: low
      when: otherwise
)");
    auto pg = RunDatabase::create();
    auto copied = copy_sqlite_tables(base, {"customers"}, pg.connection);
    REQUIRE(copied);
    REQUIRE(compare_diffs(old_rules, new_rules, base, pg.url));
    const Run r = run_cli(
        {"diff", old_rules, new_rules, "--db", pg.url, "--sample", "2", "--format", "json"});
    CHECK(json_at(r.out, "$.matrix[1].sample") == R"(["Z","é'x"])");
    // An as_of only the old file sets is the diff's, with the note the embedded diff gives.
    const std::string pinned =
        dir.write("pinned.yaml", "as_of: 2026-11-15\n" + head + R"(    - id: high
      when: spend >= 400
    - id: low
      when: otherwise
)");
    const Run noted = run_cli({"diff", pinned, new_rules, "--db", pg.url, "--format", "json"});
    REQUIRE_MESSAGE(noted.code == 0, noted.err);
    CHECK(json_at(noted.out, "$.as_of") == "2026-11-15");
    CHECK(json_at(noted.out, "$.notes[0]").find("as_of 2026-11-15 is the old file's") == 0);
    CHECK(noted.err.find("strata diff: note: as_of 2026-11-15 is the old file's") !=
          std::string::npos);
}

TEST_CASE("diff inside the warehouse: refusals and usage errors") {
    TempDir dir;
    Gen gen{std::mt19937(5), true};
    const std::string base = dir.database("base.db", gen.base_sql());
    auto pg = RunDatabase::create();
    pg.load(base);
    const std::string head = R"(ruleset: refused
version: 1
source:
  customers: customers
  key: customer_id
general:
  policy: first_match
  segments:
)";
    const std::string old_rules = dir.write("old.yaml", head + R"(    - id: all
      when: otherwise
)");
    const std::string new_rules = dir.write("new.yaml", head + R"(    - id: gold
      when: matches(tier, '^g\d')
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"diff", old_rules, new_rules, "--db", pg.url});
    CHECK(r.code == 1);
    CHECK(r.err.find("new.yaml:10:13") != std::string::npos);
    const Run state =
        run_cli({"diff", old_rules, old_rules, "--db", pg.url, "--state", dir.file("s.db")});
    CHECK(state.code == 2);
    CHECK(state.err.find("--state") != std::string::npos);
    // The new file leaves customers unplaced: exit 1 with the embedded diff's sentence.
    const std::string unplaced = dir.write("unplaced.yaml", head + R"(    - id: some
      when: customer_id <= 2
)");
    const Run lite = run_cli({"diff", old_rules, unplaced, "--db", base});
    const Run there = run_cli({"diff", old_rules, unplaced, "--db", pg.url});
    CHECK(lite.code == 1);
    CHECK(there.code == 1);
    CHECK(there.err == lite.err);
}

namespace {

// Spend decides the tier; tv the tactical segment inside vip. The triggers of every version.
const char* kTierBase = R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL, tv INTEGER);
INSERT INTO customers VALUES (1, 10, 1), (2, 500, 0), (3, 2000, 1), (4, 50, 0), (5, 450, 1),
  (6, 150, 0), (7, 999, 1), (8, NULL, 1);
)";

std::string tier_rules(int version, const std::string& vip_when) {
    return "ruleset: tiers\nversion: " + std::to_string(version) +
           "\nsource:\n  customers: customers\n  key: customer_id\ngeneral:\n  segments:\n"
           "    - id: vip\n      when: " +
           vip_when + R"(
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
    - id: small
      when: otherwise
triggers:
  - id: welcome_vip
    on: enter vip
    cooldown: 30d
    actions:
      - email: { template: vip_welcome, spend: "{{ spend }}" }
  - id: vip_weekly
    on: in vip
    when: tv == 1
    actions:
      - email: { template: weekly }
  - id: left_regular
    on: exit regular
    holdout: 50%
    actions:
      - tag: { name: ex_regular }
  - id: tv_fans
    on: enter tv
    actions:
      - sms: { text: "tv {{ spend }}" }
)";
}

}  // namespace

// The triggers a new version would fire, counted inside the warehouse by the embedded rules:
// the same customers, cooldowns from the same earlier actions (a stored run's), holdouts.
TEST_CASE("diff inside the warehouse: the triggers the change would fire, as the embedded diff") {
    TempDir dir;
    const std::string base = dir.database("base.db", kTierBase);
    const std::string earlier =
        dir.write("earlier.yaml", tier_rules(1, "spend >= 450 and tv == 1"));
    const std::string old_rules = dir.write("old.yaml", tier_rules(2, "spend >= 1000"));
    const std::string new_rules = dir.write("new.yaml", tier_rules(3, "spend >= 400"));
    auto pg = RunDatabase::create();
    REQUIRE(copy_sqlite_tables(base, {"customers"}, pg.connection));
    ClusterDatabase ch;
    ch.load(base, {{"customers", "customer_id"}});
    // An earlier version, stored with its first firings on 2026-10-20: welcome_vip went to 3,
    // 5 and 7, whose cooldown runs past the diff's as_of.
    const std::string lite_state = dir.file("lite-state.db");
    const std::string ch_state = dir.file("ch-state.db");
    const std::vector<std::string> first = {"run", earlier, "--as-of", "2026-10-20",
                                            "--fire-initial"};
    for (const auto& [db, state] : std::vector<std::pair<std::string, std::string>>{
             {base, lite_state}, {pg.url, ""}, {ch.url, ch_state}}) {
        std::vector<std::string> args = first;
        args.insert(args.end(), {"--db", db});
        if (!state.empty()) args.insert(args.end(), {"--state", state});
        const Run stored = run_cli(args);
        INFO(db, stored.err);
        REQUIRE(stored.code == 0);
    }
    const std::vector<std::string> diff = {
        "diff", old_rules, new_rules, "--as-of", "2026-11-01", "--sample", "5", "--format", "json"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = diff;
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    };
    const Run lite = with({"--db", base, "--state", lite_state});
    const Run in_pg = with({"--db", pg.url});
    const Run in_ch = with({"--db", ch.url, "--state", ch_state});
    INFO(lite.err, in_pg.err, in_ch.err);
    REQUIRE(lite.code == 0);
    REQUIRE(in_pg.code == 0);
    REQUIRE(in_ch.code == 0);
    // vip goes from {3} to {2, 3, 5, 7}: 2, 5 and 7 enter it, but 5 and 7 were welcomed on
    // 2026-10-20; 5 and 7 enter vip/tv; 2, 5 and 7 leave regular, some held out.
    CHECK(json_at(lite.out, "$.triggers[0].customers") == "1");
    CHECK(json_at(lite.out, "$.triggers[0].cooled_down") == "2");
    CHECK(json_at(lite.out, "$.triggers[0].sample") == "[2]");
    CHECK(json_at(lite.out, "$.triggers[1].sample") == "[5,7]");
    CHECK(json_at(lite.out, "$.triggers[2].customers") == "3");
    CHECK(json_at(lite.out, "$.triggers[3].sample") == "[5,7]");
    CHECK(without_place(in_pg.out) == without_place(lite.out));
    CHECK(without_place(in_ch.out) == without_place(lite.out));

    // Without the store of its actions, a diff inside ClickHouse says it cannot count them.
    const Run no_state = with({"--db", ch.url});
    REQUIRE(no_state.code == 0);
    CHECK(json_at(no_state.out, "$.triggers") == "<none>");  // null: not counted
    CHECK(no_state.out.find("\"triggers\":null") != std::string::npos);
    const Run text =
        run_cli({"diff", old_rules, new_rules, "--as-of", "2026-11-01", "--db", ch.url});
    CHECK(text.out.find("triggers the change would fire: not computed: ") != std::string::npos);
    CHECK(text.out.find("give the same --state") != std::string::npos);
    // Inside PostgreSQL the earlier actions are the server's: --state is refused.
    const Run pg_state = with({"--db", pg.url, "--state", lite_state});
    CHECK(pg_state.code == 2);
    CHECK(pg_state.err.find("strata_outbox") != std::string::npos);
    // A --state that does not exist is an error, not a diff without history.
    const Run missing = with({"--db", ch.url, "--state", dir.file("missing.db")});
    CHECK(missing.code == 2);

    // The new version run on the diff's day enqueued its actions: the diff counts none of
    // them again ("actions already in the outbox are not counted"). The warehouses counted
    // them all.
    for (const auto& [db, state] : std::vector<std::pair<std::string, std::string>>{
             {base, lite_state}, {pg.url, ""}, {ch.url, ch_state}}) {
        std::vector<std::string> args = {
            "run", new_rules, "--as-of", "2026-11-01", "--fire-on-rule-change", "--db", db};
        if (!state.empty()) args.insert(args.end(), {"--state", state});
        const Run stored = run_cli(args);
        INFO(db, stored.err);
        REQUIRE(stored.code == 0);
    }
    const Run lite_again = with({"--db", base, "--state", lite_state});
    const Run pg_again = with({"--db", pg.url});
    const Run ch_again = with({"--db", ch.url, "--state", ch_state});
    REQUIRE(lite_again.code == 0);
    CHECK(json_at(lite_again.out, "$.triggers[0].customers") == "0");
    CHECK(without_place(pg_again.out) == without_place(lite_again.out));
    CHECK(without_place(ch_again.out) == without_place(lite_again.out));
}

// A repeated key inside ClickHouse: refused, as a run refuses it. Before, the join paired the
// key's rows with each other's and a file diffed against itself showed moves.
TEST_CASE("diff inside ClickHouse: a base with a repeated key is refused") {
    TempDir dir;
    const std::string base = dir.database("base.db", R"(
CREATE TABLE customers (customer_id INTEGER, tier TEXT);
INSERT INTO customers VALUES (1, 'gold'), (2, 'x'), (1, 'silver'), (3, 'x');
)");
    const std::string rules = dir.write("rules.yaml", R"(ruleset: tiers
version: 1
source:
  customers: customers
  key: customer_id
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: silver
      when: tier == 'silver'
    - id: other
      when: otherwise
)");
    ClusterDatabase ch;
    ch.load(base, {{"customers", "customer_id"}});
    const Run r = run_cli({"diff", rules, rules, "--db", ch.url, "--as-of", "2026-11-01"});
    CHECK(r.code == 2);
    CHECK(r.err.find("table 'customers' has 1 row whose key 'customer_id' repeats another row's "
                     "and 0 with a null 'customer_id': a diff inside ClickHouse needs one row per "
                     "customer") != std::string::npos);
}

// A file that reads the stored state, with no run of its ruleset in the warehouse, gets the
// embedded diff's note (else a forgotten run reads as "nobody moves"); after a run, none.
TEST_CASE("diff inside the warehouse: a file reading stored state with no run says so") {
    TempDir dir;
    const std::string base = dir.database("base.db", kTierBase);
    const std::string old_rules = dir.write("old.yaml", tier_rules(1, "spend >= 1000"));
    const std::string new_rules = dir.write(
        "new.yaml",
        tier_rules(2, "spend >= 1000 or (previous_segment == 'vip' and days_in_segment < 30)"));
    auto pg = RunDatabase::create();
    REQUIRE(copy_sqlite_tables(base, {"customers"}, pg.connection));
    ClusterDatabase ch;
    ch.load(base, {{"customers", "customer_id"}});
    const std::string ch_state = dir.file("ch-state.db");
    for (const auto& [url, where, state] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {pg.url, "this PostgreSQL database", ""},
             {ch.url, "this ClickHouse database", ch_state}}) {
        CAPTURE(url);
        std::vector<std::string> args = {"diff", old_rules, new_rules,  "--as-of", "2026-11-01",
                                         "--db", url,       "--format", "json"};
        const Run r = run_cli(args);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        const std::string note =
            "ruleset 'tiers' has no run in " + where +
            ", so previous_segment, segment_since and days_in_segment are null for every "
            "customer under the new file; a run inside it (strata run --db URL) stores them "
            "there";
        CHECK_MESSAGE(r.err.find("strata diff: note: " + note) != std::string::npos, r.err);
        CHECK(json_at(r.out, "$.notes[0]") == note);
        std::vector<std::string> run = {"run", old_rules, "--db", url, "--as-of", "2026-10-01"};
        if (!state.empty()) run.insert(run.end(), {"--state", state});
        const Run stored = run_cli(run);
        REQUIRE_MESSAGE(stored.code == 0, stored.err);
        if (!state.empty()) args.insert(args.end(), {"--state", state});
        const Run after = run_cli(args);
        REQUIRE_MESSAGE(after.code == 0, after.err);
        CHECK(after.err.find("note:") == std::string::npos);
        CHECK(json_at(after.out, "$.notes[0]") == "<none>");
    }
}
