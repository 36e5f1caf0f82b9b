// strata eval and the library's Engine (issue 12, one customer): a customer evaluated alone,
// from their own rows with the thresholds of the latest run, gets exactly what the run gave
// them (differential, every customer), from several threads at once; the CLI's exit codes,
// JSON and indexes; --apply's exactly-once actions.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "dsl/calendar.hpp"
#include "include/strata/strata.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

struct Placement {
    std::string segment;
    std::string tactical;  // paths joined by ';'
    bool operator==(const Placement&) const = default;
};

// A customer key as the CLI takes it, with its type: "i:5", "t:5".
std::string typed(const SQLite::Column& c) {
    return (c.isInteger() ? "i:" : "t:") + c.getString();
}

// Every customer of a stored run, from strata_membership.
std::map<std::string, Placement> membership(const std::string& state, int64_t run) {
    SQLite::Database db(state, SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT customer_key, segment, tactical FROM strata_membership WHERE "
                        "run_id = ?");
    q.bind(1, run);
    std::map<std::string, Placement> out;
    while (q.executeStep())
        out[typed(q.getColumn(0))] = {q.getColumn(1).getString(), q.getColumn(2).getString()};
    return out;
}

std::string joined(const std::vector<std::string>& paths) {
    std::string out;
    for (const auto& p : paths)
        out += (out.empty() ? "" : ";") + p;
    return out;
}

strata::Engine open_engine(const std::string& rules, const std::string& db,
                           const std::string& state = "") {
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    options.state_path = state;
    auto engine = strata::Engine::open(options);
    INFO((engine.ok() ? std::string() : engine.error().message));
    REQUIRE(engine.ok());
    return std::move(engine.value());
}

// Evaluates every customer of `expected` with the engine: each key's placement.
std::map<std::string, Placement> evaluate_all(const strata::Engine& engine,
                                              const std::map<std::string, Placement>& expected) {
    std::map<std::string, Placement> out;
    for (const auto& [key, placement] : expected) {
        auto r = engine.evaluate(key.substr(2));
        if (!r) {
            out[key] = {"error: " + r.error().message, ""};
            continue;
        }
        out[(r->key_is_text ? "t:" : "i:") + r->customer_key] = {r->segment, joined(r->tactical)};
    }
    return out;
}

// Counts the customers whose placements differ, and shows the first few.
size_t differences(const std::map<std::string, Placement>& expected,
                   const std::map<std::string, Placement>& got) {
    size_t n = 0;
    for (const auto& [key, want] : expected) {
        auto it = got.find(key);
        const Placement have = it == got.end() ? Placement{"<missing>", ""} : it->second;
        if (have == want) continue;
        if (++n <= 5)
            MESSAGE(key << ": run " << want.segment << " [" << want.tactical << "], eval "
                        << have.segment << " [" << have.tactical << "]");
    }
    return n + (got.size() > expected.size() ? got.size() - expected.size() : 0);
}

const char* kMixRules = R"yaml(ruleset: mix
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n_orders: count(orders)
  revenue: sum(orders.amount)
  last_order: max(orders.order_date)
  breadth: count_distinct(orders.category)
  score: "rfm(recency: last_order, frequency: n_orders, monetary: revenue, bins: 5)"
  value_class: abc(revenue)
  rank: percent_rank(revenue)
  tier: ntile(revenue, 4)
  demand: "xyz(cv(orders.amount, per: month, over: 12mo), x: 0.8, y: 1.5)"
value: revenue
general:
  policy: first_match
  segments:
    - id: none
      when: n_orders == 0
    - id: kept_top
      when: previous_segment == 'top' and tier >= 3
    - id: top
      when: rank >= 0.8 and score.f >= 3
      tactical:
        - id: broad
          when: breadth >= 3
        - id: ax
          when: value_class == 'A' and demand == 'X'
    - id: mid
      when: tier >= 2 and days_in_segment >= 0
    - id: rest
      when: otherwise
