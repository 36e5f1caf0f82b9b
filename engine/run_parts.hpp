// Pieces of a run that the one-customer evaluation (live/) shares with the batch run
// (engine/run.cpp, engine/run_read.cpp), so that both place and fire by one definition.
// Internal to the engine and live/.
#pragma once

#include <SQLiteCpp/Database.h>

#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/outbox.hpp"
#include "engine/program.hpp"
#include "engine/reader.hpp"
#include "engine/run.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "engine/triggers.hpp"

namespace strata {

// Fills the columns that come from the ruleset's stored state, from each customer's general
// stay as the day began: previous_segment, segment_since and days_in_segment. That is their
// stay in `open`, unless `day_start` (day_start_changes) holds them. A customer new to the
// ruleset has nulls. REQUIRES: `open` and `day_start` in key order.
void fill_state_columns(const bound::Program& program, CustomerTable& customers,
                        const std::vector<OpenPlacement>& open, Date as_of,
                        const std::vector<DayStartStay>& day_start = {});

// Drops customers whose source.since is after as_of: they did not exist yet on that day (an
// unknown day keeps the customer). Counted in dq.customers_after_as_of; the index is rebuilt,
// with their keys as its left-out ones (their fact rows count apart, not as orphans). Returns
// those keys, in the order they were read. REQUIRES: rules.since set.
Column drop_future_customers(const CompiledRules& rules, Date as_of, CustomerTable& customers,
                             KeyIndex& index, DataQuality& dq);

// 1 for each row whose idempotency key is not in `state`'s outbox (all of them without a
// state or an outbox), as a stored run's insert would find. Throws SQLite::Exception.
std::vector<char> actions_not_enqueued(SQLite::Database* state, const std::vector<OutboxRow>& rows);

// Puts a firing into the report: which of its rows were new to the outbox (`inserted`, one
// flag per row; the others are duplicates of rows enqueued before, taken out of the trigger's
// counts), the actions enqueued, and for a dry run (`stored` false) the rows it would enqueue.
// `firing` is spent.
void record_firing(Firing& firing, const std::vector<char>& inserted, bool stored, RunReport& rep);

// The time now in UTC as runs and the outbox record it: 2026-11-30T09:15:00Z.
std::string utc_now();

// Why a run's moves fire (engine/triggers.hpp), given the ruleset's latest run before it.
inline FiringCause firing_cause(const std::optional<RunRecord>& previous, int64_t version) {
    return !previous                      ? FiringCause::Baseline
           : previous->version != version ? FiringCause::RuleChange
                                          : FiringCause::Data;
}

// Why a stored run is refused when its new customers have the keys of customers who left as
// the other kind (Transitions::retyped > 0), against the ruleset's latest run `since_run`.
// `key_column`: the customer table's key column, named in the cast that brings the keys back.
// `stored`: the run was refused (its message says nothing was stored), not a plan.
std::string retyped_keys_message(const Transitions& moves, int64_t since_run,
                                 const std::string& key_column, bool stored = true);

}  // namespace strata
