// `strata import`: a CSV file into a typed SQLite table, in one transaction. Reads the file
// (import/csv.hpp), infers each column's type from all rows (import/infer.hpp), maps headers
// to column names (import/names.hpp), and writes the rows with one prepared statement.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "import/cells.hpp"
#include "import/csv.hpp"

namespace strata::import {

enum class ExistingTable { Refuse, Replace, Append };

struct ImportOptions {
    std::string file;
    std::string db;
    std::string table;
    std::optional<std::string> key;  // a header or a column name
    ExistingTable existing = ExistingTable::Refuse;
    char delimiter = 0;  // 0: detect from the header line
    Encoding encoding = Encoding::Auto;
    std::optional<DateOrder> date_order;  // nullopt: auto
    std::optional<DecimalMark> decimal;   // nullopt: auto
    // --types: a header or column name and its type.
    std::vector<std::pair<std::string, ColumnType>> types;
    bool ascii_names = false;
    bool dry_run = false;
    // Called now and then with the rows read so far and the pass (1: reading, 2: writing).
    std::function<void(int pass, size_t rows)> progress;
};

// A forced column's cells that did not fit its type and were stored as null.
struct UnfitCells {
    size_t count = 0;
    std::vector<size_t> first_lines;  // up to five line numbers
};

struct ImportedColumn {
    std::string header;
    std::string name;
    ColumnType type = ColumnType::Text;
    bool forced = false;  // by --types (or, with --append, by the existing table)
    size_t empty = 0;     // cells stored as null because they were empty
    UnfitCells unfit;
};

struct ImportReport {
    std::string encoding;          // "utf-8" or "cp1251"
    bool encoding_chosen = false;  // by --encoding auto
    // Chosen Windows-1251: the line (from 1) and byte where the file stopped being UTF-8.
    size_t not_utf8_line = 0;
    unsigned char not_utf8_byte = 0;
    bool had_bom = false;
    char delimiter = ',';
    DecimalMark decimal = DecimalMark::Dot;
    std::optional<DateOrder> date_order;  // how dates like 01.02.2024 were read, if any
    std::string action;                   // "created", "replaced", "appended", or "dry run"
    std::vector<ImportedColumn> columns;
    size_t rows = 0;
    std::string create_sql;  // the CREATE TABLE statement (empty when appending)
    // --replace: the table's indexes and triggers are made again on the new table; what could
    // not be (a column gone), and views that no longer read, as sentences.
    std::vector<std::string> notes;
};

// Runs the import. False with `error` set (one sentence naming the file, line, column or
// option) on any problem; the database is then as it was.
bool run_import(const ImportOptions& options, ImportReport& report, std::string& error);

// Why `table` cannot be imported into (not a plain name, or one of SQLite's or strata's own,
// in any letter case); empty when it can. run_import checks it too.
std::string table_name_problem(const std::string& table);

}  // namespace strata::import
