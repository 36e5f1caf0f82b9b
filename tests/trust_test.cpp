// What a new user's first hour turned up (issue 8): results and contracts a careful user
// relies on. Each case fails without its fix.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>

#include "engine/exact_sum.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Writes a customers table with the given integer keys and a `tier` column.
std::string keyed_base(const TempDir& dir, const std::string& name,
                       const std::vector<int64_t>& keys) {
    const std::string path =
        dir.database(name,
                     "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT);"
                     "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);");
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    SQLite::Statement add(db, "INSERT INTO customers VALUES (?, ?)");
    SQLite::Statement order(db, "INSERT INTO orders VALUES (?, 10, '2026-01-01')");
    for (int64_t k : keys) {
        add.bind(1, k);
        add.bind(2, k % 2 == 0 ? "even" : "odd");
        add.exec();
        add.reset();
        order.bind(1, k);
        order.exec();
        order.reset();
    }
    return path;
}

const char* kTwoSegments = R"(ruleset: keys
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n: count(orders)
general:
  segments:
    - id: even
      when: tier == 'even' and n == 1
    - id: rest
      when: otherwise
)";

}  // namespace

TEST_CASE("integer keys at both ends of the 64-bit range, and a random mix, all place") {
    TempDir dir;
    const auto rules = dir.write("r.yaml", kTwoSegments);
    const int64_t lo = std::numeric_limits<int64_t>::min();
    const int64_t hi = std::numeric_limits<int64_t>::max();
    std::mt19937_64 random(7);
    std::vector<int64_t> mixed{lo, hi, 0, -1, 1, lo + 1, hi - 1};
    while (mixed.size() < 200)
        mixed.push_back(static_cast<int64_t>(random()));
    for (const auto& keys : {std::vector<int64_t>{lo, hi}, std::vector<int64_t>{lo, hi, 0, 3},
                             std::vector<int64_t>{lo}, mixed}) {
        CAPTURE(keys.size());
        const auto db = keyed_base(dir, "k" + std::to_string(keys.size()) + ".db", keys);
        auto r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        auto e = run_cli({"export", rules, "--db", db});
        REQUIRE_MESSAGE(e.code == 0, e.err);
        // Every customer is exported once, in its segment; each found its one order.
        std::set<int64_t> distinct(keys.begin(), keys.end());
        for (int64_t k : distinct) {
            const std::string line = std::to_string(k) + (k % 2 == 0 ? ",even," : ",rest,");
            CHECK_MESSAGE(e.out.find("\n" + line) != std::string::npos, line);
        }
        CHECK(static_cast<size_t>(std::count(e.out.begin(), e.out.end(), '\n')) ==
              distinct.size() + 1);
        CHECK(r.out.find("0 findings") != std::string::npos);
    }
}

TEST_CASE("an empty or blank customer key is no key: counted as a finding and left out") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id TEXT, tier TEXT);
INSERT INTO customers VALUES ('a1', 'gold'), ('', 'gold'), ('   ', 'gold'), (NULL, 'gold'),
  (char(9, 13, 10), 'gold'), (char(160), 'gold'), ('b2', 'silver'),
  (char(133), 'gold'), (char(8232), 'gold'), (char(8199, 8239), 'gold'), (char(65279), 'gold'),
  (char(8203, 32), 'gold'), (char(160, 98, 51), 'gold');
CREATE TABLE orders (customer_id TEXT, amount REAL, order_date DATE);
INSERT INTO orders VALUES ('', 5, '2026-01-01'), ('a1', 7, '2026-01-01');
)sql");
    const auto rules = dir.write("r.yaml", R"(ruleset: blank-keys
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
general:
  segments:
    - id: gold
      when: tier == 'gold'
    - id: rest
      when: otherwise
)");
    auto r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // ... and so are line breaks, spaces and zero-width characters beyond ASCII.
    CHECK(json_at(r.out, "$.customers") == "3");
    CHECK(json_at(r.out, "$.data_quality.null_keys") == "10");
    // The order with an empty key belongs to nobody.
    CHECK(json_at(r.out, "$.data_quality.orphan_fact_rows.orders") == "1");
    auto e = run_cli({"export", rules, "--db", db});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK(e.out.find("\n,") == std::string::npos);
    CHECK(e.out.find("\na1,gold,") != std::string::npos);
    CHECK(e.out.find("\nb2,rest,") != std::string::npos);
    // The compiled query leaves the same rows out.
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(compiled.code == 0, compiled.err);
    SQLite::Database base(db, SQLite::OPEN_READONLY);
    CHECK(base.execAndGet("SELECT count(*) FROM (" +
                          compiled.out.substr(0, compiled.out.find_last_of(';')) + ")")
              .getInt() == 3);
}

