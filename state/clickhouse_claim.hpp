// One run of a ruleset at a time inside ClickHouse, and run ids that no two runs share,
// without transactions or locks (ClickHouse 18.16 has neither).
//
// Run ids: a run takes the highest id so far + 1 by inserting a row of strata_run_claims (the
// id and a random token of its own) and reading back how many claims that id has. The id is
// the run's only when its claim is the only one. Of two runs that read the same highest id and
// both insert, the later reader sees two claims; a claim inserted after the first run read
// back makes the second see two. Either way one of them tries the next id, so no two runs hold
// one id (an id claimed twice is given to nobody).
//
// One run of a ruleset at a time: a run holding an id announces itself in
// strata_run_heartbeats, then looks for another announced run of the ruleset that is alive: its
// latest heartbeat is under kLeaseSeconds old by the server's clock and it has not stepped
// back. Seeing one, it steps back (a heartbeat row that says so) and tries again after a pause
// until `wait` is over. Of two runs that announce themselves at once, each sees the other and
// both step back for a while; of two that do not, the later one sees the earlier. So two runs
// of one ruleset never both go on. While a run goes on, a thread of its own beats every
// kBeatSeconds. A run that died stops beating, and kLeaseSeconds later its ruleset is free
// again; the next run then removes its rows (dead_clickhouse_runs counts only runs not alive).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "warehouse/clickhouse_client.hpp"

namespace strata::state {

class ClickHouseRunClaim {
  public:
    static constexpr int kLeaseSeconds = 120;
    static constexpr int kBeatSeconds = 10;

    // Claims a new run id for `ruleset` and waits, up to `wait_ms`, until no other run of the
    // ruleset is alive. REQUIRES: ensure_clickhouse_state made the tables. nullptr with
    // `error` set when another run stayed alive for all of `wait_ms`, or the server failed.
    static std::unique_ptr<ClickHouseRunClaim> take(const warehouse::ClickHouseUrl& url,
                                                    const std::string& ruleset, int wait_ms,
                                                    std::string& error);
    // Stops the heartbeat and steps back: the ruleset is free for the next run at once.
    ~ClickHouseRunClaim();
    ClickHouseRunClaim(const ClickHouseRunClaim&) = delete;
    ClickHouseRunClaim& operator=(const ClickHouseRunClaim&) = delete;

    int64_t run_id() const { return run_id_; }

  private:
    ClickHouseRunClaim(warehouse::ClickHouseUrl url, std::string ruleset, std::string token,
                       int64_t run_id, int64_t beat);
    void beat_until_stopped();

    warehouse::ClickHouseUrl url_;
    std::string ruleset_;
    std::string token_;
    int64_t run_id_ = 0;
    int64_t beat_ = 0;  // the sequence number of the latest heartbeat row
    std::mutex mutex_;
    std::condition_variable stop_asked_;
    bool stop_ = false;
    std::thread beating_;  // last: starts once everything above exists
};

// The ids of the runs of `ruleset` that are alive now, as a subquery.
std::string alive_clickhouse_runs(const std::string& ruleset);

}  // namespace strata::state
