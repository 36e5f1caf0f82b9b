#include "engine/stays.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>

namespace strata {

namespace {

Value key_of(const SQLite::Column& c) {
    if (c.isInteger()) return static_cast<int64_t>(c.getInt64());
    return intern(c.getString());
}

void bind_key(SQLite::Statement& q, int index, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key))
        q.bind(index, *i);
    else
        q.bind(index, std::get<Str>(key).str());
}

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

int compare_keys(const Value& a, const Value& b) {
    if (a.index() != b.index()) return a.index() < b.index() ? -1 : 1;
    return compare_values(a, b);
}

std::vector<OpenPlacement> load_open_placements(SQLite::Database& state,
                                                const std::string& ruleset) {
    std::vector<OpenPlacement> out;
    SQLite::Statement q(state,
                        "SELECT customer_key, segment, level, stay_id, entered_as_of "
                        "FROM strata_stays WHERE ruleset = ? AND exited_run IS NULL "
                        "ORDER BY customer_key, level");
    q.bind(1, ruleset);
    std::string joined;
    auto close_last = [&] {
        if (!out.empty()) out.back().tactical_text = intern(joined);
        joined.clear();
    };
    while (q.executeStep()) {
        Value key = key_of(q.getColumn(0));
        if (out.empty() || compare_keys(out.back().key, key) != 0) {
            close_last();
            out.push_back({});
            out.back().key = key;
        }
        OpenPlacement& p = out.back();
        const Str segment = intern(q.getColumn(1).getText());
        const int64_t stay = q.getColumn(3).getInt64();
        if (q.getColumn(2).getInt() == 0) {
            p.general_stay = stay;
            p.general = segment;
            p.since = q.getColumn(4).getString();
        } else {
            p.tactical.emplace_back(segment, stay);
            joined += (joined.empty() ? "" : ";") + segment.str();
        }
    }
    close_last();
    return out;
}

StayDiff::StayDiff(std::vector<OpenPlacement> open,
                   std::unordered_map<std::string, int> tactical_levels)
    : open_(std::move(open)), levels_(std::move(tactical_levels)) {}

int StayDiff::level_of(const std::string& path, size_t place_in_row) const {
    auto it = levels_.find(path);
    return it == levels_.end() ? static_cast<int>(place_in_row) + 1 : it->second;
}

void StayDiff::left_base(const OpenPlacement& p, StayChanges& out) {
    if (p.general_stay) {
        out.closed.push_back(p.general_stay);
        ++transitions_.counts[{p.general.str(), ""}];
        ++transitions_.moved;
    }
    for (const auto& [path, stay] : p.tactical) {
        out.closed.push_back(stay);
        ++transitions_.tactical_left;
    }
    ++transitions_.left;
}

void StayDiff::add(const MembershipRow* rows, size_t count, StayChanges& out) {
    for (size_t r = 0; r < count; ++r) {
        const MembershipRow& row = rows[r];
        while (next_ < open_.size() && compare_keys(open_[next_].key, row.key) < 0)
            left_base(open_[next_++], out);
        const OpenPlacement* before = nullptr;
        if (next_ < open_.size() && compare_keys(open_[next_].key, row.key) == 0)
            before = &open_[next_++];
        // General level.
        const std::string& from = before && before->general_stay ? before->general.str() : "";
        ++transitions_.counts[{from, row.segment.str()}];
        if (!before || before->general != row.segment) {
            if (before && before->general_stay) out.closed.push_back(before->general_stay);
            out.opened.push_back({row.key, row.segment, 0});
            ++transitions_.moved;
        }
        if (!before) ++transitions_.entered;
        // Tactical level: unchanged tags (the usual case) compare as one text.
        if (before && before->tactical_text == row.tactical) continue;
        std::vector<std::string_view> now = split_paths(row.tactical.str());
        if (before) {
            for (const auto& [path, stay] : before->tactical) {
                if (std::find(now.begin(), now.end(), path.str()) == now.end()) {
                    out.closed.push_back(stay);
                    ++transitions_.tactical_left;
                }
            }
        }
        for (size_t i = 0; i < now.size(); ++i) {
            const std::string_view path = now[i];
            const bool had =
                before && std::any_of(before->tactical.begin(), before->tactical.end(),
                                      [&](const auto& t) { return t.first.str() == path; });
            if (had) continue;
            out.opened.push_back({row.key, intern(path), level_of(std::string(path), i)});
            ++transitions_.tactical_entered;
        }
    }
    transitions_.stays_written += out.closed.size() + out.opened.size();
}

void StayDiff::finish(StayChanges& out) {
    while (next_ < open_.size())
        left_base(open_[next_++], out);
    transitions_.stays_written += out.closed.size() + out.opened.size();
}

struct StayWriter::Impl {
    SQLite::Database& state;
    std::string ruleset;
    int64_t run_id;
    std::string as_of;
    int64_t version;
    std::string cause;
    SQLite::Statement close;
    SQLite::Statement open;

    Impl(SQLite::Database& db, std::string r, int64_t id, std::string day, int64_t v,
         std::string why)
        : state(db),
          ruleset(std::move(r)),
          run_id(id),
          as_of(std::move(day)),
          version(v),
          cause(std::move(why)),
          close(db, "UPDATE strata_stays SET exited_run = ?, exited_as_of = ? WHERE stay_id = ?"),
          open(db,
               "INSERT INTO strata_stays (ruleset, customer_key, segment, level, entered_run, "
               "entered_as_of, version, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?)") {}
};

StayWriter::StayWriter(SQLite::Database& state, std::string ruleset, int64_t run_id,
                       std::string as_of, int64_t version, std::string cause)
    : impl_(std::make_unique<Impl>(state, std::move(ruleset), run_id, std::move(as_of), version,
                                   std::move(cause))) {}

StayWriter::~StayWriter() = default;

void StayWriter::write(const StayChanges& changes) {
    Impl& s = *impl_;
    for (int64_t stay : changes.closed) {
        s.close.bind(1, s.run_id);
        s.close.bind(2, s.as_of);
        s.close.bind(3, stay);
        s.close.exec();
        s.close.reset();
    }
    for (const auto& o : changes.opened) {
        s.open.bind(1, s.ruleset);
        bind_key(s.open, 2, o.key);
        s.open.bind(3, o.segment.str());
        s.open.bind(4, o.level);
        s.open.bind(5, s.run_id);
        s.open.bind(6, s.as_of);
        s.open.bind(7, s.version);
        s.open.bind(8, s.cause);
        s.open.exec();
        s.open.reset();
    }
}

std::vector<MembershipRow> membership_of_run(SQLite::Database& state, int64_t run_id) {
    // The stays of the run's ruleset that cover the run: entered at or before it, and not
    // exited by then. Ordered by key, then general before tactical in rule-file order.
    SQLite::Statement q(
        state,
        "SELECT s.customer_key, s.segment, s.level FROM strata_runs r "
        "JOIN strata_stays s ON s.ruleset = r.ruleset AND s.entered_run <= r.run_id "
        "AND (s.exited_run IS NULL OR s.exited_run > r.run_id) "
        "WHERE r.run_id = ? ORDER BY s.customer_key, s.level, s.segment");
    q.bind(1, run_id);
    std::vector<MembershipRow> rows;
    std::string joined;
    auto close_last = [&] {
        if (!rows.empty()) rows.back().tactical = intern(joined);
        joined.clear();
    };
    while (q.executeStep()) {
        Value key = key_of(q.getColumn(0));
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

}  // namespace strata
