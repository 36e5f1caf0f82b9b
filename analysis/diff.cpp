#include "analysis/diff.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "engine/json.hpp"
#include "engine/stays.hpp"
#include "engine/store.hpp"
#include "engine/triggers.hpp"

namespace strata {

namespace {

constexpr size_t kNoSegment = std::numeric_limits<size_t>::max();

// Holds one snapshot of the customer database over both evaluations.
//
// Each evaluation reads inside a read transaction of its own (execute_run), on the connection
// it is given and on extra read-only ones for parts of the tables. A writer could commit
// between the two evaluations, so the guard holds one more read transaction, on a connection of
// its own, from before the first evaluation to after the second. In SQLite's default
// rollback-journal mode the shared lock of that transaction keeps every other connection from
// committing, so both evaluations (and all their connections) read the same committed data;
// a writer waits, or gives up with "database is locked". In WAL mode readers do not hold
// writers back; there the guard notices a commit instead: PRAGMA data_version of the data
// connection changes when any other connection has committed, and the diff is refused.
class SnapshotGuard {
  public:
    SnapshotGuard(SQLite::Database& data, RunError& error) : data_(data) {
        StoreError open_error;
        holder_ = open_read_only(data.getFilename(), open_error);
        if (!holder_) {
            error.message = open_error.message;
            return;
        }
        try {
            hold_.emplace(*holder_);  // BEGIN: deferred, so the read below takes the lock
            holder_->execAndGet("SELECT count(*) FROM sqlite_schema");
            version_ = data_version();
        } catch (const SQLite::Exception& e) {
            error.message = "cannot read '" + data.getFilename() + "' for a snapshot: " + e.what();
            holder_.reset();
        }
    }
    bool held() const { return holder_ != nullptr; }
    // Whether another connection committed since the guard began.
    bool changed() { return data_version() != version_; }

  private:
    int64_t data_version() { return data_.execAndGet("PRAGMA data_version").getInt64(); }

