#include "sql/postgres_time.hpp"

namespace strata::sql {

std::string postgres_text_day(const std::string& t) {
    const std::string re =
        "'^[0-9]{4}-[0-9]{2}-[0-9]{2}([T "
        "]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?Z?)?$'";
    const std::string y = "CAST(substr(" + t + ", 1, 4) AS integer)";
    const std::string m = "CAST(substr(" + t + ", 6, 2) AS integer)";
    const std::string d = "CAST(substr(" + t + ", 9, 2) AS integer)";
    const std::string leap =
        "(" + y + " % 4 = 0 AND (" + y + " % 100 <> 0 OR " + y + " % 400 = 0))";
    const std::string last = "(CASE WHEN " + m + " IN (4, 6, 9, 11) THEN 30 WHEN " + m +
                             " = 2 THEN (CASE WHEN " + leap + " THEN 29 ELSE 28 END) ELSE 31 END)";
    // days_from_civil (dsl/calendar): era-based, exact for every year 0000..9999.
    const std::string yy = "(" + y + " - (CASE WHEN " + m + " <= 2 THEN 1 ELSE 0 END))";
    const std::string era =
        "(CASE WHEN " + yy + " >= 0 THEN " + yy + " ELSE " + yy + " - 399 END) / 400";
    const std::string yoe = "(" + yy + " - (" + era + ") * 400)";
    const std::string mp = "((" + m + " + 9) % 12)";
    const std::string doy = "((153 * " + mp + " + 2) / 5 + " + d + " - 1)";
    const std::string doe =
        "(" + yoe + " * 365 + " + yoe + " / 4 - " + yoe + " / 100 + " + doy + ")";
    const std::string days = "((" + era + ") * 146097 + " + doe + " - 719468)";
    return "(CASE WHEN " + t + " ~ " + re + " AND " + y + " >= 1 AND " + m +
           " BETWEEN 1 AND 12 AND " + d + " BETWEEN 1 AND " + last + " THEN " + days + " END)";
}

std::string postgres_in_calendar(const std::string& c, Type kind, const std::string& native) {
    if (kind == Type::Date) return "(" + c + " BETWEEN DATE '0001-01-01' AND DATE '9999-12-31')";
    const std::string type =
        native.find("with time zone") != std::string::npos ? "TIMESTAMPTZ" : "TIMESTAMP";
    const std::string zone = type == "TIMESTAMPTZ" ? "+00" : "";
    return "(" + c + " >= " + type + " '0001-01-01 00:00:00" + zone + "' AND " + c + " < " + type +
           " '10000-01-01 00:00:00" + zone + "')";
}

std::string postgres_day_of(const std::string& c, Type kind, const std::string& native) {
    const std::string in = "CASE WHEN " + postgres_in_calendar(c, kind, native) + " THEN ";
    if (kind == Type::Date) return "(" + in + c + " - DATE '1970-01-01' END)";
    if (kind == Type::DateTime) {
        if (native.find("with time zone") != std::string::npos)
            return "(" + in + "CAST(" + c + " AT TIME ZONE 'UTC' AS date) - DATE '1970-01-01' END)";
        return "(" + in + "CAST(" + c + " AS date) - DATE '1970-01-01' END)";
    }
    if (kind == Type::String)
        return postgres_text_day("btrim(CAST(" + c + " AS text), E' \\t\\r\\n')");
    return "CAST(NULL AS integer)";
}

std::string postgres_seconds_of(const std::string& c, Type kind, const std::string& native,
                                const PostgresBind& bind) {
    const std::string in = "CASE WHEN " + postgres_in_calendar(c, kind, native) + " THEN ";
    if (kind == Type::DateTime)
        return "(" + in + "CAST(floor(extract(epoch FROM " + c + ")) AS bigint) END)";
    if (kind == Type::Date)
        return "(" + in + "CAST(" + c + " - DATE '1970-01-01' AS bigint) * 86400 END)";
    if (kind != Type::String) return "CAST(NULL AS bigint)";
    const std::string t = "btrim(CAST(" + c + " AS text), E' \\t\\r\\n')";
    auto part = [&](int at) {
        return "CAST(substr(" + t + ", " + std::to_string(at) + ", 2) AS bigint)";
    };
    return bind(postgres_text_day(t), "dd",
                "CASE WHEN dd IS NULL THEN NULL WHEN length(" + t +
                    ") = 10 THEN CAST(dd AS bigint) * 86400 ELSE CAST(dd AS bigint) * 86400 + " +
                    part(12) + " * 3600 + " + part(15) + " * 60 + (CASE WHEN substr(" + t +
                    ", 17, 1) = ':' THEN " + part(18) + " ELSE 0 END) END");
}

}  // namespace strata::sql
