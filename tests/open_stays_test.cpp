// When a stored run loads the ruleset's open stays (engine/run.cpp): a small base's beside the
// reads, a large base's only when the first placements are written, so that they are not held
// through the fact pass and the population fits, and then, when the run has no triggers, a page
// at a time. They must all store the same thing: the same history is run on two copies of a
// base, one loading late (the threshold at 0), and the stays, the moves and the outbox must
// agree after every run.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>

#include "dsl/compiler.hpp"
#include "engine/run.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// A stored run of `rules_path` on `db` (data and state in one file); its transitions as text.
std::string stored_run(const std::string& db, const std::string& rules_path,
                       const std::string& as_of, int64_t beside_up_to, size_t page_rows = 65'536) {
    std::ifstream in(rules_path);
    std::stringstream text;
    text << in.rdbuf();
    strata::StoreError error;
    auto data = strata::open_read_only(db, error);
    REQUIRE(data);
    auto schema = strata::read_schema(*data, error);
    REQUIRE(schema);
    strata::Diagnostics diags;
    auto rules = strata::compile_rules(strata::SourceFile(rules_path, text.str()), &*schema, diags);
    REQUIRE(rules);
    auto state = strata::open_state(db, error);
    REQUIRE(state);
    strata::RunOptions options;
    options.as_of = *strata::parse_date(as_of);
    options.rules_sha256 = strata::sha256_hex(text.str());
    options.source = &rules->source;
    options.open_stays_beside_reads_up_to = beside_up_to;
    options.open_stays_page_rows = page_rows;
    strata::RunError run_error;
    auto report = strata::execute_run(*rules, *data, state.get(), options, run_error);
    INFO(run_error.message);
    REQUIRE(report);
    REQUIRE(report->transitions);
    std::string moves;
    for (const auto& [from_to, n] : report->transitions->counts.counts)
        moves += from_to.first + ">" + from_to.second + ":" + std::to_string(n) + " ";
    return moves + "moved " + std::to_string(report->transitions->counts.moved) + " written " +
           std::to_string(report->transitions->counts.stays_written) + " enqueued " +
           std::to_string(report->actions_enqueued);
}

// Stores the latest run of `from` again in `to` (which holds the same runs before it) through
// a RunWriter that reads the open stays `page_rows` stay rows at a time, handing it one
// membership row at a time: every row's stays are written before the next page is read.
void replay_latest_run(const std::string& from, const std::string& to, size_t page_rows) {
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    strata::StoreError error;
    auto source = strata::open_state(from, error);
    REQUIRE(source);
    auto latest = strata::find_run(*source, "tiers", std::nullopt, error);
    REQUIRE(latest);
    const std::vector<strata::MembershipRow> rows =
        strata::membership_of_run(*source, latest->run_id);
    auto state = strata::open_state(to, error);
    REQUIRE(state);
    strata::RunRecord record = *latest;
    record.rules_source.reset();
    std::unordered_map<std::string, int> levels;
    SQLite::Statement paths(*source,
                            "SELECT DISTINCT s.level, g.name FROM strata_stays s JOIN "
                            "strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment "
                            "WHERE s.level > 0");
    while (paths.executeStep())
        levels.emplace(paths.getColumn(1).getString(), paths.getColumn(0).getInt());
    strata::OpenStaysLoading loading;
    loading.later = true;
    loading.page_rows = page_rows;
    auto writer = strata::RunWriter::begin(*state, record, levels, error, nullptr, loading);
    INFO(error.message);
    REQUIRE(writer);
    REQUIRE(writer->run_id() == latest->run_id);
    for (const auto& row : rows)
        REQUIRE(writer->add(&row, 1, error));
    REQUIRE(writer->end_membership(error));
    REQUIRE(writer->finish(latest->finished_at, latest->customers, latest->summary_json, error));
}

// A key as the state's text of it: an integer's digits, a text's own characters.
std::string key_text(const strata::Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::to_string(*i);
    return std::get<strata::Str>(key).str();
}

// Placements as their stays, a line each: key, level, segment and entering run.
std::string stay_lines(const std::vector<strata::OpenPlacement>& placements) {
    std::string out;
    for (const auto& p : placements) {
        if (p.general.p)
            out += key_text(p.key) + "|0|" + p.general.str() + "|" +
                   std::to_string(p.general_since_run) + "\n";
        for (const auto& t : p.tactical)
            out += key_text(p.key) + "|" + std::to_string(t.level) + "|" + t.segment.str() + "|" +
                   std::to_string(t.entered_run) + "\n";
    }
    return out;
}

