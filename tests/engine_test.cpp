// The engine's semantics on real SQLite files: policies, nulls, tactical nesting,
// determinism, the coverage invariant, atomicity, data quality and bad databases.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "engine/reader.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::engine_fixture;

TEST_CASE(
    "first_match: the first segment whose condition is true wins, nulls fall to the catch-all") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(  policy: first_match
  segments:
    - id: lapsed
      when: status in ['cancelled', 'expired']
    - id: trialists
      when: plan == 'trial'
    - id: it
      when: industry == 'IT'
    - id: not_it
      when: industry != 'IT'
    - id: others
      when: otherwise
)"));
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto e = run_cli({"export", file, "--db", db});
    REQUIRE(e.code == 0);
    // 4 is both expired and a trialist: the first match wins. 2's industry is null: it is
    // neither 'IT' nor not 'IT', so only the catch-all takes it; so does 5, all nulls.
    CHECK(e.out ==
          "customer_key,segment,tactical,offer,channel,priority\n"
          "1,trialists,,,,\n2,others,,,,\n3,lapsed,,,,\n4,lapsed,,,,\n5,others,,,,\n6,it,,,,\n");
}

TEST_CASE("first_match without a catch-all fails when customers are left over, storing nothing") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file =
        dir.write("r.yaml", rules("  segments:\n    - id: paid\n      when: plan == 'paid'\n"
                                  "    - id: trial\n      when: plan == 'trial'\n"
                                  "    - id: lapsed\n      when: status == 'cancelled'\n"));
    auto r = run_cli({"run", file, "--db", db});
    CHECK(r.code == 1);
    CHECK(r.err.find("1 customer matches no general segment (e.g. 5)") != std::string::npos);
    CHECK(count_rows(db, "strata_runs") == 0);
}

TEST_CASE(
    "exclusive: overlaps and gaps are reported with counts and sample keys, and nothing is "
    "stored") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(  policy: exclusive
  segments:
    - id: payers
      when: plan == 'paid'
    - id: lapsed
      when: status in ['cancelled', 'expired']
    - id: trialists
      when: plan == 'trial'
)"));
    auto r = run_cli({"run", file, "--db", db});
    CHECK(r.code == 1);
    CHECK(r.err.find("1 customer matches both 'payers' and 'lapsed' (e.g. 3)") !=
          std::string::npos);
    CHECK(r.err.find("1 customer matches both 'lapsed' and 'trialists' (e.g. 4)") !=
          std::string::npos);
    CHECK(r.err.find("1 customer matches no segment (e.g. 5)") != std::string::npos);
    CHECK(count_rows(db, "strata_runs") == 0);
    CHECK(count_rows(db, "strata_membership") == 0);
    // A --state file the failed run made is not left behind; one that existed stays.
    const std::string fresh = dir.file("fresh-state.db");
    CHECK(run_cli({"run", file, "--db", db, "--state", fresh}).code == 1);
    CHECK_FALSE(std::filesystem::exists(fresh));
    const std::string kept = dir.database("kept-state.db", "CREATE TABLE notes (x);");
    CHECK(run_cli({"run", file, "--db", db, "--state", kept}).code == 1);
    CHECK(count_rows(kept, "notes") == 0);

    const auto clean = dir.write("ok.yaml", rules(R"(  policy: exclusive
  segments:
    - id: payers
      when: plan == 'paid'
    - id: trialists
      when: plan == 'trial'
    - id: unknown
      when: plan is null
)"));
    r = run_cli({"run", clean, "--db", db, "--format", "json"});
    CHECK_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("\"id\":\"payers\",\"label\":null,\"count\":3") != std::string::npos);
}

