#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"

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
        return strata::cli::run_main(args, std::cout, std::cerr);
    } catch (const std::exception& e) {
        std::cerr << "strata: internal error: " << e.what() << '\n';
        return 2;
    } catch (...) {
        std::cerr << "strata: internal error\n";
        return 2;
    }
}