    SQLite::Database& data_;
    std::unique_ptr<SQLite::Database> holder_;
    std::optional<SQLite::Transaction> hold_;  // rolled back (a read: nothing to undo) at the end
    int64_t version_ = 0;
};

std::vector<std::string> split_paths(const Str& text) {
    std::vector<std::string> paths;
    if (!text.p) return paths;
    const std::string& s = *text.p;
    size_t from = 0;
    while (from < s.size()) {
        const size_t end = std::min(s.find(';', from), s.size());
        paths.push_back(s.substr(from, end - from));
        from = end + 1;
    }
    return paths;
}

// The old file's placement as the open stays a run of it would have left: the "before" of
// the new file's triggers.
std::vector<OpenPlacement> as_open_placements(const std::vector<MembershipRow>& rows) {
    std::vector<OpenPlacement> out;
    out.reserve(rows.size());
    for (const MembershipRow& row : rows) {
        OpenPlacement p;
        p.key = row.key;
        p.general = row.segment;
        p.tactical_text = row.tactical;
        for (const std::string& path : split_paths(row.tactical))
            p.tactical.push_back({intern(path), 0, 0});
        out.push_back(std::move(p));
    }
    return out;
}

// A key as one text, integers and texts apart.
std::string key_text(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return "i" + std::to_string(*i);
    if (const auto* s = std::get_if<Str>(&key)) return "t" + s->str();
    return "v" + format_value(key);
}

}  // namespace

std::optional<std::string> same_version_other_content(const CompiledRules& old_rules,
                                                      const std::string& old_sha256,
                                                      const CompiledRules& new_rules,
                                                      const std::string& new_sha256) {
    const RuleFile& a = old_rules.rules;
    const RuleFile& b = new_rules.rules;
    if (a.ruleset != b.ruleset || a.version != b.version || old_sha256 == new_sha256)
        return std::nullopt;
    return "both files are '" + b.ruleset + "' version " + std::to_string(b.version) +
           " with other content; bump `version` in the new file";
}

void mark_triggers_baseline(RulesDiff& diff) {
    diff.triggers_baseline = true;
    for (TriggerImpact& t : diff.triggers)
        t = TriggerImpact{t.id, t.on, 0, 0, 0, 0, 0, {}};
}

namespace {

// What an expression reads, by name: lets, facts (through aggregates) and customer columns,
// directly or through the lets and aggregates it reads.
struct NamesRead {
    std::set<std::string> lets, facts, columns;
};

void names_read(const bound::Program& program, const bound::Expr& e, std::set<int>& lets_seen,
                NamesRead& out) {
    if (const auto* l = std::get_if<bound::LetRef>(&e.node)) {
        const bound::Let& let = program.lets.at(static_cast<size_t>(l->index));
        out.lets.insert(let.name);
        if (lets_seen.insert(l->index).second) names_read(program, *let.expr, lets_seen, out);
        return;
    }
    if (const auto* c = std::get_if<bound::CustomerColumn>(&e.node)) {
        out.columns.insert(program.columns.at(static_cast<size_t>(c->slot)).name);
        return;
    }
    if (const auto* a = std::get_if<bound::AggregateRef>(&e.node)) {
        const bound::Aggregate& agg = program.aggregates.at(static_cast<size_t>(a->index));
        out.facts.insert(program.facts.at(static_cast<size_t>(agg.fact)).name);
        if (agg.value) names_read(program, *agg.value, lets_seen, out);
        if (agg.where) names_read(program, *agg.where, lets_seen, out);
        return;
    }
    bound::for_each_operand(
        e, [&](const bound::Expr& operand) { names_read(program, operand, lets_seen, out); });
}

void names_read(const CompiledRules& rules, const bound::Expr* when, NamesRead& out) {
    std::set<int> lets_seen;
    if (when) names_read(rules.program, *when, lets_seen, out);
}

// Whether a trigger's `when`, written alike in both files (`old_when` bound in old_rules,
// `new_when` in new_rules), means the same: every let and fact either file's reads has the
// same definition in both (a let gone from one file reads a column or the stored state
// there), and so has the customer source, for the columns they read.
bool same_meaning(const CompiledRules& old_rules, const bound::Expr* old_when,
                  const CompiledRules& new_rules, const bound::Expr* new_when,
                  const std::set<std::string>& changed_lets,
                  const std::set<std::string>& changed_facts) {
    if (!old_when && !new_when) return true;
    NamesRead read;
    names_read(old_rules, old_when, read);
    names_read(new_rules, new_when, read);
    if (!same_source_definition(old_rules.rules, new_rules.rules, read.columns)) return false;
    for (const std::string& let : read.lets)
        if (changed_lets.count(let)) return false;
    for (const std::string& fact : read.facts)
        if (changed_facts.count(fact)) return false;
    return true;
}

}  // namespace

std::vector<char> unchanged_triggers(const CompiledRules& old_rules,
                                     const CompiledRules& new_rules) {
    std::vector<char> out;
    const std::set<std::string> lets = changed_lets(old_rules.rules, new_rules.rules);
    const std::set<std::string> facts = changed_facts(old_rules.rules, new_rules.rules);
    for (const CompiledTrigger& t : new_rules.triggers) {
        bool same = false;
        for (const CompiledTrigger& o : old_rules.triggers) {
            if (o.def->id == t.def->id && same_trigger_definition(*o.def, *t.def))
                same = same_meaning(old_rules, o.when.get(), new_rules, t.when.get(), lets, facts);
        }
        out.push_back(same);
    }
    return out;
}

std::vector<TriggerImpact> trigger_impacts(
    const CompiledRules& rules, const Firing& with_flag, const Firing& without_flag, size_t sample,
    const std::vector<char>& unchanged,
    const std::function<bool(const OutboxRow&)>& already_enqueued) {
    std::vector<TriggerImpact> out;
    std::vector<std::unordered_set<std::string>> anyway(rules.triggers.size());
    for (size_t r = 0; r < without_flag.rows.size(); ++r) {
        const OutboxRow& row = without_flag.rows[r];
        const size_t t = without_flag.row_trigger[r];
        if (row.action == 0 && t < unchanged.size() && unchanged[t])
            anyway[t].insert(key_text(row.customer_key));
    }
    for (size_t t = 0; t < rules.triggers.size(); ++t) {
        const TriggerCounts& with = with_flag.counts[t];
        const TriggerCounts& without = without_flag.counts[t];
        TriggerImpact impact;
        impact.id = with.id;
        impact.on = with.on;
        const bool same = t < unchanged.size() && unchanged[t];
        impact.cooled_down = !same ? with.cooled_down
                             : with.cooled_down > without.cooled_down
                                 ? with.cooled_down - without.cooled_down
                                 : 0;
        out.push_back(std::move(impact));
    }
    for (size_t r = 0; r < with_flag.rows.size(); ++r) {
        const OutboxRow& row = with_flag.rows[r];
        const size_t t = with_flag.row_trigger[r];
        if (row.action != 0 || anyway[t].count(key_text(row.customer_key))) continue;
        if (already_enqueued && already_enqueued(row)) continue;
        TriggerImpact& impact = out[t];
        ++impact.customers;
        ++(row.status == "pending"   ? impact.would_send
           : row.status == "holdout" ? impact.held_out
                                     : impact.capped);
        if (impact.sample.size() < sample) impact.sample.push_back(row.customer_key);
    }
    return out;
}

namespace {

// The new file's triggers fired against the old file's placement, with and without
// fire_on_rule_change (trigger_impacts above counts the difference).
// Whether the state holds a run of `ruleset`, found as a run finds the run before it (its
// next run is then not a baseline).
bool has_stored_run(SQLite::Database* state, const std::string& ruleset) {
    if (!state || !state->tableExists("strata_runs")) return false;
    StoreError error;
    return find_run(*state, ruleset, std::nullopt, error).has_value();
}

// Whether an action is in the state's outbox already.
std::function<bool(const OutboxRow&)> outbox_lookup(SQLite::Database* state) {
    if (!state || !state->tableExists("strata_outbox")) return {};
    auto enqueued = std::make_shared<EnqueuedActions>(*state);
    return [enqueued](const OutboxRow& row) { return enqueued->contains(row); };
}

std::vector<TriggerImpact> embedded_trigger_impacts(
    const CompiledRules& old_rules, const CompiledRules& rules, const Frame& frame,
    const std::vector<uint32_t>& order, const RunReport& report,
    const std::vector<MembershipRow>& old_membership, SQLite::Database* state, size_t sample) {
    if (rules.triggers.empty()) return {};
    const std::vector<OpenPlacement> before = as_open_placements(old_membership);
    FiringInput in;
    in.rules = &rules;
    in.frame = &frame;
    in.order = &order;
    in.membership = &report.membership;
    in.before = &before;
    in.cause = FiringCause::RuleChange;
    in.as_of = report.as_of;
    in.history = state;
    in.fire_on_rule_change = true;
    const Firing with_flag = fire_triggers(in);
    in.fire_on_rule_change = false;
    const Firing without_flag = fire_triggers(in);
    return trigger_impacts(rules, with_flag, without_flag, sample,
                           unchanged_triggers(old_rules, rules), outbox_lookup(state));
}

// Every tactical path of a report with its count, depth first. A shared tactical segment is
// one path, counted over every general segment it applies inside.
void tactical_counts(const std::vector<SegmentResult>& results,
                     std::vector<std::pair<std::string, size_t>>& out) {
    for (const SegmentResult& r : results) {
        auto same =
            std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == r.path; });
        if (same != out.end())
            same->second += r.count;
        else
            out.push_back({r.path, r.count});
        tactical_counts(r.tactical, out);
    }
}

