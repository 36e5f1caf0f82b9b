// The report's RunStore on a SQLite state file (engine/state.hpp), and `gather_report`, which
// reads a run stored there.
#include <SQLiteCpp/Statement.h>

#include "analysis/holdout_readout.hpp"
#include "engine/state.hpp"
#include "engine/stays.hpp"
#include "report/customer_values.hpp"
#include "report/report_model.hpp"
#include "report/run_store.hpp"

namespace strata::report {

namespace {

class SqliteRunStore : public RunStore {
  public:
    SqliteRunStore(SQLite::Database& data, SQLite::Database& state) : data_(data), state_(state) {}

    std::string where() const override { return state_.getFilename(); }
    std::string listing_hint() const override { return " ('strata runs' lists the stored runs)"; }

    std::optional<std::vector<RunRecord>> runs() override {
        StoreError error;
        const auto tables = state_tables(state_, error);
        if (!tables) throw StoreReadError{error.message};
        tables_ = *tables;
        if (!tables_.runs) return std::nullopt;
        SQLite::Statement q(state_,
                            "SELECT run_id, ruleset, version, rules_sha256, rules_path, as_of, "
                            "started_at, finished_at, status, customers, summary "
                            "FROM strata_runs ORDER BY run_id");
        std::vector<RunRecord> out;
        while (q.executeStep()) {
            RunRecord r;
            r.run_id = q.getColumn(0).getInt64();
            r.ruleset = q.getColumn(1).getString();
            r.version = q.getColumn(2).getInt64();
            r.rules_sha256 = q.getColumn(3).getString();
            r.rules_path = q.getColumn(4).getString();
            r.as_of = q.getColumn(5).getString();
            r.started_at = q.getColumn(6).getString();
            r.finished_at = q.getColumn(7).getString();
            r.status = q.getColumn(8).getString();
            r.customers = q.getColumn(9).getInt64();
            r.summary_json = q.getColumn(10).getString();
            out.push_back(std::move(r));
        }
        return out;
    }

    bool has_membership() override { return tables_.stays; }

    // The two runs' membership, both in key order, walked side by side.
    FlowCounts flows(const RunRecord& from, const RunRecord& to) override {
        StoreError error;
        const auto before = load_membership(state_, from.run_id, error);
        const auto after = load_membership(state_, to.run_id, error);
        if (!error.message.empty()) throw StoreReadError{error.message};
        FlowCounts counts;
        size_t i = 0, j = 0;
        while (i < before.size() || j < after.size()) {
            int c = 0;
            if (i == before.size())
                c = 1;
            else if (j == after.size())
                c = -1;
            else
                c = compare_keys(before[i].key, after[j].key);
            if (c < 0) {
                ++counts[{before[i++].segment.str(), ""}];
            } else if (c > 0) {
                ++counts[{"", after[j++].segment.str()}];
            } else {
                ++counts[{before[i++].segment.str(), after[j++].segment.str()}];
            }
        }
        return counts;
    }

    std::vector<OutboxCount> outbox(const std::string& ruleset) override {
        return sqlite_outbox_counts(state_, ruleset);
    }

    void add_customer_values(const RunRecord& run, ReportModel& m) override {
        report::add_customer_values(data_, state_, run, m);
    }

    void add_readout(ReportModel& m) override {
        if (!tables_.stays) return;
        StoreError error;
        auto readout = holdout_readout(state_, m.ruleset, error);
        if (!readout) throw StoreReadError{error.message};
        add_readout_rows(*readout, m);
    }

  private:
    SQLite::Database& data_;
    SQLite::Database& state_;
    StateTables tables_;
};

}  // namespace

std::vector<OutboxCount> sqlite_outbox_counts(SQLite::Database& state, const std::string& ruleset) {
    std::vector<OutboxCount> out;
    if (!state.tableExists("strata_outbox")) return out;
    SQLite::Statement o(state,
                        "SELECT trigger_id, status, count(*) FROM strata_outbox "
                        "WHERE ruleset = ? GROUP BY trigger_id, status "
                        "ORDER BY trigger_id, status");
    o.bind(1, ruleset);
    while (o.executeStep())
        out.push_back(
            {o.getColumn(0).getString(), o.getColumn(1).getString(), o.getColumn(2).getInt64()});
    return out;
}

void add_readout_rows(const std::vector<RulesetReadout>& readout, ReportModel& m) {
    for (const RulesetReadout& r : readout) {
        m.readout_run = r.latest_run;
        m.readout_as_of = r.latest_as_of;
        for (const TriggerReadout& t : r.triggers) {
            ReadoutRow row;
            row.trigger = t.trigger;
            row.success = t.success ? t.success->text : std::string();
            row.fired = static_cast<int64_t>(t.fired);
            row.held_out = static_cast<int64_t>(t.held_out);
            row.treated_share = t.treated.share();
            row.held_out_share = t.held_out_group.share();
            if (t.difference) {
                row.difference_pp = t.difference->points;
                row.low_pp = t.difference->low;
                row.high_pp = t.difference->high;
            }
            m.readout.push_back(std::move(row));
        }
    }
}

std::optional<ReportModel> gather_report(SQLite::Database& data, SQLite::Database& state,
                                         const ReportRequest& request, std::string& error) {
    SqliteRunStore store(data, state);
    return gather_from_store(store, request, error);
}

}  // namespace strata::report
