// The `--db` argument: a SQLite file path, or the URL of a PostgreSQL or ClickHouse database.
//
//   customers.db                                      a SQLite file (anything that is not a URL)
//   postgresql://user[:password]@host[:port]/db       PostgreSQL (also postgres://), port 5432
//       [?sslmode=...&connect_timeout=N&application_name=...]
//   clickhouse://[user[:password]@]host[:port]/db     ClickHouse's HTTP interface, port 8123
//       [?cluster=NAME]
//
// A text is a URL when it starts with a scheme and "://"; other texts are paths. User,
// password, database and query values may be percent-encoded. A host is a name, an IPv4
// address or an IPv6 address in brackets. With `?cluster=NAME` the base's tables on ClickHouse
// are Distributed tables over the cluster NAME (see warehouse/README.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace strata::warehouse {

struct SqlitePath {
    std::string path;
};

struct PostgresUrl {
    std::string user;                     // empty: libpq's default (the operating system user)
    std::optional<std::string> password;  // absent: libpq looks in PGPASSWORD and ~/.pgpass
    std::string host;
    int port = 5432;
    std::string database;
    // Connection options from the query string, as libpq keywords, in the order given:
    // sslmode, connect_timeout and application_name are the ones accepted.
    std::vector<std::pair<std::string, std::string>> options;
};

struct ClickHouseUrl {
    std::string user;  // empty: the server's `default` user
    std::optional<std::string> password;
    std::string host;
    int port = 8123;
    std::string database;  // a plain identifier (identifiers.hpp)
    // The cluster the base's tables are distributed over; absent for one server.
    std::optional<std::string> cluster;
};

using DatabaseLocation = std::variant<SqlitePath, PostgresUrl, ClickHouseUrl>;

// Reads a `--db` argument. On a bad URL returns nullopt and sets `error` to a sentence naming
// what is wrong and the accepted forms (the CLI prints it and exits 2).
std::optional<DatabaseLocation> parse_database_argument(std::string_view text, std::string& error);

// The location for messages and logs, with any password shown as "***".
std::string describe_location(const DatabaseLocation& location);

}  // namespace strata::warehouse
