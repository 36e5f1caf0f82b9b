#include "warehouse/result.hpp"

namespace strata::warehouse {

std::string WarehouseError::describe() const {
    std::string text = backend == Backend::postgres ? "PostgreSQL: " : "ClickHouse: ";
    text += message;
    if (!detail.empty()) text += " (" + detail + ")";
    if (!code.empty()) {
        text += backend == Backend::postgres ? " (SQLSTATE " : " (code ";
        text += code + ")";
    }
    if (http_status != 0 && backend == Backend::clickhouse) {
        text += " [HTTP " + std::to_string(http_status) + "]";
    }
    return text;
}

std::optional<std::size_t> ResultTable::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name) return i;
    }
    return std::nullopt;
}

}  // namespace strata::warehouse
