// Reading NAME.test.yaml (analysis/rule_tests.hpp).
#include <cctype>
#include <charconv>
#include <set>

#include "analysis/rule_tests.hpp"
#include "dsl/calendar.hpp"
#include "dsl/rule_keys.hpp"
#include "dsl/yaml_reader.hpp"

namespace strata {

namespace {

using Code = DiagnosticCode;

// A plain scalar's value: null, true/false, an integer, a number, a date or datetime, else
// text. A quoted scalar is always text.
Value scalar_value(const YAML::Node& n) {
    if (n.IsNull()) return Value{};
    const std::string& s = n.Scalar();
    if (n.Tag() != "?") return Value{intern(s)};  // quoted
    if (s == "null" || s == "~" || s.empty()) return Value{};
    if (s == "true" || s == "false") return Value{s == "true"};
    if (auto d = parse_date(s)) return Value{*d};
    if (auto t = parse_datetime(s)) return Value{*t};
    size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
    bool digits = i < s.size() && s.size() - i <= 19;
    for (size_t k = i; k < s.size(); ++k)
        digits = digits && std::isdigit(static_cast<unsigned char>(s[k]));
    // Whole numbers a 64-bit integer holds (19-digit keys too); beyond, a number.
    int64_t whole = 0;
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    if (digits) {
        const auto [at, ec] = std::from_chars(begin, s.data() + s.size(), whole);
        if (ec == std::errc() && at == s.data() + s.size()) return Value{whole};
    }
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && s.find_first_of("0123456789") != std::string::npos) return Value{d};
    return Value{intern(s)};
}

// Whether a plain scalar is written as a date or datetime (2026-02-30, 2026-11-01 25:00) that
// scalar_value did not read as one: a day that does not exist, which would be text.
bool spelled_as_date(const YAML::Node& n) {
    if (!n.IsScalar() || n.Tag() != "?") return false;
    const std::string& s = n.Scalar();
    auto digits = [&](size_t from, size_t count) {
        for (size_t k = from; k < from + count; ++k)
            if (k >= s.size() || !std::isdigit(static_cast<unsigned char>(s[k]))) return false;
        return true;
    };
    const bool shaped = s.size() >= 10 && digits(0, 4) && s[4] == '-' && digits(5, 2) &&
                        s[7] == '-' && digits(8, 2) &&
                        (s.size() == 10 || s[10] == ' ' || s[10] == 'T');
    return shaped && std::holds_alternative<Str>(scalar_value(n));
}

// A customer key as one text for comparing keys: 1 and '1' are different keys.
std::string key_identity(const Value& key) {
    return (std::holds_alternative<Str>(key) ? "t" : "v") + format_value(key);
}

class TestLoader : public YamlReader {
  public:
    using YamlReader::YamlReader;

    std::optional<TestFile> load() {
        if (!report_invalid_utf8("test file")) return std::nullopt;
        if (!report_lone_carriage_return("test file")) return std::nullopt;
        YAML::Node root;
        try {
            root = YAML::Load(file_.text());
        } catch (const YAML::Exception& e) {
            report_yaml_error(e);
            return std::nullopt;
        }
        if (root.IsDefined() && !root.IsNull() &&
            !report_tags_and_unclosed_quotes(root, "test file"))
            return std::nullopt;
        if (!root.IsMap()) {
            error(Code::Structure, Location{1, 1, 1},
                  "a test file must be a mapping with a list of 'cases'");
            return std::nullopt;
        }
        TestFile out;
        out.path = file_.path();
        try {
            visit_map(root, rule_keys::test_file.where, rule_keys::test_file.known,
                      rule_keys::test_file.required,
                      [&](const YAML::Node& key, const YAML::Node& v) {
                          if (key.Scalar() == "cases") read_cases(v, out);
                          if (key.Scalar() == "rules") out.rules = scalar(v, "'rules'");
                      });
        } catch (const YAML::Exception& e) {
            error(Code::Yaml, mark_location(e.mark), "invalid YAML: " + e.msg);
        }
        return out;
    }

