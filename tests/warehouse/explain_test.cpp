// `strata explain RULES --db postgresql://…|clickhouse://… --customer KEY`
// (state/warehouse_explain.hpp) against the embedded explain: random rule files over random
// bases (tests/sql_generator.hpp), loaded into PostgreSQL and the two-shard ClickHouse, each
// customer explained on all three. The JSON documents must agree on every leaf but
// `computed_in`: the placement, every segment's result and reason, every node's text, kind,
// place and value, the population "because" texts and the fact rows behind aggregates; no
// node may say "computed": false. STRATA_EXPLAIN_PAIRS sets how many pairs (default 6 on
// PostgreSQL, a third of them on ClickHouse, one customer each there and one not in the base).
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

// The explanation's leaves as `path = value` lines, all but `computed_in` (where it was computed).
std::string explained_leaves(const std::string& doc) {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, R"(
SELECT fullkey || ' = ' || coalesce(CAST(atom AS TEXT), type) FROM json_tree(?1)
WHERE type NOT IN ('object', 'array') AND key != 'computed_in'
ORDER BY id)");
    q.bind(1, doc);
    std::string out;
    while (q.executeStep())
        out += q.getColumn(0).getString() + "\n";
    return out;
}

// The first line where two texts differ, both sides shown ("" when they are the same).
std::string first_difference(const std::string& a, const std::string& b) {
    std::istringstream x(a), y(b);
    std::string lx, ly;
    for (int line = 1;; ++line) {
        const bool more_x = static_cast<bool>(std::getline(x, lx));
        const bool more_y = static_cast<bool>(std::getline(y, ly));
        if (!more_x && !more_y) return "";
        if (!more_x || !more_y || lx != ly)
            return "line " + std::to_string(line) + ": " + (more_x ? lx : "<end>") + "  vs  " +
                   (more_y ? ly : "<end>");
    }
}

// The nodes a document says were not computed ("computed": false), `; `-joined.
std::string uncomputed(const std::string& doc) {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, R"(
SELECT group_concat(fullkey, '; ') FROM json_tree(?1) WHERE key = 'computed')");
    q.bind(1, doc);
    q.executeStep();
    return q.getColumn(0).isNull() ? "" : q.getColumn(0).getString();
}

// Explains `customers` on SQLite and at `url`; returns how many were explained on both.
int compare_explanations(const std::string& rules, const std::string& sqlite,
                         const std::string& url, const std::vector<int>& customers) {
    int explained = 0;
    for (const int key : customers) {
        CAPTURE(key);
        const std::string customer = std::to_string(key);
        const Run lite = run_cli({"explain", rules, "--db", sqlite, "--customer", customer,
                                  "--as-of", "2026-11-01", "--format", "json"});
        const Run there = run_cli({"explain", rules, "--db", url, "--customer", customer, "--as-of",
                                   "2026-11-01", "--format", "json"});
        INFO(lite.err);
        INFO(there.err);
        if (there.code != lite.code) keep_disagreement("explain", sqlite, rules, customer);
        REQUIRE(there.code == lite.code);
        if (lite.code != 0) {
            // Unplaced customers (exit 1) or no such customer (exit 2): the same sentence,
            // except that under `exclusive` the warehouse does not name the overlapping pairs.
            const std::string message = json_at(lite.out, "$.error.message");
            if (message.rfind("policy 'exclusive'", 0) == 0)
                CHECK(json_at(there.out, "$.error.message").rfind("policy 'exclusive'", 0) == 0);
            else
                CHECK(json_at(there.out, "$.error.message") == message);
            continue;
        }
        ++explained;
        CHECK(json_at(there.out, "$.computed_in") != "<none>");
        CHECK(json_at(lite.out, "$.computed_in") == "<none>");
        const std::string difference =
            first_difference(explained_leaves(there.out), explained_leaves(lite.out));
        CHECK(difference == "");
        CHECK(uncomputed(there.out) == "");
        if (!difference.empty()) keep_disagreement("explain", sqlite, rules, customer);
    }
    return explained;
}

}  // namespace

