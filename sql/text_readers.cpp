#include "sql/text_readers.hpp"

namespace strata::sql {

const char* const kHalfSmallestDigits =
    "2470328229206232720882843964341106861825299013071623822127928412503377536351043759326499"
    "1818081799618989828234772285886546332835517796989819938739800539093906315035659515570226"
    "3922908583924491051844359318028499365361525003193704576782492193656236698636584807570015"
    "8576926990370631192827955855133292783433840935197801553124659726357957462276646527282722"
    "0056374006485499977096599470454020828166226237857393450736339007967761930577506740176324"
    "6736009689513405355374585166611342237666786041621596804619144672918403005300575308490487"
    "6539171138659164623952491262365388187963623937328042389101867234849766823508986338858792"
    "5628302755995657524455507255189313690836254779186948667994968324049705821028513185451396"
    "213837722826145437693412532098591327667236328125";
const char* const kPastLargestDigits =
    "1797693134862315807937289714053034150799341327100378269361737789804449682927647509466490"
    "1797758720709633028641669288791094655554785194040263065748867150582068190890200070838367"
    "6273854845817711531764475730270069855571366959622842914819860834936475292719074168444365"
    "510704342711559699508093042880177904174497792";

namespace {

// engine/numeric.cpp's parse_decimal: [sign] digits with at most one point (at least one
// digit), then an optional exponent.
const char* kDecimalPattern = "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$";

// dsl/calendar.cpp: YYYY-MM-DD, or one followed by T or a space, HH:MM, optional :SS with an
// optional fraction, and an optional Z; hours to 23, minutes and seconds to 59.
const char* kDatePattern =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?Z?)?$";

}  // namespace

namespace {

// A pattern as a ClickHouse string literal: its backslashes doubled (ClickHouse unescapes
// literals; PostgreSQL's standard strings take them as they are).
std::string clickhouse_pattern(const char* pattern) {
    std::string out = "'";
    for (const char* p = pattern; *p; ++p) {
        if (*p == '\\') out += '\\';
        out += *p;
    }
    return out + "'";
}

// A trimmed decimal text taken apart as engine/numeric.cpp's parse_decimal does: `dok`
// (it is one), `dneg`, `dsig` (its digits from the first that is not 0; empty for zero),
// `dexp` (the place of that digit: 0 for units; the exponent is capped at 100000 as the
// engine caps it), `ddig` (the first 800 of those digits, trailing zeros dropped) and `dn`
// (their count). `tx` must be bound to the text already.
TextBindings postgres_decimal_parts() {
    return {{"dok", std::string("tx ~ '") + kDecimalPattern + "'"},
            {"dl", "lower(tx)"},
            {"dm", "split_part(dl, 'e', 1)"},
            {"de", "split_part(dl, 'e', 2)"},
            {"dneg", "left(dm, 1) = '-'"},
            {"db", "ltrim(dm, '+-')"},
            {"dip", "split_part(db, '.', 1)"},
            {"dd", "split_part(db, '.', 1) || split_part(db, '.', 2)"},
            {"dsig", "ltrim(dd, '0')"},
            {"dev",
             "CASE WHEN de ~ '^[+-]?[0-9]+$' THEN (CASE WHEN left(de, 1) = '-' THEN -1 ELSE 1 END) "
             "* CAST(least(CAST(ltrim(de, '+-') AS numeric), 100000) AS bigint) ELSE 0 END"},
            {"dexp", "CAST(length(dip) - (length(dd) - length(dsig)) - 1 AS bigint) + dev"},
            {"ddig", "rtrim(left(dsig, 800), '0')"},
            {"dn", "CAST(length(ddig) AS bigint)"}};
}

TextBindings with_text(const std::string& name, const std::string& text, TextBindings more) {
    more.insert(more.begin(), {name, text});
    return more;
}

}  // namespace

std::string postgres_text_integer(const std::string& text, const BindAll& bind) {
    // Whole only when no digit sits below the units, and at most 19 digits: then the digits
    // padded with zeros to the units are the integer.
    const std::string magnitude =
        "(CAST(rpad(ddig, CAST(dexp + 1 AS integer), '0') AS numeric) * (CASE WHEN dneg THEN -1 "
        "ELSE 1 END))";
    return bind(with_text("tx", text, postgres_decimal_parts()),
                "CASE WHEN dok IS NOT TRUE THEN NULL WHEN dsig = '' THEN CAST(0 AS bigint) WHEN "
                "dexp < dn - 1 OR dexp > 18 THEN NULL WHEN " +
                    magnitude + " BETWEEN -9223372036854775808 AND 9223372036854775807 THEN CAST(" +
                    magnitude + " AS bigint) END");
}

