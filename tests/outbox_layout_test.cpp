// The outbox's layout: uniqueness of actions through strata_outbox_action (ruleset, as_of first,
// so a day's actions are appended), and state files of the layout before it, whose idempotency
// keys were unique through a constraint of the table, moved to it with every row and id kept.
#include <doctest/doctest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <string>
#include <vector>

#include "engine/outbox.hpp"
#include "engine/state.hpp"
#include "test_support.hpp"

using namespace strata::testing;

namespace {

// The outbox as strata wrote it before strata_outbox_action: the key's uniqueness a constraint.
constexpr const char* kKeyedByText = R"sql(
CREATE TABLE strata_outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key  TEXT NOT NULL UNIQUE,
  ruleset          TEXT NOT NULL,
  version          INTEGER NOT NULL,
  trigger_id       TEXT NOT NULL,
  customer_key     NOT NULL,
  action           INTEGER NOT NULL,
  type             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  run_id           INTEGER NOT NULL,
  as_of            TEXT NOT NULL,
  status           TEXT NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  consumer         TEXT,
  lease_until      TEXT,
  reason           TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX strata_outbox_status ON strata_outbox (status, id);
CREATE INDEX strata_outbox_customer ON strata_outbox (ruleset, customer_key, as_of);
CREATE INDEX strata_outbox_as_of ON strata_outbox (ruleset, as_of);
)sql";

strata::OutboxRow action(strata::Value key, const std::string& as_of, int index = 0) {
    strata::OutboxRow r;
    r.ruleset = "retail";
    r.version = 3;
    r.trigger_id = "sleeping_email";
    r.customer_key = std::move(key);
    r.action = index;
    r.type = "email";
    r.payload = R"({"subject":"We miss you"})";
    r.run_id = 7;
    r.as_of = as_of;
    r.status = "pending";
    r.idempotency_key =
        strata::idempotency_key(r.ruleset, r.trigger_id, r.customer_key, r.as_of, r.action);
    return r;
}

// Inserts `r` as an older strata did, with its id and statuses as a sender left them.
void insert_as_before(SQLite::Database& db, int64_t id, const strata::OutboxRow& r,
                      const std::string& status, const std::string& consumer) {
    SQLite::Statement q(
        db,
        "INSERT INTO strata_outbox (id, idempotency_key, ruleset, version, trigger_id, "
        "customer_key, action, type, payload, run_id, as_of, status, attempt, consumer, "
        "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?,'2026-11-01T06:00:00Z',"
        "'2026-11-01T07:00:00Z')");
    q.bind(1, id);
    q.bind(2, r.idempotency_key);
    q.bind(3, r.ruleset);
    q.bind(4, r.version);
    q.bind(5, r.trigger_id);
    if (const auto* i = std::get_if<int64_t>(&r.customer_key))
        q.bind(6, *i);
    else
        q.bind(6, std::get<strata::Str>(r.customer_key).str());
    q.bind(7, r.action);
    q.bind(8, r.type);
    q.bind(9, r.payload);
    q.bind(10, r.run_id);
    q.bind(11, r.as_of);
    q.bind(12, status);
    if (consumer.empty())
        q.bind(13);
    else
        q.bind(13, consumer);
    q.exec();
}

// Every column of every row, in id order, as text: what a sender or an auditor could read.
std::vector<std::string> dump(SQLite::Database& db) {
    std::vector<std::string> out;
    SQLite::Statement q(db, "SELECT * FROM strata_outbox ORDER BY id");
    while (q.executeStep()) {
        std::string row;
        for (int c = 0; c < q.getColumnCount(); ++c)
            row += (q.getColumn(c).isNull()
                        ? std::string("<null>")
                        : std::string(q.getColumn(c).getName()) + "=" + q.getColumn(c).getString() +
                              "/" + std::to_string(q.getColumn(c).getType())) +
                   "|";
        out.push_back(row);
    }
    return out;
}

bool keyed_by_text(SQLite::Database& db) {
    SQLite::Statement q(db, "SELECT 1 FROM pragma_index_list('strata_outbox') WHERE origin = 'u'");
    return q.executeStep();
}

