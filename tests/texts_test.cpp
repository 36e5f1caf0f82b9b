// The text limit (kMaxTextBytes) on the path that joins two values at a time: an expression
// typed only at run time (an untyped column) takes it, not the evaluator's chain of joins,
// which tests/lang/texts.yaml holds to the same limit.
#include <doctest/doctest.h>

#include <string>

#include "dsl/types.hpp"
#include "engine/value_ops.hpp"

using namespace strata;
using strata::value_ops::arithmetic;

TEST_CASE("text + gives null past kMaxTextBytes when joined two at a time too") {
    const Value most{intern(std::string(kMaxTextBytes - 1, 'a'))};
    const Value one{intern("é")};  // two bytes
    const Value half{intern(std::string(kMaxTextBytes / 2, 'b'))};
    const Value none{};
    const Value at_limit = arithmetic(ast::BinaryOp::Add, most, Value{intern("z")});
    REQUIRE(std::holds_alternative<Str>(at_limit));
    CHECK(std::get<Str>(at_limit).str().size() == kMaxTextBytes);
    CHECK(is_null(arithmetic(ast::BinaryOp::Add, most, one)));
    CHECK(is_null(arithmetic(ast::BinaryOp::Add, at_limit, Value{intern("")})) == false);
    CHECK(is_null(arithmetic(ast::BinaryOp::Add, half, half)) == false);
    CHECK(is_null(arithmetic(ast::BinaryOp::Add, arithmetic(ast::BinaryOp::Add, half, half),
                             Value{intern("c")})));
    CHECK(is_null(arithmetic(ast::BinaryOp::Add, none, one)));
}
