// Reading a ruleset's open stays back as placements: all of them, a page at a time, or one
// customer's (engine/stays.hpp).
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>

#include "engine/state.hpp"
#include "engine/state_common.hpp"
#include "engine/stay_rows.hpp"
#include "engine/stays.hpp"
#include "engine/table_scan.hpp"

namespace strata {

using state_common::ruleset_id;
using state_common::segment_names;
using stay_rows::for_each_stays_at;
using stay_rows::kOpenRowColumns;
using stay_rows::open_stays_by_customer;
using stay_rows::parse_tactical;
using stay_rows::stay_segment;
using stay_rows::StayAt;

namespace {

// A placement's tactical paths joined by ';', interned once per combination of segment codes
// met: a million customers share a few dozen combinations, and building and interning the
// text for each one took a fifth of loading the open stays. The texts belong to the pool in
// scope, so one of these lives no longer than one read: the live engine gives each call a
// pool of its own.
class TacticalTexts {
  public:
    // Starts a placement's list of codes.
    void clear() { codes_.clear(); }
    void add(int64_t code) { codes_.push_back(code); }
    // The joined text of the codes added since clear(), whose stays are `stays`.
    Str text(const std::vector<OpenTactical>& stays) {
        auto found = texts_.find(codes_);
        if (found != texts_.end()) return found->second;
        std::string joined;
        for (const OpenTactical& t : stays) {
            if (!joined.empty()) joined += ';';
            joined += t.segment.str();
        }
        return texts_.emplace(codes_, intern(joined)).first->second;
    }

  private:
    struct Hash {
        size_t operator()(const std::vector<int64_t>& codes) const {
            uint64_t h = 1469598103934665603ull;
            for (const int64_t c : codes)
                h = (h ^ static_cast<uint64_t>(c)) * 1099511628211ull;
            return static_cast<size_t>(h);
        }
    };
    std::vector<int64_t> codes_;
    std::unordered_map<std::vector<int64_t>, Str, Hash> texts_;
};

// The name of segment `code`, which a stay of customer `key` holds, by `name_of(code)`; a code
// that table strata_segments does not hold is an error naming both (stay_rows::unknown_segment).
template <class NameOf>
Str stay_segment(NameOf& name_of, int64_t code, const Value& key) {
    const Str segment = name_of(code);
    if (!segment.p) stay_rows::unknown_segment(key, code);
    return segment;
}

// Appends the placements of q's rows (customer_key, level, segment, entered_run, in the primary
// key's order) to `out`, a segment's name by `name_of(code)` and a run's as_of by
// `as_of_of(run)`; returns the rows read. The columns are read through SQLite's own calls: a
// SQLite::Column a cell cost a reference count's two atomic updates each.
template <class NameOf, class AsOfOf>
size_t read_placements(RawStatement& q, std::vector<OpenPlacement>& out, NameOf&& name_of,
                       AsOfOf&& as_of_of) {
    sqlite3_stmt* stmt = q.get();
    size_t rows = 0;
    TacticalTexts texts;
    std::vector<OpenTactical> tactical;
    auto close_last = [&] {
        if (out.empty()) return;
        OpenPlacement& p = out.back();
        p.tactical_text = texts.text(tactical);
        p.tactical.assign(tactical);
    };
    const size_t first = out.size();
    while (q.step()) {
        ++rows;
        Value key = stay_rows::stay_key(stmt, 0);
        if (out.size() == first || compare_keys(out.back().key, key) != 0) {
            close_last();
            texts.clear();
            tactical.clear();
            out.push_back({});
            out.back().key = key;
        }
        OpenPlacement& p = out.back();
        const int level = sqlite3_column_int(stmt, 1);
        const int64_t code = sqlite3_column_int64(stmt, 2);
        const int64_t entered = sqlite3_column_int64(stmt, 3);
        if (level == 0) {
            p.general = stay_segment(name_of, code, p.key);
            p.general_since_run = entered;
            p.since = as_of_of(entered);
        } else {
            tactical.push_back({stay_segment(name_of, code, p.key), level, entered});
            texts.add(code);
        }
    }
    close_last();
    return rows;
}

// Appends the placements of q's rows (customer_key, general, general_since, tactical: rows of
// strata_open_stays in key order) to `out`, as read_placements does; returns the rows read.
template <class NameOf, class AsOfOf>
size_t read_open_rows(RawStatement& q, std::vector<OpenPlacement>& out, NameOf&& name_of,
                      AsOfOf&& as_of_of) {
    sqlite3_stmt* stmt = q.get();
    size_t rows = 0;
    TacticalTexts texts;
    std::vector<OpenTactical> tactical;
    std::vector<int64_t> numbers;
    while (q.step()) {
        ++rows;
        OpenPlacement& p = out.emplace_back();
        p.key = stay_rows::stay_key(stmt, 0);
        if (sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
            p.general = stay_segment(name_of, sqlite3_column_int64(stmt, 1), p.key);
            p.general_since_run = sqlite3_column_int64(stmt, 2);
            p.since = as_of_of(p.general_since_run);
        }
        texts.clear();
        if (sqlite3_column_type(stmt, 3) == SQLITE_NULL) {
            p.tactical_text = texts.text({});
            continue;
        }
        const auto* json = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
        numbers.clear();
        tactical.clear();
        if (!parse_tactical(std::string_view(json ? json : "",
                                             static_cast<size_t>(sqlite3_column_bytes(stmt, 3))),
                            numbers))
            throw SQLite::Exception("the open tactical stays of customer " + format_value(p.key) +
                                    " in table 'strata_open_stays' (column 'tactical') are not "
                                    "a JSON array of [level, segment, entered_run]");
        for (size_t i = 0; i < numbers.size(); i += 3) {
            const Str segment = stay_segment(name_of, numbers[i + 1], p.key);
            tactical.push_back({segment, static_cast<int>(numbers[i]), numbers[i + 2]});
            texts.add(numbers[i + 1]);
        }
        p.tactical_text = texts.text(tactical);
        p.tactical.assign(tactical);
    }
    return rows;
}

// What turns stay rows into placements: a ruleset's segment names by code and its runs' as_of.
struct PlacementNames {
    std::unordered_map<int64_t, Str> names;
    std::unordered_map<int64_t, std::optional<Date>> as_of;  // by run
    int64_t largest_run = 0;                                 // customers of its largest run

