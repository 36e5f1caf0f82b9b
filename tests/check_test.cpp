// Golden diagnostics: every rule file in tests/golden/check*/ is checked in-process and its
// whole output and exit code compared with the .out file beside it. To accept new output
// after a deliberate change, run with STRATA_UPDATE_GOLDEN=1 and review the diff.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using strata::cli::run_main;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs from the source directory so that reported paths are short and stable.
struct InSourceDir {
    fs::path saved = fs::current_path();
    InSourceDir() { fs::current_path(STRATA_SOURCE_DIR); }
    ~InSourceDir() { fs::current_path(saved); }
};

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    const int code = run_main(args, out, err);
    return {code, out.str(), err.str()};
}

// One database for the whole process, in a folder removed when the process ends.
fs::path golden_db() {
    static const strata::testing::TempDir dir;
    static const fs::path path = dir.database(
        "golden.db", slurp(fs::path(STRATA_SOURCE_DIR) / "tests" / "golden" / "schema.sql"));
    return path;
}

void check_golden_dir(const std::string& dir, bool with_db, bool strict = false) {
    InSourceDir cwd;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(fs::path("tests/golden") / dir)) {
        if (e.path().extension() == ".yaml") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(!files.empty());
    const bool update = std::getenv("STRATA_UPDATE_GOLDEN") != nullptr;
    for (const auto& f : files) {
        CAPTURE(f.string());
        std::vector<std::string> args{"check", f.string()};
        if (with_db) {
            args.push_back("--db");
            args.push_back(golden_db().string());
        }
        if (strict) args.push_back("--strict");
        const Run r = run(args);
        std::string got = "exit: " + std::to_string(r.code) + "\n" + r.out;
        if (!r.err.empty()) got += "stderr: " + r.err;
        fs::path expected = f;
        expected.replace_extension(".out");
        if (update) {
            std::ofstream(expected, std::ios::binary) << got;
            continue;
        }
        REQUIRE_MESSAGE(fs::exists(expected),
                        "missing " << expected << " (run with STRATA_UPDATE_GOLDEN=1)");
        CHECK(got == slurp(expected));
        CHECK(r.code != 0);  // every file in the corpus is broken somehow
    }
}

}  // namespace

TEST_CASE("golden diagnostics without a database") {
    check_golden_dir("check", false);
}

TEST_CASE("golden diagnostics against a database") {
    check_golden_dir("check-db", true);
}

// The partition analysis's notes and warnings (docs/check.md), made errors by --strict.
TEST_CASE("golden diagnostics with --strict") {
    check_golden_dir("check-strict", false, true);
}

// docs/running.md: a diagnostic's col and length count characters, as its caret does, not the
// bytes of UTF-8 (a Cyrillic letter takes two): what an editor reading the JSON highlights.
TEST_CASE("a diagnostic's col and length count characters on a line of Cyrillic names") {
    InSourceDir cwd;
    const std::string file = "tests/golden/check-db/cyrillic_misspelt_db.yaml";
    const Run check = run({"check", file, "--db", golden_db().string(), "--format", "json"});
    CHECK(check.code == 1);
    const std::string first = "$.files[0].diagnostics[0].";
    CHECK(strata::testing::json_at(check.out, first + "line") == "16");
    CHECK(strata::testing::json_at(check.out, first + "col") == "13");
    CHECK(strata::testing::json_at(check.out, first + "length") ==
          "16");  // 'дата_регистрацйи', 30 bytes
    const std::string second = "$.files[0].diagnostics[1].";
    CHECK(strata::testing::json_at(check.out, second + "line") == "18");
    CHECK(strata::testing::json_at(check.out, second + "col") == "67");  // 93 in bytes
    CHECK(strata::testing::json_at(check.out, second + "length") == "4");
    const Run text = run({"check", file, "--db", golden_db().string()});
    CHECK(text.out.find(file + ":18:67: error") != std::string::npos);
    // A run that fails on the rules reports them so too.
    const Run failed = run({"run", file, "--db", golden_db().string(), "--format", "json"});
    CHECK(failed.code == 1);
    CHECK(strata::testing::json_at(failed.out, "$.error.diagnostics[1].col") == "67");
    CHECK(strata::testing::json_at(failed.out, "$.error.diagnostics[1].length") == "4");
}

