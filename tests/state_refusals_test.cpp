// Stored state that strata did not write, or cannot read: tables it did not make, a
// customer database it may not open, a run row changed by hand. Each is refused with a
// message that names it, and nothing is changed.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "history_fixture.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

using namespace strata::testing;
using namespace strata::testing::history;

TEST_CASE("a strata_* table that strata did not make is refused, and left as it was") {
    // A user's own table named strata_runs (or a state of something else): every command that
    // reads or writes the run state says so, with exit 2, and nothing is created beside it.
    TempDir dir;
    const auto db = dir.database("base.db", std::string(kBase) +
                                                "CREATE TABLE strata_runs (x INTEGER); INSERT INTO "
                                                "strata_runs VALUES (7);");
    const auto rules = dir.write("tiers.yaml", kRules);
    const std::string own =
        "has a table strata_runs that strata did not make (it has no columns run_id, ruleset";
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"runs", "--db", db},
             {"history", "--db", db, "--customer", "7"},
             {"triggers", "--db", db},
             {"report", "--db", db, "--out", dir.file("r.html")},
             {"outbox", "list", "--db", db},
             {"export", rules, "--db", db},
             {"export", rules, "--db", db, "--format", "json"},
             {"run", rules, "--db", db, "--as-of", "2026-10-01"}}) {
        CAPTURE(args[0]);
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK_MESSAGE(r.err.find(own) != std::string::npos, r.err);
    }
    SQLite::Database read(db, SQLite::OPEN_READONLY);
    CHECK(read.execAndGet("SELECT group_concat(name) FROM sqlite_schema WHERE name LIKE "
                          "'strata%'")
              .getString() == "strata_runs");
    CHECK(read.execAndGet("SELECT x FROM strata_runs").getInt() == 7);
    // The same with --format json: the error object on stdout.
    const Run json = run_cli({"outbox", "list", "--db", db, "--format", "json"});
    CHECK(json.code == 2);
    CHECK(json_at(json.out, "$.error.kind") == "database");
    CHECK(json_at(json.out, "$.error.message").find(own) != std::string::npos);
    const Run runs = run_cli({"runs", "--db", db, "--format", "json"});
    CHECK(json_at(runs.out, "$.error.message").find(own) != std::string::npos);
}

// Every table strata keeps its state in is checked, not only the runs, stays and outbox: a
// user's strata_versions was found only after the schema beside it was stored, and a dry run
// read a foreign strata_runs as no runs at all (review AN3).
TEST_CASE("each strata_* table of the state is checked, also by a dry run") {
    TempDir dir;
    const auto rules = dir.write("tiers.yaml", kRules);
    const auto db = dir.database("base.db", kBase);
    for (const char* table : {"strata_versions", "strata_rulesets", "strata_segments",
                              "strata_aggregate_state", "strata_population_fits"}) {
        CAPTURE(table);
        const std::string name = std::string(table) + ".db";
        const auto state = dir.database(name, "CREATE TABLE " + std::string(table) + " (x);");
        const Run r =
            run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01", "--state", state});
        CHECK(r.code == 2);
        CHECK(r.err.find("has a table " + std::string(table) + " that strata did not make") !=
              std::string::npos);
        SQLite::Database read(state, SQLite::OPEN_READONLY);
        CHECK(read.execAndGet("SELECT group_concat(name) FROM sqlite_schema").getString() == table);
    }
    const auto foreign_runs = dir.database("runs.db", "CREATE TABLE strata_runs (a, b);");
    const Run dry = run_cli({"run", rules, "--db", db, "--as-of", "2026-10-01", "--dry-run",
                             "--state", foreign_runs, "--format", "json"});
    CHECK(dry.code == 2);
    CHECK(json_at(dry.out, "$.error.message")
              .find("has a table strata_runs that strata did not "
                    "make") != std::string::npos);
}

TEST_CASE("export and outbox list with --format json print the error object when they fail") {
    TempDir dir;
    const auto missing = dir.file("missing.db");
    const auto rules = dir.write("tiers.yaml", kRules);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"export", rules, "--db", missing, "--format", "json"},
             {"outbox", "list", "--db", missing, "--format", "json"}}) {
        CAPTURE(args[0]);
        const Run r = run_cli(args);
        CHECK(r.code == 2);
        CHECK(json_at(r.out, "$.format") == "1");
        CHECK(json_at(r.out, "$.error.kind") == "database");
        CHECK(json_at(r.out, "$.error.message") == "database '" + missing + "' does not exist");
    }
    // A rule file that names no ruleset is a rule problem: exit 1, kind "rules".
    const auto nameless = dir.write("nameless.yaml", "version: 1\n");
    const Run r = run_cli({"export", nameless, "--db", missing, "--format", "json"});
    CHECK(r.code == 1);
    CHECK(json_at(r.out, "$.error.kind") == "rules");
    // The diagnostics that keep it from naming one are listed, as run lists them.
    const auto tabbed = dir.write("tabbed.yaml", "ruleset: x\nversion: 1\n\tgeneral: 1\n");
    const Run yaml = run_cli({"export", tabbed, "--db", missing, "--format", "json"});
    CHECK(yaml.code == 1);
    CHECK(json_at(yaml.out, "$.error.diagnostics[0].line") == "3");
    CHECK(json_at(yaml.out, "$.error.diagnostics[0].code") == "yaml");
    // A rule file that cannot be read is the file's problem, as for run.
    std::filesystem::create_directory(dir.file("folder.yaml"));
    const Run folder =
        run_cli({"export", dir.file("folder.yaml"), "--db", missing, "--format", "json"});
    CHECK(folder.code == 2);
    CHECK(json_at(folder.out, "$.error.kind") == "file");
    // Other formats keep stdout for rows only.
    CHECK(run_cli({"export", rules, "--db", missing, "--format", "jsonl"}).out.empty());
}

