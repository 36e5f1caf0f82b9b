// libpq and libcurl, opened the first time a warehouse URL is used (dlopen) rather than when
// the process starts. Linked the usual way they bring about thirty shared libraries (TLS,
// Kerberos, LDAP, ...) whose loading cost every `strata` process about 5 ms, `strata eval`
// and `strata check` on a SQLite file included. Internal to warehouse/.
#pragma once

#define CURL_DISABLE_TYPECHECK  // curl_easy_setopt is then a function, not a macro
#include <curl/curl.h>
#include <libpq-fe.h>

#include <string>

namespace strata::warehouse {

// The libpq functions the PostgreSQL client calls. `missing` is empty when every one was
// found, else the sentence saying which library or function is not there.
struct LibPq {
    std::string missing;
    decltype(&::PQconnectdbParams) PQconnectdbParams = nullptr;
    decltype(&::PQstatus) PQstatus = nullptr;
    decltype(&::PQerrorMessage) PQerrorMessage = nullptr;
    decltype(&::PQfinish) PQfinish = nullptr;
    decltype(&::PQsetNoticeProcessor) PQsetNoticeProcessor = nullptr;
    decltype(&::PQserverVersion) PQserverVersion = nullptr;
    decltype(&::PQtransactionStatus) PQtransactionStatus = nullptr;
    decltype(&::PQexec) PQexec = nullptr;
    decltype(&::PQexecParams) PQexecParams = nullptr;
    decltype(&::PQputCopyData) PQputCopyData = nullptr;
    decltype(&::PQputCopyEnd) PQputCopyEnd = nullptr;
    decltype(&::PQgetResult) PQgetResult = nullptr;
    decltype(&::PQresultStatus) PQresultStatus = nullptr;
    decltype(&::PQresultErrorField) PQresultErrorField = nullptr;
    decltype(&::PQntuples) PQntuples = nullptr;
    decltype(&::PQnfields) PQnfields = nullptr;
    decltype(&::PQfname) PQfname = nullptr;
    decltype(&::PQgetvalue) PQgetvalue = nullptr;
    decltype(&::PQgetlength) PQgetlength = nullptr;
    decltype(&::PQgetisnull) PQgetisnull = nullptr;
    decltype(&::PQcmdTuples) PQcmdTuples = nullptr;
    decltype(&::PQclear) PQclear = nullptr;
};

// The libcurl functions the ClickHouse client calls (curl_global_init already done).
struct LibCurl {
    std::string missing;
    decltype(&::curl_easy_init) easy_init = nullptr;
    decltype(&::curl_easy_setopt) easy_setopt = nullptr;
    decltype(&::curl_easy_perform) easy_perform = nullptr;
    decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
    decltype(&::curl_easy_reset) easy_reset = nullptr;
    decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&::curl_easy_strerror) easy_strerror = nullptr;
    decltype(&::curl_easy_escape) easy_escape = nullptr;
    decltype(&::curl_free) free = nullptr;
    decltype(&::curl_slist_append) slist_append = nullptr;
    decltype(&::curl_slist_free_all) slist_free_all = nullptr;
};

// Each is opened once, on the first call from any thread, and never changes afterwards (like
// the dynamic linker's own tables); it is never closed.
const LibPq& libpq();
const LibCurl& libcurl();

}  // namespace strata::warehouse
