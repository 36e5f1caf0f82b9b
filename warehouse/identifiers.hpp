// Names that strata writes into warehouse SQL (tables, columns, databases, clusters, settings).
// Values never go into SQL text through here: PostgreSQL gets them as bound parameters and
// ClickHouse as escaped literals (clickhouse_text.hpp). A name is checked against one strict
// pattern before it is quoted, so a quoting mistake cannot turn into an injection.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strata::warehouse {

// The longest name accepted: PostgreSQL's limit (longer names it silently truncates).
inline constexpr std::size_t max_identifier_bytes = 63;

// True for 1 to 63 bytes of ASCII letters, digits, underscores and, in valid UTF-8, characters
// beyond ASCII other than controls, spaces and invisible marks (компания, größe), not starting
// with a digit. No byte of such a name is a quote, a backslash or a control byte, so quoting
// it cannot end the quotes.
bool is_plain_identifier(std::string_view name);

// Why `name` is refused, in a sentence that quotes it; for names that is_plain_identifier
// accepts, an empty string.
std::string identifier_problem(std::string_view name);

// "name" for PostgreSQL (case kept), or nullopt when the name is not plain.
std::optional<std::string> quote_postgres_identifier(std::string_view name);

// `name` for ClickHouse, or nullopt when the name is not plain.
std::optional<std::string> quote_clickhouse_identifier(std::string_view name);

}  // namespace strata::warehouse