  private:
    void read_cases(const YAML::Node& n, TestFile& out) {
        if (!n.IsSequence() || n.size() == 0) {
            error(Code::Structure, node_location(n), "'cases' must be a non-empty list of cases");
            return;
        }
        std::map<std::string, int> names;  // case name → the line it is first given on
        for (const auto& c : n) {
            TestCase tc;
            tc.location = node_location(c);
            if (!c.IsMap()) {
                error(Code::Structure, tc.location,
                      "a case must be a mapping with 'name', 'as_of', 'customers' and 'expect'");
                continue;
            }
            visit_map(c, rule_keys::test_case.where, rule_keys::test_case.known,
                      rule_keys::test_case.required,
                      [&](const YAML::Node& key, const YAML::Node& v) {
                          const std::string& k = key.Scalar();
                          if (k == "name") {
                              tc.name = scalar(v, "'name'").value_or("");
                              const int line = node_location(v).line;
                              if (auto [first, fresh] = names.emplace(tc.name, line); !fresh)
                                  error(Code::DuplicateId, node_location(v),
                                        "duplicate case name '" + tc.name + "' (also on line " +
                                            std::to_string(first->second) + ")");
                          } else if (k == "then") {
                              read_then(v, tc.then);
                          } else if (k == "population") {
                              read_population(v, tc.population);
                          } else if (k != "description") {
                              read_state_key(k, v, tc.first, false);
                          }
                      });
            // Runs move forward in time: a later state before the one it follows is a
            // mistake in the file (an as_of typed wrong), not a run to try and fail.
            const FixtureState* before = &tc.first;
            for (const FixtureState& s : tc.then) {
                if (before->as_of && s.as_of && *s.as_of < *before->as_of)
                    error(Code::InvalidValue, s.as_of_location,
                          "this state's as_of " + format_date(*s.as_of) +
                              " is before the one it follows (" + format_date(*before->as_of) +
                              ", line " + std::to_string(before->as_of_location.line) +
                              "): runs move forward in time, so each state of 'then' is on or "
                              "after the one before");
                if (s.as_of) before = &s;
            }
            out.cases.push_back(std::move(tc));
        }
    }

