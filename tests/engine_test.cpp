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
#include "test_support.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, status TEXT, industry TEXT,
                        device TEXT, signup DATE, mrr REAL);
INSERT INTO customers VALUES
  (1, 'trial', 'active', 'IT', 'smart_tv', '2026-01-10', 0),
  (2, 'paid', 'active', NULL, 'phone', '2025-05-01', 99.5),
  (3, 'paid', 'cancelled', 'retail', 'smart_tv', '2024-02-02', 10),
  (4, 'trial', 'expired', NULL, NULL, 'n/a', NULL),
  (5, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, 'paid', 'active', 'IT', 'smart_tv', '2023-12-31', 250);
CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);
INSERT INTO orders VALUES (1, 10, '2026-01-15'), (2, 100, '2026-02-01'), (2, 50, '2026-10-01'),
  (6, 500, '2026-09-09'), (6, 20, '2027-01-01'), (99, 5, '2026-01-01');
)sql";

std::string rules(const std::string& general, const std::string& extra = "") {
    return "ruleset: engine-test\nversion: 1\nas_of: 2026-11-01\nsource:\n  facts:\n"
           "    orders: { table: orders, key: customer_id, time: order_date }\n" +
           extra + "general:\n" + general;
}

}  // namespace

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
    CHECK(r.out.find("1 orders rows match no customer, left out") != std::string::npos);
    CHECK(r.out.find("point in time: 1 orders rows after as_of left out") != std::string::npos);

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

TEST_CASE("fact tables are split by rowid for side-by-side reading, or read whole") {
    TempDir dir;
    const auto path = dir.database("split.db", R"sql(
CREATE TABLE t (x INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO t SELECT i FROM n;
CREATE TABLE empty (x INTEGER);
CREATE VIEW v AS SELECT x FROM t;
CREATE TABLE wr (k INTEGER PRIMARY KEY, x) WITHOUT ROWID;
INSERT INTO wr VALUES (1, 1), (2, 2);
CREATE TABLE shadow (rowid INTEGER, x INTEGER);
INSERT INTO shadow VALUES (5, 1), (6, 2), (7, 3);
CREATE TABLE taken (rowid, _rowid_, oid);
INSERT INTO taken VALUES (1, 2, 3);
)sql");
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    auto ranges = strata::split_by_rowid(db, "t", 2);
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].column == "rowid");
    CHECK(ranges[0].lo == 0);
    CHECK(ranges[0].hi == 5);
    CHECK(ranges[1].lo == 5);
    CHECK(ranges[1].hi == 10);
    // More parts than rows: empty ranges are dropped, the rest still cover every row.
    ranges = strata::split_by_rowid(db, "t", 16);
    CHECK(ranges.size() == 10);
    CHECK(ranges.front().lo == 0);
    CHECK(ranges.back().hi == 10);
    // A column named rowid hides the rowid; the next spelling takes over.
    ranges = strata::split_by_rowid(db, "shadow", 2);
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].column == "_rowid_");
    CHECK(ranges[0].lo == 0);
    CHECK(ranges[1].hi == 3);
    for (const char* whole : {"empty", "v", "wr", "taken"}) {
        CAPTURE(whole);
        ranges = strata::split_by_rowid(db, whole, 2);
        REQUIRE(ranges.size() == 1);
        CHECK(ranges[0].column.empty());
    }
}

