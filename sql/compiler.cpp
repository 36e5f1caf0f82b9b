// The plan: the query as explicit steps (CTEs), each adding columns to the one before.
//   cust     the customer table: key k, each cell read as its type (c<slot>), since applied
//   f<i>     each fact's rows: key, cells (f<slot>), the day of its time (t)
//   a<j>     each aggregate per customer, over the rows up to as_of that its where takes
//   s<n>     the customers with their aggregates, then steps for the lets (l<i>; lets that
//            do not read one another share one), per population function (p<n>: a window
//            over the whole base; cv and abc in cv_and_abc.cpp) and the segment conditions (w<j>)
//   the placement: the general segment by policy, the tactical ids that hold, in key order
//            (placement.cpp, with the columns a run reads back)
#include "sql/compiler.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

#include "sql/lowering.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::sql {

std::string Lowering::quoted(const std::string& name, const Location& at) {
    auto q = d_.identifier(name);
    if (!q) {
        // strata's own naming rule, not the dialect's quoting, refuses it; once per name.
        if (unquotable_.insert(name).second) {
            const std::string why = warehouse::identifier_problem(name);
            refuse(at, why.empty() ? "the name '" + name + "' cannot be written in its SQL" : why);
        }
        return "\"\"";
    }
    return *q;
}

std::string Lowering::add_step(const std::string& sql) {
    projection_.reset();
    if (nested()) return current_ = "(" + sql + ")";
    std::string name = "s" + std::to_string(++counter_);
    steps_.push_back({name, sql, true});
    current_ = name;
    return name;
}

namespace {

// Whether an expression names any of `columns` (a word of its text that is one of their
// names: a string literal's words count too, which only costs a step).
bool names_any(const std::string& sql,
               const std::vector<std::pair<std::string, std::string>>& columns) {
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (size_t i = 0; i < sql.size();) {
        if (!word(sql[i])) {
            ++i;
            continue;
        }
        size_t end = i;
        while (end < sql.size() && word(sql[end]))
            ++end;
        const std::string_view w(sql.data() + i, end - i);
        for (const auto& column : columns)
            if (column.first == w) return true;
        i = end;
    }
    return false;
}

// Whether `sql` is one name (a column of the step below, or of this one).
bool bare_name(const std::string& sql) {
    return !sql.empty() && !std::isdigit(static_cast<unsigned char>(sql[0])) &&
           std::all_of(sql.begin(), sql.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
           });
}

}  // namespace

void Lowering::add_columns(const std::vector<std::pair<std::string, std::string>>& given) {
    std::vector<std::pair<std::string, std::string>> columns = given;
    Projection step{current_, {}};
    if (nested() && projection_) {
        // A column that only renames a renaming column of the last step renames what it does.
        for (auto& column : columns)
            for (const auto& [name, value] : projection_->columns)
                if (column.second == name && bare_name(value)) column.second = value;
        bool reads = false;
        for (const auto& column : columns)
            reads = reads || names_any(column.second, projection_->columns);
        if (!reads) step = std::move(*projection_);
    }
    for (const auto& column : columns) {
        step.columns.push_back(column);
        columns_.push_back(column.first);
    }
    std::string sql = "SELECT *";
    for (const auto& [name, value] : step.columns)
        sql += ", " + value + " AS " + name;
    add_step(sql + " FROM " + step.from);
    if (nested()) projection_ = std::move(step);
}

// The tile of each non-null x among the non-null ones: 1 + floor(n·L/N), L the customers with
// a strictly smaller x (larger, when descending), so ties always share a tile.
std::string Lowering::rank_tile(const std::string& x, Type type, int64_t n, bool descending) {
    const std::string order =
        (type == Type::String ? d_.collate_bytes(x) : x) + (descending ? " DESC" : "");
    const std::string part = "PARTITION BY " + x + " IS NULL";
    return "(CASE WHEN " + x + " IS NOT NULL THEN 1 + (" + d_.integer_literal(n) +
           " * (RANK() OVER (" + part + " ORDER BY " + order + ") - 1)) / (COUNT(*) OVER (" + part +
           ")) END)";
}

