// What people and programs read: the run table (whole ids, tiny shares, one line per
// segment), the JSON documents of docs/running.md (format 1: every key, warnings, error
// kinds and diagnostic codes), export as a JSON array, and where run state cannot be written.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "process_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// 10,000 customers: customer 1 is the only 'vip', 2..4 are 'trial', the rest 'paid'.
const char* kTenThousand = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, spend REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO customers
  SELECT i, CASE WHEN i = 1 THEN 'vip' WHEN i <= 4 THEN 'trial' ELSE 'paid' END,
         CASE WHEN i = 1 THEN 0.5 ELSE 100 END FROM n;
)sql";

const std::string kLongId = "a_segment_id_that_is_forty_characters_xx";       // 40 characters
const std::string kLongTactical = "tactical_inside_tactical_with_a_long_id";  // 39 characters

// A rule file on kTenThousand: a tiny general segment with a long id and metadata over
// several lines, an empty one, and a catch-all with tactical segments nested two deep.
std::string table_rules() {
    return "ruleset: output-test\nversion: 1\nvalue: spend\ngeneral:\n  segments:\n"
           "    - id: " +
           kLongId +
           "\n"
           "      label: \"two\\nlines\"\n"
           "      goal: |\n        first line\n        second line\n"
           "      offer: \"tab\\there\"\n"
           "      channel: \"e\\r\\nmail\"\n"
           "      when: plan == 'vip'\n"
           "    - id: nobody\n      when: plan == 'none'\n"
           "    - id: rest\n      label: Everyone else\n      when: otherwise\n"
           "      tactical:\n"
           "        - id: trials\n          when: plan == 'trial'\n"
           "          tactical:\n"
           "            - id: " +
           kLongTactical + "\n              when: spend > 1\n";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// Characters (not bytes) before `needle` in `line`, counting each UTF-8 sequence once.
size_t column_of(const std::string& line, const std::string& needle) {
    const size_t at = line.find(needle);
    REQUIRE(at != std::string::npos);
    size_t chars = 0;
    for (size_t i = 0; i < at; ++i)
        chars += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
    return chars;
}

// The table row of a segment: the line whose SEGMENT column holds `id`.
std::string row_of(const std::vector<std::string>& lines, const std::string& id) {
    for (const auto& line : lines) {
        const size_t start = line.find_first_not_of(" └");
        if (start != std::string::npos && line.compare(start, id.size() + 1, id + " ") == 0)
            return line;
    }
    FAIL("no row for " << id);
    return {};
}

// What a dry run of `file` over `db` on 2026-11-01 prints in `format`; the run must succeed.
std::string dry_run_output(const std::string& file, const std::string& db, const char* format) {
    const Run r = run_cli(
        {"run", file, "--db", db, "--dry-run", "--as-of", "2026-11-01", "--format", format});
    CHECK_MESSAGE(r.code == 0, r.err);
    return r.out;
}

}  // namespace

TEST_CASE("the run table keeps long and nested ids whole and its columns aligned") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    const auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto lines = lines_of(r.out);
    const std::string& header = lines.at(3);
    REQUIRE(header.rfind("SEGMENT", 0) == 0);
    const std::string top = row_of(lines, kLongId);
    const std::string nested = row_of(lines, kLongTactical);
    CHECK(nested.find("    └ " + kLongTactical + " ") == 0);  // two levels deep, whole
    CHECK(row_of(lines, "trials").find("  └ trials ") == 0);
    // Every row's SHARE ends where the header's does, whatever the length of the ids.
    const size_t share_end = column_of(header, "SHARE") + 5;
    for (const auto& id : {kLongId, std::string("nobody"), std::string("rest"),
                           std::string("trials"), kLongTactical}) {
        CAPTURE(id);
        const std::string row = row_of(lines, id);
        const size_t percent = row.find('%');
        REQUIRE(percent != std::string::npos);
        CHECK(column_of(row, "%") + 1 == share_end);
    }
    // The label column is cut, never the id.
    CHECK(column_of(header, "LABEL") == kLongTactical.size() + 6 + 1);
}

