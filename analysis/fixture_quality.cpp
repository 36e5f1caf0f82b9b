#include "analysis/fixture_quality.hpp"

#include "dsl/types.hpp"

namespace strata {

std::string fixture_findings(const DataQuality& dq) {
    std::string out;
    auto add = [&](size_t n, const std::string& one, const std::string& many,
                   const std::string& rest) {
        if (n == 0) return;
        if (!out.empty()) out += "; ";
        out += std::to_string(n) + " " + (n == 1 ? one : many) + rest;
    };
    for (const auto& u : dq.unconvertible)
        add(u.count, "value", "values",
            " in " + u.table + "." + u.column + " did not convert to " +
                std::string(type_name(u.type)) + " (e.g. '" + u.sample + "'), read as null");
    add(dq.null_keys, "customer", "customers", " without a key, left out");
    add(dq.duplicate_keys, "customer", "customers", " repeating a key, left out");
    for (const auto& [fact, count] : dq.orphan_fact_rows)
        add(count, fact + " row", fact + " rows", " for no customer of the case, left out");
    for (const auto& [fact, count] : dq.unknown_time_fact_rows)
        add(count, fact + " row", fact + " rows",
            " whose time is null or not a date, left out of every aggregate");
    return out;
}

}  // namespace strata
