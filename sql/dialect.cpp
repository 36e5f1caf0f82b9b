#include "sql/dialect.hpp"

namespace strata::sql {

std::unique_ptr<Dialect> make_dialect(const std::string& name) {
    if (name == "sqlite") return make_sqlite_dialect();
    if (name == "clickhouse") return make_clickhouse_dialect();
    return nullptr;  // postgres: not built yet
}

}  // namespace strata::sql
