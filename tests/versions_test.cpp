// Versioned rulesets (issue 10): every stored run registers its rule file's version with the
// exact bytes; a changed file under a registered version is refused; `versions` and `show`
// read the registry; export and history do not depend on the file on disk.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <string>

#include "dsl/compiler.hpp"
#include "engine/run.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine/versions.hpp"
#include "test_support.hpp"
#include "text/encoding.hpp"

using namespace strata::testing;

namespace {

const char* kBase = R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, spend REAL);
INSERT INTO customers VALUES (1, 10), (2, 500), (3, 1200), (4, 50);
)sql";

// Version 1, with what a careless copy would lose: CRLF line ends, a trailing space, a
// non-ASCII label and no newline at the end of the file.
std::string rules_v1() {
    return "ruleset: tiers\r\nversion: 1\r\ngeneral:\r\n  policy: exclusive\r\n  segments:\r\n"
           "    - id: vip\r\n      label: Größte Kunden \r\n      when: spend >= 1000\r\n"
           "    - id: regular\r\n      when: spend >= 100 and spend < 1000\r\n"
           "    - id: small\r\n      when: spend < 100";
}

// The same name and version, one threshold changed on line 8: under `exclusive` it also
// leaves a gap (spend 1000 to 1499), so evaluating it would fail with another message.
std::string rules_v1_changed() {
    std::string text = rules_v1();
    text.replace(text.find("spend >= 1000"), 13, "spend >= 1500");
    return text;
}

std::string rules_v2() {
    return "ruleset: tiers\nversion: 2\ngeneral:\n  segments:\n    - id: vip\n"
           "      when: spend >= 1500\n    - id: rest\n      when: otherwise\n";
}

std::string text_of(const std::string& db, const std::string& sql) {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d, sql);
    REQUIRE(q.executeStep());
    return q.getColumn(0).getString();
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

struct Base {
    TempDir dir;
    std::string db = dir.database("base.db", kBase);
    std::string rules = dir.write("tiers.yaml", rules_v1());

    Run run(const std::string& file, const std::string& as_of,
            std::vector<std::string> more = {}) const {
        std::vector<std::string> args = {"run", file, "--db", db, "--as-of", as_of};
        args.insert(args.end(), more.begin(), more.end());
        return run_cli(args);
    }
};

}  // namespace