// The same place in every output that names one: graph, explain, the run's populations and
// a rule test's uncovered operands count characters too.
TEST_CASE("graph, explain and a run's populations give columns in characters as well") {
    strata::testing::TempDir dir;
    const auto db = dir.database("cy.db", R"sql(
CREATE TABLE клиенты (ид INTEGER PRIMARY KEY, отрасль TEXT);
INSERT INTO клиенты VALUES (1, 'ритейл'), (2, 'ритейл'), (3, 'x');
)sql");
    const auto rules = dir.write("cy.yaml", R"(ruleset: cy
version: 1
source:
  customers: клиенты
  key: ид
let:
  ранг: ntile(ид, 2)
general:
  segments:
    - id: a
      when: отрасль == 'ритейл' and ранг == 2
    - id: b
      when: otherwise
)");
    // ntile at 7:9 ("  ранг: " is 8 characters, 12 bytes); ранг == 2 at 11:37 (45 in bytes).
    const Run graph = run({"graph", rules, "--db", db, "--format", "json"});
    REQUIRE_MESSAGE(graph.code == 0, graph.err);
    CHECK(strata::testing::json_at(graph.out, "$.nodes[2].name") == "ntile at 7:9");
    CHECK(strata::testing::json_at(graph.out, "$.nodes[2].col") == "9");
    const Run dry =
        run({"run", rules, "--db", db, "--as-of", "2026-11-01", "--dry-run", "--format", "json"});
    REQUIRE_MESSAGE(dry.code == 0, dry.err);
    CHECK(strata::testing::json_at(dry.out, "$.populations[0].location") == rules + ":7:9");
    const Run explain = run({"explain", rules, "--db", db, "--customer", "2", "--as-of",
                             "2026-11-01", "--format", "json"});
    REQUIRE_MESSAGE(explain.code == 0, explain.err);
    CHECK(explain.out.find(R"("text":"ранг","kind":"let","line":11,"col":37)") !=
          std::string::npos);
    const auto tests = dir.write("cy.test.yaml", R"(cases:
  - name: one retail customer
    as_of: 2026-11-01
    customers:
      - { ид: 1, отрасль: ритейл }
    expect:
      1: { segment: b }
)");
    const Run test = run({"test", rules, "--tests", tests, "--format", "json"});
    INFO(test.out, test.err);
    REQUIRE(test.code == 0);
    CHECK(strata::testing::json_at(test.out, "$.coverage.conditions.uncovered[1].text") ==
          "ранг == 2");
    CHECK(strata::testing::json_at(test.out, "$.coverage.conditions.uncovered[1].col") == "37");
}

// A test file's diagnostic is shown against the test file, not the rule file's line of the same
// number (here a comment of Cyrillic letters, which would make column 9 come out as 6).
TEST_CASE("strata test --format json shows a test file's problem against the test file") {
    strata::testing::TempDir dir;
    const auto rules = dir.write("r.yaml", R"(ruleset: t
version: 1
# аааааааааааааааааааааааааааааа
# аааааааааааааааааааааааааааааа
# аааааааааааааааааааааааааааааа
# аааааааааааааааааааааааааааааа
general:
  segments:
    - id: a
      when: seg == 'a'
    - id: b
      when: otherwise
)");
    const auto tests = dir.write("r.test.yaml", R"(cases:
  - name: one
    as_of: 2026-11-01
    customers:
      - { customer_id: 1, seg: a }
      - { custmer_id: 2, seg: b }
    expect:
      1: { segment: a }
)");
    const Run r = run({"test", rules, "--tests", tests, "--format", "json"});
    CHECK(r.code == 1);
    const std::string d = "$.error.diagnostics[0].";
    CHECK(strata::testing::json_at(r.out, d + "line") == "6");
    CHECK(strata::testing::json_at(r.out, d + "col") == "9");
    CHECK(strata::testing::json_at(r.out, d + "source_line") ==
          "      - { custmer_id: 2, seg: b }");
}

