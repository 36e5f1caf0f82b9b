// Internal to the demo generators: the second state of a demo base (`demo-data --advance`).
// The base is generated first, exactly as without --advance; these functions then add what
// happened in the period after the demo's today (kEnd), drawn from a random source of their
// own, so the base's rows stay byte for byte what they were.
#pragma once

#include "examples/demo_support.hpp"

namespace strata::examples::detail {

// Whether options.advance can be applied to options.kind; when not, says why in `error`.
bool advance_possible(const DemoOptions& options, std::string& error);
// Adds the period of options.advance to the base just generated in `db`, and records what it
// added in `result` (whose customers and fact_rows then count the whole advanced base).
// REQUIRES: advance_possible(options).
void advance_base(SQLite::Database& db, const DemoOptions& options, DemoResult& result);

// The days after kEnd that the advance fills: first = kEnd + 1, last = kEnd + the duration.
struct Period {
    int32_t first = 0;
    int32_t last = 0;
    int32_t days() const { return last - first + 1; }
    int32_t any_day(Rng& rng) const { return static_cast<int32_t>(rng.range(first, last)); }
    // The chance that something with the given chance per 30 days happens in the period.
    double chance(double per_30_days) const {
        return 1.0 - std::pow(1.0 - per_30_days, days() / 30.0);
    }
};

// What an advance added, for the command's summary.
struct AdvanceTally {
    int64_t new_customers = 0;
    int64_t updated_customers = 0;  // existing customer rows whose columns changed
    std::vector<std::pair<std::string, int64_t>> fact_rows;  // table → rows added
};

// One customer's rows of a fact table, in date order.
struct History {
    int64_t n = 0;
    int32_t first = 0;
    int32_t last = 0;
    double amount_total = 0;
    std::string last_label;  // the label column of the latest row
    double mean_amount(double fallback) const { return n ? amount_total / n : fallback; }
    // The average days between rows, or `fallback` with fewer than two rows.
    int32_t gap(int32_t fallback) const {
        return n > 1 && last > first ? std::max<int32_t>(7, (last - first) / (n - 1)) : fallback;
    }
};

// The history of every customer 1..customers in `table` (index = customer_id; 0 unused).
// `amount_column` and `label_column` may be empty; `where`, when given, selects the rows.
std::vector<History> read_history(SQLite::Database& db, const std::string& table,
                                  const std::string& date_column, const std::string& amount_column,
                                  const std::string& label_column, int64_t customers,
                                  const std::string& where = "");

void advance_retail(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                    AdvanceTally& tally);
void advance_carservice(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                        AdvanceTally& tally);
void advance_auto(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                  AdvanceTally& tally);
void advance_saas(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                  AdvanceTally& tally);
void advance_streaming(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                       AdvanceTally& tally);
void advance_telecom(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                     AdvanceTally& tally);

}  // namespace strata::examples::detail
