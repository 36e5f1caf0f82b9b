#include "engine/placement.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "engine/frame_block.hpp"
#include "engine/parallel.hpp"
#include "engine/policy.hpp"

namespace strata {

namespace {

std::string sample_keys(const std::vector<uint32_t>& rows, const Column& keys) {
    std::string out;
    for (size_t i = 0; i < rows.size() && i < 5; ++i)
        out += (i ? ", " : "") + key_value_in_message(keys[rows[i]]);
    if (rows.size() > 5) out += ", …";
    return out;
}

// Every segment condition, general and tactical, in one list (depth first).
void collect_conditions(const std::vector<CompiledSegment>& segs,
                        std::vector<const CompiledSegment*>& out) {
    for (const auto& s : segs) {
        // A shared tactical segment's condition is one job under all its parents.
        const bool listed = std::any_of(out.begin(), out.end(), [&](const CompiledSegment* job) {
            return job->when == s.when;
        });
        if (s.when && !listed) out.push_back(&s);
        collect_conditions(s.tactical, out);
    }
}

size_t job_of(const std::vector<const CompiledSegment*>& jobs, const CompiledSegment* s) {
    return static_cast<size_t>(
        std::find_if(jobs.begin(), jobs.end(),
                     [&](const CompiledSegment* job) { return job->when == s->when; }) -
        jobs.begin());
}

// Marks a shared tactical segment's node until plan_segments gives it its tag.
constexpr size_t kSharedTag = size_t{1} << 62;

// Makes the results of `children` (under `prefix`) and their nodes, depth first.
void flatten_tactical(const std::vector<CompiledSegment>& children, const std::string& prefix,
                      const std::vector<const CompiledSegment*>& jobs,
                      std::vector<SegmentResult>& results, std::vector<TacticalNode>& nodes,
                      std::vector<std::string>& paths) {
    // All siblings first, so that the pointers taken below stay valid.
    results.reserve(children.size());
    for (const auto& child : children) {
        SegmentResult r;
        r.def = child.def;
        r.path = prefix.empty() ? child.def->id : prefix + "/" + child.def->id;
        results.push_back(std::move(r));
    }
    for (size_t k = 0; k < children.size(); ++k) {
        const size_t at = nodes.size();
        // A shared tactical segment's tag is set once every own one has one (plan_segments).
        const size_t tag = children[k].shared ? kSharedTag + *children[k].shared : paths.size();
        nodes.push_back({job_of(jobs, &children[k]), &results[k], tag, 0});
        if (!children[k].shared) paths.push_back(results[k].path);
        flatten_tactical(children[k].tactical, results[k].path, jobs, results[k].tactical, nodes,
                         paths);
        nodes[at].end = nodes.size();
    }
}

// Customers' tag sets, joined with ';' in rule-file order. Customers share few distinct
// sets, so each set is joined once and interned.
class TagTexts {
  public:
    explicit TagTexts(std::vector<std::string> paths)
        : paths_(std::move(paths)), words_((paths_.size() + 63) / 64), none_(intern("")) {}

    size_t words() const { return words_; }

    Str text(const uint64_t* set) {
        bool any = false;
        for (size_t w = 0; w < words_; ++w)
            any = any || set[w] != 0;
        if (!any) return none_;
        auto [it, inserted] = seen_.try_emplace(
            std::string(reinterpret_cast<const char*>(set), words_ * sizeof(uint64_t)));
        if (inserted) {
            std::string joined;
            for (size_t t = 0; t < paths_.size(); ++t) {
                if (set[t / 64] >> (t % 64) & 1) joined += (joined.empty() ? "" : ";") + paths_[t];
            }
            it->second = intern(joined);
        }
        return it->second;
    }

