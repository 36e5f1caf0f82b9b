// Internal to sql/: the state of one compilation, shared by the plan (compiler.cpp) and the
// expression lowering (expressions.cpp).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "sql/compiler.hpp"
#include "sql/dialect.hpp"

namespace strata::sql {

class Lowering {
  public:
    Lowering(const CompiledRules& rules, Date as_of, const Dialect& dialect, Diagnostics& diags)
        : rules_(rules), as_of_(as_of), d_(dialect), diags_(diags) {}

    std::optional<std::string> compile(const std::vector<std::string>& let_columns = {},
                                       RunColumns* run_columns = nullptr);

    // An expression as SQL. `fact` >= 0: inside an aggregate over that fact's rows (its
    // columns are f<slot>); -1: per customer. Refusals go to the diagnostics; the text
    // returned then is a placeholder and the query is not given out.
    std::string expr(const bound::Expr& e, int fact);
    // The same, as a value of type `to` (an integer made a number).
    std::string expr_as(const bound::Expr& e, Type to, int fact);

    void refuse(const Location& at, const std::string& reason);
    // Refuses at `at` a fact column no reader of the dialect takes: one whose type is not known
    // (no --db and no source.types), or a type not lowered yet.
    void refuse_fact_column(const Location& at, const std::string& table, const std::string& column,
                            Type type);
    // Refuses at `at` a column the dialect cannot read as `type` with the engine's meaning.
    // With `at_uses`, at each use of the column instead (expr(): a customer column typed by the
    // base, whose uses say more than the table's name), and at `at` only when no use was
    // refused, at the end of compile().
    void refuse_unreadable(const std::string& table, const std::string& column, Type type,
                           const Location& at, bool at_uses = false);
    struct UseRefusal {
        std::string reason;
        Location otherwise;
        bool refused = false;  // at a use
    };
    // By `table.column`: the refusals refuse_unreadable left for the column's uses.
    std::map<std::string, UseRefusal> use_refusals_;
    std::optional<std::string> compile_query(const std::vector<std::string>& let_columns,
                                             RunColumns* run_columns);
    // Where `column`'s type is given (its `types:` entry: the customers' or fact `fact`'s), or
    // `otherwise`.
    static Location type_location(const std::map<std::string, TypeOverride>& types,
                                  const std::string& column, const Location& otherwise);
    Location fact_type_location(const std::string& fact, const std::string& column,
                                const Location& otherwise) const;

  private:
    const CompiledRules& rules_;
    Date as_of_;
    const Dialect& d_;
    Diagnostics& diags_;

    struct Step {
        std::string name;
        std::string sql;
        // A step of the chain that computes lets (add_step), which the dialect may fence
        // (Dialect::step_body); the steps that read the base's tables are left open, so that
        // a filter on them still reaches the table's scan (and its index).
        bool computes = false;
    };
    std::vector<Step> steps_;
    std::set<std::string> unquotable_;  // names refused by quoted(), each said once
    std::string current_;               // the step every later column is added to
    // The nested plan's last step when add_columns made it (what it selects from, the columns
    // it adds): columns that read none of them are added to it instead of to a step of their
    // own, since ClickHouse analyses everything below a step again for each step above it.
    struct Projection {
        std::string from;
        std::vector<std::pair<std::string, std::string>> columns;
    };
    std::optional<Projection> projection_;
    int counter_ = 0;
    // Population calls already computed: their column (for rfm, the prefix of its fields).
    std::map<const bound::Expr*, std::string> population_;
    std::map<int, std::string> record_lets_;  // a record let → its rfm's column prefix
    bool reads_state_ = false;  // the stored-state columns are joined (add_stored_state)
    std::map<const bound::Expr*, std::string> conditions_;

    // Each outermost expression lowered (not one inside another), with its place in the rule
    // file: where a query the dialect's parser would not take is refused.
    int expr_depth_ = 0;
    std::vector<std::pair<Location, std::string>> outermost_;
    // Refuses a query that nests deeper than the dialect's parser takes (`why`, its words):
    // at each outermost expression that alone is too deep, or else at the largest one, where
    // the query's `steps` (one for each let that reads another) are named as the depth.
    void refuse_beyond_parser(const std::string& why, size_t steps);

