// What the server tests share: the servers' URLs from the environment that `make test`
// (scripts/test-with-warehouse.sh) sets, and names unique to one run of the binary.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include <vector>
#include "warehouse/result.hpp"

#include "warehouse/database_url.hpp"

namespace strata::warehouse::testing {

// The variable's value. Fails the test when it is missing: these tests are never skipped.
inline std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (!value || !*value) {
        FAIL(std::string(name)
             << " is not set. The warehouse tests run against real PostgreSQL and "
                "ClickHouse servers: run them with `make test`, or with "
                "`scripts/test-with-warehouse.sh BUILD -R warehouse`, which start the "
                "servers and set the STRATA_TEST_* variables.");
    }
    return value;
}

template <class Url>
Url required_url(const char* name) {
    std::string error;
    auto location = parse_database_argument(required_env(name), error);
    if (!location) FAIL(std::string(name) << " does not parse: " << error);
    const Url* url = std::get_if<Url>(&*location);
    if (!url) FAIL(std::string(name) << " is not the expected kind of URL");
    return *url;
}

inline PostgresUrl postgres_url() {
    return required_url<PostgresUrl>("STRATA_TEST_POSTGRES_URL");
}
inline ClickHouseUrl clickhouse_url() {
    return required_url<ClickHouseUrl>("STRATA_TEST_CLICKHOUSE_URL");
}
inline ClickHouseUrl second_shard_url() {
    return required_url<ClickHouseUrl>("STRATA_TEST_CLICKHOUSE_URL_2");
}
inline std::string cluster_name() {
    return required_env("STRATA_TEST_CLICKHOUSE_CLUSTER");
}

// "prefix_<pid>_<n>": a name no other test of this or another running binary uses.
inline std::string unique_name(const std::string& prefix) {
    static int counter = 0;
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// With STRATA_SQL_KEEP set (`make fuzz-sql`), a differential pair the backend got wrong is
// kept for a closer look: the SQLite base in /tmp/PREFIX_fail.db, the rule file in
// /tmp/PREFIX_fail.yaml, the as_of date in /tmp/PREFIX_fail.as_of. A later disagreement of
// the same run replaces them; the test's output names every pair that disagreed.
inline void keep_disagreement(const std::string& prefix, const std::string& base,
                              const std::string& rules, const std::string& as_of) {
    if (!std::getenv("STRATA_SQL_KEEP")) return;
    const std::string stem = "/tmp/" + prefix + "_fail";
    const auto overwrite = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(base, stem + ".db", overwrite);
    std::filesystem::copy_file(rules, stem + ".yaml", overwrite);
    std::ofstream(stem + ".as_of") << as_of << "\n";
}

// A compiled query's rows as export writes them, "key,segment,tactical" a line, where a
// customer the query placed nowhere shows "<none>" for the segment.
inline std::string placement_rows(const ResultTable& t) {
    std::string out;
    for (const auto& row : t.rows)
        out += row.at(0).value_or("") + "," + row.at(1).value_or("<none>") + "," +
               row.at(2).value_or("") + "\n";
    return out;
}

// A TCP port of 127.0.0.1 on which nothing listens (bound without listening, then closed).
inline int closed_port() {
    int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(socket_fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(socket_fd);
    return ntohs(address.sin_port);
}

// Strings that break naive quoting: quotes, backslashes, control bytes, SQL, UTF-8.
inline const std::vector<std::string>& hostile_strings() {
    static const std::vector<std::string> strings = {
        "",
        "'",
        "''",
        "\\",
        "\\'",
        "'\\",
        "\\\\'",
        "it's",
        "a\\b",
        "ends with a backslash\\",
        "'); DROP TABLE customers; --",
        "\" OR 1=1 --",
        "$1 $$ $tag$",
        "%s %d %%",
        "tab\there",
        "line\nbreak",
        "carriage\rreturn",
        "\r\n\t\b\f\v\a",
        "\\N",
        "N",
        "\\t\\n\\0",
        "`backquote`",
        "Привет, мир",
        "日本語 テキスト",
        "emoji \xF0\x9F\x8E\x89 and \xE2\x82\xAC",
        "combining e\xCC\x81",
        std::string(5000, '\''),
        std::string(3000, '\\'),
    };
    return strings;
}

}  // namespace strata::warehouse::testing
