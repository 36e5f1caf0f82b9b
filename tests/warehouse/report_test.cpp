// `strata report --db URL` (state/report_store.hpp) against the report of the same runs made on
// SQLite: one rule file with tactical segments, a value, report settings and triggers, run three
// times on a SQLite base and on its copy in PostgreSQL and in the two-shard ClickHouse, the
// base changed the same way between runs (customers leave, join and buy). The model gathered
// from the warehouse must be the SQLite one, field by field (data-quality findings included),
// but for the runs' clock times: the sections that need each customer's values (how each
// segment differs from the base, with lets that are null for some customers and tie; the
// Pareto curve; R × F) to the last bit of each double, the holdout readout of a trigger with a
// holdout and a success, and the notes (the data changed since an earlier run). Then the HTML
// written from a warehouse, and the refusals.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "cli/clickhouse_schema.hpp"
#include "engine/value_pool.hpp"
#include "report/report_model.hpp"
#include "report/run_store.hpp"
#include "state/report_store.hpp"
#include "tests/sql_generator.hpp"
#include "tests/test_support.hpp"
#include "tests/warehouse/run_databases.hpp"
#include "tests/warehouse/run_support.hpp"
#include "tests/warehouse/warehouse_support.hpp"

using namespace strata::testing;
using namespace strata::warehouse;
using namespace strata::warehouse::testing;
namespace report = strata::report;

namespace {

// 400 customers with every tier, 0 to 4 orders each through 2026.
const std::string kBase = std::string(kSchema) + R"sql(
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO customers (customer_id, tier, score, credit, opt_in, signup)
  SELECT i, CASE i % 4 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' WHEN 2 THEN NULL ELSE 'bronze' END,
         i % 50, (i % 17) * 10.5, i % 2, date('2025-01-01', '+' || (i % 300) || ' days') FROM n;
WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 4)
INSERT INTO orders (customer_id, order_date, amount, items, category)
  SELECT c.customer_id, date('2026-01-01', '+' || ((c.customer_id * 7 + j * 13) % 300) || ' days'),
         (c.customer_id % 23) * j + 0.25, j, CASE j % 2 WHEN 0 THEN 'books' ELSE 'toys' END
  FROM customers c, k WHERE j <= c.customer_id % 5;
)sql";

const char* kRules = R"x(ruleset: wh_report
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id, time: order_date }
let:
  revenue: sum(orders.amount)
  n_orders: count(orders)
  avg_amount: avg(orders.amount)
  last_order: max(orders.order_date)
  rfm: "rfm(recency: last_order, frequency: n_orders, monetary: revenue, bins: 3)"
  label: "if(n_orders > 2, 'many', 'few')"
  half_score: score / 2
value: revenue
report:
  min_share: 5%
general:
  segments:
    - id: buyers
      label: Buyers
      when: n_orders >= 2
      goal: keep them buying
      offer: bundle
      channel: email
      contact_every: 2w
      priority: 1
      tactical:
        - id: big
          when: revenue > 100
    - id: gold
      when: tier == 'gold'
      offer: gift
      channel: phone
      contact_every: 1mo
    - id: few
      when: n_orders == 1 and score > 45
      channel: sms
    - id: rest
      when: otherwise
triggers:
  - id: new_buyer
    on: enter buyers
    success: exit buyers within 1d
    actions:
      - email: { template: "hello {{customer_id}}" }
  - id: big_in
    on: in big
    holdout: 50%
    success: exit big within 1d
    actions:
      - tag: { name: big }
)x";

std::string number(double v) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

template <class T>
std::string maybe(const std::optional<T>& v) {
    if (!v) return "none";
    if constexpr (std::is_same_v<T, double>)
        return number(*v);
    else
        return std::to_string(*v);
}

