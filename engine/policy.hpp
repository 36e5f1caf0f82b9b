// The general level's placement rule, in one place: given a customer's truth for each general
// segment, which segment wins, which segments were tried, and when the rules are broken.
//
// - first_match: the customer goes to the first segment whose condition is true; a segment
//   with `when: otherwise` is true for everyone, so it catches whoever is left.
// - exclusive: exactly one segment must be true; a customer in none or in more than one
//   breaks the policy, and the run is refused (nothing is stored).
//
// The run (engine/placement.cpp) places customers with pick_general_segment; what depends on
// the rule without a customer at hand (the rule graph's edges, the static partition analysis)
// asks earlier_segments_decide.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsl/ruleset.hpp"

namespace strata {

// Whether a segment wins only when every segment before it fails: true under first_match, so
// the earlier segments' conditions are part of what decides a later one; false under
// exclusive, where a segment wins when its own condition holds (and the run is refused if
// another one holds too).
constexpr bool earlier_segments_decide(Policy policy) {
    return policy == Policy::FirstMatch;
}

// The winner among `count` general segments for one customer. holds(g) says whether segment
// g's condition is true for the customer (an `otherwise` segment: always); it is asked in
// order, and under first_match not beyond the winner. Returns the winner's index, or -1 when
// no segment holds (under either policy the rules then failed the customer). Under exclusive,
// when more than one segment holds, the first of them is returned and overlap(first, g) is
// called for every later g that holds too: the policy is broken and the run must be refused.
template <typename Holds, typename Overlap>
int32_t pick_general_segment(Policy policy, size_t count, Holds&& holds, Overlap&& overlap) {
    int32_t winner = -1;
    for (size_t g = 0; g < count; ++g) {
        if (!holds(g)) continue;
        if (winner < 0) {
            winner = static_cast<int32_t>(g);
            if (earlier_segments_decide(policy)) break;
        } else {
            overlap(static_cast<size_t>(winner), g);
        }
    }
    return winner;
}

// Whether segment g's condition was tried for a customer whose winner is `winner` (-1: none):
// under first_match the segments up to the winner (all of them when none won); under
// exclusive every segment, since every one must be known to fail but one.
constexpr bool segment_tried(Policy policy, size_t g, int32_t winner) {
    return !earlier_segments_decide(policy) || winner < 0 || g <= static_cast<size_t>(winner);
}

}  // namespace strata
