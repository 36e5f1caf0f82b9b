#include "analysis/partition.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "analysis/domains.hpp"
#include "engine/policy.hpp"

namespace strata {

namespace {

using partition::Model;
using partition::Pred;
using partition::TruthSet;

// A question about one customer: is there one for whom every condition in `must` is true
// and none in `must_not` is? Indexes are into the question's list of predicates.
struct Goal {
    std::vector<const Pred*> preds;
    std::vector<size_t> must;
    std::vector<size_t> must_not;
};

enum class Judgement { Impossible, Certain, Open };

Judgement judge(const Goal& goal, const std::vector<int>& assignment) {
    bool certain = true;
    for (size_t i : goal.must) {
        const TruthSet t = Model::evaluate(*goal.preds[i], assignment);
        if (!(t & partition::kTrue)) return Judgement::Impossible;
        certain = certain && t == partition::kTrue;
    }
    for (size_t i : goal.must_not) {
        const TruthSet t = Model::evaluate(*goal.preds[i], assignment);
        if (t == partition::kTrue) return Judgement::Impossible;
        certain = certain && !(t & partition::kTrue);
    }
    return certain ? Judgement::Certain : Judgement::Open;
}

struct Search {
    enum class Status { Found, None, OverBudget };
    Status status = Status::None;
    std::vector<int> assignment;  // -1: any value
};

// Depth-first over the representatives of the variables the goal reads, pruned as soon as
// the conditions decide the goal either way.
class Searcher {
  public:
    // `pinned`, when given, fixes some variables (>= 0) before the search; it searches the rest.
    Searcher(const Model& model, const Goal& goal, size_t budget,
             const std::vector<int>* pinned = nullptr)
        : model_(model), goal_(goal), budget_(budget) {
        std::set<int> used;
        for (const Pred* p : goal.preds)
            Model::collect_vars(*p, used);
        for (const auto* indexes : {&goal.must, &goal.must_not})
            for (size_t i : *indexes)
                step_nodes_ += Model::node_count(*goal.preds[i]);
        assignment_.assign(model.vars().size(), -1);
        for (int v : used) {
            used_.push_back(v);
            const int fixed = pinned ? (*pinned)[static_cast<size_t>(v)] : -1;
            assignment_[static_cast<size_t>(v)] = fixed;
            if (fixed < 0) vars_.push_back(v);
        }
    }

    Search run() {
        Search s;
        s.status = descend(0);
        if (s.status == Search::Status::Found) {
            minimise();
            s.assignment = assignment_;
        }
        return s;
    }

  private:
    // A decided goal still needs the variables tied to an assigned one (count and latest
    // date of one fact), so that the customer shown can exist.
    bool ties_settled() const {
        for (int v : used_) {
            if (assignment_[static_cast<size_t>(v)] < 0) continue;
            for (int o : model_.linked(v)) {
                if (assignment_[static_cast<size_t>(o)] < 0 &&
                    std::find(used_.begin(), used_.end(), o) != used_.end())
                    return false;
            }
        }
        return true;
    }

    bool decided() const {
        return model_.consistent(assignment_) && ties_settled() &&
               judge(goal_, assignment_) == Judgement::Certain;
    }

    Search::Status descend(size_t k) {
        if (budget_ == 0 || !spend()) return Search::Status::OverBudget;
        --budget_;
        if (!model_.consistent(assignment_)) return Search::Status::None;
        const Judgement j = judge(goal_, assignment_);
        if (j == Judgement::Impossible) return Search::Status::None;
        if (j == Judgement::Certain && ties_settled()) return Search::Status::Found;
        if (k == vars_.size()) return Search::Status::None;
        const int v = vars_[k];
        const size_t reps = model_.vars()[static_cast<size_t>(v)].reps.size();
        for (size_t r = 0; r < reps; ++r) {
            assignment_[static_cast<size_t>(v)] = static_cast<int>(r);
            const auto s = descend(k + 1);
            if (s != Search::Status::None) return s;
        }
        assignment_[static_cast<size_t>(v)] = -1;
        return Search::Status::None;
    }

    // A step's predicate nodes. The search's first kOwnNodes are its own; past them it draws
    // on the budget every search of the model shares. Most questions are cheap, and each gets
    // its answer however many came before it; only the costly ones compete for the rest.
    static constexpr size_t kOwnNodes = 2'000'000;
    bool spend() {
        if (own_nodes_ + step_nodes_ <= kOwnNodes) {
            own_nodes_ += step_nodes_;
            return true;
        }
        return model_.spend(step_nodes_);
    }

