// Placement: every customer into exactly one general segment (by the rule file's policy)
// and the tactical subsegments that hold inside it, a block of customers at a time, with the
// counts and values each segment reports.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/run.hpp"

namespace strata {

// A tactical subsegment as rows walk them: depth first, in rule-file order, each knowing
// where its subtree ends, so a row that fails a condition skips the children too.
struct TacticalNode {
    size_t job;             // its condition, in the list of condition jobs
    SegmentResult* result;  // where its counts go
    size_t tag;             // its bit in a customer's tag set: an own tactical segment's is its
                            // depth-first index; a shared one has one tag under every parent,
                            // after all own ones, in file order
    size_t end;             // the node after its subtree
};

// The segment tree as placement walks it, made once per run.
struct SegmentPlan {
    std::vector<const CompiledSegment*> jobs;         // every condition, depth first
    std::vector<size_t> general_job;                  // per general segment; jobs.size(): otherwise
    std::vector<std::vector<TacticalNode>> tactical;  // per general segment, depth first
    std::vector<Str> segment_ids;                     // per general segment
    std::vector<std::string> tag_paths;               // per tactical segment, by its tag
};

// Plans `segs` and makes their (empty) results.
SegmentPlan plan_segments(const std::vector<CompiledSegment>& segs,
                          std::vector<SegmentResult>& results);

// Customers placement could not place: under `exclusive`, those in more than one segment
// (by pair of segments) and those in none; under `first_match`, those no segment matched.
// Rows in key order.
struct Unplaced {
    std::map<std::pair<size_t, size_t>, std::vector<uint32_t>> overlaps;
    std::vector<uint32_t> none;
};

// Places every customer in key order, a block at a time, by the policy (engine/policy.hpp):
// counts, values and unknowns into rep.segments, a membership row each into rep.membership
// (reserved for all of them, then announced to `published` block by block, when it is set).
// A segment's `unknown` counts the customers its condition was tried on and found unknown
// (null), not false: for a general segment the customers policy's segment_tried says tried
// it, for a tactical one its parent's customers.
//
// When the table is in key order (the usual case) a block is a run of table rows and its
// conditions are evaluated for just those rows; otherwise every condition is evaluated once
// for the whole table. Conditions that rank the whole base are always evaluated whole.
Unplaced place_customers(const SegmentPlan& plan, Policy policy, const Frame& frame,
                         const std::vector<uint32_t>& order, const Column& keys,
                         const PackedColumn* value, RunReport& rep,
                         const std::function<void(size_t)>& published);

// Why the rules could not place everyone, or nullopt when they could. `stored`: the caller
// would have stored the placement (a run), so the message says nothing was; a dry run, diff,
// explain or a report store nothing anyway.
std::optional<std::string> unplaced_message(const Unplaced& unplaced, Policy policy,
                                            const std::vector<CompiledSegment>& segs,
                                            const Column& keys, bool stored);

}  // namespace strata
