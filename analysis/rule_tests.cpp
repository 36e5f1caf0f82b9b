#include "analysis/rule_tests.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <set>

#include "analysis/condition_coverage.hpp"
#include "analysis/fixed_population.hpp"
#include "analysis/fixture_base.hpp"
#include "analysis/fixture_quality.hpp"
#include "dsl/compiler.hpp"
#include "engine/run.hpp"
#include "engine/sha256.hpp"
#include "engine/state.hpp"
#include "engine/store.hpp"

namespace strata {

double Coverage::percent() const {
    const size_t total = segments.total + tactical.total + triggers.total;
    if (total == 0) return 100.0;
    return 100.0 * static_cast<double>(segments.hit() + tactical.hit() + triggers.hit()) /
           static_cast<double>(total);
}

size_t TestReport::passed() const {
    return static_cast<size_t>(
        std::count_if(cases.begin(), cases.end(), [](const CaseResult& c) { return c.passed; }));
}

namespace {

namespace fs = std::filesystem;

std::string list_text(std::vector<std::string> items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i)
        out += (i ? ", " : "") + items[i];
    return out + "]";
}

class Runner {
  public:
    Runner(const SourceFile& rules, const TestFile& tests, Diagnostics& diags)
        : rules_src_(rules), tests_(tests), diags_(diags) {}

    // Every error the test file has against the rules, without running a case.
    bool check_fit(std::string& error) {
        if (!open_rules(error)) return false;
        const bool names_known = expected_names_known();
        base_.emplace(*open_, tests_, diags_);
        const bool shaped = base_->shape_tables();
        report_rule_errors();
        if (shaped && names_known && !reported_compile_errors_) return true;
        error = "the test file does not fit the rules";
        return false;
    }

