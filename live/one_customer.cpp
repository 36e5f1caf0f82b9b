#include "live/one_customer.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "engine/cell_readers.hpp"
#include "engine/parallel.hpp"
#include "engine/placement.hpp"
#include "engine/run_parts.hpp"
#include "engine/run_state.hpp"
#include "engine/store.hpp"
#include "engine/table_scan.hpp"
#include "engine/triggers.hpp"
#include "engine/value_ops.hpp"

namespace strata::live {

namespace {

void bind_key(sqlite3_stmt* stmt, int at, const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) {
        sqlite3_bind_int64(stmt, at, *i);
    } else {
        const std::string& text = std::get<Str>(key).str();
        sqlite3_bind_text(stmt, at, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
}

// Whether SQLite converts what `column` of `table` holds, and what it is compared with, to one
// affinity (INTEGER, TEXT, REAL or NUMERIC; the declared type decides, by SQLite's rules):
// then the number 5 and the text '5' cannot both be there (blobs aside, which no lookup
// finds), and `column = key` finds every row that any spelling of the key would. Only for
// ordinary tables: a view's or a virtual table's declared types promise nothing, and a STRICT
// table's ANY converts nothing.
bool converts_to_one_affinity(SQLite::Database& data, const std::string& table,
                              const std::string& column) {
    SQLite::Statement kind(data,
                           "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ? "
                           "COLLATE NOCASE");
    kind.bind(1, table);
    if (!kind.executeStep()) return false;
    const std::string sql = value_ops::map_ascii(kind.getColumn(0).getString(), ::toupper);
    if (sql.rfind("CREATE VIRTUAL", 0) == 0) return false;
    SQLite::Statement info(data,
                           "SELECT type FROM pragma_table_info(?) WHERE name = ? COLLATE "
                           "NOCASE");
    info.bind(1, table);
    info.bind(2, column);
    if (!info.executeStep()) return false;
    const std::string type = value_ops::map_ascii(info.getColumn(0).getString(), ::toupper);
    auto has = [&](const char* word) { return type.find(word) != std::string::npos; };
    if (has("INT") || has("CHAR") || has("CLOB") || has("TEXT")) return true;
    if (has("BLOB") || type.find_first_not_of(" \t\n\r") == std::string::npos) return false;
    return type.find("ANY") == std::string::npos;  // REAL, or NUMERIC (but not STRICT's ANY)
}

// The other key a fact row's key cell could join instead of `key`, by KeyIndex's rules: for
// an integer key its decimal text, for a text that spells an integer that integer.
std::optional<Value> twin_key(const Value& key) {
    if (const auto* i = std::get_if<int64_t>(&key)) return Value{intern(std::to_string(*i))};
    if (auto i = integer_key_spelled(std::get<Str>(key).str())) return Value{*i};
    return std::nullopt;
}

// The number a text key spells in full (a fraction stored as REAL reads as such a text), or
// nullopt for an integer key or any other text.
std::optional<double> fraction_spelled(const Value& key) {
    const auto* text = std::get_if<Str>(&key);
    if (!text) return std::nullopt;
    const std::string& t = text->str();
    char* end = nullptr;
    const double d = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(d)) return std::nullopt;
    return d;
}

// The least and the greatest number SQLite prints as `text`, which is how a run keys a key
// stored as a fraction: fifteen digits, so 0.1 + 0.2 prints as 0.3 but is not the number 0.3.
// They are `near` and its neighbours while they print so (at most a few dozen); none when
// `near` does not print as `text` (5.50 is not how 5.5 prints). `print` is the statement
// `SELECT CAST(?1 AS TEXT)`.
std::optional<std::pair<double, double>> numbers_printed_as(sqlite3_stmt* print,
                                                            const std::string& text, double near) {
    const ResetAfter reset{print};
    auto prints_as_text = [&](double x) {
        sqlite3_reset(print);
        sqlite3_bind_double(print, 1, x);
        if (sqlite3_step(print) != SQLITE_ROW) return false;
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(print, 0));
        return p &&
               text == std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(print, 0)));
    };
    if (!prints_as_text(near)) return std::nullopt;
    constexpr int kMostEachSide = 64;
    double low = near, high = near;
    for (int i = 0; i < kMostEachSide; ++i) {
        const double next = std::nextafter(high, HUGE_VAL);
        if (!prints_as_text(next)) break;
        high = next;
    }
    for (int i = 0; i < kMostEachSide; ++i) {
        const double next = std::nextafter(low, -HUGE_VAL);
        if (!prints_as_text(next)) break;
        low = next;
    }
    return std::pair(low, high);
}

