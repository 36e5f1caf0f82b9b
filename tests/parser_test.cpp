#include <doctest/doctest.h>

#include <tao/pegtl/contrib/analyze.hpp>

#include "dsl/grammar.hpp"
#include "dsl/parser.hpp"

using namespace strata;

namespace {

std::string canonical(const std::string& text) {
    auto r = parse_expression(text);
    if (!r.expr) return "ERROR " + (r.issues.empty() ? std::string("?") : r.issues[0].message);
    return ast::to_canonical_string(*r.expr);
}

ParseIssue first_issue(const std::string& text) {
    auto r = parse_expression(text);
    REQUIRE_FALSE(r.issues.empty());
    return r.issues[0];
}

}  // namespace

TEST_CASE("the grammar has no rules that can loop without consuming input") {
    CHECK(tao::pegtl::analyze<grammar::whole>(-1) == 0);
}

TEST_CASE("precedence runs or < and < not < comparison < + < * < unary minus") {
    CHECK(canonical("a or b and c") == "(a or (b and c))");
    CHECK(canonical("not a and b") == "((not a) and b)");
    CHECK(canonical("not x == 1") == "(not (x == 1))");
    CHECK(canonical("1 + 2 * 3") == "(1 + (2 * 3))");
    CHECK(canonical("(1 + 2) * 3") == "((1 + 2) * 3)");
    CHECK(canonical("-x * 2") == "((-x) * 2)");
    CHECK(canonical("a - b - c") == "((a - b) - c)");
    CHECK(canonical("x between 1 and 5 and y") == "((x between 1 and 5) and y)");
    CHECK(canonical("x not between 1 and 5") == "(x not between 1 and 5)");
    CHECK(canonical("s not in ['a', \"b\"]") == "(s not in ['a', 'b'])");
    CHECK(canonical("x is not null or y is null") == "((x is not null) or (y is null))");
    CHECK(canonical("x <> 1") == "(x != 1)");
}

TEST_CASE("literals: dates before numbers, durations, escapes") {
    CHECK(canonical("2026-11-22") == "2026-11-22");
    CHECK(canonical("2026-11-22T10:00:00") == "2026-11-22T10:00:00");
    CHECK(canonical("d - 30d") == "(d - 30d)");
    CHECK(canonical("6mo + 1y") == "(6mo + 1y)");
    CHECK(canonical("x - 1") == "(x - 1)");
    CHECK(canonical("1.5e3") == "1500.0");
    CHECK(canonical("'it\\'s'") == "'it\\'s'");
    CHECK(canonical("'\\d+'") == "'\\\\d+'");  // unknown escapes keep their backslash
    CHECK(canonical("rfm.r") == "rfm.r");
    CHECK(canonical("count(orders where amount > 100)") == "count(orders where (amount > 100))");
    CHECK(canonical("rfm(recency: a, bins: 5)") == "rfm(recency: a, bins: 5)");
    CHECK(canonical("f()") == "f()");
}

TEST_CASE("parse errors say what was expected, where") {
    auto i = first_issue("plan = 'trial'");
    CHECK(i.message == "'=' is not a comparison; use '==' to compare");
    CHECK(i.span.begin == 5);

    i = first_issue("(a + b");
    CHECK(i.message == "expected ')', found the end of the expression");

    i = first_issue("a +");
    CHECK(i.message == "expected an operand, found the end of the expression");

    i = first_issue("x in (1, 2)");
    CHECK(i.message == "expected '[' to start the list after 'in', found '('");
    CHECK(i.span.begin == 5);

    i = first_issue("'abc");
    CHECK(i.message == "unterminated string: missing closing '");
    // The caret is on the opening quote, the span to the end the string ran to.
    CHECK(i.span.begin == 0);
    CHECK(i.span.end == 4);
    i = first_issue("plan == \"it\\\"s");
    CHECK(i.message == "unterminated string: missing closing \"");
    CHECK(i.span.begin == 8);
    CHECK(i.span.end == 14);

    i = first_issue("a b");
    CHECK(i.message == "unexpected 'b' after the expression");
    CHECK(i.span.begin == 2);

    i = first_issue("2026-02-30");
    CHECK(i.message == "invalid date '2026-02-30'");

    i = first_issue("99999999999999999999");
    CHECK(i.message == "integer literal is out of range");

    i = first_issue("x between 1 or 2");
    CHECK(i.message == "expected 'and' in 'between … and …', found 'or'");

    i = first_issue("");
    CHECK(i.message == "expected an expression, found the end of the expression");
}