triggers:
  - id: welcome_top
    on: enter top
    holdout: 20%
    actions:
      - email: { template: top, spent: "{{round(revenue, 2)}}" }
)yaml";

// A demo retail base of `customers` and one run of rules/retail-rfm.yaml as of 2026-11-01,
// stored in a state file of its own.
struct RetailRun {
    TempDir dir;
    std::string db = dir.file("retail.db");
    std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    std::string state = dir.file("state.db");
    explicit RetailRun(int customers) {
        REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", std::to_string(customers),
                         "--out", db})
                    .code == 0);
        REQUIRE(
            run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    }
};

}  // namespace

TEST_CASE("eval: every customer of a retail base gets exactly the run's placement") {
    TempDir dir;
    const auto db = dir.file("retail.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "2500", "--out", db}).code ==
            0);
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    auto run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE(run.code == 0);
    const auto expected = membership(db, 1);
    REQUIRE(expected.size() == 2500);
    strata::Engine engine = open_engine(rules, db);
    CHECK(engine.thresholds_run() == 1);
    CHECK(engine.as_of() == "2026-11-01");
    CHECK(differences(expected, evaluate_all(engine, expected)) == 0);

    // A month later, on the advanced base: the second run's thresholds.
    const auto later = dir.file("retail-later.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "2500", "--out", later,
                     "--advance", "30d"})
                .code == 0);
    const auto state = dir.file("state.db");
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    REQUIRE(
        run_cli({"run", rules, "--db", later, "--state", state, "--as-of", "2026-12-01"}).code ==
        0);
    const auto expected2 = membership(state, 2);
    strata::Engine engine2 = open_engine(rules, later, state);
    CHECK(engine2.thresholds_run() == 2);
    CHECK(differences(expected2, evaluate_all(engine2, expected2)) == 0);
}

TEST_CASE(
    "eval: population functions, a state column, count_distinct and cv give the run's "
    "placement; four threads at once give the same answers") {
    TempDir dir;
    const auto db = dir.file("retail.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "2000", "--out", db}).code ==
            0);
    const auto later = dir.file("later.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "2000", "--out", later,
                     "--advance", "30d"})
                .code == 0);
    const auto rules = dir.write("mix.yaml", kMixRules);
    const auto state = dir.file("state.db");
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    REQUIRE(
        run_cli({"run", rules, "--db", later, "--state", state, "--as-of", "2026-12-01"}).code ==
        0);
    // The state columns read the stays as 2026-12-01 began (run 1's): evaluated as of that day
    // with run 2's thresholds, every customer gets run 2's placement, and a run of that day
    // again on the same data (run 3) gives the same once more.
    strata::Engine engine = open_engine(rules, later, state);
    const auto keys = membership(state, 2);
    const auto evaluated = evaluate_all(engine, keys);
    CHECK(differences(keys, evaluated) == 0);

    std::vector<std::map<std::string, Placement>> by_thread(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < by_thread.size(); ++t)
        threads.emplace_back(
            [&engine, &keys, &by_thread, t] { by_thread[t] = evaluate_all(engine, keys); });
    for (auto& t : threads)
        t.join();
    for (const auto& answers : by_thread)
        CHECK(answers == evaluated);

    REQUIRE(
        run_cli({"run", rules, "--db", later, "--state", state, "--as-of", "2026-12-01"}).code ==
        0);
    const auto expected = membership(state, 3);
    REQUIRE(expected.size() == keys.size());
    CHECK(differences(expected, evaluated) == 0);
    // The rules did move some customers into kept_top: the state column was exercised.
    size_t kept = 0;
    for (const auto& [key, p] : expected)
        kept += p.segment == "kept_top";
    CHECK(kept > 0);
}