std::string postgres_text_number(const std::string& text, const BindAll& bind) {
    // The digits and exponent as a text PostgreSQL reads correctly rounded (strtod); what
    // would round to zero or past the largest double is decided first, since PostgreSQL
    // refuses those texts instead of reading them.
    return bind(
        with_text("tx", text, postgres_decimal_parts()),
        std::string("CASE WHEN dok IS NOT TRUE THEN NULL WHEN dsig = '' THEN CAST(0 AS "
                    "double precision) WHEN dexp < -324 OR (dexp = -324 AND ddig COLLATE "
                    "\"C\" <= '") +
            kHalfSmallestDigits +
            "') THEN CAST(0 AS double precision) WHEN dexp > 308 OR (dexp = 308 AND ddig "
            "COLLATE \"C\" >= '" +
            kPastLargestDigits +
            "') THEN NULL ELSE CAST((CASE WHEN dneg THEN '-' ELSE '' END) || ddig || 'e' || "
            "CAST(dexp - dn + 1 AS text) AS double precision) END");
}

namespace {

// ClickHouse's counterpart of postgres_decimal_parts, from the cell trimmed (`tx`); every
// function used gives a value for any text, since ClickHouse computes every branch.
TextBindings clickhouse_decimal_parts(const std::string& cell) {
    return {
        {"tx", "replaceRegexpAll(ifNull(" + cell + ", ''), '^[ \\t\\r\\n]+|[ \\t\\r\\n]+$', '')"},
        {"dok", "match(tx, " + clickhouse_pattern(kDecimalPattern) + ")"},
        {"dl", "lower(tx)"},
        {"dm", "splitByChar('e', dl)[1]"},
        {"de", "splitByChar('e', dl)[2]"},
        {"dneg", "substring(dm, 1, 1) = '-'"},
        {"db", "replaceRegexpOne(dm, '^[+-]', '')"},
        {"dip", "splitByChar('.', db)[1]"},
        {"dd", "concat(dip, splitByChar('.', db)[2])"},
        {"dsig", "replaceRegexpOne(dd, '^0+', '')"},
        {"dea", "replaceRegexpOne(replaceRegexpOne(de, '^[+-]', ''), '^0+', '')"},
        {"dev",
         "if(match(de, '^[+-]?[0-9]+$'), if(substring(de, 1, 1) = '-', -1, 1) * "
         "toInt64(if(length(dea) > 6, 100000, least(toUInt64OrZero(dea), 100000))), 0)"},
        {"dexp", "toInt64(length(dip)) - (toInt64(length(dd)) - toInt64(length(dsig))) - 1 + dev"},
        {"ddig", "replaceRegexpOne(substring(dsig, 1, 800), '0+$', '')"},
        {"dn", "toInt64(length(ddig))"}};
}

}  // namespace

std::string clickhouse_text_integer(const std::string& cell, const BindAll& bind) {
    TextBindings b = clickhouse_decimal_parts(cell);
    // The digits padded to the units (at most 19; clamped where the value is not used).
    b.push_back({"dmag",
                 "toUInt64OrZero(substring(concat(ddig, '0000000000000000000'), 1, "
                 "toUInt64(greatest(least(dexp + 1, 19), 1))))"});
    return "if(isNull(" + cell + "), NULL, " +
           bind(b,
                "multiIf(NOT dok, NULL, dsig = '', toInt64(0), dexp < dn - 1 OR dexp > 18, NULL, "
                "dneg AND dmag = 9223372036854775808, toInt64(-9223372036854775808), dmag > "
                "9223372036854775807, NULL, dneg, -toInt64(dmag), toInt64(dmag))") +
           ")";
}