std::optional<RunReport> evaluate(const CompiledRules& rules, const std::string& sha256,
                                  SQLite::Database& data, SQLite::Database* state,
                                  const DiffOptions& options, RunOptions run_options,
                                  RunError& error) {
    run_options.as_of = options.as_of;
    run_options.dry_run = true;
    run_options.rules_path = rules.source.path();
    run_options.rules_sha256 = sha256;
    run_options.progress = options.progress;
    std::optional<RunReport> report;
    try {
        report = execute_run(rules, data, state, run_options, error);
    } catch (const SQLite::Exception& e) {
        error.message =
            "cannot read earlier actions from table 'strata_outbox': " + std::string(e.what());
        error.rule_problem = false;
        return std::nullopt;
    }
    if (!report) error.message = rules.source.path() + ": " + error.message;
    return report;
}

// Counts the customers by how each file places them: the moves between general segments, the
// tactical paths entered and left. Customers come one at a time (an embedded evaluation) or in
// groups placed alike (a warehouse's counts); a side without a segment is a customer that file
// does not place.
class PlacementPairs {
  public:
    PlacementPairs(const RunReport& before, const RunReport& after, size_t sample, RulesDiff& diff)
        : sample_(sample), diff_(diff) {
        for (size_t i = 0; i < before.segments.size(); ++i)
            old_index_.emplace(intern(before.segments[i].def->id).p, i);
        for (size_t i = 0; i < after.segments.size(); ++i)
            new_index_.emplace(intern(after.segments[i].def->id).p, i);
    }