TEST_CASE("fact rows whose time is unknown are left out of every aggregate, and counted") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);
INSERT INTO customers VALUES (1), (2);
CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);
INSERT INTO orders VALUES (1, 10, '2026-10-01'), (1, 1000, NULL), (1, 500, '18.10.2026'),
  (2, 20, '2026-11-01'), (2, 30, '2026-11-02');
)sql");
    const auto rules = dir.write("r.yaml", R"(ruleset: unknown-time
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
  n: count(orders)
  biggest: max(orders.amount)
general:
  segments:
    - id: big
      when: spent > 100 or n > 1 or biggest > 100
    - id: small
      when: otherwise
)");
    auto r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // Customer 1 has one order known to be in time; 2 has one on the as_of day, one after.
    CHECK(json_at(r.out, "$.segments[1].id") == "small");
    CHECK(json_at(r.out, "$.segments[1].count") == "2");
    CHECK(json_at(r.out, "$.data_quality.unknown_time_fact_rows.orders") == "2");
    CHECK(json_at(r.out, "$.data_quality.facts_after_as_of.orders") == "1");
    auto t = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    CHECK(t.out.find("2 rows of orders with unknown time left out") != std::string::npos);
    // The one that did not convert is a finding of its own as well.
    CHECK(t.out.find("1 value in orders.order_date did not convert") != std::string::npos);
}

namespace {

// 200 customers with two-decimal order amounts; each customer's `target` is the exact
// decimal total of their orders, so `spent >= target` sits right on the boundary.
struct DecimalBase {
    struct Order {
        int64_t customer;
        int64_t cents;
        std::string day;
    };
    std::vector<Order> orders;
    std::map<int64_t, int64_t> total_cents;

    DecimalBase() {
        std::mt19937_64 random(2026);
        for (int64_t c = 1; c <= 200; ++c) {
            const int n = 1 + static_cast<int>(random() % 9);
            for (int k = 0; k < n; ++k) {
                const auto cents = static_cast<int64_t>(random() % 100000);
                const int month = 1 + static_cast<int>(random() % 10);
                char day[16];
                std::snprintf(day, sizeof day, "2026-%02d-%02d", month,
                              1 + static_cast<int>(random() % 28));
                orders.push_back({c, cents, day});
                total_cents[c] += cents;
            }
        }
    }

    static std::string decimal(int64_t cents) {
        char text[32];
        std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                      static_cast<long long>(cents % 100));
        return text;
    }

    // Writes the base with the orders in the given order.
    std::string write(const TempDir& dir, const std::string& name,
                      const std::vector<size_t>& order) const {
        const std::string path = dir.database(
            name,
            "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, target REAL);"
            "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);");
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        db.exec("BEGIN");
        for (const auto& [c, cents] : total_cents)
            db.exec("INSERT INTO customers VALUES (" + std::to_string(c) + ", " + decimal(cents) +
                    ")");
        SQLite::Statement add(db, "INSERT INTO orders VALUES (?, ?, ?)");
        for (size_t i : order) {
            const Order& o = orders[i];
            add.bind(1, o.customer);
            add.bind(2, std::stod(decimal(o.cents)));
            add.bind(3, o.day);
            add.exec();
            add.reset();
        }
        db.exec("COMMIT");
        return path;
    }
};

}  // namespace

