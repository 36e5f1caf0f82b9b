#include "import/importer.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "dsl/types.hpp"
#include "engine/store.hpp"
#include "engine/value.hpp"
#include "files/folder.hpp"
#include "import/existing_table.hpp"
#include "import/infer.hpp"
#include "import/names.hpp"
#include "import/row_writer.hpp"

namespace strata::import {

namespace {

// Whether the SQLite database at `path` is empty (no schema, or an empty file). False when it
// cannot be read.
bool holds_nothing(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) == 0 && !ec) return true;
    try {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        return db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt64() == 0;
    } catch (const SQLite::Exception&) {
        return false;
    }
}

bool read_file(const std::string& path, std::string& bytes, std::string& error) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        error = "'" + path + "' is a directory, not a CSV file";
        return false;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!in) {
        error = "cannot read '" + path + "': no such file or no permission";
        return false;
    }
    const auto size = std::filesystem::file_size(path, ec);
    bytes.resize(ec ? 0 : static_cast<size_t>(size));
    const size_t got = std::fread(bytes.data(), 1, bytes.size(), in.get());
    bytes.resize(got);
    // A file that grew while read (or whose size was unknown) is read to its end.
    char chunk[65536];
    while (size_t more = std::fread(chunk, 1, sizeof chunk, in.get()))
        bytes.append(chunk, more);
    return true;
}

// The column a --key or --types entry names: a column name or a header, as written.
std::optional<size_t> find_column(const std::string& wanted, const std::vector<std::string>& names,
                                  const std::vector<std::string>& headers) {
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == wanted) return i;
    for (size_t i = 0; i < headers.size(); ++i)
        if (headers[i] == wanted) return i;
    return std::nullopt;
}

// Rolls back an open transaction unless committed.
class Transaction {
  public:
    explicit Transaction(SQLite::Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
    ~Transaction() {
        if (!done_) {
            try {
                db_.exec("ROLLBACK");
            } catch (const SQLite::Exception&) {
                // Nothing more can be done; SQLite rolls back on close.
            }
        }
    }
    void commit() {
        db_.exec("COMMIT");
        done_ = true;
    }

  private:
    SQLite::Database& db_;
    bool done_ = false;
};

bool read_header(const ImportOptions& options, ParsedFile& file, std::string& error) {
    std::string bytes;
    if (!read_file(options.file, bytes, error)) return false;
    if (const std::string kind = not_csv_text(bytes); !kind.empty()) {
        error = options.file + ": the file looks like " + kind;
        return false;
    }
    if (!decode_text(std::move(bytes), options.encoding, file.decoded, error)) {
        error = options.file + ": " + error;
        return false;
    }
    // A DOS end-of-file mark (Ctrl-Z) some old exporters write last is not part of the last cell.
    if (!file.decoded.text.empty() && file.decoded.text.back() == '\x1A')
        file.decoded.text.pop_back();
    // Excel writes "sep=;" as a first line to name the separator: it is not the header.
    // LibreOffice, saving such a file again, quotes the line: "sep=;".
    const std::string& text = file.decoded.text;
    char hinted = 0;
    const size_t quoted =
        text.size() >= 7 && text.compare(0, 5, "\"sep=") == 0 && text[6] == '"' ? 1 : 0;
    const size_t line_end = quoted ? 7 : 5;
    if (text.size() >= line_end && text.compare(quoted, 4, "sep=") == 0 &&
        (text.size() == line_end || text[line_end] == '\n' || text[line_end] == '\r')) {
        hinted = text[quoted + 4];
        file.start = line_end;
        if (file.start < text.size() && text[file.start] == '\r') ++file.start;
        if (file.start < text.size() && text[file.start] == '\n') ++file.start;
        file.start_line = 2;
    }
    if (hinted && options.delimiter && options.delimiter != hinted) {
        error = options.file + ": its first line says the separator is '" + std::string(1, hinted) +
                "' (sep=), but --delimiter gives another";
        return false;
    }
    file.delimiter = options.delimiter ? options.delimiter
                     : hinted          ? hinted
                              : detect_delimiter(std::string_view(text).substr(file.start));
    CsvCursor cursor(file.decoded.text, file.delimiter, file.start, file.start_line);
    std::vector<std::string_view> fields;
    if (!cursor.next(fields, error)) {
        error = options.file + ": " +
                (!error.empty() ? error
                 : text.empty() ? "the file is empty; a header line is expected"
                 : hinted       ? "the file holds no header line after its sep= line"
                                : "the file holds no header line, only blank lines");
        return false;
    }
    for (auto f : fields)
        file.headers.emplace_back(trim_cell(f));
    if (!map_headers(file.headers, options.ascii_names, file.names, error)) {
        error = options.file + ": " + error;
        return false;
    }
    return true;
}

// Pass 1: what every column's cells could be.
bool gather_evidence(const ImportOptions& options, const ParsedFile& file,
                     std::vector<ColumnEvidence>& evidence, size_t& rows, std::string& error) {
    CsvCursor cursor(file.decoded.text, file.delimiter, file.start, file.start_line);
    std::vector<std::string_view> fields;
    cursor.next(fields, error);  // the header, read before
    evidence.assign(file.headers.size(), ColumnEvidence{});
    rows = 0;
    while (cursor.next(fields, error)) {
        if (fields.size() != file.headers.size()) {
            error = options.file + ": line " + std::to_string(cursor.line()) + " has " +
                    std::to_string(fields.size()) + (fields.size() == 1 ? " field" : " fields") +
                    "; the header has " + std::to_string(file.headers.size());
            return false;
        }
        for (size_t i = 0; i < fields.size(); ++i) {
            const std::string_view cell = trim_cell(fields[i]);
            if (cell.empty())
                ++evidence[i].empty;
            else
                evidence[i].add(cell);
        }
        if (++rows % kProgressEvery == 0 && options.progress) options.progress(1, rows);
    }
    if (!error.empty()) {
        error = options.file + ": " + error;
        return false;
    }
    return true;
}

std::string create_statement(const std::string& table, const std::vector<std::string>& names,
                             const std::vector<ColumnPlan>& plans, std::optional<size_t> key) {
    std::string sql = "CREATE TABLE " + quote_identifier(table) + " (";
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) sql += ", ";
        sql += quote_identifier(names[i]) + ' ' + declared_type(plans[i].type);
        if (key == i) sql += " NOT NULL PRIMARY KEY";
    }
    return sql + ")";
}

