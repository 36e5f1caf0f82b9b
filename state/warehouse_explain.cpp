#include "state/warehouse_explain.hpp"

#include "state/foreign_tables.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <unordered_map>

#include "analysis/population_story.hpp"
#include "engine/numeric.hpp"
#include "engine/reader.hpp"
#include "engine/value_ops.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/at_scope_exit.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_state.hpp"
#include "state/warehouse_firing.hpp"
#include "state/warehouse_populations.hpp"
#include "state/warehouse_report.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

namespace {

using warehouse::Cell;

// Whether a warehouse computes a node's value as columns (sql/compiler.hpp's RunColumns): a
// record only as an rfm call or a record let (the only records the compiler builds), a
// duration as the text of its months and days. A
// literal, and a node of the null type (always null), need no column (and ClickHouse keeps
// no column of type Nullable(Nothing) in a table).
bool computable(const CompiledRules& rules, const bound::Expr& e) {
    switch (e.type) {
        case Type::Bool:
        case Type::Int:
        case Type::Number:
        case Type::String:
        case Type::Date:
        case Type::DateTime:
        case Type::Duration:  // as "<months> <days>" (sql/placement.cpp)
            return true;
        case Type::Record: {
            if (const auto* call = std::get_if<bound::Call>(&e.node))
                return call->fn == bound::Fn::Rfm;
            const auto* let = std::get_if<bound::LetRef>(&e.node);
            return let && rules.program.lets[static_cast<size_t>(let->index)].type == Type::Record;
        }
        default:
            return false;
    }
}

// The run's query with a column per node the explanation shows, the columns its population
// calls' cut points are counted from, and the fact rows behind each aggregate.
struct ExplainQuery {
    std::string sql;
    std::vector<const bound::Expr*> nodes;        // strata_expr_<i> is nodes[i]
    std::vector<const bound::Expr*> populations;  // strata_pop_<i>_... is populations[i]
};

std::optional<ExplainQuery> compile_explain(const CompiledRules& rules, Date as_of,
                                            const sql::Dialect& dialect,
                                            WarehouseExplainError& error) {
    ExplainQuery q;
    for (const bound::Expr* e : explained_nodes(rules)) {
        if (!std::holds_alternative<bound::Literal>(e->node) && computable(rules, *e))
            q.nodes.push_back(e);
    }
    q.populations = population_exprs(rules);
    sql::RunColumns columns;
    columns.values = q.nodes;
    columns.populations = q.populations;
    columns.aggregate_rows = true;
    auto query = sql::compile_run_query(rules, as_of, dialect, error.refusals, columns);
    if (!query) {
        const size_t n = error.refusals.error_count();
        error.message = std::to_string(n) + (n == 1 ? " construct" : " constructs") +
                        " cannot be compiled to " + dialect.name();
        error.rule_problem = true;
        return std::nullopt;
    }
    q.sql = std::move(*query);
    return q;
}

bool is_percent_rank(const bound::Expr& e) {
    const auto* call = std::get_if<bound::Call>(&e.node);
    return call && call->fn == bound::Fn::PercentRank;
}

// What the answer's one row holds after its five fixed cells (customers with the key,
// customers unplaced, a few of their keys, the customer's segment and tactical paths): the
// customer's cell of each column (a record node's four fields), then for each percent_rank
// call the customers ranked below the customer. Each backend spells them.
struct RowParts {
    std::vector<std::string> customer_columns;
    // For each percent_rank call: its argument's column and type.
    std::vector<std::pair<std::string, Type>> rank_columns;
};

RowParts row_parts(const CompiledRules& rules, const ExplainQuery& q) {
    RowParts parts;
    for (size_t i = 0; i < q.nodes.size(); ++i) {
        const std::string column = "strata_expr_" + std::to_string(i);
        if (q.nodes[i]->type != Type::Record) {
            parts.customer_columns.push_back(column);
            continue;
        }
        for (const std::string& field : bound::rfm_fields())
            parts.customer_columns.push_back(column + "_" + field);
    }
    for (size_t j = 0; j < rules.program.aggregates.size(); ++j) {
        parts.customer_columns.push_back("strata_rows_" + std::to_string(j));
        parts.customer_columns.push_back("strata_rows_null_" + std::to_string(j));
    }
    for (size_t i = 0; i < q.populations.size(); ++i) {
        if (is_percent_rank(*q.populations[i]))
            parts.rank_columns.emplace_back(
                "strata_pop_" + std::to_string(i) + "_x0",
                std::get<bound::Call>(q.populations[i]->node).args[0]->type);
    }
    return parts;
}

// The values of one customer's row: one cell per computed node (four for a record), the
// fact rows behind each aggregate, and the run's fits for the population calls' `because`.
class RowValues : public ExplainValues {
  public:
    RowValues(const CompiledRules& rules, const ExplainQuery& q, const std::vector<Cell>& cells,
              const Value& key)
        : rules_(rules), key_(key) {
        size_t at = 0;
        for (const bound::Expr* node : q.nodes) {
            if (node->type != Type::Record) {
                values_.emplace(node, value_from_cell(cells.at(at++), node->type));
                continue;
            }
            // rfm's record: r, f and m scores, and the code.
            Value fields[4];
            for (size_t k = 0; k < 4; ++k)
                fields[k] = value_from_cell(cells.at(at++), k < 3 ? Type::Int : Type::String);
            values_.emplace(node, Value{make_record({fields[0], fields[1], fields[2], fields[3]})});
        }
        for (size_t j = 0; j < rules.program.aggregates.size(); ++j) {
            const int64_t taken = cell_integer(cells.at(at++));
            rows_.emplace_back(taken, cell_integer(cells.at(at++)));
        }
    }