TEST_CASE("a stored run registers its version with the exact bytes; a dry run registers nothing") {
    Base b;
    auto dry = b.run(b.rules, "2026-10-01", {"--dry-run"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    CHECK(count_rows(b.db, "sqlite_schema WHERE name = 'strata_versions'") == 0);

    auto first = b.run(b.rules, "2026-10-01");
    REQUIRE_MESSAGE(first.code == 0, first.err);
    CHECK(count_rows(b.db, "strata_versions") == 1);
    CHECK(text_of(b.db, "SELECT ruleset || '@' || version FROM strata_versions") == "tiers@1");
    CHECK(text_of(b.db, "SELECT sha256 FROM strata_versions") == strata::sha256_hex(rules_v1()));
    CHECK(text_of(b.db, "SELECT source FROM strata_versions") == rules_v1());
    CHECK(text_of(b.db, "SELECT first_seen FROM strata_versions") ==
          text_of(b.db, "SELECT started_at FROM strata_runs WHERE run_id = 1"));

    // A dry run of a changed file under the same version is not refused and registers
    // nothing, but warns that a stored run would be refused.
    const auto changed = b.dir.write("changed.yaml", rules_v1_changed());
    auto dry_changed = b.run(changed, "2026-11-01", {"--dry-run"});
    CHECK_MESSAGE(dry_changed.code == 1, dry_changed.err);  // the gap, found by evaluating it
    CHECK(has(dry_changed.err, "warning: a stored run of this file would be refused"));
    CHECK(has(dry_changed.err, "no segment (e.g."));
    CHECK(count_rows(b.db, "strata_versions") == 1);
    CHECK(count_rows(b.db, "strata_runs") == 1);

    // Nor at a day before the ruleset's latest run (review AE1: the dry run was silent while
    // diff warned and the run itself is refused).
    auto earlier = b.run(b.rules, "2026-09-15", {"--dry-run"});
    CHECK_MESSAGE(earlier.code == 0, earlier.err);
    CHECK(has(earlier.err,
              "strata run: warning: a stored run of this file would be refused: ruleset 'tiers' "
              "was last run as of 2026-10-01 (run 1); its runs move forward in time, so a run "
              "as of 2026-09-15 is not stored.\n"));
    CHECK(b.run(b.rules, "2026-09-15").code == 2);
    for (const char* day : {"2026-10-01", "2026-10-02"})
        CHECK_FALSE(has(b.run(b.rules, day, {"--dry-run"}).err, "would be refused"));
    CHECK(count_rows(b.db, "strata_runs") == 1);
}

TEST_CASE(
    "a changed file under a registered version is refused before evaluation; nothing "
    "is stored") {
    Base b;
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);
    const int64_t stays = count_rows(b.db, "strata_stays");
    const auto changed = b.dir.write("changed.yaml", rules_v1_changed());
    auto refused = b.run(changed, "2026-11-01");
    CHECK(refused.code == 1);
    CHECK(has(refused.err, "ruleset 'tiers' version 1 was already run with other content"));
    CHECK(has(refused.err, "the version was not bumped"));
    CHECK(has(refused.err,
              "line 8: stored: '      when: spend >= 1000\\r' / now: '      when: "
              "spend >= 1500\\r'"));
    CHECK_FALSE(has(refused.err, "no segment (e.g."));  // refused before the rules were evaluated
    CHECK(count_rows(b.db, "strata_runs") == 1);
    CHECK(count_rows(b.db, "strata_versions") == 1);
    CHECK(count_rows(b.db, "strata_stays") == stays);
    // The command it suggests names the state, so that it runs as written; a path with a space
    // is quoted.
    CHECK(has(refused.err, "('strata show tiers@1 --state " + b.db + "' prints the stored one)"));
    const std::string spaced = b.dir.file("my state.db");
    REQUIRE(b.run(b.rules, "2026-10-01", {"--state", spaced}).code == 0);
    CHECK(has(b.run(changed, "2026-11-01", {"--state", spaced}).err,
              "('strata show tiers@1 --state \"" + spaced + "\"' prints the stored one)"));
    CHECK(text_of(b.db, "SELECT source FROM strata_versions") == rules_v1());

    auto json = b.run(changed, "2026-11-01", {"--format", "json"});
    CHECK(json.code == 1);
    CHECK(json_at(json.out, "$.error.kind") == "rules");
    CHECK(has(json_at(json.out, "$.error.message"), "line 8: stored:"));

    // The same bytes from another path are the same version.
    const auto copy = b.dir.write("copy.yaml", rules_v1());
    auto same = b.run(copy, "2026-11-01");
    CHECK_MESSAGE(same.code == 0, same.err);
    // A bumped version is a new one.
    const auto bumped = b.dir.write("v2.yaml", rules_v2());
    auto next = b.run(bumped, "2026-12-01");
    CHECK_MESSAGE(next.code == 0, next.err);
    CHECK(count_rows(b.db, "strata_versions") == 2);
    CHECK(count_rows(b.db, "strata_runs") == 3);
    // A run that fails registers nothing: version 3 leaves a customer in no segment.
    std::string v3 = rules_v1_changed();
    v3.replace(v3.find("version: 1"), 10, "version: 3");
    auto failed = b.run(b.dir.write("v3.yaml", v3), "2026-12-01");
    CHECK(failed.code == 1);
    CHECK(has(failed.err, "no segment (e.g."));
    CHECK(count_rows(b.db, "strata_versions") == 2);
}

TEST_CASE("the refusal comes before the customer base is read") {
    Base b;
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);
    strata::StoreError error;
    auto data = strata::open_read_only(b.db, error);
    REQUIRE(data);
    auto schema = strata::read_schema(*data, error);
    REQUIRE(schema);
    strata::Diagnostics diags;
    auto rules = strata::compile_rules(strata::SourceFile("changed.yaml", rules_v1_changed()),
                                       &*schema, diags);
    REQUIRE(rules);
    auto state = strata::open_state(b.db, error);
    REQUIRE(state);
    strata::RunOptions options;
    options.as_of = *strata::parse_date("2026-11-01");
    options.rules_sha256 = strata::sha256_hex(rules_v1_changed());
    options.source = &rules->source;
    size_t reads = 0;  // progress reports: every table scan reports at its end
    options.progress = [&reads](const std::string&, size_t) { ++reads; };
    strata::RunError run_error;
    auto report = strata::execute_run(*rules, *data, state.get(), options, run_error);
    CHECK_FALSE(report);
    CHECK(run_error.rule_problem);
    CHECK(has(run_error.message, "the version was not bumped"));
    CHECK(reads == 0);
}

