// End to end: every shipped rule file runs on its demo database and gives sensible,
// non-empty segments; the CDNOW loader reads the real log.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_support.hpp"

using namespace strata::testing;
namespace fs = std::filesystem;

namespace {

// Which demo base each shipped rule file runs on. A new rule file must be added here.
const std::map<std::string, std::string> kDemoKind{
    {"saas-firmographic", "saas"},
    {"b2b-crm", "saas"},
    {"retail-rfm", "retail"},
    {"cosmetics-frequency", "retail"},
    {"electronics-breadth", "retail"},
    {"streaming-lifecycle", "streaming"},
    {"telecom-arpu", "telecom"},
    {"carservice-rfm", "carservice"},
    {"auto-lifecycle", "auto"},
    {"cdnow-rfm", "cdnow"},
    {"crm-export", "crm"},  // examples/crm/crm-export.csv through strata import
};

// Segment ids and counts from `run --format csv` (level, id, count), general and tactical.
struct Row {
    std::string id;
    int level;
    long count;
};

std::vector<Row> parse_csv(const std::string& csv) {
    std::vector<Row> rows;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::string cell;
        bool quoted = false;
        for (char c : line) {
            if (c == '"')
                quoted = !quoted;
            else if (c == ',' && !quoted) {
                f.push_back(cell);
                cell.clear();
            } else {
                cell += c;
            }
        }
        f.push_back(cell);
        rows.push_back({f[0], std::stoi(f[1]), std::stol(f[4])});
    }
    return rows;
}

}  // namespace

TEST_CASE("every shipped rule file runs on its demo database with sensible, non-empty segments") {
    TempDir dir;
    std::map<std::string, std::string> databases;
    for (const auto& kind :
         {"saas", "retail", "streaming", "telecom", "carservice", "auto", "cdnow"}) {
        const auto db = dir.file(std::string(kind) + ".db");
        auto r = run_cli({"demo-data", "--kind", kind, "--customers", "4000", "--out", db});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        databases[kind] = db;
    }
    const auto crm = dir.file("crm.db");
    auto imported =
        run_cli({"import", std::string(STRATA_SOURCE_DIR) + "/examples/crm/crm-export.csv", "--db",
                 crm, "--table", "customers", "--key", "id"});
    REQUIRE_MESSAGE(imported.code == 0, imported.err);
    databases["crm"] = crm;
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(fs::path(STRATA_SOURCE_DIR) / "rules")) {
        if (entry.path().extension() != ".yaml" ||
            entry.path().filename().string().ends_with(".test.yaml"))
            continue;
        ++files;
        const std::string name = entry.path().stem().string();
        CAPTURE(name);
        REQUIRE_MESSAGE(kDemoKind.count(name), "add " << name << " to kDemoKind");
        // A shipped file leaves the date to the run: a pinned as_of would make every run of it
        // look at the same past day.
        std::ifstream text(entry.path());
        for (std::string line; std::getline(text, line);)
            CHECK_MESSAGE(line.rfind("as_of:", 0) != 0, name << " pins " << line);
        const auto check = run_cli(
            {"check", entry.path().string(), "--db", databases.at(kDemoKind.at(name)), "--strict"});
        CHECK_MESSAGE(check.code == 0, check.out);
        // The shipped files pin no as_of: the demo bases' "today", or the day after the log.
        const std::string as_of = name == "cdnow-rfm" ? "1998-07-01" : "2026-11-01";
        const auto r =
            run_cli({"run", entry.path().string(), "--db", databases.at(kDemoKind.at(name)),
                     "--as-of", as_of, "--format", "csv"});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        const auto rows = parse_csv(r.out);
        long total = 0;
        size_t general = 0, non_empty = 0;
        for (const auto& row : rows) {
            if (row.level != 0) continue;
            ++general;
            total += row.count;
            non_empty += row.count > 0;
        }
        const long customers = name == "cdnow-rfm" ? 23570 : name == "crm-export" ? 2500 : 4000;
        CHECK(total == customers);  // the coverage invariant, seen from outside
        CHECK(general >= 3);
        // Every general segment but a catch-all holds customers, and no segment holds all.
        CHECK(non_empty + 1 >= general);
        for (const auto& row : rows)
            CHECK_MESSAGE(row.count < customers, row.id << " holds everyone");
        const auto e =
            run_cli({"export", entry.path().string(), "--db", databases.at(kDemoKind.at(name))});
        CHECK(e.code == 0);
        CHECK(static_cast<long>(std::count(e.out.begin(), e.out.end(), '\n')) == customers + 1);
    }
    CHECK(files == kDemoKind.size());
}