// The numbers a key spelled as a fraction stands for in a run: those SQLite prints as it.
std::optional<std::pair<double, double>> numbers_of_key(sqlite3_stmt* print, const Value& key) {
    const std::optional<double> fraction = fraction_spelled(key);
    if (!fraction) return std::nullopt;
    return numbers_printed_as(print, std::get<Str>(key).str(), *fraction);
}

// A fact's rows of one customer, read on the calling thread into one chunk.
class OneCustomerFacts : public FactSource {
  public:
    OneCustomerFacts(sqlite3_stmt* stmt, const bound::FactUse& fact,
                     const std::vector<CellReader>& readers, const KeyIndex& index)
        : stmt_(stmt), fact_(fact), readers_(readers), index_(index) {}

    bool read_inline() const override { return true; }

    void read(const std::function<void(FactChunk&)>& consume) override {
        ResetAfter reset{stmt_};
        FactChunk chunk;
        chunk.columns.resize(fact_.columns.size());
        DataQuality dq;  // what does not convert reads as null, as in a run; not reported here
        ConversionLog log(dq, fact_.table);
        sqlite3* db = sqlite3_db_handle(stmt_);
        while (true) {
            const int rc = sqlite3_step(stmt_);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) throw SQLite::Exception(db, rc);
            if (key_owner(index_, sqlite3_column_value(stmt_, 0)) != 0) continue;
            chunk.owner.push_back(0);
            for (size_t c = 0; c < readers_.size(); ++c) {
                Value& v = chunk.columns[c].emplace_back();
                sqlite3_value* cell = sqlite3_column_value(stmt_, static_cast<int>(c) + 1);
                if (!readers_[c](cell, v))
                    log.bad(fact_.columns[c].name, fact_.columns[c].type, cell);
            }
            ++chunk.rows;
        }
        if (chunk.rows > 0) consume(chunk);
    }

  private:
    sqlite3_stmt* stmt_;
    const bound::FactUse& fact_;
    const std::vector<CellReader>& readers_;
    const KeyIndex& index_;
};

using Prepared = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

Prepared prepare(SQLite::Database& db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db.getHandle(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    Prepared out(stmt, sqlite3_finalize);
    if (rc != SQLITE_OK) throw SQLite::Exception(db.getHandle(), rc);
    return out;
}

}  // namespace

std::vector<Value> candidate_keys(std::string_view text, bool text_only) {
    std::vector<Value> keys;
    if (!text_only)
        if (auto i = integer_key_spelled(text)) keys.emplace_back(*i);
    if (!text.empty()) keys.emplace_back(intern(text));
    return keys;
}