TEST_CASE("tactical subsegments hold only inside their parent, overlap, and nest") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(  segments:
    - id: payers
      when: plan == 'paid'
      tactical:
        - id: tv
          when: device == 'smart_tv'
          tactical:
            - id: tv_it
              when: industry == 'IT'
        - id: big
          when: mrr > 50
    - id: trialists
      when: plan == 'trial'
    - id: others
      when: otherwise
)"));
    REQUIRE(run_cli({"run", file, "--db", db}).code == 0);
    auto e = run_cli({"export", file, "--db", db});
    // 1 watches on a smart TV but is a trialist: tactical segments of 'payers' do not apply.
    CHECK(e.out.find("\n1,trialists,,") != std::string::npos);
    CHECK(e.out.find("\n3,payers,tv,") != std::string::npos);
    CHECK(e.out.find("\n6,payers,tv;tv/tv_it;big,") != std::string::npos);
    CHECK(e.out.find("\n2,payers,big,") != std::string::npos);
    auto j = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    CHECK(j.out.find("{\"id\":\"tv\",\"label\":null,\"count\":2,\"share\":0.3333,\"unknown\":0,"
                     "\"value_total\":null,\"value_avg\":null,\"value_share\":null,\"goal\":null,"
                     "\"offer\":null,\"channel\":null,\"contact_every\":null,\"priority\":null,"
                     "\"path\":\"tv\",\"tactical\":[{"
                     "\"id\":\"tv_it\",\"label\":null,\"count\":1") != std::string::npos);
}

TEST_CASE("the same data, rules and as_of give byte-identical membership, whatever the row order") {
    TempDir dir;
    const auto db = dir.database("a.db", kBase);
    // The same rows inserted in reverse order.
    std::string reversed =
        "CREATE TABLE customers (customer_id INTEGER, plan TEXT, status TEXT, industry TEXT, "
        "device TEXT, signup DATE, mrr REAL);\nCREATE TABLE orders (customer_id INTEGER, amount "
        "REAL, order_date DATE);\nATTACH '" +
        db +
        "' AS src;\n"
        "INSERT INTO customers SELECT * FROM src.customers ORDER BY customer_id DESC;\n"
        "INSERT INTO orders SELECT * FROM src.orders ORDER BY rowid DESC;\n";
    const auto db2 = dir.database("b.db", reversed);
    const auto file = dir.write("r.yaml", rules(R"(  segments:
    - id: top
      when: ntile(revenue, 2) == 2
      tactical:
        - id: a_class
          when: abc(revenue) == 'A'
    - id: rest
      when: otherwise
)",
                                                "let:\n  revenue: sum(orders.amount)\n"));
    std::vector<std::string> exports;
    for (const auto& d : {db, db, db2}) {
        REQUIRE(run_cli({"run", file, "--db", d}).code == 0);
        exports.push_back(run_cli({"export", file, "--db", d}).out);
    }
    CHECK(strata::sha256_hex(exports[0]) == strata::sha256_hex(exports[1]));
    CHECK(strata::sha256_hex(exports[0]) == strata::sha256_hex(exports[2]));
    CHECK(exports[0].find("\n6,top,a_class,") != std::string::npos);
}

TEST_CASE("the coverage invariant holds on a base full of nulls") {
    TempDir dir;
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER, plan TEXT, mrr REAL, signup DATE);\n"
        "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);\n"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)\n"
        "INSERT INTO customers SELECT i, CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'paid' "
        "ELSE 'trial' END, CASE WHEN i % 2 = 0 THEN NULL ELSE i % 97 END, CASE WHEN i % 5 = 0 "
        "THEN 'garbage' WHEN i % 5 = 1 THEN NULL ELSE date('2025-01-01', '+' || (i % 300) || ' "
        "days') END FROM n;\n";
    const auto db = dir.database("nulls.db", sql);
    const auto file = dir.write("r.yaml", rules(R"(  segments:
    - id: big
      when: mrr > 50 and plan == 'paid'
    - id: recent
      when: signup > as_of - 1y
    - id: small
      when: mrr <= 50 or plan != 'paid'
    - id: rest
      when: otherwise
)"));
    auto r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // Sum of general counts is the number of customers.
    int64_t sum = 0;
    const std::string segments = r.out.substr(0, r.out.find("\"data_quality\""));
    for (size_t at = segments.find("\"count\":"); at != std::string::npos;
         at = segments.find("\"count\":", at + 1)) {
        sum += std::stoll(segments.substr(at + 8));
    }
    CHECK(sum == 5000);
    CHECK(r.out.find("\"customers\":5000") != std::string::npos);
    // 'garbage' dates are data-quality findings, not failures.
    CHECK(r.out.find("{\"table\":\"customers\",\"column\":\"signup\",\"type\":\"date\",\"count\":"
                     "1000,\"sample\":\"garbage\"}") != std::string::npos);
}