    PlacementNames(SQLite::Database& state, const std::string& ruleset, int64_t ruleset_id)
        : names(segment_names(state, ruleset_id)) {
        SQLite::Statement runs(
            state, "SELECT run_id, as_of, customers FROM strata_runs WHERE ruleset = ?");
        runs.bind(1, ruleset);
        while (runs.executeStep()) {
            as_of[runs.getColumn(0).getInt64()] = parse_date(runs.getColumn(1).getString());
            largest_run = std::max(largest_run, runs.getColumn(2).getInt64());
        }
    }

    // Appends the placements of q's rows (customer_key, level, segment, entered_run, in the
    // primary key's order) to `out`; returns the rows read.
    size_t read(RawStatement& q, std::vector<OpenPlacement>& out) {
        return read_placements(
            q, out, [&](int64_t code) { return names[code]; },
            [&](int64_t run) { return as_of[run]; });
    }
    // The same from rows of strata_open_stays (customer_key, general, general_since, tactical).
    size_t read_rows(RawStatement& q, std::vector<OpenPlacement>& out) {
        return read_open_rows(
            q, out, [&](int64_t code) { return names[code]; },
            [&](int64_t run) { return as_of[run]; });
    }
};

// SQLite's answer to a bind, as an exception when it refused: a parameter left unbound reads
// as null, and `customer_key > null` would end a page read as if no customer came after.
void bound(RawStatement& q, int rc) {
    if (rc != SQLITE_OK) throw SQLite::Exception(sqlite3_db_handle(q.get()), rc);
}

void bind_int(RawStatement& q, int at, int64_t value) {
    bound(q, sqlite3_bind_int64(q.get(), at, value));
}

// Binds a text, whose bytes must outlive the statement's use of them.
void bind_text(RawStatement& q, int at, const std::string& text) {
    bound(q,
          sqlite3_bind_text64(q.get(), at, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
}

// Binds a key; a text key's bytes must outlive the statement's use of them.
void bind_key(RawStatement& q, int at, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) {
        bind_int(q, at, *i);
    } else {
        const std::string& text = std::get<Str>(key).str();
        bound(q, sqlite3_bind_text64(q.get(), at, text.data(), text.size(), SQLITE_STATIC,
                                     SQLITE_UTF8));
    }
}

}  // namespace

std::vector<OpenPlacement> load_open_placements(SQLite::Database& state, const std::string& ruleset,
                                                const Value* only,
                                                std::optional<int64_t> before_run) {
    std::vector<OpenPlacement> out;
    const auto id = ruleset_id(state, ruleset);
    if (!id) return out;
    PlacementNames names(state, ruleset, *id);
    // The runs' largest customer count sizes the placements at once: at 10M customers a
    // vector grown by doubling would hold up to twice what it needs.
    if (!only && names.largest_run > 0) out.reserve(static_cast<size_t>(names.largest_run));
    // In the primary key's order: key, then level (general first, then tactical in file order).
    // Before run R: the stays R found open, entered before it and not ended by a run before it
    // (those R ended have exited_run R).
    if (!before_run && open_stays_by_customer(state)) {
        RawStatement q(state, std::string("SELECT ") + kOpenRowColumns +
                                  " FROM strata_open_stays WHERE ruleset = ?1" +
                                  (only ? " AND customer_key = ?2" : "") +
                                  " ORDER BY customer_key");
        bind_int(q, 1, *id);
        if (only) bind_key(q, 2, *only);
        names.read_rows(q, out);
        return out;
    }
    if (before_run && !only && open_stays_by_customer(state)) {
        TacticalTexts texts;
        std::vector<OpenTactical> tactical;
        for_each_stays_at(
            state, *id, *before_run - 1, [&](const Value& key, const std::vector<StayAt>& stays) {
                OpenPlacement& p = out.emplace_back();
                p.key = key;
                texts.clear();
                tactical.clear();
                for (const StayAt& s : stays) {
                    if (s.level == 0) {
                        p.general = stay_segment(names.names, key, s.code);
                        p.general_since_run = s.entered_run;
                        p.since = names.as_of[s.entered_run];
                    } else {
                        tactical.push_back({stay_segment(names.names, key, s.code),
                                            static_cast<int>(s.level), s.entered_run});
                        texts.add(s.code);
                    }
                }
                p.tactical_text = texts.text(tactical);
                p.tactical.assign(tactical);
            });
        return out;
    }
    RawStatement q(state, std::string("SELECT customer_key, level, segment, entered_run FROM "
                                      "strata_stays WHERE ruleset = ?1 AND ") +
                              (before_run ? "entered_run < ?3 AND (exited_run = 0 OR exited_run "
                                            ">= ?3)"
                                          : "exited_run = 0") +
                              (only ? " AND customer_key = ?2" : "") +
                              " ORDER BY customer_key, level, segment");
    bind_int(q, 1, *id);
    if (only) bind_key(q, 2, *only);
    if (before_run) bind_int(q, 3, *before_run);
    names.read(q, out);
    return out;
}

struct OneCustomerStays::Impl {
    SQLite::Database& state;
    std::string ruleset;
    std::optional<int64_t> ruleset_id;               // set with `stays`
    std::unique_ptr<RawStatement> stays;             // prepared once the ruleset has an id
    std::unique_ptr<RawStatement> first_run;         // at_day_start's, prepared on first use
    std::unique_ptr<RawStatement> ended_stay;        // the same
    std::unique_ptr<RawStatement> batch_runs;        // the same
    bool by_customer = false;                        // strata_open_stays (set with `stays`)
    std::unordered_map<int64_t, std::string> names;  // by segment code
    std::unordered_map<int64_t, std::optional<Date>> run_as_of;  // by run

