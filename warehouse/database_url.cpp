#include "warehouse/database_url.hpp"

#include <charconv>

#include "warehouse/identifiers.hpp"

namespace strata::warehouse {

namespace {

const char* const accepted_forms =
    "--db takes a SQLite file path, postgresql://user@host:port/database or "
    "clickhouse://host:port/database";

bool is_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

// The scheme when the text starts with one and "://" ("postgresql"), else nullopt.
std::optional<std::string> url_scheme(std::string_view text) {
    std::size_t i = 0;
    if (text.empty() || !((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z')))
        return std::nullopt;
    while (i < text.size() && is_scheme_char(text[i]))
        ++i;
    if (text.substr(i, 3) != "://") return std::nullopt;
    std::string scheme(text.substr(0, i));
    for (char& c : scheme) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return scheme;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes %XX escapes. Fails on a malformed escape and on a NUL byte, which no server
// accepts in a name or password.
std::optional<std::string> percent_decode(std::string_view text, const char* what,
                                          std::string& error) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        bool two_follow = i + 2 < text.size();
        int high = two_follow ? hex_value(text[i + 1]) : -1;
        int low = two_follow ? hex_value(text[i + 2]) : -1;
        if (high < 0 || low < 0) {
            error = std::string("the ") + what +
                    " in the URL has a % that is not followed by two hexadecimal digits";
            return std::nullopt;
        }
        char decoded = static_cast<char>(high * 16 + low);
        if (decoded == '\0') {
            error = std::string("the ") + what + " in the URL holds a NUL byte (%00)";
            return std::nullopt;
        }
        out += decoded;
        i += 2;
    }
    return out;
}

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

struct Authority {
    std::string user;
    std::optional<std::string> password;
    std::string host;
    std::optional<int> port;
};

std::optional<Authority> parse_authority(std::string_view text, std::string& error) {
    Authority out;
    std::string_view host_port = text;
    if (auto at = text.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = text.substr(0, at);
        host_port = text.substr(at + 1);
        std::string_view user = userinfo;
        if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
            user = userinfo.substr(0, colon);
            auto password = percent_decode(userinfo.substr(colon + 1), "password", error);
            if (!password) return std::nullopt;
            out.password = *password;
        }
        auto decoded_user = percent_decode(user, "user", error);
        if (!decoded_user) return std::nullopt;
        if (decoded_user->empty()) {
            error = "the URL has an @ but no user before it";
            return std::nullopt;
        }
        out.user = *decoded_user;
    }
    std::string_view port_text;
    bool has_port = false;
    if (!host_port.empty() && host_port[0] == '[') {
        auto close = host_port.find(']');
        if (close == std::string_view::npos) {
            error = "the URL's IPv6 address has no closing ]";
            return std::nullopt;
        }
        std::string_view address = host_port.substr(1, close - 1);
        for (char c : address) {
            bool hex = hex_value(c) >= 0;
            if (!hex && c != ':' && c != '.') {
                error = "the URL's IPv6 address [" + std::string(address) + "] is not valid";
                return std::nullopt;
            }
        }
        if (address.empty()) {
            error = "the URL's IPv6 address is empty";
            return std::nullopt;
        }
        out.host = std::string(address);
        std::string_view rest = host_port.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') {
                error = "the URL has text after its IPv6 address that is not :port";
                return std::nullopt;
            }
            has_port = true;
            port_text = rest.substr(1);
        }
    } else {
        std::string_view host = host_port;
        if (auto colon = host_port.find(':'); colon != std::string_view::npos) {
            host = host_port.substr(0, colon);
            has_port = true;
            port_text = host_port.substr(colon + 1);
        }
        for (char c : host) {
            if (!is_host_char(c)) {
                error = "the URL's host '" + std::string(host) +
                        "' is not a host name or address (letters, digits, '-', '.', '_'; an "
                        "IPv6 address in brackets)";
                return std::nullopt;
            }
        }
        out.host = std::string(host);
    }
    if (out.host.empty()) {
        error = "the URL names no host";
        return std::nullopt;
    }
    if (has_port) {
        int port = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
            port < 1 || port > 65535) {
            error =
                "the URL's port '" + std::string(port_text) + "' is not a number from 1 to 65535";
            return std::nullopt;
        }
        out.port = port;
    }
    return out;
}

using QueryPairs = std::vector<std::pair<std::string, std::string>>;