TEST_CASE("eval: text and mixed keys join the customer's fact rows exactly as a run does") {
    TempDir dir;
    // Keys of every kind in a column without a type: integers, a whole REAL (the key 20), texts
    // that spell no integer, a text that spells one with no integer beside it ('9999'), a
    // text and an integer spelled alike ('5' and 5), a repeated key (the first row counts).
    const auto db = dir.database("mixed.db", R"sql(
CREATE TABLE customers (customer_id, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 20), (3, 30), (5, 50), ('5', 55), (20.0, 200),
  ('A12', 12), ('007', 7), ('9999', 99), ('2.5', 25), (7, 70), (7, 700), ('x y', 1);
CREATE TABLE orders (customer_id, amount REAL, day DATE);
INSERT INTO orders VALUES (1, 5, '2026-01-01'), ('1', 6, '2026-01-02'), (1.0, 7, '2026-01-03'),
  (2, 100, '2026-02-01'), ('02', 1000, '2026-02-01'), (3, 1, '2026-12-31'),
  (5, 11, '2026-03-01'), ('5', 12, '2026-03-01'), (5.0, 13, '2026-03-01'),
  (20, 3, '2026-03-01'), ('20', 4, '2026-03-01'), ('A12', 9, '2026-03-01'),
  ('007', 40, '2026-03-01'), (7, 41, '2026-03-01'), (9999, 17, '2026-03-01'),
  ('9999', 18, '2026-03-01'), (2.5, 19, '2026-03-01'), ('2.5', 20, '2026-03-01'),
  ('x y', 2, '2026-03-01'), (null, 5, '2026-03-01'), (42, 5, '2026-03-01');
)sql");
    const auto rules = dir.write("keys.yaml", R"(ruleset: keys
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: day }
let:
  n: count(orders)
  total: sum(orders.amount)
  tier: ntile(total, 3)
general:
  policy: first_match
  segments:
    - id: none
      when: n == 0
    - id: one
      when: n == 1
      tactical:
        - id: one_top_third
          when: tier == 3
        - id: one_over_15
          when: total > 15
        - id: one_over_30
          when: total > 30
    - id: two
      when: n == 2
      tactical:
        - id: two_top_third
          when: tier == 3
        - id: two_over_15
          when: total > 15
        - id: two_over_30
          when: total > 30
    - id: three
      when: n == 3
      tactical:
        - id: three_top_third
          when: tier == 3
        - id: three_over_15
          when: total > 15
        - id: three_over_30
          when: total > 30
    - id: more
      when: otherwise
      tactical:
        - id: more_top_third
          when: tier == 3
        - id: more_over_15
          when: total > 15
        - id: more_over_30
          when: total > 30
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-06-01"}).code == 0);
    const auto expected = membership(db, 1);
    REQUIRE(expected.size() == 12);
    strata::Engine engine = open_engine(rules, db);
    // '5' as a key is the integer 5: the text customer '5' cannot be named by the CLI's text.
    std::map<std::string, Placement> reachable = expected;
    reachable.erase("t:5");
    CHECK(differences(reachable, evaluate_all(engine, reachable)) == 0);
    auto five = engine.evaluate("5");
    REQUIRE(five.ok());
    CHECK_FALSE(five->key_is_text);
    auto text = engine.evaluate("9999");
    REQUIRE(text.ok());
    CHECK(text->key_is_text);
    CHECK(text->segment == expected.at("t:9999").segment);
    auto missing = engine.evaluate("42");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == strata::EngineError::Kind::NotFound);
    CHECK(missing.error().message == "customer 42 is not in table customers");
}

TEST_CASE("eval: key columns of many declared types join the fact rows a run joins") {
    // SQLite converts keys to a column's affinity (INTEGER, TEXT, REAL, NUMERIC) as it stores
    // and compares them, and not at all without one (no type, BLOB): a one-customer lookup
    // takes a shortcut only where the affinity makes it find the same rows.
    const char* rules_text = R"(ruleset: typed_keys
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: day }
let:
  n: count(orders)
  total: sum(orders.amount)
