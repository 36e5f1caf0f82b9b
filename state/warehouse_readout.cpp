#include "state/warehouse_readout.hpp"

#include "state/foreign_tables.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <charconv>
#include <memory>
#include <variant>

#include "engine/store.hpp"
#include "report/run_store.hpp"
#include "state/clickhouse_state.hpp"
#include "warehouse/database_url.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::ResultTable;

namespace {

// The tables and columns holdout_readout and its StayIndex read; the ruleset is number 1.
constexpr const char* kReadoutSchema = R"sql(
CREATE TABLE strata_runs (run_id INTEGER PRIMARY KEY, ruleset TEXT NOT NULL,
  version INTEGER NOT NULL, rules_sha256 TEXT NOT NULL, as_of TEXT NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT NOT NULL, customers INTEGER NOT NULL,
  summary TEXT NOT NULL);
CREATE TABLE strata_rulesets (ruleset_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE strata_segments (ruleset INTEGER NOT NULL, code INTEGER NOT NULL,
  name TEXT NOT NULL, PRIMARY KEY (ruleset, code));
CREATE TABLE strata_stays (ruleset INTEGER NOT NULL, exited_run INTEGER NOT NULL,
  customer_key NOT NULL, level INTEGER NOT NULL, segment INTEGER NOT NULL,
  entered_run INTEGER NOT NULL);
CREATE TABLE strata_outbox (id INTEGER PRIMARY KEY, ruleset TEXT NOT NULL,
  trigger_id TEXT NOT NULL, customer_key NOT NULL, action INTEGER NOT NULL,
  run_id INTEGER NOT NULL, as_of TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE clickhouse_stays (customer_key NOT NULL, level INTEGER NOT NULL,
  segment TEXT NOT NULL, entered_run INTEGER NOT NULL);
CREATE TABLE clickhouse_exits (customer_key NOT NULL, level INTEGER NOT NULL,
  segment TEXT NOT NULL, entered_run INTEGER NOT NULL, exited_run INTEGER NOT NULL);
)sql";

// ClickHouse's stays with codes numbered here, each ended by the first exit a complete run
// wrote (matched by general or tactical, segment and entering run, as open_stays matches
// them); stays begun by a run that is not complete are left out. Each stay looks its exits up
// by the index: without it, a base of 300,000 stays took more than ten minutes.
constexpr const char* kClickHouseStays = R"sql(
CREATE INDEX clickhouse_exits_of_stay ON clickhouse_exits (customer_key, segment, entered_run);
INSERT INTO strata_segments
  SELECT 1, row_number() OVER (ORDER BY name), name FROM (SELECT DISTINCT segment AS name
  FROM clickhouse_stays);
INSERT INTO strata_stays
  SELECT 1, coalesce((SELECT min(x.exited_run) FROM clickhouse_exits x
      JOIN strata_runs r ON r.run_id = x.exited_run
      WHERE x.customer_key = s.customer_key AND (x.level = 0) = (s.level = 0)
        AND x.segment = s.segment AND x.entered_run = s.entered_run), 0),
    s.customer_key, s.level, g.code, s.entered_run
  FROM clickhouse_stays s JOIN strata_segments g ON g.name = s.segment
  WHERE s.entered_run IN (SELECT run_id FROM strata_runs);
)sql";

int64_t integer_of(const Cell& cell) {
    int64_t v = 0;
    if (cell) std::from_chars(cell->data(), cell->data() + cell->size(), v);
    return v;
}

const std::string& text_of(const Cell& cell) {
    static const std::string empty;
    return cell ? *cell : empty;
}

template <class T>
T value_or_throw(warehouse::Outcome<T> outcome) {
    if (!outcome) throw report::StoreReadError{outcome.error().describe()};
    return std::move(outcome.value());
}

// A key of PostgreSQL's state (its text and whether it is an integer) bound as SQLite keeps it.
void bind_key(SQLite::Statement& q, int at, const Cell& key, const Cell& is_integer) {
    if (text_of(is_integer) == "t")
        q.bind(at, integer_of(key));
    else
        q.bind(at, text_of(key));
}

std::unique_ptr<SQLite::Database> memory_state(const std::string& ruleset,
                                               const std::vector<RunRecord>& runs) {
    auto memory = std::make_unique<SQLite::Database>(":memory:", SQLite::OPEN_READWRITE);
    memory->exec(kReadoutSchema);
    std::vector<RunRecord> of_ruleset;
    for (const RunRecord& r : runs) {
        if (r.ruleset == ruleset) of_ruleset.push_back(r);
    }
    insert_run_records(*memory, of_ruleset);
    SQLite::Statement name(*memory, "INSERT INTO strata_rulesets VALUES (1, ?)");
    name.bind(1, ruleset);
    name.exec();
    return memory;
}

// Rows of (id, trigger, key, key is integer ('t'/'f'), run, as_of, status) of first actions.
void add_postgres_firings(SQLite::Database& memory, const std::string& ruleset,
                          const ResultTable& t) {
    SQLite::Statement insert(memory, "INSERT INTO strata_outbox VALUES (?, ?, ?, ?, 0, ?, ?, ?)");
    for (const auto& row : t.rows) {
        insert.bind(1, integer_of(row[0]));
        insert.bind(2, ruleset);
        insert.bind(3, text_of(row[1]));
        bind_key(insert, 4, row[2], row[3]);
        insert.bind(5, integer_of(row[4]));
        insert.bind(6, text_of(row[5]));
        insert.bind(7, text_of(row[6]));
        insert.exec();
        insert.reset();
    }
}

const char* const kPostgresFirings =
    "SELECT id, trigger_id, customer_key, key_is_integer, run_id, as_of, status FROM "
    "strata_outbox WHERE ruleset = $1 AND action = 0 ORDER BY id";

std::vector<RulesetReadout> readout_of(SQLite::Database& memory, const std::string& ruleset) {
    StoreError error;
    auto readout = holdout_readout(memory, ruleset, error);
    if (!readout) throw report::StoreReadError{error.message};
    return std::move(*readout);
}

}  // namespace

