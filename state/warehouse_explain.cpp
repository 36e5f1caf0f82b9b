#include "state/warehouse_explain.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

#include "engine/numeric.hpp"
#include "engine/reader.hpp"
#include "engine/value_ops.hpp"
#include "sql/compiler.hpp"
#include "sql/postgres_dialect.hpp"
#include "state/clickhouse_state.hpp"
#include "state/postgres_state.hpp"
#include "state/warehouse_firing.hpp"
#include "state/warehouse_report.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

namespace {

using warehouse::Cell;

// Whether a warehouse computes a node's value as a column (sql/compiler.hpp's RunColumns).
bool computable(const bound::Expr& e) {
    switch (e.type) {
        case Type::Null:
        case Type::Bool:
        case Type::Int:
        case Type::Number:
        case Type::String:
        case Type::Date:
        case Type::DateTime:
            return true;
        default:
            return false;
    }
}

// The values of one customer's row: one cell per computed node.
class RowValues : public ExplainValues {
  public:
    RowValues(const std::vector<const bound::Expr*>& nodes, const std::vector<Cell>& cells) {
        for (size_t i = 0; i < nodes.size(); ++i)
            values_.emplace(nodes[i], value_from_cell(cells.at(i), nodes[i]->type));
    }
    std::optional<Value> value(const bound::Expr& e) const override {
        // A literal is what it says, wherever it is computed (a duration has no column).
        if (const auto* literal = std::get_if<bound::Literal>(&e.node))
            return value_ops::literal_value(literal->value);
        const auto it = values_.find(&e);
        if (it == values_.end()) return std::nullopt;
        return it->second;
    }

