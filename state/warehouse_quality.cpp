#include "state/warehouse_quality.hpp"

#include "engine/cell_readers.hpp"
#include "state/warehouse_report.hpp"

namespace strata::state {

namespace {

using warehouse::ResultTable;

// The first 40 bytes of a sample, as the embedded run keeps it (ConversionLog).
std::string sample_text(const warehouse::Cell& cell) {
    return cell ? cell->substr(0, 40) : std::string();
}

// One table as the run reads it: its rows with the key, and each column raw and as read.
struct TableRead {
    WarehouseSql sql;
    std::string table;  // quoted
    std::string key;    // the key as read (NULL for no key)
    std::string order;  // the table's row order, for samples
    struct Cell {
        std::string name;
        Type type;
        std::string raw, read;
    };
    std::vector<Cell> cells;
    std::vector<std::pair<std::string, std::string>> extra;  // further columns: value, name
    std::vector<std::string> columns_read;  // the names of the table's columns read above
    // PostgreSQL: a query of distinct keys (placed_k) that gives the column j, whether the
    // row's key is one of them, by a join. (`k IN (SELECT …)` beside the columns is a plan
    // that scans the keys again for every row once they outgrow work_mem: hours at 1M.)
    std::string joined_keys;
    // The same for every customer's key (customer_k), giving the column lo; empty for none.
    std::string customer_keys;