void Lowering::population_step(const bound::Expr& e, const bound::Call& c) {
    if (nested()) return nested_population(e, c);
    const std::string p = "p" + std::to_string(++counter_);
    std::vector<std::pair<std::string, std::string>> inputs;
    const size_t arity = c.fn == bound::Fn::Rfm ? 3 : 1;
    for (size_t k = 0; k < arity; ++k)
        inputs.emplace_back(p + "_x" + std::to_string(k), expr(*c.args[k], -1));
    add_columns(inputs);
    auto x = [&](size_t k) { return p + "_x" + std::to_string(k); };
    switch (c.fn) {
        case bound::Fn::Ntile:
            add_columns({{p, rank_tile(x(0), c.args[0]->type, c.params.n, false)}});
            break;
        case bound::Fn::PercentRank: {
            const std::string part = "PARTITION BY " + x(0) + " IS NULL";
            const std::string order =
                c.args[0]->type == Type::String ? d_.collate_bytes(x(0)) : x(0);
            add_columns(
                {{p, "(CASE WHEN " + x(0) + " IS NOT NULL THEN " +
                         d_.to_double("RANK() OVER (" + part + " ORDER BY " + order + ") - 1") +
                         " / (COUNT(*) OVER (" + part + ")) END)"}});
            break;
        }
        case bound::Fn::Rfm: {
            const int64_t bins = c.params.n;
            const bool age = is_numeric(c.args[0]->type);
            add_columns({{p + "_t0", rank_tile(x(0), c.args[0]->type, bins, age)},
                         {p + "_t1", rank_tile(x(1), c.args[1]->type, bins, false)},
                         {p + "_t2", rank_tile(x(2), c.args[2]->type, bins, false)}});
            auto score = [&](int k) {
                const std::string t = p + "_t" + std::to_string(k);
                return c.params.best_low ? "(" + d_.integer_literal(bins + 1) + " - " + t + ")" : t;
            };
            const std::string sep = bins > 9 ? " || '-' || " : " || ";
            add_columns(
                {{p + "_r", score(0)},
                 {p + "_f", score(1)},
                 {p + "_m", score(2)},
                 {p + "_code", "(CAST(" + score(0) + " AS TEXT)" + sep + "CAST(" + score(1) +
                                   " AS TEXT)" + sep + "CAST(" + score(2) + " AS TEXT))"}});
            break;
        }
        default:
            abc_step(c, x(0), p);
            break;
    }
    population_[&e] = p;
}

// Computes every population call inside `e` (innermost first) as a step of its own.
namespace {

// f(expr, call) for every call inside `e`, its arguments' calls first.
template <class F>
void for_each_call(const bound::Expr& e, const F& f) {
    bound::for_each_operand(e, [&f](const bound::Expr& o) { for_each_call(o, f); });
    if (const auto* call = std::get_if<bound::Call>(&e.node)) f(e, *call);
}

// A population function that ranks the whole base (a step of its own); xyz is a formula.
bool ranks(const bound::Call& c) {
    return bound::is_population(c.fn) && c.fn != bound::Fn::Xyz;
}

}  // namespace

void Lowering::hoist_population(const bound::Expr& e) {
    for_each_call(e, [&](const bound::Expr& at, const bound::Call& c) {
        if (ranks(c) && !population_.count(&at)) population_step(at, c);
    });
}

bool Lowering::has_unhoisted_population(const bound::Expr& e) const {
    bool found = false;
    for_each_call(e, [&](const bound::Expr& at, const bound::Call& c) {
        found = found || (ranks(c) && !population_.count(&at));
    });
    return found;
}

std::string Lowering::aggregate_sql(const bound::Aggregate& a, const std::string& fact_step) {
    const bound::FactUse& fact = rules_.program.facts.at(static_cast<size_t>(a.fact));
    std::string where =
        fact.time.empty() ? d_.bool_literal(true) : "t <= " + d_.integer_literal(as_of_.days);
    if (a.where) where += " AND (" + expr(*a.where, a.fact) + ")";
    const Type vt = a.value ? a.value->type : Type::Null;
    std::string x = a.value ? expr(*a.value, a.fact) : "NULL";
    if (vt == Type::String) x = d_.collate_bytes(x);
    const std::string all_rows = "SELECT k, " + x + " AS x FROM " + fact_step + " WHERE " + where;
    auto grouped = [&](const std::string& cols) {
        return "SELECT k, " + cols + " FROM (" + all_rows + ")" + d_.subquery_alias() +
               " GROUP BY k";
    };
    switch (a.fn) {
        case bound::AggFn::Count:
            return grouped(a.value ? "count(x) AS v" : "count(*) AS v");
        case bound::AggFn::CountDistinct:
            return grouped("count(DISTINCT x) AS v");
        case bound::AggFn::Min:
            return grouped(d_.min_max(true, "x", vt) + " AS v");
        case bound::AggFn::Max:
            return grouped(d_.min_max(false, "x", vt) + " AS v");
        case bound::AggFn::Cv:
            return cv_step(a, fact_step);
        default:
            break;
    }
    const bool avg = a.fn == bound::AggFn::Avg;
    // Only the values count: a customer whose values are all null gets the empty sum's 0 (and
    // a null average), while a null total means beyond range. A dialect's own step sees only
    // the values (no group for such a customer); the portable steps below count them (n) and
    // add no level of nesting (SQLite's parser allows only so much).
    if (auto own = d_.exact_sum_step("SELECT k, x FROM (" + all_rows + ") nn WHERE x IS NOT NULL",
                                     vt, avg))
        return *own;
    return portable_total(all_rows, vt, avg, "k");
}

