#include "engine/versions.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <string_view>

#include "text/encoding.hpp"
#include "text/one_line.hpp"

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

// How many bytes of a line a message quotes at most, besides escapes.
constexpr size_t kShownBytes = 160;
// How many bytes before the first difference a cut line keeps, so the difference shows.
constexpr size_t kShownBefore = 60;

bool continues_a_character(std::string_view s, size_t i) {
    return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
}

// A line quoted, from about kShownBefore bytes before `differs_at` (where it first differs
// from the line it is set against) to at most kShownBytes after that, cut between characters,
// with "…" where it was cut. Control characters, a byte-order mark (invisible on a terminal)
// and bytes that are not UTF-8 are escaped, so that two lines that differ never look alike.
std::string shown(const Line& line, size_t differs_at) {
    const std::string_view text = line.text;
    size_t begin = 0;
    if (text.size() > kShownBytes && differs_at > kShownBefore)
        begin = std::min(differs_at - kShownBefore, text.size() - kShownBytes);
    while (begin > 0 && continues_a_character(text, begin))
        --begin;
    size_t end = std::min(text.size(), begin + kShownBytes);
    while (end < text.size() && continues_a_character(text, end))
        --end;
    std::string out = begin > 0 ? "'…" : "'";
    for (size_t i = begin; i < end;) {
        const auto c = static_cast<unsigned char>(text[i]);
        char buf[12];
        if (text.substr(i, text::kUtf8Bom.size()) == text::kUtf8Bom) {
            out += "\\uFEFF";
            i += text::kUtf8Bom.size();
            continue;
        }
        const size_t length = c < 0x80 ? 1 : text::utf8_sequence_length(text, i);
        if (length == 0) {
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
            ++i;
        } else if (c == '\r') {
            out += "\\r";
            ++i;
        } else if (c == '\t') {
            out += "\\t";
            ++i;
        } else if (c < 0x20 || c == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
            ++i;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    out += end < text.size() ? "…'" : "'";
    if (!line.ends_with_newline) out += " (no newline at end of file)";
    return out;
}

}  // namespace

// A path as one word of a shell command: as it is when it holds only letters, digits and
// `_./-+,:@`, else in double quotes (inside a message that quotes the command in single ones).
std::string shell_word(const std::string& path) {
    const bool plain = !path.empty() && std::all_of(path.begin(), path.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("_./-+,:@").find(c) != std::string_view::npos;
    });
    if (plain) return path;
    std::string out = "\"";
    for (char c : path) {
        if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
        out += c;
    }
    return out + "\"";
}

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

std::string show_command(const std::string& ruleset, int64_t version, const std::string& option,
                         const std::string& where) {
    return "strata show " + ruleset + "@" + std::to_string(version) + " " + option + " " +
           shell_word(where);
}

std::optional<std::string> refuses_unbumped_version(SQLite::Database& state,
                                                    const std::string& ruleset, int64_t version,
                                                    const std::string& sha256,
                                                    const std::string& source) {
    return unbumped_version_message(ruleset, version, sha256, source,
                                    registered_contents(state, ruleset, version),
                                    " --state " + shell_word(state.getFilename()));
}

std::optional<std::string> unbumped_version_message(const std::string& ruleset, int64_t version,
                                                    const std::string& sha256,
                                                    const std::string& source,
                                                    const std::vector<RegisteredVersion>& contents,
                                                    const std::string& show_options) {
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
        message += " ('strata show " + name + show_options +
                   "' prints the stored one). First difference: " +
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
        size_t differs_at = 0;
        if (in_a && in_b) {
            const auto mismatch = std::mismatch(a[i].text.begin(), a[i].text.end(),
                                                b[i].text.begin(), b[i].text.end());
            differs_at = static_cast<size_t>(mismatch.first - a[i].text.begin());
        }
        return "line " + std::to_string(i + 1) +
               ": stored: " + (in_a ? shown(a[i], differs_at) : std::string("(end of file)")) +
               " / now: " + (in_b ? shown(b[i], differs_at) : std::string("(end of file)"));
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
