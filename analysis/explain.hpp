// Why a customer is where they are: every general segment tried in order, with its condition's
// truth for this customer and the value of every sub-expression, then the tactical segments of
// the one that won. The values come from the run's own evaluation of the whole base (a dry
// run), read at the customer's row, so population functions rank against everyone, as in a
// real run; there is no second engine.
#pragma once

#include <SQLiteCpp/Database.h>

#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/population.hpp"
#include "engine/value.hpp"

namespace strata {

struct ExplainNode {
    std::string text;     // the expression as written
    Location location;    // in the rule file
    std::string kind;     // column, aggregate, let, literal, as_of, call, operator, field
    Value value;          // for this customer
    std::string because;  // a population call or field: why, from the run's fit ("" if none)
    std::vector<ExplainNode> children;
    // An aggregate's: how many rows of `fact` fed it for this customer (the rows it took: on
    // or before as_of, its `where` true), and of those how many had a null value, which every
    // function but count(fact) skips. None on other nodes.
    std::optional<int64_t> rows;
    int64_t rows_without_value = 0;
    std::string fact;
    // False where the source of the values does not compute this node (a warehouse computes
    // no records or durations); `value` is then null and means nothing.
    bool computed = true;
};

// One of the smallest parts of a condition that decided it (see explain_reasons.hpp).
struct DecidingPart {
    std::string text;    // the sub-expression as written
    Location location;   // in the rule file
    std::string result;  // "true", "false" or "null"
    std::string let;     // the let whose definition holds it, or ""
    // What it read: its operands' values (literals left out) when it has a value; when it is
    // unknown, the values at the root of the null (the operand, or what under it was null).
    std::vector<std::pair<std::string, Value>> operands;
};

struct ExplainedSegment {
    std::string id;      // the general id or the tactical path
    std::string result;  // "true", "false" or "null"; "otherwise" for the catch-all
    std::optional<ExplainNode> condition;  // none for `otherwise`
    // For a condition that is false or unknown: the parts that made it so.
    std::vector<DecidingPart> deciding;
};

struct Explanation {
    std::string ruleset;
    int64_t version = 0;
    Date as_of;
    Value customer;
    std::string segment;                  // the general segment that won
    std::vector<std::string> tactical;    // the tactical paths that held
    std::vector<ExplainedSegment> tried;  // every general segment, in order
    // The winner's tactical segments, in order; a nested one only where its parent holds.
    std::vector<ExplainedSegment> tactical_tried;
    // Where the values were computed when not by the embedded engine ("PostgreSQL at …").
    std::string computed_in;
};

// Where an explanation reads one customer's values: the embedded run's frame, or the columns
// a warehouse computed for the customer (state/warehouse_explain.hpp).
class ExplainValues {
  public:
    virtual ~ExplainValues() = default;
    // The node's value for the customer; nullopt when this source does not compute it.
    virtual std::optional<Value> value(const bound::Expr& e) const = 0;
    // A population call or field: why it has its value, from the run's fit ("" if none).
    virtual std::string because(const bound::Expr&) const { return {}; }
    // An aggregate node: sets its `rows`, `rows_without_value` and `fact` when known.
    virtual void aggregate_rows(int /*aggregate*/, ExplainNode& /*node*/) const {}
};

// Every node an explanation of `rules` can show, each once: the conditions of every general
// and tactical segment and what they are made of, through lets. A source computes these.
std::vector<const bound::Expr*> explained_nodes(const CompiledRules& rules);

// The error for a customer key (`shown` as a message spells it) that the run did not place:
// not in the ruleset's customer table, or perhaps one of the `joined_later` customers of the
// table that `source.since` leaves out on `as_of` (the run's count; 0 when not known).
std::string not_in_base_message(const CompiledRules& rules, Date as_of, const std::string& shown,
                                size_t joined_later);

// The explanation of customer `key`, placed in `segment` with the tactical paths `tactical`
// (';'-joined, as a run stores them), from the values of `values`.
Explanation explain_placed(const CompiledRules& rules, Date as_of, const Value& key,
                           const std::string& segment, const std::string& tactical,
                           const ExplainValues& values);

// How a stored run is explained: the state as it found it, and its population fits.
struct AsStoredRun {
    int64_t run_id = 0;  // previous_segment and the like as this run found them
    // The run's population fits (its cut points), applied instead of ranking the base again;
    // null to rank it again (a run that kept none). Must outlive the call.
    const PopulationFits* fits = nullptr;
};

// Explains `key` (an integer or a text, matched only by a key of its own type) under `rules`.
// `state`: the run state, read for previous_segment and the like (may be null): as it is now,
// or, with `stored`, as that stored run found it. nullopt with `error` set when the run fails
// or the customer is not in the base; `rule_problem` (when given) is set when the rules are at
// fault (an exclusive level with overlaps or gaps, say); `not_found` (when given) when the
// customer is not in the base.
std::optional<Explanation> explain_customer(const CompiledRules& rules, SQLite::Database& data,
                                            SQLite::Database* state, Date as_of,
                                            const std::vector<Value>& keys, std::string& error,
                                            bool* rule_problem = nullptr,
                                            const AsStoredRun* stored = nullptr,
                                            bool* not_found = nullptr);

}  // namespace strata