    std::string node(const bound::Expr& e, int fact);
    std::string call(const bound::Expr& e, const bound::Call& c, int fact);
    std::string binary(const bound::Expr& e, const bound::Binary& b, int fact);
    // `lhs op rhs` for one of the six comparisons; an integer against a number by their exact
    // values (Dialect::exact_compare) unless a literal of either makes the doubles exact.
    std::string comparison(ast::BinaryOp op, const bound::Expr& lhs, const bound::Expr& rhs,
                           int fact);
    // Whether an in list or a between compares an integer with a number where the database's
    // own comparison is not exact: then it is lowered as comparisons.
    bool needs_exact_compare(const std::vector<const bound::Expr*>& operands) const;
    std::optional<Duration> constant_duration(const bound::Expr& e);
    // A duration that is not a constant, as the constant it takes on each row: if() and
    // coalesce() over durations, the lets that name them, their sums, differences and
    // negations. The cases are tried in order, each a condition (in SQL; empty: always) and a
    // duration (nullopt: null); the last one always holds. nullopt for any other duration.
    using DurationCases = std::vector<std::pair<std::string, std::optional<Duration>>>;
    std::optional<DurationCases> duration_cases(const bound::Expr& e, int fact);
    // A CASE over `value` of each case's duration (NULL for a null one); the value alone
    // when there is one case.
    static std::string case_of(const DurationCases& cases,
                               const std::function<std::string(const Duration&)>& value);
    std::optional<std::string> record_prefix(const bound::Expr& e);
    std::string literal(const bound::Expr& e, const ast::LiteralValue& v);

    std::string add_step(const std::string& sql);
    void add_columns(const std::vector<std::pair<std::string, std::string>>& columns);
    void hoist_population(const bound::Expr& e);
    // Whether `e` calls a ranking population function that has no step yet.
    bool has_unhoisted_population(const bound::Expr& e) const;
    void population_step(const bound::Expr& e, const bound::Call& c);
    std::string rank_tile(const std::string& x, Type type, int64_t n, bool descending);
    bool facts_and_aggregates(std::vector<std::string>& joins, std::vector<std::string>& columns);
    std::string aggregate_sql(const bound::Aggregate& a, const std::string& fact_step);
    std::string portable_total(const std::string& all_rows, Type vt, bool avg,
                               const std::string& by);
    // RunColumns::aggregate_rows (sql/aggregate_rows.cpp): per aggregate, the fact rows it
    // took for each customer (k, n) and of those the rows without a value (nn), over
    // `fact_rows` (k, f<slot>, t); the steps of the CTE plan (a<j>_n, joined to cust) and the
    // nested plan's joins; the columns' names in the run query.
    bool count_rows_ = false;
    std::string aggregate_rows_sql(const bound::Aggregate& a, const std::string& fact_rows);
    void aggregate_row_steps(const std::vector<std::string>& fact_steps,
                             std::vector<std::string>& joins, std::vector<std::string>& columns);
    void nested_aggregate_rows(const std::vector<std::string>& fact_rows,
                               std::vector<std::pair<std::string, std::string>>& filled);
    std::vector<std::string> aggregate_row_columns() const;
    void add_lets();
    // What the query reads (sql/needed.cpp), by index into the program's lets, aggregates and
    // columns: for `strata compile`, what its segment conditions, source.since and the
    // `let_columns` read, directly or through other lets and aggregates; for a run's query
    // (`everything`), all of them, since its further columns report every population call.
    std::vector<bool> needed_lets_, needed_aggregates_, needed_columns_;
    // Per fact, by slot of FactUse::columns: the columns its needed aggregates read, and its
    // time column. The others are read as NULL (their type is not asked for).
    std::vector<std::vector<bool>> needed_fact_columns_;
    void mark_needed(const std::vector<std::string>& let_columns, bool everything);
    // The lets `let_columns` names as further columns of the placement (", l<i> AS name" each);
    // a name that is not a let, or a record or duration let, is refused.
    std::string let_column_list(const std::vector<std::string>& let_columns);
    // The open general stays to join for the stored state (nullopt: no rule reads it, or the
    // dialect refuses it), and its columns c<slot> read from the joined `from` prefix.
    std::optional<std::string> stored_state_source();
    std::vector<std::pair<std::string, std::string>> stored_state_columns(
        const std::string& from) const;
    void add_stored_state(std::vector<std::string>& joins, std::vector<std::string>& columns);
    void add_stored_state_nested();
    // `at[i]`: where the rule file names columns[i] (for a name the dialect cannot quote).
    std::string renamed_source(const std::vector<std::string>& columns,
                               const std::vector<Location>& at, const std::string& table,
                               const Location& table_at, std::vector<std::string>& names);
    std::string placement(const std::string& extra_columns, RunColumns* run_columns);
    std::string run_columns(RunColumns& run);
    std::string quoted(const std::string& name, const Location& at);
    std::string text(const std::string& s, const Location& at);
    // Datetimes: the type two operands meet as (a date beside a datetime is its midnight),
    // and the calendar day of a date or datetime expression.
    static Type time_line(Type a, Type b);
    static bool on_seconds(const std::vector<const bound::Expr*>& operands);
    std::string day_of(const bound::Expr& e, int fact);
    // The day of `b` (a date or datetime ± a duration) from its moment's day `day`; nullopt
    // after refusing.
    std::optional<std::string> shifted_day(const bound::Binary& b, std::string day, int fact);
    // `day` moved by a constant duration (`sign` -1 to subtract it); nullopt after refusing at
    // `at`.
    std::optional<std::string> moved_day(std::string day, const Duration& d, int sign,
                                         const Location& at);
    const std::string& file() const { return rules_.source.path(); }

