#include "warehouse/load/clickhouse_loader.hpp"

#include <sqlite3.h>

#include <bit>
#include <cstring>
#include <future>

#include "dsl/calendar.hpp"
#include "engine/cell_readers.hpp"
#include "engine/store.hpp"
#include "engine/value_pool.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::warehouse {

namespace {

// Rows per INSERT: about 40 MB of RowBinary for the bench's orders.
constexpr size_t kRowsPerInsert = 1000000;

std::optional<std::string> clickhouse_type(Type type) {
    switch (type) {
        case Type::Int:
            return "Int64";
        case Type::Number:
            return "Float64";
        case Type::String:
            return "String";
        case Type::Bool:
            return "UInt8";
        case Type::Date:
            return "Date";
        case Type::DateTime:
            return "DateTime";
        default:
            return std::nullopt;
    }
}

template <typename T>
void append_little_endian(std::string& out, T value) {
    static_assert(std::endian::native == std::endian::little);
    char bytes[sizeof value];
    std::memcpy(bytes, &value, sizeof value);
    out.append(bytes, sizeof value);
}

// The engine's value appended to `out` in RowBinary for a column of `type` (a Nullable one
// unless `key`), or false with the error. Doubles go as their bits, so every one is stored
// exactly; a date as its days since 1970-01-01 (UInt16), a datetime as its Unix time (UInt32).
bool append_cell(const Value& v, Type type, bool key, std::string& out, std::string& error) {
    if (!key) out.push_back(is_null(v) ? '\1' : '\0');
    if (is_null(v)) {
        if (!key) return true;
        error = "a null key";
        return false;
    }
    switch (type) {
        case Type::Bool:
            if (const auto* b = std::get_if<bool>(&v)) {
                out.push_back(*b ? '\1' : '\0');
                return true;
            }
            break;
        case Type::Int:
            if (const auto* i = std::get_if<int64_t>(&v)) {
                append_little_endian(out, *i);
                return true;
            }
            break;
        case Type::Number:
            if (const auto* d = std::get_if<double>(&v)) {
                append_little_endian(out, *d);
                return true;
            }
            break;
        case Type::String:
            if (const auto* s = std::get_if<Str>(&v)) {
                uint64_t length = s->str().size();
                do {  // LEB128
                    out.push_back(static_cast<char>((length & 0x7f) | (length > 0x7f ? 0x80 : 0)));
                    length >>= 7;
                } while (length);
                out += s->str();
                return true;
            }
            break;
        case Type::Date:
            if (const auto* day = std::get_if<Date>(&v)) {
                const int64_t since_1970 = int64_t{day->days} - days_from_civil(1970, 1, 1);
                const CivilDate c = civil_from_days(day->days);
                if (since_1970 < 0 || c.year > 2105) {
                    error = "the date " + std::to_string(c.year) + "-" + std::to_string(c.month) +
                            " is outside ClickHouse's Date range (1970 to 2105)";
                    return false;
                }
                append_little_endian(out, static_cast<uint16_t>(since_1970));
                return true;
            }
            break;
        case Type::DateTime:
            if (const auto* t = std::get_if<DateTime>(&v)) {
                // Kept within the years toDate() covers (DateTime itself ends in February 2106).
                const int64_t end = int64_t{days_from_civil(2106, 1, 1)} * 86400;
                if (t->seconds < 0 || t->seconds >= end) {
                    error = "the datetime " + format_datetime(*t) +
                            " is outside ClickHouse's DateTime range (1970 to 2105)";
                    return false;
                }
                append_little_endian(out, static_cast<uint32_t>(t->seconds));
                return true;
            }
            break;
        default:
            break;
    }
    error = "a value of a type the loader does not write";
    return false;
}

}  // namespace