TEST_CASE("the check is made again inside the run's transaction") {
    Base b;
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);
    // A run that passed the early check while another registered the version since.
    strata::StoreError error;
    auto state = strata::open_state(b.db, error);
    REQUIRE(state);
    strata::RunRecord record;
    record.ruleset = "tiers";
    record.version = 1;
    record.rules_sha256 = strata::sha256_hex(rules_v1_changed());
    record.rules_source = rules_v1_changed();
    record.rules_path = "changed.yaml";
    record.as_of = "2026-11-01";
    record.summary_json = "{}";
    auto writer = strata::RunWriter::begin(*state, record, {}, error);
    CHECK(writer == nullptr);
    CHECK(error.rule_problem);
    CHECK(has(error.message, "the version was not bumped"));
    CHECK(count_rows(b.db, "strata_runs") == 1);
    CHECK(count_rows(b.db, "strata_versions") == 1);
}

TEST_CASE("first differing line: line ends, a missing line, a missing final newline") {
    using strata::first_differing_line;
    CHECK(first_differing_line("a\nb\n", "a\nb\n").empty());
    CHECK(first_differing_line("a\nb\tc\n", "a\nb c\n") == "line 2: stored: 'b\\tc' / now: 'b c'");
    CHECK(first_differing_line("a\r\n", "a\n") == "line 1: stored: 'a\\r' / now: 'a'");
    CHECK(first_differing_line("a\n", "a\nb\n") == "line 2: stored: (end of file) / now: 'b'");
    CHECK(first_differing_line("a\nb", "a\nb\n") ==
          "line 2: stored: 'b' (no newline at end of file) / now: 'b'");
    CHECK(first_differing_line("x \n", "x\n") == "line 1: stored: 'x ' / now: 'x'");
}

TEST_CASE("first differing line: a long line shows where it differs, cut between characters") {
    using strata::first_differing_line;
    // 185 ASCII letters, then 30 two-byte letters: the difference is in the last one.
    const std::string head = "label: \"" + std::string(185, 'a');
    std::string stored_letters, now_letters;
    for (int i = 0; i < 30; ++i)
        stored_letters += "Ж";
    now_letters = stored_letters.substr(0, 58) + "Щ";
    const std::string stored = head + stored_letters + "\"\n";
    const std::string now = head + now_letters + "\"\n";
    const std::string line = first_differing_line(stored, now);
    // Both sides show their last letter, so the difference is on screen ...
    CHECK(line.find("ЖЖ\"' / now: '…") != std::string::npos);
    CHECK(line.find("ЖЩ\"'") != std::string::npos);
    // ... the cut falls between characters, so the message is UTF-8 ...
    CHECK(strata::text::is_valid_utf8(line));
    // ... and leaves out the start of the line, which is the same.
    CHECK(line.find("stored: '…aaa") != std::string::npos);
    CHECK(line.find("label") == std::string::npos);
    // A line cut at its end says so.
    const std::string long_line = std::string(400, 'b');
    CHECK(first_differing_line("x" + long_line + "\n", "y" + long_line + "\n") ==
          "line 1: stored: 'x" + std::string(159, 'b') + "…' / now: 'y" + std::string(159, 'b') +
              "…'");
}

