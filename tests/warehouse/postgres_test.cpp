// The PostgreSQL client against a real PostgreSQL 15 (scripts/warehouse.sh): values bound as
// parameters come back byte for byte, NULLs, transactions that roll back, the server's errors.
#include <doctest/doctest.h>

#include "tests/warehouse/warehouse_support.hpp"
#include "warehouse/identifiers.hpp"
#include "warehouse/postgres_client.hpp"

using namespace strata::warehouse;
using namespace strata::warehouse::testing;

namespace {

PostgresConnection connected() {
    auto connection = PostgresConnection::connect(postgres_url());
    if (!connection) FAIL("cannot connect: " << connection.error().describe());
    return std::move(connection.value());
}

ResultTable must(Outcome<ResultTable> outcome) {
    if (!outcome) FAIL(outcome.error().describe());
    return std::move(outcome.value());
}

std::int64_t count_rows(PostgresConnection& connection, const std::string& table) {
    auto result =
        must(connection.exec("SELECT count(*) FROM " + *quote_postgres_identifier(table)));
    return std::stoll(*result.rows.at(0).at(0));
}

}  // namespace

TEST_CASE("postgres: integers, big integers, decimals, dates and NULLs round-trip as parameters") {
    auto connection = connected();
    CHECK(connection.server_version() / 10000 == 15);
    must(connection.exec(
        "CREATE TEMP TABLE values_rt (id int, small int, big bigint, amount numeric(38, 10), "
        "day date, at timestamptz, note text)"));
    struct Case {
        Cell small, big, amount, day, at, note;
    };
    std::vector<Case> cases = {
        {"0", "0", "0.0000000000", "2024-02-29", "2024-02-29 23:59:59+00", "plain"},
        {"-2147483648", "-9223372036854775808", "-12345678901234567890.0123456789", "0001-01-01",
         "1970-01-01 00:00:00+00", ""},
        {"2147483647", "9223372036854775807", "99999999999999999999999999.9999999999", "9999-12-31",
         "2038-01-19 03:14:08.5+00", "it's"},
        {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        auto inserted = must(
            connection.exec("INSERT INTO values_rt VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            {std::to_string(i), c.small, c.big, c.amount, c.day, c.at, c.note}));
        CHECK(inserted.affected_rows == 1);
    }
    auto result = must(
        connection.exec("SELECT small, big, amount, day, at, note FROM values_rt ORDER BY id"));
    REQUIRE(result.columns ==
            std::vector<std::string>{"small", "big", "amount", "day", "at", "note"});
    REQUIRE(result.rows.size() == cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(i);
        const Row& row = result.rows[i];
        CHECK(row[0] == cases[i].small);
        CHECK(row[1] == cases[i].big);
        CHECK(row[2] == cases[i].amount);
        CHECK(row[3] == cases[i].day);
        CHECK(row[4] == cases[i].at);
        CHECK(row[5] == cases[i].note);
    }
    // A NULL parameter is SQL's NULL, not the text "NULL" nor an empty string.
    auto nulls = must(connection.exec("SELECT $1::text IS NULL, $2::text IS NULL, $3::text = ''",
                                      {std::nullopt, std::string("NULL"), std::string("")}));
    CHECK(nulls.rows.at(0) == Row{"t", "f", "t"});
    // Out-of-range values are the server's error, named by their type.
    auto overflow = connection.exec("SELECT $1::bigint", {std::string("9223372036854775808")});
    REQUIRE_FALSE(overflow);
    CHECK(overflow.error().code == "22003");
    CHECK(overflow.error().message.find("bigint") != std::string::npos);
}

TEST_CASE("postgres: hostile strings are stored and compared as the bytes they are") {
    auto connection = connected();
    must(connection.exec("CREATE TEMP TABLE hostile (id int, s text)"));
    const auto& strings = hostile_strings();
    for (std::size_t i = 0; i < strings.size(); ++i) {
        must(connection.exec("INSERT INTO hostile VALUES ($1, $2)",
                             {std::to_string(i), strings[i]}));
    }
    auto result = must(connection.exec("SELECT id, s, length(s) FROM hostile ORDER BY id"));
    REQUIRE(result.rows.size() == strings.size());
    for (std::size_t i = 0; i < strings.size(); ++i) {
        CAPTURE(strings[i]);
        CHECK(result.rows[i][1] == strings[i]);
        // Each value is found by equality with itself as a parameter, and only itself.
        auto found = must(connection.exec("SELECT id FROM hostile WHERE s = $1", {strings[i]}));
        REQUIRE(found.rows.size() == 1);
        CHECK(found.rows[0][0] == std::to_string(i));
    }
    CHECK(count_rows(connection, "hostile") == static_cast<std::int64_t>(strings.size()));

    // NUL cannot be stored in PostgreSQL text: refused before sending, never cut short.
    auto nul = connection.exec("INSERT INTO hostile VALUES (-1, $1)", {std::string("a\0b", 3)});
    REQUIRE_FALSE(nul);
    CHECK(nul.error().message.find("NUL") != std::string::npos);
    CHECK(nul.error().message.find("$1") != std::string::npos);
    // Nor can a statement hold one: it would end the statement early.
    auto cut = connection.exec(std::string("DELETE FROM hostile\0 WHERE id = 0", 33));
    REQUIRE_FALSE(cut);
    CHECK(cut.error().message.find("NUL") != std::string::npos);
    // Bytes that are not UTF-8 are the server's error.
    auto latin1 = connection.exec("INSERT INTO hostile VALUES (-1, $1)", {std::string("caf\xE9")});
    REQUIRE_FALSE(latin1);
    CHECK(latin1.error().code == "22021");
    CHECK(count_rows(connection, "hostile") == static_cast<std::int64_t>(strings.size()));
}

TEST_CASE("postgres: a transaction that rolls back leaves nothing") {
    auto connection = connected();
    std::string table = unique_name("rollback_target");
    std::string quoted = *quote_postgres_identifier(table);
    must(connection.exec("CREATE TABLE " + quoted + " (id int PRIMARY KEY, s text)"));

    SUBCASE("the guard rolls back when it goes out of scope") {
        {
            auto transaction = PostgresTransaction::begin(connection);
            REQUIRE(transaction);
            must(connection.exec("INSERT INTO " + quoted + " VALUES (1, 'a'), (2, 'b')"));
            CHECK(count_rows(connection, table) == 2);
            CHECK(connection.in_transaction());
        }
        CHECK_FALSE(connection.in_transaction());
        CHECK(count_rows(connection, table) == 0);
    }
    SUBCASE("rollback() undoes rows and DDL") {
        std::string created = unique_name("created_inside");
        auto transaction = PostgresTransaction::begin(connection);
        REQUIRE(transaction);
        must(connection.exec("INSERT INTO " + quoted + " VALUES (1, 'a')"));
        must(connection.exec("CREATE TABLE " + *quote_postgres_identifier(created) + " (x int)"));
        REQUIRE(transaction.value().rollback());
        CHECK(count_rows(connection, table) == 0);
        auto gone = connection.exec("SELECT * FROM " + *quote_postgres_identifier(created));
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == "42P01");
    }
    SUBCASE("commit() keeps the rows") {
        auto transaction = PostgresTransaction::begin(connection);
        REQUIRE(transaction);
        must(connection.exec("INSERT INTO " + quoted + " VALUES ($1, $2)", {"7", "kept"}));
        REQUIRE(transaction.value().commit());
        CHECK(count_rows(connection, table) == 1);
        // The guard did its work: a second commit is an error, not a silent success.
        CHECK_FALSE(transaction.value().commit());
    }
    SUBCASE("a failed statement makes commit() an error, and nothing is kept") {
        auto transaction = PostgresTransaction::begin(connection);
        REQUIRE(transaction);
        must(connection.exec("INSERT INTO " + quoted + " VALUES (1, 'a')"));
        auto duplicate = connection.exec("INSERT INTO " + quoted + " VALUES (1, 'again')");
        REQUIRE_FALSE(duplicate);
        CHECK(duplicate.error().code == "23505");
        CHECK(duplicate.error().message.find(table + "_pkey") != std::string::npos);
        CHECK(duplicate.error().detail.find("(id)=(1)") != std::string::npos);
        CHECK(connection.transaction_failed());
        auto committed = transaction.value().commit();
        REQUIRE_FALSE(committed);
        CHECK(committed.error().code == "25P02");
        CHECK_FALSE(connection.in_transaction());
        CHECK(count_rows(connection, table) == 0);
    }
    SUBCASE("a second transaction on the same connection is refused while one is open") {
        auto first = PostgresTransaction::begin(connection);
        REQUIRE(first);
        auto second = PostgresTransaction::begin(connection);
        REQUIRE_FALSE(second);
        CHECK(second.error().code == "25001");
    }
    must(connection.exec("DROP TABLE " + quoted));
}

TEST_CASE("postgres: the server's errors name the table and column") {
    auto connection = connected();
    auto missing_table = connection.exec("SELECT * FROM no_such_table_here");
    REQUIRE_FALSE(missing_table);
    CHECK(missing_table.error().code == "42P01");
    CHECK(missing_table.error().message.find("no_such_table_here") != std::string::npos);
    CHECK_FALSE(missing_table.error().unreachable);
    CHECK(missing_table.error().describe().rfind("PostgreSQL: ", 0) == 0);

    must(connection.exec("CREATE TEMP TABLE has_columns (present int)"));
    auto missing_column = connection.exec("SELECT absent_column FROM has_columns");
    REQUIRE_FALSE(missing_column);
    CHECK(missing_column.error().code == "42703");
    CHECK(missing_column.error().message.find("absent_column") != std::string::npos);

    auto syntax = connection.exec("SELEC 1");
    REQUIRE_FALSE(syntax);
    CHECK(syntax.error().code == "42601");

    // The connection is still usable after errors outside a transaction.
    CHECK(must(connection.exec("SELECT 1")).rows.at(0).at(0) == "1");
    // Several statements in one script; the last one's rows come back.
    auto script =
        must(connection.exec_script("CREATE TEMP TABLE s1 (x int); INSERT INTO s1 "
                                    "VALUES (1), (2); SELECT sum(x) AS total FROM s1"));
    CHECK(script.columns == std::vector<std::string>{"total"});
    CHECK(script.rows.at(0).at(0) == "3");
}

TEST_CASE("postgres: names are quoted only after the strict check") {
    auto connection = connected();
    std::string table = "Mixed_Case_" + std::to_string(::getpid());
    auto quoted = quote_postgres_identifier(table);
    REQUIRE(quoted);
    must(connection.exec("CREATE TEMP TABLE " + *quoted + " (\"Value\" int)"));
    must(connection.exec("INSERT INTO " + *quoted + " VALUES (5)"));
    // Quoting keeps the case: the unquoted (folded) name is another table.
    CHECK(must(connection.exec("SELECT \"Value\" FROM " + *quoted)).rows.at(0).at(0) == "5");
    CHECK_FALSE(connection.exec("SELECT * FROM " + table));
    CHECK_FALSE(quote_postgres_identifier("x\"; DROP TABLE y; --"));
}

TEST_CASE("postgres: a refused connection and an unknown database are clear errors") {
    PostgresUrl url = postgres_url();
    SUBCASE("nothing listens on the port") {
        url.port = closed_port();
        auto connection = PostgresConnection::connect(url);
        REQUIRE_FALSE(connection);
        CHECK(connection.error().unreachable);
        CHECK(connection.error().message.find("cannot connect to postgresql://") == 0);
        CHECK(connection.error().message.find(":" + std::to_string(url.port) + "/") !=
              std::string::npos);
    }
    SUBCASE("the database does not exist") {
        url.database = "no_such_database";
        auto connection = PostgresConnection::connect(url);
        REQUIRE_FALSE(connection);
        CHECK_FALSE(connection.error().unreachable);
        CHECK(connection.error().message.find("\"no_such_database\" does not exist") !=
              std::string::npos);
    }
    SUBCASE("the password is never shown") {
        url.port = closed_port();
        url.password = "s3cret-password";
        auto connection = PostgresConnection::connect(url);
        REQUIRE_FALSE(connection);
        CHECK(connection.error().message.find("s3cret") == std::string::npos);
        CHECK(connection.error().message.find(":***@") != std::string::npos);
    }
}
