#include "engine/run.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <unordered_map>

#include "engine/json.hpp"
#include "engine/parallel.hpp"
#include "engine/store.hpp"

namespace strata {

namespace {

// Tables are split into this many rowid ranges and read side by side. Fixed, not the
// machine's core count: how facts are split decides the order sums are added in, and the
// same data must give the same bytes everywhere.
constexpr size_t kScanParts = 2;

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string sample_keys(const std::vector<uint32_t>& rows, const Column& keys) {
    std::string out;
    for (size_t i = 0; i < rows.size() && i < 5; ++i)
        out += (i ? ", " : "") + format_value(keys[rows[i]]);
    if (rows.size() > 5) out += ", …";
    return out;
}

using Masks = std::map<const CompiledSegment*, std::vector<char>>;

void collect_conditions(const std::vector<CompiledSegment>& segs,
                        std::vector<const CompiledSegment*>& out) {
    for (const auto& s : segs) {
        if (s.when) out.push_back(&s);
        collect_conditions(s.tactical, out);
    }
}

// Evaluates every segment condition, general and tactical, to a mask of the rows where it
// is true, on both cores: the conditions are independent once the lets are known, and each
// mask is placed by its index, so the split cannot change a result.
Masks condition_masks(const std::vector<CompiledSegment>& segs, const Frame& frame) {
    std::vector<const CompiledSegment*> jobs;
    collect_conditions(segs, jobs);
    std::vector<std::vector<char>> masks(jobs.size());
    for_each_on_two_threads(
        jobs.size(), [&](size_t j) { masks[j] = evaluate_condition(*jobs[j]->when, frame); });
    Masks out;
    for (size_t j = 0; j < jobs.size(); ++j)
        out.emplace(jobs[j], std::move(masks[j]));
    return out;
}

// Each customer's tactical subsegments as a row of bits, one per tactical segment in the
// order the rule file lists them (depth first), so a customer's tags read in that order.
struct TacticalSets {
    size_t words = 0;            // 64-bit words per customer
    std::vector<uint64_t> bits;  // customers × words
    std::vector<std::string> paths;

    void set(size_t customer, size_t tactical) {
        bits[customer * words + tactical / 64] |= uint64_t{1} << (tactical % 64);
    }