// Every field of the model, one per line: what the test compares. Left out: ran_at (each run's
// own clock time).
std::string fields(const report::ReportModel& m) {
    std::ostringstream o;
    o << "ruleset " << m.ruleset << "\nversion " << m.version << "\nsha256 " << m.sha256
      << "\nas_of " << m.as_of << "\nrun_id " << m.run_id << "\ncustomers " << m.customers
      << "\nvalue_total " << maybe(m.value_total) << "\nvalue_name " << m.value_name
      << "\ndata_quality_findings " << m.data_quality_findings << "\nmin_share "
      << number(m.min_share) << "\nfiring " << m.firing << "\n";
    for (const auto& line : m.data_quality_lines)
        o << "data_quality " << line << "\n";
    for (const auto& s : m.segments)
        o << "segment " << s.id << " | " << s.path << " | " << s.parent << " | " << s.depth << " | "
          << s.label << " | " << s.count << " | " << number(s.share) << " | "
          << maybe(s.value_total) << " | " << maybe(s.value_avg) << " | " << maybe(s.value_share)
          << " | " << s.goal << " | " << s.offer << " | " << s.channel << " | " << s.contact_every
          << " | " << maybe(s.priority) << " | " << maybe(s.contacts_per_month) << "\n";
    for (const auto& f : m.flags)
        o << "flag " << f.segment << " | " << f.kind << " | " << f.text << "\n";
    for (const auto& [channel, contacts] : m.contacts_by_channel)
        o << "contacts " << channel << " " << number(contacts) << "\n";
    if (m.moves) {
        const auto& v = *m.moves;
        o << "moves " << v.from_run << " " << v.from_as_of << " -> " << v.to_run << " "
          << v.to_as_of << ": stayed " << v.stayed << " up " << v.up << " down " << v.down
          << " entered " << v.entered << " left " << v.left << "\n";
        for (const auto& f : v.flows)
            o << "flow " << f.from << " -> " << f.to << " " << f.count << "\n";
    }
    for (size_t i = 0; i < m.history.runs.size(); ++i)
        o << "history run " << m.history.runs[i] << " " << m.history.as_of[i] << "\n";
    for (const auto& id : m.history.segments) {
        o << "history " << id << ":";
        for (int64_t n : m.history.counts.at(id))
            o << " " << n;
        o << "\n";
    }
    for (const auto& t : m.triggers)
        o << "trigger " << t.id << " | " << t.on << " | " << t.customers << " | " << t.enqueued
          << " | " << t.held_out << " | " << t.capped << " | " << t.cooled_down << "\n";
    for (const auto& b : m.outbox)
        o << "outbox " << b.trigger << " " << b.status << " " << b.count << "\n";
    o << "customer_values " << m.customer_values << "\n";
    for (const auto& s : m.segments) {
        for (const auto& d : s.distinct)
            o << "distinct " << s.path << " " << d.let << " " << number(d.segment_mean) << " "
              << number(d.base_mean) << " " << number(d.z) << "\n";
    }
    for (const auto& [customers, value] : m.pareto)
        o << "pareto " << number(customers) << " " << number(value) << "\n";
    if (m.rfm) {
        o << "rfm " << m.rfm->let << " " << m.rfm->bins << " unscored " << m.rfm->unscored << "\n";
        for (size_t r = 0; r < m.rfm->customers.size(); ++r) {
            for (size_t f = 0; f < m.rfm->customers[r].size(); ++f)
                o << "rfm cell " << r + 1 << " " << f + 1 << " " << m.rfm->customers[r][f] << " "
                  << number(m.rfm->value[r][f]) << "\n";
        }
    }
    for (const auto& r : m.readout)
        o << "readout " << r.trigger << " | " << r.success << " | " << r.fired << " | "
          << r.held_out << " | " << maybe(r.treated_share) << " | " << maybe(r.held_out_share)
          << " | " << maybe(r.difference_pp) << " | " << maybe(r.low_pp) << " | "
          << maybe(r.high_pp) << "\n";
    for (const auto& note : m.notes)
        o << "note " << note << "\n";
    return o.str();
}

bool has_note(const report::ReportModel& m, const std::string& part) {
    for (const auto& note : m.notes) {
        if (note.find(part) != std::string::npos) return true;
    }
    return false;
}