TEST_CASE("a fact table read in parts gives the same aggregates and findings as read whole") {
    TempDir dir;
    // The same 40 orders as a table (read in two rowid ranges) and as a view (read whole),
    // with unconvertible amounts and orphans in both halves.
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);"
        "INSERT INTO customers VALUES (1), (2), (3);"
        "CREATE TABLE orders (customer_id INTEGER, amount REAL, order_date DATE);";
    for (int i = 1; i <= 40; ++i) {
        const int customer = i % 7 == 0 ? 99 : 1 + i % 3;
        const std::string amount = i == 4 ? "'four'" : i == 33 ? "'x33'" : std::to_string(i);
        sql += "INSERT INTO orders VALUES (" + std::to_string(customer) + ", " + amount +
               ", '2026-0" + std::to_string(1 + i % 9) + "-1" + std::to_string(i % 10) + "');";
    }
    sql += "CREATE VIEW orders_view AS SELECT * FROM orders;";
    const auto db = dir.database("parts.db", sql);
    std::string outputs[2];
    for (int k = 0; k < 2; ++k) {
        const auto file = dir.write(
            "r.yaml",  // one name, so the two documents' warnings name the same file
            std::string("ruleset: parts\nversion: 1\nas_of: 2026-11-01\nsource:\n  facts:\n"
                        "    orders: { table: ") +
                (k == 0 ? "orders" : "orders_view") +
                ", key: customer_id, time: order_date }\n"
                "let:\n  n: count(orders)\n  total: sum(orders.amount)\n"
                "  last: max(orders.order_date)\n  big: count(orders where amount > 20)\n"
                "value: total\ngeneral:\n  segments:\n    - id: many\n      when: total > 225\n"
                "    - id: rest\n      when: otherwise\n");
        auto r = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        outputs[k] = r.out.substr(r.out.find("\"customers\""));
        outputs[k] = outputs[k].substr(0, outputs[k].find("\"elapsed_ms\""));
        if (k == 1) outputs[k].replace(outputs[k].find("orders_view"), 11, "orders");
    }
    CHECK(outputs[0] == outputs[1]);
    // By hand: customer 2's convertible amounts are 1, 10, 13, …, 40 = 248; 1 has 219, 3 has 211.
    CHECK(outputs[0].find(
              "{\"id\":\"many\",\"label\":null,\"count\":1,\"share\":0.3333,\"unknown\":0,"
              "\"value_total\":248,") != std::string::npos);
    CHECK(outputs[0].find("\"value_total\":678") != std::string::npos);
    // 2 amounts did not convert; the sample is the first in table order.
    CHECK(outputs[0].find("\"count\":2,\"sample\":\"four\"") != std::string::npos);
    CHECK(outputs[0].find("\"orphan_fact_rows\":{\"orders\":5}") != std::string::npos);
}

TEST_CASE("more than 64 tactical segments: every customer's tags, in rule-file order") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    std::string tactical;
    std::string all, even;
    for (int t = 0; t < 70; ++t) {
        const std::string id = "t" + std::to_string(t);
        tactical += "        - id: " + id +
                    "\n          when: " + (t % 2 == 0 ? "mrr >= 0" : "plan == 'paid'") + "\n";
        all += (all.empty() ? "" : ";") + id;
        if (t % 2 == 0) even += (even.empty() ? "" : ";") + id;
    }
    const auto file =
        dir.write("r.yaml", rules("  segments:\n    - id: everyone\n      when: otherwise\n"
                                  "      tactical:\n" +
                                  tactical));
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto e = run_cli({"export", file, "--db", db});
    REQUIRE(e.code == 0);
    // 6 is paid with mrr 250: all 70. 1 is a trial with mrr 0: the even ones. 5 has neither.
    CHECK(e.out.find("\n6,everyone," + all + ",") != std::string::npos);
    CHECK(e.out.find("\n1,everyone," + even + ",") != std::string::npos);
    CHECK(e.out.find("\n5,everyone,,") != std::string::npos);
}

