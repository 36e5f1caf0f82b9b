#include "warehouse/copy_from_sqlite.hpp"

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <cstdio>

#include "dsl/calendar.hpp"
#include "engine/cell_readers.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::warehouse {

namespace {

// Rows per COPY: a few tens of megabytes of text for the bench's orders.
constexpr size_t kRowsPerCopy = 500000;

const char* native_type(Type type) {
    switch (type) {
        case Type::Int:
            return "bigint";
        case Type::Number:
            return "double precision";
        case Type::Bool:
            return "boolean";
        case Type::Date:
            return "date";
        case Type::DateTime:
            return "timestamp";
        default:
            return "text";
    }
}

std::string date_text(Date d) {
    const CivilDate c = civil_from_days(d.days);
    char buf[32];
    if (c.year >= 1)
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", c.year, c.month, c.day);
    else
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d BC", 1 - c.year, c.month, c.day);
    return buf;
}

// The engine's value as PostgreSQL's text input of the column's native type.
Cell value_text(const Value& v) {
    if (is_null(v)) return std::nullopt;
    if (const auto* b = std::get_if<bool>(&v)) return std::string(*b ? "t" : "f");
    if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
    if (const auto* x = std::get_if<double>(&v)) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", *x);
        return std::string(buf);
    }
    if (const auto* s = std::get_if<Str>(&v)) return s->str();
    if (const auto* d = std::get_if<Date>(&v)) return date_text(*d);
    if (const auto* t = std::get_if<DateTime>(&v)) return format_datetime(*t);
    return std::nullopt;
}

WarehouseError sqlite_error(const std::string& message) {
    WarehouseError e;
    e.message = "SQLite: " + message;
    return e;
}

}  // namespace

Outcome<std::int64_t> copy_sqlite_tables(const std::string& sqlite_path,
                                         const std::vector<std::string>& tables,
                                         PostgresConnection& connection) {
    ValuePool pool;
    ValuePoolScope scope(pool);
    std::int64_t copied = 0;
    try {
        SQLite::Database db(sqlite_path, SQLite::OPEN_READONLY);
        StoreError store_error;
        auto schema = read_schema(db, store_error);
        if (!schema) return sqlite_error(store_error.message);
        for (const auto& name : tables) {
            const TableSchema* table = schema->find(name);
            if (!table) return sqlite_error("no table " + name + " in " + sqlite_path);
            auto quoted = quote_postgres_identifier(name);
            if (!quoted) return sqlite_error(identifier_problem(name));
            std::string create =
                "DROP TABLE IF EXISTS " + *quoted + "; CREATE TABLE " + *quoted + " (";
            std::vector<CellReader> readers;
            std::string select = "SELECT ";
            for (size_t i = 0; i < table->columns.size(); ++i) {
                const auto& column = table->columns[i];
                auto q = quote_postgres_identifier(column.name);
                if (!q) return sqlite_error(identifier_problem(column.name));
                create += (i ? ", " : "") + *q + " " + native_type(column.type);
                select += (i ? ", " : "") + std::string("\"") + column.name + "\"";
                readers.push_back(column.type == Type::Any ? read_text_cell
                                                           : reader_for(column.type));
            }
            auto created = connection.exec_script(create + ")");
            if (!created) return created.error();
            auto transaction = PostgresTransaction::begin(connection);
            if (!transaction) return transaction.error();
            const size_t width = table->columns.size();
            std::string copy = "COPY " + *quoted + " FROM STDIN";
            std::string data;
            size_t rows_in_batch = 0;
            auto flush = [&]() -> std::optional<WarehouseError> {
                if (rows_in_batch == 0) return std::nullopt;
                auto inserted = connection.copy_in(copy, data);
                data.clear();
                rows_in_batch = 0;
                if (!inserted) return inserted.error();
                return std::nullopt;
            };
            sqlite3_stmt* rows = nullptr;
            const std::string read = select + " FROM \"" + name + "\"";
            if (sqlite3_prepare_v2(db.getHandle(), read.c_str(), -1, &rows, nullptr) != SQLITE_OK)
                return sqlite_error(sqlite3_errmsg(db.getHandle()));
            std::optional<WarehouseError> failed;
            while (!failed && sqlite3_step(rows) == SQLITE_ROW) {
                for (size_t c = 0; c < width; ++c) {
                    Value v;
                    readers[c](sqlite3_column_value(rows, static_cast<int>(c)), v);
                    if (c) data += '\t';
                    data += postgres_copy_field(value_text(v));
                }
                data += '\n';
                ++copied;
                if (++rows_in_batch == kRowsPerCopy) failed = flush();
            }
            sqlite3_finalize(rows);
            if (failed) return *failed;
            if (auto e = flush()) return *e;
            auto committed = transaction.value().commit();
            if (!committed) return committed.error();
        }
    } catch (const std::exception& e) {
        return sqlite_error(e.what());
    }
    return copied;
}

}  // namespace strata::warehouse
