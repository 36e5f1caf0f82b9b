// What "does not convert" means: every type read from SQLite cells of every storage class,
// one value at a time, and type names and versions as a rule file writes them. The table in
// docs/running.md ("How values convert") is the contract these tests hold the reader to.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <string>
#include <utility>
#include <vector>

#include "dsl/loader.hpp"
#include "engine/reader.hpp"
#include "test_support.hpp"

namespace {

using strata::Type;

// Reads each SQL literal as one cell of a column of no declared type (so SQLite keeps its
// storage class), converted to `type`. Returns each value as text ("null" when it did not
// convert) and checks that every null, and only those, was counted as unconvertible.
std::vector<std::string> read_as(Type type, const std::vector<std::string>& literals) {
    strata::testing::TempDir dir;
    std::string sql = "CREATE TABLE cells (id INTEGER PRIMARY KEY, v);";
    for (const auto& literal : literals)
        sql += "INSERT INTO cells (v) VALUES (" + literal + ");";
    const auto path = dir.database("cells.db", sql);
    strata::bound::Program program;
    program.columns = {{"v", type}};
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    strata::KeyIndex index;
    strata::DataQuality dq;
    const auto read = strata::read_customers({&db}, "cells", "id", program, index, dq, nullptr);
    std::vector<std::string> out;
    size_t nulls = 0;
    for (const auto& v : read.columns.at(0)) {
        out.push_back(strata::format_value(v));
        nulls += strata::is_null(v);
        // A converted value has the column's type (an integer is not read as a fraction).
        if (type == Type::Int && !strata::is_null(v)) CHECK(std::holds_alternative<int64_t>(v));
        if (type == Type::Number && !strata::is_null(v)) CHECK(std::holds_alternative<double>(v));
    }
    const size_t bad = dq.unconvertible.empty() ? 0 : dq.unconvertible[0].count;
    CHECK(bad == nulls);
    return out;
}

using Expected = std::vector<std::pair<std::string, std::string>>;  // literal, value read

void check_reads(Type type, const Expected& cases) {
    std::vector<std::string> literals;
    for (const auto& c : cases)
        literals.push_back(c.first);
    const auto got = read_as(type, literals);
    REQUIRE(got.size() == cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(cases[i].first);
        CHECK(got[i] == cases[i].second);
    }
}

}  // namespace

TEST_CASE("integers convert only from a value that is exactly one whole number") {
    check_reads(Type::Int, {{"12", "12"},
                            {"12.0", "12"},
                            {"2.5", "null"},
                            {"9.2e18", "9200000000000000000"},
                            {"1e19", "null"},
                            {"'12'", "12"},
                            {"' 12'", "12"},
                            {"'12 '", "12"},
                            {"'\t12\n'", "12"},
                            {"'+12'", "12"},
                            {"'-12'", "-12"},
                            {"'12.0'", "12"},
                            {"'12.50e1'", "125"},
                            {"'1e3'", "1000"},
                            {"'9007199254740993.0'", "9007199254740993"},
                            {"'9223372036854775807'", "9223372036854775807"},
                            {"'-9223372036854775808'", "-9223372036854775808"},
                            {"'9223372036854775808'", "null"},
                            {"'1e19'", "null"},
                            {"'2.5'", "null"},
                            {"'0x10'", "null"},
                            {"'1 2'", "null"},
                            {"'12abc'", "null"},
                            {"''", "null"},
                            {"' '", "null"},
                            {"'inf'", "null"},
                            {"'nan'", "null"}});
}

TEST_CASE("numbers convert from decimal text and finite values only") {
    check_reads(Type::Number, {{"7", "7"},
                               {"2.5", "2.5"},
                               {"1e999", "null"},  // SQLite stores an infinity
                               {"-1e999", "null"},
                               {"' 2.5 '", "2.5"},
                               {"'1e3'", "1000"},
                               {"'.5'", "0.5"},
                               {"'5.'", "5"},
                               {"'-0.25'", "-0.25"},
                               {"'0x10'", "null"},
                               {"'0x1p3'", "null"},
                               {"'inf'", "null"},
                               {"'Infinity'", "null"},
                               {"'nan'", "null"},
                               {"'1e400'", "null"},
                               {"'1,5'", "null"},
                               {"'abc'", "null"}});
}

TEST_CASE("bools convert from 0, 1 and the spellings CRM exports write, nothing else") {
    check_reads(
        Type::Bool,
        {{"1", "true"},      {"0", "false"},     {"2", "null"},          {"-1", "null"},
         {"1.0", "null"},    {"'1'", "true"},    {"'0'", "false"},       {"'true'", "true"},
         {"'TRUE'", "true"}, {"'tRuE'", "true"}, {"' false '", "false"}, {"'2'", "null"},
         {"'1.0'", "null"},  {"'yes'", "true"},  {"'No'", "false"},      {"'Y'", "true"},
         {"'n'", "false"},   {"'Да'", "true"},   {"'НЕТ'", "false"},     {"'yes please'", "null"},
         {"'да!'", "null"},  {"'t'", "null"}});
}

TEST_CASE("dates convert from ISO text, and a date and time gives its day") {
    check_reads(Type::Date, {{"'2026-01-05'", "2026-01-05"},
                             {"' 2026-01-05 '", "2026-01-05"},
                             {"'2026-01-05 10:00:00'", "2026-01-05"},
                             {"'2026-01-05T23:59'", "2026-01-05"},
                             {"'2026-02-30'", "null"},
                             {"'2026-1-5'", "null"},
                             {"'20260105'", "null"},
                             {"20260105", "null"},
                             {"'2026-01-05 25:00'", "null"}});
    check_reads(Type::DateTime, {{"'2026-01-05 10:00:00'", "2026-01-05T10:00:00"},
                                 {"'2026-01-05T10:00'", "2026-01-05T10:00:00"},
                                 {"'2026-01-05T10:00:00.250Z'", "2026-01-05T10:00:00"},
                                 {"' 2026-01-05 '", "2026-01-05T00:00:00"},
                                 {"'2026-01-05 10'", "null"},
                                 {"1767600000", "null"}});
}

TEST_CASE("strings keep every value's text as it is, spaces included") {
    check_reads(Type::String, {{"' 12 '", " 12 "}, {"12", "12"}, {"2.5", "2.5"}, {"''", ""}});
}

TEST_CASE("type names in 'types:' are read in any letter case, and a quoted version is read") {
    const strata::SourceFile file("rules.yaml",
                                  "ruleset: x\n"
                                  "version: '3'\n"
                                  "source:\n"
                                  "  types: { a: DATE, b: Integer, c: BOOLEAN, d: date }\n"
                                  "general:\n"
                                  "  segments:\n"
                                  "    - id: all\n"
                                  "      when: otherwise\n");
    strata::Diagnostics diags;
    const auto rules = strata::load_rule_file(file, diags);
    REQUIRE(rules);
    for (const auto& d : diags.items())
        CHECK_MESSAGE(d.severity != strata::Severity::Error, d.message);
    CHECK(rules->version == 3);
    CHECK(rules->types.at("a").type == Type::Date);
    CHECK(rules->types.at("b").type == Type::Int);
    CHECK(rules->types.at("c").type == Type::Bool);
    CHECK(rules->types.at("d").type == Type::Date);
}
