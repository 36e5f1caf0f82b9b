// One customer evaluated alone, from their own rows, with the thresholds of a stored run: the
// engine's own code on a one-row frame (aggregates over a FactSource of the customer's fact
// rows, lets with the run's population fits, the batch run's placement and trigger firing).
// Internal to live/; the public API is include/strata/strata.hpp.
#pragma once

#include <SQLiteCpp/Database.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/compiler.hpp"
#include "engine/outbox.hpp"
#include "engine/population.hpp"
#include "engine/program.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"

namespace strata::live {

// The run whose thresholds a one-customer evaluation uses: the ruleset's latest stored run.
struct Thresholds {
    RunRecord run;  // the ruleset's latest run: its as_of, and the placement measured against
    PopulationFits fits;
    int64_t fits_run =
        0;  // the run that kept `fits` (fits_owner_run of `run`): the thresholds' run
};

enum class ThresholdsProblem { None, NoRun, OtherFile, Database };

// The thresholds of `rules`' ruleset, from its latest run in `state`. nullopt with `problem`
// and `message` set when there is no run (NoRun), the run evaluated another rule file than
// the one of `sha256` (OtherFile), or the state cannot be read (Database).
std::optional<Thresholds> load_thresholds(SQLite::Database& state, const CompiledRules& rules,
                                          const std::string& sha256, ThresholdsProblem& problem,
                                          std::string& message);

// The keys a person's text may mean, in the order they are tried: the integer it spells
// exactly (reader.hpp's integer_key_spelled, unless `text_only`), then the text itself.
std::vector<Value> candidate_keys(std::string_view text, bool text_only = false);

// The prepared lookups of one customer database connection: the customer table's row of a key
// and each fact table's rows of a key. One reader per connection; not thread-safe.
class CustomerReader {
  public:
    // Throws SQLite::Exception (a table or column the statements name is missing).
    CustomerReader(const CompiledRules& rules, SQLite::Database& data);
    ~CustomerReader();
    CustomerReader(const CustomerReader&) = delete;
    CustomerReader& operator=(const CustomerReader&) = delete;

    // The customer with exactly this key (an integer key or a text key, as a run keys the
    // customer table) as a one-row table, as a batch run reads it: the first row of the key
    // in table order, state columns null. nullopt when no row has the key, or its source.since
    // is after as_of. Throws SQLite::Exception.
    std::optional<CustomerTable> read_customer(const Value& key, Date as_of);

    // The fact sources of one customer (one per program fact, in order), joined as a batch
    // run joins fact rows to customers: REQUIRES `customer` read by read_customer. Valid until
    // the next call. Throws SQLite::Exception.
    std::vector<FactParts> fact_sources(const CustomerTable& customer, Date as_of);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One customer's evaluation.
struct OneResult {
    Value key;
    MembershipRow placed;                 // segment and tactical text
    std::optional<OpenPlacement> before;  // their open stays, none when never placed
    std::vector<OutboxRow> actions;       // fired, not in the outbox yet
    std::vector<OutboxRow> fired;         // every row the triggers fired (with actions' run id)
};

// Evaluates the customer `customer` (from read_customer) as of `as_of` with the thresholds.
// `before`: the customer's open stays (none or one, as load_open_placements gives them), which
// the placement is compared with. `day_start`: the general stay previous_segment and the like
// read (OneCustomerStays::at_day_start; `before` when the rules read no stored state).
// `history`: the state database, for earlier actions (cooldowns, the cap) and for which
// actions are in the outbox already (may be null: nothing earlier). Actions carry `run_id`.
// nullopt with `error` set (and `rule_problem` when the rules cannot place the customer).
// Throws SQLite::Exception.
std::optional<OneResult> evaluate_one(const CompiledRules& rules, const Thresholds& thresholds,
                                      CustomerReader& reader, CustomerTable customer,
                                      const std::vector<OpenPlacement>& before,
                                      const std::vector<OpenPlacement>& day_start, Date as_of,
                                      SQLite::Database* history, int64_t run_id, std::string& error,
                                      bool& rule_problem);

}  // namespace strata::live
