// The `--db` argument (warehouse/database_url.hpp) and the names strata writes into warehouse
// SQL (warehouse/identifiers.hpp). No server is needed.
#include <doctest/doctest.h>

#include <variant>

#include "tests/test_support.hpp"
#include "warehouse/database_url.hpp"
#include "warehouse/identifiers.hpp"

using namespace strata::warehouse;

namespace {

DatabaseLocation parsed(const std::string& text) {
    std::string error;
    auto location = parse_database_argument(text, error);
    if (!location) FAIL("'" << text << "' was refused: " << error);
    CHECK(error.empty());
    return *location;
}

// The error for a refused argument; fails the test when it was accepted.
std::string refused(const std::string& text) {
    std::string error;
    auto location = parse_database_argument(text, error);
    if (location) FAIL("'" << text << "' was accepted");
    CHECK_FALSE(error.empty());
    return error;
}

}  // namespace

TEST_CASE("--db: a plain path stays SQLite") {
    for (const std::string path :
         {"customers.db", "/var/data/base.sqlite", "./a:b.db", "dir/postgresql.db", "C:/not/a/url",
          "file.db?x=1", "postgresql:/one-slash.db", "1http://x"}) {
        CAPTURE(path);
        auto location = parsed(path);
        REQUIRE(std::holds_alternative<SqlitePath>(location));
        CHECK(std::get<SqlitePath>(location).path == path);
    }
    CHECK(refused("").find("--db is empty") == 0);
}

TEST_CASE("--db: PostgreSQL URLs") {
    auto full = std::get<PostgresUrl>(
        parsed("postgresql://analyst:p%40ss%3Aword@db.example.com:6543/sales"));
    CHECK(full.user == "analyst");
    CHECK(full.password == "p@ss:word");
    CHECK(full.host == "db.example.com");
    CHECK(full.port == 6543);
    CHECK(full.database == "sales");
    CHECK(full.options.empty());

    auto short_form = std::get<PostgresUrl>(parsed("postgres://me@127.0.0.1/my-db%20two"));
    CHECK(short_form.user == "me");
    CHECK_FALSE(short_form.password.has_value());
    CHECK(short_form.port == 5432);
    CHECK(short_form.database == "my-db two");

    auto upper = std::get<PostgresUrl>(parsed("PostgreSQL://me@[::1]:5433/db"));
    CHECK(upper.host == "::1");
    CHECK(upper.port == 5433);
    CHECK(describe_location(upper) == "postgresql://me@[::1]:5433/db");

    auto options = std::get<PostgresUrl>(parsed(
        "postgresql://me@h/db?sslmode=require&connect_timeout=5&application_name=strata%20run"));
    CHECK(options.options ==
          std::vector<std::pair<std::string, std::string>>{{"sslmode", "require"},
                                                           {"connect_timeout", "5"},
                                                           {"application_name", "strata run"}});
    // The password never shows in messages.
    CHECK(describe_location(full) == "postgresql://analyst:***@db.example.com:6543/sales");
    // An empty password is a password.
    CHECK(std::get<PostgresUrl>(parsed("postgresql://me:@h/db")).password == "");
}

TEST_CASE("--db: ClickHouse URLs") {
    auto plain = std::get<ClickHouseUrl>(parsed("clickhouse://127.0.0.1/analytics"));
    CHECK(plain.host == "127.0.0.1");
    CHECK(plain.port == 8123);
    CHECK(plain.database == "analytics");
    CHECK(plain.user.empty());
    CHECK_FALSE(plain.cluster.has_value());

    auto sharded = std::get<ClickHouseUrl>(
        parsed("clickhouse://reader:pw@ch-1.internal:18123/analytics?cluster=strata_two_shards"));
    CHECK(sharded.user == "reader");
    CHECK(sharded.password == "pw");
    CHECK(sharded.port == 18123);
    CHECK(sharded.cluster == "strata_two_shards");
    CHECK(describe_location(sharded) ==
          "clickhouse://reader:***@ch-1.internal:18123/analytics?cluster=strata_two_shards");
}

