// Values in ClickHouse's text formats. ClickHouse 18.16 has no bound parameters, so a value
// that goes into a query is written as an escaped literal by clickhouse_string_literal, the one
// escaper for SQL text; rows sent in bulk are TabSeparated fields (clickhouse_tsv_field); answers
// come back as TabSeparatedWithNames (parse_tab_separated_with_names).
//
// Strings are bytes to ClickHouse: UTF-8 and any other byte pass through unchanged; only the
// backslash, the quote and the control bytes below are escaped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "warehouse/result.hpp"

namespace strata::warehouse {

// A string literal for ClickHouse SQL: the text between single quotes, with \ ' written as
// \\ \' and NUL, tab, line feed and carriage return as \0 \t \n \r.
std::string clickhouse_string_literal(std::string_view value);

// One field of a TabSeparated row: NULL as \N; \ tab line-feed carriage-return NUL as
// \\ \t \n \r \0; every other byte as it is.
std::string clickhouse_tsv_field(const Cell& value);

// Reads a TabSeparatedWithNames answer: the first line names the columns, every other line is
// a row with as many fields. A field that is exactly \N is NULL. An empty answer is a table
// without columns (a statement without a result). A malformed answer gives nullopt and a
// message in `error`.
std::optional<ResultTable> parse_tab_separated_with_names(std::string_view text,
                                                          std::string& error);

}  // namespace strata::warehouse
