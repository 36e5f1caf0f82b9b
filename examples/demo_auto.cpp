// ---- Car dealer lifecycle (seed 004): prospect → lead → owner → owner ready to replace ----
// The dealer's CRM: everyone who ever got in touch, what they did before buying (site visits,
// brochures, showroom visits, test drives, quotes), the cars they bought and their visits to
// the dealer's service. At the demo's today the base spreads over the four lifecycle stages,
// with some customers close to each boundary (leads whose last showroom visit is almost three
// months old, owners whose car is almost four years old), so that a later state moves some.
#include "examples/demo_auto.hpp"

namespace strata::examples::detail {

namespace {

struct CarModel {
    const char* name;
    double price;  // median price of a new one
};

const std::vector<CarModel>& car_models() {
    static const std::vector<CarModel> models{{"Rio", 17000},      {"Ceed", 22000},
                                              {"Sportage", 31000}, {"Sorento", 42000},
                                              {"K5", 29000},       {"EV6", 48000}};
    return models;
}

const std::vector<std::string>& services() {
    static const std::vector<std::string> list{"maintenance", "oil change",  "tyres",
                                               "brakes",      "diagnostics", "body repair"};
    return list;
}

// Browsing that shows interest but is not yet a sales contact.
void browse(Inserter& interactions, Rng& rng, int64_t id, int32_t from, int32_t to, int64_t n) {
    // Each draw on its own line: the order in which a call's arguments are evaluated is not
    // fixed by C++, and the same seed must give the same file with any compiler.
    for (int64_t k = 0; k < n && from <= to; ++k) {
        const int32_t when = static_cast<int32_t>(rng.range(from, to));
        const char* kind = rng.chance(0.7) ? "site_visit" : "brochure";
        interactions.row(id, day(when), kind, rng.pick(car_models()).name);
    }
}

// A sales contact: the kinds the lifecycle rules count as a lead's activity.
std::string hot_touch(Rng& rng) {
    const size_t k = rng.weighted({0.45, 0.35, 0.2});
    return k == 0 ? "showroom" : k == 1 ? "test_drive" : "quote";
}

}  // namespace

AutoTables::AutoTables(SQLite::Database& db)
    : customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?)"),
      interactions(db,
                   "INSERT INTO interactions (customer_id, interaction_date, kind, model) VALUES "
                   "(?,?,?,?)"),
      purchases(db,
                "INSERT INTO purchases (customer_id, purchase_date, model, model_year, price, "
                "trade_in) VALUES (?,?,?,?,?,?)"),
      visits(db,
             "INSERT INTO service_visits (customer_id, visit_date, amount, service) VALUES "
             "(?,?,?,?)") {}

void auto_browse(AutoTables& t, Rng& rng, int64_t id, int32_t from, int32_t to, int64_t n) {
    browse(t.interactions, rng, id, from, to, n);
}

void auto_purchase(Inserter& purchases, Inserter& interactions, Rng& rng, int64_t id, int32_t when,
                   int32_t not_before) {
    const CarModel& model = car_models()[rng.weighted({0.25, 0.22, 0.2, 0.1, 0.15, 0.08})];
    const bool used = rng.chance(0.15);
    const int year = civil_from_days(when).year;
    const int32_t test_drive = when - static_cast<int32_t>(rng.range(3, 30));
    const int32_t quote = when - static_cast<int32_t>(rng.range(0, 3));
    const int64_t model_year = used ? year - rng.range(1, 5) : year;
    const double price = cents(rng.lognormal(model.price * (used ? 0.6 : 1.0), 0.12));
    const bool trade_in = rng.chance(0.3);
    interactions.row(id, day(std::max(test_drive, not_before)), "test_drive", model.name);
    interactions.row(id, day(std::max(quote, not_before)), "quote", model.name);
    purchases.row(id, day(when), model.name, model_year, price, trade_in);
}

void auto_interest(Inserter& interactions, Rng& rng, int64_t id, int32_t when) {
    const std::string kind = hot_touch(rng);
    interactions.row(id, day(when), kind, rng.pick(car_models()).name);
}

