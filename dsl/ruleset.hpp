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
    std::optional<int> priority;  // 1 (highest) to 3
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

struct TypeOverride {
    Type type;
    Location location;
};

struct FactDef {
    std::string name;  // how expressions refer to it: count(orders)
    Location location;
    std::string table;
    std::string key;
    std::string time;  // optional: the column that places a fact in time
    Location time_location;
    std::map<std::string, TypeOverride> types;
};

struct LetDef {
    std::string name;
    Location location;
    ExprText expr;
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
};

}  // namespace strata
