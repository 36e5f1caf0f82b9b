#include "dsl/trigger_compiler.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "dsl/parser.hpp"

namespace strata {

namespace {

// Where the template opened before `from` closes: the first "}}" outside the expression's
// string literals ('…' or "…", with backslash escapes), so '{{ 'a}}b' }}' is one template.
// Without such a "}}" (a string never closed), the first "}}" at all, so that the expression's
// own error names the string; npos when there is none.
size_t template_close(const std::string& s, size_t from) {
    char quote = 0;
    for (size_t i = from; i < s.size(); ++i) {
        const char c = s[i];
        if (quote) {
            if (c == '\\')
                ++i;
            else if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '}' && i + 1 < s.size() && s[i + 1] == '}') {
            return i;
        }
    }
    return s.find("}}", from);
}

using Code = DiagnosticCode;

// A segment as membership holds it: its kind and id or path.
using SegmentKey = std::pair<SegmentRef::Kind, std::string>;

SegmentKey key_of(const SegmentRef& ref) {
    return {ref.kind, ref.path};
}

// Segment ids (and tactical paths) of the file → what they refer to, and each tactical
// segment → the segments it lies directly inside (several for one shared by general
// segments).
void collect_segments(const std::vector<CompiledSegment>& segs, const std::string& prefix,
                      bool general, const std::optional<SegmentRef>& parent,
                      std::map<std::string, SegmentRef>& out,
                      std::map<SegmentKey, std::vector<SegmentRef>>& parents) {
    for (const auto& seg : segs) {
        const std::string& id = seg.def->id;
        const std::string path = general || prefix.empty() ? id : prefix + "/" + id;
        const SegmentRef ref{general ? SegmentRef::Kind::General : SegmentRef::Kind::Tactical,
                             path};
        out.emplace(id, ref);
        out.emplace(path, ref);
        if (parent) {
            auto& of = parents[key_of(ref)];
            if (std::none_of(of.begin(), of.end(),
                             [&](const SegmentRef& p) { return key_of(p) == key_of(*parent); }))
                of.push_back(*parent);
        }
        collect_segments(seg.tactical, general ? "" : path, false, ref, out, parents);
    }
}

class TriggerCompiler {
  public:
    TriggerCompiler(CompiledRules& out, Binder& binder, const ParseFn& parse, Diagnostics& diags)
        : out_(out), binder_(binder), parse_(parse), diags_(diags) {
        collect_segments(out_.segments, "", true, std::nullopt, segments_, parents_);
    }

    void run() {
        for (const TriggerDef& def : out_.rules.triggers) {
            CompiledTrigger t{&def, {}, std::nullopt, nullptr, {}};
            t.on = event(def.on, "trigger '" + def.id + "'", false);
            if (def.success)
                t.success = event(*def.success, "the success of '" + def.id + "'", true);
            if (def.when.present()) {
                if (const ast::Expr* e = parse_(def.when)) {
                    t.when = binder_.bind(ExprRef{&out_.source, &def.when, e});
                    if (!binder_.may_be_condition(*t.when)) {
                        error(Code::TypeMismatch, def.when.location,
                              "'when' of trigger '" + def.id +
                                  "' must be a condition, but this is " + binder_.kind_of(*t.when));
                    }
                }
            }
            for (const ActionDef& a : def.actions) {
                CompiledAction action{&a, {}};
                for (const ActionParamDef& p : a.params)
                    action.params.emplace_back(p.name, compile_template(p, a, def));
                t.actions.push_back(std::move(action));
            }
            out_.triggers.push_back(std::move(t));
        }
    }

  private:
    CompiledRules& out_;
    Binder& binder_;
    const ParseFn& parse_;
    Diagnostics& diags_;
    std::map<std::string, SegmentRef> segments_;
    std::map<SegmentKey, std::vector<SegmentRef>> parents_;

    // Whether `inner` is `outer` or always lies inside it: every segment `inner` lies directly
    // inside does (a tactical segment shared by two general segments lies inside neither).
    bool contains(const SegmentRef& outer, const SegmentRef& inner) const {
        if (key_of(inner) == key_of(outer)) return true;
        auto it = parents_.find(key_of(inner));
        if (it == parents_.end() || it->second.empty()) return false;
        return std::all_of(it->second.begin(), it->second.end(),
                           [&](const SegmentRef& parent) { return contains(outer, parent); });
    }

    void error(Code code, Location loc, std::string msg) {
        diags_.error(code, out_.source.path(), loc, std::move(msg));
    }

    SegmentRef resolve(const std::string& name, Location at, const std::string& where,
                       bool none_allowed) {
        if ((name == "any" || name == "none") && segments_.count(name)) {
            // A segment may be called so, but then a trigger could mean either.
            error(Code::InvalidValue, at,
                  "'" + name + "' in " + where + " is ambiguous: a trigger reads '" + name +
                      "' as " + (name == "any" ? "every segment" : "no segment (a new customer)") +
                      ", and this file has a segment with the id '" + name +
                      "'; give that segment another id to fire on it");
            return SegmentRef{SegmentRef::Kind::Any, ""};
        }
        if (name == "any") return SegmentRef{SegmentRef::Kind::Any, ""};
        if (name == "none") {
            if (!none_allowed)
                error(Code::InvalidValue, at,
                      "'none' in " + where +
                          " can never happen: only a move may come from none (a new customer), "
                          "and customers who leave the base fire no trigger");
            return SegmentRef{SegmentRef::Kind::None, ""};
        }
        auto it = segments_.find(name);
        if (it != segments_.end()) return it->second;
        std::vector<std::string> ids;
        for (const auto& [id, ref] : segments_) {
            if (id.find('/') == std::string::npos) ids.push_back(id);
        }
        error(Code::UnknownName, at,
              "unknown segment '" + name + "' in " + where + path_hint(name, ids));
        return SegmentRef{SegmentRef::Kind::Any, ""};
    }