std::string clickhouse_text_number(const std::string& cell, const BindAll& bind,
                                   const std::string& u10, const std::string& f10) {
    TextBindings b = clickhouse_decimal_parts(cell);
    b.push_back({"dk", "dexp - dn + 1"});  // the value is ddig · 10^dk
    b.push_back({"dq", "toUInt64OrZero(substring(ddig, 1, 15))"});
    b.push_back({"dzero", std::string("dexp < -324 OR (dexp = -324 AND ddig <= '") +
                              kHalfSmallestDigits + "')"});
    b.push_back({"dpast", std::string("dexp > 308 OR (dexp = 308 AND ddig >= '") +
                              kPastLargestDigits + "')"});
    // One correctly rounded step: q < 10^15 times or divided by an exact 10^k (k <= 22), or
    // q·10^(k-22) still below 10^15 (an exact integer) times 10^22.
    auto f = [&](const std::string& k) {
        return f10 + "[toUInt64(least(greatest(" + k + ", 0), 22)) + 1]";
    };
    auto u = [&](const std::string& k) {
        return u10 + "[toUInt64(least(greatest(" + k + ", 0), 15)) + 1]";
    };
    b.push_back({"dfits", "dn <= 15 AND dk >= -22 AND dk <= 22"});
    b.push_back({"dshift", "dn <= 15 AND dk > 22 AND dn + dk - 22 <= 15"});
    // Otherwise ClickHouse's own reading, taken only when the text is that double's shortest
    // decimal (toString's, which reads back as the double): then it is the correctly rounded
    // reading too. Most writers of doubles as text write the shortest decimal.
    b.push_back({"dc", "toFloat64OrZero(concat(ddig, 'e', toString(dk)))"});
    b.push_back({"dcs", "toString(dc)"});
    b.push_back({"dcm", "splitByChar('e', dcs)[1]"});
    b.push_back({"dcip", "splitByChar('.', dcm)[1]"});
    b.push_back({"dcd", "concat(dcip, splitByChar('.', dcm)[2])"});
    b.push_back({"dcsig", "replaceRegexpOne(dcd, '^0+', '')"});
    b.push_back({"dcexp",
                 "toInt64(length(dcip)) - (toInt64(length(dcd)) - toInt64(length(dcsig))) - 1 + "
                 "toInt64OrZero(replaceRegexpOne(splitByChar('e', dcs)[2], '^[+]', ''))"});
    b.push_back({"dshortest",
                 "isFinite(dc) AND dc > 0 AND replaceRegexpOne(dcsig, '0+$', '') = "
                 "ddig AND dcexp = dexp"});
    b.push_back({"dv", "multiIf(dk >= 0 AND dk <= 22, toFloat64(dq) * " + f("dk") +
                           ", dk < 0, toFloat64(dq) / " + f("-dk") + ", toFloat64(dq * " +
                           u("dk - 22") + ") * " + f("22") + ")"});
    return "if(isNull(" + cell + "), NULL, " +
           bind(b,
                "multiIf(NOT dok, NULL, dsig = '' OR dzero, toFloat64(0), dpast, NULL, if(dneg, "
                "-1, 1) * if(dfits OR dshift, dv, dc)) + 0 * throwIf(dok AND dsig != '' AND NOT "
                "dzero AND NOT dpast AND NOT dfits AND NOT dshift AND NOT dshortest)") +
           ")";
}

std::string clickhouse_text_bool(const std::string& cell, const BindAll& bind) {
    // lowerUTF8 lowers the Cyrillic capitals as the engine does; no other capital becomes a
    // letter of these words.
    return "if(isNull(" + cell + "), NULL, " +
           bind({{"tx", "replaceRegexpAll(ifNull(" + cell +
                            ", ''), '^[ \\t\\r\\n]+|[ \\t\\r\\n]+$', '')"},
                 {"tl", "lowerUTF8(tx)"}},
                "multiIf(tl IN ('true', 'yes', 'y', '1', 'да'), toUInt8(1), tl IN ('false', "
                "'no', 'n', '0', 'нет'), toUInt8(0), NULL)") +
           ")";
}

