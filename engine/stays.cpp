#include "engine/stays.hpp"

#include "engine/table_scan.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>

namespace strata {

namespace {

// Splits a ';'-joined list of tactical paths.
std::vector<std::string_view> split_paths(const std::string& text) {
    std::vector<std::string_view> out;
    size_t from = 0;
    while (from < text.size()) {
        const size_t end = std::min(text.find(';', from), text.size());
        out.emplace_back(text.data() + from, end - from);
        from = end + 1;
    }
    return out;
}

}  // namespace

Value key_from_column(const SQLite::Column& c) {
    if (c.isInteger()) return static_cast<int64_t>(c.getInt64());
    return intern(c.getString());
}

int compare_keys(const Value& a, const Value& b) {
    if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
    return compare_values(a, b);
}

static std::optional<int64_t> ruleset_id(SQLite::Database& state, const std::string& ruleset) {
    SQLite::Statement q(state, "SELECT ruleset_id FROM strata_rulesets WHERE name = ?");
    q.bind(1, ruleset);
    if (!q.executeStep()) return std::nullopt;
    return q.getColumn(0).getInt64();
}

// A ruleset's segment names by code: stays keep a small integer per row, not the text.
static std::unordered_map<int64_t, Str> segment_names(SQLite::Database& state, int64_t ruleset) {
    std::unordered_map<int64_t, Str> names;
    SQLite::Statement q(state, "SELECT code, name FROM strata_segments WHERE ruleset = ?");
    q.bind(1, ruleset);
    while (q.executeStep())
        names[q.getColumn(0).getInt64()] = intern(q.getColumn(1).getText());
    return names;
}

namespace {

// A placement's tactical paths joined by ';', interned once per combination of segment codes
// met: a million customers share a few dozen combinations, and building and interning the
// text for each one took a fifth of loading the open stays.
class TacticalTexts {
  public:
    // Starts a placement's list of codes.
    void clear() { codes_.clear(); }
    void add(int64_t code) { codes_.push_back(code); }
    // The joined text of the codes added since clear(), names by `name_of`.
    template <class NameOf>
    Str text(NameOf&& name_of) {
        auto found = texts_.find(codes_);
        if (found != texts_.end()) return found->second;
        std::string joined;
        for (const int64_t code : codes_) {
            if (!joined.empty()) joined += ';';
            joined += name_of(code).str();
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
        p.tactical_text = texts.text(name_of);
        p.tactical.assign(tactical);
    };
    const size_t first = out.size();
    while (q.step()) {
        ++rows;
        Value key;
        if (sqlite3_column_type(stmt, 0) == SQLITE_INTEGER) {
            key = static_cast<int64_t>(sqlite3_column_int64(stmt, 0));
        } else {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
            key = intern(std::string_view(text ? text : "",
                                          static_cast<size_t>(sqlite3_column_bytes(stmt, 0))));
        }
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
            p.general = name_of(code);
            p.general_since_run = entered;
            p.since = as_of_of(entered);
        } else {
            tactical.push_back({name_of(code), level, entered});
            texts.add(code);
        }
    }
    close_last();
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
};

// Binds a key; a text key's bytes must outlive the statement's use of them.
void bind_key(RawStatement& q, int at, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) {
        sqlite3_bind_int64(q.get(), at, *i);
    } else {
        const std::string& text = std::get<Str>(key).str();
        sqlite3_bind_text(q.get(), at, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    }
}

}  // namespace

std::vector<OpenPlacement> load_open_placements(SQLite::Database& state, const std::string& ruleset,
                                                const Value* only) {
    std::vector<OpenPlacement> out;
    const auto id = ruleset_id(state, ruleset);
    if (!id) return out;
    PlacementNames names(state, ruleset, *id);
    // The runs' largest customer count sizes the placements at once: at 10M customers a
    // vector grown by doubling would hold up to twice what it needs.
    if (!only && names.largest_run > 0) out.reserve(static_cast<size_t>(names.largest_run));
    // In the primary key's order: key, then level (general first, then tactical in file order).
    RawStatement q(state, std::string("SELECT customer_key, level, segment, entered_run FROM "
                                      "strata_stays WHERE ruleset = ? AND exited_run = 0") +
                              (only ? " AND customer_key = ?" : "") +
                              " ORDER BY customer_key, level, segment");
    sqlite3_bind_int64(q.get(), 1, *id);
    if (only) bind_key(q, 2, *only);
    names.read(q, out);
    return out;
}

struct OneCustomerStays::Impl {
    SQLite::Database& state;
    std::string ruleset;
    std::optional<int64_t> ruleset_id;               // set with `stays`
    std::unique_ptr<RawStatement> stays;             // prepared once the ruleset has an id
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
    : impl_(std::make_unique<Impl>(Impl{state, std::move(ruleset), {}, {}, {}, {}})) {}

OneCustomerStays::~OneCustomerStays() = default;

std::vector<OpenPlacement> OneCustomerStays::operator()(const Value& key) {
    Impl& p = *impl_;
    std::vector<OpenPlacement> out;
    if (!p.stays) {
        const std::optional<int64_t> id = ruleset_id(p.state, p.ruleset);
        if (!id) return out;
        p.stays = std::make_unique<RawStatement>(
            p.state,
            "SELECT customer_key, level, segment, entered_run FROM strata_stays WHERE ruleset = ? "
            "AND exited_run = 0 AND customer_key = ? ORDER BY customer_key, level, segment");
        p.ruleset_id = id;
    }
    RawStatement& q = *p.stays;
    // Reset however the read ends: a statement left part-way would keep the caller's read
    // transaction (and its lock) open after COMMIT.
    struct ResetAfter {
        sqlite3_stmt* stmt;
        ~ResetAfter() {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
        }
    } reset_after{q.get()};
    sqlite3_reset(q.get());
    sqlite3_bind_int64(q.get(), 1, *p.ruleset_id);
    bind_key(q, 2, key);
    read_placements(
        q, out,
        [&](int64_t code) {
            const std::string* name = p.name_of(code);
            return name ? intern(*name) : Str{};
        },
        [&](int64_t run) { return p.as_of_of(run); });
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
        // Stays this run opened (entered_run = run_id) are not the latest run's.
        RawStatement q(p.state, std::string("SELECT customer_key, level, segment, entered_run FROM "
                                            "strata_stays WHERE ruleset = ? AND exited_run = 0 AND "
                                            "entered_run <> ?") +
                                    (p.after ? " AND customer_key > ?" : "") +
                                    " ORDER BY customer_key, level, segment LIMIT ?");
        sqlite3_bind_int64(q.get(), 1, *p.ruleset);
        sqlite3_bind_int64(q.get(), 2, p.run_id);
        int at = 3;
        if (p.after) bind_key(q, at++, *p.after);
        sqlite3_bind_int64(q.get(), at, static_cast<int64_t>(limit));
        const size_t rows = p.names->read(q, out);
        if (rows < limit) {
            p.done = true;
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

StayDiff::StayDiff(std::vector<OpenPlacement> open,
                   std::unordered_map<std::string, int> tactical_levels)
    : open_(std::move(open)), levels_(std::move(tactical_levels)), none_(intern("")) {}

StayDiff::StayDiff(OpenPlacementPages pages, std::unordered_map<std::string, int> tactical_levels)
    : levels_(std::move(tactical_levels)), pages_(std::move(pages)), none_(intern("")) {}

const OpenPlacement* StayDiff::peek() {
    while (next_ == open_.size() && pages_) {
        next_ = 0;
        if (!(*pages_)(open_)) pages_.reset();
    }
    return next_ < open_.size() ? &open_[next_] : nullptr;
}

int StayDiff::level_of(const std::string& path, size_t place_in_row) const {
    auto it = levels_.find(path);
    return it == levels_.end() ? static_cast<int>(place_in_row) + 1 : it->second;
}

void StayDiff::left_base(const OpenPlacement& p, StayChanges& out) {
    if (p.general.p) {
        out.closed.push_back({p.key, p.general, 0, p.general_since_run});
        ++moves_[{p.general.p, none_.p}];
        ++transitions_.moved;
    }
    for (const OpenTactical& stay : p.tactical) {
        out.closed.push_back(p.stay(stay));
        ++transitions_.tactical_left;
    }
    ++transitions_.left;
}

void StayDiff::add(const MembershipRow* rows, size_t count, StayChanges& out) {
    for (size_t r = 0; r < count; ++r) {
        const MembershipRow& row = rows[r];
        while (peek() && compare_keys(open_[next_].key, row.key) < 0)
            left_base(open_[next_++], out);
        const OpenPlacement* before = nullptr;
        if (peek() && compare_keys(open_[next_].key, row.key) == 0) before = &open_[next_++];
        // General level.
        const bool had_general = before && before->general.p;
        ++moves_[{had_general ? before->general.p : none_.p, row.segment.p}];
        if (!had_general || before->general != row.segment) {
            if (had_general)
                out.closed.push_back({row.key, before->general, 0, before->general_since_run});
            out.opened.push_back({row.key, row.segment, 0});
            ++transitions_.moved;
        }
        if (!before) ++transitions_.entered;
        // Tactical level: unchanged tags (the usual case) compare as one text. A stay that goes
        // on takes the level its path has in this run's rule file, so that the stays keep the
        // file's order when a new version reorders its tactical segments.
        auto keep_level = [&](const OpenTactical& stay) {
            auto it = levels_.find(stay.segment.str());
            if (it != levels_.end() && it->second != stay.level)
                out.releveled.push_back({before->stay(stay), it->second});
        };
        if (before && before->tactical_text == row.tactical) {
            for (const OpenTactical& stay : before->tactical)
                keep_level(stay);
            continue;
        }
        std::vector<std::string_view> now = split_paths(row.tactical.str());
        if (before) {
            for (const OpenTactical& stay : before->tactical) {
                if (std::find(now.begin(), now.end(), stay.segment.str()) == now.end()) {
                    out.closed.push_back(before->stay(stay));
                    ++transitions_.tactical_left;
                } else {
                    keep_level(stay);
                }
            }
        }
        for (size_t i = 0; i < now.size(); ++i) {
            const std::string_view path = now[i];
            const bool had = before && std::any_of(before->tactical.begin(), before->tactical.end(),
                                                   [&](const OpenTactical& t) {
                                                       return t.segment.str() == path;
                                                   });
            if (had) continue;
            out.opened.push_back({row.key, intern(path), level_of(std::string(path), i)});
            ++transitions_.tactical_entered;
        }
    }
    transitions_.stays_written += out.closed.size() + out.opened.size() + out.releveled.size();
}

void StayDiff::finish(StayChanges& out) {
    while (peek())
        left_base(open_[next_++], out);
    for (const auto& [pair, count] : moves_)
        transitions_.counts[{*pair.first, *pair.second}] += count;
    moves_.clear();
    transitions_.stays_written += out.closed.size() + out.opened.size() + out.releveled.size();
}

// Statements prepared once and bound by hand: a first run writes a stay per customer.
struct StayWriter::Impl {
    using Prepared = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;
    static constexpr size_t kBatch = 512;  // rows per INSERT statement

    sqlite3* db = nullptr;
    int64_t ruleset = 0;
    int64_t run_id = 0;
    Prepared close{nullptr, sqlite3_finalize};
    Prepared relevel{nullptr, sqlite3_finalize};
    Prepared name{nullptr, sqlite3_finalize};               // adds a segment name's code
    std::unordered_map<const std::string*, int64_t> codes;  // by interned name
    int64_t next_code = 0;

    // The code of a segment name, given one the first time it is written.
    int64_t code_of(const Str& segment) {
        auto [it, added] = codes.emplace(segment.p, next_code);
        if (!added) return it->second;
        sqlite3_bind_int64(name.get(), 1, ruleset);
        sqlite3_bind_int64(name.get(), 2, next_code);
        bind_text(name.get(), 3, segment.str());
        step(name.get());
        return next_code++;
    }
    Prepared full{nullptr, sqlite3_finalize};  // an INSERT of kBatch rows

    Prepared prepare(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
        Prepared out(stmt, sqlite3_finalize);
        if (rc != SQLITE_OK) throw SQLite::Exception(db, rc);
        return out;
    }
    Prepared insert_of(size_t rows) {
        std::string sql =
            "INSERT INTO strata_stays (ruleset, exited_run, customer_key, level, segment, "
            "entered_run) VALUES ";
        for (size_t i = 0; i < rows; ++i)
            sql += i ? ",(?,0,?,?,?,?)" : "(?,0,?,?,?,?)";
        return prepare(sql);
    }
    void step(sqlite3_stmt* stmt) {
        const int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE) throw SQLite::Exception(db, rc);
    }
    // Sets `value` (exited_run or level) on one open stay, which must be there: a stay that
    // cannot be found means the state is not what this run read, and the run rolls back.
    void update_stay(sqlite3_stmt* stmt, int64_t value, const StayRef& stay) {
        sqlite3_bind_int64(stmt, 1, value);
        sqlite3_bind_int64(stmt, 2, ruleset);
        bind_key(stmt, 3, stay.key);
        sqlite3_bind_int(stmt, 4, stay.level);
        sqlite3_bind_int64(stmt, 5, code_of(stay.segment));
        sqlite3_bind_int64(stmt, 6, stay.entered_run);
        step(stmt);
        if (sqlite3_changes(db) != 1)
            throw SQLite::Exception("a stay of customer " + format_value(stay.key) + " in '" +
                                    stay.segment.str() + "' is missing from the state");
    }
    // Values are always bound as parameters; texts live as long as the statement runs.
    static void bind_key(sqlite3_stmt* stmt, int at, const Value& key) {
        if (const auto* i = std::get_if<int64_t>(&key)) {
            sqlite3_bind_int64(stmt, at, *i);
        } else {
            const std::string& text = std::get<Str>(key).str();
            sqlite3_bind_text(stmt, at, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
        }
    }
    static void bind_text(sqlite3_stmt* stmt, int at, const std::string& text) {
        sqlite3_bind_text(stmt, at, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    }
};

StayWriter::StayWriter(SQLite::Database& state, const std::string& ruleset, int64_t run_id)
    : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.db = state.getHandle();
    s.run_id = run_id;
    SQLite::Statement add(state, "INSERT OR IGNORE INTO strata_rulesets (name) VALUES (?)");
    add.bind(1, ruleset);
    add.exec();
    s.ruleset = ruleset_id(state, ruleset).value_or(0);
    for (const auto& [code, name] : segment_names(state, s.ruleset)) {
        s.codes.emplace(name.p, code);
        s.next_code = std::max(s.next_code, code + 1);
    }
    s.name = s.prepare("INSERT INTO strata_segments (ruleset, code, name) VALUES (?, ?, ?)");
    s.close = s.prepare(
        "UPDATE strata_stays SET exited_run = ? WHERE ruleset = ? AND exited_run = 0 AND "
        "customer_key = ? AND level = ? AND segment = ? AND entered_run = ?");
    s.relevel = s.prepare(
        "UPDATE strata_stays SET level = ? WHERE ruleset = ? AND exited_run = 0 AND "
        "customer_key = ? AND level = ? AND segment = ? AND entered_run = ?");
    s.full = s.insert_of(Impl::kBatch);
}

StayWriter::~StayWriter() = default;

void StayWriter::write(const StayChanges& changes) {
    Impl& s = *impl_;
    for (const StayRef& stay : changes.closed)
        s.update_stay(s.close.get(), s.run_id, stay);
    for (const auto& [stay, level] : changes.releveled)
        s.update_stay(s.relevel.get(), level, stay);
    Impl::Prepared rest(nullptr, sqlite3_finalize);
    const auto& rows = changes.opened;
    for (size_t done = 0; done < rows.size();) {
        const size_t count = std::min(Impl::kBatch, rows.size() - done);
        if (count < Impl::kBatch) rest = s.insert_of(count);
        sqlite3_stmt* stmt = count == Impl::kBatch ? s.full.get() : rest.get();
        for (size_t k = 0; k < count; ++k) {
            const auto& o = rows[done + k];
            const int base = static_cast<int>(k * 5);
            sqlite3_bind_int64(stmt, base + 1, s.ruleset);
            Impl::bind_key(stmt, base + 2, o.key);
            sqlite3_bind_int(stmt, base + 3, o.level);
            sqlite3_bind_int64(stmt, base + 4, s.code_of(o.segment));
            sqlite3_bind_int64(stmt, base + 5, s.run_id);
        }
        s.step(stmt);
        done += count;
    }
}

std::vector<MembershipRow> membership_of_run(SQLite::Database& state, int64_t run_id) {
    // The stays of the run's ruleset that cover the run: entered at or before it, and not
    // exited by then. Ordered by key, then general before tactical in rule-file order.
    SQLite::Statement q(
        state,
        "SELECT s.customer_key, g.name, s.level FROM strata_runs r "
        "JOIN strata_rulesets n ON n.name = r.ruleset "
        "JOIN strata_stays s ON s.ruleset = n.ruleset_id AND s.entered_run <= r.run_id "
        "AND (s.exited_run = 0 OR s.exited_run > r.run_id) "
        "JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment "
        "WHERE r.run_id = ? ORDER BY s.customer_key, s.level, s.segment");
    q.bind(1, run_id);
    std::vector<MembershipRow> rows;
    std::string joined;
    auto close_last = [&] {
        if (!rows.empty()) rows.back().tactical = intern(joined);
        joined.clear();
    };
    while (q.executeStep()) {
        Value key = key_from_column(q.getColumn(0));
        if (rows.empty() || compare_keys(rows.back().key, key) != 0) {
            close_last();
            rows.push_back({key, intern(""), intern("")});
        }
        const Str segment = intern(q.getColumn(1).getText());
        if (q.getColumn(2).getInt() == 0)
            rows.back().segment = segment;
        else
            joined += (joined.empty() ? "" : ";") + segment.str();
    }
    close_last();
    return rows;
}

std::vector<std::string> split_tactical(const std::string& tactical) {
    std::vector<std::string> out;
    size_t from = 0;
    while (from < tactical.size()) {
        const size_t end = std::min(tactical.find(';', from), tactical.size());
        out.push_back(tactical.substr(from, end - from));
        from = end + 1;
    }
    return out;
}

}  // namespace strata
