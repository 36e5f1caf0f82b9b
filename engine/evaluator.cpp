#include "engine/evaluator.hpp"

#include "engine/column_maps.hpp"
#include "engine/numeric.hpp"
#include "engine/row_compare.hpp"
#include "engine/scalar_calls.hpp"
#include "engine/value_ops.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <future>
#include <numeric>
#include <type_traits>
#include <unordered_map>

namespace strata {

namespace {

using ast::BinaryOp;
using bound::Fn;
using namespace value_ops;
using namespace column_maps;

// The packed column e names, when e is a column, a let or an aggregate; null otherwise.
const PackedColumn* named_packed(const bound::Expr& e, const Frame& frame) {
    if (const auto* column = std::get_if<bound::CustomerColumn>(&e.node))
        return frame.columns.at(static_cast<size_t>(column->slot));
    if (const auto* let = std::get_if<bound::LetRef>(&e.node))
        return frame.lets.at(static_cast<size_t>(let->index));
    if (const auto* agg = std::get_if<bound::AggregateRef>(&e.node))
        return frame.aggregates.at(static_cast<size_t>(agg->index));
    return nullptr;
}

class Evaluator {
  public:
    explicit Evaluator(const Frame& f) : frame_(f) {}

    Col eval(const bound::Expr& e) {
        return std::visit([&](const auto& n) { return eval_node(e, n); }, e.node);
    }

  private:
    const Frame& frame_;

    size_t rows() const { return frame_.rows; }

    template <typename F>
    Col map1(const Col& a, F f) {
        return column_maps::map1(rows(), a, f);
    }
    template <typename F>
    Col map2(const Col& a, const Col& b, F f) {
        return column_maps::map2(rows(), a, b, f);
    }
    template <typename F>
    Col map_n(const std::vector<Col>& args, F f) {
        return column_maps::map_n(rows(), args, f);
    }

  public:
    // The truth of a condition for every row, without building a value per row for its
    // boolean structure: `and`, `or`, `not`, comparisons, `in`, `between` and `is null` work
    // on one byte a row and read their operands in place (a record field straight from its
    // column); anything else is evaluated as a column and read as a truth.
    void condition_truth(const bound::Expr& e, std::vector<uint8_t>& out) {
        out.resize(rows());
        if (const auto* b = std::get_if<bound::Binary>(&e.node)) {
            if (b->op == BinaryOp::And || b->op == BinaryOp::Or) {
                std::vector<uint8_t> other;
                condition_truth(*b->lhs, out);
                condition_truth(*b->rhs, other);
                const uint8_t decisive = b->op == BinaryOp::And ? kFalse : kTrue;
                for (size_t i = 0; i < rows(); ++i) {
                    const uint8_t x = out[i], y = other[i];
                    if (x == decisive || y == decisive)
                        out[i] = decisive;
                    else if (x == kUnknown || y == kUnknown)
                        out[i] = kUnknown;
                    // else both agree on the other value, which x already holds
                }
                return;
            }
            if (is_comparison(b->op)) {
                compare_rows(b->op, operand(*b->lhs), operand(*b->rhs), rows(), out.data());
                return;
            }
        }
        if (const auto* u = std::get_if<bound::Unary>(&e.node); u && u->op == ast::UnaryOp::Not) {
            condition_truth(*u->operand, out);
            for (auto& t : out)
                t = t == kUnknown ? kUnknown : truth_of(t == kFalse);
            return;
        }
        if (const auto* n = std::get_if<bound::IsNull>(&e.node)) {
            const RowOperand v = operand(*n->value);
            for (size_t i = 0; i < rows(); ++i)
                out[i] = truth_of(is_null(v.at(i)) != n->negated);
            return;
        }
        const Col c = eval(e);
        for (size_t i = 0; i < rows(); ++i) {
            const auto* b = std::get_if<bool>(&c[i]);
            out[i] = b ? truth_of(*b) : kUnknown;
        }
    }

  private:
    RowOperand operand(const bound::Expr& e) {
        if (const auto* f = std::get_if<bound::Field>(&e.node))
            return RowOperand{eval(*f->record), f->field};
        return RowOperand{eval(e), -1};
    }

