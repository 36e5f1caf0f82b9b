#include "warehouse/postgres_client.hpp"

#include "warehouse/client_libraries.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace strata::warehouse {

namespace {

std::string trimmed(const char* text) {
    std::string out = text ? text : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    return out;
}

void drop_notice(void*, const char*) {}

struct ResultDeleter {
    void operator()(PGresult* result) const { libpq().PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

WarehouseError error_from(const PGresult* result, PGconn* connection) {
    WarehouseError error;
    error.backend = Backend::postgres;
    const char* primary =
        result ? libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    error.message = primary ? primary : trimmed(libpq().PQerrorMessage(connection));
    if (result) {
        if (const char* detail = libpq().PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
            error.detail = detail;
        }
        if (const char* state = libpq().PQresultErrorField(result, PG_DIAG_SQLSTATE))
            error.code = state;
    }
    if (libpq().PQstatus(connection) == CONNECTION_BAD) {
        error.unreachable = true;
        if (error.message.empty()) error.message = "the connection to the server was lost";
    }
    return error;
}

// The rows of a result that succeeded.
ResultTable table_from(const PGresult* result) {
    ResultTable table;
    int columns = libpq().PQnfields(result);
    int rows = libpq().PQntuples(result);
    table.columns.reserve(columns);
    for (int c = 0; c < columns; ++c)
        table.columns.emplace_back(libpq().PQfname(result, c));
    table.rows.reserve(rows);
    for (int r = 0; r < rows; ++r) {
        Row row;
        row.reserve(columns);
        for (int c = 0; c < columns; ++c) {
            if (libpq().PQgetisnull(result, r, c)) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(libpq().PQgetvalue(result, r, c),
                                             libpq().PQgetlength(result, r, c)));
            }
        }
        table.rows.push_back(std::move(row));
    }
    const char* affected = libpq().PQcmdTuples(const_cast<PGresult*>(result));
    if (affected && *affected) table.affected_rows = std::stoll(affected);
    return table;
}

Outcome<ResultTable> outcome_of(ResultPtr result, PGconn* connection) {
    if (!result) return error_from(nullptr, connection);
    switch (libpq().PQresultStatus(result.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            return table_from(result.get());
        default:
            return error_from(result.get(), connection);
    }
}

}  // namespace

Outcome<PostgresConnection> PostgresConnection::connect(const PostgresUrl& url) {
    std::string port = std::to_string(url.port);
    // The settings strata's SQL needs, after the user's PGOPTIONS (such as
    // `-c search_path=sales`), which libpq would otherwise drop for these: later ones win.
    const char* user_options = std::getenv("PGOPTIONS");
    const std::string options =
        (user_options && *user_options ? std::string(user_options) + " " : std::string()) +
        "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3";
    std::vector<const char*> keywords = {"host", "port", "dbname", "client_encoding", "options"};
    std::vector<const char*> values = {url.host.c_str(), port.c_str(), url.database.c_str(), "UTF8",
                                       options.c_str()};
    if (!url.user.empty()) {
        keywords.push_back("user");
        values.push_back(url.user.c_str());
    }
    if (url.password) {
        keywords.push_back("password");
        values.push_back(url.password->c_str());
    }
    bool timeout_given = false;
    for (const auto& [name, value] : url.options) {
        keywords.push_back(name.c_str());
        values.push_back(value.c_str());
        timeout_given = timeout_given || name == "connect_timeout";
    }
    if (!timeout_given) {
        keywords.push_back("connect_timeout");
        values.push_back("10");
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);

    if (!libpq().missing.empty()) {
        WarehouseError error;
        error.message = "cannot connect to " + describe_location(DatabaseLocation{url}) + ": " +
                        libpq().missing;
        error.unreachable = true;
        return error;
    }
    PGconn* connection = libpq().PQconnectdbParams(keywords.data(), values.data(), 0);
    if (!connection) {
        WarehouseError error;
        error.message = "libpq could not allocate a connection";
        error.unreachable = true;
        return error;
    }
    if (libpq().PQstatus(connection) != CONNECTION_OK) {
        WarehouseError error;
        error.message = "cannot connect to " + describe_location(DatabaseLocation{url}) + ": " +
                        trimmed(libpq().PQerrorMessage(connection));
        // libpq does not give a SQLSTATE for a failed start-up; a server that answered with
        // a refusal (unknown database, rejected user) is still reachable.
        std::string text = libpq().PQerrorMessage(connection);
        error.unreachable = text.find("FATAL") == std::string::npos;
        libpq().PQfinish(connection);
        return error;
    }
    libpq().PQsetNoticeProcessor(connection, drop_notice, nullptr);
    return PostgresConnection(connection);
}

PostgresConnection::PostgresConnection(PostgresConnection&& other) noexcept
    : connection_(other.connection_) {
    other.connection_ = nullptr;
}

PostgresConnection& PostgresConnection::operator=(PostgresConnection&& other) noexcept {
    if (this != &other) {
        if (connection_) libpq().PQfinish(connection_);
        connection_ = other.connection_;
        other.connection_ = nullptr;
    }
    return *this;
}

PostgresConnection::~PostgresConnection() {
    if (connection_) libpq().PQfinish(connection_);
}

namespace {

// libpq takes statements as C strings: a NUL inside would silently end the statement there.
std::optional<WarehouseError> nul_in_statement(std::string_view sql) {
    if (sql.find('\0') == std::string_view::npos) return std::nullopt;
    WarehouseError error;
    error.message = "the statement holds a NUL byte";
    error.code = "22021";
    return error;
}

}  // namespace

WarehouseError PostgresConnection::connection_error(const char* doing) const {
    WarehouseError error;
    error.message = std::string("cannot ") + doing + ": the connection is closed";
    error.unreachable = true;
    return error;
}

Outcome<ResultTable> PostgresConnection::exec(std::string_view sql,
                                              const std::vector<Cell>& params) {
    if (!connection_) return connection_error("run a statement");
    if (auto error = nul_in_statement(sql)) return *error;
    if (params.size() > 65535) {
        WarehouseError error;
        error.message =
            "a statement takes at most 65535 parameters, not " + std::to_string(params.size());
        return error;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!params[i]) {
            values.push_back(nullptr);
            continue;
        }
        if (params[i]->find('\0') != std::string::npos) {
            WarehouseError error;
            error.message = "parameter $" + std::to_string(i + 1) +
                            " holds a NUL byte, which PostgreSQL text cannot store";
            error.code = "22021";
            return error;
        }
        values.push_back(params[i]->c_str());
    }
    std::string statement(sql);
    ResultPtr result(libpq().PQexecParams(connection_, statement.c_str(),
                                          static_cast<int>(values.size()), nullptr, values.data(),
                                          nullptr, nullptr, 0));
    return outcome_of(std::move(result), connection_);
}