namespace {

// The trimmed text (`tx`) as a date and maybe a time: `tday` (days since 1970-01-01, by
// dsl/calendar.cpp's days_from_civil) when `tok`.
TextBindings clickhouse_date_parts(const std::string& cell) {
    return {
        {"tx", "replaceRegexpAll(ifNull(" + cell + ", ''), '^[ \\t\\r\\n]+|[ \\t\\r\\n]+$', '')"},
        {"ty", "toInt64OrZero(substring(tx, 1, 4))"},
        {"tm", "toInt64OrZero(substring(tx, 6, 2))"},
        {"td", "toInt64OrZero(substring(tx, 9, 2))"},
        {"tleap", "ty % 4 = 0 AND (ty % 100 != 0 OR ty % 400 = 0)"},
        {"tlast", "multiIf(tm IN (4, 6, 9, 11), 30, tm = 2, if(tleap, 29, 28), 31)"},
        {"tok", "match(tx, " + clickhouse_pattern(kDatePattern) +
                    ") AND ty >= 1 AND tm >= 1 AND tm <= 12 AND td >= 1 AND td <= tlast"},
        {"tyy", "ty - if(tm <= 2, 1, 0)"},
        {"tera", "intDiv(tyy, 400)"},
        {"tyoe", "tyy - tera * 400"},
        {"tdoy", "intDiv(153 * ((tm + 9) % 12) + 2, 5) + td - 1"},
        {"tday",
         "tera * 146097 + tyoe * 365 + intDiv(tyoe, 4) - intDiv(tyoe, 100) + tdoy - "
         "719468"}};
}

}  // namespace

std::string clickhouse_text_day(const std::string& cell, const BindAll& bind) {
    return "if(isNull(" + cell + "), NULL, " +
           bind(clickhouse_date_parts(cell), "if(tok, toInt64(tday), NULL)") + ")";
}

std::string clickhouse_text_seconds(const std::string& cell, const BindAll& bind) {
    auto part = [](int at) {
        return "toInt64OrZero(substring(tx, " + std::to_string(at) + ", 2))";
    };
    return "if(isNull(" + cell + "), NULL, " +
           bind(clickhouse_date_parts(cell),
                "if(tok, toInt64(tday) * 86400 + if(length(tx) = 10, 0, " + part(12) +
                    " * 3600 + " + part(15) + " * 60 + if(substring(tx, 17, 1) = ':', " + part(18) +
                    ", 0)), NULL)") +
           ")";
}

namespace {

// How a ClickHouse query holds a value of `type`: dates as days and datetimes as seconds
// (Int64), booleans as UInt8.
std::string clickhouse_representation(Type type) {
    switch (type) {
        case Type::Number:
            return "Float64";
        case Type::Bool:
            return "UInt8";
        case Type::String:
            return "String";
        default:
            return "Int64";
    }
}

}  // namespace

std::optional<std::string> clickhouse_converted(const std::string& c, Type kind, Type type,
                                                const BindAll& bind, const std::string& u10,
                                                const std::string& f10) {
    auto let = [&](const std::string& name, const std::string& body) {
        return bind({{name, c}}, body);
    };
    const std::string null = "CAST(NULL AS Nullable(" + clickhouse_representation(type) + "))";
    switch (type) {
        case Type::Int:
            if (kind == Type::String) return clickhouse_text_integer(c, bind);
            if (kind == Type::Bool) return "toInt64(" + c + ")";
            if (kind == Type::Number)
                return let("nx",
                           "if(isFinite(nx) AND nx = floor(nx) AND nx >= -9223372036854775808.0 "
                           "AND nx < 9223372036854775808.0, toInt64(nx), NULL)");
            return null;
        case Type::Number:
            if (kind == Type::String) return clickhouse_text_number(c, bind, u10, f10);
            if (kind == Type::Int || kind == Type::Bool) return "toFloat64(" + c + ")";
            return null;
        case Type::Bool:
            if (kind == Type::String) return clickhouse_text_bool(c, bind);
            if (kind == Type::Int)
                return let("bx", "multiIf(bx = 0, toUInt8(0), bx = 1, toUInt8(1), NULL)");
            return null;
        case Type::Date:
            if (kind == Type::String) return clickhouse_text_day(c, bind);
            return null;
        case Type::DateTime:
            if (kind == Type::String) return clickhouse_text_seconds(c, bind);
            return null;
        case Type::String:
            if (kind == Type::Int || kind == Type::Bool) return "toString(" + c + ")";
            // toString writes 1970-01-01 as 0000-00-00.
            if (kind == Type::Date)
                return let("sx", "if(toUInt16(sx) = 0, '1970-01-01', toString(sx))");
            return std::nullopt;  // refused (the dialect's column_refusal says why)
        default:
            return std::nullopt;
    }
}

}  // namespace strata::sql
