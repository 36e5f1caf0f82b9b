// The demo bases' second state (`demo-data --advance`) and the car dealer's lifecycle rules on
// the `auto` base: the advanced base is the base plus the period, byte for byte the same on
// every run, and a run at the later as_of over the same state shows customers moving.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "test_support.hpp"

using namespace strata::testing;
namespace fs = std::filesystem;

namespace {

const std::string kRules = std::string(STRATA_SOURCE_DIR) + "/rules/";

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A demo base of `kind` with 1,500 customers, advanced by `advance` when it is not empty.
std::string make_base(const TempDir& dir, const std::string& kind, const std::string& advance,
                      const std::string& name) {
    std::vector<std::string> args{"demo-data", "--kind", kind,          "--customers",
                                  "1500",      "--out",  dir.file(name)};
    if (!advance.empty()) {
        args.push_back("--advance");
        args.push_back(advance);
    }
    const auto r = run_cli(args);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return dir.file(name);
}

int64_t count(SQLite::Database& db, const std::string& sql) {
    return db.execAndGet(sql).getInt64();
}

// General segment id → count of a `run --format json` document.
std::map<std::string, int64_t> general_counts(const std::string& doc) {
    std::map<std::string, int64_t> counts;
    for (int i = 0;; ++i) {
        const std::string at = "$.segments[" + std::to_string(i) + "]";
        const std::string id = json_at(doc, at + ".id");
        if (id == "<none>") break;
        counts[id] = std::stoll(json_at(doc, at + ".count"));
    }
    return counts;
}

}  // namespace

