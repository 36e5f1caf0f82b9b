#include "dsl/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <tao/pegtl/contrib/parse_tree.hpp>

#include "dsl/grammar.hpp"
#include "dsl/hints.hpp"
#include "dsl/names.hpp"

namespace strata {

namespace g = strata::grammar;
namespace pegtl = tao::pegtl;

namespace {

// The message for each point of no return. Rules without one never fail inside a must.
struct Errors {
    template <typename Rule>
    static constexpr const char* message = nullptr;
};

}  // namespace
}  // namespace strata

#define STRATA_PARSE_ERROR(rule, text) \
    template <>                        \
    constexpr const char* strata::Errors::message<strata::grammar::rule> = text;

STRATA_PARSE_ERROR(expected_expr, "expected an expression")
STRATA_PARSE_ERROR(expected_operand, "expected a value, name or '(' after '-'")
STRATA_PARSE_ERROR(next_factor, "expected an operand")
STRATA_PARSE_ERROR(next_term, "expected an operand")
STRATA_PARSE_ERROR(cmp_rhs, "expected a value to compare with")
STRATA_PARSE_ERROR(next_negation, "expected a condition")
STRATA_PARSE_ERROR(next_conjunction, "expected a condition")
STRATA_PARSE_ERROR(path_tail_part, "expected a field name after '.'")
STRATA_PARSE_ERROR(next_arg, "expected an argument")
STRATA_PARSE_ERROR(call_args, "expected ')' to close the call")
STRATA_PARSE_ERROR(close_call, "expected ',' or ')' in the argument list")
STRATA_PARSE_ERROR(close_paren, "expected ')'")
STRATA_PARSE_ERROR(list_lit, "expected '[' to start the list after 'in'")
STRATA_PARSE_ERROR(list_items, "expected ']' to close the list")
STRATA_PARSE_ERROR(close_list, "expected ',' or ']' in the list")
STRATA_PARSE_ERROR(between_and, "expected 'and' in 'between … and …'")
STRATA_PARSE_ERROR(is_null_word, "expected 'null' after 'is' or 'is not'")
STRATA_PARSE_ERROR(misplaced_equals, "'=' is not a comparison; use '==' to compare")
STRATA_PARSE_ERROR(sq_body, "unterminated string: missing closing '")
STRATA_PARSE_ERROR(dq_body, "unterminated string: missing closing \"")
STRATA_PARSE_ERROR(end_of_expression, "unexpected text after the expression")

#undef STRATA_PARSE_ERROR

namespace strata {

namespace {

template <typename Rule>
using Selector = pegtl::parse_tree::selector<
    Rule,
    pegtl::parse_tree::store_content::on<
        g::datetime_lit, g::date_lit, g::duration_lit, g::number_lit, g::sq_string, g::dq_string,
        g::true_lit, g::false_lit, g::null_lit, g::path, g::path_part, g::path_tail_part, g::call,
        g::function_name, g::arg, g::named_arg, g::arg_name, g::where_clause, g::negate_op,
        g::mul_op, g::add_op, g::cmp_op, g::cmp_tail, g::chained_tail, g::in_tail, g::between_tail,
        g::is_tail, g::not_marker, g::list_lit, g::not_op, g::paren>,
    pegtl::parse_tree::fold_one::on<g::disjunction, g::conjunction, g::negation, g::comparison,
                                    g::additive, g::multiplicative, g::unary>>;

template <typename Rule>
using Control = pegtl::must_if<Errors, pegtl::normal, false>::control<Rule>;

using Node = pegtl::parse_tree::node;

// Thrown inside this file only, and caught by parse_expression.
struct ConversionError {
    ast::Span span;
    std::string message;
};

ast::Span span_of(const Node& n) {
    return ast::Span{static_cast<uint32_t>(n.begin().byte), static_cast<uint32_t>(n.end().byte)};
}

std::string unescape(std::string_view quoted) {
    std::string out;
    const std::string_view body = quoted.substr(1, quoted.size() - 2);
    for (size_t i = 0; i < body.size(); ++i) {
        char c = body[i];
        if (c == '\\' && i + 1 < body.size()) {
            c = body[++i];
            switch (c) {
                case 'n':
                    c = '\n';
                    break;
                case 't':
                    c = '\t';
                    break;
                case 'r':
                    c = '\r';
                    break;
                case '0':
                    c = '\0';
                    break;
                case '\\':
                case '\'':
                case '"':
                    break;
                default:
                    out += '\\';
                    break;
            }
        }
        out += c;
    }
    return out;
}

ast::BinaryOp binary_op(std::string_view op) {
    if (op == "*") return ast::BinaryOp::Mul;
    if (op == "/") return ast::BinaryOp::Div;
    if (op == "%") return ast::BinaryOp::Mod;
    if (op == "+") return ast::BinaryOp::Add;
    if (op == "-") return ast::BinaryOp::Sub;
    if (op == "==") return ast::BinaryOp::Eq;
    if (op == "!=" || op == "<>") return ast::BinaryOp::Ne;
    if (op == "<=") return ast::BinaryOp::Le;
    if (op == ">=") return ast::BinaryOp::Ge;
    if (op == "<") return ast::BinaryOp::Lt;
    return ast::BinaryOp::Gt;
}

class Converter {
  public:
    ast::ExprPtr convert(const Node& n) { return convert_at(n, 1); }

