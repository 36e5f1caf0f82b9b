// Rule tests: `NAME.test.yaml` beside a rule file holds cases, each a small fixture base (the
// customers' fields and their fact rows), an as_of and the expected placement per customer,
// and optionally a later state of the same base with the expected placement then and the
// triggers expected to fire between the two. Every case runs through the same engine as a
// real run: the fixture is written to a SQLite file of its own, read by the same reader, and
// placed and stored by the same run (with its own state file), so a test can't pass on a path
// production doesn't take. Coverage says which general segments, tactical segments and
// triggers no case reached.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dsl/diagnostics.hpp"
#include "dsl/source.hpp"
#include "engine/value.hpp"

namespace strata {

// A fixture table: column names in first-seen order, and rows of values aligned with them
// (null where a row did not give the column).
struct FixtureTable {
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
    std::vector<std::vector<char>> given;  // per row and column: whether the row named it
    std::vector<Location> row_locations;   // per row
    Location location;
};

struct Expectation {
    Value key;
    Location location;
    std::string segment;  // the general segment id
    Location segment_location;
    // The tactical ids (or paths) that must hold, exactly; unchecked when absent.
    std::optional<std::vector<std::string>> tactical;
    std::vector<Location> tactical_locations;  // one per tactical id
};

struct FixtureState {
    std::optional<Date> as_of;
    Location as_of_location;
    std::optional<FixtureTable> customers;      // the later state: replaces the rows when given
    std::map<std::string, FixtureTable> facts;  // by fact name; the later state: rows added
    std::vector<Expectation> expect;
    // The later state: trigger id → the customers it must fire for between the two states,
    // exactly (any status: pending, holdout or capped).
    std::map<std::string, std::pair<std::vector<Value>, Location>> fire;
};

// One entry of a case's `population:` block: the cut points of the population call under a
// let, fixed instead of ranked over the case's customers (analysis/fixed_population.hpp).
struct FixedPopulation {
    std::string let;
    Location location;  // of the let's name
    // Exactly one of these is given: a list (ntile: where bins 2..n begin), a mapping of rfm
    // fields (`r`, `f`, `m`, each such a list) or of abc classes (`A`, `B`: where each begins).
    std::optional<std::vector<Value>> cuts;
    std::map<std::string, std::pair<std::vector<Value>, Location>> fields;
    std::map<std::string, std::pair<Value, Location>> classes;
    // A class given by its last customer: that customer's key (customers whose value is the
    // class's equal theirs are in it up to this key). Absent: all of them are.
    std::map<std::string, Value> class_last_keys;
};

struct TestCase {
    std::string name;
    Location location;
    FixtureState first;
    std::vector<FixtureState> then;           // later states of the same base, in order
    std::vector<FixedPopulation> population;  // applied to the first state and every later one
};

struct TestFile {
    std::string path;
    std::optional<std::string> rules;  // the rule file, relative to the test file
    std::vector<TestCase> cases;
};

// Reads a test file. nullopt when it is not usable at all; every problem goes to `diags`,
// at file:line:col.
std::optional<TestFile> load_test_file(const SourceFile& file, Diagnostics& diags);

struct CaseResult {
    std::string name;
    bool passed = false;
    std::vector<std::string> failures;  // readable lines: what was expected and what came
};

struct CoveragePart {
    size_t total = 0;
    std::vector<std::string> missing;  // in rule-file order
    size_t hit() const { return total - missing.size(); }
};

// An operand of an and/or in a segment condition that no case showed to matter both ways.
struct UncoveredOperand {
    std::string segment;
    Location location;
    std::string text;   // the operand as written
    std::string never;  // "true", "false" or "true or false": how it never decided
};

struct Coverage {
    CoveragePart segments;  // general
    CoveragePart tactical;  // by path; a shared one once per general segment, "id (in parent)"
    CoveragePart triggers;
    // Condition coverage (MC/DC): operands of and/or; reported, not part of percent().
    size_t operands = 0;
    std::vector<UncoveredOperand> uncovered_operands;
    // Hit items over all items, in percent (100 when there are none).
    double percent() const;
};

struct TestReport {
    std::string ruleset;
    std::vector<CaseResult> cases;
    Coverage coverage;
    size_t passed() const;
};

// Runs every case of `tests` against the rule file `rules`, in a scratch directory under
// `work_dir` that it removes afterwards. Rule errors (against a case's fixture) go to
// `diags` and fail that case. nullopt with `error` set when the scratch files can't be written.
std::optional<TestReport> run_rule_tests(const SourceFile& rules, const TestFile& tests,
                                         const std::string& work_dir, Diagnostics& diags,
                                         std::string& error);

// What run_rule_tests checks before its first case, and nothing more: the rule file's errors,
// the ids the cases expect, the fixtures' tables, and the rules against those tables. Every
// error goes to `diags`; false with `error` set when there is one. For a test file whose own
// load had errors, so that one pass reports both kinds.
bool check_rule_tests_fit(const SourceFile& rules, const TestFile& tests, Diagnostics& diags,
                          std::string& error);

}  // namespace strata
