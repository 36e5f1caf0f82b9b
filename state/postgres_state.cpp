#include "state/postgres_state.hpp"

#include "state/foreign_tables.hpp"

#include <algorithm>
#include <cctype>

#include <charconv>

#include "engine/numeric.hpp"
#include "engine/value_pool.hpp"
#include "engine/versions.hpp"

namespace strata::state {

using warehouse::Cell;
using warehouse::Done;
using warehouse::Outcome;
using warehouse::PostgresConnection;

namespace {

// Texts compare by bytes (COLLATE "C") as in the SQLite state.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS strata_runs (
  run_id        bigint PRIMARY KEY,  -- the highest so far plus one, under the runs' lock
  ruleset       text COLLATE "C" NOT NULL,
  version       bigint NOT NULL,
  rules_sha256  text NOT NULL,
  rules_path    text NOT NULL,
  as_of         text COLLATE "C" NOT NULL,
  started_at    text NOT NULL,
  finished_at   text NOT NULL,
  status        text NOT NULL,
  customers     bigint NOT NULL,
  summary       text NOT NULL
);
CREATE INDEX IF NOT EXISTS strata_runs_ruleset ON strata_runs (ruleset, as_of, run_id);
CREATE TABLE IF NOT EXISTS strata_rulesets (
  ruleset_id    bigserial PRIMARY KEY,
  name          text COLLATE "C" NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS strata_segments (
  ruleset       bigint NOT NULL REFERENCES strata_rulesets (ruleset_id),
  code          integer NOT NULL,
  name          text COLLATE "C" NOT NULL,
  PRIMARY KEY (ruleset, code)
);
CREATE TABLE IF NOT EXISTS strata_stays (
  ruleset        bigint NOT NULL REFERENCES strata_rulesets (ruleset_id),
  exited_run     bigint NOT NULL,
  customer_key   text COLLATE "C" NOT NULL,
  key_is_integer boolean NOT NULL,
  level          integer NOT NULL,
  segment        integer NOT NULL,
  entered_run    bigint NOT NULL REFERENCES strata_runs (run_id),
  PRIMARY KEY (ruleset, exited_run, customer_key, key_is_integer, level, segment, entered_run)
);
CREATE INDEX IF NOT EXISTS strata_stays_customer ON strata_stays (ruleset, customer_key);
CREATE TABLE IF NOT EXISTS strata_versions (
  ruleset       text COLLATE "C" NOT NULL,
  version       bigint NOT NULL,
  sha256        text NOT NULL,
  source        bytea,
  first_seen    text NOT NULL,
  PRIMARY KEY (ruleset, version, sha256)
);
-- The exactly-once outbox (engine/outbox.hpp has the statuses and the rules): one row per
-- action a run's triggers fired, unique by idempotency key. Senders claim rows with
-- SELECT ... FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same row.
CREATE TABLE IF NOT EXISTS strata_outbox (
  id               bigserial PRIMARY KEY,
  idempotency_key  text COLLATE "C" NOT NULL UNIQUE,
  ruleset          text COLLATE "C" NOT NULL,
  version          bigint NOT NULL,
  trigger_id       text COLLATE "C" NOT NULL,
  customer_key     text COLLATE "C" NOT NULL,
  key_is_integer   boolean NOT NULL,
  action           integer NOT NULL,
  type             text NOT NULL,
  payload          text NOT NULL,
  run_id           bigint NOT NULL,
  as_of            text COLLATE "C" NOT NULL,
  status           text NOT NULL,
  attempt          integer NOT NULL DEFAULT 0,
  consumer         text,
  lease_until      text,
  reason           text,
  created_at       text NOT NULL,
  updated_at       text NOT NULL
);
CREATE INDEX IF NOT EXISTS strata_outbox_status ON strata_outbox (status, id);
CREATE INDEX IF NOT EXISTS strata_outbox_customer ON strata_outbox (ruleset, customer_key, as_of);
CREATE INDEX IF NOT EXISTS strata_outbox_as_of ON strata_outbox (ruleset, as_of);
CREATE OR REPLACE VIEW strata_membership (run_id, customer_key, key_is_integer, segment,
    tactical) AS
  SELECT r.run_id, s.customer_key, s.key_is_integer,
         max(g.name) FILTER (WHERE s.level = 0),
         coalesce(string_agg(g.name, ';' ORDER BY s.level, g.name) FILTER (WHERE s.level > 0), '')
  FROM strata_runs r JOIN strata_rulesets n ON n.name = r.ruleset
  JOIN strata_stays s ON s.ruleset = n.ruleset_id AND s.entered_run <= r.run_id
   AND (s.exited_run = 0 OR s.exited_run > r.run_id)
  JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment
  GROUP BY r.run_id, s.customer_key, s.key_is_integer;
)sql";

const std::string& text_of(const Cell& cell) {
    static const std::string empty;
    return cell ? *cell : empty;
}

int64_t integer_of(const Cell& cell) {
    int64_t v = 0;
    if (cell) std::from_chars(cell->data(), cell->data() + cell->size(), v);
    return v;
}

std::string hex_of(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

}  // namespace

std::string from_hex(const std::string& hex) {
    std::string out;
    out.reserve(hex.size() / 2);
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        const int high = std::isdigit(static_cast<unsigned char>(hex[i]))
                             ? hex[i] - '0'
                             : (hex[i] | 0x20) - 'a' + 10;
        const int low = std::isdigit(static_cast<unsigned char>(hex[i + 1]))
                            ? hex[i + 1] - '0'
                            : (hex[i + 1] | 0x20) - 'a' + 10;
        out += static_cast<char>(high * 16 + low);
    }
    return out;
}

