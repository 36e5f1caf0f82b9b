// Internal to import/: the table an import appends to or replaces. What it holds (its columns
// and keys), how the file's columns find its columns under --append, and, under --replace,
// the indexes, triggers and views that depend on it, made again on the new table.
#pragma once

#include <SQLiteCpp/Database.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "import/cells.hpp"
#include "import/importer.hpp"
#include "import/row_writer.hpp"

namespace strata::import {

// "a, b, c": names joined for a message.
std::string listed(const std::vector<std::string>& names);

// An existing table's column: its name, the type strata reads, the declared type, and whether
// SQLite turns a text that spells a number into one there (never in a STRICT table, where an
// ANY column keeps '007' as written).
struct ExistingColumn {
    std::string name;
    ColumnType type;
    std::string declared;
    bool converts_numeric_texts = false;
};

// The columns of `table` in `db`, in the table's order. REQUIRES: the table exists.
std::vector<ExistingColumn> existing_columns(SQLite::Database& db, const std::string& table);

// The keys already in column `column` of `table`, given to `writer` as it compares keys.
void read_existing_keys(SQLite::Database& db, const std::string& table, const std::string& column,
                        RowWriter& writer);

// --append: each of the file's columns is the table's column written exactly as its header,
// else the one SQLite takes for its name or header (ASCII letters folded), else one an earlier
// strata named differently. `file.names` become the table's names, `forced` their types, and
// `numeric_affinity` the declared type of a text column SQLite gives a numeric affinity (empty
// for the others). False with `error` naming the first column the table lacks.
bool match_append_columns(const ImportOptions& options, ParsedFile& file,
                          const std::vector<ExistingColumn>& existing,
                          std::vector<std::optional<ColumnType>>& forced,
                          std::vector<std::string>& numeric_affinity, std::string& error);

// --replace: what depends on the table, read before it is dropped. The watch's triggers are
// left out: the new rows are not the ones watched (the next incremental run is a full one).
struct Dependents {
    std::vector<std::tuple<std::string, std::string, std::string>> indexes_and_triggers;
    std::vector<std::string> views;  // every view of the database: any may read the table
};
Dependents dependents_of(SQLite::Database& db, const std::string& table);

// Makes `dependents` again on the new `table` (whose columns are `columns`), each on its own:
// one that no longer fits (it names a column gone) is dropped, and a note in `notes` says so;
// a view that no longer reads is named.
void remake_dependents(SQLite::Database& db, const std::string& table,
                       const std::vector<std::string>& columns, const Dependents& dependents,
                       std::vector<std::string>& notes);

}  // namespace strata::import
