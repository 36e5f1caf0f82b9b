// When a stored run loads the ruleset's open stays (engine/run.cpp): a small base's beside the
// reads, a large base's only when the first placements are written, so that they are not held
// through the fact pass and the population fits. The two must store the same thing: the same
// history is run on two copies of a base, one loading late (the threshold at 0), and the
// stays, the moves and the outbox must agree after every run.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dsl/compiler.hpp"
#include "engine/run.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// Every row of a query, a line each.
std::string rows_of(const std::string& db, const std::string& sql) {
    SQLite::Database d(db);
    SQLite::Statement q(d, sql);
    std::string out;
    while (q.executeStep()) {
        for (int c = 0; c < q.getColumnCount(); ++c)
            out += (c ? "|" : "") + q.getColumn(c).getString();
        out += "\n";
    }
    return out;
}

// A stored run of `rules_path` on `db` (data and state in one file); its transitions as text.
std::string stored_run(const std::string& db, const std::string& rules_path,
                       const std::string& as_of, int64_t beside_up_to) {
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
        CHECK(rows_of(early,
                      "SELECT customer_key, level, segment, entered_run, exited_run "
                      "FROM strata_stays ORDER BY 1, 2, 3, 4, 5") ==
              rows_of(late,
                      "SELECT customer_key, level, segment, entered_run, exited_run "
                      "FROM strata_stays ORDER BY 1, 2, 3, 4, 5"));
        CHECK(rows_of(early,
                      "SELECT idempotency_key, customer_key, type, payload, run_id "
                      "FROM strata_outbox ORDER BY id") ==
              rows_of(late,
                      "SELECT idempotency_key, customer_key, type, payload, run_id "
                      "FROM strata_outbox ORDER BY id"));
    }
    CHECK(count_rows(early, "strata_stays") > 400);
    CHECK(enqueued_somewhere > 0);  // the triggers fired: the late stays were compared with
}