TEST_CASE("a share under 0.05% shows as <0.1%, an empty segment as 0.0%") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    const auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto lines = lines_of(r.out);
    // 1 customer of 10,000 (0.01%), holding 0.5 of 999,900.5 of the value.
    const std::string tiny = row_of(lines, kLongId);
    CHECK(tiny.find("  <0.1%") != std::string::npos);
    CHECK(tiny.find("0.0%") == std::string::npos);
    const std::string empty = row_of(lines, "nobody");
    CHECK(empty.find("    0.0%") != std::string::npos);
    CHECK(empty.find("<0.1%") == std::string::npos);
    CHECK(row_of(lines, "rest").find("100.0%") != std::string::npos);
}

TEST_CASE("line breaks and control characters in metadata do not break the table") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    const auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto lines = lines_of(r.out);
    // Two lines of summary, a blank, the column names, five segments, a blank, data quality
    // and the run time.
    CHECK(lines.size() == 3 + 1 + 5 + 1 + 2);
    const std::string row = row_of(lines, kLongId);
    CHECK(row.find("two⏎lines") != std::string::npos);
    CHECK(row.find("e⏎mail") != std::string::npos);
    CHECK(row.find("first line⏎second line⏎ — tab here") != std::string::npos);
    for (const auto& line : lines) {
        for (char c : line)
            CHECK_MESSAGE(static_cast<unsigned char>(c) >= 0x20, line);
        CHECK_MESSAGE((line.empty() || line.back() != ' '), "trailing blank: " << line);
    }
}

TEST_CASE("run's JSON document has every key, null when empty, and the compiler's warnings") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file =
        dir.write("r.yaml",
                  "ruleset: json-test\nversion: 1\nlet:\n  unused: spend * 2\ngeneral:\n"
                  "  segments:\n    - id: vip\n      when: plan == 'vip'\n"
                  "      tactical:\n        - id: small\n          when: plan == 'vip'\n"
                  "    - id: trial\n      label: Trial\n      goal: convert\n      offer: a call\n"
                  "      channel: phone\n      contact_every: 14d\n      priority: 1\n"
                  "      when: plan == 'trial'\n"
                  "    - id: rest\n      when: otherwise\n");
    const auto r = run_cli(
        {"run", file, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.out.rfind("{\"format\":1,\"ruleset\":\"json-test\",", 0) == 0);
    const YAML::Node doc = YAML::Load(r.out);
    for (const char* key :
         {"format", "ruleset", "version", "sha256", "as_of", "run_id", "customers", "value_total",
          "segments", "warnings", "data_quality", "transitions", "elapsed_ms"})
        CHECK_MESSAGE(doc[key].IsDefined(), key);
    CHECK(doc["run_id"].IsNull());
    CHECK(doc["value_total"].IsNull());  // the rule file names no value
    const char* segment_keys[] = {
        "id",   "label", "count",   "share",         "value_total", "value_avg", "value_share",
        "goal", "offer", "channel", "contact_every", "priority",    "path",      "tactical"};
    const YAML::Node vip = doc["segments"][0];
    const YAML::Node small = vip["tactical"][0];
    const YAML::Node trial = doc["segments"][1];
    for (const char* key : segment_keys) {
        CAPTURE(key);
        CHECK(vip[key].IsDefined());
        CHECK(small[key].IsDefined());
        CHECK(trial[key].IsDefined());
    }
    for (const char* key : {"label", "goal", "offer", "channel", "contact_every", "priority",
                            "value_total", "value_avg", "value_share"})
        CHECK_MESSAGE(vip[key].IsNull(), key);
    CHECK(vip["path"].as<std::string>() == "vip");
    CHECK(small["path"].as<std::string>() == "small");  // under a general segment: its id
    CHECK(trial["label"].as<std::string>() == "Trial");
    CHECK(trial["offer"].as<std::string>() == "a call");
    // As written: 14d, not the 2w it is equal to.
    CHECK(trial["contact_every"].as<std::string>() == "14d");
    CHECK(trial["priority"].as<int>() == 1);
    // Warnings: the unused let and the tactical segment repeating its parent's condition, in
    // file order, with their codes.
    const YAML::Node warnings = doc["warnings"];
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0]["code"].as<std::string>() == "unused-let");
    CHECK(warnings[0]["line"].as<int>() == 4);
    CHECK(warnings[0]["source_line"].as<std::string>() == "  unused: spend * 2");
    CHECK(warnings[1]["code"].as<std::string>() == "same-condition");
    CHECK(warnings[1]["severity"].as<std::string>() == "warning");
    // The same objects `check --format json` gives for the file.
    const auto check = run_cli({"check", file, "--db", db, "--format", "json"});
    const std::string first =
        r.out.substr(r.out.find("\"warnings\":[") + 12,
                     r.out.find("},{\"file\"") + 1 - r.out.find("\"warnings\":[") - 12);
    CHECK(check.out.find(first) != std::string::npos);
}

