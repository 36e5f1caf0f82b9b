// `strata report` (issue 11): which run it reports, its refusals, the numbers it writes into the
// HTML (moves up and down, quality flags, workload, how segments differ from the base), the
// note when the data changed since the run, and the same bytes twice. The browser side is
// tests/report_browser_test.py.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "report/report_model.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// 1,510 customers: 1,500 small spenders and 10 big ones (1401 to 1410).
const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER, spend REAL, tv INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
  INSERT INTO customers SELECT i, 10, 0 FROM n;
UPDATE customers SET spend = 5000 WHERE customer_id BETWEEN 1401 AND 1410;
INSERT INTO customers SELECT i + 1500, 10, 0 FROM (SELECT 1 AS i UNION ALL SELECT 2 UNION ALL
  SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL
  SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10);
)sql";

std::string tiers_rules(const std::string& extra = "") {
    return R"(ruleset: tiers
version: 1
let:
  spend_twice: spend * 2
value: spend
general:
  segments:
    - id: vip
      when: spend >= 1000
      offer: a gift
      channel: phone
      contact_every: 2w
      tactical:
        - id: tv
          when: tv == 1
    - id: regular
      when: spend >= 100
      offer: bundle
      channel: email
      contact_every: 1mo
    - id: small
      when: otherwise
)" + extra;
}

const char* kOtherRules = R"(ruleset: spenders
version: 4
general:
  segments:
    - id: high
      when: spend >= 100
    - id: low
      when: otherwise
)";

// Run 1 of tiers as of 2026-10-01; then 1,200 customers move from small up to regular (customer
// 7 up to vip, with tv) and 3 big ones down to small; run 2 as of 2026-11-01; then spenders
// (run 3).
struct Stored {
    TempDir dir;
    std::string db = dir.database("base.db", kBase);
    std::string rules;
    std::string out = dir.file("report.html");

    explicit Stored(const std::string& extra = "", bool other = true) {
        rules = dir.write("tiers.yaml", tiers_rules(extra));
        auto first = run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"});
        REQUIRE_MESSAGE(first.code == 0, first.err);
        SQLite::Database(db, SQLite::OPEN_READWRITE)
            .exec(
                "UPDATE customers SET spend = 500 WHERE customer_id BETWEEN 1 AND 1200;"
                "UPDATE customers SET spend = 2000, tv = 1 WHERE customer_id = 7;"
                "UPDATE customers SET spend = 10 WHERE customer_id BETWEEN 1401 AND 1403;");
        auto second = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(second.code == 0, second.err);
        if (!other) return;
        auto third = run_cli(
            {"run", dir.write("spenders.yaml", kOtherRules), "--db", db, "--as-of", "2026-11-01"});
        REQUIRE_MESSAGE(third.code == 0, third.err);
    }

    Run report(std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"report", "--db", db, "--out", out};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    }
};

}  // namespace

