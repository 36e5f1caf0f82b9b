// The holdout readout of a ruleset whose runs are stored inside a warehouse (`strata report
// --db URL`), computed by the SQLite readout's own code (analysis/holdout_readout.hpp): what it
// reads is copied into an in-memory SQLite database with the tables and columns it reads, so the
// arithmetic (firings, windows, success, shares, the confidence interval) has one definition.
//
//   strata_runs      the ruleset's runs as the report's store reads them (ClickHouse: complete
//                    runs only), with their summaries, which hold each trigger's success
//   strata_outbox    the ruleset's firings: the rows of each trigger's first action (id, trigger,
//                    customer, run, as_of, status). PostgreSQL: its own strata_outbox; a
//                    ClickHouse run: the --state store it wrote its actions to (a SQLite file or
//                    a postgresql:// URL)
//   strata_stays     the stays of the customers who were fired for, and only theirs, with the
//   strata_segments  ruleset's segment codes. ClickHouse: stays begun by complete runs, ended by
//                    the first exit a complete run wrote (as state/clickhouse_state.hpp's
//                    open_stays reads them), segment codes numbered here
//
// So the fired-for customers' keys and stays leave the server (the outbox rows already are
// customer rows, read by the senders); nothing of the other customers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/holdout_readout.hpp"
#include "engine/state.hpp"
#include "warehouse/clickhouse_client.hpp"
#include "warehouse/postgres_client.hpp"

namespace strata::state {

// `runs`: the ruleset's stored runs. Throws report::StoreReadError on a database error.
std::vector<RulesetReadout> postgres_readout(warehouse::PostgresConnection& db,
                                             const std::string& ruleset,
                                             const std::vector<RunRecord>& runs);

// `actions`: the --state store holding the ClickHouse runs' actions (a SQLite path or a
// postgresql:// URL). Throws report::StoreReadError on a database error.
std::vector<RulesetReadout> clickhouse_readout(warehouse::ClickHouseClient& client,
                                               const std::string& actions,
                                               const std::string& ruleset,
                                               const std::vector<RunRecord>& runs);

}  // namespace strata::state
