#include "dsl/compiler.hpp"

#include <cctype>
#include <functional>
#include <set>
#include <tuple>
#include <unordered_map>

#include "dsl/binder.hpp"
#include "dsl/loader.hpp"
#include "dsl/parser.hpp"
#include "dsl/trigger_compiler.hpp"

namespace strata {

namespace {

using Code = DiagnosticCode;

class Compiler {
  public:
    Compiler(CompiledRules& out, const Schema* schema, Diagnostics& diags)
        : out_(out), schema_(schema), diags_(diags) {}

    void run() {
        const RuleFile& rf = out_.rules;
        NameScope scope = build_scope();
        Binder binder(scope, diags_);
        for (const auto& let : rf.lets) {
            if (scope.columns.count(let.name)) {
                error(Code::DuplicateId, let.location,
                      "let '" + let.name + "' has the same name as a column of table '" +
                          rf.customers_table + "'; rename the let");
            }
            for (const auto& f : rf.facts) {
                if (f.name == let.name)
                    error(Code::DuplicateId, let.location,
                          "let '" + let.name + "' has the same name as a fact");
            }
            binder.define_let(let.name, ExprRef{&out_.source, &let.expr, parse(let.expr)});
        }
        for (const auto& seg : rf.segments)
            out_.segments.push_back(bind_segment(binder, seg, nullptr));
        for (size_t i = 0; i < rf.shared_tactical.size(); ++i)
            bind_shared_tactical(binder, i);
        if (rf.since.present()) {
            if (const ast::Expr* e = parse(rf.since)) {
                out_.since = binder.bind(ExprRef{&out_.source, &rf.since, e});
                const auto* name = std::get_if<ast::Name>(&e->node);
                const bool column =
                    std::holds_alternative<bound::CustomerColumn>(out_.since->node) && name &&
                    !bound::state_field_type(name->parts[0]);
                if (!column) {
                    error(Code::InvalidValue, rf.since.location,
                          "'source.since' must name a date column of the customer table");
                    out_.since = nullptr;
                } else if (out_.since->type != Type::Date && out_.since->type != Type::DateTime &&
                           !is_open(out_.since->type)) {
                    error(Code::TypeMismatch, rf.since.location,
                          "'source.since' must name a date column, but this is " +
                              with_article(out_.since->type));
                    out_.since = nullptr;
                }
            }
        }
        if (rf.value.present()) {
            if (const ast::Expr* e = parse(rf.value)) {
                out_.value = binder.bind(ExprRef{&out_.source, &rf.value, e});
                if (!is_numeric(out_.value->type) && !is_open(out_.value->type)) {
                    error(Code::TypeMismatch, rf.value.location,
                          "'value' must be a number per customer, but this is " +
                              with_article(out_.value->type));
                }
            }
        }
        compile_triggers(
            out_, binder, [this](const ExprText& t) { return parse(t); }, diags_);
        binder.bind_all_lets();
        // The lets by name, once: a file of many unused lets is not quadratic.
        std::unordered_map<std::string_view, std::vector<const LetDef*>> lets_named;
        for (const auto& let : rf.lets)
            lets_named[let.name].push_back(&let);
        const std::vector<std::string> unused = binder.unused_lets();
        if (!unused.empty()) note_expressions_with_errors();
        for (const std::string& cut : binder.lets_not_read()) {
            auto found = lets_named.find(cut);
            if (found == lets_named.end()) continue;
            for (const auto* let : found->second)
                unparsed_.push_back(let->expr.text);  // the lets it names are not said unused
        }
        for (const auto& name : unused) {
            if (!is_identifier(name)) continue;     // already reported as a bad name
            if (named_in_unparsed(name)) continue;  // its use may be in the syntax error
            auto found = lets_named.find(name);
            if (found == lets_named.end()) continue;
            for (const auto* let : found->second)
                warning(Code::UnusedLet, let->location, "let '" + name + "' is never used");
        }
        const size_t n = rf.segments.size();
        if (n > 0 && (n < 3 || n > 10)) {
            warning(Code::SegmentCount,
                    rf.segments_location.valid() ? rf.segments_location : rf.general_location,
                    std::to_string(n) + " general segment" + (n == 1 ? "" : "s") +
                        "; 3 to 10 are workable and 6 to 10 is the sweet spot");
        }
        out_.program = binder.take_program();
    }

  private:
    CompiledRules& out_;
    const Schema* schema_;
    Diagnostics& diags_;
    // The expressions with syntax errors, and others not read (named_in_unparsed).
    std::vector<std::string> unparsed_;
    // Every parsed expression: its text, and where it starts and ends in the file.
    struct Parsed {
        std::string text;
        Location begin, end;
    };
    std::vector<Parsed> parsed_;

