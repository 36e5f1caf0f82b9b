// Realistic demo customer bases, generated from a fixed seed so that the same command gives
// the same file, and the loader for the real CDNOW transaction log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/calendar.hpp"

namespace strata::examples {

struct DemoOptions {
    std::string kind;  // one of demo_kinds()
    int64_t customers = 10000;
    uint64_t seed = 42;
    std::string out;
    std::string cdnow_source;  // the CDNOW_master.txt to load for kind cdnow
    // When set, the base's second state: the base exactly as without it, plus what happened
    // in this period after the demo's today (2026-11-01), drawn from a seed of its own. The
    // advanced base's today is 2026-11-01 + advance. Not for cdnow (real data).
    std::optional<Duration> advance;
};

struct DemoResult {
    int64_t customers = 0;
    std::vector<std::pair<std::string, int64_t>> fact_rows;  // table → rows written
    // With DemoOptions::advance: the base's new today and what the period added or changed.
    std::optional<Date> advanced_to;
    int64_t new_customers = 0;
    int64_t updated_customers = 0;  // existing customers whose row changed
    std::vector<std::pair<std::string, int64_t>> added_rows;  // table → rows added
};

// The demo's today: the day the generated bases end and their runs look at (2026-11-01).
Date demo_today();

// The longest --advance accepted.
inline constexpr int32_t kMaxAdvanceDays = 731;

// The kinds `generate` knows.
const std::vector<std::string>& demo_kinds();

// The PRAGMA application_id of the bases `generate` writes ("STDM"): the mark that a file
// is one it may replace.
inline constexpr int64_t kDemoApplicationId = 0x5354444D;

// Writes a new SQLite database at options.out, replacing a file there only once the new one
// is complete, and only when that file is empty or a base this wrote (application_id
// kDemoApplicationId) holding no stored runs or outbox actions: a rule file, a customer
// database or a state given as --out by mistake is refused. Returns false and sets `error` on
// failure (nothing is left behind, nothing is replaced), including an advance of cdnow, or
// one of less than a day or more than kMaxAdvanceDays.
bool generate(const DemoOptions& options, DemoResult& result, std::string& error);

}  // namespace strata::examples