TEST_CASE("error objects carry format, a stable kind and each diagnostic's code") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    struct Case {
        std::string rules;
        std::string kind;
        std::string code;
    };
    const std::string head = "ruleset: e\nversion: 1\ngeneral:\n  segments:\n";
    const Case cases[] = {
        {head + "    - id: a\n      when: plna == 'x'\n    - id: b\n      when: otherwise\n",
         "rules", "unknown-name"},
        {"ruleset: e\nversion: 1\nsource: { customers: clients }\ngeneral:\n  segments:\n"
         "    - id: a\n      when: true\n    - id: b\n      when: otherwise\n",
         "database", "not-in-database"},
        {head + "    - id: a\n      when: plan = 'x'\n    - id: b\n      when: otherwise\n",
         "rules", "syntax"},
        {head + "    - id: a\n      when: plan > 3\n    - id: b\n      when: otherwise\n", "rules",
         "type-mismatch"},
        {head + "    - id: a\n      when: plan == 'x'\n    - id: a\n      when: otherwise\n",
         "rules", "duplicate-id"},
        {head + "    - id: a\n      wen: plan == 'x'\n    - id: b\n      when: otherwise\n",
         "rules", "unknown-key"},
        {head + "    - id: a\n      when: plan == 'x'\n      priority: 7\n"
                "    - id: b\n      when: otherwise\n",
         "rules", "invalid-value"},
        {"ruleset: e\nversion: [1\n", "rules", "yaml"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.rules);
        const auto file = dir.write("bad.yaml", c.rules);
        const auto r = run_cli(
            {"run", file, "--db", db, "--as-of", "2026-11-01", "--format", "json", "--dry-run"});
        CHECK(r.code == (c.kind == "rules" ? 1 : 2));
        CHECK(r.out.rfind("{\"format\":1,\"error\":{\"kind\":\"" + c.kind + "\",", 0) == 0);
        const YAML::Node doc = YAML::Load(r.out);
        std::string first_error;  // the diagnostics hold warnings too
        for (const auto& d : doc["error"]["diagnostics"]) {
            if (first_error.empty() && d["severity"].as<std::string>() == "error")
                first_error = d["code"].as<std::string>();
        }
        CHECK(first_error == c.code);
    }
    const auto file = dir.write("ok.yaml", head + "    - id: a\n      when: otherwise\n");
    auto r = run_cli({"run", file, "--db", db, "--as-of", "someday", "--format", "json"});
    CHECK(r.code == 2);
    CHECK(r.out.rfind("{\"format\":1,\"error\":{\"kind\":\"usage\",", 0) == 0);
    r = run_cli({"run", dir.file("missing.yaml"), "--db", db, "--format", "json"});
    CHECK(r.code == 2);
    CHECK(r.out.rfind("{\"format\":1,\"error\":{\"kind\":\"file\",", 0) == 0);
    CHECK(r.out.find("\"diagnostics\":[]") != std::string::npos);
    r = run_cli({"check", file, "--db", dir.file("missing.db"), "--format", "json"});
    CHECK(r.code == 2);
    CHECK(r.out.rfind("{\"format\":1,\"error\":{\"kind\":\"database\",", 0) == 0);
    r = run_cli({"graph", file, "--format", "json"});
    CHECK(r.code == 0);
    CHECK(r.out.rfind("{\"format\":1,\"ruleset\":\"e\",", 0) == 0);
}

