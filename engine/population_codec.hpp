// Population fits as bytes, so that a run can keep the thresholds it ranked the base with and
// a later evaluation of one customer can apply them (engine/population.hpp). decode(encode(f))
// gives f back exactly, texts interned again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/population.hpp"

namespace strata {

std::string encode_fit(const PopulationFit& fit);

// nullopt when `bytes` is not a fit encode_fit wrote (truncated, another layout).
std::optional<PopulationFit> decode_fit(std::string_view bytes);

}  // namespace strata