TEST_CASE("data quality: unconvertible values, null and duplicate keys, orphan and future facts") {
    TempDir dir;
    const auto db = dir.database(
        "dq.db", std::string(kBase) +
                     "CREATE TABLE dup (customer_id, plan TEXT);"
                     "INSERT INTO dup VALUES (1, 'a'), (1, 'b'), (NULL, 'c'), (2, 'd');");
    const auto file = dir.write("r.yaml", rules(R"(  segments:
    - id: recent
      when: signup > 2025-01-01
    - id: buyers
      when: count(orders) > 0
    - id: rest
      when: otherwise
)"));
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find(
              "1 value in customers.signup did not convert to date (e.g. 'n/a'); read as null") !=
          std::string::npos);
    CHECK(r.out.find("1 orders row matches no customer, left out") != std::string::npos);
    CHECK(r.out.find("point in time: 1 orders row after as_of left out") != std::string::npos);

    const auto dup = dir.write("dup.yaml",
                               "ruleset: dup\nversion: 1\nsource: { customers: dup }\ngeneral:\n"
                               "  segments:\n    - id: a\n      when: plan == 'a'\n"
                               "    - id: rest\n      when: otherwise\n");
    r = run_cli({"run", dup, "--db", db, "--format", "json", "--dry-run"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("\"customers\":2") != std::string::npos);
    CHECK(r.out.find("\"null_keys\":1,\"duplicate_keys\":1,\"duplicate_key_samples\":[\"1\"]") !=
          std::string::npos);
}

TEST_CASE(
    "a key repeated across the halves of a customer table: the first row in table order wins") {
    TempDir dir;
    const auto db = dir.database("dup.db", R"sql(
CREATE TABLE people (customer_id INTEGER, plan TEXT);
INSERT INTO people VALUES (10, 'first'), (11, 'x'), (12, 'x'), (NULL, 'x'), (13, 'x'),
  (14, 'x'), (15, 'x'), (10, 'second'), (NULL, 'x'), (11, 'again');
)sql");
    const auto file =
        dir.write("r.yaml",
                  "ruleset: dup\nversion: 1\nsource: { customers: people }\ngeneral:\n"
                  "  segments:\n    - id: first\n      when: plan == 'first'\n"
                  "    - id: rest\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("\"customers\":6") != std::string::npos);
    CHECK(r.out.find("{\"id\":\"first\",\"label\":null,\"count\":1,") != std::string::npos);
    CHECK(r.out.find(
              "\"null_keys\":2,\"duplicate_keys\":2,\"duplicate_key_samples\":[\"10\",\"11\"]") !=
          std::string::npos);
    auto e = run_cli({"export", file, "--db", db});
    CHECK(e.out.find("\n10,first,") != std::string::npos);
    CHECK(e.out.find("\n11,rest,") != std::string::npos);
    CHECK(e.out.find("\n15,rest,") != std::string::npos);
}