TEST_CASE("export --format json is one array of the objects jsonl writes a line each") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    const auto state = dir.file("state.db");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--state", state}).code ==
            0);
    const auto jsonl = run_cli({"export", file, "--db", db, "--state", state, "--format", "jsonl"});
    const auto json = run_cli({"export", file, "--db", db, "--state", state, "--format", "json"});
    REQUIRE(jsonl.code == 0);
    REQUIRE(json.code == 0);
    const YAML::Node array = YAML::Load(json.out);
    REQUIRE(array.IsSequence());
    CHECK(array.size() == 10000);
    // The array's rows, one a line between the brackets, are the jsonl lines with commas.
    std::string joined;
    for (const auto& line : lines_of(jsonl.out))
        joined += (joined.empty() ? "[\n" : ",\n") + line;
    CHECK(json.out == joined + "\n]\n");
    CHECK(array[1]["segment"].as<std::string>() == "rest");
    CHECK(array[1]["tactical"][0].as<std::string>() == "trials");
    CHECK(array[1]["offer"].IsNull());  // no offer: null, not ""
    CHECK(array[0]["offer"].as<std::string>() == "tab\there");
}

TEST_CASE("a state file in a folder that cannot be written names the folder and the reason") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    const auto missing = dir.file("no/such/folder") + "/state.db";
    auto r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--state", missing});
    CHECK(r.code == 2);
    CHECK(r.err == "strata run: cannot write run state to '" + missing + "': folder '" +
                       dir.file("no/such/folder") + "' does not exist\n");
    const auto regular = dir.write("plain.txt", "not a folder");
    r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--state", regular + "/state.db",
                 "--format", "json"});
    CHECK(r.code == 2);
    CHECK(r.err.find("cannot write run state to '" + regular + "/state.db': '" + regular +
                     "' is not a folder") != std::string::npos);
    CHECK(r.out.rfind("{\"format\":1,\"error\":{\"kind\":\"database\",", 0) == 0);
    r = run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--state", dir.file("")});
    CHECK(r.code == 2);
    CHECK(r.err.find("it is a folder, not a file") != std::string::npos);
    // Permissions hold only for users other than root, who may write anywhere.
    if (::geteuid() != 0) {
        const auto locked = dir.file("locked");
        std::filesystem::create_directories(locked);
        std::filesystem::permissions(
            locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
        r = run_cli(
            {"run", file, "--db", db, "--as-of", "2026-11-01", "--state", locked + "/state.db"});
        std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
        CHECK(r.code == 2);
        CHECK(r.err.find("folder '" + locked + "' is not writable (permission denied)") !=
              std::string::npos);
    }
}

TEST_CASE("output that cannot be written fails the command with exit 2, small or large") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    const auto state = dir.file("state.db");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01", "--state", state}).code ==
            0);
    // The binary itself, its stdout on /dev/full (every write fails: a full disk).
    auto exit_code = [&](std::vector<std::string> args, const std::string& out) {
        args.insert(args.begin(), STRATA_BINARY);
        const pid_t pid = start(args, out, dir.file("err.txt"));
        return finish_or_kill(pid, Clock::now() + std::chrono::seconds(60)).exit_code;
    };
    auto said = [&] {
        std::ifstream in(dir.file("err.txt"));
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::vector<std::string> exported{"export", file, "--db", db, "--state", state};
    REQUIRE(exit_code(exported, dir.file("members.csv")) == 0);  // 10,000 rows
    CHECK(exit_code(exported, "/dev/full") == 2);
    CHECK(said().find("strata: cannot write the output to stdout") != std::string::npos);
    // Output small enough to sit in the buffer until the end fails the same way.
    const std::vector<std::string> graph{"graph", file, "--format", "json"};
    REQUIRE(exit_code(graph, dir.file("graph.json")) == 0);
    CHECK(exit_code(graph, "/dev/full") == 2);
    CHECK(said().find("what it printed is incomplete") != std::string::npos);
    CHECK(said().find("was stored") == std::string::npos);  // graph stores nothing
    // A stored run whose report is lost says that it was stored, and which run it is.
    const std::vector<std::string> run{"run",     file,         "--db",    db,
                                       "--as-of", "2026-11-02", "--state", state};
    CHECK(exit_code(run, "/dev/full") == 2);
    CHECK(said().find("strata run: run 2 of ruleset 'output-test' was stored") !=
          std::string::npos);
    CHECK(said().find("what it printed is incomplete") != std::string::npos);
    // A dry run stores nothing and says nothing of the kind.
    std::vector<std::string> dry = run;
    dry.push_back("--dry-run");
    CHECK(exit_code(dry, "/dev/full") == 2);
    CHECK(said().find("was stored") == std::string::npos);
    // An import too: the rows are in the table.
    const auto csv = dir.write("people.csv", "id,name\n1,Ann\n2,Bo\n");
    CHECK(exit_code({"import", csv, "--db", db, "--table", "people"}, "/dev/full") == 2);
    CHECK(said().find("strata import: 2 rows were imported into table people") !=
          std::string::npos);
    // demo-data: the base is whole, and said to be.
    const auto demo = dir.file("demo.db");
    CHECK(exit_code({"demo-data", "--kind", "retail", "--customers", "1", "--out", demo},
                    "/dev/full") == 2);
    CHECK(said().find("strata demo-data: " + demo + " was written") != std::string::npos);
    CHECK(std::filesystem::exists(demo));
}