// A placement as one line: key, general stay, its run and as_of, and the tactical stays.
std::string placement_text(const strata::OpenPlacement& p) {
    std::string out = strata::format_value(p.key) + " " + (p.general.p ? p.general.str() : "-") +
                      " " + std::to_string(p.general_since_run) + " " +
                      (p.since ? strata::format_value(*p.since) : "-") + " [" +
                      (p.tactical_text.p ? p.tactical_text.str() : "-") + "]";
    for (const auto& t : p.tactical)
        out += " " + t.segment.str() + "/" + std::to_string(t.level) + "/" +
               std::to_string(t.entered_run);
    return out;
}

}  // namespace

TEST_CASE("a run that loads the open stays late stores what one loading them early does") {
    TempDir dir;
    const std::string early = dir.file("early.db"), late = dir.file("late.db");
    REQUIRE(make_shipped_base("retail", early).code == 0);
    std::filesystem::copy_file(early, late);
    const std::string rules = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml";
    // A history: a first run, new orders and a changed customer, two later days.
    const char* change = R"(
        INSERT INTO orders (customer_id, order_date, amount, category, items)
          SELECT customer_id, '2026-10-20', 400.0, 'makeup', 2 FROM customers
          WHERE customer_id % 7 = 3;
        DELETE FROM customers WHERE customer_id % 50 = 11;)";
    size_t enqueued_somewhere = 0;
    const char* days[] = {"2026-09-01", "2026-10-01", "2026-11-01"};
    for (int step = 0; step < 3; ++step) {
        INFO("run as of ", days[step]);
        if (step == 2) {
            for (const std::string& db : {early, late}) {
                SQLite::Database d(db, SQLite::OPEN_READWRITE);
                d.exec(change);
            }
        }
        const std::string moves_early = stored_run(early, rules, days[step], 2'000'000);
        const std::string moves_late = stored_run(late, rules, days[step], 0);
        CHECK(moves_early == moves_late);
        if (moves_early.find("enqueued 0") == std::string::npos) ++enqueued_somewhere;
        CHECK(rows(early,
                   "SELECT customer_key, level, segment, entered_run, exited_run "
                   "FROM strata_stays ORDER BY 1, 2, 3, 4, 5") ==
              rows(late,
                   "SELECT customer_key, level, segment, entered_run, exited_run "
                   "FROM strata_stays ORDER BY 1, 2, 3, 4, 5"));
        CHECK(rows(early,
                   "SELECT idempotency_key, customer_key, type, payload, run_id "
                   "FROM strata_outbox ORDER BY id") ==
              rows(late,
                   "SELECT idempotency_key, customer_key, type, payload, run_id "
                   "FROM strata_outbox ORDER BY id"));
    }
    CHECK(count_rows(early, "strata_stays") > 400);
    CHECK(enqueued_somewhere > 0);  // the triggers fired: the late stays were compared with
}