Outcome<std::optional<std::string>> postgres_version_source(PostgresConnection& db,
                                                            const RunRecord& run) {
    auto t = db.exec(
        "SELECT encode(source, 'hex') FROM strata_versions WHERE ruleset = $1 AND version = "
        "$2::bigint AND sha256 = $3 AND source IS NOT NULL",
        {run.ruleset, std::to_string(run.version), run.rules_sha256});
    if (!t) return t.error();
    if (t.value().rows.empty() || !t.value().rows[0][0]) return std::optional<std::string>();
    return std::optional<std::string>(from_hex(*t.value().rows[0][0]));
}

Outcome<Done> ensure_postgres_state(PostgresConnection& db) {
    if (auto checked = check_postgres_state_tables(db); !checked) return checked.error();
    // Only when something is missing: the statements take strong locks (CREATE OR REPLACE VIEW
    // an exclusive one) that would hold readers and senders until the run commits.
    auto present = db.exec(
        "SELECT to_regclass('strata_runs') IS NOT NULL AND to_regclass('strata_stays') IS NOT "
        "NULL AND to_regclass('strata_segments') IS NOT NULL AND to_regclass('strata_rulesets') "
        "IS NOT NULL AND to_regclass('strata_versions') IS NOT NULL AND "
        "to_regclass('strata_outbox') IS NOT NULL AND to_regclass('strata_membership') IS NOT "
        "NULL");
    if (!present) return present.error();
    if (text_of(present.value().rows.at(0).at(0)) == "t") return Done{};
    auto done = db.exec_script(kSchema);
    if (!done) return done.error();
    return Done{};
}

Outcome<Done> ensure_state_for_reads(PostgresConnection& db, const CompiledRules& rules) {
    const auto& columns = rules.program.columns;
    if (std::none_of(columns.begin(), columns.end(),
                     [](const auto& c) { return c.source == bound::ColumnSource::State; }))
        return Done{};
    return ensure_postgres_state(db);
}

Outcome<bool> has_postgres_state(PostgresConnection& db) {
    auto found = db.exec("SELECT to_regclass('strata_runs') IS NOT NULL");
    if (!found) return found.error();
    if (text_of(found.value().rows.at(0).at(0)) != "t") return false;
    if (auto checked = check_postgres_state_tables(db); !checked) return checked.error();
    return true;
}

Outcome<std::optional<RunRecord>> find_postgres_run(PostgresConnection& db,
                                                    const std::string& ruleset,
                                                    std::optional<int64_t> run_id) {
    const std::string columns =
        "SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, started_at, "
        "finished_at, status, customers, summary FROM strata_runs WHERE ruleset = $1";
    auto rows =
        run_id ? db.exec(columns + " AND run_id = $2::bigint", {ruleset, std::to_string(*run_id)})
               : db.exec(columns + " ORDER BY as_of DESC, run_id DESC LIMIT 1", {ruleset});
    if (!rows) return rows.error();
    if (rows.value().rows.empty()) return std::optional<RunRecord>();
    const auto& row = rows.value().rows.front();
    RunRecord r;
    r.run_id = integer_of(row[0]);
    r.ruleset = text_of(row[1]);
    r.version = integer_of(row[2]);
    r.rules_sha256 = text_of(row[3]);
    r.rules_path = text_of(row[4]);
    r.as_of = text_of(row[5]);
    r.started_at = text_of(row[6]);
    r.finished_at = text_of(row[7]);
    r.status = text_of(row[8]);
    r.customers = integer_of(row[9]);
    r.summary_json = text_of(row[10]);
    return std::optional<RunRecord>(std::move(r));
}