TEST_CASE("value totals out of range, huge or tiny, in the table, CSV and JSON") {
    TempDir dir;
    // a: 1e308 has no exact units (2^127 of them at most), so a's total and the run's are out
    // of range; b: -9e28, near the end of the range (10^38 units); c: 5e-08; d: 1.9e19, more
    // than a 64-bit count holds; rest: no value.
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, spend REAL);
INSERT INTO customers VALUES (1, 'a', 1e308), (2, 'a', 1e308), (3, 'b', -9e28),
  (4, 'c', 5e-8), (5, 'd', 1.9e19), (6, 'e', NULL);
)sql");
    std::string rules = "ruleset: totals\nversion: 1\nvalue: spend\ngeneral:\n  segments:\n";
    for (const char* id : {"a", "b", "c", "d"})
        rules += std::string("    - id: ") + id + "\n      when: plan == '" + id + "'\n";
    rules += "    - id: rest\n      when: otherwise\n";
    const auto file = dir.write("r.yaml", rules);
    auto run = [&](const char* format) { return dry_run_output(file, db, format); };
    // The table: it once aborted (an internal error after the run was stored).
    const std::string table = run("table");
    CHECK(table.find("6 customers, value total -\n") != std::string::npos);
    CHECK(table.find("1.9e+19") != std::string::npos);
    CHECK(table.find("-9e+28") != std::string::npos);
    // CSV: every row keeps its 13 fields; what is not known is empty, as JSON's null.
    const auto csv = lines_of(run("csv"));
    REQUIRE(csv.size() == 6);
    for (const auto& line : csv)
        CHECK_MESSAGE(std::count(line.begin(), line.end(), ',') == 12, line);
    CHECK(csv[1] == "a,0,,,2,0.333333,,,,,,,");
    CHECK(csv[4] == "d,0,,,1,0.166667,19000000000000000000.00,19000000000000000000.00,,,,,");
    CHECK(csv[5] == "rest,0,,,1,0.166667,0.00,,,,,,");
    // JSON: the numbers themselves, not their first 64 characters, and no share of an
    // unknown total.
    const std::string json = run("json");
    CHECK(json_at(json, "$.value_total") == "<none>");
    CHECK(json_at(json, "$.segments[0].value_total") == "<none>");
    CHECK(json_at(json, "$.segments[1].value_total") == "-9.0e+28");
    CHECK(json.find("\"value_total\":-9e+28,") != std::string::npos);
    CHECK(json.find("\"value_total\":5e-08,") != std::string::npos);
    CHECK(json.find("\"value_total\":1.9e+19,") != std::string::npos);
    for (int s = 0; s < 5; ++s)
        CHECK(json_at(json, "$.segments[" + std::to_string(s) + "].value_share") == "<none>");
    // The report of the stored run writes the whole number.
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string html = dir.file("r.html");
    REQUIRE(run_cli({"report", "--db", db, "--out", html}).code == 0);
    std::ifstream in(html);
    const std::string page((std::istreambuf_iterator<char>(in)), {});
    std::string digits(400, '\0');
    digits.resize(static_cast<size_t>(std::snprintf(digits.data(), digits.size(), "%.2f", -9e28)));
    REQUIRE(digits.size() == 33);  // '-', 29 digits, '.', 2 decimals
    CHECK(page.find("data-value-total=\"" + digits + "\"") != std::string::npos);
}

