#include "import/infer.hpp"

#include "text/one_line.hpp"

namespace strata::import {

void ColumnEvidence::add(std::string_view cell) {
    ++filled;
    const uint32_t shape = number_shape(cell);
    all_shapes &= shape;
    if (shape & kBooleanWord) ++boolean_words;
    if ((shape & kBeyondReal) && beyond_real++ == 0) beyond_real_sample = std::string(cell);
    if ((shape & kBeyondReal) && cell.find_first_of(".,") == std::string_view::npos)
        ++beyond_real_wholes;
    if (!(shape & kWholeNumber) && parse_integer_cell(cell) && long_integers++ == 0)
        long_integer_sample = std::string(cell);
    if (shape & (kBooleanWord | kBooleanDigit)) ++boolean_cells;
    if (shape & kMarkAmbiguous) {
        if (ambiguous_marks++ == 0) ambiguous_sample = std::string(cell);
    } else {
        if ((shape & kDotFraction) && !(shape & kWholeNumber) && dot_fractions++ == 0)
            dot_sample = std::string(cell);
        if ((shape & kCommaFraction) && !(shape & kWholeNumber) && comma_fractions++ == 0)
            comma_sample = std::string(cell);
    }
    if (shape & (kWholeNumber | kDotFraction | kCommaFraction | kMarkAmbiguous)) {
        ++numeric_cells;
        if (shape & kWholeNumber) ++whole_cells;
    } else {
        if (first_not_numeric.empty()) first_not_numeric = std::string(cell);
        if (!(shape & kBeyondReal)) ++no_number;
    }
    const TemporalShape t = temporal_shape(cell);
    if (t.kind != TemporalShape::None)
        ++temporal_cells;
    else if (first_not_temporal.empty())
        first_not_temporal = std::string(cell);
    switch (t.kind) {
        case TemporalShape::None:
            all_temporal = false;
            return;
        case TemporalShape::YearFirst:
            ++year_first;
            break;
        case TemporalShape::Either:
            ++either;
            if (either_samples.size() < 2 &&
                (either_samples.empty() || either_samples[0] != cell)) {
                either_samples.emplace_back(cell);
            }
            break;
        case TemporalShape::DayFirstOnly:
            ++day_first;
            break;
        case TemporalShape::MonthFirstOnly:
            ++month_first;
            break;
    }
    any_time = any_time || t.has_time;
}

namespace {

// What inference alone makes of a column (before the decimal mark and the date order).
enum class Inferred { Boolean, Integer, Number, Temporal, Text };

Inferred infer(const ColumnEvidence& e) {
    if (e.filled == 0) return Inferred::Text;
    const uint32_t s = e.all_shapes;
    // Every cell a boolean spelling (yes, 1, да, 0, …), at least one of them a word.
    if (e.boolean_cells == e.filled && e.boolean_words > 0) return Inferred::Boolean;
    if (s & kWholeNumber) return Inferred::Integer;
    if (s & (kDotFraction | kCommaFraction)) return Inferred::Number;
    if (e.all_temporal && !(e.day_first > 0 && e.month_first > 0)) return Inferred::Temporal;
    return Inferred::Text;
}

bool is_temporal(ColumnType t) {
    return t == ColumnType::Date || t == ColumnType::DateTime;
}

// A note for an inferred text column whose cells are all dates, or all numbers, but for a few
// (at most 1% of the filled cells); nullopt otherwise.
std::optional<std::string> nearly_typed(const ColumnEvidence& e, const std::string& name) {
    auto few_left = [&](size_t typed) {
        return typed > 0 && typed < e.filled && (e.filled - typed) * 100 <= e.filled;
    };
    auto note = [&](size_t typed, const char* what, const std::string& sample, const char* type) {
        const size_t left = e.filled - typed;
        return "column '" + name + "' is text: " + std::to_string(typed) + " of " +
               std::to_string(e.filled) + " cells are " + what + ", but " +
               (left == 1
                    ? "'" + text::one_line(sample) + "' is not"
                    : std::to_string(left) + " are not, such as '" + text::one_line(sample) + "'") +
               "; --types " + name + ":" + type + " reads the column as " + what +
               ", and names the cells that are not, which become empty";
    };
    if (few_left(e.temporal_cells))
        return note(e.temporal_cells, "dates", e.first_not_temporal,
                    e.any_time ? "datetime" : "date");
    // Whole numbers, some of 19 digits: an integer column holds every one of them.
    if (e.long_integers > 0 && e.numeric_cells > 0 && e.whole_cells == e.numeric_cells &&
        e.numeric_cells + e.long_integers == e.filled)
        return "column '" + name + "' is text: every cell is a whole number, but " +
               (e.long_integers == 1 ? "'" + text::one_line(e.long_integer_sample) + "' has"
                                     : std::to_string(e.long_integers) + " have (such as '" +
                                           text::one_line(e.long_integer_sample) + "')") +
               " 19 digits, which makes a column text unless it is declared one of integers; "
               "--types " +
               name + ":integer keeps every cell, as an integer";
    if (few_left(e.numeric_cells))
        return note(e.numeric_cells, e.whole_cells == e.numeric_cells ? "whole numbers" : "numbers",
                    e.first_not_numeric, e.whole_cells == e.numeric_cells ? "integer" : "number");
    return std::nullopt;
}

}  // namespace

bool plan_columns(const std::vector<ColumnEvidence>& evidence,
                  const std::vector<std::optional<ColumnType>>& forced,
                  const std::vector<std::string>& names, const InferenceSettings& settings,
                  FileReading& out, std::string& error) {
    const size_t n = evidence.size();
    out.columns.assign(n, ColumnPlan{});
    std::vector<Inferred> inferred(n);
    for (size_t i = 0; i < n; ++i)
        inferred[i] = infer(evidence[i]);

    // The decimal mark: --decimal, else what the number columns agree on.
    std::optional<size_t> dot_column, comma_column, ambiguous_column;
    for (size_t i = 0; i < n; ++i) {
        const bool numeric =
            forced[i] ? *forced[i] == ColumnType::Number : inferred[i] == Inferred::Number;
        if (!numeric) continue;
        if (evidence[i].dot_fractions > 0 && !dot_column) dot_column = i;
        if (evidence[i].comma_fractions > 0 && !comma_column) comma_column = i;
        if (evidence[i].ambiguous_marks > 0 && !ambiguous_column) ambiguous_column = i;
    }
    if (settings.decimal) {
        out.decimal = *settings.decimal;
    } else if (ambiguous_column && !dot_column && !comma_column) {
        // 1,500 is 1.5 in a file with decimal commas and 1500 in one with decimal points;
        // 1.500 the other way round.
        const ColumnEvidence& e = evidence[*ambiguous_column];
        const bool comma = e.ambiguous_sample.find(',') != std::string::npos;
        error = "column '" + names[*ambiguous_column] + "' has numbers such as '" +
                e.ambiguous_sample + "' that read as a fraction with a decimal " +
                (comma ? "comma" : "point") + " and as thousands with a decimal " +
                (comma ? "point" : "comma") +
                ", and no other number in the file settles it; give --decimal , or --decimal .";
        return false;
    } else if (dot_column && comma_column) {
        error = dot_column == comma_column
                    ? "column '" + names[*dot_column] +
                          "' has numbers with a decimal point and numbers with a decimal comma; "
                          "give --decimal . or --decimal , to say which is the decimal mark"
                    : "column '" + names[*dot_column] + "' has numbers with a decimal point and '" +
                          names[*comma_column] +
                          "' numbers with a decimal comma; give --decimal . or --decimal , to "
                          "say which is the decimal mark";
        return false;
    } else {
        out.decimal = comma_column ? DecimalMark::Comma : DecimalMark::Dot;
    }

    // The date order for dates like 01.02.2024: --date-format, else what the file settles.
    bool day_first = false, month_first = false;
    for (size_t i = 0; i < n; ++i) {
        const bool temporal =
            forced[i] ? is_temporal(*forced[i]) : inferred[i] == Inferred::Temporal;
        if (!temporal) continue;
        if (forced[i] && !settings.order && evidence[i].day_first > 0 &&
            evidence[i].month_first > 0) {
            error = "column '" + names[i] +
                    "' has dates that only read as DD.MM.YYYY and dates that only read as "
                    "MM/DD/YYYY; give --date-format DD.MM.YYYY or --date-format MM/DD/YYYY";
            return false;
        }
        day_first = day_first || evidence[i].day_first > 0;
        month_first = month_first || evidence[i].month_first > 0;
    }
    // The columns with dates like 01.02.2024, and the order each was read in.
    std::vector<std::pair<std::string, DateOrder>> read_in;
    for (size_t i = 0; i < n; ++i) {
        ColumnPlan& plan = out.columns[i];
        const ColumnEvidence& e = evidence[i];
        if (forced[i]) {
            plan.type = *forced[i];
            plan.forced = true;
        } else {
            switch (inferred[i]) {
                case Inferred::Boolean:
                    plan.type = ColumnType::Boolean;
                    break;
                case Inferred::Integer:
                    plan.type = ColumnType::Integer;
                    break;
                case Inferred::Number: {
                    // A fraction after the other mark makes the column text.
                    const bool fits = out.decimal == DecimalMark::Dot ? e.comma_fractions == 0
                                                                      : e.dot_fractions == 0;
                    plan.type = fits ? ColumnType::Number : ColumnType::Text;
                    break;
                }
                case Inferred::Temporal:
                    plan.type = e.any_time ? ColumnType::DateTime : ColumnType::Date;
                    break;
                case Inferred::Text:
                    plan.type = ColumnType::Text;
                    break;
            }
        }
        if (plan.type == ColumnType::Text && !plan.forced) {
            // Long numbers are the reason only when every other cell is a number and some cell
            // has a fraction: the column would be a REAL one, which rounds them. Whole numbers
            // alone are an integer column's, or long identifiers (19 digits and more), text
            // as they should be (with the --types hint below where an integer column fits).
            const bool fractions =
                e.numeric_cells > e.whole_cells || e.beyond_real > e.beyond_real_wholes;
            if (e.beyond_real > 0 && e.no_number == 0 && fractions)
                out.notes.push_back("column '" + names[i] +
                                    "' is text: " + std::to_string(e.beyond_real) +
                                    (e.beyond_real == 1 ? " cell has" : " cells have") +
                                    " more digits than a number column keeps exactly (such as '" +
                                    e.beyond_real_sample +
                                    "', which it would round), so every cell is kept as written");
            else if (e.numeric_cells == e.filled && e.dot_fractions > 0 && e.comma_fractions > 0)
                // Every cell a number, but written with both marks: no one reading takes them
                // all, so the column stays text rather than lose some of them.
                out.notes.push_back(
                    "column '" + names[i] +
                    "' is text: every cell is a number, but some read as one only with a decimal "
                    "point (such as '" +
                    e.dot_sample + "') and some only with a decimal comma (such as '" +
                    e.comma_sample + "'); write them with one mark to import them as numbers");
            else if (auto note = nearly_typed(e, names[i]))
                out.notes.push_back(*note);
        }
        if (!is_temporal(plan.type)) continue;
        // This column's order: --date-format, its own dates, the file's other dates.
        std::optional<DateOrder> order = settings.order;
        if (!order && e.day_first > 0 && e.month_first == 0) order = DateOrder::DayFirst;
        if (!order && e.month_first > 0 && e.day_first == 0) order = DateOrder::MonthFirst;
        if (!order && e.either > 0) {
            if (day_first != month_first) {
                order = day_first ? DateOrder::DayFirst : DateOrder::MonthFirst;
            } else {
                std::string samples = "'" + e.either_samples[0] + "'";
                if (e.either_samples.size() > 1) samples += " and '" + e.either_samples[1] + "'";
                error = "column '" + names[i] + "' has dates such as " + samples +
                        " that read as DD.MM.YYYY and as MM/DD/YYYY, and " +
                        (day_first ? "the file's other columns disagree (some have dates that "
                                     "only read as DD.MM.YYYY, some dates that only read as "
                                     "MM/DD/YYYY)"
                                   : std::string("no day above 12 settles it")) +
                        "; give --date-format DD.MM.YYYY or --date-format MM/DD/YYYY";
                return false;
            }
        }
        plan.order = order.value_or(DateOrder::YearFirst);
        if (e.either + e.day_first + e.month_first > 0) read_in.emplace_back(names[i], plan.order);
        // An inferred column whose dates do not all read in the order asked for is text.
        if (!plan.forced && settings.order) {
            const bool fits = *settings.order == DateOrder::YearFirst
                                  ? e.either + e.day_first + e.month_first == 0
                              : *settings.order == DateOrder::DayFirst ? e.month_first == 0
                                                                       : e.day_first == 0;
            if (!fits) plan.type = ColumnType::Text;
        }
    }
    // One order for the file's summary, or none when its columns each settled another.
    for (const auto& [name, order] : read_in) {
        if (order == read_in.front().second) continue;
        std::string each;
        for (const auto& [n, o] : read_in)
            each += (each.empty() ? "'" : ", '") + n + "' as " + date_order_label(o);
        out.notes.push_back(
            "columns read dates like 01.02.2024 in different orders, each as its "
            "own dates settle it: " +
            each);
        return true;
    }
    if (!read_in.empty()) out.order = read_in.front().second;
    return true;
}

}  // namespace strata::import