TEST_CASE("explain inside the warehouse: the embedded explanation, node by node") {
    const char* env = std::getenv("STRATA_EXPLAIN_PAIRS");
    const int pairs = env ? std::atoi(env) : 6;
    Gen gen{std::mt19937(20261130), true};
    int explained_pg = 0, explained_ch = 0;
    for (int i = 0; i < pairs; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        std::stringstream text;
        text << std::ifstream(rules).rdbuf();
        INFO("rules:\n" << text.str());
        CAPTURE(i);
        const int customers = static_cast<int>(count_rows(base, "customers"));
        // The first, one in the middle, the last, and one that is not in the base.
        const std::vector<int> keys = {1, (customers + 1) / 2, customers, customers + 7};
        auto pg = RunDatabase::create();
        pg.load(base);
        explained_pg += compare_explanations(rules, base, pg.url, keys);
        if (i % 3 != 0) continue;
        // ClickHouse plans each explanation's nested query for seconds: two customers a pair.
        ClusterDatabase ch;
        ch.load(base);
        // The customer who is not in the base only once: the refusal is the same each time.
        explained_ch += compare_explanations(
            rules, base, ch.url,
            i == 0 ? std::vector<int>{keys[1], keys[3]} : std::vector<int>{keys[1]});
    }
    // Most generated rule files place everyone: explanations must have been compared.
    CHECK(explained_pg > pairs);
    CHECK(explained_ch >= pairs / 3);
}

// Datetime values come back as seconds and are shown as the engine shows them.
TEST_CASE("explain inside PostgreSQL: datetimes, node by node") {
    Gen gen{std::mt19937(31), true};
    gen.datetimes = true;
    int explained = 0;
    for (int i = 0; i < 5; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        std::stringstream text;
        text << std::ifstream(rules).rdbuf();
        INFO("rules:\n" << text.str());
        CAPTURE(i);
        const int customers = static_cast<int>(count_rows(base, "customers"));
        auto pg = RunDatabase::create();
        pg.load(base);
        explained += compare_explanations(rules, base, pg.url, {1, (customers + 1) / 2, customers});
    }
    CHECK(explained > 5);
}

// The same on the two-shard ClickHouse, whose loader holds no moment before 1970 (its pairs
// store 1970-01-01T00:00:00 instead).
TEST_CASE("explain inside ClickHouse: datetimes, node by node") {
    Gen gen{std::mt19937(31), true};
    gen.datetimes = true;
    gen.datetimes_before_1970 = false;
    int explained = 0;
    for (int i = 0; i < 2; ++i) {
        TempDir dir;
        const std::string base = dir.database("base.db", gen.base_sql());
        const std::string rules = dir.write("rules.yaml", gen.rules(i));
        // The first pair's rules leave customers unplaced: only the second is explained, for
        // its last customer (each explanation takes ClickHouse seconds to plan; PostgreSQL's
        // test above explains five pairs).
        if (i == 0) continue;
        std::stringstream text;
        text << std::ifstream(rules).rdbuf();
        INFO("rules:\n" << text.str());
        CAPTURE(i);
        const int customers = static_cast<int>(count_rows(base, "customers"));
        ClusterDatabase ch;
        ch.load(base);
        explained += compare_explanations(rules, base, ch.url, {customers});
    }
    CHECK(explained == 1);
}

// A rule file whose compiled explanation is past ClickHouse's default limits (50,000 syntax
// tree elements; 256 KiB of query text with more segments): strata raises them for its own
// long queries. Before, the server refused the query ("AST is too big").
TEST_CASE("explain inside ClickHouse: a query past the server's default size limits") {
    TempDir dir;
    const std::string base = dir.database("base.db", R"(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE,
  amount REAL);
INSERT INTO customers VALUES (1), (2);
INSERT INTO orders VALUES (1, 1, '2026-01-01', 12.5), (2, 2, '2026-01-01', 2);
)");
    std::string text = R"(ruleset: long
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  rev: sum(orders.amount)
  avg_bill: avg(orders.amount)