    // The population calls' fits, in population_exprs' order, as a run inside the warehouse
    // counts them; `below`: for each percent_rank call in that order, the customers ranked
    // below this one (a fit counted there keeps no values: this customer's is enough).
    void set_fits(const ExplainQuery& q, std::vector<PopulationSummary> summaries,
                  const std::vector<int64_t>& below) {
        size_t rank = 0;
        for (size_t i = 0; i < q.populations.size() && i < summaries.size(); ++i) {
            PopulationFit fit = std::move(summaries[i].fit);
            if (auto* p = std::get_if<PercentRankFit>(&fit)) {
                const auto& call = std::get<bound::Call>(q.populations[i]->node);
                const Value x = at(*call.args[0]);
                if (!is_null(x) && rank < below.size()) {
                    p->values = {x};
                    p->below = {static_cast<size_t>(below[rank])};
                }
                ++rank;
            }
            fits_.record(q.populations[i], std::move(fit));
        }
    }

    std::optional<Value> value(const bound::Expr& e) const override {
        // A literal is what it says, wherever it is computed (a duration has no column).
        if (const auto* literal = std::get_if<bound::Literal>(&e.node))
            return value_ops::literal_value(literal->value);
        if (e.type == Type::Null) return Value{};
        const auto it = values_.find(&e);
        if (it == values_.end()) return std::nullopt;
        return it->second;
    }

    std::string because(const bound::Expr& e) const override {
        return population_because(
            rules_, e, fits_, [this](const bound::Expr& a) { return at(a); }, key_);
    }

    void aggregate_rows(int index, ExplainNode& n) const override {
        const auto a = static_cast<size_t>(index);
        if (a >= rows_.size()) return;
        n.rows = rows_[a].first;
        n.rows_without_value = rows_[a].second;
        n.fact = rules_.program.facts[static_cast<size_t>(rules_.program.aggregates[a].fact)].name;
    }

  private:
    // A node's value, null where it is not computed.
    Value at(const bound::Expr& e) const {
        const std::optional<Value> v = value(e);
        return v ? *v : Value{};
    }

    const CompiledRules& rules_;
    Value key_;
    std::unordered_map<const bound::Expr*, Value> values_;
    std::vector<std::pair<int64_t, int64_t>> rows_;  // taken, without a value
    PopulationFits fits_;
};

// The answer's one row (five fixed cells, then the customer's cells and the percent_rank
// counts of RowParts), with the fits counted by `count` over the evaluated base.
std::optional<Explanation> explanation_from(
    const CompiledRules& rules, Date as_of, const ExplainQuery& q, const Value& key,
    const warehouse::Row& row,
    const std::function<bool(std::vector<PopulationSummary>&)>& count_fits,
    WarehouseExplainError& error) {
    const int64_t found = cell_integer(row.at(0));
    if (const int64_t unplaced = cell_integer(row.at(1)); unplaced > 0) {
        error.message =
            unplaced_message(rules.rules.policy, unplaced,
                             row.at(2).value_or("") + (unplaced > 5 ? ", …" : ""), false);
        error.rule_problem = true;
        return std::nullopt;
    }
    if (found == 0) {
        // The warehouse query does not count who source.since leaves out: nothing said of it.
        error.message = not_in_base_message(rules, as_of, key_value_in_message(key), 0);
        return std::nullopt;
    }
    const RowParts parts = row_parts(rules, q);
    const auto first_rank = static_cast<std::ptrdiff_t>(5 + parts.customer_columns.size());
    const std::vector<Cell> cells(row.begin() + 5, row.begin() + first_rank);
    std::vector<int64_t> below;
    for (auto it = row.begin() + first_rank; it != row.end(); ++it)
        below.push_back(cell_integer(*it));
    std::vector<PopulationSummary> summaries;
    if (!count_fits(summaries)) return std::nullopt;
    RowValues values(rules, q, cells, key);
    values.set_fits(q, std::move(summaries), below);
    return explain_placed(rules, as_of, key, row.at(3).value_or(""), row.at(4).value_or(""),
                          values);
}

}  // namespace

