// Runs every case in tests/lang/*.yaml: an expression, the fields (or rows) it sees, and
// the value (or error) it must give. Adding a case needs no C++.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <regex>

#include "dsl/binder.hpp"
#include "dsl/parser.hpp"
#include "engine/program.hpp"
#include "lang_sql.hpp"

using namespace strata;
namespace fs = std::filesystem;

namespace {

// Infers a value's type from how YAML wrote it: quoted scalars are strings.
std::pair<Value, Type> infer(const YAML::Node& n) {
    if (!n || n.IsNull()) return {Value{}, Type::Null};
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return {Value{intern(s)}, Type::String};
    static const std::regex integer("-?[0-9]+"), number("-?[0-9]*\\.[0-9]+([eE][-+]?[0-9]+)?");
    if (s == "true" || s == "false") return {Value{s == "true"}, Type::Bool};
    if (std::regex_match(s, integer))
        return {Value{static_cast<int64_t>(std::stoll(s))}, Type::Int};
    if (std::regex_match(s, number)) return {Value{std::stod(s)}, Type::Number};
    if (auto d = parse_date(s)) return {Value{*d}, Type::Date};
    if (auto t = parse_datetime(s)) return {Value{*t}, Type::DateTime};
    return {Value{intern(s)}, Type::String};
}

Value convert(const YAML::Node& n, Type t) {
    if (!n || n.IsNull()) return {};
    if (t == Type::String) return Value{intern(n.Scalar())};
    auto v = parse_value(n.Scalar(), t);
    REQUIRE_MESSAGE(v.has_value(), "cannot read '" << n.Scalar() << "' as " << type_name(t));
    return *v;
}

// Rows of named values, with one type per name (declared, or inferred from the first
// non-null value).
using Rows = strata::testing::LangTable;

Rows read_rows(const std::vector<YAML::Node>& nodes, const YAML::Node& declared) {
    Rows out;
    if (declared) {
        for (auto it = declared.begin(); it != declared.end(); ++it) {
            out.types[it->first.Scalar()] = *type_from_name(it->second.Scalar());
        }
    }
    for (const auto& row : nodes) {
        for (auto it = row.begin(); it != row.end(); ++it) {
            const std::string name = it->first.Scalar();
            if (std::find(out.names.begin(), out.names.end(), name) == out.names.end())
                out.names.push_back(name);
            auto [v, t] = infer(it->second);
            if (!out.types.count(name) || out.types[name] == Type::Null) out.types[name] = t;
        }
    }
    for (const auto& row : nodes) {
        std::map<std::string, Value> values;
        for (const auto& name : out.names)
            values[name] = convert(row[name], out.types[name]);
        out.rows.push_back(std::move(values));
    }
    return out;
}

YAML::Node pick(const YAML::Node& c, const YAML::Node& file, const char* key) {
    return c[key] ? c[key] : file[key];
}

class VectorSource : public FactSource {
  public:
    explicit VectorSource(FactChunk chunk) : chunk_(std::move(chunk)) {}
    void read(const std::function<void(FactChunk&)>& consume) override {
        FactChunk copy = chunk_;
        consume(copy);
    }

