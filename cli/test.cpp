// `strata test RULES [--tests FILE] [--min-coverage P] [--format text|json]`: runs the cases
// of NAME.test.yaml beside the rule file and reports what no case covered.
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <sstream>

#include "analysis/rule_tests.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/io.hpp"
#include "engine/json.hpp"

namespace strata::cli {

namespace {

// rules/retail-rfm.yaml → rules/retail-rfm.test.yaml
std::string default_tests_path(const std::string& rules) {
    std::filesystem::path p(rules);
    return (p.parent_path() / (p.stem().string() + ".test.yaml")).string();
}

std::string percent_text(double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", p);
    return buf;
}

// The minimum as given (77.78, not 77.8), and the coverage with the fewest decimals (at least
// one) that read as on the same side of it as the exact figure: 7 of 9 against a minimum of
// 77.78 is "77.777%", not a "77.8%" that would seem to reach it.
std::pair<std::string, std::string> coverage_against(double percent, double minimum, bool reached) {
    char given[32];
    std::snprintf(given, sizeof given, "%.1f", minimum);
    if (std::strtod(given, nullptr) != minimum) std::snprintf(given, sizeof given, "%.6g", minimum);
    char shown[32];
    for (int decimals = 1;; ++decimals) {
        std::snprintf(shown, sizeof shown, "%.*f", decimals, percent);
        const double read = std::strtod(shown, nullptr);
        if ((read + 1e-9 >= minimum) == reached || decimals == 6) break;
    }
    return {std::string(shown) + "%", std::string(given) + "%"};
}

void print_missing(std::ostream& out, const char* what, const CoveragePart& part) {
    if (part.missing.empty()) return;
    out << "  " << what << " never reached:";
    for (const auto& m : part.missing)
        out << ' ' << m;
    out << '\n';
}

void print_text(std::ostream& out, const std::string& rules_path, const std::string& tests_path,
                const TestReport& r, std::optional<double> min_coverage) {
    out << tests_path << ": " << r.cases.size() << " case" << (r.cases.size() == 1 ? "" : "s")
        << ", " << r.passed() << " passed, " << r.cases.size() - r.passed() << " failed\n";
    for (const auto& c : r.cases) {
        out << (c.passed ? "  ok    " : "  FAIL  ") << one_line(c.name) << '\n';
        for (const auto& f : c.failures)
            out << "        " << one_line(f) << '\n';
    }
    const Coverage& cov = r.coverage;
    const bool reached = !min_coverage || cov.percent() + 1e-9 >= *min_coverage;
    const auto [shown, minimum] = min_coverage
                                      ? coverage_against(cov.percent(), *min_coverage, reached)
                                      : std::pair(percent_text(cov.percent()), std::string());
    out << "coverage: " << shown << " (general segments " << cov.segments.hit() << "/"
        << cov.segments.total << ", tactical " << cov.tactical.hit() << "/" << cov.tactical.total
        << ", triggers " << cov.triggers.hit() << "/" << cov.triggers.total << ")";
    if (min_coverage) out << (reached ? ", at least " : ", below the minimum ") << minimum;
    out << '\n';
    print_missing(out, "general segments", cov.segments);
    print_missing(out, "tactical segments", cov.tactical);
    print_missing(out, "triggers (fired)", cov.triggers);
    if (cov.operands == 0) return;
    out << "conditions (MC/DC, not in the percentage): "
        << cov.operands - cov.uncovered_operands.size() << " of " << cov.operands
        << " operands of and/or decided their outcome both ways\n";
    for (const auto& u : cov.uncovered_operands) {
        out << "  " << rules_path << ':' << u.location.line << ':' << u.location.col << " `"
            << u.text << "` in " << u.segment << " never decided its and/or by being " << u.never
            << '\n';
    }
}

void write_part(JsonWriter& w, const char* key, const CoveragePart& part) {
    w.key(key).begin_object();
    w.key("total").value(part.total).key("hit").value(part.hit()).key("missing").begin_array();
    for (const auto& m : part.missing)
        w.value(m);
    w.end_array().end_object();
}

void print_json(std::ostream& out, const std::string& rules, const std::string& tests_path,
                const TestReport& r, std::optional<double> min_coverage, bool passed,
                const std::string& warnings_json, const std::string& errors_json) {
    JsonWriter w;
    w.begin_object().key("format").value(1);
    w.key("rules").value(rules).key("tests").value(tests_path).key("ruleset").value(r.ruleset);
    w.key("passed").value(passed);
    w.key("warnings").raw(warnings_json);
    w.key("errors").raw(errors_json);
    w.key("cases").begin_array();
    for (const auto& c : r.cases) {
        w.begin_object().key("name").value(c.name).key("passed").value(c.passed);
        w.key("failures").begin_array();
        for (const auto& f : c.failures)
            w.value(f);
        w.end_array().end_object();
    }
    w.end_array();
    w.key("coverage").begin_object();
    w.key("percent").value(r.coverage.percent(), 1);
    w.key("min_percent").value_or_null(min_coverage, 1);
    write_part(w, "segments", r.coverage.segments);
    write_part(w, "tactical", r.coverage.tactical);
    write_part(w, "triggers", r.coverage.triggers);
    w.key("conditions").begin_object();
    w.key("operands").value(r.coverage.operands);
    w.key("covered").value(r.coverage.operands - r.coverage.uncovered_operands.size());
    w.key("uncovered").begin_array();
    for (const auto& u : r.coverage.uncovered_operands) {
        w.begin_object().key("segment").value(u.segment);
        w.key("line").value(u.location.line).key("col").value(u.location.col);
        w.key("text").value(u.text).key("never").value(u.never).end_object();
    }
    w.end_array().end_object();
    w.end_object().end_object();
    out << w.str() << '\n';
}

}  // namespace

int run_test(const TestOptions& options, std::ostream& out, std::ostream& err) {
    const bool json = options.format == Format::Json;
    const std::string tests_path = options.tests.value_or(default_tests_path(options.rules));
    auto fail = [&](const std::string& kind, const std::string& message, int code) {
        err << "strata test: " << message << '\n';
        if (json) write_json_error(out, kind, message);
        return code;
    };
    if (options.min_coverage && !(*options.min_coverage >= 0 && *options.min_coverage <= 100))
        return fail("usage", "--min-coverage must be a percentage from 0 to 100", kExitEnvironment);
    // `strata test x.test.yaml` looked for x.test.test.yaml.
    if (is_test_file_name(options.rules)) {
        const std::string& given = options.rules;
        return fail("usage",
                    given + " is the test file: give the rule file it tests (" +
                        given.substr(0, given.size() - std::string(".test.yaml").size()) +
                        ".yaml), and strata test finds " + given + " beside it",
                    kExitEnvironment);
    }
    std::string read_error;
    auto rules_text = read_text_file(options.rules, read_error);
    if (!rules_text) return fail("file", read_error, kExitEnvironment);
    auto tests_text = read_text_file(tests_path, read_error);
    if (!tests_text)
        return fail(
            "file",
            read_error +
                (options.tests ? "" : " (tests live beside the rule file, in NAME.test.yaml)"),
            kExitEnvironment);
    const SourceFile rules(options.rules, std::move(*rules_text));
    const SourceFile tests_source(tests_path, std::move(*tests_text));
    Diagnostics diags;
    auto tests = load_test_file(tests_source, diags);
    auto print_diags = [&] {
        for (const auto& d : diags.items())
            render_text(err, d, d.file == tests_path ? &tests_source : &rules);
    };
    if (!tests || diags.has_errors()) {
        // The test file's own errors and its errors against the rules (ids it expects, facts
        // it gives), in one list: fixing the first kind should not bring up a second list.
        // Only those at the test file's places: a case the load left out (its `customers`
        // misspelt) would make every column the rules read look missing. Not when the file
        // names another rule file.
        if (tests && !tests->rules) {
            Diagnostics fit;
            std::string unused;
            check_rule_tests_fit(rules, *tests, fit, unused);
            for (const auto& d : fit.items())
                if (d.file == tests_path)
                    diags.add(d.severity, d.file, d.location, d.message, d.code);
        }
        print_diags();
        if (json)
            write_json_error(out, "rules", "the test file has errors", diags.items(), &rules,
                             &tests_source);
        return kExitRules;
    }
    if (tests->rules) {
        // The test file names its rule file: it must be the one given.
        const auto named = std::filesystem::path(tests_path).parent_path() / *tests->rules;
        std::error_code ec;
        if (!std::filesystem::equivalent(named, options.rules, ec))
            return fail(
                "usage",
                "'" + tests_path + "' tests '" + named.string() + "', not '" + options.rules + "'",
                kExitEnvironment);
    }
    std::string error;
    auto report = run_rule_tests(rules, *tests, std::filesystem::temp_directory_path().string(),
                                 diags, error);
    print_diags();
    if (!report) {
        if (json) write_json_error(out, "rules", error, diags.items(), &rules, &tests_source);
        err << "strata test: " << error << '\n';
        return kExitRules;
    }
    const bool coverage_ok =
        !options.min_coverage || report->coverage.percent() + 1e-9 >= *options.min_coverage;
    const bool passed = report->passed() == report->cases.size() && coverage_ok;
    if (json) {
        // The diagnostics printed on stderr, as the diagnostic objects of `check`: warnings
        // (such as fixture data a case left out), and apart from them the errors (the rules'
        // own, against a case's tables that they do not compile against).
        auto listed = [&](bool errors) {
            std::ostringstream list;
            list << '[';
            bool first = true;
            for (const Diagnostic& d : diags.items()) {
                if ((d.severity == Severity::Error) != errors) continue;
                if (!first) list << ',';
                first = false;
                render_json(list, d, d.file == tests_path ? &tests_source : &rules);
            }
            list << ']';
            return list.str();
        };
        print_json(out, options.rules, tests_path, *report, options.min_coverage, passed,
                   listed(false), listed(true));
    } else
        print_text(out, options.rules, tests_path, *report, options.min_coverage);
    return passed ? kExitOk : kExitRules;
}

}  // namespace strata::cli
