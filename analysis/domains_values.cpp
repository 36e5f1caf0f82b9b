// The values side of the model: splitting each variable into classes, evaluating the
// predicates on representatives, and showing representatives in the author's terms.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <set>
#include <utility>

#include "analysis/domains.hpp"

namespace strata::partition {

namespace {

bool whole(double x) {
    return std::isfinite(x) && std::floor(x) == x;
}

std::string number_text(double x) {
    if (whole(x) && std::fabs(x) < 1e15) return std::to_string(static_cast<int64_t>(x));
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

TruthSet truth(bool b) {
    return b ? kTrue : kFalse;
}

TruthSet and_sets(TruthSet a, TruthSet b) {
    TruthSet r = 0;
    if ((a | b) & kFalse) r |= kFalse;
    if ((a & kTrue) && (b & kTrue)) r |= kTrue;
    if (((a & kUnknown) && (b & (kTrue | kUnknown))) ||
        ((b & kUnknown) && (a & (kTrue | kUnknown))))
        r |= kUnknown;
    return r;
}

TruthSet or_sets(TruthSet a, TruthSet b) {
    TruthSet r = 0;
    if ((a | b) & kTrue) r |= kTrue;
    if ((a & kFalse) && (b & kFalse)) r |= kFalse;
    if (((a & kUnknown) && (b & (kFalse | kUnknown))) ||
        ((b & kUnknown) && (a & (kFalse | kUnknown))))
        r |= kUnknown;
    return r;
}

TruthSet not_set(TruthSet a) {
    TruthSet r = a & kUnknown;
    if (a & kTrue) r |= kFalse;
    if (a & kFalse) r |= kTrue;
    return r;
}

bool compare(double x, ast::BinaryOp op, double c) {
    switch (op) {
        case ast::BinaryOp::Eq:
            return x == c;
        case ast::BinaryOp::Ne:
            return x != c;
        case ast::BinaryOp::Lt:
            return x < c;
        case ast::BinaryOp::Le:
            return x <= c;
        case ast::BinaryOp::Gt:
            return x > c;
        default:
            return x >= c;
    }
}

// Whether a date variable's values are whole days: not where its column's type is a guess
// (checked without --db), for a datetime column holds times of day between the days.
bool whole_days(const Var& v) {
    return v.typed && (!v.fact.time_extreme || v.fact.time_typed);
}

bool integral(const Var& v) {
    return v.kind == VarKind::Integer ||
           (v.kind == VarKind::Date && v.scale != DateScale::AsOfMonths && whole_days(v));
}

double scaled(const Var& v, const Constant& c) {
    if (c.kind != Constant::Kind::AsOfDate) return c.number;
    return v.scale == DateScale::AsOfMonths ? c.offset.months : c.offset.days;
}

// Which constants fit a variable of this kind.
bool fits(VarKind kind, Constant::Kind c) {
    using K = Constant::Kind;
    switch (kind) {
        case VarKind::Number:
        case VarKind::Integer:
            return c == K::Number;
        case VarKind::String:
            return c == K::String;
        case VarKind::Bool:
            return c == K::Bool;
        case VarKind::Date:
            return c == K::FixedDate || c == K::AsOfDate;
        default:
            return false;
    }
}

// The kind an untyped column takes from the constants it is compared with.
std::optional<VarKind> kind_of(Constant::Kind c) {
    using K = Constant::Kind;
    switch (c) {
        case K::Number:
            return VarKind::Number;
        case K::String:
            return VarKind::String;
        case K::Bool:
            return VarKind::Bool;
        case K::FixedDate:
        case K::AsOfDate:
            return VarKind::Date;
        default:
            return std::nullopt;
    }
}

void numeric_reps(Var& v) {
    std::vector<double> preferred;
    const bool counted_from_rows = v.fact.fact >= 0 && (v.fact.fn == bound::AggFn::Count ||
                                                        v.fact.fn == bound::AggFn::CountDistinct ||
                                                        v.fact.fn == bound::AggFn::Sum);
    if (counted_from_rows) preferred.push_back(0);  // a customer without rows
    if (v.low) preferred.push_back(*v.low);
    if (v.high) preferred.push_back(*v.high);
    std::vector<double> others;
    const auto& b = v.bounds;
    for (size_t i = 0; i < b.size(); ++i) {
        if (integral(v)) {
            const double lo = std::floor(b[i]), hi = std::ceil(b[i]);
            others.insert(others.end(), {lo - 1, lo, hi, hi + 1});
        } else {
            others.insert(others.end(), {b[i] - 1, b[i], b[i] + 1});
            if (i + 1 < b.size() && b[i] + 1 >= b[i + 1]) others.push_back((b[i] + b[i + 1]) / 2);
        }
    }
    if (b.empty() && preferred.empty()) others.push_back(0);
    std::sort(others.begin(), others.end());
    preferred.insert(preferred.end(), others.begin(), others.end());
    // One representative per class: values on the same side of every bound are alike. With
    // the bounds sorted, which side of each a value is on is told by how many bounds lie below
    // it and how many equal it, so that pair names the class (a list of thousands of constants
    // stays a sort and a search per value).
    std::set<std::pair<size_t, size_t>> seen;
    std::vector<double> kept;
    for (double x : preferred) {
        if ((v.low && x < *v.low) || (v.high && x > *v.high)) continue;
        const auto below = std::lower_bound(b.begin(), b.end(), x);
        const auto equal_end = std::upper_bound(below, b.end(), x);
        const std::pair<size_t, size_t> signature{static_cast<size_t>(below - b.begin()),
                                                  static_cast<size_t>(equal_end - below)};
        if (!seen.insert(signature).second) continue;
        kept.push_back(x);
    }
    // In value order, except that a customer without rows (0 of a count or sum) is tried
    // first: a gap the search finds there is one every base with a new customer has, a more
    // telling example than a negative sum.
    const bool without_rows_first = counted_from_rows && !kept.empty() && kept.front() == 0;
    std::sort(kept.begin() + (without_rows_first ? 1 : 0), kept.end());
    for (double x : kept) {
        Rep r;
        r.number = x;
        r.guessed = !whole(x) && (!v.typed || (v.kind == VarKind::Date && !whole_days(v)));
        v.reps.push_back(r);
    }
}

void string_reps(Var& v) {
    if (!v.closed_strings.empty()) {
        for (const auto& s : v.closed_strings)
            v.reps.push_back(Rep{false, 0, s, false, false});
        return;
    }
    for (const auto& s : v.texts)
        v.reps.push_back(Rep{false, 0, s, false, false});
    std::string other = "other";
    for (int k = 2; std::binary_search(v.texts.begin(), v.texts.end(), other); ++k)
        other = "other_" + std::to_string(k);
    v.reps.push_back(Rep{false, 0, other, true, false});
}

}  // namespace

void Model::finish_var(Var& v) {
    if (v.kind == VarKind::Opaque && v.typed) {
        v.reps = {Rep{}, Rep{}, Rep{}};
        v.reps[1].number = 1;
        v.reps[2].null = true;
        return;
    }
    for (const auto& c : v.constants) {
        if (c.kind == Constant::Kind::Null) continue;
        if (!v.typed && v.kind == VarKind::Opaque) {
            if (auto k = kind_of(c.kind)) v.kind = *k;
        }
        if (!fits(v.kind, c.kind) && v.unsupported.empty())
            v.unsupported = "'" + v.name + "' is compared with values of different types";
    }
    if (!v.typed && v.kind == VarKind::Opaque) v.kind = VarKind::Number;  // only `is null`
    if (v.kind == VarKind::Date && v.unsupported.empty()) {
        bool fixed = false, months = false, days = false, as_of = false;
        for (const auto& c : v.constants) {
            fixed = fixed || c.kind == Constant::Kind::FixedDate;
            if (c.kind != Constant::Kind::AsOfDate) continue;
            as_of = true;
            months = months || c.offset.months != 0;
            days = days || c.offset.days != 0;
        }
        if (fixed && as_of)
            v.unsupported = "'" + v.name + "' is compared both with fixed dates and with as_of";
        else if (months && days)
            v.unsupported = "'" + v.name +
                            "' is compared with as_of shifted by months and by days, whose order "
                            "depends on the date";
        v.scale = !as_of ? DateScale::Fixed : months ? DateScale::AsOfMonths : DateScale::AsOfDays;
        // Rows after as_of are left out, so the latest time is never after as_of; unless the
        // column may hold times of day, of which the as_of day's are after its midnight.
        if (v.fact.time_extreme && v.scale != DateScale::Fixed) {
            if (v.fact.time_typed)
                v.high = 0;
            else
                v.guessed_because = "whether the time column of '" + v.name +
                                    "' holds times of day (a row of the as_of day after its "
                                    "midnight) is not known without --db";
        }
    }
    if (!v.unsupported.empty()) {  // only `is null` still reads it
        v.reps = {Rep{}};
        if (v.nullable) v.reps.push_back(Rep{true, 0, "", false, false});
        return;
    }
    for (const auto& c : v.constants) {
        if (c.kind == Constant::Kind::String)
            v.texts.push_back(c.text);
        else if (c.kind != Constant::Kind::Null)
            v.bounds.push_back(scaled(v, c));
    }
    std::sort(v.bounds.begin(), v.bounds.end());
    v.bounds.erase(std::unique(v.bounds.begin(), v.bounds.end()), v.bounds.end());
    std::sort(v.texts.begin(), v.texts.end());
    v.texts.erase(std::unique(v.texts.begin(), v.texts.end()), v.texts.end());
    if (v.kind == VarKind::String) {
        string_reps(v);
    } else if (v.kind == VarKind::Bool) {
        v.reps = {Rep{}, Rep{}};
        v.reps[1].number = 1;
    } else {
        numeric_reps(v);
    }
    if (!v.guessed_because.empty())
        for (Rep& r : v.reps)
            r.guessed = r.guessed || r.number > 0;  // after as_of
    if (v.nullable) v.reps.push_back(Rep{true, 0, "", false, false});
}

void Model::tabulate(Pred& p) {
    for (auto& k : p.kids)
        tabulate(k);
    if (p.op == Pred::Op::Const || p.op == Pred::Op::And || p.op == Pred::Op::Or ||
        p.op == Pred::Op::Not)
        return;
    const Var& v = vars_[static_cast<size_t>(p.var)];
    p.by_rep.clear();
    p.any = 0;
    // An `in` list is looked up, sorted, rather than read through for each representative.
    std::vector<double> in_numbers;
    std::vector<std::string> in_texts;
    bool in_null = false;
    if (p.op == Pred::Op::In) {
        for (const auto& c : p.constants) {
            if (c.kind == Constant::Kind::Null)
                in_null = true;
            else if (v.kind == VarKind::String)
                in_texts.push_back(c.text);
            else
                in_numbers.push_back(scaled(v, c));
        }
        std::sort(in_numbers.begin(), in_numbers.end());
        std::sort(in_texts.begin(), in_texts.end());
    }
    for (const Rep& r : v.reps) {
        TruthSet t = kUnknown;
        if (p.op == Pred::Op::IsNull) {
            t = truth(r.null != p.negated);
        } else if (p.op == Pred::Op::In && p.constants.empty()) {
            t = kFalse;  // nothing is in the empty list, not even null
        } else if (r.null) {
            t = kUnknown;
        } else if (p.op == Pred::Op::IsTrue) {
            t = truth(r.number != 0);
        } else if (p.op == Pred::Op::In) {
            const bool match =
                v.kind == VarKind::String
                    ? !r.other && std::binary_search(in_texts.begin(), in_texts.end(), r.text)
                    : std::binary_search(in_numbers.begin(), in_numbers.end(), r.number);
            t = match ? kTrue : in_null ? kUnknown : kFalse;
        } else {  // a comparison with one constant
            bool match = false, null_item = false;
            for (const auto& c : p.constants) {
                if (c.kind == Constant::Kind::Null) {
                    null_item = true;
                } else if (v.kind == VarKind::String) {
                    const bool equal = !r.other && r.text == c.text;
                    match = match || equal == (p.compare == ast::BinaryOp::Eq);
                } else {
                    match = match || compare(r.number, p.compare, scaled(v, c));
                }
            }
            t = match ? kTrue : null_item ? kUnknown : kFalse;
        }
        p.by_rep.push_back(t);
        p.any |= t;
    }
}

void Model::finish() {
    for (auto& v : vars_)
        finish_var(v);
    // A comparison with a variable the analysis could not order becomes a condition of its
    // own, independent of everything else.
    std::function<void(Pred&)> isolate = [&](Pred& p) {
        for (auto& k : p.kids)
            isolate(k);
        if (p.op != Pred::Op::Compare && p.op != Pred::Op::In) return;
        const Var& v = vars_[static_cast<size_t>(p.var)];
        if (v.unsupported.empty()) return;
        const std::string key = "opaque " + p.source;
        auto it = std::find(keys_.begin(), keys_.end(), key);
        p.op = Pred::Op::IsTrue;
        if (it != keys_.end()) {
            p.var = static_cast<int>(it - keys_.begin());
            return;
        }
        Var o;
        o.name = p.source;
        o.kind = VarKind::Opaque;
        o.location = p.location;
        o.unsupported = v.unsupported;
        finish_var(o);
        vars_.push_back(std::move(o));
        keys_.push_back(key);
        p.var = static_cast<int>(vars_.size() - 1);
    };
    for (auto& p : preds_)
        isolate(p);
    for (auto& p : preds_)
        tabulate(p);
}

TruthSet Model::evaluate(const Pred& p, const std::vector<int>& assignment) {
    switch (p.op) {
        case Pred::Op::Const:
            return p.constant;
        case Pred::Op::And:
        case Pred::Op::Or: {
            TruthSet r = evaluate(p.kids[0], assignment);
            for (size_t i = 1; i < p.kids.size(); ++i) {
                const TruthSet k = evaluate(p.kids[i], assignment);
                r = p.op == Pred::Op::And ? and_sets(r, k) : or_sets(r, k);
            }
            return r;
        }
        case Pred::Op::Not:
            return not_set(evaluate(p.kids[0], assignment));
        default: {
            const int a = assignment[static_cast<size_t>(p.var)];
            return a < 0 ? p.any : p.by_rep[static_cast<size_t>(a)];
        }
    }
}

void Model::collect_vars(const Pred& p, std::set<int>& out) {
    if (p.var >= 0) out.insert(p.var);
    for (const auto& k : p.kids)
        collect_vars(k, out);
}

size_t Model::node_count(const Pred& p) {
    size_t n = 1;
    for (const auto& k : p.kids)
        n += node_count(k);
    return n;
}

bool Model::spend(size_t nodes) const {
    if (nodes > kNodeBudget - nodes_spent_) return false;
    nodes_spent_ += nodes;
    return true;
}

bool Model::consistent(const std::vector<int>& assignment) const {
    for (size_t c = 0; c < vars_.size(); ++c) {
        const Var& count = vars_[c];
        if (assignment[c] < 0 || count.fact.fact < 0 || !count.fact.counts_rows) continue;
        const Rep& n = count.reps[static_cast<size_t>(assignment[c])];
        for (size_t o = 0; o < vars_.size(); ++o) {
            const Var& other = vars_[o];
            if (o == c || assignment[o] < 0 || other.fact.fact != count.fact.fact) continue;
            const Rep& r = other.reps[static_cast<size_t>(assignment[o])];
            if (n.number == 0) {  // no rows at all: every aggregate of the fact is empty
                const bool zero = other.fact.fn == bound::AggFn::Count ||
                                  other.fact.fn == bound::AggFn::CountDistinct ||
                                  other.fact.fn == bound::AggFn::Sum;
                if (zero ? (r.null || r.number != 0) : !r.null) return false;
            } else if (other.fact.time_extreme && r.null) {
                return false;  // rows are counted only with a known time
            }
        }
    }
    return true;
}

std::vector<int> Model::linked(int v) const {
    std::vector<int> out;
    const int fact = vars_[static_cast<size_t>(v)].fact.fact;
    if (fact < 0) return out;
    for (size_t o = 0; o < vars_.size(); ++o) {
        if (static_cast<int>(o) != v && vars_[o].fact.fact == fact)
            out.push_back(static_cast<int>(o));
    }
    return out;
}

std::string Model::show(int var, int rep) const {
    const Var& v = vars_[static_cast<size_t>(var)];
    const Rep& r = v.reps[static_cast<size_t>(rep)];
    if (v.kind == VarKind::Opaque && v.typed)
        return v.name + (r.null ? " is unknown (null)" : r.number != 0 ? " is true" : " is false");
    if (r.null) return v.name + " = no value (null)";
    std::string value;
    if (v.kind == VarKind::Bool) {
        value = r.number != 0 ? "true" : "false";
    } else if (v.kind == VarKind::String) {
        if (!r.other) {
            value = "'" + r.text + "'";
        } else if (v.texts.empty()) {
            value = "a value (not null)";
        } else {
            value = "a value other than ";
            for (size_t i = 0; i < v.texts.size(); ++i)
                value += (i ? ", '" : "'") + v.texts[i] + "'";
        }
    } else if (!v.unsupported.empty() ||
               (v.bounds.empty() && !v.low && !v.high && v.fact.fact < 0)) {
        value = "a value (not null)";  // unordered, or compared with nothing
    } else if (v.kind == VarKind::Date) {
        if (v.scale == DateScale::Fixed) {
            value = format_date(Date{static_cast<int32_t>(std::floor(r.number))});
            if (!whole(r.number)) value += " after midnight (a time of that day)";
        } else if (v.scale == DateScale::AsOfDays && !whole(r.number)) {
            const int n = static_cast<int>(std::floor(r.number));
            Duration d;
            d.days = n < 0 ? -n : n;
            value = "as_of";
            if (n != 0) value += (n < 0 ? " - " : " + ") + format_duration(d);
            value += " after midnight (a time of that day)";
        } else {
            const double whole_part = std::floor(r.number);
            const int n = static_cast<int>(whole_part);
            Duration d;
            (v.scale == DateScale::AsOfMonths ? d.months : d.days) = n < 0 ? -n : n;
            value = "as_of";
            if (n != 0) value += (n < 0 ? " - " : " + ") + format_duration(d);
            if (r.number != whole_part) value += " + 1d";
        }
    } else {
        value = number_text(r.number);
    }
    return v.name + " = " + value;
}

std::optional<ast::LiteralValue> Model::concrete(int var, int rep) const {
    const Var& v = vars_[static_cast<size_t>(var)];
    const Rep& r = v.reps[static_cast<size_t>(rep)];
    if (r.null) return ast::LiteralValue{ast::Null{}};
    switch (v.kind) {
        case VarKind::Bool:
            return ast::LiteralValue{r.number != 0};
        case VarKind::String:
            return ast::LiteralValue{r.text};
        case VarKind::Integer:
            return ast::LiteralValue{static_cast<int64_t>(r.number)};
        case VarKind::Number:
            if (whole(r.number)) return ast::LiteralValue{static_cast<int64_t>(r.number)};
            return ast::LiteralValue{r.number};
        case VarKind::Date:
            if (v.scale != DateScale::Fixed || !whole(r.number)) return std::nullopt;
            return ast::LiteralValue{Date{static_cast<int32_t>(r.number)}};
        default:
            return std::nullopt;
    }
}

}  // namespace strata::partition
