// `check`'s warnings for segments nobody reaches (analysis/partition.cpp, report_reachability):
// which earlier segments a shadowed one names, and what it says when the analysis could not
// decide. Files of thousands of segments, each shadowing the next, named every earlier segment
// in every warning (quadratic in questions and text: 2,500 segments took 9 s) and gave no word
// about the segments past the analysis' budget.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "test_support.hpp"

using namespace strata::testing;

namespace {

// `count` first_match segments s0, s1, … with `when: customer_id > i`: each one's customers
// are all in every segment before it. Then an `otherwise`.
std::string ascending(int count) {
    std::string out =
        "ruleset: many\nversion: 1\nsource:\n  customers: customers\n  key: customer_id\n"
        "general:\n  policy: first_match\n  segments:\n";
    for (int i = 0; i < count; ++i)
        out += "    - id: s" + std::to_string(i) + "\n      when: customer_id > " +
               std::to_string(i) + "\n";
    return out + "    - id: rest\n      when: otherwise\n";
}

}  // namespace

TEST_CASE("check names the first three segments that shadow one, then 'and others'") {
    TempDir dir;
    const auto r = run_cli({"check", dir.write("six.yaml", ascending(6))});
    INFO(r.out, r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find("segment 's1' can never win: every customer it holds is taken by 's0'\n") !=
          std::string::npos);
    CHECK(r.out.find("segment 's3' can never win: every customer it holds is taken by 's0', "
                     "'s1', 's2'\n") != std::string::npos);
    CHECK(r.out.find("segment 's5' can never win: every customer it holds is taken by 's0', "
                     "'s1', 's2' and others before it\n") != std::string::npos);
    CHECK(r.out.find("note: not checked: whether") == std::string::npos);  // all decided
}

TEST_CASE("check says how many segments it could not decide, and stays fast on thousands") {
    TempDir dir;
    const auto file = dir.write("many.yaml", ascending(2500));
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_cli({"check", file});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    INFO(r.out.substr(0, 2000));
    CHECK(r.code == 0);
    CHECK(seconds < 30);  // about 0.3 s (9 s before); generous for sanitizer builds
    // The earliest are decided; the shared budget runs out on the rest, which one note counts.
    CHECK(r.out.find("segment 's1' can never win") != std::string::npos);
    const size_t note = r.out.find("note: not checked: whether ");
    REQUIRE(note != std::string::npos);
    CHECK(r.out.find(" segments (the first 's", note) != std::string::npos);
    CHECK(r.out.find("can ever hold or win: too many combinations of values to check, so no "
                     "warning says either way",
                     note) != std::string::npos);
    // No warning names more than three segments.
    CHECK(r.out.find("'s0', 's1', 's2', 's3'") == std::string::npos);
}