std::optional<QueryPairs> parse_query(std::string_view text, std::string& error) {
    QueryPairs pairs;
    if (text.empty()) return pairs;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('&', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view item = text.substr(start, end - start);
        auto equals = item.find('=');
        if (item.empty() || equals == std::string_view::npos || equals == 0) {
            error =
                "the URL's query has a part that is not name=value (options are written "
                "name=value, joined by &)";
            return std::nullopt;
        }
        auto name = percent_decode(item.substr(0, equals), "option name", error);
        if (!name) return std::nullopt;
        auto value = percent_decode(item.substr(equals + 1), "option value", error);
        if (!value) return std::nullopt;
        for (const auto& [seen, unused] : pairs) {
            if (seen == *name) {
                error = "the URL gives the option '" + *name + "' twice";
                return std::nullopt;
            }
        }
        pairs.emplace_back(std::move(*name), std::move(*value));
        start = end + 1;
    }
    return pairs;
}

bool is_decimal(const std::string& text) {
    if (text.empty() || text.size() > 9) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// For an option that names a password: where the URL takes one instead.
std::string password_hint(const std::string& name) {
    std::string lower;
    for (char c : name)
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower.find("pass") == std::string::npos && lower != "pwd") return {};
    return "; a password goes before the host, as user:password@host";
}

std::optional<PostgresUrl> postgres_from(const Authority& authority, std::string database,
                                         const QueryPairs& options, std::string& error) {
    PostgresUrl url;
    url.user = authority.user;
    url.password = authority.password;
    url.host = authority.host;
    url.port = authority.port.value_or(5432);
    url.database = std::move(database);
    for (const auto& [name, value] : options) {
        if (name == "sslmode") {
            static const char* const modes[] = {"disable", "allow",     "prefer",
                                                "require", "verify-ca", "verify-full"};
            bool known = false;
            for (const char* mode : modes)
                known = known || value == mode;
            if (!known) {
                error = "the URL's sslmode '" + value +
                        "' is not one of disable, allow, prefer, require, verify-ca, verify-full";
                return std::nullopt;
            }
        } else if (name == "connect_timeout") {
            if (!is_decimal(value)) {
                error = "the URL's connect_timeout '" + value + "' is not a number of seconds";
                return std::nullopt;
            }
        } else if (name != "application_name") {
            error = "the PostgreSQL URL option '" + name +
                    "' is not known (sslmode, connect_timeout and application_name are)" +
                    password_hint(name);
            return std::nullopt;
        }
        url.options.emplace_back(name, value);
    }
    return url;
}

std::optional<ClickHouseUrl> clickhouse_from(const Authority& authority, std::string database,
                                             const QueryPairs& options, std::string& error) {
    ClickHouseUrl url;
    url.user = authority.user;
    url.password = authority.password;
    url.host = authority.host;
    url.port = authority.port.value_or(8123);
    if (!is_plain_identifier(database)) {
        error = "the ClickHouse database " + identifier_problem(database);
        return std::nullopt;
    }
    url.database = std::move(database);
    for (const auto& [name, value] : options) {
        if (name != "cluster") {
            error = "the ClickHouse URL option '" + name + "' is not known (cluster is)" +
                    password_hint(name);
            return std::nullopt;
        }
        if (!is_plain_identifier(value)) {
            error = "the ClickHouse cluster " + identifier_problem(value);
            return std::nullopt;
        }
        url.cluster = value;
    }
    return url;
}

// The URL as the user wrote it but with the password, if any, replaced by "***": error
// messages repeat the URL, and must not repeat a secret.
// The query's values are replaced too, but for the options strata knows, none of which is a
// secret: an unknown option may be a `password=` or a token a user tried. An item that is not
// name=value is replaced whole.
std::string redacted_query(std::string_view query) {
    std::string out;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        const std::string_view item = query.substr(start, end - start);
        const auto equals = item.find('=');
        const std::string_view name = item.substr(0, equals);
        const bool known = name == "sslmode" || name == "connect_timeout" ||
                           name == "application_name" || name == "cluster";
        if (start) out += '&';
        if (equals == std::string_view::npos)
            out += item.empty() ? "" : "***";
        else
            out += known ? std::string(item) : std::string(name) + "=***";
        start = end + 1;
    }
    return out;
}

