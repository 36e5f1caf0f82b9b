// The ClickHouse number spellings declared in sql/clickhouse_numbers.hpp.
#include "sql/clickhouse_numbers.hpp"

namespace strata::sql::clickhouse {

std::string let(const std::string& value, const std::string& name, const std::string& body) {
    return "arrayElement(arrayMap(" + name + " -> " + body + ", [" + value + "]), 1)";
}

// `body` with each (name, value) bound in turn; a value may use the names bound before it.
std::string lets(const std::vector<std::pair<std::string, std::string>>& bindings,
                 const std::string& body) {
    std::string out = body;
    for (auto it = bindings.rbegin(); it != bindings.rend(); ++it)
        out = let(it->second, it->first, out);
    return out;
}

// a·b mod m for UInt64 a, b < m < 2^53, in 8-bit steps of b so that nothing passes 2^62.
static std::string mulmod(const std::string& a, const std::string& b, const std::string& m) {
    std::string acc = "(" + a + " * bitShiftRight(" + b + ", 48) % " + m + ")";
    for (int shift = 40; shift >= 0; shift -= 8)
        acc = "((" + acc + " * 256 + " + a + " * bitAnd(bitShiftRight(" + b + ", " +
              std::to_string(shift) + "), 255)) % " + m + ")";
    return acc;
}

// The IEEE bits of the Float64 `x` as UInt64, and the Float64 of such bits.
static std::string bits_of(const std::string& x) {
    return "reinterpretAsUInt64(reinterpretAsString(" + x + "))";
}
static std::string double_of_bits(const std::string& b) {
    return "reinterpretAsFloat64(reinterpretAsString(toUInt64(" + b + ")))";
}

// 10^0 … 10^last as a ClickHouse array of `type` (UInt64 up to 10^19, Float64 exact up to
// 10^22), indexed from 1.
std::string powers_of_ten(int last, bool floats) {
    std::string out = "[";
    for (int k = 0; k <= last; ++k) {
        std::string digits = "1" + std::string(static_cast<size_t>(k), '0');
        out +=
            (k ? ", " : "") + (floats ? "toFloat64(" + digits + ".0)" : "toUInt64(" + digits + ")");
    }
    return out + "]";
}

std::string fraction_units(const std::string& x) {
    // As the SQLite dialect: |x| = (gh·2^53 + gl) / 2^83, |x|·10^9 in 64-bit integer
    // pieces, rounded half to even.
    const std::string mid = "bitShiftLeft(bitAnd(pa, 2097151), 26) + pb + bitShiftRight(pc, 27)";
    const std::string rounded =
        let("bitShiftRight(pa, 21) + bitShiftRight(" + mid + ", 47)", "ip",
            let("bitAnd(" + mid + ", 140737488355327)", "fp",
                "if(ux < 0, -1, 1) * (ip + if(fp > 70368744177664 OR (fp = 70368744177664 "
                "AND (bitAnd(pc, 134217727) > 0 OR bitAnd(ip, 1) = 1)), 1, 0))"));
    const std::string products = let("gh * 1953125", "pa",
                                     let("bitShiftRight(gl, 27) * 1953125", "pb",
                                         let("bitAnd(gl, 134217727) * 1953125", "pc", rounded)));
    return let(
        x, "ux",
        let("toInt64(abs(ux) * 1073741824.0)", "gh",
            let("toInt64((abs(ux) * 1073741824.0 - gh) * 9007199254740992.0)", "gl", products)));
}

// C's fmod on the binary values: with |x| >= |y|, x = MX·2^EX and y = MY·2^EY (integer
// significands from the IEEE bits, EX >= EY), the remainder is ((MX·2^(EX-EY)) mod MY)·2^EY,
// with 2^(EX-EY) mod MY by squaring over the 12 bits of EX-EY (at most 2098) and products
// mod MY in 8-bit steps (mulmod); R·2^EY is a double, so the last product is exact. The
// sign is x's, -0.0 too; |x| < |y| gives x. Every branch is computed on every row, so y is
// made non-zero first.
std::string number_remainder(const std::string& x, const std::string& y) {
    auto significand = [](const std::string& b) {
        return "if(bitAnd(bitShiftRight(" + b + ", 52), 2047) = 0, bitAnd(" + b +
               ", 4503599627370495), bitOr(bitAnd(" + b + ", 4503599627370495), 4503599627370496))";
    };
    auto exponent = [](const std::string& b) {
        return "if(bitAnd(bitShiftRight(" + b + ", 52), 2047) = 0, toInt64(-1074), toInt64(" +
               "bitAnd(bitShiftRight(" + b + ", 52), 2047)) - 1075)";
    };
    std::string power = "(toUInt64(1) % rm)";
    for (int bit = 11; bit >= 0; --bit)
        power = let(power, "rt",
                    let(mulmod("rt", "rt", "rm"), "rs",
                        "if(bitAnd(bitShiftRight(rd, " + std::to_string(bit) +
                            "), 1) = 1, rs * 2 % rm, rs)"));
    const std::string pow2_ey = double_of_bits(
        "if(ey >= -1022, toUInt64(bitShiftLeft(toUInt64(greatest(ey + 1023, 0)), 52)), "
        "toUInt64(bitShiftLeft(toUInt64(1), least(greatest(ey + 1074, 0), 63))))");
    const std::string body =
        lets({{"gx", "ifNull(fx, toFloat64(0))"},
              {"gy", "if(ifNull(fy, toFloat64(0)) = 0, toFloat64(1), ifNull(fy, toFloat64(1)))"},
              {"bx", bits_of("gx")},
              {"by", bits_of("gy")},
              {"rm", significand("by")},
              {"ey", exponent("by")},
              {"rd", "greatest(" + exponent("bx") + " - ey, 0)"},
              {"rmx", significand("bx") + " % rm"},
              {"rpw", power},
              {"rr", mulmod("rmx", "rpw", "rm")},
              {"rv", "toFloat64(rr) * " + pow2_ey}},
             "if(abs(gx) < abs(gy), gx, if(bitShiftRight(bx, 63) = 1, -rv, rv))");
    return "arrayElement(arrayMap((fx, fy) -> if(isNull(fx) OR ifNull(fy, 0) = 0, NULL, " + body +
           "), [" + x + "], [" + y + "]), 1)";
}

// As engine/numeric: digits >= 0 keep x (as the nearest double); from -19 on, x rounded
// half away from zero in Int64 at q = 10^-digits, and t·q as (t·q/2 as a double)·2.
std::string round_integer_digits(const std::string& x, const std::string& digits) {
    const std::string rounded =
        lets({{"gx", "ifNull(rx, toInt64(0))"},
              {"rq", "toInt64(" + powers_of_ten(18, false) +
                         "[toUInt64(least(greatest(-ifNull(rd, 0), 1), 18)) + 1])"},
              {"rt", "intDiv(gx, rq) + if(abs(gx % rq) * 2 >= rq, if(gx < 0, -1, 1), 0)"}},
             "toFloat64(rt * intDiv(rq, 2)) * 2.0");
    return "arrayElement(arrayMap((rx, rd) -> if(isNull(rx) OR isNull(rd), NULL, multiIf(rd "
           ">= 0, toFloat64(rx), rd <= -20, toFloat64(0), rd = -19, if(rx >= "
           "5000000000000000000, toFloat64(10000000000000000000.0), if(rx <= "
           "-5000000000000000000, toFloat64(-10000000000000000000.0), toFloat64(0))), " +
           rounded + ")), [" + x + "], [" + digits + "]), 1)";
}

// toString() of a Float64 is the shortest decimal that reads back exactly (ClickHouse's
// double-conversion), taken apart here as sig·10^sc and rounded half away from zero in
// UInt64 to q·10^-digits. ClickHouse reads decimal texts without correct rounding
// (toFloat64('18.6306019826') is one unit off), so q·10^e becomes a double only where one
// correctly rounded step gives it: q·10^e as a UInt64, or q < 2^53 times or divided by an
// exact 10^k (k <= 22). Where every digit is kept, x itself; beyond the largest double,
// NULL; anything else stops the query.
std::string round_number_digits(const std::string& x, const std::string& digits) {
    const std::string p10 = powers_of_ten(19, false), f10 = powers_of_ten(22, true);
    auto u10 = [&](const std::string& k) {
        return p10 + "[toUInt64(least(greatest(" + k + ", 0), 19)) + 1]";
    };
    auto d10 = [&](const std::string& k) {
        return f10 + "[toUInt64(least(greatest(" + k + ", 0), 22)) + 1]";
    };
    const std::string small = "rq < 9007199254740992";
    const std::string as_integer = "(re >= 0 AND re <= 19 AND rq <= intDiv(toUInt64(" +
                                   std::string("18446744073709551615), ") + u10("re") + "))";
    const std::string times = "(" + small + " AND re >= 0 AND re <= 22)";
    const std::string divided = "(" + small + " AND re < 0 AND re >= -22)";
    // q·10^e >= 2^1024 - 2^970 (1.797693134862315807…e308), decided on q's digits.
    const std::string beyond =
        "(length(toString(rq)) + re > 309 OR (length(toString(rq)) + re = 309 AND rq > "
        "toUInt64(substring('17976931348623158079', 1, length(toString(rq))))))";
    const std::string value = "multiIf(rq = 0, toFloat64(0), " + as_integer + ", toFloat64(rq * " +
                              u10("re") + "), " + times + ", toFloat64(rq) * " + d10("re") + ", " +
                              divided + ", toFloat64(rq) / " + d10("-re") + ", toFloat64(0))";
    const std::string hard = "(rq != 0 AND NOT " + as_integer + " AND NOT " + times + " AND NOT " +
                             divided + " AND NOT " + beyond + ")";
    const std::string body =
        lets({{"gx", "ifNull(fx, toFloat64(0))"},
              {"rp", "greatest(toInt64(-400), least(toInt64(400), ifNull(fd, toInt64(0))))"},
              {"rs", "toString(gx)"},
              {"ra", "if(substring(rs, 1, 1) = '-', substring(rs, 2), rs)"},
              {"rx", "position(ra, 'e')"},
              {"rm", "if(rx > 0, substring(ra, 1, rx - 1), ra)"},
              {"rf", "if(position(rm, '.') > 0, substring(rm, position(rm, '.') + 1), '')"},
              {"rz", "replaceRegexpOne(replaceAll(rm, '.', ''), '^0+', '')"},
              {"rg", "replaceRegexpOne(rz, '0+$', '')"},
              {"rn", "toInt64(length(rg))"},
              {"rc",
               "if(rx > 0, toInt64OrZero(substring(ra, rx + 1)), toInt64(0)) - "
               "toInt64(length(rf)) + toInt64(length(rz)) - rn"},
              {"rdrop", "-rp - rc"},
              {"rk", u10("rdrop")},
              {"rsig", "toUInt64OrZero(rg)"},
              {"rq", "intDiv(rsig, rk) + (rsig % rk * 2 >= rk)"},
              {"re", "-rp"},
              {"kept", "(gx = 0 OR rdrop <= 0 OR rdrop > rn)"},
              {"rv", "if(kept, toFloat64(0), if(" + beyond + ", NULL, " + value + "))"},
              {"rw", "if(gx < 0, -rv, rv)"}},
             "multiIf(gx = 0, toFloat64(0), rdrop <= 0, gx, rdrop > rn, toFloat64(0), rq = 0, "
             "toFloat64(0), rw) + 0 * throwIf(NOT isNull(fx) AND NOT isNull(fd) AND NOT kept AND " +
                 hard + ")");
    return "arrayElement(arrayMap((fx, fd) -> if(isNull(fx) OR isNull(fd), NULL, " + body + "), [" +
           x + "], [" + digits + "]), 1)";
}

}  // namespace strata::sql::clickhouse
