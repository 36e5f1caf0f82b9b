#include "sql/dialect.hpp"

namespace strata::sql {

std::unique_ptr<Dialect> make_dialect(const std::string& name) {
    if (name == "sqlite") return make_sqlite_dialect();
    return nullptr;  // postgres and clickhouse: not built yet
}

}  // namespace strata::sql
