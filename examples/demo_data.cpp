#include "examples/demo_data.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "dsl/calendar.hpp"
#include "examples/demo_advance.hpp"
#include "examples/demo_auto.hpp"
#include "examples/demo_support.hpp"
#include "files/partial_file.hpp"

namespace strata::examples {

namespace {

using namespace detail;

// ---- B2B SaaS (seeds 000, 002, 003) ----
void saas(SQLite::Database& db, const DemoOptions& o, DemoResult& result) {
    db.exec(R"sql(
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY, company TEXT, industry TEXT, employees INTEGER, region TEXT,
  distributed_teams BOOLEAN, plan TEXT, mrr REAL, ltv REAL, channel TEXT, support_tier TEXT,
  deal_stage TEXT, signup_date DATE, last_login DATE, active_users INTEGER, modules_used INTEGER,
  logins_30d INTEGER, core_feature_use REAL, key_workflows INTEGER, nps INTEGER,
  overdue_invoices INTEGER, discount REAL, expansions INTEGER, job_to_be_done TEXT);
CREATE TABLE payments (payment_id INTEGER PRIMARY KEY, customer_id INTEGER, paid_date DATE, amount REAL, status TEXT);
CREATE TABLE events (event_id INTEGER PRIMARY KEY, customer_id INTEGER, event_date DATE, event TEXT, module TEXT);
)sql");
    Rng rng(o.seed);
    const std::vector<std::string> industries{"IT",         "retail",    "manufacturing", "finance",
                                              "healthcare", "logistics", "education",     "media"};
    const std::vector<std::string> regions{"EU", "NA", "CIS", "APAC", "LATAM"};
    const std::vector<std::string> channels{"inbound", "outbound", "partner", "referral"};
    const std::vector<std::string> jobs{"operational efficiency", "revenue growth",
                                        "risk reduction"};
    const std::vector<std::string> modules{"crm",        "billing", "analytics",
                                           "automation", "support", "api"};
    Inserter customers(
        db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    Inserter payments(
        db, "INSERT INTO payments (customer_id, paid_date, amount, status) VALUES (?,?,?,?)");
    Inserter events(db,
                    "INSERT INTO events (customer_id, event_date, event, module) VALUES (?,?,?,?)");
    for (int64_t id = 1; id <= o.customers; ++id) {
        // Company size: mostly small, a long tail of large ones.
        const size_t size_class = rng.weighted({0.55, 0.3, 0.15});
        const int64_t employees = size_class == 0   ? rng.range(10, 199)
                                  : size_class == 1 ? rng.range(200, 999)
                                                    : rng.range(1000, 20000);
        const std::string plan = size_class == 2   ? (rng.chance(0.8) ? "enterprise" : "growth")
                                 : size_class == 1 ? (rng.chance(0.6)   ? "growth"
                                                      : rng.chance(0.5) ? "enterprise"
                                                                        : "starter")
                                                   : (rng.chance(0.75) ? "starter" : "growth");
        const double base_mrr = plan == "starter" ? 49 : plan == "growth" ? 399 : 2500;
        const double mrr =
            cents(rng.lognormal(base_mrr, 0.4) * (1 + static_cast<double>(employees) / 5000.0));
        const int32_t signup = kEnd.days - static_cast<int32_t>(rng.range(10, 1500));
        const double months = (kEnd.days - signup) / 30.4;
        const bool churned = rng.chance(0.12);
        const bool cost_sensitive = rng.chance(0.2);
        const double discount =
            cost_sensitive ? cents(rng.range(10, 40) / 100.0) : (rng.chance(0.2) ? 0.05 : 0.0);
        const int64_t seats = std::max<int64_t>(
            1, static_cast<int64_t>(static_cast<double>(employees) * rng.range(5, 60) / 100.0));
        const int64_t active =
            churned ? rng.range(0, 2)
                    : std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(seats) *
                                                                (0.3 + 0.7 * rng.uniform())));
        const bool shallow = rng.chance(0.15);  // many logins, little use of the core
        const int64_t logins = churned   ? rng.range(0, 3)
                               : shallow ? rng.range(60, 300)
                                         : rng.range(3, 120);
        const double core_use = churned   ? 0.0
                                : shallow ? cents(rng.uniform() * 0.2)
                                          : cents(0.2 + 0.8 * rng.uniform());
        const int64_t n_modules =
            std::min<int64_t>(6, 1 + static_cast<int64_t>(rng.uniform() * (size_class + 2) * 1.6));
        const int32_t last_login = churned ? kEnd.days - static_cast<int32_t>(rng.range(45, 400))
                                           : kEnd.days - static_cast<int32_t>(rng.range(0, 20));
        std::optional<int64_t> nps;
        if (rng.chance(0.4))
            nps = std::clamp<int64_t>(
                static_cast<int64_t>(std::round(7.5 + 2.2 * rng.normal() - (churned ? 3 : 0))), 0,
                10);
        const int64_t overdue =
            churned || cost_sensitive ? rng.range(0, 3) : (rng.chance(0.08) ? rng.range(1, 2) : 0);
        std::optional<std::string> industry;
        if (!rng.chance(0.15)) industry = rng.pick(industries);
        const std::string stage = churned ? "churned" : (rng.chance(0.1) ? "renewal" : "won");
        customers.row(id, "Company " + std::to_string(id), industry, employees, rng.pick(regions),
                      employees > 150 && rng.chance(0.5), plan, mrr,
                      cents(mrr * months * (1 - discount)), rng.pick(channels),
                      size_class == 2   ? "premium"
                      : size_class == 1 ? "standard"
                                        : "basic",
                      stage, day(signup), day(last_login), active, n_modules, logins, core_use,
                      static_cast<int64_t>(core_use * 10), nps, overdue, discount,
                      size_class > 0 ? rng.range(0, 4) : rng.range(0, 1), rng.pick(jobs));
        // Monthly payments since signup (up to the last 12).
        const int32_t stop = churned ? last_login : kEnd.days;
        for (int32_t d = std::max(signup, kEnd.days - 365); d <= stop; d += 30) {
            payments.row(id, day(d), cents(mrr * (1 - discount)),
                         rng.chance(0.05) ? "late" : "paid");
        }
        const int64_t n_events = std::min<int64_t>(logins / 4 + 1, 30);
        for (int64_t e = 0; e < n_events; ++e) {
            events.row(id, day(last_login - static_cast<int32_t>(rng.range(0, 90))),
                       rng.chance(0.7) ? "workflow_run" : "report_view", rng.pick(modules));
        }
    }
    result.fact_rows = {{"payments", payments.rows()}, {"events", events.rows()}};
}

