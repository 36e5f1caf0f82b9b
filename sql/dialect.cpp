#include "sql/dialect.hpp"

#include "sql/postgres_dialect.hpp"

namespace strata::sql {

std::unique_ptr<Dialect> make_dialect(const std::string& name) {
    if (name == "sqlite") return make_sqlite_dialect();
    if (name == "clickhouse") return make_clickhouse_dialect();
    if (name == "postgres") return make_postgres_dialect(nullptr);
    return nullptr;
}

}  // namespace strata::sql
