#include "engine/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "dsl/diagnostics.hpp"

namespace strata {

void JsonWriter::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) out_ << ',';
        first_.back() = false;
    }
}

JsonWriter& JsonWriter::begin_object() {
    separate();
    out_ << '{';
    first_.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    out_ << '}';
    first_.pop_back();
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    separate();
    out_ << '[';
    first_.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    out_ << ']';
    first_.pop_back();
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    separate();
    write_json_string(out_, k);
    out_ << ':';
    after_key_ = true;
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    separate();
    write_json_string(out_, s);
    return *this;
}

JsonWriter& JsonWriter::value(int64_t i) {
    separate();
    out_ << i;
    return *this;
}

namespace {

// The shortest text that reads back as `d` ("1e+308", "5e-08"). REQUIRES: finite.
std::string shortest_round_trip(double d) {
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;
    return std::string(buf, end);
}

}  // namespace

JsonWriter& JsonWriter::exact(double d) {
    separate();
    if (!std::isfinite(d))
        out_ << "null";
    else
        out_ << (d == 0 ? std::string("0") : shortest_round_trip(d));
    return *this;
}

JsonWriter& JsonWriter::value(double d, int decimals) {
    separate();
    if (!std::isfinite(d)) {
        out_ << "null";
        return *this;
    }
    // From 1e15 on, whole digits say nothing a round-trip exponent form does not (and %f of
    // 1e308 has 309 of them).
    if (std::fabs(d) >= 1e15) {
        out_ << shortest_round_trip(d);
        return *this;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, d);
    // Trim trailing zeros so 0.0524 prints as 0.0524, not 0.052400.
    std::string s = buf;
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0')
            s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    if (s == "-0") s = "0";
    // A value too small for `decimals` is not zero: 5e-08 stays 5e-08.
    if (s == "0" && d != 0) s = shortest_round_trip(d);
    out_ << s;
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    separate();
    out_ << (b ? "true" : "false");
    return *this;
}

JsonWriter& JsonWriter::null() {
    separate();
    out_ << "null";
    return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
    separate();
    out_ << json;
    return *this;
}

}  // namespace strata
