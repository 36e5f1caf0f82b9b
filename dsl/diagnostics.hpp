// Diagnostics are data: every stage appends to a Diagnostics list instead of throwing, so
// `strata check` can report every problem in a file at once, in one format.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "dsl/source.hpp"

namespace strata {

enum class Severity { Error, Warning, Note };

const char* severity_name(Severity s);

struct Diagnostic {
    Severity severity = Severity::Error;
    std::string file;
    Location location;  // may be invalid for whole-file problems
    std::string message;
    // The database lacks a table the rules name: a rule problem for `check`, a database
    // problem for `run`. (An unknown column or function is the rules' fault, whoever runs
    // them.)
    bool schema_mismatch = false;
};

class Diagnostics {
  public:
    void add(Severity severity, std::string file, Location location, std::string message);
    void error(const std::string& file, Location location, std::string message) {
        add(Severity::Error, file, location, std::move(message));
    }
    void schema_error(const std::string& file, Location location, std::string message) {
        add(Severity::Error, file, location, std::move(message));
        items_.back().schema_mismatch = true;
    }
    void warning(const std::string& file, Location location, std::string message) {
        add(Severity::Warning, file, location, std::move(message));
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
};

// Renders one diagnostic as
//   file:line:col: error: message
//      14 |       when: plna == 'trial'
//         |             ^~~~
// The source excerpt is omitted when the location is invalid or the source is absent.
// Very long lines are shown as a window around the column.
void render_text(std::ostream& out, const Diagnostic& d, const SourceFile* source);

// Writes s as a JSON string literal (with quotes), escaping control characters and
// replacing invalid UTF-8 with U+FFFD so the output is always valid JSON.
void write_json_string(std::ostream& out, std::string_view s);

// Renders one diagnostic as a JSON object with the same fields as the text form.
void render_json(std::ostream& out, const Diagnostic& d, const SourceFile* source);

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or empty.
std::string closest_match(std::string_view name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or empty.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace strata
