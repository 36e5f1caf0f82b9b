// The strata commands, each a function from parsed options to an exit code, writing to the
// given streams, so tests can run them in-process. Exit codes: 0 ok, 1 rule problems,
// 2 usage, I/O or database problems.
#pragma once

#include <CLI/CLI.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace strata::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRules = 1;
inline constexpr int kExitEnvironment = 2;

enum class Format { Text, Json };

struct CheckOptions {
    std::vector<std::string> rules;
    std::optional<std::string> db;
    bool strict = false;
    Format format = Format::Text;
};

int run_check(const CheckOptions& options, std::ostream& out, std::ostream& err);

// Registers every command on the app; `exit_code` receives the chosen command's result.
void register_commands(CLI::App& app, int& exit_code, std::ostream& out, std::ostream& err);

// Runs the whole command line (what main does), for tests: never throws.
int run_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
