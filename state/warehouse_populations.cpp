#include "state/warehouse_populations.hpp"

#include <cstdlib>

#include "engine/exact_sum.hpp"
#include "state/warehouse_firing.hpp"
#include "state/warehouse_report.hpp"

namespace strata::state {

namespace {

using warehouse::Cell;
using warehouse::ResultTable;

// An exact sum of units as the server wrote it (an integer, perhaps with a zero fraction).
SumUnits units_of(const Cell& cell) {
    if (!cell) return 0;
    SumUnits out = 0;
    bool negative = false;
    for (const char ch : *cell) {
        if (ch == '-') {
            negative = true;
        } else if (ch >= '0' && ch <= '9') {
            out = out * 10 + (ch - '0');
        } else if (ch == '.') {
            break;
        }
    }
    return negative ? -out : out;
}

size_t count_of(const Cell& cell) {
    return static_cast<size_t>(cell_integer(cell));
}

// The pieces of SQL the two servers spell differently.
struct Spelling {
    WarehouseSql sql;
    std::string count_if(const std::string& condition) const {
        return sql == WarehouseSql::Postgres ? "count(*) FILTER (WHERE " + condition + ")"
                                             : "countIf(ifNull(" + condition + ", 0))";
    }
    std::string sum_if(const std::string& x, const std::string& condition) const {
        return sql == WarehouseSql::Postgres ? "sum(" + x + ") FILTER (WHERE " + condition + ")"
                                             : "sumIf(" + x + ", ifNull(" + condition + ", 0))";
    }
    std::string distinct(const std::string& x) const {
        return sql == WarehouseSql::Postgres ? "count(DISTINCT " + x + ")" : "uniqExact(" + x + ")";
    }
    // The count of the group with the smallest (largest, when descending) x.
    std::string count_at_first(const std::string& count, const std::string& x,
                               bool descending) const {
        if (sql == WarehouseSql::Postgres)
            return "(array_agg(" + count + " ORDER BY " + x + (descending ? " DESC" : "") + "))[1]";
        return std::string(descending ? "argMax(" : "argMin(") + count + ", " + x + ")";
    }
    // A column compared by bytes (texts in PostgreSQL need the C collation).
    std::string bytes(const std::string& column, Type type) const {
        return sql == WarehouseSql::Postgres && type == Type::String ? column + " COLLATE \"C\""
                                                                     : column;
    }
    // A column's values where it is not null (ClickHouse keeps the Nullable type otherwise).
    std::string present(const std::string& column, Type type) const {
        return sql == WarehouseSql::ClickHouse ? "assumeNotNull(" + column + ")"
                                               : bytes(column, type);
    }
};

std::string column(size_t call, const std::string& what) {
    return "strata_pop_" + std::to_string(call) + "_" + what;
}

// One ranking's bins: per tile, its customers, its first and last values in ranking order and
// the customers holding the first.
bool count_bins(const Spelling& s, const std::string& placed, size_t call, size_t arg, Type type,
                bool descending, const WarehouseQuery& query, std::vector<CountedBin>& bins) {
    const std::string x = column(call, "x" + std::to_string(arg));
    const std::string t = column(call, "t" + std::to_string(arg));
    const std::string grouped = "SELECT " + t + " AS t, " + s.present(x, type) +
                                " AS x, count(*) AS c FROM " + placed + " WHERE " + x +
                                " IS NOT NULL GROUP BY " + t + ", " + s.present(x, type);
    ResultTable table;
    if (!query("SELECT t, sum(c), " + std::string(descending ? "max(x)" : "min(x)") + ", " +
                   s.count_at_first("c", "x", descending) + ", " +
                   std::string(descending ? "min(x)" : "max(x)") + " FROM (" + grouped + ")" +
                   (s.sql == WarehouseSql::Postgres ? " g" : "") + " GROUP BY t",
               table))
        return false;
    for (const auto& row : table.rows) {
        CountedBin b;
        b.tile = cell_integer(row.at(0));
        b.customers = count_of(row.at(1));
        b.from = value_from_cell(row.at(2), type);
        b.ties_at_cut = count_of(row.at(3));
        b.last = value_from_cell(row.at(4), type);
        bins.push_back(std::move(b));
    }
    return true;
}

// abc's last customer of `cls` in its order (x descending, then key ascending).
bool last_of_class(const Spelling& s, const std::string& placed, size_t call, const char* cls,
                   Type type, bool integer_keys, const WarehouseQuery& query, AbcBoundary& last) {
    const std::string x = column(call, "x0");
    const std::string key = s.sql == WarehouseSql::Postgres && !integer_keys
                                ? "customer_key COLLATE \"C\""
                                : "customer_key";
    ResultTable table;
    if (!query("SELECT " + x + ", customer_key FROM " + placed + " WHERE " + column(call, "class") +
                   " = '" + cls + "' ORDER BY " + x + ", " + key + " DESC LIMIT 1",
               table))
        return false;
    if (table.rows.empty()) return true;
    last.present = true;
    last.value = value_from_cell(table.rows[0].at(0), type);
    last.key = value_from_cell(table.rows[0].at(1), integer_keys ? Type::Int : Type::String);
    return true;
}

}  // namespace

std::vector<const bound::Expr*> population_exprs(const CompiledRules& rules) {
    std::vector<const bound::Expr*> out;
    for (const PopulationCall& c : population_calls(rules))
        out.push_back(c.expr);
    return out;
}

bool count_populations(const CompiledRules& rules, const std::string& placed, bool integer_keys,
                       WarehouseSql sql, const WarehouseQuery& query,
                       std::vector<PopulationSummary>& out) {
    const Spelling s{sql};
    const std::vector<PopulationCall> calls = population_calls(rules);
    if (calls.empty()) return true;
    // One pass for every call's counts: customers, values per argument, distinct values, and
    // abc's classes with their units.
    std::string counts = "SELECT count(*)";
    for (size_t i = 0; i < calls.size(); ++i) {
        const auto& c = std::get<bound::Call>(calls[i].expr->node);
        const size_t arity = c.fn == bound::Fn::Rfm ? 3 : 1;
        for (size_t k = 0; k < arity; ++k)
            counts += ", count(" + column(i, "x" + std::to_string(k)) + ")";
        if (c.fn == bound::Fn::PercentRank)
            counts += ", " + s.distinct(s.bytes(column(i, "x0"), c.args[0]->type));
        if (c.fn == bound::Fn::Abc) {
            const std::string cls = column(i, "class"), units = column(i, "units");
            for (const char* name : {"A", "B", "C"})
                counts += ", " + s.count_if(cls + " = '" + name + "'");
            counts += ", " + s.count_if(column(i, "x0") + " > 0 AND " + cls + " IS NULL");
            counts += ", " + s.sum_if(units, cls + " = 'A'") + ", " +
                      s.sum_if(units, cls + " = 'B'") + ", sum(" + units + ")";
        }
    }
    ResultTable table;
    if (!query(counts + " FROM " + placed, table)) return false;
    const warehouse::Row& row = table.rows.at(0);
    const size_t customers = count_of(row.at(0));
    size_t at = 1;
    for (size_t i = 0; i < calls.size(); ++i) {
        const auto& c = std::get<bound::Call>(calls[i].expr->node);
        PopulationFit fit;
        std::optional<size_t> distinct;
        if (c.fn == bound::Fn::Ntile) {
            const size_t ranked = count_of(row.at(at++));
            std::vector<CountedBin> bins;
            if (!count_bins(s, placed, i, 0, c.args[0]->type, false, query, bins)) return false;
            fit = ntile_fit_from_bins(c.params.n, false, customers - ranked, bins);
        } else if (c.fn == bound::Fn::Rfm) {
            RfmFit rfm;
            rfm.bins = c.params.n;
            rfm.best_low = c.params.best_low;
            NtileFit* parts[3] = {&rfm.r, &rfm.f, &rfm.m};
            for (size_t k = 0; k < 3; ++k) {
                const size_t ranked = count_of(row.at(at++));
                const Type type = c.args[k]->type;
                const bool descending = k == 0 && rfm_recency_is_age(type, ranked);
                if (k == 0) rfm.recency_is_age = descending;
                std::vector<CountedBin> bins;
                if (!count_bins(s, placed, i, k, type, descending, query, bins)) return false;
                *parts[k] = ntile_fit_from_bins(rfm.bins, descending, customers - ranked, bins);
            }
            fit = std::move(rfm);
        } else if (c.fn == bound::Fn::PercentRank) {
            PercentRankFit rank;
            rank.total = count_of(row.at(at++));
            rank.nulls = customers - rank.total;
            distinct = count_of(row.at(at++));
            fit = std::move(rank);
        } else {
            AbcFit abc;
            abc.a = c.params.a;
            abc.b = c.params.b;
            abc.nulls = customers - count_of(row.at(at++));
            abc.count_a = count_of(row.at(at++));
            abc.count_b = count_of(row.at(at++));
            abc.count_c = count_of(row.at(at++));
            abc.beyond_range = count_of(row.at(at++)) > 0;
            const SumUnits units_a = units_of(row.at(at++));
            const SumUnits units_b = units_of(row.at(at++));
            const SumUnits total = units_of(row.at(at++));
            if (!abc.beyond_range) {
                abc.total_units = total;
                abc.total = sum_units_to_double(total);
                const Type type = c.args[0]->type;
                if (!last_of_class(s, placed, i, "A", type, integer_keys, query, abc.last_a) ||
                    !last_of_class(s, placed, i, "B", type, integer_keys, query, abc.last_b))
                    return false;
                if (total > 0) {
                    abc.last_a.share_after =
                        static_cast<long double>(units_a) / static_cast<long double>(total);
                    abc.last_b.share_after = static_cast<long double>(units_a + units_b) /
                                             static_cast<long double>(total);
                }
            }
            fit = std::move(abc);
        }
        PopulationSummary summary = population_summary(rules, calls[i], std::move(fit));
        summary.distinct_values = distinct;
        out.push_back(std::move(summary));
    }
    return true;
}

}  // namespace strata::state
