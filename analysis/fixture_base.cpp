#include "analysis/fixture_base.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <set>

#include "dsl/compiler.hpp"
#include "engine/store.hpp"

namespace strata {

// How a key reads in a message: integers as they are, texts quoted.
std::string key_text(const Value& key) {
    if (const auto* s = std::get_if<Str>(&key)) return "'" + s->str() + "'";
    return format_value(key);
}

// Keys compare by their text, with integers and texts apart ('1' is not 1).
std::string key_id(const Value& key) {
    if (const auto* s = std::get_if<Str>(&key)) return "t" + s->str();
    return "v" + format_value(key);
}

namespace {

// The declared type one fixture value asks of its column (shape() settles the column's).
const char* declared_type(const Value& v) {
    if (std::holds_alternative<int64_t>(v)) return "INTEGER";
    if (std::holds_alternative<double>(v)) return "REAL";
    if (std::holds_alternative<bool>(v)) return "BOOLEAN";
    if (std::holds_alternative<Date>(v)) return "DATE";
    if (std::holds_alternative<DateTime>(v)) return "DATETIME";
    return "TEXT";
}

void bind_value(SQLite::Statement& q, int at, const Value& v) {
    if (const auto* i = std::get_if<int64_t>(&v))
        q.bind(at, *i);
    else if (const auto* d = std::get_if<double>(&v))
        q.bind(at, *d);
    else if (const auto* b = std::get_if<bool>(&v))
        q.bind(at, *b ? 1 : 0);
    else if (const auto* s = std::get_if<Str>(&v))
        q.bind(at, s->str());
    else if (is_null(v))
        q.bind(at);
    else
        q.bind(at, format_value(v));
}

void insert(SQLite::Database& db, const std::string& table, const FixtureTable& t) {
    if (t.columns.empty()) return;
    std::string sql = "INSERT INTO " + quote_identifier(table) + " (";
    for (size_t c = 0; c < t.columns.size(); ++c)
        sql += (c ? ", " : "") + quote_identifier(t.columns[c]);
    sql += ") VALUES (";
    for (size_t c = 0; c < t.columns.size(); ++c)
        sql += c ? ",?" : "?";
    SQLite::Statement q(db, sql + ")");
    for (const auto& row : t.rows) {
        for (size_t c = 0; c < row.size(); ++c)
            bind_value(q, static_cast<int>(c) + 1, row[c]);
        q.exec();
        q.reset();
    }
}

// A later state's customers: each row updates the customer of its key with the fields it
// gives, or adds a customer when the key is new.
void merge(SQLite::Database& db, const std::string& table, const std::string& key,
           const FixtureTable& t, std::vector<std::string>& fails) {
    auto key_at = std::find(t.columns.begin(), t.columns.end(), key);
    const size_t k = static_cast<size_t>(key_at - t.columns.begin());
    for (size_t r = 0; r < t.rows.size(); ++r) {
        if (key_at == t.columns.end() || !t.given[r][k]) {
            fails.push_back("a customer row of a later state has no '" + key +
                            "': its key says which customer it changes");
            continue;
        }
        FixtureTable one;
        std::string set;
        std::vector<const Value*> values;
        for (size_t c = 0; c < t.columns.size(); ++c) {
            if (!t.given[r][c]) continue;
            one.columns.push_back(t.columns[c]);
            if (c == k) continue;
            set += (set.empty() ? "" : ", ") + quote_identifier(t.columns[c]) + " = ?";
            values.push_back(&t.rows[r][c]);
        }
        int changed = 0;
        if (!set.empty()) {
            SQLite::Statement u(db, "UPDATE " + quote_identifier(table) + " SET " + set +
                                        " WHERE " + quote_identifier(key) + " = ?");
            int at = 1;
            for (const Value* v : values)
                bind_value(u, at++, *v);
            bind_value(u, at, t.rows[r][k]);
            changed = u.exec();
        } else {
            SQLite::Statement q(db, "SELECT count(*) FROM " + quote_identifier(table) + " WHERE " +
                                        quote_identifier(key) + " = ?");
            bind_value(q, 1, t.rows[r][k]);
            q.executeStep();
            changed = q.getColumn(0).getInt();
        }
        if (changed > 0) continue;
        one.rows.assign(1, {});
        for (size_t c = 0; c < t.columns.size(); ++c) {
            if (t.given[r][c]) one.rows[0].push_back(t.rows[r][c]);
        }
        insert(db, table, one);
    }
}

}  // namespace

FixtureBase::FixtureBase(const CompiledRules& rules, const TestFile& tests, Diagnostics& diags)
    : rules_(rules), tests_(tests), diags_(diags) {}

void FixtureBase::shape(const std::string& table, const FixtureTable& t) {
    TableShape& s = tables_[table];
    for (size_t c = 0; c < t.columns.size(); ++c) {
        const std::string& name = t.columns[c];
        if (std::find(s.columns.begin(), s.columns.end(), name) == s.columns.end())
            s.columns.push_back(name);
        for (size_t r = 0; r < t.rows.size(); ++r) {
            const auto& row = t.rows[r];
            if (is_null(row[c])) continue;
            // Whether the column holds only numbers in quotes, for a note when the rules
            // then fail against it (a number read from a text column).
            const auto* text = std::get_if<Str>(&row[c]);
            if (!text || !parse_value(text->str(), Type::Number))
                s.not_only_quoted_numbers.insert(name);
            else if (!s.quoted_numbers.count(name))
                s.quoted_numbers[name] = QuotedNumber{
                    text->str(), r < t.row_locations.size() ? t.row_locations[r] : t.location};
            // The first non-null value decides, but an integer column with a number in
            // it is REAL, and a text among numbers or dates does not make the column text:
            // it is a value that does not convert, as a run would find it in a database,
            // and the case's warning names it (not the rule file's sum over a text column).
            std::string& type = s.types[name];
            const std::string here = declared_type(row[c]);
            if (type.empty() || (type == "INTEGER" && here == "REAL") ||
                (type == "TEXT" && here != "TEXT"))
                type = here;
        }
    }
}

void FixtureBase::note_quoted_numbers() const {
    for (const auto& [table, shape] : tables_) {
        for (const auto& [column, first] : shape.quoted_numbers) {
            if (shape.not_only_quoted_numbers.count(column)) continue;
            diags_.add(Severity::Note, tests_.path, first.location,
                       "every value of " + table + "." + column + " here is a number in quotes ('" +
                           first.value +
                           "'), so its table holds texts; write numbers without "
                           "quotes where the rules read them as numbers",
                       DiagnosticCode::TypeMismatch);
        }
    }
}

// Every customer row names the key (null allowed: a customer without one, as data may
// have), once per state: a key given twice, or a row without the key column (a typo such
// as `customerid`), would make the case test something else than it says.
bool FixtureBase::check_customer_keys(const FixtureTable& t, const std::string& key) {
    const auto at = std::find(t.columns.begin(), t.columns.end(), key);
    const size_t column = static_cast<size_t>(at - t.columns.begin());
    std::map<std::string, int> first_line;  // by key_id
    bool ok = true;
    for (size_t r = 0; r < t.rows.size(); ++r) {
        const Location where = r < t.row_locations.size() ? t.row_locations[r] : t.location;
        if (at == t.columns.end() || !t.given[r][column]) {
            diags_.error(DiagnosticCode::MissingKey, tests_.path, where,
                         "this customer row has no '" + key +
                             "', the rules' customer key: every row must give it");
            ok = false;
            continue;
        }
        const Value& k = t.rows[r][column];
        if (is_null(k)) continue;
        const bool text = std::holds_alternative<Str>(k);
        // One of the other kind than the file's first key: a database column would convert
        // '3' to 3, or 2 to '2'.
        if (!first_key_) {
            first_key_ = &k;
            first_key_line_ = where.line;
        } else if (text != std::holds_alternative<Str>(*first_key_)) {
            diags_.error(DiagnosticCode::InvalidValue, tests_.path, where,
                         "customer " + key_text(k) + " is " + (text ? "a text" : "not a text") +
                             ", but customer " + key_text(*first_key_) + " (line " +
                             std::to_string(first_key_line_) + ") is " + (text ? "not" : "a text") +
                             ": a key column holds one kind; quote every key, or none");
            ok = false;
            continue;
        }
        auto [it, fresh] = first_line.emplace(key_id(k), where.line);
        if (!fresh) {
            diags_.error(DiagnosticCode::DuplicateId, tests_.path, where,
                         "customer " + key_text(k) +
                             " is given twice in 'customers' (also on line " +
                             std::to_string(it->second) + ")");
            ok = false;
        }
    }
    return ok;
}

void FixtureBase::ensure_column(const std::string& table, const std::string& column,
                                const char* type) {
    TableShape& s = tables_[table];
    if (std::find(s.columns.begin(), s.columns.end(), column) == s.columns.end())
        s.columns.push_back(column);
    if (s.types[column].empty()) s.types[column] = type;
}

// A warning at the first row naming a column no rule reads that is spelt like one they
// do: a misspelt column (`spnd` for `spend`) leaves the one meant null in that row, and
// the case may pass without testing what it says. Other columns no rule reads (a name
// beside the key, for the reader) are left alone.
void FixtureBase::warn_unread_columns() {
    const RuleFile& rf = rules_.rules;
    const bound::Program& program = rules_.program;
    std::map<std::string, std::vector<std::string>> read;  // by table
    auto reads = [&](const std::string& table, const std::string& column) {
        if (!column.empty()) read[table].push_back(column);
    };
    reads(rf.customers_table, rf.key);
    for (const bound::ColumnUse& c : program.columns)
        if (c.source == bound::ColumnSource::Table) reads(rf.customers_table, c.name);
    for (const bound::FactUse& f : program.facts) {
        reads(f.table, f.key);
        reads(f.table, f.time);
        for (const bound::ColumnUse& c : f.columns)
            reads(f.table, c.name);
    }
    for (const auto& f : rf.facts) {  // a fact no rule reads yet is still its table's
        reads(f.table, f.key);
        reads(f.table, f.time);
    }
    std::set<std::pair<std::string, std::string>> warned;
    auto check = [&](const std::string& table, const std::string& what, const FixtureTable& t) {
        const std::vector<std::string>& known = read[table];
        for (size_t c = 0; c < t.columns.size(); ++c) {
            const std::string& name = t.columns[c];
            if (std::find(known.begin(), known.end(), name) != known.end()) continue;
            const std::string meant = did_you_mean(name, known);
            if (meant.empty() || !warned.emplace(table, name).second) continue;
            Location where = t.location;
            for (size_t r = 0; r < t.rows.size(); ++r) {
                if (t.given[r][c] && r < t.row_locations.size()) {
                    where = t.row_locations[r];
                    break;
                }
            }
            diags_.add(Severity::Warning, tests_.path, where,
                       "column '" + name + "' of " + what + " is read by no rule" + meant +
                           ": its values test nothing",
                       DiagnosticCode::FixtureData);
        }
    };
    auto check_state = [&](const FixtureState& s) {
        if (s.customers) check(rf.customers_table, "'customers'", *s.customers);
        for (const auto& [name, t] : s.facts) {
            const auto it = fact_tables_.find(name);
            if (it != fact_tables_.end()) check(it->second, "fact '" + name + "'", t);
        }
    };
    for (const TestCase& tc : tests_.cases) {
        check_state(tc.first);
        for (const FixtureState& then : tc.then)
            check_state(then);
    }
}

bool FixtureBase::shape_tables() {
    const RuleFile& rf = rules_.rules;
    for (const auto& f : rf.facts)
        fact_tables_[f.name] = f.table;
    bool ok = true;
    auto shape_state = [&](const FixtureState& s) {
        if (s.customers) {
            shape(rf.customers_table, *s.customers);
            ok = check_customer_keys(*s.customers, rf.key) && ok;
        }
        for (const auto& [name, t] : s.facts) {
            auto it = fact_tables_.find(name);
            if (it == fact_tables_.end()) {
                std::string known;
                for (const auto& [f, table] : fact_tables_)
                    known += (known.empty() ? "" : ", ") + f;
                diags_.error(DiagnosticCode::UnknownName, tests_.path, t.location,
                             "unknown fact '" + name +
                                 "'; the rules' facts are: " + (known.empty() ? "none" : known));
                ok = false;
                continue;
            }
            shape(it->second, t);
        }
    };
    for (const TestCase& tc : tests_.cases) {
        shape_state(tc.first);
        for (const FixtureState& s : tc.then)
            shape_state(s);
    }
    warn_unread_columns();
    ensure_column(rf.customers_table, rf.key, "INTEGER");
    for (const auto& f : rf.facts) {
        ensure_column(f.table, f.key, "INTEGER");
        if (!f.time.empty()) ensure_column(f.table, f.time, "DATE");
    }
    for (auto& [table, s] : tables_) {
        for (const auto& c : s.columns) {
            if (s.types[c].empty()) s.types[c] = "TEXT";
        }
    }
    return ok;
}

void FixtureBase::create_tables(SQLite::Database& db) const {
    for (const auto& [table, s] : tables_) {
        std::string sql = "CREATE TABLE " + quote_identifier(table) + " (";
        for (size_t c = 0; c < s.columns.size(); ++c)
            sql +=
                (c ? ", " : "") + quote_identifier(s.columns[c]) + " " + s.types.at(s.columns[c]);
        db.exec(sql + ")");
    }
}

void FixtureBase::write_state(SQLite::Database& db, const FixtureState& s, bool later,
                              std::vector<std::string>& fails) const {
    const RuleFile& rf = rules_.rules;
    SQLite::Transaction tx(db);
    if (s.customers) {
        if (later)
            merge(db, rf.customers_table, rf.key, *s.customers, fails);
        else
            insert(db, rf.customers_table, *s.customers);
    }
    for (const auto& [name, t] : s.facts)
        insert(db, fact_tables_.at(name), t);
    tx.commit();
}

}  // namespace strata
