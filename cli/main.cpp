#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"

namespace {

// A command's output is its result: one that could not be written (a full disk, a closed
// descriptor, a reader that went away) fails the command with exit 2, whatever it returned,
// so that `strata export ... > members.csv` on a full disk does not leave a cut file behind
// an exit 0.
int with_output_written(int code) {
    errno = 0;
    std::cout.flush();
    const bool failed = !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout);
    if (!failed) return code;
    const int reason = errno;
    std::cerr << "strata: cannot write the output to stdout ("
              << (reason != 0 ? std::strerror(reason) : "a write failed")
              << "); what it printed is incomplete\n";
    return 2;
}

// How many times -v was given: each -v or --verbose counts one, and -vv or -vvv as many as
// their letters (CLI11 counts them the same way; the level is set before it parses).
int verbosity_asked(const std::vector<std::string>& args) {
    int verbosity = 0;
    for (const std::string& a : args) {
        if (a == "--") break;
        if (a == "--verbose")
            ++verbosity;
        else if (a.size() >= 2 && a[0] == '-' && a.find_first_not_of('v', 1) == std::string::npos)
            verbosity += static_cast<int>(a.size() - 1);
    }
    return verbosity;
}

}  // namespace

int main(int argc, char** argv) {
    // A file grown past the size limit (ulimit -f) is a write that fails, as on a full disk,
    // and is said as such with exit 2, not a process killed without a word.
    std::signal(SIGXFSZ, SIG_IGN);
    try {
        // Logs go to stderr so that stdout stays clean for --format json.
        spdlog::set_default_logger(spdlog::stderr_color_mt("strata"));
        std::vector<std::string> args(argv + 1, argv + argc);
        const int verbosity = verbosity_asked(args);
        spdlog::set_level(verbosity == 0   ? spdlog::level::warn
                          : verbosity == 1 ? spdlog::level::info
                          : verbosity == 2 ? spdlog::level::debug
                                           : spdlog::level::trace);
        return with_output_written(strata::cli::run_main(args, std::cout, std::cerr));
    } catch (const std::exception& e) {
        std::cerr << "strata: internal error: " << e.what() << '\n';
        return 2;
    } catch (...) {
        std::cerr << "strata: internal error\n";
        return 2;
    }
}