  public:
    Col eval_node(const bound::Expr&, const bound::Literal& n) {
        return constant(literal_value(n.value));
    }
    Col eval_node(const bound::Expr&, const bound::CustomerColumn& n) {
        return rows_of_packed(frame_.columns.at(static_cast<size_t>(n.slot)));
    }
    Col eval_node(const bound::Expr&, const bound::FactColumn& n) {
        return rows_of_packed(frame_.columns.at(static_cast<size_t>(n.slot)));
    }
    Col eval_node(const bound::Expr&, const bound::LetRef& n) {
        return rows_of_packed(frame_.lets.at(static_cast<size_t>(n.index)));
    }
    Col eval_node(const bound::Expr&, const bound::AsOf&) { return constant(Value{frame_.as_of}); }
    Col eval_node(const bound::Expr&, const bound::AggregateRef& n) {
        return rows_of_packed(frame_.aggregates.at(static_cast<size_t>(n.index)));
    }
    // The frame's rows of a packed column: borrowed when it is kept unpacked, unpacked into a
    // column of the frame's rows otherwise (a block's worth, for row-local expressions).
    Col rows_of_packed(const PackedColumn* c) {
        if (const Column* values = c->values()) return borrowed(values, frame_.offset);
        Column rows(this->rows());
        c->unpack(frame_.offset, rows.size(), rows.data());
        return owned(std::move(rows));
    }

    Col eval_node(const bound::Expr&, const bound::Field& n) {
        return map1(eval(*n.record), [&n](const Value& v) -> Value {
            if (const auto* r = std::get_if<RecordPtr>(&v))
                return (*r)->fields[static_cast<size_t>(n.field)];
            return {};
        });
    }

    Col eval_node(const bound::Expr&, const bound::Unary& n) {
        const Col a = eval(*n.operand);
        if (n.op == ast::UnaryOp::Not) {
            return map1(a, [](const Value& v) -> Value {
                auto t = truth(v);
                return t ? Value{!*t} : Value{};
            });
        }
        return map1(a, [](const Value& v) -> Value {
            if (const auto* i = std::get_if<int64_t>(&v)) {
                if (*i == INT64_MIN) return {};
                return -*i;
            }
            if (const auto* d = std::get_if<double>(&v)) return -*d;
            if (const auto* d = std::get_if<Duration>(&v)) {
                // combined_durations(0, d, -1) without the optional, which GCC 12 warns of:
                // only the lowest 32-bit value has no negation.
                if (d->months == INT32_MIN || d->days == INT32_MIN) return {};
                return Duration{-d->months, -d->days};
            }
            return {};
        });
    }

    Col eval_node(const bound::Expr& e, const bound::Binary& n) {
        if (n.op == BinaryOp::Add && e.type == Type::String) return joined_texts(e);
        const Col l = eval(*n.lhs);
        const Col r = eval(*n.rhs);
        switch (n.op) {
            case BinaryOp::And:
                return map2(l, r, [](const Value& a, const Value& b) -> Value {
                    auto x = truth(a), y = truth(b);
                    if ((x && !*x) || (y && !*y)) return false;
                    if (x && y) return true;
                    return {};
                });
            case BinaryOp::Or:
                return map2(l, r, [](const Value& a, const Value& b) -> Value {
                    auto x = truth(a), y = truth(b);
                    if ((x && *x) || (y && *y)) return true;
                    if (x && y) return false;
                    return {};
                });
            case BinaryOp::Eq:
            case BinaryOp::Ne:
            case BinaryOp::Lt:
            case BinaryOp::Le:
            case BinaryOp::Gt:
            case BinaryOp::Ge:
                return map2(l, r, [op = n.op](const Value& a, const Value& b) {
                    return compare(op, a, b);
                });
            default: {
                const Type t = e.type;
                return map2(l, r, [op = n.op, t](const Value& a, const Value& b) {
                    return coerce(arithmetic(op, a, b), t);
                });
            }
        }
    }

    // A chain of text `+` (`a + b + c`, however grouped) as one join per row: the texts between
    // are never made. It gives what joining two at a time gives: null when a part is null or
    // not a text, or when the whole is longer than kMaxTextBytes (so is any part joined
    // before it, the lengths only growing).
    Col joined_texts(const bound::Expr& chain) {
        std::vector<Col> parts;
        const auto is_join = [](const bound::Expr& at, const bound::Binary& b) {
            return b.op == BinaryOp::Add && at.type == Type::String;
        };
        for (const bound::Expr* part : bound::chain_operands(chain, is_join))
            parts.push_back(eval(*part));
        std::string text;
        return map_n(parts, [&](size_t i) -> Value {
            size_t bytes = 0;
            for (const Col& part : parts) {
                const auto* s = std::get_if<Str>(&part[i]);
                if (!s) return {};
                bytes += s->str().size();
            }
            if (bytes > kMaxTextBytes) return {};
            text.clear();
            for (const Col& part : parts)
                text += std::get<Str>(part[i]).str();
            return intern(text);
        });
    }