std::optional<Thresholds> load_thresholds(SQLite::Database& state, const CompiledRules& rules,
                                          const std::string& sha256, ThresholdsProblem& problem,
                                          std::string& message) {
    const std::string& ruleset = rules.rules.ruleset;
    StoreError error;
    std::optional<RunRecord> run;
    try {
        if (state.tableExists("strata_runs")) run = find_run(state, ruleset, std::nullopt, error);
    } catch (const SQLite::Exception& e) {
        error.message = "cannot read runs from '" + state.getFilename() + "': " + e.what();
    }
    if (!error.message.empty()) {
        problem = ThresholdsProblem::Database;
        message = error.message;
        return std::nullopt;
    }
    if (!run) {
        problem = ThresholdsProblem::NoRun;
        message = "ruleset '" + ruleset + "' has no stored run in '" + state.getFilename() +
                  "' to take its thresholds from: run the rule file first (strata run)";
        return std::nullopt;
    }
    if (run->rules_sha256 != sha256) {
        problem = ThresholdsProblem::OtherFile;
        message = "the latest run of ruleset '" + ruleset + "' (run " +
                  std::to_string(run->run_id) + ", version " + std::to_string(run->version) +
                  ", as_of " + run->as_of + ") evaluated another rule file (SHA-256 " +
                  run->rules_sha256.substr(0, 12) + ", this file is " + sha256.substr(0, 12) +
                  "): run this file first (strata run) so that its thresholds are stored";
        return std::nullopt;
    }
    std::optional<PopulationFits> fits = load_population_fits(state, run->run_id, rules, error);
    if (!fits) {
        problem = ThresholdsProblem::Database;
        message = error.message;
        return std::nullopt;
    }
    int64_t fits_run = run->run_id;
    try {
        fits_run = fits_owner_run(state, run->run_id);
    } catch (const SQLite::Exception& e) {
        problem = ThresholdsProblem::Database;
        message = "cannot read runs from '" + state.getFilename() + "': " + e.what();
        return std::nullopt;
    }
    problem = ThresholdsProblem::None;
    return Thresholds{std::move(*run), std::move(*fits), fits_run};
}

struct CustomerReader::Impl {
    const CompiledRules& rules;
    Prepared customer{nullptr, sqlite3_finalize};
    Prepared customer_numbers{nullptr, sqlite3_finalize};  // the same for a key as a fraction
    // Every row in the order a scan gives them, for a table without rowids (a view): of rows
    // repeating a key, a run keeps the first a scan gives, which no lookup by key can order.
    Prepared in_scan_order{nullptr, sqlite3_finalize};
    Prepared print{nullptr, sqlite3_finalize};  // how SQLite prints a number
    std::vector<bound::ColumnUse> from_table;   // the customer columns read from the table
    std::vector<size_t> slot_of;                // each one's slot among the program's columns
    std::vector<CellReader> customer_readers;
    struct Fact {
        Prepared stmt{nullptr, sqlite3_finalize};  // the rows of a key and its twin (5, '5')
        Prepared one{nullptr, sqlite3_finalize};   // the rows of one key
        // The rows of a key spelled as a fraction: the text, or a number printed as it.
        Prepared numbers{nullptr, sqlite3_finalize};
        bool one_finds_all = false;  // `one` finds the rows of every spelling of a key
        std::vector<CellReader> readers;
    };
    // The customer table's key column cannot hold 5 and '5' side by side.
    bool one_spelling_of_a_key = false;
    std::vector<Fact> facts;
    // Of the latest fact_sources() call.
    Column keys;
    KeyIndex index;
    std::vector<std::unique_ptr<OneCustomerFacts>> sources;

    explicit Impl(const CompiledRules& r) : rules(r) {}
};

