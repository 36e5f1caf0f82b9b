// Helpers for tests that run real commands on real SQLite files in a temporary directory.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace strata::testing {

struct Run {
    int code;
    std::string out;
    std::string err;
};

inline Run run_cli(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    const int code = cli::run_main(args, out, err);
    return {code, out.str(), err.str()};
}

// The base a shipped rule file runs on, written to `db`: `strata demo-data --kind KIND` (400
// customers), or for kind "crm" the CRM export imported as `customers` keyed by `id`.
inline Run make_shipped_base(const std::string& kind, const std::string& db) {
    if (kind == "crm")
        return run_cli({"import", std::string(STRATA_SOURCE_DIR) + "/examples/crm/crm-export.csv",
                        "--db", db, "--table", "customers", "--key", "id"});
    return run_cli({"demo-data", "--kind", kind, "--customers", "400", "--out", db});
}

// A fresh directory, removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("strata-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name, std::ios::binary) << text;
        return file(name);
    }
    std::string database(const std::string& name, const std::string& sql) const {
        SQLite::Database db(file(name), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(sql);
        return file(name);
    }

  private:
    std::filesystem::path path_;
};

// A whole file's bytes ("" when it cannot be read).
inline std::string file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The value at a JSON path (`$.segments[0].count`) of a JSON document, read by SQLite's own
// JSON functions: numbers and texts as their text, objects and arrays as JSON, a missing
// path or JSON null as "<none>".
inline std::string json_at(const std::string& doc, const std::string& path) {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    SQLite::Statement q(db, "SELECT json_extract(?, ?)");
    q.bind(1, doc);
    q.bind(2, path);
    q.executeStep();
    return q.getColumn(0).isNull() ? "<none>" : q.getColumn(0).getString();
}

inline int64_t count_rows(const std::string& db_path, const std::string& table) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    return db.execAndGet("SELECT count(*) FROM " + table).getInt64();
}

// The one integer a query gives (its first row's first column).
inline int64_t scalar(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    return db.execAndGet(sql).getInt64();
}

// A query's rows, one line each, columns joined by '|' (null as the empty text).
inline std::string rows(const std::string& db_path, const std::string& sql) {
    SQLite::Database db(db_path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, sql);
    std::string out;
    while (q.executeStep()) {
        for (int c = 0; c < q.getColumnCount(); ++c)
            out += (c ? "|" : "") + q.getColumn(c).getString();
        out += "\n";
    }
    return out;
}

}  // namespace strata::testing