  private:
    std::vector<std::string> paths_;
    size_t words_;
    Str none_;
    std::unordered_map<std::string, Str> seen_;
};

}  // namespace

// Plans `segs` and makes their (empty) results.
SegmentPlan plan_segments(const std::vector<CompiledSegment>& segs,
                          std::vector<SegmentResult>& results) {
    SegmentPlan plan;
    collect_conditions(segs, plan.jobs);
    results.reserve(segs.size());
    for (const auto& seg : segs) {
        SegmentResult r;
        r.def = seg.def;
        r.path = seg.def->id;
        results.push_back(std::move(r));
    }
    plan.tactical.resize(segs.size());
    plan.general_job.assign(segs.size(), plan.jobs.size());
    for (size_t g = 0; g < segs.size(); ++g) {
        flatten_tactical(segs[g].tactical, "", plan.jobs, results[g].tactical, plan.tactical[g],
                         plan.tag_paths);
        if (segs[g].when) plan.general_job[g] = job_of(plan.jobs, &segs[g]);
        plan.segment_ids.push_back(intern(segs[g].def->id));
    }
    // A shared tactical segment is one tag wherever it holds, after every own one, in file
    // order: a customer's tags list their segment's own tactical segments first.
    std::map<size_t, size_t> shared_tags;  // index in the file's list → tag
    std::map<size_t, std::string> shared_paths;
    for (const auto& nodes : plan.tactical) {
        for (const TacticalNode& node : nodes) {
            if (node.tag >= kSharedTag)
                shared_paths.emplace(node.tag - kSharedTag, node.result->path);
        }
    }
    for (const auto& [index, path] : shared_paths) {
        shared_tags[index] = plan.tag_paths.size();
        plan.tag_paths.push_back(path);
    }
    for (auto& nodes : plan.tactical) {
        for (TacticalNode& node : nodes) {
            if (node.tag >= kSharedTag) node.tag = shared_tags.at(node.tag - kSharedTag);
        }
    }
    return plan;
}

// Places every customer in key order, a block at a time: counts and values into
// rep.segments, a membership row each into rep.membership (reserved for all of them, then
// announced to `published` block by block, when it is set).
//
// When the table is in key order (the usual case) a block is a run of table rows and its
// conditions are evaluated for just those rows; otherwise every condition is evaluated once
// for the whole table. Conditions that rank the whole base are always evaluated whole.
Unplaced place_customers(const SegmentPlan& plan, Policy policy, const Frame& frame,
                         const std::vector<uint32_t>& order, const Column& keys,
                         const PackedColumn* value, RunReport& rep,
                         const std::function<void(size_t)>& published) {
    const size_t n = order.size();
    const auto& jobs = plan.jobs;
    bool in_key_order = true;
    for (size_t k = 0; k < n && in_key_order; ++k)
        in_key_order = order[k] == k;
    constexpr size_t kPlaceBlock = 65536;
    const size_t block = in_key_order ? kPlaceBlock : std::max<size_t>(n, 1);
    std::vector<std::vector<Truth>> whole(jobs.size());
    for_each_on_two_threads(jobs.size(), [&](size_t j) {
        if (!in_key_order || !is_row_local(*jobs[j]->when))
            whole[j] = evaluate_truth(*jobs[j]->when, frame);
    });

    // Each block's rows of the columns the block's conditions read, unpacked once.
    std::vector<const bound::Expr*> block_conditions;
    for (size_t j = 0; j < jobs.size(); ++j) {
        if (whole[j].empty()) block_conditions.push_back(jobs[j]->when.get());
    }
    FrameBlock block_frame(block_conditions);

    Unplaced unplaced;
    TagTexts tags(plan.tag_paths);
    std::vector<uint64_t> set(tags.words());
    std::vector<std::vector<Truth>> part(jobs.size());
    std::vector<const Truth*> truth(jobs.size());  // per job: row r's truth at truth[j][r - base]
    rep.membership.reserve(n);
    for (size_t pos = 0; pos < n; pos += block) {
        const size_t count = std::min(block, n - pos);
        const size_t base = in_key_order ? pos : 0;
        // Out of key order every condition was evaluated whole, above.
        const Frame& rows = in_key_order ? block_frame.rows_of(frame, base, count) : frame;
        for_each_on_two_threads(jobs.size(), [&](size_t j) {
            if (!whole[j].empty()) {
                truth[j] = whole[j].data() + base;
            } else {
                part[j] = evaluate_truth(*jobs[j]->when, rows);
                truth[j] = part[j].data();
            }
        });
        for (size_t k = pos; k < pos + count; ++k) {
            const uint32_t row = order[k];
            const size_t local = row - base;
            // The job's truth for this row; `otherwise` (no job) is always true.
            auto truth_of_job = [&](size_t j) {
                return j == jobs.size() ? Truth::True : truth[j][local];
            };
            auto holds_job = [&](size_t j) { return truth_of_job(j) == Truth::True; };
            const size_t general_count = plan.general_job.size();
            const int32_t general = pick_general_segment(
                policy, general_count, [&](size_t g) { return holds_job(plan.general_job[g]); },
                [&](size_t first, size_t g) {
                    unplaced.overlaps[{first, g}].push_back(row);
                });
            // Segments tried for this customer whose condition was unknown, not false.
            for (size_t g = 0; g < general_count && segment_tried(policy, g, general); ++g) {
                if (truth_of_job(plan.general_job[g]) == Truth::Unknown) ++rep.segments[g].unknown;
            }
            if (general < 0) {
                unplaced.none.push_back(row);
                continue;
            }
            const Value row_value = value ? (*value)[row] : Value{};
            const bool has_value = !is_null(row_value);
            const double v = has_value ? as_double(row_value) : 0;
            auto count_in = [&](SegmentResult& r) {
                ++r.count;
                if (has_value) {
                    r.value_total.add(v);
                    ++r.value_count;
                }
            };
            count_in(rep.segments[static_cast<size_t>(general)]);
            std::fill(set.begin(), set.end(), 0);
            const auto& nodes = plan.tactical[static_cast<size_t>(general)];
            for (size_t t = 0; t < nodes.size();) {
                if (!holds_job(nodes[t].job)) {
                    if (truth_of_job(nodes[t].job) == Truth::Unknown) ++nodes[t].result->unknown;
                    t = nodes[t].end;
                    continue;
                }
                count_in(*nodes[t].result);
                set[nodes[t].tag / 64] |= uint64_t{1} << (nodes[t].tag % 64);
                ++t;
            }
            rep.membership.push_back(
                {keys[row], plan.segment_ids[static_cast<size_t>(general)], tags.text(set.data())});
        }
        if (published) published(rep.membership.size());
    }
    return unplaced;
}

// Why the rules could not place everyone, or nullopt when they could.
std::optional<std::string> unplaced_message(const Unplaced& unplaced, Policy policy,
                                            const std::vector<CompiledSegment>& segs,
                                            const Column& keys, bool stored) {
    const bool exclusive = policy == Policy::Exclusive;
    auto customers = [](size_t n) {
        return std::to_string(n) + (n == 1 ? " customer matches" : " customers match");
    };
    if (exclusive && (!unplaced.overlaps.empty() || !unplaced.none.empty())) {
        std::string msg = std::string("policy 'exclusive' does not hold") +
                          (stored ? ", so nothing was stored:" : ":");
        for (const auto& [pair, rows] : unplaced.overlaps) {
            msg += "\n  " + customers(rows.size()) + " both '" + segs[pair.first].def->id +
                   "' and '" + segs[pair.second].def->id + "' (e.g. " + sample_keys(rows, keys) +
                   ")";
        }
        if (!unplaced.none.empty()) {
            msg += "\n  " + customers(unplaced.none.size()) + " no segment (e.g. " +
                   sample_keys(unplaced.none, keys) + ")";
        }
        return msg;
    }
    if (!unplaced.none.empty()) {
        return customers(unplaced.none.size()) + " no general segment (e.g. " +
               sample_keys(unplaced.none, keys) + ")" + (stored ? ", so nothing was stored" : "") +
               "; add a last segment with 'when: otherwise'";
    }
    return std::nullopt;
}

}  // namespace strata
