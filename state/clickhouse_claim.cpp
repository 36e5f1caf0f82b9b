#include "state/clickhouse_claim.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "state/clickhouse_state.hpp"

namespace strata::state {

using warehouse::ClickHouseClient;
using warehouse::ResultTable;

namespace {

int64_t first_integer(const ResultTable& t) {
    if (t.rows.empty() || t.rows[0].empty() || !t.rows[0][0]) return 0;
    return std::strtoll(t.rows[0][0]->c_str(), nullptr, 10);
}

std::string random_token(std::mt19937_64& rng) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(rng()));
    return text;
}

// A heartbeat row: `stepped_back` 1 says the run no longer counts as alive.
std::string heartbeat(const std::string& ruleset, int64_t run_id, const std::string& token,
                      int64_t beat, bool stepped_back) {
    return "INSERT INTO strata_run_heartbeats (ruleset, run_id, token, beat, at, stepped_back) "
           "SELECT " +
           lit(ruleset) + ", " + std::to_string(run_id) + ", " + lit(token) + ", " +
           std::to_string(beat) + ", now(), " + (stepped_back ? "1" : "0");
}

// The alive runs of `ruleset`: run_id and the time of its latest heartbeat.
std::string alive_with_times(const std::string& ruleset) {
    return "SELECT run_id, toString(max(at)) AS last FROM strata_run_heartbeats WHERE ruleset = " +
           lit(ruleset) + " GROUP BY run_id, token HAVING argMax(stepped_back, beat) = 0 AND " +
           "max(at) >= now() - " + std::to_string(ClickHouseRunClaim::kLeaseSeconds);
}

}  // namespace

std::string alive_clickhouse_runs(const std::string& ruleset) {
    return "SELECT run_id FROM (" + alive_with_times(ruleset) + ")";
}

std::unique_ptr<ClickHouseRunClaim> ClickHouseRunClaim::take(const warehouse::ClickHouseUrl& url,
                                                             const std::string& ruleset,
                                                             int wait_ms, std::string& error) {
    ClickHouseClient client(url);
    std::mt19937_64 rng(std::random_device{}());
    const std::string token = random_token(rng);
    ResultTable t;

    // An id of its own.
    int64_t run_id = 0;
    for (int attempt = 0; attempt < 50 && run_id == 0; ++attempt) {
        if (!run_statement(client,
                           "SELECT greatest((SELECT max(run_id) FROM strata_runs), (SELECT "
                           "max(run_id) FROM strata_run_claims)) + 1",
                           &t, error))
            return nullptr;
        const int64_t id = first_integer(t);
        if (!run_statement(client,
                           "INSERT INTO strata_run_claims (run_id, ruleset, token, claimed_at) "
                           "SELECT " +
                               std::to_string(id) + ", " + lit(ruleset) + ", " + lit(token) +
                               ", now()",
                           nullptr, error) ||
            !run_statement(
                client,
                "SELECT count() FROM strata_run_claims WHERE run_id = " + std::to_string(id), &t,
                error))
            return nullptr;
        if (first_integer(t) == 1) run_id = id;
    }
    if (run_id == 0) {
        error = "could not claim a run id in strata_run_claims: other runs kept taking the same";
        return nullptr;
    }

    // The ruleset to itself, waiting for another run of it for up to wait_ms.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    int64_t beat = 0;
    for (;;) {
        if (!run_statement(client, heartbeat(ruleset, run_id, token, ++beat, false), nullptr,
                           error) ||
            !run_statement(client,
                           "SELECT run_id, last FROM (" + alive_with_times(ruleset) +
                               ") WHERE run_id != " + std::to_string(run_id) + " ORDER BY run_id",
                           &t, error))
            return nullptr;
        if (t.rows.empty()) break;
        const std::string other = t.rows[0][0].value_or("?"), last = t.rows[0][1].value_or("?");
        if (!run_statement(client, heartbeat(ruleset, run_id, token, ++beat, true), nullptr, error))
            return nullptr;
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            error = "another run of ruleset '" + ruleset + "' (run " + other +
                    ", its latest heartbeat at " + last +
                    " UTC) is under way in this ClickHouse database; nothing was stored. Runs "
                    "of a ruleset go one at a time: wait for it (--wait), or, if it died, " +
                    "for its heartbeat to be " + std::to_string(kLeaseSeconds) + " s old";
            return nullptr;
        }
        const auto pause = std::chrono::milliseconds(200 + static_cast<int>(rng() % 500));
        spdlog::debug("run {} of '{}' waits for run {} of the same ruleset", run_id, ruleset,
                      other);
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    }
    return std::unique_ptr<ClickHouseRunClaim>(
        new ClickHouseRunClaim(url, ruleset, token, run_id, beat));
}

ClickHouseRunClaim::ClickHouseRunClaim(warehouse::ClickHouseUrl url, std::string ruleset,
                                       std::string token, int64_t run_id, int64_t beat)
    : url_(std::move(url)),
      ruleset_(std::move(ruleset)),
      token_(std::move(token)),
      run_id_(run_id),
      beat_(beat),
      beating_([this] { beat_until_stopped(); }) {}

void ClickHouseRunClaim::beat_until_stopped() {
    ClickHouseClient client(url_);
    std::string error;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        const bool stopping = stop_asked_.wait_for(lock, std::chrono::seconds(kBeatSeconds),
                                                   [this] { return stop_; });
        if (!run_statement(client, heartbeat(ruleset_, run_id_, token_, ++beat_, stopping), nullptr,
                           error))
            spdlog::debug("run {}: a heartbeat failed: {}", run_id_, error);
        if (stopping) return;
    }
}

ClickHouseRunClaim::~ClickHouseRunClaim() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    stop_asked_.notify_all();
    if (beating_.joinable()) beating_.join();
}

}  // namespace strata::state