// The compiler's own exact sum or average (engine/exact_sum.hpp) of `all_rows` (columns `by`
// and x of type `vt`), one row per group of `by` with v.
std::string Lowering::portable_total(const std::string& all_rows, Type vt, bool avg,
                                     const std::string& by) {
    if (vt == Type::Int) {
        // Two 32-bit halves summed apart cannot overflow; the total is null beyond 64 bits.
        const std::string limbs = "SELECT " + by +
                                  ", sum(x >> 32) AS h, sum(x & 4294967295) AS lo, count(x) AS n "
                                  "FROM (" +
                                  all_rows + ")" + d_.subquery_alias() + " GROUP BY " + by;
        const std::string total =
            "SELECT " + by +
            ", n, (CASE WHEN n = 0 THEN 0 WHEN h2 BETWEEN -2147483648 AND 2147483647 THEN "
            "h2 * 4294967296 + l2 END) AS tot FROM (SELECT " +
            by +
            ", n, h + (lo >> 32) AS h2, lo & "
            "4294967295 AS l2 FROM (" +
            limbs + "))";
        if (!avg) return "SELECT " + by + ", tot AS v FROM (" + total + ")";
        // engine/exact_sum.hpp: the total in units and count·10^9 as doubles, divided.
        return "SELECT " + by +
               ", (CASE WHEN n = 0 THEN NULL WHEN abs(tot) <= 9223372036 THEN "
               "CAST(tot * 1000000000 AS REAL) / CAST(n * 1000000000 AS REAL) ELSE " +
               d_.stop("n") + " END) AS v FROM (" + total + ")";
    }
    // Numbers: each value as integer part i and 9-place fraction units u, summed apart; the
    // total of units is a·10^9 + b, rounded to a double once (engine/exact_sum.hpp).
    const std::string split =
        "SELECT " + by +
        ", x, (CASE WHEN abs(x) < 9223372036854775808.0 THEN CAST(x AS INTEGER) ELSE " +
        d_.stop("1") + " END) AS i FROM (" + all_rows + ") WHERE x IS NOT NULL";
    const std::string units = "SELECT " + by + ", sum(i) AS si, sum(" +
                              d_.fraction_units("(x - i)") + ") AS sf, count(x) AS n FROM (" +
                              split + ") GROUP BY " + by;
    const std::string normal = "SELECT " + by +
                               ", n, si + sf / 1000000000 AS a0, sf % 1000000000 AS b0 FROM (" +
                               units + ")";
    const std::string same_sign =
        "SELECT " + by +
        ", n, (CASE WHEN a0 > 0 AND b0 < 0 THEN a0 - 1 WHEN a0 < 0 AND b0 > 0 THEN a0 + 1 "
        "ELSE a0 END) AS a, (CASE WHEN a0 > 0 AND b0 < 0 THEN b0 + 1000000000 WHEN a0 < 0 AND b0 > "
        "0 THEN b0 - 1000000000 ELSE b0 END) AS b FROM (" +
        normal + ")";
    if (avg) {
        return "SELECT " + by +
               ", (CASE WHEN abs(a) <= 9223372035 THEN CAST(a * 1000000000 + b AS REAL) / "
               "CAST(n * 1000000000 AS REAL) ELSE " +
               d_.stop("n") + " END) AS v FROM (" + same_sign + ")";
    }
    return "SELECT " + by +
           ", (CASE WHEN abs(a) <= 9007198 THEN CAST(a * 1000000000 + b AS REAL) / "
           "1000000000.0 WHEN abs(a) < 9007199254740992 THEN (CASE WHEN a < 0 OR b < 0 THEN -1.0 "
           "ELSE 1.0 END) * (CAST(abs(a) AS REAL) + CAST(abs(b) AS REAL) / 1000000000.0) ELSE " +
           d_.stop("n") + " END) AS v FROM (" + same_sign + ")";
}

