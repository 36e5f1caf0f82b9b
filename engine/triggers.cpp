#include "engine/triggers.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "engine/json.hpp"
#include "text/encoding.hpp"

namespace strata {

namespace {

std::string key_text(const SQLite::Column& c) {
    if (c.isInteger()) return "i" + std::to_string(c.getInt64());
    return "t" + c.getString();
}

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// A segment reference, interned, as the membership and open stays hold it.
struct Ref {
    SegmentRef::Kind kind;
    const std::string* path;  // interned; null for any and none
};

Ref intern_ref(const SegmentRef& r) {
    return Ref{r.kind, r.path.empty() ? nullptr : intern(r.path).p};
}

// The tactical paths of a ';'-joined text, interned, cached per distinct text.
class TacticalSets {
  public:
    const std::vector<const std::string*>& of(Str text) {
        auto it = cache_.find(text.p);
        if (it != cache_.end()) return it->second;
        std::vector<const std::string*> paths;
        const std::string& s = text.p ? *text.p : empty_;
        size_t from = 0;
        while (from < s.size()) {
            const size_t end = std::min(s.find(';', from), s.size());
            paths.push_back(intern(std::string_view(s).substr(from, end - from)).p);
            from = end + 1;
        }
        return cache_.emplace(text.p, std::move(paths)).first->second;
    }

  private:
    std::unordered_map<const std::string*, std::vector<const std::string*>> cache_;
    std::string empty_;
};

// One customer's placement before and after the run.
struct Moment {
    const OpenPlacement* before;  // null: new to the base
    const MembershipRow* now;
    TacticalSets* sets;