TEST_CASE("first differing line: a byte-order mark and bytes that are not UTF-8 are escaped") {
    using strata::first_differing_line;
    CHECK(first_differing_line("\xEF\xBB\xBFruleset: x\r\n", "ruleset: x\r\n") ==
          "line 1: stored: '\\uFEFFruleset: x\\r' / now: 'ruleset: x\\r'");
    CHECK(first_differing_line("a\xFF\n", "a\n") == "line 1: stored: 'a\\xFF' / now: 'a'");
}

TEST_CASE("versions lists the registered versions with the runs made with each") {
    Base b;
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);                               // run 1
    REQUIRE(b.run(b.dir.write("copy.yaml", rules_v1()), "2026-11-01").code == 0);  // run 2
    REQUIRE(b.run(b.dir.write("v2.yaml", rules_v2()), "2026-12-01").code == 0);    // run 3

    auto json = run_cli({"versions", "--db", b.db, "--format", "json"});
    REQUIRE_MESSAGE(json.code == 0, json.err);
    CHECK(json_at(json.out, "$.format") == "1");
    CHECK(json_at(json.out, "$.versions[0].ruleset") == "tiers");
    CHECK(json_at(json.out, "$.versions[0].version") == "1");
    CHECK(json_at(json.out, "$.versions[0].sha256") == strata::sha256_hex(rules_v1()));
    CHECK(json_at(json.out, "$.versions[0].source_kept") == "1");
    CHECK(json_at(json.out, "$.versions[0].runs[0].run_id") == "1");
    CHECK(json_at(json.out, "$.versions[0].runs[0].as_of") == "2026-10-01");
    CHECK(json_at(json.out, "$.versions[0].runs[0].customers") == "4");
    CHECK(json_at(json.out, "$.versions[0].runs[1].run_id") == "2");
    CHECK(json_at(json.out, "$.versions[0].runs[1].as_of") == "2026-11-01");
    CHECK(json_at(json.out, "$.versions[0].runs[2]") == "<none>");
    CHECK(json_at(json.out, "$.versions[1].version") == "2");
    CHECK(json_at(json.out, "$.versions[1].runs[0].run_id") == "3");
    CHECK(json_at(json.out, "$.versions[1].runs[0].started_at") ==
          text_of(b.db, "SELECT started_at FROM strata_runs WHERE run_id = 3"));
    CHECK(json_at(json.out, "$.versions[2]") == "<none>");

    auto text = run_cli({"versions", "tiers", "--db", b.db});
    REQUIRE_MESSAGE(text.code == 0, text.err);
    CHECK(has(text.out, "tiers v1  sha256 " + strata::sha256_hex(rules_v1()).substr(0, 12) +
                            "  first seen "));
    CHECK(has(text.out, "  RUN  AS_OF       RAN AT (UTC)"));
    CHECK(has(text.out, "    1  2026-10-01  "));
    CHECK(has(text.out, "    2  2026-11-01  "));
    CHECK(has(text.out, "tiers v2  sha256 "));
    CHECK(has(text.out, "    3  2026-12-01  "));

    auto other = run_cli({"versions", "nobody", "--db", b.db, "--format", "json"});
    CHECK(other.code == 0);
    CHECK(json_at(other.out, "$.versions") == "[]");
    auto empty = run_cli({"versions", "--db", b.dir.database("empty.db", kBase)});
    CHECK(empty.code == 2);
    CHECK(has(empty.err, "no runs are stored"));
}

TEST_CASE("show prints the stored source byte for byte, and says why when it cannot") {
    Base b;
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);
    std::filesystem::remove(b.rules);
    auto shown = run_cli({"show", "--db", b.db, "tiers@1"});
    REQUIRE_MESSAGE(shown.code == 0, shown.err);
    CHECK(shown.out == rules_v1());  // CRLF, the trailing space, ö and ß, no final newline

    auto missing = run_cli({"show", "--db", b.db, "tiers@7"});
    CHECK(missing.code == 2);
    CHECK(has(missing.err, "ruleset 'tiers' has no registered version 7"));
    CHECK(has(missing.err, "(registered: 1)"));
    auto bad = run_cli({"show", "--db", b.db, "tiers"});
    CHECK(bad.code == 2);
    CHECK(has(bad.err, "is not RULESET@VERSION"));
    auto nobody = run_cli({"show", "--db", b.db, "tier@1"});
    CHECK(nobody.code == 2);
    CHECK(has(nobody.err, "no version of ruleset 'tier' is registered in '" + b.db +
                              "'; the stored ruleset is 'tiers' (did you mean 'tiers'?)\n"));
}