std::vector<std::string> index_columns(SQLite::Database& db, const std::string& index) {
    std::vector<std::string> out;
    SQLite::Statement q(db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno");
    q.bind(1, index);
    while (q.executeStep())
        out.push_back(q.getColumn(0).getString());
    return out;
}

bool has_index(SQLite::Database& db, const std::string& name) {
    SQLite::Statement q(db, "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?");
    q.bind(1, name);
    return q.executeStep();
}

size_t enqueue_one(SQLite::Database& db, const strata::OutboxRow& r) {
    SQLite::Transaction tx(db);
    const size_t added = strata::enqueue(db, {r}, "2026-11-02T06:00:00Z");
    tx.commit();
    return added;
}

}  // namespace

TEST_CASE("a new outbox keeps actions unique by ruleset and as_of first, so a day is appended") {
    TempDir dir;
    strata::StoreError error;
    auto db = strata::open_state(dir.file("state.db"), error);
    REQUIRE(db);
    CHECK_FALSE(keyed_by_text(*db));
    CHECK(index_columns(*db, "strata_outbox_action") ==
          std::vector<std::string>{"ruleset", "as_of", "trigger_id", "customer_key", "action"});
    // No index of the table leads with the key text or the trigger (both in customer order
    // within a day, so a day's inserts would touch the whole index).
    SQLite::Statement indexes(*db, "SELECT name FROM pragma_index_list('strata_outbox')");
    while (indexes.executeStep()) {
        const std::string name = indexes.getColumn(0).getString();
        CAPTURE(name);
        const auto columns = index_columns(*db, name);
        REQUIRE_FALSE(columns.empty());
        CHECK(columns[0] != "idempotency_key");
    }

    // Exactly once: the same action again is skipped; an integer key and the text of it are
    // two customers, as their idempotency keys are.
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-01")) == 1);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-01")) == 0);
    CHECK(enqueue_one(*db, action(strata::Value(strata::intern("41")), "2026-11-01")) == 1);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-01", 1)) == 1);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-02")) == 1);

    strata::EnqueuedActions enqueued(*db);
    CHECK(enqueued.contains(action(strata::Value(int64_t{41}), "2026-11-01")));
    CHECK(enqueued.contains(action(strata::Value(strata::intern("41")), "2026-11-01")));
    CHECK_FALSE(enqueued.contains(action(strata::Value(int64_t{42}), "2026-11-01")));
    CHECK_FALSE(enqueued.contains(action(strata::Value(strata::intern("41")), "2026-11-02")));
}

TEST_CASE("an outbox keyed by text moves to strata_outbox_action with every row and id kept") {
    TempDir dir;
    const std::string path = dir.file("state.db");
    std::vector<std::string> before;
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(kKeyedByText);
        insert_as_before(db, 1, action(strata::Value(int64_t{41}), "2026-11-01"), "done", "mailer");
        insert_as_before(db, 2, action(strata::Value(strata::intern("41")), "2026-11-01"),
                         "pending", "");
        insert_as_before(db, 5, action(strata::Value(int64_t{7}), "2026-11-01", 1), "dead",
                         "mailer");
        // Ids 6 to 9 were given once (actions since deleted by hand): they are not reused.
        db.exec("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'strata_outbox'");
        // A view of the user's own over the outbox.
        db.exec("CREATE VIEW to_send AS SELECT id FROM strata_outbox WHERE status = 'pending'");
        before = dump(db);
    }
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE_MESSAGE(db, error.message);
    CHECK_FALSE(keyed_by_text(*db));
    CHECK(dump(*db) == before);
    CHECK_FALSE(has_index(*db, "strata_outbox_as_of"));
    CHECK(has_index(*db, "strata_outbox_action"));
    CHECK(has_index(*db, "strata_outbox_customer"));
    CHECK(has_index(*db, "strata_outbox_status"));
    CHECK_FALSE(db->tableExists("strata_outbox_keyed_by_text"));
    CHECK(db->execAndGet("SELECT group_concat(id) FROM to_send").getString() == "2");

    // A new action gets the next unused id; the actions there still count for exactly-once.
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{8}), "2026-11-01")) == 1);
    CHECK(db->execAndGet("SELECT max(id) FROM strata_outbox").getInt64() == 10);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-01")) == 0);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{7}), "2026-11-01", 1)) == 0);
    CHECK(db->execAndGet("SELECT count(*) FROM strata_outbox").getInt64() == 4);

    // Opening it again changes nothing.
    const auto moved = dump(*db);
    db.reset();
    db = strata::open_state(path, error);
    REQUIRE(db);
    CHECK(dump(*db) == moved);
}