    // The tags of every customer, joined with ';'. Customers share few distinct sets, so
    // each set is joined once and interned.
    std::vector<Str> joined(size_t customers) const {
        std::vector<Str> out(customers, intern(""));
        if (words == 0) return out;
        std::unordered_map<std::string, Str> seen;
        for (size_t c = 0; c < customers; ++c) {
            const uint64_t* row = &bits[c * words];
            const std::string set(reinterpret_cast<const char*>(row), words * sizeof(uint64_t));
            auto [it, inserted] = seen.try_emplace(set);
            if (inserted) {
                std::string text;
                for (size_t t = 0; t < paths.size(); ++t) {
                    if (row[t / 64] >> (t % 64) & 1) text += (text.empty() ? "" : ";") + paths[t];
                }
                it->second = intern(text);
            }
            out[c] = it->second;
        }
        return out;
    }
};

// Places tactical segments under a mask of customers that hold the parent.
void place_tactical(const std::vector<CompiledSegment>& children,
                    const std::vector<char>& parent_mask, const std::string& prefix,
                    const Masks& conditions, const Column* value, std::vector<SegmentResult>& out,
                    TacticalSets& tags) {
    for (const auto& child : children) {
        SegmentResult r;
        r.def = child.def;
        r.path = prefix.empty() ? child.def->id : prefix + "/" + child.def->id;
        const size_t index = tags.paths.size();
        tags.paths.push_back(r.path);
        const std::vector<char>& cond = conditions.at(&child);
        std::vector<char> mask(parent_mask.size(), 0);
        for (size_t i = 0; i < mask.size(); ++i) {
            if (!parent_mask[i] || !cond[i]) continue;
            mask[i] = 1;
            ++r.count;
            if (value && !is_null((*value)[i])) {
                r.value_total += as_double((*value)[i]);
                ++r.value_count;
            }
            tags.set(i, index);
        }
        place_tactical(child.tactical, mask, r.path, conditions, value, r.tactical, tags);
        out.push_back(std::move(r));
    }
}

// The number of segments in `segs` and below them.
size_t count_segments(const std::vector<CompiledSegment>& segs) {
    size_t n = 0;
    for (const auto& s : segs)
        n += 1 + count_segments(s.tactical);
    return n;
}

}  // namespace

std::optional<RunReport> execute_run(const CompiledRules& rules, SQLite::Database& data,
                                     SQLite::Database* state, const RunOptions& options,
                                     RunError& error) {
    const auto started = std::chrono::steady_clock::now();
    const std::string started_at = utc_now();
    RunReport rep;
    rep.ruleset = rules.rules.ruleset;
    rep.version = rules.rules.version;
    rep.sha256 = options.rules_sha256;
    rep.as_of = options.as_of;
    const bound::Program& program = rules.program;

    auto lap = [last = started](const char* phase) mutable {
        const auto now = std::chrono::steady_clock::now();
        spdlog::info("{}: {:.0f} ms", phase,
                     std::chrono::duration<double, std::milli>(now - last).count());
        last = now;
    };
    std::string reading = "table '" + rules.rules.customers_table + "'";  // for error messages
    CustomerTable customers;
    Evaluation ev;
    // Fact tables are read in parts on their own threads: progress reports may come from any.
    ProgressFn progress;
    if (options.progress) {
        progress = [report = options.progress, mutex = std::make_shared<std::mutex>()](
                       const std::string& what, size_t rows) {
            std::lock_guard lock(*mutex);
            report(what, rows);
        };
    }
    try {
        // One read transaction over every read of this connection: in rollback-journal mode
        // no writer can commit until the reads are done, so the extra connections that read
        // parts of the fact tables see the same data.
        SQLite::Transaction reads(data);
        // Tables are read in kScanParts rowid ranges side by side, one connection each.
        std::vector<std::unique_ptr<SQLite::Database>> extra;
        std::vector<SQLite::Database*> connections{&data};
        while (connections.size() < kScanParts) {
            StoreError open_error;
            extra.push_back(open_read_only(data.getFilename(), open_error));
            if (!extra.back()) throw SQLite::Exception(open_error.message);
            connections.push_back(extra.back().get());
        }
        KeyIndex index;
        customers = read_customers(connections, rules.rules.customers_table, rules.rules.key,
                                   program, index, rep.data_quality, progress);
        lap("read customers");
        std::deque<DataQuality> part_quality;  // per part, merged in part order afterwards
        std::vector<std::unique_ptr<SqliteFactSource>> sources;
        std::vector<FactParts> parts;
        for (const auto& fact : program.facts) {
            const std::vector<RowRange> ranges =
                split_by_rowid(data, fact.table, connections.size());
            FactParts fact_parts;
            auto scanned = std::make_shared<std::atomic<size_t>>(0);
            for (size_t p = 0; p < ranges.size(); ++p) {
                part_quality.emplace_back();
                sources.push_back(std::make_unique<SqliteFactSource>(*connections[p], fact, index,
                                                                     part_quality.back(), progress,
                                                                     ranges[p], scanned));
                fact_parts.push_back(sources.back().get());
            }
            parts.push_back(std::move(fact_parts));
        }
        if (!program.facts.empty()) reading = "the fact tables";
        ev = evaluate_program(program, customers, parts, options.as_of);
        for (const DataQuality& dq : part_quality)
            merge_data_quality(rep.data_quality, dq);
        lap("facts, aggregates and lets");
    } catch (const SQLite::Exception& e) {
        error.message =
            "cannot read " + reading + " from '" + data.getFilename() + "': " + e.what();
        return std::nullopt;
    }
    for (size_t f = 0; f < program.facts.size(); ++f) {
        if (ev.future_fact_rows[f] > 0)
            rep.data_quality.future_fact_rows[program.facts[f].name] = ev.future_fact_rows[f];
    }

    const Frame frame = ev.frame();
    const size_t n = customers.rows;
    rep.customers = n;
    const std::vector<uint32_t> order = key_order(customers.keys);
    std::shared_ptr<const Column> value;
    if (rules.value) {
        value = evaluate_shared(*rules.value, frame);
        rep.has_value = true;
    }
    const Column* value_ptr = value.get();

    // General level.
    const auto& segs = rules.segments;
    const Masks conditions = condition_masks(segs, frame);
    std::vector<const std::vector<char>*> conds(segs.size(), nullptr);
    for (size_t s = 0; s < segs.size(); ++s) {
        if (segs[s].when) conds[s] = &conditions.at(&segs[s]);
    }
    std::vector<int32_t> general(n, -1);
    if (rules.rules.policy == Policy::Exclusive) {
        std::map<std::pair<size_t, size_t>, std::vector<uint32_t>> overlaps;
        std::vector<uint32_t> gaps;
        for (uint32_t row : order) {
            int32_t first = -1;
            for (size_t s = 0; s < segs.size(); ++s) {
                if (!(*conds[s])[row]) continue;
                if (first < 0)
                    first = static_cast<int32_t>(s);
                else
                    overlaps[{static_cast<size_t>(first), s}].push_back(row);
            }
            if (first < 0) gaps.push_back(row);
            general[row] = first;
        }
        if (!overlaps.empty() || !gaps.empty()) {
            std::string msg = "policy 'exclusive' does not hold, so nothing was stored:";
            for (const auto& [pair, rows] : overlaps) {
                msg += "\n  " + std::to_string(rows.size()) + " customer" +
                       (rows.size() == 1 ? "" : "s") + " match both '" + segs[pair.first].def->id +
                       "' and '" + segs[pair.second].def->id + "' (e.g. " +
                       sample_keys(rows, customers.keys) + ")";
            }
            if (!gaps.empty()) {
                msg += "\n  " + std::to_string(gaps.size()) + " customer" +
                       (gaps.size() == 1 ? "" : "s") + " match no segment (e.g. " +
                       sample_keys(gaps, customers.keys) + ")";
            }
            error.message = msg;
            error.rule_problem = true;
            return std::nullopt;
        }
    } else {
        std::vector<uint32_t> unmatched;
        for (uint32_t row : order) {
            for (size_t s = 0; s < segs.size() && general[row] < 0; ++s) {
                if (!segs[s].when || (*conds[s])[row]) general[row] = static_cast<int32_t>(s);
            }
            if (general[row] < 0) unmatched.push_back(row);
        }
        if (!unmatched.empty()) {
            error.message = std::to_string(unmatched.size()) + " customer" +
                            (unmatched.size() == 1 ? "" : "s") +
                            " match no general segment (e.g. " +
                            sample_keys(unmatched, customers.keys) +
                            "), so nothing was stored; add a last segment with 'when: otherwise'";
            error.rule_problem = true;
            return std::nullopt;
        }
    }

    // Counts, values and tactical subsegments, segment by segment.
    TacticalSets tags;
    size_t tacticals = 0;
    for (const auto& s : segs)
        tacticals += count_segments(s.tactical);
    tags.words = (tacticals + 63) / 64;
    tags.bits.assign(n * tags.words, 0);
    size_t covered = 0;
    for (size_t s = 0; s < segs.size(); ++s) {
        SegmentResult r;
        r.def = segs[s].def;
        r.path = segs[s].def->id;
        std::vector<char> mask(n, 0);
        for (size_t i = 0; i < n; ++i) {
            if (general[i] != static_cast<int32_t>(s)) continue;
            mask[i] = 1;
            ++r.count;
            if (value_ptr && !is_null((*value_ptr)[i])) {
                r.value_total += as_double((*value_ptr)[i]);
                ++r.value_count;
            }
        }
        covered += r.count;
        rep.value_total += r.value_total;
        place_tactical(segs[s].tactical, mask, "", conditions, value_ptr, r.tactical, tags);
        rep.segments.push_back(std::move(r));
    }
    // The coverage invariant: every customer in exactly one general segment.
    if (covered != n) {
        error.message = "internal error: general segments hold " + std::to_string(covered) +
                        " customers of " + std::to_string(n) + "; nothing was stored";
        return std::nullopt;
    }

    lap("segments");
    const std::vector<Str> tag_text = tags.joined(n);
    std::vector<Str> segment_ids;
    for (const auto& s : segs)
        segment_ids.push_back(intern(s.def->id));
    rep.membership.reserve(n);
    for (uint32_t row : order) {
        rep.membership.push_back(
            {customers.keys[row], segment_ids[static_cast<size_t>(general[row])], tag_text[row]});
    }
    rep.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();

    if (!options.dry_run) {
        RunRecord record;
        record.ruleset = rep.ruleset;
        record.version = rep.version;
        record.rules_sha256 = rep.sha256;
        record.rules_path = options.rules_path;
        record.as_of = format_date(rep.as_of);
        record.started_at = started_at;
        record.finished_at = utc_now();
        record.status = "complete";
        record.customers = static_cast<int64_t>(n);
        record.summary_json = report_json(rep);
        StoreError store_error;
        auto id = store_run(*state, record, rep.membership, store_error);
        if (!id) {
            error.message = store_error.message;
            return std::nullopt;
        }
        rep.run_id = *id;
        lap("store");
    }
    rep.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    return rep;
}

namespace {

void write_segment(JsonWriter& w, const SegmentResult& s, const RunReport& rep, bool general) {
    const double customers = static_cast<double>(rep.customers);
    w.begin_object();
    w.key("id").value(s.def->id);
    if (!s.def->meta.label.empty()) w.key("label").value(s.def->meta.label);
    w.key("count").value(s.count);
    w.key("share").value(customers > 0 ? static_cast<double>(s.count) / customers : 0.0, 4);
    if (rep.has_value) {
        w.key("value_total").value(s.value_total, 2);
        if (s.value_count > 0)
            w.key("value_avg").value(s.value_total / static_cast<double>(s.value_count), 2);
        else
            w.key("value_avg").null();
        w.key("value_share").value(rep.value_total != 0 ? s.value_total / rep.value_total : 0.0, 4);
    }
    const auto& m = s.def->meta;
    if (!m.goal.empty()) w.key("goal").value(m.goal);
    if (!m.offer.empty()) w.key("offer").value(m.offer);
    if (!m.channel.empty()) w.key("channel").value(m.channel);
    if (m.contact_every) w.key("contact_every").value(format_duration(*m.contact_every));
    if (m.priority) w.key("priority").value(*m.priority);
    if (!general) w.key("path").value(s.path);
    w.key("tactical").begin_array();
    for (const auto& t : s.tactical)
        write_segment(w, t, rep, false);
    w.end_array();
    w.end_object();
}

}  // namespace

std::string report_json(const RunReport& rep) {
    JsonWriter w;
    w.begin_object();
    w.key("ruleset").value(rep.ruleset);
    w.key("version").value(rep.version);
    w.key("sha256").value(rep.sha256);
    w.key("as_of").value(format_date(rep.as_of));
    if (rep.run_id > 0)
        w.key("run_id").value(rep.run_id);
    else
        w.key("run_id").null();
    w.key("customers").value(rep.customers);
    if (rep.has_value) w.key("value_total").value(rep.value_total, 2);
    w.key("segments").begin_array();
    for (const auto& s : rep.segments)
        write_segment(w, s, rep, true);
    w.end_array();
    const auto& dq = rep.data_quality;
    w.key("data_quality").begin_object();
    w.key("findings").value(dq.findings());
    w.key("null_keys").value(dq.null_keys);
    w.key("duplicate_keys").value(dq.duplicate_keys);
    w.key("duplicate_key_samples").begin_array();
    for (const auto& k : dq.duplicate_samples)
        w.value(k);
    w.end_array();
    w.key("unconvertible").begin_array();
    for (const auto& u : dq.unconvertible) {
        w.begin_object();
        w.key("table").value(u.table).key("column").value(u.column).key("type").value(
            type_name(u.type));
        w.key("count").value(u.count).key("sample").value(u.sample);
        w.end_object();
    }
    w.end_array();
    w.key("orphan_fact_rows").begin_object();
    for (const auto& [fact, count] : dq.orphan_fact_rows)
        w.key(fact).value(count);
    w.end_object();
    w.key("facts_after_as_of").begin_object();
    for (const auto& [fact, count] : dq.future_fact_rows)
        w.key(fact).value(count);
    w.end_object();
    w.end_object();
    w.key("elapsed_ms").value(static_cast<int64_t>(rep.elapsed_ms));
    w.end_object();
    return w.str();
}

}  // namespace strata
