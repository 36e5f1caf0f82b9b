// A file written beside its target and renamed over it once whole: a reader never sees half
// a file, and a failure leaves the target as it was.
#pragma once

#include <optional>
#include <string>

namespace strata::files {

// Makes a new, empty file beside `target` for the new contents: `TARGET.PID.partial`, or
// `TARGET.PID.N.partial` (N from 1) when a file of that name is there already, such as one
// left by a killed process that had the same id. Made exclusively, so never a file someone
// else has there. Its path, or nullopt with the reason in `error`.
std::optional<std::string> make_partial_beside(const std::string& target, std::string& error);

}  // namespace strata::files