// The same three runs on the SQLite base (its state inside it) and in a warehouse (`run` runs
// the rule file there at an as_of; `reload` copies the changed base into it).
template <class RunThere, class Reload>
void run_three_times(const std::string& base, const std::string& embedded, const std::string& rules,
                     RunThere run_there, Reload reload) {
    for (const char* as_of : {"2026-03-31", "2026-11-01", "2026-11-02"}) {
        CAPTURE(as_of);
        const Run lite = run_cli({"run", rules, "--db", embedded, "--as-of", as_of});
        REQUIRE_MESSAGE(lite.code == 0, lite.err);
        const Run there = run_there(as_of);
        REQUIRE_MESSAGE(there.code == 0, there.err);
        const char* change = std::string(as_of) == "2026-03-31"   ? kChange
                             : std::string(as_of) == "2026-11-01" ? kLater
                                                                  : nullptr;
        if (!change) break;
        // The orders of customers who left stay: rows of no customer, a data-quality finding
        // that the warehouse counts as SQLite does.
        SQLite::Database(embedded, SQLite::OPEN_READWRITE).exec(change);
        SQLite::Database(base, SQLite::OPEN_READWRITE).exec(change);
        reload();
    }
}

// The SQLite model and the warehouse's for the same request; both must be gathered.
void check_same_model(const std::string& embedded, const std::string& db,
                      const std::optional<std::string>& actions,
                      const report::ReportRequest& request, const std::string& backend) {
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    SQLite::Database data(embedded, SQLite::OPEN_READONLY);
    std::string error;
    const auto lite = report::gather_report(data, data, request, error);
    REQUIRE_MESSAGE(lite, error);
    auto store = strata::state::open_warehouse_report_store(
        db, actions, error,
        [db](std::string& e) { return strata::cli::read_clickhouse_schema(db, e); });
    REQUIRE_MESSAGE(store, error);
    const auto there = report::gather_from_store(*store, request, error);
    REQUIRE_MESSAGE(there, error);
    CHECK(fields(*there) == fields(*lite));
    // The comparison saw every section that a warehouse fills.
    CHECK(lite->moves.has_value());
    CHECK(lite->history.runs.size() >= 2);
    CHECK_FALSE(lite->outbox.empty());
    CHECK_FALSE(lite->flags.empty());
    // The sections that need each customer's values and the readout are there, and not
    // trivially: nulls (avg_amount of customers without orders), several segments, a holdout.
    CHECK(there->customer_values);
    CHECK(there->pareto.size() == 101);
    REQUIRE(there->rfm.has_value());
    CHECK(there->rfm->bins == 3);
    size_t distinct = 0;
    for (const auto& s : there->segments)
        distinct += s.distinct.size();
    CHECK(distinct >= 6);
    bool measured = false;
    for (const auto& r : there->readout)
        measured = measured || (r.trigger == "big_in" && r.difference_pp && r.held_out > 0);
    CHECK(measured);
    CHECK_FALSE(has_note(*there, "not computed on"));
    // An earlier run is evaluated again on the data as it is now, which has changed.
    CHECK(has_note(*there, "The data has changed since run") == (request.run.value_or(3) < 3));
    // The findings are counted there: the quality section lists them, as for SQLite.
    CHECK_FALSE(has_note(*there, "data-quality findings are not known"));
    if (!request.run) {
        CHECK(there->data_quality_findings > 0);
        CHECK_FALSE(there->data_quality_lines.empty());
    }
}

// `strata runs --format json` without the clock times (each backend ran at its own time).
std::string runs_without_times(const std::string& doc) {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, R"(
SELECT group_concat(fullkey || ' = ' || coalesce(CAST(atom AS TEXT), type), char(10))
FROM json_tree(?) WHERE type NOT IN ('object', 'array')
  AND key NOT IN ('started_at', 'finished_at'))");
    q.bind(1, doc);
    q.executeStep();
    return q.getColumn(0).isNull() ? "" : q.getColumn(0).getString();
}

