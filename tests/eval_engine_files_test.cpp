// A long-lived Engine whose database changes under it: a column renamed (an import that
// renamed it, say) and the file replaced or removed at its path. Each call reads the database
// that is at the path now, and never takes a column it lost for something else.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <string>

#include "eval_support.hpp"

using namespace strata::testing;
using namespace strata::testing::eval_fixture;

namespace {

strata::Engine open_engine(const std::string& rules, const std::string& db) {
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    auto engine = strata::Engine::open(options);
    REQUIRE_MESSAGE(engine.ok(), (engine.ok() ? "" : engine.error().message));
    return std::move(engine.value());
}

void exec(const std::string& db, const std::string& sql) {
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec(sql);
}

}  // namespace

TEST_CASE("Engine: a column renamed under an open engine is an error, not its name as text") {
    TempDir dir;
    const auto db = dir.database("shop.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    strata::Engine engine = open_engine(rules, db);
    auto before = engine.evaluate("3");
    REQUIRE(before.ok());
    CHECK(before->segment == "top");  // 600 spent
    // Read as the text 'amount', the sum would be 0: 'low', with no error.
    exec(db, "ALTER TABLE orders RENAME COLUMN amount TO amount_rub");
    auto after = engine.evaluate("3");
    REQUIRE_FALSE(after.ok());
    CHECK(after.error().kind == strata::EngineError::Kind::Database);
    CHECK_MESSAGE(after.error().message.find("amount") != std::string::npos, after.error().message);
    CHECK_FALSE(engine.refresh().ok());
    exec(db, "ALTER TABLE orders RENAME COLUMN amount_rub TO amount");
    auto back = engine.evaluate("3");
    REQUIRE(back.ok());
    CHECK(back->segment == "top");
    // The key column renamed: an error naming it, and no index made of a constant text.
    exec(db,
         "DROP INDEX IF EXISTS strata_eval_customers_customer_id;"
         "ALTER TABLE customers RENAME COLUMN customer_id TO cid");
    auto keyless = engine.evaluate("3");
    REQUIRE_FALSE(keyless.ok());
    CHECK(keyless.error().kind == strata::EngineError::Kind::Database);
    CHECK_MESSAGE(keyless.error().message.find("customer_id") != std::string::npos,
                  keyless.error().message);
    CHECK_FALSE(engine.refresh().ok());
    SQLite::Database read(db, SQLite::OPEN_READONLY);
    CHECK(read.execAndGet("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                          "tbl_name = 'customers' AND sql IS NOT NULL")
              .getInt() == 0);
}

TEST_CASE("Engine: a database file replaced at its path is read from the next call on") {
    TempDir dir;
    const auto db = dir.database("shop.db", kBase);
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01"}).code == 0);
    // The next day's file: customer 1 spent 1,010 and was run again.
    const std::string next = dir.file("next.db");
    std::filesystem::copy_file(db, next);
    exec(next, "INSERT INTO orders (customer_id, day, amount) VALUES (1, '2026-09-30', 1000)");
    REQUIRE(run_cli({"run", rules, "--db", next, "--as-of", "2026-10-02"}).code == 0);

    strata::Engine engine = open_engine(rules, db);
    auto old = engine.evaluate("1");
    REQUIRE(old.ok());
    CHECK(old->segment == "low");
    REQUIRE(engine.apply("2").ok());  // the state is open to write from now on
    std::filesystem::rename(next, db);
    // Every call after the swap reads the new file, on whichever pooled connection.
    for (int call = 0; call < 3; ++call) {
        auto now = engine.evaluate("1");
        REQUIRE(now.ok());
        CHECK(now->segment == "top");
    }
    auto refreshed = engine.refresh();
    REQUIRE(refreshed.ok());
    CHECK(refreshed.value());
    CHECK(engine.as_of() == "2026-10-02");
    auto stays = engine.evaluate("1");
    REQUIRE(stays.ok());
    CHECK(stays->transition == "stays");
    // apply() writes into the file at the path, not the one it opened first.
    auto applied = engine.apply("2");
    REQUIRE_MESSAGE(applied.ok(), (applied.ok() ? "" : applied.error().message));
    {
        SQLite::Database read(db, SQLite::OPEN_READONLY);
        CHECK(read.execAndGet("SELECT count(*) FROM strata_runs").getInt() == 3);
    }
    // Removed: an error, not the answers of a file that is gone.
    std::filesystem::remove(db);
    auto gone = engine.evaluate("1");
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().kind == strata::EngineError::Kind::Database);
    CHECK_MESSAGE(gone.error().message.find("does not exist") != std::string::npos,
                  gone.error().message);
    // apply() does not make the file anew (an empty state at the real path).
    auto applied_gone = engine.apply("2");
    REQUIRE_FALSE(applied_gone.ok());
    CHECK(applied_gone.error().kind == strata::EngineError::Kind::Database);
    CHECK_MESSAGE(applied_gone.error().message == "database '" + db + "' does not exist",
                  applied_gone.error().message);
    CHECK_FALSE(std::filesystem::exists(db));
}

TEST_CASE("Engine: apply() with a state file of its own refuses one removed since") {
    TempDir dir;
    const auto db = dir.database("shop.db", kBase);
    const auto state = dir.file("state.db");
    const auto rules = dir.write("tiers.yaml", tiers());
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    strata::EngineOptions options;
    options.rules_path = rules;
    options.db_path = db;
    options.state_path = state;
    auto opened = strata::Engine::open(options);
    REQUIRE(opened.ok());
    strata::Engine engine = std::move(opened.value());
    REQUIRE(engine.apply("1").ok());
    std::filesystem::rename(state, state + ".bak");
    auto applied = engine.apply("2");
    REQUIRE_FALSE(applied.ok());
    CHECK(applied.error().kind == strata::EngineError::Kind::Database);
    CHECK_MESSAGE(applied.error().message == "database '" + state + "' does not exist",
                  applied.error().message);
    CHECK_FALSE(std::filesystem::exists(state));
    // Put back, the same engine applies again.
    std::filesystem::rename(state + ".bak", state);
    auto again = engine.apply("2");
    CHECK_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
}
