// The shared tactical segments' second pass (dsl/shared_tactical.hpp).
#include "dsl/shared_tactical.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dsl/diagnostics.hpp"

namespace strata {

void resolve_shared_tactical(YamlReader& reader, RuleFile& rf) {
    std::map<std::string, Location> ids;  // every general and tactical id
    std::function<void(const std::vector<SegmentDef>&)> add =
        [&](const std::vector<SegmentDef>& segs) {
            for (const auto& s : segs) {
                if (!s.id.empty()) ids.emplace(s.id, s.id_location);
                add(s.tactical);
            }
        };
    add(rf.segments);
    std::vector<std::string> general_ids;
    std::map<std::string, size_t> general_index;
    for (size_t i = 0; i < rf.segments.size(); ++i) {
        general_ids.push_back(rf.segments[i].id);
        general_index.emplace(rf.segments[i].id, i);
    }
    auto at = [&reader](Location l) { return reader.place(l); };
    for (SharedTacticalDef& shared : rf.shared_tactical) {
        const SegmentDef& seg = shared.segment;
        if (!seg.id.empty()) {
            auto it = ids.find(seg.id);
            if (it != ids.end()) {
                reader.error(DiagnosticCode::DuplicateId, seg.id_location,
                             "duplicate segment id '" + seg.id + "': a segment at " +
                                 at(it->second) +
                                 " has it too; ids are unique in the whole file, shared tactical "
                                 "ones included");
            } else {
                ids.emplace(seg.id, seg.id_location);
            }
        }
        if (shared.within_all) {
            for (size_t i = 0; i < rf.segments.size(); ++i)
                shared.parents.push_back(i);
            continue;
        }
        std::map<std::string, Location> named;
        for (const auto& item : shared.within) {
            const std::string& id = item.first;
            const Location& where = item.second;
            auto g = general_index.find(id);
            if (g == general_index.end()) {
                const bool tactical =
                    ids.count(id) > 0 ||
                    std::any_of(rf.shared_tactical.begin(), rf.shared_tactical.end(),
                                [&](const SharedTacticalDef& t) { return t.segment.id == id; });
                reader.error(DiagnosticCode::UnknownName, where,
                             tactical ? "'within' of '" + seg.id + "' names '" + id +
                                            "', a tactical segment; a shared tactical segment "
                                            "applies inside general segments only"
                                      : "unknown general segment '" + id + "' in 'within' of '" +
                                            seg.id + "'" + did_you_mean(id, general_ids));
                continue;
            }
            const auto [first, inserted] = named.emplace(id, where);
            if (!inserted) {
                reader.error(DiagnosticCode::DuplicateId, where,
                             "'within' of '" + seg.id + "' names '" + id + "' twice (first at " +
                                 at(first->second) + ")");
                continue;
            }
            shared.parents.push_back(g->second);
        }
        std::sort(shared.parents.begin(), shared.parents.end());
    }
}

}  // namespace strata
