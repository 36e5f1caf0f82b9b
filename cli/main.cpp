#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
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

}  // namespace

int main(int argc, char** argv) {
    try {
        // Logs go to stderr so that stdout stays clean for --format json.
        spdlog::set_default_logger(spdlog::stderr_color_mt("strata"));
        spdlog::set_level(spdlog::level::warn);
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "-v" || a == "--verbose") spdlog::set_level(spdlog::level::info);
            if (a == "-vv") spdlog::set_level(spdlog::level::debug);
        }
        std::vector<std::string> args(argv + 1, argv + argc);
        return with_output_written(strata::cli::run_main(args, std::cout, std::cerr));
    } catch (const std::exception& e) {
        std::cerr << "strata: internal error: " << e.what() << '\n';
        return 2;
    } catch (...) {
        std::cerr << "strata: internal error\n";
        return 2;
    }
}
