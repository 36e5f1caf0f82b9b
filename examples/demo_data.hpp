// Realistic demo customer bases, generated from a fixed seed so that the same command gives
// the same file, and the loader for the real CDNOW transaction log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strata::examples {

struct DemoOptions {
    std::string kind;  // one of demo_kinds()
    int64_t customers = 10000;
    uint64_t seed = 42;
    std::string out;
    std::string cdnow_source;  // the CDNOW_master.txt to load for kind cdnow
};

struct DemoResult {
    int64_t customers = 0;
    std::vector<std::pair<std::string, int64_t>> fact_rows;  // table → rows written
};

// The kinds `generate` knows.
const std::vector<std::string>& demo_kinds();

// Writes a new SQLite database at options.out, replacing any file there only once the new
// one is complete. Returns false and sets `error` on failure (nothing is left behind).
bool generate(const DemoOptions& options, DemoResult& result, std::string& error);

}  // namespace strata::examples