TEST_CASE("a run that reads the open stays a page at a time stores what one holding them does") {
    TempDir dir;
    const std::string whole = dir.file("whole.db"), paged = dir.file("paged.db"),
                      replayed = dir.file("replayed.db");
    {
        SQLite::Database d(whole, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        // Integer keys and text keys (which sort after every integer), spread out so that
        // customers who join later come between them.
        d.exec("CREATE TABLE customers (customer_id, spend REAL, tv INTEGER, web INTEGER)");
        for (int i = 0; i < 40; ++i) {
            char text[8];
            std::snprintf(text, sizeof text, "k%03d", i * 10);
            for (const std::string& key : {std::to_string(i * 10), "'" + std::string(text) + "'"})
                d.exec("INSERT INTO customers VALUES (" + key + ", " +
                       std::to_string((i * 373) % 1500) + ", " + std::to_string(i % 2) + ", " +
                       std::to_string(i % 3 == 0 ? 1 : 0) + ")");
        }
    }
    std::filesystem::copy_file(whole, paged);
    std::filesystem::copy_file(whole, replayed);
    const std::string rules = dir.write("tiers.yaml", R"(ruleset: tiers
version: 1
general:
  segments:
    - id: vip
      when: spend >= 1000
      tactical:
        - id: vip_tv
          when: tv == 1
        - id: vip_web
          when: web == 1
    - id: regular
      when: spend >= 300
      tactical:
        - id: regular_tv
          when: tv == 1
        - id: regular_web
          when: web == 1
    - id: small
      when: otherwise
      tactical:
        - id: small_web
          when: web == 1
)");
    // Later days: customers move, leave, and join between the keys of a page and the next.
    const char* changes[] = {
        "",
        "UPDATE customers SET spend = (spend * 7) % 1500, tv = 1 - tv WHERE rowid % 3 = 0;"
        "DELETE FROM customers WHERE rowid % 11 = 5;"
        "INSERT INTO customers SELECT customer_id + 5, 1200, 1, 1 FROM customers "
        "  WHERE typeof(customer_id) = 'integer' AND rowid % 4 = 1;"
        "INSERT INTO customers SELECT customer_id || '5', 400, 0, 1 FROM customers "
        "  WHERE typeof(customer_id) = 'text' AND rowid % 4 = 2;",
        "UPDATE customers SET web = 1 - web, spend = spend + 350 WHERE rowid % 5 = 2;"
        "DELETE FROM customers WHERE rowid % 7 = 3;"};
    const char* days[] = {"2026-09-01", "2026-10-01", "2026-11-01"};
    // One customer's stays at a time, as a live engine's connection asks for them, through one
    // reader kept across the runs (segment names and runs' as_of it has not seen come later).
    strata::ValuePool pool;
    strata::ValuePoolScope scope(pool);
    SQLite::Database watching(whole, SQLite::OPEN_READONLY);
    strata::OneCustomerStays one_at_a_time(watching, "tiers");
    for (int step = 0; step < 3; ++step) {
        INFO("run as of ", days[step]);
        for (const std::string& db : {whole, paged, replayed}) {
            SQLite::Database d(db, SQLite::OPEN_READWRITE);
            d.exec(changes[step]);
        }
        // Pages of three stay rows: most customers' stays run over from one page to the next.
        const std::string moves_whole = stored_run(whole, rules, days[step], 2'000'000);
        const std::string moves_paged = stored_run(paged, rules, days[step], 0, 3);
        CHECK(moves_whole == moves_paged);
        if (step > 0) CHECK(moves_whole.find("moved 0 ") == std::string::npos);
        // The same run stored a row at a time: each row's stays are written between pages.
        replay_latest_run(whole, replayed, 2);
        const char* stays =
            "SELECT customer_key, typeof(customer_key), level, segment, entered_run, exited_run "
            "FROM strata_stays ORDER BY 1, 2, 3, 4, 5, 6";
        CHECK(rows(whole, stays) == rows(paged, stays));
        CHECK(rows(whole, stays) == rows(replayed, stays));
        size_t compared = 0;
        for (const auto& p : strata::load_open_placements(watching, "tiers")) {
            const auto one = one_at_a_time(p.key);
            REQUIRE(one.size() == 1);
            CHECK(placement_text(one[0]) == placement_text(p));
            ++compared;
        }
        CHECK(compared > 60);
        // The readers of strata_open_stays and strata_closed_stays against the view
        // strata_stays, which defines the stays: each run's membership, and the open stays.
        for (int run = 1; run <= step + 1; ++run) {
            std::string merged;
            for (const auto& r : strata::membership_of_run(watching, run))
                merged += key_text(r.key) + "|" + r.segment.str() + "|" + r.tactical.str() + "\n";
            CHECK(merged.size() > 100);
            CHECK(merged == rows(whole,
                                 "SELECT customer_key, segment, tactical FROM strata_membership "
                                 "WHERE run_id = " +
                                     std::to_string(run) + " ORDER BY customer_key"));
        }
        // The open stays as each stored run found them, and now.
        for (int before = 2; before <= step + 2; ++before) {
            const auto found = strata::load_open_placements(watching, "tiers", nullptr, before);
            CHECK(stay_lines(found) ==
                  rows(whole,
                       "SELECT s.customer_key, s.level, g.name, s.entered_run FROM "
                       "strata_stays s JOIN strata_segments g ON g.ruleset = s.ruleset AND "
                       "g.code = s.segment WHERE s.entered_run < " +
                           std::to_string(before) +
                           " AND (s.exited_run = 0 OR s.exited_run >= " + std::to_string(before) +
                           ") ORDER BY s.customer_key, s.level, s.segment"));
            if (before == step + 2)
                CHECK(stay_lines(strata::load_open_placements(watching, "tiers")) ==
                      stay_lines(found));
        }
        CHECK(one_at_a_time(int64_t{7}).empty());                           // not a customer
        CHECK(one_at_a_time(strata::Value{strata::intern("10")}).empty());  // a text, not 10
    }
    CHECK(count_rows(paged, "strata_stays") > 150);
    CHECK(count_rows(paged, "strata_stays WHERE exited_run > 0") > 20);
}