TEST_CASE("the CDNOW loader reads the whole real log") {
    TempDir dir;
    const auto db = dir.file("cdnow.db");
    auto r = run_cli({"demo-data", "--kind", "cdnow", "--out", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.find("23,570 customers, 69,659 orders") != std::string::npos);
    CHECK(count_rows(db, "orders") == 69659);
    SQLite::Database check(db, SQLite::OPEN_READONLY);
    CHECK(check.execAndGet("SELECT min(order_date) || ' ' || max(order_date) FROM orders")
              .getString() == "1997-01-01 1998-06-30");
    CHECK(check.execAndGet("SELECT round(sum(amount), 2) FROM orders").getDouble() ==
          doctest::Approx(2500315.63));
}

TEST_CASE("demo data is the same for the same seed, and different for another") {
    TempDir dir;
    for (const auto& name : {"a.db", "b.db"}) {
        REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "300", "--out",
                         dir.file(name)})
                    .code == 0);
    }
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "300", "--seed", "7", "--out",
                     dir.file("c.db")})
                .code == 0);
    auto dump = [&](const std::string& name) {
        SQLite::Database db(dir.file(name), SQLite::OPEN_READONLY);
        return db
            .execAndGet(
                "SELECT group_concat(customer_id || order_date || amount || category, '|') FROM "
                "orders")
            .getString();
    };
    CHECK(dump("a.db") == dump("b.db"));
    CHECK(dump("a.db") != dump("c.db"));
    auto bad =
        run_cli({"demo-data", "--kind", "retail", "--customers", "0", "--out", dir.file("d.db")});
    CHECK(bad.code == 2);
    CHECK_FALSE(fs::exists(dir.file("d.db")));
}