CustomerReader::CustomerReader(const CompiledRules& rules, SQLite::Database& data)
    : impl_(std::make_unique<Impl>(rules)) {
    Impl& s = *impl_;
    const bound::Program& program = rules.program;
    for (size_t c = 0; c < program.columns.size(); ++c) {
        if (program.columns[c].source != bound::ColumnSource::Table) continue;
        s.from_table.push_back(program.columns[c]);
        s.slot_of.push_back(c);
    }
    s.customer_readers = readers_for(s.from_table);
    const std::string& table = rules.rules.customers_table;
    // Of rows sharing a key, a run keeps the first in table (rowid) order.
    const std::optional<std::string> rowid = rowid_alias(data, table);
    s.one_spelling_of_a_key = converts_to_one_affinity(data, table, rules.rules.key);
    const std::string select_all =
        "SELECT " + column_list(rules.rules.key, s.from_table) + " FROM " + quote_identifier(table);
    const std::string customer_select = select_all + " WHERE " + quote_identifier(rules.rules.key);
    const std::string in_table_order = rowid ? " ORDER BY " + *rowid : std::string();
    if (!rowid) s.in_scan_order = prepare(data, select_all);
    s.customer = prepare(data, customer_select + " = ?1" + in_table_order);
    s.print = prepare(data, "SELECT CAST(?1 AS TEXT)");
    s.customer_numbers =
        prepare(data, customer_select + " = ?1 OR " + quote_identifier(rules.rules.key) +
                          " BETWEEN ?2 AND ?3" + in_table_order);
    for (const bound::FactUse& fact : program.facts) {
        Impl::Fact f;
        const std::string select = "SELECT " + column_list(fact.key, fact.columns) + " FROM " +
                                   quote_identifier(fact.table) + " WHERE " +
                                   quote_identifier(fact.key);
        f.stmt = prepare(data, select + " IN (?1, ?2)");
        // SQLite answers an IN list of parameters through a temporary table made on each call:
        // a key column with an affinity is searched for one spelling instead.
        f.one = prepare(data, select + " = ?1");
        f.numbers =
            prepare(data, select + " = ?1 OR " + quote_identifier(fact.key) + " BETWEEN ?2 AND ?3");
        f.one_finds_all = converts_to_one_affinity(data, fact.table, fact.key);
        f.readers = readers_for(fact.columns);
        s.facts.push_back(std::move(f));
    }
}

CustomerReader::~CustomerReader() = default;

std::optional<CustomerTable> CustomerReader::read_customer(const Value& key, Date as_of) {
    Impl& s = *impl_;
    // A key stored as a fraction is keyed by the text SQLite prints for it: of the rows whose
    // key is that text or a number printed as it, the first in table order, as in a run (a
    // column with REAL affinity turns the text into the nearest number, which need not be the
    // stored one).
    const auto numbers = numbers_of_key(s.print.get(), key);
    sqlite3_stmt* stmt = numbers ? s.customer_numbers.get() : s.customer.get();
    ResetAfter reset{stmt};
    bind_key(stmt, 1, key);
    if (numbers) {
        sqlite3_bind_double(stmt, 2, numbers->first);
        sqlite3_bind_double(stmt, 3, numbers->second);
    }
    // Steps `st` to its next row of this key exactly (the query compares with the column's
    // affinity); false at its end.
    auto next_of_key = [&](sqlite3_stmt* st) {
        while (true) {
            const int rc = sqlite3_step(st);
            if (rc == SQLITE_DONE) return false;
            if (rc != SQLITE_ROW) throw SQLite::Exception(sqlite3_db_handle(st), rc);
            const Value k = customer_key_of_cell(sqlite3_column_value(st, 0));
            if (!is_null(k) && compare_keys(k, key) == 0) return true;
        }
    };
    auto row_of = [&](sqlite3_stmt* st) {
        CustomerTable t;
        t.rows = 1;
        t.keys.push_back(customer_key_of_cell(sqlite3_column_value(st, 0)));
        t.columns.resize(s.rules.program.columns.size(), Column(1));
        DataQuality dq;  // what does not convert reads as null, as in a run
        ConversionLog log(dq, s.rules.rules.customers_table);
        for (size_t c = 0; c < s.from_table.size(); ++c) {
            sqlite3_value* cell = sqlite3_column_value(st, static_cast<int>(c) + 1);
            if (!s.customer_readers[c](cell, t.columns[s.slot_of[c]][0]))
                log.bad(s.from_table[c].name, s.from_table[c].type, cell);
        }
        return t;
    };
    if (!next_of_key(stmt)) return std::nullopt;
    std::optional<CustomerTable> out = row_of(stmt);
    // Without a table order, a key found twice is looked for again as a run reads the rows.
    if (s.in_scan_order && next_of_key(stmt)) {
        sqlite3_stmt* scan = s.in_scan_order.get();
        ResetAfter reset_scan{scan};
        if (next_of_key(scan)) out = row_of(scan);
    }
    if (s.rules.since) {
        KeyIndex index;
        index.build(out->keys);
        DataQuality dq;
        drop_future_customers(s.rules, as_of, *out, index, dq);
        if (out->rows == 0) return std::nullopt;
    }
    return out;
}

