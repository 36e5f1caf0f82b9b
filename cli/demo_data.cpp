// `strata demo-data --kind KIND --customers N --out FILE [--seed S] [--source CDNOW_master.txt]`
#include <filesystem>
#include <ostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "examples/demo_data.hpp"

namespace strata::cli {

namespace {

std::string default_cdnow_source() {
    const std::filesystem::path local = "examples/data/cdnow/CDNOW_master.txt";
    if (std::filesystem::exists(local)) return local.string();
    return std::string(STRATA_SOURCE_DIR) + "/examples/data/cdnow/CDNOW_master.txt";
}

}  // namespace

int run_demo_data(const DemoDataOptions& options, std::ostream& out, std::ostream& err) {
    examples::DemoOptions demo;
    demo.kind = options.kind;
    demo.customers = options.customers;
    demo.seed = options.seed;
    demo.out = options.out;
    demo.cdnow_source = options.source.value_or(default_cdnow_source());
    examples::DemoResult result;
    std::string error;
    if (!examples::generate(demo, result, error)) {
        err << "strata demo-data: " << error << '\n';
        return kExitEnvironment;
    }
    out << "wrote " << options.out << ": " << thousands(static_cast<size_t>(result.customers))
        << " customers";
    for (const auto& [table, rows] : result.fact_rows)
        out << ", " << thousands(static_cast<size_t>(rows)) << ' ' << table;
    out << '\n';
    return kExitOk;
}

}  // namespace strata::cli
