// What the tests of strata import share: a cell and a table's declared types read back, and a CRM
// export.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <doctest/doctest.h>
#include <filesystem>
#include <string>
#include "import/cells.hpp"
#include "import/importer.hpp"
#include "import/names.hpp"
#include "import/row_writer.hpp"
#include "test_support.hpp"
#include "text/encoding.hpp"

namespace strata::testing::import_fixture {

// One cell of a table, as SQLite's text of it, "NULL" for null, with its storage class.
inline std::string cell(const std::string& db, const std::string& sql) {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d, sql);
    REQUIRE(q.executeStep());
    const auto c = q.getColumn(0);
    if (c.isNull()) return "NULL";
    const char* kind = c.isInteger() ? "int:" : c.isFloat() ? "real:" : "text:";
    return kind + c.getString();
}

// The declared type of each column, "name TYPE, …".
inline std::string declared(const std::string& db, const std::string& table) {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d, "SELECT name, type FROM pragma_table_info(?)");
    q.bind(1, table);
    std::string out;
    while (q.executeStep())
        out += (out.empty() ? "" : ", ") + q.getColumn(0).getString() + ' ' +
               q.getColumn(1).getString();
    return out;
}

inline const std::string kCrm =
    "\xEF\xBB\xBF"
    "ID;Компания;Дата регистрации;Сумма LTV;Покупки;VIP;Телефон\r\n"
    "1;\"ООО \"\"Ромашка\"\"; филиал\";15.12.2024;150 000;3;да;007\r\n"
    "2;\"две\r\nстроки\";01.02.2023;12,5;1;нет;0123\r\n"
    "3;;;;;;\r\n"
    "4;Beta;03.04.2022;1\xC2\xA0"
    "234\xC2\xA0"
    "567,25;10;ДА;+7 900 000-00-00\r\n";

}  // namespace strata::testing::import_fixture