TEST_CASE("report: moves up and down between two runs, and the segment numbers of the run") {
    Stored s;
    auto r = s.report({"--ruleset", "tiers"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out ==
          "wrote " + s.out +
              ": tiers v1, run 2 as of 2026-11-01, 1,510 customers, compared with run 1\n");
    const std::string html = file_text(s.out);
    // Listed earlier = up: small -> regular (1,199) and small -> vip (customer 7); vip -> small
    // is down.
    CHECK(html.find("id=\"moves-up\" data-value=\"1200\"") != std::string::npos);
    CHECK(html.find("id=\"moves-down\" data-value=\"3\"") != std::string::npos);
    CHECK(html.find("id=\"moves-stayed\" data-value=\"307\"") != std::string::npos);
    CHECK(html.find("id=\"moves-new\" data-value=\"0\"") != std::string::npos);
    // The rows carry the run's numbers: vip holds 10 - 3 + 1 = 8 customers.
    CHECK(html.find("data-segment=\"vip\" data-path=\"vip\" data-level=\"0\" "
                    "data-customers=\"8\" data-share=\"0.0053\" data-value-total=\"37000.00\"") !=
          std::string::npos);
    CHECK(html.find("data-segment=\"regular\" data-path=\"regular\" data-level=\"0\" "
                    "data-customers=\"1199\"") != std::string::npos);
    CHECK(html.find("data-segment=\"tv\" data-path=\"tv\" data-level=\"1\" data-customers=\"1\"") !=
          std::string::npos);
    // Workload: 1,199 regulars a month by email; 8 vips every two weeks by phone.
    CHECK(html.find("data-channel=\"email\" data-contacts=\"1199.0\"") != std::string::npos);
    CHECK(html.find("data-channel=\"phone\" data-contacts=\"17.4\"") != std::string::npos);
    // vip is below 1% of the base; small has neither offer nor channel.
    CHECK(html.find("data-flag=\"too_small\" data-segment=\"vip\"") != std::string::npos);
    CHECK(html.find("data-flag=\"not_actionable\" data-segment=\"small\"") != std::string::npos);
    CHECK(html.find("data-flag=\"not_actionable\" data-segment=\"vip\"") == std::string::npos);
    // vip's spend is far above the base's: its first distinct let is spend_twice, upwards.
    const size_t vip = html.find("data-segment=\"vip\"");
    const size_t row_end = html.find("</tr>", vip);
    const size_t let = html.find("data-let=\"spend_twice\" data-z=\"", vip);
    REQUIRE(let < row_end);
    CHECK(std::atof(html.c_str() + let + 31) > 5.0);
    // Pareto: the first 1% (16 of 1,510, the most valuable first) hold 7 x 5,000 + 2,000 +
    // 8 x 500 = 41,000 of 639,530; the first half (755) 37,000 + 747 x 500 = 410,500.
    CHECK(html.find("\"pareto\":[[0,0],[0.01,0.0641],") != std::string::npos);
    CHECK(html.find("[0.5,0.6419]") != std::string::npos);
    // Nothing changed since run 2: no note about it.
    CHECK(html.find("The data has changed") == std::string::npos);
    CHECK(html.find("id=\"chart-moves\"") != std::string::npos);
}

TEST_CASE("report: defaults to the latest run's ruleset, and a first run has no moves") {
    Stored s;
    // A file named like a partial write beside --out is someone else's: left as it was.
    {
        std::ofstream other(s.out + ".partial");
        other << "notes";
    }
    auto r = s.report();
    CHECK(file_text(s.out + ".partial") == "notes");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out == "wrote " + s.out + ": spenders v4, run 3 as of 2026-11-01, 1,510 customers\n");
    const std::string html = file_text(s.out);
    CHECK(html.find("data-ruleset=\"spenders\"") != std::string::npos);
    CHECK(html.find("id=\"moves-none\"") != std::string::npos);
    CHECK(html.find("id=\"chart-moves\"") == std::string::npos);
    // No value in this rule file, and no rfm let.
    CHECK(html.find("id=\"chart-pareto\"") == std::string::npos);
    CHECK(html.find("id=\"chart-rfm\"") == std::string::npos);
}

TEST_CASE("report: the same state gives the same bytes, and --run and --compare choose") {
    Stored s;
    REQUIRE(s.report({"--ruleset", "tiers"}).code == 0);
    const std::string once = file_text(s.out);
    REQUIRE(s.report({"--ruleset", "tiers"}).code == 0);
    CHECK(file_text(s.out) == once);
    // --run alone reports that run, of its own ruleset.
    auto first = s.report({"--run", "1"});
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(first.out.find("run 1 as of 2026-10-01") != std::string::npos);
    auto backwards = s.report({"--ruleset", "tiers", "--run", "1", "--compare", "2"});
    REQUIRE_MESSAGE(backwards.code == 0, backwards.err);
    CHECK(file_text(s.out).find("id=\"moves-down\" data-value=\"1200\"") != std::string::npos);
}