void auto_dealer(SQLite::Database& db, const DemoOptions& o, DemoResult& result) {
    db.exec(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, city TEXT, first_contact DATE,
  source TEXT, email_opt_in BOOLEAN, email_opens_90d INTEGER, sms_opt_in BOOLEAN);
CREATE TABLE interactions (interaction_id INTEGER PRIMARY KEY, customer_id INTEGER,
  interaction_date DATE, kind TEXT, model TEXT);
CREATE TABLE purchases (purchase_id INTEGER PRIMARY KEY, customer_id INTEGER, purchase_date DATE,
  model TEXT, model_year INTEGER, price REAL, trade_in BOOLEAN);
CREATE TABLE service_visits (visit_id INTEGER PRIMARY KEY, customer_id INTEGER, visit_date DATE,
  amount REAL, service TEXT);
)sql");
    Rng rng(o.seed);
    const std::vector<std::string> cities{"Moscow", "Kazan", "Samara", "Almaty", "Minsk", "Tula"};
    const std::vector<std::string> sources{"website", "showroom", "referral", "ads", "event"};
    AutoTables tables(db);
    auto& [customers, interactions, purchases, visits] = tables;
    const int32_t today = kEnd.days;
    for (int64_t id = 1; id <= o.customers; ++id) {
        // The stage at today: prospect, lead, owner of a car under 4 years, of an older one.
        const size_t stage = rng.weighted({0.34, 0.16, 0.28, 0.22});
        const bool opens = rng.chance(0.55);
        const int64_t opens_90d = opens ? rng.range(1, 10) : int64_t{0};
        const bool email_opt_in = rng.chance(0.85), sms_opt_in = rng.chance(0.7);
        int32_t first_contact = today;
        if (stage == 0) {
            first_contact = today - static_cast<int32_t>(rng.range(1, 1500));
            browse(interactions, rng, id, first_contact, today, rng.range(0, 3));
            if (rng.chance(0.15))  // browsing right now, but no sales contact yet
                browse(interactions, rng, id, std::max(first_contact, today - 29), today, 2);
            if (rng.chance(0.25) && today - first_contact > 91)  // an old lead gone cold
                auto_interest(interactions, rng, id,
                              static_cast<int32_t>(rng.range(first_contact, today - 91)));
        } else if (stage == 1) {
            const int32_t last_touch = today - static_cast<int32_t>(rng.range(0, 89));
            first_contact = last_touch - static_cast<int32_t>(rng.range(0, 200));
            browse(interactions, rng, id, first_contact, last_touch, rng.range(1, 4));
            if (rng.chance(0.4) && last_touch > first_contact)
                auto_interest(interactions, rng, id,
                              static_cast<int32_t>(rng.range(first_contact, last_touch - 1)));
            auto_interest(interactions, rng, id, last_touch);
        } else {
            const int32_t age =
                static_cast<int32_t>(stage == 2 ? rng.range(15, 1460) : rng.range(1461, 3650));
            const int32_t bought = today - age;
            const bool repeat = rng.chance(0.12);
            const int32_t earlier = bought - static_cast<int32_t>(rng.range(1500, 2600));
            first_contact = (repeat ? earlier : bought) - static_cast<int32_t>(rng.range(10, 240));
            browse(interactions, rng, id, first_contact, bought, rng.range(0, 3));
            if (repeat) auto_purchase(purchases, interactions, rng, id, earlier);
            auto_purchase(purchases, interactions, rng, id, bought);
            // Service: most come back every 5 to 13 months; some stop, some never come.
            const bool low_bill = rng.chance(0.35);
            const int64_t max_visits = rng.chance(0.75) ? 100 : rng.range(0, 2);
            const int32_t gap = static_cast<int32_t>(rng.range(150, 400));
            int64_t n = 0;
            for (int32_t d = bought + gap; d <= today && n < max_visits; d += gap, ++n) {
                const double amount = cents(rng.lognormal(low_bill ? 90 : 240, 0.45));
                visits.row(id, day(d), amount, rng.pick(services()));
            }
            if (stage == 3 && rng.chance(0.2))  // thinking about the next car
                auto_interest(interactions, rng, id,
                              today - static_cast<int32_t>(rng.range(0, 80)));
        }
        const std::string& city = rng.pick(cities);
        customers.row(id, "Client " + std::to_string(id), city, day(first_contact),
                      rng.pick(sources), email_opt_in, opens_90d, sms_opt_in);
    }
    result.fact_rows = {{"interactions", interactions.rows()},
                        {"purchases", purchases.rows()},
                        {"service_visits", visits.rows()}};
}

}  // namespace strata::examples::detail