    Col eval_node(const bound::Expr&, const bound::InList& n) {
        const Col v = eval(*n.value);
        std::vector<Col> items;
        for (const auto& item : n.items)
            items.push_back(eval(*item));
        const bool constant_items =
            std::all_of(items.begin(), items.end(), [](const Col& c) { return c.constant; });
        if (constant_items && !v.constant) {
            // A list of constants (the usual case): strings match by pointer, without a
            // comparison per item; other values take the general path below.
            std::vector<Str> texts;
            bool text_unknown = false;  // a null or non-text item makes a text miss unknown
            for (const auto& item : items) {
                if (const auto* t = std::get_if<Str>(&item[0]))
                    texts.push_back(*t);
                else
                    text_unknown = true;
            }
            Column out(rows());
            for (size_t i = 0; i < rows(); ++i) {
                const auto* t = std::get_if<Str>(&v[i]);
                if (!t) {
                    out[i] = in_list(n, v[i], items, i);
                    continue;
                }
                if (std::find(texts.begin(), texts.end(), *t) != texts.end())
                    out[i] = !n.negated;
                else if (text_unknown)
                    out[i] = Value{};
                else
                    out[i] = n.negated;
            }
            return owned(std::move(out));
        }
        std::vector<Col> all = items;
        all.push_back(v);
        return map_n(all, [&](size_t i) { return in_list(n, v[i], items, i); });
    }

    // `x in [items]` for row i: true on a match, null when some item could not be compared
    // and none matched, false otherwise (negated for `not in`).
    static Value in_list(const bound::InList& n, const Value& x, const std::vector<Col>& items,
                         size_t i) {
        if (items.empty()) return n.negated;  // nothing matches, not even null
        if (is_null(x)) return {};
        bool unknown = false;
        for (const auto& item : items) {
            const Value c = compare(BinaryOp::Eq, x, item[i]);
            if (is_null(c))
                unknown = true;
            else if (std::get<bool>(c))
                return !n.negated;
        }
        if (unknown) return {};
        return n.negated;
    }

    Col eval_node(const bound::Expr&, const bound::Between& n) {
        const Col v = eval(*n.value);
        const Col lo = eval(*n.low);
        const Col hi = eval(*n.high);
        return map_n({v, lo, hi}, [&](size_t i) -> Value {
            auto above = truth(compare(BinaryOp::Ge, v[i], lo[i]));
            auto below = truth(compare(BinaryOp::Le, v[i], hi[i]));
            if ((above && !*above) || (below && !*below)) return n.negated;
            if (above && below) return !n.negated;
            return {};
        });
    }

    Col eval_node(const bound::Expr&, const bound::IsNull& n) {
        return map1(eval(*n.value),
                    [neg = n.negated](const Value& x) -> Value { return is_null(x) != neg; });
    }

    // A population call: its fit from the frame's fits when they hold one (a run's, applied
    // to these rows), otherwise fitted over these rows and recorded there; then applied.
    // An argument that names a whole let or aggregate is read where it is, packed or not.
    Column population(const bound::Expr& e, const bound::Call& n) {
        const size_t arity = n.fn == Fn::Rfm ? 3 : 1;
        std::vector<std::shared_ptr<const Column>> evaluated;
        std::vector<PackedColumn> borrowed_args;
        borrowed_args.reserve(arity);
        PopulationInput in;
        for (size_t k = 0; k < arity; ++k) {
            const bound::ExprPtr& arg = n.args.at(k);
            const PackedColumn* named = arg ? named_packed(*arg, frame_) : nullptr;
            if (named && frame_.offset == 0 && named->size() == rows()) {
                in.args.push_back(named);
                continue;
            }
            evaluated.push_back(whole(arg ? eval(*arg) : constant(Value{})));
            borrowed_args.push_back(PackedColumn::borrow(evaluated.back().get()));
            in.args.push_back(&borrowed_args.back());
        }
        Column keys;
        if (n.fn == Fn::Abc && frame_.keys) {
            keys = full(borrowed(frame_.keys, frame_.offset));
            in.keys = &keys;
        }
        const PopulationFit* fit = frame_.fits ? frame_.fits->find(&e) : nullptr;
        if (fit) return apply_population(n, *fit, in);
        PopulationFit fitted = fit_population(n, in);
        // Only a fit over the whole base is kept: a subset's ranks are not the run's.
        const bool whole_base =
            !frame_.keys || (frame_.offset == 0 && rows() == frame_.keys->size());
        if (!frame_.fits || !whole_base) return apply_population(n, fitted, in);
        return apply_population(n, frame_.fits->record(&e, std::move(fitted)), in);
    }

