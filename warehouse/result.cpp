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
    if (stopped_for_exactness())
        text +=
            ": the query stopped at a value it cannot compute exactly inside ClickHouse (such as "
            "an avg() whose total passes 9,007,198, an abc() of values or totals from about "
            "9.2 billion on, or a number text ClickHouse cannot read correctly rounded; "
            "docs/warehouse.md, \"What each dialect refuses\", lists them), "
            "rather than "
            "give another answer; the embedded engine computes it on a SQLite copy of the data";
    return text;
}

bool WarehouseError::stopped_for_exactness() const {
    // ClickHouse 18.16's throwIf takes no message: its error (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO,
    // 395) is all a stop says. Only strata's compiled SQL calls throwIf.
    return backend == Backend::clickhouse &&
           (code == "395" || message.find("'throwIf'") != std::string::npos);
}

std::optional<std::size_t> ResultTable::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name) return i;
    }
    return std::nullopt;
}

}  // namespace strata::warehouse
