// Copies a SQLite customer base into a two-shard (or larger) ClickHouse cluster, for the
// warehouse tests and the benchmark: for each table, a local MergeTree table `NAME_local` on
// every shard and a Distributed table `NAME` over them, sharded by the table's customer key,
// so that a customer's facts sit on the customer's shard. Rows go through the Distributed
// table with insert_distributed_sync=1, in INSERTs of 1,000,000 rows (each sent while the next
// is read, so memory stays at about two batches): they are on their shards when the load
// returns.
//
// Rows travel as RowBinary, so every value arrives exactly (a double as its bits).
//
// The warehouse holds what the engine sees. Each column gets the native type of the type the
// engine reads it as (dsl/schema.hpp from the SQLite declared type): integer → Int64, number →
// Float64, text → String, boolean → UInt8 (0/1), date → Date, datetime → DateTime (sent
// as its Unix time, so the server's time zone does not change it), all Nullable; the key
// column is Int64 (not Nullable). Every cell is converted exactly as the engine's cell
// readers convert it (engine/cell_readers.hpp, the definition): junk text in an INTEGER
// column, a cell stored under another type, '31.12.2025' in a DATE column all become what the
// engine reads, or NULL where the engine's reader gives null. A fact row whose key is null (no
// customer) is left out, as the engine leaves it out. Refused with a message: a key that is not an
// integer (the sharding key must be), a date or a datetime outside ClickHouse's 1970–2105 (a
// datetime before 1970-01-01T00:00:00, which DateTime cannot hold, is refused, never changed), a
// column of another type.
#pragma once

#include <string>
#include <vector>

#include "warehouse/clickhouse_client.hpp"

namespace strata::warehouse {

struct TableToLoad {
    std::string table;       // the SQLite table, and the ClickHouse table's name
    std::string key_column;  // the customer key: the sharding key
};

// Creates the tables on every shard (each URL names one shard's server and the database, which
// must exist) and loads the rows through the first shard's server. Returns an empty string, or
// what went wrong.
std::string load_sqlite_into_clickhouse(const std::string& sqlite_path,
                                        const std::vector<TableToLoad>& tables,
                                        const std::vector<ClickHouseUrl>& shards,
                                        const std::string& cluster);

}  // namespace strata::warehouse
