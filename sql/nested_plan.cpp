// The nested plan, for dialects without table CTEs and window functions (ClickHouse 18.16):
// the same steps as the CTE plan of compiler.cpp, each written as a subquery of the next.
//   customers   key k, each cell read as its type (c<slot>), since applied
//   aggregates  one ANY LEFT JOIN per SELECT (USING k) with each aggregate's rows grouped by
//               key in the SELECT that reads its fact's table, each cell written where it is
//               used (GroupedRows): a Distributed table groups on its shards, and only one
//               row per customer and aggregate comes back; join_use_nulls = 1 (set at the end
//               of the query) so that a customer without rows gets NULL, then 0 for counts
//               and sums. (cv groups its periods from a subquery of the fact's rows.)
//   lets, population functions, conditions, placement: columns added step by step
// A population rank sorts the whole base once into an array of row tuples (NULLs last),
// ARRAY JOINs it back, and takes the number of strictly smaller values as the position minus
// the row's occurrence among equal values (arrayEnumerateUniq): ties always share a rank.
// Exact sums: integers through Decimal128 (a total beyond 64 bits is NULL); numbers split
// into integer parts and 9-place fraction units as the CTE plan does. Totals the SQL cannot
// reproduce exactly stop the query with throwIf rather than give another number.
#include <algorithm>

#include "sql/lowering.hpp"