TEST_CASE("the corpus has at least 40 broken rule files") {
    size_t n = 0;
    for (const char* dir : {"check", "check-db"}) {
        for (const auto& e :
             fs::directory_iterator(fs::path(STRATA_SOURCE_DIR) / "tests" / "golden" / dir)) {
            n += e.path().extension() == ".yaml";
        }
    }
    CHECK(n >= 40);
}

TEST_CASE("generated hostile files give a diagnostic and exit 1, never a crash") {
    const fs::path dir =
        fs::temp_directory_path() / ("strata-hostile-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto write = [&dir](const std::string& name, const std::string& text) {
        std::ofstream(dir / name, std::ios::binary) << text;
        return (dir / name).string();
    };
    const std::string header =
        "ruleset: x\nversion: 1\ngeneral:\n  segments:\n    - id: a\n      when: ";

    SUBCASE("binary garbage") {
        std::string garbage;
        uint32_t seed = 12345;
        for (int i = 0; i < 4096; ++i) {
            seed = seed * 1103515245u + 12345u;
            garbage += static_cast<char>((seed >> 16) & 0xFF);
        }
        const Run r = run({"check", write("garbage.yaml", garbage)});
        CHECK(r.code == 1);
        CHECK(r.out.find("error:") != std::string::npos);
    }
    SUBCASE("a 10 MB line") {
        const Run r =
            run({"check", write("long.yaml", header + std::string(10 << 20, 'x') + "\n")});
        CHECK(r.code == 1);
        CHECK(r.out.find("expression is too long") != std::string::npos);
        CHECK(r.out.size() < 4000);  // the excerpt is a window, not the whole line
    }
    SUBCASE("a 10 MB comment line is fine") {
        const Run r =
            run({"check", write("comment.yaml", "# " + std::string(10 << 20, 'c') + "\n" + header +
                                                    "true\n    - id: b\n      when: false\n"
                                                    "    - id: c\n      when: otherwise\n")});
        CHECK(r.code == 0);
    }
    SUBCASE("deeply nested parentheses") {
        const Run r = run({"check", write("parens.yaml", header + std::string(100000, '(') + "1" +
                                                             std::string(100000, ')') + "\n")});
        CHECK(r.code == 1);
        CHECK(r.out.find("nested too deeply") != std::string::npos);
    }
    SUBCASE("deeply nested YAML") {
        const Run r = run({"check", write("yaml.yaml", std::string(100000, '[') + "\n")});
        CHECK(r.code == 1);
        CHECK(r.out.find("invalid YAML") != std::string::npos);
    }
    SUBCASE("a chain of 5000 lets") {
        std::string text = "ruleset: x\nversion: 1\nlet:\n";
        for (int i = 0; i < 5000; ++i)
            text += "  a" + std::to_string(i) + ": a" + std::to_string(i + 1) + " + 1\n";
        text +=
            "  a5000: 1\ngeneral:\n  segments:\n    - id: a\n      when: a0 > 1\n    - id: b\n     "
            " when: otherwise\n";
        const Run r = run({"check", write("lets.yaml", text)});
        CHECK(r.code == 1);
        CHECK(r.out.find("lets refer to each other more than 256 deep (a0 -> ... -> a257)") !=
              std::string::npos);
        // The lets past the limit were not read: none is said to be unused.
        CHECK(r.out.find("is never used") == std::string::npos);
        // A let nothing names still is.
        std::string with_unused = text;
        with_unused.insert(with_unused.find("general:"), "  unrelated: 5\n");
        const Run u = run({"check", write("unrelated.yaml", with_unused)});
        CHECK(u.out.find("is never used") == u.out.rfind("is never used"));
        CHECK(u.out.find("warning: let 'unrelated' is never used") != std::string::npos);
    }
    SUBCASE("lets that refer to each other 256 deep, the limit") {
        // a0 -> a1 -> ... -> a256: 256 references, as deep as docs/language.md allows.
        std::string text = "ruleset: x\nversion: 1\nlet:\n";
        for (int i = 0; i < 256; ++i)
            text += "  a" + std::to_string(i) + ": a" + std::to_string(i + 1) + " + 1\n";
        text +=
            "  a256: 1\ngeneral:\n  segments:\n    - id: a\n      when: a0 > 1\n    - id: b\n     "
            " when: otherwise\n";
        const Run r = run({"check", write("lets.yaml", text)});
        INFO(r.out);
        CHECK(r.code == 0);
        CHECK(r.out.find("refer to each other") == std::string::npos);
    }
    SUBCASE("deep expressions in a chain of lets") {
        std::string text = "ruleset: x\nversion: 1\nlet:\n";
        std::string nots;
        for (int k = 0; k < 990; ++k)
            nots += "not ";
        for (int i = 0; i < 250; ++i)
            text += "  a" + std::to_string(i) + ": " + nots + "a" + std::to_string(i + 1) + "\n";
        text +=
            "  a250: true\ngeneral:\n  segments:\n    - id: a\n      when: a0\n    - id: b\n      "
            "when: otherwise\n";
        const Run r = run({"check", write("deep-lets.yaml", text)});
        CHECK(r.code == 1);
        CHECK(r.out.find("expressions and the lets they use nest too deeply") != std::string::npos);
    }
    SUBCASE("an empty file") {
        const Run r = run({"check", write("empty.yaml", "")});
        CHECK(r.code == 1);
        CHECK(r.out.find("rule file is empty") != std::string::npos);
    }
    SUBCASE("a missing file is an I/O problem") {
        const Run r = run({"check", (dir / "absent.yaml").string()});
        CHECK(r.code == 2);
        CHECK(r.out.find("no such file") != std::string::npos);
    }
    SUBCASE("an endless device is read up to the limit, not forever") {
        const Run r = run({"check", "/dev/zero"});
        CHECK(r.code == 2);
        CHECK(r.out.find("it is larger than 64 MiB") != std::string::npos);
    }
    SUBCASE("a database that is not SQLite") {
        const Run r =
            run({"check", write("ok.yaml", header + "true\n"), "--db", write("not.db", "hello")});
        CHECK(r.code == 2);
        CHECK(r.err.find("is not a SQLite database") != std::string::npos);
    }
    fs::remove_all(dir);
}