TEST_CASE("a customer database that cannot be read says it is the permission") {
    TempDir dir;
    const auto db = dir.database("base.db", kBase);
    std::filesystem::permissions(db, std::filesystem::perms::none);
    std::string err;
    int code = 0;
    if (::geteuid() != 0) {
        const Run r = run_cli({"runs", "--db", db});
        err = r.err;
        code = r.code;
    } else {
        // Root reads any file: the command runs as nobody instead, when setpriv is there.
        if (!std::filesystem::exists("/usr/bin/setpriv")) {
            MESSAGE("skipped: running as root without /usr/bin/setpriv");
            return;
        }
        std::filesystem::permissions(dir.file(""), std::filesystem::perms::owner_all |
                                                       std::filesystem::perms::others_exec |
                                                       std::filesystem::perms::group_exec);
        auto as_nobody = [&err, &code](const std::string& args) {
            const std::string command =
                "/usr/bin/setpriv --reuid=nobody --regid=nogroup "
                "--clear-groups " STRATA_BINARY " " +
                args + " 2>&1";
            err.clear();
            FILE* pipe = ::popen(command.c_str(), "r");
            REQUIRE(pipe != nullptr);
            char buffer[512];
            while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
                err.append(buffer, n);
            const int status = ::pclose(pipe);
            code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        };
        // The build may sit where nobody cannot reach it (under /root, say).
        as_nobody("--version");
        if (code != 0) {
            const std::string why = "skipped: nobody cannot run " STRATA_BINARY ": " + err;
            MESSAGE(why);
            return;
        }
        as_nobody("runs --db '" + db + "'");
    }
    CHECK(code == 2);
    CHECK_MESSAGE(
        err.find("cannot open database '" + db +
                 "': Permission denied (reading it needs read permission") != std::string::npos,
        err);
}

TEST_CASE("triggers stops at a run row whose as_of was changed outside strata") {
    // It counts every window up to the latest run's day: one that is not a date is an error
    // naming the run, not windows "counted up to garbage".
    Stored s;
    SQLite::Database(s.db, SQLite::OPEN_READWRITE)
        .exec("UPDATE strata_runs SET as_of = 'garbage' WHERE run_id = 2");
    const Run r = run_cli({"triggers", "--db", s.db, "--ruleset", "tiers"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("run 2 of ruleset 'tiers' has the as_of 'garbage', which is not a "
                             "date") != std::string::npos,
                  r.err);
}

// A run holds the state while it writes; the commands that only read it gave up after a
// fixed 5 s. They wait as long as --wait says (30 s by default), and say they waited.
TEST_CASE("runs, history, triggers, versions, show, report and explain wait as --wait says") {
    Stored s;
    SQLite::Database holder(s.db, SQLite::OPEN_READWRITE);
    holder.exec("BEGIN EXCLUSIVE; UPDATE strata_runs SET ruleset = ruleset;");
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"runs", "--db", s.db},
             {"history", "--db", s.db, "--customer", "7"},
             {"triggers", "--db", s.db},
             {"versions", "--db", s.db},
             {"show", "tiers@1", "--db", s.db},
             // report and explain said "the --wait" and
             // had none (review AO2)
             {"report", "--db", s.db, "--out", s.dir.file("r.html")},
             {"explain", "tiers", "--db", s.db, "--customer", "7"},
             {"explain", s.rules, "--db", s.db, "--customer", "7"}}) {
        CAPTURE(args[0]);
        auto with = args;
        with.insert(with.end(), {"--wait", "1s"});
        const auto started = std::chrono::steady_clock::now();
        const Run r = run_cli(with);
        const auto waited = std::chrono::steady_clock::now() - started;
        CHECK(r.code == 2);
        CHECK_MESSAGE(
            r.err.find("is locked by another process (waited 1s, the --wait)") != std::string::npos,
            r.err);
        CHECK(waited >= std::chrono::milliseconds(900));
        with.back() = "soon";
        const Run bad = run_cli(with);
        CHECK(bad.code == 2);
        CHECK(
            bad.err.find("--wait 'soon' is not a duration like 30s, 2m, 1h or 2d (at most 30d)") !=
            std::string::npos);
        // A duration past the cap says the cap (it said only "not a duration", review AO6).
        with.back() = "31d";
        CHECK(run_cli(with).err.find("--wait '31d' is not a duration like 30s, 2m, 1h or 2d "
                                     "(at most 30d)") != std::string::npos);
    }
    // Every command taking --wait words a bad one the same way.
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"run", s.rules, "--db", s.db, "--as-of", "2026-12-01"},
             {"eval", s.rules, "--db", s.db, "--customer", "7"},
             {"outbox", "list", "--db", s.db}}) {
        CAPTURE(args[0]);
        auto with = args;
        with.insert(with.end(), {"--wait", "31d"});
        const Run r = run_cli(with);
        CHECK(r.code == 2);
        CHECK(r.err.find("'31d' is not a duration like 30s, ") != std::string::npos);
        CHECK(r.err.find("1h or 2d (at most 30d)") != std::string::npos);
    }
    holder.exec("ROLLBACK");
    const Run r = run_cli({"runs", "--db", s.db, "--wait", "0s"});
    CHECK_MESSAGE(r.code == 0, r.err);
}