// --dry-run: every row read and checked as the import would (keys unique and present, cells
// that do not fit), through a statement that writes nothing; `db` (read-only, or null when
// the database does not exist yet) only gives the keys already in the table.
bool dry_run(const ImportOptions& options, const ParsedFile& file, const FileReading& reading,
             std::optional<size_t> key, bool append, const std::vector<std::string>& guarded,
             SQLite::Database* db, ImportReport& report, std::string& error) {
    try {
        SQLite::Database scratch(":memory:", SQLite::OPEN_READWRITE);
        std::string select = "SELECT ";
        for (size_t i = 0; i < file.names.size(); ++i)
            select += (i ? ", ?" : "?");
        select += " WHERE 0";  // no row: each step only takes the bound cells
        RowWriter writer(options, file, reading, report.columns, key, append);
        writer.guard_texts(guarded);
        if (append && key && db) read_existing_keys(*db, options.table, file.names[*key], writer);
        size_t checked = 0;
        if (!writer.write(scratch.getHandle(), select, checked, error)) {
            error = options.file + ": " + error + "; nothing would be imported";
            return false;
        }
        report.rows = checked;
    } catch (const SQLite::Exception& e) {
        error = "database '" + options.db + "': " + e.what();
        return false;
    }
    return true;
}

}  // namespace

