// Internal to the demo generators: the car dealer's tables (kind `auto`), shared by the base
// generator and the generator of its later state (`--advance`).
#pragma once

#include <climits>

#include <climits>

#include "examples/demo_support.hpp"

namespace strata::examples::detail {

// One insert statement per table of the car dealer's base.
struct AutoTables {
    explicit AutoTables(SQLite::Database& db);
    Inserter customers;     // customer_id, name, city, first_contact, source, email_opt_in,
                            // email_opens_90d, sms_opt_in
    Inserter interactions;  // customer_id, interaction_date, kind, model
    Inserter purchases;     // customer_id, purchase_date, model, model_year, price, trade_in
    Inserter visits;        // service_visits: customer_id, visit_date, amount, service
};

// Creates the car dealer's tables and fills them with o.customers customers as of kEnd.
void auto_dealer(SQLite::Database& db, const DemoOptions& o, DemoResult& result);

// A car bought on `when`, with the test drive and the quote before it (not before the day
// `not_before`).
void auto_purchase(Inserter& purchases, Inserter& interactions, Rng& rng, int64_t id, int32_t when,
                   int32_t not_before = INT32_MIN);
// A sales contact on `when` (showroom visit, test drive or quote): what makes a lead.
void auto_interest(Inserter& interactions, Rng& rng, int64_t id, int32_t when);
// n site visits or brochure downloads between the days `from` and `to`.
void auto_browse(AutoTables& t, Rng& rng, int64_t id, int32_t from, int32_t to, int64_t n);

}  // namespace strata::examples::detail
