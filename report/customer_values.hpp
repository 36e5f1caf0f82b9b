// The report's sections that need each customer's values (how each segment differs from the
// base, the Pareto curve, the R × F grid): the run's own rule version, as registered with its
// source, evaluated again as a dry run against the data at the run's as_of.
#pragma once

#include <SQLiteCpp/Database.h>

#include "engine/state.hpp"
#include "report/report_model.hpp"

namespace strata::report {

// Fills m.customer_values, m.pareto, m.rfm, each segment's `distinct` lets and m.min_share
// (the rule file's report.min_share), or adds a note to m.notes saying why it could not (the
// version's source was not kept, it no longer compiles against the data, the run fails). When
// the evaluation places customers otherwise than the stored run did (the data changed since),
// adds a note saying how many. Never throws on a rule or data problem.
void add_customer_values(SQLite::Database& data, SQLite::Database& state, const RunRecord& run,
                         ReportModel& m);

}  // namespace strata::report