std::optional<Explanation> explain_in_postgres(const CompiledRules& rules, const Schema& catalog,
                                               const warehouse::PostgresUrl& url, Date as_of,
                                               const std::string& customer,
                                               WarehouseExplainError& error) {
    auto dialect = sql::make_postgres_dialect(&catalog);
    auto q = compile_explain(rules, as_of, *dialect, error);
    if (!q) return std::nullopt;
    const TableSchema* customers = catalog.find(rules.rules.customers_table);
    const ColumnSchema* key_column = customers ? customers->find(rules.rules.key) : nullptr;
    const bool integer_keys = key_column && key_column->type == Type::Int;
    const std::optional<int64_t> integer = integer_key_spelled(customer);
    // A key of the other kind matches no customer, as in the engine's key index. ($1 is named
    // all the same: the statement is given it.)
    const std::string match = integer_keys
                                  ? (integer ? "customer_key = $1::bigint" : "($1::text IS NULL)")
                                  : "customer_key::text = $1";
    const std::string key_order =
        integer_keys ? "customer_key" : "customer_key::text COLLATE \"C\"";
    const std::string table = "strata_explained";
    std::string sql = "SELECT count(*) FILTER (WHERE " + match +
                      "), count(*) FILTER (WHERE segment IS NULL), array_to_string((array_agg("
                      "customer_key::text ORDER BY " +
                      key_order +
                      ") FILTER (WHERE segment IS NULL))[1:5], ', '), max(segment::text) FILTER "
                      "(WHERE " +
                      match + "), max(tactical::text) FILTER (WHERE " + match + ")";
    const RowParts parts = row_parts(rules, *q);
    for (const std::string& column : parts.customer_columns)
        sql += ", max(" + column + "::text) FILTER (WHERE " + match + ")";
    // Ranked below: a smaller value, texts compared by bytes as the ranking compares them.
    for (const auto& [column, type] : parts.rank_columns)
        sql += ", count(*) FILTER (WHERE " + column +
               (type == Type::String ? " COLLATE \"C\"" : "") + " < (SELECT " + column + " FROM " +
               table + " WHERE " + match + " LIMIT 1))";
    sql += " FROM " + table;

    auto connection = state::connect_postgres_state(url);
    if (!connection) {
        error.message = connection.error().describe();
        return std::nullopt;
    }
    auto& db = connection.value();
    // Rolled back when it goes out of scope: nothing is written.
    auto transaction = warehouse::PostgresTransaction::begin(db);
    if (!transaction) {
        error.message = transaction.error().describe();
        return std::nullopt;
    }
    // As for a run: JIT compiling the large query costs seconds and gains nothing.
    if (auto jit = db.exec("SET LOCAL jit = off"); !jit) {
        error.message = jit.error().describe();
        return std::nullopt;
    }
    if (auto made = ensure_state_for_reads(db, rules); !made) {
        error.message = made.error().describe();
        return std::nullopt;
    }
    // One evaluation of the whole base, which every later query reads.
    const std::string create = "CREATE TEMP TABLE " + table + " ON COMMIT DROP AS " + q->sql;
    spdlog::debug("explain inside PostgreSQL: {}; {}", create, sql);
    if (auto created = db.exec(create); !created) {
        error.message = created.error().describe();
        return std::nullopt;
    }
    auto answer =
        db.exec(sql, {Cell(integer_keys && integer ? std::to_string(*integer) : customer)});
    if (!answer) {
        error.message = answer.error().describe();
        return std::nullopt;
    }
    const Value key = integer_keys && integer ? Value{*integer} : Value{intern(customer)};
    const WarehouseQuery ask = [&](const std::string& text, warehouse::ResultTable& out) {
        auto result = db.exec(text);
        if (!result) {
            error.message = result.error().describe();
            return false;
        }
        out = std::move(result.value());
        return true;
    };
    return explanation_from(
        rules, as_of, *q, key, answer.value().rows.at(0),
        [&](std::vector<PopulationSummary>& out) {
            return count_populations(rules, table, integer_keys, WarehouseSql::Postgres, ask, out);
        },
        error);
}