TEST_CASE(
    "--dry-run evaluates and prints but stores nothing; a stored run is recorded with its rule "
    "file's hash") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const std::string text = rules("  segments:\n    - id: all\n      when: otherwise\n");
    const auto file = dir.write("r.yaml", text);
    auto r = run_cli({"run", file, "--db", db, "--dry-run"});
    REQUIRE(r.code == 0);
    CHECK(r.out.find("dry run (not stored)") != std::string::npos);
    CHECK_FALSE(SQLite::Database(db, SQLite::OPEN_READONLY).tableExists("strata_runs"));
    r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE(r.code == 0);
    SQLite::Database check(db, SQLite::OPEN_READONLY);
    CHECK(check.execAndGet("SELECT rules_sha256 FROM strata_runs").getString() ==
          strata::sha256_hex(text));
    CHECK(check.execAndGet("SELECT as_of || ' ' || status || ' ' || customers FROM strata_runs")
              .getString() == "2026-11-01 complete 6");
    CHECK(count_rows(db, "strata_membership") == 6);
}

TEST_CASE("--state keeps run state in a separate file and leaves the customer database untouched") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file =
        dir.write("r.yaml", rules("  segments:\n    - id: all\n      when: otherwise\n"));
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state}).code == 0);
    CHECK(count_rows(state, "strata_membership") == 6);
    SQLite::Database data(db, SQLite::OPEN_READONLY);
    CHECK_FALSE(data.tableExists("strata_runs"));
    auto e = run_cli({"export", file, "--db", db, "--state", state, "--format", "jsonl"});
    CHECK(e.out.find("{\"customer_key\":1,\"segment\":\"all\",\"tactical\":[],") == 0);
}

TEST_CASE("a failure mid-run leaves the previous run intact") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file =
        dir.write("r.yaml", rules("  segments:\n    - id: paid\n      when: plan == 'paid'\n"
                                  "    - id: rest\n      when: otherwise\n"));
    REQUIRE(run_cli({"run", file, "--db", db}).code == 0);
    // Customers 2 and 4 swap segments, so the next run closes two stays and opens two. The
    // state store fails while it moves 4 in place (its row of open stays), or while it stores
    // 4's old stay as closed, after 2's move was written.
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec(
            "UPDATE customers SET plan = CASE customer_id WHEN 2 THEN 'trial' ELSE 'paid' END "
            "WHERE customer_id IN (2, 4)");
    for (const char* when : {"BEFORE UPDATE ON strata_open_stays WHEN OLD.customer_key = 4",
                             "BEFORE INSERT ON strata_closed_stays WHEN NEW.customer_key = 4"}) {
        CAPTURE(when);
        {
            SQLite::Database w(db, SQLite::OPEN_READWRITE);
            w.exec("DROP TRIGGER IF EXISTS fail_mid_run");
            w.exec(std::string("CREATE TRIGGER fail_mid_run ") + when +
                   " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;");
        }
        auto r = run_cli({"run", file, "--db", db});
        CHECK(r.code == 2);
        CHECK(r.err.find("disk trouble") != std::string::npos);
        CHECK(count_rows(db, "strata_runs") == 1);
        CHECK(count_rows(db, "strata_stays") == 6);
        CHECK(count_rows(db, "strata_membership") == 6);
    }
    auto e = run_cli({"export", file, "--db", db});
    CHECK(e.code == 0);
    CHECK(e.out.find("\n2,paid,,") != std::string::npos);
}

