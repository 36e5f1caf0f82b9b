// Internal to the demo generators: a portable random source, a row inserter and the demo
// bases' calendar. Not part of strata's interface.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dsl/calendar.hpp"
#include "examples/demo_data.hpp"

namespace strata::examples::detail {

// splitmix64: small, fast and the same on every platform (std distributions are not).
class Rng {
  public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    int64_t range(int64_t lo, int64_t hi) {  // inclusive
        return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
    }
    bool chance(double p) { return uniform() < p; }
    double normal() {
        const double u1 = std::max(uniform(), 1e-12), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
    // A count of events that happen at `mean` on average (Knuth's method: fine for small means).
    int64_t poisson(double mean) {
        const double limit = std::exp(-mean);
        int64_t k = 0;
        for (double p = uniform(); p > limit && k < 1000; p *= uniform())
            ++k;
        return k;
    }
    template <typename T>
    const T& pick(const std::vector<T>& items) {
        return items[static_cast<size_t>(next() % items.size())];
    }
    // An index drawn with the given weights.
    size_t weighted(const std::vector<double>& weights) {
        double total = 0;
        for (double w : weights)
            total += w;
        double x = uniform() * total;
        for (size_t i = 0; i < weights.size(); ++i) {
            if ((x -= weights[i]) < 0) return i;
        }
        return weights.size() - 1;
    }

  private:
    uint64_t state_;
};

inline const Date kEnd = *parse_date("2026-11-01");  // the demo bases' "today"

inline std::string day(int32_t days) {
    return format_date(Date{days});
}
inline double cents(double v) {
    return std::round(v * 100.0) / 100.0;
}

// Binds a row of mixed values and runs an insert.
class Inserter {
  public:
    Inserter(SQLite::Database& db, const std::string& sql) : stmt_(db, sql) {}
    template <typename... Values>
    void row(const Values&... values) {
        int index = 1;
        (bind(index++, values), ...);
        stmt_.exec();
        stmt_.reset();
        ++rows_;
    }
    int64_t rows() const { return rows_; }

  private:
    void bind(int i, const std::string& v) { stmt_.bind(i, v); }
    void bind(int i, const char* v) { stmt_.bind(i, v); }
    void bind(int i, int64_t v) { stmt_.bind(i, v); }
    void bind(int i, int v) { stmt_.bind(i, v); }
    void bind(int i, double v) { stmt_.bind(i, v); }
    void bind(int i, bool v) { stmt_.bind(i, v ? 1 : 0); }
    void bind(int i, std::nullptr_t) { stmt_.bind(i); }
    template <typename T>
    void bind(int i, const std::optional<T>& v) {
        if (v)
            bind(i, *v);
        else
            stmt_.bind(i);
    }
    SQLite::Statement stmt_;
    int64_t rows_ = 0;
};

}  // namespace strata::examples::detail
