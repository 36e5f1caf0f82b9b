// The report of a run inside a warehouse (PostgreSQL, ClickHouse), filled from the rows its
// queries return, as the embedded run's RunReport (engine/run.hpp): one definition of how the
// servers' counts become segment results and moves, for both backends.
#pragma once

#include <map>
#include <string>

#include "dsl/compiler.hpp"
#include "engine/placement.hpp"
#include "engine/run.hpp"
#include "engine/state.hpp"
#include "warehouse/result.hpp"

namespace strata::state {

// A cell as an integer or a number (0 for NULL).
int64_t cell_integer(const warehouse::Cell& cell);
double cell_number(const warehouse::Cell& cell);

// Why a run could not place everyone (`count` customers, `samples` a few of their keys): the
// embedded run's sentence, except that under `exclusive` the pairs of segments are not named.
// `stored` as for engine/placement.hpp's unplaced_message.
std::string unplaced_message(Policy policy, int64_t count, const std::string& samples, bool stored);

class WarehouseReport {
  public:
    // Makes the (empty) segment results of `rules` in rep.segments. `rep` must outlive this.
    WarehouseReport(const CompiledRules& rules, RunReport& rep);

    // The tactical paths and their levels (1 + the place in the rule file).
    const SegmentPlan& plan() const { return plan_; }

    // One (segment, tactical) group: segment, tactical paths (';'-joined), customers, customers
    // with a value, then `unknowns` cells, one per segment in the report's order (each general
    // segment, then its tactical ones depth first: sql/compiler.hpp's RunColumns).
    void add_group(const warehouse::Row& row, size_t unknowns);
    // The value total of a general segment (`path` empty) or of a tactical path inside it.
    void set_value(const std::string& segment, const std::string& path, const ExactTotal& total);
    // rep.value_total: the general segments' totals added.
    void finish_values();
    // A total from a SQL sum of exact units (its decimal text; null for no rows) and whether a
    // value had no units: out of range then, or when the text is not 38 digits or fewer.
    static ExactTotal total_of(const std::optional<std::string>& units_text, bool out_of_range);
    // The moves since the ruleset's latest run `previous` (none: its first run), from rows of
    // (from, to, customers) between general segments (NULL: new, left).
    static RunTransitions moves(const std::optional<RunRecord>& previous, int64_t version,
                                const std::vector<warehouse::Row>& rows);

  private:
    SegmentResult* tactical(size_t g, const std::string& path);
    RunReport& rep_;
    SegmentPlan plan_;
    std::vector<SegmentResult*> ordered_;
    std::map<std::string, size_t> general_;
};

}  // namespace strata::state
