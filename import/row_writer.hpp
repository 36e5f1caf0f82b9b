// The rows of an import, read cell by cell and written (or, for --dry-run, only checked)
// through one prepared statement: each cell converted to its column's type, the key checked
// present and unique as the value the table will hold. Internal to import/.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/value.hpp"
#include "import/cells.hpp"
#include "import/csv.hpp"
#include "import/importer.hpp"
#include "import/infer.hpp"
#include "text/one_line.hpp"

namespace strata::import {

inline constexpr size_t kProgressEvery = size_t{1} << 16;

// The file as read: its text, headers and column names.
struct ParsedFile {
    DecodedText decoded;
    char delimiter = ',';
    // Where the header begins: after Excel's "sep=;" line, when the file has one.
    size_t start = 0;
    size_t start_line = 1;
    std::vector<std::string> headers;
    std::vector<std::string> names;
};

// "an integer", "a date": a column type with its article, for messages.
std::string with_article(ColumnType type);

// A fraction as SQLite's own text of a REAL (%!.15g): 2.0 is "2.0", as the table prints it.
std::string real_text(double v);

// Whether SQLite gives a column declared so an affinity that turns a text that spells a
// number into that number (INTEGER, REAL or NUMERIC: https://sqlite.org/datatype3.html,
// 3.1): '007' in a column declared STRING is stored as 7.
bool converts_numeric_texts(std::string declared);

// Whether SQLite would read `cell` as a number under such an affinity: an integer or real
// literal, white space around allowed (spaces, tabs and line breaks, as SQLite skips them).
bool spells_a_number(std::string_view cell);

// Binds `text` (which must outlive the statement's next step) as parameter `slot`. Empty when
// it is bound; otherwise why not, such as a value longer than SQLite stores in one value (the
// connection's SQLITE_LIMIT_LENGTH, a billion bytes unless lowered), which SQLite would
// otherwise leave unbound, a null in the row.
std::string bind_text_within_limit(sqlite3_stmt* stmt, int slot, std::string_view text);

class RowWriter {
  public:
    RowWriter(const ImportOptions& options, const ParsedFile& file, const FileReading& reading,
              std::vector<ImportedColumn>& columns, std::optional<size_t> key, bool strict)
        : options_(options),
          file_(file),
          reading_(reading),
          columns_(columns),
          key_(key),
          strict_(strict),
          temporal_(file.headers.size()) {}

    // Keys already in the table (--append), so that the file's keys are checked against them.
    // The file's keys are checked here, as the values the table will hold, whether or not
    // the table checks them too: the message then names both lines.
    void add_existing_key(std::string key) {
        if (const std::string_view trimmed = trim_cell(key); trimmed.size() != key.size())
            spaced_keys_.emplace(std::string(trimmed), std::pair(key, size_t{0}));
        keys_.emplace(std::move(key), 0);
    }
    // Per column, the declared type of a text column that SQLite would turn a number-like
    // text into a number in (empty: none): such a cell is refused, not changed.
    void guard_texts(std::vector<std::string> declared) { numeric_affinity_ = std::move(declared); }

