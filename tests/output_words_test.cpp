// Small rules of what strata writes: the JSON writer's nulls, and counts of one said in the
// singular.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "engine/json.hpp"
#include "test_support.hpp"

using namespace strata::testing;

TEST_CASE("a base of one customer is \"1 customer\" in run's table and export's summary") {
    TempDir dir;
    const std::string db =
        dir.database("one.db",
                     "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY); INSERT INTO "
                     "customers VALUES (1);");
    const std::string rules =
        dir.write("one.yaml",
                  "ruleset: one\nversion: 1\ngeneral:\n  segments:\n    - id: all\n      "
                  "when: otherwise\n");
    const Run run = run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"});
    REQUIRE_MESSAGE(run.code == 0, run.err);
    CHECK(run.out.find("\n1 customer\n") != std::string::npos);
    CHECK(run.out.find("first run of this ruleset: 1 customer placed,") != std::string::npos);
    const Run diff = run_cli({"diff", rules, rules, "--db", db, "--as-of", "2026-11-01"});
    CHECK(diff.out.find("1 customer, 0 move (") != std::string::npos);
    const Run exported = run_cli({"export", rules, "--db", db});
    CHECK(exported.err.find("as_of 2026-11-01, 1 customer\n") != std::string::npos);
}

TEST_CASE("JSON writer: an optional or an empty text is null, a present one its value") {
    strata::JsonWriter w;
    w.begin_object();
    w.key("none").value_or_null(std::optional<int64_t>());
    w.key("zero").value_or_null(std::optional<int64_t>(0));
    w.key("share").value_or_null(std::optional<double>(0.123456), 2);
    w.key("no_share").value_or_null(std::optional<double>(), 2);
    w.key("text").value_or_null(std::optional<std::string>("a\"b"));
    w.key("empty").text_or_null("").key("word").text_or_null("x");
    w.end_object();
    CHECK(w.str() == R"({"none":null,"zero":0,"share":0.12,"no_share":null,"text":"a\"b",)"
                     R"("empty":null,"word":"x"})");
}
