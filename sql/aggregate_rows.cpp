// RunColumns::aggregate_rows: how many fact rows fed each aggregate for each customer, as the
// engine counts them for `strata explain` (engine/aggregates.hpp's AggregateRowCounts): the
// rows the aggregate takes (its fact's time on or before as_of, its `where` true, and for cv
// inside its window), and of those the rows whose value is null (none for count(fact), which
// has no value). The rows are chosen by the same conditions as the aggregate's own step, but
// counted in a step of their own, so the aggregate's SQL is the same with or without them.
#include "sql/lowering.hpp"

namespace strata::sql {

std::string Lowering::aggregate_rows_sql(const bound::Aggregate& a, const std::string& fact_rows) {
    std::string rows;
    if (a.fn == bound::AggFn::Cv) {
        int periods = 0;
        rows = cv_rows(a, fact_rows, periods, true);
    } else {
        const bound::FactUse& fact = rules_.program.facts.at(static_cast<size_t>(a.fact));
        const std::string x = a.value ? expr(*a.value, a.fact) : "NULL";
        const std::string up_to = "t <= " + d_.integer_literal(as_of_.days);
        std::string where;
        if (nested()) {
            where = fact.time.empty() ? "1" : up_to;
            if (a.where) where = d_.logic_and("(" + where + ")", expr(*a.where, a.fact));
            where = d_.is_true(where);
        } else {
            where = fact.time.empty() ? d_.bool_literal(true) : up_to;
            if (a.where) where += " AND (" + expr(*a.where, a.fact) + ")";
        }
        rows = "SELECT k, " + x + " AS x FROM " + fact_rows + " WHERE " + where;
    }
    const std::string without = a.value ? "count(*) - count(x)" : "0";
    return "SELECT k, count(*) AS n, " + without + " AS nn FROM (" + rows + ")" +
           d_.subquery_alias() + " GROUP BY k";
}

void Lowering::aggregate_row_steps(const std::vector<std::string>& fact_steps,
                                   std::vector<std::string>& joins,
                                   std::vector<std::string>& columns) {
    const auto& program = rules_.program;
    for (size_t j = 0; j < program.aggregates.size(); ++j) {
        const bound::Aggregate& a = program.aggregates[j];
        const std::string name = "a" + std::to_string(j) + "_n";
        steps_.push_back({name, aggregate_rows_sql(a, fact_steps.at(static_cast<size_t>(a.fact)))});
        joins.push_back(" LEFT JOIN " + name + " ON " + name + ".k = cust.k");
        // A customer without rows took none.
        columns.push_back("coalesce(" + name + ".n, 0) AS strata_rows_" + std::to_string(j));
        columns.push_back("coalesce(" + name + ".nn, 0) AS strata_rows_null_" + std::to_string(j));
    }
}

void Lowering::nested_aggregate_rows(const std::vector<std::string>& fact_rows,
                                     std::vector<std::pair<std::string, std::string>>& filled) {
    const auto& program = rules_.program;
    for (size_t j = 0; j < program.aggregates.size(); ++j) {
        const bound::Aggregate& a = program.aggregates[j];
        const std::string name = "a" + std::to_string(j);
        // Counted where the fact's table is read, as the aggregate itself is (on the shards
        // of a Distributed table); cv's rows from its subquery.
        std::string counts;
        if (a.fn == bound::AggFn::Cv) {
            counts = aggregate_rows_sql(a, fact_rows.at(static_cast<size_t>(a.fact)));
        } else {
            const GroupedRows rows = fact_grouping(a);
            counts = grouped(rows, {{"n", "count()"},
                                    {"nn", a.value ? "count() - count(" + rows.x + ")" : "0"}});
        }
        add_step("SELECT * FROM " + current_ + " ANY LEFT JOIN (SELECT k, n AS " + name +
                 "_n, nn AS " + name + "_nn FROM (" + counts + ")) USING k");
        columns_.push_back(name + "_n");
        columns_.push_back(name + "_nn");
        // join_use_nulls: a customer without rows gets NULL here, and took none.
        filled.emplace_back("strata_rows_" + std::to_string(j),
                            "toInt64(coalesce(" + name + "_n, 0))");
        filled.emplace_back("strata_rows_null_" + std::to_string(j),
                            "toInt64(coalesce(" + name + "_nn, 0))");
    }
}

std::vector<std::string> Lowering::aggregate_row_columns() const {
    std::vector<std::string> out;
    if (!count_rows_) return out;
    for (size_t j = 0; j < rules_.program.aggregates.size(); ++j) {
        out.push_back("strata_rows_" + std::to_string(j));
        out.push_back("strata_rows_null_" + std::to_string(j));
    }
    return out;
}

}  // namespace strata::sql