TEST_CASE("limits keep hostile input from exhausting the stack") {
    auto i = first_issue(std::string(5000, '(') + "1" + std::string(5000, ')'));
    CHECK(i.message.find("nested too deeply") != std::string::npos);
    CHECK(i.span.begin == kMaxBracketNesting);

    std::string chain = "x";
    for (int k = 0; k < 5000; ++k)
        chain += " + x";
    CHECK(first_issue(chain).message.find("nested too deeply") != std::string::npos);

    std::string nots;
    for (int k = 0; k < 5000; ++k)
        nots += "not ";
    CHECK(first_issue(nots + "x").message.find("nested too deeply") != std::string::npos);

    CHECK(first_issue(std::string(kMaxExpressionBytes + 1, 'x')).message.find("too long") !=
          std::string::npos);

    // Within the limits, deep is fine.
    CHECK(canonical(std::string(50, '(') + "1" + std::string(50, ')')) == "1");
}

TEST_CASE("habits from SQL and spreadsheets get a hint at the token") {
    auto i = first_issue("a > 1 AND b");
    CHECK(i.message == "unexpected 'AND' after the expression; write `and`");
    CHECK(i.span.begin == 6);
    CHECK(i.span.end == 9);

    i = first_issue("a > 1 || b");
    CHECK(i.message == "unexpected '||' after the expression; write `or`");
    CHECK(i.span.begin == 6);
    CHECK(i.span.end == 8);

    i = first_issue("(a && b)");
    CHECK(i.message == "expected ')', found '&&'; write `and`");

    i = first_issue("x IS NULL");
    CHECK(i.message == "unexpected 'IS' after the expression; write `is`");

    // A lower-case word that is no keyword gets no hint.
    CHECK(first_issue("a b").message == "unexpected 'b' after the expression");
}

TEST_CASE("a chained comparison is named, with a rewrite") {
    // `between` includes both ends: offered for <= … <= only (1 < x < 3 leaves out x = 1).
    auto i = first_issue("1 < x < 3");
    CHECK(i.message == "comparisons do not chain: write two comparisons, `1 < x and x < 3`");
    CHECK(i.span.begin == 0);
    CHECK(i.span.end == 9);
    i = first_issue("a and 1 < x <= 3");
    CHECK(i.span.begin == 6);
    CHECK(i.span.end == 16);

    i = first_issue("10 >= (a + b) > 2");
    CHECK(i.message ==
          "comparisons do not chain: write two comparisons, `10 >= (a + b) and (a + b) > 2`");
    i = first_issue("10 >= (a + b) >= 2");
    CHECK(i.message ==
          "comparisons do not chain: write `(a + b) between 2 and 10`, or two comparisons: "
          "`10 >= (a + b) and (a + b) >= 2`");
    i = first_issue("1 <= x <= 3");
    CHECK(i.message ==
          "comparisons do not chain: write `x between 1 and 3`, or two comparisons: "
          "`1 <= x and x <= 3`");

    // Long operands are not repeated in the message.
    i = first_issue("1 < " + std::string(200, 'x') + " < 3");
    CHECK(i.message ==
          "comparisons do not chain: write two comparisons joined by `and`, or `x between a and "
          "b` when both ends are included");

    i = first_issue("a == b != c");
    CHECK(i.message == "comparisons do not chain: write two comparisons, `a == b and b != c`");

    // One comparison inside another's operand is no chain.
    CHECK(canonical("(1 < x) == true") == "((1 < x) == true)");
}

TEST_CASE("a node's span covers the parentheses written around it and its operands") {
    auto text_of = [](const std::string& text) {
        auto r = parse_expression(text);
        REQUIRE(r.expr);
        return text.substr(r.expr->span.begin, r.expr->span.end - r.expr->span.begin);
    };
    CHECK(text_of("recent >= 1 and not (region == 'south')") ==
          "recent >= 1 and not (region == 'south')");
    CHECK(text_of("not (a or b)") == "not (a or b)");
    CHECK(text_of("(a + b) * (c - d)") == "(a + b) * (c - d)");
    CHECK(text_of("((x))") == "((x))");
    CHECK(text_of("  (x > 1)  ") == "(x > 1)");
    auto r = parse_expression("not (a or b)");
    REQUIRE(r.expr);
    const auto& u = std::get<ast::Unary>(r.expr->node);
    CHECK(u.operand->span.begin == 4);  // the operand is `(a or b)`, parentheses included
    CHECK(u.operand->span.end == 12);
}
