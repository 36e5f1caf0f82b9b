// Reading SQLite cells into typed values, for the scans of engine/reader.cpp. Internal to
// engine/: one reader per column type, picked once per column so the row loop does not switch
// on the type, and the log of values that did not convert.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "dsl/bound.hpp"
#include "engine/reader.hpp"
#include "text/blank.hpp"

namespace strata {

// Findings are listed by table, column, then the type read.
void sort_unconvertible(std::vector<DataQuality::Unconvertible>& findings);

// Counts values that do not convert, per column, into a DataQuality.
class ConversionLog {
  public:
    ConversionLog(DataQuality& dq, std::string table) : dq_(dq), table_(std::move(table)) {}
    // Counts one value of `column` that did not convert to `type`; the first is kept as a
    // sample (its first 40 bytes).
    void bad(const std::string& column, Type type, sqlite3_value* cell);

  private:
    DataQuality& dq_;
    std::string table_;
};

// Reads one cell into `out`, converted to a column's type. False, with `out` null, when a
// non-null value does not convert; a null cell reads as null. A column of no declared type
// keeps numbers as numbers and reads the rest as text.
using CellReader = bool (*)(sqlite3_value* cell, Value& out);

CellReader reader_for(Type type);
std::vector<CellReader> readers_for(const std::vector<bound::ColumnUse>& columns);

// Every non-null value as its text (the reader of text columns).
bool read_text_cell(sqlite3_value* cell, Value& out);

// The cell's text (empty for null); valid until the cell changes.
std::string_view cell_text(sqlite3_value* cell);

// A customer table's key cell as a run keys the customer: an integer as it is, a whole REAL as
// that integer (5.0 is the key 5, as SQLite itself compares them), any other non-blank value
// as its text (text keys stay text: '00123' is not 123); null for no key (null, or blank as
// text/blank.hpp says).
inline Value customer_key_of_cell(sqlite3_value* cell) {
    Value k;
    const int storage = sqlite3_value_type(cell);
    if (storage == SQLITE_INTEGER) {
        k = static_cast<int64_t>(sqlite3_value_int64(cell));
    } else if (auto whole = storage == SQLITE_FLOAT ? whole_number_key(sqlite3_value_double(cell))
                                                    : std::nullopt) {
        k = *whole;
    } else if (storage != SQLITE_NULL && !text::is_blank(cell_text(cell))) {
        read_text_cell(cell, k);
    }
    return k;
}

// The customer row in `index` that a fact row's key cell joins (KeyIndex's rules), or -1.
inline int64_t key_owner(const KeyIndex& index, sqlite3_value* key) {
    switch (sqlite3_value_type(key)) {
        case SQLITE_INTEGER:
            return index.find_integer(sqlite3_value_int64(key));
        case SQLITE_NULL:
            return -1;
        case SQLITE_FLOAT:
            if (auto i = whole_number_key(sqlite3_value_double(key))) return index.find_integer(*i);
            [[fallthrough]];  // a fraction finds a key spelled as SQLite prints it
        default:              // every byte of the text: 'a\0b' is not 'a'
            return index.find_text(std::string(cell_text(key)));
    }
}

}  // namespace strata