std::vector<RulesetReadout> postgres_readout(warehouse::PostgresConnection& db,
                                             const std::string& ruleset,
                                             const std::vector<RunRecord>& runs) {
    try {
        auto memory = memory_state(ruleset, runs);
        SQLite::Transaction tx(*memory);
        const auto present =
            value_or_throw(db.exec("SELECT to_regclass('strata_outbox') IS NOT NULL"));
        if (text_of(present.rows.at(0).at(0)) == "t") {
            add_postgres_firings(*memory, ruleset,
                                 value_or_throw(db.exec(kPostgresFirings, {ruleset})));
            const auto segments = value_or_throw(
                db.exec("SELECT g.code, g.name FROM strata_segments g JOIN strata_rulesets n ON "
                        "n.ruleset_id = g.ruleset WHERE n.name = $1",
                        {ruleset}));
            SQLite::Statement segment(*memory, "INSERT INTO strata_segments VALUES (1, ?, ?)");
            for (const auto& row : segments.rows) {
                segment.bind(1, integer_of(row[0]));
                segment.bind(2, text_of(row[1]));
                segment.exec();
                segment.reset();
            }
            // The stays of the customers fired for, chosen on the server.
            const auto stays = value_or_throw(db.exec(
                "SELECT s.exited_run, s.customer_key, s.key_is_integer, s.level, s.segment, "
                "s.entered_run FROM strata_stays s JOIN strata_rulesets n ON n.ruleset_id = "
                "s.ruleset WHERE n.name = $1 AND (s.customer_key, s.key_is_integer) IN (SELECT "
                "customer_key, key_is_integer FROM strata_outbox WHERE ruleset = $1 AND action "
                "= 0)",
                {ruleset}));
            SQLite::Statement stay(*memory, "INSERT INTO strata_stays VALUES (1, ?, ?, ?, ?, ?)");
            for (const auto& row : stays.rows) {
                stay.bind(1, integer_of(row[0]));
                bind_key(stay, 2, row[1], row[2]);
                stay.bind(3, integer_of(row[3]));
                stay.bind(4, integer_of(row[4]));
                stay.bind(5, integer_of(row[5]));
                stay.exec();
                stay.reset();
            }
        }
        tx.commit();
        return readout_of(*memory, ruleset);
    } catch (const SQLite::Exception& e) {
        throw report::StoreReadError{std::string("cannot compute the holdout readout: ") +
                                     e.what()};
    }
}

