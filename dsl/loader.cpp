#include "dsl/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>

#include "dsl/parser.hpp"
#include "dsl/rule_keys.hpp"
#include "dsl/shared_tactical.hpp"
#include "dsl/trigger_loader.hpp"
#include "dsl/yaml_reader.hpp"

namespace strata {

const char* policy_name(Policy p) {
    return p == Policy::Exclusive ? "exclusive" : "first_match";
}

Location ExprText::locate(const SourceFile& file, ast::Span span) const {
    if (file_offsets.empty()) return location;
    const size_t last = file_offsets.size() - 1;
    const size_t begin = file_offsets[std::min<size_t>(span.begin, last)];
    const size_t end = file_offsets[std::min<size_t>(span.end, last)];
    Location loc = file.locate(begin);
    const Location end_loc = file.locate(end);
    // Underline within the line only; a span that crosses lines is marked at its start.
    loc.length = end_loc.line == loc.line && end > begin ? static_cast<int>(end - begin) : 1;
    return loc;
}

namespace {

using Code = DiagnosticCode;

constexpr size_t kMaxFileBytes = 64u << 20;

// Where a second YAML document begins: a document marker ('---' or '...' at the start of a
// line, alone or before a space) after the first document's content, with more content after
// it; nullopt when there is none. A '---' before any content starts the one document, and a
// last '...' ends it. (Markers cannot appear inside content at the start of a line.)
std::optional<Location> second_document(const std::string& text) {
    bool content = false;        // the first document has begun
    std::optional<size_t> mark;  // the marker after it
    int line = 1;
    int mark_line = 0;
    for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string_view l(text.data() + at, end - at);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        const bool marker = (l.substr(0, 3) == "---" || l.substr(0, 3) == "...") &&
                            (l.size() == 3 || l[3] == ' ' || l[3] == '\t');
        const size_t first = l.find_first_not_of(" \t");
        const bool blank = first == std::string_view::npos || l[first] == '#' ||
                           (l[0] == '%' && !content);  // a directive
        if (marker) {
            const std::string_view rest = l.substr(3);
            const size_t after = rest.find_first_not_of(" \t");
            const bool inline_content = after != std::string_view::npos && rest[after] != '#';
            if (content && !mark) {
                mark = at;
                mark_line = line;
            }
            if (inline_content && content && mark) return Location{mark_line, 1, 3};
            if (inline_content) content = true;
        } else if (!blank) {
            if (mark) return Location{mark_line, 1, 3};
            content = true;
        }
        at = end + 1;
        ++line;
    }
    return std::nullopt;
}

class Loader : public YamlReader {
  public:
    Loader(const SourceFile& file, Diagnostics& diags) : YamlReader(file, diags) {}

    std::optional<RuleFile> load() {
        if (file_.text().size() > kMaxFileBytes) {
            error(Code::Limit, Location{1, 1, 1},
                  "rule file is too large (" + std::to_string(file_.text().size()) +
                      " bytes; the limit is 64 MiB)");
            return std::nullopt;
        }
        if (file_.text().find('\0') != std::string::npos) {
            error(Code::Yaml, file_.locate(file_.text().find('\0')),
                  "rule file is not text (it contains a NUL byte)");
            return std::nullopt;
        }
        // U+0001 stands in for the space of a hidden ": " while YAML reads the file
        // (hide_inner_value_separators), so one in the file itself would come back a space.
        if (const size_t at = file_.text().find('\x01'); at != std::string::npos) {
            error(Code::InvalidValue, file_.locate(at),
                  "the rule file holds the control character U+0001 here: a rule file may "
                  "hold tabs and line breaks but no other control character");
            return std::nullopt;
        }
        if (!report_invalid_utf8("rule file")) return std::nullopt;
        if (!report_lone_carriage_return("rule file")) return std::nullopt;
        // A second document ('---' after the first one's content; often a newer version
        // pasted below the old one) is never read silently. Found in the text: yaml-cpp's
        // LoadAll can loop forever on malformed input.
        if (auto second = second_document(file_.text())) {
            error(Code::Yaml, *second,
                  "a second YAML document (after a '---' line): a rule file is one document; "
                  "remove the '---' and what is not the rules, or split the file");
            return std::nullopt;
        }
        YAML::Node root;
        try {
            root = YAML::Load(hide_inner_value_separators(file_.text()));
        } catch (const YAML::Exception& e) {
            report_yaml_error(e);
            return std::nullopt;
        } catch (const std::exception& e) {
            error(Code::Yaml, Location{1, 1, 1}, std::string("invalid YAML: ") + e.what());
            return std::nullopt;
        }
        if (!root.IsDefined() || root.IsNull()) {
            error(Code::Structure, Location{1, 1, 1},
                  "rule file is empty; it needs at least 'ruleset', 'version' and 'general'");
            return std::nullopt;
        }
        if (!report_tags_and_unclosed_quotes(root, "rule file")) return std::nullopt;
        if (!root.IsMap()) {
            error(Code::Structure, node_location(root),
                  "a rule file must be a YAML mapping with keys such as 'ruleset' and 'version'");
            return std::nullopt;
        }
        RuleFile rf;
        try {
            read_top(root, rf);
            resolve_shared_tactical(*this, rf);
        } catch (const YAML::Exception& e) {
            error(Code::Yaml, mark_location(e.mark), "invalid YAML: " + e.msg);
        }
        return rf;
    }