    // FROM clause over the rows: k, rid, r<i>, c<i>, and `extra`. The values are computed
    // under names no column read has, and given these names one SELECT out: ClickHouse
    // resolves a name to an alias of the same SELECT before a column of the table, so a column
    // `t` read beside `... AS t` would read the alias.
    std::string rows() const {
        std::vector<std::pair<std::string, std::string>> values = {{key, "k"}, {order, "rid"}};
        for (size_t i = 0; i < cells.size(); ++i) {
            values.emplace_back(cells[i].raw, "r" + std::to_string(i));
            values.emplace_back(cells[i].read, "c" + std::to_string(i));
        }
        values.insert(values.end(), extra.begin(), extra.end());
        const std::string prefix = sql::unused_prefix(columns_read, "strata_q_");
        std::string inner, outer;
        for (const auto& [value, name] : values) {
            inner += (inner.empty() ? "" : ", ") + value + " AS " + prefix + name;
            outer += (outer.empty() ? "" : ", ") + prefix + name + " AS " + name;
        }
        if (!joined_keys.empty()) {
            std::string from = "(SELECT " + outer + ", (p.placed_k IS NOT NULL) AS j";
            if (!customer_keys.empty()) from += ", (a.customer_k IS NOT NULL) AS lo";
            from += " FROM (SELECT " + inner + " FROM " + table + ") i LEFT JOIN (" + joined_keys +
                    ") p ON p.placed_k = i." + prefix + "k";
            if (!customer_keys.empty())
                from += " LEFT JOIN (" + customer_keys + ") a ON a.customer_k = i." + prefix + "k";
            return from + ") q";
        }
        return "(SELECT " + outer + " FROM (SELECT " + inner + " FROM " + table + ") i) q";
    }
    std::string count_if(const std::string& condition) const {
        return sql == WarehouseSql::Postgres ? "count(*) FILTER (WHERE " + condition + ")"
                                             : "countIf(ifNull(" + condition + ", 0))";
    }
    std::string bad(size_t i) const {
        const std::string n = std::to_string(i);
        return "r" + n + " IS NOT NULL AND c" + n + " IS NULL";
    }
    // A cell as a sample's text; an infinite float as SQLite writes it (Inf, -Inf).
    std::string text(const std::string& x) const {
        if (sql == WarehouseSql::Postgres)
            return "left(CASE WHEN pg_typeof(" + x +
                   ") IN ('double precision'::regtype, 'real'::regtype) THEN (CASE CAST(" + x +
                   " AS text) WHEN 'Infinity' THEN 'Inf' WHEN '-Infinity' THEN '-Inf' ELSE CAST(" +
                   x + " AS text) END) ELSE CAST(" + x + " AS text) END, 40)";
        return "multiIf(toTypeName(" + x + ") NOT LIKE '%Float%', toString(" + x + "), toString(" +
               x + ") = 'inf', 'Inf', toString(" + x + ") = '-inf', '-Inf', toString(" + x + "))";
    }
};

// The sample of each column with a count, the first bad cell among the rows `where` takes.
bool add_unconvertible(const TableRead& t, const std::string& table_name, const std::string& where,
                       const warehouse::Row& counts, size_t first, const WarehouseQuery& query,
                       DataQuality& dq) {
    for (size_t i = 0; i < t.cells.size(); ++i) {
        const size_t n = static_cast<size_t>(cell_integer(counts.at(first + i)));
        if (n == 0) continue;
        ResultTable sample;
        if (!query("SELECT " + t.text("r" + std::to_string(i)) + " FROM " + t.rows() + " WHERE " +
                       where + " AND " + t.bad(i) + " ORDER BY rid" +
                       (t.sql == WarehouseSql::ClickHouse ? ", " + t.text("r" + std::to_string(i))
                                                          : std::string()) +
                       " LIMIT 1",
                   sample))
            return false;
        std::string text = sample.rows.empty() ? std::string() : sample_text(sample.rows[0].at(0));
        bool merged = false;
        for (auto& u : dq.unconvertible) {
            if (u.table == table_name && u.column == t.cells[i].name && u.type == t.cells[i].type) {
                u.count += n;
                merged = true;
            }
        }
        if (!merged)
            dq.unconvertible.push_back(
                {table_name, t.cells[i].name, t.cells[i].type, n, std::move(text)});
    }
    return true;
}

}  // namespace

bool count_data_quality(const CompiledRules& rules, Date as_of, const sql::Dialect& d,
                        const std::string& placed, size_t customers, WarehouseSql sql,
                        const WarehouseQuery& query, DataQuality& dq) {
    const bool pg = sql == WarehouseSql::Postgres;
    const RuleFile& rf = rules.rules;
    const bound::Program& program = rules.program;
    auto name = [&d](const std::string& n) { return d.identifier(n).value_or("\"\""); };
    // A column of `table` as the run's query names it: qualified on PostgreSQL.
    auto cell = [&](const std::string& table, const std::string& column) {
        return pg ? name(table) + "." + name(column) : name(column);
    };

    // The customers: keys left out, repeated keys, cells that do not convert.
    // Samples in the table's scan order on PostgreSQL, in key order on ClickHouse.
    auto order = [&](const std::string& table, const std::string& key) {
        return pg ? d.scan_order(table, name(table)).value_or(name(key)) : name(key);
    };
    TableRead c{
        sql, name(rf.customers_table), "", order(rf.customers_table, rf.key), {}, {}, {}, {}, {}};
    c.columns_read = {rf.key};
    c.key = d.read_column_key(rf.customers_table, rf.key, cell(rf.customers_table, rf.key));
    for (const bound::ColumnUse& use : program.columns) {
        if (use.source != bound::ColumnSource::Table) continue;
        const std::string raw = cell(rf.customers_table, use.name);
        c.columns_read.push_back(use.name);
        c.cells.push_back(
            {use.name, use.type, raw,
             d.read_column(rf.customers_table, use.name, raw, use.type).value_or("NULL")});
    }
    std::string counts = "SELECT " + c.count_if("k IS NULL") + ", count(k), " +
                         (pg ? "count(DISTINCT k)" : "uniqExact(k)");
    for (size_t i = 0; i < c.cells.size(); ++i)
        counts += ", " + c.count_if("k IS NOT NULL AND " + c.bad(i));
    ResultTable table;
    if (!query(counts + " FROM " + c.rows(), table)) return false;
    const warehouse::Row& row = table.rows.at(0);
    dq.null_keys = static_cast<size_t>(cell_integer(row.at(0)));
    const auto keyed = static_cast<size_t>(cell_integer(row.at(1)));
    const auto distinct = static_cast<size_t>(cell_integer(row.at(2)));
    dq.duplicate_keys = keyed - distinct;
    // Every customer with a key is placed or left out by source.since.
    dq.customers_after_as_of = distinct > customers ? distinct - customers : 0;
    if (dq.duplicate_keys > 0 && pg) {
        ResultTable samples;
        if (!query("SELECT CAST(k AS text) FROM (SELECT k, rid, row_number() OVER (PARTITION BY k "
                   "ORDER BY rid) AS n FROM " +
                       c.rows() + " WHERE k IS NOT NULL) d WHERE n > 1 ORDER BY rid LIMIT 5",
                   samples))
            return false;
        for (const auto& s : samples.rows)
            dq.duplicate_samples.push_back(s.at(0).value_or(""));
    }
    if (!add_unconvertible(c, rf.customers_table, "k IS NOT NULL", row, 3, query, dq)) return false;

    // Each fact: its rows of no placed customer, and of the others, unknown and later times and
    // cells that do not convert.
    const std::string placed_keys = " GLOBAL IN (SELECT customer_key FROM " + placed + ")";
    // When source.since left customers out, their rows are counted apart from the orphans:
    // rows whose key is a customer's (any, lo), but no placed one's.
    const bool left_out = dq.customers_after_as_of > 0;
    const std::string customer_keys =
        pg ? "SELECT DISTINCT " + d.key_text("ck") + " AS customer_k FROM (SELECT " + c.key +
                 " AS ck FROM " + c.table + ") ak WHERE ck IS NOT NULL"
           : " GLOBAL IN (SELECT " + c.key + " FROM " + c.table + ")";
    for (const bound::FactUse& f : program.facts) {
        TableRead t{sql, name(f.table), "", order(f.table, f.key), {}, {}, {}, {}, {}};
        const std::string key = d.read_column_key(f.table, f.key, cell(f.table, f.key));
        t.key = pg ? d.key_text(key) : key;
        for (const bound::ColumnUse& use : f.columns) {
            const std::string raw = cell(f.table, use.name);
            t.cells.push_back({use.name, use.type, raw,
                               d.read_column(f.table, use.name, raw, use.type).value_or("NULL")});
        }
        if (pg) {
            t.joined_keys =
                "SELECT DISTINCT " + d.key_text("customer_key") + " AS placed_k FROM " + placed;
            if (left_out) t.customer_keys = customer_keys;
        } else {
            t.extra = {{"(" + t.key + placed_keys + ")", "j"}};
            if (left_out) t.extra.emplace_back("(" + t.key + customer_keys + ")", "lo");
        }
        t.columns_read = {f.key};
        for (const bound::ColumnUse& use : f.columns)
            t.columns_read.push_back(use.name);
        if (!f.time.empty()) {
            t.extra.emplace_back(d.read_column_day(f.table, f.time, cell(f.table, f.time)), "t");
            t.columns_read.push_back(f.time);
        }
        const std::string joined = pg ? "j" : "ifNull(j, 0)";
        std::string fact_counts = "SELECT count(*), " + t.count_if(joined);
        const std::string day = d.integer_literal(as_of.days);
        fact_counts += f.time.empty() ? ", 0, 0"
                                      : ", " + t.count_if(joined + " AND t IS NULL") + ", " +
                                            t.count_if(joined + " AND t > " + day);
        for (size_t i = 0; i < t.cells.size(); ++i)
            fact_counts += ", " + t.count_if(joined + " AND " + t.bad(i));
        if (left_out)
            fact_counts +=
                ", " + t.count_if(pg ? "NOT j AND lo" : "ifNull(j, 0) = 0 AND ifNull(lo, 0)");
        if (!query(fact_counts + " FROM " + t.rows(), table)) return false;
        const warehouse::Row& fr = table.rows.at(0);
        const int64_t theirs = left_out ? cell_integer(fr.at(4 + t.cells.size())) : 0;
        if (theirs > 0) dq.left_out_fact_rows[f.name] += static_cast<size_t>(theirs);
        const int64_t orphans = cell_integer(fr.at(0)) - cell_integer(fr.at(1)) - theirs;
        if (orphans > 0) dq.orphan_fact_rows[f.name] += static_cast<size_t>(orphans);
        if (const int64_t n = cell_integer(fr.at(2)); n > 0)
            dq.unknown_time_fact_rows[f.name] += static_cast<size_t>(n);
        if (const int64_t n = cell_integer(fr.at(3)); n > 0)
            dq.future_fact_rows[f.name] += static_cast<size_t>(n);
        if (!add_unconvertible(t, f.table, joined, fr, 4, query, dq)) return false;
    }
    sort_unconvertible(dq.unconvertible);
    return true;
}

}  // namespace strata::state