TEST_CASE("demo-data replaces only a demo base of its own without stored runs") {
    TempDir dir;
    auto demo = [&](const std::string& out, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"demo-data", "--kind", "retail", "--customers",
                                      "20",        "--out",  out};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    };
    auto bytes = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    // A demo base it wrote is replaced: the second command's seed is the one in the file.
    const auto base = dir.file("base.db");
    REQUIRE(demo(base).code == 0);
    const std::string first = bytes(base);
    REQUIRE(demo(base, {"--seed", "7"}).code == 0);
    CHECK(bytes(base) != first);
    // A rule file given as --out by mistake is left as it was.
    const auto rules = dir.write("rules.yaml", "ruleset: mine\n");
    const Run yaml = demo(rules);
    CHECK(yaml.code == 2);
    CHECK_MESSAGE(yaml.err.find("'" + rules + "' is not a SQLite database") != std::string::npos,
                  yaml.err);
    CHECK(bytes(rules) == "ruleset: mine\n");
    // A customer database that demo-data did not write.
    const auto own = dir.database("own.db", "CREATE TABLE customers (id INTEGER PRIMARY KEY);");
    const std::string own_bytes = bytes(own);
    const Run foreign = demo(own);
    CHECK(foreign.code == 2);
    CHECK(foreign.err.find("a SQLite database that demo-data did not write") != std::string::npos);
    CHECK(bytes(own) == own_bytes);
    // A demo base that now holds a stored run: the run's history would be lost.
    REQUIRE(run_cli({"run", std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml", "--db", base,
                     "--as-of", "2026-11-01"})
                .code == 0);
    const std::string with_run = bytes(base);
    const Run stored = demo(base);
    CHECK(stored.code == 2);
    CHECK_MESSAGE(stored.err.find("holds 1 stored run") != std::string::npos, stored.err);
    CHECK(bytes(base) == with_run);
    // A folder, a missing folder, and an empty file (nothing to lose).
    CHECK(demo(dir.file("")).err.find("is a folder") != std::string::npos);
    CHECK(demo(dir.file("none/x.db")).err.find("the folder") != std::string::npos);
    const auto empty = dir.write("empty.db", "");
    CHECK(demo(empty).code == 0);
    // --seed is a whole number 0 or more; --source belongs to cdnow.
    const Run negative = demo(dir.file("n.db"), {"--seed", "-1"});
    CHECK(negative.code == 2);
    CHECK(negative.err.find("a seed is a whole number") != std::string::npos);
    CHECK(demo(dir.file("n.db"), {"--source", rules}).code == 2);
    CHECK_FALSE(fs::exists(dir.file("n.db")));
    const auto no_orders = dir.write("empty.txt", "");
    const Run cdnow =
        run_cli({"demo-data", "--kind", "cdnow", "--source", no_orders, "--out", dir.file("c.db")});
    CHECK(cdnow.code == 2);
    CHECK(cdnow.err.find("has no orders") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("c.db")));
    // A customer id that is no whole number stopped the command with "internal error: stoll";
    // a folder was said to have no orders (review AO8).
    const auto bad_id = dir.write("bad.txt", "header\n1 19970101 1 10.0\n12x 19970102 1 5.0\n");
    const Run id =
        run_cli({"demo-data", "--kind", "cdnow", "--source", bad_id, "--out", dir.file("c.db")});
    CHECK(id.code == 2);
    CHECK(id.err.find("bad.txt:3: bad customer id '12x'") != std::string::npos);
    const Run folder = run_cli(
        {"demo-data", "--kind", "cdnow", "--source", dir.file(""), "--out", dir.file("c.db")});
    CHECK(folder.code == 2);
    CHECK(folder.err.find("is a directory, not a file") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("c.db")));
    // A file named like a partial write, that demo-data did not make, is left as it was; the
    // command's own partial file is gone once it is done.
    // So is one named as this process's would be (left by a killed process of the same id).
    const auto partial = dir.write("p.db.partial", "my notes");
    const auto same_id = dir.write("p.db." + std::to_string(::getpid()) + ".partial", "mine");
    REQUIRE(demo(dir.file("p.db")).code == 0);
    CHECK(bytes(partial) == "my notes");
    CHECK(bytes(same_id) == "mine");
    size_t left = 0;
    for (const auto& entry : fs::directory_iterator(dir.file("")))
        left += entry.path().string().find(".partial") != std::string::npos;
    CHECK(left == 2);
    // A symbolic link at --out stays one: its demo base is written again, keeping its mode.
    fs::permissions(dir.file("p.db"), fs::perms::owner_read | fs::perms::owner_write);
    fs::create_symlink("p.db", dir.file("link.db"));
    REQUIRE(demo(dir.file("link.db")).code == 0);
    CHECK(fs::is_symlink(dir.file("link.db")));
    CHECK(fs::status(dir.file("p.db")).permissions() ==
          (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("the rule graph lists every node after the nodes it depends on") {
    for (const auto& entry : fs::directory_iterator(fs::path(STRATA_SOURCE_DIR) / "rules")) {
        if (entry.path().extension() != ".yaml" ||
            entry.path().filename().string().ends_with(".test.yaml"))
            continue;
        CAPTURE(entry.path().string());
        const auto r = run_cli({"graph", entry.path().string(), "--format", "json"});
        REQUIRE(r.code == 0);
        // Every "deps" entry is smaller than the id of the node it belongs to.
        size_t at = 0, nodes = 0;
        while ((at = r.out.find("{\"id\":", at)) != std::string::npos) {
            const long id = std::stol(r.out.substr(at + 6));
            const size_t deps = r.out.find("\"deps\":[", at) + 8;
            const size_t end = r.out.find(']', deps);
            std::istringstream list(r.out.substr(deps, end - deps));
            std::string dep;
            while (std::getline(list, dep, ','))
                CHECK(std::stol(dep) < id);
            ++nodes;
            at = end;
        }
        CHECK(nodes >= 5);
        CHECK(r.out.find("\"kind\":\"general\"") != std::string::npos);
    }
    const auto text = run_cli({"graph", std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml"});
    CHECK(text.out.find("population    rfm at 16:11  <- 7, 8, 9") != std::string::npos);
    CHECK(text.out.find("general       loyal  <- 11, 16, 17") != std::string::npos);
    // A trigger needs its segment and what its `when` and templates read.
    CHECK(text.out.find("trigger       reactivate_sleeping  <- 9, 22") != std::string::npos);
    CHECK(text.out.find("trigger       vip_gift  <- 1, 7, 9, 17") != std::string::npos);
    const auto dot = run_cli(
        {"graph", std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml", "--format", "dot"});
    CHECK(dot.out.find("n11 -> n17;") != std::string::npos);
    // previous_segment and the like are read from the ruleset's stored runs, not from the
    // customer table: an auditor would look for them there.
    TempDir dir;
    const auto sticky = dir.write("sticky.yaml", R"(ruleset: sticky
version: 1
let:
  days: days_in_segment
general:
  segments:
    - id: vip
      when: spend >= 1000 or (previous_segment == 'vip' and days < 60)
    - id: rest
      when: otherwise
)");
    const auto state = run_cli({"graph", sticky});
    CHECK(state.out.find("   1  column        customers.spend\n"
                         "   2  state         previous_segment\n"
                         "   3  state         days_in_segment\n") != std::string::npos);
    CHECK(state.out.find("customers.previous_segment") == std::string::npos);
    const auto json = run_cli({"graph", sticky, "--format", "json"});
    CHECK(json.out.find("\"kind\":\"state\",\"name\":\"previous_segment\"") != std::string::npos);
    // The value (retail-rfm's `value: revenue`, node 9) is the last node.
    CHECK(text.out.find("  27  value         value  <- 9\n") != std::string::npos);
}

// `value:` was left out, so what only it read depended on nothing (a population call only it
// made was missing); a `source.since` column, which leaves customers out before anything is
// computed, had no edges.
TEST_CASE("the rule graph shows the value and what source.since leaves out") {
    TempDir dir;
    const auto rules = dir.write("v.yaml", R"(ruleset: v
version: 1
source:
  since: signup
  facts:
    orders: { table: orders, key: customer_id, time: day }
let:
  spend: sum(orders.amount)
value: spend * ntile(age, 3)
general:
  segments:
    - id: all
      when: otherwise
)");
    const auto text = run_cli({"graph", rules});
    INFO(text.out, text.err);
    REQUIRE(text.code == 0);
    CHECK(text.out.find("   1  column        customers.signup\n"
                        "   2  column        customers.age\n") != std::string::npos);
    CHECK(text.out.find("   6  general       all  <- 1\n"
                        "   7  population    ntile at 9:16  <- 1, 2\n"
                        "   8  value         value  <- 5, 7\n") != std::string::npos);
    // A literal's control characters are written as the language's escapes: a raw NUL made
    // `dot` refuse the file, and a CR broke the text's line.
    const auto escaped = dir.write("e.yaml", R"(ruleset: e
version: 1
source:
  facts:
    orders: { table: orders, key: customer_id }
let:
  n: count(orders where note == "a\0b\r\tc\n")
general:
  segments:
    - id: all
      when: n >= 0
)");
    for (const char* format : {"text", "dot", "json"}) {
        const auto shown = run_cli({"graph", escaped, "--format", format});
        CAPTURE(format);
        REQUIRE_MESSAGE(shown.code == 0, shown.err);
        CHECK(shown.out.find('\0') == std::string::npos);
        CHECK(shown.out.find('\r') == std::string::npos);
        CHECK(shown.out.find('\t') == std::string::npos);
    }
    CHECK(run_cli({"graph", escaped}).out.find("count(orders where (note == 'a\\0b\\r\\tc\\n'))") !=
          std::string::npos);
    const auto json = run_cli({"graph", rules, "--format", "json"});
    CHECK(json.out.find("{\"id\":8,\"kind\":\"value\",\"name\":\"value\",\"line\":9,\"col\":8,"
                        "\"deps\":[5,7]}") != std::string::npos);
}

// A move needs the side it names: `move any -> vip` was drawn depending on every general
// segment while `move vip -> any` depended on vip alone.
TEST_CASE("the rule graph: a move trigger depends on the segment it names") {
    TempDir dir;
    const auto rules = dir.write("mv.yaml", R"(ruleset: mv
version: 1
general:
  segments:
    - { id: vip, when: spend >= 1000 }
    - { id: mid, when: spend >= 100 }
    - { id: rest, when: otherwise }
triggers:
  - { id: up, on: move any -> vip, actions: [tag: { name: up }] }
  - { id: down, on: move vip -> any, actions: [tag: { name: down }] }
  - { id: moved, on: move any -> any, actions: [tag: { name: moved }] }
  - { id: came, on: enter any, actions: [tag: { name: came }] }
  - { id: across, on: move mid -> vip, actions: [tag: { name: across }] }
)");
    const Run r = run_cli({"graph", rules});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK_MESSAGE(r.out.find("   5  trigger       up  <- 2\n"
                             "   6  trigger       down  <- 2\n"
                             "   7  trigger       moved  <- 2, 3, 4\n"
                             "   8  trigger       came  <- 2, 3, 4\n"
                             "   9  trigger       across  <- 2, 3\n") != std::string::npos,
                  r.out);
}

TEST_CASE("every command answers --help with exit 0") {
    for (const char* command :
         {"check", "run", "export", "runs", "history", "graph", "demo-data", "outbox", "triggers",
          "versions", "show", "diff", "test", "explain"}) {
        CAPTURE(command);
        const auto r = run_cli({command, "--help"});
        CHECK(r.code == 0);
        CHECK(r.out.find("--") != std::string::npos);
    }
    for (const char* command : {"list", "claim", "ack", "fail"}) {
        CAPTURE(command);
        const auto r = run_cli({"outbox", command, "--help"});
        CHECK(r.code == 0);
        CHECK(r.out.find("Usage: strata outbox " + std::string(command)) != std::string::npos);
        CHECK(r.out.find("--db") != std::string::npos);
    }
    const auto top = run_cli({"--help"});
    CHECK(top.code == 0);
    for (const char* command :
         {"check", "run", "export", "runs", "history", "graph", "demo-data", "outbox"})
        CHECK(top.out.find(command) != std::string::npos);
}

TEST_CASE("every shipped rule file has tests that reach every segment and trigger") {
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(fs::path(STRATA_SOURCE_DIR) / "rules")) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".yaml" || name.ends_with(".test.yaml")) continue;
        ++files;
        CAPTURE(name);
        const auto r = run_cli({"test", entry.path().string(), "--min-coverage", "100"});
        INFO(r.out, r.err);
        CHECK(r.code == 0);
    }
    CHECK(files >= 10);
}

// A test file given where a rule file goes: its keys were errors (unknown key 'cases', missing
// 'ruleset'), and `strata test` looked for NAME.test.test.yaml.
TEST_CASE("a test file given as RULES is named as such, with the rule file to give instead") {
    const std::string tests = std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.test.yaml";
    for (const std::string command : {"graph", "run", "diff", "compile", "export"}) {
        CAPTURE(command);
        std::vector<std::string> args{command, tests};
        if (command == "diff") args.push_back(tests);
        if (command == "compile") args.insert(args.end(), {"--dialect", "sqlite"});
        if (command != "graph" && command != "compile")
            args.insert(args.end(), {"--db", "none.db"});
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK(r.err.find(tests + " holds a rule file's test cases, which 'strata test RULES' "
                                 "runs; give the rule file itself") != std::string::npos);
        CHECK(r.err.find("unknown key") == std::string::npos);
    }
    const Run json = run_cli({"graph", tests, "--format", "json"});
    CHECK(json.out.find("{\"format\":1,\"error\":{\"kind\":\"usage\"") == 0);
    const Run test = run_cli({"test", tests});
    CHECK(test.code == 2);
    CHECK(test.err.find("is the test file: give the rule file it tests (" +
                        std::string(STRATA_SOURCE_DIR) + "/rules/retail-rfm.yaml)") !=
          std::string::npos);
    // check still names it among the rule files it is given, with a note.
    const Run check = run_cli({"check", tests});
    CHECK(check.code == 0);
}
