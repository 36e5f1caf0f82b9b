// Hints for habits that rule authors bring from SQL, spreadsheets and YAML. Each function
// looks at something that is already an error and returns text to append to its message
// (starting with "; "), or an empty string when no habit fits. None of them decides whether
// something is an error: valid rules never reach them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dsl/ast.hpp"
#include "dsl/ruleset.hpp"
#include "dsl/source.hpp"

namespace strata::hints {

// A token at a parse error that another language would accept: `AND`, `OR`, `&&`, `||`,
// `!`, or any keyword in capitals (`IS`, `NULL`). `length` is the token's size in bytes.
struct TokenHint {
    std::string hint;
    size_t length = 1;
};
std::optional<TokenHint> for_token(std::string_view text, size_t offset);

// A literal at or just before a parse error at `offset` that the language does not write so:
// a datetime with a time zone or fractions of a second (`2024-02-29T10:00:00Z`), or a
// duration with a fraction (`0.5d`). The hint, and the literal's span in `text`.
struct LiteralHint {
    std::string hint;
    size_t start = 0, length = 1;
};
std::optional<LiteralHint> for_literal(std::string_view text, size_t offset);

// The whole message for a chained comparison such as `1 < x < 3`, given the operands' and
// operators' text.
std::string chained_comparison(std::string_view first, std::string_view op1,
                               std::string_view middle, std::string_view op2,
                               std::string_view last);

// An unknown function that SQL or a spreadsheet has: datediff, len, today(), ISNULL,
// IFNULL, NOW(), or a known function written in capitals. `expr_text` is the text the
// call's spans point into.
std::string for_unknown_function(const ast::Call& call, std::string_view expr_text);

// An unknown customer field: `today` or `now` for as_of, a keyword in capitals (`NULL`),
// or a whole expression that YAML read as quoted text (`when: 'starter'`). `text` is the
// expression the name stands in.
std::string for_unknown_field(std::string_view name, const ExprText& text);

// An operand that had to be a date but is not: a date in quotes ('2026-01-01') or a date
// without its leading zeros (2026-1-5, which reads as a subtraction). `expr_text` is the
// text the operand's span points into.
std::string for_date_operand(const ast::Expr& operand, std::string_view expr_text);

// The first tab in the indentation of `line` (1-based) or of the two lines before it, for a
// YAML error reported there.
std::optional<Location> tab_in_indentation(const SourceFile& file, int line);

// A YAML layout slip behind yaml-cpp's "end of map not found", "end of sequence not found"
// or "illegal map value" reported at `line` (1-based): a list item written `-id:` (no space
// after the dash), a key indented otherwise than the key above it, or a key on an earlier line
// without its ':'. The place to point at and the sentence to say; nullopt when none is seen.
struct YamlSlip {
    Location at;
    std::string message;
};
std::optional<YamlSlip> yaml_layout_slip(const SourceFile& file, int line,
                                         const std::string& yaml_message);

// The offset of the '[' or '{' that opens a YAML flow collection never closed before byte
// `end` (where yaml-cpp noticed, usually a line or more later): the innermost one still open. Only
// brackets that start a node count, not those inside a plain value (`when: x in [1, 2`), a
// quoted one or a comment.
std::optional<size_t> unclosed_flow(std::string_view text, size_t end);

}  // namespace strata::hints
