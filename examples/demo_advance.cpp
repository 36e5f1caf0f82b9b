// The period after a demo base's today for the kinds whose customers buy or visit: retail
// orders, car-service visits, and the car dealer's contacts, purchases and service visits.
// Customers keep their habits: a regular buyer buys again about as often as before, one who
// stopped rarely comes back, and a few new customers sign up in the period.
#include "examples/demo_advance.hpp"

#include "examples/demo_auto.hpp"

namespace strata::examples::detail {

std::vector<History> read_history(SQLite::Database& db, const std::string& table,
                                  const std::string& date_column, const std::string& amount_column,
                                  const std::string& label_column, int64_t customers,
                                  const std::string& where) {
    std::vector<History> history(static_cast<size_t>(customers) + 1);
    SQLite::Statement rows(db, "SELECT customer_id, " + date_column + ", " +
                                   (amount_column.empty() ? "0" : amount_column) + ", " +
                                   (label_column.empty() ? "''" : label_column) + " FROM " + table +
                                   (where.empty() ? "" : " WHERE " + where) +
                                   " ORDER BY customer_id, " + date_column + ", rowid");
    while (rows.executeStep()) {
        const int64_t id = rows.getColumn(0).getInt64();
        const auto date = parse_date(rows.getColumn(1).getString().substr(0, 10));
        if (id < 1 || id > customers || !date) continue;
        History& h = history[static_cast<size_t>(id)];
        if (h.n++ == 0) h.first = date->days;
        h.last = date->days;
        h.amount_total += rows.getColumn(2).getDouble();
        h.last_label = rows.getColumn(3).getString();
    }
    return history;
}

namespace {

// How many new customers sign up in the period: `per_30_days` of the base per 30 days.
int64_t newcomers(const DemoOptions& o, const Period& p, double per_30_days) {
    return static_cast<int64_t>(
        std::llround(static_cast<double>(o.customers) * per_30_days * p.days() / 30.0));
}

// The number of purchases (or visits) in the period of a customer with this history: about
// `pace` times as often as before while they are still coming (the average gap between two
// rows overstates how often people come), rarely once they have stopped. At most `cap` per
// whole 30 days of the period (at least `cap`), so that a year's advance keeps regular
// customers at their pace instead of capping the whole year at a month's worth.
int64_t repeat_count(Rng& rng, const History& h, const Period& p, int32_t usual_gap, double pace,
                     double comeback_per_30_days, int64_t cap) {
    if (h.n == 0) return 0;
    const int32_t gap = h.gap(usual_gap);
    const int32_t quiet = p.first - 1 - h.last;
    const double expected =
        quiet <= 2 * gap + 30 ? pace * p.days() / gap : p.chance(comeback_per_30_days);
    return std::min(cap * std::max<int64_t>(1, p.days() / 30), rng.poisson(expected));
}

}  // namespace

void advance_retail(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                    AdvanceTally& tally) {
    const std::vector<std::string> cities{"Moscow",  "Kyiv", "Almaty", "Minsk",
                                          "Tbilisi", "Riga", "Kazan",  "Odesa"};
    const std::vector<std::string> categories{"skincare", "makeup",  "fragrance", "haircare",
                                              "phones",   "laptops", "audio",     "accessories"};
    const auto history =
        read_history(db, "orders", "order_date", "amount", "category", o.customers);
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?)");
    Inserter orders(
        db,
        "INSERT INTO orders (customer_id, order_date, amount, category, items) VALUES (?,?,?,?,?)");
    auto order = [&](int64_t id, int32_t when, double median, const std::string& usual) {
        const double amount = cents(rng.lognormal(median, 0.5));
        const std::string& category = rng.chance(0.7) ? usual : rng.pick(categories);
        orders.row(id, day(when), amount, category, rng.range(1, 4));
    };
    for (int64_t id = 1; id <= o.customers; ++id) {
        const History& h = history[static_cast<size_t>(id)];
        if (h.n == 0) {  // a prospect's first purchase
            if (rng.chance(p.chance(0.03))) order(id, p.any_day(rng), 45, rng.pick(categories));
            continue;
        }
        const int64_t k = repeat_count(rng, h, p, 240, 0.6, 0.01, 6);
        for (int64_t i = 0; i < k; ++i)
            order(id, p.any_day(rng), h.mean_amount(45), h.last_label);
    }
    const int64_t added = newcomers(o, p, 0.025);
    for (int64_t id = o.customers + 1; id <= o.customers + added; ++id) {
        const int32_t signup = p.any_day(rng);
        const std::string& city = rng.pick(cities);
        std::optional<std::string> gender;
        if (!rng.chance(0.3)) gender = rng.chance(0.7) ? "f" : "m";
        const bool opt_in = rng.chance(0.6);
        customers.row(id, "Customer " + std::to_string(id), city, gender, day(signup), opt_in,
                      rng.chance(0.25));
        if (rng.chance(0.45))
            order(id, static_cast<int32_t>(rng.range(signup, p.last)), 45, rng.pick(categories));
    }
    tally.new_customers = added;
    tally.fact_rows = {{"orders", orders.rows()}};
}