TEST_CASE("report: says so when the data changed since the run") {
    Stored s;
    // Run 1 saw the base before 1,203 customers changed.
    auto r = s.report({"--ruleset", "tiers", "--run", "1"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.find("note: The data has changed since run 1") != std::string::npos);
    CHECK(r.err.find("1,203 of the run's customers are placed elsewhere") != std::string::npos);
    CHECK(file_text(s.out).find("The data has changed since run 1") != std::string::npos);
}

TEST_CASE("report: --out through a symbolic link writes its file, which keeps its permissions") {
    Stored s;
    namespace fs = std::filesystem;
    const std::string real = s.dir.file("private.html");
    { std::ofstream(real) << "old"; }
    fs::permissions(real, fs::perms::owner_read | fs::perms::owner_write);
    const std::string link = s.dir.file("latest.html");
    fs::create_symlink("private.html", link);
    const Run r = run_cli({"report", "--db", s.db, "--out", link});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(fs::is_symlink(link));
    CHECK(file_text(real).find("<!DOCTYPE html>") == 0);
    CHECK(fs::status(real).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("report: refusals exit 2 with the reason") {
    Stored s;
    auto check = [&](std::vector<std::string> args, const std::string& message) {
        auto r = s.report(std::move(args));
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
    };
    check({"--ruleset", "nope"}, "no stored run of ruleset 'nope'");
    check({"--ruleset", "tiers", "--run", "9"}, "run 9 does not exist");
    check({"--ruleset", "tiers", "--run", "3"},
          "run 3 is a run of ruleset 'spenders', not of 'tiers'");
    // A ruleset with no runs at all, and --run of another's: the run is what is wrong (AO9).
    check({"--ruleset", "nope", "--run", "3"},
          "run 3 is a run of ruleset 'spenders', not of 'nope'");
    check({"--ruleset", "tiers", "--compare", "2"}, "--compare 2 is the run reported");
    check({"--ruleset", "tiers", "--compare", "3"},
          "--compare run 3 is a run of ruleset 'spenders', not of 'tiers'");
    check({"--ruleset", "tiers", "--compare", "7"}, "--compare run 7 does not exist");
    TempDir empty;
    const std::string fresh = empty.database("fresh.db", kBase);
    auto none = run_cli({"report", "--db", fresh, "--out", empty.file("r.html")});
    CHECK(none.code == 2);
    CHECK(none.err.find("no runs are stored in") != std::string::npos);
    auto unwritable =
        run_cli({"report", "--db", s.db, "--out", s.dir.file("no/such/folder/r.html")});
    CHECK(unwritable.code == 2);
    CHECK(unwritable.err.find("cannot write") != std::string::npos);
    CHECK_MESSAGE(unwritable.err.find("No such file or directory") != std::string::npos,
                  unwritable.err);
    const Run folder = run_cli({"report", "--db", s.db, "--out", s.dir.file("")});
    CHECK(folder.code == 2);
    CHECK(folder.err.find("is a folder; --out names the HTML file to write") != std::string::npos);
    // A FIFO or a device at --out is refused, not opened (which would wait for a reader) nor
    // replaced by a file.
    const std::string fifo = s.dir.file("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    auto refused = [&](const std::string& out, const std::string& message) {
        const Run r = run_cli({"report", "--db", s.db, "--out", out});
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
    };
    refused(fifo, "cannot write the report: '" + fifo +
                      "' is a FIFO, not a regular file: the new file would replace it");
    CHECK(std::filesystem::is_fifo(fifo));
    const std::string device_link = s.dir.file("null.html");
    std::filesystem::create_symlink("/dev/null", device_link);
    refused(device_link, "(a link to '/dev/null') is a device");
    CHECK(std::filesystem::is_character_file("/dev/null"));
    // The variable as it was is put back, so that later tests find the library as before.
    const char* was = std::getenv("STRATA_ECHARTS_JS");
    const std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
    ::setenv("STRATA_ECHARTS_JS", s.dir.file("missing.js").c_str(), 1);
    auto no_library = s.report();
    if (saved)
        ::setenv("STRATA_ECHARTS_JS", saved->c_str(), 1);
    else
        ::unsetenv("STRATA_ECHARTS_JS");
    CHECK(no_library.code == 2);
    CHECK(no_library.err.find("echarts.min.js was not found") != std::string::npos);
    // A summary edited by hand into something that is not JSON is named, where it is.
    SQLite::Database(s.db, SQLite::OPEN_READWRITE)
        .exec("UPDATE strata_runs SET summary = '{bad' WHERE run_id = 2");
    check({"--ruleset", "tiers", "--run", "2"},
          "column 'summary' of run 2 in table 'strata_runs' of '" + s.db + "' is not JSON");
}

TEST_CASE("report: a segment exactly at report.min_share is not below it") {
    TempDir dir;
    // 3,000 customers, 252 of them big spenders: exactly 8.4% (252.00000000000003 in doubles).
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, spend REAL, tv INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
  INSERT INTO customers SELECT i, CASE WHEN i <= 252 THEN 5000 ELSE 10 END, 0 FROM n;
)sql");
    for (const char* share : {"8.4%", "8.41%"}) {
        CAPTURE(share);
        const std::string rules =
            dir.write("t.yaml", tiers_rules(std::string("report:\n  min_share: ") + share + "\n"));
        const std::string state = dir.file(std::string("state-") + share + ".db");
        REQUIRE(
            run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01", "--state", state}).code ==
            0);
        const std::string out = dir.file("r.html");
        REQUIRE(run_cli({"report", "--db", db, "--state", state, "--out", out}).code == 0);
        const bool flagged = file_text(out).find("data-flag=\"too_small\" data-segment=\"vip\"") !=
                             std::string::npos;
        CHECK(flagged == (std::string(share) == "8.41%"));
    }
}

TEST_CASE("report: the rule file's report.min_share sets the smallest share worth acting on") {
    Stored s("report:\n  min_share: 0.5%\n", false);
    REQUIRE(s.report().code == 0);
    const std::string html = file_text(s.out);
    CHECK(html.find("data-min-share=\"0.0050\"") != std::string::npos);
    CHECK(html.find("A general segment below 0.5% of the base") != std::string::npos);
    // vip holds 0.53%: above 0.5%.
    CHECK(html.find("data-flag=\"too_small\"") == std::string::npos);
    // The version no longer compiles against the data: its min_share is still its own.
    SQLite::Database(s.db, SQLite::OPEN_READWRITE)
        .exec("ALTER TABLE customers RENAME COLUMN spend TO spent");
    const Run stale = s.report();
    REQUIRE(stale.code == 0);
    const std::string stale_html = file_text(s.out);
    CHECK(stale_html.find("no longer compiles") != std::string::npos);
    CHECK(stale_html.find("data-min-share=\"0.0050\"") != std::string::npos);

    // A share is written as the file wrote it: 7% is 7%, not 7.00% (0.07 × 100 is not 7).
    for (const auto& [written, shown] :
         {std::pair{"7%", "below 7% of"}, std::pair{"12.5%", "below 12.5% of"},
          std::pair{"1.25%", "below 1.25% of"}, std::pair{"29%", "below 29% of"}}) {
        CAPTURE(written);
        Stored other(std::string("report:\n  min_share: ") + written + "\n", false);
        REQUIRE(other.report().code == 0);
        CHECK(file_text(other.out).find(std::string("A general segment ") + shown) !=
              std::string::npos);
    }

    TempDir dir;
    auto bad = run_cli({"check", dir.write("bad.yaml", tiers_rules("report:\n  min_share: 2\n"))});
    CHECK(bad.code == 1);
    CHECK((bad.out + bad.err).find("'min_share' must be a percentage") != std::string::npos);
    auto unknown =
        run_cli({"check", dir.write("unknown.yaml", tiers_rules("report:\n  min_shares: 2%\n"))});
    CHECK(unknown.code == 1);
    CHECK((unknown.out + unknown.err)
              .find("unknown key 'min_shares' in 'report' (did you mean 'min_share'?)") !=
          std::string::npos);
}

TEST_CASE("report: contacts per month from contact_every") {
    using strata::report::contacts_per_month;
    CHECK(*contacts_per_month("1mo") == doctest::Approx(1.0));
    CHECK(*contacts_per_month("3mo") == doctest::Approx(1.0 / 3));
    CHECK(*contacts_per_month("2w") == doctest::Approx(365.25 / 12 / 14));
    CHECK(*contacts_per_month("10d") == doctest::Approx(3.04375));
    CHECK(*contacts_per_month("1y") == doctest::Approx(1.0 / 12));
    CHECK(!contacts_per_month(""));
    CHECK(!contacts_per_month("soon"));
}

TEST_CASE("report: workload of general segments only, too small by count, best: low, refusals") {
    TempDir dir;
    // 5,125 customers, 51 of them big spenders: 0.995% of the base, stored as a share 0.0100.
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, spend REAL, tv INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5125)
  INSERT INTO customers SELECT i, CASE WHEN i <= 51 THEN 5000 ELSE 10 END, 0 FROM n;
CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);
INSERT INTO orders SELECT customer_id, '2026-09-01', spend FROM customers;
)sql");
    const std::string rules = dir.write("w.yaml", R"Y(ruleset: work
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  score: "rfm(recency: max(orders.order_date), frequency: count(orders), monetary: sum(orders.amount), bins: 3, best: low)"
report:
  min_share: 1%
general:
  segments:
    - id: vip
      when: spend >= 1000
      offer: a gift
      channel: phone
      contact_every: 2w
      tactical:
        - id: vip_sms
          when: spend >= 1000
          channel: sms
          contact_every: 1w
    - id: rest
      when: otherwise
      offer: news
      channel: email
      contact_every: 1mo
)Y");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const std::string out = dir.file("r.html");
    const Run r = run_cli({"report", "--db", db, "--out", out});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const std::string html = file_text(out);
    // 51 × 30.4375 / 14 phone contacts a month; the tactical segment's sms is not added.
    CHECK(html.find("data-channel=\"phone\" data-contacts=\"110.9\"") != std::string::npos);
    CHECK(html.find("data-channel=\"sms\"") == std::string::npos);
    // 51 of 5,125 is below 1%, whatever the rounded share says.
    CHECK(html.find("data-flag=\"too_small\" data-segment=\"vip\"") != std::string::npos);
    CHECK(html.find("with <code>best: low</code>, 1 is the most recent") != std::string::npos);
    CHECK(html.find("higher is more recent") == std::string::npos);

    // --out naming a database: refused, and the database is untouched.
    const Run over = run_cli({"report", "--db", db, "--out", db});
    CHECK(over.code == 2);
    CHECK(over.err.find("is a SQLite database") != std::string::npos);
    CHECK(scalar(db, "SELECT count(*) FROM strata_runs") == 1);
    // A warehouse URL as the state of a SQLite base: no password repeated.
    const Run url = run_cli({"report", "--db", db, "--state", "postgresql://u:secret@127.0.0.1:1/x",
                             "--out", dir.file("x.html")});
    CHECK(url.code == 2);
    CHECK(url.err.find("--state is a database URL") != std::string::npos);
    CHECK(url.err.find("secret") == std::string::npos);
    // A chart library that is not one, or that ends the script in capitals.
    const char* was = std::getenv("STRATA_ECHARTS_JS");
    const std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
    ::setenv("STRATA_ECHARTS_JS", dir.write("empty.js", "").c_str(), 1);
    const Run empty = run_cli({"report", "--db", db, "--out", dir.file("e.html")});
    ::setenv("STRATA_ECHARTS_JS", dir.write("bad.js", "var echarts = '</SCRIPT>';").c_str(), 1);
    const Run closing = run_cli({"report", "--db", db, "--out", dir.file("c.html")});
    if (saved)
        ::setenv("STRATA_ECHARTS_JS", saved->c_str(), 1);
    else
        ::unsetenv("STRATA_ECHARTS_JS");
    CHECK(empty.code == 2);
    CHECK(empty.err.find("is not the ECharts library") != std::string::npos);
    CHECK(closing.code == 2);
    CHECK(closing.err.find("contains '</script'") != std::string::npos);
}