TEST_CASE("bad databases give clear errors and exit 2, never a crash") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    auto check = [&](const std::string& yaml, const std::string& database,
                     const std::string& expected, int code = 2) {
        const auto file = dir.write("bad.yaml", yaml);
        auto r = run_cli({"run", file, "--db", database});
        CHECK_MESSAGE(r.code == code, r.err);
        CHECK_MESSAGE(r.err.find(expected) != std::string::npos, r.err);
    };
    const std::string segments =
        "general:\n  segments:\n    - id: a\n      when: plan == 'paid'\n"
        "    - id: rest\n      when: otherwise\n";
    SUBCASE("a missing table") {
        check("ruleset: x\nversion: 1\nsource: { customers: clients }\n" + segments, db,
              "table 'clients' does not exist in the database");
    }
    SUBCASE("a missing key column: the rules name it, so the rules are at fault (exit 1)") {
        check("ruleset: x\nversion: 1\nsource: { key: id }\n" + segments, db,
              "key column 'id' does not exist in table 'customers'", 1);
    }
    SUBCASE("a column the rules need but the table lacks: a rule problem (exit 1)") {
        check(
            "ruleset: x\nversion: 1\ngeneral:\n  segments:\n    - id: a\n      when: tier == "
            "'gold'\n"
            "    - id: rest\n      when: otherwise\n",
            db, "unknown field 'tier'", 1);
    }
    SUBCASE("not SQLite at all") {
        check("ruleset: x\nversion: 1\n" + segments, dir.write("text.db", std::string(5000, 'x')),
              "is not a SQLite database");
    }
    SUBCASE("a missing file") {
        check("ruleset: x\nversion: 1\n" + segments, dir.file("absent.db"), "does not exist");
    }
    SUBCASE("locked by another writer") {
        SQLite::Database holder(db, SQLite::OPEN_READWRITE);
        holder.exec("BEGIN EXCLUSIVE");
        const auto file = dir.write("ok.yaml", "ruleset: x\nversion: 1\n" + segments);
        auto r = run_cli({"run", file, "--db", db});
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find("locked") != std::string::npos, r.err);
        holder.exec("ROLLBACK");
    }
    SUBCASE("read-only: state cannot be written there, and --state is the way out") {
        // A file-format write version above 2 makes SQLite treat the file as read-only, for
        // every user, root included.
        {
            std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(18);
            f.put(static_cast<char>(3));
        }
        const auto file = dir.write("ok.yaml", "ruleset: x\nversion: 1\n" + segments);
        auto r = run_cli({"run", file, "--db", db});
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find("read-only") != std::string::npos, r.err);
        r = run_cli({"run", file, "--db", db, "--state", dir.file("state.db")});
        CHECK_MESSAGE(r.code == 0, r.err);
    }
}

