// What `strata report` shows, gathered from the stored state (runs, their summaries, membership,
// the registered versions' sources, the outbox) and, for the sections that need each customer's
// values, from a dry run of the run's own rule version against the data at the run's as_of.
// docs/report.md describes each section and how it is computed.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace strata::report {

// A let whose average in a segment is far from the base's: (segment mean − base mean) / base
// standard deviation (population standard deviation over the customers with a value).
struct LetDistance {
    std::string let;
    double segment_mean = 0;
    double base_mean = 0;
    double z = 0;
};

// One segment of the run, as its stored summary has it (the numbers `strata run --format json`
// printed), with what the rule file says to do with it.
struct SegmentRow {
    std::string id;
    std::string path;    // general: the id; tactical: the path stored by the run
    std::string parent;  // tactical: the general segment's id; general: ""
    int depth = 0;       // 0: general; 1 and more: tactical
    std::string label;
    int64_t count = 0;
    double share = 0;  // of the run's customers
    std::optional<double> value_total, value_avg, value_share;
    std::string goal, offer, channel, contact_every;  // "" when not given
    std::optional<int64_t> priority;
    // Customers contacted per month: count × contacts per month of contact_every; none without.
    std::optional<double> contacts_per_month;
    std::vector<LetDistance> distinct;  // at most 3, furthest first (needs the customer values)
};

// A finding of the quality checks (seed 003: substantial, actionable; seed 002: 6–10 segments).
struct QualityFlag {
    std::string segment;  // a path, or "" for the segmentation as a whole
    std::string kind;     // too_small, not_actionable, too_many_segments, data_quality
    std::string text;
};

struct Flow {
    std::string from;  // "(new)" for customers new to the base
    std::string to;    // "(left)" for customers who left it
    int64_t count = 0;
};

// Customers between the general segments of run `from_run` and run `to_run`.
struct Moves {
    int64_t from_run = 0;
    std::string from_as_of;
    int64_t to_run = 0;
    std::string to_as_of;
    std::vector<Flow> flows;  // every pair with customers, stays in the same segment included
    int64_t stayed = 0, up = 0, down = 0, entered = 0, left = 0;
};

// Segment sizes of every stored run of the ruleset, oldest first.
struct SizeHistory {
    std::vector<int64_t> runs;
    std::vector<std::string> as_of;
    std::vector<std::string> segments;                   // general ids, latest file order first
    std::map<std::string, std::vector<int64_t>> counts;  // per segment, per run (0 when absent)
};

struct TriggerRow {
    std::string id, on;
    int64_t customers = 0, enqueued = 0, held_out = 0, capped = 0, cooled_down = 0;
};

struct OutboxCount {
    std::string trigger, status;
    int64_t count = 0;
};

struct ReadoutRow {
    std::string trigger, success;
    int64_t fired = 0, held_out = 0;
    std::optional<double> treated_share, held_out_share;  // 0..1
    std::optional<double> difference_pp, low_pp, high_pp;
};

// The R × F grid of an rfm let: customers (and their total value) per cell.
struct RfmGrid {
    std::string let;
    int bins = 0;
    std::vector<std::vector<int64_t>> customers;  // [r - 1][f - 1]
    std::vector<std::vector<double>> value;       // [r - 1][f - 1]
    bool best_low = false;                        // rfm best: low (1 is the best score)
    int64_t unscored = 0;  // customers without an r and an f (no rows to score): not in the grid
};

struct ReportModel {
    std::string ruleset;
    int64_t version = 0;
    std::string sha256;
    std::string as_of;
    int64_t run_id = 0;
    std::string ran_at;  // the run's stored start time (UTC)
    int64_t customers = 0;
    std::optional<double> value_total;
    std::string value_name;  // the rule file's `value` expression, "" when it has none
    int64_t data_quality_findings = 0;
    std::vector<std::string> data_quality_lines;  // the findings, in words
    std::vector<SegmentRow> segments;             // general ones each followed by its tactical
    double min_share = 0.01;                      // the rule file's report.min_share
    int64_t min_share_basis_points = 100;         // the same, exactly (0.01% units)
    std::vector<QualityFlag> flags;
    std::map<std::string, double> contacts_by_channel;  // per month

    // Sections computed from the dry run: absent when it could not be made.
    bool customer_values = false;
    std::vector<std::string> notes;  // why a section is missing, or the data changed since
    std::vector<std::pair<double, double>> pareto;  // (share of customers, share of value)
    std::optional<RfmGrid> rfm;

    std::optional<Moves> moves;
    SizeHistory history;
    std::string firing;  // the run's: initial, data or rules
    std::vector<TriggerRow> triggers;
    std::vector<OutboxCount> outbox;
    std::vector<ReadoutRow> readout;
    // The readout counts the ruleset's firings up to its latest run, which may be later than
    // the reported one: that run and its as_of (0 and "" without a readout).
    int64_t readout_run = 0;
    std::string readout_as_of;
};

struct ReportRequest {
    // Default: the ruleset of run `run` when given, else of the latest stored run.
    std::optional<std::string> ruleset;
    std::optional<int64_t> run;      // default: the ruleset's latest run
    std::optional<int64_t> compare;  // default: the ruleset's run before `run`
};

// Gathers the model. `data` is the customer database, `state` holds the runs (may be the same
// connection). On a usage or state problem (no runs, an unknown ruleset or run, a run to
// compare that is the same or of another ruleset) returns nullopt with `error` set: exit 2.
std::optional<ReportModel> gather_report(SQLite::Database& data, SQLite::Database& state,
                                         const ReportRequest& request, std::string& error);

// Customers contacted per month for a cadence text ("2w", "1mo", "10d", "1y"): months count
// 1/months, days 30.4375/days (a month is 365.25 / 12 days; weeks are 7 days). nullopt for an
// empty or unreadable text.
std::optional<double> contacts_per_month(const std::string& contact_every);

}  // namespace strata::report
