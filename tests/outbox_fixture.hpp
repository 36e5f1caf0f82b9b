// The outbox tests' fixture: state files filled with strata::enqueue, and the outbox
// commands run in-process.
#pragma once

#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "test_support.hpp"

namespace strata::testing::outbox_fixture {

struct Action {
    strata::Value key;
    std::string status = "pending";
    std::string trigger = "sleeping_email";
};

// A state file with one action per entry, enqueued in order (ids from 1).
inline std::string outbox_state(const TempDir& dir, const std::vector<Action>& actions,
                                const std::string& name = "state.db") {
    const std::string path = dir.file(name);
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE(db);
    std::vector<strata::OutboxRow> rows;
    for (const Action& a : actions) {
        strata::OutboxRow r;
        r.ruleset = "retail";
        r.version = 3;
        r.trigger_id = a.trigger;
        r.customer_key = a.key;
        r.type = "email";
        r.payload = R"({"subject": "We miss you", "discount": 10})";
        r.run_id = 7;
        r.as_of = "2026-11-01";
        r.status = a.status;
        r.idempotency_key =
            strata::idempotency_key(r.ruleset, r.trigger_id, r.customer_key, r.as_of, r.action);
        rows.push_back(r);
    }
    SQLite::Transaction tx(*db);
    REQUIRE(strata::enqueue(*db, rows, "2026-11-01T06:00:00Z") == rows.size());
    tx.commit();
    return path;
}

inline std::vector<Action> pending(int n) {
    std::vector<Action> actions;
    for (int i = 1; i <= n; ++i)
        actions.push_back({strata::Value(int64_t{i})});
    return actions;
}

inline Run outbox(const std::string& command, const std::string& db,
                  std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"outbox", command, "--db", db};
    args.insert(args.end(), more.begin(), more.end());
    return run_cli(args);
}

inline std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

inline std::vector<std::string> ids_of(const std::string& jsonl) {
    std::vector<std::string> ids;
    for (const auto& line : lines(jsonl))
        ids.push_back(json_at(line, "$.id"));
    return ids;
}

inline std::string column(const std::string& db, int64_t id, const std::string& name) {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d, "SELECT " + name + " FROM strata_outbox WHERE id = ?");
    q.bind(1, id);
    REQUIRE(q.executeStep());
    return q.getColumn(0).isNull() ? "<none>" : q.getColumn(0).getString();
}

using Ids = std::vector<std::string>;

}  // namespace strata::testing::outbox_fixture
