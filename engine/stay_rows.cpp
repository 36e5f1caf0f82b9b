// Stays read back from the state's rows: the open stays a customer a row, the closed ones,
// and a stored run's membership from them (engine/stays.hpp, engine/stay_rows.hpp).
#include "engine/stay_rows.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <string>

#include "engine/state_common.hpp"
#include "engine/stays.hpp"
#include "engine/table_scan.hpp"

namespace strata {

namespace stay_rows {

bool open_stays_by_customer(SQLite::Database& state) {
    return state_common::has_table(state, "strata_open_stays");
}

bool parse_tactical(std::string_view text, std::vector<int64_t>& out) {
    // JSON's own grammar, narrowed to what the column holds: an array of arrays of three
    // integers, with JSON's whitespace anywhere between tokens (as json_each reads it).
    size_t i = 0;
    auto skip_space = [&] {
        while (i < text.size() &&
               (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
            ++i;
    };
    auto take = [&](char c) {
        skip_space();
        if (i == text.size() || text[i] != c) return false;
        ++i;
        return true;
    };
    auto integer = [&] {
        skip_space();
        const bool negative = i < text.size() && text[i] == '-';
        if (negative) ++i;
        const size_t first = i;
        uint64_t value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (i - first == 18) return false;  // no code or run is that large
            value = value * 10 + static_cast<uint64_t>(text[i++] - '0');
        }
        // JSON writes no leading zero, and a fraction or exponent is not an integer here.
        if (i == first || (text[first] == '0' && i - first > 1)) return false;
        out.push_back(negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value));
        return true;
    };
    if (!take('[')) return false;
    if (!take(']')) {
        do {
            if (!take('[') || !integer() || !take(',') || !integer() || !take(',') || !integer() ||
                !take(']'))
                return false;
        } while (take(','));
        if (!take(']')) return false;
    }
    skip_space();
    return i == text.size();
}

namespace {

void bind_int(RawStatement& q, int at, int64_t value) {
    const int rc = sqlite3_bind_int64(q.get(), at, value);
    if (rc != SQLITE_OK) throw SQLite::Exception(sqlite3_db_handle(q.get()), rc);
}

// Reads a key from column `at` of q's row: an integer, or a text interned.
Value key_at(RawStatement& q, int at) {
    sqlite3_stmt* stmt = q.get();
    if (sqlite3_column_type(stmt, at) == SQLITE_INTEGER)
        return static_cast<int64_t>(sqlite3_column_int64(stmt, at));
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, at));
    return intern(
        std::string_view(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(stmt, at))));
}

}  // namespace

void for_each_stays_at(SQLite::Database& state, int64_t ruleset, int64_t at,
                       const std::function<void(const Value&, const std::vector<StayAt>&)>& visit) {
    RawStatement open(state, std::string("SELECT ") + kOpenRowColumns +
                                 " FROM strata_open_stays WHERE ruleset = ? ORDER BY customer_key");
    bind_int(open, 1, ruleset);
    RawStatement closed(state,
                        "SELECT customer_key, level, segment, entered_run FROM strata_closed_stays "
                        "WHERE ruleset = ? AND exited_run > ?2 AND entered_run <= ?2 ORDER BY "
                        "customer_key, level, segment");
    bind_int(closed, 1, ruleset);
    bind_int(closed, 2, at);
    bool more_open = open.step(), more_closed = closed.step();
    std::vector<StayAt> stays;
    std::vector<int64_t> numbers;
    while (more_open || more_closed) {
        Value key;
        if (!more_closed) {
            key = key_at(open, 0);
        } else if (!more_open) {
            key = key_at(closed, 0);
        } else {
            Value a = key_at(open, 0), b = key_at(closed, 0);
            key = compare_keys(a, b) <= 0 ? a : b;
        }
        stays.clear();
        if (more_open && compare_keys(key_at(open, 0), key) == 0) {
            sqlite3_stmt* o = open.get();
            if (sqlite3_column_type(o, 1) != SQLITE_NULL && sqlite3_column_int64(o, 2) <= at)
                stays.push_back({0, sqlite3_column_int64(o, 1), sqlite3_column_int64(o, 2)});
            if (sqlite3_column_type(o, 3) != SQLITE_NULL) {
                const auto* json = reinterpret_cast<const char*>(sqlite3_column_text(o, 3));
                const size_t bytes = static_cast<size_t>(sqlite3_column_bytes(o, 3));
                numbers.clear();
                if (!parse_tactical(std::string_view(json ? json : "", bytes), numbers))
                    throw SQLite::Exception(
                        "the open tactical stays of customer " + key_value_in_message(key) +
                        " in table 'strata_open_stays' (column 'tactical') are not a JSON array "
                        "of [level, segment, entered_run]");
                for (size_t i = 0; i < numbers.size(); i += 3)
                    if (numbers[i + 2] <= at)
                        stays.push_back({numbers[i], numbers[i + 1], numbers[i + 2]});
            }
            more_open = open.step();
        }
        while (more_closed && compare_keys(key_at(closed, 0), key) == 0) {
            sqlite3_stmt* c = closed.get();
            stays.push_back({sqlite3_column_int64(c, 1), sqlite3_column_int64(c, 2),
                             sqlite3_column_int64(c, 3)});
            more_closed = closed.step();
        }
        if (stays.empty()) continue;  // the customer's stays began after the run
        std::sort(stays.begin(), stays.end());
        visit(key, stays);
    }
}