TEST_CASE("usage errors exit 2 and --help exits 0") {
    CHECK(run({}).code == 2);
    CHECK(run({"frobnicate"}).code == 2);
    CHECK(run({"check"}).code == 2);
    CHECK(run({"check", "x.yaml", "--format", "xml"}).code == 2);
    const Run help = run({"check", "--help"});
    CHECK(help.code == 0);
    CHECK(help.out.find("--strict") != std::string::npos);
}

TEST_CASE("an unknown command says so and lists the commands") {
    const Run r = run({"justify", "rules/retail-rfm.yaml"});
    CHECK(r.code == 2);
    CHECK(r.err.rfind("strata: unknown command 'justify'\nCommands:\n", 0) == 0);
    for (const char* command : {"check", "run", "export", "graph", "demo-data"})
        CHECK(r.err.find(std::string("\n  ") + command + " ") != std::string::npos);
    CHECK(r.err.find("subcommand") == std::string::npos);

    const Run typo = run({"-v", "chek", "x.yaml"});
    CHECK(typo.code == 2);
    CHECK(typo.err.rfind("strata: unknown command 'chek' (did you mean 'check'?)\n", 0) == 0);

    const Run none = run({"-v"});
    CHECK(none.code == 2);
    CHECK(none.err.rfind("strata: a command is required\nCommands:\n", 0) == 0);

    // A command's option before the command: its value is not taken for the command.
    const Run early = run({"--format", "json", "runs", "--db", "x.db"});
    CHECK(early.code == 2);
    CHECK(early.err ==
          "strata: option --format comes before the command: give the command "
          "first, then its options (strata runs --format …)\n");
    CHECK(strata::testing::json_at(early.out, "$.error.kind") == "usage");
    const Run joined = run({"-vv", "--db=x.db", "check", "x.yaml"});
    CHECK(joined.code == 2);
    CHECK(joined.err.find("option --db comes before the command") != std::string::npos);
    // Two options before the command: the command is still found.
    const Run two = run({"--state", "s.db", "--db", "x.db", "run", "r.yaml"});
    CHECK(two.err.find("(strata run --state …)") != std::string::npos);
    // strata's own options pass, combined too; an option no command has is unknown.
    CHECK(run({"-vh"}).code == 0);
    const Run typo_option = run({"--verison"});
    CHECK(typo_option.code == 2);
    CHECK(typo_option.err.rfind("strata: unknown option --verison (did you mean '--version'?)",
                                0) == 0);
    const Run not_runs = run({"-q", "runs"});
    CHECK(not_runs.err.rfind("strata: unknown option -q;", 0) == 0);

    // Help with an option before the command: the named command's help, or strata's own
    // when the line names none (the option's value is not taken for a command).
    const Run runs_help = run({"--db", "x.db", "runs", "--help"});
    CHECK(runs_help.code == 0);
    CHECK(runs_help.out.find("Usage: strata runs [OPTIONS]") != std::string::npos);
    const Run claim_help = run({"-h", "--state", "s.db", "outbox", "claim"});
    CHECK(claim_help.code == 0);
    CHECK(claim_help.out.find("Usage: strata outbox claim [OPTIONS]") != std::string::npos);
    const Run own_help = run({"--format", "json", "--help"});
    CHECK(own_help.code == 0);
    CHECK(own_help.out.find("Usage: strata [OPTIONS] COMMAND") != std::string::npos);
    CHECK(own_help.err.empty());
    // An option's value that spells a command is the value: --db report names a file.
    const Run value_help = run({"--db", "report", "runs", "--help"});
    CHECK(value_help.out.find("Usage: strata runs [OPTIONS]") != std::string::npos);
    const Run value = run({"--db", "report", "runs", "--format", "json"});
    CHECK(value.err ==
          "strata: option --db comes before the command: give the command first, then its "
          "options (strata runs --db …)\n");
    CHECK(strata::testing::json_at(value.out, "$.error.kind") == "usage");
    // A flag takes no value: the word after it is the command.
    CHECK(run({"--dry-run", "run", "x.yaml"}).err.find("(strata run --dry-run …)") !=
          std::string::npos);
}

