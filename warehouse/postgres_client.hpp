// A PostgreSQL connection through libpq. Every value goes to the server as a bound parameter
// (PQexecParams, text format); names go into SQL only through quote_postgres_identifier.
// Nothing here throws: errors are WarehouseError values carrying the server's message,
// SQLSTATE and DETAIL.
//
// The session runs with TimeZone UTC, DateStyle ISO, extra_float_digits 3 (doubles written in
// full, whatever a role or database sets) and client_encoding UTF8, so the texts of dates,
// timestamps and numbers do not depend on the server's configuration. Server notices are
// dropped rather than printed to stderr.
#pragma once

#include <string_view>
#include <vector>

#include "warehouse/database_url.hpp"
#include "warehouse/result.hpp"

struct pg_conn;

namespace strata::warehouse {

// A value as one field of COPY's text format: NULL as \N, backslash, tab, line feed and
// carriage return escaped, every other byte as it is.
std::string postgres_copy_field(const Cell& value);

class PostgresConnection {
  public:
    // Connects (10 s connect timeout unless the URL sets connect_timeout). A refused
    // connection, an unknown database or a rejected user is an error with `unreachable` set
    // for the first and libpq's message in every case.
    static Outcome<PostgresConnection> connect(const PostgresUrl& url);

    PostgresConnection(PostgresConnection&& other) noexcept;
    PostgresConnection& operator=(PostgresConnection&& other) noexcept;
    PostgresConnection(const PostgresConnection&) = delete;
    PostgresConnection& operator=(const PostgresConnection&) = delete;
    ~PostgresConnection();

    // Runs one statement with $1, $2, ... bound to `params` (nullopt binds NULL). The server
    // infers each parameter's type from where it is used; write $1::bigint where it cannot.
    // A parameter holding a NUL byte is refused before anything is sent (PostgreSQL's text
    // cannot store one, and libpq would cut the value at it).
    Outcome<ResultTable> exec(std::string_view sql, const std::vector<Cell>& params = {});

    // Runs a script of several statements without parameters (PQexec), such as DDL; returns
    // the last statement's result. Outside a transaction each statement commits on its own.
    Outcome<ResultTable> exec_script(std::string_view sql);

    // Runs `copy_statement`, a `COPY table (columns) FROM STDIN` in the text format, with
    // `data` as its whole input: lines of tab-separated fields escaped as COPY's text format
    // wants (postgres_copy_field). Returns the rows copied. A bad line fails the whole COPY
    // with the server's message, which names the line.
    Outcome<std::int64_t> copy_in(std::string_view copy_statement, std::string_view data);

    // True between begin() and commit()/rollback(), also when a statement inside failed.
    bool in_transaction() const;
    // True inside a transaction in which a statement failed: until ROLLBACK, the server
    // refuses every statement.
    bool transaction_failed() const;

    // The server's version number, such as 150020.
    int server_version() const;

  private:
    explicit PostgresConnection(pg_conn* connection) : connection_(connection) {}
    WarehouseError connection_error(const char* doing) const;
    pg_conn* connection_ = nullptr;
};

// A transaction on one connection: BEGIN at start, ROLLBACK at destruction unless commit() or
// rollback() was called. The connection must outlive it.
class PostgresTransaction {
  public:
    static Outcome<PostgresTransaction> begin(PostgresConnection& connection);

    PostgresTransaction(PostgresTransaction&& other) noexcept;
    PostgresTransaction& operator=(PostgresTransaction&&) = delete;
    PostgresTransaction(const PostgresTransaction&) = delete;
    PostgresTransaction& operator=(const PostgresTransaction&) = delete;
    ~PostgresTransaction();

    // Commits. When a statement inside failed, PostgreSQL answers COMMIT with a rollback; that
    // is an error here (code 25P02), not a success.
    Outcome<Done> commit();
    Outcome<Done> rollback();

  private:
    explicit PostgresTransaction(PostgresConnection& connection) : connection_(&connection) {}
    PostgresConnection* connection_;  // null once committed or rolled back
};

}  // namespace strata::warehouse
