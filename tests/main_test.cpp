#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);  // as the strata binary does without -v
    doctest::Context context(argc, argv);
    return context.run();
}