namespace strata::sql {

namespace {

// `value` where `ok` holds; the query stops (throwIf) on a row where it does not. Both are
// evaluated on every row, as ClickHouse's if() does.
std::string guarded(const std::string& ok, const std::string& value) {
    return "if((" + ok + ") AND throwIf(NOT (" + ok + ")) = 0, " + value + ", NULL)";
}

}  // namespace

void Lowering::nested_rank(const std::string& x, const std::string& name, bool descending,
                           int64_t tiles) {
    size_t xi = 0;
    std::string tuple;
    for (size_t i = 0; i < columns_.size(); ++i) {
        tuple += (i ? ", " : "") + columns_[i];
        if (columns_[i] == x) xi = i + 1;
    }
    const std::string xe = "tupleElement(t, " + std::to_string(xi) + ")";
    // Sorted where the rows are gathered (one SELECT less to analyse again above).
    const std::string rows = "groupArray(tuple(" + tuple + "))";
    const std::string sorted =
        descending ? "arrayReverseSort(t -> (isNotNull(" + xe + "), " + xe + "), " + rows + ")"
                   : "arraySort(t -> (isNull(" + xe + "), " + xe + "), " + rows + ")";
    std::string sql = "SELECT ";
    for (size_t i = 0; i < columns_.size(); ++i)
        sql += "tupleElement(r, " + std::to_string(i + 1) + ") AS " + columns_[i] + ", ";
    const std::string below = "toInt64(rpos - rdup)";
    const std::string total = "toInt64(if(rn = 0, 1, rn))";
    const std::string rank =
        tiles > 0 ? "1 + intDiv(" + d_.integer_literal(tiles) + " * " + below + ", " + total + ")"
                  : "toFloat64(" + below + ") / " + total;
    sql += "if(isNull(tupleElement(r, " + std::to_string(xi) + ")), NULL, " + rank + ") AS " +
           name + " FROM (SELECT " + sorted + " AS rs, arrayCount(t -> isNotNull(" + xe +
           "), rs) AS rn FROM " + current_ +
           ") ARRAY JOIN rs AS r, arrayEnumerate(rs) AS rpos, arrayEnumerateUniq(arrayMap(t -> " +
           xe + ", rs)) AS rdup";
    columns_.push_back(name);
    add_step(sql);
}

void Lowering::nested_population(const bound::Expr& e, const bound::Call& c) {
    const std::string p = "p" + std::to_string(++counter_);
    const size_t arity = c.fn == bound::Fn::Rfm ? 3 : 1;
    std::vector<std::pair<std::string, std::string>> inputs;
    for (size_t k = 0; k < arity; ++k) {
        std::string input = expr(*c.args[k], -1);
        // -0 and 0 are one value to the engine's ranks, as to SQLite's and PostgreSQL's, but
        // ClickHouse tells them apart where it counts equal values (arrayEnumerateUniq, and the
        // cut points' distinct values by their bytes): adding 0 makes a -0 into 0.
        if (c.args[k]->type == Type::Number) input = "(" + input + " + toFloat64(0))";
        inputs.emplace_back(p + "_x" + std::to_string(k), input);
    }
    add_columns(inputs);
    auto x = [&](size_t k) { return p + "_x" + std::to_string(k); };
    switch (c.fn) {
        case bound::Fn::Ntile:
            nested_rank(x(0), p, false, c.params.n);
            break;
        case bound::Fn::PercentRank:
            nested_rank(x(0), p, false, 0);
            break;
        case bound::Fn::Rfm: {
            const int64_t bins = c.params.n;
            nested_rank(x(0), p + "_t0", is_numeric(c.args[0]->type), bins);
            nested_rank(x(1), p + "_t1", false, bins);
            nested_rank(x(2), p + "_t2", false, bins);
            auto score = [&](int k) {
                const std::string t = p + "_t" + std::to_string(k);
                return c.params.best_low ? "(" + d_.integer_literal(bins + 1) + " - " + t + ")" : t;
            };
            const std::string sep = bins > 9 ? " || '-' || " : " || ";
            add_columns({{p + "_r", score(0)},
                         {p + "_f", score(1)},
                         {p + "_m", score(2)},
                         {p + "_code", "(" + d_.int_text(score(0)) + sep + d_.int_text(score(1)) +
                                           sep + d_.int_text(score(2)) + ")"}});
            break;
        }
        default:
            nested_abc(c, x(0), p);
            break;
    }
    population_[&e] = p;
}

std::string Lowering::grouped(const GroupedRows& rows,
                              const std::vector<std::pair<std::string, std::string>>& aggregates,
                              const std::string& also) const {
    const std::string& p = rows.prefix;
    std::string inner, outer, keys;
    auto add = [&](const std::string& name, const std::string& e) {
        const std::string sep = inner.empty() ? "SELECT " : ", ";
        inner += sep + (e == p + name ? e : e + " AS " + p + name);
        outer += sep + (p.empty() ? name : p + name + " AS " + name);
    };
    for (const auto& [name, e] : rows.by) {
        add(name, e);
        keys += (keys.empty() ? "" : ", ") + p + name;
    }
    for (const auto& [name, e] : aggregates)
        add(name, e);
    inner += " FROM " + rows.from + " WHERE " +
             (also.empty() ? rows.where : "(" + rows.where + ") AND " + also) + " GROUP BY " + keys;
    return p.empty() ? inner : outer + " FROM (" + inner + ")";
}

Lowering::GroupedRows Lowering::fact_grouping(const bound::Aggregate& a) {
    const FactCells& f = fact_cells_.at(static_cast<size_t>(a.fact));
    inline_cells_ = &f;
    std::string where = f.day.empty() ? "1" : f.day + " <= " + d_.integer_literal(as_of_.days);
    if (a.where) where = d_.logic_and("(" + where + ")", expr(*a.where, a.fact));
    GroupedRows rows;
    rows.x = a.value ? expr(*a.value, a.fact) : "NULL";
    inline_cells_ = nullptr;
    rows.from = f.table;
    rows.by = {{"k", f.key}};
    rows.where = d_.is_true(where);
    rows.prefix = f.prefix;
    return rows;
}

std::string Lowering::nested_aggregate(const bound::Aggregate& a, const std::string& fact_rows) {
    if (a.fn == bound::AggFn::Cv) return nested_cv(a, fact_rows);
    const GroupedRows rows = fact_grouping(a);
    auto one = [&](const std::string& v) { return grouped(rows, {{"v", v}}); };
    switch (a.fn) {
        case bound::AggFn::Count:
            return one(a.value ? "toInt64(count(" + rows.x + "))" : "toInt64(count())");
        case bound::AggFn::CountDistinct:
            return one("toInt64(uniqExact(" + rows.x + "))");
        case bound::AggFn::Min:
            return one("min(" + rows.x + ")");
        case bound::AggFn::Max:
            return one("max(" + rows.x + ")");
        default:
            break;
    }
    return nested_total(rows, a.value ? a.value->type : Type::Null, a.fn == bound::AggFn::Avg);
}

// Each total in one SELECT over the grouped sums: its steps are aliases of that SELECT, which
// ClickHouse substitutes where they are used (a few hundred characters each, used a few times),
// instead of one SELECT each, which ClickHouse would analyse again for every step above.
std::string Lowering::nested_total(const GroupedRows& rows, Type vt, bool avg) {
    std::string by;
    for (const auto& column : rows.by)
        by += (by.empty() ? "" : ", ") + column.first;
    const std::string& x = rows.x;
    if (vt == Type::Int) {
        const std::string fits = "s >= -9223372036854775808 AND s <= 9223372036854775807";
        const std::string sums = grouped(
            rows, {{"s", "sum(toDecimal128(" + x + ", 0))"}, {"n", "toInt64(count(" + x + "))"}});
        const std::string total = "if(n = 0 OR NOT (" + fits + "), NULL, toInt64(if(" + fits +
                                  ", s, toDecimal128(0, 0))))";
        // A sum of no values is 0, one beyond 64 bits null; a customer without rows is no
        // group here (0 too, by the marker m of the join).
        if (!avg)
            return "SELECT " + by + ", if(n = 0, toInt64(0), " + total + ") AS v, 1 AS m FROM (" +
                   sums + ")";
        return "SELECT " + by + ", " + total + " AS tot, if(n = 0 OR isNull(tot), NULL, " +
               guarded("ifNull(abs(tot) <= 9007199 AND n <= 9007199, 1)",
                       "toFloat64(tot) / toFloat64(n)") +
               ") AS v FROM (" + sums + ")";
    }
    // Numbers: integer parts i and fraction units u summed apart (engine/exact_sum.hpp), over
    // the rows with a value.
    const std::string i = guarded("abs(" + x + ") < 9223372036854775808.0", "toInt64(" + x + ")");
    const std::string sums =
        grouped(rows,
                {{"sd", "sum(toDecimal128(" + i + ", 0))"},
                 {"sf", "sum(" + d_.fraction_units("(" + x + " - toFloat64(" + i + "))") + ")"},
                 {"n", "toInt64(count(" + x + "))"}},
                "isNotNull(" + x + ")");
    // The integer part si and the fraction units: a0 + b0 / 10^9 with b0 of a0's sign (a, b).
    const std::string parts =
        "toInt64(if(abs(sd) < 4611686018427387904, sd, toDecimal128(0, 0))) AS si, "
        "abs(sd) < 4611686018427387904 AS si_ok, si + intDiv(sf, 1000000000) AS a0, sf % "
        "1000000000 AS b0, multiIf(a0 > 0 AND b0 < 0, a0 - 1, a0 < 0 AND b0 > 0, a0 + 1, a0) AS "
        "a, multiIf(a0 > 0 AND b0 < 0, b0 + 1000000000, a0 < 0 AND b0 > 0, b0 - 1000000000, b0) "
        "AS b";
    if (avg) {
        return "SELECT " + by + ", " + parts + ", " +
               guarded("si_ok AND abs(a) <= 9007198 AND n <= 9007199",
                       "toFloat64(a * 1000000000 + b) / toFloat64(n * 1000000000)") +
               " AS v FROM (" + sums + ")";
    }
    return "SELECT " + by + ", " + parts + ", " +
           guarded("si_ok AND abs(a) < 9007199254740992",
                   "if(abs(a) <= 9007198, toFloat64(a * 1000000000 + b) / 1000000000.0, if(a < 0 "
                   "OR b < 0, -1.0, 1.0) * (toFloat64(abs(a)) + toFloat64(abs(b)) / "
                   "1000000000.0))") +
           " AS v FROM (" + sums + ")";
}

// The stored state (compiler.cpp's stored_state_source and stored_state_columns), joined by
// the key as the stays hold it (Int64).
void Lowering::add_stored_state_nested() {
    const auto stays = stored_state_source();
    if (!stays) return;
    add_columns({{"state_jk", "toInt64(k)"}});
    add_step("SELECT * FROM " + current_ + " ANY LEFT JOIN (" + *stays + ") USING state_jk");
    columns_.push_back("state_segment");
    columns_.push_back("state_since");
    add_columns(stored_state_columns(""));
}

void Lowering::refuse_unreadable(const std::string& table, const std::string& column, Type type,
                                 const Location& at, bool at_uses) {
    auto reason = d_.column_refusal(table, column, type);
    if (!reason) return;
    if (at_uses)
        use_refusals_.emplace(table + "." + column, UseRefusal{*reason, at});
    else
        refuse(at, "column '" + table + "." + column + "': " + *reason);
}

Location Lowering::type_location(const std::map<std::string, TypeOverride>& types,
                                 const std::string& column, const Location& otherwise) {
    auto it = types.find(column);
    return it == types.end() ? otherwise : it->second.location;
}

Location Lowering::fact_type_location(const std::string& fact, const std::string& column,
                                      const Location& otherwise) const {
    for (const FactDef& f : rules_.rules.facts)
        if (f.name == fact) return type_location(f.types, column, f.location);
    return otherwise;
}

// `(SELECT col AS src_0, col AS src_1, … FROM table)`: the base's `columns` (names as written)
// under names none of them has, given in `names`. ClickHouse resolves a name to an alias of
// the same SELECT before a column of its table (a column `t` read beside `… AS t` reads the
// alias), so the plan's own names (k, c<slot>, f<slot>, t) are given one SELECT later, where
// no column of the base is read.
std::string Lowering::renamed_source(const std::vector<std::string>& columns,
                                     const std::vector<Location>& at, const std::string& table,
                                     const Location& table_at, std::vector<std::string>& names) {
    const std::string prefix = unused_prefix(columns, "strata_src_");
    std::string sql = "SELECT ";
    names.clear();
    for (size_t i = 0; i < columns.size(); ++i) {
        names.push_back(prefix + std::to_string(i));
        sql += (i ? ", " : "") + quoted(columns[i], at.at(i)) + " AS " + names.back();
    }
    return "(" + sql + " FROM " + quoted(table, table_at) + ")";
}

std::optional<std::string> Lowering::compile_nested(const std::vector<std::string>& let_columns,
                                                    RunColumns* run_columns) {
    const auto& program = rules_.program;
    const RuleFile& rf = rules_.rules;
    // The customers' columns read: the key, each cell, the `since` column.
    // Located as the CTE plan locates them: the key at source.key, the cells at the customers
    // table, the `since` column at source.since.
    std::vector<std::string> read = {rf.key};
    std::vector<Location> read_at = {rf.key_location};
    for (size_t s = 0; s < program.columns.size(); ++s)
        if (const bound::ColumnUse& use = program.columns[s];
            use.source != bound::ColumnSource::State && needed_columns_[s]) {
            read.push_back(use.name);
            read_at.push_back(rf.customers_location);
        }
    const auto* since =
        rules_.since ? std::get_if<bound::CustomerColumn>(&rules_.since->node) : nullptr;
    if (since) {
        read.push_back(program.columns.at(static_cast<size_t>(since->slot)).name);
        read_at.push_back(rf.since.location);
    }
    std::vector<std::string> src;
    const std::string customers =
        renamed_source(read, read_at, rf.customers_table, rf.customers_location, src);
    // The cells are carried up raw and read as their types in the step after the aggregates'
    // joins: ClickHouse analyses everything below a step once more for each step above it, and
    // the readers (text to number, say) are the largest expressions of most queries.
    std::string cust = "SELECT " + d_.read_column_key(rf.customers_table, rf.key, src[0]) + " AS k";
    columns_ = {"k"};
    std::vector<std::pair<std::string, std::string>> cells;
    size_t next = 1;
    for (size_t s = 0; s < program.columns.size(); ++s) {
        const bound::ColumnUse& use = program.columns[s];
        if (use.source == bound::ColumnSource::State || !needed_columns_[s]) continue;
        const std::string& raw = src.at(next++);
        auto cell = d_.read_column(rf.customers_table, use.name, raw, use.type);
        refuse_unreadable(rf.customers_table, use.name, use.type,
                          type_location(rf.types, use.name, rf.customers_location),
                          !rf.types.count(use.name));
        if (!cell) cell = "NULL";  // refused where it is used
        cust += ", " + raw;
        cells.emplace_back("c" + std::to_string(s), *cell);
    }
    cust += " FROM " + customers;
    if (since) {
        const std::string day = d_.read_column_day(
            rf.customers_table, program.columns.at(static_cast<size_t>(since->slot)).name,
            src.at(next));
        cust += " WHERE " +
                d_.is_true(d_.logic_or("isNull(" + day + ")",
                                       "(" + day + " <= " + d_.integer_literal(as_of_.days) + ")"));
    }
    add_step(cust);
    // Each fact's rows: key, cells, the day of its time.
    std::vector<std::string> fact_rows;
    fact_cells_.clear();
    for (size_t fi = 0; fi < program.facts.size(); ++fi) {
        const bound::FactUse& f = program.facts[fi];
        const Location at =
            rules_.rules.facts.empty() ? Location{} : rules_.rules.facts[0].location;
        std::vector<std::string> fact_read = {f.key};
        for (const auto& column : f.columns)
            fact_read.push_back(column.name);
        if (!f.time.empty()) fact_read.push_back(f.time);
        const std::string rows = renamed_source(
            fact_read, std::vector<Location>(fact_read.size(), at), f.table, at, src);
        std::string sql = "SELECT " + d_.read_column_key(f.table, f.key, src[0]) + " AS k";
        FactCells cells;
        cells.table = quoted(f.table, at);
        cells.key = d_.read_column_key(f.table, f.key, quoted(f.key, at));
        cells.prefix = unused_prefix(fact_read, "strata_g_");
        for (size_t s = 0; s < f.columns.size(); ++s) {
            if (!needed_fact_columns_.at(fi).at(s)) {
                sql += ", NULL AS f" + std::to_string(s);
                cells.cells.push_back("NULL");
                continue;
            }
            auto cell =
                d_.read_column(f.table, f.columns[s].name, src.at(s + 1), f.columns[s].type);
            auto inline_cell = d_.read_column(f.table, f.columns[s].name,
                                              quoted(f.columns[s].name, at), f.columns[s].type);
            refuse_unreadable(f.table, f.columns[s].name, f.columns[s].type,
                              fact_type_location(f.name, f.columns[s].name, at));
            if (!cell || !inline_cell) {
                if (!d_.column_refusal(f.table, f.columns[s].name, f.columns[s].type))
                    refuse_fact_column(at, f.table, f.columns[s].name, f.columns[s].type);
                cell = inline_cell = "NULL";
            }
            sql += ", " + *cell + " AS f" + std::to_string(s);
            cells.cells.push_back(*inline_cell);
        }
        if (!f.time.empty()) {
            sql += ", " + d_.read_column_day(f.table, f.time, src.back()) + " AS t";
            cells.day = d_.read_column_day(f.table, f.time, quoted(f.time, at));
        }
        fact_rows.push_back("(" + sql + " FROM " + rows + ")");
        fact_cells_.push_back(std::move(cells));
    }
    std::vector<std::pair<std::string, std::string>> filled;
    for (size_t j = 0; j < program.aggregates.size(); ++j) {
        if (!needed_aggregates_[j]) continue;
        const bound::Aggregate& a = program.aggregates[j];
        const std::string name = "a" + std::to_string(j);
        // An integer sum can be null for a customer with rows (beyond 64 bits): its subquery
        // marks each customer it has (m), and only those without one get the empty sum's 0.
        const bool marked = a.fn == bound::AggFn::Sum && a.type == Type::Int;
        add_step("SELECT * FROM " + current_ + " ANY LEFT JOIN (SELECT k, v AS " + name + "_v" +
                 (marked ? ", m AS " + name + "_m" : "") + " FROM (" +
                 nested_aggregate(a, fact_rows.at(static_cast<size_t>(a.fact))) + ")) USING k");
        columns_.push_back(name + "_v");
        std::string empty;
        if (a.fn == bound::AggFn::Count || a.fn == bound::AggFn::CountDistinct)
            empty = d_.integer_literal(0);
        if (a.fn == bound::AggFn::Sum)
            empty = a.type == Type::Int ? d_.integer_literal(0) : d_.number_literal(0.0);
        if (marked)
            filled.emplace_back(name, "if(isNull(" + name + "_m), " + empty + ", " + name + "_v)");
        else
            filled.emplace_back(
                name, empty.empty() ? name + "_v" : "coalesce(" + name + "_v, " + empty + ")");
    }
    if (count_rows_) nested_aggregate_rows(fact_rows, filled);
    // One step lists the plan's columns, the aggregates filled and the cells read; the raw
    // cells stop here.
    filled.insert(filled.end(), cells.begin(), cells.end());
    if (!filled.empty()) {
        std::string sql;
        for (const std::string& column : columns_)
            sql += (sql.empty() ? "SELECT " : ", ") + column;
        for (const auto& [name, value] : filled) {
            sql += ", " + value + " AS " + name;
            columns_.push_back(name);
        }
        add_step(sql + " FROM " + current_);
    }
    add_stored_state_nested();
    add_lets();
    const std::string query = placement(let_column_list(let_columns), run_columns);
    if (diags_.has_errors()) return std::nullopt;
    return query + " SETTINGS join_use_nulls = 1";
}

}  // namespace strata::sql