  private:
    template <typename T>
    ast::ExprPtr make(ast::Span span, T node) {
        auto e = std::make_unique<ast::Expr>();
        e->span = span;
        e->node = std::move(node);
        return e;
    }

    void check_depth(const Node& n, int depth) {
        if (depth > kMaxTreeDepth) {
            throw ConversionError{span_of(n), "expression is nested too deeply (more than " +
                                                  std::to_string(kMaxTreeDepth) + " levels)"};
        }
    }

    ast::ExprPtr literal(const Node& n, ast::LiteralValue v) {
        return make(span_of(n), ast::Literal{std::move(v)});
    }

    ast::ExprPtr number(const Node& n) {
        const std::string_view text = n.string_view();
        if (text.find_first_of(".eE") == std::string_view::npos) {
            int64_t value = 0;
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc{}) {
                throw ConversionError{span_of(n), "integer literal is out of range"};
            }
            return literal(n, value);
        }
        const double value = std::strtod(std::string(text).c_str(), nullptr);
        if (!std::isfinite(value))
            throw ConversionError{span_of(n), "number literal is out of range"};
        // 1e-400 is no number either: it would silently be 0.
        const std::string_view digits = text.substr(0, text.find_first_of("eE"));
        if (value == 0 && digits.find_first_of("123456789") != std::string_view::npos)
            throw ConversionError{span_of(n),
                                  "number literal is out of range (too small to "
                                  "tell from 0)"};
        return literal(n, value);
    }

    // Folds `a op b op c` into left-nested binary nodes.
    ast::ExprPtr left_fold(const Node& n, int depth) {
        check_depth(n, depth + static_cast<int>(n.children.size() / 2));
        ast::ExprPtr lhs =
            convert_at(*n.children[0], depth + static_cast<int>(n.children.size() / 2));
        for (size_t i = 1; i + 1 < n.children.size(); i += 2) {
            const Node& op = *n.children[i];
            ast::ExprPtr rhs = convert_at(*n.children[i + 1], depth + 1);
            const ast::Span span{lhs->span.begin, rhs->span.end};
            lhs = make(span, ast::Binary{binary_op(op.string_view()), std::move(lhs),
                                         std::move(rhs), span_of(op)});
        }
        return lhs;
    }

    // Folds `a and b and c` (the children are the operands; keywords are not kept).
    ast::ExprPtr logical_fold(const Node& n, ast::BinaryOp op, int depth) {
        check_depth(n, depth + static_cast<int>(n.children.size()));
        ast::ExprPtr lhs = convert_at(*n.children[0], depth + static_cast<int>(n.children.size()));
        for (size_t i = 1; i < n.children.size(); ++i) {
            ast::ExprPtr rhs = convert_at(*n.children[i], depth + 1);
            const ast::Span span{lhs->span.begin, rhs->span.end};
            const ast::Span op_span{lhs->span.end, rhs->span.begin};
            lhs = make(span, ast::Binary{op, std::move(lhs), std::move(rhs), op_span});
        }
        return lhs;
    }