Outcome<std::vector<MembershipRow>> load_postgres_membership(PostgresConnection& db,
                                                             const RunRecord& run,
                                                             const std::optional<Value>& only) {
    std::vector<warehouse::Cell> params = {std::to_string(run.run_id)};
    std::string filter;
    if (only) {
        const auto* i = std::get_if<int64_t>(&*only);
        params.push_back(i ? std::to_string(*i) : std::get<Str>(*only).str());
        params.push_back(i ? "true" : "false");
        filter = "AND customer_key = $2 AND key_is_integer = $3::boolean ";
    }
    auto rows = db.exec(
        "SELECT customer_key, key_is_integer, segment, tactical FROM strata_membership "
        "WHERE run_id = $1::bigint " +
            filter +
            "ORDER BY key_is_integer DESC, CASE WHEN key_is_integer THEN customer_key::numeric "
            "END, customer_key",
        params);
    if (!rows) return rows.error();
    std::vector<MembershipRow> out;
    out.reserve(rows.value().rows.size());
    for (const auto& row : rows.value().rows) {
        Value key = intern(text_of(row[0]));
        if (text_of(row[1]) == "t") {
            if (auto i = parse_integer_text(text_of(row[0]))) key = *i;
        }
        out.push_back({key, intern(text_of(row[2])), intern(text_of(row[3]))});
    }
    return out;
}

Outcome<std::map<std::string, SegmentActions>> load_postgres_segment_actions(PostgresConnection& db,
                                                                             int64_t run_id) {
    // The summary is the run's JSON document; a segment without an offer, channel or priority
    // has the key null.
    auto rows = db.exec(
        "SELECT s->>'id', s->>'offer', s->>'channel', "
        "CASE WHEN jsonb_typeof(s->'priority') = 'number' THEN s->>'priority' END "
        "FROM strata_runs r, jsonb_array_elements(r.summary::jsonb -> 'segments') s "
        "WHERE r.run_id = $1::bigint",
        {std::to_string(run_id)});
    if (!rows) return rows.error();
    std::map<std::string, SegmentActions> actions;
    for (const auto& row : rows.value().rows) {
        SegmentActions a;
        a.offer = text_of(row[1]);
        a.channel = text_of(row[2]);
        if (row[3]) a.priority = integer_of(row[3]);
        actions[text_of(row[0])] = std::move(a);
    }
    return actions;
}

Outcome<std::optional<std::string>> postgres_refuses_unbumped_version(
    PostgresConnection& db, const std::string& ruleset, int64_t version, const std::string& sha256,
    const std::string& source, const std::string& show_options) {
    auto rows = db.exec(
        "SELECT sha256, encode(source, 'hex'), first_seen FROM strata_versions "
        "WHERE ruleset = $1 AND version = $2::bigint ORDER BY first_seen, sha256",
        {ruleset, std::to_string(version)});
    if (!rows) return rows.error();
    std::vector<RegisteredVersion> contents;
    for (const auto& row : rows.value().rows) {
        RegisteredVersion v;
        v.ruleset = ruleset;
        v.version = version;
        v.sha256 = text_of(row[0]);
        if (row[1]) v.source = from_hex(*row[1]);
        v.first_seen = text_of(row[2]);
        contents.push_back(std::move(v));
    }
    return unbumped_version_message(ruleset, version, sha256, source, contents, show_options);
}

Outcome<Done> register_postgres_version(PostgresConnection& db, const std::string& ruleset,
                                        int64_t version, const std::string& sha256,
                                        const std::optional<std::string>& source,
                                        const std::string& first_seen) {
    auto done = db.exec(
        "INSERT INTO strata_versions (ruleset, version, sha256, source, first_seen) "
        "VALUES ($1, $2::bigint, $3, decode($4, 'hex'), $5) "
        "ON CONFLICT (ruleset, version, sha256) DO UPDATE SET "
        "source = coalesce(strata_versions.source, excluded.source)",
        {ruleset, std::to_string(version), sha256,
         source ? Cell(hex_of(*source)) : Cell(std::nullopt), first_seen});
    if (!done) return done.error();
    return Done{};
}

}  // namespace strata::state