std::vector<RulesetReadout> clickhouse_readout(warehouse::ClickHouseClient& client,
                                               const std::string& actions,
                                               const std::string& ruleset,
                                               const std::vector<RunRecord>& runs) {
    try {
        auto memory = memory_state(ruleset, runs);
        SQLite::Transaction tx(*memory);
        // The firings, from the store the runs wrote their actions to.
        std::string error;
        auto location = warehouse::parse_database_argument(actions, error);
        if (!location) throw report::StoreReadError{"--state: " + error};
        if (const auto* pg = std::get_if<warehouse::PostgresUrl>(&*location)) {
            auto db = value_or_throw(state::connect_postgres_state(*pg));
            const auto present =
                value_or_throw(db.exec("SELECT to_regclass('strata_outbox') IS NOT NULL"));
            if (text_of(present.rows.at(0).at(0)) == "t")
                add_postgres_firings(*memory, ruleset,
                                     value_or_throw(db.exec(kPostgresFirings, {ruleset})));
        } else if (const auto* path = std::get_if<warehouse::SqlitePath>(&*location)) {
            StoreError open_error;
            auto state = open_read_only(path->path, open_error);
            if (!state) throw report::StoreReadError{open_error.message};
            if (state->tableExists("strata_outbox")) {
                SQLite::Statement q(*state,
                                    "SELECT id, trigger_id, customer_key, run_id, as_of, status "
                                    "FROM strata_outbox WHERE ruleset = ? AND action = 0");
                q.bind(1, ruleset);
                SQLite::Statement insert(
                    *memory, "INSERT INTO strata_outbox VALUES (?, ?, ?, ?, 0, ?, ?, ?)");
                while (q.executeStep()) {
                    insert.bind(1, q.getColumn(0).getInt64());
                    insert.bind(2, ruleset);
                    insert.bind(3, q.getColumn(1).getString());
                    if (q.getColumn(2).isInteger())
                        insert.bind(4, q.getColumn(2).getInt64());
                    else
                        insert.bind(4, q.getColumn(2).getString());
                    insert.bind(5, q.getColumn(3).getInt64());
                    insert.bind(6, q.getColumn(4).getString());
                    insert.bind(7, q.getColumn(5).getString());
                    insert.exec();
                    insert.reset();
                }
            }
        } else {
            throw report::StoreReadError{"--state must be a SQLite file or a postgresql:// URL"};
        }
        // The stays of the customers fired for (keys inside ClickHouse are integers), asked
        // for a thousand keys at a time.
        std::vector<int64_t> keys;
        {
            SQLite::Statement q(*memory,
                                "SELECT DISTINCT customer_key FROM strata_outbox WHERE "
                                "typeof(customer_key) = 'integer' ORDER BY customer_key");
            while (q.executeStep())
                keys.push_back(q.getColumn(0).getInt64());
        }
        SQLite::Statement stay(*memory, "INSERT INTO clickhouse_stays VALUES (?, ?, ?, ?)");
        SQLite::Statement exit(*memory, "INSERT INTO clickhouse_exits VALUES (?, ?, ?, ?, ?)");
        for (size_t from = 0; from < keys.size(); from += 1000) {
            std::string in;
            for (size_t i = from; i < keys.size() && i < from + 1000; ++i)
                in += (i > from ? "," : "") + std::to_string(keys[i]);
            const std::string where =
                " WHERE ruleset = " + lit(ruleset) + " AND customer_key IN (" + in + ")";
            const auto stays = value_or_throw(client.query(
                "SELECT customer_key, level, segment, entered_run FROM strata_stays" + where));
            for (const auto& row : stays.rows) {
                stay.bind(1, integer_of(row[0]));
                stay.bind(2, integer_of(row[1]));
                stay.bind(3, text_of(row[2]));
                stay.bind(4, integer_of(row[3]));
                stay.exec();
                stay.reset();
            }
            const auto exits = value_or_throw(
                client.query("SELECT customer_key, level, segment, entered_run, exited_run FROM "
                             "strata_stay_exits" +
                             where));
            for (const auto& row : exits.rows) {
                for (int i = 0; i < 5; ++i) {
                    if (i == 2)
                        exit.bind(3, text_of(row[2]));
                    else
                        exit.bind(i + 1, integer_of(row[static_cast<size_t>(i)]));
                }
                exit.exec();
                exit.reset();
            }
        }
        memory->exec(kClickHouseStays);
        tx.commit();
        return readout_of(*memory, ruleset);
    } catch (const SQLite::Exception& e) {
        throw report::StoreReadError{std::string("cannot compute the holdout readout: ") +
                                     e.what()};
    }
}

}  // namespace strata::state
