// The period after a demo base's today for the subscription kinds: SaaS accounts pay, answer
// NPS surveys, fall behind on invoices, expand or churn; streaming trials convert or expire,
// payers cancel and some who left come back; telecom subscribers get their monthly bills and
// some change tariff. A few new customers sign up in the period.
#include "examples/demo_advance.hpp"

namespace strata::examples::detail {

namespace {

int64_t newcomers(const DemoOptions& o, const Period& p, double per_30_days) {
    return static_cast<int64_t>(
        std::llround(static_cast<double>(o.customers) * per_30_days * p.days() / 30.0));
}

std::optional<int64_t> optional_int(const SQLite::Column& c) {
    if (c.isNull()) return std::nullopt;
    return c.getInt64();
}

}  // namespace

void advance_saas(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                  AdvanceTally& tally) {
    const std::vector<std::string> modules{"crm",        "billing", "analytics",
                                           "automation", "support", "api"};
    const auto paid = read_history(db, "payments", "paid_date", "", "", o.customers);
    Inserter payments(
        db, "INSERT INTO payments (customer_id, paid_date, amount, status) VALUES (?,?,?,?)");
    Inserter events(db,
                    "INSERT INTO events (customer_id, event_date, event, module) VALUES (?,?,?,?)");
    Inserter update(db,
                    "UPDATE customers SET deal_stage = ?, nps = ?, overdue_invoices = ?, "
                    "expansions = ?, last_login = ?, ltv = ? WHERE customer_id = ?");
    struct Account {
        int64_t id;
        std::string stage;
        double mrr, discount, ltv;
        std::optional<int64_t> nps;
        int64_t overdue, expansions;
        int32_t last_login;
    };
    std::vector<Account> accounts;
    {
        SQLite::Statement read(db,
                               "SELECT customer_id, deal_stage, mrr, discount, ltv, nps, "
                               "overdue_invoices, expansions, last_login FROM customers ORDER BY "
                               "customer_id");
        while (read.executeStep()) {
            accounts.push_back({read.getColumn(0).getInt64(), read.getColumn(1).getString(),
                                read.getColumn(2).getDouble(), read.getColumn(3).getDouble(),
                                read.getColumn(4).getDouble(), optional_int(read.getColumn(5)),
                                read.getColumn(6).getInt64(), read.getColumn(7).getInt64(),
                                parse_date(read.getColumn(8).getString())->days});
        }
    }
    for (Account& a : accounts) {
        if (a.stage == "churned") continue;
        const bool at_risk = (a.nps && *a.nps <= 6) || a.overdue >= 2;
        std::optional<int32_t> churned_on;
        if (rng.chance(p.chance(at_risk ? 0.05 : 0.012))) churned_on = p.any_day(rng);
        const double fee = cents(a.mrr * (1 - a.discount));
        const int32_t last_paid = paid[static_cast<size_t>(a.id)].last;
        for (int32_t d = last_paid + 30; d <= p.last && (!churned_on || d < *churned_on); d += 30) {
            const bool late = rng.chance(a.discount >= 0.15 || a.overdue > 0 ? 0.15 : 0.05);
            payments.row(a.id, day(d), fee, late ? "late" : "paid");
            a.ltv = cents(a.ltv + fee);
        }
        if (rng.chance(p.chance(0.12))) {  // answered an NPS survey
            const double before = a.nps ? static_cast<double>(*a.nps) : 7.5;
            a.nps = std::clamp<int64_t>(
                std::llround(before + 2.0 * rng.normal() - (churned_on ? 2 : 0)), 0, 10);
        }
        if (rng.chance(p.chance(0.06))) {
            const bool settles = a.overdue > 0 && rng.chance(0.6);
            a.overdue = settles ? 0 : a.overdue + 1;
        }
        if (rng.chance(p.chance(0.02))) ++a.expansions;
        if (churned_on) {
            a.stage = "churned";
            a.last_login =
                std::max(a.last_login, *churned_on - static_cast<int32_t>(rng.range(0, 5)));
        } else {
            a.last_login = std::max(a.last_login, p.last - static_cast<int32_t>(rng.range(0, 20)));
            const int64_t n = std::min<int64_t>(4, rng.poisson(p.days() / 10.0));
            for (int64_t k = 0; k < n; ++k) {
                const int32_t when = p.any_day(rng);
                const char* event = rng.chance(0.7) ? "workflow_run" : "report_view";
                events.row(a.id, day(when), event, rng.pick(modules));
            }
        }
        update.row(a.stage, a.nps, a.overdue, a.expansions, day(a.last_login), a.ltv, a.id);
    }
    // New accounts: mostly small companies on the starter plan, not yet surveyed.
    const std::vector<std::string> industries{"IT",         "retail",    "manufacturing", "finance",
                                              "healthcare", "logistics", "education",     "media"};
    const std::vector<std::string> regions{"EU", "NA", "CIS", "APAC", "LATAM"};
    const std::vector<std::string> channels{"inbound", "outbound", "partner", "referral"};
    const std::vector<std::string> jobs{"operational efficiency", "revenue growth",
                                        "risk reduction"};
    Inserter customers(
        db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    const int64_t added = newcomers(o, p, 0.02);
    for (int64_t id = o.customers + 1; id <= o.customers + added; ++id) {
        const size_t size_class = rng.weighted({0.7, 0.25, 0.05});
        const int64_t employees = size_class == 0   ? rng.range(10, 199)
                                  : size_class == 1 ? rng.range(200, 999)
                                                    : rng.range(1000, 20000);
        const std::string plan = size_class == 2   ? "enterprise"
                                 : size_class == 1 ? "growth"
                                                   : "starter";
        const double mrr = cents(rng.lognormal(size_class == 2   ? 2500
                                               : size_class == 1 ? 399
                                                                 : 49,
                                               0.4));
        const int32_t signup = p.any_day(rng);
        const int32_t last_login = static_cast<int32_t>(rng.range(signup, p.last));
        std::optional<std::string> industry;
        if (!rng.chance(0.15)) industry = rng.pick(industries);
        const std::string& region = rng.pick(regions);
        const bool distributed = employees > 150 && rng.chance(0.5);
        const std::string& channel = rng.pick(channels);
        const int64_t active = rng.range(1, 10), logins = rng.range(3, 40);
        const double core_use = cents(0.2 + 0.5 * rng.uniform());
        const double discount = rng.chance(0.2) ? 0.05 : 0.0;
        customers.row(id, "Company " + std::to_string(id), industry, employees, region, distributed,
                      plan, mrr, cents(mrr * (1 - discount)), channel,
                      size_class == 2   ? "premium"
                      : size_class == 1 ? "standard"
                                        : "basic",
                      "won", day(signup), day(last_login), active, int64_t{1}, logins, core_use,
                      static_cast<int64_t>(core_use * 10), nullptr, int64_t{0}, discount,
                      int64_t{0}, rng.pick(jobs));
        payments.row(id, day(signup), cents(mrr * (1 - discount)), "paid");
    }
    tally.new_customers = added;
    tally.updated_customers = update.rows();
    tally.fact_rows = {{"payments", payments.rows()}, {"events", events.rows()}};
}

void advance_streaming(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                       AdvanceTally& tally) {
    const std::vector<std::string> contents{"movies", "series", "sport", "docs"};
    const auto paid = read_history(db, "payments", "paid_date", "", "", o.customers);
    const auto watched = read_history(db, "sessions", "started_at", "", "ip", o.customers);
    Inserter payments(db, "INSERT INTO payments (customer_id, paid_date, amount) VALUES (?,?,?)");
    Inserter sessions(db,
                      "INSERT INTO sessions (customer_id, started_at, device, ip, content, "
                      "minutes) VALUES (?,?,?,?,?,?)");
    Inserter update(db,
                    "UPDATE customers SET plan = ?, status = ?, cancelled_at = ?, monthly_fee = ? "
                    "WHERE customer_id = ?");
    auto pay_from = [&](int64_t id, int32_t from, int32_t until, double fee) {
        for (int32_t d = from; d <= until; d += 30)
            payments.row(id, day(d), fee);
    };
    auto watch = [&](int64_t id, int32_t from, int32_t until, const std::string& device,
                     const std::string& ip, bool kids) {
        const int64_t n = std::min<int64_t>(12, rng.poisson((until - from + 1) / 4.0));
        for (int64_t k = 0; k < n && from <= until; ++k) {
            const int32_t d = static_cast<int32_t>(rng.range(from, until));
            const int64_t hour = 10 + rng.range(0, 13);
            const int64_t minute = 10 + rng.range(0, 49);
            const std::string when =
                day(d) + " " + std::to_string(hour) + ":" + std::to_string(minute) + ":00";
            const std::string content = kids && rng.chance(0.6) ? "kids" : rng.pick(contents);
            sessions.row(id, when, device, ip, content, rng.range(5, 180));
        }
    };
    struct Subscriber {
        int64_t id;
        std::string plan, status;
        int32_t trial_end;
        std::string device;
        bool kids;
        double fee;
    };
    std::vector<Subscriber> subscribers;
    {
        SQLite::Statement read(db,
                               "SELECT customer_id, plan, status, trial_end, device, kids_profile, "
                               "monthly_fee FROM customers ORDER BY customer_id");
        while (read.executeStep()) {
            subscribers.push_back({read.getColumn(0).getInt64(), read.getColumn(1).getString(),
                                   read.getColumn(2).getString(),
                                   parse_date(read.getColumn(3).getString())->days,
                                   read.getColumn(4).getString(), read.getColumn(5).getInt() != 0,
                                   read.getColumn(6).getDouble()});
        }
    }
    for (Subscriber& s : subscribers) {
        const History& w = watched[static_cast<size_t>(s.id)];
        const std::string ip = w.n ? w.last_label : "10." + std::to_string(s.id % 250 + 1) + ".0.7";
        std::optional<int32_t> cancelled_on;
        if (s.status == "trial") {
            watch(s.id, p.first, std::min(s.trial_end, p.last), s.device, ip, s.kids);
            if (s.trial_end > p.last) continue;
            if (rng.chance(0.55)) {  // converts to the monthly plan
                s = {s.id, "monthly", "active", s.trial_end, s.device, s.kids, 7.99};
                pay_from(s.id, s.trial_end, p.last, s.fee);
                watch(s.id, s.trial_end, p.last, s.device, ip, s.kids);
            } else {
                s.status = "expired";
                cancelled_on = s.trial_end;
            }
        } else if (s.status == "active") {
            if (rng.chance(p.chance(0.035))) cancelled_on = p.any_day(rng);
            const int32_t until = cancelled_on ? *cancelled_on - 1 : p.last;
            pay_from(s.id, paid[static_cast<size_t>(s.id)].last + 30, until, s.fee);
            watch(s.id, p.first, until, s.device, ip, s.kids);
            if (cancelled_on) s.status = "cancelled";
            if (!cancelled_on) continue;  // nothing about the row changed
        } else {
            if (!rng.chance(p.chance(0.02))) continue;
            const int32_t back = p.any_day(rng);  // comes back on the monthly plan
            s = {s.id, "monthly", "active", s.trial_end, s.device, s.kids, 7.99};
            pay_from(s.id, back, p.last, s.fee);
            watch(s.id, back, p.last, s.device, ip, s.kids);
        }
        std::optional<std::string> cancelled;
        if (cancelled_on) cancelled = day(*cancelled_on);
        update.row(s.plan, s.status, cancelled, s.fee, s.id);
    }
    // New trialists; those whose 14 days end in the period have converted or expired.
    const std::vector<std::string> countries{"UA", "KZ", "GE", "AM", "PL", "DE"};
    const std::vector<std::string> devices{"smart_tv", "phone", "web", "tablet"};
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?)");
    const int64_t added = newcomers(o, p, 0.04);
    for (int64_t id = o.customers + 1; id <= o.customers + added; ++id) {
        const int32_t signup = p.any_day(rng), trial_end = signup + 14;
        const std::string& country = rng.pick(countries);
        const std::string device = devices[rng.weighted({0.4, 0.35, 0.15, 0.1})];
        const bool kids = rng.chance(0.25);
        const std::string ip = "10." + std::to_string(rng.range(1, 250)) + ".0.7";
        std::string plan = "trial", status = "trial";
        std::optional<std::string> cancelled;
        double fee = 0.0;
        watch(id, signup, std::min(trial_end, p.last), device, ip, kids);
        if (trial_end <= p.last) {
            if (rng.chance(0.55)) {
                plan = "monthly", status = "active", fee = 7.99;
                pay_from(id, trial_end, p.last, fee);
            } else {
                status = "expired", cancelled = day(trial_end);
            }
        }
        customers.row(id, plan, status, day(signup), day(trial_end), cancelled, country, device,
                      kids, fee);
    }
    tally.new_customers = added;
    tally.updated_customers = update.rows();
    tally.fact_rows = {{"sessions", sessions.rows()}, {"payments", payments.rows()}};
}

void advance_telecom(SQLite::Database& db, const DemoOptions& o, const Period& p, Rng& rng,
                     AdvanceTally& tally) {
    const auto billed = read_history(db, "bills", "bill_date", "amount", "", o.customers);
    const auto data = read_history(db, "bills", "bill_date", "data_gb", "", o.customers);
    // Bills are dated on the 1st of each month, as in the base.
    std::vector<int32_t> bill_days;
    for (int32_t m = 1;; ++m) {
        const int32_t d = add_duration(kEnd, Duration{m, 0}, 1).days;
        if (d > p.last) break;
        bill_days.push_back(d);
    }
    const std::vector<std::string> tariffs{"basic", "smart", "unlimited"};
    Inserter bills(db,
                   "INSERT INTO bills (customer_id, bill_date, amount, data_gb, voice_min) VALUES "
                   "(?,?,?,?,?)");
    Inserter update(db, "UPDATE customers SET tariff = ?, tenure_months = ? WHERE customer_id = ?");
    struct Subscriber {
        int64_t id;
        std::string tariff;
        int64_t tenure;
    };
    std::vector<Subscriber> subscribers;
    {
        SQLite::Statement read(
            db, "SELECT customer_id, tariff, tenure_months FROM customers ORDER BY customer_id");
        while (read.executeStep())
            subscribers.push_back({read.getColumn(0).getInt64(), read.getColumn(1).getString(),
                                   read.getColumn(2).getInt64()});
    }
    for (const Subscriber& s : subscribers) {
        const size_t tier = static_cast<size_t>(
            std::find(tariffs.begin(), tariffs.end(), s.tariff) - tariffs.begin());
        double factor = 1.0;
        std::string tariff = s.tariff;
        if (tier < 2 && rng.chance(p.chance(0.03))) {  // upgrades
            tariff = tariffs[tier + 1], factor = 2.0;
        } else if (tier > 0 && tier < tariffs.size() && rng.chance(p.chance(0.015))) {
            tariff = tariffs[tier - 1], factor = 0.5;
        }
        const double arpu = billed[static_cast<size_t>(s.id)].mean_amount(10) * factor;
        const double gb = data[static_cast<size_t>(s.id)].mean_amount(2) * factor;
        for (int32_t d : bill_days) {
            const double amount = cents(rng.lognormal(arpu, 0.1));
            const double used = cents(rng.lognormal(gb, 0.3));
            bills.row(s.id, day(d), amount, used, rng.range(20, 900));
        }
        if (tariff != s.tariff || !bill_days.empty())
            update.row(tariff, s.tenure + static_cast<int64_t>(bill_days.size()), s.id);
    }
    // New subscribers: basic and smart tariffs, billed from the first 1st after they joined.
    const std::vector<std::string> regions{"north", "south",   "east",
                                           "west",  "capital", "mountains"};
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?)");
    const int64_t added = newcomers(o, p, 0.015);
    for (int64_t id = o.customers + 1; id <= o.customers + added; ++id) {
        const int32_t joined = p.any_day(rng);
        const size_t tier = rng.weighted({0.6, 0.4});
        const std::string& region = rng.pick(regions);
        const std::string competition = region == "mountains" || region == "north" ? "low"
                                        : region == "capital"                      ? "high"
                                                                                   : "mid";
        const bool prepaid = rng.chance(0.6);
        const int64_t age = rng.range(18, 80);
        int64_t months = 0;
        for (int32_t d : bill_days) {
            if (d <= joined) continue;
            const double amount = cents(rng.lognormal(tier == 0 ? 8 : 20, 0.25));
            const double used = cents(rng.lognormal(tier == 0 ? 1.5 : 6, 0.5));
            bills.row(id, day(d), amount, used, rng.range(20, 900));
            ++months;
        }
        customers.row(id, tariffs[tier], prepaid ? "prepaid" : "postpaid", region, competition,
                      tier == 0 ? "Basic 2" : "Galaxy A", tier == 0 ? 90.0 : 250.0, months, age);
    }
    tally.new_customers = added;
    tally.updated_customers = update.rows();
    tally.fact_rows = {{"bills", bills.rows()}};
}

}  // namespace strata::examples::detail
