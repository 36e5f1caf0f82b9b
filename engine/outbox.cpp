#include "engine/outbox.hpp"

#include <SQLiteCpp/Statement.h>

namespace strata {

std::string idempotency_key(const std::string& ruleset, const std::string& trigger_id,
                            const Value& customer_key, const std::string& as_of, int action) {
    // Lengths first: a ruleset or key holding the separator cannot collide with another.
    const std::string key = std::holds_alternative<int64_t>(customer_key)
                                ? "i" + std::to_string(std::get<int64_t>(customer_key))
                                : "t" + std::get<Str>(customer_key).str();
    std::string out;
    for (const std::string* part : {&ruleset, &trigger_id, &key, &as_of})
        out += std::to_string(part->size()) + ":" + *part + "/";
    return out + std::to_string(action);
}

size_t enqueue(SQLite::Database& state, const std::vector<OutboxRow>& rows,
               const std::string& now) {
    SQLite::Statement insert(
        state,
        "INSERT OR IGNORE INTO strata_outbox (idempotency_key, ruleset, version, trigger_id, "
        "customer_key, action, type, payload, run_id, as_of, status, created_at, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    size_t added = 0;
    for (const OutboxRow& r : rows) {
        insert.bind(1, r.idempotency_key);
        insert.bind(2, r.ruleset);
        insert.bind(3, r.version);
        insert.bind(4, r.trigger_id);
        if (const auto* i = std::get_if<int64_t>(&r.customer_key))
            insert.bind(5, *i);
        else
            insert.bind(5, std::get<Str>(r.customer_key).str());
        insert.bind(6, r.action);
        insert.bind(7, r.type);
        insert.bind(8, r.payload);
        insert.bind(9, r.run_id);
        insert.bind(10, r.as_of);
        insert.bind(11, r.status);
        insert.bind(12, now);
        insert.bind(13, now);
        added += static_cast<size_t>(insert.exec());
        insert.reset();
    }
    return added;
}

}  // namespace strata