std::vector<FactParts> CustomerReader::fact_sources(const CustomerTable& customer, Date as_of) {
    Impl& s = *impl_;
    std::vector<FactParts> parts;
    s.sources.clear();
    if (s.facts.empty()) return parts;
    // A fact row joins the customer of its key; a key cell that could mean this customer or
    // another one in the base (5 and '5') joins as a run's KeyIndex decides over both.
    const Value& key = customer.keys.at(0);
    s.keys = {key};
    const std::optional<Value> twin = twin_key(key);
    if (twin && !s.one_spelling_of_a_key && read_customer(*twin, as_of)) s.keys.push_back(*twin);
    s.index.build(s.keys);
    // A fact key stored as a fraction joins the text SQLite prints for it: every number
    // printed so, as a run's KeyIndex joins it.
    const auto numbers = twin ? std::nullopt : numbers_of_key(s.print.get(), key);
    for (size_t f = 0; f < s.facts.size(); ++f) {
        const bool one = s.facts[f].one_finds_all || !twin;
        sqlite3_stmt* stmt = numbers ? s.facts[f].numbers.get()
                             : one   ? s.facts[f].one.get()
                                     : s.facts[f].stmt.get();
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        bind_key(stmt, 1, key);
        if (numbers) {
            sqlite3_bind_double(stmt, 2, numbers->first);
            sqlite3_bind_double(stmt, 3, numbers->second);
        } else if (twin && !one) {
            bind_key(stmt, 2, *twin);
        }
        s.sources.push_back(std::make_unique<OneCustomerFacts>(stmt, s.rules.program.facts[f],
                                                               s.facts[f].readers, s.index));
        parts.push_back({s.sources.back().get()});
    }
    return parts;
}

std::optional<OneResult> evaluate_one(const CompiledRules& rules, const Thresholds& thresholds,
                                      CustomerReader& reader, CustomerTable customer,
                                      const std::vector<OpenPlacement>& before,
                                      const std::vector<OpenPlacement>& day_start, Date as_of,
                                      SQLite::Database* history, int64_t run_id, std::string& error,
                                      bool& rule_problem) {
    const OnThisThread small;  // one row: no helper threads
    const bound::Program& program = rules.program;
    OneResult out;
    out.key = customer.keys.at(0);
    if (!before.empty()) out.before = before[0];
    fill_state_columns(program, customer, day_start, as_of);
    const std::vector<FactParts> parts = reader.fact_sources(customer, as_of);
    const Evaluation ev =
        evaluate_program(program, customer, parts, as_of, nullptr, &thresholds.fits);
    const Frame frame = ev.frame();
    SharedPackedColumn value;
    if (rules.value) value = evaluate_packed(*rules.value, frame);

    RunReport rep;
    rep.as_of = as_of;
    const SegmentPlan plan = plan_segments(rules.segments, rep.segments);
    const std::vector<uint32_t> order{0};
    const Policy policy = rules.rules.policy;
    const Unplaced unplaced =
        place_customers(plan, policy, frame, order, customer.keys, value.get(), rep, {});
    if (auto message = unplaced_message(unplaced, policy, rules.segments, customer.keys, false)) {
        error = *message;
        rule_problem = true;
        return std::nullopt;
    }
    out.placed = rep.membership.at(0);
    if (rules.triggers.empty()) return out;

    FiringInput in;
    in.rules = &rules;
    in.frame = &frame;
    in.order = &order;
    in.membership = &rep.membership;
    in.before = &before;
    in.cause = firing_cause(thresholds.run, rules.rules.version);
    in.as_of = as_of;
    in.run_id = run_id;
    in.history = history;
    in.history_customer = &out.key;
    Firing firing = fire_triggers(in);
    const std::vector<char> fresh = actions_not_enqueued(history, firing.rows);
    for (size_t r = 0; r < firing.rows.size(); ++r) {
        if (fresh[r]) out.actions.push_back(firing.rows[r]);
    }
    out.fired = std::move(firing.rows);
    return out;
}

}  // namespace strata::live