std::string table_name_problem(const std::string& table) {
    // SQLite's names are blind to letter case: Strata_Runs is strata_runs.
    std::string lower = table;
    for (char& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (is_plain_name(table) && lower.rfind("sqlite_", 0) != 0 && lower.rfind("strata_", 0) != 0)
        return "";
    if (is_language_word(table))
        return "--table '" + table +
               "' is a word of the rule language, which a rule file cannot use as a table name; "
               "give another name";
    return "--table '" + table +
           "' is not a table name a rule file can use: letters, digits and '_', not starting "
           "with a digit, sqlite_ or strata_ (in any letter case)";
}

bool run_import(const ImportOptions& options, ImportReport& report, std::string& error) {
    const std::string& table = options.table;
    if (error = table_name_problem(table); !error.empty()) return false;
    ParsedFile file;
    if (!read_header(options, file, error)) return false;
    const size_t width = file.headers.size();
    report.encoding = file.decoded.encoding;
    report.encoding_chosen = file.decoded.chosen;
    report.not_utf8_line = file.decoded.not_utf8_line;
    report.not_utf8_byte = file.decoded.not_utf8_byte;
    report.had_bom = file.decoded.had_bom;
    report.delimiter = file.delimiter;

    // --types and --key name columns by their column name or header.
    std::vector<std::optional<ColumnType>> forced(width);
    // --append: per file column, the declared type of a text column SQLite gives a numeric
    // affinity (empty for the others).
    std::vector<std::string> numeric_affinity(width);
    for (const auto& [column, type] : options.types) {
        auto at = find_column(column, file.names, file.headers);
        if (!at) {
            error = "--types names '" + column + "', which is not a column of " + options.file +
                    " (its columns: " + listed(file.names) + ")";
            return false;
        }
        if (forced[*at]) {  // once by its column name and once by its header
            error = "--types names column '" + file.names[*at] + "' (header '" + file.headers[*at] +
                    "') twice; give each column one type";
            return false;
        }
        forced[*at] = type;
    }
    std::optional<size_t> key;
    if (options.key) {
        key = find_column(*options.key, file.names, file.headers);
        if (!key) {
            error = "--key '" + *options.key + "' is not a column of " + options.file +
                    " (its columns: " + listed(file.names) + ")";
            return false;
        }
    }

    // The database: the table must not exist unless --replace or --append says what to do.
    std::unique_ptr<SQLite::Database> db;
    bool exists = false;
    std::vector<ExistingColumn> existing;
    std::string table_key;  // the existing table's one PRIMARY KEY column, if it has one
    std::error_code ec;
    const bool db_existed = std::filesystem::exists(options.db, ec);
    if (db_existed && std::filesystem::is_directory(options.db, ec)) {
        error = "database '" + options.db + "' is a directory, not a SQLite file";
        return false;
    }
    try {
        if (db_existed) {
            db = std::make_unique<SQLite::Database>(options.db, SQLite::OPEN_READONLY);
            db->setBusyTimeout(5000);
            SQLite::Statement q(*db,
                                "SELECT name, type FROM sqlite_schema WHERE type IN ('table', "
                                "'view') AND name = ? COLLATE NOCASE");
            q.bind(1, table);
            if (q.executeStep()) {
                exists = true;
                if (q.getColumn(1).getString() == "view") {
                    error = "database '" + options.db + "' has a view '" +
                            q.getColumn(0).getString() +
                            "': import writes tables, and does not replace a view; give "
                            "another --table";
                    return false;
                }
                if (q.getColumn(0).getString() != table) {
                    error = "database '" + options.db + "' has a table '" +
                            q.getColumn(0).getString() + "', which SQLite takes for '" + table +
                            "' (names are compared without letter case)";
                    return false;
                }
                existing = existing_columns(*db, table);
                SQLite::Statement pk(*db, "SELECT name FROM pragma_table_info(?) WHERE pk > 0");
                pk.bind(1, table);
                std::vector<std::string> keyed;
                while (pk.executeStep())
                    keyed.push_back(pk.getColumn(0).getString());
                if (keyed.size() == 1) table_key = keyed[0];
            }
        }
    } catch (const SQLite::Exception& e) {
        error = ((e.getErrorCode() & 0xff) == SQLITE_BUSY
                     ? "database '" + options.db +
                           "' is locked by another process (a run or another import?), for "
                           "longer than 5 s; try again when it is done"
                     : "cannot open database '" + options.db + "': " + e.what());
        return false;
    }
    const bool append = exists && options.existing == ExistingTable::Append;
    if (exists && options.existing == ExistingTable::Refuse) {
        error = "table '" + table + "' already exists in '" + options.db +
                "'; give --replace to replace it, or --append to add the file's rows to it";
        return false;
    }
    if (append) {
        if (!options.types.empty()) {
            error =
                "--types does not go with --append to an existing table: its declared types "
                "are used";
            return false;
        }
        if (!match_append_columns(options, file, existing, forced, numeric_affinity, error))
            return false;
        // The table's own key is the key: every row needs one (a missing INTEGER PRIMARY KEY
        // would be made up by SQLite), and the file's must not repeat the table's.
        if (!key && !table_key.empty()) {
            for (size_t i = 0; i < width && !key; ++i)
                if (same_sql_name(file.names[i], table_key)) key = i;
            if (!key) {
                error = "table '" + table + "' is keyed by column '" + table_key + "', which " +
                        options.file + " does not have; every row needs a key";
                return false;
            }
        }
    }

    std::vector<ColumnEvidence> evidence;
    size_t rows = 0;
    if (!gather_evidence(options, file, evidence, rows, error)) return false;
    FileReading reading;
    InferenceSettings settings{options.decimal, options.date_order};
    if (!plan_columns(evidence, forced, file.names, settings, reading, error)) {
        error = options.file + ": " + error;
        return false;
    }
    report.decimal = reading.decimal;
    report.date_order = reading.order;
    report.notes.insert(report.notes.end(), reading.notes.begin(), reading.notes.end());
    report.columns.clear();
    for (size_t i = 0; i < width; ++i) {
        ImportedColumn c;
        c.header = file.headers[i];
        c.name = file.names[i];
        c.type = reading.columns[i].type;
        c.forced = reading.columns[i].forced;
        report.columns.push_back(std::move(c));
    }
    if (!append) report.create_sql = create_statement(table, file.names, reading.columns, key);
    report.action = options.dry_run ? "dry run"
                    : append        ? "appended"
                    : exists        ? "replaced"
                                    : "created";
    report.rows = rows;
    if (options.dry_run)
        return dry_run(options, file, reading, key, append, numeric_affinity, db.get(), report,
                       error);

    std::string insert = "INSERT INTO " + quote_identifier(table) + " (";
    for (size_t i = 0; i < width; ++i)
        insert += (i ? ", " : "") + quote_identifier(file.names[i]);
    insert += ") VALUES (";
    for (size_t i = 0; i < width; ++i)
        insert += i ? ", ?" : "?";
    insert += ")";

    // A database file this import created is removed again when the import fails: one it made
    // itself just before it wrote (another process may have made the file since the import
    // began), and that still holds nothing (another may have written to it since).
    bool created_here = false;
    auto fail = [&] {
        db.reset();
        if (created_here && holds_nothing(options.db)) {
            std::filesystem::remove(options.db, ec);
            std::filesystem::remove(options.db + "-journal", ec);
        }
        return false;
    };
    if (!db_existed) {
        // SQLite's word for a folder it cannot write in is "unable to open database file".
        if (const std::string problem = files::folder_problem(options.db); !problem.empty()) {
            error = "cannot make the database '" + options.db + "': " + problem;
            return false;
        }
        created_here = make_new_database_file(options.db);
    }
    bool failed = false;
    try {
        db.reset();
        db = std::make_unique<SQLite::Database>(options.db,
                                                SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db->setBusyTimeout(5000);
        // A double-quoted name is a name here, never SQLite's fallback of a text literal: an
        // index or view of the old table naming a column the new one lacks ("b") must fail to
        // be made again (and be said to), not be rebuilt on the constant 'b'.
        sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
        sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
        // One transaction: a failed import leaves the database as it was. The journal and
        // synchronous settings stay SQLite's (or the file's own), so the commit is atomic.
        db->exec("PRAGMA cache_size = -65536");
        Transaction transaction(*db);
        // --replace: what depends on the table, to make again on the new one.
        Dependents dependents;
        if (exists && !append) {
            dependents = dependents_of(*db, table);
            // The old primary key is the file's to keep (--key), not carried over unchecked.
            std::string old_key;
            SQLite::Statement pk(*db,
                                 "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk");
            pk.bind(1, table);
            while (pk.executeStep())
                old_key += (old_key.empty() ? "" : ", ") + pk.getColumn(0).getString();
            const std::string new_key = key ? file.names[*key] : std::string();
            if (!old_key.empty() && !same_sql_name(old_key, new_key)) {
                report.notes.push_back("the old table's primary key (" + old_key +
                                       ") is not kept: " +
                                       (key ? "the new one is " + new_key
                                            : "the new table has none; give --key " + old_key +
                                                  " to keep it, checked unique and not empty"));
            }
            db->exec("DROP TABLE " + quote_identifier(table));
        }
        if (!append) db->exec(report.create_sql);
        RowWriter writer(options, file, reading, report.columns, key, append);
        writer.guard_texts(numeric_affinity);
        if (append && key) read_existing_keys(*db, table, file.names[*key], writer);
        size_t written = 0;
        if (!writer.write(db->getHandle(), insert, written, error)) {
            error = options.file + ": " + error + "; nothing was imported";
            failed = true;
        } else {
            remake_dependents(*db, table, file.names, dependents, report.notes);
            transaction.commit();
            report.rows = written;
        }
    } catch (const SQLite::Exception& e) {
        error = "database '" + options.db + "': " +
                ((e.getErrorCode() & 0xff) == SQLITE_BUSY
                     ? std::string("locked by another process (a run or another import?), for "
                                   "longer than 5 s; try again when it is done")
                     : std::string(e.what())) +
                "; nothing was imported";
        failed = true;
    }
    if (failed) return fail();
    return true;
}

}  // namespace strata::import