TEST_CASE("export and history do not depend on the rule file on disk") {
    Base b;
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);
    auto export_before = run_cli({"export", b.rules, "--db", b.db});
    REQUIRE_MESSAGE(export_before.code == 0, export_before.err);
    auto history_before = run_cli({"history", "--db", b.db, "--customer", "3"});
    REQUIRE_MESSAGE(history_before.code == 0, history_before.err);

    // Changed on disk: the same rows, and a note with the first differing line.
    b.dir.write("tiers.yaml", rules_v1_changed());
    auto changed = run_cli({"export", b.rules, "--db", b.db});
    REQUIRE_MESSAGE(changed.code == 0, changed.err);
    CHECK(changed.out == export_before.out);
    CHECK(has(changed.err, "has changed since run 1"));
    CHECK(has(changed.err, "line 8: stored: '      when: spend >= 1000\\r'"));
    // The command it suggests runs as written: it names the database, as export was given it.
    CHECK(has(changed.err, "'strata show tiers@1 --db " + b.db + "' prints the stored one"));
    CHECK(run_cli({"history", "--db", b.db, "--customer", "3"}).out == history_before.out);

    // Deleted: the ruleset's name stands for the file.
    std::filesystem::remove(b.rules);
    auto by_name = run_cli({"export", "tiers", "--db", b.db});
    REQUIRE_MESSAGE(by_name.code == 0, by_name.err);
    CHECK(by_name.out == export_before.out);
    {
        // A folder of that name is no rule file: it was read, and refused as a directory.
        const auto saved = std::filesystem::current_path();
        std::filesystem::current_path(b.dir.file(""));
        std::filesystem::create_directory("tiers");
        auto beside_folder = run_cli({"export", "tiers", "--db", b.db});
        auto explained =
            run_cli({"explain", "tiers", "--db", b.db, "--customer", "3", "--run", "1"});
        std::filesystem::current_path(saved);
        CHECK_MESSAGE(beside_folder.code == 0, beside_folder.err);
        CHECK(beside_folder.out == export_before.out);
        CHECK_MESSAGE(explained.code == 0, explained.err);
    }
    auto gone = run_cli({"export", b.rules, "--db", b.db});
    CHECK(gone.code == 2);
    CHECK(has(gone.err, "no such file"));
    CHECK(run_cli({"history", "--db", b.db, "--customer", "3"}).out == history_before.out);
}