    // The whole column of a population function's argument, constants expanded.
    // The same, shared instead of copied when the argument is a whole column already.
    std::shared_ptr<const Column> whole(const Col& c) {
        if (!c.constant && c.offset == 0 && c.data->size() == rows()) return c.data;
        return std::make_shared<const Column>(full(c));
    }

    Column full(const Col& c) {
        if (c.constant) return Column(rows(), c[0]);
        const auto first = c.data->begin() + static_cast<std::ptrdiff_t>(c.offset);
        return Column(first, first + static_cast<std::ptrdiff_t>(rows()));
    }

    Col eval_node(const bound::Expr& e, const bound::Call& n) {
        if (has_fit(n)) return owned(population(e, n));
        std::vector<Col> args;
        for (const auto& a : n.args)
            args.push_back(a ? eval(*a) : constant(Value{}));
        return call_scalar(n, e.type, args, rows(), frame_.as_of);
    }
};

}  // namespace

ColumnRef evaluate_ref(const bound::Expr& e, const Frame& frame) {
    return Evaluator(frame).eval(e);
}

Column evaluate(const bound::Expr& e, const Frame& frame) {
    return *evaluate_shared(e, frame);
}

bool is_row_local(const bound::Expr& e) {
    if (const auto* call = std::get_if<bound::Call>(&e.node);
        call && bound::is_population(call->fn))
        return false;  // ranks the whole base
    bool local = true;
    bound::for_each_operand(
        e, [&local](const bound::Expr& operand) { local = local && is_row_local(operand); });
    return local;
}

namespace {

constexpr size_t kBlockRows = 4096;

// Calls f(part, first) for the frame's rows a block at a time: part sees `block` rows (the
// last block fewer) starting at row `first` of the frame.
template <typename F>
void for_each_block(const Frame& frame, size_t block, F f) {
    Frame part = frame;
    for (size_t first = 0; first < frame.rows; first += block) {
        part.offset = frame.offset + first;
        part.rows = std::min(block, frame.rows - first);
        f(part, first);
    }
}

}  // namespace

namespace {

// e's column for the whole frame, a block of rows at a time when e is row-local.
Column evaluate_in_blocks(const bound::Expr& e, const Frame& frame) {
    Column out(frame.rows);
    const size_t block = is_row_local(e) ? kBlockRows : std::max<size_t>(frame.rows, 1);
    for_each_block(frame, block, [&](const Frame& part, size_t first) {
        const Col c = Evaluator(part).eval(e);
        for (size_t i = 0; i < part.rows; ++i)
            out[first + i] = c[i];
    });
    return out;
}

}  // namespace

std::shared_ptr<const Column> evaluate_shared(const bound::Expr& e, const Frame& frame) {
    const bool leaf = std::holds_alternative<bound::CustomerColumn>(e.node) ||
                      std::holds_alternative<bound::LetRef>(e.node) ||
                      std::holds_alternative<bound::AggregateRef>(e.node);
    if (leaf) {
        const Col c = Evaluator(frame).eval(e);
        if (!c.constant && c.offset == 0 && c.data->size() == frame.rows) return c.data;
    }
    return std::make_shared<const Column>(evaluate_in_blocks(e, frame));
}

SharedPackedColumn evaluate_packed(const bound::Expr& e, const Frame& frame) {
    if (frame.offset == 0) {
        if (const PackedColumn* named = named_packed(e, frame);
            named && named->size() == frame.rows)
            return SharedPackedColumn(SharedPackedColumn(), named);
    }
    return std::make_shared<const PackedColumn>(PackedColumn::pack(evaluate_in_blocks(e, frame)));
}

Truth truth_of_value(const Value& v) {
    const auto* b = std::get_if<bool>(&v);
    if (!b) return Truth::Unknown;
    return *b ? Truth::True : Truth::False;
}

std::vector<Truth> evaluate_truth(const bound::Expr& e, const Frame& frame) {
    std::vector<Truth> out(frame.rows);
    std::vector<uint8_t> truth;
    const size_t block = is_row_local(e) ? kBlockRows : std::max<size_t>(frame.rows, 1);
    for_each_block(frame, block, [&](const Frame& part, size_t first) {
        Evaluator(part).condition_truth(e, truth);
        for (size_t i = 0; i < part.rows; ++i)
            out[first + i] = static_cast<Truth>(truth[i]);
    });
    return out;
}

std::vector<char> evaluate_condition(const bound::Expr& e, const Frame& frame) {
    const std::vector<Truth> truth = evaluate_truth(e, frame);
    std::vector<char> out(truth.size());
    for (size_t i = 0; i < truth.size(); ++i)
        out[i] = truth[i] == Truth::True;
    return out;
}

}  // namespace strata
