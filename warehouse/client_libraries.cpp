#include "warehouse/client_libraries.hpp"

#include <dlfcn.h>

#include <initializer_list>

namespace strata::warehouse {

namespace {

// The first of `names` that opens, or null with `missing` saying what was tried.
void* open_first(std::initializer_list<const char*> names, const char* package,
                 std::string& missing) {
    for (const char* name : names) {
        if (void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return handle;
    }
    missing = std::string("the client library ") + *names.begin() +
              " is not installed (Debian package " + package + ")";
    return nullptr;
}

template <typename F>
void find(void* handle, const char* name, F& out, std::string& missing) {
    out = handle ? reinterpret_cast<F>(dlsym(handle, name)) : nullptr;
    if (!out && missing.empty()) missing = std::string("the client library lacks ") + name;
}

LibPq load_libpq() {
    LibPq lib;
    void* h = open_first({"libpq.so.5", "libpq.so"}, "libpq5", lib.missing);
    std::string& m = lib.missing;
    find(h, "PQconnectdbParams", lib.PQconnectdbParams, m);
    find(h, "PQstatus", lib.PQstatus, m);
    find(h, "PQerrorMessage", lib.PQerrorMessage, m);
    find(h, "PQfinish", lib.PQfinish, m);
    find(h, "PQsetNoticeProcessor", lib.PQsetNoticeProcessor, m);
    find(h, "PQserverVersion", lib.PQserverVersion, m);
    find(h, "PQtransactionStatus", lib.PQtransactionStatus, m);
    find(h, "PQexec", lib.PQexec, m);
    find(h, "PQexecParams", lib.PQexecParams, m);
    find(h, "PQputCopyData", lib.PQputCopyData, m);
    find(h, "PQputCopyEnd", lib.PQputCopyEnd, m);
    find(h, "PQgetResult", lib.PQgetResult, m);
    find(h, "PQresultStatus", lib.PQresultStatus, m);
    find(h, "PQresultErrorField", lib.PQresultErrorField, m);
    find(h, "PQntuples", lib.PQntuples, m);
    find(h, "PQnfields", lib.PQnfields, m);
    find(h, "PQfname", lib.PQfname, m);
    find(h, "PQgetvalue", lib.PQgetvalue, m);
    find(h, "PQgetlength", lib.PQgetlength, m);
    find(h, "PQgetisnull", lib.PQgetisnull, m);
    find(h, "PQcmdTuples", lib.PQcmdTuples, m);
    find(h, "PQclear", lib.PQclear, m);
    return lib;
}

LibCurl load_libcurl() {
    LibCurl lib;
    void* h = open_first({"libcurl.so.4", "libcurl.so"}, "libcurl4", lib.missing);
    std::string& m = lib.missing;
    decltype(&::curl_global_init) global_init = nullptr;
    find(h, "curl_global_init", global_init, m);
    find(h, "curl_easy_init", lib.easy_init, m);
    find(h, "curl_easy_setopt", lib.easy_setopt, m);
    find(h, "curl_easy_perform", lib.easy_perform, m);
    find(h, "curl_easy_getinfo", lib.easy_getinfo, m);
    find(h, "curl_easy_reset", lib.easy_reset, m);
    find(h, "curl_easy_cleanup", lib.easy_cleanup, m);
    find(h, "curl_easy_strerror", lib.easy_strerror, m);
    find(h, "curl_easy_escape", lib.easy_escape, m);
    find(h, "curl_free", lib.free, m);
    find(h, "curl_slist_append", lib.slist_append, m);
    find(h, "curl_slist_free_all", lib.slist_free_all, m);
    if (m.empty() && global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        m = "libcurl could not be initialised";
    return lib;
}

}  // namespace

const LibPq& libpq() {
    static const LibPq lib = load_libpq();
    return lib;
}

const LibCurl& libcurl() {
    static const LibCurl lib = load_libcurl();
    return lib;
}

}  // namespace strata::warehouse