TEST_CASE("a state stored before versions were registered migrates, every run kept") {
    Base b;
    const auto v2 = b.dir.write("v2.yaml", rules_v2());
    REQUIRE(b.run(b.rules, "2026-10-01").code == 0);  // run 1
    REQUIRE(b.run(v2, "2026-11-01").code == 0);       // run 2
    // The layout before this change: no strata_versions, and runs that, unchecked, used
    // two contents under version 1 (run 2 had v2's bytes but said version 1).
    SQLite::Database(b.db, SQLite::OPEN_READWRITE)
        .exec("DROP TABLE strata_versions; UPDATE strata_runs SET version = 1 WHERE run_id = 2");
    const std::string sha_a = strata::sha256_hex(rules_v1());
    const std::string sha_b = strata::sha256_hex(rules_v2());

    // Read-only commands read such a file as it is: versions from the runs, sources unknown.
    auto before = run_cli({"versions", "--db", b.db, "--format", "json"});
    REQUIRE_MESSAGE(before.code == 0, before.err);
    CHECK(json_at(before.out, "$.versions[0].version") == "1");
    CHECK(json_at(before.out, "$.versions[1].version") == "1");
    CHECK(json_at(before.out, "$.versions[0].source_kept") == "0");
    CHECK(json_at(before.out, "$.versions[1].source_kept") == "0");
    CHECK(count_rows(b.db, "sqlite_schema WHERE name = 'strata_versions'") == 0);
    auto ambiguous = run_cli({"show", "--db", b.db, "tiers@1"});
    CHECK(ambiguous.code == 2);
    CHECK(has(ambiguous.err, "was run with 2 different contents"));
    CHECK(has(ambiguous.err, "--sha256"));
    auto not_kept = run_cli({"show", "--db", b.db, "tiers@1", "--sha256", sha_b.substr(0, 8)});
    CHECK(not_kept.code == 2);
    CHECK(has(not_kept.err, "source not kept"));

    // The next stored run migrates the state: both contents registered, no source, the
    // first-seen time of their first run; the run's own bytes match one and fill its source.
    auto run3 = b.run(b.rules, "2026-12-01");
    REQUIRE_MESSAGE(run3.code == 0, run3.err);
    CHECK(count_rows(b.db, "strata_runs") == 3);
    CHECK(count_rows(b.db, "strata_versions WHERE version = 1") == 2);
    CHECK(text_of(b.db, "SELECT first_seen FROM strata_versions WHERE sha256 = '" + sha_b + "'") ==
          text_of(b.db, "SELECT started_at FROM strata_runs WHERE run_id = 2"));
    CHECK(scalar(b.db,
                 "SELECT source IS NULL FROM strata_versions WHERE sha256 = '" + sha_b + "'") == 1);
    auto shown = run_cli({"show", "--db", b.db, "tiers@1", "--sha256", sha_a.substr(0, 8)});
    REQUIRE_MESSAGE(shown.code == 0, shown.err);
    CHECK(shown.out == rules_v1());
    // The prefix in capitals, as some tools print hashes, finds the same content.
    std::string upper = sha_a;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto shown_upper = run_cli({"show", "--db", b.db, "tiers@1", "--sha256", upper});
    CHECK(shown_upper.code == 0);
    CHECK(shown_upper.out == rules_v1());
    // An empty prefix would match every content, and a non-hex one none: both are refused.
    for (const std::string& bad : {std::string(), std::string("xyz"), sha_a + "0"}) {
        auto refused = run_cli({"show", "--db", b.db, "tiers@1", "--sha256", bad});
        CHECK(refused.code == 2);
        CHECK(refused.out.empty());
        CHECK_MESSAGE(has(refused.err,
                          "is not the start of a SHA-256: give 1 to 64 hexadecimal "
                          "digits"),
                      refused.err);
    }
    auto listed = run_cli({"versions", "--db", b.db, "--format", "json"});
    CHECK(json_at(listed.out, "$.versions[0].sha256") == sha_a);
    CHECK(json_at(listed.out, "$.versions[0].runs[1].run_id") == "3");

    // A third content under version 1 is refused, against the one whose source is kept.
    auto third = b.run(b.dir.write("c.yaml", rules_v1_changed()), "2026-12-01");
    CHECK(third.code == 1);
    CHECK(has(third.err, "line 8: stored: '      when: spend >= 1000\\r'"));
    CHECK(count_rows(b.db, "strata_runs") == 3);
}

