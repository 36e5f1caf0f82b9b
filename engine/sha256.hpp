// SHA-256 (FIPS 180-4), for fingerprinting rule files in run records.
#pragma once

#include <string>
#include <string_view>

namespace strata {

// The lowercase hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace strata
