// A small streaming JSON writer: objects, arrays, strings, numbers. Enough for reports,
// with valid output guaranteed (strings escaped, non-finite numbers written as null).
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

class JsonWriter {
  public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(int64_t i);
    JsonWriter& value(int i) { return value(static_cast<int64_t>(i)); }
    JsonWriter& value(size_t i) { return value(static_cast<int64_t>(i)); }
    // `d` with at most `decimals` places, trailing zeros trimmed; from 1e15 on, and for a value
    // that would round to 0 without being 0, the shortest text that reads back as `d` (1e+308,
    // 5e-08); null when not finite.
    JsonWriter& value(double d, int decimals = 6);
    // `d` as the shortest text that reads back as exactly `d` (33.333333333333336), for values
    // a reader copies back, such as cut points; null when not finite.
    JsonWriter& exact(double d);
    JsonWriter& value(bool b);
    JsonWriter& null();
    // `*v`, or null when `v` holds nothing (an optional double with `decimals` as above).
    template <class T>
    JsonWriter& value_or_null(const std::optional<T>& v) {
        return v ? value(*v) : null();
    }
    JsonWriter& value_or_null(const std::optional<double>& v, int decimals) {
        return v ? value(*v, decimals) : null();
    }
    // `text`, or null when it is empty.
    JsonWriter& text_or_null(std::string_view text) { return text.empty() ? null() : value(text); }
    // A value that is already JSON. REQUIRES: `json` is one valid JSON value.
    JsonWriter& raw(std::string_view json);
    std::string str() const { return out_.str(); }

  private:
    void separate();
    std::ostringstream out_;
    std::vector<bool> first_;  // per open container: nothing written in it yet
    bool after_key_ = false;
};

}  // namespace strata