void advance_carservice(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                        AdvanceTally& tally) {
    const std::vector<std::string> makes{"Lada", "Toyota", "Kia", "Hyundai",
                                         "VW",   "Skoda",  "BMW", "Renault"};
    const std::vector<std::string> services{"oil change",  "tyres",       "brakes",
                                            "diagnostics", "body repair", "inspection"};
    const auto history = read_history(db, "visits", "visit_date", "amount", "", o.customers);
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?)");
    Inserter visits(
        db, "INSERT INTO visits (customer_id, visit_date, amount, service) VALUES (?,?,?,?)");
    auto visit = [&](int64_t id, int32_t when, double median) {
        const double amount = cents(rng.lognormal(median, 0.6));
        visits.row(id, day(when), amount, rng.pick(services));
    };
    for (int64_t id = 1; id <= o.customers; ++id) {
        const History& h = history[static_cast<size_t>(id)];
        const int64_t k = repeat_count(rng, h, p, 365, 0.6, 0.015, 3);
        for (int64_t i = 0; i < k; ++i)
            visit(id, p.any_day(rng), h.mean_amount(100));
    }
    const int64_t added = newcomers(o, p, 0.012);
    for (int64_t id = o.customers + 1; id <= o.customers + added; ++id) {
        const int64_t car_year = rng.range(2008, 2026);
        const bool opens = rng.chance(0.45);
        const std::string& make = rng.pick(makes);
        const int64_t opens_90d = opens ? rng.range(1, 12) : int64_t{0};
        const bool email_opt_in = rng.chance(0.8);
        customers.row(id, "Client " + std::to_string(id), make, car_year,
                      "+7900" + std::to_string(1000000 + id), email_opt_in, opens_90d,
                      rng.chance(0.7));
        visit(id, p.any_day(rng), car_year < 2015 ? 60 : 140);
    }
    tally.new_customers = added;
    tally.fact_rows = {{"visits", visits.rows()}};
}