    // REQUIRES: the segments are the reports' (interned); `keys` the group's first keys in key
    // order (at most the sample's number are kept).
    void add(const Str* old_segment, const Str* old_tactical, const Str* new_segment,
             const Str* new_tactical, size_t customers, const Value* keys, size_t key_count) {
        const size_t from = old_segment ? old_index_.at(old_segment->p) : kNoSegment;
        const size_t to = new_segment ? new_index_.at(new_segment->p) : kNoSegment;
        GeneralMove& m = moves_[{from, to}];
        if (m.count == 0) {
            m.from = old_segment ? old_segment->str() : "";
            m.to = new_segment ? new_segment->str() : "";
        }
        m.count += customers;
        if (!old_segment || !new_segment || old_segment->str() != new_segment->str()) {
            diff_.moved += customers;
            for (size_t k = 0; k < key_count && k < sample_; ++k)
                m.sample.push_back(keys[k]);
        }
        const bool same_tactical =
            old_tactical && new_tactical && old_tactical->p == new_tactical->p;
        if (!same_tactical) {
            const auto& was = paths_of(old_tactical);
            const auto& is = paths_of(new_tactical);
            for (const std::string& p : is) {
                if (std::find(was.begin(), was.end(), p) == was.end())
                    tactical_moves_[p].first += customers;
            }
            for (const std::string& p : was) {
                if (std::find(is.begin(), is.end(), p) == is.end())
                    tactical_moves_[p].second += customers;
            }
        }
        diff_.customers += customers;
    }

    // The matrix, the segment counts of both reports and the tactical paths' changes.
    void finish(const RunReport& before, const RunReport& after) {
        for (auto& [pair, move] : moves_) {
            // Groups of one move arrive in any order: the sample is the first keys overall.
            std::stable_sort(move.sample.begin(), move.sample.end(),
                             [](const Value& x, const Value& y) { return compare_keys(x, y) < 0; });
            if (move.sample.size() > sample_) move.sample.resize(sample_);
            diff_.matrix.push_back(std::move(move));
        }
        for (const SegmentResult& r : after.segments) {
            auto it = old_index_.find(intern(r.def->id).p);
            diff_.segments.push_back(
                {r.def->id,
                 it == old_index_.end() ? std::nullopt
                                        : std::optional<size_t>(before.segments[it->second].count),
                 r.count});
        }
        for (const SegmentResult& r : before.segments) {
            if (!new_index_.count(intern(r.def->id).p))
                diff_.segments.push_back({r.def->id, r.count, std::nullopt});
        }
        std::vector<std::pair<std::string, size_t>> old_paths, new_paths;
        for (const SegmentResult& r : before.segments)
            tactical_counts(r.tactical, old_paths);
        for (const SegmentResult& r : after.segments)
            tactical_counts(r.tactical, new_paths);
        auto find = [](const std::vector<std::pair<std::string, size_t>>& v,
                       const std::string& path) {
            auto it =
                std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.first == path; });
            return it == v.end() ? std::nullopt : std::optional<size_t>(it->second);
        };
        auto add_tactical = [&](const std::string& path) {
            const auto [entered, left] = tactical_moves_[path];
            diff_.tactical.push_back(
                {path, find(old_paths, path), find(new_paths, path), entered, left});
            diff_.tactical_entered += entered;
            diff_.tactical_left += left;
        };
        for (const auto& [path, n] : new_paths)
            add_tactical(path);
        for (const auto& [path, n] : old_paths) {
            if (!find(new_paths, path)) add_tactical(path);
        }
    }

  private:
    const std::vector<std::string>& paths_of(const Str* tactical) {
        static const std::vector<std::string> none;
        if (!tactical) return none;
        auto it = paths_cache_.find(tactical->p);
        if (it == paths_cache_.end())
            it = paths_cache_.emplace(tactical->p, split_paths(*tactical)).first;
        return it->second;
    }

    size_t sample_;
    RulesDiff& diff_;
    std::unordered_map<const std::string*, size_t> old_index_, new_index_;
    std::map<std::pair<size_t, size_t>, GeneralMove> moves_;
    std::map<std::string, std::pair<size_t, size_t>> tactical_moves_;  // path → entered, left
    std::unordered_map<const std::string*, std::vector<std::string>> paths_cache_;
};