TEST_CASE("sums, averages and cv do not depend on the order of the fact rows") {
    TempDir dir;
    const DecimalBase base;
    const auto rules = dir.write("r.yaml", R"(ruleset: shuffled
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  spent: sum(orders.amount)
  average: avg(orders.amount)
  wobble: cv(orders.amount, per: month, over: 12mo)
value: spent
general:
  segments:
    - id: reached
      when: spent >= target
      tactical:
        - id: steady
          when: wobble < 1.5
        - id: big_average
          when: average * count(orders) >= target
    - id: short
      when: otherwise
)");
    std::vector<size_t> order(base.orders.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::mt19937_64 random(11);
    std::string first_export, first_value;
    for (int round = 0; round < 12; ++round) {
        CAPTURE(round);
        if (round > 0) std::shuffle(order.begin(), order.end(), random);
        const auto db = base.write(dir, "b" + std::to_string(round) + ".db", order);
        auto r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        auto e = run_cli({"export", rules, "--db", db});
        REQUIRE(e.code == 0);
        if (round == 0) {
            first_export = e.out;
            first_value = json_at(r.out, "$.value_total");
            // The exact total is the target, to the last bit: every customer reaches it.
            CHECK(json_at(r.out, "$.segments[0].count") == "200");
        }
        CHECK(e.out == first_export);
        CHECK(json_at(r.out, "$.value_total") == first_value);
    }
}

TEST_CASE(
    "a typo in the rules is a rule problem for run as for check, and a missing table is the "
    "database's") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT);
CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);
INSERT INTO customers VALUES (1, 'paid');
)sql");
    auto file = [&](const std::string& facts, const std::string& when) {
        return dir.write("r.yaml", "ruleset: typo\nversion: 1\nsource:\n  facts:\n    " + facts +
                                       "\ngeneral:\n  segments:\n    - id: a\n      when: " + when +
                                       "\n    - id: b\n      when: otherwise\n");
    };
    const std::string orders = "orders: { table: orders, key: customer_id, time: order_date }";
    struct Case {
        const char* what;
        std::string facts;
        std::string when;
        int code;
        const char* kind;
    };
    const std::vector<Case> cases = {
        {"unknown customer column", orders, "plna == 'paid'", 1, "rules"},
        {"unknown fact column", orders, "sum(orders.amout) > 1", 1, "rules"},
        {"unknown function", orders, "lenght(plan) > 1", 1, "rules"},
        {"missing key column", "orders: { table: orders, key: client_id }", "plan == 'paid'", 1,
         "rules"},
        {"missing table", "orders: { table: ordres, key: customer_id }", "plan == 'paid'", 2,
         "database"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        const auto rules = file(c.facts, c.when);
        auto check = run_cli({"check", rules, "--db", db});
        CHECK(check.code == 1);
        auto run = run_cli({"run", rules, "--db", db, "--format", "json"});
        CHECK_MESSAGE(run.code == c.code, run.err);
        CHECK(json_at(run.out, "$.error.kind") == c.kind);
    }
}

namespace {

std::string offer_rules(int version, const std::string& offer, const std::string& channel) {
    return "ruleset: offers\nversion: " + std::to_string(version) +
           "\ngeneral:\n  segments:\n    - id: gold\n      when: tier == 'gold'\n"
           "      offer: '" +
           offer + "'\n      channel: " + channel +
           "\n      priority: 1\n    - id: rest\n      when: otherwise\n      priority: 3\n";
}

const char* kTierBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tier TEXT);
INSERT INTO customers VALUES (1, 'gold'), (2, 'silver'), (3, 'gold');
)sql";

}  // namespace

