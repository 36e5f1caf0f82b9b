#include "engine/stays.hpp"

#include "engine/reader.hpp"
#include "engine/state_common.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <optional>

namespace strata {

using state_common::ruleset_id;
using state_common::segment_names;

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

namespace {

// A key as (the integer, whether it is a text spelling it), when it is either.
std::optional<std::pair<int64_t, bool>> integer_of_key(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return std::pair{*i, false};
    if (const auto* t = std::get_if<Str>(&key)) {
        if (auto i = integer_key_spelled(t->str())) return std::pair{*i, true};
    }
    return std::nullopt;
}

}  // namespace

void StayDiff::left_base(const OpenPlacement& p, StayChanges& out) {
    if (auto i = integer_of_key(p.key)) left_integers_.push_back(*i);
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
    StayChanges::Placed gone;
    gone.key = p.key;
    gone.existed = true;
    gone.general_before = p.general;
    gone.general_since_before = p.general_since_run;
    out.placed.push_back(std::move(gone));
}

void StayDiff::add(const MembershipRow* rows, size_t count, StayChanges& out) {
    for (size_t r = 0; r < count; ++r) {
        const MembershipRow& row = rows[r];
        while (peek() && compare_keys(open_[next_].key, row.key) < 0)
            left_base(open_[next_++], out);
        const OpenPlacement* before = nullptr;
        if (peek() && compare_keys(open_[next_].key, row.key) == 0) before = &open_[next_++];
        const size_t changes_before = out.closed.size() + out.opened.size() + out.releveled.size();
        // The customer's open stays after the run, kept when any of them changed.
        StayChanges::Placed after;
        // General level.
        const bool had_general = before && before->general.p;
        ++moves_[{had_general ? before->general.p : none_.p, row.segment.p}];
        after.general = row.segment;
        if (!had_general || before->general != row.segment) {
            if (had_general)
                out.closed.push_back({row.key, before->general, 0, before->general_since_run});
            out.opened.push_back({row.key, row.segment, 0});
            ++transitions_.moved;
        } else {
            after.general_since = before->general_since_run;
        }
        if (!before) {
            ++transitions_.entered;
            // Its twin of the other kind can only be a customer who left. Keys come in key
            // order, integers before texts: a text's twin went by already, an integer's is
            // still to come. So a first run (no stays) keeps none of its keys.
            if (auto i = integer_of_key(row.key);
                i && (i->second ? !left_integers_.empty() : peek() != nullptr))
                new_integers_.push_back(*i);
        }
        // Tactical level: unchanged tags (the usual case) compare as one text. A stay that goes
        // on takes the level its path has in this run's rule file, so that the stays keep the
        // file's order when a new version reorders its tactical segments.
        auto keep_level = [&](const OpenTactical& stay) {
            auto it = levels_.find(stay.segment.str());
            const int level = it != levels_.end() ? it->second : stay.level;
            if (level != stay.level) out.releveled.push_back({before->stay(stay), level});
            after.tactical.push_back({stay.segment, level, stay.entered_run});
        };
        if (before && before->tactical_text == row.tactical) {
            for (const OpenTactical& stay : before->tactical)
                keep_level(stay);
        } else {
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
                const bool had =
                    before &&
                    std::any_of(before->tactical.begin(), before->tactical.end(),
                                [&](const OpenTactical& t) { return t.segment.str() == path; });
                if (had) continue;
                const Str segment = intern(path);
                const int level = level_of(std::string(path), i);
                out.opened.push_back({row.key, segment, level});
                after.tactical.push_back({segment, level, 0});
                ++transitions_.tactical_entered;
            }
        }
        if (out.closed.size() + out.opened.size() + out.releveled.size() == changes_before)
            continue;
        after.key = row.key;
        after.existed = before != nullptr;
        if (before) {
            after.general_before = before->general;
            after.general_since_before = before->general_since_run;
        }
        std::stable_sort(
            after.tactical.begin(), after.tactical.end(),
            [](const OpenTactical& a, const OpenTactical& b) { return a.level < b.level; });
        out.placed.push_back(std::move(after));
    }
    transitions_.stays_written += out.closed.size() + out.opened.size() + out.releveled.size();
}

