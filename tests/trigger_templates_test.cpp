// Trigger action parameters written as templates: where a template ends.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

std::string rules(const std::string& params) {
    return R"(ruleset: templated
version: 1
source: { customers: customers, key: id }
general:
  segments:
    - id: high
      when: score >= 50
    - id: mid
      when: score >= 20
    - id: low
      when: otherwise
triggers:
  - id: up
    on: enter high
    actions:
      - email: )" +
           params + "\n";
}

}  // namespace

// The scanner took the first '}}' as a template's end, inside a string literal too, so
// "{{ 'a}}b' }}" was the expression 'a and an unterminated string.
TEST_CASE("a template ends at the first '}}' outside its string literals") {
    TempDir dir;
    const std::string db =
        dir.database("base.db",
                     "CREATE TABLE customers (id INTEGER PRIMARY KEY, score INTEGER);"
                     "INSERT INTO customers VALUES (1, 10);");
    const std::string file = dir.write(
        "rules.yaml", rules(R"({ x: "{{ 'a}}b' }}", y: "{{ \"c}}\" }} and {{ 'q' }}" })"));
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    SQLite::Database(db, SQLite::OPEN_READWRITE).exec("UPDATE customers SET score = 60");
    const Run second = run_cli({"run", file, "--db", db, "--as-of", "2026-11-02"});
    REQUIRE_MESSAGE(second.code == 0, second.err);
    CHECK(SQLite::Database(db).execAndGet("SELECT payload FROM strata_outbox").getString() ==
          R"({"x":"a}}b","y":"c}} and q"})");
    // A string never closed is still named as such, at its quote.
    const Run open =
        run_cli({"check", dir.write("open.yaml", rules(R"({ x: "{{ 'a }}" })")), "--db", db});
    CHECK(open.code == 1);
    CHECK_MESSAGE(open.out.find("open.yaml:16:25: error: unterminated string: missing closing '") !=
                      std::string::npos,
                  open.out);
}
