// The rule file as loaded from YAML: structure and expression texts, not yet parsed or bound.
// Every element keeps its position in the file for diagnostics.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dsl/ast.hpp"
#include "dsl/calendar.hpp"
#include "dsl/source.hpp"
#include "dsl/types.hpp"

namespace strata {

// An expression scalar and where each of its bytes sits in the file.
struct ExprText {
    std::string text;
    std::vector<size_t> file_offsets;  // one per byte of text, plus one for the end
    Location location;                 // of the scalar as a whole
    char yaml_quote = 0;               // ' or " when the file quoted the whole scalar
    bool present() const { return location.valid(); }
    // The file location of an expression span.
    Location locate(const SourceFile& file, ast::Span span) const;
};

struct SegmentMeta {
    std::string label;
    std::string description;
    std::string goal;
    std::string offer;
    std::string channel;
    std::optional<Duration> contact_every;
    std::string contact_every_text;  // as written (`7d`), for display
    std::optional<int> priority;     // 1 (highest) to 3
};

struct SegmentDef {
    std::string id;
    Location id_location;
    Location location;  // the segment's mapping
    ExprText when;
    bool otherwise = false;  // `when: otherwise`
    SegmentMeta meta;
    std::vector<SegmentDef> tactical;
};

// A shared tactical segment: defined once at the top level (`tactical:` beside `general:`),
// it holds inside each general segment `within` names, under one id. It has no tactical
// segments of its own.
struct SharedTacticalDef {
    SegmentDef segment;       // id, when and the texts for people; `tactical` stays empty
    bool within_all = false;  // `within: all`
    std::vector<std::pair<std::string, Location>> within;  // the ids as written
    // The general segments it applies inside, as indices into RuleFile::segments, in the
    // general level's order (every one for `within: all`). Only the names that resolved.
    std::vector<size_t> parents;
};

struct TypeOverride {
    Type type;
    Location location;
};

struct FactDef {
    std::string name;  // how expressions refer to it: count(orders)
    Location location;
    std::string table;
    Location table_location;  // of `table:`'s value; invalid when the table is the fact's name
    std::string key;
    Location key_location;
    std::string time;  // optional: the column that places a fact in time
    Location time_location;
    std::map<std::string, TypeOverride> types;
};

struct LetDef {
    std::string name;
    Location location;
    ExprText expr;
};

// What a trigger fires on, and what its `success` looks for: `enter X`, `exit X`, `in X` or
// `move X -> Y`. X and Y name a segment (a general id or a tactical id) or `any`; a move's
// X may also be `none` (a customer new to the base).
enum class TriggerEvent { Enter, Exit, Move, In };
const char* trigger_event_name(TriggerEvent e);

struct EventDef {
    TriggerEvent event = TriggerEvent::Enter;
    std::string segment;  // X; for a move, where the customer came from
    Location segment_location;
    std::string to;  // a move's Y
    Location to_location;
    std::string text;  // as written
    Location location;
};

// One parameter of an action: a string with {{expression}} templates.
struct ActionParamDef {
    std::string name;
    Location location;  // of the name
    ExprText text;      // the whole value; its location is the value's
};

struct ActionDef {
    std::string type;  // email, sms, push, task, webhook, tag or a custom name
    Location location;
    std::vector<ActionParamDef> params;  // in file order
};

struct TriggerDef {
    std::string id;
    Location id_location;
    Location location;
    EventDef on;
    ExprText when;                    // optional extra condition
    std::optional<int64_t> priority;  // under the frequency cap, lower goes first
    std::optional<Duration> cooldown;
    std::string cooldown_text;  // as written (`7d`, where format_duration gives `1w`)
    Location cooldown_location;
    int holdout_basis_points = 0;  // of 10000: `holdout: 12.5%` is 1250
    std::optional<EventDef> success;
    Duration success_within;
    std::string success_within_text;  // as written
    std::vector<ActionDef> actions;
};

// `frequency_cap: N per D`: at most N trigger firings per customer within any D, across the
// ruleset's triggers.
struct FrequencyCap {
    int64_t count = 0;
    Duration per;
    Location location;
    std::string per_text;  // as written
};

enum class Policy { FirstMatch, Exclusive };
const char* policy_name(Policy p);

struct RuleFile {
    std::string ruleset;
    int64_t version = 0;
    std::string description;
    std::string owner;
    std::optional<Date> as_of;
    Location as_of_location;

    std::string customers_table = "customers";
    Location customers_location;
    std::string key = "customer_id";
    Location key_location;
    std::map<std::string, TypeOverride> types;
    std::vector<FactDef> facts;
    // Optional: a date column of the customer table; customers whose value is after as_of are
    // left out of the run (they did not exist yet). Written as an expression: one name.
    ExprText since;

    std::vector<LetDef> lets;  // in file order
    Policy policy = Policy::FirstMatch;
    Location policy_location;
    Location general_location;
    Location segments_location;  // the `segments` key
    std::vector<SegmentDef> segments;
    ExprText value;  // optional: the per-customer value field shown in reports
    std::vector<SharedTacticalDef> shared_tactical;  // in file order

    std::optional<FrequencyCap> frequency_cap;
    Location triggers_location;
    std::vector<TriggerDef> triggers;  // in file order

    // `report: { min_share: 2% }`: a general segment below this share of the base is flagged
    // by `strata report` as too small to act on (basis points of 10000; none: the default 1%).
    std::optional<int> report_min_share_basis_points;
};

}  // namespace strata
