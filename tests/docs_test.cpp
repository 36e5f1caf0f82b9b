// Examples of the documentation that must keep working: the sender script of docs/triggers.md,
// run as written (only `strata` put on PATH) against the state of two runs of a shipped rule
// file with triggers.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "test_support.hpp"

using namespace strata::testing;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The shell block of `doc` that starts with `first_line`, without its fences.
std::string shell_block(const std::string& doc, const std::string& first_line) {
    const size_t begin = doc.find("```sh\n" + first_line + "\n");
    if (begin == std::string::npos) return {};
    const size_t body = begin + 6;
    const size_t end = doc.find("\n```", body);
    return end == std::string::npos ? std::string() : doc.substr(body, end - body + 1);
}

// Runs `script` with sh in `dir`, with the strata binary first on PATH; the exit code.
int run_script(const std::string& dir, const std::string& script) {
    const std::string bin = fs::path(STRATA_BINARY).parent_path().string();
    const std::string command = "cd '" + dir + "' && PATH='" + bin + "':\"$PATH\" sh " + script +
                                " >> script.out 2>> script.err";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int64_t outbox_count(const std::string& state, const std::string& where) {
    SQLite::Database db(state, SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM strata_outbox WHERE " + where).getInt64();
}

}  // namespace

TEST_CASE("docs/triggers.md: the sender script sends every pending action once") {
    const std::string doc = slurp(fs::path(STRATA_SOURCE_DIR) / "docs" / "triggers.md");
    const std::string script = shell_block(doc, "#!/bin/sh");
    REQUIRE_MESSAGE(script.find("strata outbox claim") != std::string::npos,
                    "no sender script found in docs/triggers.md");
    TempDir dir;
    dir.write("send-actions.sh", script);
    // The script's names: shop.db (the customer database) and state.db (the run state).
    const std::string rules = (fs::path(STRATA_SOURCE_DIR) / "rules" / "retail-rfm.yaml").string();
    const std::string state = dir.file("state.db");
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "5000", "--out",
                     dir.file("november.db")})
                .code == 0);
    REQUIRE(run_cli({"demo-data", "--kind", "retail", "--customers", "5000", "--advance", "30d",
                     "--out", dir.file("shop.db")})
                .code == 0);
    REQUIRE(run_cli({"run", rules, "--db", dir.file("november.db"), "--state", state, "--as-of",
                     "2026-11-01"})
                .code == 0);
    REQUIRE(run_cli({"run", rules, "--db", dir.file("shop.db"), "--state", state, "--as-of",
                     "2026-12-01"})
                .code == 0);
    const int64_t pending = outbox_count(state, "status = 'pending'");
    const int64_t held_out = outbox_count(state, "status = 'holdout'");
    REQUIRE(pending > 50);  // more than one batch of the script's --limit 50
    REQUIRE(held_out > 0);

    // Sending fails (sent.jsonl cannot be written): the first batch is failed, back to
    // pending with the reason, and the script stops with exit code 1.
    fs::create_directory(dir.file("sent.jsonl"));
    CHECK(run_script(dir.file(""), "send-actions.sh") == 1);
    CHECK(outbox_count(state,
                       "status = 'pending' AND attempt = 1 AND reason = "
                       "'send_action failed'") == 50);
    CHECK(outbox_count(state, "status = 'done'") == 0);
    fs::remove(dir.file("sent.jsonl"));
    fs::remove(dir.file("script.err"));

    // Sending works: every pending action is sent once and acked; held-out ones stay.
    CHECK(run_script(dir.file(""), "send-actions.sh") == 0);
    CHECK(outbox_count(state, "status = 'done'") == pending);
    CHECK(outbox_count(state, "status = 'holdout'") == held_out);
    CHECK(outbox_count(state, "status NOT IN ('done', 'holdout')") == 0);
    std::ifstream sent(dir.file("sent.jsonl"));
    std::set<std::string> ids;
    size_t lines = 0;
    for (std::string line; std::getline(sent, line); ++lines)
        ids.insert(json_at(line, "$.id"));
    CHECK(lines == static_cast<size_t>(pending));
    CHECK(ids.size() == lines);
    CHECK(slurp(dir.file("script.err")).empty());
}
