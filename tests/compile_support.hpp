// What the tests of strata compile on SQLite share: the query's rows and the engine's, side by
// side.
#pragma once

#include <doctest/doctest.h>
#include <cstdlib>
#include <random>
#include "sql_generator.hpp"
#include "test_support.hpp"

namespace strata::testing::compile_fixture {

// Rows of the query (or of export's CSV), as "key,segment,tactical" lines.
inline std::string query_rows(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, sql);
    std::string out;
    while (q.executeStep()) {
        out += q.getColumn(0).getString() + "," +
               (q.getColumn(1).isNull() ? "<none>" : q.getColumn(1).getString()) + "," +
               q.getColumn(2).getString() + "\n";
    }
    return out;
}

inline std::string export_rows(const std::string& csv) {
    const size_t header = csv.find('\n');
    return header == std::string::npos ? "" : csv.substr(header + 1);
}

// The engine's placement against the compiled query's, on one base. An engine run that
// cannot place everyone stores nothing; the query then gives some customer no segment.
inline void check_agrees(const TempDir& dir, const std::string& rules, const std::string& db,
                         const std::string& as_of) {
    const Run compiled =
        run_cli({"compile", rules, "--dialect", "sqlite", "--db", db, "--as-of", as_of});
    std::stringstream text;
    text << std::ifstream(rules).rdbuf();
    const std::string rules_text = text.str();
    INFO("rules:\n" << rules_text);
    INFO(compiled.err);
    REQUIRE(compiled.code == 0);
    const std::string fresh = dir.file("run.db");
    std::filesystem::copy_file(db, fresh, std::filesystem::copy_options::overwrite_existing);
    const Run run = run_cli({"run", rules, "--db", fresh, "--as-of", as_of});
    auto keep = [&] {
        if (!std::getenv("STRATA_SQL_KEEP")) return;
        std::filesystem::copy_file(db, "/tmp/sql_fail.db",
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(rules, "/tmp/sql_fail.yaml",
                                   std::filesystem::copy_options::overwrite_existing);
    };
    std::string sql_rows;
    try {
        sql_rows = query_rows(db, compiled.out);
    } catch (const SQLite::Exception& e) {
        keep();
        FAIL_CHECK("SQLite refused the compiled query: " << std::string(e.what()));
        return;
    }
    if (run.code != 0) {
        INFO(run.err);
        CHECK(sql_rows.find(",<none>,") != std::string::npos);
        return;
    }
    const Run exported =
        run_cli({"export", rules, "--db", fresh, "--raw", "--columns", "key,segment,tactical"});
    REQUIRE(exported.code == 0);
    INFO(compiled.out);
    CHECK(sql_rows == export_rows(exported.out));
    if (sql_rows != export_rows(exported.out)) keep();
}

}  // namespace strata::testing::compile_fixture