// ---- Retail orders (seeds 001, 004): RFM, ABC/XYZ, frequency, product breadth ----
void retail(SQLite::Database& db, const DemoOptions& o, DemoResult& result) {
    db.exec(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, city TEXT, gender TEXT,
  signup_date DATE, email_opt_in BOOLEAN, loyalty_card BOOLEAN);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE, amount REAL,
  category TEXT, items INTEGER);
)sql");
    Rng rng(o.seed);
    const std::vector<std::string> cities{"Moscow",  "Kyiv", "Almaty", "Minsk",
                                          "Tbilisi", "Riga", "Kazan",  "Odesa"};
    const std::vector<std::string> categories{"skincare", "makeup",  "fragrance", "haircare",
                                              "phones",   "laptops", "audio",     "accessories"};
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?)");
    Inserter orders(
        db,
        "INSERT INTO orders (customer_id, order_date, amount, category, items) VALUES (?,?,?,?,?)");
    for (int64_t id = 1; id <= o.customers; ++id) {
        const int32_t signup = kEnd.days - static_cast<int32_t>(rng.range(1, 1100));
        // Archetypes: never bought, one-off, occasional, regular, VIP.
        const size_t kind = rng.weighted({0.08, 0.32, 0.30, 0.22, 0.08});
        int64_t n = kind == 0   ? 0
                    : kind == 1 ? 1
                    : kind == 2 ? rng.range(2, 5)
                    : kind == 3 ? rng.range(6, 25)
                                : rng.range(20, 80);
        const double median = kind == 4 ? 140 : kind == 3 ? 70 : 45;
        // Some stopped buying a while ago.
        const int32_t active_until =
            rng.chance(0.35) ? kEnd.days - static_cast<int32_t>(rng.range(60, 700)) : kEnd.days;
        const int32_t span = std::max(1, active_until - signup);
        const int64_t breadth = 1 + static_cast<int64_t>(rng.uniform() * rng.uniform() * 8);
        const size_t first_category = static_cast<size_t>(rng.range(0, 7));
        const bool seasonal = rng.chance(0.3);
        std::optional<std::string> gender;
        if (!rng.chance(0.3)) gender = rng.chance(0.7) ? "f" : "m";
        customers.row(id, "Customer " + std::to_string(id), rng.pick(cities), gender, day(signup),
                      rng.chance(0.6), rng.chance(0.25));
        for (int64_t k = 0; k < n; ++k) {
            int32_t d = signup + static_cast<int32_t>(rng.range(0, span));
            if (seasonal && rng.chance(0.6)) {  // holiday shoppers cluster in December
                const auto c = civil_from_days(d);
                d = days_from_civil(c.year, 12, static_cast<int>(rng.range(1, 28)));
                if (d > active_until || d < signup)
                    d = signup + static_cast<int32_t>(rng.range(0, span));
            }
            const std::string& category =
                categories[(first_category + static_cast<size_t>(rng.range(0, breadth - 1))) %
                           categories.size()];
            orders.row(id, day(d), cents(rng.lognormal(median, 0.6)), category, rng.range(1, 4));
        }
    }
    result.fact_rows = {{"orders", orders.rows()}};
}

