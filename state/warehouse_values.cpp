#include "state/warehouse_values.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <functional>

#include "report/value_sections.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/clickhouse_state.hpp"
#include "state/warehouse_report.hpp"

namespace strata::state {

using report::ReportModel;
using warehouse::ResultTable;

namespace {

// The run's query with a column for each numeric let and for r and f of the first rfm let.
struct ValuesQuery {
    std::string sql;
    bool value = false;
    std::vector<std::pair<std::string, std::string>> lets;  // (let name, column)
    std::optional<std::string> rfm_let;                     // its r and f: rfm_r, rfm_f
    const bound::Expr* rfm_expr = nullptr;                  // the rfm let's expression
    std::string rfm_r, rfm_f;
    std::vector<bound::ExprPtr> fields;  // the r and f expressions the query was asked for
};

bound::ExprPtr let_ref(const CompiledRules& rules, size_t l) {
    auto e = std::make_unique<bound::Expr>();
    e->type = rules.program.lets[l].type;
    e->location = rules.program.lets[l].expr->location;
    e->node = bound::LetRef{static_cast<int>(l)};
    return e;
}

// "N constructs cannot be compiled to NAME (the first's reason)", or nullopt with the query.
std::optional<ValuesQuery> compile_values(const CompiledRules& rules, Date as_of,
                                          const sql::Dialect& dialect, std::string& problem) {
    ValuesQuery q;
    sql::RunColumns columns;
    const auto& lets = rules.program.lets;
    std::vector<bound::ExprPtr> asked;
    for (size_t l = 0; l < lets.size(); ++l) {
        if (!is_numeric(lets[l].type)) continue;
        q.lets.emplace_back(lets[l].name, "strata_expr_" + std::to_string(asked.size()));
        asked.push_back(let_ref(rules, l));
    }
    for (size_t l = 0; l < lets.size(); ++l) {
        if (lets[l].type != Type::Record) continue;
        q.rfm_let = lets[l].name;
        q.rfm_expr = lets[l].expr.get();
        for (int field : {0, 1}) {
            auto e = std::make_unique<bound::Expr>();
            e->type = Type::Int;
            e->location = lets[l].expr->location;
            e->node = bound::Field{let_ref(rules, l), field};
            (field == 0 ? q.rfm_r : q.rfm_f) = "strata_expr_" + std::to_string(asked.size());
            asked.push_back(std::move(e));
        }
        break;
    }
    for (const auto& e : asked)
        columns.values.push_back(e.get());
    Diagnostics refusals;
    auto query = sql::compile_run_query(rules, as_of, dialect, refusals, columns);
    if (!query) {
        const size_t n = refusals.error_count();
        std::string first;
        for (const auto& d : refusals.items()) {
            if (d.severity == Severity::Error && first.empty()) first = d.message;
        }
        problem = std::to_string(n) + (n == 1 ? " construct" : " constructs") +
                  " cannot be compiled to " + dialect.name() +
                  (first.empty() ? std::string() : " (" + first + ")");
        return std::nullopt;
    }
    q.sql = std::move(*query);
    q.value = columns.value;
    q.fields = std::move(asked);
    return q;
}

// How each summary is spelled on a server, over the table `t` the run's query filled. Each
// answers rows; report/value_sections.hpp says what they hold.
struct ValuesSql {
    // (customers unplaced, a few of their keys)
    std::string unplaced;
    // (k, sum of the k largest values, n) for each k that completes a whole percent
    std::string pareto;
    // per group ('' for the base): (group, customers, sum, sum of squared distances from
    // the base's mean) of column `x`
    std::function<std::string(const std::string& x)> let;
    // per cell: (r, f, customers, sum of values)
    std::string rfm;
    // (customers placed now, customers of the stored run, those in the same general segment)
    std::string same;
};

// Runs the summaries and fills the model; false with `problem` set when a query failed.
using Ask = std::function<bool(const std::string& sql, ResultTable& out)>;

bool fill_values(const ValuesQuery& q, const ValuesSql& s, const RunRecord& run,
                 const CompiledRules& rules, const Ask& ask, ReportModel& m, std::string& problem) {
    ResultTable t;
    if (!ask(s.unplaced, t)) return false;
    if (const int64_t unplaced = cell_integer(t.rows.at(0).at(0)); unplaced > 0) {
        problem = unplaced_message(rules.rules.policy, unplaced,
                                   t.rows[0][1].value_or("") + (unplaced > 5 ? ", …" : ""), false);
        return false;
    }
    std::vector<std::pair<double, double>> pareto;
    std::string pareto_left_out;
    if (q.value) {
        if (!ask(s.pareto, t)) return false;
        std::map<int64_t, double> running;
        int64_t n = 0;
        int64_t below_zero = 0;
        for (const auto& row : t.rows) {
            running[cell_integer(row.at(0))] = cell_number(row.at(1));
            n = cell_integer(row.at(2));
            below_zero = cell_integer(row.at(3));
        }
        report::ParetoCurve curve = report::pareto_curve(n, below_zero, m.value_name,
                                                         [&](int64_t k) { return running.at(k); });
        pareto = std::move(curve.points);
        pareto_left_out = std::move(curve.left_out);
    }
    std::vector<report::LetMoments> moments;
    for (const auto& [name, column] : q.lets) {
        if (!ask(s.let(column), t)) return false;
        report::LetMoments& let = moments.emplace_back();
        let.let = name;
        for (const auto& row : t.rows) {
            const report::Moments sums{cell_number(row.at(2)), cell_number(row.at(3)),
                                       cell_integer(row.at(1))};
            const std::string group = row.at(0).value_or("");
            if (group.empty())
                let.base = sums;
            else
                let.by_group[group] = sums;
        }
    }
    std::optional<report::RfmGrid> grid;
    if (q.rfm_let) {
        if (!ask(s.rfm, t)) return false;
        std::map<std::pair<int64_t, int64_t>, report::RfmCell> cells;
        for (const auto& row : t.rows)
            cells[{cell_integer(row.at(0)), cell_integer(row.at(1))}] = {cell_integer(row.at(2)),
                                                                         cell_number(row.at(3))};
        grid = report::rfm_grid(*q.rfm_let, cells, q.rfm_expr);
    }
    if (!ask(s.same, t)) return false;
    m.pareto = std::move(pareto);
    if (!pareto_left_out.empty()) m.notes.push_back(std::move(pareto_left_out));
    report::add_distinct_lets(moments, m);
    m.rfm = std::move(grid);
    m.customer_values = true;
    const auto& row = t.rows.at(0);
    if (auto note = report::data_changed_note(run, cell_integer(row.at(0)), cell_integer(row.at(1)),
                                              cell_integer(row.at(2))))
        m.notes.push_back(*note);
    return true;
}

void failed(const RunRecord& run, const std::string& problem, ReportModel& m) {
    m.notes.push_back("Evaluating " + run.ruleset + " v" + std::to_string(run.version) +
                      " again at " + run.as_of + " failed: " + problem + "." +
                      report::kValuesLeftOut);
}

}  // namespace

void postgres_customer_values(warehouse::PostgresConnection& db, const CompiledRules& rules,
                              const Schema& catalog, const RunRecord& run, ReportModel& m) {
    const auto as_of = parse_date(run.as_of);
    if (!as_of) {
        m.notes.push_back("The run's as_of '" + run.as_of + "' is not a date." +
                          report::kValuesLeftOut);
        return;
    }
    std::string problem;
    auto dialect = sql::make_postgres_dialect(&catalog);
    auto q = compile_values(rules, *as_of, *dialect, problem);
    if (!q) return failed(run, problem, m);
    const TableSchema* customers = catalog.find(rules.rules.customers_table);
    const ColumnSchema* key_column = customers ? customers->find(rules.rules.key) : nullptr;
    const bool integer_keys = key_column && key_column->type == Type::Int;
    const std::string key = integer_keys ? "customer_key" : "customer_key COLLATE \"C\"";
    const std::string t = "strata_report_values";
    // A value the engine reads as a number: finite (PostgreSQL's NaN equals NaN).
    auto finite = [](const std::string& x) {
        return x + " NOT IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8)";
    };
    const std::string v = "(CASE WHEN strata_value IS NOT NULL AND " +
                          finite("strata_value::float8") +
                          " THEN strata_value::float8 ELSE 0::float8 END)";
    ValuesSql s;
    const std::string most_bins = std::to_string(report::kRfmMostBins);
    s.unplaced =
        "SELECT count(*), (SELECT string_agg(k, ', ') FROM (SELECT customer_key::text AS "
        "k FROM " +
        t + " WHERE segment IS NULL ORDER BY " + key + " LIMIT 5) e) FROM " + t +
        " WHERE segment IS NULL";
    // A running sum over ROWS UNBOUNDED PRECEDING adds one row at a time, in the window's
    // order; equal values may come in any order, which changes no running sum.
    s.pareto =
        "SELECT k, s, n, below_zero FROM (SELECT row_number() OVER w AS k, sum(v) OVER w AS s, "
        "count(*) OVER () AS n, sum(CASE WHEN v < 0 THEN 1 ELSE 0 END) OVER () AS below_zero "
        "FROM (SELECT " +
        v + " AS v FROM " + t +
        ") a WINDOW w AS (ORDER BY v DESC ROWS UNBOUNDED PRECEDING)) b "
        "WHERE (k * 100) / n > ((k - 1) * 100) / n";
    s.let = [&](const std::string& column) {
        const std::string x = column + "::float8";
        const std::string values =
            "(SELECT customer_key, x, segment, tactical FROM (SELECT "
            "customer_key, " +
            x + " AS x, segment, tactical FROM " + t + ") a WHERE x IS NOT NULL AND " +
            finite("x") + ")";
        // The centre: the base's mean, its sum in key order over its count.
        const std::string centre =
            "(SELECT sum(x ORDER BY " + key + ") / NULLIF(count(*), 0) FROM " + values + " c)";
        return "SELECT g, count(*), sum(x ORDER BY " + key + "), sum((x - m) * (x - m) ORDER BY " +
               key + ") FROM (SELECT customer_key, x, " + centre +
               " AS m, unnest(ARRAY[''::text, segment::text] || "
               "ARRAY(SELECT segment::text || E'\\n' || p FROM unnest(string_to_array("
               "tactical::text, ';')) p)) AS g FROM " +
               values + " v) b GROUP BY g";
    };
    if (q->rfm_let) {
        // A customer without an r and f of the grid is counted in the cell (0, 0).
        const std::string scored =
            "(rs BETWEEN 1 AND " + most_bins + " AND fs BETWEEN 1 AND " + most_bins + ")";
        s.rfm = "SELECT r, f, count(*), sum(v ORDER BY " + key +
                ") FROM (SELECT customer_key, CASE WHEN " + scored + " THEN rs ELSE 0 END AS r, " +
                "CASE WHEN " + scored + " THEN fs ELSE 0 END AS f, v FROM (SELECT customer_key, " +
                q->rfm_r + " AS rs, " + q->rfm_f + " AS fs, " +
                (q->value ? v : std::string("0::float8")) + " AS v FROM " + t +
                ") a) b GROUP BY r, f";
    }
    s.same = "SELECT (SELECT count(*) FROM " + t +
             "), count(*), count(*) FILTER (WHERE p.segment::text COLLATE \"C\" = m.segment) FROM "
             "strata_membership m LEFT JOIN " +
             t + " p ON p.customer_key::text COLLATE \"C\" = m.customer_key WHERE m.run_id = " +
             std::to_string(run.run_id) +
             " AND m.key_is_integer = " + (integer_keys ? "true" : "false");

    auto transaction = warehouse::PostgresTransaction::begin(db);
    if (!transaction) return failed(run, transaction.error().describe(), m);
    const Ask ask = [&](const std::string& sql, ResultTable& out) {
        spdlog::debug("report inside PostgreSQL: {}", sql);
        auto answer = db.exec(sql);
        if (!answer) {
            problem = answer.error().describe();
            return false;
        }
        out = std::move(answer.value());
        return true;
    };
    ResultTable ignored;
    // As for a run: JIT compiling the large query costs seconds and gains nothing. The table
    // is the transaction's, which is rolled back: the report writes nothing.
    const bool done = ask("SET LOCAL jit = off", ignored) &&
                      ask("CREATE TEMP TABLE " + t + " ON COMMIT DROP AS " + q->sql, ignored) &&
                      fill_values(*q, s, run, rules, ask, m, problem);
    (void)transaction.value().rollback();
    if (!done) failed(run, problem, m);
}

void clickhouse_customer_values(warehouse::ClickHouseClient& client, const CompiledRules& rules,
                                const Schema& catalog, const RunRecord& run, ReportModel& m) {
    const auto as_of = parse_date(run.as_of);
    if (!as_of) {
        m.notes.push_back("The run's as_of '" + run.as_of + "' is not a date." +
                          report::kValuesLeftOut);
        return;
    }
    std::string problem;
    auto dialect = sql::make_clickhouse_dialect(&catalog);
    auto q = compile_values(rules, *as_of, *dialect, problem);
    if (!q) return failed(run, problem, m);
    // A table of this report (run and process), dropped when done.
    const std::string t =
        "strata_report_values_" + std::to_string(run.run_id) + "_" + std::to_string(::getpid());
    const std::string v =
        "if(isFinite(toFloat64(ifNull(strata_value, 0))), "
        "toFloat64(ifNull(strata_value, 0)), toFloat64(0))";
    // The values sorted by key, added one by one: the running sum's last element.
    // The sum of x (an expression of t: t.1 the key, then `fields`) in key order.
    auto in_key_order = [](const std::string& x, const std::string& fields = "x") {
        return "arrayCumSum(arrayMap(t -> " + x +
               ", arraySort(t -> t.1, groupArray((customer_key, " + fields + ")))))[-1]";
    };
    const std::string percent = "intDiv(k * 100, n) > intDiv((k - 1) * 100, n)";
    ValuesSql s;
    const std::string most_bins = std::to_string(report::kRfmMostBins);
    s.unplaced =
        "SELECT count(), arrayStringConcat(arrayMap(x -> toString(x), arraySlice("
        "arraySort(groupArray(customer_key)), 1, 5)), ', ') FROM " +
        t + " WHERE segment IS NULL";
    s.pareto =
        "SELECT k, s, n, below_zero FROM (SELECT length(c) AS n, below_zero, arrayFilter("
        "(s, k) -> " +
        percent + ", c, arrayEnumerate(c)) AS sums, arrayFilter(k -> " + percent +
        ", arrayEnumerate(c)) AS ks FROM (SELECT arrayCumSum(arrayReverseSort("
        "groupArray(v))) AS c, countIf(v < 0) AS below_zero FROM (SELECT " +
        v + " AS v FROM " + t + "))) ARRAY JOIN sums AS s, ks AS k";
    s.let = [&](const std::string& column) {
        const std::string values =
            "(SELECT customer_key, x, segment, tactical FROM (SELECT "
            "customer_key, toFloat64(assumeNotNull(" +
            column + ")) AS x, segment, tactical FROM " + t + " WHERE isNotNull(" + column +
            ")) WHERE isFinite(x))";
        // The centre: the base's mean, its sum in key order over its count. Each customer's
        // squared distance from it is made beside x (t.3), as a lambda here cannot read it.
        const std::string centre =
            "(SELECT " + in_key_order("t.2") + " / count() FROM " + values + ")";
        return "SELECT g, count(), " + in_key_order("t.2", "x, d") + ", " +
               in_key_order("t.3", "x, d") + " FROM (SELECT customer_key, x, (x - " + centre +
               ") * (x - " + centre +
               ") AS d, arrayJoin(arrayConcat([''], "
               "[toString(assumeNotNull(segment))], arrayMap(p -> concat(toString(assumeNotNull("
               "segment)), '\\n', p), arrayFilter(p -> p != '', splitByChar(';', "
               "toString(assumeNotNull(tactical))))))) AS g FROM " +
               values + ") GROUP BY g";
    };
    if (q->rfm_let) {
        // A customer without an r and f of the grid is counted in the cell (0, 0).
        const std::string scored =
            "(rs >= 1 AND rs <= " + most_bins + " AND fs >= 1 AND fs <= " + most_bins + ")";
        s.rfm = "SELECT r, f, count(), " + in_key_order("t.2") + " FROM (SELECT customer_key, if(" +
                scored + ", rs, 0) AS r, if(" + scored +
                ", fs, 0) AS f, x FROM (SELECT customer_key, toInt64(ifNull(" + q->rfm_r +
                ", 0)) AS rs, toInt64(ifNull(" + q->rfm_f + ", 0)) AS fs, " +
                (q->value ? v : std::string("toFloat64(0)")) + " AS x FROM " + t +
                ")) GROUP BY r, f";
    }
    s.same = "SELECT (SELECT count() FROM " + t +
             "), count(), countIf(now_segment = was_segment) FROM (SELECT toInt64(customer_key) "
             "AS customer_key, segment AS was_segment FROM (" +
             open_stays(run.ruleset, std::to_string(run.run_id)) +
             ") WHERE level = 0) ANY LEFT JOIN (SELECT toInt64(customer_key) AS customer_key, "
             "toString(assumeNotNull(segment)) AS now_segment FROM " +
             t + ") USING customer_key";

    const Ask ask = [&](const std::string& sql, ResultTable& out) {
        spdlog::debug("report inside ClickHouse: {}", sql);
        auto answer = client.query(sql);
        if (!answer) {
            problem = answer.error().describe();
            return false;
        }
        out = std::move(answer.value());
        return true;
    };
    ResultTable ignored;
    const bool done = ask("CREATE TABLE " + t + " ENGINE = Memory AS " + q->sql, ignored) &&
                      fill_values(*q, s, run, rules, ask, m, problem);
    (void)client.query("DROP TABLE IF EXISTS " + t);
    if (!done) failed(run, problem, m);
}

}  // namespace strata::state
