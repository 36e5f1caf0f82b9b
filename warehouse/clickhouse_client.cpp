#include "warehouse/clickhouse_client.hpp"

#include "warehouse/client_libraries.hpp"

#include <algorithm>
#include <mutex>

#include "warehouse/clickhouse_text.hpp"
#include "warehouse/identifiers.hpp"

namespace strata::warehouse {

namespace {

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* target) {
    static_cast<std::string*>(target)->append(data, size * count);
    return size * count;
}

WarehouseError client_error(std::string message) {
    WarehouseError error;
    error.backend = Backend::clickhouse;
    error.message = std::move(message);
    return error;
}

// Reads "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = ..."
// into the error number and the message; other answers are kept whole.
WarehouseError server_error(const std::string& body, long status) {
    WarehouseError error = client_error("");
    error.http_status = static_cast<int>(status);
    std::string text = body;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    const std::string code_mark = "Code: ";
    const std::string message_mark = "e.displayText() = ";
    const std::string exception_mark = "DB::Exception: ";
    if (text.rfind(code_mark, 0) == 0) {
        std::size_t digits = code_mark.size();
        while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
            ++digits;
        error.code = text.substr(code_mark.size(), digits - code_mark.size());
    }
    auto begin = text.find(message_mark);
    if (begin != std::string::npos) {
        begin += message_mark.size();
        auto end = text.rfind(", e.what() = ");
        std::string message = text.substr(
            begin, end == std::string::npos || end < begin ? std::string::npos : end - begin);
        if (message.rfind(exception_mark, 0) == 0) message.erase(0, exception_mark.size());
        error.message = message;
    } else {
        error.message = text.empty() ? "HTTP status " + std::to_string(status) : text;
    }
    return error;
}

}  // namespace

ClickHouseClient::ClickHouseClient(ClickHouseUrl url, ClickHouseOptions options)
    : url_(std::move(url)), options_(options) {}

ClickHouseClient::ClickHouseClient(ClickHouseClient&& other) noexcept
    : url_(std::move(other.url_)),
      options_(other.options_),
      curl_(other.curl_),
      cluster_known_(other.cluster_known_) {
    other.curl_ = nullptr;
}

ClickHouseClient& ClickHouseClient::operator=(ClickHouseClient&& other) noexcept {
    if (this != &other) {
        if (curl_) libcurl().easy_cleanup(static_cast<CURL*>(curl_));
        url_ = std::move(other.url_);
        options_ = other.options_;
        curl_ = other.curl_;
        cluster_known_ = other.cluster_known_;
        other.curl_ = nullptr;
    }
    return *this;
}

ClickHouseClient::~ClickHouseClient() {
    if (curl_) libcurl().easy_cleanup(static_cast<CURL*>(curl_));
}

std::optional<WarehouseError> ClickHouseClient::check_cluster() {
    cluster_known_ = true;  // the question itself goes out unchecked
    auto clusters = query("SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster");
    cluster_known_ = false;
    if (!clusters.ok()) return clusters.error();
    std::string names;
    for (const Row& row : clusters.value().rows) {
        const std::string name = row.empty() || !row[0] ? "" : *row[0];
        if (name == *url_.cluster) {
            cluster_known_ = true;
            return std::nullopt;
        }
        names += (names.empty() ? "" : ", ") + name;
    }
    return client_error(
        "the URL's cluster '" + *url_.cluster + "' is not a cluster of " + url_.host + ":" +
        std::to_string(url_.port) +
        (names.empty() ? std::string(" (it has none)") : " (its clusters: " + names + ")") +
        "; a cluster is named in the server's remote_servers configuration");
}