TEST_CASE("report: an earlier run's holdout readout says it counts the later runs' firings") {
    const Stored s(R"(triggers:
  - id: welcome
    on: enter vip
    holdout: 50%
    actions:
      - email: { template: welcome }
)",
                   false);
    REQUIRE(s.report({"--run", "1"}).code == 0);
    const std::string earlier = file_text(s.out);
    CHECK(earlier.find("<tr data-trigger=\"welcome\">") != std::string::npos);
    CHECK(earlier.find("id=\"readout-scope\">Every firing of the ruleset up to its latest run "
                       "(run 2, as of 2026-11-01), later runs than this one included") !=
          std::string::npos);
    REQUIRE(s.report().code == 0);
    CHECK(file_text(s.out).find("readout-scope") == std::string::npos);
}

TEST_CASE(
    "report: a value below zero or a total of zero leaves the Pareto curve out, and says why") {
    // Shares of a total need values of zero or more: with losses, the curve passed 100%.
    struct Case {
        std::string value;
        std::string note;
    };
    for (const Case& c :
         {Case{"spend - 100",
               "note: The Pareto curve is left out: 1,500 of 1,510 customers have a value "
               "(spend - 100) below zero, and shares of a total need values of zero or more.\n"},
          Case{"spend - 10", ""},  // zeros are values of zero or more
          Case{"spend * 0",
               "note: The Pareto curve is left out: no customer has a value (spend * 0) above "
               "zero.\n"}}) {
        CAPTURE(c.value);
        TempDir dir;
        const std::string db = dir.database("base.db", kBase);
        std::string text = tiers_rules();
        text.replace(text.find("value: spend"), 12, "value: " + c.value);
        const std::string rules = dir.write("tiers.yaml", text);
        REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
        const std::string out = dir.file("report.html");
        const Run r = run_cli({"report", "--db", db, "--out", out});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        const std::string html = file_text(out);
        if (c.note.empty()) {
            CHECK(r.err.find("Pareto") == std::string::npos);
            CHECK(html.find("id=\"chart-pareto\"") != std::string::npos);
            // The 10 big spenders hold all of it: the first 1% (16 customers) every bit.
            CHECK(html.find("\"pareto\":[[0,0],[0.01,1],") != std::string::npos);
            continue;
        }
        CHECK(r.err.find(c.note) != std::string::npos);
        CHECK(html.find("id=\"chart-pareto\"") == std::string::npos);
        CHECK(html.find("\"pareto\":[]") != std::string::npos);
        CHECK(html.find("<p class=\"note\">The Pareto curve is left out") != std::string::npos);
    }
}

