// One truth for conditions (engine/evaluator.hpp): `evaluate` is the definition of a value,
// and the fast three-valued kernel behind evaluate_truth and evaluate_condition must give,
// row for row, the truth read from that value. Random conditions over random frames: and,
// or, not, every comparison between ints, numbers, dates, datetimes, texts and booleans,
// `in`, `between`, `is [not] null`, record fields of a population let, Any-typed columns
// holding values of every kind, and many nulls.
#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <random>
#include <sstream>

#include "dsl/binder.hpp"
#include "dsl/parser.hpp"
#include "engine/program.hpp"

using namespace strata;

namespace {

// Writes random condition texts over the columns below, mostly well typed.
class ConditionWriter {
  public:
    explicit ConditionWriter(uint32_t seed) : rng_(seed) {}

    std::string condition(int depth) {
        const int pick = depth > 0 ? below(10) : 3 + below(7);
        switch (pick) {
            case 0:
                return "(" + condition(depth - 1) + " and " + condition(depth - 1) + ")";
            case 1:
                return "(" + condition(depth - 1) + " or " + condition(depth - 1) + ")";
            case 2:
                return "not (" + condition(depth - 1) + ")";
            case 3:
            case 4:
            case 5:
                return comparison();
            case 6:
                return in_list();
            case 7:
                return between();
            case 8:
                return operand(any_group()) + (below(2) ? " is null" : " is not null");
            default:
                return boolean_leaf();
        }
    }

  private:
    std::mt19937 rng_;

    enum Group { kNumber, kTime, kText, kBool, kAny, kGroups };