bool Lowering::facts_and_aggregates(std::vector<std::string>& joins,
                                    std::vector<std::string>& columns) {
    const auto& program = rules_.program;
    std::vector<std::string> fact_steps;
    for (size_t i = 0; i < program.facts.size(); ++i) {
        const bound::FactUse& f = program.facts[i];
        const Location at =
            rules_.rules.facts.empty() ? Location{} : rules_.rules.facts[0].location;
        if (auto reason = d_.key_refusal(f.table, f.key))
            refuse(at, "key column '" + f.table + "." + f.key + "': " + *reason);
        std::string sql =
            "SELECT " +
            d_.read_column_key(f.table, f.key, quoted(f.table, at) + "." + quoted(f.key, at)) +
            " AS fk";
        for (size_t s = 0; s < f.columns.size(); ++s) {
            if (!needed_fact_columns_.at(i).at(s)) {
                sql += ", NULL AS f" + std::to_string(s);
                continue;
            }
            refuse_unreadable(f.table, f.columns[s].name, f.columns[s].type,
                              fact_type_location(f.name, f.columns[s].name, at));
            auto cell = d_.read_column(f.table, f.columns[s].name,
                                       quoted(f.table, at) + "." + quoted(f.columns[s].name, at),
                                       f.columns[s].type);
            if (!cell) {
                refuse_fact_column(at, f.table, f.columns[s].name, f.columns[s].type);
                cell = "NULL";
            }
            sql += ", " + *cell + " AS f" + std::to_string(s);
        }
        if (!f.time.empty())
            sql += ", " +
                   d_.read_column_day(f.table, f.time,
                                      quoted(f.table, at) + "." + quoted(f.time, at)) +
                   " AS t";
        sql += " FROM " + d_.table_reference(quoted(f.table, at));
        // Each row to the customer its key joins (engine/reader.hpp, KeyIndex); rows of no
        // customer drop out.
        // (Steps of their own: SQLite's parser allows only so much nesting in one.)
        const std::string name = "f" + std::to_string(i);
        steps_.push_back({name + "_raw", sql});
        steps_.push_back({name + "_keyed", "SELECT " + d_.key_kind("fk") + " AS fkind, " +
                                               d_.key_text("fk") + " AS fjk, q.* FROM " + name +
                                               "_raw q WHERE fk IS NOT NULL"});
        sql = "SELECT o.k AS k, r.* FROM " + name + "_keyed r JOIN cust o ON o.jk = r.fjk AND " +
              "(o.kind = r.fkind OR NOT EXISTS (SELECT 1 FROM cust o2 WHERE o2.jk = r.fjk AND " +
              "o2.kind = r.fkind))";
        steps_.push_back({name, sql});
        fact_steps.push_back(name);
    }
    for (size_t j = 0; j < program.aggregates.size(); ++j) {
        if (!needed_aggregates_[j]) continue;
        const bound::Aggregate& a = program.aggregates[j];
        const std::string name = "a" + std::to_string(j);
        steps_.push_back(
            {name + "_v", aggregate_sql(a, fact_steps.at(static_cast<size_t>(a.fact)))});
        joins.push_back(" LEFT JOIN " + name + "_v ON " + name + "_v.k = cust.k");
        std::string empty = "NULL";
        if (a.fn == bound::AggFn::Count || a.fn == bound::AggFn::CountDistinct) empty = "0";
        if (a.fn == bound::AggFn::Sum) empty = a.type == Type::Int ? "0" : "0.0";
        // A customer without rows gets the empty value; a total that is null (beyond the
        // integers) stays null.
        columns.push_back(empty == "NULL" ? name + "_v.v AS " + name
                                          : "(CASE WHEN " + name + "_v.k IS NULL THEN " + empty +
                                                " ELSE " + name + "_v.v END) AS " + name);
    }
    if (count_rows_) aggregate_row_steps(fact_steps, joins, columns);
    return true;
}