// Compares the two placements customer by customer (both in key order).
void compare_placements(const RunReport& before, const RunReport& after, size_t sample,
                        RulesDiff& diff) {
    PlacementPairs pairs(before, after, sample, diff);
    auto count = [&](const MembershipRow* o, const MembershipRow* n) {
        const Value& key = o ? o->key : n->key;
        pairs.add(o ? &o->segment : nullptr, o ? &o->tactical : nullptr, n ? &n->segment : nullptr,
                  n ? &n->tactical : nullptr, 1, &key, 1);
    };
    const auto& a = before.membership;
    const auto& b = after.membership;
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        const int c = i == a.size() ? 1 : j == b.size() ? -1 : compare_keys(a[i].key, b[j].key);
        if (c == 0)
            count(&a[i++], &b[j++]);
        else if (c < 0)
            count(&a[i++], nullptr);
        else
            count(nullptr, &b[j++]);
    }
    pairs.finish(before, after);
}

// What both ways of diffing say first: the two files and what changed in their definitions.
RulesDiff diff_header(const CompiledRules& old_rules, const std::string& old_sha256,
                      const CompiledRules& new_rules, const std::string& new_sha256, Date as_of) {
    RulesDiff diff;
    diff.old_ruleset = old_rules.rules.ruleset;
    diff.new_ruleset = new_rules.rules.ruleset;
    diff.old_version = old_rules.rules.version;
    diff.new_version = new_rules.rules.version;
    diff.old_sha256 = old_sha256;
    diff.new_sha256 = new_sha256;
    diff.as_of = as_of;
    diff.definitions = diff_definitions(old_rules.rules, new_rules.rules);
    return diff;
}

}  // namespace

std::optional<Date> old_file_as_of(bool flag, const RuleFile& old_file, const RuleFile& new_file,
                                   std::optional<std::string>& note) {
    note.reset();
    if (flag || new_file.as_of || !old_file.as_of) return std::nullopt;
    // A plan at another day than the apply's, unless the reader knows it.
    note = "as_of " + format_date(*old_file.as_of) +
           " is the old file's; the new file sets none, so a run of it without --as-of "
           "evaluates at today (UTC): pass --as-of to see that day";
    return old_file.as_of;
}