    int below(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
    template <size_t N>
    std::string one_of(const char* const (&items)[N]) {
        return items[below(static_cast<int>(N))];
    }
    Group any_group() { return static_cast<Group>(below(kGroups)); }

    std::string operand(Group g) {
        static const char* const numbers[] = {"i",
                                              "x",
                                              "score.r",
                                              "x * 2",
                                              "i + 1",
                                              "days_since(d)",
                                              "2",
                                              "2.5",
                                              "-1",
                                              "9007199254740993",
                                              "9007199254740992.0"};
        static const char* const times[] = {"d",     "t", "as_of", "2026-01-03", "2026-01-05T12:00",
                                            "d + 1d"};
        static const char* const texts[] = {"s", "score.code", "'a'", "'b'", "''", "lower(s)"};
        static const char* const bools[] = {"b", "true", "false", "contains(s, 'a')"};
        static const char* const anys[] = {"a1", "a2"};
        switch (g) {
            case kNumber:
                return one_of(numbers);
            case kTime:
                return one_of(times);
            case kText:
                return one_of(texts);
            case kBool:
                return one_of(bools);
            default:
                return one_of(anys);
        }
    }

    // Both sides of one group, or an Any-typed column against anything.
    std::pair<std::string, std::string> pair_of_operands() {
        const Group g = any_group();
        if (g == kAny) {
            std::string l = operand(kAny), r = operand(any_group());
            if (below(2)) std::swap(l, r);
            return {l, r};
        }
        return {operand(g), operand(g)};
    }

    std::string comparison() {
        static const char* const ops[] = {"==", "!=", "<", "<=", ">", ">="};
        auto [l, r] = pair_of_operands();
        return l + " " + one_of(ops) + " " + r;
    }

    std::string in_list() {
        const Group g = any_group();
        const Group items = g == kAny ? any_group() : g;
        std::string list;
        const int n = below(4);  // an empty list too
        for (int k = 0; k < n; ++k)
            list += (k ? ", " : "") + (below(6) == 0 ? std::string("null") : operand(items));
        return operand(g) + (below(3) == 0 ? " not in [" : " in [") + list + "]";
    }

    std::string between() {
        Group g = any_group();
        while (g == kBool)
            g = any_group();
        const Group bounds = g == kAny ? any_group() : g;
        return operand(g) + (below(3) == 0 ? " not between " : " between ") + operand(bounds) +
               " and " + operand(bounds);
    }

    std::string boolean_leaf() {
        static const char* const leaves[] = {"b",
                                             "a1",
                                             "contains(s, 'a')",
                                             "coalesce(b, false)",
                                             "if(b, i > 0, x < 1)",
                                             "score.r >= 2 and score.f <= 2"};
        return one_of(leaves);
    }
};

// A random value of every kind an Any-typed column may hold at run time.
Value any_value(std::mt19937& rng) {
    switch (rng() % 8) {
        case 0:
            return Value{static_cast<int64_t>(rng() % 5) - 2};
        case 1:
            return Value{static_cast<double>(rng() % 7) / 2 - 1};
        case 2:
            return Value{intern(rng() % 2 ? "a" : "b")};
        case 3:
            return Value{Date{static_cast<int32_t>(days_from_civil(2026, 1, 1) + rng() % 5)}};
        case 4:
            return Value{rng() % 2 == 0};
        default:
            return Value{};
    }
}

// A random value of one column, null about a third of the time.
Value column_value(const std::string& name, std::mt19937& rng) {
    if (rng() % 3 == 0) return {};
    const int32_t day = days_from_civil(2026, 1, 1) + static_cast<int32_t>(rng() % 6);
    if (name == "i") {
        if (rng() % 10 == 0) return Value{int64_t{9007199254740993}};
        return Value{static_cast<int64_t>(rng() % 7) - 3};
    }
    if (name == "x") {
        if (rng() % 10 == 0) return Value{9007199254740992.0};
        return Value{static_cast<double>(rng() % 9) / 2 - 1.5};
    }
    if (name == "d") return Value{Date{day}};
    if (name == "t")
        return Value{DateTime{int64_t{day} * 86400 + static_cast<int64_t>(rng() % 3) * 43200}};
    if (name == "s") {
        static const char* const texts[] = {"a", "b", "", "A", "ba"};
        return Value{intern(texts[rng() % 5])};
    }
    if (name == "b") return Value{rng() % 2 == 0};
    return any_value(rng);  // a1, a2
}

const char* truth_name(Truth t) {
    return t == Truth::True ? "true" : t == Truth::False ? "false" : "unknown";
}

// Binds `count` random conditions over one random table of `rows` customers and checks,
// on the frame that sees rows [offset, offset + frame_rows), that the kernel's truth is the
// truth of evaluate's value for every row. Returns how many conditions were checked.
size_t check_random_conditions(uint32_t seed, size_t count, int depth, size_t rows, size_t offset,
                               size_t frame_rows) {
    ConditionWriter writer(seed);
    NameScope scope;
    scope.columns = {{"i", Type::Int},      {"x", Type::Number}, {"d", Type::Date},
                     {"t", Type::DateTime}, {"s", Type::String}, {"b", Type::Bool},
                     {"a1", Type::Any},     {"a2", Type::Any}};
    Diagnostics diags;
    Binder binder(scope, diags);
    // Texts and trees the binder refers to, kept in place.
    std::deque<SourceFile> sources;
    std::deque<ExprText> texts;
    std::deque<ast::ExprPtr> trees;
    auto ref = [&](const std::string& name, const std::string& text) -> std::optional<ExprRef> {
        ParseResult parsed = parse_expression(text);
        if (!parsed.expr || !parsed.issues.empty()) return std::nullopt;
        sources.emplace_back(name, text);
        ExprText& t = texts.emplace_back();
        t.text = text;
        t.location = Location{1, 1, 1};
        for (size_t k = 0; k <= text.size(); ++k)
            t.file_offsets.push_back(k);
        trees.push_back(std::move(parsed.expr));
        return ExprRef{&sources.back(), &t, trees.back().get()};
    };
    binder.define_let("score",
                      *ref("score", "rfm(recency: d, frequency: i, monetary: x, bins: 3)"));
    std::vector<std::pair<std::string, bound::ExprPtr>> conditions;
    size_t rejected = 0;
    for (size_t k = 0; k < count; ++k) {
        const std::string text = writer.condition(depth);
        const auto r = ref("condition", text);
        const size_t errors_before = diags.error_count();
        bound::ExprPtr e = r ? binder.bind(*r) : nullptr;
        if (!e || diags.error_count() != errors_before) {
            ++rejected;
            continue;
        }
        conditions.emplace_back(text, std::move(e));
    }
    binder.bind_all_lets();
    const bound::Program program = binder.take_program();
    // Most conditions are well typed: a writer that only made errors would test nothing.
    CHECK(conditions.size() * 2 > count);
    CHECK(rejected < count);

    std::mt19937 rng(seed * 7919u + 1);
    CustomerTable table;
    table.rows = rows;
    for (const auto& use : program.columns) {
        Column col(rows);
        for (auto& v : col)
            v = column_value(use.name, rng);
        table.columns.push_back(std::move(col));
    }
    for (size_t k = 0; k < rows; ++k)
        table.keys.push_back(Value{static_cast<int64_t>(k + 1)});
    const Evaluation ev = evaluate_program(program, table, {}, Date{days_from_civil(2026, 1, 4)});
    Frame frame = ev.frame();
    frame.offset = offset;
    frame.rows = frame_rows;

    for (const auto& condition : conditions) {
        // Not a structured binding: CAPTURE's lambda takes it, which clang 14 refuses.
        const std::string& text = condition.first;
        const bound::ExprPtr& e = condition.second;
        CAPTURE(text);
        const Column values = evaluate(*e, frame);
        const std::vector<Truth> truth = evaluate_truth(*e, frame);
        const std::vector<char> holds = evaluate_condition(*e, frame);
        REQUIRE(values.size() == frame_rows);
        REQUIRE(truth.size() == frame_rows);
        REQUIRE(holds.size() == frame_rows);
        for (size_t k = 0; k < frame_rows; ++k) {
            const Truth want = truth_of_value(values[k]);
            if (truth[k] != want || (holds[k] != 0) != (want == Truth::True)) {
                std::ostringstream row;
                for (const auto& use : program.columns)
                    row << use.name << "="
                        << format_value(table.columns[&use - &program.columns[0]][offset + k])
                        << " ";
                FAIL("row " << offset + k << " (" << row.str() << "): the kernel says "
                            << std::string(truth_name(truth[k])) << ", the value is "
                            << format_value(values[k]));
            }
        }
    }
    return conditions.size();
}

}  // namespace

TEST_CASE("truth: the condition kernel agrees with evaluate on random conditions") {
    size_t checked = 0;
    for (uint32_t seed = 1; seed <= 60; ++seed)
        checked += check_random_conditions(seed, 100, 3, 64, 0, 64);
    MESSAGE("checked " << checked << " conditions on small frames");
    CHECK(checked >= 4000);
}

TEST_CASE("truth: the kernel agrees with evaluate across blocks, on a frame with an offset") {
    // evaluate_truth works a block of 4,096 rows at a time: 9,000 rows from row 700 cross two
    // block boundaries, and the frame starts inside the table.
    size_t checked = 0;
    for (uint32_t seed = 101; seed <= 103; ++seed)
        checked += check_random_conditions(seed, 25, 2, 10'000, 700, 9'000);
    CHECK(checked >= 40);
}

TEST_CASE("truth: truth_of_value reads only booleans as true or false") {
    CHECK(truth_of_value(Value{true}) == Truth::True);
    CHECK(truth_of_value(Value{false}) == Truth::False);
    CHECK(truth_of_value(Value{}) == Truth::Unknown);
    CHECK(truth_of_value(Value{int64_t{1}}) == Truth::Unknown);
    CHECK(truth_of_value(Value{intern("true")}) == Truth::Unknown);
}