// The URL as the user wrote it, with the password, the query's values (redacted_query) and
// any fragment replaced by "***": error messages repeat the URL, and must not repeat a
// secret. The user part runs to the last '@', since a password may hold a '/', '?' or '#',
// which would end it for the parser.
std::string redacted(std::string_view text, std::size_t after_scheme) {
    std::string out(text.substr(0, after_scheme));
    std::string_view rest = text.substr(after_scheme);
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const auto colon = rest.substr(0, at).find(':');
        out += colon == std::string_view::npos ? std::string(rest.substr(0, at + 1))
                                               : std::string(rest.substr(0, colon + 1)) + "***@";
        rest = rest.substr(at + 1);
    }
    const auto hash = rest.find('#');
    const std::string_view before_hash = rest.substr(0, hash);
    const auto mark = before_hash.find('?');
    out += before_hash.substr(0, mark);
    if (mark != std::string_view::npos) out += "?" + redacted_query(before_hash.substr(mark + 1));
    if (hash != std::string_view::npos) out += "#***";
    return out;
}

}  // namespace

std::optional<DatabaseLocation> parse_database_argument(std::string_view text, std::string& error) {
    if (text.empty()) {
        error = "--db is empty; " + std::string(accepted_forms);
        return std::nullopt;
    }
    auto scheme = url_scheme(text);
    if (!scheme) return DatabaseLocation{SqlitePath{std::string(text)}};

    bool postgres = *scheme == "postgresql" || *scheme == "postgres";
    if (!postgres && *scheme != "clickhouse") {
        error = "'" + *scheme + "://' is not a database strata reads; " + accepted_forms;
        return std::nullopt;
    }
    auto fail = [&](const std::string& what) -> std::optional<DatabaseLocation> {
        error = "bad database URL '" + redacted(text, scheme->size() + 3) + "': " + what + "; " +
                accepted_forms;
        return std::nullopt;
    };
    std::string_view rest = text.substr(scheme->size() + 3);
    // A password holding '/', '?' or '#' ends the host part early: the parser would read a piece
    // of it as a port or a path, and name it in the message. (A query value may hold an '@' too,
    // after an '='.)
    if (const auto at = rest.rfind('@'), end = rest.find_first_of("/?#");
        at != std::string_view::npos && end != std::string_view::npos && at > end &&
        rest.substr(0, at).find('=') == std::string_view::npos)
        return fail(
            "the user part holds a '/', '?' or '#', which ends it: write them in a password as "
            "%2F, %3F and %23");
    if (rest.find('#') != std::string_view::npos) return fail("a # fragment has no meaning here");
    std::string_view query;
    if (auto mark = rest.find('?'); mark != std::string_view::npos) {
        query = rest.substr(mark + 1);
        rest = rest.substr(0, mark);
    }
    auto slash = rest.find('/');
    std::string_view authority_text = rest.substr(0, slash);
    std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

    std::string problem;
    auto authority = parse_authority(authority_text, problem);
    if (!authority) return fail(problem);
    if (path.empty()) return fail("it names no database (add /database after the host)");
    if (path.find('/') != std::string_view::npos) {
        return fail("the database name '" + std::string(path) + "' holds a /");
    }
    auto database = percent_decode(path, "database", problem);
    if (!database) return fail(problem);
    auto options = parse_query(query, problem);
    if (!options) return fail(problem);

    if (postgres) {
        if (authority->user.empty()) {
            return fail("it names no user (postgresql://user@host/database)");
        }
        auto url = postgres_from(*authority, std::move(*database), *options, problem);
        if (!url) return fail(problem);
        return DatabaseLocation{std::move(*url)};
    }
    auto url = clickhouse_from(*authority, std::move(*database), *options, problem);
    if (!url) return fail(problem);
    return DatabaseLocation{std::move(*url)};
}

namespace {

std::string host_part(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string userinfo_part(const std::string& user, const std::optional<std::string>& password) {
    if (user.empty()) return "";
    return user + (password ? ":***" : "") + "@";
}

}  // namespace

std::string describe_location(const DatabaseLocation& location) {
    if (const auto* sqlite = std::get_if<SqlitePath>(&location)) return sqlite->path;
    if (const auto* pg = std::get_if<PostgresUrl>(&location)) {
        return "postgresql://" + userinfo_part(pg->user, pg->password) + host_part(pg->host) + ":" +
               std::to_string(pg->port) + "/" + pg->database;
    }
    const auto& ch = std::get<ClickHouseUrl>(location);
    std::string text = "clickhouse://" + userinfo_part(ch.user, ch.password) + host_part(ch.host) +
                       ":" + std::to_string(ch.port) + "/" + ch.database;
    if (ch.cluster) text += "?cluster=" + *ch.cluster;
    return text;
}

}  // namespace strata::warehouse