void StayDiff::finish(StayChanges& out) {
    while (peek())
        left_base(open_[next_++], out);
    for (const auto& [pair, count] : moves_)
        transitions_.counts[{*pair.first, *pair.second}] += count;
    moves_.clear();
    // New customers whose key left as the other kind, counted in key order (the example is
    // the first): a text spells one integer only, so each is one customer.
    if (!new_integers_.empty()) std::sort(left_integers_.begin(), left_integers_.end());
    for (const auto& [integer, text] : new_integers_) {
        if (!std::binary_search(left_integers_.begin(), left_integers_.end(),
                                std::pair{integer, !text}))
            continue;
        if (transitions_.retyped++ == 0) {
            const std::string digits = std::to_string(integer);
            transitions_.retyped_example =
                text ? "'" + digits + "' was " + digits : digits + " was '" + digits + "'";
            transitions_.retyped_as_text = text;
        }
    }
    left_integers_ = {};
    new_integers_ = {};
    transitions_.stays_written += out.closed.size() + out.opened.size() + out.releveled.size();
}

// Statements prepared once and bound by hand: a first run writes a row per customer.
struct StayWriter::Impl {
    using Prepared = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;
    static constexpr size_t kBatch = 512;  // rows per INSERT statement

    sqlite3* db = nullptr;
    int64_t ruleset = 0;
    int64_t run_id = 0;
    Prepared update{nullptr, sqlite3_finalize};             // a customer's open stays, in place
    Prepared remove{nullptr, sqlite3_finalize};             // a customer who left the base
    Prepared name{nullptr, sqlite3_finalize};               // adds a segment name's code
    std::unordered_map<const std::string*, int64_t> codes;  // by interned name
    int64_t next_code = 0;
    Prepared full_closed{nullptr, sqlite3_finalize};  // an INSERT of kBatch closed stays, or null
    Prepared full_open{nullptr, sqlite3_finalize};  // an INSERT of kBatch customers' rows, or null
    std::string tactical;                           // reused
    std::vector<std::array<int64_t, 3>> entries;    // reused: (level, code, entered_run)

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

