#include "engine/run_state.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>

#include "engine/bytes.hpp"
#include "engine/parallel.hpp"
#include "engine/population_codec.hpp"

namespace strata {

namespace {

constexpr size_t kCustomersPerBlock = 4096;

// A key as a block holds it: integer keys as the difference from the block's previous integer
// key, text keys as the length of the prefix they share with the previous text key and the rest.
struct BlockKey {
    bool text = false;
    int64_t integer = 0;
    std::string chars;
};

int compare_block_key(const BlockKey& stored, const Value& key) {
    const auto* i = std::get_if<int64_t>(&key);
    if (!stored.text) {
        if (!i) return -1;  // integers come first
        return stored.integer < *i ? -1 : (stored.integer > *i ? 1 : 0);
    }
    if (i) return 1;
    const int c = std::string_view(stored.chars).compare(std::get<Str>(key).str());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

void ensure_tables(SQLite::Database& db) {
    db.exec(
        "CREATE TABLE IF NOT EXISTS strata_aggregate_state ("
        " ruleset TEXT PRIMARY KEY, run_id INTEGER NOT NULL, version INTEGER NOT NULL,"
        " rules_sha256 TEXT NOT NULL, as_of TEXT NOT NULL, layout INTEGER NOT NULL,"
        " customers INTEGER NOT NULL, facts BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS strata_aggregate_blocks ("
        " ruleset TEXT NOT NULL, block INTEGER NOT NULL, customers INTEGER NOT NULL,"
        " states BLOB NOT NULL, PRIMARY KEY (ruleset, block));"
        "CREATE TABLE IF NOT EXISTS strata_population_fits ("
        " run_id INTEGER NOT NULL, call INTEGER NOT NULL, fit BLOB NOT NULL,"
        " PRIMARY KEY (run_id, call));");
}

std::string encode_facts(const KeptState& kept) {
    ByteWriter w;
    w.u64(kept.facts.size());
    for (const FactWatermark& f : kept.facts) {
        w.text(f.fact);
        w.text(f.table);
        w.u64(f.has_rowid);
        w.u64(f.max_rowid.has_value());
        if (f.max_rowid) w.i64(*f.max_rowid);
        w.i64(f.rows);
        w.u64(f.watch_changes.has_value());
        if (f.watch_changes) w.i64(*f.watch_changes);
        w.u64(f.watch_token.has_value());
        if (f.watch_token) w.i64(*f.watch_token);
        w.i64(f.future_rows);
        w.i64(f.unknown_time_rows);
        w.i64(f.orphan_rows);
        w.i64(f.keyless_rows);
        w.i64(f.left_out_rows);
        w.text(f.definition);
    }
    w.u64(kept.unconvertible.size());
    for (const auto& u : kept.unconvertible) {
        w.text(u.table);
        w.text(u.column);
        w.u64(static_cast<uint64_t>(u.type));
        w.u64(u.count);
        w.text(u.sample);
    }
    w.u64(kept.blocks);
    w.u64(kept.blocks_checksum);
    w.u64(kept.left_out_digest);
    // Kept since session 52, after the fields before it so that older states still decode.
    for (const FactWatermark& f : kept.facts) {
        w.u64(f.earliest_future.has_value());
        w.i64(f.earliest_future ? f.earliest_future->days : 0);
    }
    return w.take();
}

bool decode_facts(std::string_view bytes, KeptState& kept) {
    ByteReader r(bytes);
    const uint64_t facts = r.u64();
    for (uint64_t i = 0; i < facts && r.ok(); ++i) {
        FactWatermark f;
        f.fact = r.text();
        f.table = r.text();
        f.has_rowid = r.u64() != 0;
        if (r.u64() != 0) f.max_rowid = r.i64();
        f.rows = r.i64();
        if (r.u64() != 0) f.watch_changes = r.i64();
        if (r.u64() != 0) f.watch_token = r.i64();
        f.future_rows = r.i64();
        f.unknown_time_rows = r.i64();
        f.orphan_rows = r.i64();
        f.keyless_rows = r.i64();
        f.left_out_rows = r.i64();
        f.definition = r.text();
        kept.facts.push_back(std::move(f));
    }
    const uint64_t unconvertible = r.u64();
    for (uint64_t i = 0; i < unconvertible && r.ok(); ++i) {
        DataQuality::Unconvertible u;
        u.table = r.text();
        u.column = r.text();
        const uint64_t type = r.u64();
        if (type > static_cast<uint64_t>(Type::Record)) r.fail();
        u.type = static_cast<Type>(type);
        u.count = r.u64();
        u.sample = r.text();
        kept.unconvertible.push_back(std::move(u));
    }
    kept.blocks = r.u64();
    kept.blocks_checksum = r.u64();
    kept.left_out_digest = r.u64();
    if (r.ok() && !r.at_end()) {
        for (FactWatermark& f : kept.facts) {
            const bool known = r.u64() != 0;
            const int64_t days = r.i64();
            if (known) f.earliest_future = Date{static_cast<int32_t>(days)};
        }
    }
    return r.ok() && r.at_end();
}

}  // namespace

uint64_t left_out_digest(const Column& keys) {
    if (keys.empty()) return 0;
    uint64_t digest = checksum64(std::string_view());
    for (const uint32_t row : key_order(keys)) {
        const Value& key = keys[row];
        // Each key as its kind, length and bytes, so that no two sequences run together alike.
        std::string text;
        if (const auto* i = std::get_if<int64_t>(&key)) {
            text = "i" + std::to_string(*i) + ";";
        } else {
            const std::string& chars = std::get<Str>(key).str();
            text = "t" + std::to_string(chars.size()) + ":" + chars;
        }
        digest = checksum64(text, digest);
    }
    return digest == 0 ? 1 : digest;
}

uint64_t blocks_checksum(const std::vector<std::string>& blocks) {
    std::vector<uint64_t> each(blocks.size());
    for_each_on_two_threads(blocks.size(), [&](size_t b) { each[b] = checksum64(blocks[b]); });
    uint64_t sum = checksum64(std::string_view());
    for (const uint64_t c : each)
        sum = checksum64(std::string_view(reinterpret_cast<const char*>(&c), sizeof c), sum);
    return sum;
}

std::optional<std::string> why_blocks_differ(const KeptState& kept,
                                             const std::vector<std::string>& blocks) {
    std::string what;
    if (blocks.size() != kept.blocks)
        what = std::to_string(blocks.size()) + " blocks, it stored " + std::to_string(kept.blocks);
    else if (blocks_checksum(blocks) != kept.blocks_checksum)
        what = "their checksum differs";
    else
        return std::nullopt;
    return "the customers' kept states (table 'strata_aggregate_blocks') are not the ones run " +
           std::to_string(kept.run_id) + " stored: " + what;
}

std::vector<std::string> encode_aggregate_states(const AggregateComputer& computer,
                                                 const Column& keys,
                                                 const std::vector<uint32_t>& order) {
    // Blocks are encoded side by side: each is its customers' keys and states alone.
    std::vector<std::string> blocks((order.size() + kCustomersPerBlock - 1) / kCustomersPerBlock);
    for_each_on_two_threads(blocks.size(), [&](size_t b) {
        const size_t first = b * kCustomersPerBlock;
        const size_t last = std::min(order.size(), first + kCustomersPerBlock);
        ByteWriter w;
        ByteWriter state;
        w.u64(last - first);
        int64_t previous_integer = 0;
        std::string_view previous_text;
        for (size_t at = first; at < last; ++at) {
            const uint32_t row = order[at];
            const Value& key = keys[row];
            if (const auto* i = std::get_if<int64_t>(&key)) {
                const auto delta = static_cast<int64_t>(static_cast<uint64_t>(*i) -
                                                        static_cast<uint64_t>(previous_integer));
                w.u128((static_cast<unsigned __int128>((static_cast<uint64_t>(delta) << 1) ^
                                                       static_cast<uint64_t>(delta >> 63))
                        << 1));
                previous_integer = *i;
            } else {
                const std::string& text = std::get<Str>(key).str();
                size_t shared = 0;
                while (shared < previous_text.size() && shared < text.size() &&
                       previous_text[shared] == text[shared])
                    ++shared;
                w.u64((static_cast<uint64_t>(shared) << 1) | 1);
                w.text(std::string_view(text).substr(shared));
                previous_text = text;
            }
            state.clear();
            computer.save_customer(row, state);
            w.text(state.bytes());
        }
        blocks[b] = w.take();
    });
    return blocks;
}

std::optional<std::vector<std::string_view>> match_aggregate_states(
    const std::vector<std::string>& blocks, const Column& keys, const std::vector<uint32_t>& order,
    std::vector<std::string_view>& dropped, KeyKinds& kept_kinds) {
    std::vector<std::string_view> out(keys.size());
    dropped.clear();
    size_t next = 0;  // into order: the customers are in key order, as the blocks are
    BlockKey key;
    bool have_previous = false;
    BlockKey previous;
    for (const std::string& block : blocks) {
        ByteReader r(block);
        const uint64_t n = r.u64();
        int64_t previous_integer = 0;
        std::string previous_text;
        for (uint64_t i = 0; i < n && r.ok(); ++i) {
            const unsigned __int128 head = r.u128();
            if ((head & 1) == 0) {
                const auto zig = static_cast<uint64_t>(head >> 1);
                const auto delta = static_cast<int64_t>((zig >> 1) ^ (~(zig & 1) + 1));
                key.text = false;
                key.integer = static_cast<int64_t>(static_cast<uint64_t>(previous_integer) +
                                                   static_cast<uint64_t>(delta));
                previous_integer = key.integer;
            } else {
                const auto shared = static_cast<size_t>(head >> 1);
                if (shared > previous_text.size()) return std::nullopt;
                key.text = true;
                key.chars = previous_text.substr(0, shared);
                key.chars += r.text();
                previous_text = key.chars;
            }
            const std::string_view state = r.text();
            if (!r.ok()) return std::nullopt;
            (key.text ? kept_kinds.text : kept_kinds.integer) = true;
            // Keys must ascend, or the merge below would be wrong.
            if (have_previous) {
                const bool ascending =
                    previous.text != key.text
                        ? key.text
                        : (key.text ? previous.chars < key.chars : previous.integer < key.integer);
                if (!ascending) return std::nullopt;
            }
            previous = key;
            have_previous = true;
            while (next < order.size() && compare_block_key(key, keys[order[next]]) > 0)
                ++next;  // a customer the blocks do not hold: new
            if (next < order.size() && compare_block_key(key, keys[order[next]]) == 0)
                out[order[next++]] = state;
            else
                dropped.push_back(state);
        }
        if (!r.ok() || !r.at_end()) return std::nullopt;
    }
    return out;
}

void store_kept_state(SQLite::Database& state, const std::string& ruleset, const KeptState& kept) {
    ensure_tables(state);
    SQLite::Statement header(state,
                             "INSERT OR REPLACE INTO strata_aggregate_state (ruleset, run_id, "
                             "version, rules_sha256, as_of, layout, customers, facts) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    header.bind(1, ruleset);
    header.bind(2, kept.run_id);
    header.bind(3, kept.version);
    header.bind(4, kept.rules_sha256);
    header.bind(5, kept.as_of);
    header.bind(6, kKeptStateLayout);
    header.bind(7, kept.customers);
    const std::string facts = encode_facts(kept);
    header.bind(8, facts.data(), static_cast<int>(facts.size()));
    header.exec();
}

void store_kept_blocks(SQLite::Database& state, const std::string& ruleset,
                       const std::vector<std::string>& blocks) {
    ensure_tables(state);
    SQLite::Statement clear(state, "DELETE FROM strata_aggregate_blocks WHERE ruleset = ?");
    clear.bind(1, ruleset);
    clear.exec();
    SQLite::Statement insert(state,
                             "INSERT INTO strata_aggregate_blocks (ruleset, block, customers, "
                             "states) VALUES (?, ?, ?, ?)");
    for (size_t b = 0; b < blocks.size(); ++b) {
        insert.bind(1, ruleset);
        insert.bind(2, static_cast<int64_t>(b));
        ByteReader count(blocks[b]);
        insert.bind(3, static_cast<int64_t>(count.u64()));
        insert.bindNoCopy(4, blocks[b].data(), static_cast<int>(blocks[b].size()));
        insert.exec();
        insert.reset();
    }
}

void store_population_fits(SQLite::Database& state, int64_t run_id,
                           const std::vector<PopulationSummary>& populations) {
    ensure_tables(state);
    SQLite::Statement insert(
        state,
        "INSERT OR REPLACE INTO strata_population_fits (run_id, call, fit) VALUES (?, ?, ?)");
    for (size_t c = 0; c < populations.size(); ++c) {
        const std::string bytes = encode_fit(populations[c].fit);
        insert.bind(1, run_id);
        insert.bind(2, static_cast<int64_t>(c));
        insert.bind(3, bytes.data(), static_cast<int>(bytes.size()));
        insert.exec();
        insert.reset();
    }
}

int64_t latest_batch_run(SQLite::Database& state, const std::string& ruleset, int64_t besides) {
    if (!state.tableExists("strata_runs")) return 0;
    SQLite::Statement q(state, kLatestBatchRunQuery);
    q.bind(1, ruleset);
    q.bind(2, besides);
    return q.executeStep() ? q.getColumn(0).getInt64() : 0;
}

std::optional<KeptState> load_kept_state(SQLite::Database& state, const std::string& ruleset,
                                         std::string& unusable) {
    unusable.clear();
    if (!state.tableExists("strata_aggregate_state")) return std::nullopt;
    SQLite::Statement q(state,
                        "SELECT run_id, version, rules_sha256, as_of, layout, customers, facts "
                        "FROM strata_aggregate_state WHERE ruleset = ?");
    q.bind(1, ruleset);
    if (!q.executeStep()) return std::nullopt;
    const std::string whose = "the aggregate state kept for ruleset '" + ruleset + "' by run " +
                              std::to_string(q.getColumn(0).getInt64()) +
                              " (table 'strata_aggregate_state')";
    if (const int64_t layout = q.getColumn(4).getInt64(); layout != kKeptStateLayout) {
        unusable = whose + " is in layout " + std::to_string(layout) + ", this strata reads " +
                   std::to_string(kKeptStateLayout) + " (another version of strata stored it)";
        return std::nullopt;
    }
    KeptState kept;
    kept.run_id = q.getColumn(0).getInt64();
    kept.version = q.getColumn(1).getInt64();
    kept.rules_sha256 = q.getColumn(2).getString();
    kept.as_of = q.getColumn(3).getString();
    kept.customers = q.getColumn(5).getInt64();
    const SQLite::Column facts = q.getColumn(6);
    if (!decode_facts(std::string_view(static_cast<const char*>(facts.getBlob()),
                                       static_cast<size_t>(facts.getBytes())),
                      kept)) {
        unusable = whose + " does not decode";
        return std::nullopt;
    }
    return kept;
}

std::vector<std::string> load_aggregate_blocks(SQLite::Database& state,
                                               const std::string& ruleset) {
    std::vector<std::string> blocks;
    // A table dropped since is blocks missing: the kept state's count tells.
    if (!state.tableExists("strata_aggregate_blocks")) return blocks;
    SQLite::Statement q(
        state, "SELECT states FROM strata_aggregate_blocks WHERE ruleset = ? ORDER BY block");
    q.bind(1, ruleset);
    while (q.executeStep()) {
        const SQLite::Column c = q.getColumn(0);
        blocks.emplace_back(static_cast<const char*>(c.getBlob()),
                            static_cast<size_t>(c.getBytes()));
    }
    return blocks;
}

int64_t fits_owner_run(SQLite::Database& state, int64_t run_id) {
    // A run of `strata eval --apply` placed one customer with the fits of its thresholds' run
    // and keeps none of its own (a copy per applied customer would grow the state by a fit's
    // size each time): its fits are that run's, which may be such a run in turn (applies one
    // after another). Each names an earlier run, so the chain ends.
    if (!state.tableExists("strata_runs")) return run_id;
    const bool has_fits = state.tableExists("strata_population_fits");
    SQLite::Statement q(
        state, std::string("SELECT json_extract(summary, '$.thresholds_run') FROM strata_runs "
                           "WHERE run_id = ? AND json_valid(summary) AND "
                           "json_extract(summary, '$.mode') = 'eval'") +
                   (has_fits ? " AND NOT EXISTS (SELECT 1 FROM strata_population_fits WHERE "
                               "run_id = ?)"
                             : ""));
    while (true) {
        q.reset();
        q.bind(1, run_id);
        if (has_fits) q.bind(2, run_id);
        if (!q.executeStep() || !q.getColumn(0).isInteger()) return run_id;
        const int64_t earlier = q.getColumn(0).getInt64();
        if (earlier >= run_id) return run_id;
        run_id = earlier;
    }
}

std::optional<PopulationFits> load_population_fits(SQLite::Database& state, int64_t run_id,
                                                   const CompiledRules& rules, StoreError& error) {
    const std::vector<PopulationCall> calls = population_calls(rules);
    PopulationFits fits;
    if (calls.empty()) return fits;
    try {
        run_id = fits_owner_run(state, run_id);
        if (!state.tableExists("strata_population_fits")) {
            error.message = "run " + std::to_string(run_id) +
                            " kept no population fits (table 'strata_population_fits' is missing "
                            "from '" +
                            state.getFilename() + "'); run the rules again to keep them";
            return std::nullopt;
        }
        SQLite::Statement q(
            state, "SELECT call, fit FROM strata_population_fits WHERE run_id = ? ORDER BY call");
        q.bind(1, run_id);
        size_t found = 0;
        while (q.executeStep()) {
            const int64_t call = q.getColumn(0).getInt64();
            const SQLite::Column bytes = q.getColumn(1);
            std::optional<PopulationFit> fit;
            if (call >= 0 && static_cast<size_t>(call) < calls.size())
                fit = decode_fit(std::string_view(static_cast<const char*>(bytes.getBlob()),
                                                  static_cast<size_t>(bytes.getBytes())));
            if (!fit) {
                error.message = "run " + std::to_string(run_id) + "'s population fit " +
                                std::to_string(call) +
                                " in table 'strata_population_fits' does not decode";
                return std::nullopt;
            }
            fits.record(calls[static_cast<size_t>(call)].expr, std::move(*fit));
            ++found;
        }
        if (found != calls.size()) {
            error.message = "run " + std::to_string(run_id) + " kept " + std::to_string(found) +
                            " population fits in table 'strata_population_fits', the rules have " +
                            std::to_string(calls.size());
            return std::nullopt;
        }
    } catch (const SQLite::Exception& e) {
        error.message = "cannot read table 'strata_population_fits' from '" + state.getFilename() +
                        "': " + e.what();
        return std::nullopt;
    }
    return fits;
}

}  // namespace strata
