// Which population calls a rule file makes, and what their fits were in a run: the cut
// points `strata run` lists (docs/running.md, "Population cut points") and explain reads.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/evaluator.hpp"
#include "engine/json.hpp"
#include "engine/population.hpp"

namespace strata {

// A population call's identity: the bound node (unique within a compiled rule file) and,
// for people, where it is written and the let it is under.
struct PopulationCall {
    const bound::Expr* expr = nullptr;  // holds a bound::Call with has_fit()
    std::string let;                    // the let whose expression holds it; empty if none
};

// Every population call with a fit in `rules`, each once, in the order they are written in
// the rule file (lets, segments, `value`, triggers).
std::vector<PopulationCall> population_calls(const CompiledRules& rules);

// The name a rule writes for `call` ("ntile", "rfm", ...).
const char* population_function_name(const bound::Call& call);

// One population call of a run with its fit.
struct PopulationSummary {
    std::string let;       // empty when the call is under no let
    std::string function;  // ntile, percent_rank, rfm, abc
    std::string file;      // the rule file's path
    Location location;     // col in characters, as diagnostics give it
    std::string text;      // the call as written
    PopulationFit fit;
    // Set for a fit counted inside a warehouse (state/warehouse_populations.hpp), which holds
    // what the report shows and is not for applying: percent_rank's number of distinct values
    // (its fit's `values` and `below` are then empty).
    std::optional<size_t> distinct_values;
};

// One bin of a ranking as counted elsewhere (a run inside a warehouse): the tile the placement
// gave its customers (1..n), its first and last values in ranking order, its customers, and
// how many of them hold the first value.
struct CountedBin {
    int64_t tile = 0;
    Value from;
    size_t customers = 0;
    size_t ties_at_cut = 0;
    Value last;
};

// The fit of an ntile (or one rfm ranking) from its counted bins: the bins the run lists, as
// fit_ntile lists them (a bin no customer fell in is empty, with a null cut). Bins whose tile
// is outside 1..n are ignored.
NtileFit ntile_fit_from_bins(int64_t n, bool descending, size_t nulls,
                             const std::vector<CountedBin>& bins);

// An rfm ranks its recency backwards when the recency is an age in days (numbers): as
// fit_rfm decides it, from the values there are (none: forwards).
bool rfm_recency_is_age(Type recency_type, size_t ranked);

// `call`'s summary with `fit`: its let, function, place and text in `rules`.
PopulationSummary population_summary(const CompiledRules& rules, const PopulationCall& call,
                                     PopulationFit fit);

// The fits of every population call of `rules` in the frame's fits, fitting (over the
// frame, which must be the whole base) those the run did not evaluate.
std::vector<PopulationSummary> summarize_populations(const CompiledRules& rules,
                                                     const Frame& frame);

// The `populations` array of a run's JSON (docs/running.md).
void write_populations_json(JsonWriter& w, const std::vector<PopulationSummary>& populations);

// The run table's section: one line per ntile, rfm field, abc and percent_rank. Writes
// nothing when there are none.
void print_populations(std::ostream& out, const std::vector<PopulationSummary>& populations);

}  // namespace strata
