// libFuzzer target for the front-end: any bytes, as a rule file and as a bare expression,
// must give diagnostics, never a crash, a hang or a leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dsl/compiler.hpp"
#include "dsl/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    strata::Diagnostics diags;
    auto compiled = strata::compile_rules(strata::SourceFile("fuzz.yaml", text), nullptr, diags);
    (void)compiled;
    auto parsed = strata::parse_expression(text);
    if (parsed.expr) (void)strata::ast::to_canonical_string(*parsed.expr);
    return 0;
}