    // Frees every variable the finding does not need, so that it shows only what matters.
    void minimise() {
        for (auto it = used_.rbegin(); it != used_.rend(); ++it) {
            const int saved = assignment_[static_cast<size_t>(*it)];
            if (saved < 0) continue;
            assignment_[static_cast<size_t>(*it)] = -1;
            if (!decided()) assignment_[static_cast<size_t>(*it)] = saved;
        }
    }

    const Model& model_;
    const Goal& goal_;
    size_t budget_;
    size_t step_nodes_ = 0;  // the predicate nodes a step evaluates (judge)
    size_t own_nodes_ = 0;   // of kOwnNodes, spent
    std::vector<int> used_;  // the variables the goal reads
    std::vector<int> vars_;  // those of them the search assigns (not pinned)
    std::vector<int> assignment_;
};

Search find(const Model& model, const Goal& goal, size_t budget) {
    return Searcher(model, goal, budget).run();
}

// Whether representative `rep` of an aggregate is its value for a customer without rows of its
// fact table: 0 for a count or a sum, no value for the others.
bool without_rows(const partition::Var& var, int rep) {
    if (var.fact.fact < 0 || rep < 0) return false;
    const partition::Rep& r = var.reps[static_cast<size_t>(rep)];
    const bool counted = var.fact.fn == bound::AggFn::Count ||
                         var.fact.fn == bound::AggFn::CountDistinct ||
                         var.fact.fn == bound::AggFn::Sum;
    return counted ? !r.null && r.number == 0 : r.null;
}

// Every aggregate of a fact table at its value for a customer without rows (where it has a
// representative for it), the other variables free; nullopt when no aggregate has one.
std::optional<std::vector<int>> customer_without_rows(const Model& model) {
    std::vector<int> pinned(model.vars().size(), -1);
    bool any = false;
    for (size_t v = 0; v < model.vars().size(); ++v) {
        const auto& var = model.vars()[v];
        for (size_t r = 0; r < var.reps.size(); ++r) {
            if (!without_rows(var, static_cast<int>(r))) continue;
            pinned[v] = static_cast<int>(r);
            any = true;
            break;
        }
    }
    if (!any) return std::nullopt;
    return pinned;
}

// Why a customer the search found might not exist, or empty when it can.
std::string doubt(const Model& model, const std::vector<int>& assignment, Location& where) {
    const auto& vars = model.vars();
    std::vector<int> assigned;
    for (size_t v = 0; v < vars.size(); ++v) {
        if (assignment[v] < 0) continue;
        const auto& var = vars[v];
        const auto& rep = var.reps[static_cast<size_t>(assignment[v])];
        if (var.kind == partition::VarKind::Opaque && var.typed) {
            where = var.location;
            return "the analysis does not read '" + var.name + "': " + var.unsupported;
        }
        if (rep.guessed)
            return "it needs " + model.show(static_cast<int>(v), assignment[v]) + ", and " +
                   (var.guessed_because.empty()
                        ? "whether '" + var.name + "' can hold a fraction is not known without --db"
                        : var.guessed_because);
        assigned.push_back(static_cast<int>(v));
    }
    // Fields computed from the same column or fact table cannot take every combination.
    for (size_t i = 0; i < assigned.size(); ++i) {
        for (size_t j = i + 1; j < assigned.size(); ++j) {
            const auto& a = vars[static_cast<size_t>(assigned[i])];
            const auto& b = vars[static_cast<size_t>(assigned[j])];
            std::vector<std::string> shared;
            std::set_intersection(a.roots.begin(), a.roots.end(), b.roots.begin(), b.roots.end(),
                                  std::back_inserter(shared));
            if (shared.empty()) continue;
            // Known combinations: no rows at all, or a count with the latest time or a sum.
            auto no_rows = [&](const partition::Var& v, int var) {
                return v.fact.counts_rows &&
                       v.reps[static_cast<size_t>(assignment[static_cast<size_t>(var)])].number ==
                           0;
            };
            auto pairs_with_count = [](const partition::Var& count, const partition::Var& o) {
                return count.fact.counts_rows &&
                       (o.fact.time_extreme || (o.fact.fn == bound::AggFn::Sum && o.fact.whole));
            };
            const bool same_fact = a.fact.fact >= 0 && a.fact.fact == b.fact.fact &&
                                   shared.size() == 1 && a.roots.size() == 1 && b.roots.size() == 1;
            const bool both_without_rows =
                without_rows(a, assignment[static_cast<size_t>(assigned[i])]) &&
                without_rows(b, assignment[static_cast<size_t>(assigned[j])]);
            if (same_fact &&
                (no_rows(a, assigned[i]) || no_rows(b, assigned[j]) || both_without_rows ||
                 pairs_with_count(a, b) || pairs_with_count(b, a)))
                continue;
            return "'" + a.name + "' and '" + b.name + "' both come from " + shared.front() +
                   ", and the analysis does not know which combinations of them a customer "
                   "can have";
        }
    }
    return "";
}

PartitionFinding finding(const Model& model, const std::vector<int>& assignment,
                         PartitionFinding::Kind kind, std::vector<size_t> segments,
                         Location& where) {
    PartitionFinding f;
    f.kind = kind;
    f.segments = std::move(segments);
    f.doubt = doubt(model, assignment, where);
    f.certain = f.doubt.empty();
    for (size_t v = 0; v < model.vars().size(); ++v) {
        if (assignment[v] < 0) continue;
        f.shown.push_back(model.show(static_cast<int>(v), assignment[v]));
        f.values.emplace_back(model.vars()[v].name,
                              model.concrete(static_cast<int>(v), assignment[v]));
    }
    return f;
}

// A customer no condition holds (`gap`): the search's first; or, when the analysis is not sure
// that one can exist, a customer without rows of the fact tables, when no condition holds
// them either and they are sure to be possible.
Search find_gap(const Model& model, const Goal& gap, size_t budget) {
    Search first = find(model, gap, budget);
    Location ignored;
    if (first.status != Search::Status::Found || doubt(model, first.assignment, ignored).empty())
        return first;
    const auto pinned = customer_without_rows(model);
    if (!pinned) return first;
    Search alone = Searcher(model, gap, budget, &*pinned).run();
    if (alone.status == Search::Status::Found && doubt(model, alone.assignment, ignored).empty())
        return alone;
    return first;
}

std::string customer_text(const PartitionFinding& f) {
    if (f.shown.empty()) return "any customer";
    std::string s = "a customer with ";
    for (size_t i = 0; i < f.shown.size(); ++i)
        s += (i == 0 ? "" : i + 1 == f.shown.size() ? " and " : ", ") + f.shown[i];
    return s;
}

struct ProofRun {
    ExclusiveVerdict verdict;
    std::vector<Location> where;  // per finding: where a doubt comes from (may be invalid)
};

ProofRun prove(const CompiledRules& rules, size_t budget) {
    Model model(rules);
    Goal all;
    std::vector<size_t> index;
    for (const auto& seg : rules.segments)
        index.push_back(model.add_condition(*seg.when));
    model.finish();
    for (size_t i : index)
        all.preds.push_back(&model.preds()[i]);
    ProofRun run;
    auto& verdict = run.verdict;
    auto record = [&](const Search& s, PartitionFinding::Kind kind, std::vector<size_t> segs) {
        if (s.status == Search::Status::OverBudget) verdict.over_budget = true;
        if (s.status != Search::Status::Found) return;
        Location where;
        verdict.findings.push_back(finding(model, s.assignment, kind, std::move(segs), where));
        run.where.push_back(where);
    };
    Goal gap = all;
    for (size_t i = 0; i < all.preds.size(); ++i)
        gap.must_not.push_back(i);
    record(find_gap(model, gap, budget), PartitionFinding::Kind::Gap, {});
    for (size_t i = 0; i < all.preds.size(); ++i) {
        for (size_t j = i + 1; j < all.preds.size(); ++j) {
            Goal both = all;
            both.must = {i, j};
            record(find(model, both, budget), PartitionFinding::Kind::Overlap, {i, j});
        }
    }
    verdict.proven = verdict.findings.empty() && !verdict.over_budget;
    verdict.nodes_evaluated = model.nodes_spent();
    return run;
}

void report_exclusive(const CompiledRules& rules, bool strict, Diagnostics& diags) {
    const ProofRun run = prove(rules, kPartitionBudget);
    const std::string& file = rules.source.path();
    const RuleFile& rf = rules.rules;
    const Location level = rf.policy_location.valid() ? rf.policy_location : rf.segments_location;
    auto segment_line = [&](size_t i) {
        return "'" + rf.segments[i].id + "' (line " +
               std::to_string(rf.segments[i].when.location.line) + ")";
    };
    const Severity doubtful = strict ? Severity::Error : Severity::Note;
    std::set<std::string> doubts;  // one note per reason is enough
    for (size_t k = 0; k < run.verdict.findings.size(); ++k) {
        const auto& f = run.verdict.findings[k];
        if (!f.certain && !doubts.insert(f.doubt).second) continue;
        const std::string who = customer_text(f);
        if (f.kind == PartitionFinding::Kind::Gap) {
            if (f.certain)
                diags.error(DiagnosticCode::PartitionGap, file, level,
                            "gap: no segment holds " + who);
            else
                diags.add(doubtful, file, run.where[k].valid() ? run.where[k] : level,
                          "not proven: " + who + " may be in no segment, but " + f.doubt,
                          DiagnosticCode::NotProven);
            continue;
        }
        const size_t a = f.segments[0], b = f.segments[1];
        const Location at = rf.segments[b].when.location;
        if (f.certain)
            diags.error(
                DiagnosticCode::PartitionOverlap, file, at,
                "overlap: " + who + " is in both " + segment_line(a) + " and " + segment_line(b));
        else
            diags.add(doubtful, file, run.where[k].valid() ? run.where[k] : at,
                      "not proven: " + who + " may be in both " + segment_line(a) + " and " +
                          segment_line(b) + ", but " + f.doubt,
                      DiagnosticCode::NotProven);
    }
    if (run.verdict.over_budget)
        diags.add(doubtful, file, level,
                  "not proven: too many combinations of values to check that every customer is "
                  "in exactly one segment",
                  DiagnosticCode::NotProven);
}

// Under first_match without `otherwise`: a customer no segment holds, which makes a run of a
// base holding one fail. A customer the analysis is sure of is a warning; one it is not sure
// can exist is a "not proven" note (an error with --strict), as under `exclusive`.
void report_first_match_gap(const CompiledRules& rules, bool strict, Diagnostics& diags) {
    if (std::any_of(rules.segments.begin(), rules.segments.end(),
                    [](const CompiledSegment& s) { return !s.when; }))
        return;
    Model model(rules);
    std::vector<size_t> index;
    for (const auto& seg : rules.segments)
        index.push_back(model.add_condition(*seg.when));
    model.finish();
    Goal gap;
    for (size_t k = 0; k < index.size(); ++k) {
        gap.preds.push_back(&model.preds()[index[k]]);
        gap.must_not.push_back(k);
    }
    const Search s = find_gap(model, gap, kPartitionBudget);
    if (s.status != Search::Status::Found) return;
    Location where;
    const PartitionFinding f = finding(model, s.assignment, PartitionFinding::Kind::Gap, {}, where);
    const RuleFile& rf = rules.rules;
    const Location level = rf.policy_location.valid() ? rf.policy_location : rf.segments_location;
    if (!f.certain) {
        diags.add(strict ? Severity::Error : Severity::Note, rules.source.path(),
                  where.valid() ? where : level,
                  "not proven: " + customer_text(f) +
                      " may be in no segment, and there is no "
                      "`otherwise`, but " +
                      f.doubt,
                  DiagnosticCode::NotProven);
        return;
    }
    diags.warning(DiagnosticCode::PartitionGap, rules.source.path(), level,
                  "gap: no segment holds " + customer_text(f) +
                      ", and there is no `otherwise`: a run of a base with such a customer "
                      "stores nothing");
}

// The first_match warnings (and, under either policy, segments that can never hold).
void report_reachability(const CompiledRules& rules, Diagnostics& diags) {
    const std::string& file = rules.source.path();
    const RuleFile& rf = rules.rules;
    // Under first_match a segment wins only where every earlier one fails (engine/policy.hpp).
    const bool earlier_decide = earlier_segments_decide(rf.policy);
    Model model(rules);
    // Every condition, general and tactical, by segment.
    std::map<const CompiledSegment*, size_t> index;
    std::function<void(const CompiledSegment&)> add = [&](const CompiledSegment& s) {
        if (s.when) index[&s] = model.add_condition(*s.when);
        for (const auto& t : s.tactical)
            add(t);
    };
    for (const auto& s : rules.segments)
        add(s);
    model.finish();
    auto pred = [&](const CompiledSegment& s) { return &model.preds()[index.at(&s)]; };
    // Questions past the budget are taken to be possible (no warning), and counted: the first
    // such segment and how many there were are said in one note at the end.
    size_t unchecked = 0;
    std::string first_unchecked;
    Location unchecked_at;
    const std::string* asking = nullptr;  // the segment whose question is asked
    Location asking_at;
    auto possible = [&](const Goal& g) {
        const Search s = find(model, g, kPartitionBudget);
        if (s.status == Search::Status::OverBudget && asking) {
            if (unchecked++ == 0) {
                first_unchecked = *asking;
                unchecked_at = asking_at;
            }
            asking = nullptr;  // one count per segment
        }
        return s.status != Search::Status::None;  // over the budget: assume it can
    };
    std::vector<bool> can_win(rules.segments.size(), true);
    for (size_t i = 0; i < rules.segments.size(); ++i) {
        const CompiledSegment& seg = rules.segments[i];
        const SegmentDef& def = *seg.def;
        Goal g;
        for (size_t j = 0; j < i && earlier_decide; ++j) {
            g.preds.push_back(pred(rules.segments[j]));
            g.must_not.push_back(j);
        }
        if (seg.when) {
            g.preds.push_back(pred(seg));
            g.must.push_back(g.preds.size() - 1);
        }
        asking = &def.id;
        asking_at = def.when.location;
        if (possible(g)) continue;
        asking = nullptr;  // decided: the questions below only word its warning
        can_win[i] = false;
        if (!seg.when) {
            diags.warning(DiagnosticCode::CompleteWithoutOtherwise, file, def.when.location,
                          "the segments before '" + def.id + "' already hold every customer, so '" +
                              def.id + "' (when: otherwise) never gets anyone");
            continue;
        }
        Goal alone{{pred(seg)}, {0}, {}};
        if (!possible(alone)) {
            diags.warning(
                DiagnosticCode::ShadowedSegment, file, def.when.location,
                "segment '" + def.id + "' can never hold: no customer makes its condition true");
            continue;
        }
        // The earlier segments that hold every customer it holds, the first kNamed of them
        // (thousands of segments each shadowing the next would name thousands each, and ask
        // as many questions).
        constexpr size_t kNamed = 3;
        std::string by;
        size_t named = 0;
        bool more = false;
        for (size_t j = 0; j < i && !more; ++j) {
            Goal implies{{pred(seg), pred(rules.segments[j])}, {0}, {1}};
            if (possible(implies)) continue;
            if (named++ == kNamed)
                more = true;
            else
                by += (by.empty() ? "'" : ", '") + rf.segments[j].id + "'";
        }
        diags.warning(DiagnosticCode::ShadowedSegment, file, def.when.location,
                      "segment '" + def.id + "' can never win: every customer it holds is " +
                          (by.empty() ? "taken by the segments before it"
                                      : "taken by " + by + (more ? " and others before it" : "")));
    }
    // Tactical segments: inside a parent that can hold someone, can they?
    std::function<void(const CompiledSegment&, Goal, const std::string&)> tactical =
        [&](const CompiledSegment& parent, Goal g, const std::string& parent_id) {
            for (const auto& t : parent.tactical) {
                Goal inner = g;
                inner.preds.push_back(pred(t));
                inner.must.push_back(inner.preds.size() - 1);
                asking = &t.def->id;
                asking_at = t.def->when.location;
                if (!possible(inner)) {
                    diags.warning(DiagnosticCode::ImpossibleTactical, file, t.def->when.location,
                                  "tactical segment '" + t.def->id + "' can never hold inside '" +
                                      parent_id + "': no customer of '" + parent_id +
                                      "' makes its condition true");
                    continue;
                }
                tactical(t, inner, t.def->id);
            }
        };
    for (size_t i = 0; i < rules.segments.size(); ++i) {
        if (!can_win[i]) continue;
        Goal g;
        for (size_t j = 0; j < i && earlier_decide; ++j) {
            g.preds.push_back(pred(rules.segments[j]));
            g.must_not.push_back(j);
        }
        if (rules.segments[i].when) {
            g.preds.push_back(pred(rules.segments[i]));
            g.must.push_back(g.preds.size() - 1);
        }
        tactical(rules.segments[i], g, rules.segments[i].def->id);
    }
    if (unchecked > 0)
        diags.add(Severity::Note, file, unchecked_at,
                  "not checked: whether " +
                      (unchecked == 1 ? "segment '" + first_unchecked + "'"
                                      : std::to_string(unchecked) + " segments (the first '" +
                                            first_unchecked + "')") +
                      " can ever hold or win: too many combinations of values to check, so "
                      "no warning says either way",
                  DiagnosticCode::NotProven);
}

}  // namespace

ExclusiveVerdict prove_exclusive(const CompiledRules& rules, size_t budget) {
    return prove(rules, budget).verdict;
}

void check_partition(const CompiledRules& rules, bool strict, Diagnostics& diags) {
    if (rules.segments.empty()) return;
    if (rules.rules.policy == Policy::Exclusive)
        report_exclusive(rules, strict, diags);
    else
        report_first_match_gap(rules, strict, diags);
    report_reachability(rules, diags);
}

}  // namespace strata