TEST_CASE("value totals are exact decimal sums, whatever the order of the customers") {
    TempDir dir;
    // In key order, doubles would give 1e20 + 1 = 1e20, then 0: the 1 lost.
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, spend REAL);
INSERT INTO customers VALUES (1, 'a', 1e20), (2, 'a', 1), (3, 'a', -1e20), (4, 'b', 0.1),
  (5, 'b', 0.2);
)sql");
    const auto file = dir.write("r.yaml",
                                "ruleset: exact\nversion: 1\nvalue: spend\ngeneral:\n  segments:\n"
                                "    - id: a\n      when: plan == 'a'\n"
                                "    - id: b\n      when: otherwise\n");
    const Run r = run_cli(
        {"run", file, "--db", db, "--dry-run", "--as-of", "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(json_at(r.out, "$.segments[0].value_total") == "1");
    CHECK(json_at(r.out, "$.segments[0].value_avg") == "0.33");
    CHECK(json_at(r.out, "$.segments[1].value_total") == "0.3");
    CHECK(json_at(r.out, "$.value_total") == "1.3");
    CHECK(json_at(r.out, "$.segments[0].value_share") == "0.7692");
}

TEST_CASE("value totals and averages round half a cent away from zero, as written") {
    TempDir dir;
    // The doubles nearest 2.675, 0.125 and 1.005 lie below them: printed as they are, they
    // would round down.
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, spend REAL);
INSERT INTO customers VALUES (1, 'a', 2.675), (2, 'b', 0.125), (3, 'c', 1.005),
  (4, 'd', -2.675), (5, 'e', 1.0), (6, 'e', 1.01);
)sql");
    std::string rules = "ruleset: cents\nversion: 1\nvalue: spend\ngeneral:\n  segments:\n";
    for (const char* id : {"a", "b", "c", "d"})
        rules += std::string("    - id: ") + id + "\n      when: plan == '" + id + "'\n";
    rules += "    - id: e\n      when: otherwise\n";
    const auto file = dir.write("r.yaml", rules);
    auto run = [&](const char* format) { return dry_run_output(file, db, format); };
    const std::string json = run("json");
    const char* totals[] = {"2.68", "0.13", "1.01", "-2.68", "2.01"};
    const char* averages[] = {"2.68", "0.13", "1.01", "-2.68", "1.01"};  // 1.005 for e
    for (int s = 0; s < 5; ++s) {
        CAPTURE(s);
        CHECK(json_at(json, "$.segments[" + std::to_string(s) + "].value_total") == totals[s]);
        CHECK(json_at(json, "$.segments[" + std::to_string(s) + "].value_avg") == averages[s]);
    }
    CHECK(json_at(json, "$.value_total") == "3.14");
    const auto csv = lines_of(run("csv"));
    REQUIRE(csv.size() == 6);
    CHECK(csv[1].find(",2.68,2.68,") != std::string::npos);
    CHECK(csv[5].find(",2.01,1.01,") != std::string::npos);
    const std::string table = run("table");
    CHECK(table.find("value total 3.14\n") != std::string::npos);
    CHECK(table.find("       2.68             2.68") != std::string::npos);
}

