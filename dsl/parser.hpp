// The expression parser: PEGTL grammar → parse tree → ast::Expr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dsl/ast.hpp"

namespace strata {

struct ParseIssue {
    ast::Span span;
    std::string message;
};

struct ParseResult {
    ast::ExprPtr expr;  // null when issues is not empty
    std::vector<ParseIssue> issues;
};

// Limits that keep a hostile rule file from exhausting the stack or the clock.
inline constexpr size_t kMaxExpressionBytes = 1 << 20;  // 1 MiB of expression text
inline constexpr int kMaxBracketNesting = 100;          // ( and [ levels
inline constexpr int kMaxTreeDepth = 1000;              // operator chain depth

// Parses one expression. Never throws; every problem is returned as an issue whose span
// points into `text`.
ParseResult parse_expression(std::string_view text);

// True when `word` is reserved by the language (and, or, not, in, ...).
bool is_keyword(std::string_view word);

// True when `s` is a valid name (a letter of any alphabet or _, then letters, digits and _;
// dsl/names.hpp) and no keyword.
bool is_identifier(std::string_view s);

}  // namespace strata