    // `population:` maps let names to a list of cuts (ntile), `{r: [...], f: [...], m: [...]}`
    // (rfm) or `{A: x, B: y}` (abc). What fits which function is checked against the rules.
    void read_population(const YAML::Node& n, std::vector<FixedPopulation>& out) {
        const char* shape =
            "'population' must map let names to cut points: a list for ntile, "
            "{r: [...], f: [...], m: [...]} for rfm, {A: x, B: y} for abc";
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n), shape);
            return;
        }
        auto list = [&](const YAML::Node& v) -> std::optional<std::vector<Value>> {
            if (!v.IsSequence()) {
                error(Code::Structure, node_location(v),
                      "cut points must be a list such as [10, 20, 30], in ranking order");
                return std::nullopt;
            }
            std::vector<Value> values;
            for (const auto& item : v) {
                if (!item.IsScalar()) {
                    error(Code::Structure, node_location(item),
                          "a cut point must be a single value (a number or a date)");
                    return std::nullopt;
                }
                values.push_back(scalar_value(item));
            }
            return values;
        };
        for (auto it = n.begin(); it != n.end(); ++it) {
            FixedPopulation fixed;
            auto name = scalar(it->first, "a let name");
            if (!name) continue;
            fixed.let = *name;
            fixed.location = node_location(it->first);
            const YAML::Node v = it->second;  // a copy: the pair is a temporary
            if (v.IsSequence()) {
                fixed.cuts = list(v);
                if (!fixed.cuts) continue;
            } else if (v.IsMap()) {
                for (auto f = v.begin(); f != v.end(); ++f) {
                    auto key = scalar(f->first, "an rfm field or abc class");
                    if (!key) continue;
                    const YAML::Node value = f->second;
                    const Location at = node_location(f->first);
                    auto listed = [&](const MappingKeys& keys) {
                        return std::find(keys.known.begin(), keys.known.end(), *key) !=
                               keys.known.end();
                    };
                    if (listed(rule_keys::fixed_rfm)) {
                        if (auto values = list(value)) fixed.fields[*key] = {*values, at};
                    } else if (listed(rule_keys::fixed_abc)) {
                        if (value.IsMap()) {
                            // The class's last customer, as a run's JSON lists it.
                            std::optional<Value> last_value, last_key;
                            visit_map(value, rule_keys::abc_boundary.where,
                                      rule_keys::abc_boundary.known,
                                      rule_keys::abc_boundary.required,
                                      [&](const YAML::Node& k, const YAML::Node& v) {
                                          const std::string& name = k.Scalar();
                                          if (name != "last_value" && name != "last_key")
                                              return;  // the run's counts, not read
                                          if (!v.IsScalar() && !v.IsNull()) {
                                              error(Code::Structure, node_location(v),
                                                    "class " + *key + "'s " + k.Scalar() +
                                                        " must be a single value");
                                              return;
                                          }
                                          (k.Scalar() == "last_value" ? last_value : last_key) =
                                              scalar_value(v);
                                      });
                            if (!last_value) continue;
                            fixed.classes[*key] = {*last_value, at};
                            if (last_key) fixed.class_last_keys[*key] = *last_key;
                        } else if (!value.IsScalar())
                            error(Code::Structure, node_location(value),
                                  "where class " + *key +
                                      " begins must be a single number, or its last customer "
                                      "{last_value: x, last_key: k}");
                        else
                            fixed.classes[*key] = {scalar_value(value), at};
                    } else {
                        error(Code::Structure, at,
                              "'" + *key +
                                  "' is neither an rfm field (r, f, m) nor an abc class (A, B)");
                    }
                }
                if (!fixed.fields.empty() && !fixed.classes.empty()) {
                    error(Code::Structure, node_location(v),
                          "'" + fixed.let + "' mixes rfm fields and abc classes");
                    continue;
                }
            } else {
                error(Code::Structure, node_location(v), shape);
                continue;
            }
            out.push_back(std::move(fixed));
        }
    }

    void read_then(const YAML::Node& n, std::vector<FixtureState>& states) {
        if (!n.IsSequence()) {
            error(Code::Structure, node_location(n),
                  "'then' must be a list of later states, each with 'as_of' and optionally "
                  "'customers', 'facts', 'expect' and 'fires'");
            return;
        }
        for (const auto& item : n) {
            FixtureState s;
            if (!item.IsMap()) {
                error(Code::Structure, node_location(item),
                      "a later state must be a mapping with 'as_of'");
                continue;
            }
            visit_map(item, rule_keys::test_state.where, rule_keys::test_state.known,
                      rule_keys::test_state.required,
                      [&](const YAML::Node& key, const YAML::Node& v) {
                          if (key.Scalar() != "description")
                              read_state_key(key.Scalar(), v, s, true);
                      });
            states.push_back(std::move(s));
        }
    }

    void read_state_key(const std::string& k, const YAML::Node& v, FixtureState& s, bool later) {
        if (k == "as_of") {
            auto text = scalar(v, "'as_of'");
            s.as_of_location = node_location(v);
            if (text) s.as_of = parse_date(*text);
            if (text && !s.as_of)
                error(Code::InvalidValue, node_location(v),
                      "'as_of' must be a date such as 2026-11-01");
        } else if (k == "customers") {
            s.customers = read_table(v, "'customers'");
        } else if (k == "facts") {
            if (!v.IsMap()) {
                error(Code::Structure, node_location(v),
                      "'facts' must map fact names (as the rules call them) to lists of rows");
                return;
            }
            for (auto it = v.begin(); it != v.end(); ++it) {
                auto name = scalar(it->first, "a fact name");
                const YAML::Node rows = it->second;  // a copy: the pair is a temporary
                if (name && s.facts.count(*name)) {
                    error(Code::DuplicateId, node_location(it->first),
                          "fact '" + *name + "' is given twice in 'facts'");
                    continue;
                }
                if (name) s.facts[*name] = read_table(rows, "fact '" + *name + "'");
            }
        } else if (k == "expect") {
            read_expect(v, s);
        } else if (k == "fires") {
            if (!later) return;
            if (!v.IsMap()) {
                error(Code::Structure, node_location(v),
                      "'fires' must map trigger ids to the customer keys they fire for");
                return;
            }
            for (auto it = v.begin(); it != v.end(); ++it) {
                auto id = scalar(it->first, "a trigger id");
                if (!id) continue;
                std::vector<Value> keys;
                const YAML::Node list = it->second;  // a copy: the pair is a temporary
                if (!list.IsSequence()) {
                    error(Code::Structure, node_location(list),
                          "trigger '" + *id + "' must list customer keys, e.g. [1, 2] or []");
                    continue;
                }
                if (s.fire.count(*id)) {
                    error(Code::DuplicateId, node_location(it->first),
                          "trigger '" + *id + "' is given twice in 'fires'");
                    continue;
                }
                for (const auto& k2 : list)
                    keys.push_back(scalar_value(k2));
                s.fire[*id] = {std::move(keys), node_location(it->first)};
            }
        }
    }

    FixtureTable read_table(const YAML::Node& n, const std::string& what) {
        FixtureTable t;
        t.location = node_location(n);
        if (!n.IsSequence()) {
            error(Code::Structure, node_location(n),
                  what + " must be a list of rows such as { customer_id: 1, spend: 10 }");
            return t;
        }
        for (const auto& row : n) {
            if (!row.IsMap()) {
                error(Code::Structure, node_location(row),
                      "a row of " + what + " must be a mapping of column names to values");
                continue;
            }
            std::vector<Value> values(t.columns.size());
            std::vector<char> given(t.columns.size(), 0);
            std::set<std::string> named;
            for (auto it = row.begin(); it != row.end(); ++it) {
                auto column = scalar(it->first, "a column name");
                if (!column) continue;
                if (!named.insert(*column).second) {
                    error(Code::DuplicateId, node_location(it->first),
                          "column '" + *column + "' is given twice in a row of " + what);
                    continue;
                }
                const YAML::Node cell = it->second;  // a copy: the pair is a temporary
                if (!cell.IsScalar() && !cell.IsNull()) {
                    error(Code::Structure, node_location(cell),
                          "column '" + *column + "' must have a single value");
                    continue;
                }
                if (spelled_as_date(cell)) {
                    error(Code::InvalidValue, node_location(cell),
                          "'" + cell.Scalar() + "' in column '" + *column +
                              "' is not a date that exists (quote it if it is meant as text)");
                    continue;
                }
                auto at = std::find(t.columns.begin(), t.columns.end(), *column);
                size_t c = static_cast<size_t>(at - t.columns.begin());
                if (at == t.columns.end()) {
                    t.columns.push_back(*column);
                    for (auto& r : t.rows)
                        r.emplace_back();
                    for (auto& g : t.given)
                        g.push_back(0);
                    values.emplace_back();
                    given.push_back(0);
                }
                values[c] = scalar_value(cell);
                given[c] = 1;
            }
            t.rows.push_back(std::move(values));
            t.given.push_back(std::move(given));
            t.row_locations.push_back(node_location(row));
        }
        return t;
    }

    void read_expect(const YAML::Node& n, FixtureState& s) {
        if (!n.IsMap()) {
            error(Code::Structure, node_location(n),
                  "'expect' must map customer keys to a segment id, or to { segment: ID, "
                  "tactical: [IDS] }");
            return;
        }
        std::set<std::string> keys;
        for (auto it = n.begin(); it != n.end(); ++it) {
            Expectation e;
            e.key = scalar_value(it->first);
            e.location = node_location(it->first);
            if (!keys.insert(key_identity(e.key)).second) {
                error(Code::DuplicateId, e.location,
                      "customer " + it->first.Scalar() + " is expected twice in 'expect'");
                continue;
            }
            const YAML::Node v = it->second;
            if (v.IsScalar()) {
                e.segment = v.Scalar();
                e.segment_location = node_location(v);
            } else if (v.IsMap()) {
                visit_map(
                    v, "an expectation", {"segment", "tactical"}, {"segment"},
                    [&](const YAML::Node& key, const YAML::Node& val) {
                        if (key.Scalar() == "segment") {
                            e.segment = scalar(val, "'segment'").value_or("");
                            e.segment_location = node_location(val);
                        } else if (!val.IsSequence()) {
                            error(Code::Structure, node_location(val),
                                  "'tactical' must be a list of tactical ids, e.g. [] or "
                                  "[tv]");
                        } else {
                            e.tactical.emplace();
                            for (const auto& t : val) {
                                e.tactical->push_back(scalar(t, "a tactical id").value_or(""));
                                e.tactical_locations.push_back(node_location(t));
                            }
                        }
                    });
            } else {
                error(Code::Structure, node_location(v),
                      "an expectation is a segment id, or { segment: ID, tactical: [IDS] }");
                continue;
            }
            s.expect.push_back(std::move(e));
        }
    }
};

}  // namespace

std::optional<TestFile> load_test_file(const SourceFile& file, Diagnostics& diags) {
    return TestLoader(file, diags).load();
}

}  // namespace strata