  private:
    FactChunk chunk_;
};

bool same_value(const Value& got, const YAML::Node& expected, Type type, std::string& why) {
    if (!expected || expected.IsNull()) {
        why = "expected null";
        return is_null(got);
    }
    if (is_null(got)) {
        why = "got null";
        return false;
    }
    if (const auto* rec = std::get_if<RecordPtr>(&got)) {
        const auto& names = bound::rfm_fields();
        for (size_t i = 0; i < names.size(); ++i) {
            const YAML::Node e = expected[names[i]];
            if (!e) continue;
            const Type ft = i == 3 ? Type::String : Type::Int;
            if (!same_value((*rec)->fields[i], e, ft, why)) {
                why = "field " + names[i] + ": " + why;
                return false;
            }
        }
        return true;
    }
    const Type as = type == Type::Any || type == Type::Null ? infer(expected).second : type;
    Value want = convert(expected, as);
    if (std::holds_alternative<double>(got) || std::holds_alternative<double>(want)) {
        if (!(std::holds_alternative<double>(got) || std::holds_alternative<int64_t>(got)))
            return false;
        const double g = as_double(got), w = as_double(coerce(want, Type::Number));
        return std::fabs(g - w) <= 1e-9 * std::max(1.0, std::fabs(w));
    }
    return got.index() == want.index() && values_equal(got, want);
}

struct CaseResult {
    std::vector<std::string> errors;
    Column values;
    Type type = Type::Any;
    // For a condition (a case typed bool, or Any, which may hold a bool at run time): its
    // three-valued truth by the segment conditions' path, and where evaluate_condition holds.
    std::vector<Truth> truth;
    std::vector<char> holds;
    strata::testing::LangSqlCase sql;  // the case as data, for its run through SQL
};

CaseResult run_case(const YAML::Node& file, const YAML::Node& c) {
    CaseResult result;
    const std::string text = c["expr"].Scalar();
    SourceFile source("expr", text);
    ExprText expr_text;
    expr_text.text = text;
    expr_text.location = Location{1, 1, 1};
    for (size_t i = 0; i <= text.size(); ++i)
        expr_text.file_offsets.push_back(i);

    // Customers: `rows` (many) or `fields` (one).
    std::vector<YAML::Node> row_nodes;
    if (c["rows"]) {
        for (const auto& r : c["rows"])
            row_nodes.push_back(r);
    } else {
        row_nodes.push_back(pick(c, file, "fields") ? pick(c, file, "fields")
                                                    : YAML::Node(YAML::NodeType::Map));
    }
    const Rows customers = read_rows(row_nodes, pick(c, file, "types"));

    NameScope scope;
    for (const auto& name : customers.names)
        scope.columns[name] = customers.types.at(name);
    std::map<std::string, Rows> facts;
    const YAML::Node fact_time = pick(c, file, "fact_time");
    const YAML::Node fact_types = pick(c, file, "fact_types");
    if (const YAML::Node fnode = pick(c, file, "facts")) {
        // Range-for over the map: yaml-cpp's `it->second` is a reference into a temporary
        // that ends with the full expression, so iterating it in a loop header reads freed stack.
        for (const auto& fact : fnode) {
            const std::string fact_name = fact.first.Scalar();
            std::vector<YAML::Node> nodes;
            for (const auto& r : fact.second)
                nodes.push_back(r);
            Rows rows = read_rows(nodes, fact_types ? fact_types[fact_name] : YAML::Node());
            NameScope::Fact f;
            f.name = fact_name;
            f.table = f.name;
            f.key = "customer";
            if (fact_time && fact_time[f.name]) f.time = fact_time[f.name].Scalar();
            for (const auto& name : rows.names) {
                if (name != "customer") f.columns[name] = rows.types.at(name);
            }
            scope.facts.push_back(f);
            facts[f.name] = std::move(rows);
        }
    }

    Diagnostics diags;
    ParseResult parsed = parse_expression(text);
    for (const auto& issue : parsed.issues)
        result.errors.push_back(issue.message);
    if (!parsed.expr) return result;
    Binder binder(scope, diags);
    // Lets, each with its own text (deques keep addresses stable for the binder).
    std::deque<SourceFile> let_sources;
    std::deque<ExprText> let_texts;
    std::deque<ast::ExprPtr> let_asts;
    if (const YAML::Node lets = c["let"]) {
        for (auto it = lets.begin(); it != lets.end(); ++it) {
            const std::string let_text = it->second.Scalar();
            let_sources.emplace_back(it->first.Scalar(), let_text);
            ExprText& t = let_texts.emplace_back();
            t.text = let_text;
            t.location = Location{1, 1, 1};
            for (size_t i = 0; i <= let_text.size(); ++i)
                t.file_offsets.push_back(i);
            ParseResult p = parse_expression(let_text);
            for (const auto& issue : p.issues)
                result.errors.push_back(issue.message);
            let_asts.push_back(std::move(p.expr));
            result.sql.lets.emplace_back(it->first.Scalar(), let_text);
            binder.define_let(it->first.Scalar(),
                              ExprRef{&let_sources.back(), &t, let_asts.back().get()});
        }
    }
    bound::ExprPtr e = binder.bind(ExprRef{&source, &expr_text, parsed.expr.get()});
    binder.bind_all_lets();
    for (const auto& d : diags.items()) {
        if (d.severity == Severity::Error) result.errors.push_back(d.message);
    }
    if (!result.errors.empty()) return result;
    result.type = e->type;
    const bound::Program program = binder.take_program();

    CustomerTable table;
    table.rows = customers.rows.size();
    for (const auto& use : program.columns) {
        Column col;
        for (const auto& row : customers.rows)
            col.push_back(row.at(use.name));
        table.columns.push_back(std::move(col));
    }
    for (size_t i = 0; i < table.rows; ++i) {
        table.keys.push_back(c["keys"] ? convert(c["keys"][i], Type::Int)
                                       : Value{static_cast<int64_t>(i + 1)});
    }
    // Each fact table comes in two parts (its first and second half), as the engine reads
    // big tables, so every case also checks that aggregates add up across parts.
    std::vector<std::unique_ptr<FactSource>> sources;
    std::vector<FactParts> source_ptrs;
    for (const auto& use : program.facts) {
        const Rows& rows = facts.at(use.name);
        FactParts parts;
        const size_t half = rows.rows.size() / 2;
        for (auto [from, to] : {std::pair{size_t{0}, half}, std::pair{half, rows.rows.size()}}) {
            FactChunk chunk;
            chunk.rows = to - from;
            for (const auto& col : use.columns) {
                Column values;
                for (size_t r = from; r < to; ++r)
                    values.push_back(coerce(rows.rows[r].at(col.name), col.type));
                chunk.columns.push_back(std::move(values));
            }
            for (size_t r = from; r < to; ++r) {
                auto it = rows.rows[r].find("customer");
                chunk.owner.push_back(it == rows.rows[r].end() ? 0 : std::get<int64_t>(it->second));
            }
            sources.push_back(std::make_unique<VectorSource>(std::move(chunk)));
            parts.push_back(sources.back().get());
        }
        source_ptrs.push_back(std::move(parts));
    }
    const YAML::Node as_of_node = pick(c, file, "as_of");
    const Date as_of = as_of_node ? *parse_date(as_of_node.Scalar()) : *parse_date("2026-11-22");
    const Evaluation ev = evaluate_program(program, table, source_ptrs, as_of);
    result.values = evaluate(*e, ev.frame());
    result.sql.expr = text;
    result.sql.customers = customers;
    result.sql.keys = table.keys;
    result.sql.facts = facts;
    for (const auto& [name, rows] : facts) {
        if (fact_time && fact_time[name]) result.sql.fact_time[name] = fact_time[name].Scalar();
    }
    result.sql.as_of = as_of;
    result.sql.engine_values = result.values;
    // Segment conditions take their own path (three-valued bytes, no values); it must agree.
    if (result.type == Type::Bool || result.type == Type::Any || result.type == Type::Null) {
        result.truth = evaluate_truth(*e, ev.frame());
        result.holds = evaluate_condition(*e, ev.frame());
    }
    return result;
}

}  // namespace