Outcome<Done> ClickHouseClient::post(std::string_view query_text, std::string_view body,
                                     const ClickHouseSettings& settings, std::string& answer) {
    if (url_.cluster && !cluster_known_) {
        if (auto problem = check_cluster()) return *problem;
    }
    if (!libcurl().missing.empty()) {
        WarehouseError error = client_error("cannot reach ClickHouse: " + libcurl().missing);
        error.unreachable = true;
        return error;
    }
    if (!curl_) curl_ = libcurl().easy_init();
    CURL* curl = static_cast<CURL*>(curl_);
    if (!curl) return client_error("libcurl could not start a request");
    libcurl().easy_reset(curl);

    auto escaped = [curl](std::string_view text) {
        char* raw = libcurl().easy_escape(curl, text.data(), static_cast<int>(text.size()));
        std::string out = raw ? raw : "";
        libcurl().free(raw);
        return out;
    };
    std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    std::string base = "http://" + host + ":" + std::to_string(url_.port) + "/";
    std::string target = base + "?database=" + escaped(url_.database) +
                         "&default_format=TabSeparatedWithNames&wait_end_of_query=1";
    for (const auto& [name, value] : settings) {
        if (!is_plain_identifier(name)) {
            return client_error("the setting " + identifier_problem(name));
        }
        target += "&" + name + "=" + escaped(value);
    }
    if (!query_text.empty()) target += "&query=" + escaped(query_text);

    char curl_message[CURL_ERROR_SIZE] = {0};
    answer.clear();
    libcurl().easy_setopt(curl, CURLOPT_URL, target.c_str());
    libcurl().easy_setopt(curl, CURLOPT_POST, 1L);
    libcurl().easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    libcurl().easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    libcurl().easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
    libcurl().easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    libcurl().easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_message);
    libcurl().easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    libcurl().easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    libcurl().easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    libcurl().easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    // An empty Expect: the body goes at once instead of after a 100-continue round trip.
    curl_slist* headers = libcurl().slist_append(nullptr, "Expect:");
    libcurl().easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (!url_.user.empty()) {
        libcurl().easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        libcurl().easy_setopt(curl, CURLOPT_USERNAME, url_.user.c_str());
        libcurl().easy_setopt(curl, CURLOPT_PASSWORD, url_.password ? url_.password->c_str() : "");
    }
    CURLcode code = libcurl().easy_perform(curl);
    libcurl().slist_free_all(headers);
    if (code != CURLE_OK) {
        WarehouseError error =
            client_error("cannot reach ClickHouse at " + base + ": " +
                         (curl_message[0] ? std::string(curl_message)
                                          : std::string(libcurl().easy_strerror(code))));
        error.unreachable = true;
        return error;
    }
    long status = 0;
    libcurl().easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) return server_error(answer, status);
    return Done{};
}

Outcome<ResultTable> ClickHouseClient::query(std::string_view sql,
                                             const ClickHouseSettings& settings) {
    std::string answer;
    // The server's defaults stop a long compiled query: at 256 KiB of text it reports a
    // "syntax error" at that position, and past 50,000 syntax tree elements the query is "too
    // big". A query of more than 8 KiB (a rule file of several dozen conditions) raises those
    // limits for itself; shorter ones leave the settings alone, so that a user in read-only
    // mode (readonly=1, which forbids changing settings) can still run them.
    ClickHouseSettings with_room = settings;
    if (sql.size() > 8192) {
        auto raise = [&with_room](const std::string& name, const std::string& value) {
            for (const auto& [given, _] : with_room)
                if (given == name) return;
            with_room.emplace_back(name, value);
        };
        raise("max_query_size", std::to_string(std::max<size_t>(262144, sql.size() + 1)));
        raise("max_ast_elements", "10000000");
        raise("max_expanded_ast_elements", "10000000");
    }
    auto posted = post("", sql, with_room, answer);
    if (!posted) return posted.error();
    std::string problem;
    auto table = parse_tab_separated_with_names(answer, problem);
    if (!table) return client_error(problem);
    return std::move(*table);
}

namespace {

// INSERT INTO `table` (`column`, ...) FORMAT `format`, or the error of a name that cannot be
// quoted.
Outcome<std::string> insert_statement(std::string_view table,
                                      const std::vector<std::string>& columns,
                                      std::string_view format) {
    auto quoted_table = quote_clickhouse_identifier(table);
    if (!quoted_table) return client_error("the table " + identifier_problem(table));
    std::string statement = "INSERT INTO " + *quoted_table + " (";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        auto quoted = quote_clickhouse_identifier(columns[i]);
        if (!quoted) return client_error("the column " + identifier_problem(columns[i]));
        statement += (i ? ", " : "") + *quoted;
    }
    return statement + ") FORMAT " + std::string(format);
}

}  // namespace

Outcome<Done> ClickHouseClient::insert_row_binary(std::string_view table,
                                                  const std::vector<std::string>& columns,
                                                  std::string_view body,
                                                  const ClickHouseSettings& settings) {
    auto statement = insert_statement(table, columns, "RowBinary");
    if (!statement) return statement.error();
    std::string answer;
    return post(statement.value(), body, settings, answer);
}

Outcome<Done> ClickHouseClient::insert_rows(std::string_view table,
                                            const std::vector<std::string>& columns,
                                            const std::vector<Row>& rows,
                                            const ClickHouseSettings& settings) {
    auto made = insert_statement(table, columns, "TabSeparated");
    if (!made) return made.error();
    const std::string& statement = made.value();

    std::string body;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].size() != columns.size()) {
            return client_error("row " + std::to_string(r + 1) + " has " +
                                std::to_string(rows[r].size()) + " values for " +
                                std::to_string(columns.size()) + " columns");
        }
        for (std::size_t c = 0; c < columns.size(); ++c) {
            if (c) body += '\t';
            body += clickhouse_tsv_field(rows[r][c]);
        }
        body += '\n';
    }
    std::string answer;
    return post(statement, body, settings, answer);
}

}  // namespace strata::warehouse