Outcome<ResultTable> PostgresConnection::exec_script(std::string_view sql) {
    if (!connection_) return connection_error("run a script");
    if (auto error = nul_in_statement(sql)) return *error;
    std::string script(sql);
    ResultPtr result(libpq().PQexec(connection_, script.c_str()));
    return outcome_of(std::move(result), connection_);
}

std::string postgres_copy_field(const Cell& value) {
    if (!value) return "\\N";
    std::string out;
    out.reserve(value->size());
    for (char c : *value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
    return out;
}

Outcome<std::int64_t> PostgresConnection::copy_in(std::string_view copy_statement,
                                                  std::string_view data) {
    if (!connection_) return connection_error("copy rows");
    if (auto error = nul_in_statement(copy_statement)) return *error;
    if (auto error = nul_in_statement(data)) return *error;
    std::string statement(copy_statement);
    ResultPtr started(libpq().PQexec(connection_, statement.c_str()));
    if (!started || libpq().PQresultStatus(started.get()) != PGRES_COPY_IN) {
        auto outcome = outcome_of(std::move(started), connection_);
        if (outcome) {
            WarehouseError error;
            error.message = "not a COPY FROM STDIN statement: " + statement;
            return error;
        }
        return outcome.error();
    }
    // In pieces of at most 1 MiB: PQputCopyData takes an int length.
    constexpr std::size_t piece = std::size_t{1} << 20;
    bool sent = true;
    for (std::size_t at = 0; sent && at < data.size(); at += piece) {
        const std::size_t length = std::min(piece, data.size() - at);
        sent = libpq().PQputCopyData(connection_, data.data() + at, static_cast<int>(length)) == 1;
    }
    if (libpq().PQputCopyEnd(connection_, sent ? nullptr : "the client could not send the rows") !=
        1)
        sent = false;
    // The COPY's own result, then the null that ends the command.
    ResultPtr finished(libpq().PQgetResult(connection_));
    while (ResultPtr extra{libpq().PQgetResult(connection_)}) {
    }
    auto outcome = outcome_of(std::move(finished), connection_);
    if (!outcome) return outcome.error();
    if (!sent) return error_from(nullptr, connection_);
    return outcome.value().affected_rows;
}

bool PostgresConnection::in_transaction() const {
    if (!connection_) return false;
    PGTransactionStatusType status = libpq().PQtransactionStatus(connection_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

bool PostgresConnection::transaction_failed() const {
    return connection_ && libpq().PQtransactionStatus(connection_) == PQTRANS_INERROR;
}

int PostgresConnection::server_version() const {
    return connection_ ? libpq().PQserverVersion(connection_) : 0;
}

Outcome<PostgresTransaction> PostgresTransaction::begin(PostgresConnection& connection) {
    if (connection.in_transaction()) {
        WarehouseError error;
        error.message = "a transaction is already open on this connection";
        error.code = "25001";
        return error;
    }
    auto started = connection.exec("BEGIN");
    if (!started) return started.error();
    return PostgresTransaction(connection);
}

PostgresTransaction::PostgresTransaction(PostgresTransaction&& other) noexcept
    : connection_(other.connection_) {
    other.connection_ = nullptr;
}

PostgresTransaction::~PostgresTransaction() {
    if (connection_) (void)rollback();
}

Outcome<Done> PostgresTransaction::commit() {
    if (!connection_) {
        WarehouseError error;
        error.message = "the transaction was already committed or rolled back";
        return error;
    }
    PostgresConnection& connection = *connection_;
    connection_ = nullptr;
    // In a failed transaction PostgreSQL would answer COMMIT with a rollback and no error.
    if (connection.transaction_failed()) {
        (void)connection.exec("ROLLBACK");
        WarehouseError error;
        error.message = "the transaction was rolled back: a statement in it failed";
        error.code = "25P02";
        return error;
    }
    auto committed = connection.exec("COMMIT");
    if (!committed) return committed.error();
    return Done{};
}

Outcome<Done> PostgresTransaction::rollback() {
    if (!connection_) {
        WarehouseError error;
        error.message = "the transaction was already committed or rolled back";
        return error;
    }
    PostgresConnection& connection = *connection_;
    connection_ = nullptr;
    auto rolled_back = connection.exec("ROLLBACK");
    if (!rolled_back) return rolled_back.error();
    return Done{};
}

}  // namespace strata::warehouse