void advance_auto(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                  AdvanceTally& tally) {
    const std::vector<std::string> cities{"Moscow", "Kazan", "Samara", "Almaty", "Minsk", "Tula"};
    const std::vector<std::string> sources{"website", "showroom", "referral", "ads", "event"};
    const std::vector<std::string> services{"maintenance", "oil change", "tyres", "diagnostics"};
    const auto cars = read_history(db, "purchases", "purchase_date", "price", "", o.customers);
    const auto service =
        read_history(db, "service_visits", "visit_date", "amount", "", o.customers);
    const auto contacts = read_history(db, "interactions", "interaction_date", "", "", o.customers,
                                       "kind IN ('showroom', 'test_drive', 'quote')");
    AutoTables t(db);
    const int32_t today = p.first - 1;
    const int32_t four_years_ago = add_duration(Date{today}, Duration{48, 0}, -1).days;
    for (int64_t id = 1; id <= o.customers; ++id) {
        const History& car = cars[static_cast<size_t>(id)];
        const bool lead = car.n == 0 && contacts[static_cast<size_t>(id)].n > 0 &&
                          contacts[static_cast<size_t>(id)].last > today - 90;
        if (car.n == 0 && lead) {
            if (rng.chance(p.chance(0.06)))
                auto_purchase(t.purchases, t.interactions, rng, id, p.any_day(rng), p.first);
            else if (rng.chance(p.chance(0.3)))
                auto_interest(t.interactions, rng, id, p.any_day(rng));
        } else if (car.n == 0) {
            if (rng.chance(p.chance(0.07))) auto_interest(t.interactions, rng, id, p.any_day(rng));
            if (rng.chance(p.chance(0.15))) auto_browse(t, rng, id, p.first, p.last, 2);
        } else {
            if (car.last <= four_years_ago) {  // ready to replace
                if (rng.chance(p.chance(0.025)))
                    auto_purchase(t.purchases, t.interactions, rng, id, p.any_day(rng), p.first);
                else if (rng.chance(p.chance(0.05)))
                    auto_interest(t.interactions, rng, id, p.any_day(rng));
            }
            const History& visits = service[static_cast<size_t>(id)];
            const int64_t k = visits.n ? repeat_count(rng, visits, p, 365, 1.0, 0.01, 2)
                                       : static_cast<int64_t>(rng.chance(p.chance(0.01)));
            for (int64_t i = 0; i < k; ++i) {
                const double amount = cents(rng.lognormal(visits.mean_amount(200), 0.3));
                t.visits.row(id, day(p.any_day(rng)), amount, rng.pick(services));
            }
        }
    }
    const int64_t added = newcomers(o, p, 0.02);
    for (int64_t id = o.customers + 1; id <= o.customers + added; ++id) {
        const int32_t first_contact = p.any_day(rng);
        auto_browse(t, rng, id, first_contact, p.last, rng.range(1, 3));
        if (rng.chance(0.3))
            auto_interest(t.interactions, rng, id,
                          static_cast<int32_t>(rng.range(first_contact, p.last)));
        const bool opens = rng.chance(0.55);
        const int64_t opens_90d = opens ? rng.range(1, 10) : int64_t{0};
        const bool email_opt_in = rng.chance(0.85), sms_opt_in = rng.chance(0.7);
        const std::string& city = rng.pick(cities);
        t.customers.row(id, "Client " + std::to_string(id), city, day(first_contact),
                        rng.pick(sources), email_opt_in, opens_90d, sms_opt_in);
    }
    tally.new_customers = added;
    tally.fact_rows = {{"interactions", t.interactions.rows()},
                       {"purchases", t.purchases.rows()},
                       {"service_visits", t.visits.rows()}};
}

bool advance_possible(const DemoOptions& options, std::string& error) {
    if (options.kind == "cdnow") {
        error =
            "--advance does not apply to cdnow: it is a real log that ends on 1998-06-30, and "
            "strata does not invent what came after it";
        return false;
    }
    const int32_t days = add_duration(kEnd, *options.advance, 1).days - kEnd.days;
    if (days < 1 || days > kMaxAdvanceDays) {
        error = "--advance must be at least 1 day and at most " + std::to_string(kMaxAdvanceDays) +
                " days (2y), not " + format_duration(*options.advance);
        return false;
    }
    return true;
}

void advance_base(SQLite::Database& db, const DemoOptions& options, DemoResult& result) {
    const Period period{kEnd.days + 1, add_duration(kEnd, *options.advance, 1).days};
    Rng rng(options.seed ^ 0xA5A5'0D1F'F5EE'D000ull);  // the period's own random source
    AdvanceTally tally;
    if (options.kind == "retail")
        advance_retail(db, options, period, rng, tally);
    else if (options.kind == "carservice")
        advance_carservice(db, options, period, rng, tally);
    else if (options.kind == "auto")
        advance_auto(db, options, period, rng, tally);
    else if (options.kind == "saas")
        advance_saas(db, options, period, rng, tally);
    else if (options.kind == "streaming")
        advance_streaming(db, options, period, rng, tally);
    else if (options.kind == "telecom")
        advance_telecom(db, options, period, rng, tally);
    result.advanced_to = Date{period.last};
    result.new_customers = tally.new_customers;
    result.updated_customers = tally.updated_customers;
    result.added_rows = tally.fact_rows;
    result.customers = db.execAndGet("SELECT count(*) FROM customers").getInt64();
    for (auto& [table, rows] : result.fact_rows)
        rows = db.execAndGet("SELECT count(*) FROM " + table).getInt64();
}

}  // namespace strata::examples::detail