// previous_segment, segment_since and days_in_segment from the ruleset's general stays as the
// as_of day began, where the dialect reads them (the customer's place then; null for a
// customer without one, as engine/run_parts.hpp's fill_state_columns). Both plans join them
// by the key; these two give what is joined and the columns read from it.
std::optional<std::string> Lowering::stored_state_source() {
    const auto& program = rules_.program;
    const RuleFile& rf = rules_.rules;
    if (!program.reads_stored_state()) return std::nullopt;
    auto stays = d_.open_general_stays(rf.customers_table, rf.key, rf.ruleset, format_date(as_of_));
    if (stays) reads_state_ = true;  // else refused where each is used
    return stays;
}

std::vector<std::pair<std::string, std::string>> Lowering::stored_state_columns(
    const std::string& from) const {
    const auto& program = rules_.program;
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t s = 0; s < program.columns.size(); ++s) {
        const bound::ColumnUse& use = program.columns[s];
        if (use.source != bound::ColumnSource::State) continue;
        out.emplace_back("c" + std::to_string(s),
                         use.name == "previous_segment" ? from + "state_segment"
                         : use.name == "segment_since"  ? from + "state_since"
                                                        : "(" + d_.integer_literal(as_of_.days) +
                                                             " - " + from + "state_since)");
    }
    return out;
}

void Lowering::add_stored_state(std::vector<std::string>& joins,
                                std::vector<std::string>& columns) {
    const auto stays = stored_state_source();
    if (!stays) return;
    joins.push_back(" LEFT JOIN (" + *stays + ") st ON st.state_jk = cust.jk");
    for (const auto& [name, value] : stored_state_columns("st."))
        columns.push_back(value + " AS " + name);
}

// Each let a column (a record let: the columns of its rfm), its population calls first. Lets
// that do not read one another share a step: ClickHouse plans a query in time that grows with
// the number of nested steps times their size, and one step a let made a rule file with a
// score of lets take seconds to plan.
void Lowering::add_lets() {
    const auto& program = rules_.program;
    std::vector<std::pair<std::string, std::string>> batch;
    auto flush = [&] {
        if (!batch.empty()) add_columns(batch);
        batch.clear();
    };
    // Whether `sql` names a column of the batch (a false alarm, a name inside a literal, only
    // costs a step).
    auto reads_batch = [&](const std::string& sql) {
        for (const auto& column : batch) {
            const std::string& name = column.first;
            for (size_t at = sql.find(name); at != std::string::npos; at = sql.find(name, at + 1)) {
                const size_t after = at + name.size();
                const auto word = [&](size_t i) {
                    return std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_';
                };
                if ((at == 0 || !word(at - 1)) && (after == sql.size() || !word(after)))
                    return true;
            }
        }
        return false;
    };
    for (size_t i = 0; i < program.lets.size(); ++i) {
        if (!needed_lets_[i]) continue;
        const bound::Let& let = program.lets[i];
        // A population step reads the lets before it.
        if (has_unhoisted_population(*let.expr)) flush();
        hoist_population(*let.expr);
        // A duration has no column: it is written out where it is added to a date
        // (shifted_day), and refused there if it cannot be.
        if (let.type == Type::Duration) continue;
        if (let.type == Type::Record) {
            auto prefix = record_prefix(*let.expr);
            if (!prefix) {
                refuse(let.expr->location, "not compiled yet: a record let that is not rfm(...)");
                prefix = "NULL";
            }
            record_lets_[static_cast<int>(i)] = *prefix;
            continue;
        }
        const std::string value = expr(*let.expr, -1);
        if (reads_batch(value)) flush();
        batch.emplace_back("l" + std::to_string(i), value);
    }
    flush();
}

std::optional<std::string> Lowering::compile(const std::vector<std::string>& let_columns,
                                             RunColumns* run_columns) {
    auto query = compile_query(let_columns, run_columns);
    for (const auto& [column, refusal] : use_refusals_)
        if (!refusal.refused)
            refuse(refusal.otherwise, "column '" + column + "': " + refusal.reason);
    if (!use_refusals_.empty()) return std::nullopt;
    return query;
}