void unknown_segment(const Value& key, int64_t code) {
    throw SQLite::Exception("a stay of customer " + key_value_in_message(key) +
                            " names segment code " + std::to_string(code) +
                            ", which table 'strata_segments' does not hold");
}

Str stay_segment(const std::unordered_map<int64_t, Str>& names, const Value& key, int64_t code) {
    auto it = names.find(code);
    if (it == names.end() || !it->second.p) unknown_segment(key, code);
    return it->second;
}

}  // namespace stay_rows

namespace {

using namespace stay_rows;

// A run's membership from strata_stays as a table (state of the older layout).
std::vector<MembershipRow> membership_from_stay_rows(SQLite::Database& state, int64_t run_id) {
    // The stays of the run's ruleset that cover the run: entered at or before it, and not
    // exited by then. Ordered by key, then general before tactical in rule-file order.
    SQLite::Statement q(
        state,
        "SELECT s.customer_key, g.name, s.level, s.segment FROM strata_runs r "
        "JOIN strata_rulesets n ON n.name = r.ruleset "
        "JOIN strata_stays s ON s.ruleset = n.ruleset_id AND s.entered_run <= r.run_id "
        "AND (s.exited_run = 0 OR s.exited_run > r.run_id) "
        "LEFT JOIN strata_segments g ON g.ruleset = s.ruleset AND g.code = s.segment "
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
        if (q.getColumn(1).isNull()) stay_rows::unknown_segment(key, q.getColumn(3).getInt64());
        const Str segment = intern(q.getColumn(1).getText());
        if (q.getColumn(2).getInt() == 0)
            rows.back().segment = segment;
        else
            joined += (joined.empty() ? "" : ";") + segment.str();
    }
    close_last();
    return rows;
}

// A run's membership from strata_open_stays and strata_closed_stays.
std::vector<MembershipRow> membership_from_open_rows(SQLite::Database& state, int64_t run_id) {
    std::vector<MembershipRow> rows;
    SQLite::Statement run(state,
                          "SELECT n.ruleset_id FROM strata_runs r JOIN strata_rulesets n ON "
                          "n.name = r.ruleset WHERE r.run_id = ?");
    run.bind(1, run_id);
    if (!run.executeStep()) return rows;
    const int64_t ruleset = run.getColumn(0).getInt64();
    const std::unordered_map<int64_t, Str> names = state_common::segment_names(state, ruleset);
    std::map<std::vector<int64_t>, Str> texts;  // tactical codes in order → joined names
    std::vector<int64_t> codes;
    for_each_stays_at(
        state, ruleset, run_id, [&](const Value& key, const std::vector<StayAt>& stays) {
            MembershipRow row{key, Str{}, Str{}};
            codes.clear();
            for (const StayAt& s : stays) {
                if (s.level == 0 && !row.segment.p)
                    row.segment = stay_segment(names, key, s.code);
                else
                    codes.push_back(s.code);
            }
            if (!row.segment.p) row.segment = intern("");
            auto found = texts.find(codes);
            if (found == texts.end()) {
                std::string joined;
                for (const int64_t code : codes)
                    joined += (joined.empty() ? "" : ";") + stay_segment(names, key, code).str();
                found = texts.emplace(codes, intern(joined)).first;
            }
            row.tactical = found->second;
            rows.push_back(std::move(row));
        });
    return rows;
}
}  // namespace

std::vector<MembershipRow> membership_of_run(SQLite::Database& state, int64_t run_id) {
    return open_stays_by_customer(state) ? membership_from_open_rows(state, run_id)
                                         : membership_from_stay_rows(state, run_id);
}

}  // namespace strata