    // What to suggest for an unknown name: a general segment's id before a tactical one's
    // ("champions/champions_ax") is the tactical id alone, since paths only run through
    // tactical segments; otherwise the nearest id.
    std::string path_hint(const std::string& name, const std::vector<std::string>& ids) const {
        const size_t slash = name.find('/');
        if (slash != std::string::npos) {
            auto outer = segments_.find(name.substr(0, slash));
            auto inner = segments_.find(name.substr(slash + 1));
            if (outer != segments_.end() && outer->second.kind == SegmentRef::Kind::General &&
                inner != segments_.end() && inner->second.kind == SegmentRef::Kind::Tactical)
                return "; a path runs only through tactical segments ('parent/child' names one "
                       "nested in another), so name this one by its id: '" +
                       name.substr(slash + 1) + "'";
        }
        return did_you_mean(name, ids);
    }

    CompiledEvent event(const EventDef& e, const std::string& where, bool success) {
        CompiledEvent out;
        out.event = e.event;
        if (e.segment.empty()) return out;  // did not parse: reported already
        out.segment = resolve(e.segment, e.segment_location, where, e.event == TriggerEvent::Move);
        if (e.event == TriggerEvent::Move) {
            out.to = resolve(e.to, e.to_location, where, false);
            auto is_segment = [](const SegmentRef& r) {
                return r.kind == SegmentRef::Kind::General || r.kind == SegmentRef::Kind::Tactical;
            };
            const bool named = is_segment(out.segment) && is_segment(out.to);
            const std::string move = "'move " + e.segment + " -> " + e.to + "' in " + where;
            if ((e.segment == e.to && e.segment != "any") ||
                (named && key_of(out.segment) == key_of(out.to))) {
                error(Code::InvalidValue, e.location,
                      move + " can never happen: a move goes from one segment to another");
            } else if (named && contains(out.segment, out.to)) {
                // Entering a segment inside X needs being in X now, so X was not left.
                error(Code::InvalidValue, e.location,
                      move + " can never happen: " + e.to + " lies inside " + e.segment +
                          ", so a customer who enters " + e.to + " is still in " + e.segment);
            } else if (named && contains(out.to, out.segment)) {
                // Entering Y means not being in Y before, so not in anything inside Y either.
                error(Code::InvalidValue, e.location,
                      move + " can never happen: " + e.segment + " lies inside " + e.to +
                          ", so a customer who was in " + e.segment + " was in " + e.to +
                          " already and cannot enter it");
            }
        }
        (void)success;
        return out;
    }

    CompiledTemplate compile_template(const ActionParamDef& p, const ActionDef& a,
                                      const TriggerDef& def) {
        CompiledTemplate out;
        if (!p.text.present() || p.text.text.empty()) {
            out.literals.push_back(p.text.text);
            return out;
        }
        TemplateParts parts = split_template(out_.source, p.text, out_.template_texts, diags_);
        out.literals = std::move(parts.literals);
        for (const ExprText* text : parts.exprs) {
            bound::ExprPtr bound;
            if (const ast::Expr* e = parse_(*text)) {
                bound = binder_.bind(ExprRef{&out_.source, text, e});
                if (bound->type == Type::Record) {
                    error(Code::TypeMismatch, text->location,
                          "a template in parameter '" + p.name + "' of action '" + a.type +
                              "' (trigger '" + def.id +
                              "') must give a single value, but this is a record; name one of "
                              "its fields, such as .code");
                }
            }
            out.exprs.push_back(std::move(bound));  // null when it did not parse
        }
        return out;
    }
};

}  // namespace

TemplateParts split_template(const SourceFile& file, const ExprText& text,
                             std::deque<ExprText>& texts, Diagnostics& diags) {
    TemplateParts parts;
    const std::string& s = text.text;
    std::string literal;
    size_t i = 0;
    auto sub = [&](size_t begin, size_t end) {
        ExprText t;
        t.text = s.substr(begin, end - begin);
        if (text.file_offsets.size() == s.size() + 1) {
            t.file_offsets.assign(text.file_offsets.begin() + static_cast<ptrdiff_t>(begin),
                                  text.file_offsets.begin() + static_cast<ptrdiff_t>(end) + 1);
        }
        t.location =
            text.locate(file, ast::Span{static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
        return t;
    };
    while (i < s.size()) {
        const size_t open = s.find("{{", i);
        if (open == std::string::npos) {
            literal += s.substr(i);
            break;
        }
        literal += s.substr(i, open - i);
        const size_t close = template_close(s, open + 2);
        if (close == std::string::npos) {
            diags.error(DiagnosticCode::Syntax, file.path(), sub(open, open + 2).location,
                        "'{{' without its closing '}}' in a parameter; a template is "
                        "{{expression}}");
            literal += s.substr(open);
            break;
        }
        if (s.find_first_not_of(" \t", open + 2) >= close) {
            diags.error(DiagnosticCode::Syntax, file.path(), sub(open, close + 2).location,
                        "an empty template '{{}}'; write an expression inside, such as "
                        "{{first_name}}");
        } else {
            texts.push_back(sub(open + 2, close));
            parts.literals.push_back(std::move(literal));
            literal.clear();
            parts.exprs.push_back(&texts.back());
        }
        i = close + 2;
    }
    parts.literals.push_back(std::move(literal));
    return parts;
}

void compile_triggers(CompiledRules& out, Binder& binder, const ParseFn& parse,
                      Diagnostics& diags) {
    TriggerCompiler(out, binder, parse, diags).run();
}

}  // namespace strata
