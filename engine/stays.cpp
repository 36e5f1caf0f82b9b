#include "engine/stays.hpp"

#include "engine/reader.hpp"
#include "engine/state_common.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
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
            sql += i ? ",(?,?,?,?,?,?)" : "(?,?,?,?,?,?)";
        return prepare(sql);
    }
    void step(sqlite3_stmt* stmt) {
        const int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (rc != SQLITE_DONE) throw SQLite::Exception(db, rc);
    }
    // Deletes one open stay (`stmt` is `close`), or sets its level (`stmt` is `relevel`, with
    // the level first). The stay must be there: one that cannot be found means the state is
    // not what this run read, and the run rolls back.
    void change_stay(sqlite3_stmt* stmt, const StayRef& stay, std::optional<int> level) {
        int at = 1;
        if (level) sqlite3_bind_int(stmt, at++, *level);
        sqlite3_bind_int64(stmt, at++, ruleset);
        bind_key(stmt, at++, stay.key);
        sqlite3_bind_int(stmt, at++, stay.level);
        sqlite3_bind_int64(stmt, at++, code_of(stay.segment));
        sqlite3_bind_int64(stmt, at, stay.entered_run);
        step(stmt);
        if (sqlite3_changes(db) != 1)
            throw SQLite::Exception("a stay of customer " + format_value(stay.key) + " in '" +
                                    stay.segment.str() + "' is missing from the state");
    }
    // Inserts `count` stays, kBatch rows to a statement; bind_row(stmt, first parameter, i)
    // binds the i-th row's ruleset, exited_run, customer_key, level, segment and entered_run.
    template <typename BindRow>
    void insert_stays(size_t count, BindRow bind_row) {
        Prepared rest(nullptr, sqlite3_finalize);
        for (size_t done = 0; done < count;) {
            const size_t rows = std::min(kBatch, count - done);
            if (rows < kBatch) rest = insert_of(rows);
            sqlite3_stmt* stmt = rows == kBatch ? full.get() : rest.get();
            for (size_t k = 0; k < rows; ++k)
                bind_row(stmt, static_cast<int>(k * 6) + 1, done + k);
            step(stmt);
            done += rows;
        }
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
        "DELETE FROM strata_stays WHERE ruleset = ? AND exited_run = 0 AND customer_key = ? "
        "AND level = ? AND segment = ? AND entered_run = ?");
    s.relevel = s.prepare(
        "UPDATE strata_stays SET level = ? WHERE ruleset = ? AND exited_run = 0 AND "
        "customer_key = ? AND level = ? AND segment = ? AND entered_run = ?");
    s.full = s.insert_of(Impl::kBatch);
}

StayWriter::~StayWriter() = default;

void StayWriter::write(const StayChanges& changes) {
    Impl& s = *impl_;
    // A stay is closed by deleting its open row and inserting it again with its exited_run,
    // in batches: an UPDATE of a key column costs SQLite a second search per row (for a
    // conflict at the new key) and no batching.
    for (const StayRef& stay : changes.closed)
        s.change_stay(s.close.get(), stay, std::nullopt);
    s.insert_stays(changes.closed.size(), [&](sqlite3_stmt* stmt, int at, size_t i) {
        const StayRef& c = changes.closed[i];
        sqlite3_bind_int64(stmt, at, s.ruleset);
        sqlite3_bind_int64(stmt, at + 1, s.run_id);
        Impl::bind_key(stmt, at + 2, c.key);
        sqlite3_bind_int(stmt, at + 3, c.level);
        sqlite3_bind_int64(stmt, at + 4, s.code_of(c.segment));
        sqlite3_bind_int64(stmt, at + 5, c.entered_run);
    });
    for (const auto& [stay, level] : changes.releveled)
        s.change_stay(s.relevel.get(), stay, level);
    s.insert_stays(changes.opened.size(), [&](sqlite3_stmt* stmt, int at, size_t i) {
        const auto& o = changes.opened[i];
        sqlite3_bind_int64(stmt, at, s.ruleset);
        sqlite3_bind_int64(stmt, at + 1, 0);
        Impl::bind_key(stmt, at + 2, o.key);
        sqlite3_bind_int(stmt, at + 3, o.level);
        sqlite3_bind_int64(stmt, at + 4, s.code_of(o.segment));
        sqlite3_bind_int64(stmt, at + 5, s.run_id);
    });
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