general:
  segments:
    - id: buyers
      when: rev > 0
    - id: rest
      when: otherwise
tactical:
)";
    for (int i = 0; i < 3; ++i)
        text += "  - id: t" + std::to_string(i) + "\n    when: round(avg_bill, 2) % " +
                std::to_string(i + 2) + ".5 > 1 or round(rev * " + std::to_string(i + 1) +
                ", 1) > 1000\n    within: all\n";
    const std::string rules = dir.write("rules.yaml", text);
    ClusterDatabase ch;
    ch.load(base);
    CHECK(compare_explanations(rules, base, ch.url, {1}) == 1);
}

namespace {

// Every population function with a fit, records, xyz over cv, and aggregates with `where`.
const char* const kScoredRules = R"(ruleset: scored
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  grade: rfm(recency: max(orders.order_date), frequency: count(orders), monetary: revenue, bins: 2)
  band: ntile(revenue, 4)
  share: abc(revenue, a: 0.5)
  big: count(orders where amount >= 50)
  sized: sum(orders.items where category != 'c')
general:
  policy: first_match
  segments:
    - id: best
      when: grade.r == 2 and grade.code != '111' and share == 'A'
    - id: ranked
      when: percent_rank(revenue) > 0.6 and band >= 3
    - id: steady
      when: share + xyz(cv(orders.amount where category != 'c', per: month, over: 12mo), x: 0.5, y: 1) == 'BX' or big >= 3
    - id: sized
      when: sized > 6
    - id: rest
      when: otherwise
)";