TEST_CASE("SHA-256 matches the standard test vectors") {
    CHECK(strata::sha256_hex("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(strata::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(strata::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(strata::sha256_hex(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("--as-of overrides the rule file's date, and a past as_of sees the facts as they stood") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto file = dir.write("r.yaml", rules(R"(  segments:
    - id: buyers
      when: count(orders) > 0
      tactical:
        - id: big
          when: sum(orders.amount) >= 150
    - id: rest
      when: otherwise
)"));
    auto now = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE(now.code == 0);
    CHECK(now.out.find("\"as_of\":\"2026-11-01\"") != std::string::npos);
    CHECK(now.out.find("{\"id\":\"buyers\",\"label\":null,\"count\":3") != std::string::npos);
    CHECK(now.out.find("{\"id\":\"big\",\"label\":null,\"count\":2") != std::string::npos);
    // On 2026-01-20 only customer 1 had bought, and no one had spent 150 yet.
    auto past = run_cli(
        {"run", file, "--db", db, "--dry-run", "--format", "json", "--as-of", "2026-01-20"});
    REQUIRE(past.code == 0);
    CHECK(past.out.find("\"as_of\":\"2026-01-20\"") != std::string::npos);
    CHECK(past.out.find("{\"id\":\"buyers\",\"label\":null,\"count\":1") != std::string::npos);
    CHECK(past.out.find("{\"id\":\"big\",\"label\":null,\"count\":0") != std::string::npos);
    auto bad = run_cli({"run", file, "--db", db, "--as-of", "yesterday"});
    CHECK(bad.code == 2);
    CHECK(bad.err.find("--as-of 'yesterday' is not a date") != std::string::npos);
}

TEST_CASE("run --format csv and export --format csv quote what needs quoting") {
    TempDir dir;
    const auto db = dir.database("q.db",
                                 "CREATE TABLE customers (customer_id TEXT, plan TEXT);"
                                 "INSERT INTO customers VALUES ('00123', 'a'), ('x,y', 'b');");
    const auto file =
        dir.write("r.yaml",
                  "ruleset: q\nversion: 1\ngeneral:\n  segments:\n"
                  "    - id: a\n      label: 'A, the \"first\"'\n      offer: '10%, today'\n"
                  "      when: plan == 'a'\n    - id: rest\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db, "--format", "csv"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("a,0,,\"A, the \"\"first\"\"\",1,0.500000") != std::string::npos);
    auto e = run_cli({"export", file, "--db", db});
    // Text keys keep their leading zeros.
    CHECK(e.out ==
          "customer_key,segment,tactical,offer,channel,priority\n00123,a,,\"10%, "
          "today\",,\n\"x,y\",rest,,,,\n");
    // A text a spreadsheet would run as a formula stays text in both, with a leading '.
    const auto formulas = dir.write(
        "f.yaml",
        "ruleset: f\nversion: 1\ngeneral:\n  segments:\n"
        "    - id: a\n      label: '=HYPERLINK(\"http://x\")'\n      offer: '-10% off, then "
        "=SUM(A1)'\n      channel: '@mention'\n      goal: '+1'\n      when: plan == 'a'\n"
        "    - id: rest\n      when: otherwise\n");
    r = run_cli({"run", formulas, "--db", db, "--format", "csv"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("a,0,,\"'=HYPERLINK(\"\"http://x\"\")\",1,0.500000,,,'+1,\"'-10% off, then "
                     "=SUM(A1)\",'@mention,,") != std::string::npos);
    e = run_cli({"export", formulas, "--db", db});
    CHECK(e.out.find("00123,a,,\"'-10% off, then =SUM(A1)\",'@mention,") != std::string::npos);
}

TEST_CASE("fact rows find their customers by key, dense or sparse, integer or text") {
    TempDir dir;
    const auto db = dir.database("keys.db", R"sql(
CREATE TABLE dense (customer_id INTEGER, plan TEXT);
INSERT INTO dense VALUES (1, 'a'), (2, 'b'), (3, 'c');
CREATE TABLE sparse (customer_id INTEGER, plan TEXT);
INSERT INTO sparse VALUES (-7, 'a'), (5, 'b'), (9000000000, 'c');
CREATE TABLE texts (customer_id TEXT, plan TEXT);
INSERT INTO texts VALUES ('1', 'a'), ('2', 'b'), ('c-3', 'c');
CREATE TABLE orders (customer_id, amount REAL);
INSERT INTO orders VALUES (1, 1), (2, 2), (2, 2), (-7, 1), (9000000000, 3), ('9000000000', 3), ('c-3', 4), (4, 9), (NULL, 9), ('3', 5);
CREATE TABLE nuls (customer_id TEXT, plan TEXT);
INSERT INTO nuls VALUES ('a', 'a'), ('a' || char(0) || 'b', 'b');
INSERT INTO orders VALUES ('a' || char(0) || 'b', 1), ('a' || char(0) || 'b', 1);
)sql");
    for (const auto& table_expected : std::vector<std::pair<std::string, std::string>>{
             {"dense", "1,1\n2,2\n3,1\n"},
             {"sparse", "-7,1\n5,0\n9000000000,2\n"},
             {"texts", "1,1\n2,2\nc-3,1\n"},
             // every byte of a key: 'a\0b' is not 'a'
             {"nuls", std::string("a,0\na\0b,2\n", 10)}}) {
        const std::string& table = table_expected.first;
        const std::string& expected = table_expected.second;
        CAPTURE(table);
        const auto file =
            dir.write(table + ".yaml",
                      "ruleset: k-" + table + "\nversion: 1\nsource:\n  customers: " + table +
                          "\n  facts:\n    orders: { table: orders, key: customer_id }\n"
                          "let:\n  n: count(orders)\ngeneral:\n  segments:\n"
                          "    - id: '0'\n      when: n == 0\n    - id: '1'\n      when: n == 1\n"
                          "    - id: '2'\n      when: otherwise\n");
        auto r = run_cli({"run", file, "--db", db});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        auto e = run_cli({"export", file, "--db", db});
        std::string got;
        std::istringstream lines(e.out);
        std::string line;
        std::getline(lines, line);
        while (std::getline(lines, line))
            got += line.substr(0, line.find(',', line.find(',') + 1)) + "\n";
        CHECK(got == expected);
    }
}

TEST_CASE("run --format json reports failures as JSON on stdout too") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto bad_rules =
        dir.write("bad.yaml", rules("  segments:\n    - id: a\n      when: plna == 1\n"
                                    "    - id: b\n      when: otherwise\n"));
    auto r = run_cli({"run", bad_rules, "--db", db, "--format", "json"});
    CHECK(r.code == 1);  // a typo in the rules is the rules' fault, whoever runs them
    CHECK(json_at(r.out, "$.error.kind") == "rules");
    CHECK(json_at(r.out, "$.error.message").find("1 error in ") == 0);
    CHECK(r.out.find("\"message\":\"unknown field 'plna' (did you mean 'plan'?)\"") !=
          std::string::npos);
    CHECK(r.err.find("error: unknown field 'plna'") != std::string::npos);

    const auto exclusive = dir.write(
        "ex.yaml", rules("  policy: exclusive\n  segments:\n    - id: a\n      when: true\n"
                         "    - id: b\n      when: true\n    - id: c\n      when: false\n"));
    r = run_cli({"run", exclusive, "--db", db, "--format", "json"});
    CHECK(r.code == 1);
    CHECK(r.out.find("{\"format\":1,\"error\":{\"kind\":\"rules\",\"message\":\"policy 'exclusive' "
                     "does not hold") == 0);
    CHECK(r.out.find("6 customers match both 'a' and 'b'") != std::string::npos);
    // The JSON message is one line, as docs/running.md says; stderr keeps a line per finding.
    CHECK(json_at(r.out, "$.error.message").find('\n') == std::string::npos);
    CHECK(json_at(r.out, "$.error.message")
              .find("so nothing was stored: 6 customers match both "
                    "'a' and 'b'") != std::string::npos);
    CHECK(r.err.find("so nothing was stored:\n  6 customers match both") != std::string::npos);
}

