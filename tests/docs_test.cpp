// Examples of the documentation that must keep working: the sender script of docs/triggers.md,
// run as written (only `strata` put on PATH) against the state of two runs of a shipped rule
// file with triggers, and the auditor's walk-through of docs/audit.md, command by command,
// its pasted output held to what the commands print now.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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

namespace {

// A fenced block of a Markdown page: its language (`sh`, `text`, …) and its lines.
struct FencedBlock {
    std::string language;
    std::vector<std::string> lines;
};

std::vector<FencedBlock> fenced_blocks(const std::string& doc) {
    std::vector<FencedBlock> blocks;
    std::istringstream in(doc);
    std::optional<FencedBlock> open;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("```", 0) == 0) {
            if (open) {
                blocks.push_back(std::move(*open));
                open.reset();
            } else {
                open = FencedBlock{line.substr(3), {}};
            }
        } else if (open) {
            open->lines.push_back(line);
        }
    }
    return blocks;
}

// A line of pasted output as far as it does not depend on the clock: up to its first UTC
// time (`2026-11-30T06:02:17Z`), which is when the command ran.
std::string before_clock_time(const std::string& line) {
    static const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
    std::smatch m;
    return std::regex_search(line, m, time) ? line.substr(0, static_cast<size_t>(m.position(0)))
                                            : line;
}

}  // namespace

TEST_CASE("docs/audit.md: the walk-through's commands run and print what the page shows") {
    const std::string doc = slurp(fs::path(STRATA_SOURCE_DIR) / "docs" / "audit.md");
    const std::vector<FencedBlock> blocks = fenced_blocks(doc);
    TempDir dir;
    fs::create_directory_symlink(fs::path(STRATA_SOURCE_DIR) / "rules", dir.file("rules"));
    size_t commands = 0, checked_lines = 0;
    std::string output;  // of the latest shell block's commands
    for (const FencedBlock& block : blocks) {
        if (block.language == "sh") {
            output.clear();
            for (const std::string& command : block.lines) {
                if (command.empty() || command[0] == '#') continue;
                CAPTURE(command);
                ++commands;
                dir.write("command.sh", command + "\n");
                fs::remove(dir.file("script.out"));
                CHECK(run_script(dir.file(""), "command.sh") == 0);
                output += slurp(dir.file("script.out"));
            }
        } else if (block.language == "text") {
            for (const std::string& line : block.lines) {
                if (line == "…" || line.empty()) continue;
                const std::string expected = before_clock_time(line);
                CAPTURE(expected);
                ++checked_lines;
                CHECK(output.find(expected) != std::string::npos);
            }
        }
    }
    // The page's three questions are all walked through.
    CHECK(commands >= 15);
    CHECK(checked_lines >= 60);
    for (const char* command : {"strata history", "strata explain retail-rfm", "--run 3",
                                "strata versions", "strata show", "strata diff"})
        CHECK(doc.find(command) != std::string::npos);
}