// The explanation of `customer` at `url` (JSON), with what must be there: the record's value,
// a `because` under each population call, the fact rows under each aggregate. True when the
// customer has orders (and so a record with scores).
bool check_scored(const std::string& rules, const std::string& url, const std::string& customer) {
    CAPTURE(url);
    CAPTURE(customer);
    const Run there = run_cli({"explain", rules, "--db", url, "--customer", customer, "--as-of",
                               "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    // grade.r == 2: the field, the let `grade` (a record) and its rfm call (a record).
    const std::string field = "$.tried[0].condition.children[0].children[0].children[0]";
    const std::string let = field + ".children[0]", call = let + ".children[0]";
    CHECK(json_at(there.out, field + ".kind") == "field");
    CHECK(json_at(there.out, let + ".kind") == "let");
    CHECK(json_at(there.out, let + ".computed") == "<none>");
    CHECK(json_at(there.out, call + ".kind") == "population");
    CHECK(json_at(there.out, call + ".value") == json_at(there.out, let + ".value"));
    CHECK(json_at(there.out, call + ".because").rfind("r: max(orders.order_date) ", 0) == 0);
    // grade.r's own because: the recency ranking alone.
    CHECK(json_at(there.out, field + ".because").rfind("max(orders.order_date) ", 0) == 0);
    // count(orders) under the rfm call: every order up to as_of, none without a value.
    const std::string count = call + ".children[1]";
    CHECK(json_at(there.out, count + ".kind") == "aggregate");
    CHECK(json_at(there.out, count + ".rows") == json_at(there.out, count + ".value"));
    CHECK(json_at(there.out, count + ".fact") == "orders");
    // percent_rank(revenue) and ntile(revenue, 4) say why.
    CHECK(json_at(there.out, "$.tried[1].condition.children[0].children[0].because")
              .find("ranked customers have a smaller revenue") != std::string::npos);
    CHECK(json_at(there.out, "$.tried[1].condition.children[1].children[0].children[0].because")
              .find(" of bin ") != std::string::npos);
    if (json_at(there.out, count + ".value") == "0") return false;
    // {r, f, m, code}: a customer with orders has a recency, so every field is there.
    CHECK(json_at(there.out, let + ".value").size() > 8);
    return true;
}

}  // namespace

TEST_CASE("explain inside the warehouse: records, cut points and fact rows, node by node") {
    TempDir dir;
    Gen gen{std::mt19937(7), true};
    const std::string base = dir.database("base.db", gen.base_sql());
    const std::string rules = dir.write("rules.yaml", kScoredRules);
    // The first and the last customer, and three with orders.
    std::vector<int> keys = {1, static_cast<int>(count_rows(base, "customers"))};
    {
        SQLite::Database db(base, SQLite::OPEN_READONLY);
        SQLite::Statement q(db,
                            "SELECT DISTINCT customer_id FROM orders WHERE customer_id > 1 "
                            "ORDER BY customer_id LIMIT 3");
        while (q.executeStep())
            keys.push_back(q.getColumn(0).getInt());
    }
    auto pg = RunDatabase::create();
    pg.load(base);
    CHECK(compare_explanations(rules, base, pg.url, keys) == static_cast<int>(keys.size()));
    int with_orders = 0;
    for (const int key : keys)
        with_orders += check_scored(rules, pg.url, std::to_string(key));
    CHECK(with_orders >= 2);
    const Run text =
        run_cli({"explain", rules, "--db", pg.url, "--customer", "1", "--as-of", "2026-11-01"});
    CHECK(text.out.find("not computed") == std::string::npos);
    CHECK(text.out.find("computed inside postgresql://") != std::string::npos);
    CHECK(text.out.find("because") != std::string::npos);
    CHECK(text.out.find(" rows of orders") != std::string::npos);
    // ClickHouse plans each explanation for seconds: the last customer and two with orders,
    // compared leaf by leaf with SQLite's explanations, whose content the checks above hold.
    ClusterDatabase ch;
    ch.load(base);
    CHECK(compare_explanations(rules, base, ch.url, {keys[1], keys[2], keys[3]}) == 3);
}

// Population functions over a datetime (the latest order's moment): the servers' cut points
// come back as seconds and are datetimes, in the run's listing and in explain's because.
TEST_CASE("population functions over datetimes inside the warehouse: cut points and because") {
    TempDir dir;
    const std::string base = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);
INSERT INTO customers VALUES (1), (2), (3), (4), (5), (6), (7), (8);
CREATE TABLE orders (customer_id INTEGER, order_date DATETIME, amount REAL);
INSERT INTO orders VALUES (1, '2026-01-10T15:00:00', 10), (2, '2026-01-19T20:00:00', 20),
  (3, '2026-01-29T01:00:00', 30), (4, '2026-02-07T06:00:00', 40), (5, '2026-02-16T11:00:00', 50),
  (6, '2026-02-25T16:00:00', 60), (7, '2026-03-06T21:00:00', 70), (8, '2026-03-16T02:00:00', 80),
  (1, '2025-06-02T10:00:00', 5), (3, '2025-06-04T10:00:00', 5);
)sql");
    const std::string rules = dir.write("rules.yaml", R"yaml(ruleset: moments
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  last_order: max(orders.order_date)
  score: "rfm(recency: last_order, frequency: count(orders), monetary: sum(orders.amount), bins: 3)"
  tile: ntile(last_order, 4)
general:
  policy: first_match
  segments:
    - id: recent
      when: score.r >= 3 and percent_rank(last_order) > 0.5
    - id: late
      when: tile >= 3
    - id: rest
      when: otherwise
)yaml");
    auto pg = RunDatabase::create();
    pg.load(base);
    ClusterDatabase ch;
    ch.load(base);
    CHECK(compare_explanations(rules, base, pg.url, {2, 8}) == 2);
    CHECK(compare_explanations(rules, base, ch.url, {8}) == 1);
    const Run lite = run_cli(
        {"run", rules, "--db", base, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE(lite.code == 0);
    const std::string cuts = json_at(lite.out, "$.populations");
    CHECK(cuts.find("2026-03-06T21:00:00") != std::string::npos);
    for (const std::string& url : {pg.url, ch.url}) {
        CAPTURE(url);
        const Run there = run_cli(
            {"run", rules, "--db", url, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
        REQUIRE_MESSAGE(there.code == 0, there.err);
        CHECK(json_at(there.out, "$.populations") == cuts);
    }
}

TEST_CASE("explain inside the warehouse: refusals and usage errors") {
    TempDir dir;
    Gen gen{std::mt19937(11), true};
    const std::string base = dir.database("base.db", gen.base_sql());
    auto pg = RunDatabase::create();
    pg.load(base);
    const std::string refused = dir.write("refused.yaml", R"(ruleset: refused
version: 1
source:
  customers: customers
  key: customer_id
general:
  policy: first_match
  segments:
    - id: gold
      when: matches(tier, '^g\d')
    - id: rest
      when: otherwise
)");
    const Run r = run_cli({"explain", refused, "--db", pg.url, "--customer", "1"});
    CHECK(r.code == 1);
    CHECK(r.err.find("refused.yaml:10:13") != std::string::npos);
    const Run run = run_cli({"explain", refused, "--db", pg.url, "--customer", "1", "--run", "1"});
    CHECK(run.code == 2);  // no run is stored there yet
    CHECK(run.err.find("no runs are stored in 'postgresql://") != std::string::npos);
    const Run state =
        run_cli({"explain", refused, "--db", pg.url, "--customer", "1", "--state", "x.db"});
    CHECK(state.code == 2);
    CHECK(state.err.find("--state") != std::string::npos);
    const Run down =
        run_cli({"explain", refused, "--db",
                 "postgresql://postgres@127.0.0.1:" + std::to_string(closed_port()) + "/x",
                 "--customer", "1"});
    CHECK(down.code == 2);
    CHECK(down.err.find("cannot connect") != std::string::npos);
}

namespace {

const char* const kStoredRules = R"(ruleset: stored
version: 1
source:
  customers: customers
  key: customer_id
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
general:
  policy: first_match
  segments:
    - id: big
      when: revenue >= 300
    - id: rest
      when: otherwise
tactical:
  - id: golden
    when: tier == 'gold'
    within: all
)";

// explain --run on SQLite and at `url` (the same runs stored in both): the same document, the
// stored placement included.
bool compare_stored(const std::vector<std::string>& args, const std::string& sqlite,
                    const std::string& url) {
    std::vector<std::string> lite_args = args, there_args = args;
    lite_args.insert(lite_args.end(), {"--db", sqlite, "--format", "json"});
    there_args.insert(there_args.end(), {"--db", url, "--format", "json"});
    const Run lite = run_cli(lite_args);
    const Run there = run_cli(there_args);
    INFO(lite.err);
    INFO(there.err);
    REQUIRE(there.code == lite.code);
    if (lite.code != 0) {
        // The same sentence up to where the store is named.
        CHECK(json_at(there.out, "$.error.message").substr(0, 24) ==
              json_at(lite.out, "$.error.message").substr(0, 24));
        return false;
    }
    CHECK(json_at(there.out, "$.stored.run") == json_at(lite.out, "$.stored.run"));
    CHECK(first_difference(explained_leaves(there.out), explained_leaves(lite.out)) == "");
    CHECK(uncomputed(there.out) == "");
    return true;
}

// Two runs stored in SQLite and at `url` (the base changed between them); the checks of
// explain --run against both.
template <class Reload>
void check_stored_runs(const TempDir& dir, const std::string& base, const std::string& embedded,
                       const std::string& url, Reload reload,
                       const std::vector<std::string>& run_extra) {
    const std::string rules = dir.write("stored.yaml", kStoredRules);
    for (const char* as_of : {"2026-03-31", "2026-11-01"}) {
        std::vector<std::string> lite = {"run", rules, "--db", embedded, "--as-of", as_of};
        std::vector<std::string> there = {"run", rules, "--db", url, "--as-of", as_of};
        there.insert(there.end(), run_extra.begin(), run_extra.end());
        REQUIRE(run_cli(lite).code == 0);
        const Run r = run_cli(there);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        if (std::string(as_of) == "2026-11-01") break;
        SQLite::Database(embedded, SQLite::OPEN_READWRITE).exec(kChange);
        SQLite::Database(base, SQLite::OPEN_READWRITE).exec(kChange);
        reload();
    }
    // Customers still in the base after the change (the first three), each explained with
    // run 1 (as_of 2026-03-31, before the change) beside, and with the ruleset's name (the
    // run's own registered version).
    SQLite::Database now(embedded, SQLite::OPEN_READONLY);
    SQLite::Statement q(now, "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 3");
    int stored_compared = 0;
    while (q.executeStep()) {
        const std::string customer = q.getColumn(0).getString();
        CAPTURE(customer);
        stored_compared +=
            compare_stored({"explain", rules, "--customer", customer, "--run", "1"}, embedded, url);
        compare_stored({"explain", rules, "--customer", customer}, embedded, url);
        stored_compared += compare_stored(
            {"explain", "stored", "--customer", customer, "--run", "1"}, embedded, url);
    }
    CHECK(stored_compared >= 4);
    // A changed file beside the run of version 1: noted, on both.
    std::string changed = kStoredRules;
    changed.replace(changed.find("version: 1"), 10, "version: 2");
    changed.replace(changed.find("revenue >= 300"), 14, "revenue >= 100");
    const std::string v2 = dir.write("stored-v2.yaml", changed);
    compare_stored({"explain", v2, "--customer", "2", "--run", "2"}, embedded, url);
    const Run noted = run_cli({"explain", v2, "--customer", "2", "--run", "2", "--db", url});
    CHECK(noted.out.find("is not the rule file run 2 used") != std::string::npos);
    // What does not exist: exit 2 on both.
    compare_stored({"explain", rules, "--customer", "2", "--run", "9"}, embedded, url);
    compare_stored({"explain", rules, "--customer", "999", "--run", "1"}, embedded, url);
    // A key that does not spell an integer, where the keys are integers: not in the base, in
    // the same words (PostgreSQL's statement was refused a parameter it did not name).
    for (const auto& [key, shown] : std::vector<std::pair<std::string, std::string>>{
             {"00002", "'00002'"}, {"abc", "abc"}, {"2 ", "'2 '"}}) {
        CAPTURE(key);
        const Run there = run_cli({"explain", rules, "--customer", key, "--db", url});
        CHECK(there.code == 2);
        CHECK(there.err.find("customer " + shown + " is not in the base") != std::string::npos);
        compare_stored({"explain", rules, "--customer", key}, embedded, url);
    }
    // Population calls rank the base as it is now inside the warehouse, not with the run's
    // cut points: said, and only when the rules have such a call.
    std::string ranked = kStoredRules;
    ranked.replace(ranked.find("ruleset: stored"), 15, "ruleset: ranked");
    ranked.replace(ranked.find("revenue >= 300"), 14, "ntile(revenue, 2) == 2");
    const std::string ranked_file = dir.write("ranked.yaml", ranked);
    std::vector<std::string> run_ranked = {"run", ranked_file, "--db",
                                           url,   "--as-of",   "2026-11-01"};
    run_ranked.insert(run_ranked.end(), run_extra.begin(), run_extra.end());
    REQUIRE(run_cli(run_ranked).code == 0);
    const Run told = run_cli({"explain", "ranked", "--customer", "2", "--db", url});
    CHECK(told.code == 0);
    CHECK(told.out.find("note: the population calls rank the base as it is in the warehouse "
                        "now, not with run ") != std::string::npos);
    CHECK(noted.out.find("rank the base") == std::string::npos);
}

}  // namespace

TEST_CASE("explain --run inside the warehouse: the stored placement beside the fresh one") {
    Gen gen{std::mt19937(23), true};
    TempDir dir;
    const std::string sql = gen.base_sql();
    const std::string base = dir.database("base.db", sql);
    {
        const std::string embedded = dir.database("embedded.db", sql);
        auto pg = RunDatabase::create();
        pg.load(base);
        check_stored_runs(dir, base, embedded, pg.url, [&] { pg.load(base); }, {});
    }
    {
        const std::string base2 = dir.database("base2.db", sql);
        const std::string embedded = dir.database("embedded2.db", sql);
        ClusterDatabase ch;
        ch.load(base2);
        check_stored_runs(dir, base2, embedded, ch.url, [&] { ch.load(base2); }, {});
    }
}
