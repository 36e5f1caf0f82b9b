// A ruleset's stays, read once and kept by customer, so that whether a firing met its
// trigger's `success` is a lookup and a few comparisons in memory rather than a query per
// firing (strata_stays is keyed by ruleset and exited run, not by customer).
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/holdout_readout.hpp"
#include "engine/value.hpp"

namespace strata {

class StayIndex {
  public:
    // Reads the runs of `ruleset` (their as_of) and its stays in the segments named in
    // `segments` (general ids or tactical paths), plus every general stay when
    // `every_general` (for `any` and `none`). Throws SQLite::Exception.
    StayIndex(SQLite::Database& state, const std::string& ruleset,
              const std::vector<std::string>& segments, bool every_general);

    // Whether the customer's stays meet `success` in the window (t0, t1] (header of
    // holdout_readout.hpp). REQUIRES: the segments of `success` were among those read.
    bool met(const SuccessDefinition& success, const Value& key, Date t0, Date t1) const;

    size_t stays() const { return stays_read_; }

  private:
    struct Stay {
        int64_t segment;  // the code in strata_segments
        int64_t level;
        int64_t entered_run;
        int64_t exited_run;  // 0 while it lasts
        int32_t entered_day;
        int32_t exited_day;  // INT32_MAX while it lasts
    };
    struct KeyHash {
        size_t operator()(const Value& key) const;
    };
    struct KeyEqual {
        bool operator()(const Value& a, const Value& b) const;
    };
    // A segment reference resolved against the ruleset's segment codes.
    struct Match {
        SegmentRef::Kind kind;
        int64_t code;  // -1: a segment no stay was ever in
        bool operator()(const Stay& s) const;
    };
    Match resolve(const SegmentRef& ref) const;
    // Whether the stay covered some run of the ruleset whose as_of is in (t0, t1]: a run
    // from the one it entered at up to (not including) the one it exited at. By run, not by
    // day: a run stored again on the same day can end a stay the day's first run saw.
    bool covered_run_in(const Stay& s, Date t0, Date t1) const;

    std::unordered_map<std::string, int64_t> codes_;  // segment name → code
    std::unordered_map<int64_t, int32_t> run_days_;   // run id → as_of (days)
    std::vector<std::pair<int32_t, int64_t>> runs_;   // (as_of, run id), by day
    std::unordered_map<Value, std::vector<Stay>, KeyHash, KeyEqual> by_key_;
    size_t stays_read_ = 0;
};

}  // namespace strata