TEST_CASE("the auto lifecycle rules place the auto demo base in all four stages, checked clean") {
    TempDir dir;
    const auto db = make_base(dir, "auto", "", "auto.db");
    const auto check = run_cli({"check", kRules + "auto-lifecycle.yaml", "--db", db, "--strict"});
    CHECK_MESSAGE(check.code == 0, check.out);
    CHECK(check.out.find("0 errors, 0 warnings") != std::string::npos);
    const auto r = run_cli({"run", kRules + "auto-lifecycle.yaml", "--db", db, "--as-of",
                            "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto counts = general_counts(r.out);
    CHECK(counts.size() == 4);
    for (const char* stage : {"prospect", "lead", "owner", "owner_prospect"}) {
        CAPTURE(stage);
        REQUIRE(counts.count(stage));
        // Each stage a real part of the base, none most of it.
        CHECK(counts.at(stage) >= 150);
        CHECK(counts.at(stage) <= 750);
    }
}

TEST_CASE("--advance gives the same base plus facts dated inside the period, the same bytes") {
    TempDir dir;
    // Kinds whose customers only gain rows: every customer row of the base stays as it was.
    // (Plain variables, not structured bindings: CAPTURE's lambda cannot refer to those.)
    struct Case {
        std::string kind, advance, last_day;
    };
    for (const Case& c : {Case{"retail", "30d", "2026-12-01"}, Case{"auto", "2w", "2026-11-15"},
                          Case{"carservice", "1mo", "2026-12-01"}}) {
        const std::string& kind = c.kind;
        const std::string& advance = c.advance;
        const std::string& last_day = c.last_day;
        CAPTURE(kind);
        const auto base = make_base(dir, kind, "", kind + ".db");
        const auto advanced = make_base(dir, kind, advance, kind + "-adv.db");
        const auto again = make_base(dir, kind, advance, kind + "-adv2.db");
        CHECK(read_bytes(advanced) == read_bytes(again));
        CHECK(read_bytes(advanced) != read_bytes(base));
        SQLite::Database db(advanced, SQLite::OPEN_READWRITE);
        db.exec("ATTACH '" + base + "' AS base");
        CHECK(count(db,
                    "SELECT count(*) FROM (SELECT * FROM base.customers EXCEPT "
                    "SELECT * FROM main.customers)") == 0);
        const int64_t newcomers = count(db, "SELECT count(*) FROM main.customers") -
                                  count(db, "SELECT count(*) FROM base.customers");
        CHECK(newcomers > 0);
        CHECK(newcomers < 150);
        SQLite::Statement facts(db,
                                "SELECT name FROM base.sqlite_master WHERE type = 'table' AND "
                                "name != 'customers' ORDER BY name");
        int tables = 0;
        while (facts.executeStep()) {
            const std::string table = facts.getColumn(0).getString();
            CAPTURE(table);
            ++tables;
            // The time column: the fact table's only DATE column.
            const std::string time = db.execAndGet("SELECT name FROM pragma_table_info('" + table +
                                                   "') WHERE type = 'DATE'")
                                         .getString();
            CHECK(count(db, "SELECT count(*) FROM (SELECT * FROM base." + table +
                                " EXCEPT SELECT * FROM main." + table + ")") == 0);
            const std::string added =
                "SELECT * FROM main." + table + " EXCEPT SELECT * FROM base." + table;
            CHECK(count(db, "SELECT count(*) FROM (" + added + ")") > 0);
            CHECK(count(db, "SELECT count(*) FROM (" + added + ") WHERE " + time +
                                " <= '2026-11-01' OR " + time + " > '" + last_day + "'") == 0);
            // New rows belong to customers of the advanced base.
            CHECK(count(db, "SELECT count(*) FROM (" + added +
                                ") WHERE customer_id NOT IN (SELECT customer_id FROM "
                                "main.customers)") == 0);
        }
        CHECK(tables >= 1);
    }
}

TEST_CASE("--advance changes the subscription kinds' customers, and keeps every one of them") {
    TempDir dir;
    const auto base = make_base(dir, "saas", "", "saas.db");
    const auto advanced = make_base(dir, "saas", "30d", "saas-adv.db");
    SQLite::Database db(advanced, SQLite::OPEN_READWRITE);
    db.exec("ATTACH '" + base + "' AS base");
    CHECK(count(db,
                "SELECT count(*) FROM base.customers WHERE customer_id NOT IN "
                "(SELECT customer_id FROM main.customers)") == 0);
    // Columns that describe the company stay; the period changes NPS and churns some.
    CHECK(count(db,
                "SELECT count(*) FROM (SELECT customer_id, company, employees, plan, "
                "signup_date FROM base.customers EXCEPT SELECT customer_id, company, "
                "employees, plan, signup_date FROM main.customers)") == 0);
    const std::string changed =
        "SELECT count(*) FROM base.customers b JOIN main.customers m USING (customer_id) WHERE ";
    CHECK(count(db, changed + "b.nps IS NOT m.nps") > 20);
    CHECK(count(db, changed + "b.deal_stage != 'churned' AND m.deal_stage = 'churned'") > 5);
    CHECK(count(db,
                "SELECT count(*) FROM (SELECT * FROM base.payments EXCEPT SELECT * FROM "
                "main.payments)") == 0);
    CHECK(db.execAndGet("SELECT max(paid_date) FROM main.payments").getString() <= "2026-12-01");
    CHECK(db.execAndGet("SELECT max(paid_date) FROM base.payments").getString() <= "2026-11-01");

    const auto streaming = make_base(dir, "streaming", "", "streaming.db");
    const auto streaming_adv = make_base(dir, "streaming", "30d", "streaming-adv.db");
    SQLite::Database s(streaming_adv, SQLite::OPEN_READWRITE);
    s.exec("ATTACH '" + streaming + "' AS base");
    CHECK(count(s,
                "SELECT count(*) FROM base.customers b JOIN main.customers m USING "
                "(customer_id) WHERE b.status = 'active' AND m.status = 'cancelled'") > 5);
    CHECK(count(s,
                "SELECT count(*) FROM main.customers m JOIN base.customers b USING "
                "(customer_id) WHERE b.status = 'trial' AND m.status = 'trial'") == 0);
}

TEST_CASE("after --advance, a run at the later as_of over the same state shows moves") {
    TempDir dir;
    for (const auto& kind_and_rules :
         {std::pair{"auto", "auto-lifecycle"}, std::pair{"retail", "retail-rfm"},
          std::pair{"carservice", "carservice-rfm"}, std::pair{"saas", "b2b-crm"},
          std::pair{"streaming", "streaming-lifecycle"}, std::pair{"telecom", "telecom-arpu"}}) {
        const std::string kind = kind_and_rules.first, rules = kind_and_rules.second;
        CAPTURE(kind);
        const auto base = make_base(dir, kind, "", kind + ".db");
        const auto advanced = make_base(dir, kind, "30d", kind + "-adv.db");
        const auto state = dir.file(kind + "-state.db");
        const auto file = kRules + rules + ".yaml";
        const auto first = run_cli({"run", file, "--db", base, "--as-of", "2026-11-01", "--state",
                                    state, "--format", "json"});
        REQUIRE_MESSAGE(first.code == 0, first.err);
        const auto second = run_cli({"run", file, "--db", advanced, "--as-of", "2026-12-01",
                                     "--state", state, "--format", "json"});
        REQUIRE_MESSAGE(second.code == 0, second.err);
        CHECK(json_at(second.out, "$.transitions.since_run") == "1");
        const long moved = std::stol(json_at(second.out, "$.transitions.moved"));
        const long customers = std::stol(json_at(second.out, "$.customers"));
        CHECK(moved > 0);
        // New customers count as moves (from none), but most of the base stays put.
        CHECK(moved * 4 < customers);
        if (kind != "auto") continue;
        // The lifecycle moves forward at every step.
        std::map<std::pair<std::string, std::string>, long> matrix;
        for (int i = 0;; ++i) {
            const std::string at = "$.transitions.matrix[" + std::to_string(i) + "]";
            if (json_at(second.out, at + ".count") == "<none>") break;
            matrix[{json_at(second.out, at + ".from"), json_at(second.out, at + ".to")}] =
                std::stol(json_at(second.out, at + ".count"));
        }
        CHECK(matrix[{"prospect", "lead"}] > 0);
        CHECK(matrix[{"lead", "owner"}] > 0);
        CHECK(matrix[{"owner", "owner_prospect"}] > 0);
        CHECK(matrix[{"<none>", "prospect"}] > 0);
    }
}

TEST_CASE("--advance is refused for the real CDNOW log and for what is not a duration") {
    TempDir dir;
    const auto cdnow =
        run_cli({"demo-data", "--kind", "cdnow", "--out", dir.file("c.db"), "--advance", "30d"});
    CHECK(cdnow.code == 2);
    CHECK(cdnow.err.find("--advance does not apply to cdnow") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("c.db")));
    for (const char* bad : {"30", "3x", "0d", "3y", "-1d"}) {
        CAPTURE(bad);
        const auto r = run_cli({"demo-data", "--kind", "retail", "--customers", "10", "--out",
                                dir.file("r.db"), "--advance", bad});
        CHECK(r.code == 2);
        CHECK(r.err.find("--advance") != std::string::npos);
        CHECK_FALSE(fs::exists(dir.file("r.db")));
    }
    const auto help = run_cli({"demo-data", "--help"});
    CHECK(help.out.find("--advance DURATION") != std::string::npos);
}

// A long advance keeps regular customers at their pace: its last month holds about as many
// orders as a one-month advance does (the cap on a customer's orders grows with the period;
// it once held a whole year to a month's worth, and the last month had half the orders).
TEST_CASE("demo-data --advance 1y keeps the pace of a month") {
    TempDir dir;
    auto last_month = [](const std::string& path) {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        return count(db,
                     "SELECT count(*) FROM orders WHERE order_date > (SELECT date(max(order_date), "
                     "'-30 days') FROM orders)");
    };
    const int64_t month = last_month(make_base(dir, "retail", "30d", "month.db"));
    const int64_t year = last_month(make_base(dir, "retail", "1y", "year.db"));
    INFO("last 30 days: " << month << " after 30d, " << year << " after 1y");
    CHECK(month > 200);
    CHECK(year * 10 >= month * 8);
    CHECK(year * 10 <= month * 14);
}