    bool was_in(const Ref& r) const {
        switch (r.kind) {
            case SegmentRef::Kind::Any:
                return before && before->general.p;
            case SegmentRef::Kind::None:
                return !before || !before->general.p;
            case SegmentRef::Kind::General:
                return before && before->general.p == r.path;
            case SegmentRef::Kind::Tactical:
                if (!before) return false;
                for (const OpenTactical& s : before->tactical) {
                    if (s.segment.p == r.path) return true;
                }
                return false;
        }
        return false;
    }
    bool is_in(const Ref& r) const {
        switch (r.kind) {
            case SegmentRef::Kind::Any:
                return true;
            case SegmentRef::Kind::None:
                return false;
            case SegmentRef::Kind::General:
                return now->segment.p == r.path;
            case SegmentRef::Kind::Tactical: {
                const auto& paths = sets->of(now->tactical);
                return std::find(paths.begin(), paths.end(), r.path) != paths.end();
            }
        }
        return false;
    }
    bool general_changed() const { return !before || before->general.p != now->segment.p; }
    // Entered r at this run (`any`: the general segment changed, new customers included).
    bool entered(const Ref& r) const {
        return r.kind == SegmentRef::Kind::Any ? general_changed() : is_in(r) && !was_in(r);
    }
    // Left r at this run (`any`: the general segment changed and there was one before;
    // `none`: the customer is new).
    bool left(const Ref& r) const {
        if (r.kind == SegmentRef::Kind::Any)
            return before && before->general.p && general_changed();
        if (r.kind == SegmentRef::Kind::None) return !before || !before->general.p;
        return was_in(r) && !is_in(r);
    }
};

struct CompiledRefs {
    TriggerEvent event;
    Ref segment;
    Ref to;
};

// Whether the event happened to this customer at this run. Under a rule change without
// fire_on_rule_change, moves fire nothing and `in X` only for customers in X before too.
bool happened(const CompiledRefs& e, const Moment& m, bool moves_fire) {
    switch (e.event) {
        case TriggerEvent::In:
            return m.is_in(e.segment) && (moves_fire || m.was_in(e.segment));
        case TriggerEvent::Enter:
            return moves_fire && m.entered(e.segment);
        case TriggerEvent::Exit:
            return moves_fire && m.left(e.segment);
        case TriggerEvent::Move:
            return moves_fire && m.left(e.segment) && m.entered(e.to);
    }
    return false;
}

// " AND customer_key = ?" when the history is one customer's, bound by bind_customer.
const char* customer_filter(const Value* customer) {
    return customer ? " AND customer_key = ?" : "";
}

void bind_customer(SQLite::Statement& q, int at, const Value* customer) {
    if (!customer) return;
    if (const auto* i = std::get_if<int64_t>(customer))
        q.bind(at, *i);
    else
        q.bind(at, std::get<Str>(*customer).str());
}

// Customers with a firing of `trigger_id` (not capped) in (from, to]; with `customer`, only
// that one's.
std::unordered_set<std::string> recent_firings(SQLite::Database& db, const std::string& ruleset,
                                               const std::string& trigger_id,
                                               const std::string& from, const std::string& to,
                                               const Value* customer) {
    std::unordered_set<std::string> out;
    SQLite::Statement q(db, std::string("SELECT DISTINCT customer_key FROM strata_outbox WHERE "
                                        "ruleset = ? AND trigger_id = ? AND status <> 'capped' "
                                        "AND as_of > ? AND as_of <= ?") +
                                customer_filter(customer));
    q.bind(1, ruleset);
    q.bind(2, trigger_id);
    q.bind(3, from);
    q.bind(4, to);
    bind_customer(q, 5, customer);
    while (q.executeStep())
        out.insert(key_text(q.getColumn(0)));
    return out;
}

// Firings per customer (not capped) in (from, to], across the ruleset's triggers; with
// `customer`, only that one's.
std::unordered_map<std::string, int64_t> firings_per_customer(SQLite::Database& db,
                                                              const std::string& ruleset,
                                                              const std::string& from,
                                                              const std::string& to,
                                                              const Value* customer) {
    std::unordered_map<std::string, int64_t> out;
    SQLite::Statement q(db, std::string("SELECT customer_key, count(*) FROM strata_outbox WHERE "
                                        "ruleset = ? AND action = 0 AND status <> 'capped' AND "
                                        "as_of > ? AND as_of <= ?") +
                                customer_filter(customer) + " GROUP BY customer_key");
    q.bind(1, ruleset);
    q.bind(2, from);
    q.bind(3, to);
    bind_customer(q, 4, customer);
    while (q.executeStep())
        out[key_text(q.getColumn(0))] = q.getColumn(1).getInt64();
    return out;
}

bool has_outbox(SQLite::Database& db) {
    SQLite::Statement q(db,
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                        "'strata_outbox'");
    return q.executeStep();
}

// The SQLite state's outbox as a history; with `customer`, that customer's rows only.
class SqliteHistory : public FiringHistory {
  public:
    SqliteHistory(SQLite::Database& db, const Value* customer) : db_(db), customer_(customer) {}
    std::unordered_set<std::string> recent_firings(const std::string& ruleset,
                                                   const std::string& trigger_id,
                                                   const std::string& from,
                                                   const std::string& to) override {
        return strata::recent_firings(db_, ruleset, trigger_id, from, to, customer_);
    }
    std::unordered_map<std::string, int64_t> firings_per_customer(const std::string& ruleset,
                                                                  const std::string& from,
                                                                  const std::string& to) override {
        return strata::firings_per_customer(db_, ruleset, from, to, customer_);
    }