TEST_CASE("export writes what the run stored, whatever the rule file says now") {
    TempDir dir;
    const auto db = dir.database("base.db", kTierBase);
    const auto file = dir.write("r.yaml", offer_rules(1, "free shipping", "email"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string expected =
        "customer_key,segment,tactical,offer,channel,priority\n"
        "1,gold,,free shipping,email,1\n2,rest,,,,3\n3,gold,,free shipping,email,1\n";
    auto before = run_cli({"export", file, "--db", db});
    REQUIRE_MESSAGE(before.code == 0, before.err);
    CHECK(before.out == expected);
    // The file is edited afterwards: new offer, channel and priorities, even a new segment.
    dir.write("r.yaml",
              "ruleset: offers\nversion: 2\ngeneral:\n  segments:\n"
              "    - id: gold\n      when: tier == 'gold'\n      offer: 20% off\n"
              "      channel: sms\n      priority: 2\n    - id: rest\n"
              "      when: otherwise\n      offer: nothing\n");
    auto after = run_cli({"export", file, "--db", db});
    REQUIRE_MESSAGE(after.code == 0, after.err);
    CHECK(after.out == expected);
    CHECK(after.err.find(" is offers v2, not the v1 run 1 used") != std::string::npos);
    // Even a file whose expressions no longer compile finds the run by its ruleset.
    dir.write("r.yaml",
              "ruleset: offers\nversion: 3\ngeneral:\n  segments:\n"
              "    - id: gold\n      when: tier ==\n    - id: rest\n      when: otherwise\n");
    auto broken = run_cli({"export", file, "--db", db, "--format", "jsonl"});
    REQUIRE_MESSAGE(broken.code == 0, broken.err);
    CHECK(json_at(broken.out.substr(0, broken.out.find('\n')), "$.offer") == "free shipping");
}

TEST_CASE(
    "export takes the run with the latest as_of by default, names it, and can say it "
    "in every row") {
    TempDir dir;
    const auto db = dir.database("base.db", kTierBase);
    const auto file = dir.write("r.yaml", offer_rules(1, "a", "email"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);  // run 1
    // Runs move forward in time: a run looking at an earlier day is refused (a dry run is
    // not), and nothing is stored.
    auto back = run_cli({"run", file, "--db", db, "--as-of", "2026-06-01"});
    CHECK(back.code == 2);
    CHECK(back.err.find("was last run as of 2026-11-01 (run 1)") != std::string::npos);
    CHECK(run_cli({"run", file, "--db", db, "--as-of", "2026-06-01", "--dry-run"}).code == 0);
    CHECK(count_rows(db, "strata_runs") == 1);
    // State written by earlier versions may still hold a later-made run of an earlier day:
    // run 2 here. Run 1 is still the latest as_of.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "INSERT INTO strata_runs SELECT 2, ruleset, version, rules_sha256, rules_path, "
            "'2026-06-01', started_at, finished_at, status, customers, summary FROM "
            "strata_runs WHERE run_id = 1");
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("UPDATE customers SET tier = 'gold'");
    auto e = run_cli({"export", file, "--db", db, "--with-run"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK(e.out ==
          "customer_key,segment,tactical,offer,channel,priority,run_id,as_of\n"
          "1,gold,,a,email,1,1,2026-11-01\n2,rest,,,,3,1,2026-11-01\n"
          "3,gold,,a,email,1,1,2026-11-01\n");
    CHECK(e.err.find("run 1 of offers v1, as_of 2026-11-01, 3 customers") != std::string::npos);
    auto second = run_cli({"export", file, "--db", db, "--run", "2"});
    CHECK(second.err.find("run 2 of offers v1, as_of 2026-06-01") != std::string::npos);
    // Of runs on the same as_of, the highest id.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);  // run 3
    auto latest = run_cli({"export", file, "--db", db, "--with-run"});
    CHECK(latest.out.find("\n2,gold,,a,email,1,3,2026-11-01\n") != std::string::npos);
}

TEST_CASE(
    "export guards CSV cells against spreadsheet formulas, and --raw writes them as they are") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id TEXT, tier TEXT);
INSERT INTO customers VALUES ('=1+2', 'gold'), ('@SUM(A1)', 'silver'), ('-7', 'silver'),
  ('plain', 'gold');
)sql");
    const auto file =
        dir.write("r.yaml", offer_rules(1, "=HYPERLINK(\"http://evil.example\",\"win\")", "+sms"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    auto e = run_cli({"export", file, "--db", db});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK(e.out ==
          "customer_key,segment,tactical,offer,channel,priority\n"
          "'-7,rest,,,,3\n"
          "'=1+2,gold,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"win\"\")\",'+sms,1\n"
          "'@SUM(A1),rest,,,,3\n"
          "plain,gold,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"win\"\")\",'+sms,1\n");
    auto raw = run_cli({"export", file, "--db", db, "--raw"});
    CHECK(raw.out.find("\n=1+2,gold,,\"=HYPERLINK(") != std::string::npos);
    CHECK(raw.out.find("\n-7,rest,") != std::string::npos);
    // An integer key is a number, never a formula.
    const auto numbers = dir.database("n.db",
                                      "CREATE TABLE customers (customer_id INTEGER, tier "
                                      "TEXT); INSERT INTO customers VALUES (-5, 'x');");
    REQUIRE(run_cli({"run", file, "--db", numbers, "--as-of", "2026-11-01"}).code == 0);
    CHECK(run_cli({"export", file, "--db", numbers}).out.find("\n-5,rest,") != std::string::npos);
}

TEST_CASE("the stored summary carries the rule file's warnings, as run prints them") {
    TempDir dir;
    const auto db = dir.database("base.db", kTierBase);
    const auto file = dir.write("r.yaml",
                                "ruleset: warned\nversion: 1\nlet:\n  unused: 1\n"
                                "general:\n  segments:\n    - id: gold\n"
                                "      when: tier == 'gold'\n    - id: rest\n"
                                "      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.warnings[0].code") == "unused-let");
    SQLite::Database state(db, SQLite::OPEN_READONLY);
    const std::string summary =
        state.execAndGet("SELECT summary FROM strata_runs WHERE run_id = 1").getString();
    CHECK(json_at(summary, "$.warnings") == json_at(r.out, "$.warnings"));
}

TEST_CASE("fact keys find customers: equal integers, or a text spelled exactly as the integer") {
    TempDir dir;
    // Keys without a declared type keep what was stored: 9.0 stays a fraction there.
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id, tier TEXT);
INSERT INTO customers VALUES (5, 'a'), (7, 'b'), (9.0, 'c'), (2.5, 'd'), ('00123', 'e');
CREATE TABLE orders (customer_id, amount INTEGER);
INSERT INTO orders VALUES ('5', 1), ('05', 10), (' 5', 100), ('5.0', 1000), (5.0, 10000),
  (7, 1), ('7', 10), (9, 1), ('9', 10), (2.5, 1), ('2.5', 10), (123, 1), ('00123', 10);
)sql");
    const auto rules = dir.write("r.yaml", R"(ruleset: fact-keys
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id }
let:
  total: sum(orders.amount)
general:
  segments:
    - id: all
      when: true
)");
    auto r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto e = run_cli({"export", rules, "--db", db});
    // 9.0 is the integer key 9; 2.5 stays a fraction and is found by its text.
    CHECK(e.out.find("\n9,all,") != std::string::npos);
    CHECK(e.out.find("\n2.5,all,") != std::string::npos);
    // '05', ' 5', '5.0' and 123 (for the text key '00123') find no one.
    CHECK(json_at(r.out, "$.data_quality.orphan_fact_rows.orders") == "4");
    auto totals = run_cli({"run", dir.write("t.yaml", R"(ruleset: fact-keys-totals
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id }
let:
  total: sum(orders.amount)
general:
  segments:
    - id: five
      when: total == 10001
    - id: seven
      when: total == 11
    - id: other
      when: otherwise
)"),
                           "--db", db, "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(totals.code == 0, totals.err);
    CHECK(json_at(totals.out, "$.segments[0].count") == "1");  // 5: '5' and 5.0
    CHECK(json_at(totals.out, "$.segments[1].count") == "3");  // 7, 9 and 2.5 (00123: 10)
}