TEST_CASE("a usage error points to the command's own --help") {
    const Run r = run({"run", "x.yaml"});
    CHECK(r.code == 2);
    CHECK(r.err == "strata run: --db is required\nRun 'strata run --help' for usage.\n");
    const Run format = run({"check", "x.yaml", "--format", "xml"});
    CHECK(format.err.find("\nRun 'strata check --help' for usage.\n") != std::string::npos);
    // Arguments not expected are listed in the order they were given.
    CHECK(run({"runs", "--db", "x.db", "--lease", "1s", "a"}).err ==
          "strata runs: The following arguments were not expected: --lease 1s a\nRun 'strata "
          "runs --help' for usage.\n");
    // With --format json the mistake is an error object too: a program reads stdout.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"outbox", "list", "--db", "x.db", "--status", "nope"},
          {"diff", "a.yaml", "b.yaml", "--db", "x.db", "--sample", "-1"},
          {"run", "x.yaml"}}) {
        std::vector<std::string> with_json = args;
        with_json.insert(with_json.end(), {"--format", "json"});
        const Run r = run(with_json);
        CHECK(r.code == 2);
        CHECK_MESSAGE(strata::testing::json_at(r.out, "$.error.kind") == "usage", r.out);
        CHECK(r.err.find("--help' for usage") != std::string::npos);
    }
    CHECK(strata::testing::json_at(
              run({"outbox", "list", "--db", "x.db", "--status", "nope", "--format=json"}).out,
              "$.error.message")
              .find("--status: nope") == 0);
    // A command whose subcommands take --format: a missing or mistyped one is JSON too.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"outbox", "--db", "x.db", "--format", "json"},
          {"outbox", "lst", "--db", "x.db", "--format", "json"}})
        CHECK(strata::testing::json_at(run(args).out, "$.error.kind") == "usage");
    // An option the command lacks is the mistake, not the value after it that CLI11 took for
    // the command's argument.
    CHECK(run({"outbox", "ack", "--db", "x.db", "1", "--format", "json"}).err ==
          "strata outbox ack: The following argument was not expected: --format ('strata outbox "
          "ack' has no such option)\nRun 'strata outbox ack --help' for usage.\n");
    // -v between the command and its subcommand is strata's own: the subcommand's options are
    // known, and its own mistakes are said (not --db blamed).
    CHECK(
        run({"outbox", "-v", "ack", "--db", "x.db", "abc"}).err.find("'abc' is not an action id") !=
        std::string::npos);
    CHECK(run({"outbox", "-v", "lst", "--db", "x.db"}).err.find("unknown subcommand 'lst'") !=
          std::string::npos);
    // An option of the subcommand given before it is not called unknown.
    CHECK(run({"outbox", "--db", "x.db", "ack", "abc"}).err.find("has no such option") ==
          std::string::npos);
    // No subcommand at all: the ones there are.
    CHECK(run({"outbox", "--db", "x.db"}).err ==
          "strata outbox: a subcommand is required; its subcommands are list, claim, ack, fail\n"
          "Run 'strata outbox --help' for usage.\n");
    // A mistyped subcommand is named, with the nearest one and the list, not "A subcommand is
    // required".
    CHECK(run({"outbox", "lst", "--db", "x.db"}).err ==
          "strata outbox: unknown subcommand 'lst' (did you mean 'list'?); its subcommands are "
          "list, claim, ack, fail\nRun 'strata outbox --help' for usage.\n");
    // A command without --format (report writes HTML) says so in text only.
    const Run report = run({"report", "--db", "x.db", "--out", "r.html", "--format", "json"});
    CHECK(report.code == 2);
    CHECK(report.out.empty());
    CHECK(report.err.find("strata report: The following arguments were not expected: --format "
                          "json") == 0);
}