    Prepared prepare(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
        Prepared out(stmt, sqlite3_finalize);
        if (rc != SQLITE_OK) throw SQLite::Exception(db, rc);
        return out;
    }
    // An INSERT of `rows` rows of `columns` values each into `table`.
    Prepared insert_of(const char* table, const char* columns, int count, size_t rows) {
        std::string one = "(?";
        for (int c = 1; c < count; ++c)
            one += ",?";
        one += ")";
        std::string sql = std::string("INSERT INTO ") + table + " (" + columns + ") VALUES ";
        for (size_t i = 0; i < rows; ++i)
            sql += (i ? "," : "") + one;
        return prepare(sql);
    }
    static constexpr const char* kClosed = "strata_closed_stays";
    static constexpr const char* kClosedColumns =
        "ruleset, exited_run, customer_key, level, segment, entered_run";
    static constexpr const char* kOpen = "strata_open_stays";
    static constexpr const char* kOpenColumns =
        "ruleset, customer_key, general, general_since, tactical";
    void step(sqlite3_stmt* stmt) {
        const int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE) throw SQLite::Exception(db, rc);
    }
    // Inserts `count` rows of `columns` values into `table`, kBatch rows to a statement (`full`
    // holds kBatch); bind_row(stmt, first parameter, i) binds the i-th row.
    template <typename BindRow>
    void insert_rows(Prepared& full, const char* table, const char* names, int columns,
                     size_t count, BindRow bind_row) {
        Prepared rest(nullptr, sqlite3_finalize);
        for (size_t done = 0; done < count;) {
            const size_t rows = std::min(kBatch, count - done);
            if (rows < kBatch) rest = insert_of(table, names, columns, rows);
            // Prepared on first use: one customer's apply never fills one.
            if (rows == kBatch && !full) full = insert_of(table, names, columns, kBatch);
            sqlite3_stmt* stmt = rows == kBatch ? full.get() : rest.get();
            for (size_t k = 0; k < rows; ++k)
                bind_row(stmt, static_cast<int>(k) * columns + 1, done + k);
            step(stmt);
            done += rows;
        }
    }
    // The JSON array of a customer's open tactical stays, [level, code, entered_run] each, in
    // level order (then code): what strata_open_stays.tactical holds. Empty for none.
    const std::string& tactical_json(const StayChanges::Placed& p) {
        entries.clear();
        for (const OpenTactical& t : p.tactical)
            entries.push_back(
                {t.level, code_of(t.segment), t.entered_run ? t.entered_run : run_id});
        std::sort(entries.begin(), entries.end());
        tactical.clear();
        for (const auto& [level, code, entered] : entries) {
            tactical += tactical.empty() ? "[[" : ",[";
            tactical += std::to_string(level) + "," + std::to_string(code) + "," +
                        std::to_string(entered) + "]";
        }
        if (!tactical.empty()) tactical += "]";
        return tactical;
    }
    // Binds a customer's new open stays at `at`: general, general_since, tactical.
    void bind_open(sqlite3_stmt* stmt, int at, const StayChanges::Placed& p) {
        sqlite3_bind_int64(stmt, at, code_of(p.general));
        sqlite3_bind_int64(stmt, at + 1, p.general_since ? p.general_since : run_id);
        const std::string& json = tactical_json(p);
        if (json.empty())
            sqlite3_bind_null(stmt, at + 2);
        else
            sqlite3_bind_text(stmt, at + 2, json.data(), static_cast<int>(json.size()),
                              SQLITE_TRANSIENT);
    }
    // Binds ruleset, customer, and the general stay the run read, from `at`.
    void bind_where(sqlite3_stmt* stmt, int at, const StayChanges::Placed& p) {
        sqlite3_bind_int64(stmt, at, ruleset);
        bind_key(stmt, at + 1, p.key);
        if (p.general_before.p)
            sqlite3_bind_int64(stmt, at + 2, code_of(p.general_before));
        else
            sqlite3_bind_null(stmt, at + 2);
        sqlite3_bind_int64(stmt, at + 3, p.general_since_before);
    }
    // Runs `stmt` (update or remove) on a customer's row, which must be there as the run read
    // it: one that cannot be found means the state is not what this run read, and the run
    // rolls back.
    void change_row(sqlite3_stmt* stmt, const StayChanges::Placed& p) {
        step(stmt);
        if (sqlite3_changes(db) != 1)
            throw SQLite::Exception("the open stays of customer " + format_value(p.key) +
                                    " are not what this run read from the state");
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
    s.update = s.prepare(
        "UPDATE strata_open_stays SET general = ?, general_since = ?, tactical = ? WHERE "
        "ruleset = ? AND customer_key = ? AND general IS ? AND general_since = ?");
    s.remove = s.prepare(
        "DELETE FROM strata_open_stays WHERE ruleset = ? AND customer_key = ? AND general IS ? "
        "AND general_since = ?");
}

StayWriter::~StayWriter() = default;

void StayWriter::write(const StayChanges& changes) {
    Impl& s = *impl_;
    // A move is one write: the customer's row is updated in place (or removed when they left
    // the base), and the stays that ended are appended.
    std::vector<const StayChanges::Placed*> added;
    for (const StayChanges::Placed& p : changes.placed) {
        if (!p.existed) {
            added.push_back(&p);
        } else if (!p.general.p) {
            s.bind_where(s.remove.get(), 1, p);
            s.change_row(s.remove.get(), p);
        } else {
            s.bind_open(s.update.get(), 1, p);
            s.bind_where(s.update.get(), 4, p);
            s.change_row(s.update.get(), p);
        }
    }
    s.insert_rows(s.full_closed, Impl::kClosed, Impl::kClosedColumns, 6, changes.closed.size(),
                  [&](sqlite3_stmt* stmt, int at, size_t i) {
                      const StayRef& c = changes.closed[i];
                      sqlite3_bind_int64(stmt, at, s.ruleset);
                      sqlite3_bind_int64(stmt, at + 1, s.run_id);
                      Impl::bind_key(stmt, at + 2, c.key);
                      sqlite3_bind_int(stmt, at + 3, c.level);
                      sqlite3_bind_int64(stmt, at + 4, s.code_of(c.segment));
                      sqlite3_bind_int64(stmt, at + 5, c.entered_run);
                  });
    s.insert_rows(s.full_open, Impl::kOpen, Impl::kOpenColumns, 5, added.size(),
                  [&](sqlite3_stmt* stmt, int at, size_t i) {
                      const StayChanges::Placed& p = *added[i];
                      sqlite3_bind_int64(stmt, at, s.ruleset);
                      Impl::bind_key(stmt, at + 1, p.key);
                      s.bind_open(stmt, at + 2, p);
                  });
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