    // The expressions an error was reported inside (a call refused while it was bound) join
    // those that did not parse: the lets they name were used, though their binding stopped.
    void note_expressions_with_errors() {
        auto before = [](const Location& a, const Location& b) {
            return std::tie(a.line, a.col) <= std::tie(b.line, b.col);
        };
        for (const Diagnostic& d : diags_.items()) {
            if (d.severity != Severity::Error || d.file != out_.source.path()) continue;
            for (const Parsed& p : parsed_)
                if (before(p.begin, d.location) && before(d.location, p.end))
                    unparsed_.push_back(p.text);
        }
    }

    void error(Code code, Location loc, std::string msg) {
        diags_.error(code, out_.source.path(), loc, std::move(msg));
    }
    void warning(Code code, Location loc, std::string msg) {
        diags_.warning(code, out_.source.path(), loc, std::move(msg));
    }
    void schema_error(Code code, Location loc, std::string msg) {
        diags_.schema_error(code, out_.source.path(), loc, std::move(msg));
    }

    // Whether `name` is written, as a whole word, in an expression that did not parse.
    bool named_in_unparsed(std::string_view name) const {
        auto word = [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                   (static_cast<unsigned char>(c) & 0x80);
        };
        for (const std::string& text : unparsed_) {
            for (size_t at = text.find(name); at != std::string::npos;
                 at = text.find(name, at + 1)) {
                const size_t end = at + name.size();
                if ((at == 0 || !word(text[at - 1])) && (end == text.size() || !word(text[end])))
                    return true;
            }
        }
        return false;
    }

    const ast::Expr* parse(const ExprText& text) {
        if (!text.present() || text.text.empty()) return nullptr;
        ParseResult r = parse_expression(text.text);
        for (const auto& issue : r.issues)
            error(Code::Syntax, text.locate(out_.source, issue.span), issue.message);
        if (!r.issues.empty() || !r.expr) unparsed_.push_back(text.text);
        if (!r.expr) return nullptr;
        const auto end = static_cast<uint32_t>(text.text.size());
        parsed_.push_back(
            {text.text, text.locate(out_.source, {0, 0}), text.locate(out_.source, {end, end})});
        out_.asts.push_back(std::move(r.expr));
        return out_.asts.back().get();
    }

    std::string table_list() const {
        std::string out;
        bool run_state = false;
        for (const auto& [name, t] : schema_->tables) {
            run_state = run_state || name.rfind("strata_", 0) == 0;
            if (name.rfind("strata_", 0) == 0 || name.rfind("sqlite_", 0) == 0) continue;
            out += (out.empty() ? "" : ", ") + name;
        }
        if (!out.empty()) return out;
        // A state file given for the customer database holds strata's tables only.
        return run_state ? "none but strata's run state (strata_*): give the customer database "
                           "as --db, and this file as --state"
                         : "none";
    }

    // Reads one table's columns into a name → type map, with overrides; reports what is missing.
    bool table_columns(const std::string& table, Location where,
                       const std::map<std::string, TypeOverride>& types,
                       std::map<std::string, Type>& columns,
                       std::map<std::string, std::string>& declared) {
        const TableSchema* t = schema_->find(table);
        if (!t) {
            std::vector<std::string> names;
            for (const auto& [name, s] : schema_->tables)
                names.push_back(name);
            schema_error(Code::NotInDatabase, where,
                         "table '" + table + "' does not exist in the database" +
                             diags_.did_you_mean(table, names) +
                             (schema_->qualifier.empty()
                                  ? " (tables: "
                                  : " (tables in schema '" + schema_->qualifier + "': ") +
                             table_list() + ")");
            return false;
        }
        for (const auto& c : t->columns) {
            columns[c.name] = c.type;
            declared[c.name] = c.declared.empty() ? "no type" : c.declared;
        }
        for (const auto& [name, o] : types) {
            declared.erase(name);
            if (!columns.count(name)) {
                error(Code::NotInDatabase, o.location,
                      "'types' names column '" + name + "', which table '" + table +
                          "' does not have");
                continue;
            }
            columns[name] = o.type;
        }
        return true;
    }

    void require_column(const std::string& table, const std::map<std::string, Type>& columns,
                        const std::string& column, Location where, const char* role) {
        if (columns.count(column)) return;
        std::vector<std::string> names;
        for (const auto& [n, t] : columns)
            names.push_back(n);
        error(Code::NotInDatabase, where,
              std::string(role) + " column '" + column + "' does not exist in table '" + table +
                  "'" + diags_.did_you_mean(column, names));
    }

