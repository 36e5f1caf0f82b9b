// Diagnostics are data: every stage appends to a Diagnostics list instead of throwing, so
// `strata check` can report every problem in a file at once, in one format.
#pragma once

#include <ostream>
#include <string>
#include <unordered_set>
#include <vector>

#include "dsl/source.hpp"
#include "text/one_line.hpp"

namespace strata {

enum class Severity { Error, Warning, Note };

const char* severity_name(Severity s);

// What kind of problem a diagnostic reports: a stable name for programs reading
// `--format json` (the table in docs/running.md), independent of the message's wording.
enum class DiagnosticCode {
    Other,           // made without a more specific code
    File,            // the rule file could not be read
    Yaml,            // not readable as YAML (or not text, or too large)
    Structure,       // the file's shape: a mapping, list or value where another is needed
    UnknownKey,      // a key the rule file does not know
    MissingKey,      // a required key is absent
    InvalidValue,    // a value not allowed where it stands (a date, a priority, a name's form)
    DuplicateId,     // a segment id, fact, let or key given twice, or a let named like another
    Syntax,          // an expression that does not parse
    UnknownName,     // an unknown field, column, fact, function or argument
    NotInDatabase,   // a table or column the rule file names is not in the database
    Scope,           // a name used where it cannot be (a fact column outside an aggregate, ...)
    TypeMismatch,    // a value of the wrong type
    BadArgument,     // a function's arguments: missing, extra, given twice, out of range
    Cycle,           // lets that refer to each other in a circle
    Limit,           // nesting or size beyond what strata accepts
    NullComparison,  // warning: comparing with null
    UnusedLet,       // warning: a let nobody uses
    SegmentCount,    // warning: too few or too many general segments
    SameCondition,   // warning: a tactical segment repeats its parent's condition
    AsOfFixed,       // note: the rule file pins as_of, so every run sees that day
    TestFile,        // note (check): a rule file's test cases, which `strata test` runs
    FixtureData,     // warning (test): a case's run left fixture rows or values out
    // The partition analysis of the general level (analysis/partition.hpp):
    PartitionGap,              // a level leaves a customer in no segment: an error under
                               // exclusive, a warning under first_match without otherwise
    PartitionOverlap,          // an exclusive level puts a customer in two segments
    NotProven,                 // note: the analysis could neither prove nor refute it
    ShadowedSegment,           // warning: a segment that can never hold or never win
    ImpossibleTactical,        // warning: a tactical segment that never holds in its parent
    CompleteWithoutOtherwise,  // warning: an `otherwise` that nobody can reach
    HiddenColumn,              // warning: a customer column a built-in name hides (`as_of`)
};

// The code's stable name, such as "unknown-name".
const char* diagnostic_code_name(DiagnosticCode c);

struct Diagnostic {
    Severity severity = Severity::Error;
    std::string file;
    Location location;  // may be invalid for whole-file problems
    std::string message;
    DiagnosticCode code = DiagnosticCode::Other;
    // The database lacks a table the rules name: a rule problem for `check`, a database
    // problem for `run`. (An unknown column or function is the rules' fault, whoever runs
    // them.)
    bool schema_mismatch = false;
};

class Diagnostics {
  public:
    // Adds a diagnostic unless the same one (severity, file, place, message, code) is there
    // already, as when a YAML alias repeats an expression; returns whether it was added.
    bool add(Severity severity, std::string file, Location location, std::string message,
             DiagnosticCode code = DiagnosticCode::Other);
    void error(DiagnosticCode code, const std::string& file, Location location,
               std::string message) {
        add(Severity::Error, file, location, std::move(message), code);
    }
    void schema_error(DiagnosticCode code, const std::string& file, Location location,
                      std::string message) {
        if (add(Severity::Error, file, location, std::move(message), code))
            items_.back().schema_mismatch = true;
    }
    void warning(DiagnosticCode code, const std::string& file, Location location,
                 std::string message) {
        add(Severity::Warning, file, location, std::move(message), code);
    }
    // did_you_mean(name, candidates) below for the first kMaxSuggestions names asked about,
    // then "": each suggestion measures the name against every candidate, and a file of
    // thousands of unknown names against thousands of candidates would take minutes.
    static constexpr size_t kMaxSuggestions = 100;
    std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

    // The same without a code (DiagnosticCode::Other).
    void error(const std::string& file, Location location, std::string message) {
        error(DiagnosticCode::Other, file, location, std::move(message));
    }
    void warning(const std::string& file, Location location, std::string message) {
        warning(DiagnosticCode::Other, file, location, std::move(message));
    }

    const std::vector<Diagnostic>& items() const { return items_; }
    size_t error_count() const;
    size_t warning_count() const;
    bool has_errors() const { return error_count() > 0; }
    // True when every error is a schema mismatch (and there is at least one).
    bool only_schema_errors() const;
    // Turns every warning into an error (for --strict).
    void promote_warnings();
    // Orders by line and column, keeping insertion order for ties (stable).
    void sort_by_location();

  private:
    std::vector<Diagnostic> items_;
    std::unordered_set<std::string> added_;  // each item's identity, for add()
    size_t suggestions_ = 0;                 // names did_you_mean was asked about
};

// Renders one diagnostic as
//   file:line:col: error: message
//      14 |       when: plna == 'trial'
//         |             ^~~~
// The source excerpt is omitted when the location is invalid or the source is absent.
// Very long lines are shown as a window around the column.
void render_text(std::ostream& out, const Diagnostic& d, const SourceFile* source);

// The length of the UTF-8 sequence that starts at s[i] (text/one_line.hpp).
using text::utf8_sequence_length;

// Writes s as a JSON string literal (with quotes), escaping control characters and
// replacing invalid UTF-8 with U+FFFD so the output is always valid JSON.
void write_json_string(std::ostream& out, std::string_view s);

// Renders one diagnostic as a JSON object with the same fields as the text form, plus its
// code: file, line, col, length, severity, code, message, source_line. line, col and length
// are null for a whole-file problem; source_line is null when there is no source line.
void render_json(std::ostream& out, const Diagnostic& d, const SourceFile* source);

// Levenshtein distance in characters (code points), for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or empty.
std::string closest_match(std::string_view name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or empty.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace strata
