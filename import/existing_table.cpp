#include "import/existing_table.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>

#include "dsl/types.hpp"
#include "engine/store.hpp"
#include "import/names.hpp"

namespace strata::import {

namespace {

ColumnType column_type_of(Type type) {
    switch (type) {
        case Type::Bool:
            return ColumnType::Boolean;
        case Type::Int:
            return ColumnType::Integer;
        case Type::Number:
            return ColumnType::Number;
        case Type::Date:
            return ColumnType::Date;
        case Type::DateTime:
            return ColumnType::DateTime;
        default:
            return ColumnType::Text;
    }
}

// SQLite makes a trigger whatever columns its body names, and finds out only when a change
// fires it. Preparing (not running) a statement of each kind on the table compiles its
// triggers: one that names a column gone (old.cat) fails here, is dropped, and the exception
// says why. REQUIRES: `trigger` was just made on `table`, whose columns are `columns`.
void check_trigger(SQLite::Database& db, const std::string& table,
                   const std::vector<std::string>& columns, const std::string& trigger) {
    const std::string quoted = quote_identifier(table);
    std::string assignments;
    for (const std::string& c : columns)
        assignments +=
            (assignments.empty() ? "" : ", ") + quote_identifier(c) + " = " + quote_identifier(c);
    try {
        for (const std::string& sql :
             {"DELETE FROM " + quoted, "INSERT INTO " + quoted + " DEFAULT VALUES",
              "UPDATE " + quoted + " SET " + assignments})
            SQLite::Statement probe(db, sql);
    } catch (const SQLite::Exception&) {
        db.exec("DROP TRIGGER " + quote_identifier(trigger));
        throw;
    }
}

}  // namespace

std::string listed(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

std::vector<ExistingColumn> existing_columns(SQLite::Database& db, const std::string& table) {
    std::vector<ExistingColumn> out;
    SQLite::Statement strict(db, "SELECT strict FROM pragma_table_list(?)");
    strict.bind(1, table);
    const bool is_strict = strict.executeStep() && strict.getColumn(0).getInt() == 1;
    SQLite::Statement info(db, "SELECT name, type FROM pragma_table_info(?)");
    info.bind(1, table);
    while (info.executeStep()) {
        const std::string declared = info.getColumn(1).getString();
        out.push_back({info.getColumn(0).getString(), column_type_of(type_from_declared(declared)),
                       declared, !is_strict && converts_numeric_texts(declared)});
    }
    return out;
}

void read_existing_keys(SQLite::Database& db, const std::string& table, const std::string& column,
                        RowWriter& writer) {
    SQLite::Statement keys(
        db, "SELECT " + quote_identifier(column) + " FROM " + quote_identifier(table));
    while (keys.executeStep()) {
        const SQLite::Column k = keys.getColumn(0);
        writer.add_existing_key(k.isFloat() ? real_text(k.getDouble()) : k.getString());
    }
}

bool match_append_columns(const ImportOptions& options, ParsedFile& file,
                          const std::vector<ExistingColumn>& existing,
                          std::vector<std::optional<ColumnType>>& forced,
                          std::vector<std::string>& numeric_affinity, std::string& error) {
    std::vector<std::string> table_names;
    for (const auto& c : existing)
        table_names.push_back(c.name);
    for (size_t i = 0; i < file.headers.size(); ++i) {
        // By the header exactly as written, then by the name strata gives the header, or
        // by the header as SQLite compares names: SQLite folds only ASCII letters, so a
        // column "Имя" is not the name имя, but is the header Имя (and wins over a column
        // имя beside it).
        auto it = std::find_if(existing.begin(), existing.end(),
                               [&](const auto& c) { return c.name == trim_cell(file.headers[i]); });
        if (it == existing.end())
            it = std::find_if(existing.begin(), existing.end(),
                              [&](const auto& c) { return same_sql_name(c.name, file.names[i]); });
        if (it == existing.end()) {
            it = std::find_if(existing.begin(), existing.end(), [&](const auto& c) {
                return same_sql_name(c.name, trim_cell(file.headers[i]));
            });
            // Or by a name that maps to the same one: a table an earlier strata imported,
            // when it lower-cased fewer letters (ŁódŹ_miasto for łódź_miasto).
            if (it == existing.end())
                it = std::find_if(existing.begin(), existing.end(), [&](const auto& c) {
                    return column_name_for(c.name, i + 1, options.ascii_names) == file.names[i];
                });
        }
        if (it == existing.end()) {
            error = "column '" + file.names[i] + "' (header '" + file.headers[i] + "' of " +
                    options.file + ") is not in table '" + options.table +
                    "' (its columns: " + listed(table_names) +
                    "); --append adds rows to the columns it has";
            return false;
        }
        file.names[i] = it->name;
        forced[i] = it->type;
        if (it->type == ColumnType::Text && it->converts_numeric_texts)
            numeric_affinity[i] = it->declared;
    }
    return true;
}

Dependents dependents_of(SQLite::Database& db, const std::string& table) {
    Dependents out;
    SQLite::Statement q(db,
                        "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? "
                        "COLLATE NOCASE AND type IN ('index', 'trigger') AND sql IS NOT "
                        "NULL AND name NOT LIKE 'strata\\_watch\\_%' ESCAPE '\\' "
                        "ORDER BY type, name");
    q.bind(1, table);
    while (q.executeStep())
        out.indexes_and_triggers.emplace_back(
            q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString());
    SQLite::Statement v(db, "SELECT name FROM sqlite_schema WHERE type = 'view'");
    while (v.executeStep())
        out.views.push_back(v.getColumn(0).getString());
    return out;
}

void remake_dependents(SQLite::Database& db, const std::string& table,
                       const std::vector<std::string>& columns, const Dependents& dependents,
                       std::vector<std::string>& notes) {
    for (const auto& [type, name, sql] : dependents.indexes_and_triggers) {
        try {
            db.exec(sql);  // one statement: it fails whole, the import goes on
            if (type == "trigger") check_trigger(db, table, columns, name);
        } catch (const SQLite::Exception& e) {
            notes.push_back(type + " '" + name +
                            "' of the old table could not be made again on the new one (" +
                            e.what() + "); it is dropped");
        }
    }
    for (const std::string& view : dependents.views) {
        try {
            SQLite::Statement probe(db, "SELECT * FROM " + quote_identifier(view) + " LIMIT 0");
        } catch (const SQLite::Exception& e) {
            notes.push_back("view '" + view + "' no longer reads (" + e.what() +
                            "): change it or the file");
        }
    }
}

}  // namespace strata::import