  private:
    SQLite::Database& db_;
    const Value* customer_;
};

// A parameter's template rendered for every table row that needs it.
struct RenderedParam {
    const std::string* name;
    const CompiledTemplate* tmpl;
    std::vector<Column> columns;  // per expression, over the whole frame
};

}  // namespace

std::unique_ptr<FiringHistory> sqlite_firing_history(SQLite::Database& state) {
    if (!has_outbox(state)) return nullptr;
    return std::make_unique<SqliteHistory>(state, nullptr);
}

std::string history_key(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return "i" + std::to_string(*i);
    return "t" + std::get<Str>(key).str();
}

std::string render_value(const Value& v) {
    if (is_null(v)) return {};
    if (const auto* s = std::get_if<Str>(&v)) return s->str();
    return format_value(v);
}

bool in_holdout(const std::string& ruleset, const std::string& trigger_id, const Value& key,
                int basis_points) {
    if (basis_points <= 0) return false;
    if (basis_points >= 10000) return true;
    uint64_t h = 14695981039346656037ull;
    h = fnv1a(h, ruleset);
    h = fnv1a(h, std::string_view("\0", 1));
    h = fnv1a(h, trigger_id);
    h = fnv1a(h, std::string_view("\0", 1));
    h = fnv1a(h, history_key(key));
    // splitmix64's finalizer spreads FNV's low bits.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return static_cast<int>(h % 10000) < basis_points;
}

Firing fire_triggers(const FiringInput& in) {
    const CompiledRules& rules = *in.rules;
    const std::string& ruleset = rules.rules.ruleset;
    const std::vector<MembershipRow>& members = *in.membership;
    const size_t n = members.size();
    const size_t nt = rules.triggers.size();
    Firing out;
    for (const CompiledTrigger& t : rules.triggers)
        out.counts.push_back(TriggerCounts{t.def->id, t.def->on.text, 0, 0, 0, 0, 0, 0,
                                           t.def->holdout_basis_points, &t});
    const bool anything_fires = in.cause != FiringCause::Baseline || in.fire_initial;
    if (nt == 0 || n == 0 || !anything_fires) return out;
    const bool moves_fire = in.cause != FiringCause::RuleChange || in.fire_on_rule_change;
    const std::string as_of = format_date(in.as_of);
    std::optional<SqliteHistory> sqlite_history;
    if (in.history && !in.other_history && has_outbox(*in.history))
        sqlite_history.emplace(*in.history, in.history_customer);
    FiringHistory* history = in.other_history ? in.other_history
                             : sqlite_history ? &*sqlite_history
                                              : nullptr;
    auto holds_of = [&](const bound::Expr& e) {
        return in.condition ? in.condition(e) : evaluate_condition(e, *in.frame);
    };
    auto values_of = [&](const bound::Expr& e) {
        return in.value ? in.value(e) : evaluate(e, *in.frame);
    };

    // Each customer's placement before, matched to the membership by key (both in key order).
    std::vector<const OpenPlacement*> before(n, nullptr);
    if (in.cause != FiringCause::Baseline) {
        size_t next = 0;
        const auto& open = *in.before;
        for (size_t i = 0; i < n; ++i) {
            while (next < open.size() && compare_keys(open[next].key, members[i].key) < 0)
                ++next;
            if (next < open.size() && compare_keys(open[next].key, members[i].key) == 0)
                before[i] = &open[next];
        }
    }

    // Which customers each trigger fires for, before the cap and holdout.
    TacticalSets sets;
    std::vector<std::vector<char>> fires(nt);
    for (size_t t = 0; t < nt; ++t) {
        const CompiledTrigger& trig = rules.triggers[t];
        const CompiledRefs refs{trig.on.event, intern_ref(trig.on.segment), intern_ref(trig.on.to)};
        std::vector<char>& f = fires[t];
        f.assign(n, 0);
        size_t any = 0;
        for (size_t i = 0; i < n; ++i) {
            f[i] = happened(refs, Moment{before[i], &members[i], &sets}, moves_fire);
            any += f[i];
        }
        if (any && trig.when) {
            const std::vector<char> holds = holds_of(*trig.when);
            for (size_t i = 0; i < n; ++i)
                f[i] = f[i] && holds[(*in.order)[i]];
        }
        if (any && trig.def->cooldown && history) {
            const Date from = add_duration(in.as_of, *trig.def->cooldown, -1);
            const auto recent =
                history->recent_firings(ruleset, trig.def->id, format_date(from), as_of);
            for (size_t i = 0; i < n; ++i) {
                if (f[i] && recent.count(history_key(members[i].key))) {
                    f[i] = 0;
                    ++out.counts[t].cooled_down;
                }
            }
        }
    }

    // Priority order: lower first, triggers without one after those with; ties by file order.
    std::vector<size_t> by_priority(nt);
    for (size_t t = 0; t < nt; ++t)
        by_priority[t] = t;
    std::stable_sort(by_priority.begin(), by_priority.end(), [&](size_t a, size_t b) {
        const auto pa =
            rules.triggers[a].def->priority.value_or(std::numeric_limits<int64_t>::max());
        const auto pb =
            rules.triggers[b].def->priority.value_or(std::numeric_limits<int64_t>::max());
        return pa < pb;
    });
    const std::optional<FrequencyCap>& cap = rules.rules.frequency_cap;
    std::unordered_map<std::string, int64_t> used;
    // The firings this as_of already has in the outbox (a re-run of the as_of, or the batch run
    // after eval --apply): `used` counts them, and record_firing finds them enqueued, so they
    // take no second slot under the cap.
    std::vector<std::unordered_set<std::string>> fired_at_as_of(nt);
    if (cap && history) {
        used = history->firings_per_customer(
            ruleset, format_date(add_duration(in.as_of, cap->per, -1)), as_of);
        const std::string day_before = format_date(Date{in.as_of.days - 1});
        for (size_t t = 0; t < nt; ++t) {
            // With a cooldown, a firing at this as_of has already cooled the customer down.
            if (rules.triggers[t].def->cooldown) continue;
            if (std::find(fires[t].begin(), fires[t].end(), 1) == fires[t].end()) continue;
            fired_at_as_of[t] =
                history->recent_firings(ruleset, rules.triggers[t].def->id, day_before, as_of);
        }
    }

    // Templates are evaluated over the whole frame, for the triggers that fire at all.
    std::vector<std::vector<std::vector<RenderedParam>>> rendered(nt);
    for (size_t t = 0; t < nt; ++t) {
        if (std::find(fires[t].begin(), fires[t].end(), 1) == fires[t].end()) continue;
        for (const CompiledAction& a : rules.triggers[t].actions) {
            std::vector<RenderedParam> params;
            for (const auto& [name, tmpl] : a.params) {
                RenderedParam p{&name, &tmpl, {}};
                for (const auto& e : tmpl.exprs)
                    p.columns.push_back(e ? values_of(*e) : Column(in.frame->rows));
                params.push_back(std::move(p));
            }
            rendered[t].push_back(std::move(params));
        }
    }

    for (size_t i = 0; i < n; ++i) {
        const Value& key = members[i].key;
        int64_t* count = nullptr;
        for (size_t t : by_priority) {
            if (!fires[t][i]) continue;
            const CompiledTrigger& trig = rules.triggers[t];
            TriggerCounts& counts = out.counts[t];
            ++counts.customers;
            std::string status = "pending";
            if (cap && !fired_at_as_of[t].count(history_key(key))) {
                if (!count) count = &used[history_key(key)];
                if (*count >= cap->count)
                    status = "capped";
                else
                    ++*count;
            }
            if (status == "pending" &&
                in_holdout(ruleset, trig.def->id, key, trig.def->holdout_basis_points)) {
                status = "holdout";
            }
            const uint32_t row = (*in.order)[i];
            for (size_t a = 0; a < trig.actions.size(); ++a) {
                JsonWriter payload;
                payload.begin_object();
                bool utf8 = true;
                for (const RenderedParam& p : rendered[t][a]) {
                    std::string text = p.tmpl->literals[0];
                    for (size_t e = 0; e < p.columns.size(); ++e)
                        text += render_value(p.columns[e][row]) + p.tmpl->literals[e + 1];
                    utf8 = utf8 && text::is_valid_utf8(text);
                    payload.key(*p.name).value(text);
                }
                payload.end_object();
                counts.payload_not_utf8 += !utf8;
                OutboxRow r;
                r.idempotency_key =
                    idempotency_key(ruleset, trig.def->id, key, as_of, static_cast<int>(a));
                r.ruleset = ruleset;
                r.version = rules.rules.version;
                r.trigger_id = trig.def->id;
                r.customer_key = key;
                r.action = static_cast<int>(a);
                r.type = trig.actions[a].def->type;
                r.payload = payload.str();
                r.run_id = in.run_id;
                r.as_of = as_of;
                r.status = status;
                (status == "pending"   ? counts.enqueued
                 : status == "holdout" ? counts.held_out
                                       : counts.capped)++;
                out.rows.push_back(std::move(r));
                out.row_trigger.push_back(t);
            }
        }
    }
    return out;
}

}  // namespace strata
