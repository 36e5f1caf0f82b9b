// The SQLite base a rule test's case runs on: the tables every case's fixtures ask for (each
// column any case gives, typed by its values), created empty, and each fixture state written
// into them as a run would find it in a database.
#pragma once

#include <SQLiteCpp/Database.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "analysis/rule_tests.hpp"
#include "dsl/diagnostics.hpp"
#include "engine/value.hpp"

namespace strata {

struct CompiledRules;

// How a key reads in a message: integers as they are, texts quoted.
std::string key_text(const Value& key);

// Keys compare by their text, with integers and texts apart ('1' is not 1).
std::string key_id(const Value& key);

class FixtureBase {
  public:
    // REQUIRES: `rules` and `tests` outlive this; `rules` compiled without a schema.
    FixtureBase(const CompiledRules& rules, const TestFile& tests, Diagnostics& diags);

    // Shapes the tables from every state of every case. False when a state names a fact the
    // rules lack, or a customer row lacks its key or repeats one; each is said in `diags`,
    // with a warning for a column no rule reads that is spelt like one they do.
    bool shape_tables();

    // Creates the shaped tables, empty. REQUIRES: shape_tables() ran.
    void create_tables(SQLite::Database& db) const;

    // Writes one state in one transaction. The first state inserts its rows; a later one
    // updates each customer of its key with the fields it gives (or adds the customer) and
    // appends its fact rows. What a row cannot say goes to `fails`; SQLite errors throw.
    void write_state(SQLite::Database& db, const FixtureState& s, bool later,
                     std::vector<std::string>& fails) const;

    // After the rules failed to compile against the shaped tables: a note at the test file for
    // each text column whose every value is a number in quotes ('1500'), which makes the
    // column text where the rules may read a number. REQUIRES: shape_tables() ran.
    void note_quoted_numbers() const;

  private:
    struct QuotedNumber {
        std::string value;
        Location location;
    };
    struct TableShape {
        std::vector<std::string> columns;
        std::map<std::string, std::string> types;
        // Per column: its first number in quotes, and the columns with any other value.
        std::map<std::string, QuotedNumber> quoted_numbers;
        std::set<std::string> not_only_quoted_numbers;
    };

    const CompiledRules& rules_;
    const TestFile& tests_;
    Diagnostics& diags_;
    std::map<std::string, TableShape> tables_;        // by table name
    std::map<std::string, std::string> fact_tables_;  // fact name → table
    // The file's first customer key and its line: a key column holds texts or integers, not
    // both, across every case and state (the fixtures share the column's declared type).
    const Value* first_key_ = nullptr;
    int first_key_line_ = 0;

    void shape(const std::string& table, const FixtureTable& t);
    bool check_customer_keys(const FixtureTable& t, const std::string& key);
    void ensure_column(const std::string& table, const std::string& column, const char* type);
    void warn_unread_columns();
};

}  // namespace strata