TEST_CASE("report: a run of an empty base says so and draws no empty charts") {
    TempDir dir;
    const std::string db = dir.database(
        "base.db", "CREATE TABLE customers (customer_id INTEGER, spend REAL, tv INTEGER);");
    const std::string rules = dir.write("tiers.yaml", tiers_rules());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string out = dir.file("report.html");
    const Run r = run_cli({"report", "--db", db, "--out", out});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("run 2 as of 2026-11-01, 0 customers, compared with run 1") !=
          std::string::npos);
    CHECK(r.err.find("note: Run 2 placed no customers: the customer table had none at its as_of "
                     "2026-11-01.") != std::string::npos);
    const std::string html = file_text(out);
    for (const char* chart :
         {"chart-moves", "chart-value-share", "chart-workload", "chart-pareto"}) {
        CAPTURE(chart);
        CHECK(html.find(std::string("id=\"") + chart + "\"") == std::string::npos);
    }
    CHECK(html.find("The run placed no customers, so there is no value to share out.") !=
          std::string::npos);
    CHECK(html.find("id=\"moves-stayed\" data-value=\"0\"") != std::string::npos);
    // The sizes across runs are still drawn: zeros are a history too.
    CHECK(html.find("id=\"chart-history\"") != std::string::npos);
}

TEST_CASE("report: a segment's shares are the run's own, not its rounded share rounded again") {
    // big holds 57,745.20 of 76,232.40: 75.748%, which the run's table shows as 75.7%. The
    // summary keeps the share as 0.7575, and 75.75% would show as 75.8%. Likewise 1 of 8
    // customers is 12.5%, kept as 0.125.
    TempDir dir;
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, spend REAL);
INSERT INTO customers VALUES (1, 57745.20), (2, 2641.0), (3, 2641.0), (4, 2641.0), (5, 2641.0),
  (6, 2641.0), (7, 2641.0), (8, 2641.2);
)sql");
    const std::string rules = dir.write("v.yaml", R"(ruleset: shares
version: 1
value: spend
general:
  segments:
    - id: big
      when: spend > 10000
    - id: rest
      when: otherwise
)");
    const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(run.out.find("75.7%") != std::string::npos);
    const std::string out = dir.file("r.html");
    const Run r = run_cli({"report", "--db", db, "--out", out});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const std::string html = file_text(out);
    const size_t big = html.find("data-segment=\"big\"");
    REQUIRE(big != std::string::npos);
    const std::string row = html.substr(big, html.find("</tr>", big) - big);
    CHECK(row.find("data-value-share=\"0.7575\"") != std::string::npos);
    CHECK(row.find(">75.7%<") != std::string::npos);
    CHECK(row.find(">75.8%<") == std::string::npos);
    CHECK(row.find(">12.5%<") != std::string::npos);
}

