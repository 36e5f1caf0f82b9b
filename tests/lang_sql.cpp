#include "lang_sql.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

namespace strata::testing {

namespace {

std::string sql_name(const std::string& name) {
    std::string out = "\"";
    for (char c : name)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// A YAML double-quoted scalar.
std::string yaml_text(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\')
            out += std::string("\\") + c;
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out + "\"";
}

const char* declared(Type t) {
    switch (t) {
        case Type::Int:
            return "INTEGER";
        case Type::Number:
            return "REAL";
        case Type::Bool:
            return "BOOLEAN";
        case Type::Date:
            return "DATE";
        case Type::DateTime:
            return "DATETIME";
        default:
            return "TEXT";
    }
}

// Binds a value as a run would find it stored: numbers as numbers, dates as their text.
void bind_value(SQLite::Statement& q, int at, const Value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>)
                q.bind(at, x ? 1 : 0);
            else if constexpr (std::is_same_v<T, int64_t>)
                q.bind(at, static_cast<int64_t>(x));
            else if constexpr (std::is_same_v<T, double>)
                q.bind(at, x);
            else if constexpr (std::is_same_v<T, std::monostate>)
                q.bind(at);
            else
                q.bind(at, format_value(v));
        },
        v);
}

void create_table(SQLite::Database& db, const std::string& table,
                  const std::vector<std::pair<std::string, Type>>& columns,
                  const std::vector<std::vector<Value>>& rows) {
    std::string ddl = "CREATE TABLE " + sql_name(table) + " (", insert, marks;
    for (size_t i = 0; i < columns.size(); ++i) {
        ddl += (i ? ", " : "") + sql_name(columns[i].first) + " " + declared(columns[i].second);
        marks += i ? ", ?" : "?";
    }
    db.exec(ddl + ")");
    SQLite::Statement q(db, "INSERT INTO " + sql_name(table) + " VALUES (" + marks + ")");
    for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i)
            bind_value(q, static_cast<int>(i + 1), row[i]);
        q.exec();
        q.reset();
    }
}

// The query's value against the engine's: same null, same number, text, bool or day.
bool same(const Value& engine, const SQLite::Column& got) {
    if (is_null(engine)) return got.isNull();
    if (got.isNull()) return false;
    if (const auto* b = std::get_if<bool>(&engine)) return got.isInteger() && got.getInt64() == *b;
    if (const auto* i = std::get_if<int64_t>(&engine))
        return got.isInteger() && got.getInt64() == *i;
    if (const auto* d = std::get_if<double>(&engine)) return got.getDouble() == *d;
    if (const auto* s = std::get_if<Str>(&engine))
        return got.isText() && got.getString() == s->str();
    if (const auto* day = std::get_if<Date>(&engine))
        return got.isInteger() && got.getInt64() == day->days;
    if (const auto* t = std::get_if<DateTime>(&engine))
        return got.isInteger() && got.getInt64() == t->seconds;
    return false;
}

}  // namespace

std::string check_through_sql(const LangSqlCase& c) {
    for (const auto& [name, type] : c.customers.types) {
        if (type == Type::Null) return "the column '" + name + "' has no value, so no type";
    }
    TempDir dir;
    const std::string db_path = dir.file("case.db");
    std::string facts_yaml;
    {
        SQLite::Database db(db_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        std::vector<std::pair<std::string, Type>> columns = {{"strata_key", Type::Int}};
        for (const auto& name : c.customers.names)
            columns.emplace_back(name, c.customers.types.at(name));
        std::vector<std::vector<Value>> rows;
        for (size_t r = 0; r < c.customers.rows.size(); ++r) {
            std::vector<Value> row = {c.keys.at(r)};
            for (const auto& name : c.customers.names)
                row.push_back(c.customers.rows[r].at(name));
            rows.push_back(std::move(row));
        }
        create_table(db, "customers", columns, rows);
        for (const auto& [fact, table] : c.facts) {
            std::vector<std::pair<std::string, Type>> fcols = {{"customer", Type::Int}};
            for (const auto& name : table.names) {
                if (name == "customer") continue;
                if (table.types.at(name) == Type::Null)
                    return "the column '" + fact + "." + name + "' has no value, so no type";
                fcols.emplace_back(name, table.types.at(name));
            }
            std::vector<std::vector<Value>> frows;
            for (const auto& r : table.rows) {
                // A fact row's `customer` is its customer's row index (0 when not given).
                auto owner = r.find("customer");
                const auto* index =
                    owner == r.end() ? nullptr : std::get_if<int64_t>(&owner->second);
                const auto at = static_cast<size_t>(index ? *index : 0);
                std::vector<Value> row = {at < c.keys.size() ? c.keys[at] : Value{}};
                for (size_t i = 1; i < fcols.size(); ++i)
                    row.push_back(r.at(fcols[i].first));
                frows.push_back(std::move(row));
            }
            create_table(db, fact, fcols, frows);
            facts_yaml += "    " + fact + ": { table: " + yaml_text(fact) + ", key: customer";
            if (c.fact_time.count(fact)) facts_yaml += ", time: " + yaml_text(c.fact_time.at(fact));
            facts_yaml += " }\n";
        }
    }
    std::string rules =
        "ruleset: lang_sql\nversion: 1\nsource:\n  customers: customers\n  key: "
        "strata_key\n";
    if (!facts_yaml.empty()) rules += "  facts:\n" + facts_yaml;
    rules += "let:\n";
    for (const auto& [name, text] : c.lets)
        rules += "  " + name + ": " + yaml_text(text) + "\n";
    rules += "  strata_value: " + yaml_text(c.expr) +
             "\ngeneral:\n  segments:\n    - id: all\n      when: otherwise\n";
    const std::string rules_path = dir.write("case.yaml", rules);
    const Run compiled = run_cli({"compile", rules_path, "--dialect", "sqlite", "--db", db_path,
                                  "--as-of", format_date(c.as_of), "--lets", "strata_value"});
    if (compiled.code != 0) {
        const size_t at = compiled.err.find("error: ");
        const std::string reason =
            at == std::string::npos ? compiled.err : compiled.err.substr(at + 7);
        return reason.substr(0, reason.find('\n'));
    }
    INFO("rules:\n" << rules << "\nquery:\n" << compiled.out);
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, compiled.out);
    size_t seen = 0;
    // A query that stops (a total or a text beyond what it reproduces exactly) gives nothing.
    auto step = [&q](std::string& stopped) {
        try {
            return q.executeStep();
        } catch (const SQLite::Exception& e) {
            stopped = e.what();
            return false;
        }
    };
    std::string stopped;
    while (step(stopped)) {
        ++seen;
        const int64_t key = q.getColumn(0).getInt64();
        size_t row = 0;
        while (row < c.keys.size() &&
               !(std::get_if<int64_t>(&c.keys[row]) && *std::get_if<int64_t>(&c.keys[row]) == key))
            ++row;
        REQUIRE(row < c.keys.size());
        const Value& want = c.engine_values.at(row);
        const SQLite::Column got = q.getColumn(3);
        CHECK_MESSAGE(same(want, got), "customer " << key << ": the engine gives "
                                                   << format_value(want) << ", SQLite "
                                                   << (got.isNull() ? "NULL" : got.getString()));
    }
    if (!stopped.empty()) return "the query stops: " + stopped;
    CHECK(seen == c.keys.size());
    return "";
}

}  // namespace strata::testing