general:
  segments:
    - id: none
      when: n == 0
      tactical:
        - id: none_big
          when: spend >= 50
    - id: some
      when: otherwise
      tactical:
        - id: some_two
          when: n == 2
        - id: some_three
          when: n == 3
        - id: some_total_1
          when: total in [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 23, 25, 29, 31, 37, 41]
        - id: some_total_2
          when: total >= 20
)";
    const char* customer_types[] = {"", "INTEGER", "TEXT", "REAL", "NUMERIC", "BLOB"};
    const char* fact_types[] = {"",        "INTEGER", "TEXT",        "REAL",
                                "NUMERIC", "BLOB",    "VARCHAR(10)", "ANY"};
    for (const char* customer_type : customer_types) {
        for (const char* fact_type : fact_types) {
            INFO("customers.customer_id ", customer_type, ", orders.customer_id ", fact_type);
            TempDir dir;
            const auto db =
                dir.database("typed.db", std::string("CREATE TABLE customers (customer_id ") +
                                             customer_type +
                                             R"sql(, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 20), (3, 30), (5, 50), (20.0, 200), ('A12', 12),
  ('007', 7), ('9999', 99), ('2.5', 25), (7, 70), ('x y', 1), ('8', 80), ('5', 55);
CREATE TABLE orders (customer_id )sql" + fact_type +
                                             R"sql(, amount REAL, day DATE);
INSERT INTO orders VALUES (1, 1, '2026-01-01'), ('1', 2, '2026-01-02'), (1.0, 4, '2026-01-03'),
  (2, 8, '2026-02-01'), ('02', 16, '2026-02-01'), (5, 1, '2026-03-01'), ('5', 2, '2026-03-01'),
  (5.0, 4, '2026-03-01'), (20, 1, '2026-03-01'), ('20', 2, '2026-03-01'),
  ('A12', 9, '2026-03-01'), ('007', 40, '2026-03-01'), (7, 1, '2026-03-01'),
  (9999, 17, '2026-03-01'), ('9999', 2, '2026-03-01'), (2.5, 19, '2026-03-01'),
  ('2.5', 2, '2026-03-01'), ('2.50', 4, '2026-03-01'), ('x y', 2, '2026-03-01'),
  (8, 1, '2026-03-01'), ('8', 2, '2026-03-01'), (null, 5, '2026-03-01'), (42, 5, '2026-03-01');
CREATE INDEX orders_customer ON orders (customer_id);
)sql");
            const auto rules = dir.write("typed.yaml", rules_text);
            const auto ran = run_cli({"run", rules, "--db", db, "--as-of", "2026-06-01"});
            INFO(ran.err);
            REQUIRE(ran.code == 0);
            auto expected = membership(db, 1);
            REQUIRE(expected.size() >= 10);
            // Without a type the text customer '5' is there beside 5: the CLI's "5" names 5.
            if (expected.count("i:5")) expected.erase("t:5");
            strata::Engine engine = open_engine(rules, db);
            CHECK(differences(expected, evaluate_all(engine, expected)) == 0);
        }
    }
}