TEST_CASE("report: one customer's evaluation stored by eval --apply is not a run to report") {
    Stored s("", false);
    SQLite::Database(s.db, SQLite::OPEN_READWRITE)
        .exec("UPDATE customers SET spend = 5000 WHERE customer_id = 1500");
    auto applied = run_cli({"eval", s.rules, "--db", s.db, "--customer", "1500", "--apply"});
    REQUIRE_MESSAGE(applied.code == 0, applied.err);
    // Run 3 is the evaluation: the report is of run 2, and says why.
    auto r = s.report();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out ==
          "wrote " + s.out +
              ": tiers v1, run 2 as of 2026-11-01, 1,510 customers, compared with run 1\n");
    CHECK(r.err.find("note: 1 evaluation of one customer was stored after run 2 (strata eval "
                     "--apply)") != std::string::npos);
    const std::string html = file_text(s.out);
    CHECK(html.find("data-segment=\"vip\" data-path=\"vip\" data-level=\"0\" "
                    "data-customers=\"8\"") != std::string::npos);
    auto refused = s.report({"--run", "3"});
    CHECK(refused.code == 2);
    CHECK(refused.err.find("run 3 is one customer's evaluation (strata eval --apply), not a run "
                           "of the whole base; report a run of 'strata run' (the latest is run "
                           "2)") != std::string::npos);
    // A batch run after it is reported, compared with run 2, the run of the whole base before.
    auto third = run_cli({"run", s.rules, "--db", s.db, "--as-of", "2026-11-02"});
    REQUIRE_MESSAGE(third.code == 0, third.err);
    r = s.report();
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("run 4 as of 2026-11-02, 1,510 customers, compared with run 2\n") !=
          std::string::npos);
    CHECK(r.err.find("evaluation") == std::string::npos);
    // vip holds 8 + customer 1500.
    CHECK(file_text(s.out).find("data-segment=\"vip\" data-path=\"vip\" data-level=\"0\" "
                                "data-customers=\"9\"") != std::string::npos);
}