std::vector<std::string> stored_state_notes(const CompiledRules& old_rules, bool old_has_run,
                                            const CompiledRules& new_rules, bool new_has_run,
                                            const std::string& where, const std::string& advice) {
    std::vector<std::string> notes;
    const bool old_needs = old_rules.program.reads_stored_state() && !old_has_run;
    const bool new_needs = new_rules.program.reads_stored_state() && !new_has_run;
    auto note = [&](const std::string& ruleset, const char* files) {
        notes.push_back("ruleset '" + ruleset + "' has no run in " + where +
                        ", so previous_segment, segment_since and days_in_segment are null for "
                        "every customer under " +
                        files + "; " + advice);
    };
    if (old_needs && new_needs && old_rules.rules.ruleset == new_rules.rules.ruleset) {
        note(new_rules.rules.ruleset, "both files");
    } else {
        if (old_needs) note(old_rules.rules.ruleset, "the old file");
        if (new_needs) note(new_rules.rules.ruleset, "the new file");
    }
    return notes;
}

std::optional<RulesDiff> diff_rules(const CompiledRules& old_rules, const std::string& old_sha256,
                                    const CompiledRules& new_rules, const std::string& new_sha256,
                                    SQLite::Database& data, SQLite::Database* state,
                                    const DiffOptions& options, RunError& error) {
    RulesDiff diff = diff_header(old_rules, old_sha256, new_rules, new_sha256, options.as_of);
    SnapshotGuard snapshot(data, error);
    if (!snapshot.held()) return std::nullopt;
    diff.notes = stored_state_notes(old_rules, has_stored_run(state, old_rules.rules.ruleset),
                                    new_rules, has_stored_run(state, new_rules.rules.ruleset),
                                    "the state", "give --state the file its runs are stored in");
    const std::optional<RunReport> before =
        evaluate(old_rules, old_sha256, data, state, options, RunOptions{}, error);
    if (!before) return std::nullopt;
    if (options.between_evaluations) options.between_evaluations();
    RunOptions new_options;
    new_options.on_placed = [&](const Frame& frame, const std::vector<uint32_t>& order,
                                const RunReport& report) {
        diff.triggers = embedded_trigger_impacts(old_rules, new_rules, frame, order, report,
                                                 before->membership, state, options.sample);
        if (!new_rules.triggers.empty() && !has_stored_run(state, new_rules.rules.ruleset))
            mark_triggers_baseline(diff);
        try {
            if (state)
                diff.new_run_refused = retyped_keys_refusal(*state, new_rules, report.membership);
        } catch (const SQLite::Exception&) {
            // A state that cannot be read has no runs to compare with.
        }
    };
    const std::optional<RunReport> after =
        evaluate(new_rules, new_sha256, data, state, options, std::move(new_options), error);
    if (!after) return std::nullopt;
    if (snapshot.changed()) {
        error.message = "'" + data.getFilename() +
                        "' changed while the two files were evaluated (another process "
                        "committed a write; in WAL mode readers do not hold writers back); "
                        "nothing is wrong with the rules: run the diff again";
        error.rule_problem = false;
        return std::nullopt;
    }
    diff.old_customers = before->customers;
    diff.new_customers = after->customers;
    compare_placements(*before, *after, options.sample, diff);
    return diff;
}

RulesDiff diff_placements(const CompiledRules& old_rules, const std::string& old_sha256,
                          const CompiledRules& new_rules, const std::string& new_sha256, Date as_of,
                          size_t sample, const RunReport& before, const RunReport& after,
                          const std::vector<PlacementGroup>& groups) {
    RulesDiff diff = diff_header(old_rules, old_sha256, new_rules, new_sha256, as_of);
    diff.old_customers = before.customers;
    diff.new_customers = after.customers;
    diff.triggers_computed = new_rules.triggers.empty();
    PlacementPairs pairs(before, after, sample, diff);
    for (const PlacementGroup& g : groups) {
        const Str old_segment = intern(g.old_segment.value_or("")),
                  new_segment = intern(g.new_segment.value_or(""));
        const Str old_tactical = intern(g.old_tactical), new_tactical = intern(g.new_tactical);
        pairs.add(g.old_segment ? &old_segment : nullptr, g.old_segment ? &old_tactical : nullptr,
                  g.new_segment ? &new_segment : nullptr, g.new_segment ? &new_tactical : nullptr,
                  g.customers, g.sample.data(), g.sample.size());
    }
    pairs.finish(before, after);
    return diff;
}

}  // namespace strata
