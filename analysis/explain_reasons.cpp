#include "analysis/explain_reasons.hpp"

#include <string_view>

#include "text/one_line.hpp"

namespace strata {

namespace {

std::string truth_of(const Value& v) {
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return "null";
}

// The nodes at the root of a null under `n` (itself when none of its children is null): the
// value that was unknown, for a reader who asks why. A node whose value was not computed (a
// record inside a warehouse) is not taken for a null.
void null_roots(const ExplainNode& n, std::vector<std::pair<std::string, Value>>& out) {
    bool deeper = false;
    for (const ExplainNode& c : n.children) {
        if (c.kind != "literal" && c.computed && is_null(c.value)) {
            null_roots(c, out);
            deeper = true;
        }
    }
    if (!deeper) out.emplace_back(n.text, n.value);
}

class Finder {
  public:
    explicit Finder(const bound::Program& program) : program_(program) {}

    // Adds the parts that decide e's value (traced as n) to `out`.
    // `negated`: under an odd number of `not`s, where the condition is not true when this part
    // is not false.
    void find(const bound::Expr& e, const ExplainNode& n, const std::string& let,
              std::vector<DecidingPart>& out, int depth = 0, bool negated = false) const {
        const std::string value = truth_of(n.value);
        if (depth < 64) {
            if (const auto* b = std::get_if<bound::Binary>(&e.node);
                b && (b->op == ast::BinaryOp::And || b->op == ast::BinaryOp::Or) &&
                n.children.size() == 2) {
                // The operands whose value is the result decide it: a false `and` each false
                // one, a true `or` each true one, an unknown `and` each unknown one. A false
                // `or` (or a true `and`) needs both, which are then both the result. An
                // unknown `or` is not true because none of its operands is: each false one
                // decides it as much as each unknown one (had it been true, so would the
                // `or`). Under `not` an unknown `and` is that case (each true operand decides
                // it), and an unknown `or` is decided by its unknown operands alone.
                const bool spans = value == "null" && (b->op == ast::BinaryOp::Or) != negated;
                const char* also = negated ? "true" : "false";
                const bound::Expr* parts[2] = {b->lhs.get(), b->rhs.get()};
                for (size_t i = 0; i < 2; ++i) {
                    const std::string operand = truth_of(n.children[i].value);
                    if (operand == value || (spans && operand == also))
                        find(*parts[i], n.children[i], let, out, depth + 1, negated);
                }
                return;
            }
            if (const auto* u = std::get_if<bound::Unary>(&e.node);
                u && u->op == ast::UnaryOp::Not && n.children.size() == 1) {
                find(*u->operand, n.children[0], let, out, depth + 1, !negated);
                return;
            }
            if (const auto* r = std::get_if<bound::LetRef>(&e.node);
                r && n.children.size() == 1 && e.type == Type::Bool) {
                const bound::Let& def = program_.lets[static_cast<size_t>(r->index)];
                find(*def.expr, n.children[0], def.name, out, depth + 1, negated);
                return;
            }
        }
        DecidingPart part;
        part.text = n.text;
        part.location = n.location;
        part.result = value;
        part.let = let;
        for (const ExplainNode& c : n.children) {
            if (c.kind == "literal" || !c.computed) continue;
            if (value != "null")
                part.operands.emplace_back(c.text, c.value);
            else if (is_null(c.value))
                null_roots(c, part.operands);
        }
        out.push_back(std::move(part));
    }

  private:
    const bound::Program& program_;
};

}  // namespace

std::vector<DecidingPart> deciding_parts(const bound::Program& program,
                                         const bound::Expr& condition, const ExplainNode& traced) {
    std::vector<DecidingPart> out;
    Finder(program).find(condition, traced, "", out);
    return out;
}

constexpr size_t kReasonChars = 120;

// The first kReasonChars characters of `text`, and whether that is all of it.
std::pair<std::string_view, bool> reason_start(std::string_view text) {
    size_t end = 0;
    for (size_t chars = 0; end < text.size() && chars < kReasonChars; ++chars) {
        const size_t length = text::utf8_sequence_length(text, end);
        end += length == 0 ? 1 : length;
    }
    return {text.substr(0, end), end == text.size()};
}

// A value as a reason quotes it: a text on one line (a line break or NUL would break the
// reason's line), and cut after kReasonChars characters, since the node's own line shows it
// whole and a reason may name it once per condition.
std::string shown_value(const Value& v) {
    if (is_null(v)) return "null";
    if (const auto* s = std::get_if<Str>(&v)) {
        const auto [start, whole] = reason_start(s->str());
        return "'" + text::one_line(start) + (whole ? "'" : "…'");
    }
    return format_value(v);
}

// A part of the condition as the file writes it, cut as a value is (an `in` list of
// thousands of items would otherwise fill the reason).
std::string shown_part(const std::string& source) {
    const auto [start, whole] = reason_start(source);
    return whole ? source : std::string(start) + "…";
}

std::string reason_text(const std::vector<DecidingPart>& parts) {
    std::string out;
    for (const DecidingPart& p : parts) {
        if (!out.empty()) out += "; ";
        if (!p.let.empty()) out += "in let " + p.let + ", ";
        out += shown_part(p.text) + " is " + (p.result == "null" ? "unknown" : p.result);
        for (size_t i = 0; i < p.operands.size(); ++i) {
            const auto& [text, value] = p.operands[i];
            out += i == 0 ? ": " : ", ";
            out += is_null(value) ? shown_part(text) + " is null"
                                  : shown_part(text) + " = " + shown_value(value);
        }
    }
    return out;
}

}  // namespace strata