TEST_CASE("count_distinct adds up across parts, beyond 64 distinct values") {
    TempDir dir;
    // 150 categories: customer 1 buys each of them twice (once in each half of the table),
    // customer 2 buys categories 0-9 in the first half and 5-79 in the second.
    std::string sql =
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);"
        "INSERT INTO customers VALUES (1), (2), (3);"
        "CREATE TABLE orders (customer_id INTEGER, category TEXT);";
    auto add = [&sql](int customer, int category) {
        sql += "INSERT INTO orders VALUES (" + std::to_string(customer) + ", 'c" +
               std::to_string(category) + "');";
    };
    for (int c = 0; c < 150; ++c)
        add(1, 149 - c);
    for (int c = 0; c < 10; ++c)
        add(2, c);
    for (int c = 5; c < 80; ++c)
        add(2, c);
    for (int c = 0; c < 150; ++c)
        add(1, c);
    const auto db = dir.database("distinct.db", sql);
    const auto file = dir.write(
        "r.yaml",
        "ruleset: distinct\nversion: 1\nsource:\n  facts:\n"
        "    orders: { table: orders, key: customer_id }\n"
        "let:\n  kinds: count_distinct(orders.category)\ngeneral:\n  segments:\n"
        "    - id: all150\n      when: kinds == 150\n    - id: eighty\n      when: kinds == 80\n"
        "    - id: none\n      when: kinds == 0\n    - id: other\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto e = run_cli({"export", file, "--db", db});
    CHECK(e.out.find("\n1,all150,") != std::string::npos);
    CHECK(e.out.find("\n2,eighty,") != std::string::npos);
    CHECK(e.out.find("\n3,none,") != std::string::npos);
}

