// One CSV cell read as each type `strata import` knows: the shapes a CRM export writes
// (thousands separated by spaces, decimal commas, DD.MM.YYYY dates, yes/no and да/нет), and
// the text strata stores for them (docs/import.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace strata::import {

// The column types an import infers or is told, in the order inference tries them.
enum class ColumnType { Boolean, Integer, Number, Date, DateTime, Text };

// "boolean", "integer", "number", "date", "datetime", "text": the names --types takes and
// the summary prints.
const char* type_label(ColumnType type);
// The type declared in CREATE TABLE, one that strata's binder maps back to the same type:
// BOOLEAN, INTEGER, REAL, DATE, DATETIME, TEXT.
const char* declared_type(ColumnType type);
// A --types name: the labels above, and int, real, bool, string as their synonyms.
std::optional<ColumnType> type_from_label(std::string_view name);

enum class DecimalMark { Dot, Comma };

// The order of day, month and year in a date like 01.02.2024 (the separator may be `.`, `/`
// or `-`). YYYY-MM-DD dates are read as such whatever the order.
enum class DateOrder { YearFirst, DayFirst, MonthFirst };
// "YYYY-MM-DD", "DD.MM.YYYY", "MM/DD/YYYY": the --date-format values.
const char* date_order_label(DateOrder order);

// `cell` without the spaces, tabs and no-break spaces around it.
std::string_view trim_cell(std::string_view cell);

// What a trimmed, non-empty cell could be, as bits.
enum CellShape : uint32_t {
    kBooleanWord = 1u << 0,    // true, yes, да, Y, … (any letter case)
    kBooleanDigit = 1u << 1,   // 0 or 1
    kWholeNumber = 1u << 2,    // an integer: no fraction, no leading zero, up to 18 digits
    kDotFraction = 1u << 3,    // a number whose fraction follows a '.'
    kCommaFraction = 1u << 4,  // a number whose fraction follows a ','
    // 1,234,567 or 1,500.25: commas grouping thousands, a number only with the decimal mark '.'
    kCommaThousands = 1u << 5,
    // 1,500 or 1.500: 1.5 with that decimal mark, 1500 with the other (which then groups
    // thousands, as in 1.500,25)
    kMarkAmbiguous = 1u << 6,
    // A number with more significant digits than a REAL keeps exactly (beyond 15, or a whole
    // number past 2^53): no number, though an integer column may hold a whole one.
    kBeyondReal = 1u << 7
};
uint32_t number_shape(std::string_view trimmed);

// An integer cell: an optional '-', digits grouped by threes with spaces or no-break spaces
// allowed (150 000), no leading zero (007 is a code, not 7). At most 18 digits, or 19
// ungrouped ones a 64-bit integer holds (a column declared INTEGER takes those; inference
// calls more than 18 digits an identifier, and the column text).
std::optional<int64_t> parse_integer_cell(std::string_view trimmed);
// A number cell: an integer part as above, then optionally `mark` and digits. With the mark
// '.', commas may group the integer part's thousands instead (1,234,567.5; 1,500 is 1500);
// with ',', one point before three digits is thousands (1.500 is 1500).
std::optional<double> parse_number_cell(std::string_view trimmed, DecimalMark mark);

// Which date orders a date or date-and-time cell allows.
struct TemporalShape {
    enum Kind { None, YearFirst, Either, DayFirstOnly, MonthFirstOnly } kind = None;
    bool has_time = false;
};
TemporalShape temporal_shape(std::string_view trimmed);

// Writes a temporal cell, read in `order`, as YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS when
// `with_time`, midnight for a date alone) into `out` (at least 20 bytes). Returns the length
// written, 0 when the cell is no date in that order, or, when not `with_time`, has a time of
// day other than midnight (a date column would lose it).
size_t write_temporal(std::string_view trimmed, DateOrder order, bool with_time, char* out);

}  // namespace strata::import