TEST_CASE("report: a shared tactical segment differs from the base by its customers in each row") {
    TempDir dir;
    // trial is inside vip and regular: under vip its customer spends 5,000, under regular 10.
    const std::string db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, spend REAL, plan TEXT);
INSERT INTO customers VALUES (1, 5000, 'trial'), (2, 4000, 'paid'), (3, 10, 'trial'),
  (4, 20, 'paid'), (5, 30, 'paid'), (6, 10, 'trial');
)sql");
    const std::string rules = dir.write("shared.yaml", R"(ruleset: shared
version: 1
let:
  s: spend
general:
  segments:
    - id: vip
      when: spend >= 1000
    - id: regular
      when: otherwise
tactical:
  - id: trial
    when: plan == 'trial'
    within: [vip, regular]
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string out = dir.file("report.html");
    const Run r = run_cli({"report", "--db", db, "--out", out});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const std::string html = file_text(out);
    // The z of `s` in the trial row that follows a general segment's row.
    auto trial_z = [&](const std::string& general) {
        const size_t row = html.find("data-path=\"" + general + "\" data-level=\"0\"");
        const size_t trial = html.find("data-path=\"trial\"", row);
        const size_t let = html.find("data-let=\"s\" data-z=\"", trial);
        REQUIRE(row != std::string::npos);
        // The two trial rows share a path; data-within tells them apart.
        const std::string within = " data-within=\"" + general + "\">";
        CHECK(html.find(within, trial) + within.size() - 1 == html.find('>', trial));
        REQUIRE(let < html.find("</tr>", trial));
        return std::atof(html.c_str() + let + 21);
    };
    // The base: mean 1,511.67, SD 2,132.71. Trial under vip: 5,000; under regular: 10.
    CHECK(trial_z("vip") == doctest::Approx(1.64).epsilon(0.01));
    CHECK(trial_z("regular") == doctest::Approx(-0.70).epsilon(0.01));
    CHECK(html.find("title=\"average 10.00 against 1,511.67 in the base\"") != std::string::npos);
}

TEST_CASE("report: data-quality findings in words, one and many") {
    TempDir dir;
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 20), (2, 30), (NULL, 5), (3, 'lots');
CREATE TABLE orders (customer_id INTEGER, order_date DATE, amount REAL);
INSERT INTO orders VALUES (1, '2026-09-01', 5), (9, '2026-09-01', 5), (8, '2026-09-02', 5),
  (1, NULL, 5), (1, 'soon', 7);
)sql");
    const auto rules = dir.write("r.yaml", R"(ruleset: dq
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  n: count(orders)
general:
  segments:
    - id: some
      when: spend > 15 or n > 0
    - id: rest
      when: otherwise
)");
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    const auto out = dir.file("r.html");
    const Run r = run_cli({"report", "--db", db, "--out", out});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const std::string html = file_text(out);
    for (const char* line :
         {"<li>1 customer row without a key, left out</li>",
          "<li>1 customer row whose key repeats an earlier row, left out</li>",
          "<li>1 value of customers.spend is not number (first: &#39;lots&#39;), read as "
          "null</li>",
          "<li>2 orders rows match no customer</li>",
          "<li>2 orders rows have no readable time, left out</li>"}) {
        CAPTURE(line);
        CHECK(html.find(line) != std::string::npos);
    }
}
