#include "dsl/trigger_loader.hpp"

#include <cctype>
#include <set>

#include "dsl/hints.hpp"
#include "dsl/rule_keys.hpp"

namespace strata {

const char* trigger_event_name(TriggerEvent e) {
    switch (e) {
        case TriggerEvent::Enter:
            return "enter";
        case TriggerEvent::Exit:
            return "exit";
        case TriggerEvent::Move:
            return "move";
        case TriggerEvent::In:
            return "in";
    }
    return "?";
}

namespace {

using Code = DiagnosticCode;

constexpr const char* kEventHelp =
    "write 'enter X', 'exit X', 'in X' or 'move X -> Y', where X and Y are segment ids or 'any'";

// A byte of a segment id or path. Bytes outside ASCII belong to letters of other alphabets;
// the ids the words are matched against were checked when the segments were read.
bool is_segment_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' ||
           static_cast<unsigned char>(c) >= 0x80;
}

// Words of text[begin, end): runs of segment characters, and `->` on its own.
struct Word {
    size_t begin;
    size_t end;
};

std::vector<Word> split_words(const std::string& text, size_t begin, size_t end) {
    std::vector<Word> words;
    size_t i = begin;
    while (i < end) {
        if (std::isspace(static_cast<unsigned char>(text[i]))) {
            ++i;
            continue;
        }
        size_t j = i;
        if (text.compare(i, 2, "->") == 0) {
            j = i + 2;
        } else if (is_segment_char(text[i])) {
            while (j < end && is_segment_char(text[j]) && text.compare(j, 2, "->") != 0)
                ++j;
        } else {
            while (j < end && !std::isspace(static_cast<unsigned char>(text[j])))
                ++j;
        }
        words.push_back({i, j});
        i = j;
    }
    return words;
}

Location locate_in(const SourceFile& file, const ExprText& text, size_t begin, size_t end) {
    return text.locate(file, ast::Span{static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
}

// `10%`, `12.5%`: basis points of 10000, or nullopt.
std::optional<int> parse_percent(const std::string& s) {
    if (s.size() < 2 || s.back() != '%') return std::nullopt;
    const std::string digits = s.substr(0, s.size() - 1);
    int whole = 0;
    int fraction = 0;
    int fraction_digits = 0;
    bool seen_point = false;
    bool any = false;
    for (char c : digits) {
        if (c == '.' && !seen_point) {
            seen_point = true;
            continue;
        }
        if (c < '0' || c > '9') return std::nullopt;
        any = true;
        if (!seen_point) {
            if (whole > 1000) return 1000001;  // out of range, reported by the caller
            whole = whole * 10 + (c - '0');
        } else {
            if (++fraction_digits > 2) return std::nullopt;
            fraction = fraction * 10 + (c - '0');
        }
    }
    if (!any) return std::nullopt;
    if (fraction_digits == 1) fraction *= 10;
    return whole * 100 + fraction;
}

std::optional<int64_t> parse_count(const std::string& s, int64_t max) {
    if (s.empty() || s.size() > 12) return std::nullopt;
    int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
}

class TriggerReader {
  public:
    TriggerReader(YamlReader& r, RuleFile& rf) : r_(r), rf_(rf) {}

    void read_list(const YAML::Node& n) {
        rf_.triggers_location = r_.node_location(n);
        if (!n.IsSequence()) {
            r_.error(Code::Structure, r_.node_location(n),
                     "'triggers' must be a list of triggers, each with 'id', 'on' and 'actions'");
            return;
        }
        std::map<std::string, Location> ids;
        for (const auto& t : n) {
            TriggerDef def;
            if (read_trigger(t, def)) {
                const auto [first, inserted] = ids.emplace(def.id, def.id_location);
                if (!inserted && !def.id.empty()) {
                    r_.error(Code::DuplicateId, def.id_location,
                             "duplicate trigger id '" + def.id + "' (first at " +
                                 r_.place(first->second) + ")");
                }
                rf_.triggers.push_back(std::move(def));
            }
        }
    }

    void read_cap(const YAML::Node& n) {
        auto s = r_.scalar(n, "'frequency_cap'");
        if (!s) return;
        const Location at = r_.node_location(n);
        const size_t per = s->find(" per ");
        std::optional<int64_t> count;
        std::optional<Duration> window;
        if (per != std::string::npos) {
            count = parse_count(trim(s->substr(0, per)), 1000000);
            window = parse_duration(trim(s->substr(per + 5)));
        }
        if (!count || !window) {
            const auto too_long = per == std::string::npos
                                      ? std::nullopt
                                      : duration_too_long("its window", trim(s->substr(per + 5)));
            r_.error(Code::InvalidValue, at,
                     count && too_long
                         ? "'frequency_cap': " + *too_long
                         : "'frequency_cap' must be a count (1 to 1,000,000) and a duration such "
                           "as '2 per 7d' (durations: 7d, 2w, 1mo, 1y)");
            return;
        }
        if (*count == 0) {
            r_.error(Code::InvalidValue, at,
                     "a 'frequency_cap' of 0 would hold back every action; give 1 or more per "
                     "window, or leave 'frequency_cap' out");
            return;
        }
        if (window->months == 0 && window->days == 0) {
            r_.error(Code::InvalidValue, at,
                     "a 'frequency_cap' over a window of zero caps nothing; give a duration such "
                     "as 7d, or leave 'frequency_cap' out");
            return;
        }
        rf_.frequency_cap = FrequencyCap{*count, *window, at, trim(s->substr(per + 5))};
    }

  private:
    YamlReader& r_;
    RuleFile& rf_;

    static std::string trim(const std::string& s) {
        const size_t b = s.find_first_not_of(" \t");
        if (b == std::string::npos) return {};
        return s.substr(b, s.find_last_not_of(" \t") - b + 1);
    }

    bool read_trigger(const YAML::Node& n, TriggerDef& def) {
        def.location = r_.node_location(n);
        if (!n.IsMap()) {
            r_.error(Code::Structure, def.location,
                     "a trigger must be a mapping with 'id', 'on' and 'actions'");
            return false;
        }
        const std::string where =
            n["id"] && n["id"].IsScalar() ? "trigger '" + n["id"].Scalar() + "'" : "a trigger";
        r_.visit_map(
            n, where, rule_keys::trigger.known, rule_keys::trigger.required,
            [&](const YAML::Node& key, const YAML::Node& v) {
                const std::string& k = key.Scalar();
                if (k == "id") {
                    def.id = r_.identifier_like(v, "trigger id",
                                                "may use only letters, digits, _ and -");
                    def.id_location = r_.node_location(v);
                } else if (k == "on") {
                    read_event(v, "'on'", def.on, false);
                } else if (k == "when") {
                    if (v.IsNull())
                        r_.error(Code::Structure, r_.node_location(key), "'when' has no condition");
                    else
                        def.when = r_.expression(v, "'when'");
                } else if (k == "priority") {
                    auto s = r_.scalar(v, "'priority'");
                    if (!s) return;
                    def.priority = parse_count(*s, 1000000000);
                    if (!def.priority)
                        r_.error(Code::InvalidValue, r_.node_location(v),
                                 "'priority' must be a whole number, 0 or more (lower goes first)");
                } else if (k == "cooldown") {
                    auto s = r_.scalar(v, "'cooldown'");
                    if (!s) return;
                    def.cooldown = parse_duration(*s);
                    def.cooldown_text = *s;
                    def.cooldown_location = r_.node_location(v);
                    if (!def.cooldown)
                        r_.error(Code::InvalidValue, r_.node_location(v),
                                 duration_error("'cooldown'", *s));
                    else if (def.cooldown->months == 0 && def.cooldown->days == 0)
                        r_.error(Code::InvalidValue, r_.node_location(v),
                                 "a 'cooldown' of zero keeps nothing from firing; give a duration "
                                 "such as 7d, or leave 'cooldown' out");
                } else if (k == "holdout") {
                    auto s = r_.scalar(v, "'holdout'");
                    if (!s) return;
                    const auto bp = parse_percent(trim(*s));
                    if (!bp)
                        r_.error(Code::InvalidValue, r_.node_location(v),
                                 "'holdout' must be a percentage such as 10% or 2.5%");
                    else if (*bp > 10000)
                        r_.error(Code::InvalidValue, r_.node_location(v),
                                 "'holdout' must be between 0% and 100%, not " + trim(*s));
                    else
                        def.holdout_basis_points = *bp;
                } else if (k == "success") {
                    EventDef e;
                    if (read_event(v, "'success'", e, true)) def.success = std::move(e);
                    if (def.success) {
                        def.success_within = within_;
                        def.success_within_text = within_text_;
                    }
                } else if (k == "actions") {
                    read_actions(v, def);
                } else if (k == "description") {
                    r_.scalar(v, "'description'");
                }
            });
        return true;
    }

    Duration within_;
    std::string within_text_;

    // `on` (or, with `within`, `success`: an event followed by `within D`).
    bool read_event(const YAML::Node& v, const char* what, EventDef& out, bool within) {
        ExprText text = r_.expression(v, what);
        if (text.text.empty()) return false;
        size_t end = text.text.size();
        const std::string help = within ? std::string(kEventHelp) +
                                              ", then 'within' and a "
                                              "duration, e.g. 'enter "
                                              "active within 30d'"
                                        : kEventHelp;
        if (within) {
            const size_t at = text.text.rfind(" within ");
            std::optional<Duration> d;
            if (at != std::string::npos) d = parse_duration(trim(text.text.substr(at + 8)));
            if (d && d->months == 0 && d->days == 0) {
                // The duration, as written after 'within '.
                size_t from = at + 8;
                while (from < text.text.size() &&
                       std::isspace(static_cast<unsigned char>(text.text[from])))
                    ++from;
                r_.error(Code::InvalidValue, locate_in(r_.file(), text, from, text.text.size()),
                         std::string(what) +
                             ": a window of zero counts nothing as success; give a duration "
                             "such as 30d");
                return false;
            }
            if (!d) {
                const auto too_long =
                    at == std::string::npos
                        ? std::nullopt
                        : duration_too_long("its window", trim(text.text.substr(at + 8)));
                r_.error(Code::InvalidValue, text.location,
                         too_long
                             ? std::string(what) + ": " + *too_long
                             : std::string(what) +
                                   " must end with 'within' and a duration such as 30d; " + help);
                return false;
            }
            within_ = *d;
            within_text_ = trim(text.text.substr(at + 8));
            end = at;
        }
        std::string problem;
        auto e = parse_event(r_.file(), text, 0, end, problem);
        if (!e) {
            r_.error(Code::InvalidValue, text.location,
                     std::string(what) + " " + problem + "; " + help);
            return false;
        }
        out = std::move(*e);
        return true;
    }

    void read_actions(const YAML::Node& v, TriggerDef& def) {
        if (!v.IsSequence() || v.size() == 0) {
            r_.error(Code::Structure, r_.node_location(v),
                     "'actions' must be a non-empty list such as '- email: { template: welcome }'");
            return;
        }
        for (const auto& a : v) {
            if (!a.IsMap() || a.size() != 1) {
                r_.error(Code::Structure, r_.node_location(a),
                         "an action is one type with its parameters, such as "
                         "'- task: { queue: managers, text: \"Call {{name}}\" }'");
                continue;
            }
            const YAML::Node type = a.begin()->first;
            const YAML::Node params = a.begin()->second;
            ActionDef action;
            action.type =
                r_.identifier_like(type, "action type", "may use only letters, digits, _ and -");
            action.location = r_.node_location(type);
            if (params.IsNull()) {
                def.actions.push_back(std::move(action));
                continue;
            }
            if (!params.IsMap()) {
                r_.error(Code::Structure, r_.node_location(params),
                         "the parameters of action '" + action.type +
                             "' must be a mapping of names to texts, e.g. { template: welcome }");
                continue;
            }
            std::set<std::string> seen;
            for (auto it = params.begin(); it != params.end(); ++it) {
                ActionParamDef p;
                const YAML::Node name = it->first;
                p.name = r_.identifier_like(name, "action parameter",
                                            "may use only letters, digits, _ and -");
                p.location = r_.node_location(name);
                if (!seen.insert(p.name).second) {
                    r_.error(
                        Code::DuplicateId, p.location,
                        "duplicate parameter '" + p.name + "' in action '" + action.type + "'");
                    continue;
                }
                if (!it->second.IsScalar()) {
                    r_.error(Code::Structure, r_.node_location(it->second),
                             "parameter '" + p.name +
                                 "' must be a text (with {{expression}} templates if needed), "
                                 "not a " +
                                 (it->second.IsMap()        ? "mapping"
                                  : it->second.IsSequence() ? "list"
                                                            : "null"));
                    continue;
                }
                if (it->second.Scalar().empty()) {
                    p.text.location = r_.node_location(it->second);
                } else {
                    p.text = r_.expression(it->second, "parameter '" + p.name + "'");
                }
                action.params.push_back(std::move(p));
            }
            def.actions.push_back(std::move(action));
        }
    }
};

}  // namespace

std::optional<EventDef> parse_event(const SourceFile& file, const ExprText& text, size_t begin,
                                    size_t end, std::string& problem) {
    const std::vector<Word> words = split_words(text.text, begin, end);
    auto word = [&](size_t i) {
        return text.text.substr(words[i].begin, words[i].end - words[i].begin);
    };
    EventDef e;
    e.location = text.location;
    if (words.empty()) {
        problem = "is empty";
        return std::nullopt;
    }
    e.text = text.text.substr(words.front().begin, words.back().end - words.front().begin);
    const std::string verb = word(0);
    auto segment_word = [&](size_t i) {
        for (char c : word(i)) {
            if (!is_segment_char(c)) return false;
        }
        return true;
    };
    if (verb == "enter" || verb == "exit" || verb == "in") {
        e.event = verb == "enter"  ? TriggerEvent::Enter
                  : verb == "exit" ? TriggerEvent::Exit
                                   : TriggerEvent::In;
        if (words.size() != 2 || !segment_word(1)) {
            problem = "'" + e.text + "' is not an event";
            return std::nullopt;
        }
        e.segment = word(1);
        e.segment_location = locate_in(file, text, words[1].begin, words[1].end);
        return e;
    }
    if (verb == "move") {
        e.event = TriggerEvent::Move;
        if (words.size() != 4 || !segment_word(1) || word(2) != "->" || !segment_word(3)) {
            problem = "'" + e.text + "' is not a move";
            return std::nullopt;
        }
        e.segment = word(1);
        e.segment_location = locate_in(file, text, words[1].begin, words[1].end);
        e.to = word(3);
        e.to_location = locate_in(file, text, words[3].begin, words[3].end);
        return e;
    }
    problem = "starts with '" + verb + "'" + did_you_mean(verb, {"enter", "exit", "in", "move"});
    return std::nullopt;
}

void read_triggers(YamlReader& reader, const YAML::Node& node, RuleFile& rf) {
    TriggerReader(reader, rf).read_list(node);
}

void read_frequency_cap(YamlReader& reader, const YAML::Node& node, RuleFile& rf) {
    TriggerReader(reader, rf).read_cap(node);
}

void read_report_settings(YamlReader& reader, const YAML::Node& node, RuleFile& rf) {
    reader.visit_map(node, rule_keys::report.where, rule_keys::report.known,
                     rule_keys::report.required, [&](const YAML::Node& key, const YAML::Node& v) {
                         if (key.Scalar() != "min_share") return;
                         auto s = reader.scalar(v, "'min_share'");
                         if (!s) return;
                         const size_t b = s->find_first_not_of(" \t");
                         const std::string text =
                             b == std::string::npos
                                 ? std::string()
                                 : s->substr(b, s->find_last_not_of(" \t") - b + 1);
                         const auto bp = parse_percent(text);
                         if (!bp || *bp > 10000)
                             reader.error(Code::InvalidValue, reader.node_location(v),
                                          "'min_share' must be a percentage from 0% to 100%, "
                                          "such as 1% or 2.5%");
                         else
                             rf.report_min_share_basis_points = *bp;
                     });
}

}  // namespace strata