TEST_CASE("the fast conversion to sum units agrees with the exact one on every kind of value") {
    std::mt19937_64 random(99);
    auto same = [](double x) {
        const auto fast = strata::to_sum_units(x);
        const auto exact = strata::to_sum_units_exact(x);
        return fast.has_value() == exact.has_value() && (!fast || *fast == *exact);
    };
    size_t checked = 0, differ = 0;
    auto check = [&](double x) {
        ++checked;
        if (!same(x)) {
            ++differ;
            if (differ < 5) MESSAGE("differs at " << x);
        }
    };
    for (int i = 0; i < 300000; ++i) {
        const auto cents = static_cast<int64_t>(random() % 100000000) - 50000000;
        check(static_cast<double>(cents) / 100.0);  // money
        // Just around half a unit, where rounding decides: (k + 0.5) / 10^9 and neighbours.
        const double half = (static_cast<double>(random() % 10000000) + 0.5) / 1e9;
        check(half);
        check(std::nextafter(half, 0.0));
        check(std::nextafter(half, 1.0));
        // Any bits at all: every exponent, subnormals, infinities and NaN.
        check(std::bit_cast<double>(random()));
        // Magnitudes across the fast path's edge (about 2^51 units, 2.25e6).
        check(std::ldexp(static_cast<double>(random() >> 11), -static_cast<int>(random() % 60)));
    }
    for (double x : {0.0, -0.0, 5e-10, -5e-10, 1.5e-9, 2.5e-9, 2251799.8136832, 2251799.8136831,
                     -2251799.8136832, 1e29, 1.7e29, -1.7e29, 1e300, 4.9e-324})
        check(x);
    CHECK(checked > 1000000);
    CHECK(differ == 0);
}
