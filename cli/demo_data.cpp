// `strata demo-data --kind KIND --customers N --out FILE [--seed S] [--source CDNOW_master.txt]
// [--advance DURATION]`
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
    if (options.advance) {
        demo.advance = strata::parse_duration(*options.advance);  // the language's durations
        if (!demo.advance) {
            err << "strata demo-data: --advance '" << *options.advance
                << "' is not a duration: write a whole number and d, w, mo or y (30d, 2w, 1mo)\n";
            return kExitEnvironment;
        }
    }
    if (options.source && options.kind != "cdnow") {
        err << "strata demo-data: --source is the CDNOW log to load; it applies to --kind cdnow "
               "only, not "
            << options.kind << '\n';
        return kExitEnvironment;
    }
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
        << (result.customers == 1 ? " customer" : " customers");
    // "1,853 orders", but "1 orders row": a table's name is plural already.
    for (const auto& [table, rows] : result.fact_rows)
        out << ", " << thousands(static_cast<size_t>(rows)) << ' ' << table
            << (rows == 1 ? " row" : "");
    out << '\n';
    if (result.advanced_to) {
        const std::string today = format_date(*result.advanced_to);
        out << "advanced by " << format_duration(*demo.advance) << " to " << today << ": "
            << thousands(static_cast<size_t>(result.new_customers))
            << (result.new_customers == 1 ? " new customer, " : " new customers, ")
            << thousands(static_cast<size_t>(result.updated_customers))
            << (result.updated_customers == 1 ? " customer changed" : " customers changed");
        for (const auto& [table, rows] : result.added_rows)
            out << ", " << thousands(static_cast<size_t>(rows)) << " new " << table
                << (rows == 1 ? " row" : "");
        out << "; run it with --as-of " << today << '\n';
    }
    say_stored_if_output_lost(out, err, "demo-data", options.out + " was written");
    return kExitOk;
}

}  // namespace strata::cli
