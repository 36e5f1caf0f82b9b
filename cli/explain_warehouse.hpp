// `strata explain --run N` (or RULES a ruleset's name) with a warehouse URL in --db: the run
// stored inside PostgreSQL or ClickHouse, its placement of the customer, and the explanation
// computed inside the warehouse, shown side by side as for a SQLite state
// (cli/explain_stored.hpp).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "analysis/explain.hpp"
#include "cli/explain_stored.hpp"

namespace strata::cli {

struct WarehouseStoredExplain {
    Explanation explanation;
    StoredPlacement stored;
};

// `keys`: the customer's key as an integer (when it spells one) and as a text. On failure
// prints why and returns nullopt with `exit_code` set (1: the rules; 2: no such run, a
// customer the run did not place, a version whose source was not kept, the server).
std::optional<WarehouseStoredExplain> explain_stored_in_warehouse(
    const std::string& rules, std::optional<int64_t> run, const std::string& db,
    const std::optional<std::string>& as_of, const std::vector<Value>& keys,
    const std::string& customer, std::ostream& out, std::ostream& err, bool json, int& exit_code);

}  // namespace strata::cli