    // Null when the ruleset has no segment of that code (as load_open_placements gives it).
    const std::string* name_of(int64_t code) {
        auto found = names.find(code);
        if (found == names.end()) {  // a segment a later run added: read them all again
            names.clear();
            SQLite::Statement q(state, "SELECT code, name FROM strata_segments WHERE ruleset = ?");
            q.bind(1, *ruleset_id);
            while (q.executeStep())
                names[q.getColumn(0).getInt64()] = q.getColumn(1).getString();
            found = names.find(code);
            if (found == names.end()) return nullptr;
        }
        return &found->second;
    }

    std::optional<Date> as_of_of(int64_t run) {
        auto found = run_as_of.find(run);
        if (found != run_as_of.end()) return found->second;
        SQLite::Statement q(state, "SELECT as_of FROM strata_runs WHERE run_id = ?");
        q.bind(1, run);
        std::optional<Date> as_of;
        if (q.executeStep()) as_of = parse_date(q.getColumn(0).getString());
        return run_as_of[run] = as_of;
    }
};

OneCustomerStays::OneCustomerStays(SQLite::Database& state, std::string ruleset)
    : impl_(std::make_unique<Impl>(
          Impl{state, std::move(ruleset), {}, {}, {}, {}, {}, false, {}, {}})) {}

OneCustomerStays::~OneCustomerStays() = default;

std::vector<OpenPlacement> OneCustomerStays::operator()(const Value& key) {
    Impl& p = *impl_;
    std::vector<OpenPlacement> out;
    if (!p.stays) {
        const std::optional<int64_t> id = ruleset_id(p.state, p.ruleset);
        if (!id) return out;
        p.by_customer = open_stays_by_customer(p.state);
        p.stays = std::make_unique<RawStatement>(
            p.state, p.by_customer ? std::string("SELECT ") + kOpenRowColumns +
                                         " FROM strata_open_stays WHERE ruleset = ? AND "
                                         "customer_key = ?"
                                   : std::string("SELECT customer_key, level, segment, "
                                                 "entered_run FROM strata_stays WHERE ruleset = ? "
                                                 "AND exited_run = 0 AND customer_key = ? ORDER "
                                                 "BY customer_key, level, segment"));
        p.ruleset_id = id;
    }
    RawStatement& q = *p.stays;
    const ResetAfter reset_after{q.get()};
    sqlite3_reset(q.get());
    bind_int(q, 1, *p.ruleset_id);
    bind_key(q, 2, key);
    auto name_of = [&](int64_t code) {
        const std::string* name = p.name_of(code);
        return name ? intern(*name) : Str{};
    };
    auto as_of_of = [&](int64_t run) { return p.as_of_of(run); };
    if (p.by_customer)
        read_open_rows(q, out, name_of, as_of_of);
    else
        read_placements(q, out, name_of, as_of_of);
    return out;
}

std::vector<OpenPlacement> OneCustomerStays::at_day_start(const Value& key,
                                                          const std::string& as_of,
                                                          const std::vector<OpenPlacement>& now) {
    Impl& p = *impl_;
    if (!p.ruleset_id) return now;  // operator() found no ruleset: nothing stored
    if (!p.first_run) {
        p.first_run = std::make_unique<RawStatement>(p.state, kFirstRunFromQuery);
        // The customer's general stay that one run ended: one seek by the primary key.
        p.ended_stay = std::make_unique<RawStatement>(
            p.state, std::string("SELECT segment, entered_run FROM ") +
                         (p.by_customer ? "strata_closed_stays" : "strata_stays") +
                         " WHERE ruleset = ? AND exited_run = ? AND customer_key = ? AND level "
                         "= 0 LIMIT 1");
        // The batch runs from a run on, by the index on (ruleset, mode is eval, as_of, run_id)
        // (state_schema.cpp): the only runs in which customers leave the base.
        p.batch_runs = std::make_unique<RawStatement>(
            p.state,
            "SELECT run_id FROM strata_runs WHERE ruleset = ? AND (coalesce(CASE WHEN "
            "json_valid(summary) THEN json_extract(summary, '$.mode') END, '') = 'eval') = 0 AND "
            "as_of >= ? AND run_id >= ? AND run_id < ? ORDER BY as_of, run_id");
    }
    RawStatement& first = *p.first_run;
    const ResetAfter reset_first{first.get()};
    sqlite3_reset(first.get());
    bind_text(first, 1, p.ruleset);
    bind_text(first, 2, as_of);
    if (!first.step()) return now;
    const int64_t first_run = sqlite3_column_int64(first.get(), 0);
    const OpenPlacement* current = now.empty() || !now[0].general.p ? nullptr : &now[0];
    if (current && current->general_since_run < first_run) return now;

    struct Ended {
        int64_t segment = 0;
        int64_t entered_run = 0;
    };
    auto ended_by = [&](int64_t run) -> std::optional<Ended> {
        RawStatement& q = *p.ended_stay;
        const ResetAfter reset_q{q.get()};
        sqlite3_reset(q.get());
        bind_int(q, 1, *p.ruleset_id);
        bind_int(q, 2, run);
        bind_key(q, 3, key);
        if (!q.step()) return std::nullopt;
        return Ended{sqlite3_column_int64(q.get(), 0), sqlite3_column_int64(q.get(), 1)};
    };
    // The stay open before the day ended at the first run of the day that ended one of the
    // customer's general stays: later stays begin after it. That run either moved them (it
    // began their next stay) or was a batch run they had left the base by.
    std::optional<Ended> found;
    // Back along the stays begun that day: each one's predecessor ended where it began.
    int64_t fresh_at = INT64_MAX;  // where the latest chain of the day's stays began
    if (current) {
        fresh_at = current->general_since_run;
        while (auto before = ended_by(fresh_at)) {
            if (before->entered_run < first_run) {
                found = before;
                break;
            }
            fresh_at = before->entered_run;
        }
    }
    // Begun afresh (new to the ruleset, or back in the base) or not placed now: a stay open
    // before the day had ended at a batch run before that, when they left.
    if (!found) {
        RawStatement& runs = *p.batch_runs;
        const ResetAfter reset_runs{runs.get()};
        sqlite3_reset(runs.get());
        bind_text(runs, 1, p.ruleset);
        bind_text(runs, 2, as_of);
        bind_int(runs, 3, first_run);
        bind_int(runs, 4, fresh_at);
        while (runs.step()) {
            if (auto before = ended_by(sqlite3_column_int64(runs.get(), 0))) {
                if (before->entered_run < first_run) found = before;
                break;  // the first stay ended that day: the one open before it, if any
            }
        }
    }
    std::vector<OpenPlacement> out;
    if (!found) return out;  // new to the ruleset that day
    OpenPlacement& placed = out.emplace_back();
    placed.key = key;
    const std::string* name = p.name_of(found->segment);
    if (!name) stay_rows::unknown_segment(key, found->segment);
    placed.general = intern(*name);
    placed.general_since_run = found->entered_run;
    placed.since = p.as_of_of(found->entered_run);
    placed.tactical_text = intern("");
    return out;
}

struct OpenPlacementPages::Impl {
    SQLite::Database& state;
    std::optional<int64_t> ruleset;
    int64_t run_id;
    size_t page_rows;
    std::optional<PlacementNames> names;
    std::optional<Value> after;  // the last key handed out
    bool done = false;
};

OpenPlacementPages::OpenPlacementPages(SQLite::Database& state, const std::string& ruleset,
                                       int64_t run_id, size_t page_rows)
    : impl_(std::make_shared<Impl>(Impl{state, ruleset_id(state, ruleset), run_id,
                                        std::max<size_t>(page_rows, 1), std::nullopt,
                                        std::nullopt})) {
    if (impl_->ruleset)
        impl_->names.emplace(state, ruleset, *impl_->ruleset);
    else
        impl_->done = true;
}

bool OpenPlacementPages::operator()(std::vector<OpenPlacement>& out) {
    Impl& p = *impl_;
    out.clear();
    size_t limit = p.page_rows;
    while (!p.done) {
        // Stays this run opened (entered_run = run_id) are not the latest run's: a customer's
        // row this run wrote is a new customer's (general_since = run_id), for the run writes
        // no other customer after the last key handed out.
        const bool by_customer = open_stays_by_customer(p.state);
        RawStatement q(
            p.state, by_customer
                         ? std::string("SELECT ") + kOpenRowColumns +
                               " FROM strata_open_stays WHERE ruleset = ? AND general_since <> ?" +
                               (p.after ? " AND customer_key > ?" : "") +
                               " ORDER BY customer_key LIMIT ?"
                         : std::string("SELECT customer_key, level, segment, entered_run FROM "
                                       "strata_stays WHERE ruleset = ? AND exited_run = 0 AND "
                                       "entered_run <> ?") +
                               (p.after ? " AND customer_key > ?" : "") +
                               " ORDER BY customer_key, level, segment LIMIT ?");
        bind_int(q, 1, *p.ruleset);
        bind_int(q, 2, p.run_id);
        int at = 3;
        if (p.after) bind_key(q, at++, *p.after);
        bind_int(q, at, static_cast<int64_t>(limit));
        const size_t rows = by_customer ? p.names->read_rows(q, out) : p.names->read(q, out);
        if (rows < limit) {
            p.done = true;
        } else if (by_customer) {
            // A row is a whole customer: the page ends with one.
        } else if (out.size() > 1) {
            out.pop_back();  // its stays may go on past the page: it starts the next one
        } else {
            out.clear();  // one customer with more stays than a page: a larger page
            limit *= 2;
            continue;
        }
        if (!out.empty()) p.after = out.back().key;
        return !out.empty();
    }
    return false;
}

OpenTacticals::OpenTacticals(const OpenTacticals& other) {
    *this = other;
}

OpenTacticals& OpenTacticals::operator=(const OpenTacticals& other) {
    if (this == &other) return *this;
    items_.reset(other.size_ ? new OpenTactical[other.size_] : nullptr);
    size_ = other.size_;
    std::copy(other.begin(), other.end(), items_.get());
    return *this;
}

void OpenTacticals::assign(const std::vector<OpenTactical>& stays) {
    items_.reset(stays.empty() ? nullptr : new OpenTactical[stays.size()]);
    std::copy(stays.begin(), stays.end(), items_.get());
    size_ = static_cast<uint32_t>(stays.size());
}

void OpenTacticals::push_back(const OpenTactical& stay) {
    // Grown by one each time: a customer has as many as the rule file has tactical segments.
    std::unique_ptr<OpenTactical[]> grown(new OpenTactical[size_ + 1]);
    std::copy(begin(), end(), grown.get());
    grown[size_] = stay;
    items_ = std::move(grown);
    ++size_;
}

}  // namespace strata
