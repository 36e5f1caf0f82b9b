// `strata export` as a CRM import needs it: chosen columns in a chosen order (`--columns`),
// a delimiter (`--delimiter`), an encoding (`--encoding`) and a byte-order mark (`--bom`).
// Columns may be the export's own (key, segment, tactical, offer, channel, priority, run_id,
// as_of), a customer column the run's rule file reads, a let of that file, or a field of an
// rfm let (`rfm.code`). Columns and lets are evaluated again: the run's stored version of the
// rules, against today's data, at the run's as_of; the export is refused unless that
// evaluation places every customer exactly as the run did (docs/running.md, "export").
#pragma once

#include <SQLiteCpp/Database.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"

namespace strata::cli {

// A stored run as rows: what the run stored, never the rule file as it is now.
struct StoredRun {
    RunRecord record;
    std::vector<MembershipRow> rows;
    std::map<std::string, SegmentActions> actions;
};

// Whether the options ask for more than the default CSV (another delimiter, cp1251, a BOM
// or chosen columns).
bool has_csv_options(const ExportOptions& options);

// Writes the CSV the options ask for. Everything is built and encoded before the first byte
// reaches `out`, so a failure leaves `out` untouched. Returns the exit code: 0, 1 when the
// run's rules no longer compile as rules, 2 for an unknown column, a character the encoding
// cannot write, data that no longer gives the run's placement, a source that was not kept,
// or a database problem; the reason goes to `err`.
// `state` holds the runs (it may be the customer database, options.db); null for a run stored
// in a warehouse, which exports its own columns only (a column of the rule file is refused).
int write_csv_with_options(const ExportOptions& options, const StoredRun& run,
                           SQLite::Database* state, std::ostream& out, std::ostream& err);

}  // namespace strata::cli
