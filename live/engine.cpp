// strata::Engine (include/strata/strata.hpp) over live/one_customer.hpp.
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include "dsl/diagnostics.hpp"
#include "engine/sha256.hpp"
#include "live/engine_impl.hpp"

namespace strata {

using namespace live;

std::optional<EngineError> Engine::Impl::ensure_indexes(SQLite::Database& data,
                                                        std::vector<std::string>* created_now) {
    std::vector<live::LookupIndex> lookups = live::lookup_indexes(data, *rules);
    std::string index_error;
    bool read_only = false;
    std::vector<std::string> made;
    const bool all_there = options.create_indexes &&
                           live::create_lookup_indexes(options.db_path, lookups, made, index_error,
                                                       read_only, options.busy_timeout_ms);
    if (created_now) created_now->insert(created_now->end(), made.begin(), made.end());
    if (all_there) return std::nullopt;
    for (const auto& l : lookups) {
        if (l.present || !l.view) continue;
        return fail(Kind::MissingIndex,
                    "view " + l.table + " has no index SQLite can search its column " + l.column +
                        " with, which looking up one customer needs: index the column it is "
                        "made from in the table under the view (for a computed column, such as "
                        "CAST(id AS INTEGER), an index on that expression: CREATE INDEX … ON "
                        "table (CAST(id AS INTEGER)))");
    }
    std::vector<const live::LookupIndex*> missing;
    for (const auto& l : lookups)
        if (!l.present) missing.push_back(&l);
    if (missing.empty()) return std::nullopt;
    const live::LookupIndex& l = *missing.front();
    // A damaged file or a full disk is the database's problem, not an index to make.
    if (options.create_indexes && !read_only && !index_error.empty())
        return fail(Kind::Database, "cannot create the index on column " + l.column + " of table " +
                                        l.table + " that looking up one customer needs, in '" +
                                        options.db_path + "': " + index_error);
    const std::string why = options.create_indexes
                                ? " (the database could not be written: " + index_error + ")"
                                : std::string();
    if (missing.size() == 1)
        return fail(Kind::MissingIndex, "table " + l.table + " has no index on column " + l.column +
                                            ", which looking up one customer needs" + why +
                                            "; create it with: " + l.create_sql);
    // Every index at once, so that they are not found one run at a time.
    std::string columns, statements;
    for (size_t i = 0; i < missing.size(); ++i) {
        columns += (i == 0                    ? ""
                    : i + 1 == missing.size() ? " and "
                                              : ", ") +
                   ("column " + missing[i]->column + " of table " + missing[i]->table);
        statements += (i == 0 ? "" : "; ") + missing[i]->create_sql;
    }
    return fail(Kind::MissingIndex, "no index on " + columns +
                                        ", which looking up one customer needs" + why +
                                        "; create them with: " + statements);
}

Result<bool> Engine::Impl::refresh() {
    std::lock_guard serial(refresh_mutex);
    auto acquired = acquire();
    if (!acquired) return acquired.error();
    std::unique_ptr<Connection> c = std::move(acquired.value());
    Result<std::shared_ptr<const Loaded>> fresh = fail(Kind::Database, "");
    try {
        // An index dropped since (strata import --replace makes its table again) is made
        // again, as open() made it: without it every call would scan the table.
        if (auto missing = ensure_indexes(*c->data, nullptr)) {
            release(std::move(c));
            return *missing;
        }
        const ReadTransaction reads(c->state ? *c->state_reads : *c->data_reads);
        fresh = load(c->state_db());
    } catch (const SQLite::Exception& e) {
        return fail(Kind::Database,
                    "cannot refresh the thresholds: " + std::string(e.what()) + busy_hint(e));
    }
    release(std::move(c));
    if (!fresh) return fresh.error();
    const std::shared_ptr<const Loaded> before = current();
    if (fresh.value()->thresholds.run.run_id == before->thresholds.run.run_id &&
        fresh.value()->batch_run == before->batch_run)
        return false;
    std::lock_guard lock(loaded_mutex);
    loaded = std::move(fresh.value());
    return true;
}

Result<Engine> Engine::open(const EngineOptions& options) {
    try {
        auto impl = std::make_unique<Impl>();
        const ValuePoolScope in_engine_values(impl->values);
        impl->options = options;
        impl->state_path = options.state_path.empty() ? options.db_path : options.state_path;
        std::string read_error;
        const std::optional<std::string> text = read_text_file(options.rules_path, read_error);
        if (!text) {
            EngineError e = fail(Kind::Usage, read_error);
            e.in_rule_file = true;
            return e;
        }
        impl->sha256 = sha256_hex(*text);
        StoreError error;
        std::unique_ptr<SQLite::Database> data =
            open_read_only(options.db_path, error, options.busy_timeout_ms);
        std::optional<Schema> schema;
        if (data) schema = read_schema(*data, error);
        if (!schema) return store_failed(error);
        SourceFile source(options.rules_path, *text);
        Diagnostics diags;
        impl->rules = compile_rules(source, &*schema, diags);
        if (!impl->rules || diags.has_errors()) {
            diags.sort_by_location();
            std::ostringstream shown;
            for (const auto& d : diags.items()) {
                if (d.severity == Severity::Error) render_text(shown, d, &source);
            }
            EngineError e = fail(diags.only_schema_errors() ? Kind::Database : Kind::Rules,
                                 "the rule file has errors:\n" + shown.str());
            e.in_rule_file = true;
            return e;
        }
        const CompiledRules& rules = *impl->rules;
        // Thresholds: the ruleset's latest run, of this very file.
        std::unique_ptr<SQLite::Database> state_reader;
        SQLite::Database* state = data.get();
        if (impl->state_path != options.db_path) {
            state_reader = open_read_only(impl->state_path, error, options.busy_timeout_ms);
            if (!state_reader) return store_failed(error);
            state = state_reader.get();
        }
        {
            SQLite::Transaction one_read(*state);  // the latest run and batch run agree
            auto loaded = impl->load(*state);
            if (!loaded) return loaded.error();
            impl->loaded = std::move(loaded.value());
        }
        // The lookups' indexes.
        if (auto missing = impl->ensure_indexes(*data, &impl->created)) return *missing;
        std::vector<SegmentResult> results;
        const SegmentPlan plan = plan_segments(rules.segments, results);
        for (size_t t = 0; t < plan.tag_paths.size(); ++t)
            impl->tactical_levels.emplace(plan.tag_paths[t], static_cast<int>(t) + 1);
        // The first connection of the pool, from the databases open already.
        auto first = impl->connect(std::move(data), std::move(state_reader));
        if (!first) return first.error();
        impl->release(std::move(first.value()));
        return Engine(std::move(impl));
    } catch (const SQLite::Exception& e) {
        return fail(Kind::Database, e.what());
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

Result<CustomerResult> Engine::evaluate(std::string_view customer_key, KeyLookup lookup) const {
    try {
        return impl_->evaluate(customer_key, lookup);
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

Result<CustomerResult> Engine::apply(std::string_view customer_key, KeyLookup lookup) {
    try {
        return impl_->apply(customer_key, lookup);
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

const std::string& Engine::ruleset() const {
    return impl_->rules->rules.ruleset;
}

Result<bool> Engine::refresh() {
    try {
        return impl_->refresh();
    } catch (const std::exception& e) {
        return fail(Kind::Database, e.what());
    }
}

int64_t Engine::thresholds_run() const {
    return impl_->current()->thresholds.fits_run;
}

std::string Engine::as_of() const {
    return impl_->current()->as_of_text;
}

const std::vector<std::string>& Engine::created_indexes() const {
    return impl_->created;
}

}  // namespace strata