  private:
    std::set<int> segment_nodes_;  // the segments read, by place in the file
    std::string table_name(const YAML::Node& n, const std::string& what) {
        auto s = scalar(n, what);
        if (!s) return {};
        if (s->empty()) error(Code::Structure, node_location(n), what + " is empty");
        return *s;
    }

    void read_types(const YAML::Node& n, std::map<std::string, TypeOverride>& types) {
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n),
                  "'types' must map column names to types, e.g. { signup_date: date }");
            return;
        }
        for (auto it = n.begin(); it != n.end(); ++it) {
            auto column = scalar(it->first, "a column name");
            auto type = scalar(it->second, "a column type");
            if (!column || !type) continue;
            auto t = type_from_name(*type);
            if (!t) {
                error(Code::InvalidValue, node_location(it->second),
                      "unknown type '" + *type + "'" +
                          did_you_mean(
                              *type, {"integer", "number", "string", "date", "datetime", "bool"}) +
                          "; use integer, number, string, date, datetime or bool");
                continue;
            }
            types[*column] = TypeOverride{*t, node_location(it->first)};
        }
    }

    void read_source(const YAML::Node& n, RuleFile& rf) {
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n),
                  "'source' must be a mapping with 'customers' and 'key'");
            return;
        }
        visit_map(n, "'source'", rule_keys::source.known, rule_keys::source.required,
                  [&](const YAML::Node&, const YAML::Node& v) {});
        if (n["customers"]) {
            rf.customers_table = table_name(n["customers"], "'source.customers'");
            rf.customers_location = node_location(n["customers"]);
        }
        if (n["key"]) {
            rf.key = table_name(n["key"], "'source.key'");
            rf.key_location = node_location(n["key"]);
        }
        if (n["types"]) read_types(n["types"], rf.types);
        if (n["since"]) rf.since = expression(n["since"], "'source.since'");
        if (n["facts"]) {
            const YAML::Node facts = n["facts"];
            if (!facts.IsMap()) {
                error(Code::Structure, node_location(facts),
                      "'source.facts' must map fact names to {table, key, time}");
                return;
            }
            for (auto it = facts.begin(); it != facts.end(); ++it) {
                FactDef f;
                auto name = scalar(it->first, "a fact name");
                if (!name) continue;
                f.name = *name;
                f.location = node_location(it->first);
                if (!is_identifier(f.name)) {
                    error(Code::InvalidValue, f.location,
                          "fact name '" + f.name + "' must be a plain name (letters, digits, _)");
                }
                const YAML::Node body = it->second;
                if (!body.IsMap()) {
                    error(Code::Structure, node_location(body),
                          "fact '" + f.name + "' must be a mapping with 'table' and 'key'");
                    continue;
                }
                f.table = f.name;
                visit_map(body, "fact '" + f.name + "'", rule_keys::fact.known,
                          rule_keys::fact.required,
                          [&](const YAML::Node& key, const YAML::Node& v) {
                              const std::string& k = key.Scalar();
                              if (k == "table") {
                                  f.table = table_name(v, "'table'");
                                  f.table_location = node_location(v);
                              } else if (k == "key") {
                                  f.key = table_name(v, "'key'");
                                  f.key_location = node_location(v);
                              } else if (k == "time") {
                                  f.time = table_name(v, "'time'");
                                  f.time_location = node_location(v);
                              } else if (k == "types")
                                  read_types(v, f.types);
                          });
                for (const auto& other : rf.facts) {
                    if (other.name == f.name)
                        error(Code::DuplicateId, f.location, "duplicate fact '" + f.name + "'");
                }
                rf.facts.push_back(std::move(f));
            }
        }
    }

    void read_lets(const YAML::Node& n, RuleFile& rf) {
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n),
                  "'let' must map names to expressions, e.g. { revenue: sum(orders.amount) }");
            return;
        }
        std::set<std::string> seen;
        for (auto it = n.begin(); it != n.end(); ++it) {
            auto name = scalar(it->first, "a let name");
            if (!name) continue;
            LetDef let;
            let.name = *name;
            let.location = node_location(it->first);
            if (!is_identifier(let.name)) {
                error(Code::InvalidValue, let.location,
                      "let name '" + let.name + "' must be a plain name (letters, digits, _)" +
                          (is_keyword(let.name) ? " and not a keyword" : ""));
            } else if (let.name == "as_of") {
                error(Code::InvalidValue, let.location,
                      "'as_of' is built in; pick another let name");
            }
            if (!seen.insert(let.name).second) {
                error(Code::DuplicateId, let.location, "duplicate let '" + let.name + "'");
                continue;
            }
            if (it->second.IsNull()) {
                error(Code::Structure, let.location, "let '" + let.name + "' has no expression");
                continue;
            }
            let.expr = expression(it->second, "let '" + let.name + "'");
            rf.lets.push_back(std::move(let));
        }
    }

    // Reads a general or tactical segment; with `shared`, a shared tactical segment (the
    // top-level `tactical` list), whose `within` goes there.
    void read_segment(const YAML::Node& n, SegmentDef& seg, std::map<std::string, Location>& ids,
                      int depth, SharedTacticalDef* shared = nullptr) {
        seg.location = node_location(n);
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n),
                  shared ? "a shared tactical segment must be a mapping with 'id', 'when' and "
                           "'within'"
                         : "a segment must be a mapping with 'id' and 'when'");
            return;
        }
        if (depth > 32) {
            error(Code::Limit, seg.location,
                  "tactical segments are nested too deeply (more than 32 levels)");
            return;
        }
        // A YAML alias (*name) repeats the anchored node, place and all. Its segments are
        // refused below for their ids; they are not read again, since aliases of aliases
        // would repeat a small file's segments exponentially many times.
        if (n.Mark().pos >= 0 && !segment_nodes_.insert(n.Mark().pos).second) {
            const YAML::Node id = n["id"];
            const bool named = id && id.IsScalar();
            error(Code::DuplicateId, named ? node_location(id) : seg.location,
                  "duplicate segment id '" + (named ? id.Scalar() : std::string()) +
                      "': a YAML alias (*name) repeats the segment written here; each segment "
                      "needs an id of its own: write the copy out, or define it once in the "
                      "top-level tactical list with within");
            return;
        }
        const std::string named = n["id"] && n["id"].IsScalar() ? "'" + n["id"].Scalar() + "'" : "";
        // A shared tactical reads `tactical` only to say why it cannot have one.
        std::vector<std::string> known =
            shared ? rule_keys::shared_tactical.known : rule_keys::segment.known;
        if (shared) known.push_back("tactical");
        visit_map(
            n,
            shared ? (named.empty() ? "a shared tactical segment" : "shared tactical " + named)
                   : (named.empty() ? "a segment" : "segment " + named),
            known, shared ? rule_keys::shared_tactical.required : rule_keys::segment.required,
            [&](const YAML::Node& key, const YAML::Node& v) {
                const std::string& k = key.Scalar();
                if (shared && k == "tactical") {
                    error(Code::Structure, node_location(key),
                          "a shared tactical segment cannot have tactical segments of its own; "
                          "define them as shared tactical segments too, or inside a general "
                          "segment");
                } else if (shared && k == "within") {
                    read_within(v, *shared);
                } else if (k == "id") {
                    seg.id =
                        identifier_like(v, "segment id", "may use only letters, digits, _ and -");
                    seg.id_location = node_location(v);
                    // Registered here, before any tactical child, so "first" is first in the file.
                    const auto [first, inserted] = ids.emplace(seg.id, seg.id_location);
                    if (!inserted && !seg.id.empty()) {
                        const std::string at = place(first->second);
                        // A YAML alias (*name) repeats the anchored node, place and all.
                        const bool aliased = first->second.line == seg.id_location.line &&
                                             first->second.col == seg.id_location.col;
                        error(Code::DuplicateId, seg.id_location,
                              aliased
                                  ? "duplicate segment id '" + seg.id +
                                        "': a YAML alias (*name) repeats the segment "
                                        "written here; each segment needs an id of its own: "
                                        "write the copy out, or define it once in the "
                                        "top-level tactical list with within"
                                  : "duplicate segment id '" + seg.id + "' (first at " + at + ")");
                    }
                } else if (k == "when") {
                    // Quoted or not ("otherwise" in a file saved as JSON): YAML reads one
                    // string, and no condition is that word alone.
                    if (v.IsScalar() && v.Scalar() == "otherwise") {
                        seg.otherwise = true;
                        seg.when.location = node_location(v);
                    } else if (v.IsNull()) {
                        error(Code::Structure, node_location(key), "'when' has no condition");
                    } else {
                        seg.when = expression(v, "'when'");
                    }
                } else if (k == "label") {
                    seg.meta.label = scalar(v, "'label'").value_or("");
                } else if (k == "description") {
                    seg.meta.description = scalar(v, "'description'").value_or("");
                } else if (k == "goal") {
                    seg.meta.goal = scalar(v, "'goal'").value_or("");
                } else if (k == "offer") {
                    seg.meta.offer = scalar(v, "'offer'").value_or("");
                } else if (k == "channel") {
                    seg.meta.channel = scalar(v, "'channel'").value_or("");
                } else if (k == "contact_every") {
                    auto s = scalar(v, "'contact_every'");
                    if (s) {
                        seg.meta.contact_every = parse_duration(*s);
                        seg.meta.contact_every_text = *s;
                        if (!seg.meta.contact_every) {
                            error(Code::InvalidValue, node_location(v),
                                  duration_error("'contact_every'", *s));
                        }
                    }
                } else if (k == "priority") {
                    auto s = scalar(v, "'priority'");
                    if (s) {
                        if (*s == "1" || *s == "2" || *s == "3")
                            seg.meta.priority = std::stoi(*s);
                        else
                            error(Code::InvalidValue, node_location(v),
                                  "'priority' must be 1, 2 or 3 (1 is the highest)");
                    }
                } else if (k == "tactical") {
                    if (!v.IsSequence()) {
                        error(Code::Structure, node_location(v),
                              "'tactical' must be a list of segments");
                        return;
                    }
                    for (const auto& child : v) {
                        SegmentDef t;
                        read_segment(child, t, ids, depth + 1);
                        seg.tactical.push_back(std::move(t));
                    }
                }
            });
        if ((depth > 0 || shared) && seg.otherwise) {
            error(Code::Structure, seg.when.location,
                  "'otherwise' is only for the last general segment, not tactical ones");
        }
    }

    // `within: all` or `within: [ids]`; the ids are resolved once the whole file is read.
    void read_within(const YAML::Node& v, SharedTacticalDef& shared) {
        if (v.IsScalar() && v.Scalar() == "all") {
            shared.within_all = true;
            return;
        }
        if (!v.IsSequence()) {
            error(Code::Structure, node_location(v),
                  "'within' must be a list of general segment ids, such as [small, large], or "
                  "'all'");
            return;
        }
        if (v.size() == 0) {
            error(Code::Structure, node_location(v),
                  "'within' is empty: name the general segments this tactical segment applies "
                  "inside, or write 'within: all'");
            return;
        }
        for (const auto& item : v) {
            auto id = scalar(item, "a general segment id in 'within'");
            if (id) shared.within.emplace_back(*id, node_location(item));
        }
    }

    void read_shared_tactical(const YAML::Node& n, RuleFile& rf) {
        if (!n.IsSequence()) {
            error(Code::Structure, node_location(n),
                  "the top-level 'tactical' must be a list of shared tactical segments, each "
                  "with 'id', 'when' and 'within'");
            return;
        }
        for (const auto& item : n) {
            SharedTacticalDef shared;
            std::map<std::string, Location> ids;  // checked against every other id later
            read_segment(item, shared.segment, ids, 1, &shared);
            rf.shared_tactical.push_back(std::move(shared));
        }
    }

    void read_general(const YAML::Node& n, RuleFile& rf) {
        rf.general_location = node_location(n);
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n),
                  "'general' must be a mapping with 'policy' and 'segments'");
            return;
        }
        visit_map(n, "'general'", rule_keys::general.known, rule_keys::general.required,
                  [&](const YAML::Node& key, const YAML::Node& v) {
                      if (key.Scalar() == "segments") rf.segments_location = node_location(key);
                      if (key.Scalar() == "policy") {
                          auto s = scalar(v, "'policy'");
                          rf.policy_location = node_location(v);
                          if (s && *s == "exclusive")
                              rf.policy = Policy::Exclusive;
                          else if (s && *s != "first_match") {
                              error(Code::InvalidValue, node_location(v),
                                    "unknown policy '" + *s + "'" +
                                        did_you_mean(*s, {"first_match", "exclusive"}) +
                                        "; use first_match or exclusive");
                          }
                      }
                  });
        const YAML::Node segs = n["segments"];
        if (!segs) return;
        if (!segs.IsSequence() || segs.size() == 0) {
            error(Code::Structure, node_location(segs),
                  "'segments' must be a non-empty list of segments");
            return;
        }
        std::map<std::string, Location> ids;
        for (const auto& s : segs) {
            SegmentDef seg;
            read_segment(s, seg, ids, 0);
            rf.segments.push_back(std::move(seg));
        }
        for (size_t i = 0; i < rf.segments.size(); ++i) {
            const auto& seg = rf.segments[i];
            if (!seg.otherwise) continue;
            if (rf.policy == Policy::Exclusive) {
                error(Code::Structure, seg.when.location,
                      "'otherwise' cannot be used with policy 'exclusive': "
                      "every segment there needs its own condition");
            } else if (i + 1 != rf.segments.size()) {
                error(Code::Structure, seg.when.location,
                      "'otherwise' must be the last general segment; the segments after it "
                      "could never match");
            }
        }
    }

    void read_top(const YAML::Node& root, RuleFile& rf) {
        visit_map(root, "the rule file", rule_keys::top.known, rule_keys::top.required,
                  [&](const YAML::Node& key, const YAML::Node& v) {
                      const std::string& k = key.Scalar();
                      if (k == "ruleset") {
                          auto s = scalar(v, "'ruleset'");
                          if (!s) return;
                          rf.ruleset = *s;
                          bool ok = !s->empty();
                          for (char c : *s) {
                              if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                                    c == '-'))
                                  ok = false;
                          }
                          if (!ok)
                              error(Code::InvalidValue, node_location(v),
                                    "ruleset name '" + *s + "' may use only a-z, 0-9, _ and -");
                          else if ((*s)[0] == '-')
                              error(Code::InvalidValue, node_location(v),
                                    "ruleset name '" + *s +
                                        "' may not start with '-': commands that take a "
                                        "ruleset's name would read it as an option");
                      } else if (k == "version") {
                          auto s = scalar(v, "'version'");
                          if (!s) return;
                          bool digits = !s->empty();
                          for (char c : *s)
                              digits = digits && c >= '0' && c <= '9';
                          if (digits && s->size() > 18) {
                              error(Code::InvalidValue, node_location(v),
                                    "'version' " + *s +
                                        " is too large: at most 18 digits "
                                        "(999999999999999999)");
                          } else if (!digits || std::stoll(*s) <= 0) {
                              error(Code::InvalidValue, node_location(v),
                                    "'version' must be a positive integer, not '" + *s + "'");
                          } else {
                              rf.version = std::stoll(*s);
                          }
                      } else if (k == "description") {
                          rf.description = scalar(v, "'description'").value_or("");
                      } else if (k == "owner") {
                          rf.owner = scalar(v, "'owner'").value_or("");
                      } else if (k == "as_of") {
                          auto s = scalar(v, "'as_of'");
                          if (!s) return;
                          rf.as_of = parse_date(*s);
                          rf.as_of_location = node_location(v);
                          if (!rf.as_of)
                              error(Code::InvalidValue, node_location(v),
                                    "'as_of' must be a date such as 2026-11-01");
                      } else if (k == "source") {
                          read_source(v, rf);
                      } else if (k == "let") {
                          read_lets(v, rf);
                      } else if (k == "general") {
                          read_general(v, rf);
                      } else if (k == "tactical") {
                          read_shared_tactical(v, rf);
                      } else if (k == "value") {
                          rf.value = expression(v, "'value'");
                      } else if (k == "triggers") {
                          read_triggers(*this, v, rf);
                      } else if (k == "frequency_cap") {
                          read_frequency_cap(*this, v, rf);
                      } else if (k == "report") {
                          read_report_settings(*this, v, rf);
                      }
                  });
    }
};

}  // namespace

std::optional<RuleFile> load_rule_file(const SourceFile& file, Diagnostics& diags) {
    return Loader(file, diags).load();
}

}  // namespace strata
