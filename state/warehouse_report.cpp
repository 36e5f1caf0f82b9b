#include "state/warehouse_report.hpp"

#include <cstdlib>

namespace strata::state {

namespace {

void in_report_order(std::vector<SegmentResult>& segments, std::vector<SegmentResult*>& out) {
    for (auto& s : segments) {
        out.push_back(&s);
        in_report_order(s.tactical, out);
    }
}

}  // namespace

std::string unplaced_message(Policy policy, int64_t count, const std::string& samples,
                             bool stored) {
    const std::string customers =
        std::to_string(count) + (count == 1 ? " customer matches" : " customers match");
    const char* not_stored = stored ? ", so nothing was stored" : "";
    if (policy == Policy::Exclusive)
        return std::string("policy 'exclusive' does not hold") + not_stored + ":\n  " + customers +
               " no segment or more than one (e.g. " + samples +
               "); 'strata explain' shows each one's conditions";
    return customers + " no general segment (e.g. " + samples + ")" + not_stored +
           "; add a last segment with 'when: otherwise'";
}

int64_t cell_integer(const warehouse::Cell& cell) {
    return cell ? std::strtoll(cell->c_str(), nullptr, 10) : 0;
}

double cell_number(const warehouse::Cell& cell) {
    return cell ? std::strtod(cell->c_str(), nullptr) : 0.0;
}

WarehouseReport::WarehouseReport(const CompiledRules& rules, RunReport& rep)
    : rep_(rep), plan_(plan_segments(rules.segments, rep.segments)) {
    in_report_order(rep.segments, ordered_);
    for (size_t g = 0; g < rep.segments.size(); ++g)
        general_.emplace(rep.segments[g].def->id, g);
}

SegmentResult* WarehouseReport::tactical(size_t g, const std::string& path) {
    for (const TacticalNode& node : plan_.tactical[g]) {
        if (plan_.tag_paths[node.tag] == path) return node.result;
    }
    return nullptr;
}

void WarehouseReport::add_group(const warehouse::Row& row, size_t unknowns) {
    const size_t g = general_.at(row[0].value_or(""));
    const auto n = static_cast<size_t>(cell_integer(row[2]));
    const auto valued = static_cast<size_t>(cell_integer(row[3]));
    auto add = [&](SegmentResult& r) {
        r.count += n;
        r.value_count += valued;
    };
    add(rep_.segments[g]);
    rep_.customers += n;
    for (const std::string& path : split_tactical(row[1].value_or(""))) {
        if (SegmentResult* r = tactical(g, path)) add(*r);
    }
    for (size_t i = 0; i < unknowns && i < ordered_.size(); ++i)
        ordered_[i]->unknown += static_cast<size_t>(cell_integer(row[4 + i]));
}

ExactTotal WarehouseReport::total_of(const std::optional<std::string>& units_text,
                                     bool out_of_range) {
    if (out_of_range) return ExactTotal::of(std::nullopt);
    if (!units_text) return ExactTotal{};
    return ExactTotal::of(parse_sum_units(*units_text));
}

void WarehouseReport::set_value(const std::string& segment, const std::string& path,
                                const ExactTotal& total) {
    const size_t g = general_.at(segment);
    if (path.empty()) {
        rep_.segments[g].value_total = total;
    } else if (SegmentResult* r = tactical(g, path)) {
        r->value_total = total;
    }
}

void WarehouseReport::finish_values() {
    rep_.value_total = ExactTotal{};
    for (const auto& s : rep_.segments)
        rep_.value_total.add(s.value_total);
}

RunTransitions WarehouseReport::moves(const std::optional<RunRecord>& previous, int64_t version,
                                      const std::vector<warehouse::Row>& rows) {
    RunTransitions out;
    if (previous) {
        out.since_run = previous->run_id;
        out.since_as_of = previous->as_of;
    }
    out.cause = !previous ? "initial" : previous->version != version ? "rules" : "data";
    Transitions& t = out.counts;
    for (const auto& row : rows) {
        const std::string from = row[0].value_or(""), to = row[1].value_or("");
        const auto n = static_cast<size_t>(cell_integer(row[2]));
        t.counts[{from, to}] += n;
        if (from != to) t.moved += n;
        if (from.empty()) t.entered += n;
        if (to.empty()) t.left += n;
    }
    return out;
}

}  // namespace strata::state
