#include "engine/versions.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>

namespace strata {

namespace {

// (ruleset, version, sha256) is the key: a version has one content, except where runs stored
// before versions were checked used several.
constexpr const char* kVersionsSchema = R"sql(
CREATE TABLE strata_versions (
  ruleset     TEXT NOT NULL,
  version     INTEGER NOT NULL,
  sha256      TEXT NOT NULL,  -- '' when unknown (runs stored before it was recorded)
  source      BLOB,           -- the rule file's bytes as run; null when not kept
  first_seen  TEXT NOT NULL,  -- UTC: when the first run with this content started
  PRIMARY KEY (ruleset, version, sha256)
) WITHOUT ROWID;
INSERT INTO strata_versions (ruleset, version, sha256, source, first_seen)
  SELECT ruleset, version, rules_sha256, NULL, min(started_at) FROM strata_runs
  GROUP BY ruleset, version, rules_sha256;
)sql";

// The registry as a query with the columns of strata_versions: the table, or in a state file
// that no run has migrated yet, what its runs tell; nullopt when the file holds neither.
std::optional<std::string> registry_query(SQLite::Database& state) {
    if (state.tableExists("strata_versions"))
        return "SELECT ruleset, version, sha256, source, first_seen FROM strata_versions";
    if (state.tableExists("strata_runs"))
        return "SELECT ruleset, version, rules_sha256 AS sha256, NULL AS source, "
               "min(started_at) AS first_seen FROM strata_runs "
               "GROUP BY ruleset, version, rules_sha256";
    return std::nullopt;
}

struct Line {
    std::string_view text;  // without its '\n'
    bool ends_with_newline = false;
};

std::vector<Line> split_lines(std::string_view text) {
    std::vector<Line> lines;
    size_t begin = 0;
    while (begin < text.size()) {
        const size_t end = text.find('\n', begin);
        if (end == std::string_view::npos) {
            lines.push_back({text.substr(begin), false});
            break;
        }
        lines.push_back({text.substr(begin, end - begin), true});
        begin = end + 1;
    }
    return lines;
}

// A line quoted, its control characters escaped, cut after kShownChars bytes.
std::string shown(const Line& line) {
    constexpr size_t kShownChars = 200;
    std::string out = "'";
    for (size_t i = 0; i < line.text.size(); ++i) {
        if (i == kShownChars) {
            out += "…";
            break;
        }
        const auto c = static_cast<unsigned char>(line.text[i]);
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += "'";
    if (!line.ends_with_newline) out += " (no newline at end of file)";
    return out;
}

}  // namespace

void ensure_versions_table(SQLite::Database& state) {
    if (!state.tableExists("strata_versions")) state.exec(kVersionsSchema);
}

std::vector<RegisteredVersion> registered_contents(SQLite::Database& state,
                                                   const std::string& ruleset, int64_t version) {
    std::vector<RegisteredVersion> contents;
    const auto registry = registry_query(state);
    if (!registry) return contents;
    SQLite::Statement q(state, "SELECT sha256, source, first_seen FROM (" + *registry +
                                   ") WHERE ruleset = ? AND version = ? "
                                   "ORDER BY first_seen, sha256");
    q.bind(1, ruleset);
    q.bind(2, version);
    while (q.executeStep()) {
        RegisteredVersion v;
        v.ruleset = ruleset;
        v.version = version;
        v.sha256 = q.getColumn(0).getString();
        if (!q.getColumn(1).isNull()) v.source = q.getColumn(1).getString();
        v.first_seen = q.getColumn(2).getString();
        contents.push_back(std::move(v));
    }
    return contents;
}

std::optional<std::string> refuses_unbumped_version(SQLite::Database& state,
                                                    const std::string& ruleset, int64_t version,
                                                    const std::string& sha256,
                                                    const std::string& source) {
    return unbumped_version_message(ruleset, version, sha256, source,
                                    registered_contents(state, ruleset, version));
}

std::optional<std::string> unbumped_version_message(
    const std::string& ruleset, int64_t version, const std::string& sha256,
    const std::string& source, const std::vector<RegisteredVersion>& contents) {
    const RegisteredVersion* known = nullptr;
    for (const auto& c : contents) {
        if (c.sha256 == sha256) return std::nullopt;
        // The first seen content whose source was kept, else the first with a known sha256.
        if (c.sha256.empty()) continue;
        if (!known || (!known->source && c.source)) known = &c;
    }
    if (!known) return std::nullopt;
    const std::string name = ruleset + "@" + std::to_string(version);
    std::string message = "ruleset '" + ruleset + "' version " + std::to_string(version) +
                          " was already run with other content (sha256 " +
                          known->sha256.substr(0, 12) + ", first seen " + known->first_seen +
                          "): the version was not bumped. Raise 'version:' in the rule file to " +
                          "run the change";
    if (known->source) {
        message += " ('strata show " + name + "' prints the stored one). First difference: " +
                   first_differing_line(*known->source, source);
    } else {
        message += ". The stored source of " + name +
                   " was not kept (its runs predate kept sources), so the differing line "
                   "cannot be shown";
    }
    return message;
}

void register_version(SQLite::Database& state, const std::string& ruleset, int64_t version,
                      const std::string& sha256, const std::optional<std::string>& source,
                      const std::string& first_seen) {
    SQLite::Statement q(state,
                        "INSERT INTO strata_versions (ruleset, version, sha256, source, "
                        "first_seen) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (ruleset, version, sha256) DO UPDATE SET "
                        "source = coalesce(source, excluded.source)");
    q.bind(1, ruleset);
    q.bind(2, version);
    q.bind(3, sha256);
    if (source)
        q.bind(4, source->data(), static_cast<int>(source->size()));  // a blob: the bytes as run
    else
        q.bind(4);
    q.bind(5, first_seen);
    q.exec();
}

std::string first_differing_line(const std::string& stored, const std::string& now) {
    if (stored == now) return {};
    const auto a = split_lines(stored);
    const auto b = split_lines(now);
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        const bool in_a = i < a.size(), in_b = i < b.size();
        if (in_a && in_b && a[i].text == b[i].text &&
            a[i].ends_with_newline == b[i].ends_with_newline)
            continue;
        return "line " + std::to_string(i + 1) +
               ": stored: " + (in_a ? shown(a[i]) : std::string("(end of file)")) +
               " / now: " + (in_b ? shown(b[i]) : std::string("(end of file)"));
    }
    return {};  // not reached: different texts differ in some line
}