TEST_CASE("an empty base runs cleanly: every segment holds 0 of 0") {
    TempDir dir;
    const auto db =
        dir.database("empty.db",
                     "CREATE TABLE customers (customer_id INTEGER, plan TEXT);"
                     "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);");
    const auto file = dir.write("r.yaml", rules(R"(  segments:
    - id: top
      when: ntile(sum(orders.amount), 4) == 4
    - id: rest
      when: otherwise
)"));
    auto r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("\"customers\":0") != std::string::npos);
    CHECK(r.out.find("{\"id\":\"top\",\"label\":null,\"count\":0,\"share\":0") !=
          std::string::npos);
    CHECK(count_rows(db, "strata_runs") == 1);
}

TEST_CASE("messages quote a text key that reads as a number: '42' is not the integer 42") {
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (id, nps INTEGER);
INSERT INTO customers VALUES (42, 1), ('42', NULL), ('b', NULL), (7, 5), ('1e3', NULL);
)sql");
    const std::string rules = dir.write("r.yaml", R"(ruleset: keyed
version: 1
source:
  customers: customers
  key: id
let:
  cls: abc(nps, a: 0.5, b: 0.8)
general:
  policy: exclusive
  segments:
    - id: low
      when: nps <= 6
    - id: high
      when: nps > 6
)");
    const Run r = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    CHECK(r.code == 1);
    // A text key that does not read as a number is written as it is.
    CHECK_MESSAGE(
        r.err.find("3 customers match no segment (e.g. '1e3', '42', b)") != std::string::npos,
        r.err);
    SQLite::Database(db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET nps = 3 WHERE id IN ('42', '1e3', 'b')");
    const Run placed = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(placed.code == 0, placed.err);
    CHECK_MESSAGE(placed.out.find("(customer '1e3', ") != std::string::npos, placed.out);
}