    // `not not x` and `- - x`: prefix operators, then the operand.
    ast::ExprPtr prefixed(const Node& n, ast::UnaryOp op, int depth) {
        const size_t prefixes = n.children.size() - 1;
        check_depth(n, depth + static_cast<int>(prefixes));
        const Node& last = *n.children.back();
        size_t i = prefixes;
        ast::ExprPtr operand;
        // -9223372036854775808 is the smallest integer, though 9223372036854775808 alone is
        // out of range: the minus next to it makes one literal.
        if (op == ast::UnaryOp::Negate && last.is_type<g::number_lit>() &&
            last.string_view() == "9223372036854775808") {
            --i;
            operand = make(
                ast::Span{static_cast<uint32_t>(n.children[i]->begin().byte), span_of(last).end},
                ast::Literal{std::numeric_limits<int64_t>::min()});
        } else {
            operand = convert_at(last, depth + static_cast<int>(prefixes));
        }
        while (i-- > 0) {
            const ast::Span span{static_cast<uint32_t>(n.children[i]->begin().byte),
                                 operand->span.end};
            operand = make(span, ast::Unary{op, std::move(operand)});
        }
        return operand;
    }

    ast::ExprPtr comparison(const Node& n, int depth) {
        ast::ExprPtr value = convert_at(*n.children[0], depth + 1);
        const Node& tail = *n.children[1];
        // A folded node keeps no end of its own: the comparison ends where its tail does.
        const ast::Span span{span_of(n).begin, span_of(*n.children.back()).end};
        bool negated = false;
        size_t first = 0;
        if (!tail.children.empty() && tail.children[0]->is_type<g::not_marker>()) {
            negated = true;
            first = 1;
        }
        if (tail.is_type<g::cmp_tail>() && n.children.size() > 2) {
            // The operands' text as written, parentheses included.
            const Node& op1 = *tail.children[0];
            const Node& chained = *n.children[2];
            const Node& op2 = *chained.children[0];
            // A folded node keeps no end of its own: the chain ends where its last tail does.
            const ast::Span chain{span_of(n).begin, span_of(*n.children.back()).end};
            auto text = [](const char* begin, const char* end) {
                return std::string_view(begin, static_cast<size_t>(end - begin));
            };
            throw ConversionError{
                chain,
                hints::chained_comparison(text(n.m_begin.data, op1.m_begin.data), op1.string_view(),
                                          text(op1.m_end.data, op2.m_begin.data), op2.string_view(),
                                          text(op2.m_end.data, chained.m_end.data))};
        }
        if (tail.is_type<g::cmp_tail>()) {
            const Node& op = *tail.children[0];
            return make(span, ast::Binary{binary_op(op.string_view()), std::move(value),
                                          convert_at(*tail.children[1], depth + 1), span_of(op)});
        }
        if (tail.is_type<g::in_tail>()) {
            ast::InList in{std::move(value), {}, negated};
            const Node& list = *tail.children[first];
            for (const auto& item : list.children)
                in.items.push_back(convert_at(*item, depth + 1));
            return make(span, std::move(in));
        }
        if (tail.is_type<g::between_tail>()) {
            return make(span,
                        ast::Between{std::move(value), convert_at(*tail.children[first], depth + 1),
                                     convert_at(*tail.children[first + 1], depth + 1), negated});
        }
        return make(span, ast::IsNull{std::move(value), negated});
    }

    ast::ExprPtr call(const Node& n, int depth) {
        ast::Call c;
        c.name = std::string(n.children[0]->string_view());
        c.name_span = span_of(*n.children[0]);
        for (size_t i = 1; i < n.children.size(); ++i) {
            const Node& a = *n.children[i];
            ast::Arg arg;
            const Node& head = *a.children[0];
            if (head.is_type<g::named_arg>()) {
                arg.name = std::string(head.children[0]->string_view());
                arg.name_span = span_of(*head.children[0]);
                arg.value = convert_at(*head.children[1], depth + 1);
            } else {
                arg.value = convert_at(head, depth + 1);
            }
            if (a.children.size() > 1)
                arg.where = convert_at(*a.children[1]->children[0], depth + 1);
            c.args.push_back(std::move(arg));
        }
        return make(span_of(n), std::move(c));
    }