// A warehouse is not a file to wait on, but a --wait that is no duration is still a typing
// slip: refused before any server is reached (nothing listens on port 1), as JSON too.
TEST_CASE("runs, history, versions and show refuse a --wait that is no duration for a URL too") {
    for (const char* url :
         {"postgresql://strata@127.0.0.1:1/none", "clickhouse://127.0.0.1:1/none"}) {
        for (const std::vector<std::string>& args :
             std::vector<std::vector<std::string>>{{"runs", "--db", url},
                                                   {"history", "--db", url, "--customer", "7"},
                                                   {"versions", "--db", url},
                                                   {"show", "tiers@1", "--db", url}}) {
            CAPTURE(args[0]);
            CAPTURE(std::string(url));
            auto with = args;
            with.insert(with.end(), {"--wait", "soon"});
            const Run bad = run_cli(with);
            CHECK(bad.code == 2);
            CHECK(bad.err ==
                  "strata " + args[0] +
                      ": --wait 'soon' is not a duration like 30s, 2m, 1h or 2d (at most 30d)\n");
            with.insert(with.end(), {"--format", "json"});
            if (args[0] == "show") continue;  // show writes text only
            const Run json = run_cli(with);
            CHECK(json.code == 2);
            CHECK(json.out.find("{\"format\":1,\"error\":{\"kind\":\"usage\"") == 0);
        }
    }
}

// A FIFO given as a database waited for a writer forever (SQLite opens it as a file); a file
// grown past `ulimit -f` killed the process by SIGXFSZ, with no word and no exit 2 (review AN1,
// AN5). Both are now said and exit 2, and nothing is stored.
TEST_CASE("a FIFO as a database, and a state file past the size limit, exit 2 with a reason") {
    TempDir dir;
    const std::string rules = dir.write("halves.yaml",
                                        "ruleset: halves\nversion: 1\ngeneral:\n  segments:\n"
                                        "    - id: odd\n      when: customer_id % 2 == 1\n"
                                        "    - id: even\n      when: otherwise\n");
    const std::string db = dir.database(
        "base.db",
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "INSERT INTO customers SELECT i FROM n;");
    const std::string fifo = dir.file("fifo.db");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {STRATA_BINARY, "runs", "--state", fifo},
             {STRATA_BINARY, "outbox", "list", "--state", fifo},
             {STRATA_BINARY, "run", rules, "--db", db, "--as-of", "2026-10-01", "--state", fifo},
             {STRATA_BINARY, "run", rules, "--db", db, "--as-of", "2026-10-01", "--dry-run",
              "--state", fifo},
             {STRATA_BINARY, "run", rules, "--db", fifo, "--as-of", "2026-10-01"}}) {
        CAPTURE(args[1]);
        const Ended ended = finish_or_kill(start(args, dir.file("out"), dir.file("err")), deadline);
        CHECK_FALSE(ended.killed);
        CHECK(ended.exit_code == 2);
        const std::string said = slurp(dir.file("err"));
        CHECK(said.find("'" + fifo + "'") != std::string::npos);
        CHECK(said.find("is a FIFO, not a SQLite file") != std::string::npos);
    }
    // The state of 20,000 customers does not fit in 100 blocks.
    const std::string state = dir.file("state.db");
    const Ended limited = finish_or_kill(
        start({"/bin/sh", "-c",
               "ulimit -f 100 && exec \"$0\" run \"$1\" --db \"$2\" --as-of 2026-10-01 --state "
               "\"$3\"",
               STRATA_BINARY, rules, db, state},
              dir.file("out"), dir.file("err")),
        deadline);
    CHECK_FALSE(limited.killed);
    CHECK(limited.exit_code == 2);
    CHECK(slurp(dir.file("err"))
              .find("the file may have reached the size limit of this process, "
                    "ulimit -f") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(state));
}
