// What the warehouse clients return: a result table, or an error as data. Neither client
// throws: libpq's and libcurl's failures and the servers' errors all become WarehouseError
// values, which the command layer turns into a message and exit code 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace strata::warehouse {

enum class Backend { postgres, clickhouse };

struct WarehouseError {
    Backend backend = Backend::postgres;
    // The server's own message as it sent it (it names the table and column where the server
    // does), or the client library's when the server was not reached.
    std::string message;
    // PostgreSQL's DETAIL line, when it sent one.
    std::string detail;
    // PostgreSQL's SQLSTATE ("42P01") or ClickHouse's error number ("60"); empty when the
    // error did not come from the server.
    std::string code;
    // ClickHouse only: the HTTP status of the answer, 0 when there was no answer.
    int http_status = 0;
    // The server could not be reached (refused, unknown host, timed out, connection lost).
    bool unreachable = false;

    // One line for a person: "PostgreSQL: relation "x" does not exist (SQLSTATE 42P01)". A
    // ClickHouse exactness stop (below) also says what stopped the query and where to look.
    std::string describe() const;
    // ClickHouse stopped one of strata's compiled queries with throwIf: a value the query
    // cannot compute exactly there (PostgreSQL's stops carry their own "strata: ..." message).
    bool stopped_for_exactness() const;
};

// A value or an error. ok() says which; value() and error() must only be called on the side
// that is there.
template <class T>
class Outcome {
  public:
    Outcome(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Outcome(WarehouseError error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(state_); }
    const T& value() const { return std::get<0>(state_); }
    const WarehouseError& error() const { return std::get<1>(state_); }

  private:
    std::variant<T, WarehouseError> state_;
};

// The value of an Outcome for a statement that returns nothing.
struct Done {};

// One cell: its text as the server wrote it, or nullopt for NULL.
using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

// The rows of a result in the server's order. Every row has one cell per column. Statements
// without a result (DDL, INSERT) give a table without columns.
struct ResultTable {
    std::vector<std::string> columns;
    std::vector<Row> rows;
    // PostgreSQL only: the rows an INSERT, UPDATE or DELETE touched (PQcmdTuples).
    std::int64_t affected_rows = 0;

    // The position of the column with this exact name, or nullopt.
    std::optional<std::size_t> column_index(std::string_view name) const;
};

}  // namespace strata::warehouse