    ast::ExprPtr convert_at(const Node& n, int depth) {
        check_depth(n, depth);
        if (n.is_type<g::number_lit>()) return number(n);
        if (n.is_type<g::sq_string>() || n.is_type<g::dq_string>())
            return literal(n, unescape(n.string_view()));
        if (n.is_type<g::true_lit>()) return literal(n, true);
        if (n.is_type<g::false_lit>()) return literal(n, false);
        if (n.is_type<g::null_lit>()) return literal(n, ast::Null{});
        if (n.is_type<g::date_lit>()) {
            auto d = parse_date(n.string_view());
            if (!d) throw ConversionError{span_of(n), "invalid date '" + n.string() + "'"};
            return literal(n, *d);
        }
        if (n.is_type<g::datetime_lit>()) {
            auto t = parse_datetime(n.string_view());
            if (!t) throw ConversionError{span_of(n), "invalid datetime '" + n.string() + "'"};
            return literal(n, *t);
        }
        if (n.is_type<g::duration_lit>()) {
            auto d = parse_duration(n.string_view());
            if (!d)
                throw ConversionError{span_of(n), "duration '" + n.string() + "' is out of range"};
            return literal(n, *d);
        }
        if (n.is_type<g::path>()) {
            ast::Name name;
            for (const auto& part : n.children) {
                name.parts.push_back(part->string());
                name.part_spans.push_back(span_of(*part));
            }
            return make(span_of(n), std::move(name));
        }
        if (n.is_type<g::call>()) return call(n, depth);
        if (n.is_type<g::unary>()) return prefixed(n, ast::UnaryOp::Negate, depth);
        if (n.is_type<g::negation>()) return prefixed(n, ast::UnaryOp::Not, depth);
        if (n.is_type<g::multiplicative>() || n.is_type<g::additive>()) return left_fold(n, depth);
        if (n.is_type<g::conjunction>()) return logical_fold(n, ast::BinaryOp::And, depth);
        if (n.is_type<g::disjunction>()) return logical_fold(n, ast::BinaryOp::Or, depth);
        if (n.is_type<g::comparison>()) return comparison(n, depth);
        // Parentheses: the expression inside, spanning them too, so that the text of what
        // holds it (`not (a or b)`) is whole.
        if (n.is_type<g::paren>() && n.children.size() == 1) {
            ast::ExprPtr inner = convert_at(*n.children[0], depth);
            inner->span = span_of(n);
            return inner;
        }
        // Transparent wrappers (expr) have exactly one child.
        if (n.children.size() == 1) return convert_at(*n.children[0], depth);
        throw ConversionError{span_of(n),
                              "internal error: unexpected parse node " + std::string(n.type)};
    }
};

// Rejects bracket nesting beyond the limit before the recursive parser sees it.
std::optional<ParseIssue> check_nesting(std::string_view text) {
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote) {
            if (c == '\\')
                ++i;
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '\'' || c == '"')
            quote = c;
        else if (c == '(' || c == '[') {
            if (++depth > kMaxBracketNesting) {
                return ParseIssue{{static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1)},
                                  "brackets are nested too deeply (more than " +
                                      std::to_string(kMaxBracketNesting) + " levels)"};
            }
        } else if (c == ')' || c == ']') {
            depth = std::max(0, depth - 1);
        }
    }
    return std::nullopt;
}

// The character at `offset` when it is a multi-byte UTF-8 one that is not part of a name:
// named with its code point, since many are invisible (a no-break space pasted from a
// document) or look like ASCII (typographic quotes). nullopt otherwise.
std::optional<std::string> name_of_character(std::string_view text, size_t offset) {
    const auto lead = static_cast<unsigned char>(text[offset]);
    const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || offset + length > text.size()) return std::nullopt;
    uint32_t code = lead & (0xFF >> (length + 1));
    for (size_t i = 1; i < length; ++i) {
        const auto c = static_cast<unsigned char>(text[offset + i]);
        if ((c & 0xC0) != 0x80) return std::nullopt;
        code = (code << 6) | (c & 0x3F);
    }
    char hex[16];
    std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(code));
    static const std::pair<uint32_t, const char*> kInvisible[] = {
        {0x00A0, "no-break space"},
        {0x2007, "figure space"},
        {0x2009, "thin space"},
        {0x200B, "zero-width space"},
        {0x200C, "zero-width non-joiner"},
        {0x200D, "zero-width joiner"},
        {0x2060, "word joiner"},
        {0x202F, "narrow no-break space"},
        {0xFEFF, "zero-width no-break space (byte-order mark)"}};
    for (const auto& [c, name] : kInvisible)
        if (c == code) return std::string(name) + " (" + hex + ")";
    return "'" + std::string(text.substr(offset, length)) + "' (" + hex + ")";
}

