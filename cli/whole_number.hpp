// A CLI11 check for an option that takes a whole number: "-1" or "1e3" gets a sentence saying
// what the option takes, not CLI11's range of a double.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <string>

namespace strata::cli {

// Accepts decimal digits whose value lies in [min, max]; `what` names the value in the message
// ("a seed", "a sample size").
inline CLI::Validator whole_number(const std::string& what, uint64_t max, uint64_t min = 0) {
    return CLI::Validator(
        [what, max, min](std::string& text) -> std::string {
            uint64_t value = 0;
            const char* end = text.data() + text.size();
            const auto [at, ec] = std::from_chars(text.data(), end, value);
            if (!text.empty() && ec == std::errc() && at == end && value >= min && value <= max)
                return "";
            return what + " is a whole number from " + std::to_string(min) + " to " +
                   std::to_string(max) + ", not " + text;
        },
        "");
}

}  // namespace strata::cli