TEST_CASE("dates read from SQLite: month lengths and leap years are checked") {
    TempDir dir;
    const auto db = dir.database("dates.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, signup DATE);
INSERT INTO customers VALUES (1, '2024-02-29'), (2, '2023-02-29'), (3, '2026-02-30'),
  (4, '2026-13-01'), (5, '2026-04-31'), (6, '2026-04-30'), (7, '2026-02-28'), (8, '2026-00-10'),
  (9, '2026-12-31'), (10, '2026-12-32'), (11, '2026-01-00'),
  (12, '1899-12-31'), (13, '2400-02-29'), (14, '2100-02-29'), (15, '1800-02-29'),
  (16, '2156-01-01'), (17, '1900-01-01'), (18, '2155-12-31');
)sql");
    // Months of the years 1900 to 2155 are looked up in a table, others worked out each time:
    // both must read exactly the date written.
    const auto file = dir.write(
        "r.yaml",
        "ruleset: dates\nversion: 1\nas_of: 2026-11-01\ngeneral:\n  segments:\n"
        "    - id: exact\n      when: signup in [2024-02-29, 1899-12-31, 2400-02-29, 2156-01-01, "
        "1900-01-01, 2155-12-31]\n"
        "    - id: known\n      when: signup is not null\n"
        "    - id: unknown\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("9 values in customers.signup did not convert to date") != std::string::npos);
    auto e = run_cli({"export", file, "--db", db});
    for (const char* exact :
         {"\n1,exact,", "\n12,exact,", "\n13,exact,", "\n16,exact,", "\n17,exact,", "\n18,exact,"})
        CHECK(e.out.find(exact) != std::string::npos);
    for (const char* known : {"\n6,known,", "\n7,known,", "\n9,known,"})
        CHECK(e.out.find(known) != std::string::npos);
    for (const char* unknown : {"\n2,unknown,", "\n3,unknown,", "\n5,unknown,", "\n10,unknown,",
                                "\n14,unknown,", "\n15,unknown,"})
        CHECK(e.out.find(unknown) != std::string::npos);
}

TEST_CASE("a base of many blocks is placed and stored whole, the same as a dry run reports") {
    TempDir dir;
    // 140,000 customers: more than two placement blocks, stored while later blocks are placed.
    const auto db = dir.database("many.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, score INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 140000)
INSERT INTO customers SELECT i, (i * 7919) % 100 FROM n;
)sql");
    const auto file =
        dir.write("r.yaml",
                  "ruleset: many\nversion: 1\ngeneral:\n  segments:\n    - id: high\n"
                  "      when: score >= 50\n      tactical:\n        - id: even\n"
                  "          when: score % 2 == 0\n    - id: rest\n      when: otherwise\n");
    auto dry = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    auto r = run_cli({"run", file, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("\"run_id\":1") != std::string::npos);
    // The same segments as the dry run, and the counts SQL finds.
    auto segments = [](const std::string& json) {
        return json.substr(json.find("\"segments\""),
                           json.find("\"data_quality\"") - json.find("\"segments\""));
    };
    CHECK(segments(r.out) == segments(dry.out));
    SQLite::Database check(db, SQLite::OPEN_READONLY);
    const int high = check.execAndGet("SELECT count(*) FROM customers WHERE score >= 50").getInt();
    const int even =
        check.execAndGet("SELECT count(*) FROM customers WHERE score >= 50 AND score % 2 = 0")
            .getInt();
    CHECK(r.out.find("{\"id\":\"high\",\"label\":null,\"count\":" + std::to_string(high) + ",") !=
          std::string::npos);
    CHECK(r.out.find("{\"id\":\"even\",\"label\":null,\"count\":" + std::to_string(even) + ",") !=
          std::string::npos);
    CHECK(check.execAndGet("SELECT count(*) FROM strata_membership").getInt() == 140000);
    CHECK(check
              .execAndGet("SELECT count(*) FROM strata_membership WHERE segment = 'high' AND "
                          "tactical = 'even'")
              .getInt() == even);
    // Rows from the first, a middle and the last block, checked against their scores.
    for (int key : {1, 70001, 140000}) {
        const int score = (key * 7919) % 100;
        CAPTURE(key);
        const std::string expected = score >= 50 ? "high" : "rest";
        CHECK(check
                  .execAndGet("SELECT segment FROM strata_membership WHERE customer_key = " +
                              std::to_string(key))
                  .getString() == expected);
    }
    // The stored summary is the report, run id included.
    CHECK(check.execAndGet("SELECT summary FROM strata_runs").getString().find("\"run_id\":1") !=
          std::string::npos);
}

TEST_CASE("a population call inside an expression ranks the whole base, not a block of it") {
    TempDir dir;
    // 20,000 customers with distinct scores: several of the evaluator's blocks of rows. Each
    // quarter of the base is a tile; fitted block by block, every block would have its own.
    const auto db = dir.database("ranked.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, score INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO customers SELECT i, (i * 7919) % 20011 FROM n;
)sql");
    const auto file = dir.write("r.yaml", R"(ruleset: ranked
version: 1
let:
  tens: ntile(score, 4) * 10
general:
  segments:
    - id: top
      when: tens == 40
    - id: bottom
      when: ntile(score, 4) + 0 == 1
    - id: middle
      when: otherwise
)");
    auto r = run_cli({"run", file, "--db", db, "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("{\"id\":\"top\",\"label\":null,\"count\":5000,") != std::string::npos);
    CHECK(r.out.find("{\"id\":\"bottom\",\"label\":null,\"count\":5000,") != std::string::npos);
    CHECK(r.out.find("{\"id\":\"middle\",\"label\":null,\"count\":10000,") != std::string::npos);
}

TEST_CASE("rows read through the row function and stepped one by one are the same") {
    // SQLite hands a scan's rows to strata through an application-defined function; a table
    // read through more columns than a function may take is stepped row by row instead.
    // Lowering the connection's function-argument limit forces the second path.
    TempDir dir;
    const auto path = dir.database(
        "rows.db",
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, born DATE, vip BOOLEAN, name TEXT);"
        "INSERT INTO customers VALUES (1, '2001-02-03', 1, 'a'), (2, 'bad', 0, NULL),"
        "  (3, NULL, 'maybe', 'c'), (5, '2020-02-29', 1, 'e');"
        "CREATE TABLE orders (customer_id, amount REAL, day DATE);"
        "INSERT INTO orders VALUES (1, 10.5, '2026-01-01'), (2, 'x', '2026-01-02'),"
        "  ('3', 7, NULL), (9, 1, '2026-01-03'), (NULL, 2, '2026-01-04'), (5, 3, '2026-13-01');");
    strata::bound::Program program;
    program.columns = {
        {"born", strata::Type::Date}, {"vip", strata::Type::Bool}, {"name", strata::Type::String}};
    strata::bound::FactUse orders;
    orders.name = "orders";
    orders.table = "orders";
    orders.key = "customer_id";
    orders.columns = {{"amount", strata::Type::Number}, {"day", strata::Type::Date}};
    auto read_all = [&](int function_args, std::string& out) {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        sqlite3_limit(db.getHandle(), SQLITE_LIMIT_FUNCTION_ARG, function_args);
        strata::KeyIndex index;
        strata::DataQuality dq;
        const auto customers =
            strata::read_customers({&db}, "customers", "id", program, index, dq, nullptr);
        for (size_t r = 0; r < customers.rows; ++r) {
            out += strata::format_value(customers.keys[r]);
            for (const auto& c : customers.columns)
                out += "|" + strata::format_value(c[r]);
            out += "\n";
        }
        strata::SqliteFactSource source(db, orders, index, dq, nullptr, {}, nullptr, 2);
        size_t chunks = 0;
        source.read([&](strata::FactChunk& chunk) {
            ++chunks;
            for (size_t r = 0; r < chunk.rows; ++r) {
                out += "owner " + std::to_string(chunk.owner[r]);
                for (const auto& c : chunk.columns)
                    out += "|" + strata::format_value(c[r]);
                out += "\n";
            }
        });
        out += "chunks " + std::to_string(chunks) + ", unconvertible";
        for (const auto& u : dq.unconvertible)
            out += " " + u.table + "." + u.column + "=" + std::to_string(u.count) + ":" + u.sample;
        out += ", orphans " + std::to_string(dq.orphan_fact_rows["orders"]);
    };
    std::string through_function, stepped;
    read_all(100, through_function);
    read_all(1, stepped);
    CHECK(through_function == stepped);
    // Four rows kept of six (an unknown key and a null key are orphans), in chunks of two; the
    // text key '3' finds the integer key 3 (the keys 1…5 are looked up in a dense table).
    CHECK(through_function.find("owner 0|10.5|2026-01-01\nowner 1|null|2026-01-02\n"
                                "owner 2|7|null\nowner 3|3|null\nchunks 2") != std::string::npos);
    CHECK(through_function.find("customers.born=1:bad") != std::string::npos);
    CHECK(through_function.find("customers.vip=1:maybe") != std::string::npos);
    CHECK(through_function.find("orders.amount=1:x orders.day=1:2026-13-01, orphans 2") !=
          std::string::npos);
}

TEST_CASE("what the chunk consumer throws ends the read and comes out whole") {
    TempDir dir;
    std::string sql =
        "CREATE TABLE customers (id INTEGER PRIMARY KEY);"
        "INSERT INTO customers VALUES (1);"
        "CREATE TABLE orders (customer_id, amount);";
    for (int i = 0; i < 100; ++i)
        sql += "INSERT INTO orders VALUES (1, " + std::to_string(i) + ");";
    const auto path = dir.database("throw.db", sql);
    strata::bound::Program program;
    strata::bound::FactUse orders;
    orders.name = orders.table = "orders";
    orders.key = "customer_id";
    orders.columns = {{"amount", strata::Type::Number}};
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    strata::KeyIndex index;
    strata::DataQuality dq;
    strata::read_customers({&db}, "customers", "id", program, index, dq, nullptr);
    strata::SqliteFactSource source(db, orders, index, dq, nullptr, {}, nullptr, 10);
    size_t chunks = 0;
    CHECK_THROWS_WITH_AS(source.read([&](strata::FactChunk&) {
        if (++chunks == 3) throw std::runtime_error("enough");
    }),
                         "enough", std::runtime_error);
    CHECK(chunks == 3);
    // The connection is usable afterwards: the scan's statement and function are gone.
    SQLite::Statement count(db, "SELECT count(*) FROM orders");
    REQUIRE(count.executeStep());
    CHECK(count.getColumn(0).getInt() == 100);
}

TEST_CASE("state from before strata_placements moves to the stays, every run kept") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("old-state.db");
    const std::string text = rules(
        "  segments:\n    - id: paid\n      when: plan == 'paid'\n"
        "    - id: rest\n      when: otherwise\n");
    {
        // The layout earlier versions wrote: texts in a strata_membership table. Its run used
        // the same file (a changed one under the same version would be refused).
        SQLite::Database old(state, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        old.exec(R"sql(
CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, ruleset TEXT NOT NULL,
  version INTEGER NOT NULL, rules_sha256 TEXT NOT NULL, rules_path TEXT NOT NULL,
  as_of TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  status TEXT NOT NULL, customers INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE strata_membership (run_id INTEGER NOT NULL REFERENCES strata_runs(run_id),
  customer_key NOT NULL, segment TEXT NOT NULL, tactical TEXT NOT NULL,
  PRIMARY KEY (run_id, customer_key)) WITHOUT ROWID;
INSERT INTO strata_membership VALUES (1, 1, 'paid', ''), (1, 2, 'rest', 'a;b'),
  (1, 'k-3', 'paid', '');
)sql");
        SQLite::Statement run(old,
                              "INSERT INTO strata_runs VALUES (1, 'engine-test', 1, ?, 'r.yaml', "
                              "'2026-11-01', 't0', 't1', 'ok', 3, '{}')");
        run.bind(1, strata::sha256_hex(text));
        run.exec();
    }
    const auto file = dir.write("r.yaml", text);
    auto r = run_cli({"run", file, "--db", db, "--state", state});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    SQLite::Database check(state, SQLite::OPEN_READONLY);
    CHECK(check.execAndGet("SELECT type FROM sqlite_schema WHERE name = 'strata_membership'")
              .getString() == "view");
    auto rows = [&](const std::string& run) {
        std::string out;
        SQLite::Statement q(check,
                            "SELECT customer_key, segment, tactical FROM strata_membership "
                            "WHERE run_id = " +
                                run + " ORDER BY customer_key");
        while (q.executeStep())
            out += q.getColumn(0).getString() + "," + q.getColumn(1).getString() + "," +
                   q.getColumn(2).getString() + ";";
        return out;
    };
    CHECK(rows("1") == "1,paid,;2,rest,a;b;k-3,paid,;");
    CHECK(rows("2") == "1,rest,;2,paid,;3,paid,;4,rest,;5,rest,;6,paid,;");
    // Customer 2 moved from rest (with a and b) to paid; k-3 left the base; 1 moved to rest.
    auto stays = [&](const std::string& key) {
        std::string out;
        SQLite::Statement q(check,
                            "SELECT segment, entered_run, coalesce(exited_run, '-'), cause FROM "
                            "strata_stay_history WHERE customer_key = " +
                                key + " ORDER BY entered_run, level, segment");
        while (q.executeStep())
            out += q.getColumn(0).getString() + " " + q.getColumn(1).getString() + "-" +
                   q.getColumn(2).getString() + " " + q.getColumn(3).getString() + ";";
        return out;
    };
    CHECK(stays("2") == "rest 1-2 initial;a 1-2 initial;b 1-2 initial;paid 2-- data;");
    CHECK(stays("'k-3'") == "paid 1-2 initial;");
    CHECK(stays("3") == "paid 2-- data;");
    for (const char* gone : {"strata_members", "strata_placements"})
        CHECK(check
                  .execAndGet(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") +
                              gone + "'")
                  .getInt() == 0);
    // Export still reads the old run.
    auto e = run_cli({"export", file, "--db", db, "--state", state, "--run", "1"});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK(e.out.find("\n2,rest,a;b,") != std::string::npos);
}

TEST_CASE("interning gives one text per spelling, whatever its length and where it differs") {
    // Texts of every length up to 40 bytes, differing from each other in a single byte at
    // every position: each must intern to its own text, and again to the same one.
    std::vector<std::string> texts;
    for (size_t n = 0; n <= 40; ++n) {
        const std::string base(n, 'a');
        texts.push_back(base);
        for (size_t at = 0; at < n; ++at) {
            std::string changed = base;
            changed[at] = 'b';
            texts.push_back(changed);
        }
    }
    std::vector<const std::string*> first;
    for (const auto& t : texts)
        first.push_back(&strata::intern(t).str());
    for (size_t i = 0; i < texts.size(); ++i) {
        CAPTURE(texts[i]);
        CHECK(*first[i] == texts[i]);
        CHECK(&strata::intern(std::string(texts[i])).str() == first[i]);
    }
    std::set<const std::string*> distinct(first.begin(), first.end());
    CHECK(distinct.size() == texts.size());
}

TEST_CASE("cells convert to their column's type from every storage class") {
    // Columns of no declared type keep each value's own storage class: integer, fraction,
    // text, blob or null. Each row below tries one storage class on every type.
    TempDir dir;
    const auto path =
        dir.database("cells.db",
                     "CREATE TABLE cells (id INTEGER PRIMARY KEY, i, n, b, d, t, s, a);"
                     "INSERT INTO cells VALUES"
                     " (1, 3, 3, 1, 20260102, 7, 12, 5),"
                     " (2, 3.0, 2.5, 1.0, 2.5, 2.5, 2.5, 2.5),"
                     " (3, 3.5, 1e300, 0, NULL, NULL, NULL, NULL),"
                     " (4, 9e15, '4.25', 'true', '2026-01-02', '2026-01-02T03:04:05', 'x', 'y'),"
                     " (5, '7', 'lots', 2, '2026-02-30', 'soon', '', ''),"
                     " (6, X'37', X'37', X'31', X'32', X'33', X'41', X'42');");
    strata::bound::Program program;
    program.columns = {{"i", strata::Type::Int},      {"n", strata::Type::Number},
                       {"b", strata::Type::Bool},     {"d", strata::Type::Date},
                       {"t", strata::Type::DateTime}, {"s", strata::Type::String},
                       {"a", strata::Type::Any}};
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    strata::KeyIndex index;
    strata::DataQuality dq;
    const auto read = strata::read_customers({&db}, "cells", "id", program, index, dq, nullptr);
    std::string got;
    for (size_t r = 0; r < read.rows; ++r) {
        got += strata::format_value(read.keys[r]);
        for (const auto& c : read.columns)
            got += "|" + strata::format_value(c[r]);
        got += "\n";
    }
    // Integers: whole fractions within 64 bits and integer texts convert. Numbers: integers and
    // numeric texts. Bools: 0 and 1, and the words the parser knows. Dates and datetimes:
    // only their texts. Strings: every value's text. Any: numbers stay numbers. Blobs
    // convert to nothing typed; as strings they read as their bytes.
    CHECK(got ==
          "1|3|3|true|null|null|12|5\n"
          "2|3|2.5|null|null|null|2.5|2.5\n"
          "3|null|1e+300|false|null|null|null|null\n"
          "4|9000000000000000|4.25|true|2026-01-02|2026-01-02T03:04:05|x|y\n"
          "5|7|null|null|null|null||\n"
          "6|null|null|null|null|null|A|B\n");
    std::string bad;
    for (const auto& u : dq.unconvertible)
        bad += u.column + "=" + std::to_string(u.count) + " ";
    CHECK(bad == "b=3 d=4 i=2 n=2 t=4 ");
}

TEST_CASE("state with a placement snapshot per run moves to the stays, every run kept") {
    TempDir dir;
    const auto state = dir.database("old-state.db", R"sql(
CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, ruleset TEXT NOT NULL,
  version INTEGER NOT NULL, rules_sha256 TEXT NOT NULL, rules_path TEXT NOT NULL,
  as_of TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  status TEXT NOT NULL, customers INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE strata_placements (run_id INTEGER NOT NULL, placement INTEGER NOT NULL,
  segment TEXT NOT NULL, tactical TEXT NOT NULL, PRIMARY KEY (run_id, placement)) WITHOUT ROWID;
CREATE TABLE strata_members (run_id INTEGER NOT NULL, customer_key NOT NULL,
  placement INTEGER NOT NULL, PRIMARY KEY (run_id, customer_key)) WITHOUT ROWID;
CREATE VIEW strata_membership (run_id, customer_key, segment, tactical) AS
  SELECT m.run_id, m.customer_key, p.segment, p.tactical FROM strata_members m
  JOIN strata_placements p ON p.run_id = m.run_id AND p.placement = m.placement;
INSERT INTO strata_runs VALUES (1, 'a', 1, 'x', 'a.yaml', '2026-09-01', 't', 't', 'complete', 3, '{}'),
  (2, 'b', 1, 'x', 'b.yaml', '2026-09-01', 't', 't', 'complete', 1, '{}'),
  (3, 'a', 2, 'x', 'a.yaml', '2026-10-01', 't', 't', 'complete', 3, '{}'),
  (4, 'a', 2, 'x', 'a.yaml', '2026-11-01', 't', 't', 'complete', 2, '{}');
INSERT INTO strata_placements VALUES (1, 0, 'gold', 'vip;vip/new'), (1, 1, 'rest', ''),
  (2, 0, 'x', ''), (3, 0, 'gold', 'vip'), (3, 1, 'rest', ''), (4, 0, 'rest', 'vip/new');
INSERT INTO strata_members VALUES (1, 1, 0), (1, 2, 1), (1, 'z', 0), (2, 1, 0),
  (3, 1, 0), (3, 2, 0), (3, 'z', 1), (4, 1, 0), (4, 'z', 0);
)sql");
    std::vector<std::string> before;
    auto snapshot = [&](const std::string& path) {
        std::vector<std::string> out;
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        SQLite::Statement q(db,
                            "SELECT run_id, customer_key, segment, tactical FROM "
                            "strata_membership ORDER BY run_id, customer_key");
        while (q.executeStep())
            out.push_back(q.getColumn(0).getString() + " " + q.getColumn(1).getString() + " " +
                          q.getColumn(2).getString() + " [" + q.getColumn(3).getString() + "]");
        return out;
    };
    before = snapshot(state);
    REQUIRE(before.size() == 9);
    strata::StoreError error;
    {
        // Read before any run has moved the file to the stays (export does this).
        SQLite::Database old(state, SQLite::OPEN_READONLY);
        CHECK(strata::load_membership(old, 1, error).size() == 3);
        CHECK(error.message.empty());
    }
    REQUIRE(strata::open_state(state, error));
    CHECK(snapshot(state) == before);
    SQLite::Database check(state, SQLite::OPEN_READONLY);
    // Run 4 used version 2 like run 3: its moves are the data's. Run 3's came with version 2.
    CHECK(check
              .execAndGet("SELECT group_concat(cause, ',') FROM (SELECT DISTINCT cause FROM "
                          "strata_stay_history WHERE entered_run = 3)")
              .getString() == "rules");
    CHECK(check
              .execAndGet(
                  "SELECT count(*) FROM strata_stay_history WHERE ruleset = 'a' AND exited_run "
                  "IS NULL")
              .getInt() == 4);  // 1 and z each in rest and vip/new; customer 2 left
}
