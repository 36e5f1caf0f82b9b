// Where `strata report` reads a stored run from: a SQLite state file, or the strata_* tables of
// a warehouse (PostgreSQL, ClickHouse: state/report_store.hpp). Each store only reads rows;
// report/gather.cpp turns them into the model, the same way for every store, so each section
// has one definition.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/holdout_readout.hpp"
#include "dsl/compiler.hpp"
#include "engine/state.hpp"
#include "report/report_model.hpp"

namespace strata::report {

// A store that cannot be read (a database error): gather_from_store reports its message.
struct StoreReadError {
    std::string message;
};

// Customers per pair of general segments between two runs; "" for no segment (new to the base
// at the later run, or gone from it).
using FlowCounts = std::map<std::pair<std::string, std::string>, int64_t>;

class RunStore {
  public:
    virtual ~RunStore() = default;
    // The store as messages name it: a file name, or a URL without its password.
    virtual std::string where() const = 0;
    // Said after "run N does not exist in WHERE": how to see the stored runs ("" for nothing).
    virtual std::string listing_hint() const = 0;
    // Every stored run (of every ruleset) a reader may see, in run id order, with its summary;
    // nullopt when the store holds no run state at all. Throws StoreReadError.
    virtual std::optional<std::vector<RunRecord>> runs() = 0;
    // Whether membership is kept (a SQLite state of an older layout has runs but no stays).
    virtual bool has_membership() = 0;
    // The general-segment pairs of each customer between runs `from` and `to` (both of one
    // ruleset), counted where the membership is. Throws StoreReadError.
    virtual FlowCounts flows(const RunRecord& from, const RunRecord& to) = 0;
    // The ruleset's outbox rows per trigger and status, ordered by both (bytes). Throws.
    virtual std::vector<OutboxCount> outbox(const std::string& ruleset) = 0;
    // The sections that need each customer's values (customer_values.hpp on SQLite), or notes
    // saying why they are not there; also m.min_share and m.value_name from the run's version.
    virtual void add_customer_values(const RunRecord& run, ReportModel& m) = 0;
    // The holdout readout of the ruleset (m.readout), or a note saying why it is not there.
    virtual void add_readout(ReportModel& m) = 0;
};

// The model of one run of `store`, chosen by `request` (report_model.hpp's gather_report says
// how). nullopt with `error` set on a usage or store problem: exit 2.
std::optional<ReportModel> gather_from_store(RunStore& store, const ReportRequest& request,
                                             std::string& error);

// The ruleset's outbox rows per trigger and status in a SQLite state (none without an outbox).
// Throws SQLite::Exception.
std::vector<OutboxCount> sqlite_outbox_counts(SQLite::Database& state, const std::string& ruleset);

// The readout's rows of the model (m.readout) from the holdout readout of the stored state
// (analysis/holdout_readout.hpp), whichever store it was read from.
void add_readout_rows(const std::vector<RulesetReadout>& readout, ReportModel& m);

// The rule file's settings the report uses (report.min_share, the `value` text), from the
// run's compiled version.
void apply_rule_settings(const CompiledRules& rules, ReportModel& m);

}  // namespace strata::report
