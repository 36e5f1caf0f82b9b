// Column names from CSV headers: what a rule author writes in a rule file. Letters of any
// alphabet (lower-cased where strata knows the case: Latin, Cyrillic, Greek), digits and '_';
// spaces and punctuation become '_' (docs/import.md has the rules).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata::import {

// The column name for a header at 1-based `position`: lower-cased, every run of spaces and
// punctuation one '_', none at either end; '_' before a leading digit; '_' after a word of
// the language (and, or, not, in, between, is, null, true, false, where); column_N for a
// header with nothing left. With `ascii`, Cyrillic is transliterated (Дата → data) and other
// non-ASCII letters become '_', for rule files that must stay ASCII.
std::string column_name_for(std::string_view header, size_t position, bool ascii);

// The names of all headers. False with `error` naming both headers when two become the same.
bool map_headers(const std::vector<std::string>& headers, bool ascii,
                 std::vector<std::string>& names, std::string& error);

// Whether `name` is a word of the rule language (and, or, not, in, between, is, null, true,
// false, where).
bool is_language_word(std::string_view name);

// Whether `name` is a name column_name_for could have made (letters, digits, '_', not
// starting with a digit, not a word of the language): what a --table must be.
bool is_plain_name(std::string_view name);

}  // namespace strata::import
