// A ClickHouse client over its HTTP interface, through libcurl. Each call POSTs one statement
// to http://host:port/?database=DB with the settings as URL parameters (escaped by curl) and
// wait_end_of_query=1, so that an error raised while the answer is produced still comes back
// as an HTTP error rather than after rows already sent. Values go into SQL text only through
// clickhouse_string_literal, names only through quote_clickhouse_identifier.
//
// Nothing here throws: a server error is a WarehouseError with ClickHouse's message, its error
// number and the HTTP status; a server that cannot be reached is one with `unreachable` set.
// A URL's `?cluster=NAME` must name one of the server's clusters: the first statement asks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "warehouse/database_url.hpp"
#include "warehouse/result.hpp"

namespace strata::warehouse {

// Query-level settings (name, value), such as {"insert_distributed_sync", "1"}. Names must be
// plain identifiers.
using ClickHouseSettings = std::vector<std::pair<std::string, std::string>>;

struct ClickHouseOptions {
    long connect_timeout_ms = 10000;
    long timeout_ms = 0;  // the whole request; 0 waits as long as the query runs
};

class ClickHouseClient {
  public:
    explicit ClickHouseClient(ClickHouseUrl url, ClickHouseOptions options = {});
    ClickHouseClient(ClickHouseClient&& other) noexcept;
    ClickHouseClient& operator=(ClickHouseClient&& other) noexcept;
    ClickHouseClient(const ClickHouseClient&) = delete;
    ClickHouseClient& operator=(const ClickHouseClient&) = delete;
    ~ClickHouseClient();

    // Runs one statement. A SELECT's rows come back read from TabSeparatedWithNames (the
    // statement must not end in a FORMAT clause of its own); other statements give a table
    // without columns.
    Outcome<ResultTable> query(std::string_view sql, const ClickHouseSettings& settings = {});

    // INSERT INTO `table` (`column`, ...) FORMAT TabSeparated, with `rows` as the body. Every
    // row must have one cell per column; NULL goes to a Nullable column only.
    Outcome<Done> insert_rows(std::string_view table, const std::vector<std::string>& columns,
                              const std::vector<Row>& rows,
                              const ClickHouseSettings& settings = {});

    // INSERT INTO `table` (`column`, ...) FORMAT RowBinary, with `body` already in that format
    // (each row's values in column order, little-endian, a Nullable value after a 0/1 null
    // byte). Exact for every value: ClickHouse 18.16 reads some doubles written as text one
    // unit off (and 5e-324 as 0), while RowBinary carries their bits.
    Outcome<Done> insert_row_binary(std::string_view table, const std::vector<std::string>& columns,
                                    std::string_view body, const ClickHouseSettings& settings = {});

    const ClickHouseUrl& url() const { return url_; }

  private:
    // POSTs `body` with `query_text` (when not empty) as the query= parameter; on success
    // `answer` holds the response body.
    Outcome<Done> post(std::string_view query_text, std::string_view body,
                       const ClickHouseSettings& settings, std::string& answer);

    // With the URL's `?cluster=NAME`: whether the server has that cluster (system.clusters),
    // asked before the client's first statement; a name it does not have is an error of that
    // statement, and of each later one until the server answers that it has it.
    std::optional<WarehouseError> check_cluster();

    ClickHouseUrl url_;
    ClickHouseOptions options_;
    void* curl_ = nullptr;  // one handle per client, so connections are kept alive
    bool cluster_known_ = false;
};

}  // namespace strata::warehouse