// `strata runs --db URL` lists the warehouse's runs as `strata runs` lists the SQLite ones.
void check_same_runs(const std::string& embedded, const std::string& db) {
    const Run lite = run_cli({"runs", "--db", embedded, "--format", "json"});
    const Run there = run_cli({"runs", "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    CHECK(json_at(there.out, "$.runs[2].run_id") == "3");
    CHECK(runs_without_times(there.out) == runs_without_times(lite.out));
    const Run text = run_cli({"runs", "--db", db, "--ruleset", "wh_report"});
    CHECK(text.out.find("wh_report") != std::string::npos);
    const Run none = run_cli({"runs", "--db", db, "--ruleset", "nope"});
    CHECK(none.code == 0);
    CHECK(none.err.find("no runs of ruleset 'nope' are stored in '") != std::string::npos);
    CHECK(none.err.find("; the stored ruleset is 'wh_report'") != std::string::npos);
}

const std::vector<report::ReportRequest> kRequests = {
    {},                               // the latest run, compared with the one before
    {std::nullopt, 2, 1},             // an earlier run
    {std::string("wh_report"), 3, 1}  // moves across two runs
};

}  // namespace

TEST_CASE("warehouse report: the PostgreSQL model is the SQLite one, field by field") {
    TempDir dir;
    const std::string base = dir.database("base.db", kBase);
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    const std::string rules = dir.write("rules.yaml", kRules);
    auto pg = RunDatabase::create();
    pg.load(base);
    run_three_times(
        base, embedded, rules,
        [&](const char* as_of) {
            return run_cli({"run", rules, "--db", pg.url, "--as-of", as_of});
        },
        [&] { pg.load(base); });
    for (const auto& request : kRequests) {
        CAPTURE(request.run.value_or(0));
        check_same_model(embedded, pg.url, std::nullopt, request, "PostgreSQL");
    }
    check_same_runs(embedded, pg.url);

    {  // The HTML is written, with the notes on stderr.
        const std::string out = dir.file("report.html");
        const Run r = run_cli({"report", "--db", pg.url, "--out", out});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(r.out.find("wh_report v1, run 3 as of 2026-11-02") != std::string::npos);
        CHECK(r.out.find("compared with run 2") != std::string::npos);
        CHECK(r.err.find("note:") == std::string::npos);
        std::ifstream in(out, std::ios::binary);
        std::stringstream html;
        html << in.rdbuf();
        CHECK(html.str().find("data-run=\"3\"") != std::string::npos);
        CHECK(html.str().find("id=\"moves-up\"") != std::string::npos);
        CHECK(html.str().find("id=\"chart-pareto\"") != std::string::npos);
        CHECK(html.str().find("id=\"rfm\"") != std::string::npos);
        // The same runs give the same bytes.
        const std::string again = dir.file("again.html");
        REQUIRE(run_cli({"report", "--db", pg.url, "--out", again}).code == 0);
        std::ifstream in2(again, std::ios::binary);
        std::stringstream html2;
        html2 << in2.rdbuf();
        CHECK(html2.str() == html.str());
    }
    {  // Refusals exit 2 with the reason.
        const std::string out = dir.file("r.html");
        const Run unknown = run_cli({"report", "--db", pg.url, "--run", "9", "--out", out});
        CHECK(unknown.code == 2);
        CHECK(unknown.err.find("run 9 does not exist in 'postgresql://") != std::string::npos);
        CHECK(unknown.err.find("(the stored runs of ruleset 'wh_report': 1 2 3)") !=
              std::string::npos);
        const Run other = run_cli({"report", "--db", pg.url, "--ruleset", "nope", "--out", out});
        CHECK(other.code == 2);
        CHECK(other.err.find("no stored run of ruleset 'nope'") != std::string::npos);
        CHECK(other.err.find("('strata runs --db URL' lists the stored runs)") !=
              std::string::npos);
        const Run same = run_cli({"report", "--db", pg.url, "--compare", "3", "--out", out});
        CHECK(same.code == 2);
        CHECK(same.err.find("--compare 3 is the run reported") != std::string::npos);
        const Run state =
            run_cli({"report", "--db", pg.url, "--state", dir.file("s.db"), "--out", out});
        CHECK(state.code == 2);
        CHECK(state.err.find("--state: a run inside PostgreSQL") != std::string::npos);
        auto empty = RunDatabase::create();
        const Run none = run_cli({"report", "--db", empty.url, "--out", out});
        CHECK(none.code == 2);
        CHECK(none.err.find("no runs are stored in 'postgresql://") != std::string::npos);
        // `runs` on a base never run is what it is on a SQLite base without a state: exit 2.
        const Run listed = run_cli({"runs", "--db", empty.url, "--format", "json"});
        CHECK(listed.code == 2);
        CHECK(listed.err.find("no runs are stored in 'postgresql://") != std::string::npos);
        CHECK(listed.err.find("run 'strata run' first") != std::string::npos);
        CHECK(listed.out.find("\"error\"") != std::string::npos);
        const Run down =
            run_cli({"report", "--db",
                     "postgresql://me:secret@127.0.0.1:" + std::to_string(closed_port()) + "/shop",
                     "--out", out});
        CHECK(down.code == 2);
        CHECK(down.err.find("secret") == std::string::npos);
        CHECK_FALSE(std::filesystem::exists(out));
    }
}

TEST_CASE("warehouse report: the ClickHouse model is the SQLite one, field by field") {
    TempDir dir;
    const std::string base = dir.database("base.db", kBase);
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    const std::string rules = dir.write("rules.yaml", kRules);
    const std::string actions = dir.file("actions.db");
    ClusterDatabase ch;
    ch.load(base);
    run_three_times(
        base, embedded, rules,
        [&](const char* as_of) {
            return run_cli({"run", rules, "--db", ch.url, "--as-of", as_of, "--state", actions});
        },
        [&] { ch.load(base); });
    for (const auto& request : kRequests) {
        CAPTURE(request.run.value_or(0));
        check_same_model(embedded, ch.url, actions, request, "ClickHouse");
    }
    check_same_runs(embedded, ch.url);

    {  // The HTML is written; without --state the outbox is missing and a note says why.
        const std::string out = dir.file("report.html");
        const Run r = run_cli({"report", "--db", ch.url, "--out", out});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        CHECK(r.out.find("wh_report v1, run 3 as of 2026-11-02") != std::string::npos);
        CHECK(r.err.find("give the same --state to see its outbox rows") != std::string::npos);
        CHECK(std::filesystem::file_size(out) > 10000);
        const Run with = run_cli({"report", "--db", ch.url, "--state", actions, "--out", out});
        REQUIRE_MESSAGE(with.code == 0, with.err);
        CHECK(with.err.find("give the same --state") == std::string::npos);
        // The CLI reads the base's catalog: the customer-value sections are in the file.
        CHECK(with.err.find("note:") == std::string::npos);
        std::ifstream in(out, std::ios::binary);
        std::stringstream html;
        html << in.rdbuf();
        CHECK(html.str().find("id=\"chart-pareto\"") != std::string::npos);
        CHECK(html.str().find("id=\"rfm\"") != std::string::npos);
    }
    {  // A store given no reader of the catalog leaves the sections out and says why.
        strata::ValuePool pool;
        strata::ValuePoolScope scope(pool);
        std::string error;
        auto store = strata::state::open_warehouse_report_store(ch.url, actions, error);
        REQUIRE_MESSAGE(store, error);
        const auto there = report::gather_from_store(*store, {}, error);
        REQUIRE_MESSAGE(there, error);
        CHECK_FALSE(there->customer_values);
        CHECK(there->pareto.empty());
        CHECK(has_note(*there, "The customer database could not be read"));
        CHECK(there->value_name == "revenue");
        CHECK_FALSE(there->readout.empty());
    }
    {  // A run that died is never reported.
        // A 'running' row without its 'complete' row: a run that died.
        auto client = ch.client();
        auto died = client.query(
            "INSERT INTO strata_runs (run_id, ruleset, status, as_of) VALUES (4, 'wh_report', "
            "'running', '2026-12-01')");
        REQUIRE_MESSAGE(died, died.error().describe());
        const std::string out = dir.file("r.html");
        const Run latest = run_cli({"report", "--db", ch.url, "--out", out});
        REQUIRE_MESSAGE(latest.code == 0, latest.err);
        CHECK(latest.out.find("run 3 as of 2026-11-02") != std::string::npos);
        const Run dead = run_cli({"report", "--db", ch.url, "--run", "4", "--out", out});
        CHECK(dead.code == 2);
        CHECK(dead.err.find("run 4 does not exist in 'clickhouse://") != std::string::npos);
    }
    {  // No runs.
        ClusterDatabase empty;
        const Run none = run_cli({"report", "--db", empty.url, "--out", dir.file("r.html")});
        CHECK(none.code == 2);
        CHECK(none.err.find("no runs are stored in 'clickhouse://") != std::string::npos);
        const Run listed = run_cli({"runs", "--db", empty.url});
        CHECK(listed.code == 2);
        CHECK(listed.err.find("no runs are stored in 'clickhouse://") != std::string::npos);
    }
}

TEST_CASE("warehouse report: a shipped rule file on a demo base, a month apart, on both servers") {
    // retail-rfm: lets of every kind (counts, sums, dates, an rfm of 5 bins, abc, xyz of a cv),
    // tactical segments and a trigger with a holdout, run twice on bases a month apart.
    TempDir dir;
    const std::string first = dir.file("retail.db");
    const std::string later = dir.file("retail-later.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "600", "--out", first}).code ==
            0);
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "600", "--advance", "30d",
                     "--out", later})
                .code == 0);
    std::vector<TableToLoad> tables;
    {
        SQLite::Database db(first, SQLite::OPEN_READONLY);
        SQLite::Statement q(db,
                            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                            "LIKE 'strata%' AND name NOT LIKE 'sqlite%'");
        while (q.executeStep())
            tables.push_back({q.getColumn(0).getString(), "customer_id"});
    }
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    const std::string lite_state = dir.file("state.db");
    const std::string actions = dir.file("actions.db");
    auto pg = RunDatabase::create();
    ClusterDatabase ch;
    for (const auto& [base, as_of] : {std::pair{first, "2026-11-01"}, {later, "2026-12-01"}}) {
        pg.load(base);
        ch.load(base, tables);
        const Run lite =
            run_cli({"run", rules, "--db", base, "--state", lite_state, "--as-of", as_of});
        REQUIRE_MESSAGE(lite.code == 0, lite.err);
        const Run in_pg = run_cli({"run", rules, "--db", pg.url, "--as-of", as_of});
        REQUIRE_MESSAGE(in_pg.code == 0, in_pg.err);
        const Run in_ch =
            run_cli({"run", rules, "--db", ch.url, "--as-of", as_of, "--state", actions});
        REQUIRE_MESSAGE(in_ch.code == 0, in_ch.err);
    }
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    SQLite::Database data(later, SQLite::OPEN_READONLY);
    SQLite::Database state(lite_state, SQLite::OPEN_READONLY);
    for (const report::ReportRequest& request :
         {report::ReportRequest{}, report::ReportRequest{std::nullopt, 1, std::nullopt}}) {
        CAPTURE(request.run.value_or(0));
        std::string error;
        const auto lite = report::gather_report(data, state, request, error);
        REQUIRE_MESSAGE(lite, error);
        CHECK(lite->customer_values);
        REQUIRE(lite->rfm.has_value());
        CHECK(lite->rfm->bins == 5);
        for (const auto& [db, actions_store] :
             {std::pair{pg.url, std::optional<std::string>()}, {ch.url, actions}}) {
            CAPTURE(db);
            auto store = strata::state::open_warehouse_report_store(
                db, actions_store, error,
                [db](std::string& e) { return strata::cli::read_clickhouse_schema(db, e); });
            REQUIRE_MESSAGE(store, error);
            const auto there = report::gather_from_store(*store, request, error);
            REQUIRE_MESSAGE(there, error);
            CHECK(fields(*there) == fields(*lite));
        }
    }
}