TEST_CASE("--db: bad URLs are refused with the reason and the accepted forms") {
    struct Case {
        std::string text;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {"mysql://me@h/db", "'mysql://' is not a database strata reads"},
        {"sqlite://base.db", "'sqlite://' is not a database strata reads"},
        {"postgresql://me@h", "names no database"},
        {"postgresql://me@h/", "names no database"},
        {"postgresql://h/db", "names no user"},
        {"postgresql://@h/db", "no user before it"},
        {"postgresql://me@/db", "names no host"},
        {"postgresql://me@h:0/db", "port '0'"},
        {"postgresql://me@h:65536/db", "port '65536'"},
        {"postgresql://me@h:54x/db", "port '54x'"},
        {"postgresql://me@h:/db", "port ''"},
        {"postgresql://me@h/db/extra", "holds a /"},
        {"postgresql://me@h/db#frag", "fragment"},
        {"postgresql://me@h/d%zzb", "two hexadecimal digits"},
        {"postgresql://me@h/d%00b", "NUL"},
        {"postgresql://me@h/d%4", "two hexadecimal digits"},
        {"postgresql://me@ho st/db", "is not a host name"},
        {"postgresql://me@h;rm/db", "is not a host name"},
        {"postgresql://me@[::1/db", "no closing ]"},
        {"postgresql://me@[zz]/db", "IPv6 address [zz]"},
        {"postgresql://me@[::1]x/db", "not :port"},
        {"postgresql://me@h/db?sslmode=sometimes", "sslmode 'sometimes'"},
        {"postgresql://me@h/db?connect_timeout=soon", "connect_timeout 'soon'"},
        {"postgresql://me@h/db?host=other", "option 'host' is not known"},
        {"postgresql://me@h/db?sslmode=require&sslmode=disable", "'sslmode' twice"},
        {"postgresql://me@h/db?sslmode", "not name=value"},
        {"postgresql://me@h/db?&", "not name=value"},
        {"clickhouse://h/my-db", "database 'my-db' is not a name"},
        {"clickhouse://h/1db", "database '1db' is not a name"},
        {"clickhouse://h/db?cluster=a%60b", "cluster 'a`b' is not a name"},
        {"clickhouse://h/db?cluster=", "cluster '' is not a name"},
        {"clickhouse://h/db?shard=1", "option 'shard' is not known (cluster is)"},
        {"clickhouse://h:99999/db", "port '99999'"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        std::string error = refused(c.text);
        CHECK(error.find(c.reason) != std::string::npos);
        CHECK(error.find("--db takes a SQLite file path, postgresql://") != std::string::npos);
    }
    // A refused URL is repeated in the message without its password.
    for (const std::string text :
         {"postgresql://me:secret@h/db?bad=1", "clickhouse://me:se:cr@et@h/1db",
          "postgres://me:secret@h:0/db"}) {
        CAPTURE(text);
        std::string error = refused(text);
        CHECK(error.find("secret") == std::string::npos);
        CHECK(error.find("se:cr@et") == std::string::npos);
        CHECK(error.find("me:***@h") != std::string::npos);
    }
    // A password given as a query option is not repeated either: every value but those of
    // the options strata knows (none a secret) is masked (review AO1).
    for (const std::string text :
         {"postgresql://u@127.0.0.1:1/x?password=secret", "clickhouse://h:1/x?password=secret",
          "postgresql://u@h/x?sslmode=require&PassWord=secret#frag",
          "clickhouse://h/x?cluster=c&token=secret&user=me"}) {
        CAPTURE(text);
        std::string error = refused(text);
        CHECK(error.find("secret") == std::string::npos);
        CHECK(error.find("=***") != std::string::npos);
    }
    CHECK(refused("postgresql://u@h/x?sslmode=require&password=secret")
              .find("'postgresql://u@h/x?sslmode=require&password=***': the PostgreSQL URL option "
                    "'password' is not known (sslmode, connect_timeout and application_name "
                    "are); a password goes before the host, as user:password@host") !=
          std::string::npos);
    CHECK(refused("clickhouse://h/x?cluster=c&pwd=secret").find("as user:password@host") !=
          std::string::npos);
    // A password holding '/', '?' or '#', a bare query item, a fragment: none is repeated, nor
    // a piece of one read as a port (review AQ4).
    for (const std::string text :
         {"postgresql://u:se?cret@h/db", "postgresql://u:sec#ret@h/db",
          "postgresql://u:sec/ret@h/db", "postgresql://u@h/db?secret",
          "postgresql://u@h/db#password=secret", "clickhouse://u:p/secret@h/db"}) {
        CAPTURE(text);
        const std::string error = refused(text);
        CHECK(error.find("secret") == std::string::npos);
        CHECK(error.find("cret") == std::string::npos);
        CHECK(error.find("'se'") == std::string::npos);
    }
    CHECK(refused("postgresql://u:se?cret@h/db")
              .find("'postgresql://u:***@h/db': the user part holds a '/', '?' or '#'") !=
          std::string::npos);
    // An '@' in a query value is not a user part.
    std::string fine;
    CHECK(parse_database_argument("postgresql://u@h:5432/db?application_name=a@b", fine));
}

TEST_CASE("identifiers: only plain names are quoted") {
    for (const std::string& name : std::vector<std::string>{
             "customers", "_x", "Orders_2024", "a", std::string(63, 'n'), "ünïcode", "компания",
             "размер_компании", "größe2", "顧客", "_\xf0\x9f\x98\x80"}) {
        CAPTURE(name);
        CHECK(is_plain_identifier(name));
        CHECK(identifier_problem(name).empty());
        CHECK(quote_postgres_identifier(name) == "\"" + name + "\"");
        CHECK(quote_clickhouse_identifier(name) == "`" + name + "`");
    }
    for (const std::string& name : std::vector<std::string>{
             "", "1st", "has space", "dash-ed", "quote\"", "back`tick", "semi;colon", "dot.ted",
             std::string(64, 'n'), std::string("nul\0", 4), "new\nline",
             // 32 two-byte letters are 64 bytes; invalid UTF-8 (a stray byte, a cut sequence, an
             // overlong slash, a surrogate); a no-break space, a zero-width space, a
             // right-to-left override, a C1 control, a byte-order mark
             "яяяяяяяяяяяяяяяяяяяяяяяяяяяяяяяя", "a\xff", "a\xd0", "\xc0\xaf", "a\xed\xa0\x80",
             "a\xc2\xa0"
             "b",
             "a\xe2\x80\x8b"
             "b",
             "a\xe2\x80\xae"
             "b",
             "a\xc2\x85",
             "\xef\xbb\xbf"
             "a"}) {
        CAPTURE(name);
        CHECK_FALSE(is_plain_identifier(name));
        CHECK_FALSE(quote_postgres_identifier(name).has_value());
        CHECK_FALSE(quote_clickhouse_identifier(name).has_value());
        CHECK(identifier_problem(name).find("is not a name strata writes") != std::string::npos);
    }
    // Control bytes are shown escaped, so the message stays on one line.
    CHECK(identifier_problem("new\nline").find("'new\\x0aline'") == 0);
}

TEST_CASE("--db: commands that read SQLite files only say so for a warehouse URL") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"eval", "r.yaml", "--customer", "1", "--db",
                                   "postgresql://me:secret@db.internal/shop"},
          std::vector<std::string>{"graph", "r.yaml", "--db=clickhouse://ch1/shop"},
          std::vector<std::string>{"import", "orders.csv", "--db", "postgres://me@db/x"},
          std::vector<std::string>{"triggers", "--db", "shop.db", "--state",
                                   "postgresql://me:secret@db/x"}}) {
        const strata::testing::Run run = strata::testing::run_cli(args);
        CAPTURE(args[0]);
        CHECK(run.code == 2);
        CHECK(run.err.find("reads SQLite files only so far") != std::string::npos);
        // The password never shows.
        CHECK(run.err.find("secret") == std::string::npos);
        CHECK(run.out.empty());
        // With --format json, the error object on stdout as well.
        std::vector<std::string> json_args = args;
        json_args.insert(json_args.end(), {"--format", "json"});
        const strata::testing::Run json = strata::testing::run_cli(json_args);
        CHECK(json.code == 2);
        CHECK(strata::testing::json_at(json.out, "$.error.kind") == "usage");
        CHECK(strata::testing::json_at(json.out, "$.error.message")
                  .find("reads SQLite files only so far") != std::string::npos);
        CHECK(json.out.find("secret") == std::string::npos);
    }
    // The commands that do read a warehouse get past the guard (here: to the connection,
    // which port 1 refuses).
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"export", "shop", "--db", "postgresql://me@127.0.0.1:1/shop"},
          std::vector<std::string>{"history", "--db", "postgresql://me@127.0.0.1:1/shop",
                                   "--customer", "1"},
          std::vector<std::string>{"versions", "--db=postgresql://me@127.0.0.1:1/shop"},
          std::vector<std::string>{"show", "--db", "postgresql://me@127.0.0.1:1/shop", "r@1"}}) {
        const strata::testing::Run run = strata::testing::run_cli(args);
        CAPTURE(args[0]);
        CHECK(run.code == 2);
        CHECK(run.err.find("reads SQLite files only") == std::string::npos);
        CHECK(run.err.find("127.0.0.1:1") != std::string::npos);
    }
}