    bool write(sqlite3* db, const std::string& insert_sql, size_t& rows, std::string& error) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db, insert_sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
            error = std::string("cannot prepare the insert: ") + sqlite3_errmsg(db);
            return false;
        }
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
        CsvCursor cursor(file_.decoded.text, file_.delimiter, file_.start, file_.start_line);
        std::vector<std::string_view> fields;
        cursor.next(fields, error);
        rows = 0;
        while (cursor.next(fields, error)) {
            for (size_t i = 0; i < fields.size(); ++i) {
                if (!bind_cell(raw, i, fields[i], cursor.line(), error)) return false;
            }
            if (sqlite3_step(raw) != SQLITE_DONE) {
                error = "line " + std::to_string(cursor.line()) + ": " + sqlite3_errmsg(db);
                return false;
            }
            sqlite3_reset(raw);
            if (++rows % kProgressEvery == 0 && options_.progress) options_.progress(2, rows);
        }
        return error.empty();
    }

  private:
    bool bind_cell(sqlite3_stmt* stmt, size_t i, std::string_view raw, size_t line,
                   std::string& error) {
        const int slot = static_cast<int>(i) + 1;
        const std::string_view cell = trim_cell(raw);
        const ColumnPlan& plan = reading_.columns[i];
        bool fits = true;
        // The value bound, as SQLite's text of it (a fraction as %!.15g, as SQLite prints a
        // REAL): for the key, so that 1000 and '1 000', or 2 and 2.0, are one key.
        std::string bound_text;
        if (cell.empty()) {
            ++columns_[i].empty;
            sqlite3_bind_null(stmt, slot);
        } else {
            switch (plan.type) {
                case ColumnType::Text:
                    if (i < numeric_affinity_.size() && !numeric_affinity_[i].empty() &&
                        spells_a_number(raw)) {
                        error = "line " + std::to_string(line) + ", column '" + file_.names[i] +
                                "': '" + text::one_line(raw) +
                                "' would be stored as a number: the table declares the column " +
                                numeric_affinity_[i] +
                                ", which strata reads as text but SQLite stores numbers in; "
                                "declare it TEXT";
                        return false;
                    }
                    if (std::string why = bind_text_within_limit(stmt, slot, raw); !why.empty()) {
                        error = "line " + std::to_string(line) + ", column '" + file_.names[i] +
                                "': " + why;
                        return false;
                    }
                    bound_text = raw;
                    break;
                case ColumnType::Boolean:
                    if (auto b = parse_bool_spelling(cell)) {
                        sqlite3_bind_int(stmt, slot, *b ? 1 : 0);
                        bound_text = *b ? "1" : "0";
                    } else
                        fits = false;
                    break;
                case ColumnType::Integer:
                    if (auto v = parse_integer_cell(cell)) {
                        sqlite3_bind_int64(stmt, slot, *v);
                        bound_text = std::to_string(*v);
                    } else
                        fits = false;
                    break;
                case ColumnType::Number:
                    if (auto v = parse_number_cell(cell, reading_.decimal)) {
                        sqlite3_bind_double(stmt, slot, *v);
                        bound_text = real_text(*v);
                    } else
                        fits = false;
                    break;
                case ColumnType::Date:
                case ColumnType::DateTime: {
                    char* buffer = temporal_[i].data();
                    const size_t n =
                        write_temporal(cell, plan.order, plan.type == ColumnType::DateTime, buffer);
                    if (n) {
                        sqlite3_bind_text(stmt, slot, buffer, static_cast<int>(n), SQLITE_STATIC);
                        bound_text.assign(buffer, n);
                    } else
                        fits = false;
                    break;
                }
            }
        }
        if (!fits) {
            if (strict_ || !plan.forced) {
                error = "line " + std::to_string(line) + ", column '" +
                        text::one_line(file_.names[i]) + "': '" + text::one_line(cell) +
                        "' is not " + with_article(plan.type) +
                        (strict_ ? ", the type the existing table declares" : "") +
                        (plan.type == ColumnType::Number && (number_shape(cell) & kBeyondReal)
                             ? " (it has more digits than a REAL keeps exactly, and would be "
                               "rounded)"
                             : "");
                return false;
            }
            auto& unfit = columns_[i].unfit;
            if (unfit.first_lines.size() < 5) unfit.first_lines.push_back(line);
            ++unfit.count;
            sqlite3_bind_null(stmt, slot);
        }
        if (key_ == i) {
            if (cell.empty()) {
                error = "line " + std::to_string(line) + ": the key column '" + file_.names[i] +
                        "' is empty; every row needs a key";
                return false;
            }
            if (!fits) {
                error = "line " + std::to_string(line) + ": the key column '" + file_.names[i] +
                        "' holds '" + text::one_line(cell) + "', which is not " +
                        with_article(plan.type) + "; every row needs a key";
                return false;
            }
            // The key as the table will hold it: 1000 and '1 000', or 2 and 2.0, are one key.
            current_key_ = bound_text;
            auto [it, fresh] = keys_.emplace(current_key_, line);
            if (!fresh) {
                error = duplicate_key(current_key_, line, it->second);
                return false;
            }
            if (auto same = same_but_for_spaces(line)) {
                error = "key '" + text::one_line(current_key_) + "' of column '" + file_.names[i] +
                        "' on line " + std::to_string(line) + " is key '" +
                        text::one_line(same->first) + "' " +
                        (same->second == 0 ? std::string("already in the table")
                                           : "of line " + std::to_string(same->second)) +
                        " but for the spaces around it; a run matches keys exactly, so they "
                        "would be two customers: " +
                        (trim_cell(current_key_).size() == current_key_.size() && same->second == 0
                             ? "trim the table's key (the file's has no spaces to remove)"
                             : "remove the spaces in the file");
                return false;
            }
        }
        return true;
    }

    // ' A1 ' and 'A1' are two keys to SQLite and to a run, which match keys exactly: two
    // customers where the file most likely meant one. The other key and its line (0: the
    // table's) when the current key is one met before but for the spaces around it. Only
    // keys with spaces around them are kept a second time, in spaced_keys_.
    std::optional<std::pair<std::string, size_t>> same_but_for_spaces(size_t line) {
        const std::string_view trimmed = trim_cell(current_key_);
        if (trimmed.size() == current_key_.size()) {
            auto spaced = spaced_keys_.find(current_key_);
            if (spaced != spaced_keys_.end()) return spaced->second;
            return std::nullopt;
        }
        std::string bare(trimmed);
        if (auto plain = keys_.find(bare); plain != keys_.end())
            return std::pair(bare, plain->second);
        auto [spaced, fresh] = spaced_keys_.emplace(bare, std::pair(current_key_, line));
        if (!fresh) return spaced->second;
        return std::nullopt;
    }

    // "key 'K' of column 'c' is on line E and again on line L; …", or "is on line L and
    // already in the table" (E 0).
    std::string duplicate_key(std::string_view key, size_t line, size_t earlier) const {
        return "key '" + text::one_line(key) + "' of column '" + file_.names[*key_] +
               "' is on line " +
               (earlier == 0
                    ? std::to_string(line) + " and already in the table"
                    : std::to_string(earlier) + " and again on line " + std::to_string(line)) +
               "; keys must be unique";
    }

    const ImportOptions& options_;
    const ParsedFile& file_;
    const FileReading& reading_;
    std::vector<ImportedColumn>& columns_;
    std::optional<size_t> key_;
    bool strict_;
    std::vector<std::array<char, 24>> temporal_;
    std::unordered_map<std::string, size_t> keys_;
    // Each key without the spaces around it: the key as written and its line (0: the table's).
    std::unordered_map<std::string, std::pair<std::string, size_t>> spaced_keys_;
    std::string current_key_;
    std::vector<std::string> numeric_affinity_;
};

}  // namespace strata::import
