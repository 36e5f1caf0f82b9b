// A compact byte encoding for what a run keeps between runs (population fits, per-customer
// aggregate states): LEB128 varints, zigzag for signed numbers, doubles as their bits, texts
// with their length, and tagged values. Readers never trust their input: a truncated or
// malformed buffer makes the reader fail (ok() false), never read past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/value.hpp"

namespace strata {

// A 64-bit checksum of `bytes`, continuing from `seed`: fast, to tell bytes as written from
// bytes damaged since, and not for adversaries. (Words are read in the machine's byte order.)
uint64_t checksum64(std::string_view bytes, uint64_t seed = 0);

class ByteWriter {
  public:
    void u64(uint64_t x) { u128(x); }
    void u128(unsigned __int128 x) {
        while (x >= 0x80) {
            out_.push_back(static_cast<char>(static_cast<uint8_t>(x) | 0x80));
            x >>= 7;
        }
        out_.push_back(static_cast<char>(x));
    }
    void i64(int64_t x) { u64((static_cast<uint64_t>(x) << 1) ^ static_cast<uint64_t>(x >> 63)); }
    void i128(__int128 x) {
        u128((static_cast<unsigned __int128>(x) << 1) ^ static_cast<unsigned __int128>(x >> 127));
    }
    void f64(double x) {
        char b[8];
        std::memcpy(b, &x, 8);
        out_.append(b, 8);
    }
    void text(std::string_view s) {
        u64(s.size());
        out_.append(s);
    }
    // A value of any kind but a record, with a tag byte first.
    void value(const Value& v);

    const std::string& bytes() const { return out_; }
    std::string take() { return std::move(out_); }
    size_t size() const { return out_.size(); }
    void clear() { out_.clear(); }  // keeps its room, for the next bytes

  private:
    std::string out_;
};

class ByteReader {
  public:
    explicit ByteReader(std::string_view in) : in_(in) {}

    uint64_t u64() {
        const unsigned __int128 x = u128();
        if (x > UINT64_MAX) ok_ = false;
        return static_cast<uint64_t>(x);
    }
    unsigned __int128 u128() {
        unsigned __int128 x = 0;
        for (int shift = 0; shift < 133; shift += 7) {
            if (at_ >= in_.size()) {
                ok_ = false;
                return 0;
            }
            const auto b = static_cast<uint8_t>(in_[at_++]);
            x |= static_cast<unsigned __int128>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return x;
        }
        ok_ = false;
        return 0;
    }
    int64_t i64() {
        const uint64_t z = u64();
        return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
    }
    __int128 i128() {
        const unsigned __int128 z = u128();
        return static_cast<__int128>((z >> 1) ^ (~(z & 1) + 1));
    }
    double f64() {
        double x = 0;
        if (in_.size() - at_ < 8) {
            ok_ = false;
            at_ = in_.size();
            return 0;
        }
        std::memcpy(&x, in_.data() + at_, 8);
        at_ += 8;
        return x;
    }
    std::string_view text() {
        const uint64_t n = u64();
        if (!ok_ || n > in_.size() - at_) {
            ok_ = false;
            at_ = in_.size();
            return {};
        }
        const std::string_view s = in_.substr(at_, n);
        at_ += n;
        return s;
    }
    // A value ByteWriter::value wrote; texts are interned. Null when the input is bad.
    Value value();

    bool ok() const { return ok_; }
    bool at_end() const { return at_ == in_.size(); }
    void fail() { ok_ = false; }

  private:
    std::string_view in_;
    size_t at_ = 0;
    bool ok_ = true;
};

}  // namespace strata
