// Type inference: what every cell of each column could be, gathered over all rows, then one
// type per column, one decimal mark and one date order per file. Nothing is guessed: a date
// order the file does not settle, or columns disagreeing on the decimal mark, stop the import
// with a question (docs/import.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/cells.hpp"

namespace strata::import {

// What the cells of one column could be, over all rows.
struct ColumnEvidence {
    size_t filled = 0;  // non-empty cells
    size_t empty = 0;
    uint32_t all_shapes = ~0u;  // the CellShape bits every filled cell has
    size_t boolean_words = 0;
    size_t boolean_cells = 0;  // cells that spell a boolean, as a word or a digit
    // Cells with a fraction after '.' (or commas grouping thousands, 1,234,567) or after ','.
    size_t dot_fractions = 0, comma_fractions = 0;
    std::string dot_sample, comma_sample;  // the first of each
    // Cells like 1,500 or 1.500: a fraction or thousands by the decimal mark; the first of them.
    size_t ambiguous_marks = 0;
    std::string ambiguous_sample;
    bool all_temporal = true;
    size_t year_first = 0, either = 0, day_first = 0, month_first = 0;
    bool any_time = false;
    std::vector<std::string> either_samples;  // the first two different ambiguous dates
    // Cells that read as a date (or datetime), and as a number; the first cell that does not.
    size_t temporal_cells = 0, numeric_cells = 0;
    size_t whole_cells = 0;  // of the numeric cells, those that are whole numbers
    std::string first_not_temporal, first_not_numeric;
    // Numbers a REAL would round (kBeyondReal), and the first of them; cells that are neither
    // such a number nor any other (n/a, a name).
    size_t beyond_real = 0, no_number = 0;
    std::string beyond_real_sample;
    // Of those, the whole numbers (no decimal mark): an integer column may hold them exactly.
    size_t beyond_real_wholes = 0;
    // Cells of 19 digits that a 64-bit integer holds: no numbers to inference (long
    // identifiers), but an integer column's all the same; the first of them.
    size_t long_integers = 0;
    std::string long_integer_sample;

    void add(std::string_view trimmed_cell);  // a filled cell, trimmed
};

// How a column is written.
struct ColumnPlan {
    ColumnType type = ColumnType::Text;
    DateOrder order = DateOrder::YearFirst;  // for dates and datetimes
    bool forced = false;                     // from --types or the existing table
};

struct InferenceSettings {
    std::optional<DecimalMark> decimal;  // --decimal; nullopt: auto
    std::optional<DateOrder> order;      // --date-format; nullopt: auto
};

struct FileReading {
    DecimalMark decimal = DecimalMark::Dot;
    std::optional<DateOrder> order;  // the order dates like 01.02.2024 were read in, if any
    std::vector<ColumnPlan> columns;
    // A note per column that is text only because of a few cells (at most 1% of them) that
    // are not dates, or not numbers: which cell, and the --types that reads the rest.
    std::vector<std::string> notes;
};

// Decides every column's plan. `forced` has a type for the columns whose type is given.
// False with `error` (a question naming the option to give) when the file leaves the date
// order or the decimal mark open (numbers like 1,500 and no other number saying which mark
// the file uses).
bool plan_columns(const std::vector<ColumnEvidence>& evidence,
                  const std::vector<std::optional<ColumnType>>& forced,
                  const std::vector<std::string>& names, const InferenceSettings& settings,
                  FileReading& out, std::string& error);

}  // namespace strata::import
