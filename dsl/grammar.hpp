// The expression grammar, one struct per rule. Tiers run loosest first:
// or → and → not → comparison → additive → multiplicative → unary minus → primary.
// Every point of no return is a `must`, with its message in parser.cpp. A rule with a
// message raises wherever it fails, so messages go only on rules used inside `must`
// (the next_* aliases exist for that).
#pragma once

#include <tao/pegtl.hpp>

namespace strata::grammar {

namespace pegtl = tao::pegtl;
using namespace tao::pegtl;

struct ws : star<space> {};
// Names take letters of any alphabet. Outside ASCII every well-formed UTF-8 character counts
// as a letter except the invisible ones that copying from documents and spreadsheets brings
// along (no-break and other spaces, zero-width characters, direction marks, the byte-order
// mark): inside a name they would make two names that look alike differ. Malformed UTF-8
// matches nothing here. dsl/names.hpp answers the same question outside the grammar.
struct invisible_char
    : utf8::ranges<0x85, 0x85, 0xA0, 0xA0, 0xAD, 0xAD, 0x1680, 0x1680, 0x180E, 0x180E, 0x2000,
                   0x200F, 0x2028, 0x202F, 0x205F, 0x2064, 0x3000, 0x3000, 0xFEFF, 0xFEFF> {};
struct other_letter : seq<not_at<invisible_char>, utf8::range<0x80, 0x10FFFF>> {};
struct ident_first : sor<ranges<'a', 'z', 'A', 'Z', '_'>, other_letter> {};
struct ident_other : sor<ranges<'a', 'z', 'A', 'Z', '0', '9', '_'>, other_letter> {};

template <typename Key>
struct keyword : seq<Key, not_at<ident_other>> {};

struct kw_and : keyword<TAO_PEGTL_STRING("and")> {};
struct kw_or : keyword<TAO_PEGTL_STRING("or")> {};
struct kw_not : keyword<TAO_PEGTL_STRING("not")> {};
struct kw_in : keyword<TAO_PEGTL_STRING("in")> {};
struct kw_between : keyword<TAO_PEGTL_STRING("between")> {};
struct kw_is : keyword<TAO_PEGTL_STRING("is")> {};
struct kw_null : keyword<TAO_PEGTL_STRING("null")> {};
struct kw_true : keyword<TAO_PEGTL_STRING("true")> {};
struct kw_false : keyword<TAO_PEGTL_STRING("false")> {};
struct kw_where : keyword<TAO_PEGTL_STRING("where")> {};
struct any_keyword
    : sor<kw_and, kw_or, kw_not, kw_in, kw_between, kw_is, kw_null, kw_true, kw_false, kw_where> {};

struct identifier : seq<not_at<any_keyword>, ident_first, star<ident_other>> {};

// Literals. Datetimes before dates before durations before numbers: they share prefixes.
struct two_digits : rep<2, digit> {};
struct date_digits : seq<rep<4, digit>, one<'-'>, two_digits, one<'-'>, two_digits> {};
struct datetime_lit : seq<date_digits, one<'T'>, two_digits, one<':'>, two_digits,
                          opt<one<':'>, two_digits>, not_at<ident_other>> {};
struct date_lit : seq<date_digits, not_at<ident_other>> {};
struct duration_unit : sor<TAO_PEGTL_STRING("mo"), one<'d', 'w', 'y'>> {};
struct duration_lit : seq<plus<digit>, duration_unit, not_at<ident_other>> {};
struct exponent : seq<one<'e', 'E'>, opt<one<'+', '-'>>, plus<digit>> {};
struct number_lit
    : seq<plus<digit>, opt<one<'.'>, plus<digit>>, opt<exponent>, not_at<ident_other>> {};
struct bad_number_suffix : seq<plus<digit>, plus<ident_other>> {};

// \\ \' \" \n \t \r \0 are escapes; any other backslash pair is kept as written, so
// regular expressions such as '\d+' read naturally.
struct escape : seq<one<'\\'>, any> {};
struct sq_body : until<one<'\''>, sor<escape, not_one<'\\'>>> {};
struct dq_body : until<one<'"'>, sor<escape, not_one<'\\'>>> {};
struct sq_string : if_must<one<'\''>, sq_body> {};
struct dq_string : if_must<one<'"'>, dq_body> {};
struct string_lit : sor<sq_string, dq_string> {};

struct true_lit : seq<kw_true> {};
struct false_lit : seq<kw_false> {};
struct null_lit : seq<kw_null> {};

struct expr;
struct expected_expr : seq<expr> {};

// Paths: `plan`, `rfm.r`, `orders.amount`.
struct path_part : seq<identifier> {};
struct path_tail_part : seq<identifier> {};
struct path : seq<path_part, star<one<'.'>, must<path_tail_part>>> {};

// Calls: `f(a, b)`, `rfm(recency: r, bins: 5)`, `count(orders where amount > 10)`.
struct arg_name : seq<identifier> {};
struct named_arg : seq<arg_name, ws, one<':'>, not_at<one<':'>>, ws, must<expected_expr>> {};
struct where_clause : if_must<kw_where, ws, expected_expr> {};
struct arg : seq<sor<named_arg, expr>, opt<ws, where_clause>> {};
struct close_call : one<')'> {};
struct next_arg : seq<arg> {};
struct call_args : seq<opt<arg, star<ws, one<','>, ws, must<next_arg>>>, ws, must<close_call>> {};
struct function_name : seq<identifier> {};
struct call : seq<function_name, ws, one<'('>, ws, must<call_args>> {};

struct close_paren : one<')'> {};
struct paren : if_must<one<'('>, ws, expected_expr, ws, close_paren> {};

struct primary : sor<paren, datetime_lit, date_lit, duration_lit, number_lit, string_lit, true_lit,
                     false_lit, null_lit, call, path> {};
struct expected_operand : seq<primary> {};

struct negate_op : one<'-'> {};
struct unary : sor<seq<plus<negate_op, ws>, must<expected_operand>>, primary> {};

struct mul_op : one<'*', '/', '%'> {};
struct next_factor : seq<unary> {};
struct multiplicative : seq<unary, star<ws, mul_op, ws, must<next_factor>>> {};

struct add_op : one<'+', '-'> {};
struct next_term : seq<multiplicative> {};
struct additive : seq<multiplicative, star<ws, add_op, ws, must<next_term>>> {};

// `=` alone is a common slip for `==`; it gets its own message.
struct single_equals : seq<one<'='>, not_at<one<'='>>> {};
struct cmp_op : sor<TAO_PEGTL_STRING("=="), TAO_PEGTL_STRING("!="), TAO_PEGTL_STRING("<="),
                    TAO_PEGTL_STRING(">="), TAO_PEGTL_STRING("<>"), one<'<'>, one<'>'>> {};
struct cmp_rhs : seq<additive> {};
struct cmp_tail : seq<cmp_op, ws, must<cmp_rhs>> {};
struct not_marker : seq<kw_not> {};
struct close_list : one<']'> {};
struct list_items
    : seq<opt<expr, star<ws, one<','>, ws, must<expected_expr>>>, ws, must<close_list>> {};
struct list_lit : if_must<one<'['>, ws, list_items> {};
struct in_tail : seq<opt<not_marker, ws>, kw_in, ws, must<list_lit>> {};
struct between_and : seq<kw_and> {};
struct between_tail : seq<opt<not_marker, ws>, kw_between, ws, must<cmp_rhs>, ws, must<between_and>,
                          ws, must<cmp_rhs>> {};
struct is_null_word : seq<kw_null> {};
struct is_tail : seq<kw_is, ws, opt<not_marker, ws>, must<is_null_word>> {};
struct misplaced_equals : seq<single_equals> {};
struct equals_slip : seq<at<single_equals>, raise<misplaced_equals>> {};
// `1 < x < 3` parses so that the parser can name it as a chain and suggest a rewrite.
struct chained_tail : seq<cmp_op, ws, must<cmp_rhs>> {};
struct comparison : seq<additive, opt<ws, sor<seq<cmp_tail, star<ws, chained_tail>>, in_tail,
                                              between_tail, is_tail, equals_slip>>> {};

struct not_op : seq<kw_not> {};
struct negation : seq<star<not_op, ws>, comparison> {};
struct next_negation : seq<negation> {};
struct conjunction : seq<negation, star<ws, kw_and, ws, must<next_negation>>> {};
struct next_conjunction : seq<conjunction> {};
struct disjunction : seq<conjunction, star<ws, kw_or, ws, must<next_conjunction>>> {};
struct expr : seq<disjunction> {};

struct end_of_expression : eof {};
struct whole : seq<ws, must<expected_expr>, ws, must<end_of_expression>> {};

}  // namespace strata::grammar
