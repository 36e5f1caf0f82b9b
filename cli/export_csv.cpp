#include "cli/export_csv.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/common.hpp"
#include "cli/io.hpp"
#include "dsl/calendar.hpp"
#include "dsl/diagnostics.hpp"
#include "dsl/names.hpp"
#include "engine/run.hpp"
#include "engine/sha256.hpp"
#include "engine/store.hpp"
#include "engine/versions.hpp"
#include "text/encoding.hpp"
#include "text/one_line.hpp"

namespace strata::cli {

namespace {

// Where an exported column's values come from.
enum class From { Key, Segment, Tactical, Offer, Channel, Priority, RunId, AsOf, Column, Let };

struct ExportColumn {
    std::string header;  // as the user named it
    From from = From::Key;
    size_t index = 0;             // Column: the slot; Let: the let's index
    std::optional<size_t> field;  // Let: a field of an rfm record
    bool evaluated() const { return from == From::Column || from == From::Let; }
};

// The export's own columns, in the default order, and the names they answer to.
const std::vector<std::pair<std::string, From>>& own_columns() {
    static const std::vector<std::pair<std::string, From>> columns{
        {"customer_key", From::Key},  {"key", From::Key},      {"segment", From::Segment},
        {"tactical", From::Tactical}, {"offer", From::Offer},  {"channel", From::Channel},
        {"priority", From::Priority}, {"run_id", From::RunId}, {"as_of", From::AsOf}};
    return columns;
}

std::optional<From> own_column(const std::string& name) {
    for (const auto& [n, from] : own_columns()) {
        if (n == name) return from;
    }
    return std::nullopt;
}

// The own columns' names, joined for a message.
std::string own_column_names() {
    std::string out;
    for (const auto& [n, from] : own_columns())
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The rules of the run's version, compiled against today's database, and their evaluation.
struct Evaluation {
    LoadedRules rules;
    std::vector<Value> keys;                 // the fresh placement's customers, in key order
    std::vector<std::vector<Value>> values;  // per evaluated column of `columns`, by customer
};

// The source the run's version registered, or the file at `rules` when its bytes are the run's.
std::optional<std::string> run_source(const ExportOptions& options, SQLite::Database& state,
                                      const RunRecord& r) {
    try {
        if (auto source = registered_source(state, r.ruleset, r.version, r.rules_sha256))
            return source;
    } catch (const SQLite::Exception&) {
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.rules, ec)) return std::nullopt;
    std::string read_error;
    auto text = read_text_file(options.rules, read_error);
    if (text && sha256_hex(*text) == r.rules_sha256) return text;
    return std::nullopt;
}

// Resolves a name that is not one of the export's own columns against the compiled rules.
// A column or let named like one of export's own (a customer column `segment`) is reached
// qualified: `customers.segment` (the customer table's name), `let.priority`.
std::optional<ExportColumn> rule_column(const std::string& name, const CompiledRules& rules) {
    const bound::Program& p = rules.program;
    if (name == rules.rules.key) return ExportColumn{name, From::Key, 0, std::nullopt};
    for (size_t i = 0; i < p.lets.size(); ++i) {
        // An rfm record is written by its fields, not as a whole.
        if (p.lets[i].name == name && p.lets[i].type != Type::Record)
            return ExportColumn{name, From::Let, i, std::nullopt};
        const std::string prefix = p.lets[i].name + ".";
        if (p.lets[i].type == Type::Record && name.rfind(prefix, 0) == 0) {
            const auto& fields = bound::rfm_fields();
            const auto it = std::find(fields.begin(), fields.end(), name.substr(prefix.size()));
            if (it != fields.end())
                return ExportColumn{name, From::Let, i, static_cast<size_t>(it - fields.begin())};
        }
    }
    for (size_t i = 0; i < p.columns.size(); ++i) {
        if (p.columns[i].name == name && p.columns[i].source == bound::ColumnSource::Table)
            return ExportColumn{name, From::Column, i, std::nullopt};
    }
    const std::string table_prefix = rules.rules.customers_table + ".";
    if (name.rfind(table_prefix, 0) == 0) {
        const std::string column = name.substr(table_prefix.size());
        for (size_t i = 0; i < p.columns.size(); ++i) {
            if (p.columns[i].name == column && p.columns[i].source == bound::ColumnSource::Table)
                return ExportColumn{name, From::Column, i, std::nullopt};
        }
    }
    if (name.rfind("let.", 0) == 0 && name.rfind("let.let.", 0) != 0) {
        if (auto let = rule_column(name.substr(4), rules); let && let->from == From::Let) {
            let->header = name;
            return let;
        }
    }
    return std::nullopt;
}

// How a column or let of the rules named like one of export's own is reached, or "".
std::string qualified_name(const std::string& name, const CompiledRules& rules) {
    if (!own_column(name) || name == rules.rules.key) return "";
    for (const auto& let : rules.program.lets) {
        if (let.name == name && let.type != Type::Record) return "let." + name;
    }
    for (const auto& c : rules.program.columns) {
        if (c.name == name && c.source == bound::ColumnSource::Table)
            return rules.rules.customers_table + "." + name;
    }
    return "";
}

// Every name --columns takes with these rules, for "did you mean" and the list in errors: a
// column or let named like one of export's own by its qualified name.
std::vector<std::string> available_names(const CompiledRules* rules) {
    std::vector<std::string> out;
    for (const auto& [name, from] : own_columns())
        out.push_back(name);
    if (!rules) return out;
    auto add = [&](const std::string& name) {
        const std::string qualified = qualified_name(name, *rules);
        const std::string& shown = qualified.empty() ? name : qualified;
        if (std::find(out.begin(), out.end(), shown) == out.end()) out.push_back(shown);
    };
    add(rules->rules.key);
    for (const auto& c : rules->program.columns) {
        if (c.source == bound::ColumnSource::Table && c.name != rules->rules.key) add(c.name);
    }
    for (const auto& let : rules->program.lets) {
        if (let.type != Type::Record) {
            add(let.name);
            continue;
        }
        for (const auto& f : bound::rfm_fields())
            add(let.name + "." + f);
    }
    return out;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

// What an unknown --columns name most likely meant, beyond the near spellings: a field of an
// rfm let under another let's name (`rfm.code` for `score.code`), or a column of the customer
// table that the rules do not read. Empty when neither.
std::string unknown_name_hint(const std::string& name, const std::vector<std::string>& available,
                              const LoadedRules& rules) {
    const auto fields = bound::rfm_fields();
    if (const size_t dot = name.rfind('.');
        dot != std::string::npos &&
        std::find(fields.begin(), fields.end(), name.substr(dot + 1)) != fields.end()) {
        const std::string field = name.substr(dot);
        std::vector<std::string> same_field;
        for (const auto& a : available)
            if (a.size() > field.size() &&
                a.compare(a.size() - field.size(), field.size(), field) == 0)
                same_field.push_back(a);
        if (!same_field.empty())
            return " (the rfm fields of this rule file: " + joined(same_field) + ")";
    }
    if (!rules.db) return {};
    StoreError ignored;
    const auto schema = read_schema(*rules.db, ignored);
    const TableSchema* table = schema ? schema->find(rules.rules->rules.customers_table) : nullptr;
    // As SQLite names columns: in any letter case, and with the table's name before it.
    std::string column = name;
    if (table && column.size() > table->name.size() + 1 && column[table->name.size()] == '.' &&
        same_sql_name(column.substr(0, table->name.size()), table->name))
        column.erase(0, table->name.size() + 1);
    const bool in_table =
        table && std::any_of(table->columns.begin(), table->columns.end(),
                             [&](const ColumnSchema& c) { return same_sql_name(c.name, column); });
    if (in_table)
        return " (a column of table '" + table->name +
               "' that the rule file does not read: export gives the columns the run's rules "
               "bind, and the key to join others by)";
    return {};
}

// Compiles the run's version and evaluates it at the run's as_of; checks that it places every
// customer as the run did. nullopt (with `exit_code` set and the reason on `err`) otherwise.
std::optional<Evaluation> evaluate_run(const ExportOptions& options, const StoredRun& run,
                                       SQLite::Database& state, std::ostream& err, int& exit_code) {
    const RunRecord& r = run.record;
    const std::string version = r.ruleset + " v" + std::to_string(r.version);
    auto source = run_source(options, state, r);
    if (!source) {
        err << "strata export: --columns names columns or lets, which export computes from the "
               "run's rules, but the source of "
            << version << " (run " << r.run_id << ") is not kept in '" << state.getFilename()
            << "' and " << options.rules << " is not that file\n";
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    // The version's warnings were shown when it ran; only its errors are worth showing.
    std::ostringstream diagnostics;
    RuleLoadFailure failure;
    const SourceFile shown(r.ruleset + "@" + std::to_string(r.version), *source);
    auto loaded = load_rules_text(shown.path(), std::move(*source), options.db, diagnostics,
                                  exit_code, nullptr, nullptr, {}, &failure);
    if (!loaded) {
        if (failure.kind != "rules" && failure.kind != "database") {
            err << diagnostics.str();
            return std::nullopt;
        }
        for (const Diagnostic& d : failure.diagnostics)
            if (d.severity == Severity::Error) render_text(err, d, &shown);
        // The version ran, so its rules were right then: what changed is the database.
        err << "strata export: --columns evaluates " << version << " (run " << r.run_id
            << ") again, and it no longer compiles against '" << options.db
            << "': the database has changed since the run (a column or table the rules read was "
               "dropped, renamed or retyped). Export without --columns, or with only key, "
               "segment, tactical, offer, channel, priority, run_id and as_of\n";
        exit_code = kExitEnvironment;
        return std::nullopt;
    }
    return Evaluation{std::move(*loaded), {}, {}};
}

// Runs the evaluation and fills `ev` for `columns`; checks the placement against the run's.
bool fill_values(Evaluation& ev, const std::vector<ExportColumn>& columns, const StoredRun& run,
                 SQLite::Database& state, std::ostream& err) {
    const RunRecord& r = run.record;
    const auto as_of = parse_date(r.as_of);
    if (!as_of) {
        err << "strata export: run " << r.run_id << " has an unreadable as_of '" << r.as_of
            << "'\n";
        return false;
    }
    if (const std::optional<Value> evaluated = evaluated_customer(r)) {
        err << "strata export: run " << r.run_id << " is an evaluation of customer "
            << format_value(*evaluated)
            << " alone (strata eval --apply): the other customers' placements in it are earlier "
               "runs', so it has no columns of one evaluation of the base. Export it without "
               "--columns, export the batch run before it, or make a new run\n";
        return false;
    }
    std::vector<MembershipRow> fresh;
    RunOptions options;
    options.as_of = *as_of;
    options.dry_run = true;
    options.state_before_run = r.run_id;  // previous_segment and the like as the run found them
    options.on_placed = [&](const Frame& frame, const std::vector<uint32_t>& order,
                            const RunReport& report) {
        fresh = report.membership;
        ev.values.assign(columns.size(), {});
        for (size_t c = 0; c < columns.size(); ++c) {
            if (!columns[c].evaluated()) continue;
            const PackedColumn* column = columns[c].from == From::Column
                                             ? frame.columns[columns[c].index]
                                             : frame.lets[columns[c].index];
            auto& values = ev.values[c];
            values.reserve(order.size());
            for (size_t i = 0; i < order.size(); ++i) {
                Value v = column ? (*column)[frame.offset + order[i]] : Value{};
                if (columns[c].field) {
                    const auto* record = std::get_if<RecordPtr>(&v);
                    v = record && *record ? (*record)->fields[*columns[c].field] : Value{};
                }
                values.push_back(v);
            }
        }
    };
    RunError error;
    if (!execute_run(*ev.rules.rules, *ev.rules.db, &state, options, error)) {
        err << "strata export: evaluating " << r.ruleset << " v" << r.version << " at as_of "
            << r.as_of << " for --columns failed: " << error.message << '\n';
        return false;
    }
    // The fresh placement must be the run's, customer for customer: both merged in key order,
    // so that a customer who left or came is one difference, not a shift of every row after.
    auto by_key = [](const MembershipRow& a, const MembershipRow& b) {
        return compare_keys(a.key, b.key) < 0;
    };
    std::vector<MembershipRow> stored = run.rows;
    std::stable_sort(stored.begin(), stored.end(), by_key);
    std::vector<MembershipRow> now = fresh;  // `fresh` stays in the order of ev.values
    std::stable_sort(now.begin(), now.end(), by_key);
    size_t elsewhere = 0, gone = 0, added = 0;
    std::string first;
    for (size_t i = 0, j = 0; i < stored.size() || j < now.size();) {
        const int order = i == stored.size() ? 1
                          : j == now.size()  ? -1
                                             : compare_keys(stored[i].key, now[j].key);
        if (order < 0) {
            ++gone;
            if (first.empty())
                first = "customer " + format_value(stored[i].key) + ": the run placed them in '" +
                        stored[i].segment.str() + "', today's data has no such customer";
            ++i;
        } else if (order > 0) {
            ++added;
            if (first.empty())
                first = "customer " + format_value(now[j].key) +
                        ": not in the run, today's data places them in '" + now[j].segment.str() +
                        "'";
            ++j;
        } else {
            if (stored[i].segment != now[j].segment || stored[i].tactical != now[j].tactical) {
                ++elsewhere;
                if (first.empty())
                    first =
                        "customer " + format_value(stored[i].key) + ": the run placed them in '" +
                        stored[i].segment.str() + "', today's data in '" + now[j].segment.str() +
                        "'" +
                        (stored[i].segment == now[j].segment ? " with other tactical tags" : "");
            }
            ++i;
            ++j;
        }
    }
    const size_t differing = elsewhere + gone + added;
    if (differing > 0) {
        std::string counts;
        if (gone + added > 0)
            counts = "; " + thousands(elsewhere) + " placed elsewhere, " + thousands(gone) +
                     " no longer in the base, " + thousands(added) + " new to it";
        err << "strata export: the data has changed since run " << r.run_id
            << ": evaluated again at as_of " << r.as_of << ", " << r.ruleset << " v" << r.version
            << " places " << thousands(differing) << " customer" << (differing == 1 ? "" : "s")
            << " differently (" << first << counts
            << "), so columns and lets computed from today's data would not be the run's. Export "
               "without them, or make a new run and export that\n";
        return false;
    }
    for (const auto& row : fresh)
        ev.keys.push_back(row.key);
    return true;
}

// One CSV cell: quoted (RFC 4180) when it holds the delimiter, a quote or a line break; a text
// that would start a spreadsheet formula gets a leading ' unless `guard` is off.
void write_cell(std::string& out, const std::string& s, char delimiter, bool guard) {
    const bool formula = guard && starts_formula(s);
    const std::string special = std::string("\"\n\r") + delimiter;
    if (s.find_first_of(special) == std::string::npos) {
        out += (formula ? "'" : "") + s;
        return;
    }
    out += '"';
    if (formula) out += '\'';
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

// A value as a cell: empty for null, texts guarded against formulas, numbers never; a number
// that is not whole with `decimal` as its decimal mark.
void write_value(std::string& out, const Value& v, char delimiter, bool guard, char decimal = '.') {
    if (is_null(v)) return;
    std::string text = format_value(v);
    if (decimal != '.' && std::holds_alternative<double>(v))
        std::replace(text.begin(), text.end(), '.', decimal);
    write_cell(out, text, delimiter, guard && std::holds_alternative<Str>(v));
}

}  // namespace

bool has_csv_options(const ExportOptions& options) {
    return options.delimiter != ',' || options.cp1251 || options.bom || options.decimal != '.' ||
           !options.columns.empty();
}

int write_csv_with_options(const ExportOptions& options, const StoredRun& run,
                           SQLite::Database* state, std::ostream& out, std::ostream& err) {
    if (options.cp1251 && options.bom) {
        err << "strata export: --bom writes the UTF-8 byte-order mark, which a Windows-1251 file "
               "cannot have; drop --bom or use --encoding utf-8\n";
        return kExitEnvironment;
    }
    std::vector<std::string> names = options.columns;
    // A header naming a column twice is one a CRM import refuses or reads wrongly.
    for (size_t i = 0; i < names.size(); ++i) {
        if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
            names.begin() + static_cast<std::ptrdiff_t>(i)) {
            err << "strata export: column '" << names[i]
                << "' is given twice in --columns; a CSV file names each column once\n";
            return kExitEnvironment;
        }
    }
    if (names.empty())
        names = {"customer_key", "segment", "tactical", "offer", "channel", "priority"};
    // --with-run adds both at the end, after --columns too (unless they are listed already).
    if (options.with_run) {
        for (const char* added : {"run_id", "as_of"}) {
            if (std::find(names.begin(), names.end(), added) == names.end()) names.push_back(added);
        }
    }
    // The export's own columns need no evaluation; any other name needs the run's rules.
    std::optional<Evaluation> ev;
    int exit_code = kExitOk;
    std::vector<ExportColumn> columns;
    for (const auto& name : names) {
        if (auto from = own_column(name)) {
            columns.push_back(ExportColumn{name, *from, 0, std::nullopt});
            continue;
        }
        if (!state) {
            err << "strata export: column '" << name
                << "' is not the run's own: it needs the customer data, evaluated by the "
                   "embedded engine. A run inside a warehouse exports its own columns only ("
                << own_column_names() << ")\n";
            return kExitEnvironment;
        }
        if (!ev) {
            ev = evaluate_run(options, run, *state, err, exit_code);
            if (!ev) return exit_code;
        }
        auto column = rule_column(name, *ev->rules.rules);
        if (!column) {
            const auto available = available_names(ev->rules.rules.get());
            const std::string near = did_you_mean(name, available);
            err << "strata export: unknown column '" << name << "'"
                << (near.empty() ? unknown_name_hint(name, available, ev->rules) : near)
                << " in --columns; the columns of " << run.record.ruleset << " v"
                << run.record.version << " are: " << joined(available) << '\n';
            return kExitEnvironment;
        }
        columns.push_back(std::move(*column));
    }
    // A name that is export's own and also the rules' (a customer column `segment`) is
    // export's; say so when the rules are at hand, with the name that reaches theirs.
    if (ev) {
        for (const auto& name : names) {
            const std::string qualified = qualified_name(name, *ev->rules.rules);
            if (!qualified.empty())
                err << "strata export: note: --columns '" << name << "' is the run's own " << name
                    << "; the rule file's "
                    << (qualified.rfind("let.", 0) == 0 ? "let" : "customer column") << " '" << name
                    << "' is '" << qualified << "'\n";
        }
    }
    const bool evaluates = std::any_of(columns.begin(), columns.end(),
                                       [](const ExportColumn& c) { return c.evaluated(); });
    if (evaluates && !fill_values(*ev, columns, run, *state, err)) return kExitEnvironment;

    const char d = options.delimiter;
    const bool guard = !options.raw;
    // Each cell is written, then encoded, so that a failure names its place.
    std::string encoded(options.bom ? text::kUtf8Bom : "");
    auto finish_cell = [&](std::string& cell, size_t row, const ExportColumn& column,
                           const Value* key) -> bool {
        if (options.cp1251) {
            size_t bad = 0;
            auto converted = text::utf8_to_cp1251(cell, &bad);
            if (!converted) {
                const size_t n = std::max<size_t>(1, names::char_length(cell, bad));
                err << "strata export: row " << row;
                if (key) err << " (customer " << text::one_line(format_value(*key)) << ")";
                err << ", column '" << column.header << "': ";
                if (text::utf8_sequence_length(cell, bad) == 0) {
                    // Not a character: a byte of text stored as other than UTF-8.
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "0x%02X",
                                  static_cast<unsigned>(static_cast<unsigned char>(cell[bad])));
                    err << "the byte " << hex << " is not UTF-8 text, so it";
                } else {
                    err << "the character '" << cell.substr(bad, n) << "'";
                }
                err << " cannot be written in Windows-1251; nothing was written. Use --encoding "
                       "utf-8\n";
                return false;
            }
            encoded += *converted;
        } else {
            encoded += cell;
        }
        cell.clear();
        return true;
    };
    std::string cell;
    for (size_t c = 0; c < columns.size(); ++c) {
        if (c) cell += d;
        write_cell(cell, columns[c].header, d, false);
        if (!finish_cell(cell, 1, columns[c], nullptr)) return kExitEnvironment;
    }
    encoded += '\n';
    // Rows in key order, the order of the evaluation's values (load_membership gives that
    // order already; sorting makes it a fact here rather than an assumption).
    std::vector<MembershipRow> rows = run.rows;
    std::stable_sort(rows.begin(), rows.end(), [](const MembershipRow& a, const MembershipRow& b) {
        return compare_keys(a.key, b.key) < 0;
    });
    const SegmentActions none;
    for (size_t i = 0; i < rows.size(); ++i) {
        const MembershipRow& row = rows[i];
        auto it = run.actions.find(row.segment.str());
        const SegmentActions& a = it != run.actions.end() ? it->second : none;
        for (size_t c = 0; c < columns.size(); ++c) {
            if (c) cell += d;
            switch (columns[c].from) {
                case From::Key:
                    // Integer keys are numbers, never formulas; text keys are guarded.
                    write_value(cell, row.key, d, guard);
                    break;
                case From::Segment:
                    write_cell(cell, row.segment.str(), d, guard);
                    break;
                case From::Tactical:
                    write_cell(cell, row.tactical.str(), d, guard);
                    break;
                case From::Offer:
                    write_cell(cell, a.offer, d, guard);
                    break;
                case From::Channel:
                    write_cell(cell, a.channel, d, guard);
                    break;
                case From::Priority:
                    if (a.priority) cell += std::to_string(*a.priority);
                    break;
                case From::RunId:
                    cell += std::to_string(run.record.run_id);
                    break;
                case From::AsOf:
                    cell += run.record.as_of;
                    break;
                case From::Column:
                case From::Let:
                    write_value(cell, ev->values[c][i], d, guard, options.decimal);
                    break;
            }
            if (!finish_cell(cell, i + 2, columns[c], &row.key)) return kExitEnvironment;
        }
        encoded += '\n';
    }
    out << encoded;
    return kExitOk;
}

}  // namespace strata::cli