// ---- Streaming subscriptions (seed 004) ----
void streaming(SQLite::Database& db, const DemoOptions& o, DemoResult& result) {
    db.exec(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, plan TEXT, status TEXT, signup_date DATE,
  trial_end DATE, cancelled_at DATE, country TEXT, device TEXT, kids_profile BOOLEAN, monthly_fee REAL);
CREATE TABLE sessions (session_id INTEGER PRIMARY KEY, customer_id INTEGER, started_at DATETIME,
  device TEXT, ip TEXT, content TEXT, minutes INTEGER);
CREATE TABLE payments (payment_id INTEGER PRIMARY KEY, customer_id INTEGER, paid_date DATE, amount REAL);
)sql");
    Rng rng(o.seed);
    const std::vector<std::string> countries{"UA", "KZ", "GE", "AM", "PL", "DE"};
    const std::vector<std::string> devices{"smart_tv", "phone", "web", "tablet"};
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?)");
    Inserter sessions(db,
                      "INSERT INTO sessions (customer_id, started_at, device, ip, content, "
                      "minutes) VALUES (?,?,?,?,?,?)");
    Inserter payments(db, "INSERT INTO payments (customer_id, paid_date, amount) VALUES (?,?,?)");
    for (int64_t id = 1; id <= o.customers; ++id) {
        const size_t state =
            rng.weighted({0.15, 0.55, 0.2, 0.1});  // trial, active, cancelled, expired
        const int32_t signup = state == 0 ? kEnd.days - static_cast<int32_t>(rng.range(0, 13))
                                          : kEnd.days - static_cast<int32_t>(rng.range(30, 900));
        const std::string plan = state == 0 ? "trial" : rng.chance(0.7) ? "monthly" : "annual";
        const std::string status = state == 0   ? "trial"
                                   : state == 1 ? "active"
                                   : state == 2 ? "cancelled"
                                                : "expired";
        const double fee = plan == "trial" ? 0.0 : plan == "monthly" ? 7.99 : 5.99;
        std::optional<std::string> cancelled;
        int32_t last_day = kEnd.days;
        if (state >= 2) {
            last_day = kEnd.days - static_cast<int32_t>(
                                       rng.range(5, std::max<int32_t>(6, kEnd.days - signup - 14)));
            cancelled = day(last_day);
        }
        const std::string device = devices[rng.weighted({0.4, 0.35, 0.15, 0.1})];
        const bool kids = rng.chance(0.25);
        const bool ip_hopper = rng.chance(0.08);
        customers.row(id, plan, status, day(signup), day(signup + 14), cancelled,
                      rng.pick(countries), device, kids, fee);
        const int64_t n = state >= 2 ? rng.range(0, 8) : rng.range(2, 30);
        const int64_t home_ip = rng.range(1, 250);
        for (int64_t k = 0; k < n; ++k) {
            const int32_t d = std::max(signup, last_day - static_cast<int32_t>(rng.range(0, 60)));
            const std::string when = day(d) + " " + std::to_string(10 + rng.range(0, 13)) + ":" +
                                     std::to_string(10 + rng.range(0, 49)) + ":00";
            const std::string ip = "10." + std::to_string(ip_hopper ? rng.range(1, 250) : home_ip) +
                                   ".0." + std::to_string(ip_hopper ? rng.range(1, 250) : 7);
            const std::string content =
                kids && rng.chance(0.6)
                    ? "kids"
                    : rng.pick(std::vector<std::string>{"movies", "series", "sport", "docs"});
            sessions.row(id, when, rng.chance(0.8) ? device : rng.pick(devices), ip, content,
                         rng.range(5, 180));
        }
        if (fee > 0) {
            for (int32_t d = signup + 14; d <= last_day; d += 30)
                payments.row(id, day(d), fee);
        }
    }
    result.fact_rows = {{"sessions", sessions.rows()}, {"payments", payments.rows()}};
}