TEST_CASE("warehouse report: PostgreSQL adds text-keyed customers' values in byte order") {
    // Sums of doubles depend on their order: 1e16 + 1 loses the 1, so a let's mean differs in
    // its last bits unless the server adds in SQLite's key order (bytes: '10' < '9' < 'A' <
    // 'a' < 'b' < 'ä').
    TempDir dir;
    const std::string base = dir.database("base.db", R"(
CREATE TABLE customers (customer_id TEXT PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES ('10', 1e16), ('9', 1.0), ('A', -1e16), ('a', 0.1), ('b', 0.7),
  ('ä', 0.3), ('B', NULL), ('c', 2.5), ('C', 0.2);
)");
    const std::string rules = dir.write("keys.yaml", R"(ruleset: keys
version: 1
source:
  customers: customers
  key: customer_id
let:
  s: spend
  t: spend * 3
value: spend
general:
  segments:
    - id: high
      when: spend >= 0.25
    - id: low
      when: otherwise
)");
    auto pg = RunDatabase::create();
    REQUIRE(copy_sqlite_tables(base, {"customers"}, pg.connection));
    REQUIRE(run_cli({"run", rules, "--db", base, "--as-of", "2026-11-01"}).code == 0);
    const Run there = run_cli({"run", rules, "--db", pg.url, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(there.code == 0, there.err);
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    SQLite::Database data(base, SQLite::OPEN_READONLY);
    std::string error;
    const auto lite = report::gather_report(data, data, {}, error);
    REQUIRE_MESSAGE(lite, error);
    auto store = strata::state::open_warehouse_report_store(pg.url, std::nullopt, error);
    REQUIRE_MESSAGE(store, error);
    const auto in_pg = report::gather_from_store(*store, {}, error);
    REQUIRE_MESSAGE(in_pg, error);
    CHECK(fields(*in_pg) == fields(*lite));
    CHECK(in_pg->customer_values);
    // -1e16 is a value below zero: no Pareto curve, on either side, for the same reason.
    CHECK(in_pg->pareto.empty());
    CHECK(has_note(*in_pg, "1 of 9 customers has a value (spend) below zero"));
    CHECK_FALSE(in_pg->segments.at(0).distinct.empty());
}

TEST_CASE("warehouse report: a value below zero leaves the Pareto curve out there as on SQLite") {
    TempDir dir;
    const std::string base = dir.database("base.db", kBase);
    const std::string embedded = dir.file("embedded.db");
    std::filesystem::copy_file(base, embedded);
    std::string text = kRules;
    text.replace(text.find("value: revenue"), 14, "value: revenue - 60");
    const std::string rules = dir.write("rules.yaml", text);
    const char* as_of = "2026-11-01";
    const Run lite_run = run_cli({"run", rules, "--db", embedded, "--as-of", as_of});
    REQUIRE_MESSAGE(lite_run.code == 0, lite_run.err);
    auto pg = RunDatabase::create();
    pg.load(base);
    const Run pg_run = run_cli({"run", rules, "--db", pg.url, "--as-of", as_of});
    REQUIRE_MESSAGE(pg_run.code == 0, pg_run.err);
    ClusterDatabase ch;
    ch.load(base);
    const std::string actions = dir.file("actions.db");
    const Run ch_run =
        run_cli({"run", rules, "--db", ch.url, "--as-of", as_of, "--state", actions});
    REQUIRE_MESSAGE(ch_run.code == 0, ch_run.err);

    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    SQLite::Database data(embedded, SQLite::OPEN_READONLY);
    std::string error;
    const auto lite = report::gather_report(data, data, {}, error);
    REQUIRE_MESSAGE(lite, error);
    CHECK(lite->customer_values);
    CHECK(lite->pareto.empty());
    CHECK(has_note(*lite, "The Pareto curve is left out: "));
    CHECK(has_note(*lite, " customers have a value (revenue - 60) below zero"));
    for (const auto& [db, state] : {std::pair{pg.url, std::optional<std::string>()},
                                    std::pair{ch.url, std::optional(actions)}}) {
        CAPTURE(db);
        const std::string url = db;
        auto store = strata::state::open_warehouse_report_store(
            url, state, error,
            [url](std::string& e) { return strata::cli::read_clickhouse_schema(url, e); });
        REQUIRE_MESSAGE(store, error);
        const auto there = report::gather_from_store(*store, {}, error);
        REQUIRE_MESSAGE(there, error);
        CHECK(there->customer_values);
        CHECK(fields(*there) == fields(*lite));
    }
}