TEST_CASE("--help names the program and shows every option's default") {
    const Run top = run({"--help"});
    CHECK(top.out.find("Usage: strata [OPTIONS] COMMAND\n") != std::string::npos);
    CHECK(top.out.find("Commands:\n") != std::string::npos);
    CHECK(run({"check", "--help"}).out.find("Usage: strata check [OPTIONS]") != std::string::npos);
    CHECK(run({"check", "--help"}).out.find("{text,json}=text") != std::string::npos);
    CHECK(run({"run", "--help"}).out.find("{table,json,csv}=table") != std::string::npos);
    CHECK(run({"export", "--help"}).out.find("{csv,jsonl,json}=csv") != std::string::npos);
    CHECK(run({"graph", "--help"}).out.find("{text,json,dot}=text") != std::string::npos);
    const Run demo = run({"demo-data", "--help"});
    CHECK(demo.out.find("--customers INT=10000") != std::string::npos);
    CHECK(demo.out.find("--seed UINT=42") != std::string::npos);
}

TEST_CASE("every command listed by --help is built alone for its own command line") {
    // The app builds only the named command's options (process start); each name in the
    // list must reach its own command, with its usage line.
    const Run top = run({"--help"});
    const size_t list = top.out.find("Commands:\n");
    REQUIRE(list != std::string::npos);
    std::istringstream lines(top.out.substr(list + 10));
    int commands = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("  ", 0) != 0) break;
        const std::string name = line.substr(2, line.find(' ', 2) - 2);
        const Run help = run({name, "--help"});
        INFO(name);
        CHECK(help.code == 0);
        CHECK(help.out.find("Usage: strata " + name + " ") != std::string::npos);
        ++commands;
    }
    CHECK(commands >= 17);
    const Run unknown = run({"evl", "--customer", "1"});
    CHECK(unknown.code == 2);
    CHECK(unknown.err.find("did you mean 'eval'") != std::string::npos);
}