// ---- Telecom (seed 004): ARPU tiers ----
void telecom(SQLite::Database& db, const DemoOptions& o, DemoResult& result) {
    db.exec(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, tariff TEXT, contract TEXT, region TEXT,
  region_competition TEXT, device_model TEXT, device_price REAL, tenure_months INTEGER, age INTEGER);
CREATE TABLE bills (bill_id INTEGER PRIMARY KEY, customer_id INTEGER, bill_date DATE, amount REAL,
  data_gb REAL, voice_min INTEGER);
)sql");
    Rng rng(o.seed);
    const std::vector<std::string> regions{"north", "south",   "east",
                                           "west",  "capital", "mountains"};
    struct Device {
        const char* model;
        double price;
    };
    const std::vector<Device> device_list{{"Basic 2", 90},     {"Galaxy A", 250},
                                          {"Redmi Note", 220}, {"iPhone 15", 1100},
                                          {"Galaxy S", 950},   {"Pixel", 800}};
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?)");
    Inserter bills(db,
                   "INSERT INTO bills (customer_id, bill_date, amount, data_gb, voice_min) VALUES "
                   "(?,?,?,?,?)");
    for (int64_t id = 1; id <= o.customers; ++id) {
        const size_t tier = rng.weighted({0.5, 0.35, 0.15});
        const double arpu_median = tier == 0 ? 8 : tier == 1 ? 20 : 45;
        const Device& device = device_list[tier == 2 ? static_cast<size_t>(rng.range(3, 5))
                                                     : static_cast<size_t>(rng.range(0, 3))];
        const std::string region = rng.pick(regions);
        const std::string competition = region == "mountains" || region == "north" ? "low"
                                        : region == "capital"                      ? "high"
                                                                                   : "mid";
        const int64_t tenure = rng.range(1, 120);
        customers.row(id,
                      tier == 0   ? "basic"
                      : tier == 1 ? "smart"
                                  : "unlimited",
                      rng.chance(0.6) ? "prepaid" : "postpaid", region, competition, device.model,
                      device.price, tenure, rng.range(18, 80));
        const double heavy = rng.chance(0.15) ? 4.0 : 1.0;
        const int64_t months = std::min<int64_t>(6, tenure);
        for (int64_t m = 0; m < months; ++m) {
            const Date d = add_duration(kEnd, Duration{static_cast<int32_t>(m), 0}, -1);
            bills.row(id, format_date(d), cents(rng.lognormal(arpu_median, 0.25)),
                      cents(rng.lognormal(tier == 0   ? 1.5
                                          : tier == 1 ? 6
                                                      : 18,
                                          0.5) *
                            heavy),
                      rng.range(20, 900));
        }
    }
    result.fact_rows = {{"bills", bills.rows()}};
}