  private:
    std::unordered_map<const bound::Expr*, Value> values_;
};

// The run's query with a column per node the explanation shows; nullopt with the refusals.
struct ExplainQuery {
    std::string sql;
    std::vector<const bound::Expr*> nodes;  // strata_expr_<i> is nodes[i]
};

std::optional<ExplainQuery> compile_explain(const CompiledRules& rules, Date as_of,
                                            const sql::Dialect& dialect,
                                            WarehouseExplainError& error) {
    ExplainQuery q;
    for (const bound::Expr* e : explained_nodes(rules)) {
        if (computable(*e)) q.nodes.push_back(e);
    }
    sql::RunColumns columns;
    columns.values = q.nodes;
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

// The answer's one row: customers with the key, customers unplaced, a few of their keys
// (', '-joined), then the customer's segment, tactical paths and one cell per node.
std::optional<Explanation> explanation_from(const CompiledRules& rules, Date as_of,
                                            const ExplainQuery& q, const Value& key,
                                            const warehouse::Row& row,
                                            WarehouseExplainError& error) {
    const int64_t found = cell_integer(row.at(0));
    if (const int64_t unplaced = cell_integer(row.at(1)); unplaced > 0) {
        error.message = unplaced_message(rules.rules.policy, unplaced,
                                         row.at(2).value_or("") + (unplaced > 5 ? ", …" : ""));
        error.rule_problem = true;
        return std::nullopt;
    }
    if (found == 0) {
        error.message = "customer is not in the base of '" + rules.rules.ruleset + "' (table '" +
                        rules.rules.customers_table + "')";
        return std::nullopt;
    }
    const std::vector<Cell> cells(row.begin() + 5, row.end());
    const RowValues values(q.nodes, cells);
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
    // A key of the other kind matches no customer, as in the engine's key index.
    const std::string match = integer_keys ? (integer ? "customer_key = $1::bigint" : "false")
                                           : "customer_key::text = $1";
    const std::string key_order =
        integer_keys ? "customer_key" : "customer_key::text COLLATE \"C\"";
    std::string sql = "SELECT count(*) FILTER (WHERE " + match +
                      "), count(*) FILTER (WHERE segment IS NULL), array_to_string((array_agg("
                      "customer_key::text ORDER BY " +
                      key_order +
                      ") FILTER (WHERE segment IS NULL))[1:5], ', '), max(segment::text) FILTER "
                      "(WHERE " +
                      match + "), max(tactical::text) FILTER (WHERE " + match + ")";
    for (size_t i = 0; i < q->nodes.size(); ++i)
        sql += ", max(strata_expr_" + std::to_string(i) + "::text) FILTER (WHERE " + match + ")";
    sql += " FROM (" + q->sql + ") strata_explained";
    spdlog::debug("explain inside PostgreSQL: {}", sql);

    auto connection = warehouse::PostgresConnection::connect(url);
    if (!connection) {
        error.message = connection.error().describe();
        return std::nullopt;
    }
    auto& db = connection.value();
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
    auto answer =
        db.exec(sql, {Cell(integer_keys && integer ? std::to_string(*integer) : customer)});
    if (!answer) {
        error.message = answer.error().describe();
        return std::nullopt;
    }
    const Value key = integer_keys && integer ? Value{*integer} : Value{intern(customer)};
    return explanation_from(rules, as_of, *q, key, answer.value().rows.at(0), error);
}

std::optional<Explanation> explain_in_clickhouse(const CompiledRules& rules, const Schema& catalog,
                                                 const warehouse::ClickHouseUrl& url, Date as_of,
                                                 const std::string& customer,
                                                 WarehouseExplainError& error) {
    (void)catalog;  // names and types were bound against it already
    auto dialect = sql::make_dialect("clickhouse");
    auto q = compile_explain(rules, as_of, *dialect, error);
    if (!q) return std::nullopt;
    const std::optional<int64_t> integer = integer_key_spelled(customer);
    // Keys inside ClickHouse are integers (a run refuses others): a text matches no one.
    const std::string match =
        integer ? "customer_key = toInt64(" + std::to_string(*integer) + ")" : "0";
    std::string sql = "SELECT countIf(" + match +
                      "), countIf(isNull(segment)), arrayStringConcat(arrayMap(x -> toString(x), "
                      "arraySlice(arraySort(groupArrayIf(customer_key, isNull(segment))), 1, "
                      "5)), ', '), anyIf(segment, " +
                      match + "), anyIf(tactical, " + match + ")";
    // anyIf() of a Nullable column gives the type's default, not NULL, where the customer's
    // value is NULL: whether it is NULL comes in a column of its own.
    for (size_t i = 0; i < q->nodes.size(); ++i) {
        const std::string column = "strata_expr_" + std::to_string(i);
        sql +=
            ", anyIf(" + column + ", " + match + "), anyIf(isNull(" + column + "), " + match + ")";
    }
    sql += " FROM (" + q->sql + ")";
    spdlog::debug("explain inside ClickHouse: {}", sql);
    warehouse::ClickHouseClient client(url);
    if (!ensure_clickhouse_state_for_reads(client, rules, error.message)) return std::nullopt;
    auto answer = client.query(sql);
    if (!answer) {
        error.message = answer.error().describe();
        return std::nullopt;
    }
    if (cell_integer(answer.value().rows.at(0).at(0)) > 1) {
        error.message = "customer " + customer + " appears more than once in table '" +
                        rules.rules.customers_table +
                        "' (a run inside ClickHouse refuses repeated keys)";
        return std::nullopt;
    }
    warehouse::Row row(answer.value().rows.at(0).begin(), answer.value().rows[0].begin() + 5);
    for (size_t i = 0; i < q->nodes.size(); ++i) {
        const Cell& value = answer.value().rows[0].at(5 + 2 * i);
        const Cell& is_null = answer.value().rows[0].at(6 + 2 * i);
        row.push_back(is_null.value_or("1") == "1" ? Cell() : value);
    }
    return explanation_from(rules, as_of, *q, integer ? Value{*integer} : Value{intern(customer)},
                            row, error);
}

}  // namespace strata::state
