// What the binder knows about the database: tables and their columns' declared types.
// Filled by the engine's store from SQLite; the binder never opens a database itself.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dsl/types.hpp"

namespace strata {

struct ColumnSchema {
    std::string name;
    std::string declared;  // as SQLite reports it, e.g. "VARCHAR(20)"
    Type type;             // from the declared type
};

struct TableSchema {
    std::string name;
    std::vector<ColumnSchema> columns;
    // Whether the rows have a physical order a query can name (SQLite's rowid, PostgreSQL's
    // ctid): false for a view, whose rows come in the order its query gives them.
    bool ordered = true;
    // A PostgreSQL partitioned table: a ctid is a place within one partition only.
    bool partitioned = false;
    const ColumnSchema* find(const std::string& column) const {
        for (const auto& c : columns) {
            if (c.name == column) return &c;
        }
        return nullptr;
    }
};

struct Schema {
    std::map<std::string, TableSchema> tables;
    // The server's schema (namespace) the tables were read from, PostgreSQL's current_schema();
    // empty when there is none. Queries name tables within it, past any name of their own.
    std::string qualifier;
    const TableSchema* find(const std::string& table) const {
        auto it = tables.find(table);
        return it == tables.end() ? nullptr : &it->second;
    }
};

}  // namespace strata
