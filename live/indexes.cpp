#include "live/indexes.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>

#include "engine/store.hpp"

namespace strata::live {

namespace {

// Whether SQLite answers `column = ?` on `table` by a search (an index, the INTEGER PRIMARY
// KEY or a WITHOUT ROWID table's key) rather than a scan.
bool searched(SQLite::Database& data, const std::string& table, const std::string& column) {
    SQLite::Statement plan(data, "EXPLAIN QUERY PLAN SELECT 1 FROM " + quote_identifier(table) +
                                     " WHERE " + quote_identifier(column) + " = ?");
    bool search = false;
    while (plan.executeStep()) {
        const std::string detail = plan.getColumn(3).getString();
        if (detail.rfind("SEARCH", 0) == 0) search = true;
    }
    return search;
}

// An index name from a table and column: letters, digits and '_' kept, anything else '_'.
std::string index_name(const std::string& table, const std::string& column) {
    std::string name = "strata_eval_" + table + "_" + column;
    for (char& c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || c == '_' || u >= 0x80)) c = '_';
    }
    return name;
}

// An index name no object of the database has, nor one of `chosen`: index_name(), or that
// with _2, _3, … after it (a table "visit_log" with a column "customer_id" and a table "visit"
// with a column "log_customer_id" give the same name).
std::string free_index_name(SQLite::Database& data, const std::string& table,
                            const std::string& column, const std::vector<LookupIndex>& chosen) {
    const std::string base = index_name(table, column);
    SQLite::Statement taken(data, "SELECT 1 FROM sqlite_master WHERE name = ? COLLATE NOCASE");
    for (int n = 1;; ++n) {
        const std::string name = n == 1 ? base : base + "_" + std::to_string(n);
        if (std::any_of(chosen.begin(), chosen.end(),
                        [&](const LookupIndex& l) { return same_sql_name(name, l.name); }))
            continue;
        taken.reset();
        taken.bind(1, name);
        if (!taken.executeStep()) return name;
    }
}

}  // namespace

std::vector<LookupIndex> lookup_indexes(SQLite::Database& data, const CompiledRules& rules) {
    // EXPLAIN QUERY PLAN plans with the schema the connection has cached, and running it
    // does not check that schema: on a connection open for a while, a read of the schema
    // first brings in indexes dropped or made since.
    data.execAndGet("SELECT count(*) FROM sqlite_schema");
    std::vector<LookupIndex> out;
    auto add = [&](const std::string& table, const std::string& column) {
        if (std::any_of(out.begin(), out.end(), [&](const LookupIndex& l) {
                return l.table == table && l.column == column;
            }))
            return;
        LookupIndex l;
        l.table = table;
        l.column = column;
        l.present = searched(data, table, column);
        SQLite::Statement kind(data,
                               "SELECT type = 'view' FROM sqlite_master WHERE name = ? COLLATE "
                               "NOCASE AND type IN ('table', 'view')");
        kind.bind(1, table);
        l.view = kind.executeStep() && kind.getColumn(0).getInt() == 1;
        if (!l.present && !l.view) {
            l.name = free_index_name(data, table, column, out);
            l.create_sql = "CREATE INDEX IF NOT EXISTS " + quote_identifier(l.name) + " ON " +
                           quote_identifier(table) + " (" + quote_identifier(column) + ")";
        }
        out.push_back(std::move(l));
    };
    add(rules.rules.customers_table, rules.rules.key);
    for (const auto& fact : rules.program.facts)
        add(fact.table, fact.key);
    return out;
}

bool create_lookup_indexes(const std::string& path, const std::vector<LookupIndex>& lookups,
                           std::vector<std::string>& created, std::string& error, bool& read_only,
                           int wait_ms) {
    read_only = false;
    if (std::all_of(lookups.begin(), lookups.end(), [](const auto& l) { return l.present; }))
        return true;
    // A view's lookup needs an index under it, which only its author can say how to make.
    const bool view_unsearched = std::any_of(lookups.begin(), lookups.end(),
                                             [](const auto& l) { return !l.present && l.view; });
    // Only views are missing theirs: nothing to write, so no write lock to wait for.
    if (std::none_of(lookups.begin(), lookups.end(),
                     [](const auto& l) { return !l.present && !l.view; }))
        return !view_unsearched;
    try {
        SQLite::Database db(path, SQLite::OPEN_READWRITE);
        db.setBusyTimeout(wait_ms);
        refuse_double_quoted_strings(db);  // a column gone since is an error, not a constant
        // Under the write lock, a lookup another process made searchable since the check is
        // left alone, and not said to be created here.
        SQLite::Transaction write(db, SQLite::TransactionBehavior::IMMEDIATE);
        std::vector<std::string> made;
        for (const LookupIndex& l : lookups) {
            if (l.present || l.view || searched(db, l.table, l.column)) continue;
            db.exec(l.create_sql);
            made.push_back(l.create_sql);
        }
        write.commit();
        created.insert(created.end(), made.begin(), made.end());
        return !view_unsearched;
    } catch (const SQLite::Exception& e) {
        const int code = e.getErrorCode();
        read_only = code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM ||
                    code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_AUTH;
        error = e.what();
        return false;
    }
}

}  // namespace strata::live