// An auditor may hold a copy of the state file alone. runs, history, versions, show and
// triggers only read the state, so --state is enough; --db was required, and a --db that no
// longer exists failed them ("database '…' does not exist").
TEST_CASE(
    "runs, history, versions, show and triggers read a --state without the customer database") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto state = dir.file("state.db");
    const auto file = dir.write("tiers.yaml", rules_v2());
    REQUIRE(run_cli({"run", file, "--db", db, "--state", state, "--as-of", "2026-10-01"}).code ==
            0);
    const std::string copy = dir.file("audit-copy.db");
    std::filesystem::copy_file(state, copy);
    std::filesystem::remove(db);
    const std::vector<std::vector<std::string>> commands = {
        {"runs"}, {"history", "--customer", "3"}, {"versions"}, {"show", "tiers@2"}, {"triggers"},
    };
    for (const auto& command : commands) {
        INFO(command[0]);
        std::vector<std::string> alone = command;
        alone.insert(alone.end(), {"--state", copy});
        const Run r = run_cli(alone);
        CHECK(r.code == 0);
        CHECK(r.err.find("does not exist") == std::string::npos);
        std::vector<std::string> gone = alone;
        gone.insert(gone.end(), {"--db", db});  // the customer database is gone: not read
        CHECK(run_cli(gone).code == 0);
        const Run neither = run_cli(command);
        CHECK(neither.code == 2);
        CHECK(neither.err.find("strata " + command[0] + ": --db or --state is required") !=
              std::string::npos);
        // A warehouse URL given as the state alone: runs stored there are read with --db.
        std::vector<std::string> url = command;
        url.insert(url.end(), {"--state", "postgresql://auditor:secret@localhost/crm"});
        const Run warehouse = run_cli(url);
        CHECK(warehouse.code == 2);
        if (command[0] != "triggers")  // it names the commands that work on a warehouse
            CHECK(warehouse.err.find("are read with --db URL") != std::string::npos);
        CHECK(warehouse.err.find("customer database is a SQLite file") == std::string::npos);
        CHECK(warehouse.err.find("secret") == std::string::npos);
    }
    CHECK(has(run_cli({"runs", "--state", copy}).out, "tiers"));
    CHECK(run_cli({"show", "tiers@2", "--state", copy}).out == rules_v2());
    CHECK(has(run_cli({"history", "--customer", "3", "--state", copy}).out, "rest"));
}

TEST_CASE(
    "runs, history, versions, triggers and report name the stored rulesets after a ruleset typo") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    const auto rules = dir.write("tiers.yaml", rules_v2());
    REQUIRE(run_cli({"run", rules, "--db", db, "--as-of", "2026-11-01"}).code == 0);
    const std::string hint = "; the stored ruleset is 'tiers' (did you mean 'tiers'?)";
    // Nothing of a ruleset that is not stored is still an answer (exit 0), with the hint.
    auto runs = run_cli({"runs", "--db", db, "--ruleset", "teirs"});
    CHECK(runs.code == 0);
    CHECK_MESSAGE(has(runs.err, "no runs of ruleset 'teirs' are stored in '" + db + "'" + hint),
                  runs.err);
    auto history = run_cli({"history", "--db", db, "--customer", "2", "--ruleset", "teirs"});
    CHECK(history.code == 0);
    CHECK_MESSAGE(has(history.err, "in ruleset 'teirs' in '" + db + "'" + hint), history.err);
    auto versions = run_cli({"versions", "--db", db, "teirs"});
    CHECK(versions.code == 0);
    CHECK_MESSAGE(has(versions.err, "are registered in '" + db + "'" + hint), versions.err);
    auto triggers = run_cli({"triggers", "--db", db, "--ruleset", "teirs"});
    CHECK(triggers.code == 0);
    CHECK_MESSAGE(has(triggers.err, hint), triggers.err);
    auto report =
        run_cli({"report", "--db", db, "--ruleset", "teirs", "--out", dir.file("r.html")});
    CHECK(report.code == 2);
    CHECK_MESSAGE(
        has(report.err, "no stored run of ruleset 'teirs' in '" + db + "' (did you mean 'tiers'?)"),
        report.err);
    // A ruleset far from every stored one is listed without a guess; a stored ruleset that
    // simply did not place the customer gets no hint.
    auto far = run_cli({"runs", "--db", db, "--ruleset", "churn-risk"});
    CHECK_MESSAGE(has(far.err, "are stored in '" + db + "'; the stored ruleset is 'tiers'\n"),
                  far.err);
    auto absent = run_cli({"history", "--db", db, "--customer", "99", "--ruleset", "tiers"});
    CHECK(absent.code == 0);
    CHECK_MESSAGE(has(absent.err, "in ruleset 'tiers' in '" + db + "'\n"), absent.err);
}