    NameScope build_scope() {
        const RuleFile& rf = out_.rules;
        NameScope scope;
        scope.open_columns = schema_ == nullptr;
        scope.customers_table = rf.customers_table;
        const Location customers_at =
            rf.customers_location.valid() ? rf.customers_location : Location{1, 1, 1};
        if (schema_ && table_columns(rf.customers_table, customers_at, rf.types, scope.columns,
                                     scope.declared)) {
            require_column(rf.customers_table, scope.columns, rf.key,
                           rf.key_location.valid() ? rf.key_location : customers_at, "key");
        } else if (schema_) {
            scope.open_columns = true;  // the table is missing: one error, not one per name
        } else {
            // No schema: the columns source.types names have the type it gives them; any other
            // name is a column whose type is not known.
            for (const auto& [name, o] : rf.types)
                scope.columns[name] = o.type;
        }
        for (const auto& f : rf.facts) {
            NameScope::Fact fact{f.name, f.table, f.key, f.time, schema_ == nullptr, {}, {}};
            const Location table_at = f.table_location.valid() ? f.table_location : f.location;
            if (schema_ && table_columns(f.table, table_at, f.types, fact.columns, fact.declared)) {
                require_column(f.table, fact.columns, f.key,
                               f.key_location.valid() ? f.key_location : f.location, "key");
                if (!f.time.empty())
                    require_column(f.table, fact.columns, f.time, f.time_location, "time");
            } else if (schema_) {
                fact.open = true;
            } else {
                for (const auto& [name, o] : f.types)
                    fact.columns[name] = o.type;
            }
            // The time column is read as a date or datetime whatever its declared type.
            if (!f.time.empty()) {
                auto it = fact.columns.find(f.time);
                if (it != fact.columns.end() && it->second != Type::DateTime)
                    it->second = Type::Date;
                if (it == fact.columns.end() && fact.open) {
                    fact.columns[f.time] = Type::Date;
                    fact.time_guessed = true;
                }
            }
            scope.facts.push_back(std::move(fact));
        }
        return scope;
    }

    CompiledSegment bind_segment(Binder& binder, const SegmentDef& seg,
                                 const CompiledSegment* parent) {
        CompiledSegment out{&seg, nullptr, {}, std::nullopt};
        if (!seg.otherwise) {
            if (const ast::Expr* e = parse(seg.when)) {
                out.when = binder.bind(ExprRef{&out_.source, &seg.when, e});
                if (!binder.may_be_condition(*out.when)) {
                    error(Code::TypeMismatch, seg.when.location,
                          "'when' of segment '" + seg.id + "' must be a condition, but this is " +
                              binder.kind_of(*out.when));
                }
                if (parent && parent->when && same_condition(parent->def->when, *e)) {
                    {
                        warning(Code::SameCondition, seg.when.location,
                                "tactical segment '" + seg.id +
                                    "' has the same condition as its parent '" + parent->def->id +
                                    "', so it always holds there");
                    }
                }
            }
        }
        for (const auto& child : seg.tactical)
            out.tactical.push_back(bind_segment(binder, child, &out));
        return out;
    }

    // A shared tactical segment: its condition bound once, then placed after the own tactical
    // segments of every general segment it applies inside.
    void bind_shared_tactical(Binder& binder, size_t index) {
        const SharedTacticalDef& shared = out_.rules.shared_tactical[index];
        const SegmentDef& seg = shared.segment;
        std::shared_ptr<bound::Expr> when;
        const ast::Expr* e = seg.otherwise ? nullptr : parse(seg.when);
        if (e) {
            when = binder.bind(ExprRef{&out_.source, &seg.when, e});
            if (!binder.may_be_condition(*when)) {
                error(Code::TypeMismatch, seg.when.location,
                      "'when' of segment '" + seg.id + "' must be a condition, but this is " +
                          binder.kind_of(*when));
            }
        }
        for (size_t p : shared.parents) {
            CompiledSegment& parent = out_.segments[p];
            if (e && parent.when && same_condition(parent.def->when, *e)) {
                warning(Code::SameCondition, seg.when.location,
                        "shared tactical segment '" + seg.id + "' has the same condition as '" +
                            parent.def->id + "', so it always holds there");
            }
            CompiledSegment child{&seg, when, {}, index};
            parent.tactical.push_back(std::move(child));
        }
    }

    static bool same_condition(const ExprText& parent, const ast::Expr& child) {
        ParseResult p = parse_expression(parent.text);
        return p.expr && ast::to_canonical_string(*p.expr) == ast::to_canonical_string(child);
    }
};

}  // namespace

std::unique_ptr<CompiledRules> compile_rules(SourceFile source, const Schema* schema,
                                             Diagnostics& diags) {
    auto out = std::make_unique<CompiledRules>();
    out->source = std::move(source);
    auto rules = load_rule_file(out->source, diags);
    if (!rules) return nullptr;
    out->rules = std::move(*rules);
    Compiler(*out, schema, diags).run();
    return out;
}

}  // namespace strata