// ---- Car service (seed 004): RFM on visits ----
void carservice(SQLite::Database& db, const DemoOptions& o, DemoResult& result) {
    db.exec(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, car_make TEXT, car_year INTEGER,
  phone TEXT, email_opt_in BOOLEAN, email_opens_90d INTEGER, sms_opt_in BOOLEAN);
CREATE TABLE visits (visit_id INTEGER PRIMARY KEY, customer_id INTEGER, visit_date DATE, amount REAL, service TEXT);
)sql");
    Rng rng(o.seed);
    const std::vector<std::string> makes{"Lada", "Toyota", "Kia", "Hyundai",
                                         "VW",   "Skoda",  "BMW", "Renault"};
    const std::vector<std::string> services{"oil change",  "tyres",       "brakes",
                                            "diagnostics", "body repair", "inspection"};
    Inserter customers(db, "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?)");
    Inserter visits(
        db, "INSERT INTO visits (customer_id, visit_date, amount, service) VALUES (?,?,?,?)");
    for (int64_t id = 1; id <= o.customers; ++id) {
        const int64_t car_year = rng.range(2008, 2026);
        const bool opens = rng.chance(0.45);
        customers.row(id, "Client " + std::to_string(id), rng.pick(makes), car_year,
                      "+7900" + std::to_string(1000000 + id), rng.chance(0.8),
                      opens ? rng.range(1, 12) : int64_t{0}, rng.chance(0.7));
        const int64_t n = rng.weighted({0.3, 0.4, 0.3}) == 0 ? 1 : rng.range(2, 14);
        const int32_t last = kEnd.days - static_cast<int32_t>(rng.chance(0.4) ? rng.range(200, 900)
                                                                              : rng.range(0, 180));
        const double median = car_year < 2015 ? 60 : 140;
        for (int64_t k = 0; k < n; ++k) {
            visits.row(id, day(last - static_cast<int32_t>(rng.range(0, 700) * (k > 0))),
                       cents(rng.lognormal(median, 0.7)), rng.pick(services));
        }
    }
    result.fact_rows = {{"visits", visits.rows()}};
}

// ---- CDNOW: the real transaction log ----
bool cdnow(SQLite::Database& db, const DemoOptions& o, DemoResult& result, std::string& error) {
    std::error_code ec;
    if (std::filesystem::is_directory(o.cdnow_source, ec)) {
        error = "the CDNOW log '" + o.cdnow_source + "' is a directory, not a file";
        return false;
    }
    std::ifstream in(o.cdnow_source);
    if (!in) {
        error = "cannot read the CDNOW log '" + o.cdnow_source + "'";
        return false;
    }
    db.exec(R"sql(
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, first_purchase DATE, cohort TEXT);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, order_date DATE, cds INTEGER, amount REAL);
)sql");
    Inserter orders(db,
                    "INSERT INTO orders (customer_id, order_date, cds, amount) VALUES (?,?,?,?)");
    std::string line;
    int64_t line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        std::istringstream fields(line);
        std::string id, date;
        int64_t cds = 0;
        double amount = 0;
        if (!(fields >> id >> date >> cds >> amount)) {
            if (line_number == 1) continue;  // the header
            error = o.cdnow_source + ":" + std::to_string(line_number) +
                    ": expected 'id YYYYMMDD cds amount'";
            return false;
        }
        const auto d =
            parse_date(date.substr(0, 4) + "-" + date.substr(4, 2) + "-" + date.substr(6, 2));
        if (date.size() != 8 || !d) {
            error =
                o.cdnow_source + ":" + std::to_string(line_number) + ": bad date '" + date + "'";
            return false;
        }
        int64_t customer = 0;
        const auto [end, problem] = std::from_chars(id.data(), id.data() + id.size(), customer);
        if (problem != std::errc() || end != id.data() + id.size()) {
            error = o.cdnow_source + ":" + std::to_string(line_number) + ": bad customer id '" +
                    id + "' (a whole number)";
            return false;
        }
        orders.row(customer, format_date(*d), cds, amount);
    }
    db.exec(
        "INSERT INTO customers SELECT customer_id, min(order_date), substr(min(order_date), 1, 7) "
        "FROM orders GROUP BY customer_id");
    result.customers = db.execAndGet("SELECT count(*) FROM customers").getInt64();
    result.fact_rows = {{"orders", orders.rows()}};
    if (result.customers == 0) {
        error = "the CDNOW log '" + o.cdnow_source + "' has no orders";
        return false;
    }
    return true;
}

}  // namespace

const std::vector<std::string>& demo_kinds() {
    static const std::vector<std::string> kinds{"saas",       "retail", "streaming", "telecom",
                                                "carservice", "auto",   "cdnow"};
    return kinds;
}

Date demo_today() {
    return kEnd;
}