TEST_CASE(
    "Engine::refresh takes a later batch run's thresholds while threads evaluate; apply refuses "
    "thresholds that a later batch run replaced") {
    const RetailRun base(1500);
    const std::string &db = base.db, &rules = base.rules, &state = base.state;
    strata::Engine engine = open_engine(rules, db, state);
    REQUIRE(engine.thresholds_run() == 1);
    auto unchanged = engine.refresh();
    REQUIRE(unchanged.ok());
    CHECK_FALSE(unchanged.value());  // nothing stored since open()

    // The same day's run again, after a third of the customers spent ten times as much: other
    // cut points, so run 1's thresholds place many customers otherwise.
    {
        SQLite::Database base(db, SQLite::OPEN_READWRITE);
        base.exec("UPDATE orders SET amount = amount * 10 WHERE customer_id % 3 = 0");
    }
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    const auto expected = membership(state, 2);
    REQUIRE(expected.size() == 1500);
    const auto with_run_1 = evaluate_all(engine, expected);
    size_t placed_otherwise = 0;
    for (const auto& [k, placement] : expected)
        placed_otherwise += with_run_1.at(k) != placement;
    CHECK(placed_otherwise > 0);
    const std::string key = expected.begin()->first.substr(2);

    // Storing run 1's thresholds now would make them the latest run's again.
    auto refused = engine.apply(key);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == strata::EngineError::Kind::Stale);
    CHECK(refused.error().message.find("nothing was stored") != std::string::npos);
    CHECK(scalar(state, "SELECT count(*) FROM strata_runs") == 2);

    // Two threads evaluate while the engine refreshes: every answer is the placement of the
    // thresholds it names (run 1's on the changed data, or run 2's); once it has refreshed,
    // all are run 2's.
    std::atomic<bool> refreshed{false};
    std::vector<std::atomic<size_t>> seen(2);
    std::vector<size_t> wrong(2, 0);
    std::vector<std::map<std::string, Placement>> answers(2);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < answers.size(); ++t) {
        threads.emplace_back([&, t] {
            auto it = expected.begin();
            while (!refreshed) {
                if (it == expected.end()) it = expected.begin();
                auto r = engine.evaluate(it->first.substr(2));
                const bool known = r && (r->run_id == 1 || r->run_id == 2);
                const auto& want = known && r->run_id == 2 ? expected : with_run_1;
                wrong[t] +=
                    !known || Placement{r->segment, joined(r->tactical)} != want.at(it->first);
                ++seen[t];
                ++it;
            }
            answers[t] = evaluate_all(engine, expected);
        });
    }
    while (seen[0] < 50 || seen[1] < 50)
        std::this_thread::yield();
    auto changed = engine.refresh();
    refreshed = true;
    for (auto& t : threads)
        t.join();
    REQUIRE(changed.ok());
    CHECK(changed.value());
    CHECK(engine.thresholds_run() == 2);
    CHECK(wrong == std::vector<size_t>{0, 0});
    for (const auto& a : answers)
        CHECK(differences(expected, a) == 0);
    CHECK_FALSE(engine.refresh().value());

    // With run 2's thresholds, apply names them as its own run's (and keeps no copy).
    auto applied = engine.apply(key);
    REQUIRE(applied.ok());
    CHECK(applied->run_id == 2);
    CHECK(scalar(state, "SELECT count(*) FROM strata_population_fits WHERE run_id = 2") > 0);
    CHECK(scalar(state, "SELECT count(*) FROM strata_population_fits WHERE run_id = 3") == 0);
    CHECK(scalar(state,
                 "SELECT json_extract(summary, '$.thresholds_run') FROM strata_runs WHERE "
                 "run_id = 3") == 2);
    // Evaluations stored since, by this engine or by another process, are not batch runs: the
    // thresholds are still current.
    CHECK(engine.apply(key).ok());
    REQUIRE(run_cli({"eval", rules, "--db", db, "--state", state, "--customer",
                     std::next(expected.begin())->first.substr(2), "--apply"})
                .code == 0);
    CHECK(engine.apply(key).ok());
    CHECK(scalar(state, "SELECT count(*) FROM strata_runs") == 6);

    // A batch run a day later: apply hears that its thresholds are stale (not that its day is
    // before the latest run's), and refresh() moves the day evaluated on.
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-02"}).code ==
            0);
    auto behind = engine.apply(key);
    REQUIRE_FALSE(behind.ok());
    CHECK(behind.error().kind == strata::EngineError::Kind::Stale);
    REQUIRE(engine.refresh().ok());
    CHECK(engine.thresholds_run() == 7);
    CHECK(engine.as_of() == "2026-11-02");
    CHECK(engine.apply(key).ok());
}