TEST_CASE("check without --db says that names were not checked") {
    InSourceDir cwd;
    const std::string file = "tests/golden/check-db/unknown_field_plna.yaml";
    const std::string note = "note: names not checked: pass --db to check them and their types\n";
    const Run open = run({"check", file});
    CHECK(open.code == 0);
    CHECK(open.out.find(note + "checked 1 file: 0 errors, 0 warnings\n") != std::string::npos);
    const Run bound = run({"check", file, "--db", golden_db().string()});
    CHECK(bound.out.find("names not checked") == std::string::npos);
}

TEST_CASE("a rule file that pins as_of gets a note, which --strict leaves a note") {
    const fs::path dir = fs::temp_directory_path() / ("strata-as-of-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string segments =
        "general:\n  segments:\n    - id: a\n      when: plan == 'a'\n    - id: b\n      "
        "when: plan == 'b'\n    - id: c\n      when: otherwise\n";
    const std::string pinned = (dir / "pinned.yaml").string();
    std::ofstream(pinned) << "ruleset: x\nversion: 1\nas_of: 2026-11-01\n" << segments;
    const std::string note = pinned +
                             ":3:8: note: as_of is fixed in the file: every run will see "
                             "2026-11-01 unless run with --as-of\n";
    for (const bool strict : {false, true}) {
        CAPTURE(strict);
        std::vector<std::string> args{"check", pinned};
        if (strict) args.push_back("--strict");
        const Run r = run(args);
        CHECK(r.code == 0);
        CHECK(r.out.find(note) == 0);
        CHECK(r.out.find("checked 1 file: 0 errors, 0 warnings") != std::string::npos);
    }
    const std::string free = (dir / "free.yaml").string();
    std::ofstream(free) << "ruleset: x\nversion: 1\n" << segments;
    const Run r = run({"check", free});
    CHECK(r.code == 0);
    CHECK(r.out.find("as_of is fixed") == std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("check --format json carries the same fields as the text form") {
    InSourceDir cwd;
    const Run r =
        run({"check", "tests/golden/check-db/unknown_field_plna.yaml", "--format", "json"});
    CHECK(r.code == 0);  // without --db the name cannot be known to be wrong
    const Run db = run({"check", "tests/golden/check-db/unknown_field_plna.yaml", "--db",
                        golden_db().string(), "--format", "json"});
    CHECK(db.code == 1);
    CHECK(db.out ==
          "{\"format\":1,\"files\":[{\"file\":\"tests/golden/check-db/"
          "unknown_field_plna.yaml\",\"errors\":1,\"warnings\":0,"
          "\"diagnostics\":[{\"file\":\"tests/golden/check-db/"
          "unknown_field_plna.yaml\",\"line\":6,\"col\":8,\"length\":10,\"severity\":\"note\","
          "\"code\":\"as-of-fixed\","
          "\"message\":\"as_of is fixed in the file: every run will see 2026-11-01 unless run "
          "with --as-of\",\"source_line\":\"as_of: 2026-11-01\"},"
          "{\"file\":\"tests/golden/check-db/"
          "unknown_field_plna.yaml\",\"line\":14,\"col\":13,"
          "\"length\":4,\"severity\":\"error\",\"code\":\"unknown-name\",\"message\":\"unknown "
          "field 'plna' (did you mean "
          "'plan'?)\","
          "\"source_line\":\"      when: plna == 'trial'\"}]}],\"errors\":1,\"warnings\":0,"
          "\"names_checked\":true}\n");
    CHECK(r.out.find(",\"names_checked\":false}\n") != std::string::npos);
}

TEST_CASE("warnings exit 0, and --strict makes them errors") {
    InSourceDir cwd;
    const std::string file = "tests/golden/check/warnings_and_error.yaml";
    const std::string text = slurp(file);
    const fs::path dir =
        fs::temp_directory_path() / ("strata-strict-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // The same file without its one error: only warnings are left.
    std::string warnings_only =
        text.substr(0, text.find("    - id: b\n")) + "    - id: b\n      when: otherwise\n";
    std::ofstream(dir / "w.yaml") << warnings_only;
    const Run lenient = run({"check", (dir / "w.yaml").string()});
    CHECK(lenient.code == 0);
    CHECK(lenient.out.find("0 errors, 3 warnings") != std::string::npos);
    const Run strict = run({"check", (dir / "w.yaml").string(), "--strict"});
    CHECK(strict.code == 1);
    CHECK(strict.out.find("3 errors, 0 warnings") != std::string::npos);
    CHECK(strict.out.find("error: let 'never_used' is never used") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("several files are checked in one call, each with its own diagnostics") {
    InSourceDir cwd;
    const Run r = run({"check", "rules/retail-rfm.yaml", "tests/golden/check/single_equals.yaml",
                       "rules/b2b-crm.yaml"});
    CHECK(r.code == 1);
    CHECK(r.out.find("tests/golden/check/single_equals.yaml:6:18: error:") != std::string::npos);
    CHECK(r.out.find("checked 3 files: 1 error, 0 warnings") != std::string::npos);
}

TEST_CASE("check passes over a rule file's test cases, saying so: check rules/*.yaml works") {
    using namespace strata::testing;
    TempDir dir;
    const std::string rules = dir.write("tiers.yaml",
                                        "ruleset: tiers\nversion: 1\ngeneral:\n  segments:\n"
                                        "    - id: all\n      when: otherwise\n");
    const std::string tests =
        dir.write("tiers.test.yaml", "cases:\n  - name: one\n    customers: []\n");
    const auto r = run_cli({"check", rules, tests});
    CHECK(r.code == 0);
    CHECK(r.out.find(tests + ": note: a rule file's test cases: 'strata test' runs them") !=
          std::string::npos);
    CHECK(r.out.find("checked 1 file: 0 errors") != std::string::npos);
    const auto json = run_cli({"check", rules, tests, "--format", "json"});
    CHECK(json.code == 0);
    CHECK(json_at(json.out, "$.files[1].diagnostics[0].code") == "test-file");
    CHECK(json_at(json.out, "$.errors") == "0");
}

// A state file given for the customer database: its tables are strata's only, which the
// message says instead of "tables: none".
TEST_CASE("a run's state file given as the customer database is named as such") {
    using namespace strata::testing;
    TempDir dir;
    const std::string db = dir.database("base.db",
                                        "CREATE TABLE customers (id INTEGER, x INTEGER);"
                                        "INSERT INTO customers VALUES (1, 2);");
    const std::string rules = dir.write("r.yaml", R"(ruleset: r
version: 1
source:
  key: id
general:
  segments:
    - id: all
      when: otherwise
)");
    const std::string state = dir.file("state.db");
    REQUIRE(run_cli({"run", rules, "--db", db, "--state", state, "--as-of", "2026-11-01"}).code ==
            0);
    const auto r = run_cli({"check", rules, "--db", state});
    CHECK(r.code != 0);
    CHECK(r.out.find("table 'customers' does not exist in the database (tables: none but "
                     "strata's run state (strata_*): give the customer database as --db, and "
                     "this file as --state)") != std::string::npos);
    const auto empty = run_cli({"check", rules, "--db", dir.database("empty.db", "")});
    CHECK(empty.out.find("(tables: none)") != std::string::npos);
}