    // The nested plan (sql/nested_plan.cpp), for dialects without table CTEs and window
    // functions: each step a subquery of the next, one join per SELECT, population ranks
    // from sorted arrays. `columns_` names the current step's columns.
    bool nested() const { return !d_.has_ctes_and_windows(); }
    std::vector<std::string> columns_;
    std::optional<std::string> compile_nested(const std::vector<std::string>& let_columns,
                                              RunColumns* run_columns);
    void nested_population(const bound::Expr& e, const bound::Call& c);
    void nested_rank(const std::string& x, const std::string& name, bool descending, int64_t tiles);
    std::string nested_aggregate(const bound::Aggregate& a, const std::string& fact_rows);

    // Rows an aggregate groups: the columns of a subquery of the plan (`by` and x), or, in the
    // nested plan, its fact's table read in the SELECT that groups, each cell written where it
    // is used: a Distributed table then groups on its shards and only the groups travel.
    struct GroupedRows {
        std::string from;                                     // "(subquery)" or a table
        std::vector<std::pair<std::string, std::string>> by;  // (name, expression)
        std::string x;       // a row's value ("NULL": none, as count(fact))
        std::string where;   // which rows: a condition that is never null
        std::string prefix;  // the grouping SELECT's aliases ("": a subquery, no renaming)
    };
    // `SELECT <by names>, <aggregate names>` of `rows` grouped by `by` (`also`: a further
    // condition on the rows). Aggregates are (name, expression over rows.x).
    std::string grouped(const GroupedRows& rows,
                        const std::vector<std::pair<std::string, std::string>>& aggregates,
                        const std::string& also = "") const;
    // A fact read by the SELECT that groups it: its table, key, cells (by slot) and the day of
    // its time, written over the table's own columns, and a prefix none of them starts with.
    struct FactCells {
        std::string table, key, day, prefix;
        std::vector<std::string> cells;
    };
    std::vector<FactCells> fact_cells_;
    const FactCells* inline_cells_ = nullptr;  // set: expr() writes fact columns as these
    GroupedRows fact_grouping(const bound::Aggregate& a);
    // sum or avg of rows.x per group, giving the `by` names and v.
    std::string nested_total(const GroupedRows& rows, Type vt, bool avg);

    // cv and abc (sql/cv_and_abc.cpp). cv_rows: the rows cv takes (k, x, and pk, the period
    // counting back from as_of), with `periods` set; over `fact_rows` (k, f<slot>, t).
    // `with_null_values`: rows whose value is null stay (the rows cv took, as explain counts
    // them).
    std::string cv_rows(const bound::Aggregate& a, const std::string& fact_rows, int& periods,
                        bool with_null_values = false);
    std::string cv_step(const bound::Aggregate& a, const std::string& fact_rows);
    std::string nested_cv(const bound::Aggregate& a, const std::string& fact_rows);
    // cv for a dialect with sqrt() but without its own step (SQLite): each period a column,
    // mean and variance written out term by term in period order (the language allows at
    // most 400 periods, well within SQLite's expression depth of 1000).
    std::string unrolled_cv(const std::string& rows, Type type, int periods);
    // abc of the column `x` as the column `name` (CTE plan and nested plan).
    void abc_step(const bound::Call& c, const std::string& x, const std::string& name);
    void nested_abc(const bound::Call& c, const std::string& x, const std::string& name);
    // A positive x's exact-sum units as abc counts them, null otherwise and where the engine
    // has none; it never stops the query for an x abc leaves without a class.
    std::string abc_units_or_null(const bound::Call& c, const std::string& x);
    // RunColumns::populations' columns, added to the current step; their names.
    std::vector<std::string> population_columns(const std::vector<const bound::Expr*>& calls);
};

}  // namespace strata::sql
