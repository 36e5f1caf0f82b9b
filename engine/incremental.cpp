#include "engine/incremental.hpp"

namespace strata {

namespace {

bool uses_as_of(const bound::Expr* e) {
    if (!e) return false;
    return std::visit(
        [](const auto& n) -> bool {
            using T = std::decay_t<decltype(n)>;
            if constexpr (std::is_same_v<T, bound::AsOf>) {
                return true;
            } else if constexpr (std::is_same_v<T, bound::Field>) {
                return uses_as_of(n.record.get());
            } else if constexpr (std::is_same_v<T, bound::Unary>) {
                return uses_as_of(n.operand.get());
            } else if constexpr (std::is_same_v<T, bound::Binary>) {
                return uses_as_of(n.lhs.get()) || uses_as_of(n.rhs.get());
            } else if constexpr (std::is_same_v<T, bound::InList>) {
                if (uses_as_of(n.value.get())) return true;
                for (const auto& item : n.items)
                    if (uses_as_of(item.get())) return true;
                return false;
            } else if constexpr (std::is_same_v<T, bound::Between>) {
                return uses_as_of(n.value.get()) || uses_as_of(n.low.get()) ||
                       uses_as_of(n.high.get());
            } else if constexpr (std::is_same_v<T, bound::IsNull>) {
                return uses_as_of(n.value.get());
            } else if constexpr (std::is_same_v<T, bound::Call>) {
                if (n.fn == bound::Fn::DaysSince) return true;  // since as_of
                for (const auto& arg : n.args)
                    if (uses_as_of(arg.get())) return true;
                return false;
            } else {
                return false;  // literals and references to columns
            }
        },
        e->node);
}

std::string number(int64_t n) {
    return std::to_string(n);
}

}  // namespace

bool aggregate_depends_on_as_of(const bound::Aggregate& aggregate) {
    return aggregate.fn == bound::AggFn::Cv || uses_as_of(aggregate.value.get()) ||
           uses_as_of(aggregate.where.get());
}

namespace {

// Why a fact table's rows at or below the kept watermark, counted now, are not the rows the
// kept state read; nullopt when they are, or when they were not counted.
std::optional<std::string> why_fact_rows_below_differ(const bound::FactUse& use,
                                                      const FactWatermark& was, const FactNow& is) {
    if (!was.max_rowid || !is.rows_at_or_below_kept || *is.rows_at_or_below_kept == was.rows)
        return std::nullopt;
    return "table '" + use.table + "' has " + number(*is.rows_at_or_below_kept) +
           " rows at or below the watermark (rowid " + number(*was.max_rowid) +
           "), the kept state read " + number(was.rows) +
           ": rows were replaced or removed without the watch seeing it";
}

}  // namespace

std::optional<std::string> why_rows_below_differ(const CompiledRules& rules, const KeptState& kept,
                                                 const std::vector<FactNow>& facts) {
    const auto& uses = rules.program.facts;
    for (size_t i = 0; i < uses.size() && i < kept.facts.size() && i < facts.size(); ++i) {
        if (auto differ = why_fact_rows_below_differ(uses[i], kept.facts[i], facts[i]))
            return differ;
    }
    return std::nullopt;
}

std::optional<std::string> why_not_incremental(const CompiledRules& rules,
                                               const std::optional<KeptState>& kept,
                                               const std::string& kept_unusable,
                                               int64_t latest_run_id,
                                               const std::string& rules_sha256, Date as_of,
                                               const std::vector<FactNow>& facts) {
    const bound::Program& program = rules.program;
    if (!kept && !kept_unusable.empty()) return kept_unusable;
    if (!kept)
        return "no aggregate state is kept for ruleset '" + rules.rules.ruleset +
               "' (no stored run yet, or its runs were stored before strata kept one)";
    if (kept->run_id != latest_run_id)
        return "the kept aggregate state is run " + number(kept->run_id) +
               "'s, but the ruleset's latest batch run is " + number(latest_run_id);
    if (kept->rules_sha256 != rules_sha256 || kept->version != rules.rules.version)
        return "the kept aggregate state is of version " + number(kept->version) +
               " of the rules (SHA-256 " + kept->rules_sha256.substr(0, 12) +
               "), this file is version " + number(rules.rules.version) + " (SHA-256 " +
               rules_sha256.substr(0, 12) + ")";
    const std::string kept_as_of = kept->as_of;
    const std::string now = format_date(as_of);
    if (now < kept_as_of) return "as_of " + now + " is before the kept state's " + kept_as_of;
    if (kept->facts.size() != program.facts.size())
        return "the kept aggregate state has " + number(static_cast<int64_t>(kept->facts.size())) +
               " fact tables, the rules " + number(static_cast<int64_t>(program.facts.size()));
    if (now != kept_as_of) {
        for (const auto& agg : program.aggregates) {
            if (aggregate_depends_on_as_of(agg))
                return "as_of moved from " + kept_as_of + " to " + now + " and `" + agg.text +
                       "` depends on as_of: its window moves over fact rows this run would not "
                       "read";
        }
        for (const FactWatermark& f : kept->facts) {
            // Rows dated after the kept as_of stay left out while as_of is before the
            // earliest of them.
            if (f.future_rows == 0 || (f.earliest_future && as_of < *f.earliest_future)) continue;
            const bool one = f.future_rows == 1;
            std::string rows = number(f.future_rows) + (one ? " row" : " rows") + " of " + f.fact +
                               " below the watermark " + (one ? "was" : "were") +
                               " after the kept as_of";
            if (!f.earliest_future)
                return "as_of moved from " + kept_as_of + " to " + now + " and " + rows +
                       (one ? ": it may count now" : ": they may count now") +
                       " (the kept state does not say when the earliest is dated)";
            return "as_of moved from " + kept_as_of + " to " + now + " and " + rows +
                   (one ? ", dated " : ", the earliest dated ") + format_date(*f.earliest_future) +
                   ": it counts now";
        }
    }
    for (size_t i = 0; i < program.facts.size(); ++i) {
        const FactWatermark& was = kept->facts[i];
        const bound::FactUse& use = program.facts[i];
        const FactNow& is = facts.at(i);
        if (was.fact != use.name || was.table != use.table)
            return "the kept state read fact '" + was.fact + "' from table '" + was.table +
                   "', the rules read '" + use.name + "' from '" + use.table + "'";
        if (!was.has_rowid || !is.has_rowid)
            return "table '" + use.table +
                   "' has no rowid strata can read (a view, a WITHOUT ROWID table, or a table with "
                   "columns of its own named rowid, _rowid_ and oid): new rows cannot be told "
                   "from old ones";
        if (!is.watch)
            return "table '" + use.table +
                   "' is not watched for changes below the watermark (strata_watch_" + use.table +
                   "_* triggers missing; a full run with --incremental installs them)";
        if (!was.watch_changes)
            return "the kept state of table '" + use.table +
                   "' was read without the table's watch raised: before the table was watched "
                   "for changes, or by a run that could not write to the customer database";
        if (is.raised && !is.watch_before)
            return "table '" + use.table +
                   "' was not watched before this run: changes below "
                   "the watermark since run " +
                   number(kept->run_id) + " may have gone unseen";
        if (is.watch->changes < *was.watch_changes)
            return "the watch of table '" + use.table + "' counts " + number(is.watch->changes) +
                   " changes, fewer than the " + number(*was.watch_changes) +
                   " it counted for run " + number(kept->run_id) +
                   ": it was installed again since (its row or triggers were removed), or the "
                   "database is not the one the kept state was read from (a copy?), so "
                   "changes below the watermark may have gone unseen";
        if (is.watch->changes != *was.watch_changes) {
            // The watch is shared: another ruleset's run may have raised it above this one's
            // watermark since, and a change up to there counts too.
            const WatchReading& seen = is.raised ? *is.watch_before : *is.watch;
            const bool raised_since =
                seen.watermark && (!was.max_rowid || *seen.watermark > *was.max_rowid);
            return number(is.watch->changes - *was.watch_changes) + " change" +
                   (is.watch->changes - *was.watch_changes == 1 ? "" : "s") +
                   " to rows of table '" + use.table + "' at or below the watermark (rowid " +
                   (was.max_rowid ? number(*was.max_rowid) : std::string("none")) + ")" +
                   (raised_since ? " or the watch's, raised to rowid " + number(*seen.watermark) +
                                       " by another run since,"
                                 : "") +
                   " since run " + number(kept->run_id) + ": facts are not only appended";
        }
        // The watch as it was before this run raised it: a watermark below the kept one means
        // the kept state was read from another copy of the database (one restored since?).
        const WatchReading& covered = is.raised ? *is.watch_before : *is.watch;
        if (was.max_rowid && (!covered.watermark || *covered.watermark < *was.max_rowid))
            return "the watch of table '" + use.table + "' covered rows up to rowid " +
                   (covered.watermark ? number(*covered.watermark) : std::string("none")) +
                   ", the kept state read up to " + number(*was.max_rowid) +
                   ": the database is not the one the kept state was read from (a copy "
                   "restored since?)";
        if (!is.remembers_kept_raise)
            return "the watch of table '" + use.table + "' has no record of run " +
                   number(kept->run_id) +
                   "'s raise of it: the database is not the one the kept state was read from (a "
                   "copy restored since?), its watch was installed again since (its row or "
                   "triggers were removed), or it was raised more than " +
                   number(kRaisesRemembered) + " times since";
        if (was.definition != is.definition)
            return "the definition of table '" + use.table + "' changed since run " +
                   number(kept->run_id) +
                   " (ALTER TABLE): the rows below the watermark may read differently now";
        if (auto differ = why_fact_rows_below_differ(use, was, is)) return differ;
        if (was.max_rowid && (!is.max_rowid || *is.max_rowid < *was.max_rowid))
            return "table '" + use.table +
                   "' has fewer rows than the watermark implies (its "
                   "highest rowid is " +
                   (is.max_rowid ? number(*is.max_rowid) : std::string("none")) +
                   ", the kept state read up to " + number(*was.max_rowid) + ")";
    }
    return std::nullopt;
}

}  // namespace strata