std::optional<Explanation> explain_in_clickhouse(const CompiledRules& rules, const Schema& catalog,
                                                 const warehouse::ClickHouseUrl& url, Date as_of,
                                                 const std::string& customer,
                                                 WarehouseExplainError& error) {
    auto dialect = sql::make_clickhouse_dialect(&catalog);
    auto q = compile_explain(rules, as_of, *dialect, error);
    if (!q) return std::nullopt;
    const std::optional<int64_t> integer = integer_key_spelled(customer);
    // Keys inside ClickHouse are integers (a run refuses others): a text matches no one.
    const std::string match =
        integer ? "customer_key = toInt64(" + std::to_string(*integer) + ")" : "0";
    // The evaluation of the whole base into a table of its own, as a dry run's (ClickHouse has
    // no temporary tables over HTTP without a session), read by the queries below and dropped.
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    const std::string table =
        "strata_explain_" + std::to_string(::getpid()) + "_" + std::to_string(stamp);
    std::string sql = "SELECT countIf(" + match +
                      "), countIf(isNull(segment)), arrayStringConcat(arrayMap(x -> toString(x), "
                      "arraySlice(arraySort(groupArrayIf(customer_key, isNull(segment))), 1, "
                      "5)), ', '), anyIf(segment, " +
                      match + "), anyIf(tactical, " + match + ")";
    // anyIf() of a Nullable column gives the type's default, not NULL, where the customer's
    // value is NULL: whether it is NULL comes in a column of its own.
    const RowParts parts = row_parts(rules, *q);
    for (const std::string& column : parts.customer_columns)
        sql +=
            ", anyIf(" + column + ", " + match + "), anyIf(isNull(" + column + "), " + match + ")";
    for (const auto& rank : parts.rank_columns)
        // toUInt8: where the customer's value is NULL the comparison's type is not UInt8 (and
        // the count is not read then).
        sql += ", countIf(toUInt8(ifNull(" + rank.first + " < (SELECT any(" + rank.first +
               ") FROM " + table + " WHERE " + match + "), 0)))";
    sql += " FROM " + table;
    warehouse::ClickHouseClient client(url);
    if (!ensure_clickhouse_state_for_reads(client, rules, error.message)) return std::nullopt;
    // One row per customer, as a run needs: with a repeated key the population functions
    // would rank more rows than the base has customers, and the answer would not be a run's.
    if (!clickhouse_keys_unique(client, rules.rules.customers_table, rules.rules.key,
                                "an explanation", error.message))
        return std::nullopt;
    const AtScopeExit drop_table{[&] { (void)client.query("DROP TABLE IF EXISTS " + table); }};
    const std::string create = "CREATE TABLE " + table + " ENGINE = Memory AS " + q->sql;
    spdlog::debug("explain inside ClickHouse: {}; {}", create, sql);
    if (auto created = client.query(create); !created) {
        error.message = created.error().describe();
        return std::nullopt;
    }
    auto answer = client.query(sql);
    if (!answer) {
        error.message = answer.error().describe();
        return std::nullopt;
    }
    const warehouse::Row& got = answer.value().rows.at(0);
    if (cell_integer(got.at(0)) > 1) {
        error.message = "customer " + customer + " appears more than once in table '" +
                        rules.rules.customers_table +
                        "' (a run inside ClickHouse refuses repeated keys)";
        return std::nullopt;
    }
    warehouse::Row row(got.begin(), got.begin() + 5);
    size_t at = 5;
    for (size_t i = 0; i < parts.customer_columns.size(); ++i, at += 2)
        row.push_back(got.at(at + 1).value_or("1") == "1" ? Cell() : got.at(at));
    row.insert(row.end(), got.begin() + static_cast<std::ptrdiff_t>(at), got.end());
    const WarehouseQuery ask = [&](const std::string& text, warehouse::ResultTable& out) {
        spdlog::debug("explain inside ClickHouse: {}", text);
        auto result = client.query(text);
        if (!result) {
            error.message = result.error().describe();
            return false;
        }
        out = std::move(result.value());
        return true;
    };
    return explanation_from(
        rules, as_of, *q, integer ? Value{*integer} : Value{intern(customer)}, row,
        [&](std::vector<PopulationSummary>& out) {
            return count_populations(rules, table, true, WarehouseSql::ClickHouse, ask, out);
        },
        error);
}

}  // namespace strata::state