TEST_CASE(
    "Engine: a run holding the state's lock makes a call fail after busy_timeout_ms, saying "
    "why; in WAL mode the call does not wait") {
    const RetailRun base(200);
    const std::string &db = base.db, &rules = base.rules, &state = base.state;
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    options.state_path = state;
    options.busy_timeout_ms = 100;
    auto engine = strata::Engine::open(options);
    REQUIRE(engine.ok());
    REQUIRE(engine->evaluate("7").ok());
    {
        // Rollback-journal mode: a writer's exclusive lock, as a run holds it while it stores.
        SQLite::Database writer(state, SQLite::OPEN_READWRITE);
        writer.exec("BEGIN EXCLUSIVE");
        const auto began = std::chrono::steady_clock::now();
        auto blocked = engine->evaluate("7");
        const auto waited = std::chrono::steady_clock::now() - began;
        REQUIRE_FALSE(blocked.ok());
        CHECK(blocked.error().kind == strata::EngineError::Kind::Database);
        CHECK(blocked.error().message.find("WAL mode") != std::string::npos);
        CHECK(waited >= std::chrono::milliseconds(90));
        CHECK(waited < std::chrono::seconds(3));
        auto not_applied = engine->apply("7");  // it opens the state to write it first
        REQUIRE_FALSE(not_applied.ok());
        CHECK(not_applied.error().message.find("WAL mode") != std::string::npos);
        writer.exec("ROLLBACK");
    }
    CHECK(engine->evaluate("7").ok());
    {
        SQLite::Database writer(state, SQLite::OPEN_READWRITE);
        REQUIRE(writer.execAndGet("PRAGMA journal_mode = WAL").getString() == "wal");
        writer.exec("BEGIN EXCLUSIVE");
        writer.exec("UPDATE strata_runs SET finished_at = finished_at");
        auto read = engine->evaluate("7");
        INFO((read.ok() ? std::string() : read.error().message));
        CHECK(read.ok());
        writer.exec("ROLLBACK");
    }
}

// A service's as_of a year and more ahead is almost always a typo, and a run stored on it keeps
// every earlier day from being stored: apply() refuses it, as `strata run` does, unless the
// caller allows it. evaluate() stores nothing and takes any day.
TEST_CASE("Engine: apply() refuses an as_of more than 366 days after today unless allowed") {
    const RetailRun base(200);
    const strata::Date today = strata::today_utc();
    auto count_runs = [&] {
        SQLite::Database db(base.state, SQLite::OPEN_READONLY);
        return db.execAndGet("SELECT count(*) FROM strata_runs").getInt64();
    };
    const int64_t runs = count_runs();
    strata::EngineOptions options;
    options.rules_path = base.rules;
    options.db_path = base.db;
    options.state_path = base.state;
    options.as_of = strata::format_date(strata::Date{today.days + 367});
    {
        auto engine = strata::Engine::open(options);
        REQUIRE(engine.ok());
        CHECK(engine->evaluate("7").ok());
        auto refused = engine->apply("7");
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().kind == strata::EngineError::Kind::Usage);
        CHECK(refused.error().message.find("is 367 days after today (" +
                                           strata::format_date(today) + ")") != std::string::npos);
        CHECK(refused.error().message.find("EngineOptions::allow_future_as_of") !=
              std::string::npos);
        CHECK(count_runs() == runs);
    }
    // A year ahead is within the limit.
    options.as_of = strata::format_date(strata::Date{today.days + 366});
    {
        auto engine = strata::Engine::open(options);
        REQUIRE(engine.ok());
        auto applied = engine->apply("7");
        INFO((applied.ok() ? std::string() : applied.error().message));
        CHECK(applied.ok());
        CHECK(count_runs() == runs + 1);
    }
    options.as_of = strata::format_date(strata::Date{today.days + 4000});
    options.allow_future_as_of = true;
    {
        auto engine = strata::Engine::open(options);
        REQUIRE(engine.ok());
        auto applied = engine->apply("7");
        INFO((applied.ok() ? std::string() : applied.error().message));
        CHECK(applied.ok());
        CHECK(count_runs() == runs + 2);
    }
}
