// Small file helpers shared by the commands.
#pragma once

#include "dsl/source.hpp"

namespace strata::cli {

// Reads a whole file (dsl/source.hpp).
using strata::read_text_file;

}  // namespace strata::cli