TEST_CASE("an outbox keyed by text with two rows of one action keeps its layout and both rows") {
    TempDir dir;
    const std::string path = dir.file("state.db");
    std::vector<std::string> before;
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(kKeyedByText);
        strata::OutboxRow first = action(strata::Value(int64_t{41}), "2026-11-01");
        insert_as_before(db, 1, first, "done", "mailer");
        // Written by something other than strata: the same action under another key.
        first.idempotency_key = "hand-made";
        insert_as_before(db, 2, first, "pending", "");
        before = dump(db);
    }
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE_MESSAGE(db, error.message);
    CHECK(keyed_by_text(*db));
    CHECK(dump(*db) == before);
    CHECK_FALSE(has_index(*db, "strata_outbox_action"));
    CHECK(has_index(*db, "strata_outbox_as_of"));
    // The key's constraint still keeps an action from being enqueued twice.
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-01")) == 0);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{42}), "2026-11-01")) == 1);
    strata::EnqueuedActions enqueued(*db);
    CHECK(enqueued.contains(action(strata::Value(int64_t{42}), "2026-11-01")));
}

TEST_CASE("an outbox keyed by text moves with the user's own indexes and triggers on it") {
    TempDir dir;
    const std::string path = dir.file("state.db");
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(kKeyedByText);
        insert_as_before(db, 1, action(strata::Value(int64_t{41}), "2026-11-01"), "done", "mailer");
        // A sender's own index and an audit trigger of the user's, on the outbox itself.
        db.exec(
            "CREATE INDEX by_type ON strata_outbox (type, status); "
            "CREATE TABLE sent_log (outbox_id INTEGER, status TEXT); "
            "CREATE TRIGGER log_status AFTER UPDATE OF status ON strata_outbox "
            "BEGIN INSERT INTO sent_log VALUES (new.id, new.status); END;");
    }
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE_MESSAGE(db, error.message);
    CHECK_FALSE(keyed_by_text(*db));
    CHECK(index_columns(*db, "by_type") == std::vector<std::string>{"type", "status"});
    CHECK(db->execAndGet("SELECT tbl_name FROM sqlite_master WHERE name = 'log_status'")
              .getString() == "strata_outbox");
    // The copy itself fired nothing; the trigger fires for what a sender does next.
    CHECK(db->execAndGet("SELECT count(*) FROM sent_log").getInt64() == 0);
    db->exec("UPDATE strata_outbox SET status = 'pending' WHERE id = 1");
    CHECK(db->execAndGet("SELECT group_concat(outbox_id || ':' || status) FROM sent_log")
              .getString() == "1:pending");
}

TEST_CASE("an outbox keyed by text with a column of the user's keeps its layout and the column") {
    TempDir dir;
    const std::string path = dir.file("state.db");
    std::vector<std::string> before;
    {
        SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(kKeyedByText);
        insert_as_before(db, 1, action(strata::Value(int64_t{41}), "2026-11-01"), "done", "mailer");
        db.exec(
            "ALTER TABLE strata_outbox ADD COLUMN provider_id TEXT; "
            "UPDATE strata_outbox SET provider_id = 'msg-7731' WHERE id = 1");
        before = dump(db);
    }
    strata::StoreError error;
    auto db = strata::open_state(path, error);
    REQUIRE_MESSAGE(db, error.message);
    CHECK(keyed_by_text(*db));
    CHECK(dump(*db) == before);
    CHECK(db->execAndGet("SELECT provider_id FROM strata_outbox WHERE id = 1").getString() ==
          "msg-7731");
    // Exactly once still holds in the layout it kept.
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{41}), "2026-11-01")) == 0);
    CHECK(enqueue_one(*db, action(strata::Value(int64_t{42}), "2026-11-01")) == 1);
}