namespace {

// Why the file at `path` must not be replaced, or "" when it may: nothing is there, it is
// empty, or it is a demo base this command wrote (stamped with kDemoApplicationId) that holds
// no stored runs and no outbox.
std::string refuses_overwrite(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) return "";
    if (fs::is_directory(status))
        return "'" + path + "' is a folder; --out names the file to write";
    if (!fs::is_regular_file(status)) return "'" + path + "' is not a regular file";
    if (fs::file_size(path, ec) == 0 && !ec) return "";
    const std::string keep = "; remove it first, or write elsewhere";
    try {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        if (db.execAndGet("PRAGMA application_id").getInt64() != kDemoApplicationId)
            return "'" + path + "' is a SQLite database that demo-data did not write" + keep;
        for (const char* table : {"strata_runs", "strata_outbox"}) {
            SQLite::Statement has(db,
                                  "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?");
            has.bind(1, table);
            if (!has.executeStep()) continue;
            const int64_t rows =
                db.execAndGet(std::string("SELECT count(*) FROM ") + table).getInt64();
            if (rows > 0)
                return "'" + path + "' holds " + std::to_string(rows) +
                       (std::string(table) == "strata_runs" ? " stored run" : " outbox action") +
                       (rows == 1 ? "" : "s") + keep;
        }
    } catch (const SQLite::Exception& e) {
        if (e.getErrorCode() == SQLITE_NOTADB)
            return "'" + path + "' is not a SQLite database" + keep;
        return "cannot read '" + path + "' to see whether it may be replaced: " + e.what();
    }
    return "";
}

// Why a new file cannot be written beside `path`, or "".
std::string refuses_folder(const std::string& path) {
    namespace fs = std::filesystem;
    fs::path folder = fs::path(path).parent_path();
    if (folder.empty()) folder = ".";
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) return "the folder '" + folder.string() + "' does not exist";
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        return "cannot write in the folder '" + folder.string() + "': " + std::strerror(errno);
    return "";
}

}  // namespace

bool generate(const DemoOptions& options, DemoResult& result, std::string& error) {
    namespace fs = std::filesystem;
    if (options.customers < 1 || options.customers > 100000000) {
        error = "--customers must be between 1 and 100000000";
        return false;
    }
    if (options.advance && !advance_possible(options, error)) return false;
    if (std::string why = refuses_overwrite(options.out); !why.empty()) {
        error = why;
        return false;
    }
    // Written beside the target under a name of its own (files/partial_file.hpp), renamed
    // over the target once whole. A process killed meanwhile leaves it; nothing else reads it.
    // A symbolic link at --out stays one: its file gets the base.
    std::string partial_error;
    const std::optional<files::ReplacedFile> replaced =
        files::file_to_replace(options.out, partial_error);
    if (!replaced) {
        error = "cannot write the base: " + partial_error;
        return false;
    }
    if (std::string why = refuses_folder(replaced->path); !why.empty()) {
        error = why;
        return false;
    }
    const fs::path target(replaced->path);
    const std::optional<std::string> partial =
        files::make_partial_beside(replaced->path, partial_error);
    if (!partial) {
        error = "cannot write '" + options.out + "': " + partial_error;
        return false;
    }
    const fs::path temp = *partial;
    std::error_code ec;
    try {
        {
            SQLite::Database db(temp.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
            db.exec("PRAGMA application_id = " + std::to_string(kDemoApplicationId));
            SQLite::Transaction tx(db);
            result.customers = options.customers;
            bool ok = true;
            if (options.kind == "saas")
                saas(db, options, result);
            else if (options.kind == "retail")
                retail(db, options, result);
            else if (options.kind == "streaming")
                streaming(db, options, result);
            else if (options.kind == "telecom")
                telecom(db, options, result);
            else if (options.kind == "carservice")
                carservice(db, options, result);
            else if (options.kind == "auto")
                auto_dealer(db, options, result);
            else if (options.kind == "cdnow")
                ok = cdnow(db, options, result, error);
            else {
                error = "unknown kind '" + options.kind + "'";
                ok = false;
            }
            if (ok && options.advance) advance_base(db, options, result);
            if (!ok) {
                fs::remove(temp, ec);
                return false;
            }
            tx.commit();
        }
        // A base written again keeps the file's permissions (one made private stays so).
        if (replaced->mode) fs::permissions(temp, *replaced->mode);
        fs::rename(temp, target);
    } catch (const SQLite::Exception& e) {
        error = "cannot write '" + options.out + "': " + e.what();
        fs::remove(temp, ec);
        return false;
    } catch (const fs::filesystem_error& e) {
        error = "cannot write '" + options.out + "': " + e.code().message();
        fs::remove(temp, ec);
        return false;
    }
    return true;
}

}  // namespace strata::examples
