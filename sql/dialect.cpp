#include "sql/dialect.hpp"

#include <algorithm>

#include "sql/postgres_dialect.hpp"

namespace strata::sql {

std::unique_ptr<Dialect> make_dialect(const std::string& name) {
    if (name == "sqlite") return make_sqlite_dialect();
    if (name == "clickhouse") return make_clickhouse_dialect();
    if (name == "postgres") return make_postgres_dialect(nullptr);
    return nullptr;
}

std::string unused_prefix(const std::vector<std::string>& columns, std::string prefix) {
    auto taken = [&] {
        return std::any_of(columns.begin(), columns.end(),
                           [&](const std::string& c) { return c.rfind(prefix, 0) == 0; });
    };
    while (taken())
        prefix += "_";
    return prefix;
}

}  // namespace strata::sql