TEST_CASE("language cases in tests/lang") {
    const fs::path dir = fs::path(STRATA_SOURCE_DIR) / "tests" / "lang";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 5);
    size_t total = 0;
    size_t conditions = 0;  // boolean cases, each also run as a condition
    size_t through_sql = 0;
    std::string skipped;  // cases the SQLite query cannot run, with the reason
    for (const auto& path : files) {
        const YAML::Node file = YAML::LoadFile(path.string());
        REQUIRE_MESSAGE(file["cases"], path);
        for (const auto& c : file["cases"]) {
            ++total;
            const std::string where = path.filename().string() + ":" +
                                      std::to_string(c.Mark().line + 1) + ": " + c["expr"].Scalar();
            CAPTURE(where);
            const CaseResult r = run_case(file, c);
            if (c["expected_error"]) {
                const std::string want = c["expected_error"].Scalar();
                bool found = false;
                for (const auto& e : r.errors)
                    found = found || e.find(want) != std::string::npos;
                std::string got;
                for (const auto& e : r.errors)
                    got += "[" + e + "] ";
                CHECK_MESSAGE(found, "expected an error containing '" << want << "', got " << got);
                continue;
            }
            if (!r.errors.empty()) {
                FAIL_CHECK("unexpected error: " << r.errors[0]);
                continue;
            }
            if (c["type"]) {
                CHECK_MESSAGE(std::string(type_name(r.type)) == c["type"].Scalar(), "static type");
            }
            if (r.type == Type::Bool) ++conditions;
            REQUIRE(r.truth.size() == r.holds.size());
            for (size_t i = 0; i < r.truth.size(); ++i) {
                const Truth want = truth_of_value(r.values[i]);
                CHECK_MESSAGE(r.truth[i] == want,
                              "row " << i << ": as a condition it is "
                                     << static_cast<int>(r.truth[i]) << " (0 false, 1 true, 2 "
                                     << "unknown), as a value it is " << format_value(r.values[i]));
                CHECK_MESSAGE((r.holds[i] != 0) == (want == Truth::True),
                              "row " << i << ": as a condition it "
                                     << (r.holds[i] ? "holds" : "fails") << ", as a value it is "
                                     << format_value(r.values[i]));
            }
            if (c["expected_rows"]) {
                REQUIRE(c["expected_rows"].size() == r.values.size());
                for (size_t i = 0; i < r.values.size(); ++i) {
                    std::string why;
                    CHECK_MESSAGE(
                        same_value(r.values[i], c["expected_rows"][i], r.type, why),
                        "row " << i << ": got " << format_value(r.values[i]) << " " << why);
                }
            } else {
                REQUIRE_MESSAGE(c["expected"],
                                "a case needs expected, expected_rows or expected_error");
                std::string why;
                CHECK_MESSAGE(same_value(r.values.at(0), c["expected"], r.type, why),
                              "got " << format_value(r.values.at(0)) << " " << why);
            }
            const std::string not_run = strata::testing::check_through_sql(r.sql);
            if (not_run.empty())
                ++through_sql;
            else
                skipped += "\n  " + where + "\n    skipped: " + not_run;
        }
    }
    MESSAGE("ran " << total << " language cases, " << conditions << " of them conditions; "
                   << through_sql << " also through strata compile's SQLite query; not through "
                   << "SQL:" << skipped);
    CHECK(total >= 150);
    CHECK(conditions >= 50);
}