std::optional<std::string> Lowering::compile_query(const std::vector<std::string>& let_columns,
                                                   RunColumns* run_columns) {
    count_rows_ = run_columns && run_columns->aggregate_rows;
    mark_needed(let_columns, run_columns != nullptr);
    if (nested()) return compile_nested(let_columns, run_columns);
    const auto& program = rules_.program;
    const RuleFile& rf = rules_.rules;
    // Columns are written qualified by their table: SQLite reads an unknown "name" alone as a
    // text literal, where "table"."name" is an error naming the column.
    auto customer_column = [&](const std::string& name, const Location& at) {
        return quoted(rf.customers_table, rf.customers_location) + "." + quoted(name, at);
    };
    // The customers, each cell read as its type, in scan order (rid).
    const auto order =
        d_.scan_order(rf.customers_table, quoted(rf.customers_table, rf.customers_location));
    if (auto reason = d_.key_refusal(rf.customers_table, rf.key))
        refuse(rf.key_location,
               "key column '" + rf.customers_table + "." + rf.key + "': " + *reason);
    std::string cust =
        "SELECT " + order.value_or("0") + " AS rid, " +
        d_.read_column_key(rf.customers_table, rf.key, customer_column(rf.key, rf.key_location)) +
        " AS k";
    for (size_t s = 0; s < program.columns.size(); ++s) {
        const bound::ColumnUse& use = program.columns[s];
        if (use.source == bound::ColumnSource::State || !needed_columns_[s]) continue;
        refuse_unreadable(rf.customers_table, use.name, use.type,
                          type_location(rf.types, use.name, rf.customers_location),
                          !rf.types.count(use.name));
        auto cell = d_.read_column(rf.customers_table, use.name,
                                   customer_column(use.name, rf.customers_location), use.type);
        if (!cell) cell = "NULL";  // refused where it is used
        cust += ", " + *cell + " AS c" + std::to_string(s);
    }
    std::string since_filter;
    if (rules_.since) {
        const auto* col = std::get_if<bound::CustomerColumn>(&rules_.since->node);
        if (col) {
            const std::string& since = program.columns.at(static_cast<size_t>(col->slot)).name;
            const std::string day = d_.read_column_day(rf.customers_table, since,
                                                       customer_column(since, rf.since.location));
            cust += ", " + day + " AS since_day";
            since_filter =
                " AND (since_day IS NULL OR since_day <= " + d_.integer_literal(as_of_.days) + ")";
        }
    }
    cust += " FROM " + d_.table_reference(quoted(rf.customers_table, rf.customers_location));
    // Rows without a key drop out; of rows with the same key, the first in scan order stays
    // (engine/reader.hpp), before source.since leaves out the customers who joined later.
    steps_.push_back({"cust_raw", cust});
    steps_.push_back({"cust_rows", "SELECT " + d_.key_kind("k") + " AS kind, " + d_.key_text("k") +
                                       " AS jk, q.* FROM cust_raw q WHERE k IS NOT NULL"});
    steps_.push_back({"cust",
                      "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY kind, jk "
                      "ORDER BY rid) AS dup FROM cust_rows) d WHERE dup = 1" +
                          since_filter});
    std::vector<std::string> joins, columns;
    facts_and_aggregates(joins, columns);
    add_stored_state(joins, columns);
    std::string base = "SELECT cust.*";
    for (const auto& c : columns)
        base += ", " + c;
    base += " FROM cust";
    for (const auto& j : joins)
        base += j;
    add_step(base);
    add_lets();
    const std::string query = placement(let_column_list(let_columns), run_columns);
    if (diags_.has_errors()) return std::nullopt;
    std::string out = "WITH\n";
    for (size_t i = 0; i < steps_.size(); ++i)
        out += "  " + steps_[i].name + d_.step_as() + "(" +
               (steps_[i].computes ? d_.step_body(steps_[i].sql) : steps_[i].sql) + ")" +
               (i + 1 < steps_.size() ? ",\n" : "\n");
    out += query;
    if (auto why = d_.beyond_parser(out)) {
        refuse_beyond_parser(*why, steps_.size());
        return std::nullopt;
    }
    return out;
}

std::string Lowering::let_column_list(const std::vector<std::string>& let_columns) {
    const auto& program = rules_.program;
    std::string extra;
    for (const auto& name : let_columns) {
        size_t i = 0;
        while (i < program.lets.size() && program.lets[i].name != name)
            ++i;
        if (i == program.lets.size() || program.lets[i].type == Type::Record ||
            program.lets[i].type == Type::Duration) {
            diags_.error(file(), Location{},
                         "cannot output '" + name + "': " +
                             (i == program.lets.size() ? "no let has that name"
                              : program.lets[i].type == Type::Duration
                                  ? "a duration has no column"
                                  : "a record is output through its fields"));
            continue;
        }
        extra += ", l" + std::to_string(i) + " AS " + quoted(name, Location{});
    }
    return extra;
}

}  // namespace strata::sql