std::string load_sqlite_into_clickhouse(const std::string& sqlite_path,
                                        const std::vector<TableToLoad>& tables,
                                        const std::vector<ClickHouseUrl>& shards,
                                        const std::string& cluster) {
    StoreError store_error;
    auto db = open_read_only(sqlite_path, store_error);
    if (!db) return store_error.message;
    auto schema = read_schema(*db, store_error);
    if (!schema) return store_error.message;
    if (shards.empty()) return "no shard to load into";
    ValuePool pool;
    ValuePoolScope scope(pool);
    ClickHouseClient initiator(shards[0]);
    for (const TableToLoad& load : tables) {
        const TableSchema* table = schema->find(load.table);
        if (!table) return "no table '" + load.table + "' in " + sqlite_path;
        auto name = quote_clickhouse_identifier(load.table);
        auto local = quote_clickhouse_identifier(load.table + "_local");
        auto key = quote_clickhouse_identifier(load.key_column);
        if (!name || !local || !key) return "a name that cannot be quoted: " + load.table;
        std::string columns;
        std::vector<std::string> names;
        std::vector<CellReader> readers;
        std::vector<Type> types;
        size_t key_index = table->columns.size();
        for (size_t i = 0; i < table->columns.size(); ++i) {
            const ColumnSchema& c = table->columns[i];
            auto quoted = quote_clickhouse_identifier(c.name);
            auto type = clickhouse_type(c.type);
            if (!quoted || !type)
                return "column '" + load.table + "." + c.name + "' cannot be loaded (type " +
                       c.declared + ")";
            const bool is_key = c.name == load.key_column;
            if (is_key) key_index = i;
            columns +=
                (i ? ", " : "") + *quoted + " " + (is_key ? "Int64" : "Nullable(" + *type + ")");
            names.push_back(c.name);
            readers.push_back(reader_for(c.type));
            types.push_back(c.type);
        }
        if (key_index == table->columns.size()) return "no key column '" + load.key_column + "'";
        for (const ClickHouseUrl& shard : shards) {
            ClickHouseClient client(shard);
            auto db_name = quote_clickhouse_identifier(shard.database);
            auto cluster_name = quote_clickhouse_identifier(cluster);
            if (!db_name || !cluster_name)
                return "a database or cluster name that cannot be quoted";
            for (const std::string& ddl :
                 {"CREATE TABLE " + *local + " (" + columns + ") ENGINE = MergeTree ORDER BY " +
                      *key,
                  "CREATE TABLE " + *name + " AS " + *local + " ENGINE = Distributed(" +
                      *cluster_name + ", " + *db_name + ", " + *local + ", " + *key + ")"}) {
                auto done = client.query(ddl);
                if (!done) return done.error().describe();
            }
        }
        sqlite3_stmt* stmt = nullptr;
        std::string select = "SELECT ";
        for (size_t i = 0; i < names.size(); ++i)
            select += (i ? ", \"" : "\"") + names[i] + "\"";
        select += " FROM \"" + load.table + "\"";
        if (sqlite3_prepare_v2(db->getHandle(), select.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
            return sqlite3_errmsg(db->getHandle());
        // Rows go in batches, each INSERT on its way while the next batch is read: memory
        // stays at two batches whatever the table's size, and reading and inserting share the
        // machine's cores.
        std::string rows;  // RowBinary
        size_t rows_in_batch = 0;
        std::future<Outcome<Done>> in_flight;
        auto wait_for_insert = [&]() -> std::string {
            if (!in_flight.valid()) return "";
            auto done = in_flight.get();
            return done ? "" : done.error().describe();
        };
        auto send = [&]() -> std::string {
            std::string problem = wait_for_insert();
            if (!problem.empty() || rows_in_batch == 0) return problem;
            in_flight = std::async(
                std::launch::async, [&initiator, &load, &names, batch = std::move(rows)]() {
                    return initiator.insert_row_binary(load.table, names, batch,
                                                       {{"insert_distributed_sync", "1"}});
                });
            rows = std::string();
            rows_in_batch = 0;
            return "";
        };
        std::string error;
        while (error.empty() && sqlite3_step(stmt) == SQLITE_ROW) {
            sqlite3_value* key_cell = sqlite3_column_value(stmt, static_cast<int>(key_index));
            const Value k = customer_key_of_cell(key_cell);
            if (is_null(k)) continue;
            if (!std::holds_alternative<int64_t>(k)) {
                error = "a key in " + load.table + " that is not an integer";
                break;
            }
            for (size_t i = 0; i < names.size() && error.empty(); ++i) {
                Value v;
                if (i == key_index)
                    v = k;
                else
                    readers[i](sqlite3_column_value(stmt, static_cast<int>(i)), v);
                append_cell(v, i == key_index ? Type::Int : types[i], i == key_index, rows, error);
            }
            if (++rows_in_batch == kRowsPerInsert) {
                std::string problem = send();
                if (!problem.empty()) error = problem;
            }
        }
        sqlite3_finalize(stmt);
        if (!error.empty()) {
            (void)wait_for_insert();
            return load.table + ": " + error;
        }
        std::string problem = send();
        if (problem.empty()) problem = wait_for_insert();
        if (!problem.empty()) return problem;
    }
    return "";
}

}  // namespace strata::warehouse