    std::optional<TestReport> run(const std::string& work_dir, std::string& error) {
        if (!open_rules(error)) return std::nullopt;
        const RuleFile& rf = open_->rules;
        operands_ = condition_operands(*open_);
        TestReport report;
        report.ruleset = rf.ruleset;
        const bool names_known = expected_names_known();
        base_.emplace(*open_, tests_, diags_);
        if (!base_->shape_tables() || !names_known) {
            // The rules' own errors against the tables the test file gives are said in the
            // same pass, so that fixing the test file does not bring up a second list.
            report_rule_errors();
            error = "the test file does not fit the rules";
            return std::nullopt;
        }
        static std::atomic<int> counter{0};
        const fs::path dir =
            fs::path(work_dir) /
            ("strata-rule-tests-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::error_code ec;
        fs::remove_all(dir, ec);
        if (!fs::create_directories(dir, ec) || ec) {
            error = "cannot make the scratch directory '" + dir.string() + "': " + ec.message();
            return std::nullopt;
        }
        size_t n = 0;
        for (const TestCase& tc : tests_.cases) {
            const fs::path sub = dir / std::to_string(++n);
            fs::create_directories(sub, ec);
            report.cases.push_back(run_case(tc, sub));
        }
        fs::remove_all(dir, ec);
        report.coverage = coverage();
        return report;
    }

  private:
    bool open_rules(std::string& error) {
        Diagnostics open_diags;
        open_ = compile_rules(rules_src_, nullptr, open_diags);
        if (open_ && !open_diags.has_errors()) return true;
        for (const auto& d : open_diags.items())
            diags_.add(d.severity, d.file, d.location, d.message, d.code);
        error = "the rule file has errors";
        return false;
    }

    const SourceFile& rules_src_;
    const TestFile& tests_;
    Diagnostics& diags_;
    std::unique_ptr<CompiledRules> open_;
    std::optional<FixtureBase> base_;  // the fixtures' tables, once the rules are open
    bool reported_compile_errors_ = false;
    std::set<std::string> hit_segments_, hit_tactical_, fired_triggers_;
    std::set<std::pair<std::string, std::string>> hit_within_;  // (tactical path, general id)
    std::vector<ConditionOperand> operands_;  // of the rules compiled without a schema

    // Every segment, tactical and trigger id the cases expect names one of the rule file's;
    // each that does not is an error at its place in the test file, with the nearest name.
    bool expected_names_known() {
        std::vector<std::string> general, tactical, triggers;
        std::set<std::string> tactical_names;  // ids and paths
        for (const auto& g : open_->segments)
            general.push_back(g.def->id);
        each_tactical([&](const std::string& id, const std::string& path) {
            tactical.push_back(id);
            tactical_names.insert(id);
            tactical_names.insert(path);
        });
        for (const auto& t : open_->triggers)
            triggers.push_back(t.def->id);
        auto listed = [](const std::vector<std::string>& names, const std::string& name) {
            return std::find(names.begin(), names.end(), name) != names.end();
        };
        bool known = true;
        auto unknown = [&](const Location& at, const std::string& message) {
            diags_.error(DiagnosticCode::UnknownName, tests_.path, at, message);
            known = false;
        };
        auto check_state = [&](const FixtureState& s) {
            for (const Expectation& e : s.expect) {
                if (!e.segment.empty() && !listed(general, e.segment))
                    unknown(e.segment_location, "'" + e.segment +
                                                    "' is not a general segment of the rule file" +
                                                    did_you_mean(e.segment, general));
                if (!e.tactical) continue;
                for (size_t i = 0; i < e.tactical->size(); ++i) {
                    const std::string& id = (*e.tactical)[i];
                    if (id.empty() || tactical_names.count(id)) continue;
                    unknown(i < e.tactical_locations.size() ? e.tactical_locations[i] : e.location,
                            "'" + id + "' is not a tactical segment of the rule file" +
                                did_you_mean(id, tactical));
                }
            }
            for (const auto& [id, fired] : s.fire)
                if (!listed(triggers, id))
                    unknown(fired.second, "'" + id + "' is not a trigger of the rule file" +
                                              did_you_mean(id, triggers));
        };
        for (const TestCase& tc : tests_.cases) {
            check_state(tc.first);
            for (const FixtureState& s : tc.then)
                check_state(s);
        }
        return known;
    }

    // The rules compiled against empty tables of the fixture's shape, for their errors alone.
    void report_rule_errors() {
        try {
            SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
            base_->create_tables(db);
            std::vector<std::string> ignored;
            compile(db, ignored);
        } catch (const SQLite::Exception&) {
            // Tables the fixture cannot even shape: its own errors are reported already.
        }
    }

    // Compiles the rules against the fixture's tables; the first case whose fixture they don't
    // compile against reports why.
    std::unique_ptr<CompiledRules> compile(SQLite::Database& db, std::vector<std::string>& fails) {
        StoreError store_error;
        auto schema = read_schema(db, store_error);
        if (!schema) {
            fails.push_back("cannot read the fixture's tables: " + store_error.message);
            return nullptr;
        }
        Diagnostics d;
        auto compiled = compile_rules(rules_src_, &*schema, d);
        if (!compiled || d.has_errors()) {
            fails.push_back(
                "the rules do not compile against this case's tables (the rules' errors say "
                "why: "
                "a column the rules read missing from every row of the test file, or given "
                "only values of another type?)");
            if (!reported_compile_errors_) {
                for (const auto& item : d.items())
                    diags_.add(item.severity, item.file, item.location, item.message, item.code);
                base_->note_quoted_numbers();
                reported_compile_errors_ = true;
            }
            return nullptr;
        }
        return compiled;
    }

    std::optional<RunReport> run_once(const CompiledRules& rules, SQLite::Database& data,
                                      SQLite::Database& state, Date as_of,
                                      const PopulationFits* population,
                                      std::vector<std::string>& fails, const std::string& prefix) {
        RunOptions options;
        options.as_of = as_of;
        options.population = population;
        options.rules_path = rules_src_.path();
        options.rules_sha256 = sha256_hex(rules_src_.text());
        options.on_placed = [&](const Frame& frame, const std::vector<uint32_t>&,
                                const RunReport&) {
            if (operands_.empty()) return;
            // The operands belong to the rules compiled for this case: map them by place.
            auto mine = condition_operands(rules);
            for (size_t i = 0; i < mine.size() && i < operands_.size(); ++i) {
                mine[i].decided_true = operands_[i].decided_true;
                mine[i].decided_false = operands_[i].decided_false;
            }
            record_decisions(mine, frame);
            for (size_t i = 0; i < mine.size() && i < operands_.size(); ++i) {
                operands_[i].decided_true = mine[i].decided_true;
                operands_[i].decided_false = mine[i].decided_false;
            }
        };
        RunError run_error;
        auto rep = execute_run(rules, data, &state, options, run_error);
        if (!rep) fails.push_back(prefix + "the run failed: " + run_error.message);
        return rep;
    }

    // Calls `visit(id, path)` for each tactical segment of the compiled rules.
    void each_tactical(
        const std::function<void(const std::string&, const std::string&)>& visit) const {
        std::function<void(const std::vector<CompiledSegment>&, const std::string&, bool)> walk =
            [&](const std::vector<CompiledSegment>& segs, const std::string& prefix, bool general) {
                for (const auto& s : segs) {
                    const std::string path =
                        general || prefix.empty() ? s.def->id : prefix + "/" + s.def->id;
                    if (!general) visit(s.def->id, path);
                    walk(s.tactical, general ? "" : path, false);
                }
            };
        walk(open_->segments, "", true);
    }

    // The path of a tactical id (or the path itself) in the compiled rules.
    std::string tactical_path(const std::string& id) const {
        std::string found = id;
        each_tactical([&](const std::string& tactical_id, const std::string& path) {
            if (tactical_id == id) found = path;
        });
        return found;
    }

    void compare(const RunReport& rep, const FixtureState& s, std::vector<std::string>& fails,
                 const std::string& prefix) {
        std::map<std::string, const MembershipRow*> placed;
        for (const auto& m : rep.membership) {
            placed[key_id(m.key)] = &m;
            hit_segments_.insert(m.segment.str());
            const std::string& tags = m.tactical.str();
            size_t from = 0;
            while (from < tags.size()) {
                const size_t end = std::min(tags.find(';', from), tags.size());
                const std::string path = tags.substr(from, end - from);
                hit_tactical_.insert(path);
                hit_within_.insert({path, m.segment.str()});
                from = end + 1;
            }
        }
        for (const Expectation& e : s.expect) {
            auto it = placed.find(key_id(e.key));
            const std::string who = prefix + "customer " + key_text(e.key) + ": ";
            if (it == placed.end()) {
                // The same key of the other kind ('1' for 1) is most likely the one meant.
                const std::string id = key_id(e.key);
                const std::string other = (id[0] == 't' ? "v" : "t") + id.substr(1);
                const auto near = placed.find(other);
                fails.push_back(
                    who + "expected in " + e.segment + ", but not in the base" +
                    (near == placed.end()
                         ? std::string()
                         : ", which has customer " + key_text(near->second->key) +
                               " (quote the key in 'expect' as in 'customers', or in neither)"));
                continue;
            }
            const MembershipRow& m = *it->second;
            // (Names the rules lack were refused before any case ran: expected_names_known.)
            if (m.segment.str() != e.segment)
                fails.push_back(who + "expected segment " + e.segment + ", got " + m.segment.str());
            if (!e.tactical) continue;
            std::vector<std::string> want;
            for (const auto& id : *e.tactical)
                want.push_back(tactical_path(id));
            std::vector<std::string> got;
            const std::string& tags = m.tactical.str();
            size_t from = 0;
            while (from < tags.size()) {
                const size_t end = std::min(tags.find(';', from), tags.size());
                got.push_back(tags.substr(from, end - from));
                from = end + 1;
            }
            // Compared as sets; said as the case wrote them and as export writes the run's
            // (in the rule file's order).
            auto sorted = [](std::vector<std::string> v) {
                std::sort(v.begin(), v.end());
                return v;
            };
            if (sorted(want) != sorted(got))
                fails.push_back(who + "expected tactical " + list_text(want) + ", got " +
                                list_text(got));
        }
    }

    void compare_fired(SQLite::Database& state, int64_t run_id, const FixtureState& s,
                       std::vector<std::string>& fails, const std::string& prefix) {
        std::map<std::string, std::vector<Value>> fired;
        SQLite::Statement q(state,
                            "SELECT trigger_id, customer_key FROM strata_outbox WHERE run_id = ? "
                            "AND action = 0 ORDER BY id");
        q.bind(1, run_id);
        while (q.executeStep()) {
            const SQLite::Column key = q.getColumn(1);
            fired[q.getColumn(0).getString()].push_back(
                key.isInteger() ? Value{static_cast<int64_t>(key.getInt64())}
                                : Value{intern(key.getString())});
            fired_triggers_.insert(q.getColumn(0).getString());
        }
        for (const auto& [id, want] : s.fire) {
            auto texts = [](const std::vector<Value>& keys) {
                std::vector<std::string> out;
                for (const auto& k : keys)
                    out.push_back(key_text(k));
                std::sort(out.begin(), out.end());
                return out;
            };
            const auto w = texts(want.first);
            const auto g = texts(fired[id]);
            if (w != g)
                fails.push_back(prefix + "trigger " + id + ": expected to fire for " +
                                list_text(w) + ", fired for " + list_text(g));
        }
    }

    // A warning at the case when its run left fixture rows or values out, as a run would
    // report them: a case can otherwise pass without the row it meant to test.
    void warn_left_out(const RunReport& rep, const TestCase& tc, const std::string& prefix) {
        const std::string findings = fixture_findings(rep.data_quality);
        if (findings.empty()) return;
        diags_.add(
            Severity::Warning, tests_.path, tc.location,
            "case '" + tc.name + "': " + prefix + "the run left fixture data out: " + findings,
            DiagnosticCode::FixtureData);
    }

    CaseResult run_case(const TestCase& tc, const fs::path& dir) {
        CaseResult result;
        result.name = tc.name;
        auto& fails = result.failures;
        try {
            const std::string data_path = (dir / "data.db").string();
            {
                SQLite::Database db(data_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
                base_->create_tables(db);
                base_->write_state(db, tc.first, false, fails);
            }
            StoreError store_error;
            auto state = open_state((dir / "state.db").string(), store_error);
            if (!state) {
                fails.push_back("cannot make the case's state: " + store_error.message);
                return result;
            }
            auto data = std::make_unique<SQLite::Database>(data_path, SQLite::OPEN_READONLY);
            auto rules = compile(*data, fails);
            if (!rules || !tc.first.as_of) return result;
            PopulationFits fixed;
            if (!fix_population(*rules, tc.population, tests_.path, fixed, diags_)) {
                fails.push_back("its 'population' block does not fit the rules (see above)");
                return result;
            }
            const PopulationFits* population = tc.population.empty() ? nullptr : &fixed;
            auto first = run_once(*rules, *data, *state, *tc.first.as_of, population, fails, "");
            if (!first) return result;
            warn_left_out(*first, tc, "");
            compare(*first, tc.first, fails, "");
            for (const FixtureState& then : tc.then) {
                if (!then.as_of) break;
                const std::string prefix = "then " + format_date(*then.as_of) + ": ";
                data.reset();
                {
                    SQLite::Database db(data_path, SQLite::OPEN_READWRITE);
                    base_->write_state(db, then, true, fails);
                }
                data = std::make_unique<SQLite::Database>(data_path, SQLite::OPEN_READONLY);
                auto later =
                    run_once(*rules, *data, *state, *then.as_of, population, fails, prefix);
                if (!later) break;
                warn_left_out(*later, tc, prefix);
                compare(*later, then, fails, prefix);
                compare_fired(*state, later->run_id, then, fails, prefix);
            }
        } catch (const SQLite::Exception& e) {
            fails.push_back(std::string("cannot write the case's fixture: ") + e.what() +
                            " (a value of the wrong type for its column?)");
        }
        result.passed = fails.empty();
        return result;
    }

    Coverage coverage() const {
        Coverage c;
        // A shared tactical segment is an item per general segment it applies inside: a case
        // must show it holding in each.
        std::string parent;
        std::function<void(const std::vector<CompiledSegment>&, const std::string&, bool)> walk =
            [&](const std::vector<CompiledSegment>& segs, const std::string& prefix, bool general) {
                for (const auto& s : segs) {
                    const std::string path =
                        general || prefix.empty() ? s.def->id : prefix + "/" + s.def->id;
                    if (general) parent = s.def->id;
                    CoveragePart& part = general ? c.segments : c.tactical;
                    const auto& hit = general ? hit_segments_ : hit_tactical_;
                    ++part.total;
                    if (s.shared) {
                        if (!hit_within_.count({path, parent}))
                            part.missing.push_back(path + " (in " + parent + ")");
                    } else if (!hit.count(path)) {
                        part.missing.push_back(path);
                    }
                    walk(s.tactical, general ? "" : path, false);
                }
            };
        walk(open_->segments, "", true);
        for (const auto& t : open_->triggers) {
            ++c.triggers.total;
            if (!fired_triggers_.count(t.def->id)) c.triggers.missing.push_back(t.def->id);
        }
        c.operands = operands_.size();
        for (const ConditionOperand& op : operands_) {
            if (op.covered()) continue;
            c.uncovered_operands.push_back({op.segment, op.location, op.text,
                                            !op.decided_true && !op.decided_false ? "true or false"
                                            : !op.decided_true                    ? "true"
                                                                                  : "false"});
        }
        return c;
    }
};

}  // namespace

std::optional<TestReport> run_rule_tests(const SourceFile& rules, const TestFile& tests,
                                         const std::string& work_dir, Diagnostics& diags,
                                         std::string& error) {
    return Runner(rules, tests, diags).run(work_dir, error);
}

bool check_rule_tests_fit(const SourceFile& rules, const TestFile& tests, Diagnostics& diags,
                          std::string& error) {
    return Runner(rules, tests, diags).check_fit(error);
}

}  // namespace strata