TEST_CASE("export: JSON says when text keys are not UTF-8, which it cannot write as they are") {
    TempDir dir;
    // Two keys that differ only in a byte that is not UTF-8 (0xFF and 0xFE before an 'A').
    const auto db = dir.database("base.db", R"sql(
CREATE TABLE customers (customer_id TEXT PRIMARY KEY, plan TEXT);
INSERT INTO customers VALUES (CAST(x'FF41' AS TEXT), 'a'), (CAST(x'FE41' AS TEXT), 'b'),
  ('plain', 'a');
)sql");
    const auto file = dir.write("r.yaml",
                                "ruleset: keys\nversion: 1\ngeneral:\n  segments:\n    - id: a\n"
                                "      when: plan == 'a'\n    - id: rest\n      when: otherwise\n");
    REQUIRE(run_cli({"run", file, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const Run json = run_cli({"export", file, "--db", db, "--format", "jsonl"});
    CHECK(json.code == 0);
    CHECK(json.err.find("strata export: note: 2 customer keys are not UTF-8 text") !=
          std::string::npos);
    const Run csv = run_cli({"export", file, "--db", db});
    CHECK(csv.out.find("\xFF"
                       "A,a") != std::string::npos);  // CSV keeps the bytes
    CHECK(csv.err.find("not UTF-8") == std::string::npos);
}

TEST_CASE("-v repeated, or its letters run together, gives more log lines, never fewer") {
    TempDir dir;
    const auto db = dir.database("base.db", kTenThousand);
    const auto file = dir.write("r.yaml", table_rules());
    // The binary itself: the log level is set before the options are parsed.
    auto log_lines = [&](std::vector<std::string> verbose) {
        std::vector<std::string> args{STRATA_BINARY};
        args.insert(args.end(), verbose.begin(), verbose.end());
        for (const char* a : {"run", "--dry-run", "--as-of", "2026-11-01", "--db"})
            args.push_back(a);
        args.push_back(db);
        args.push_back(file);
        const pid_t pid = start(args, dir.file("out.txt"), dir.file("err.txt"));
        REQUIRE(finish_or_kill(pid, Clock::now() + std::chrono::seconds(60)).exit_code == 0);
        std::ifstream in(dir.file("err.txt"));
        size_t lines = 0;
        for (std::string line; std::getline(in, line);)
            lines += line.find("[strata]") != std::string::npos;
        return lines;
    };
    const size_t quiet = log_lines({});
    const size_t info = log_lines({"-v"});
    const size_t debug = log_lines({"-vv"});
    CHECK(quiet == 0);
    CHECK(info > 0);
    CHECK(debug > info);
    CHECK(log_lines({"-v", "-v"}) == debug);
    CHECK(log_lines({"--verbose", "--verbose"}) == debug);
    CHECK(log_lines({"-vvv"}) >= debug);
}

// A WAL-mode database in a folder the reader cannot write: SQLite's own words ("attempt to
// write a readonly database") read as if strata wrote; the message says what WAL needs. Run
// as another user (root writes anywhere): `setpriv` to nobody when the tests run as root.
TEST_CASE("a WAL database in a folder the reader cannot write says what WAL needs") {
    TempDir dir;
    const auto folder = dir.file("ro");
    std::filesystem::create_directories(folder);
    const auto db = folder + "/base.db";
    {
        SQLite::Database make(db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        make.exec("PRAGMA journal_mode = WAL; CREATE TABLE customers (id INTEGER PRIMARY KEY);");
    }
    REQUIRE_FALSE(std::filesystem::exists(db + "-shm"));
    std::vector<std::string> argv = {STRATA_BINARY, "runs", "--db", db};
    if (::geteuid() == 0) {
        if (!std::filesystem::exists("/usr/bin/setpriv")) {  // util-linux, in Debian
            WARN_MESSAGE(false, "not tested: root without /usr/bin/setpriv to run as nobody");
            return;
        }
        argv.insert(argv.begin(),
                    {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"});
    } else {
        std::filesystem::permissions(
            folder, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    }
    const pid_t pid = start(argv, dir.file("out.txt"), dir.file("err.txt"));
    const int code = finish_or_kill(pid, Clock::now() + std::chrono::seconds(30)).exit_code;
    std::filesystem::permissions(folder, std::filesystem::perms::owner_all);
    std::ifstream in(dir.file("err.txt"));
    const std::string err(std::istreambuf_iterator<char>(in), {});
    CHECK(code == 2);
    CHECK_MESSAGE(err.find("strata runs: cannot open database '" + db +
                           "': it is in WAL mode, whose readers must make its '-shm' file beside "
                           "it, and its folder is not writable by this user") != std::string::npos,
                  err);
}
