// Small file helpers shared by the commands.
#pragma once

#include <optional>
#include <string>

namespace strata::cli {

// Reads a whole file; on failure returns nullopt and sets `error` to a sentence naming it.
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

}  // namespace strata::cli