// A short description of the text at `offset`, for "found ..." in parse errors.
std::string describe_found(std::string_view text, size_t offset) {
    while (offset < text.size() && (text[offset] == ' ' || text[offset] == '\t' ||
                                    text[offset] == '\n' || text[offset] == '\r')) {
        ++offset;
    }
    if (offset >= text.size()) return "the end of the expression";
    size_t end = offset;
    if (names::name_char_length(text, offset) > 0) {
        while (end < text.size() && end - offset < 40) {
            const size_t n = names::name_char_length(text, end);
            if (n == 0) break;
            end += n;
        }
    } else if (offset + 1 < text.size() && (text[offset] == '&' || text[offset] == '|') &&
               text[offset + 1] == text[offset]) {
        end = offset + 2;  // && and ||, named whole
    } else if (auto named = name_of_character(text, offset)) {
        return *named;  // a character pasted from a document: named, as it may be invisible
    } else {
        end = offset + 1;
    }
    // Letters of other alphabets are shown as written; control bytes and bytes that are not
    // part of a name (malformed UTF-8 among them) as '?'.
    std::string token;
    for (size_t i = offset; i < end;) {
        const size_t n = names::name_char_length(text, i);
        if (n > 1) {
            token.append(text.substr(i, n));
            i += n;
            continue;
        }
        const auto c = static_cast<unsigned char>(text[i++]);
        token += c < 0x20 || c >= 0x7F ? '?' : static_cast<char>(c);
    }
    return "'" + token + "'";
}

}  // namespace

bool is_keyword(std::string_view word) {
    static constexpr std::string_view kKeywords[] = {"and", "or",   "not",  "in",    "between",
                                                     "is",  "null", "true", "false", "where"};
    for (auto k : kKeywords) {
        if (k == word) return true;
    }
    return false;
}

bool is_identifier(std::string_view s) {
    if (s.empty() || is_keyword(s)) return false;
    pegtl::memory_input input(s.data(), s.size(), "name");
    return pegtl::parse<pegtl::seq<g::identifier, pegtl::eof>>(input);
}

ParseResult parse_expression(std::string_view text) {
    ParseResult result;
    if (text.size() > kMaxExpressionBytes) {
        result.issues.push_back({{0, 1},
                                 "expression is too long (" + std::to_string(text.size()) +
                                     " bytes; the limit is " + std::to_string(kMaxExpressionBytes) +
                                     ")"});
        return result;
    }
    if (auto issue = check_nesting(text)) {
        result.issues.push_back(*issue);
        return result;
    }
    try {
        pegtl::memory_input input(text.data(), text.size(), "expression");
        auto root = pegtl::parse_tree::parse<g::whole, Selector, pegtl::nothing, Control>(input);
        if (!root || root->children.empty()) {
            result.issues.push_back({{0, 1}, "expected an expression"});
            return result;
        }
        result.expr = Converter{}.convert(*root->children[0]);
    } catch (const pegtl::parse_error& e) {
        const auto offset = e.positions().empty() ? 0 : e.positions().front().byte;
        std::string message(e.message());
        const std::string found = describe_found(text, offset);
        if (message.rfind("unexpected text", 0) == 0) {
            message = "unexpected " + found + " after the expression";
        } else if (message.rfind("unterminated", 0) != 0 && message.rfind("'='", 0) != 0) {
            message += ", found " + found;
        }
        size_t at = offset;
        while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at])) &&
               message.find("found the end") == std::string::npos) {
            ++at;
        }
        size_t length = 1;
        if (message.rfind("unterminated", 0) == 0) {
            // Point at the quote that opened the string, up to the end it ran to.
            const char quote = message.back();
            for (size_t i = std::min(offset, text.size()); i-- > 0;) {
                if (text[i] == quote && (i == 0 || text[i - 1] != '\\')) {
                    at = i;
                    length = text.size() - i;
                    break;
                }
            }
        } else if (auto literal = hints::for_literal(text, at)) {
            message += literal->hint;
            at = literal->start;
            length = literal->length;
        } else if (auto hint = hints::for_token(text, at)) {
            message += hint->hint;
            length = hint->length;
        }
        result.issues.push_back(
            {{static_cast<uint32_t>(at), static_cast<uint32_t>(at + length)}, message});
        result.expr.reset();
    } catch (const ConversionError& e) {
        result.issues.push_back({e.span, e.message});
        result.expr.reset();
    }
    return result;
}

}  // namespace strata