std::optional<std::vector<VersionListing>> list_versions(SQLite::Database& state,
                                                         const std::optional<std::string>& ruleset,
                                                         StoreError& error) {
    std::vector<VersionListing> versions;
    try {
        const auto registry = registry_query(state);
        if (!registry) return versions;
        {
            SQLite::Statement q(state,
                                "SELECT ruleset, version, sha256, source IS NOT NULL, "
                                "first_seen FROM (" +
                                    *registry + ")" + (ruleset ? " WHERE ruleset = ?" : "") +
                                    " ORDER BY ruleset, version, first_seen, sha256");
            if (ruleset) q.bind(1, *ruleset);
            while (q.executeStep()) {
                VersionListing v;
                v.version.ruleset = q.getColumn(0).getString();
                v.version.version = q.getColumn(1).getInt64();
                v.version.sha256 = q.getColumn(2).getString();
                v.source_kept = q.getColumn(3).getInt() != 0;
                v.version.first_seen = q.getColumn(4).getString();
                versions.push_back(std::move(v));
            }
        }
        std::map<std::tuple<std::string, int64_t, std::string>, VersionListing*> by_key;
        for (auto& v : versions)
            by_key[{v.version.ruleset, v.version.version, v.version.sha256}] = &v;
        SQLite::Statement q(state, std::string("SELECT ruleset, version, rules_sha256, run_id, "
                                               "as_of, started_at, customers FROM strata_runs") +
                                       (ruleset ? " WHERE ruleset = ?" : "") + " ORDER BY run_id");
        if (ruleset) q.bind(1, *ruleset);
        while (q.executeStep()) {
            auto it = by_key.find({q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                                   q.getColumn(2).getString()});
            if (it == by_key.end()) continue;  // a run of another strata that did not register
            it->second->runs.push_back({q.getColumn(3).getInt64(), q.getColumn(4).getString(),
                                        q.getColumn(5).getString(), q.getColumn(6).getInt64()});
        }
    } catch (const SQLite::Exception& e) {
        error.message = "cannot read rule versions from '" + state.getFilename() + "': " + e.what();
        return std::nullopt;
    }
    return versions;
}

std::optional<std::string> registered_source(SQLite::Database& state, const std::string& ruleset,
                                             int64_t version, const std::string& sha256) {
    for (const auto& c : registered_contents(state, ruleset, version)) {
        if (c.sha256 == sha256 && c.source) return c.source;
    }
    return std::nullopt;
}

}  // namespace strata
